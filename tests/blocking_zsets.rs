//! BZPOPMIN, BZPOPMAX and BZMPOP. Where they answer at once (a member to pop, an
//! error, a 10 ms timeout, inside MULTI or a script) the replies are compared byte
//! for byte with Debian's redis-server 7.0.15, in RESP2 and RESP3; the keyspace
//! events of a served waiter are compared the same way. The blocking rules of
//! `commands::blocking` are then checked over sockets against broker-server alone.
//!
//! Tests synchronise on `INFO blocked_clients` or on replies, never on sleeps; every
//! wait is bounded by the socket read timeout.

mod common;

use broker_server::protocol::Reply;
use common::{
    Differential, Oracle, TestServer, assert_times_out_after, block_then_unblock, blocked_clients,
    bulk, client_id, no_waiters_left, park, until_sync,
};

// ---------------------------------------------------------------------------------
// Differential: what answers at once.

const POP_AT_ONCE: &str = "
ZADD z 1 a 2.5 b 3 c 1e300 d -inf e 0.1 f
BZPOPMIN z 0
BZPOPMAX z 0
BZPOPMIN missing z 0
BZPOPMAX missing z 1.5
bzpopmin z missing 0.01
BZPOPMIN missing 0.01
BZPOPMAX missing other 0.01
ZADD y 5 m
BZPOPMAX missing y z 0
EXISTS y
ZADD inf +inf top -5 bottom
BZPOPMAX inf 0
BZPOPMIN inf 0
EXISTS inf
ZADD z 1 a 2 b 3 c
BZPOPMIN z z 0
ZCARD z
";

const MULTI_POP_AT_ONCE: &str = "
ZADD z 1 a 2.5 b 3 c 1e300 d -inf e 0.1 f
BZMPOP 0 1 z MIN
BZMPOP 0 2 missing z MAX COUNT 2
BZMPOP 0 2 missing z min count 10
EXISTS z
BZMPOP 0.01 1 z MIN
BZMPOP 0.01 2 missing z MAX COUNT 3
ZADD z 1 a 2 b
ZADD w 7 x
BZMPOP 0 2 w z max COUNT 1
BZMPOP 0 2 w z MAX COUNT 9223372036854775807
BZMPOP 1.5 1 z MIN
EXISTS w z
";

const ERRORS: &str = "
SET s v
ZADD z 1 a 2 b 3 c 4 d 5 e 6 f
BZPOPMIN s 0
BZPOPMAX missing s z 0
BZPOPMIN z s 0
BZMPOP 0 2 s z MIN
BZMPOP 0 2 missing s MAX COUNT 2
BZMPOP 0 2 z s MAX
BZPOPMIN z -1
BZPOPMIN missing -1
BZPOPMIN z -0.5
BZPOPMIN z abc
BZPOPMIN z inf
BZPOPMIN z 1e300
BZPOPMIN s abc
BZPOPMIN s -1
BZPOPMIN z 1.5e-3
BZPOPMIN z 0x10
BZMPOP -1 1 z MIN
BZMPOP x 1 z MIN
BZMPOP x 1 s MIN
BZMPOP 0 0 z MIN
BZMPOP 0 -1 z MIN
BZMPOP x 0 z MIN
BZMPOP x 1 z MIDDLE
BZMPOP 0 1 z LEFT
BZMPOP x 1 z MIN COUNT 0
BZMPOP 0 1 z MIN COUNT 0
BZMPOP 0 1 z MIN COUNT -1
BZMPOP 0 1 z MIN COUNT x
BZMPOP 0 1 z MIN COUNT 1 COUNT 2
BZMPOP 0 1 z MIN FOO
BZMPOP 0 1 z MIN COUNT
BZMPOP 0 3 z MIN
BZMPOP 0 9223372036854775807 z MIN
BZMPOP 0 x z MIN
ZRANGE z 0 -1 WITHSCORES
BZPOPMIN
BZPOPMIN z
BZPOPMAX z
BZMPOP 0 1 z
BZMPOP 0 1
TYPE z
";

