//! Differential tests for pub/sub: confirmation frames and counts, delivered
//! messages, introspection, the RESP2 subscribed-mode gate and PING while subscribed,
//! compared byte for byte with redis-server 7.0.15 in RESP2 and RESP3.

mod common;
mod pairs;

use std::time::{Duration, Instant};

use broker_server::protocol::Reply;
use common::{Differential, Oracle, TestServer, sorted};
use pairs::PairExt;

fn pair(oracle: &Oracle, server: &TestServer, resp3: bool) -> Differential {
    let mut pair = Differential::new(oracle, server);
    if resp3 {
        pair.both(&[b"HELLO", b"3"]);
    }
    pair
}

fn run_frames(resp3: bool) {
    let oracle = Oracle::start(&[]);
    let server = TestServer::start();
    let mut p = pair(&oracle, &server, resp3);
    p.check_n("UNSUBSCRIBE", 1);
    p.check_n("PUNSUBSCRIBE", 1);
    p.check_n("UNSUBSCRIBE never", 1);
    p.check_n("SUBSCRIBE a b", 2);
    p.check_n("SUBSCRIBE a", 1);
    p.check_n("PSUBSCRIBE p*", 1);
    p.check_n("PSUBSCRIBE /0.celery.pidbox", 1);
    p.check_n("UNSUBSCRIBE nope", 1);
    p.check_n("UNSUBSCRIBE a b", 2);
    p.check_n("PUNSUBSCRIBE nope p*", 2);
    p.check_n("SSUBSCRIBE s1 s2", 2);
    p.check_n("SUNSUBSCRIBE s1 never", 2);
    p.check_n("SUNSUBSCRIBE", 1);
    p.check_n("SUNSUBSCRIBE", 1);
    // Only one subscription left of each kind, so the order of a mass
    // unsubscription cannot differ.
    p.check_n("UNSUBSCRIBE", 1);
    p.check_n("PUNSUBSCRIBE", 1);
    p.check_n("PUNSUBSCRIBE", 1);

    // While subscribed: RESP2 allows only the subscription commands and PING; RESP3
    // runs anything. PING answers in the subscribed shape on RESP2 only.
    p.check_n("SUBSCRIBE x", 1);
    p.script(
        "GET k
        SET k v
        PING
        PING redis-py-health-check
        PING a b
        MULTI
        PUBSUB NUMPAT
        CLIENT SETNAME sub",
    );
    p.check_n("SSUBSCRIBE only-shard", 1);
    p.check_n("UNSUBSCRIBE x", 1);
    // A shard subscription alone keeps RESP2 in subscribed mode.
    p.script("GET k\nPING");
    p.check_n("SUNSUBSCRIBE", 1);
    p.script("PING\nPING hi\nGET k");
}

#[test]
fn frames_resp2() {
    run_frames(false);
}

#[test]
fn frames_resp3() {
    run_frames(true);
}

fn run_messages(sub_resp3: bool) {
    let oracle = Oracle::start(&[]);
    let server = TestServer::start();
    let mut sub = pair(&oracle, &server, sub_resp3);
    let mut other = pair(&oracle, &server, !sub_resp3);
    let mut publisher = pair(&oracle, &server, false);
    sub.check_n("SUBSCRIBE ch results", 2);
    sub.check_n(
        "PSUBSCRIBE c* /0.celery.pidbox /0.celeryev/worker.* h\\?llo [xy]z",
        5,
    );
    other.check_n("SUBSCRIBE ch", 1);
    other.check_n("SSUBSCRIBE shard", 1);

    // (channel, receivers on `sub`, receivers on `other`)
    let cases: [(&str, usize, usize); 10] = [
        ("ch", 2, 1),
        ("cx", 1, 0),
        ("results", 1, 0),
        ("/0.celery.pidbox", 1, 0),
        ("/0.celeryXpidbox", 0, 0),
        ("/0.celeryev/worker.heartbeat", 1, 0),
        ("/0.celeryev/task.multi", 0, 0),
        ("h?llo", 1, 0),
        ("hello", 0, 0),
        ("yz", 1, 0),
    ];
    for (channel, to_sub, to_other) in cases {
        let args: [&[u8]; 3] = [b"PUBLISH", channel.as_bytes(), b"{\"body\": \"x\r\ny\"}"];
        publisher.check(&args);
        sub.expect_same(to_sub, channel);
        other.expect_same(to_other, channel);
    }
    publisher.script("SPUBLISH shard m\nSPUBLISH ch m\nPUBLISH shard m");
    other.expect_same(1, "SPUBLISH");
    publisher.script("PUBSUB NUMSUB ch results shard nobody\nPUBSUB NUMSUB\nPUBSUB NUMPAT");
    publisher.script("PUBSUB SHARDNUMSUB shard ch\nPUBSUB SHARDNUMSUB");
    for args in [
        &[&b"PUBSUB"[..], b"CHANNELS"][..],
        &[b"PUBSUB", b"CHANNELS", b"c*"],
        &[b"PUBSUB", b"SHARDCHANNELS"],
        &[b"PUBSUB", b"SHARDCHANNELS", b"nomatch*"],
    ] {
        let (expected, actual) = publisher.both(args);
        assert_eq!(sorted(actual), sorted(expected), "{args:?}");
    }
    publisher.script(
        "PUBSUB HELP
        PUBSUB CHANNELS a b
        PUBSUB NUMPAT x
        PUBSUB FOO
        PUBSUB
        PUBLISH a
        SPUBLISH a
        SUBSCRIBE
        PSUBSCRIBE",
    );

    // RESET and a closed connection unsubscribe everything.
    sub.script("RESET");
    other.script("RESET");
    publisher.script("PUBLISH ch x\nPUBSUB NUMPAT\nPUBSUB NUMSUB ch shard");
}

