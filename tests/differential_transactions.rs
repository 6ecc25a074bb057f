//! Differential tests for MULTI/EXEC/DISCARD/WATCH/UNWATCH: the same sequences sent
//! to Debian's redis-server 7.0.15 and to broker-server must get byte-identical
//! replies, in RESP2 and RESP3. Scenarios with another client use two connections
//! per side.

mod common;
mod pairs;

use std::io::Read;
use std::time::Duration;

use common::{Differential, Oracle, TestServer};
use pairs::{PairExt, request};

const BASICS: &str = "
EXEC
DISCARD
UNWATCH
MULTI
EXEC
MULTI
SET a 1
INCR a
GET a
SET s notanumber
INCR s
SET b 2
EXEC
GET b
MULTI
MULTI
WATCH a
SET c 3
EXEC
GET c
MULTI
SET d 4
DISCARD
GET d
MULTI
FOO bar
GET
SET e 5
EXEC
GET e
MULTI
UNWATCH
PING
ECHO hi
SELECT 1
SET inone 1
SELECT 0
EXEC
GET inone
MULTI
SET x 1 EX 0
SET y 1
EXEC
EXISTS y
MULTI
WATCH
EXEC
MULTI
SET f 1
SAVE
SHUTDOWN NOSAVE
EXEC
GET f
MULTI
SET f 1
EXEC extra
DISCARD extra
EXEC
GET f
PSUBSCRIBE p*
MULTI
EXEC
PUNSUBSCRIBE
EXEC
";

fn pair(oracle: &Oracle, server: &TestServer, resp3: bool) -> Differential {
    let mut pair = Differential::new(oracle, server);
    if resp3 {
        pair.both(&[b"HELLO", b"3"]);
    }
    pair
}

fn run_basics(resp3: bool) {
    let oracle = Oracle::start(&[]);
    let server = TestServer::start();
    pair(&oracle, &server, resp3).script(BASICS);
}

#[test]
fn basics_resp2() {
    run_basics(false);
}

#[test]
fn basics_resp3() {
    run_basics(true);
}

/// Watch scenarios: `watcher` runs WATCH ... EXEC; `other` is a second client.
fn run_watch(resp3: bool) {
    let oracle = Oracle::start(&[]);
    let server = TestServer::start();
    let mut watcher = pair(&oracle, &server, resp3);
    let mut other = pair(&oracle, &server, resp3);

    // Another client's write aborts; the watch is gone afterwards.
    watcher.script("SET k 1\nWATCH k");
    other.script("SET k 2");
    watcher.script("MULTI\nSET k 3\nEXEC\nGET k\nMULTI\nSET k 3\nEXEC");

    // The watcher's own write counts too.
    watcher.script("WATCH k\nSET k 4\nMULTI\nPING\nEXEC");

    // Reads by anyone are not changes.
    watcher.script("WATCH k\nGET k\nEXISTS k\nTYPE k\nTTL k");
    other.script("GET k\nEXISTS k\nMGET k k\nSTRLEN k\nKEYS *\nDBSIZE");
    watcher.script("MULTI\nINCR k\nEXEC");

    // Creating, then deleting a key watched while missing still counts.
    watcher.script("WATCH fresh");
    other.script("SET fresh 1\nDEL fresh");
    watcher.script("MULTI\nPING\nEXEC");

    // Writes that change nothing are not changes.
    watcher.script("WATCH k");
    other.script("SET k v NX\nDEL missing\nPERSIST k\nEXPIRE missing 10\nSETRANGE k 0 \"\"");
    watcher.script("MULTI\nPING\nEXEC");

    // Deadlines, renames and moves.
    for change in [
        "EXPIRE k 100",
        "PERSIST k",
        "RENAME k k2\nRENAME k2 k",
        "MOVE k 1\nSELECT 1\nMOVE k 0\nSELECT 0",
        "GETDEL k\nSET k 1",
        "APPEND k x",
        "INCRBYFLOAT k 1",
    ] {
        watcher.script("SET k 1\nEXPIRE k 1000\nWATCH k");
        other.script(change);
        watcher.script("MULTI\nPING\nEXEC");
    }

    // The same key name in another database is another key.
    watcher.script("WATCH k");
    other.script("SELECT 1\nSET k other-db\nSELECT 0");
    watcher.script("MULTI\nPING\nEXEC");

    // DISCARD and UNWATCH forget the watches.
    watcher.script("WATCH k\nMULTI\nDISCARD");
    other.script("SET k after-discard");
    watcher.script("MULTI\nPING\nEXEC\nWATCH k\nUNWATCH");
    other.script("SET k after-unwatch");
    watcher.script("MULTI\nPING\nEXEC");

    // Flushes touch watched keys that exist, and only those.
    watcher.script("SET k 1\nWATCH k");
    other.script("FLUSHDB");
    watcher.script("MULTI\nPING\nEXEC\nWATCH nothere");
    other.script("FLUSHALL");
    watcher.script("MULTI\nPING\nEXEC\nSET k 1\nWATCH k");
    other.script("FLUSHALL");
    watcher.script("MULTI\nPING\nEXEC");

    // SWAPDB touches keys present on either side.
    watcher.script("SELECT 1\nSET s1 v\nSELECT 0\nWATCH s1");
    other.script("SWAPDB 0 1");
    watcher.script("MULTI\nPING\nEXEC\nWATCH neither");
    other.script("SWAPDB 0 1");
    watcher.script("MULTI\nPING\nEXEC");

    // A refused command while queueing aborts, and forgets the watches too.
    watcher.script("WATCH k\nMULTI\nNOSUCHCOMMAND\nEXEC");
    other.script("SET k 9");
    watcher.script("MULTI\nPING\nEXEC");
}

