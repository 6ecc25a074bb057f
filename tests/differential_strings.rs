//! Differential tests: the same command sequences sent to Debian's redis-server and
//! to broker-server must get byte-identical replies. Strings, keys and connection
//! commands, in RESP2 and RESP3.

mod common;

use common::{Differential, Oracle, TestServer, sorted};

// INCRBYFLOAT results that need more than double precision differ: Redis computes
// in x87 long double and prints 17 decimals, broker-server computes in f64 and
// prints the shortest exact text. Only results both agree on are listed.
const STRINGS: &str = "
SET k v
GET k
GET missing
SET k v2 XX GET
SET k v3 NX
SET k v3 NX GET
SET fresh v XX
SET k v EX 0
SET k v PX -5
SET k v EX 10 PX 10
SET k v KEEPTTL EX 5
SET k v EX notanumber
SET k v FOO
SETEX s 100 val
SETEX s 0 val
SETEX s -1 val
SETEX s x val
PSETEX p 100000 val
PSETEX p 0 val
SETNX k other
SETNX nx1 val
MSET a 1 b 2 c 3
MSET a 1 b
MGET a b c missing
MSETNX a 1 z 2
MSETNX y 1 z 2
GETSET a 10
GETSET newkey 1
GETDEL b
GETDEL b
GETEX a
GETEX a EX 100
GETEX a PERSIST
GETEX a EX 0
GETEX a FOO
INCR counter
INCR counter
INCRBY counter 10
INCRBY counter -100
DECR counter
DECRBY counter 5
DECRBY counter -9223372036854775808
INCRBY counter 9223372036854775807
INCRBY counter x
INCR k
SET big 9223372036854775807
INCR big
SET f 10.5
INCRBYFLOAT f 0.1
INCRBYFLOAT f -5
INCRBYFLOAT f abc
INCRBYFLOAT k 1
INCRBYFLOAT newf 5
APPEND app hello
APPEND app world
STRLEN app
STRLEN missing
GETRANGE app 0 3
GETRANGE app -3 -1
GETRANGE app 0 -100
GETRANGE app 5 1000
GETRANGE app -1 -5
GETRANGE missing 0 -1
SUBSTR app 1 2
SETRANGE app 5 XX
SETRANGE app 20 pad
SETRANGE app -1 x
SETRANGE empty 0 \"\"
GET app
SETRANGE newr 3 abc
GET newr
SET n 12345
SET e 123456789012345678901234567890
";

const KEYS: &str = "
SET a 1
SET b 2
EXISTS a b missing a
DEL a missing
DEL a
EXISTS a
TYPE b
TYPE missing
UNLINK b
SET t v
EXPIRE t 100
TTL t
PTTL missing
TTL missing
EXPIRE missing 10
PERSIST t
PERSIST t
TTL t
EXPIRE t 100 NX
EXPIRE t 200 NX
EXPIRE t 50 GT
EXPIRE t 300 GT
EXPIRE t 500 LT
EXPIRE t 100 XX
EXPIRE t 10 NX XX
EXPIRE t 10 GT LT
EXPIRE t 10 FOO
EXPIRE t abc
EXPIRE t 9223372036854775807
EXPIRE t -1
EXISTS t
SET t2 v
PEXPIRE t2 100000
PEXPIREAT t2 1
EXISTS t2
SET t3 v
EXPIREAT t3 4102444800
EXPIRETIME t3
PEXPIRETIME t3
EXPIRETIME missing
SET plain v
EXPIRETIME plain
RENAME plain renamed
RENAME plain other
GET renamed
RENAMENX renamed r2
SET r3 v
RENAMENX r2 r3
RENAME r2 r2
COPY r2 c1
COPY r2 c1
COPY r2 c1 REPLACE
COPY r2 r2
COPY missing c2
COPY r2 c3 DB 1
COPY r2 c3 DB 99
MOVE r2 1
MOVE r2 1
MOVE r3 0
MOVE r3 99
SELECT 1
GET c3
GET r2
SELECT 0
TOUCH r3 missing r3
OBJECT ENCODING r3
OBJECT ENCODING missing
SET num 42
OBJECT ENCODING num
SET longstr aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
OBJECT ENCODING longstr
OBJECT REFCOUNT missing
OBJECT FOO
DBSIZE
SWAPDB 0 1
DBSIZE
SWAPDB 0 1
SWAPDB 0 99
SWAPDB x 1
SELECT x
SELECT -1
FLUSHDB
DBSIZE
FLUSHALL
FLUSHDB ASYNC
FLUSHALL FOO
RANDOMKEY
SCAN x
SCAN 0 COUNT 0
SCAN 0 TYPE nosuchtype
";