#[test]
fn messages_to_a_resp2_subscriber() {
    run_messages(false);
}

#[test]
fn messages_to_a_resp3_subscriber() {
    run_messages(true);
}

/// A RESP3 client receives what its own commands publish before the reply, as in
/// Redis 7.0, where the push is written while the command runs.
#[test]
fn own_messages_come_before_the_reply() {
    let oracle = Oracle::start(&[]);
    let server = TestServer::start();
    let mut p = pair(&oracle, &server, true);
    p.check_n("SUBSCRIBE ch", 1);
    p.check_n("PUBLISH ch hello", 2);
    p.check_n("GET nothing", 1);
    p.check_n("PING redis-py-health-check", 1);
}

/// Celery's health check on a subscribed connection, in both protocols (CELERY.md
/// §12): the argument comes back, as a bulk string in RESP3.
#[test]
fn health_check_ping_while_subscribed() {
    let server = TestServer::start();
    let mut resp3 = server.raw();
    resp3.call(&["HELLO", "3"]);
    resp3.send_command(&[b"PSUBSCRIBE", b"/0.celery.pidbox"]);
    resp3.read_raw();
    assert_eq!(
        resp3.call_raw(&[b"PING", b"redis-py-health-check"]),
        b"$21\r\nredis-py-health-check\r\n"
    );
    let mut resp2 = server.raw();
    resp2.send_command(&[b"SUBSCRIBE", b"celery-task-meta-1"]);
    resp2.read_raw();
    assert_eq!(
        resp2.call_raw(&[b"PING", b"redis-py-health-check"]),
        b"*2\r\n$4\r\npong\r\n$21\r\nredis-py-health-check\r\n"
    );
    assert_eq!(
        resp2.call_raw(&[b"GET", b"k"]),
        &b"-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n"[..]
    );
}

fn info_field(client: &mut common::RawClient, name: &str) -> String {
    let text = match client.call(&["INFO", "stats"]) {
        Reply::Bulk(b) | Reply::Verbatim(_, b) => String::from_utf8_lossy(&b).into_owned(),
        other => panic!("INFO answered {other:?}"),
    };
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("INFO has no {name}"))
        .to_string()
}

/// Polls `PUBSUB NUMSUB channel` until it reads `count`.
fn wait_for_numsub(client: &mut common::RawClient, channel: &str, count: i64) {
    let deadline = Instant::now() + common::REPLY_TIMEOUT;
    loop {
        let reply = client.call(&["PUBSUB", "NUMSUB", channel]);
        if reply == Reply::Array(vec![common::bulk(channel), Reply::Int(count)]) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "NUMSUB {channel} never reached {count}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn introspection_info_client_list_and_disconnects() {
    let server = TestServer::start();
    let mut watcher = server.raw();
    let mut sub = server.raw();
    sub.call(&["CLIENT", "SETNAME", "listener"]);
    sub.send_command(&[b"SUBSCRIBE", b"a", b"b"]);
    sub.read_raw();
    sub.read_raw();
    sub.send_command(&[b"PSUBSCRIBE", b"p*"]);
    sub.read_raw();
    sub.send_command(&[b"SSUBSCRIBE", b"s"]);
    sub.read_raw();
    assert_eq!(info_field(&mut watcher, "pubsub_channels"), "2");
    assert_eq!(info_field(&mut watcher, "pubsub_patterns"), "1");
    assert_eq!(info_field(&mut watcher, "pubsubshard_channels"), "1");
    let list = match watcher.call(&["CLIENT", "LIST"]) {
        Reply::Bulk(b) | Reply::Verbatim(_, b) => String::from_utf8_lossy(&b).into_owned(),
        other => panic!("CLIENT LIST answered {other:?}"),
    };
    let line = list
        .lines()
        .find(|line| line.contains("name=listener"))
        .expect("the subscriber is listed");
    assert!(line.contains(" flags=P "), "{line}");
    assert!(line.contains(" sub=2 psub=1 ssub=1 "), "{line}");

    drop(sub);
    wait_for_numsub(&mut watcher, "a", 0);
    assert_eq!(info_field(&mut watcher, "pubsub_patterns"), "0");
    assert_eq!(info_field(&mut watcher, "pubsubshard_channels"), "0");
    assert_eq!(watcher.call(&["PUBLISH", "a", "x"]), Reply::Int(0));
}
