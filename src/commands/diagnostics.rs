//! Diagnostics commands: SLOWLOG and LATENCY, as Redis 7.0 has them.
//!
//! The state they read lives in [`crate::server::slowlog`] and
//! [`crate::server::latency`] (and, for `LATENCY HISTOGRAM`, in each command's
//! statistics, [`crate::server::stats::Histogram`]); the gate feeds it
//! ([`crate::commands::gate::record_call`]). These handlers only parse and reply.

use crate::commands::connection::help_reply;
use crate::commands::flags::*;
use crate::commands::table::CommandTable;
use crate::commands::{CmdResult, CommandError, CommandSpec, Ctx, container_handler, range_arg};
use crate::protocol::Args;
use crate::server::latency::doctor_report;
use crate::server::stats::HistogramCounts;
use crate::util::clock::now_ms;

const NOKEYS: (i32, i32, i32) = (0, 0, 0);
/// The flags of every SLOWLOG subcommand but HELP. Unlike LATENCY's, they may run
/// in scripts, as in Redis.
const SLOWLOG_FLAGS: u32 = ADMIN | LOADING | STALE;
/// The flags of every LATENCY subcommand but HELP.
const LATENCY_FLAGS: u32 = ADMIN | NOSCRIPT | LOADING | STALE;

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("slowlog", -2, 0, NOKEYS, container_handler)
        .doc("server", "2.2.12", "A container for slow log commands.")
        .subs(SLOWLOG_SUBCOMMANDS),
    CommandSpec::new("latency", -2, 0, NOKEYS, container_handler)
        .doc(
            "server",
            "2.8.13",
            "A container for latency diagnostics commands.",
        )
        .subs(LATENCY_SUBCOMMANDS),
];

static SLOWLOG_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec::new("get", -2, SLOWLOG_FLAGS, NOKEYS, slowlog_get)
        .doc("server", "2.2.12", "Returns the slow log's entries.")
        .syntax("[count]"),
    CommandSpec::new("len", 2, SLOWLOG_FLAGS, NOKEYS, slowlog_len).doc(
        "server",
        "2.2.12",
        "Returns the number of entries in the slow log.",
    ),
    CommandSpec::new("reset", 2, SLOWLOG_FLAGS, NOKEYS, slowlog_reset).doc(
        "server",
        "2.2.12",
        "Clears all entries from the slow log.",
    ),
    CommandSpec::new("help", 2, LOADING | STALE, NOKEYS, slowlog_help).doc(
        "server",
        "6.2.0",
        "Returns helpful text about the different subcommands.",
    ),
];

static LATENCY_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec::new("latest", 2, LATENCY_FLAGS, NOKEYS, latency_latest).doc(
        "server",
        "2.8.13",
        "Returns the latest latency samples for all events.",
    ),
    CommandSpec::new("history", 3, LATENCY_FLAGS, NOKEYS, latency_history)
        .doc(
            "server",
            "2.8.13",
            "Returns timestamp-latency samples for an event.",
        )
        .syntax("event"),
    CommandSpec::new("reset", -2, LATENCY_FLAGS, NOKEYS, latency_reset)
        .doc(
            "server",
            "2.8.13",
            "Resets the latency data for one or more events.",
        )
        .syntax("[event [event ...]]"),
    CommandSpec::new("doctor", 2, LATENCY_FLAGS, NOKEYS, latency_doctor).doc(
        "server",
        "2.8.13",
        "Returns a human-readable latency analysis report.",
    ),
    CommandSpec::new("graph", 3, LATENCY_FLAGS, NOKEYS, latency_graph)
        .doc("server", "2.8.13", "Returns a latency graph for an event.")
        .syntax("event"),
    CommandSpec::new("histogram", -2, LATENCY_FLAGS, NOKEYS, latency_histogram)
        .doc(
            "server",
            "7.0.0",
            "Returns the cumulative distribution of latencies of a subset or all commands.",
        )
        .syntax("[command [command ...]]"),
    CommandSpec::new("help", 2, LOADING | STALE, NOKEYS, latency_help).doc(
        "server",
        "2.8.13",
        "Returns helpful text about the different subcommands.",
    ),
];

