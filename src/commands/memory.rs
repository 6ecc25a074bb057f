//! MEMORY: what a key costs (USAGE), where the memory goes (STATS), a short
//! diagnosis (DOCTOR), and the allocator's report and purge (MALLOC-STATS, PURGE).
//!
//! USAGE is broker-server's own estimate ([`crate::store::memory`]), not Redis's:
//! the structures differ, so the figures do too. STATS reports the fields of Redis's
//! reply that have a true value here, under Redis's names and in its order:
//!
//! * allocator figures: `peak.allocated`, `total.allocated`, `startup.allocated`,
//!   `allocator.*`, and the ratios and differences derived from them and from RSS;
//! * `replication.backlog`, `clients.slaves`, `cluster.links`, `functions.caches`:
//!   0, since broker-server has no replication, cluster or functions;
//! * `db.<n>` for each database holding keys: `overhead.hashtable.main` (its key
//!   maps' slots and indexes) and `overhead.hashtable.expires` (0: deadlines live in
//!   the key's slot, there is no second table);
//! * `overhead.total` (startup plus those maps), `keys.count`, `keys.bytes-per-key`,
//!   `dataset.bytes`, `dataset.percentage`, `peak.percentage`.
//!
//! Left out because nothing measures them: `clients.normal` (client buffers),
//! `aof.buffer`, `lua.caches`, and `overhead.hashtable.slot-to-keys` (cluster
//! only). Client buffers and the log buffer therefore count in `dataset.bytes`.

use std::fmt::Write as _;

use crate::commands::connection::help_reply;
use crate::commands::flags::*;
use crate::commands::server::{human, resident_bytes};
use crate::commands::{CmdResult, CommandError, CommandSpec, Ctx, container_handler, int_arg};
use crate::protocol::Args;
use crate::store::memory::{DEFAULT_SAMPLES, key_usage};
use crate::util::alloc::{self, AllocatorStats};

const NOKEYS: (i32, i32, i32) = (0, 0, 0);

pub static COMMANDS: &[CommandSpec] =
    &[CommandSpec::new("memory", -2, 0, NOKEYS, container_handler)
        .doc(
            "server",
            "4.0.0",
            "Memory diagnostics: per-key usage, allocator statistics and purging.",
        )
        .subs(MEMORY_SUBCOMMANDS)];

static MEMORY_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec::new("doctor", 2, ALL_KEYS, NOKEYS, memory_doctor).doc(
        "server",
        "4.0.0",
        "Reports memory problems in a few sentences.",
    ),
    CommandSpec::new("malloc-stats", 2, 0, NOKEYS, memory_malloc_stats).doc(
        "server",
        "4.0.0",
        "Returns the memory allocator's statistics report.",
    ),
    CommandSpec::new("purge", 2, 0, NOKEYS, memory_purge).doc(
        "server",
        "4.0.0",
        "Asks the allocator to return unused memory to the system.",
    ),
    CommandSpec::new("stats", 2, ALL_KEYS, NOKEYS, memory_stats).doc(
        "server",
        "4.0.0",
        "Returns where the server's memory goes.",
    ),
    CommandSpec::new("usage", -3, READONLY, (2, 2, 1), memory_usage)
        .doc(
            "server",
            "4.0.0",
            "Estimates the bytes a key and its value take.",
        )
        .syntax("key [SAMPLES count]"),
    CommandSpec::new("help", 2, LOADING | STALE, NOKEYS, memory_help).doc(
        "server",
        "4.0.0",
        "Returns helpful text about the different subcommands.",
    ),
];

/// `MEMORY USAGE key [SAMPLES count]`: options are checked before the key is
/// looked up, as in Redis; a missing key is null.
fn memory_usage(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let samples = parse_samples(&args)?;
    let (db, out) = ctx.db_and_out();
    match db.peek_shared(&args[2]) {
        Some(entry) => out.int(key_usage(&args[2], &entry.value, samples) as i64),
        None => out.null(),
    }
    Ok(())
}

/// The SAMPLES option (repeatable, the last one wins): 0 measures every element.
fn parse_samples(args: &Args<'_>) -> Result<usize, CommandError> {
    let mut samples = DEFAULT_SAMPLES;
    let mut index = 3;
    while index < args.len() {
        if !args[index].eq_ignore_ascii_case(b"SAMPLES") || index + 1 == args.len() {
            return Err(CommandError::Syntax);
        }
        samples = match int_arg(&args[index + 1])? {
            0 => usize::MAX,
            count if count < 0 => return Err(CommandError::Syntax),
            count => count as usize,
        };
        index += 2;
    }
    Ok(samples)
}

