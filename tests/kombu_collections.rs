//! The hash, set and sorted-set traffic of kombu and Celery (CELERY.md §3, §4, §7,
//! §9, §13), sent as the clients send it over RESP3 and checked byte for byte.
//!
//! kombu wraps some of these in MULTI/EXEC; the replies of the commands themselves
//! are what is checked here.

mod common;

use common::{RawClient, TestServer};

/// A RESP3 connection, as every kombu and Celery connection is.
fn resp3(server: &TestServer) -> RawClient {
    let mut client = server.raw();
    client.call(&["HELLO", "3"]);
    client
}

fn expect(client: &mut RawClient, args: &[&[u8]], reply: &[u8]) {
    let actual = client.call_raw(args);
    assert_eq!(
        String::from_utf8_lossy(&actual),
        String::from_utf8_lossy(reply),
        "for {:?}",
        args.iter()
            .map(|a| String::from_utf8_lossy(a))
            .collect::<Vec<_>>()
    );
}

/// [`expect`] for a command of plain words, split on spaces.
fn expect_words(client: &mut RawClient, line: &str, reply: &[u8]) {
    let args: Vec<&[u8]> = line.split_whitespace().map(str::as_bytes).collect();
    expect(client, &args, reply);
}

const MESSAGE: &[u8] = br#"[{"body": "e30=", "headers": {}}, "", "celery"]"#;

/// Reserve (`ZADD unacked_index <epoch> tag` + `HSET unacked tag json`), the
/// visibility sweep (`ZRANGE unacked_index <max> 0 BYSCORE REV WITHSCORES LIMIT 0 n`,
/// which must answer nested `[member, double]` pairs), restore (`HGET`), and ack
/// (`ZREM` + `HDEL`), after which both keys are gone.
#[test]
fn unacked_reserve_sweep_and_ack() {
    let server = TestServer::start();
    let mut client = resp3(&server);
    expect_words(
        &mut client,
        "ZADD unacked_index 1795475386.5482562 tag-1",
        b":1\r\n",
    );
    expect(
        &mut client,
        &[b"HSET", b"unacked", b"tag-1", MESSAGE],
        b":1\r\n",
    );
    expect_words(
        &mut client,
        "ZADD unacked_index 1795475390.25 tag-2",
        b":1\r\n",
    );
    expect_words(&mut client, "HSET unacked tag-2 []", b":1\r\n");

    // Reservations older than now - visibility_timeout: the higher bound comes first.
    expect_words(
        &mut client,
        "ZRANGE unacked_index 1795475388 0 BYSCORE REV WITHSCORES",
        b"*1\r\n*2\r\n$5\r\ntag-1\r\n,1795475386.5482562\r\n",
    );
    expect_words(
        &mut client,
        "ZRANGE unacked_index +inf 0 BYSCORE REV WITHSCORES LIMIT 0 1",
        b"*1\r\n*2\r\n$5\r\ntag-2\r\n,1795475390.25\r\n",
    );
    expect_words(
        &mut client,
        "ZRANGE unacked_index +inf 0 BYSCORE REV WITHSCORES LIMIT 0 10",
        b"*2\r\n*2\r\n$5\r\ntag-2\r\n,1795475390.25\r\n*2\r\n$5\r\ntag-1\r\n,1795475386.5482562\r\n",
    );
    // Bounds in the wrong order select nothing (the redelivery bug CELERY.md warns of).
    expect_words(
        &mut client,
        "ZRANGE unacked_index 0 +inf BYSCORE REV WITHSCORES",
        b"*0\r\n",
    );

    // Restore reads the message back; ack removes both entries.
    let mut bulk = format!("${}\r\n", MESSAGE.len()).into_bytes();
    bulk.extend_from_slice(MESSAGE);
    bulk.extend_from_slice(b"\r\n");
    expect_words(&mut client, "HGET unacked tag-1", &bulk);
    for tag in [&b"tag-1"[..], b"tag-2"] {
        expect(&mut client, &[b"ZREM", b"unacked_index", tag], b":1\r\n");
        expect(&mut client, &[b"HDEL", b"unacked", tag], b":1\r\n");
    }
    expect_words(&mut client, "HGET unacked tag-1", b"_\r\n");
    expect_words(&mut client, "EXISTS unacked unacked_index", b":0\r\n");
    expect_words(
        &mut client,
        "ZRANGE unacked_index +inf 0 BYSCORE REV WITHSCORES",
        b"*0\r\n",
    );
}

/// A RESP2 client (a result backend switched to `protocol=2`) gets the flat shape.
#[test]
fn unacked_sweep_in_resp2_is_flat() {
    let server = TestServer::start();
    let mut client = server.raw();
    expect_words(
        &mut client,
        "ZADD unacked_index 1795475386.5482562 tag-1",
        b":1\r\n",
    );
    expect_words(
        &mut client,
        "ZRANGE unacked_index +inf 0 BYSCORE REV WITHSCORES LIMIT 0 5",
        b"*2\r\n$5\r\ntag-1\r\n$18\r\n1795475386.5482562\r\n",
    );
    expect_words(
        &mut client,
        "ZSCORE unacked_index tag-1",
        b"$18\r\n1795475386.5482562\r\n",
    );
}

