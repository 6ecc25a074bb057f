//! Blocking pops over real sockets: every rule in `commands::blocking`'s module
//! documentation, plus a producers/consumers run that checks nothing is lost or
//! delivered twice; and WAIT, which blocks on no key.
//!
//! Tests synchronise on `INFO blocked_clients` or on replies, never on sleeps; every
//! wait is bounded by the socket read timeout.

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use broker_server::protocol::Reply;
use common::{
    RawClient, TestServer, assert_answers_after, assert_times_out_after, block_then_unblock,
    blocked_clients, bulk, client_id, client_line, no_waiters_left, park,
};

fn pair(key: &str, value: &str) -> Reply {
    Reply::Array(vec![bulk(key), bulk(value)])
}

#[test]
fn serves_the_first_non_empty_key_in_argument_order() {
    let server = TestServer::start();
    let mut client = server.raw();
    client.call(&["RPUSH", "q\x06\x166", "six"]);
    client.call(&["RPUSH", "q\x06\x163", "three"]);
    // kombu's shape: the bare queue, then priority steps, then a one-second timeout.
    let reply = client.call(&["BRPOP", "q", "q\x06\x163", "q\x06\x166", "q\x06\x169", "1"]);
    assert_eq!(reply, pair("q\x06\x163", "three"));
    let reply = client.call(&["BRPOP", "q", "q\x06\x163", "q\x06\x166", "q\x06\x169", "1"]);
    assert_eq!(reply, pair("q\x06\x166", "six"));
}

#[test]
fn waiters_on_a_key_are_served_in_arrival_order() {
    let server = TestServer::start();
    let mut observer = server.raw();
    let mut first = server.raw();
    let mut second = server.raw();
    park(&mut observer, &mut first, "BRPOP q 0", 1);
    park(&mut observer, &mut second, "BLPOP other q 0", 2);
    assert_eq!(observer.call(&["LPUSH", "q", "x"]), Reply::Int(1));
    assert_eq!(first.read_reply(), pair("q", "x"));
    // The second waiter is still parked until the next element.
    blocked_clients(&mut observer, 1);
    assert_eq!(observer.call(&["RPUSH", "q", "y"]), Reply::Int(1));
    assert_eq!(second.read_reply(), pair("q", "y"));
    no_waiters_left(&server, &mut observer);
}

#[test]
fn a_push_counts_the_element_a_waiter_takes_at_once() {
    let server = TestServer::start();
    let mut observer = server.raw();
    let mut waiter = server.raw();
    park(&mut observer, &mut waiter, "BRPOP q 0", 1);
    // LPUSH answers 1 although the waiter took the element, and the key is gone.
    assert_eq!(observer.call(&["LPUSH", "q", "x"]), Reply::Int(1));
    assert_eq!(observer.call(&["EXISTS", "q"]), Reply::Int(0));
    assert_eq!(waiter.read_reply(), pair("q", "x"));
    // Several elements in one push serve several waiters, oldest first.
    let mut more: Vec<RawClient> = (0..3).map(|_| server.raw()).collect();
    for (index, client) in more.iter_mut().enumerate() {
        park(&mut observer, client, "BRPOP q 0", index + 1);
    }
    assert_eq!(
        observer.call(&["LPUSH", "q", "a", "b", "c", "d"]),
        Reply::Int(4)
    );
    for (client, value) in more.iter_mut().zip(["a", "b", "c"]) {
        assert_eq!(client.read_reply(), pair("q", value));
    }
    assert_eq!(
        observer.call(&["LRANGE", "q", "0", "-1"]),
        Reply::Array(vec![bulk("d")])
    );
    no_waiters_left(&server, &mut observer);
}

#[test]
fn a_waiter_on_several_keys_is_served_once() {
    let server = TestServer::start();
    let mut observer = server.raw();
    let mut waiter = server.raw();
    park(&mut observer, &mut waiter, "BLPOP a b 0", 1);
    observer.call(&["RPUSH", "b", "1"]);
    assert_eq!(waiter.read_reply(), pair("b", "1"));
    observer.call(&["RPUSH", "a", "2"]);
    assert_eq!(observer.call(&["LLEN", "a"]), Reply::Int(1));
    no_waiters_left(&server, &mut observer);
}