const NESTED: &str = "
MULTI
BZPOPMIN missing 0
BZPOPMAX missing other 0
BZMPOP 0 1 missing MAX
BZMPOP 0 2 missing other MIN COUNT 3
ZADD m 1 a 2 b 3 c
BZPOPMAX m 0
BZMPOP 0 1 m MIN COUNT 5
EXISTS m
EXEC
MULTI
SET s v
BZPOPMIN s 0
BZMPOP -1 1 m MIN
EXEC
";

common::differential_script_tests! {
    pop_at_once_resp2, pop_at_once_resp3 => POP_AT_ONCE;
    multi_pop_at_once_resp2, multi_pop_at_once_resp3 => MULTI_POP_AT_ONCE;
    errors_resp2, errors_resp3 => ERRORS;
    nested_in_exec_resp2, nested_in_exec_resp3 => NESTED;
}

/// Scripts may call BZMPOP, which then answers at once, but not BZPOPMIN or BZPOPMAX
/// (flagged `noscript` in 7.0.15).
#[test]
fn scripts_pop_at_once_or_are_refused() {
    common::in_both_protocols(|pair| {
        pair.check(&[
            b"EVAL",
            b"return redis.call('bzmpop', 0, 1, KEYS[1], 'MIN')",
            b"1",
            b"missing",
        ]);
        pair.check(&[b"ZADD", b"z", b"1", b"a", b"2", b"b", b"3", b"c"]);
        pair.check(&[
            b"EVAL",
            b"return redis.call('bzmpop', 0, 2, KEYS[1], KEYS[2], 'MAX', 'COUNT', 2)",
            b"2",
            b"missing",
            b"z",
        ]);
        pair.check(&[
            b"EVAL",
            b"return redis.call('bzpopmin', KEYS[1], 0)",
            b"1",
            b"z",
        ]);
        pair.check(&[
            b"EVAL",
            b"return redis.pcall('bzpopmax', KEYS[1], 0)",
            b"1",
            b"z",
        ]);
        pair.check(&[b"ZRANGE", b"z", b"0", b"-1"]);
        pair.check(&[b"DEL", b"z"]);
    });
}

/// Binary keys and members come back as they went in.
#[test]
fn binary_keys_and_members() {
    let oracle = Oracle::start(&[]);
    let server = TestServer::start();
    let mut pair = Differential::new(&oracle, &server);
    let key: &[u8] = b"z\x06\x163";
    pair.check(&[b"ZADD", key, b"1", b"\x00\xff\r\n", b"2", b""]);
    pair.check(&[b"BZPOPMIN", b"z", key, b"1"]);
    pair.check(&[b"BZMPOP", b"1", b"2", b"z", key, b"MAX", b"COUNT", b"5"]);
    pair.check(&[b"EXISTS", key]);
}

// ---------------------------------------------------------------------------------
// Differential: the events of a served waiter.

