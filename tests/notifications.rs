//! Keyspace notifications compared with redis-server 7.0.15: an actor runs commands,
//! a subscriber listens on `__key*__:*`, and after each command the actor publishes
//! a marker on `sync`, so the events of each command are compared as one group.

mod common;
mod pairs;

use std::time::Duration;

use common::{Differential, Oracle, RawClient, TestServer};
use pairs::{PairExt, request};

const COMMANDS: &str = "
SET a 1
SET a 2
SETEX b 100 v
SET c 1 EX 100
SETNX a x
SETNX d x
INCR n
DECR n
INCRBY n 5
INCRBYFLOAT n 1.5
APPEND a x
SETRANGE a 1 y
SETRANGE a 1 \"\"
GETSET a z
GETDEL a
GETDEL a
GETEX c PERSIST
GETEX c PERSIST
GETEX c EX 100
GETEX c
MSET x 1 y 2
MSETNX x 1 q 2
MSETNX z 1 q 2
DEL x y missing
EXPIRE z 100
EXPIRE missing 100
PEXPIRE z 0
SET t 1
PERSIST t
EXPIRE t 100
PERSIST t
RENAME t t2
RENAME t2 t2
SET t3 old
RENAME t2 t3
RENAMENX t3 q
RENAMENX t3 t4
MOVE t4 1
MOVE t4 1
COPY q q2
COPY q q2 REPLACE
COPY q q3 DB 2
UNLINK q
SET k v KEEPTTL
SET k v XX
SET k v NX
SET k v GET
SET knew v GET
GET missing
MGET missing k
EXISTS missing
TTL missing
TYPE missing
STRLEN missing
OBJECT ENCODING missing
INCR made-by-incr
APPEND made-by-append x
MULTI
SET m1 1
DEL m1
EXEC
FLUSHDB
SELECT 3
SET other-db 1
SELECT 0
";

/// Reads frames until the `sync` marker; returns them all.
fn until_sync(client: &mut RawClient) -> Vec<u8> {
    let mut frames = Vec::new();
    loop {
        let frame = client.read_raw();
        let done = frame.windows(10).any(|w| w == b"$4\r\nsync\r\n");
        frames.extend_from_slice(&frame);
        if done {
            return frames;
        }
    }
}

fn run(flags: &str, subscriber_resp3: bool) {
    let oracle = Oracle::start(&[]);
    let server = TestServer::start();
    let mut actor = Differential::new(&oracle, &server);
    let mut listener = Differential::new(&oracle, &server);
    actor.check(&[
        b"CONFIG",
        b"SET",
        b"notify-keyspace-events",
        flags.as_bytes(),
    ]);
    actor.check(&[b"CONFIG", b"GET", b"notify-keyspace-events"]);
    if subscriber_resp3 {
        listener.both(&[b"HELLO", b"3"]);
    }
    listener.check_n("PSUBSCRIBE __key*__:*", 1);
    listener.check_n("SUBSCRIBE sync", 1);
    let mut lines: Vec<&str> = COMMANDS
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    // Expiry last: the `expired` event may come from either expiry path, but always
    // before the next marker.
    lines.extend(["SET e 1 PX 1", "SLEEP", "GET e"]);
    let mut in_multi = false;
    for line in lines {
        if line == "SLEEP" {
            std::thread::sleep(Duration::from_millis(20));
            continue;
        }
        actor.send_both(&request(line));
        actor.expect_same(1, line);
        // Inside MULTI the marker would be queued: the events come at EXEC.
        in_multi = (in_multi || line == "MULTI") && line != "EXEC";
        if in_multi {
            continue;
        }
        actor.check(&[b"PUBLISH", b"sync", line.as_bytes()]);
        let expected = until_sync(&mut listener.redis);
        let actual = until_sync(&mut listener.ours);
        assert_eq!(
            String::from_utf8_lossy(&actual),
            String::from_utf8_lossy(&expected),
            "events differ for {line} with notify-keyspace-events {flags}"
        );
    }
}

#[test]
fn everything() {
    run("KEA", false);
}

#[test]
fn new_and_missed_keys() {
    run("KEAnm", true);
}

#[test]
fn some_classes_on_one_channel_kind() {
    run("E$", false);
    run("Kgx", true);
}

#[test]
fn no_channel_kind_means_no_events() {
    run("A", false);
}

#[test]
fn invalid_classes_are_refused() {
    let oracle = Oracle::start(&[]);
    let server = TestServer::start();
    let mut pair = Differential::new(&oracle, &server);
    pair.check(&[b"CONFIG", b"SET", b"notify-keyspace-events", b"KEQ"]);
    pair.check(&[b"CONFIG", b"GET", b"notify-keyspace-events"]);
    pair.check(&[b"CONFIG", b"SET", b"notify-keyspace-events", b"g$lshzxetd"]);
    pair.check(&[b"CONFIG", b"GET", b"notify-keyspace-events"]);
}

/// The notification of a subscribed RESP3 client's own write comes before its reply.
#[test]
fn own_events_precede_the_reply() {
    let oracle = Oracle::start(&[]);
    let server = TestServer::start();
    let mut pair = Differential::new(&oracle, &server);
    pair.both(&[b"HELLO", b"3"]);
    pair.check(&[b"CONFIG", b"SET", b"notify-keyspace-events", b"KA"]);
    pair.check_n("PSUBSCRIBE __keyspace@0__:*", 1);
    pair.check_n("SET foo bar", 2);
    pair.check_n("DEL foo nothing", 2);
}
