//! A stress test of transactions, scripts and blocking pops on the same keys from
//! many clients at once: every element produced is consumed exactly once, nothing is
//! left behind, and nobody deadlocks (every call is bounded by the test client's
//! reply timeout, so a stuck client fails the test instead of hanging it).

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use broker_server::protocol::Reply;
use common::{RawClient, TestServer};

const PRODUCERS: usize = 3;
const PER_PRODUCER: usize = 600;
const MOVERS: usize = 2;
const CONSUMERS: usize = 3;

const MOVE_SCRIPT: &str =
    "local v = redis.call('RPOP', KEYS[1]) if v then redis.call('LPUSH', KEYS[2], v) end return v";
const PUSH_SCRIPT: &str = "return redis.call('LPUSH', KEYS[1], ARGV[1])";

fn ok(reply: &Reply) {
    assert!(!reply.is_error(), "unexpected error reply {reply:?}");
}

/// Pushes each item onto `in`, cycling through a plain LPUSH, a MULTI/EXEC and a
/// script, so that all three paths fill the key blocked clients wait on.
fn produce(mut client: RawClient, producer: usize) -> Vec<String> {
    let mut items = Vec::new();
    for n in 0..PER_PRODUCER {
        let item = format!("p{producer}-{n}");
        match n % 3 {
            0 => ok(&client.call(&["LPUSH", "in", &item])),
            1 => {
                ok(&client.call(&["MULTI"]));
                ok(&client.call(&["LPUSH", "in", &item]));
                ok(&client.call(&["INCR", "produced"]));
                let exec = client.call(&["EXEC"]);
                assert!(matches!(&exec, Reply::Array(r) if r.len() == 2), "{exec:?}");
            }
            _ => ok(&client.call(&["EVAL", PUSH_SCRIPT, "1", "in", &item])),
        }
        items.push(item);
    }
    items
}

/// Moves elements from `in` to `out`, alternating a blocking BLMOVE, a script and a
/// transaction, until the consumers have everything.
fn mover(mut client: RawClient, done: &AtomicBool) {
    let mut turn = 0usize;
    while !done.load(Ordering::Relaxed) {
        let reply = match turn % 3 {
            0 => client.call(&["BLMOVE", "in", "out", "RIGHT", "LEFT", "0.05"]),
            1 => client.call(&["EVAL", MOVE_SCRIPT, "2", "in", "out"]),
            _ => {
                ok(&client.call(&["MULTI"]));
                ok(&client.call(&["RPOPLPUSH", "in", "out"]));
                client.call(&["EXEC"])
            }
        };
        ok(&reply);
        turn += 1;
    }
}

/// Takes elements off `out` with BRPOP until every produced element was taken.
fn consume(
    mut client: RawClient,
    taken: &Mutex<Vec<String>>,
    count: &AtomicUsize,
    done: &AtomicBool,
    total: usize,
) {
    while count.load(Ordering::SeqCst) < total {
        match client.call(&["BRPOP", "out", "0.05"]) {
            Reply::Array(pair) => {
                let Reply::Bulk(item) = &pair[1] else {
                    panic!("{pair:?}")
                };
                taken
                    .lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(item).into_owned());
                count.fetch_add(1, Ordering::SeqCst);
            }
            Reply::NullArray | Reply::Null => {}
            other => panic!("BRPOP answered {other:?}"),
        }
    }
    done.store(true, Ordering::Relaxed);
}

#[test]
fn transactions_scripts_and_blocking_pops_lose_and_duplicate_nothing() {
    let server = TestServer::start();
    let total = PRODUCERS * PER_PRODUCER;
    let taken = Arc::new(Mutex::new(Vec::new()));
    let count = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicBool::new(false));
    std::thread::scope(|scope| {
        let consumers: Vec<_> = (0..CONSUMERS)
            .map(|_| {
                let client = server.raw();
                let (taken, count, done) = (&taken, &count, &done);
                scope.spawn(move || consume(client, taken, count, done, total))
            })
            .collect();
        let movers: Vec<_> = (0..MOVERS)
            .map(|_| {
                let client = server.raw();
                let done = &done;
                scope.spawn(move || mover(client, done))
            })
            .collect();
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|p| {
                let client = server.raw();
                scope.spawn(move || produce(client, p))
            })
            .collect();
        let mut produced = HashSet::new();
        for producer in producers {
            for item in producer.join().expect("producer") {
                assert!(produced.insert(item), "an item was produced twice");
            }
        }
        for consumer in consumers {
            consumer.join().expect("consumer");
        }
        for mover in movers {
            mover.join().expect("mover");
        }
        let taken = taken.lock().unwrap();
        let unique: HashSet<_> = taken.iter().cloned().collect();
        assert_eq!(taken.len(), total, "elements delivered more than once");
        assert_eq!(
            unique, produced,
            "delivered elements differ from produced ones"
        );
    });
    let mut check = server.raw();
    assert_eq!(check.call(&["LLEN", "in"]), Reply::Int(0));
    assert_eq!(check.call(&["LLEN", "out"]), Reply::Int(0));
    assert_eq!(
        check.call(&["GET", "produced"]),
        Reply::bulk(format!("{}", PRODUCERS * PER_PRODUCER / 3).as_bytes())
    );
}
