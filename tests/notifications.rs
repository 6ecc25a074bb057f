//! Keyspace notifications compared with redis-server 7.0.15: an actor runs commands,
//! a subscriber listens on `__key*__:*`, and after each command the actor publishes
//! a marker on `sync`, so the events of each command are compared as one group.
//!
//! Scripts have one command per line. `SLEEP` pauses for 20 ms; a line starting
//! with `~` has a random reply (SPOP), which is read but not compared.

mod common;
mod pairs;

use std::time::Duration;

use common::{Differential, Oracle, TestServer, until_sync, wait_for_info};
use pairs::{PairExt, request};

/// Strings and type-independent commands. Expiry comes last: the `expired` event
/// may come from either expiry path, but always before the next marker.
const STRINGS_AND_KEYS: &str = "
SET a 1
SET a 2
SETEX b 100 v
SET c 1 EX 100
SETNX a x
SETNX d x
INCR n
DECR n
INCRBY n 5
INCRBYFLOAT n 1.5
APPEND a x
SETRANGE a 1 y
SETRANGE a 1 \"\"
GETSET a z
GETDEL a
GETDEL a
GETEX c PERSIST
GETEX c PERSIST
GETEX c EX 100
GETEX c
MSET x 1 y 2
MSETNX x 1 q 2
MSETNX z 1 q 2
DEL x y missing
EXPIRE z 100
EXPIRE missing 100
PEXPIRE z 0
SET t 1
PERSIST t
EXPIRE t 100
PERSIST t
RENAME t t2
RENAME t2 t2
SET t3 old
RENAME t2 t3
RENAMENX t3 q
RENAMENX t3 t4
MOVE t4 1
MOVE t4 1
COPY q q2
COPY q q2 REPLACE
COPY q q3 DB 2
UNLINK q
SET k v KEEPTTL
SET k v XX
SET k v NX
SET k v GET
SET knew v GET
GET missing
MGET missing k
EXISTS missing
TTL missing
TYPE missing
STRLEN missing
OBJECT ENCODING missing
INCR made-by-incr
APPEND made-by-append x
MULTI
SET m1 1
DEL m1
EXEC
FLUSHDB
SELECT 3
SET other-db 1
SELECT 0
SET e 1 PX 1
SLEEP
GET e
";

const LISTS: &str = "
RPUSH l a b c d e f
LPUSH l z
LPUSHX l y
RPUSHX l x
LPUSHX nolist y
RPUSHX nolist y
LPUSH l
SET str v
LPUSH str x
LPOP str
LPOP l
RPOP l
LPOP l 2
RPOP l 0
RPOP l -1
LPOP nolist
LPOP nolist 3
LINSERT l BEFORE c c0
LINSERT l AFTER missing q
LINSERT nolist BEFORE a b
LINSERT str BEFORE a b
LSET l 0 first
LSET l 99 x
LSET nolist 0 x
LREM l 0 nothing
LREM l 1 c0
LREM nolist 1 a
LTRIM l 0 -1
LTRIM nolist 0 1
LTRIM str 0 1
LTRIM l 0 2
LRANGE l 0 -1
LMOVE l l LEFT RIGHT
LMOVE l dst RIGHT LEFT
LMOVE l dst LEFT RIGHT
LMOVE nolist dst LEFT LEFT
LMOVE dst str LEFT LEFT
LMOVE l dst LEFT LEFT
RPOPLPUSH dst other
RPOPLPUSH other other
RPOPLPUSH nolist other
RPUSH one x
RPOPLPUSH one one
LMOVE one two RIGHT RIGHT
RPUSH m 1 2 3
LMPOP 2 nolist m LEFT COUNT 2
LMPOP 2 nolist str LEFT
LMPOP 1 m RIGHT COUNT 5
LMPOP 1 m RIGHT
RPUSH r 1 2 1 2
LREM r 0 1
LREM r -5 2
RPUSH t a b
LTRIM t 5 10
RPUSH bl x
BLPOP nolist bl 0
RPUSH bl x y
BRPOP bl 0
BLMPOP 0 1 bl LEFT COUNT 3
RPUSH bm x
BLMOVE bm bm2 LEFT RIGHT 0
BRPOPLPUSH bm2 bm 0
MULTI
RPUSH q a
LPOP q
BLPOP q 0
RPUSH q b c
EXEC
FLUSHALL
";