// ---------------------------------------------------------------------------------
// SLOWLOG

/// Entries `SLOWLOG GET` returns without a count.
const DEFAULT_GET_COUNT: usize = 10;

/// `SLOWLOG GET [count]`: the newest entries first, `count` of them (-1: all).
fn slowlog_get(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    if args.len() > 3 {
        return Err(CommandError::SubcommandSyntax {
            container: "slowlog".into(),
            sub: args[1].to_vec(),
        });
    }
    let count = match args.get(2) {
        None => DEFAULT_GET_COUNT,
        Some(arg) => match range_arg(arg, -1, i64::MAX, Some(CommandError::SlowlogCount))? {
            -1 => usize::MAX,
            count => usize::try_from(count).unwrap_or(usize::MAX),
        },
    };
    let entries = ctx.server.slowlog.newest(count);
    let out = &mut ctx.out;
    out.array_len(entries.len());
    for entry in entries {
        out.array_len(6);
        out.int(entry.id as i64);
        out.int(entry.time as i64);
        out.int(entry.command.duration_us as i64);
        out.array_len(entry.command.args.len());
        entry.command.args.iter().for_each(|arg| out.bulk(arg));
        out.bulk(entry.command.addr.as_bytes());
        out.bulk(&entry.command.name);
    }
    Ok(())
}

fn slowlog_len(ctx: &mut Ctx<'_, '_>, _: Args<'_>) -> CmdResult {
    let len = ctx.server.slowlog.len();
    ctx.out.int(len as i64);
    Ok(())
}

fn slowlog_reset(ctx: &mut Ctx<'_, '_>, _: Args<'_>) -> CmdResult {
    ctx.server.slowlog.reset();
    ctx.out.ok();
    Ok(())
}

fn slowlog_help(ctx: &mut Ctx<'_, '_>, _: Args<'_>) -> CmdResult {
    help_reply(
        ctx,
        "SLOWLOG",
        &[
            "GET [<count>]",
            "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
            "    Entries are made of:",
            "    id, timestamp, time in microseconds, arguments array, client IP and port,",
            "    client name",
            "LEN",
            "    Return the length of the slowlog.",
            "RESET",
            "    Reset the slowlog.",
        ],
    );
    Ok(())
}

// ---------------------------------------------------------------------------------
// LATENCY

/// `LATENCY LATEST`: per event, its name, the time and latency of its latest
/// sample, and its all-time maximum.
fn latency_latest(ctx: &mut Ctx<'_, '_>, _: Args<'_>) -> CmdResult {
    let events = ctx.server.latency.events();
    let out = &mut ctx.out;
    out.array_len(events.len());
    for (event, series) in events {
        let latest = series.latest();
        out.array_len(4);
        out.bulk(event.as_bytes());
        out.int(latest.time as i64);
        out.int(latest.latency_ms as i64);
        out.int(series.max_ms() as i64);
    }
    Ok(())
}

/// `LATENCY HISTORY event`: its samples as `[time, latency]`, oldest first; none
/// for an event never seen (the name is matched exactly, case included).
fn latency_history(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let samples: Vec<_> = ctx
        .server
        .latency
        .series(&args[2])
        .map(|(_, series)| series.history().collect())
        .unwrap_or_default();
    let out = &mut ctx.out;
    out.array_len(samples.len());
    for sample in samples {
        out.array_len(2);
        out.int(sample.time as i64);
        out.int(sample.latency_ms as i64);
    }
    Ok(())
}

/// `LATENCY RESET [event ...]`: forgets the named events (case-insensitively), or
/// all of them, and answers how many were forgotten.
fn latency_reset(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let names: Vec<&[u8]> = args.iter().skip(2).collect();
    let forgotten = ctx.server.latency.reset(&names);
    ctx.out.int(forgotten as i64);
    Ok(())
}

