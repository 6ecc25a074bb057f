//! SLOWLOG and LATENCY over real sockets, with commands made slow deterministically:
//! a Lua script that spins until `redis.call('TIME')` says enough time has passed.
//! What Redis would log for them (durations, events, blocking commands measured
//! without their wait) is checked here; the exact reply shapes are compared with
//! redis-server in `differential_diagnostics.rs`.

mod common;

use broker_server::protocol::Reply;
use common::{RawClient, TestServer, bulk, client_id, park};

/// A script that runs for at least `ms` milliseconds of server time.
fn spin_script(ms: u64) -> String {
    format!(
        "local t = redis.call('TIME') \
         local start = t[1] * 1000000 + t[2] \
         while true do \
           local n = redis.call('TIME') \
           if n[1] * 1000000 + n[2] - start >= {} then break end \
         end \
         return 1",
        ms * 1000
    )
}

/// Runs [`spin_script`] on `client`.
fn spin(client: &mut RawClient, ms: u64) {
    let script = spin_script(ms);
    client.send_command(&[b"EVAL", script.as_bytes(), b"0"]);
    assert_eq!(client.read_reply(), Reply::Int(1));
}

fn int(reply: &Reply) -> i64 {
    match reply {
        Reply::Int(n) => *n,
        other => panic!("not an integer: {other:?}"),
    }
}

fn array(reply: Reply) -> Vec<Reply> {
    match reply {
        Reply::Array(items) => items,
        other => panic!("not an array: {other:?}"),
    }
}

fn text(reply: &Reply) -> String {
    match reply {
        Reply::Bulk(bytes) | Reply::Verbatim(_, bytes) => {
            String::from_utf8_lossy(bytes).into_owned()
        }
        other => panic!("not a string: {other:?}"),
    }
}

/// One `SLOWLOG GET` entry, decoded.
#[derive(Debug)]
struct Entry {
    duration_us: i64,
    args: Vec<String>,
    addr: String,
    name: String,
}

fn slowlog(client: &mut RawClient, count: &str) -> Vec<Entry> {
    array(client.call(&["SLOWLOG", "GET", count]))
        .into_iter()
        .map(|entry| {
            let fields = array(entry);
            Entry {
                duration_us: int(&fields[2]),
                args: array(fields[3].clone()).iter().map(text).collect(),
                addr: text(&fields[4]),
                name: text(&fields[5]),
            }
        })
        .collect()
}

/// The `addr=` field of the connection's `CLIENT INFO`.
fn own_addr(client: &mut RawClient) -> String {
    let info = text(&client.call(&["CLIENT", "INFO"]));
    info.split(' ')
        .find_map(|field| field.strip_prefix("addr="))
        .expect("CLIENT INFO has addr=")
        .to_string()
}

#[test]
fn a_slow_script_is_in_the_slow_log_and_the_latency_monitor() {
    let server = TestServer::start();
    let mut client = server.raw();
    client.call(&["CLIENT", "SETNAME", "spinner"]);
    client.call(&["CONFIG", "SET", "latency-monitor-threshold", "1"]);
    client.call(&["SLOWLOG", "RESET"]);
    // Under the default threshold of 10 ms only the script is slow enough.
    spin(&mut client, 25);
    let entries = slowlog(&mut client, "10");
    let script = spin_script(25);
    let eval = entries
        .iter()
        .find(|e| e.args[0] == "EVAL")
        .unwrap_or_else(|| panic!("no EVAL entry in {entries:?}"));
    assert!(eval.duration_us >= 25_000, "{eval:?}");
    // The script is longer than the 128 bytes an argument keeps.
    let kept = format!("{}... ({} more bytes)", &script[..128], script.len() - 128);
    assert_eq!(eval.args, ["EVAL", kept.as_str(), "0"]);
    assert_eq!(eval.addr, own_addr(&mut client));
    assert_eq!(eval.name, "spinner");

    // LATENCY LATEST: [event, time, latest, max] for the "command" event.
    let latest = array(client.call(&["LATENCY", "LATEST"]));
    let command = latest
        .into_iter()
        .map(array)
        .find(|event| text(&event[0]) == "command")
        .expect("a command event");
    assert!(int(&command[1]) > 1_600_000_000, "{command:?}");
    assert!(int(&command[2]) >= 25, "{command:?}");
    assert!(int(&command[3]) >= 25, "{command:?}");
    let history = array(client.call(&["LATENCY", "HISTORY", "command"]));
    assert!(!history.is_empty());
    let graph = text(&client.call(&["LATENCY", "GRAPH", "command"]));
    assert!(graph.starts_with("command - high "), "{graph}");
    let doctor = text(&client.call(&["LATENCY", "DOCTOR"]));
    assert!(doctor.contains(". command: "), "{doctor}");

    // The script's duration is in its histogram, at a bound of at least 25 ms.
    let histogram = client.call(&["LATENCY", "HISTOGRAM", "eval"]);
    let Reply::Array(fields) = histogram else {
        panic!("{histogram:?}")
    };
    assert_eq!(text(&fields[0]), "eval");
    let figures = array(fields[1].clone());
    assert_eq!(int(&figures[1]), 1);
    let points = array(figures[3].clone());
    assert!(int(&points[points.len() - 2]) >= 25_000, "{points:?}");

    // LATENCY RESET forgets the event.
    assert!(int(&client.call(&["LATENCY", "RESET", "COMMAND"])) == 1);
    let history = array(client.call(&["LATENCY", "HISTORY", "command"]));
    assert!(history.is_empty());
}

