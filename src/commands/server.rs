//! Server commands: INFO, CONFIG, COMMAND, database management, MONITOR, SHUTDOWN.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use crate::commands::categories;
use crate::commands::connection::help_reply;
use crate::commands::docs::{self, DocArg};
use crate::commands::flags::*;
use crate::commands::table::CommandTable;
use crate::commands::{
    CmdResult, CommandError, CommandSpec, Ctx, Flow, arg_pairs, container_handler,
};
use crate::config::rewrite::rewrite_file;
use crate::config::{OPTIONS, OptionSpec, find_option};
use crate::protocol::{Args, ReplyWriter};
use crate::pubsub::Kind;
use crate::server::stats::CommandTotals;
use crate::server::{REDIS_COMPAT_VERSION, VERSION};
use crate::store::{Shard, ShardStats};
use crate::util::blocking::off_the_runtime;
use crate::util::clock::now_us;
use crate::util::glob::glob_match;
use crate::util::numbers::parse_i64;

const NOKEYS: (i32, i32, i32) = (0, 0, 0);

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("info", -1, LOADING | STALE | ALL_KEYS, NOKEYS, info)
        .doc(
            "server",
            "1.0.0",
            "Returns information and statistics about the server.",
        )
        .syntax("[section [section ...]]")
        .acl(categories::DANGEROUS),
    CommandSpec::new("config", -2, 0, NOKEYS, container_handler)
        .doc(
            "server",
            "2.0.0",
            "A container for server configuration commands.",
        )
        .subs(CONFIG_SUBCOMMANDS),
    CommandSpec::new("command", -1, LOADING | STALE, NOKEYS, command)
        .doc(
            "server",
            "2.8.13",
            "Returns detailed information about all commands.",
        )
        .subs(COMMAND_SUBCOMMANDS)
        .acl(categories::CONNECTION),
    CommandSpec::new("dbsize", 1, READONLY | FAST | ALL_KEYS, NOKEYS, dbsize)
        .doc(
            "server",
            "1.0.0",
            "Returns the number of keys in the database.",
        )
        .acl(categories::KEYSPACE),
    CommandSpec::new("flushdb", -1, WRITE | ALL_KEYS, NOKEYS, flushdb)
        .doc(
            "server",
            "1.0.0",
            "Remove all keys from the current database.",
        )
        .syntax("[ASYNC | SYNC]:async")
        .acl(categories::KEYSPACE | categories::DANGEROUS),
    CommandSpec::new("flushall", -1, WRITE | ALL_KEYS, NOKEYS, flushall)
        .doc("server", "1.0.0", "Removes all keys from all databases.")
        .syntax("[ASYNC | SYNC]:async")
        .acl(categories::KEYSPACE | categories::DANGEROUS),
    CommandSpec::new("swapdb", 3, WRITE | FAST | ALL_KEYS, NOKEYS, swapdb)
        .doc("server", "4.0.0", "Swaps two Redis databases.")
        .syntax("index1 index2")
        .acl(categories::KEYSPACE | categories::DANGEROUS),
    CommandSpec::new("time", 1, LOADING | STALE | FAST, NOKEYS, time).doc(
        "server",
        "2.6.0",
        "Returns the server time.",
    ),
    CommandSpec::new("role", 1, NOSCRIPT | LOADING | STALE | FAST, NOKEYS, role)
        .doc(
            "server",
            "2.8.12",
            "Return the role of the instance in the context of replication",
        )
        .acl(categories::ADMIN | categories::DANGEROUS),
    CommandSpec::new("replicaof", 3, ADMIN | NOSCRIPT | STALE, NOKEYS, replicaof)
        .doc(
            "server",
            "5.0.0",
            "Make the server a replica of another instance, or promote it as master.",
        )
        .syntax("<<host port:integer>:host-port | <NO ONE>:no-one>:args"),
    CommandSpec::new("slaveof", 3, ADMIN | NOSCRIPT | STALE, NOKEYS, replicaof)
        .doc(
            "server",
            "1.0.0",
            "Make the server a replica of another instance, or promote it as master.",
        )
        .syntax("<<host port:integer>:host-port | <NO ONE>:no-one>:args"),
    CommandSpec::new("lastsave", 1, LOADING | STALE | FAST, NOKEYS, lastsave)
        .doc(
            "server",
            "1.0.0",
            "Returns the Unix timestamp of the last successful save to disk.",
        )
        .acl(categories::ADMIN | categories::DANGEROUS),
    CommandSpec::new(
        "monitor",
        1,
        ADMIN | NOSCRIPT | LOADING | STALE,
        NOKEYS,
        monitor,
    )
    .doc(
        "server",
        "1.0.0",
        "Listens for all requests received by the server in real-time.",
    ),
    CommandSpec::new(
        "shutdown",
        -1,
        ADMIN | NOSCRIPT | LOADING | STALE | NO_MULTI | ALLOW_BUSY,
        NOKEYS,
        shutdown,
    )
    .doc(
        "server",
        "1.0.0",
        "Synchronously saves the database(s) to disk and shuts down the Redis server.",
    )
    .syntax("[NOSAVE | SAVE]:nosave_save [NOW] [FORCE] [ABORT]"),
    CommandSpec::new("function", -2, 0, NOKEYS, container_handler)
        .doc("scripting", "7.0.0", "A container for function commands.")
        .subs(FUNCTION_SUBCOMMANDS),
    CommandSpec::new(
        "debug",
        -2,
        ADMIN | NOSCRIPT | LOADING | STALE,
        NOKEYS,
        debug,
    )
    .doc("server", "1.0.0", "A container for debugging commands."),
];