/// A waiter served by ZADD announces `zpopmin`/`zpopmax`, then `del` if it emptied
/// the key, exactly as Redis does; so does a pop at once. (Only these events are
/// listened to: the writers' own are another matter.)
#[test]
fn a_served_waiter_announces_its_pop() {
    let oracle = Oracle::start(&[]);
    let server = TestServer::start();
    let mut actor = Differential::new(&oracle, &server);
    let mut listener = Differential::new(&oracle, &server);
    let mut waiter = Differential::new(&oracle, &server);
    actor.check(&[b"CONFIG", b"SET", b"notify-keyspace-events", b"KEA"]);
    for channel in [
        &b"__keyevent@0__:zpopmin"[..],
        b"__keyevent@0__:zpopmax",
        b"__keyevent@0__:del",
        b"sync",
    ] {
        listener.check(&[b"SUBSCRIBE", channel]);
    }
    let waits: [&[&[u8]]; 4] = [
        &[b"BZPOPMIN", b"z", b"0"],
        &[b"BZPOPMAX", b"other", b"z", b"0"],
        &[b"BZMPOP", b"0", b"1", b"z", b"MAX", b"COUNT", b"5"],
        &[b"BZMPOP", b"0", b"1", b"z", b"MIN"],
    ];
    for (step, wait) in waits.into_iter().enumerate() {
        waiter.redis.send_command(wait);
        waiter.ours.send_command(wait);
        blocked_clients(&mut actor.redis, 1);
        blocked_clients(&mut actor.ours, 1);
        actor.check(&[b"ZADD", b"z", b"1", b"a", b"2", b"b"]);
        let expected = waiter.redis.read_raw();
        assert_eq!(waiter.ours.read_raw(), expected, "step {step}");
        // At once, from what the serve left (nothing, after the COUNT 5).
        actor.check(&[b"BZPOPMIN", b"z", b"0.01"]);
        let marker = format!("step {step}");
        actor.check(&[b"PUBLISH", b"sync", marker.as_bytes()]);
        let expected = until_sync(&mut listener.redis);
        assert_eq!(
            String::from_utf8_lossy(&until_sync(&mut listener.ours)),
            String::from_utf8_lossy(&expected),
            "events differ at step {step}"
        );
        actor.check(&[b"DEL", b"z"]);
        actor.check(&[b"PUBLISH", b"sync", b"del"]);
        until_sync(&mut listener.redis);
        until_sync(&mut listener.ours);
    }
}

// ---------------------------------------------------------------------------------
// Socket tests: the blocking rules.

/// `[key, member, score]` as RESP2 sends it.
fn popped(key: &str, member: &str, score: &str) -> Reply {
    Reply::Array(vec![bulk(key), bulk(member), bulk(score)])
}

/// `[key, [[member, score], ...]]` as RESP2 sends it.
fn multi_popped(key: &str, elements: &[(&str, &str)]) -> Reply {
    let elements = elements
        .iter()
        .map(|(member, score)| Reply::Array(vec![bulk(member), bulk(score)]))
        .collect();
    Reply::Array(vec![bulk(key), Reply::Array(elements)])
}

#[test]
fn a_zadd_from_another_client_serves_each_command() {
    let server = TestServer::start();
    let mut observer = server.raw();
    let mut waiter = server.raw();
    park(&mut observer, &mut waiter, "BZPOPMIN z 0", 1);
    // ZADD counts what it added although the waiter took a member at once.
    assert_eq!(
        observer.call(&["ZADD", "z", "2", "b", "1.5", "a"]),
        Reply::Int(2)
    );
    assert_eq!(waiter.read_reply(), popped("z", "a", "1.5"));
    waiter.send_command(&[b"BZPOPMAX", b"z", b"0"]);
    // `b` is still there: served at once.
    assert_eq!(waiter.read_reply(), popped("z", "b", "2"));
    assert_eq!(observer.call(&["EXISTS", "z"]), Reply::Int(0));
    park(&mut observer, &mut waiter, "BZPOPMAX z 0", 1);
    observer.call(&["ZADD", "z", "1", "low", "3", "high"]);
    assert_eq!(waiter.read_reply(), popped("z", "high", "3"));
    observer.call(&["DEL", "z"]);
    park(&mut observer, &mut waiter, "BZMPOP 0 2 y z MIN COUNT 2", 1);
    observer.call(&["ZADD", "z", "3", "c", "1", "a", "2", "b"]);
    assert_eq!(
        waiter.read_reply(),
        multi_popped("z", &[("a", "1"), ("b", "2")])
    );
    assert_eq!(
        observer.call(&["ZRANGE", "z", "0", "-1"]),
        Reply::Array(vec![bulk("c")])
    );
    no_waiters_left(&server, &mut observer);
}

