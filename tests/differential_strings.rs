//! Differential tests: the same command sequences sent to Debian's redis-server and
//! to broker-server must get byte-identical replies. Strings, keys and connection
//! commands, in RESP2 and RESP3.

mod common;

use common::{Differential, Oracle, TestServer, sorted};

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
SET i 12345
OBJECT ENCODING i
# Redis reports raw after APPEND or SETRANGE whatever the content; broker-server
# derives the encoding from the content (int here), so that is not compared.
APPEND i 6
STRLEN i
SET neg -1
OBJECT ENCODING neg
SET b44 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
OBJECT ENCODING b44
SET b45 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
OBJECT ENCODING b45
SET huge 123456789012345678901
OBJECT ENCODING huge
SET lead 0123
OBJECT ENCODING lead
INCR lead
SET past v EXAT 1
GET past
EXISTS past
SET past v PXAT 0
SET k v EXAT -5
SET k v GET GET
SET k v NX NX
SET k v XX EX 10 XX
SET k v PERSIST
GETEX k PXAT 0
GETEX k EXAT 1
GET k
GETEX k PX
GETEX k EX 10 EX 20
GETEX missing PERSIST
GETEX missing EX abc
GETEX missing PX 0
GETEX missing EXAT -1
RPUSH notstring a
GETEX notstring EX abc
GETEX k EX abc
GETRANGE app 9223372036854775807 9223372036854775807
GETRANGE app -9223372036854775808 -1
SETRANGE app 0 \"\"
SETRANGE app 536870912 x
SET f 1.5e3
INCRBYFLOAT f 0
INCRBYFLOAT f nan
INCRBYFLOAT f \"\"
SET f 1.1
INCRBYFLOAT f 0.1
INCRBYFLOAT f 0.2
SET f 0.1
INCRBYFLOAT f 0.2
INCRBYFLOAT f -0.3
SET f 5000
INCRBYFLOAT f 1e-10
INCRBYFLOAT f -1234567.891
SET f 9223372036854775806
INCRBYFLOAT f 1.5
INCRBYFLOAT f 1e2
SET f 1e30
INCRBYFLOAT f 1
SET f 1e4000
INCRBYFLOAT f 0
INCRBYFLOAT f 0x1p-2
SET f 8385129764215937714e-2227
INCRBYFLOAT f -64
SET f 0.99999999999999999999999
INCRBYFLOAT f 0
SET f 1.18973149535723176e4932
INCRBYFLOAT f 1.18973149535723176e4932
INCRBYFLOAT f -1.18973149535723176e4932
INCRBYFLOAT f 1e4933
INCRBYFLOAT f 1e-4952
INCRBYFLOAT f 4e-4951
SET f -0
INCRBYFLOAT f -1e-30
SET s abc
INCRBYFLOAT s x
LPUSH list a
INCRBYFLOAT list x
INCRBYFLOAT list 1
INCRBY counter 00
INCRBY counter +1
INCRBY counter \"\"
INCRBY counter 1
DECRBY counter 18446744073709551616
MSETNX a 1 a 2
MSETNX onlykey
MGET
GETSET
GETDEL a b
STRLEN a b
SETNX
SETEX s 9223372036854775807 v
PSETEX p 9223372036854775807 v
SETEX s 1.5 v
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
EXPIRE t abc NX XX
EXPIRE t abc GT LT
EXPIRE t abc bogus
PEXPIRE t \"\" NX LT
EXPIREAT t 1.5 XX NX
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
OBJECT HELP
OBJECT help
OBJECT HELP extra
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
SET x v
EXPIRE x 100 nx
EXPIRE x 50 xx gt
EXPIRE x 1000 xx gt
EXPIRE x 2000 lt
EXPIRE x 200 lt
PEXPIRE x 9223372036854775807
PEXPIRE x -9223372036854775808
EXPIREAT x 9223372036854775807
EXPIREAT x -1
EXISTS x
SET x v
PEXPIREAT x 0
EXISTS x
EXPIRE x
EXPIRE missing 10 GT
PERSIST missing
EXPIRETIME missing
TTL
TYPE a b
SET y v
MOVE y -1
MOVE y x
MOVE y 16
MOVE missing 1
COPY y y DB 0
COPY y z DB x
COPY y z DB
COPY y z REPLACE REPLACE
COPY y z FOO
RENAME missing x
RENAMENX missing x
RENAMENX y y
SWAPDB 0 -1
SWAPDB 1 1
SWAPDB 0
DBSIZE x
RANDOMKEY x
KEYS
KEYS a b
SCAN 0 MATCH
SCAN 0 COUNT x
SCAN 0 COUNT -1
SCAN 0 FOO bar
SCAN 18446744073709551616
SCAN 1x
SCAN --1
SCAN +
MOVE y 2147483648
COPY y z DB -2147483649
SWAPDB 2147483648 0
SWAPDB 0 2147483648
SWAPDB 1.5 0
OBJECT ENCODING
OBJECT REFCOUNT missing extra
OBJECT IDLETIME missing
OBJECT FREQ missing
OBJECT
UNLINK
TOUCH
FLUSHDB ASYNC extra
FLUSHALL SYNC
COMMAND DOCS nosuchcommand
COMMAND INFO nosuchcommand
COMMAND LIST FILTERBY PATTERN nosuch*
COMMAND LIST FILTERBY
COMMAND LIST FILTERBY FOO bar
";