static CONFIG_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec::new(
        "get",
        -3,
        ADMIN | NOSCRIPT | LOADING | STALE,
        NOKEYS,
        config_get,
    )
    .doc(
        "server",
        "2.0.0",
        "Returns the effective values of configuration parameters.",
    )
    .syntax("parameter [parameter ...]"),
    CommandSpec::new(
        "set",
        -4,
        ADMIN | NOSCRIPT | LOADING | STALE,
        NOKEYS,
        config_set,
    )
    .doc(
        "server",
        "2.0.0",
        "Sets configuration parameters in-flight.",
    )
    .syntax("parameter value [parameter value ...]"),
    CommandSpec::new(
        "resetstat",
        2,
        ADMIN | NOSCRIPT | LOADING | STALE | ALL_KEYS,
        NOKEYS,
        config_resetstat,
    )
    .doc("server", "2.0.0", "Resets the server's statistics."),
    CommandSpec::new(
        "rewrite",
        2,
        ADMIN | NOSCRIPT | LOADING | STALE,
        NOKEYS,
        config_rewrite,
    )
    .doc(
        "server",
        "2.8.0",
        "Persists the effective configuration to file.",
    ),
    CommandSpec::new("help", 2, LOADING | STALE, NOKEYS, config_help).doc(
        "server",
        "5.0.0",
        "Returns helpful text about the different subcommands.",
    ),
];

static COMMAND_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec::new("count", 2, LOADING | STALE, NOKEYS, command_count)
        .doc("server", "2.8.13", "Returns a count of commands.")
        .acl(categories::CONNECTION),
    CommandSpec::new("info", -2, LOADING | STALE, NOKEYS, command_info)
        .doc(
            "server",
            "2.8.13",
            "Returns information about one, multiple or all commands.",
        )
        .syntax("[command-name [command-name ...]]")
        .acl(categories::CONNECTION),
    CommandSpec::new("docs", -2, LOADING | STALE, NOKEYS, command_docs)
        .doc(
            "server",
            "7.0.0",
            "Returns documentary information about one, multiple or all commands.",
        )
        .syntax("[command-name [command-name ...]]")
        .acl(categories::CONNECTION),
    CommandSpec::new("list", -2, LOADING | STALE, NOKEYS, command_list)
        .doc("server", "7.0.0", "Returns a list of command names.")
        .syntax("[FILTERBY <MODULE module-name | ACLCAT category | PATTERN pattern>:filterby]")
        .acl(categories::CONNECTION),
    CommandSpec::new("help", 2, LOADING | STALE, NOKEYS, command_help)
        .doc(
            "server",
            "5.0.0",
            "Returns helpful text about the different subcommands.",
        )
        .acl(categories::CONNECTION),
];

static FUNCTION_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec::new("flush", -2, WRITE | NOSCRIPT, NOKEYS, function_flush)
        .doc("scripting", "7.0.0", "Deletes all libraries and functions.")
        .syntax("[ASYNC | SYNC]:async"),
    CommandSpec::new("list", -2, NOSCRIPT, NOKEYS, function_list)
        .doc(
            "scripting",
            "7.0.0",
            "Returns information about all libraries.",
        )
        .syntax("[LIBRARYNAME library-name-pattern] [WITHCODE]"),
];

// ---------------------------------------------------------------------------------
// INFO

/// The sections `INFO` with no argument prints, in order.
const DEFAULT_SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "errorstats",
    "cluster",
    "keyspace",
];

/// Writes one INFO section's fields.
type SectionWriter = fn(&Ctx<'_, '_>, &[&Shard], &mut String);