#[test]
fn zincrby_and_zunionstore_serve_waiters_too() {
    let server = TestServer::start();
    let mut observer = server.raw();
    let mut waiter = server.raw();
    park(&mut observer, &mut waiter, "BZPOPMIN z 0", 1);
    observer.call(&["ZINCRBY", "z", "2.5", "m"]);
    assert_eq!(waiter.read_reply(), popped("z", "m", "2.5"));
    park(&mut observer, &mut waiter, "BZMPOP 0 1 dst MAX COUNT 10", 1);
    observer.call(&["ZADD", "src", "1", "a", "2", "b"]);
    assert_eq!(
        observer.call(&["ZUNIONSTORE", "dst", "1", "src"]),
        Reply::Int(2)
    );
    assert_eq!(
        waiter.read_reply(),
        multi_popped("dst", &[("b", "2"), ("a", "1")])
    );
    park(&mut observer, &mut waiter, "BZPOPMAX q 0", 1);
    assert_eq!(observer.call(&["RENAME", "src", "q"]), Reply::Ok);
    assert_eq!(waiter.read_reply(), popped("q", "b", "2"));
    no_waiters_left(&server, &mut observer);
}

#[test]
fn waiters_on_a_key_are_served_in_arrival_order() {
    let server = TestServer::start();
    let mut observer = server.raw();
    let mut first = server.raw();
    let mut second = server.raw();
    let mut third = server.raw();
    park(&mut observer, &mut first, "BZPOPMIN z 0", 1);
    park(&mut observer, &mut second, "BZPOPMAX other z 0", 2);
    park(&mut observer, &mut third, "BZMPOP 0 1 z MIN", 3);
    assert_eq!(observer.call(&["ZADD", "z", "1", "a"]), Reply::Int(1));
    assert_eq!(first.read_reply(), popped("z", "a", "1"));
    // The others are still parked until the next member.
    blocked_clients(&mut observer, 2);
    // One ZADD of several members serves several waiters, oldest first, each from
    // its own end.
    assert_eq!(
        observer.call(&["ZADD", "z", "1", "a", "2", "b", "3", "c"]),
        Reply::Int(3)
    );
    assert_eq!(second.read_reply(), popped("z", "c", "3"));
    assert_eq!(third.read_reply(), multi_popped("z", &[("a", "1")]));
    assert_eq!(
        observer.call(&["ZRANGE", "z", "0", "-1"]),
        Reply::Array(vec![bulk("b")])
    );
    no_waiters_left(&server, &mut observer);
}

/// With several keys non-empty at once, the first in argument order is popped; a
/// waiter is served by the key that received members first, and only once.
#[test]
fn key_order_decides_at_once_and_arrival_order_when_waiting() {
    let server = TestServer::start();
    let mut observer = server.raw();
    let mut client = server.raw();
    observer.call(&["ZADD", "k2", "2", "b"]);
    observer.call(&["ZADD", "k3", "3", "c"]);
    assert_eq!(
        client.call(&["BZPOPMIN", "k1", "k3", "k2", "0"]),
        popped("k3", "c", "3")
    );
    assert_eq!(
        client.call(&["BZMPOP", "0", "3", "k1", "k3", "k2", "MIN"]),
        multi_popped("k2", &[("b", "2")])
    );
    park(&mut observer, &mut client, "BZPOPMAX k1 k2 0", 1);
    observer.call(&["MULTI"]);
    observer.call(&["ZADD", "k2", "1", "a"]);
    observer.call(&["ZADD", "k1", "2", "b"]);
    assert_eq!(
        observer.call(&["EXEC"]),
        Reply::Array(vec![Reply::Int(1), Reply::Int(1)])
    );
    assert_eq!(client.read_reply(), popped("k2", "a", "1"));
    assert_eq!(observer.call(&["ZCARD", "k1"]), Reply::Int(1));
    no_waiters_left(&server, &mut observer);
}

