//! Differential tests for SLOWLOG and LATENCY against Debian's redis-server, in RESP2
//! and RESP3: help texts, errors and options byte for byte; what the slow log keeps
//! (ids, arguments, trimming, redaction, client names, which commands are logged)
//! compared exactly once the fields that vary between runs and servers (time,
//! duration, client address) are blanked; the latency monitor while it is off; and
//! the shape of `LATENCY HISTOGRAM` with its timings blanked.

mod common;

use broker_server::protocol::Reply;
use common::{Differential, Oracle, TestServer, differential_script_tests};

/// Help texts, arity and argument errors, the options, and the latency monitor
/// while it is off (nothing recorded, so every reply is deterministic).
const HELP_ERRORS_AND_OPTIONS: &str = "
SLOWLOG HELP
LATENCY HELP
SLOWLOG
SLOWLOG FOO
SLOWLOG GET 1 2
SLOWLOG LEN x
SLOWLOG RESET x
SLOWLOG HELP x
SLOWLOG GET -2
SLOWLOG GET x
SLOWLOG GET 9223372036854775808
SLOWLOG GET 0
LATENCY
LATENCY FOO
LATENCY LATEST x
LATENCY HISTORY
LATENCY HISTORY a b
LATENCY GRAPH
LATENCY DOCTOR x
LATENCY HELP x
LATENCY LATEST
LATENCY HISTORY command
LATENCY RESET
LATENCY RESET command fast-command nosuch
LATENCY GRAPH command
LATENCY HISTOGRAM nosuch
LATENCY HISTOGRAM get|x config|get|x
CONFIG GET slowlog-log-slower-than
CONFIG GET slowlog-max-len
CONFIG GET latency-monitor-threshold
CONFIG GET latency-tracking
CONFIG SET slowlog-log-slower-than -2
CONFIG SET slowlog-log-slower-than abc
CONFIG SET slowlog-log-slower-than 10k
CONFIG SET slowlog-log-slower-than 05
CONFIG SET slowlog-log-slower-than 9223372036854775808
CONFIG SET slowlog-log-slower-than -1
CONFIG GET slowlog-log-slower-than
CONFIG SET slowlog-max-len -1
CONFIG SET slowlog-max-len 1mb
CONFIG SET slowlog-max-len 9223372036854775807
CONFIG GET slowlog-max-len
CONFIG SET latency-monitor-threshold -1
CONFIG SET latency-monitor-threshold x
CONFIG SET latency-tracking maybe
CONFIG SET latency-tracking no
CONFIG GET latency-tracking
CONFIG SET slowlog-max-len 128 slowlog-log-slower-than 10000 latency-tracking yes
CONFIG GET slowlog-max-len
";

differential_script_tests! {
    help_errors_and_options_resp2, help_errors_and_options_resp3 => HELP_ERRORS_AND_OPTIONS;
}

/// Starts both servers with the slow log off, so nothing is logged (and no id
/// used) before a test turns it on.
fn servers() -> (Oracle, TestServer) {
    let oracle = Oracle::start(&["--slowlog-log-slower-than", "-1"]);
    let server = TestServer::with_config(|config| config.slowlog_log_slower_than = -1);
    (oracle, server)
}

/// A `SLOWLOG GET` reply with the time, the duration and the client address of
/// each entry blanked (after checking they are plausible), so that the rest can be
/// compared exactly.
fn masked(reply: Reply) -> Reply {
    let Reply::Array(entries) = reply else {
        panic!("SLOWLOG GET answered {reply:?}");
    };
    let entries = entries
        .into_iter()
        .map(|entry| {
            let Reply::Array(mut fields) = entry else {
                panic!("a slow log entry is {entry:?}");
            };
            assert_eq!(fields.len(), 6, "{fields:?}");
            assert!(
                matches!(fields[1], Reply::Int(time) if time > 1_600_000_000),
                "{fields:?}"
            );
            assert!(
                matches!(fields[2], Reply::Int(duration) if duration >= 0),
                "{fields:?}"
            );
            assert!(
                matches!(&fields[4], Reply::Bulk(addr) if addr.contains(&b':')),
                "{fields:?}"
            );
            fields[1] = Reply::Int(0);
            fields[2] = Reply::Int(0);
            fields[4] = Reply::bulk(b"addr");
            Reply::Array(fields)
        })
        .collect();
    Reply::Array(entries)
}

/// Sends `SLOWLOG GET -1` to both and compares the entries with their varying
/// fields blanked.
///
/// # Returns
/// The entries' arguments, newest first, for the caller's own checks.
fn compare_slowlog(pair: &mut Differential, when: &str) -> Vec<Vec<String>> {
    let (expected, actual) = pair.both(&[b"SLOWLOG", b"GET", b"-1"]);
    let actual = masked(actual);
    assert_eq!(actual, masked(expected), "SLOWLOG GET -1 differs {when}");
    let Reply::Array(entries) = actual else {
        unreachable!("masked returns an array")
    };
    entries
        .iter()
        .map(|entry| match entry {
            Reply::Array(fields) => match &fields[3] {
                Reply::Array(args) => args
                    .iter()
                    .map(|arg| match arg {
                        Reply::Bulk(bytes) => String::from_utf8_lossy(bytes).into_owned(),
                        other => panic!("an argument is {other:?}"),
                    })
                    .collect(),
                other => panic!("the arguments are {other:?}"),
            },
            other => panic!("an entry is {other:?}"),
        })
        .collect()
}