/// What `MEMORY STATS` and `MEMORY DOCTOR` are computed from.
#[derive(Debug, Clone, Default)]
struct Snapshot {
    allocator: AllocatorStats,
    peak: u64,
    startup: u64,
    rss: u64,
    /// `(database, keys, bytes of its key maps)` for databases holding keys.
    dbs: Vec<(usize, u64, u64)>,
    /// Bytes waiting in clients' push queues: `(client id, bytes)`, for those with any.
    pending: Vec<(u64, u64)>,
}

impl Snapshot {
    fn keys(&self) -> u64 {
        self.dbs.iter().map(|(_, keys, _)| keys).sum()
    }

    fn overhead(&self) -> u64 {
        self.startup + self.dbs.iter().map(|(_, _, bytes)| bytes).sum::<u64>()
    }
}

/// A `MEMORY STATS` value.
#[derive(Debug, Clone, PartialEq)]
enum Stat {
    Int(i64),
    Float(f64),
    /// A database's own map of figures.
    Db(Vec<(&'static str, i64)>),
}

/// The fields of `MEMORY STATS`, in Redis's order (see the module documentation).
fn stats_fields(s: &Snapshot) -> Vec<(String, Stat)> {
    let int = |n: u64| Stat::Int(n as i64);
    let ratio = |a: u64, b: u64| Stat::Float(if b == 0 { 0.0 } else { a as f64 / b as f64 });
    let diff = |a: u64, b: u64| Stat::Int(a as i64 - b as i64);
    let total = s.allocator.allocated;
    let mut fields = vec![
        ("peak.allocated".to_string(), int(s.peak)),
        ("total.allocated".into(), int(total)),
        ("startup.allocated".into(), int(s.startup)),
        ("replication.backlog".into(), int(0)),
        ("clients.slaves".into(), int(0)),
        ("cluster.links".into(), int(0)),
        ("functions.caches".into(), int(0)),
    ];
    for (db, _, bytes) in &s.dbs {
        let figures = vec![
            ("overhead.hashtable.main", *bytes as i64),
            ("overhead.hashtable.expires", 0),
        ];
        fields.push((format!("db.{db}"), Stat::Db(figures)));
    }
    let keys = s.keys();
    let grown = total.saturating_sub(s.startup);
    let dataset = total.saturating_sub(s.overhead());
    let a = &s.allocator;
    fields.extend([
        ("overhead.total".to_string(), int(s.overhead())),
        ("keys.count".into(), int(keys)),
        (
            "keys.bytes-per-key".into(),
            int(grown.checked_div(keys).unwrap_or(0)),
        ),
        ("dataset.bytes".into(), int(dataset)),
        ("dataset.percentage".into(), percentage(dataset, grown)),
        ("peak.percentage".into(), percentage(total, s.peak)),
        ("allocator.allocated".into(), int(a.allocated)),
        ("allocator.active".into(), int(a.active)),
        ("allocator.resident".into(), int(a.resident)),
        (
            "allocator-fragmentation.ratio".into(),
            ratio(a.active, a.allocated),
        ),
        (
            "allocator-fragmentation.bytes".into(),
            diff(a.active, a.allocated),
        ),
        ("allocator-rss.ratio".into(), ratio(a.resident, a.active)),
        ("allocator-rss.bytes".into(), diff(a.resident, a.active)),
        ("rss-overhead.ratio".into(), ratio(s.rss, a.resident)),
        ("rss-overhead.bytes".into(), diff(s.rss, a.resident)),
        ("fragmentation".into(), ratio(s.rss, total)),
        ("fragmentation.bytes".into(), diff(s.rss, total)),
    ]);
    fields
}

fn percentage(part: u64, whole: u64) -> Stat {
    Stat::Float(if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    })
}

/// Reads the allocator, the process and, when `ctx` holds the shards, the key maps.
fn snapshot(ctx: &mut Ctx<'_, '_>) -> Snapshot {
    let allocator = alloc::stats();
    let server = ctx.server;
    let mut snapshot = Snapshot {
        allocator,
        peak: server.note_memory_peak(allocator.allocated),
        startup: server.startup_allocated,
        rss: resident_bytes(),
        ..Snapshot::default()
    };
    if let Some(locked) = ctx.store.as_ref() {
        for db in 0..server.keyspace.databases() {
            let (mut keys, mut bytes) = (0, 0);
            for (_, shard) in locked.shards_ref() {
                keys += shard.dbs[db].len() as u64;
                bytes += shard.dbs[db].table_bytes() as u64;
            }
            if keys > 0 {
                snapshot.dbs.push((db, keys, bytes));
            }
        }
    }
    snapshot.pending = server
        .clients
        .iter()
        .map(|client| (client.value().id, client.value().outbox.pending_bytes()))
        .filter(|(_, bytes)| *bytes > 0)
        .collect();
    snapshot
}

fn memory_stats(ctx: &mut Ctx<'_, '_>, _: Args<'_>) -> CmdResult {
    let fields = stats_fields(&snapshot(ctx));
    let out = &mut ctx.out;
    out.map_len(fields.len());
    for (name, value) in fields {
        out.bulk(name.as_bytes());
        match value {
            Stat::Int(n) => out.int(n),
            Stat::Float(x) => out.double(x),
            Stat::Db(figures) => {
                out.map_len(figures.len());
                for (name, n) in figures {
                    out.bulk(name.as_bytes());
                    out.int(n);
                }
            }
        }
    }
    Ok(())
}

/// Below this much allocated memory the diagnosis is not attempted: start-up
/// structures dominate and every ratio looks alarming.
const DOCTOR_MIN_ALLOCATED: u64 = 5 << 20;
/// A peak more than this many times today's figure is worth a word.
const PEAK_FACTOR: f64 = 1.5;
/// RSS more than this many times the allocated bytes is worth a word.
const FRAGMENTATION_RATIO: f64 = 1.4;
/// Bytes waiting for one client past which it is named.
const PENDING_PER_CLIENT: u64 = 1 << 20;

/// The `MEMORY DOCTOR` text: the figures, then one paragraph per problem found.
fn doctor_report(s: &Snapshot) -> String {
    let allocated = s.allocator.allocated;
    let mut text = format!(
        "broker-server memory: {} allocated (peak {}), {} resident, {} keys.\n",
        human(allocated),
        human(s.peak),
        human(s.rss),
        s.keys()
    );
    if allocated < DOCTOR_MIN_ALLOCATED {
        text.push_str(
            "Too little is allocated for a diagnosis: start-up structures dominate, so \
             the ratios mean nothing yet.\n",
        );
        return text;
    }
    let mut problems = 0;
    if s.peak as f64 > allocated as f64 * PEAK_FACTOR {
        problems += 1;
        let _ = writeln!(
            text,
            "\n* The peak ({}) is more than {PEAK_FACTOR} times what is allocated now: \
             much memory was freed since. The allocator returns unused pages to the \
             system over time; MEMORY PURGE asks it to do so now.",
            human(s.peak)
        );
    }
    let fragmentation = s.rss as f64 / allocated as f64;
    if fragmentation > FRAGMENTATION_RATIO {
        problems += 1;
        let _ = writeln!(
            text,
            "\n* The process holds {:.2} times the memory it has allocated ({} more). \
             Freed memory the allocator still keeps, or memory spread thinly over \
             pages after many deletions, explains this; MEMORY PURGE may give some \
             back, and MEMORY MALLOC-STATS details it.",
            fragmentation,
            human(s.rss.saturating_sub(allocated))
        );
    }
    let mut heavy: Vec<&(u64, u64)> = s
        .pending
        .iter()
        .filter(|(_, bytes)| *bytes > PENDING_PER_CLIENT)
        .collect();
    if !heavy.is_empty() {
        problems += 1;
        heavy.sort_by_key(|(_, bytes)| std::cmp::Reverse(*bytes));
        let (id, bytes) = heavy[0];
        let _ = writeln!(
            text,
            "\n* {} client(s) have more than {} of messages waiting to be sent; the \
             most, {}, waits for client {id}. A subscriber that reads slowly is \
             disconnected at its output limit (client-output-buffer-limit pubsub).",
            heavy.len(),
            human(PENDING_PER_CLIENT),
            human(*bytes)
        );
    }
    if problems == 0 {
        text.push_str("No memory problem found.\n");
    }
    text
}

fn memory_doctor(ctx: &mut Ctx<'_, '_>, _: Args<'_>) -> CmdResult {
    let report = doctor_report(&snapshot(ctx));
    ctx.out.verbatim(b"txt", report.as_bytes());
    Ok(())
}

fn memory_malloc_stats(ctx: &mut Ctx<'_, '_>, _: Args<'_>) -> CmdResult {
    ctx.out.verbatim(b"txt", alloc::report().as_bytes());
    Ok(())
}

fn memory_purge(ctx: &mut Ctx<'_, '_>, _: Args<'_>) -> CmdResult {
    if !alloc::purge() {
        return Err(CommandError::PurgeRefused);
    }
    ctx.out.ok();
    Ok(())
}

fn memory_help(ctx: &mut Ctx<'_, '_>, _: Args<'_>) -> CmdResult {
    // Redis's text, line for line.
    help_reply(
        ctx,
        "MEMORY",
        &[
            "DOCTOR",
            "    Return memory problems reports.",
            "MALLOC-STATS",
            "    Return internal statistics report from the memory allocator.",
            "PURGE",
            "    Attempt to purge dirty pages for reclamation by the allocator.",
            "STATS",
            "    Return information about the memory usage of the server.",
            "USAGE <key> [SAMPLES <count>]",
            "    Return memory in bytes used by <key> and its value. Nested values are",
            "    sampled up to <count> times (default: 5, 0 means sample all).",
        ],
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::OwnedArgs;

    fn samples(words: &[&str]) -> Result<usize, CommandError> {
        let args = OwnedArgs::from_slices(words.iter().map(|w| w.as_bytes()));
        parse_samples(&args.args())
    }

    #[test]
    fn samples_parse_as_in_redis() {
        assert_eq!(samples(&["MEMORY", "USAGE", "k"]), Ok(DEFAULT_SAMPLES));
        assert_eq!(samples(&["MEMORY", "USAGE", "k", "samples", "9"]), Ok(9));
        assert_eq!(
            samples(&["MEMORY", "USAGE", "k", "SAMPLES", "0"]),
            Ok(usize::MAX)
        );
        assert_eq!(
            samples(&["MEMORY", "USAGE", "k", "SAMPLES", "1", "SAMPLES", "3"]),
            Ok(3)
        );
        assert_eq!(
            samples(&["MEMORY", "USAGE", "k", "SAMPLES", "-1"]),
            Err(CommandError::Syntax)
        );
        assert_eq!(
            samples(&["MEMORY", "USAGE", "k", "SAMPLES", "x"]),
            Err(CommandError::NotInteger)
        );
        assert_eq!(
            samples(&["MEMORY", "USAGE", "k", "SAMPLES"]),
            Err(CommandError::Syntax)
        );
        assert_eq!(
            samples(&["MEMORY", "USAGE", "k", "FOO", "1"]),
            Err(CommandError::Syntax)
        );
    }

    fn snapshot(allocated: u64, peak: u64, rss: u64) -> Snapshot {
        Snapshot {
            allocator: AllocatorStats {
                allocated,
                active: allocated + allocated / 10,
                resident: allocated * 2,
            },
            peak,
            startup: 1_000_000,
            rss,
            dbs: vec![(0, 1000, 64_000), (3, 10, 1_000)],
            pending: Vec::new(),
        }
    }

    #[test]
    fn stats_follow_redis_names_and_order() {
        let fields = stats_fields(&snapshot(11_065_000, 20_000_000, 30_000_000));
        let names: Vec<&str> = fields.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(
            names[..9],
            [
                "peak.allocated",
                "total.allocated",
                "startup.allocated",
                "replication.backlog",
                "clients.slaves",
                "cluster.links",
                "functions.caches",
                "db.0",
                "db.3"
            ]
        );
        let get = |wanted: &str| fields.iter().find(|(n, _)| n == wanted).unwrap().1.clone();
        assert_eq!(get("overhead.total"), Stat::Int(1_065_000));
        assert_eq!(get("keys.count"), Stat::Int(1010));
        assert_eq!(get("keys.bytes-per-key"), Stat::Int(10_065_000 / 1010));
        assert_eq!(get("dataset.bytes"), Stat::Int(10_000_000));
        assert_eq!(
            get("fragmentation.bytes"),
            Stat::Int(30_000_000 - 11_065_000)
        );
        assert_eq!(
            get("db.0"),
            Stat::Db(vec![
                ("overhead.hashtable.main", 64_000),
                ("overhead.hashtable.expires", 0)
            ])
        );
        let Stat::Float(peak) = get("peak.percentage") else {
            panic!("not a float")
        };
        assert!((peak - 55.325).abs() < 1e-9, "{peak}");
        assert_eq!(names.last(), Some(&"fragmentation.bytes"));
    }

    #[test]
    fn doctor_names_what_it_finds() {
        let small = doctor_report(&snapshot(1 << 20, 1 << 20, 8 << 20));
        assert!(small.contains("Too little is allocated"), "{small}");
        let healthy = doctor_report(&snapshot(100 << 20, 110 << 20, 120 << 20));
        assert!(healthy.ends_with("No memory problem found.\n"), "{healthy}");
        assert!(healthy.starts_with("broker-server memory: 100.00M allocated"));
        let mut troubled = snapshot(100 << 20, 400 << 20, 300 << 20);
        troubled.pending = vec![(7, 5 << 20), (9, 100), (12, 40 << 20)];
        let report = doctor_report(&troubled);
        assert!(report.contains("The peak (400.00M)"), "{report}");
        assert!(report.contains("3.00 times the memory"), "{report}");
        assert!(report.contains("2 client(s)"), "{report}");
        assert!(report.contains("waits for client 12"), "{report}");
        assert!(!report.contains("No memory problem"), "{report}");
    }
}