#[test]
fn timeouts_answer_the_null_array_in_both_protocols() {
    let server = TestServer::start();
    common::assert_null_timeouts(
        &server,
        &[
            &[b"BRPOP", b"q", b"0.05"],
            &[b"BLMOVE", b"q", b"d", b"LEFT", b"RIGHT", b"0.05"],
            &[b"BRPOPLPUSH", b"q", b"d", b"0.05"],
            &[b"BLMPOP", b"0.05", b"1", b"q", b"LEFT"],
        ],
        &[
            &[b"BLPOP", b"q", b"0.05"],
            &[b"BLMOVE", b"q", b"d", b"LEFT", b"RIGHT", b"0.05"],
        ],
    );
}

#[test]
fn integer_and_decimal_timeouts_wait_that_long() {
    let server = TestServer::start();
    let mut client = server.raw();
    assert_times_out_after(&mut client, &[b"BRPOP", b"q", b"0.3"], 300);
    assert_times_out_after(&mut client, &[b"BRPOP", b"q", b"1"], 1000);
}

#[test]
fn bad_timeouts_are_refused_without_blocking() {
    let server = TestServer::start();
    let mut client = server.raw();
    let negative = b"-ERR timeout is negative\r\n".to_vec();
    let invalid = b"-ERR timeout is not a float or out of range\r\n".to_vec();
    assert_eq!(client.call_raw(&[b"BRPOP", b"q", b"-1"]), negative);
    assert_eq!(client.call_raw(&[b"BLPOP", b"q", b"-0.5"]), negative);
    assert_eq!(
        client.call_raw(&[b"BLMPOP", b"-2", b"1", b"q", b"LEFT"]),
        negative
    );
    assert_eq!(client.call_raw(&[b"BRPOP", b"q", b"soon"]), invalid);
    assert_eq!(
        client.call_raw(&[b"BLMOVE", b"q", b"d", b"LEFT", b"LEFT", b""]),
        invalid
    );
    let mut observer = server.raw();
    no_waiters_left(&server, &mut observer);
}

#[test]
fn pipelined_commands_wait_for_the_blocked_reply() {
    let server = TestServer::start();
    let mut observer = server.raw();
    let mut waiter = server.raw();
    let mut pipeline = common::encode_command(&[b"BRPOP", b"q", b"0"]);
    pipeline.extend(common::encode_command(&[b"PING"]));
    pipeline.extend(common::encode_command(&[b"LLEN", b"q"]));
    waiter.send(&pipeline);
    blocked_clients(&mut observer, 1);
    observer.call(&["RPUSH", "q", "x", "y"]);
    // The BRPOP answers first; the commands behind it ran only afterwards.
    assert_eq!(waiter.read_reply(), pair("q", "y"));
    assert_eq!(waiter.read_raw(), b"+PONG\r\n");
    assert_eq!(waiter.read_reply(), Reply::Int(1));
}

#[test]
fn a_disconnected_waiter_leaves_at_once_and_loses_nothing() {
    let server = TestServer::start();
    let mut observer = server.raw();
    let mut gone = server.raw();
    let mut stays = server.raw();
    park(&mut observer, &mut gone, "BRPOP q 0", 1);
    park(&mut observer, &mut stays, "BRPOP q 0", 2);
    drop(gone);
    blocked_clients(&mut observer, 1);
    // The element goes to the waiter still connected, not to the one that left.
    observer.call(&["LPUSH", "q", "x"]);
    assert_eq!(stays.read_reply(), pair("q", "x"));
    // With nobody left, a pushed element stays in the list.
    let mut last = server.raw();
    park(&mut observer, &mut last, "BLMPOP 0 1 q RIGHT COUNT 2", 1);
    drop(last);
    blocked_clients(&mut observer, 0);
    observer.call(&["LPUSH", "q", "y"]);
    assert_eq!(
        observer.call(&["LRANGE", "q", "0", "-1"]),
        Reply::Array(vec![bulk("y")])
    );
    no_waiters_left(&server, &mut observer);
}

