//! Scripting behaviour that a side-by-side comparison cannot show: atomicity under
//! concurrent clients, and clients that were already waiting for a script's locks
//! when it went over its time limit.

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use broker_server::protocol::Reply;
use common::{RawClient, TestServer, encode_command};

fn int(reply: Reply) -> i64 {
    match reply {
        Reply::Int(n) => n,
        other => panic!("expected an integer, got {other:?}"),
    }
}

/// A read-modify-write of `KEYS[1]` that is only correct if nothing interleaves.
const INCREMENT: &[u8] = b"local v = tonumber(redis.call('get', KEYS[1]) or '0')
redis.call('set', KEYS[1], v + 1)
return v + 1";

/// Moves one unit from `ARGV[1]` to `ARGV[2]`: keys the script never declared.
const TRANSFER: &[u8] = b"local from = tonumber(redis.call('get', ARGV[1]))
local to = tonumber(redis.call('get', ARGV[2]))
redis.call('set', ARGV[1], from - 1)
redis.call('set', ARGV[2], to + 1)
return from - 1";

/// Reads both balances inside one script.
const BALANCE: &[u8] =
    b"return tonumber(redis.call('get', ARGV[1])) + tonumber(redis.call('get', ARGV[2]))";

/// Several clients mix scripts and plain commands on the same keys: every increment
/// is seen exactly once (no value handed out twice, none skipped), and no reader
/// ever sees half of a transfer.
#[test]
fn scripts_and_plain_commands_on_the_same_keys_stay_consistent() {
    const CLIENTS: usize = 3;
    const ROUNDS: usize = 200;
    const TOTAL: i64 = 1000;
    let server = TestServer::start();
    let mut setup = server.raw();
    setup.call(&["MSET", "a", "1000", "b", "0"]);
    let addr = server.addr;
    let workers: Vec<_> = (0..2 * CLIENTS)
        .map(|worker| {
            std::thread::spawn(move || {
                let mut client = RawClient::tcp(addr);
                let mut seen = Vec::with_capacity(ROUNDS);
                for round in 0..ROUNDS {
                    let value = if worker < CLIENTS {
                        client.send_command(&[b"EVAL", INCREMENT, b"1", b"counter"]);
                        int(client.read_reply())
                    } else {
                        int(client.call(&["INCR", "counter"]))
                    };
                    seen.push(value);
                    if round % 2 == 0 {
                        client.send_command(&[b"EVAL", TRANSFER, b"0", b"a", b"b"]);
                        client.read_reply();
                    }
                    let sum = if worker % 2 == 0 {
                        client.send_command(&[b"EVAL", BALANCE, b"0", b"a", b"b"]);
                        int(client.read_reply())
                    } else {
                        match client.call(&["MGET", "a", "b"]) {
                            Reply::Array(items) => items
                                .iter()
                                .map(|item| match item {
                                    Reply::Bulk(b) => {
                                        std::str::from_utf8(b).unwrap().parse::<i64>().unwrap()
                                    }
                                    other => panic!("MGET element {other:?}"),
                                })
                                .sum(),
                            other => panic!("MGET answered {other:?}"),
                        }
                    };
                    assert_eq!(sum, TOTAL, "a reader saw half of a transfer");
                }
                seen
            })
        })
        .collect();
    let mut values = HashSet::new();
    for worker in workers {
        for value in worker.join().expect("client thread") {
            assert!(values.insert(value), "value {value} handed out twice");
        }
    }
    let increments = (2 * CLIENTS * ROUNDS) as i64;
    assert_eq!(values, (1..=increments).collect::<HashSet<_>>());
    assert_eq!(
        setup.call(&["GET", "counter"]),
        Reply::bulk(increments.to_string().as_bytes())
    );
    let transfers = (2 * CLIENTS * ROUNDS.div_ceil(2)) as i64;
    assert_eq!(
        setup.call(&["MGET", "a", "b"]),
        Reply::Array(vec![
            Reply::bulk((TOTAL - transfers).to_string().as_bytes()),
            Reply::bulk(transfers.to_string().as_bytes()),
        ])
    );
}

/// Waits until a script is running on `server` (it then holds every shard).
fn wait_for_script(server: &TestServer) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !server.state().scripting.is_running() {
        assert!(Instant::now() < deadline, "the script never started");
        std::thread::yield_now();
    }
}

/// A client that was already waiting for a shard when the script went over its
/// limit gets `-BUSY` instead of waiting for the script to end, and the server keeps
/// answering other clients meanwhile.
#[test]
fn clients_waiting_for_a_script_get_busy_once_it_runs_too_long() {
    let server = TestServer::with_config(|config| config.lua_time_limit = 2000);
    let mut runner = server.raw();
    let mut waiter = server.raw();
    let mut other = server.raw();
    runner.send(&encode_command(&[b"EVAL", b"while true do end", b"0"]));
    wait_for_script(&server);
    let started = Instant::now();
    waiter.send(&encode_command(&[b"GET", b"k"]));
    // Meanwhile the server answers whoever needs no shard.
    assert_eq!(other.call(&["PING"]), Reply::simple("PONG"));
    assert_eq!(
        waiter.read_raw(),
        b"-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n"
    );
    assert!(started.elapsed() < Duration::from_secs(8));
    assert_eq!(other.call(&["SCRIPT", "KILL"]), Reply::Ok);
    assert!(
        runner
            .read_raw()
            .starts_with(b"-ERR Script killed by user with SCRIPT KILL...")
    );
    assert_eq!(waiter.call(&["GET", "k"]), Reply::Null);
}

/// A script that wrote cannot be killed; `SHUTDOWN NOSAVE` still stops the server,
/// and the script's client is not left waiting.
#[test]
fn shutdown_nosave_ends_an_unkillable_script() {
    let server = TestServer::with_config(|config| config.lua_time_limit = 100);
    let mut runner = server.raw();
    let mut other = server.raw();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        assert!(Instant::now() < deadline, "the script never wrote");
        runner.send(&encode_command(&[
            b"EVAL",
            b"redis.call('set', 'k', 'v') while true do end",
            b"0",
        ]));
        wait_for_script(&server);
        match other.call(&["SCRIPT", "KILL"]) {
            Reply::Error(text) if text.starts_with(b"UNKILLABLE") => break,
            // Killed before its first command: start it again.
            Reply::Ok => assert!(runner.read_raw().starts_with(b"-ERR Script killed")),
            other => panic!("SCRIPT KILL answered {other:?}"),
        }
    }
    other.send(&encode_command(&[b"SHUTDOWN", b"NOSAVE"]));
    other.read_until_closed();
    runner.read_until_closed();
}