fn info(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let requested: Vec<String> = args
        .iter()
        .skip(1)
        .map(|a| String::from_utf8_lossy(a).to_ascii_lowercase())
        .collect();
    let everything = requested.iter().any(|s| s == "all" || s == "everything");
    let wanted = |section: &str| {
        if requested.is_empty() || requested.iter().any(|s| s == "default") {
            return DEFAULT_SECTIONS.contains(&section);
        }
        everything || requested.iter().any(|s| s == section)
    };
    let mut text = String::new();
    let locked = ctx.store.take().expect("INFO locks every shard");
    let shards: Vec<&Shard> = locked.shards_ref().map(|(_, shard)| shard).collect();
    let sections: [(&str, SectionWriter); 10] = [
        ("server", info_server),
        ("clients", info_clients),
        ("memory", info_memory),
        ("persistence", info_persistence),
        ("stats", info_stats),
        ("replication", info_replication),
        ("cpu", info_cpu),
        ("commandstats", info_commandstats),
        ("cluster", info_cluster),
        ("keyspace", info_keyspace),
    ];
    for (name, write) in sections {
        if wanted(name) {
            if !text.is_empty() {
                text.push_str("\r\n");
            }
            let mut title = name.to_string();
            title[..1].make_ascii_uppercase();
            if name == "cpu" {
                title = "CPU".into();
            }
            let _ = write!(text, "# {title}\r\n");
            write(ctx, &shards, &mut text);
        }
    }
    drop(shards);
    ctx.store = Some(locked);
    ctx.out.verbatim(b"txt", text.as_bytes());
    Ok(())
}

/// Appends `name:value\r\n`.
fn field(text: &mut String, name: &str, value: impl std::fmt::Display) {
    let _ = write!(text, "{name}:{value}\r\n");
}

fn info_server(ctx: &Ctx<'_, '_>, _: &[&Shard], text: &mut String) {
    let server = ctx.server;
    let config = server.config.read();
    let uptime = server.uptime().as_secs();
    let port = server
        .listening
        .lock()
        .first()
        .map_or(config.port, |a| a.port());
    field(text, "redis_version", REDIS_COMPAT_VERSION);
    field(text, "redis_git_sha1", "00000000");
    field(text, "redis_git_dirty", 0);
    field(text, "redis_mode", "standalone");
    field(text, "broker_server_version", VERSION);
    field(text, "os", std::env::consts::OS);
    field(text, "arch_bits", usize::BITS);
    field(text, "multiplexing_api", "epoll");
    // Whether replies leave in io_uring batches (`io-uring yes` where the kernel
    // allows it) or one `send` per connection.
    field(
        text,
        "io_uring_writes",
        if server.batches_sends() { "yes" } else { "no" },
    );
    field(text, "process_id", std::process::id());
    field(text, "process_supervised", "no");
    field(text, "run_id", &server.run_id);
    field(text, "tcp_port", port);
    field(text, "server_time_usec", now_us());
    field(text, "uptime_in_seconds", uptime);
    field(text, "uptime_in_days", uptime / 86400);
    field(text, "hz", config.hz);
    field(text, "configured_hz", config.hz);
    field(
        text,
        "executable",
        std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
    );
    field(
        text,
        "config_file",
        config
            .config_file
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
    );
}

fn info_clients(ctx: &Ctx<'_, '_>, _: &[&Shard], text: &mut String) {
    let server = ctx.server;
    field(text, "connected_clients", server.clients.len());
    field(text, "cluster_connections", 0);
    field(text, "maxclients", server.config.read().maxclients);
    // As in Redis, a client whose command `CLIENT PAUSE` holds counts as blocked
    // (but has no timeout).
    field(
        text,
        "blocked_clients",
        server.blocked_clients() + server.pause.held(),
    );
    field(text, "tracking_clients", 0);
    field(text, "clients_in_timeout_table", server.blocked_clients());
}

/// Bytes the allocator holds for the program (jemalloc's `stats.allocated`).
pub fn allocated_bytes() -> u64 {
    crate::util::alloc::allocated()
}

/// Resident set size, from /proc.
pub fn resident_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<u64>().ok())
        })
        .map_or(0, |pages| pages * 4096)
}

/// Bytes in Redis's human-readable form (`1.50M`), as INFO's `*_human` fields.
pub fn human(bytes: u64) -> String {
    let units = ["B", "K", "M", "G", "T"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < units.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes}B")
    } else {
        format!("{value:.2}{}", units[unit])
    }
}

fn info_memory(ctx: &Ctx<'_, '_>, _: &[&Shard], text: &mut String) {
    let used = allocated_bytes();
    let rss = resident_bytes();
    let peak = ctx.server.note_memory_peak(used);
    let config = ctx.server.config.read();
    field(text, "used_memory", used);
    field(text, "used_memory_human", human(used));
    field(text, "used_memory_rss", rss);
    field(text, "used_memory_rss_human", human(rss));
    field(text, "used_memory_peak", peak);
    field(text, "used_memory_peak_human", human(peak));
    field(text, "maxmemory", config.maxmemory);
    field(text, "maxmemory_human", human(config.maxmemory));
    field(text, "maxmemory_policy", &config.maxmemory_policy);
    let ratio = if used > 0 {
        rss as f64 / used as f64
    } else {
        0.0
    };
    field(text, "mem_fragmentation_ratio", format!("{ratio:.2}"));
    field(text, "mem_allocator", "jemalloc");
}