#[test]
fn client_unblock_answers_as_a_timeout_or_an_error() {
    let server = TestServer::start();
    let mut observer = server.raw();
    let mut waiter = server.raw();
    let id = client_id(&mut waiter);
    assert_eq!(observer.call(&["CLIENT", "UNBLOCK", &id]), Reply::Int(0));
    let brpop: &[&[u8]] = &[b"BRPOP", b"q", b"0"];
    let reply = block_then_unblock(&mut observer, &mut waiter, &id, brpop, None);
    assert_eq!(reply, b"*-1\r\n");
    let blmove: &[&[u8]] = &[b"BLMOVE", b"q", b"d", b"LEFT", b"RIGHT", b"0"];
    let reply = block_then_unblock(&mut observer, &mut waiter, &id, blmove, Some("TIMEOUT"));
    assert_eq!(reply, b"*-1\r\n");
    waiter.call(&["HELLO", "3"]);
    let blpop: &[&[u8]] = &[b"BLPOP", b"q", b"0"];
    let reply = block_then_unblock(&mut observer, &mut waiter, &id, blpop, Some("error"));
    assert_eq!(reply, b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n");
    assert_eq!(
        observer.call(&["CLIENT", "UNBLOCK", &id, "ERROR"]),
        Reply::Int(0)
    );
    // The unblocked client is usable again, and the key was not touched.
    assert_eq!(waiter.call(&["LLEN", "q"]), Reply::Int(0));
    no_waiters_left(&server, &mut observer);
}

#[test]
fn client_reply_off_and_skip_silence_a_blocked_reply() {
    let server = TestServer::start();
    let mut observer = server.raw();
    let mut waiter = server.raw();
    waiter.send_command(&[b"CLIENT", b"REPLY", b"SKIP"]);
    park(&mut observer, &mut waiter, "BRPOP q 0", 1);
    observer.call(&["RPUSH", "q", "skipped"]);
    blocked_clients(&mut observer, 0);
    assert_eq!(waiter.call(&["LLEN", "q"]), Reply::Int(0));
    waiter.send_command(&[b"CLIENT", b"REPLY", b"OFF"]);
    park(&mut observer, &mut waiter, "BRPOP q 0", 1);
    observer.call(&["RPUSH", "q", "silenced"]);
    blocked_clients(&mut observer, 0);
    // The first reply heard after turning replies back on is CLIENT REPLY ON's.
    assert_eq!(waiter.call(&["CLIENT", "REPLY", "ON"]), Reply::Ok);
}

#[test]
fn client_list_flags_a_blocked_client() {
    let server = TestServer::start();
    let mut observer = server.raw();
    let mut waiter = server.raw();
    let id = client_id(&mut waiter);
    park(&mut observer, &mut waiter, "BRPOP q 0", 1);
    let line = client_line(&mut observer, &id);
    assert!(line.contains(" flags=b "), "{line}");
    observer.call(&["CLIENT", "UNBLOCK", &id]);
    assert_eq!(waiter.read_raw(), b"*-1\r\n");
}

#[test]
fn a_blmove_serve_chains_to_waiters_on_its_destination() {
    let server = TestServer::start();
    let mut observer = server.raw();
    let mut mover = server.raw();
    let mut popper = server.raw();
    park(&mut observer, &mut mover, "BLMOVE src dst RIGHT LEFT 0", 1);
    park(&mut observer, &mut popper, "BRPOPLPUSH dst final 0", 2);
    assert_eq!(observer.call(&["RPUSH", "src", "x"]), Reply::Int(1));
    assert_eq!(mover.read_reply(), bulk("x"));
    assert_eq!(popper.read_reply(), bulk("x"));
    assert_eq!(observer.call(&["EXISTS", "src", "dst"]), Reply::Int(0));
    assert_eq!(
        observer.call(&["LRANGE", "final", "0", "-1"]),
        Reply::Array(vec![bulk("x")])
    );
    no_waiters_left(&server, &mut observer);
}

#[test]
fn a_blmove_to_a_key_of_another_type_answers_wrongtype_and_keeps_the_element() {
    let server = TestServer::start();
    let mut observer = server.raw();
    let mut mover = server.raw();
    park(&mut observer, &mut mover, "BLMOVE src dst LEFT RIGHT 0", 1);
    observer.call(&["SET", "dst", "string"]);
    observer.call(&["RPUSH", "src", "x"]);
    assert_eq!(
        mover.read_raw(),
        b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    );
    assert_eq!(
        observer.call(&["LRANGE", "src", "0", "-1"]),
        Reply::Array(vec![bulk("x")])
    );
    no_waiters_left(&server, &mut observer);
}

#[test]
fn waiters_are_per_database() {
    common::assert_waiters_are_per_database(
        "BRPOP q 0",
        &["RPUSH", "q", "db0"],
        &["LLEN", "q"],
        &["RPUSH", "q", "db1"],
        pair("q", "db1"),
    );
}

/// RENAME, MOVE, COPY and SWAPDB can fill a waited key without a push; Redis serves
/// its waiters then too.
#[test]
fn keys_filled_by_rename_move_copy_or_swapdb_serve_their_waiters() {
    let server = TestServer::start();
    let mut observer = server.raw();
    let mut waiter = server.raw();
    park(&mut observer, &mut waiter, "BRPOP q 0", 1);
    observer.call(&["RPUSH", "tmp", "renamed"]);
    assert_eq!(observer.call(&["RENAME", "tmp", "q"]), Reply::Ok);
    assert_eq!(waiter.read_reply(), pair("q", "renamed"));
    park(&mut observer, &mut waiter, "BRPOP q 0", 1);
    observer.call(&["SELECT", "2"]);
    observer.call(&["RPUSH", "q", "moved"]);
    assert_eq!(observer.call(&["MOVE", "q", "0"]), Reply::Int(1));
    assert_eq!(waiter.read_reply(), pair("q", "moved"));
    park(&mut observer, &mut waiter, "BRPOP q 0", 1);
    observer.call(&["RPUSH", "src", "copied"]);
    assert_eq!(
        observer.call(&["COPY", "src", "q", "DB", "0"]),
        Reply::Int(1)
    );
    assert_eq!(waiter.read_reply(), pair("q", "copied"));
    park(&mut observer, &mut waiter, "BRPOP q 0", 1);
    observer.call(&["RPUSH", "q", "swapped"]);
    assert_eq!(observer.call(&["SWAPDB", "0", "2"]), Reply::Ok);
    assert_eq!(waiter.read_reply(), pair("q", "swapped"));
    no_waiters_left(&server, &mut observer);
}

#[test]
fn shutdown_ends_blocked_clients() {
    let server = TestServer::start();
    let mut observer = server.raw();
    let mut waiter = server.raw();
    park(&mut observer, &mut waiter, "BRPOP q 0", 1);
    let started = Instant::now();
    drop(server);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "shutdown waited on the blocked client"
    );
    assert_eq!(waiter.read_until_closed(), b"");
}

