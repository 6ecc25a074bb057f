//! Client-level tests: every foundation command through the `redis` crate, the way
//! applications reach the server, in RESP2 and in RESP3.
//!
//! Each test body runs twice, once per protocol, each time against a fresh server on
//! 127.0.0.1:0 (see [`each_protocol`]). Waits poll a reply until a deadline; nothing
//! sleeps to synchronise.

#[path = "../common/mod.rs"]
mod common;

mod connection;
mod expiry;
mod keys;
mod lifecycle;
mod server;
mod strings;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use redis::{Connection, ConnectionLike, FromRedisValue, RedisError, Value};

use common::TestServer;

/// How long a polled condition may take to come true.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// Runs `test` over RESP2 and then over RESP3, each time on a fresh server; the
/// third argument says whether the connection speaks RESP3.
pub fn each_protocol(test: impl Fn(&TestServer, &mut Connection, bool)) {
    for resp3 in [false, true] {
        let server = TestServer::start();
        let mut con = server.client(resp3);
        test(&server, &mut con, resp3);
    }
}

/// The wall clock in Unix milliseconds, for comparing with absolute expiry times.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// A connection opened from a URL (`redis://:password@host:port/?protocol=resp3`).
pub fn connect(url: &str) -> redis::RedisResult<Connection> {
    let connection = redis::Client::open(url)?.get_connection_with_timeout(DEADLINE)?;
    connection.set_read_timeout(Some(DEADLINE))?;
    Ok(connection)
}

/// The URL of a test server, with an optional password.
pub fn url(server: &TestServer, password: Option<&str>, resp3: bool) -> String {
    format!(
        "redis://{}{}/{}",
        password.map(|p| format!(":{p}@")).unwrap_or_default(),
        server.addr,
        if resp3 { "?protocol=resp3" } else { "" }
    )
}

/// Builds a command from byte arguments.
pub fn command(args: &[&[u8]]) -> redis::Cmd {
    let mut cmd = redis::cmd(std::str::from_utf8(args[0]).expect("command names are text"));
    for arg in &args[1..] {
        cmd.arg(*arg);
    }
    cmd
}

/// Runs a command given as words and converts its reply.
#[track_caller]
pub fn run<T: FromRedisValue>(con: &mut Connection, words: &[&str]) -> T {
    let args: Vec<&[u8]> = words.iter().map(|w| w.as_bytes()).collect();
    match command(&args).query(con) {
        Ok(value) => value,
        Err(error) => panic!("{words:?} failed: {error}"),
    }
}

/// Runs a command given as byte arguments and converts its reply.
#[track_caller]
pub fn run_bytes<T: FromRedisValue>(con: &mut Connection, args: &[&[u8]]) -> T {
    command(args).query(con).expect("command succeeds")
}

/// The raw reply value of a command.
#[track_caller]
pub fn value(con: &mut Connection, words: &[&str]) -> Value {
    run(con, words)
}

/// Runs a command that must fail, and returns the error as it was on the wire
/// (`ERR syntax error`, `WRONGPASS ...`).
#[track_caller]
pub fn error(con: &mut Connection, words: &[&str]) -> String {
    let args: Vec<&[u8]> = words.iter().map(|w| w.as_bytes()).collect();
    match command(&args).query::<Value>(con) {
        Ok(value) => panic!("{words:?} should fail but answered {value:?}"),
        Err(error) => wire_text(&error),
    }
}

/// An error reply's text, code first.
pub fn wire_text(error: &RedisError) -> String {
    format!(
        "{} {}",
        error.code().unwrap_or("(no code)"),
        error.detail().unwrap_or("")
    )
}

/// The text of a string-like reply (bulk, simple or verbatim).
pub fn text(value: &Value) -> String {
    match value {
        Value::BulkString(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        Value::SimpleString(text) => text.clone(),
        Value::VerbatimString { text, .. } => text.clone(),
        Value::Okay => "OK".into(),
        other => panic!("not a string reply: {other:?}"),
    }
}

/// The fields of `INFO [section]`.
pub fn info(con: &mut Connection, section: Option<&str>) -> HashMap<String, String> {
    let reply = match section {
        Some(section) => value(con, &["INFO", section]),
        None => value(con, &["INFO"]),
    };
    text(&reply)
        .lines()
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect()
}

/// One integer field of INFO.
pub fn info_int(con: &mut Connection, section: &str, field: &str) -> i64 {
    info(con, Some(section))
        .get(field)
        .unwrap_or_else(|| panic!("INFO {section} has no {field}"))
        .parse()
        .expect("an integer field")
}

/// The pairs of a map reply: a RESP3 map, or a RESP2 flat array.
pub fn pairs(value: Value) -> Vec<(String, Value)> {
    match value {
        Value::Map(pairs) => pairs.into_iter().map(|(k, v)| (text(&k), v)).collect(),
        Value::Array(items) => {
            assert!(items.len() % 2 == 0, "odd flat map: {items:?}");
            let mut items = items.into_iter();
            let mut out = Vec::new();
            while let (Some(k), Some(v)) = (items.next(), items.next()) {
                out.push((text(&k), v));
            }
            out
        }
        other => panic!("not a map: {other:?}"),
    }
}

/// Polls `condition` until it holds, failing the test after [`DEADLINE`].
#[track_caller]
pub fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + DEADLINE;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        // Paces the polling; the condition itself is what the test waits for.
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Whether the server has closed this connection: the next command fails with an
/// I/O error instead of a reply.
pub fn is_closed(con: &mut Connection) -> bool {
    match redis::cmd("PING").query::<Value>(con) {
        Ok(_) => false,
        Err(error) => error.is_io_error() || error.is_connection_dropped() || !con.is_open(),
    }
}