fn info_persistence(ctx: &Ctx<'_, '_>, _: &[&Shard], text: &mut String) {
    let server = ctx.server;
    server.persistence.write_info(server.is_loading(), text);
}

/// Sums every shard's counters.
fn shard_totals(shards: &[&Shard]) -> ShardStats {
    let mut total = ShardStats::default();
    for shard in shards {
        total.expired_keys += shard.stats.expired_keys;
        total.keyspace_hits += shard.stats.keyspace_hits;
        total.keyspace_misses += shard.stats.keyspace_misses;
    }
    total
}

fn info_stats(ctx: &Ctx<'_, '_>, shards: &[&Shard], text: &mut String) {
    let server = ctx.server;
    let stats = &server.stats;
    let totals = shard_totals(shards);
    field(
        text,
        "total_connections_received",
        stats.connections_received.load(Ordering::Relaxed),
    );
    field(text, "total_commands_processed", stats.total_commands());
    field(text, "total_net_input_bytes", stats.net_input_bytes());
    field(text, "total_net_output_bytes", stats.net_output_bytes());
    field(
        text,
        "rejected_connections",
        stats.rejected_connections.load(Ordering::Relaxed),
    );
    field(text, "expired_keys", totals.expired_keys);
    field(text, "evicted_keys", 0);
    field(text, "keyspace_hits", totals.keyspace_hits);
    field(text, "keyspace_misses", totals.keyspace_misses);
    let pubsub = &server.pubsub;
    field(text, "pubsub_channels", pubsub.len(Kind::Channel));
    field(text, "pubsub_patterns", pubsub.len(Kind::Pattern));
    field(text, "pubsubshard_channels", pubsub.len(Kind::Shard));
}

fn info_replication(ctx: &Ctx<'_, '_>, _: &[&Shard], text: &mut String) {
    field(text, "role", "master");
    field(text, "connected_slaves", 0);
    field(text, "master_failover_state", "no-failover");
    field(text, "master_replid", &ctx.server.run_id);
    field(
        text,
        "master_replid2",
        "0000000000000000000000000000000000000000",
    );
    field(text, "master_repl_offset", 0);
    field(text, "second_repl_offset", -1);
    field(text, "repl_backlog_active", 0);
}

/// User and system CPU seconds of this process, from /proc.
pub fn cpu_seconds() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 100.0
    };
    (ticks(11), ticks(12))
}

fn info_cpu(_: &Ctx<'_, '_>, _: &[&Shard], text: &mut String) {
    let (user, system) = cpu_seconds();
    field(text, "used_cpu_sys", format!("{system:.6}"));
    field(text, "used_cpu_user", format!("{user:.6}"));
    field(text, "used_cpu_sys_children", "0.000000");
    field(text, "used_cpu_user_children", "0.000000");
}

fn info_commandstats(ctx: &Ctx<'_, '_>, _: &[&Shard], text: &mut String) {
    let table = CommandTable::get();
    for (index, stat) in ctx.server.stats.commands() {
        let CommandTotals {
            calls,
            usec,
            rejected,
            failed,
            ..
        } = stat;
        if calls == 0 && rejected == 0 && failed == 0 {
            continue;
        }
        let per_call = if calls > 0 {
            usec as f64 / calls as f64
        } else {
            0.0
        };
        let _ = write!(
            text,
            "cmdstat_{}:calls={calls},usec={usec},usec_per_call={per_call:.2},rejected_calls={rejected},failed_calls={failed}\r\n",
            table.full_name(index)
        );
    }
}

fn info_cluster(_: &Ctx<'_, '_>, _: &[&Shard], text: &mut String) {
    field(text, "cluster_enabled", 0);
}

fn info_keyspace(ctx: &Ctx<'_, '_>, shards: &[&Shard], text: &mut String) {
    let databases = ctx.server.keyspace.databases();
    let mut counts = vec![(0usize, 0usize); databases];
    for shard in shards {
        for (db, slice) in shard.dbs.iter().enumerate() {
            counts[db].0 += slice.len();
            counts[db].1 += slice.expiring();
        }
    }
    for (db, (keys, expires)) in counts.iter().enumerate() {
        if *keys > 0 {
            let _ = write!(text, "db{db}:keys={keys},expires={expires},avg_ttl=0\r\n");
        }
    }
}

// ---------------------------------------------------------------------------------
// CONFIG