#[test]
fn wait_for_a_replica_answers_zero_after_its_timeout() {
    let server = TestServer::start();
    for resp3 in [false, true] {
        let mut client = server.raw();
        if resp3 {
            client.call(&["HELLO", "3"]);
        }
        assert_answers_after(&mut client, &[b"WAIT", b"1", b"100"], b":0\r\n", 100);
        // Asked for no replica, it does not wait at all.
        assert_eq!(client.call(&["WAIT", "0", "0"]), Reply::Int(0));
    }
    let mut observer = server.raw();
    no_waiters_left(&server, &mut observer);
}

#[test]
fn wait_for_ever_is_a_blocked_client_until_killed() {
    let server = TestServer::start();
    let mut observer = server.raw();
    let mut waiter = server.raw();
    let id = client_id(&mut waiter);
    park(&mut observer, &mut waiter, "WAIT 1 0", 1);
    let line = client_line(&mut observer, &id);
    assert!(
        line.contains(" flags=b ") && line.contains(" cmd=wait "),
        "{line}"
    );
    assert_eq!(observer.call(&["CLIENT", "KILL", "ID", &id]), Reply::Int(1));
    assert_eq!(waiter.read_until_closed(), b"");
    no_waiters_left(&server, &mut observer);
}

#[test]
fn wait_is_released_by_client_unblock_disconnect_and_shutdown() {
    let server = TestServer::start();
    let mut observer = server.raw();
    let mut waiter = server.raw();
    let id = client_id(&mut waiter);
    let wait: &[&[u8]] = &[b"WAIT", b"2", b"0"];
    let reply = block_then_unblock(&mut observer, &mut waiter, &id, wait, None);
    assert_eq!(reply, b":0\r\n");
    let reply = block_then_unblock(&mut observer, &mut waiter, &id, wait, Some("ERROR"));
    assert_eq!(reply, b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n");
    let mut gone = server.raw();
    park(&mut observer, &mut gone, "WAIT 1 0", 1);
    drop(gone);
    blocked_clients(&mut observer, 0);
    park(&mut observer, &mut waiter, "WAIT 1 0", 1);
    let started = Instant::now();
    drop(server);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "shutdown waited on the blocked client"
    );
    assert_eq!(waiter.read_until_closed(), b"");
}