/// The binding TTL script's `ZADD _kombu.binding_deadlines GT <ms> <exchange>` and
/// the sweep's `ZRANGEBYSCORE … -inf <ms> LIMIT 0 100` (CELERY.md §8).
#[test]
fn binding_deadlines_only_move_forward() {
    let server = TestServer::start();
    let mut client = resp3(&server);
    expect_words(
        &mut client,
        "ZADD _kombu.binding_deadlines GT 1800000003600 celeryev",
        b":1\r\n",
    );
    expect_words(
        &mut client,
        "ZADD _kombu.binding_deadlines GT 1800000000000 celeryev",
        b":0\r\n",
    );
    expect_words(
        &mut client,
        "ZSCORE _kombu.binding_deadlines celeryev",
        b",1800000003600\r\n",
    );
    expect_words(
        &mut client,
        "ZADD _kombu.binding_deadlines GT 1800000007200 celeryev",
        b":0\r\n",
    );
    expect_words(
        &mut client,
        "ZSCORE _kombu.binding_deadlines celeryev",
        b",1800000007200\r\n",
    );
    expect_words(
        &mut client,
        "ZADD _kombu.binding_deadlines GT 1800000001000 reply.celery.pidbox",
        b":1\r\n",
    );
    expect_words(
        &mut client,
        "ZRANGEBYSCORE _kombu.binding_deadlines -inf 1800000005000 LIMIT 0 100",
        b"*1\r\n$19\r\nreply.celery.pidbox\r\n",
    );
    expect_words(
        &mut client,
        "ZREM _kombu.binding_deadlines reply.celery.pidbox",
        b":1\r\n",
    );
    expect_words(&mut client, "ZCARD _kombu.binding_deadlines", b":1\r\n");
}

/// Chord bookkeeping: `ZADD {gid}.j <index> <json>` (the index may be `+inf`),
/// `ZCOUNT {gid}.j -inf +inf` compared with the chord size, then `ZRANGE 0 -1`.
#[test]
fn chord_results_count_and_read_back_in_order() {
    let server = TestServer::start();
    let mut client = resp3(&server);
    let key: &[u8] = b"celery-taskset-meta-1b2c.j";
    expect(
        &mut client,
        &[b"ZADD", key, b"1", br#"[1, "t1", "SUCCESS", 2]"#],
        b":1\r\n",
    );
    expect(&mut client, &[b"ZCOUNT", key, b"-inf", b"+inf"], b":1\r\n");
    expect(
        &mut client,
        &[b"ZADD", key, b"+inf", br#"[1, "t9", "SUCCESS", 9]"#],
        b":1\r\n",
    );
    expect(
        &mut client,
        &[b"ZADD", key, b"0", br#"[1, "t0", "SUCCESS", 1]"#],
        b":1\r\n",
    );
    expect(&mut client, &[b"ZCOUNT", key, b"-inf", b"+inf"], b":3\r\n");
    expect(
        &mut client,
        &[b"ZRANGE", key, b"0", b"-1"],
        b"*3\r\n$23\r\n[1, \"t0\", \"SUCCESS\", 1]\r\n$23\r\n[1, \"t1\", \"SUCCESS\", 2]\r\n$23\r\n[1, \"t9\", \"SUCCESS\", 9]\r\n",
    );
    expect(&mut client, &[b"EXPIRE", key, b"86400"], b":1\r\n");
    expect(&mut client, &[b"DEL", key], b":1\r\n");
}

/// `queue_bind`: members `{routing_key}\x06\x16{pattern}\x06\x16{queue}` in
/// `_kombu.binding.*` sets; `SMEMBERS` answers a RESP3 set; deleting the last
/// binding deletes the key, which the sweep script tests with `EXISTS`.
#[test]
fn binding_sets_with_separator_bytes() {
    let server = TestServer::start();
    let mut client = resp3(&server);
    let member: &[u8] = b"celery\x06\x16\x06\x16celery";
    for key in [
        &b"_kombu.binding.celery"[..],
        b"_kombu.binding_permanent.celery",
    ] {
        expect(&mut client, &[b"SADD", key, member], b":1\r\n");
        expect(&mut client, &[b"SADD", key, member], b":0\r\n");
    }
    let mut set = b"~1\r\n$16\r\n".to_vec();
    set.extend_from_slice(member);
    set.extend_from_slice(b"\r\n");
    expect_words(&mut client, "SMEMBERS _kombu.binding.celery", &set);
    expect(
        &mut client,
        &[
            b"SADD",
            b"_kombu.binding.reply.celery.pidbox",
            b"\x06\x16\x06\x16w1@host.celery.pidbox",
        ],
        b":1\r\n",
    );
    expect(
        &mut client,
        &[b"SREM", b"_kombu.binding.celery", member],
        b":1\r\n",
    );
    expect(
        &mut client,
        &[b"SREM", b"_kombu.binding.celery", member],
        b":0\r\n",
    );
    expect_words(&mut client, "EXISTS _kombu.binding.celery", b":0\r\n");
    expect_words(&mut client, "SMEMBERS _kombu.binding.celery", b"~0\r\n");
    expect_words(
        &mut client,
        "TYPE _kombu.binding_permanent.celery",
        b"+set\r\n",
    );
    expect_words(&mut client, "TYPE unacked_index", b"+none\r\n");
}