const CONNECTION: &str = "
PING
ROLE
ROLE extra
REPLICAOF NO ONE
SLAVEOF no one
REPLICAOF NO
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
# CLIENT SETINFO and CLIENT NO-TOUCH arrived in Redis 7.2, after the oracle.
HELLO 3 AUTH
HELLO 3 AUTH default
HELLO 3 SETNAME
HELLO 3 AUTH nobody pw
HELLO -1
HELLO 1
HELLO 3.0
SELECT 1.5
SELECT 2147483648
SELECT -2147483649
SELECT 2147483647
ECHO a b
CLIENT
CLIENT ID extra
CLIENT GETNAME extra
CLIENT SETNAME
CLIENT SETNAME a b
CLIENT REPLY maybe
CLIENT REPLY on extra
CLIENT NO-EVICT maybe
CLIENT NO-EVICT
CLIENT KILL
CLIENT KILL 1.2.3.4:5
CLIENT KILL ID 0
CLIENT KILL ID abc
CLIENT KILL ID 999999
CLIENT KILL ID 999999 SKIPME maybe
CLIENT KILL ADDR 1.2.3.4:5 ID
CLIENT KILL FOO bar
CLIENT KILL ADDR 1.2.3.4:5
CLIENT KILL TYPE bogus
CLIENT UNBLOCK 999999 ERROR extra
CLIENT unblock x y z
CLIENT UNBLOCK 999999 FOO
CLIENT KILL USER nosuchuser
CLIENT KILL USER default ID 999999
CLIENT KILL MAXAGE 1
CLIENT LIST TYPE pubsub
CLIENT LIST TYPE bogus
CLIENT LIST TYPE master
CLIENT LIST TYPE replica
CLIENT LIST ID
CLIENT LIST ID x
CLIENT LIST ID 0
CLIENT LIST ID 999999
CLIENT LIST FOO
CLIENT INFO extra
CONFIG
CONFIG GET
CONFIG SET timeout
CONFIG SET timeout 0 maxclients
CONFIG SET timeout 0 timeout 5
CONFIG SET TIMEOUT 0 Timeout 1
CONFIG SET databases 1 no-such-option 1
CONFIG SET no-such-option 1 databases 1
CONFIG SET timeout abc no-such-option 1
CONFIG SET timeout 0 databases 1 timeout 1
CONFIG SET timeout 0 timeout 1 no-such-option 1
CONFIG SET timeout abc timeout 1
CONFIG SET timeout 0 maxclients abc
CONFIG SET timeout abc maxclients abc
CONFIG SET no-such-option 1
CONFIG SET timeout abc
CONFIG SET maxclients -1
CONFIG SET maxclients 4294967296
CONFIG SET databases 1
CONFIG SET timeout -1
CONFIG SET tcp-keepalive -1
CONFIG SET proto-max-bulk-len 1048575
CONFIG SET hz 0
CONFIG GET hz
CONFIG SET hz 501
CONFIG GET hz
CONFIG SET hz -1
CONFIG SET hz 10
SET oomkey v
CONFIG SET maxmemory 1
SET oomkey v2
GET oomkey
APPEND oomkey x
LPUSH oomlist x
DEL oomkey
EXISTS oomkey
MULTI
GET oomkey
EXEC
MULTI
EXEC
CONFIG SET maxmemory 0
SET oomkey v3
GET oomkey
DEL oomkey
CONFIG GET timeout
CONFIG GET databases
CONFIG GET proto-max-bulk-len
CONFIG GET client-query-buffer-limit
CONFIG GET hz
CONFIG GET tcp-keepalive
CONFIG GET maxmemory
CONFIG GET maxmemory-policy
CONFIG GET list-max-listpack-size
CONFIG GET requirepass
CONFIG GET no-such-option
CONFIG GET MAXMEMORY
CONFIG GET maxmemory MAXMEMORY
CONFIG GET MaxMemory maxmemory
CONFIG GET Timeout
CONFIG GET HASH-MAX-ZIPLIST-ENTRIES
CONFIG GET NOSUCH
CONFIG SET list-max-listpack-size 128
CONFIG GET list-max-listpack-size
CONFIG RESETSTAT extra
CONFIG NOSUCH
FUNCTION FLUSH LATER
FUNCTION FLUSH ASYNC extra
FUNCTION NOSUCH
TIME extra
LASTSAVE extra
DBSIZE
FLUSHALL ASYNC
SHUTDOWN ABORT
SHUTDOWN abort
SHUTDOWN ABORT NOW
SHUTDOWN NOSAVE ABORT
SHUTDOWN ABORT ABORT
SHUTDOWN ABORT LATER
SHUTDOWN LATER