#[test]
fn watch_resp2() {
    run_watch(false);
}

#[test]
fn watch_resp3() {
    run_watch(true);
}

/// A watched key that expires before EXEC aborts it, whether or not anything touched
/// it; a key watched after it expired does not.
#[test]
fn watch_and_expiry() {
    let oracle = Oracle::start(&[]);
    let server = TestServer::start();
    let mut watcher = pair(&oracle, &server, false);
    let mut other = pair(&oracle, &server, false);

    watcher.script("SET short 1 PX 50\nWATCH short");
    std::thread::sleep(Duration::from_millis(120));
    watcher.script("MULTI\nPING\nEXEC");

    watcher.script("SET short 1 PX 50\nWATCH short");
    std::thread::sleep(Duration::from_millis(120));
    other.script("GET short");
    watcher.script("MULTI\nPING\nEXEC");

    // Expired (or already swept) when watched: its disappearance is no change.
    watcher.script("SET stale 1 PX 1");
    std::thread::sleep(Duration::from_millis(20));
    watcher.script("WATCH stale\nEXISTS stale\nMULTI\nPING\nEXEC");
    watcher.script("SET stale 1 PX 1");
    std::thread::sleep(Duration::from_millis(20));
    watcher.script("WATCH stale\nDEL stale\nMULTI\nPING\nEXEC");
    // ... but storing it again is.
    watcher.script("SET stale 1 PX 1");
    std::thread::sleep(Duration::from_millis(20));
    watcher.script("WATCH stale");
    other.script("SET stale 2");
    watcher.script("MULTI\nPING\nEXEC");
}

/// redis-py sends MULTI, the commands and EXEC in one write; every reply must come
/// back, identical, and in one write as well.
#[test]
fn pipelined_transaction_in_one_write() {
    let oracle = Oracle::start(&[]);
    let server = TestServer::start();
    let mut pair = pair(&oracle, &server, true);
    let batch: Vec<u8> = [
        "MULTI",
        "SET unacked_mutex token NX PX 300000",
        "INCR counter",
        "GET counter",
        "EXEC",
    ]
    .iter()
    .flat_map(|line| request(line))
    .collect();
    pair.send_both(&batch);
    pair.expect_same(5, "a pipelined transaction");

    let mut raw = std::net::TcpStream::connect(server.addr).unwrap();
    raw.set_read_timeout(Some(common::REPLY_TIMEOUT)).unwrap();
    std::io::Write::write_all(&mut raw, &batch).unwrap();
    let expected = b"+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*3\r\n$-1\r\n:2\r\n$1\r\n2\r\n";
    let mut received = vec![0u8; 4096];
    let n = raw.read(&mut received).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&received[..n]),
        String::from_utf8_lossy(expected),
        "the whole transaction's replies arrive in the first read"
    );
}

/// A subscribe inside EXEC confirms inside the EXEC array; SSUBSCRIBE is refused
/// there, as Redis does for clients that expect one reply per command.
#[test]
fn subscribing_inside_exec() {
    for resp3 in [false, true] {
        let oracle = Oracle::start(&[]);
        let server = TestServer::start();
        let mut pair = pair(&oracle, &server, resp3);
        pair.script("MULTI\nSSUBSCRIBE s\nPSUBSCRIBE p*\nPUBLISH x y\nSUBSCRIBE c\nEXEC");
        pair.check_n("UNSUBSCRIBE", 1);
        pair.check_n("PUNSUBSCRIBE", 1);
    }
}

#[test]
fn reset_discards_the_transaction_and_the_watches() {
    let oracle = Oracle::start(&[]);
    let server = TestServer::start();
    let mut watcher = pair(&oracle, &server, false);
    let mut other = pair(&oracle, &server, false);
    watcher.script("WATCH k\nMULTI\nSET k 1\nRESET");
    other.script("SET k 2");
    watcher.script("EXEC\nMULTI\nPING\nEXEC");
}