const CONNECTION: &str = "
PING
PING hello
PING a b
ECHO hi
ECHO
SELECT 15
SELECT 16
CLIENT GETNAME
CLIENT SETNAME myname
CLIENT GETNAME
CLIENT SETNAME bad\\x20name
CLIENT REPLY
CLIENT NOSUCH
AUTH x
AUTH default x
HELLO 4
HELLO x
HELLO 2 FOO
FOO
GET
";

fn run(script: &str, resp3: bool) {
    let oracle = Oracle::start(&[]);
    let server = TestServer::start();
    let mut pair = Differential::new(&oracle, &server);
    if resp3 {
        pair.both(&[b"HELLO", b"3"]);
    }
    pair.script(script);
}

#[test]
fn strings_resp2() {
    run(STRINGS, false);
}

#[test]
fn strings_resp3() {
    run(STRINGS, true);
}

#[test]
fn keys_resp2() {
    run(KEYS, false);
}

#[test]
fn keys_resp3() {
    run(KEYS, true);
}

#[test]
fn connection_resp2() {
    run(CONNECTION, false);
}

#[test]
fn connection_resp3() {
    run(CONNECTION, true);
}

#[test]
fn binary_keys_and_values() {
    let oracle = Oracle::start(&[]);
    let server = TestServer::start();
    let mut pair = Differential::new(&oracle, &server);
    pair.check(&[b"SET", b"celery\x06\x163", b"\x00\xff\r\n"]);
    pair.check(&[b"GET", b"celery\x06\x163"]);
    pair.check(&[b"APPEND", b"celery\x06\x163", b"\x06\x16"]);
    pair.check(&[b"STRLEN", b"celery\x06\x163"]);
    pair.check(&[b"EXISTS", b"celery\x06\x163", b"celery"]);
}

#[test]
fn keys_and_scan_return_the_same_sets() {
    let oracle = Oracle::start(&[]);
    let server = TestServer::start();
    let mut pair = Differential::new(&oracle, &server);
    pair.script("MSET user:1 a user:2 b order:1 c h?llo d hello e");
    for pattern in ["*", "user:*", "h?llo", "h\\?llo", "*:[12]", "nothing*"] {
        let (expected, actual) = pair.both(&[b"KEYS", pattern.as_bytes()]);
        assert_eq!(sorted(actual), sorted(expected), "KEYS {pattern}");
    }
    // A full SCAN, in any number of steps, returns every key once at least.
    let mut seen = Vec::new();
    let mut cursor = b"0".to_vec();
    loop {
        let reply = pair
            .ours
            .call_raw(&[b"SCAN", &cursor, b"COUNT", b"2", b"MATCH", b"*:*"]);
        let parsed = broker_server::protocol::parse::parse_reply(&reply)
            .unwrap()
            .0;
        let broker_server::protocol::Reply::Array(parts) = parsed else {
            panic!()
        };
        let broker_server::protocol::Reply::Bulk(next) = &parts[0] else {
            panic!()
        };
        let broker_server::protocol::Reply::Array(keys) = &parts[1] else {
            panic!()
        };
        seen.extend(keys.iter().cloned());
        cursor = next.to_vec();
        if cursor == b"0" {
            break;
        }
    }
    seen.sort_by_key(|k| format!("{k:?}"));
    seen.dedup();
    assert_eq!(seen.len(), 3);
}