#[test]
fn nothing_is_recorded_while_both_are_off() {
    let server = TestServer::with_config(|config| config.slowlog_log_slower_than = -1);
    let mut client = server.raw();
    spin(&mut client, 15);
    assert_eq!(client.call(&["SLOWLOG", "LEN"]), Reply::Int(0));
    assert_eq!(client.call(&["LATENCY", "LATEST"]), Reply::Array(vec![]));
}

#[test]
fn the_threshold_is_read_at_once() {
    let server = TestServer::start();
    let mut client = server.raw();
    client.call(&["CONFIG", "SET", "slowlog-log-slower-than", "50000"]);
    spin(&mut client, 1);
    assert_eq!(client.call(&["SLOWLOG", "LEN"]), Reply::Int(0));
    spin(&mut client, 60);
    assert_eq!(client.call(&["SLOWLOG", "LEN"]), Reply::Int(1));
}

/// A blocking command is logged when it is served, with the time it ran, not the
/// time it waited; one that times out is not logged, as in Redis.
#[test]
fn blocking_commands_are_logged_without_their_wait() {
    let server = TestServer::with_config(|config| config.slowlog_log_slower_than = 0);
    let mut observer = server.raw();
    let mut waiter = server.raw();
    park(&mut observer, &mut waiter, "BLPOP queue 0", 1);
    // The waiter waits at least as long as this script runs.
    spin(&mut observer, 100);
    assert_eq!(observer.call(&["LPUSH", "queue", "job"]), Reply::Int(1));
    assert_eq!(
        waiter.read_reply(),
        Reply::Array(vec![bulk("queue"), bulk("job")])
    );
    let entries = slowlog(&mut observer, "-1");
    let blpop = entries
        .iter()
        .find(|e| e.args[0] == "BLPOP")
        .unwrap_or_else(|| panic!("no BLPOP entry in {entries:?}"));
    assert!(blpop.duration_us < 100_000, "{blpop:?}");
    assert_eq!(blpop.addr, own_addr(&mut waiter));

    // Timed out: not logged. Unblocked by CLIENT UNBLOCK: logged.
    observer.call(&["SLOWLOG", "RESET"]);
    assert_eq!(
        waiter.call(&["BLPOP", "other", "0.01"]),
        Reply::NullArray,
        "BLPOP times out"
    );
    let id = client_id(&mut waiter);
    park(&mut observer, &mut waiter, "BRPOP third 0", 1);
    assert_eq!(
        observer.call(&["CLIENT", "UNBLOCK", &id]),
        Reply::Int(1),
        "CLIENT UNBLOCK"
    );
    assert_eq!(waiter.read_reply(), Reply::NullArray);
    let logged: Vec<String> = slowlog(&mut observer, "-1")
        .into_iter()
        .map(|e| e.args[0].clone())
        .collect();
    assert!(logged.contains(&"BRPOP".to_string()), "{logged:?}");
    assert!(!logged.contains(&"BLPOP".to_string()), "{logged:?}");
}

#[test]
fn monitor_never_shows_a_password() {
    let server = TestServer::with_config(|config| config.requirepass = Some("s3cret".into()));
    let mut monitor = server.raw();
    assert_eq!(monitor.call(&["AUTH", "s3cret"]), Reply::Ok);
    assert_eq!(monitor.call(&["MONITOR"]), Reply::Ok);
    let mut client = server.raw();
    assert_eq!(client.call(&["AUTH", "default", "s3cret"]), Reply::Ok);
    let line = String::from_utf8_lossy(&monitor.read_raw()).into_owned();
    assert!(
        line.ends_with("] \"AUTH\" \"(redacted)\" \"(redacted)\"\r\n"),
        "{line}"
    );
    client.call(&["HELLO", "3", "AUTH", "default", "s3cret"]);
    let line = String::from_utf8_lossy(&monitor.read_raw()).into_owned();
    assert!(
        line.ends_with("] \"HELLO\" \"3\" \"AUTH\" \"(redacted)\" \"(redacted)\"\r\n"),
        "{line}"
    );
}