";

fn run(script: &str, resp3: bool) {
    common::run_differential_script(script, resp3);
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

/// Errors that echo what the client sent keep its bytes as Redis prints them with
/// `%.128s` or `%s`: bytes that are not UTF-8 unchanged, cut at 128 bytes (even
/// inside a multi-byte character) for `%.128s`, and at the first NUL byte; CR and
/// LF become spaces.
#[test]
fn echoed_names_in_errors_keep_their_bytes() {
    let oracle = Oracle::start(&[]);
    let server = TestServer::start();
    let mut pair = Differential::new(&oracle, &server);
    let accents = "é".repeat(100);
    let sixty = "a".repeat(60);
    let long: Vec<u8> = [&b"\xff"[..], &[b'a'; 200], b"\x00zz"].concat();
    let cases: Vec<Vec<&[u8]>> = vec![
        vec![b"\xff\xfe"],
        vec![b"FOO\x00BAR", b"a\x00b"],
        vec![accents.as_bytes()],
        vec![b"X", accents.as_bytes(), b"y"],
        vec![b"X", sixty.as_bytes(), sixty.as_bytes(), sixty.as_bytes()],
        vec![b"FOO\r\nBAR", b"x\ry"],
        vec![b"CLIENT", b"\xffbad"],
        vec![b"CONFIG", accents.as_bytes()],
        vec![b"OBJECT", b"x\x00y"],
        vec![b"MULTI"],
        vec![b"\xffzz", b"a"],
        vec![b"EXEC"],
        // `%s` rather than `%.128s`: no length cut, still a NUL cut.
        vec![b"EXPIRE", b"k", b"10", b"\xff\x00z"],
        vec![b"PEXPIRE", b"k", b"10", b"\xc3\xa9"],
        vec![b"CONFIG", b"SET", b"hz", b"10", b"\xff\x00z", b"1"],
        vec![b"CLIENT", b"KILL", b"TYPE", b"\xff\x00z"],
        vec![b"CLIENT", b"KILL", b"USER", b"\xff\x00z"],
        vec![b"CLIENT", b"LIST", b"TYPE", b"\xff\x00z"],
        vec![b"FUNCTION", b"FLUSH", b"a", b"b"],
        vec![b"HELLO", b"3", &long, b"x"],
        vec![b"LATENCY", b"GRAPH", &long],
        vec![b"ACL", b"CAT", &long],
        vec![b"ACL", b"DRYRUN", &long, b"get"],
        vec![b"ACL", b"DRYRUN", b"default", &long],
    ];
    for case in cases {
        pair.check(&case);
    }
}

/// Every read lookup counts one keyspace hit or miss, as in Redis: GETEX looks its
/// key up once, whether or not its expire time is then refused.
#[test]
fn reads_count_hits_and_misses_as_redis_does() {
    let oracle = Oracle::start(&[]);
    let server = TestServer::start();
    let mut pair = Differential::new(&oracle, &server);
    pair.script(
        "SET k v
CONFIG RESETSTAT
GET k
GET nokey
GETEX k
GETEX k EX 100
GETEX nokey
GETEX nokey EX abc
GETEX k EX abc
GETEX k PERSIST",
    );
    let (redis, ours) = pair.keyspace_counts();
    assert_eq!(redis, ["keyspace_hits:5", "keyspace_misses:3"]);
    assert_eq!(ours, redis);
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
    // Redis reads the cursor with strtoul: signs are accepted (a negative cursor
    // wraps around) and so is an empty one. Which keys such a cursor returns
    // depends on the table layout, so only the kind of reply is compared.
    for cursor in [&b"-1"[..], b"+0", b"", b"-0"] {
        let (expected, actual) = pair.both(&[b"SCAN", cursor]);
        assert!(
            matches!(expected, broker_server::protocol::Reply::Array(_)),
            "{expected:?}"
        );
        assert!(
            matches!(actual, broker_server::protocol::Reply::Array(_)),
            "SCAN {:?}: {actual:?}",
            String::from_utf8_lossy(cursor)
        );
    }
    for cursor in [&b" 1"[..], b"1 ", b"0x1", b"\t2"] {
        pair.check(&[b"SCAN", cursor]);
    }
}

#[test]
fn client_kill_by_type_spares_other_types() {
    let oracle = Oracle::start(&[]);
    let server = TestServer::start();
    let mut pair = Differential::new(&oracle, &server);
    // A second, idle, normal client on each side: no filter below matches it.
    let mut others = (oracle.raw(), server.raw());
    others.0.call(&["PING"]);
    others.1.call(&["PING"]);
    pair.script(
        "
        CLIENT KILL TYPE master
        CLIENT KILL TYPE replica
        CLIENT KILL TYPE slave
        CLIENT KILL TYPE pubsub
        CLIENT KILL TYPE pubsub SKIPME no
        CLIENT LIST TYPE master
        CLIENT LIST TYPE pubsub
        ",
    );
}

/// COMMAND LIST names subcommands by their full name (`object|freq`), and a pattern
/// filter matches that full name. Redis lists in hash order, so the sets are compared;
/// the patterns cover families both servers implement completely.
#[test]
fn command_list_includes_subcommands() {
    let oracle = Oracle::start(&[]);
    let server = TestServer::start();
    let mut pair = Differential::new(&oracle, &server);
    for pattern in [
        "object*", "pubsub*", "script*", "*|numsub", "hello", "nosuch*",
    ] {
        let args: [&[u8]; 5] = [
            b"COMMAND",
            b"LIST",
            b"FILTERBY",
            b"PATTERN",
            pattern.as_bytes(),
        ];
        let (expected, actual) = pair.both(&args);
        assert_eq!(
            sorted(actual),
            sorted(expected),
            "COMMAND LIST FILTERBY PATTERN {pattern}"
        );
    }
    let (_, all) = pair.both(&[b"COMMAND", b"LIST"]);
    let names = match all {
        broker_server::protocol::Reply::Array(items) => common::bulk_strings(&items),
        other => panic!("COMMAND LIST: {other:?}"),
    };
    assert!(names.iter().any(|name| name == b"client|list"));
    assert!(names.iter().any(|name| name == b"get"));
}