fn config_get(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let config = ctx.server.config.read().clone();
    let mut pairs: Vec<(String, String)> = Vec::new();
    for pattern in args.iter().skip(2) {
        if !pattern.iter().any(|b| matches!(b, b'[' | b'*' | b'?')) {
            // A plain name (or alias) is answered under the spelling it was asked
            // with, as Redis does, once whatever its case.
            let asked = String::from_utf8_lossy(pattern).into_owned();
            if let Some(spec) = find_option(&asked)
                && !pairs.iter().any(|(n, _)| n.eq_ignore_ascii_case(&asked))
            {
                pairs.push((asked, spec.current(&config)));
            }
            continue;
        }
        let lower = pattern.to_ascii_lowercase();
        for spec in OPTIONS {
            let names = std::iter::once(spec.name).chain(spec.aliases.iter().copied());
            for name in names {
                let exact_alias = name != spec.name && lower == name.as_bytes();
                let matches = if name == spec.name {
                    glob_match(&lower, name.as_bytes(), true)
                } else {
                    exact_alias
                };
                if matches && !pairs.iter().any(|(n, _)| n == name) {
                    pairs.push((name.to_string(), spec.current(&config)));
                }
            }
        }
    }
    ctx.out.map_len(pairs.len());
    for (name, value) in pairs {
        ctx.out.bulk(name.as_bytes());
        ctx.out.bulk(value.as_bytes());
    }
    Ok(())
}

fn config_set(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    // An odd number of names and values is a syntax error in Redis, not an arity
    // error (the arity error is for fewer than one pair).
    let pairs: Vec<(String, String)> = arg_pairs(&args, 2, "config|set")
        .map_err(|_| CommandError::Syntax)?
        .map(|(name, value)| {
            (
                String::from_utf8_lossy(name).into_owned(),
                String::from_utf8_lossy(value).into_owned(),
            )
        })
        .collect();
    let failed = |name: &str, problem: &str| -> CommandError {
        CommandError::err(format!(
            "CONFIG SET failed (possibly related to argument '{name}') - {problem}"
        ))
    };
    // Secrets are redacted whatever else is wrong with the request, as in Redis.
    for (pair, (name, _)) in pairs.iter().enumerate() {
        if find_option(name).is_some_and(|spec| spec.sensitive) {
            ctx.redact(3 + 2 * pair);
        }
    }
    // Every name is checked before any value, as Redis does: the first unknown,
    // immutable or repeated name is the error, even after a bad value.
    let mut specs: Vec<&'static OptionSpec> = Vec::with_capacity(pairs.len());
    for (pair, (name, _)) in pairs.iter().enumerate() {
        let Some(spec) = find_option(name) else {
            return Err(CommandError::echo(
                "Unknown option or number of arguments for CONFIG SET - '",
                &args[2 + 2 * pair],
                "'",
            ));
        };
        if !spec.mutable {
            return Err(failed(name, "can't set immutable config"));
        }
        if specs.iter().any(|seen| std::ptr::eq(*seen, spec)) {
            return Err(failed(name, "duplicate parameter"));
        }
        specs.push(spec);
    }
    let mut updated = ctx.server.config.read().clone();
    for (spec, (name, value)) in specs.iter().zip(&pairs) {
        spec.apply(&mut updated, value)
            .map_err(|problem| failed(name, &problem))?;
    }
    *ctx.server.config.write() = updated;
    ctx.server.config_changed();
    ctx.out.ok();
    Ok(())
}

fn config_resetstat(ctx: &mut Ctx<'_, '_>, _: Args<'_>) -> CmdResult {
    ctx.server.stats.reset();
    for (_, shard) in ctx.locked().shards() {
        shard.stats = ShardStats::default();
    }
    ctx.out.ok();
    Ok(())
}

/// `CONFIG REWRITE`: writes the running configuration into the file the server
/// was started with (see [`crate::config::rewrite`]).
fn config_rewrite(ctx: &mut Ctx<'_, '_>, _: Args<'_>) -> CmdResult {
    let config = ctx.server.config.read().clone();
    let Some(path) = config.config_file.clone() else {
        return Err(CommandError::NoConfigFile);
    };
    // A small file, but written and synced twice (file and directory).
    match off_the_runtime(|| rewrite_file(&path, &config)) {
        Ok(()) => {
            tracing::warn!(path = %path.display(), "CONFIG REWRITE executed with success.");
            ctx.out.ok();
            Ok(())
        }
        Err(error) => {
            tracing::warn!(path = %path.display(), %error, "CONFIG REWRITE failed");
            Err(CommandError::ConfigRewrite(system_error_text(&error)))
        }
    }
}

/// The system's description of an I/O error, without Rust's ` (os error N)`
/// suffix: what Redis's `strerror` prints.
fn system_error_text(error: &std::io::Error) -> String {
    let text = error.to_string();
    match text.rfind(" (os error ") {
        Some(at) if error.raw_os_error().is_some() => text[..at].to_string(),
        _ => text,
    }
}