const HASHES: &str = "
HSET h a 1 b 2
HSET h a 1
HSET h a 1 b
HMSET h c 3
HMSET h a 1 d 4 e 5
HSETNX h a 9
HSETNX h z 26
HSETNX newh f v
HINCRBY h n 5
HINCRBY h a 0
HINCRBY h c notanumber
HSET h s text
HINCRBY h s 1
HINCRBY h big 9223372036854775807
HINCRBY h big 1
HINCRBYFLOAT h f 1.5
HINCRBYFLOAT h f 0
HINCRBYFLOAT h s 1
HINCRBYFLOAT newf x 1
HDEL h missing
HDEL h a b
HDEL nohash a
HGET h c
HGETALL nohash
HEXISTS nohash a
HDEL h a b c d e n f s z big
HDEL newh f
HDEL newf x
SET str v
HSET str a 1
HSETNX str a 1
HINCRBY str a 1
HDEL str a
MULTI
HSET m a 1
HDEL m a
EXEC
";

const SETS: &str = "
SADD s a b c d
SADD s a
SADD s e
SREM s missing
SREM s a
SREM nosets a
SISMEMBER nosets a
SPOP nosets
SPOP nosets 2
SPOP s 0
SPOP s -1
SADD one x
SPOP one
SADD two 1 2
SPOP two 2
SADD three 1 2 3
~SPOP three
~SPOP three 1
~SPOP three 1
SADD many 1 2 3 4 5
~SPOP many 2
~SPOP many 3
SADD s2 b c z
SMOVE s s b
SMOVE s s missing
SMOVE nosets s b
SMOVE nosets nosets b
SMOVE s s2 b
SMOVE s s2 d
SMOVE s s2 missing
SMOVE s s3 c
SET str v
SMOVE s2 str z
SMOVE str s2 z
SMOVE s s2 e
SINTERSTORE dest s2 s3
SINTERSTORE dest s2 s3
SUNIONSTORE dest s2 s3
SUNIONSTORE dest s2 s3
SDIFFSTORE dest s2 s2
SDIFFSTORE dest s2 s2
SINTERSTORE dest nosets s2
SUNIONSTORE str s2
SDIFFSTORE d2 s2 nosets
SINTERSTORE s2 s2 s3
SUNIONSTORE dest str nosets
SADD str2 x
SET str2 v
SINTERSTORE dest str2 s3
SREM s2 b c z d
SREM s3 c
SET plain v
SINTER nosets plain nosets2
SUNIONSTORE dest nosets plain nosets2
SINTERCARD 3 nosets plain nosets2
SDIFF nosets nosets
SADD exp a
PEXPIRE exp 1
SLEEP
SUNION exp
MULTI
SADD m a
SPOP m
EXEC
";