/// Whether some entry's arguments are exactly `words`.
fn has_entry(entries: &[Vec<String>], words: &[&str]) -> bool {
    entries.iter().any(|args| args == words)
}

fn run_slowlog(resp3: bool) {
    let (oracle, server) = servers();
    let mut pair = Differential::with_protocol(&oracle, &server, resp3);
    let version = if resp3 { "3" } else { "2" };
    pair.script(
        "
        SLOWLOG RESET
        CONFIG SET slowlog-log-slower-than 0
        SET k v
        GET k
        # Runtime errors are logged; commands refused before running are not.
        LPUSH k x
        NOSUCHCOMMAND a b
        GET
        CLIENT SETNAME slowcli
        GET k
        SLOWLOG LEN
        SLOWLOG GET 0
        ",
    );
    let entries = compare_slowlog(&mut pair, "after plain commands");
    // The comparison is not vacuous: the log holds what was run, newest first.
    assert_eq!(entries.len(), 8, "{entries:?}");
    assert_eq!(entries[0], ["SLOWLOG", "GET", "0"]);
    assert!(has_entry(&entries, &["LPUSH", "k", "x"]), "{entries:?}");

    // Arguments past the 32nd are counted, and those over 128 bytes cut.
    let long = vec![b'x'; 200];
    let exact = vec![b'y'; 128];
    pair.check(&[b"SET", &long, &exact]);
    let many: Vec<String> = (0..40).map(|i| format!("e{i}")).collect();
    let mut rpush: Vec<&[u8]> = vec![b"RPUSH", b"many"];
    rpush.extend(many.iter().map(|e| e.as_bytes()));
    pair.check(&rpush);
    let thirty_two: Vec<&[u8]> = rpush[..32].to_vec();
    pair.check(&thirty_two);
    let thirty_three: Vec<&[u8]> = rpush[..33].to_vec();
    pair.check(&thirty_three);
    let entries = compare_slowlog(&mut pair, "after long commands");
    assert_eq!(entries[2][31], "... (11 more arguments)");
    assert!(
        entries[3][1].ends_with("... (72 more bytes)"),
        "{entries:?}"
    );

    // Passwords are redacted, as Redis does, even when the command fails; a
    // request refused for its shape before that point is logged as sent. (HELLO's
    // reply carries the client id, so it is not compared.)
    let hello = format!("HELLO {version} AUTH default pw SETNAME helloname");
    let hello: Vec<&[u8]> = hello.split(' ').map(str::as_bytes).collect();
    pair.both(&hello);
    pair.script(&format!(
        "
        AUTH secret
        AUTH someone secret
        AUTH default secret
        AUTH a b c
        HELLO {version} AUTH default pw AUTH nosuchuser pw2 SETNAME unseen
        HELLO {version} SETNAME bad\x01name AUTH default pw
        HELLO 9 AUTH default pw
        CONFIG SET requirepass secret extra
        CONFIG SET nosuchoption 1 requirepass secret
        "
    ));
    pair.check(&[b"CONFIG", b"SET", b"requirepass", b"", b"maxmemory", b"0"]);
    let entries = compare_slowlog(&mut pair, "after sensitive commands");
    assert!(has_entry(&entries, &["AUTH", "(redacted)"]), "{entries:?}");
    assert!(has_entry(&entries, &["AUTH", "a", "b", "c"]), "{entries:?}");

    // EXEC is not logged itself, the commands it ran are; a script's commands are
    // logged before the script.
    pair.script(
        "
        MULTI
        SET t 1
        INCR t
        EXEC
        MULTI
        NOSUCHCOMMAND
        EXEC
        MULTI
        PING
        DISCARD
        SUBSCRIBE chan
        UNSUBSCRIBE chan
        ",
    );
    pair.check(&[
        b"EVAL",
        b"redis.call('set','e','1') return redis.call('get','e')",
        b"0",
    ]);
    pair.check(&[b"EVAL", b"return redis.pcall('lpush','k','x')", b"0"]);
    // A blocking command that times out is never logged.
    pair.check(&[b"BLPOP", b"nolist", b"0.01"]);
    let entries = compare_slowlog(&mut pair, "after transactions and scripts");
    assert!(has_entry(&entries, &["set", "e", "1"]), "{entries:?}");
    assert!(!entries.iter().any(|args| args[0] == "EXEC"), "{entries:?}");
    assert!(
        !entries.iter().any(|args| args[0] == "BLPOP"),
        "{entries:?}"
    );

    // Another client's name and RESET's effect on it.
    let mut other = Differential::with_protocol(&oracle, &server, resp3);
    other.script("CLIENT SETNAME second\nECHO hi\nRESET\nECHO again");
    compare_slowlog(&mut pair, "after a second client");

    // The length limit applies when the next entry arrives; ids keep counting
    // through trimming and RESET.
    pair.script(
        "
        CONFIG SET slowlog-max-len 3
        PING
        SLOWLOG LEN
        CONFIG SET slowlog-max-len 0
        SLOWLOG LEN
        CONFIG SET slowlog-max-len 128
        SLOWLOG RESET
        SLOWLOG LEN
        PING
        ",
    );
    let entries = compare_slowlog(&mut pair, "after trimming and reset");
    let expected: [&[&str]; 3] = [&["PING"], &["SLOWLOG", "LEN"], &["SLOWLOG", "RESET"]];
    assert_eq!(entries, expected);
    let (expected, actual) = pair.both(&[b"SLOWLOG", b"GET"]);
    assert_eq!(masked(actual), masked(expected), "SLOWLOG GET");
    let (expected, actual) = pair.both(&[b"SLOWLOG", b"GET", b"1"]);
    assert_eq!(masked(actual), masked(expected), "SLOWLOG GET 1");

    // Off again: nothing more is logged.
    pair.script("CONFIG SET slowlog-log-slower-than -1\nSET k v\nSLOWLOG LEN");
    compare_slowlog(&mut pair, "once off");
}

