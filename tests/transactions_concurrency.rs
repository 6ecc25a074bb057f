//! Transactions under concurrency: other clients never observe half of an EXEC, and
//! optimistic WATCH loops never lose an update. Bounded: fixed numbers of operations,
//! every read under the reply timeout.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use broker_server::protocol::Reply;
use common::{RawClient, TestServer, encode_command};

const WRITERS: usize = 3;
const TRANSACTIONS: usize = 300;
/// Keys per transaction; they spread over many shards (checked below).
const KEY_COUNT: usize = 32;

fn keys() -> Vec<String> {
    (0..KEY_COUNT).map(|i| format!("account:{i}")).collect()
}

fn int(reply: Reply) -> i64 {
    match reply {
        Reply::Int(n) => n,
        Reply::Bulk(b) => std::str::from_utf8(&b).unwrap().parse().unwrap(),
        Reply::Null => 0,
        other => panic!("not a number: {other:?}"),
    }
}

/// Sends MULTI, INCR of every key, EXEC in one write, as redis-py does.
fn increment_all(client: &mut RawClient, keys: &[String]) {
    let mut batch = encode_command(&[b"MULTI"]);
    for key in keys {
        batch.extend(encode_command(&[b"INCR", key.as_bytes()]));
    }
    batch.extend(encode_command(&[b"EXEC"]));
    client.send(&batch);
    assert_eq!(client.read_reply(), Reply::Ok);
    for _ in keys {
        assert_eq!(client.read_reply(), Reply::simple("QUEUED"));
    }
    match client.read_reply() {
        Reply::Array(items) => assert_eq!(items.len(), keys.len()),
        other => panic!("EXEC answered {other:?}"),
    }
}

#[test]
fn readers_never_see_half_a_transaction() {
    let server = TestServer::start();
    let keyspace = &server.state().keyspace;
    let shards: std::collections::HashSet<_> = keys()
        .iter()
        .map(|k| keyspace.shard_of(k.as_bytes()))
        .collect();
    assert!(shards.len() > 10, "the keys should span many shards");

    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let mut client = server.raw();
            let done = done.clone();
            std::thread::spawn(move || {
                let mut reads = 0;
                while !done.load(Ordering::Relaxed) || reads == 0 {
                    let keys = keys();
                    let args: Vec<&[u8]> = std::iter::once(&b"MGET"[..])
                        .chain(keys.iter().map(|k| k.as_bytes()))
                        .collect();
                    client.send_command(&args);
                    let Reply::Array(values) = client.read_reply() else {
                        panic!("MGET is an array")
                    };
                    let values: Vec<i64> = values.into_iter().map(int).collect();
                    assert!(
                        values.windows(2).all(|w| w[0] == w[1]),
                        "saw a half-applied transaction: {values:?}"
                    );
                    reads += 1;
                }
                reads
            })
        })
        .collect();
    let writers: Vec<_> = (0..WRITERS)
        .map(|_| {
            let mut client = server.raw();
            std::thread::spawn(move || {
                let keys = keys();
                for _ in 0..TRANSACTIONS {
                    increment_all(&mut client, &keys);
                }
            })
        })
        .collect();
    for writer in writers {
        writer.join().unwrap();
    }
    done.store(true, Ordering::Relaxed);
    for reader in readers {
        assert!(reader.join().unwrap() > 0);
    }
    let mut client = server.raw();
    for key in keys() {
        assert_eq!(
            int(client.call(&["GET", &key])),
            (WRITERS * TRANSACTIONS) as i64
        );
    }
}

/// The check-and-set loop kombu's restore runs (WATCH, read, MULTI, write, EXEC,
/// retry on null): concurrent clients never lose an increment.
#[test]
fn watch_retry_loops_lose_no_update() {
    const CLIENTS: usize = 4;
    const INCREMENTS: usize = 100;
    let server = TestServer::start();
    let workers: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let mut client = server.raw();
            std::thread::spawn(move || {
                let mut retries = 0;
                for _ in 0..INCREMENTS {
                    loop {
                        assert_eq!(client.call(&["WATCH", "counter"]), Reply::Ok);
                        let next = int(client.call(&["GET", "counter"])) + 1;
                        let mut batch = encode_command(&[b"MULTI"]);
                        batch.extend(encode_command(&[
                            b"SET",
                            b"counter",
                            next.to_string().as_bytes(),
                        ]));
                        batch.extend(encode_command(&[b"EXEC"]));
                        client.send(&batch);
                        assert_eq!(client.read_reply(), Reply::Ok);
                        assert_eq!(client.read_reply(), Reply::simple("QUEUED"));
                        match client.read_reply() {
                            Reply::Array(items) => {
                                assert_eq!(items, [Reply::Ok]);
                                break;
                            }
                            Reply::NullArray | Reply::Null => retries += 1,
                            other => panic!("EXEC answered {other:?}"),
                        }
                    }
                }
                retries
            })
        })
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }
    let mut client = server.raw();
    assert_eq!(
        int(client.call(&["GET", "counter"])),
        (CLIENTS * INCREMENTS) as i64
    );
    // Nothing stays registered once the clients are gone, even a client that
    // disconnects while watching.
    let watched = || {
        let mut watched = 0;
        server.state().keyspace.for_each_shard(|_, shard| {
            watched += shard.dbs.iter().map(|db| db.watched_keys()).sum::<usize>();
        });
        watched
    };
    assert_eq!(
        client.call(&["WATCH", "counter", "other", "third"]),
        Reply::Ok
    );
    assert_eq!(watched(), 3);
    drop(client);
    let deadline = std::time::Instant::now() + common::REPLY_TIMEOUT;
    loop {
        let watched = watched();
        if watched == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{watched} watches leaked"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}