/// `LATENCY DOCTOR`: a report for people, in broker-server's own words (the figures
/// are Redis's: see [`crate::server::latency::Summary`]).
fn latency_doctor(ctx: &mut Ctx<'_, '_>, _: Args<'_>) -> CmdResult {
    let slowlog_threshold = ctx.server.config.read().slowlog_log_slower_than;
    let report = doctor_report(&ctx.server.latency, slowlog_threshold, now_ms() / 1000);
    ctx.out.verbatim(b"txt", report.as_bytes());
    Ok(())
}

/// `LATENCY GRAPH event`: an ASCII graph of the event's samples.
fn latency_graph(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let Some((event, series)) = ctx.server.latency.series(&args[2]) else {
        return Err(CommandError::NoLatencySamples(args[2].to_vec()));
    };
    let graph = series.graph(event, now_ms() / 1000);
    ctx.out.verbatim(b"txt", graph.as_bytes());
    Ok(())
}

/// `LATENCY HISTOGRAM [command ...]`: for each named command (and each of its
/// subcommands; `config|get` names one subcommand), or for every command, that
/// has calls counted: the calls and their cumulative distribution in
/// microseconds. Unknown names are skipped, as in Redis.
fn latency_histogram(ctx: &mut Ctx<'_, '_>, args: Args<'_>) -> CmdResult {
    let table = CommandTable::get();
    let mut chosen: Vec<usize> = Vec::new();
    if args.len() == 2 {
        chosen.extend(0..table.len());
    } else {
        for name in args.iter().skip(2) {
            if let Some(spec) = lookup_full_name(name) {
                chosen.push(table.index(spec));
                chosen.extend(spec.subcommands.iter().map(|sub| table.index(sub)));
            }
        }
    }
    let stats = &ctx.server.stats;
    let histograms: Vec<(usize, HistogramCounts)> = chosen
        .into_iter()
        .map(|index| (index, stats.command_totals(index).histogram))
        .filter(|(_, histogram)| histogram.total() > 0)
        .collect();
    let out = &mut ctx.out;
    out.map_len(histograms.len());
    for (index, histogram) in histograms {
        let points = histogram.cumulative();
        out.bulk(table.full_name(index).as_bytes());
        out.map_len(2);
        out.bulk(b"calls");
        // The last point counts every call, read once with the others.
        out.int(points.last().map_or(0, |&(_, calls)| calls) as i64);
        out.bulk(b"histogram_usec");
        out.map_len(points.len());
        for (bound_us, count) in points {
            out.int(bound_us as i64);
            out.int(count as i64);
        }
    }
    Ok(())
}

/// A command by its full name, `get` or `config|get` (one level of subcommand, as
/// Redis looks names up for `LATENCY HISTOGRAM`).
fn lookup_full_name(name: &[u8]) -> Option<&'static CommandSpec> {
    let mut parts = name.split(|&b| b == b'|');
    let base = CommandTable::get().lookup(parts.next()?)?;
    match (parts.next(), parts.next()) {
        (None, _) => Some(base),
        (Some(sub), None) => CommandTable::lookup_sub(base, sub),
        _ => None,
    }
}

fn latency_help(ctx: &mut Ctx<'_, '_>, _: Args<'_>) -> CmdResult {
    help_reply(
        ctx,
        "LATENCY",
        &[
            "DOCTOR",
            "    Return a human readable latency analysis report.",
            "GRAPH <event>",
            "    Return an ASCII latency graph for the <event> class.",
            "HISTORY <event>",
            "    Return time-latency samples for the <event> class.",
            "LATEST",
            "    Return the latest latency samples for all events.",
            "RESET [<event> ...]",
            "    Reset latency data of one or more <event> classes.",
            "    (default: reset all data for all event classes)",
            "HISTOGRAM [COMMAND ...]",
            "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
            "    If no commands are specified then all histograms are replied.",
        ],
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_names_have_at_most_one_level() {
        assert_eq!(lookup_full_name(b"GET").map(|s| s.name), Some("get"));
        assert_eq!(lookup_full_name(b"config|GET").map(|s| s.name), Some("get"));
        assert!(lookup_full_name(b"config|get|x").is_none());
        assert!(lookup_full_name(b"get|x").is_none());
        assert!(lookup_full_name(b"config|").is_none());
        assert!(lookup_full_name(b"nosuch").is_none());
    }
}