/// A ZADD queued in MULTI serves nobody until EXEC, and only if the transaction
/// leaves a member to take.
#[test]
fn zadd_inside_multi_serves_after_exec() {
    let server = TestServer::start();
    let mut observer = server.raw();
    let mut writer = server.raw();
    let mut waiter = server.raw();
    park(&mut observer, &mut waiter, "BZPOPMIN z 0", 1);
    writer.call(&["MULTI"]);
    writer.call(&["ZADD", "z", "1", "a"]);
    writer.call(&["ZPOPMIN", "z"]);
    assert_eq!(
        writer.call(&["EXEC"]),
        Reply::Array(vec![
            Reply::Int(1),
            Reply::Array(vec![bulk("a"), bulk("1")])
        ])
    );
    // The transaction took its own member back: the waiter still waits (its reply
    // below proves it was not handed `a`).
    blocked_clients(&mut observer, 1);
    assert_eq!(writer.call(&["MULTI"]), Reply::Ok);
    writer.call(&["ZADD", "z", "5", "x"]);
    writer.call(&["ZADD", "z", "4", "y"]);
    blocked_clients(&mut observer, 1);
    assert_eq!(
        writer.call(&["EXEC"]),
        Reply::Array(vec![Reply::Int(1), Reply::Int(1)])
    );
    assert_eq!(waiter.read_reply(), popped("z", "y", "4"));
    assert_eq!(
        observer.call(&["ZRANGE", "z", "0", "-1"]),
        Reply::Array(vec![bulk("x")])
    );
    no_waiters_left(&server, &mut observer);
}

#[test]
fn timeouts_answer_the_null_array_in_both_protocols() {
    let server = TestServer::start();
    common::assert_null_timeouts(
        &server,
        &[
            &[b"BZPOPMIN", b"z", b"0.05"],
            &[b"BZPOPMAX", b"z", b"other", b"0.05"],
            &[b"BZMPOP", b"0.05", b"1", b"z", b"MIN"],
        ],
        &[
            &[b"BZPOPMAX", b"z", b"0.05"],
            &[b"BZMPOP", b"0.05", b"1", b"z", b"MAX", b"COUNT", b"2"],
        ],
    );
}

#[test]
fn integer_and_decimal_timeouts_wait_that_long() {
    let server = TestServer::start();
    let mut client = server.raw();
    assert_times_out_after(&mut client, &[b"BZPOPMIN", b"z", b"0.3"], 300);
    assert_times_out_after(&mut client, &[b"BZMPOP", b"1", b"1", b"z", b"MAX"], 1000);
}

/// RESP3 waiters get their scores as doubles.
#[test]
fn a_resp3_waiter_gets_doubles() {
    let server = TestServer::start();
    let mut observer = server.raw();
    let mut waiter = server.raw();
    waiter.call(&["HELLO", "3"]);
    park(&mut observer, &mut waiter, "BZPOPMIN z 0", 1);
    observer.call(&["ZADD", "z", "0.1", "a", "inf", "b"]);
    assert_eq!(
        waiter.read_raw(),
        b"*3\r\n$1\r\nz\r\n$1\r\na\r\n,0.10000000000000001\r\n"
    );
    waiter.send_command(&[b"BZMPOP", b"0", b"1", b"z", b"MAX", b"COUNT", b"2"]);
    assert_eq!(
        waiter.read_raw(),
        b"*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\nb\r\n,inf\r\n"
    );
    no_waiters_left(&server, &mut observer);
}