fn config_help(ctx: &mut Ctx<'_, '_>, _: Args<'_>) -> CmdResult {
    // Redis's text, line for line: every subcommand it lists is served here.
    help_reply(
        ctx,
        "CONFIG",
        &[
            "GET <pattern>",
            "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>",
            "    Set the configuration <directive> to <value>.",
            "RESETSTAT",
            "    Reset statistics reported by the INFO command.",
            "REWRITE",
            "    Rewrite the configuration file.",
        ],
    );
    Ok(())
}

// ---------------------------------------------------------------------------------
// COMMAND

/// Writes a command's `COMMAND INFO` entry.
fn write_command_info(ctx: &mut Ctx<'_, '_>, full_name: &str, spec: &'static CommandSpec) {
    let out = &mut ctx.out;
    out.array_len(10);
    out.bulk(full_name.as_bytes());
    out.int(spec.arity as i64);
    let flag_names: Vec<&str> = NAMES
        .iter()
        .filter(|(bit, _)| spec.has(*bit))
        .map(|(_, name)| *name)
        .collect();
    out.set_len(flag_names.len());
    flag_names
        .iter()
        .for_each(|name| out.simple(name.as_bytes()));
    out.int(spec.keys.first as i64);
    out.int(spec.keys.last as i64);
    out.int(spec.keys.step as i64);
    let acl = categories::of(spec);
    out.set_len(categories::names(acl).count());
    for name in categories::names(acl) {
        out.simple(format!("@{name}").as_bytes());
    }
    out.set_len(0);
    out.array_len(0);
    out.array_len(spec.subcommands.len());
    for sub in spec.subcommands {
        let name = format!("{full_name}|{}", sub.name);
        write_command_info(ctx, &name, sub);
    }
}

/// Writes a command's `COMMAND DOCS` map.
fn write_command_docs(ctx: &mut Ctx<'_, '_>, full_name: &str, spec: &'static CommandSpec) {
    let has_subs = !spec.subcommands.is_empty();
    let arguments = docs::arguments(spec);
    ctx.out
        .map_len(3 + usize::from(!arguments.is_empty()) + usize::from(has_subs));
    ctx.out.bulk(b"summary");
    ctx.out.bulk(spec.summary.as_bytes());
    ctx.out.bulk(b"since");
    ctx.out.bulk(spec.since.as_bytes());
    ctx.out.bulk(b"group");
    ctx.out.bulk(spec.group.as_bytes());
    if !arguments.is_empty() {
        ctx.out.bulk(b"arguments");
        write_doc_args(&mut ctx.out, arguments);
    }
    if has_subs {
        ctx.out.bulk(b"subcommands");
        ctx.out.map_len(spec.subcommands.len());
        for sub in spec.subcommands {
            let name = format!("{full_name}|{}", sub.name);
            ctx.out.bulk(name.as_bytes());
            write_command_docs(ctx, &name, sub);
        }
    }
}

/// Writes an argument tree as `COMMAND DOCS` does: one map per argument, its fields
/// in Redis's order.
fn write_doc_args(out: &mut ReplyWriter<'_>, args: &[DocArg]) {
    out.array_len(args.len());
    for arg in args {
        let flags = arg.flags();
        out.map_len(
            2 + usize::from(arg.key_spec_index.is_some())
                + usize::from(arg.token.is_some())
                + usize::from(!flags.is_empty())
                + usize::from(!arg.args.is_empty()),
        );
        out.bulk(b"name");
        out.bulk(arg.name.as_bytes());
        out.bulk(b"type");
        out.bulk(arg.kind.name().as_bytes());
        if let Some(index) = arg.key_spec_index {
            out.bulk(b"key_spec_index");
            out.int(index as i64);
        }
        if let Some(token) = &arg.token {
            out.bulk(b"token");
            out.bulk(token.as_bytes());
        }
        if !flags.is_empty() {
            out.bulk(b"flags");
            out.set_len(flags.len());
            flags.iter().for_each(|flag| out.simple(flag.as_bytes()));
        }
        if !arg.args.is_empty() {
            out.bulk(b"arguments");
            write_doc_args(out, &arg.args);
        }
    }
}