/// N producers and M blocking consumers move 100,000 elements through two queues:
/// every element arrives exactly once.
#[test]
fn producers_and_blocking_consumers_lose_and_duplicate_nothing() {
    const PRODUCERS: usize = 4;
    const CONSUMERS: usize = 4;
    const TOTAL: usize = 100_000;
    const PER_PUSH: usize = 20;
    /// BRPOPs each consumer keeps in flight.
    const DEPTH: usize = 8;
    let deadline = Instant::now() + Duration::from_secs(180);
    let server = TestServer::start();
    let received = Arc::new(AtomicUsize::new(0));
    let consumers: Vec<_> = (0..CONSUMERS)
        .map(|index| {
            let mut client = server.raw();
            let received = received.clone();
            std::thread::spawn(move || {
                let mut seen = Vec::new();
                let brpop = common::encode_command(&[b"BRPOP", b"q1", b"q2", b"0.2"]);
                let blmpop = common::encode_command(&[
                    b"BLMPOP", b"0.2", b"2", b"q2", b"q1", b"RIGHT", b"COUNT", b"7",
                ]);
                let request = if index % 2 == 0 { brpop } else { blmpop };
                for _ in 0..DEPTH {
                    client.send(&request);
                }
                let mut in_flight = DEPTH;
                while in_flight > 0 {
                    match client.read_reply() {
                        Reply::Array(parts) => {
                            let values = match &parts[1] {
                                Reply::Array(values) => values.clone(),
                                single => vec![single.clone()],
                            };
                            for value in values {
                                let Reply::Bulk(value) = value else {
                                    panic!("{value:?}")
                                };
                                seen.push(value.to_vec());
                                received.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        Reply::NullArray => {}
                        other => panic!("consumer got {other:?}"),
                    }
                    in_flight -= 1;
                    if received.load(Ordering::Relaxed) < TOTAL {
                        assert!(
                            Instant::now() < deadline,
                            "consumers did not finish in time"
                        );
                        client.send(&request);
                        in_flight += 1;
                    }
                }
                seen
            })
        })
        .collect();
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|producer| {
            let mut client = server.raw();
            std::thread::spawn(move || {
                let mut next = 0;
                while next < TOTAL / PRODUCERS {
                    let values: Vec<Vec<u8>> = (next..next + PER_PUSH)
                        .map(|n| format!("p{producer}-{n}").into_bytes())
                        .collect();
                    let key: &[u8] = if (next / PER_PUSH) % 2 == 0 {
                        b"q1"
                    } else {
                        b"q2"
                    };
                    let mut args: Vec<&[u8]> = vec![b"LPUSH", key];
                    args.extend(values.iter().map(Vec::as_slice));
                    assert!(matches!(client.call_raw(&args)[0], b':'));
                    next += PER_PUSH;
                }
            })
        })
        .collect();
    for producer in producers {
        producer.join().expect("producer");
    }
    let mut all = HashSet::new();
    let mut count = 0;
    for consumer in consumers {
        for value in consumer.join().expect("consumer") {
            count += 1;
            assert!(
                all.insert(value.clone()),
                "delivered twice: {:?}",
                String::from_utf8_lossy(&value)
            );
        }
    }
    assert_eq!(count, TOTAL);
    for producer in 0..PRODUCERS {
        for n in 0..TOTAL / PRODUCERS {
            assert!(
                all.contains(format!("p{producer}-{n}").as_bytes()),
                "lost p{producer}-{n}"
            );
        }
    }
    let mut observer = server.raw();
    assert_eq!(observer.call(&["EXISTS", "q1", "q2"]), Reply::Int(0));
    no_waiters_left(&server, &mut observer);
}