#[test]
fn slowlog_entries_resp2() {
    run_slowlog(false);
}

#[test]
fn slowlog_entries_resp3() {
    run_slowlog(true);
}

/// The entries of a map reply (RESP3 map, or RESP2 flat array), sorted by key.
fn sorted_entries(reply: &Reply) -> Vec<(Reply, Reply)> {
    let mut entries: Vec<(Reply, Reply)> = match reply {
        Reply::Map(pairs) => pairs.clone(),
        Reply::Array(items) => items
            .chunks(2)
            .map(|pair| (pair[0].clone(), pair[1].clone()))
            .collect(),
        other => panic!("not a map: {other:?}"),
    };
    entries.sort_by_key(|(key, _)| format!("{key:?}"));
    entries
}

/// A `LATENCY HISTOGRAM` reply with each command's buckets (timings) replaced by
/// whether it had any, commands in name order (Redis lists them in hash order).
fn histogram_shape(reply: &Reply) -> Vec<(Reply, Vec<(Reply, Reply)>)> {
    sorted_entries(reply)
        .into_iter()
        .map(|(name, figures)| {
            let figures = sorted_entries(&figures)
                .into_iter()
                .map(|(field, value)| match (&field, &value) {
                    (Reply::Bulk(f), _) if &f[..] == b"histogram_usec" => {
                        let points = sorted_entries(&value);
                        assert!(!points.is_empty(), "{value:?}");
                        (field, Reply::Int(1))
                    }
                    _ => (field, value),
                })
                .collect();
            (name, figures)
        })
        .collect()
}

fn run_histogram(resp3: bool) {
    let (oracle, server) = servers();
    let mut pair = Differential::with_protocol(&oracle, &server, resp3);
    pair.script(
        "
        CONFIG RESETSTAT
        SET a 1
        SET b 2
        GET a
        MULTI
        SET c 3
        EXEC
        CONFIG GET maxmemory
        LATENCY HISTOGRAM nosuch
        ",
    );
    pair.check(&[b"EVAL", b"return redis.call('set','d','4')", b"0"]);
    pair.check(&[b"BLPOP", b"nolist", b"0.01"]);
    // Not vacuous: SET ran four times (once in EXEC, once from the script).
    let (_, actual) = pair.both(&[b"LATENCY", b"HISTOGRAM", b"set"]);
    let shape = histogram_shape(&actual);
    assert_eq!(shape.len(), 1, "{actual:?}");
    assert!(
        shape[0].1.contains(&(Reply::bulk(b"calls"), Reply::Int(4))),
        "{actual:?}"
    );
    for query in [
        &[&b"LATENCY"[..], b"HISTOGRAM", b"set", b"get"][..],
        &[b"LATENCY", b"HISTOGRAM", b"SET", b"nosuch", b"GET"],
        &[b"LATENCY", b"HISTOGRAM", b"config"],
        &[b"LATENCY", b"HISTOGRAM", b"config|get"],
        &[
            b"LATENCY",
            b"HISTOGRAM",
            b"exec",
            b"multi",
            b"eval",
            b"blpop",
        ],
    ] {
        let (expected, actual) = pair.both(query);
        assert_eq!(
            histogram_shape(&actual),
            histogram_shape(&expected),
            "{query:?}"
        );
    }
    // CONFIG RESETSTAT forgets the histograms; latency-tracking no stops them.
    pair.script(
        "
        CONFIG SET latency-tracking no
        CONFIG RESETSTAT
        SET a 1
        LATENCY HISTOGRAM set config|resetstat
        CONFIG SET latency-tracking yes
        ",
    );
}

#[test]
fn latency_histogram_shape_resp2() {
    run_histogram(false);
}

#[test]
fn latency_histogram_shape_resp3() {
    run_histogram(true);
}