#[test]
fn client_unblock_answers_as_a_timeout_or_an_error() {
    let server = TestServer::start();
    let mut observer = server.raw();
    let mut waiter = server.raw();
    let id = client_id(&mut waiter);
    let bzpopmin: &[&[u8]] = &[b"BZPOPMIN", b"z", b"0"];
    let reply = block_then_unblock(&mut observer, &mut waiter, &id, bzpopmin, None);
    assert_eq!(reply, b"*-1\r\n");
    let bzmpop: &[&[u8]] = &[b"BZMPOP", b"0", b"1", b"z", b"MIN"];
    let reply = block_then_unblock(&mut observer, &mut waiter, &id, bzmpop, Some("ERROR"));
    assert_eq!(reply, b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n");
    waiter.call(&["HELLO", "3"]);
    let bzpopmax: &[&[u8]] = &[b"BZPOPMAX", b"z", b"0"];
    let reply = block_then_unblock(&mut observer, &mut waiter, &id, bzpopmax, Some("TIMEOUT"));
    assert_eq!(reply, b"_\r\n");
    assert_eq!(observer.call(&["CLIENT", "UNBLOCK", &id]), Reply::Int(0));
    // A member added now stays: nobody waits any more.
    observer.call(&["ZADD", "z", "1", "a"]);
    assert_eq!(observer.call(&["ZCARD", "z"]), Reply::Int(1));
    no_waiters_left(&server, &mut observer);
}

#[test]
fn a_disconnected_waiter_leaves_at_once_and_loses_nothing() {
    let server = TestServer::start();
    let mut observer = server.raw();
    let mut gone = server.raw();
    let mut stays = server.raw();
    park(&mut observer, &mut gone, "BZPOPMIN z 0", 1);
    park(&mut observer, &mut stays, "BZMPOP 0 1 z MIN COUNT 2", 2);
    drop(gone);
    blocked_clients(&mut observer, 1);
    observer.call(&["ZADD", "z", "1", "a", "2", "b", "3", "c"]);
    assert_eq!(
        stays.read_reply(),
        multi_popped("z", &[("a", "1"), ("b", "2")])
    );
    let mut last = server.raw();
    park(&mut observer, &mut last, "BZPOPMAX y z2 0", 1);
    drop(last);
    blocked_clients(&mut observer, 0);
    observer.call(&["ZADD", "z2", "1", "kept"]);
    assert_eq!(
        observer.call(&["ZRANGE", "z2", "0", "-1"]),
        Reply::Array(vec![bulk("kept")])
    );
    no_waiters_left(&server, &mut observer);
}

/// A waited key that holds another type serves nobody; list waiters and sorted-set
/// waiters on one key are each served by their own type, in arrival order.
#[test]
fn each_family_is_served_by_its_own_type() {
    let server = TestServer::start();
    let mut observer = server.raw();
    let mut zset_waiter = server.raw();
    let mut list_waiter = server.raw();
    park(&mut observer, &mut zset_waiter, "BZPOPMIN k 0", 1);
    observer.call(&["SET", "k", "string"]);
    observer.call(&["DEL", "k"]);
    park(&mut observer, &mut list_waiter, "BLPOP k 0", 2);
    // The list goes to the list waiter, behind the sorted-set waiter in the queue.
    observer.call(&["RPUSH", "k", "item"]);
    assert_eq!(
        list_waiter.read_reply(),
        Reply::Array(vec![bulk("k"), bulk("item")])
    );
    blocked_clients(&mut observer, 1);
    park(&mut observer, &mut list_waiter, "BRPOP k 0", 2);
    observer.call(&["ZADD", "k", "1", "m"]);
    assert_eq!(zset_waiter.read_reply(), popped("k", "m", "1"));
    observer.call(&["RPUSH", "k", "last"]);
    assert_eq!(
        list_waiter.read_reply(),
        Reply::Array(vec![bulk("k"), bulk("last")])
    );
    no_waiters_left(&server, &mut observer);
}

#[test]
fn waiters_are_per_database() {
    common::assert_waiters_are_per_database(
        "BZPOPMAX z 0",
        &["ZADD", "z", "0", "db0"],
        &["ZCARD", "z"],
        &["ZADD", "z", "1", "db1"],
        popped("z", "db1", "1"),
    );
}