const ZSETS: &str = "
ZADD z 1 a 2 b 3 c
ZADD z 1 a
ZADD z CH 5 a
ZADD z XX 1 missing
ZADD noz XX 1 a
ZADD z NX 9 a
ZADD z NX 9 d
ZADD z GT 0 a
ZADD z LT 0 a
ZADD z INCR 0 a
ZADD z INCR 2 a
ZADD z XX INCR 1 missing
ZADD z nan a
ZADD z 1
ZINCRBY z 0 b
ZINCRBY z 1 b
ZINCRBY newz 1 m
ZADD zi INCR inf m
ZADD zi INCR -inf m
ZREM z missing
ZREM z c
ZREM noz a
ZREM newz m
ZREM zi m
ZADD r 1 a 2 b 3 c 4 d 5 e 6 f
ZREMRANGEBYSCORE r 10 20
ZREMRANGEBYSCORE r 1 2
ZREMRANGEBYRANK r 5 9
ZREMRANGEBYRANK r 0 0
ZREMRANGEBYLEX r [z +
ZREMRANGEBYLEX r - [d
ZREMRANGEBYRANK r 0 -1
ZREMRANGEBYSCORE noz -inf +inf
ZREMRANGEBYLEX noz - +
ZADD p 1 a 2 b 3 c 4 d
ZPOPMIN p
ZPOPMAX p
ZPOPMIN p 0
ZPOPMIN noz
ZPOPMAX noz 3
ZPOPMAX p 5
ZADD x 1 a 2 b
ZADD y 2 b 3 c
ZUNIONSTORE u 2 x y
ZUNIONSTORE u 2 x y
ZINTERSTORE i 2 x y WEIGHTS 2 3
ZINTERSTORE i 2 x noz
ZINTERSTORE i 2 x noz
ZDIFFSTORE d 2 x y
ZDIFFSTORE d 2 x x
ZDIFFSTORE d 1 noz
ZRANGESTORE rs x 0 -1
ZRANGESTORE rs x 5 9
ZRANGESTORE rs noz 0 -1
ZRANGESTORE rs y (2 +inf BYSCORE
SET str v
ZADD str 1 a
ZREM str a
ZUNIONSTORE str 1 x
ZUNIONSTORE x 2 x y
ZINTERSTORE u 2 u str
ZUNIONSTORE u 1 notz
SET notz v
ZUNIONSTORE u 1 notz
SET plain v
ZUNION 3 noz plain noz2
ZINTERSTORE dest 3 noz plain noz2
ZINTERCARD 3 noz plain noz2
ZRANGESTORE dest plain 0 -1
ZDIFF 2 noz noz
SADD aset a
ZUNIONSTORE mixed 2 aset noz
ZADD exp 1 a
PEXPIRE exp 1
SLEEP
ZINTER 1 exp
MULTI
ZADD m 1 a
ZINCRBY m 1 a
ZPOPMIN m
EXEC
FLUSHALL
";

/// Bit commands and LCS: `setbit` only for a write that changed something (or
/// created or lengthened the string), `set` or `del` for BITOP's destination.
const BITS: &str = "
SETBIT b 7 1
SETBIT b 7 1
SETBIT b 7 0
SETBIT b 100 0
SETBIT b 4294967296 1
SETBIT fresh 0 0
GETBIT b 7
GETBIT missing 7
BITCOUNT b
BITCOUNT missing
BITPOS b 1
BITPOS missing 1
BITFIELD b SET u8 0 1
BITFIELD b SET u8 0 1
BITFIELD b GET u8 0
BITFIELD missing GET u8 0
BITFIELD b OVERFLOW FAIL INCRBY u8 0 300
BITFIELD b OVERFLOW SAT INCRBY u8 0 300
BITFIELD b SET u8 200 0
BITFIELD made OVERFLOW WRAP INCRBY i5 3 100
BITFIELD_RO b GET u8 0
BITFIELD_RO missing GET u8 0
BITOP AND dest b fresh
BITOP AND dest missing
BITOP AND dest missing
BITOP OR dest b missing
BITOP NOT dest b
SET s foobar
LCS s b
LCS s missing IDX
RPUSH l x
SETBIT l 0 1
BITOP OR l s
";

/// An actor and a subscriber on the oracle and on broker-server, with
/// `notify-keyspace-events` set to the same classes on both.
struct Session {
    flags: String,
    actor: Differential,
    listener: Differential,
    /// Between MULTI and EXEC: the marker would be queued, so events are compared at
    /// EXEC.
    in_multi: bool,
}

impl Session {
    fn new(oracle: &Oracle, server: &TestServer, flags: &str, subscriber_resp3: bool) -> Self {
        let mut actor = Differential::new(oracle, server);
        let mut listener = Differential::new(oracle, server);
        actor.check(&[
            b"CONFIG",
            b"SET",
            b"notify-keyspace-events",
            flags.as_bytes(),
        ]);
        actor.check(&[b"CONFIG", b"GET", b"notify-keyspace-events"]);
        if subscriber_resp3 {
            listener.both(&[b"HELLO", b"3"]);
        }
        listener.check_n("PSUBSCRIBE __key*__:*", 1);
        listener.check_n("SUBSCRIBE sync", 1);
        Session {
            flags: flags.into(),
            actor,
            listener,
            in_multi: false,
        }
    }

    /// Runs one script line on both servers, compares the replies, then (outside
    /// MULTI) the events it caused, up to a marker published after it.
    fn step(&mut self, line: &str) {
        if line == "SLEEP" {
            std::thread::sleep(Duration::from_millis(20));
            return;
        }
        let (line, random_reply) = match line.strip_prefix('~') {
            Some(rest) => (rest, true),
            None => (line, false),
        };
        self.actor.send_both(&request(line));
        if random_reply {
            self.actor.redis.read_raw();
            self.actor.ours.read_raw();
        } else {
            self.actor.expect_same(1, line);
        }
        self.in_multi = (self.in_multi || line == "MULTI") && line != "EXEC";
        if self.in_multi {
            return;
        }
        self.actor.check(&[b"PUBLISH", b"sync", line.as_bytes()]);
        let expected = until_sync(&mut self.listener.redis);
        let actual = until_sync(&mut self.listener.ours);
        assert_eq!(
            String::from_utf8_lossy(&actual),
            String::from_utf8_lossy(&expected),
            "events differ for {line} with notify-keyspace-events {}",
            self.flags
        );
    }

    fn script(&mut self, script: &str) {
        for line in script.lines().map(str::trim).filter(|l| !l.is_empty()) {
            self.step(line);
        }
    }
}

/// Runs `script` on fresh servers and compares every command's events.
fn run(script: &str, flags: &str, subscriber_resp3: bool) {
    let oracle = Oracle::start(&[]);
    let server = TestServer::start();
    Session::new(&oracle, &server, flags, subscriber_resp3).script(script);
}

#[test]
fn everything() {
    run(STRINGS_AND_KEYS, "KEA", false);
}

#[test]
fn new_and_missed_keys() {
    run(STRINGS_AND_KEYS, "KEAnm", true);
}

#[test]
fn some_classes_on_one_channel_kind() {
    run(STRINGS_AND_KEYS, "E$", false);
    run(STRINGS_AND_KEYS, "Kgx", true);
}

#[test]
fn no_channel_kind_means_no_events() {
    run(STRINGS_AND_KEYS, "A", false);
    run(LISTS, "A", false);
}

#[test]
fn lists() {
    run(LISTS, "KEA", false);
    run(LISTS, "KEAnm", true);
}

#[test]
fn hashes() {
    run(HASHES, "KEA", false);
    run(HASHES, "KEAnm", true);
}

#[test]
fn sets() {
    run(SETS, "KEA", false);
    run(SETS, "KEAnm", true);
}

#[test]
fn sorted_sets() {
    run(ZSETS, "KEA", false);
    run(ZSETS, "KEAnm", true);
}

#[test]
fn bits() {
    run(BITS, "KEA", false);
    run(BITS, "KEAnm", true);
    run(BITS, "E$", false);
}

/// One class without `g` (no `del`), or `g` and `n` without the type's class: the
/// events a command still sends must come in the same order.
#[test]
fn collection_classes_one_at_a_time() {
    let scripts = [LISTS, HASHES, SETS, ZSETS].concat();
    run(&scripts, "Elhsz", false);
    run(&scripts, "Kgn", true);
    run(&scripts, "Elsn", true);
}

/// Clients blocked on a key and served by another client's write: the serve sends
/// the events of the pop (and of BLMOVE's push) right after the writer's own.
#[test]
fn blocked_clients_served() {
    blocked_clients("KEA", false);
    blocked_clients("KEAn", true);
}

/// Each case: the blocking commands, each sent on a connection of its own, then
/// the script that serves them (or not). The waiters' replies are compared at the
/// end of the case.
const BLOCKED: &[(&[&str], &str)] = &[
    (&["BLPOP q 0"], "RPUSH q a b"),
    (&["BRPOP q2 nothing 0"], "RPUSH q2 a"),
    (&["BLMOVE s d LEFT RIGHT 0"], "LPUSH s x"),
    (&["BRPOPLPUSH s2 s2 0"], "RPUSH s2 x"),
    (&["BLMPOP 0 2 m1 m2 RIGHT COUNT 2"], "RPUSH m2 a b c"),
    (&["BLMPOP 0 1 m3 LEFT COUNT 5"], "RPUSH m3 a b c"),
    (&["BLMOVE w str LEFT RIGHT 0"], "SET str v\nRPUSH w x"),
    (&["BLPOP t 0.05"], "SLEEP\nSLEEP\nSLEEP\nSLEEP"),
    (&["BLPOP e 0"], "MULTI\nRPUSH e a\nRPUSH e b\nEXEC"),
    (&["BLPOP f 0"], "MULTI\nRPUSH f a\nDEL f\nEXEC\nRPUSH f z"),
    (&["BLPOP k 0", "BRPOP k 0"], "RPUSH k a b c"),
    (&["BLPOP k2 0", "BLPOP k2 0"], "RPUSH k2 a b"),
    (
        &["BLMOVE c1 c2 RIGHT LEFT 0", "BLMOVE c2 c3 RIGHT LEFT 0"],
        "RPUSH c1 x",
    ),
];

fn blocked_clients(flags: &str, subscriber_resp3: bool) {
    let oracle = Oracle::start(&[]);
    let server = TestServer::start();
    let mut session = Session::new(&oracle, &server, flags, subscriber_resp3);
    for (blocking, script) in BLOCKED {
        let mut waiters: Vec<Differential> = Vec::new();
        for (n, line) in blocking.iter().enumerate() {
            let mut waiter = Differential::new(&oracle, &server);
            waiter.send_both(&request(line));
            let blocked = (n + 1).to_string();
            wait_for_info(&mut session.actor.redis, "blocked_clients", &blocked);
            wait_for_info(&mut session.actor.ours, "blocked_clients", &blocked);
            waiters.push(waiter);
        }
        session.script(script);
        for (waiter, line) in waiters.iter_mut().zip(blocking.iter()) {
            waiter.expect_same(1, line);
        }
    }
}

#[test]
fn invalid_classes_are_refused() {
    let oracle = Oracle::start(&[]);
    let server = TestServer::start();
    let mut pair = Differential::new(&oracle, &server);
    pair.check(&[b"CONFIG", b"SET", b"notify-keyspace-events", b"KEQ"]);
    pair.check(&[b"CONFIG", b"GET", b"notify-keyspace-events"]);
    pair.check(&[b"CONFIG", b"SET", b"notify-keyspace-events", b"g$lshzxetd"]);
    pair.check(&[b"CONFIG", b"GET", b"notify-keyspace-events"]);
}

/// The notification of a subscribed RESP3 client's own write comes before its reply.
#[test]
fn own_events_precede_the_reply() {
    let oracle = Oracle::start(&[]);
    let server = TestServer::start();
    let mut pair = Differential::new(&oracle, &server);
    pair.both(&[b"HELLO", b"3"]);
    pair.check(&[b"CONFIG", b"SET", b"notify-keyspace-events", b"KA"]);
    pair.check_n("PSUBSCRIBE __keyspace@0__:*", 1);
    pair.check_n("SET foo bar", 2);
    pair.check_n("DEL foo nothing", 2);
}