/// Top-level commands named by `args[from..]`, or all of them.
fn named_commands(args: &Args<'_>, from: usize) -> Vec<Option<&'static CommandSpec>> {
    let table = CommandTable::get();
    if args.len() <= from {
        let mut all: Vec<_> = table.top_level().map(Some).collect();
        all.sort_by_key(|s| s.map(|s| s.name));
        return all;
    }
    args.iter()
        .skip(from)
        .map(|name| table.lookup(name))
        .collect()
}

fn command(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    if args.len() > 1 {
        return Err(CommandError::UnknownSubcommand {
            container: "command".into(),
            sub: args[1].to_vec(),
        });
    }
    command_info(ctx, args)
}

fn command_count(ctx: &mut Ctx<'_, '_>, _: Args<'_>) -> CmdResult {
    ctx.out.int(CommandTable::get().top_level().count() as i64);
    Ok(())
}

fn command_info(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let specs = named_commands(&args, args.len().min(2));
    ctx.out.array_len(specs.len());
    for spec in specs {
        match spec {
            Some(spec) => write_command_info(ctx, spec.name, spec),
            // Redis 7.0 answers an unknown name with a null bulk string.
            None => ctx.out.null(),
        }
    }
    Ok(())
}

fn command_docs(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let specs: Vec<_> = named_commands(&args, 2).into_iter().flatten().collect();
    ctx.out.map_len(specs.len());
    for spec in specs {
        ctx.out.bulk(spec.name.as_bytes());
        write_command_docs(ctx, spec.name, spec);
    }
    Ok(())
}

fn command_list(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let table = CommandTable::get();
    /// What FILTERBY keeps.
    enum Filter {
        All,
        Pattern(Vec<u8>),
        /// An unknown category keeps nothing, as in Redis.
        Category(Option<u32>),
        /// No module is ever loaded.
        Module,
    }
    let filter = match args.len() {
        2 => Filter::All,
        5 if args[2].eq_ignore_ascii_case(b"FILTERBY") => {
            let (kind, value) = (&args[3], &args[4]);
            if kind.eq_ignore_ascii_case(b"PATTERN") {
                Filter::Pattern(value.to_vec())
            } else if kind.eq_ignore_ascii_case(b"ACLCAT") {
                Filter::Category(categories::by_name(value))
            } else if kind.eq_ignore_ascii_case(b"MODULE") {
                Filter::Module
            } else {
                return Err(CommandError::Syntax);
            }
        }
        _ => return Err(CommandError::Syntax),
    };
    // Subcommands are listed by their full name (`client|kill`), as in Redis.
    let mut names: Vec<&str> = table
        .all
        .iter()
        .filter(|(name, spec)| match &filter {
            Filter::All => true,
            Filter::Pattern(pattern) => glob_match(pattern, name.as_bytes(), true),
            Filter::Category(Some(category)) => categories::of(spec) & category != 0,
            Filter::Category(None) | Filter::Module => false,
        })
        .map(|(name, _)| name.as_str())
        .collect();
    names.sort_unstable();
    ctx.out.array_len(names.len());
    names.iter().for_each(|name| ctx.out.bulk(name.as_bytes()));
    Ok(())
}

fn command_help(ctx: &mut Ctx<'_, '_>, _: Args<'_>) -> CmdResult {
    help_reply(
        ctx,
        "COMMAND",
        &[
            "(no subcommand) -- Return details about all commands.",
            "COUNT -- Return the total number of commands in this server.",
            "LIST [FILTERBY (PATTERN <pattern>|ACLCAT <category>)] -- Return a list of command names.",
            "INFO [<command-name> ...] -- Return details about the given commands, or all of them.",
            "DOCS [<command-name> ...] -- Return documentation about the given commands, or all of them.",
        ],
    );
    Ok(())
}

// ---------------------------------------------------------------------------------
// Databases

fn parse_flush_mode(args: &Args<'_>) -> CmdResult {
    match args.len() {
        1 => Ok(()),
        2 if args[1].eq_ignore_ascii_case(b"ASYNC") || args[1].eq_ignore_ascii_case(b"SYNC") => {
            Ok(())
        }
        _ => Err(CommandError::Syntax),
    }
}

fn dbsize(ctx: &mut Ctx<'_, '_>, _: Args<'_>) -> CmdResult {
    let size = ctx.db().len();
    ctx.out.int(size as i64);
    Ok(())
}

fn flushdb(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    parse_flush_mode(&args)?;
    let db = ctx.client.db;
    for (_, shard) in ctx.locked().shards() {
        shard.dbs[db].clear();
    }
    ctx.out.ok();
    Ok(())
}

fn flushall(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    parse_flush_mode(&args)?;
    for (_, shard) in ctx.locked().shards() {
        shard.dbs.iter_mut().for_each(|db| db.clear());
    }
    ctx.out.ok();
    Ok(())
}

fn swapdb(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let databases = ctx.server.keyspace.databases() as i64;
    // Redis reads both as a C int, with these messages for anything that is not one.
    let index = |arg: &[u8], which: &str| {
        parse_i64(arg)
            .filter(|n| i32::try_from(*n).is_ok())
            .ok_or_else(|| CommandError::err(format!("invalid {which} DB index")))
    };
    let first = index(&args[1], "first")?;
    let second = index(&args[2], "second")?;
    if !(0..databases).contains(&first) || !(0..databases).contains(&second) {
        return Err(CommandError::DbIndexOutOfRange);
    }
    let (low, high) = (first.min(second) as usize, first.max(second) as usize);
    let now = ctx.now_ms;
    if low != high {
        for (_, shard) in ctx.locked().shards() {
            let (left, right) = shard.dbs.split_at_mut(high);
            left[low].swap_keys(&mut right[0], now);
        }
    }
    // Clients blocked in either database may find their keys filled now.
    if let Some(locked) = ctx.store.as_mut() {
        for db in [first as usize, second as usize] {
            locked.note_waited_keys(db, &mut ctx.effects.ready_keys);
        }
    }
    ctx.out.ok();
    Ok(())
}

fn time(ctx: &mut Ctx<'_, '_>, _: Args<'_>) -> CmdResult {
    let micros = now_us();
    ctx.out.array_len(2);
    ctx.out.bulk_int((micros / 1_000_000) as i64);
    ctx.out.bulk_int((micros % 1_000_000) as i64);
    Ok(())
}

fn lastsave(ctx: &mut Ctx<'_, '_>, _: Args<'_>) -> CmdResult {
    ctx.out.int(ctx.server.persistence.lastsave() as i64);
    Ok(())
}

/// Always a master with no replicas, at replication offset 0 (as `INFO replication`).
fn role(ctx: &mut Ctx<'_, '_>, _: Args<'_>) -> CmdResult {
    ctx.out.array_len(3);
    ctx.out.bulk(b"master");
    ctx.out.int(0);
    ctx.out.array_len(0);
    Ok(())
}

/// `REPLICAOF NO ONE` asks a master to stay one; following another server is not
/// supported.
fn replicaof(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    if args[1].eq_ignore_ascii_case(b"no") && args[2].eq_ignore_ascii_case(b"one") {
        ctx.out.ok();
        return Ok(());
    }
    Err(CommandError::ReplicationUnsupported)
}

fn monitor(ctx: &mut Ctx<'_, '_>, _: Args<'_>) -> CmdResult {
    ctx.server.add_monitor(ctx.client.handle.clone());
    ctx.out.ok();
    Ok(())
}

fn shutdown(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let mut save = None;
    let mut abort = false;
    for option in args.iter().skip(1) {
        if option.eq_ignore_ascii_case(b"SAVE") && save != Some(false) {
            save = Some(true);
        } else if option.eq_ignore_ascii_case(b"NOSAVE") && save != Some(true) {
            save = Some(false);
        } else if option.eq_ignore_ascii_case(b"ABORT") {
            abort = true;
        } else if !option.eq_ignore_ascii_case(b"NOW") && !option.eq_ignore_ascii_case(b"FORCE") {
            return Err(CommandError::Syntax);
        }
    }
    if abort {
        // ABORT goes alone. A shutdown here never waits for replicas, so there is
        // never one in progress to abort.
        if args
            .iter()
            .skip(1)
            .any(|o| !o.eq_ignore_ascii_case(b"ABORT"))
        {
            return Err(CommandError::Syntax);
        }
        return Err(CommandError::err("No shutdown in progress."));
    }
    // Past its time limit a script is only ended by SCRIPT KILL or SHUTDOWN NOSAVE.
    let nosave = args.iter().any(|o| o.eq_ignore_ascii_case(b"NOSAVE"));
    if !nosave && ctx.server.keyspace.busy.is_busy() {
        return Err(CommandError::Busy);
    }
    // The save (if any) and the final sync of the log happen once every client is
    // gone, so that no write lands after them.
    ctx.server.persistence.set_shutdown_save(save);
    tracing::warn!(id = ctx.client.id, "User requested shutdown...");
    ctx.server.shutdown.cancel();
    ctx.flow = Flow::Close;
    Ok(())
}

fn function_flush(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    if args.len() > 3 {
        return Err(CommandError::SubcommandSyntax {
            container: "function".into(),
            sub: args[1].to_vec(),
        });
    }
    match args.get(2) {
        None => {}
        Some(mode) if mode.eq_ignore_ascii_case(b"ASYNC") || mode.eq_ignore_ascii_case(b"SYNC") => {
        }
        Some(_) => {
            return Err(CommandError::err(
                "FUNCTION FLUSH only supports SYNC|ASYNC option",
            ));
        }
    }
    ctx.out.ok();
    Ok(())
}

fn function_list(ctx: &mut Ctx<'_, '_>, _: Args<'_>) -> CmdResult {
    ctx.out.array_len(0);
    Ok(())
}

fn debug(_: &mut Ctx<'_, '_>, _: Args<'_>) -> CmdResult {
    Err(CommandError::err(
        "DEBUG is not supported by broker-server; use INFO, CLIENT LIST or MONITOR to inspect the server",
    ))
}
