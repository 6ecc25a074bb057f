//! Differential tests for the list family: the same command sequences sent to Debian's
//! redis-server 7.0.15 and to broker-server must get byte-identical replies, in RESP2
//! and in RESP3. Blocking commands appear here only where they answer at once (or
//! after a 10 ms timeout); their waiting behaviour is tested in `blocking.rs`.

mod common;

use common::{Differential, Oracle, TestServer};

const PUSH_POP: &str = "
RPUSH l a b c d e
LPUSH l z y
LRANGE l 0 -1
LLEN l
LLEN missing
LPUSHX missing x
RPUSHX missing x
EXISTS missing
LPUSHX l x1 x2
RPUSHX l r1
LRANGE l 0 -1
LPOP l
RPOP l
LPOP l 2
RPOP l 2
LPOP l 0
RPOP l 0
LPOP missing
RPOP missing
LPOP missing 0
LPOP missing 3
LPOP l -1
RPOP l abc
LPOP l 1 2
LPOP l 9223372036854775807
EXISTS l
LLEN l
RPUSH one x
RPOP one 5
EXISTS one
RPUSH one x
LPOP one
EXISTS one
";

const WRONG_TYPE: &str = "
SET s v
RPUSH l a b
LPUSH s x
RPUSH s x
LPUSHX s x
RPUSHX s x
LPOP s
RPOP s 0
LPOP s abc
LLEN s
LRANGE s 0 -1
LRANGE s x 1
LINDEX s 0
LINDEX s x
LSET s 0 x
LSET s x x
LINSERT s BEFORE a b
LINSERT s FOO a b
LREM s 0 a
LREM s x a
LTRIM s 0 1
LTRIM s x 1
LPOS s a
LPOS s a RANK 0
LPOS s a COUNT 1
LMOVE s l LEFT RIGHT
LMOVE l s LEFT RIGHT
LMOVE missing s LEFT RIGHT
LMOVE s missing UP RIGHT
RPOPLPUSH s l
RPOPLPUSH l s
LRANGE l 0 -1
LMPOP 2 missing s LEFT
LMPOP 2 l s LEFT
LMPOP 2 s l LEFT
BLPOP s 0
BLPOP missing s l 0
RPUSH l c d e
BRPOP l s 0
BLPOP s -1
BLMOVE s l LEFT RIGHT 0
BLMOVE l s LEFT RIGHT 0
BRPOPLPUSH s l 0
BLMPOP 0 1 s LEFT
TYPE l
OBJECT ENCODING l
";

const READ_AND_EDIT: &str = "
RPUSH l 1 2 3 4 5 6 7 8 9 10
LRANGE l 0 2
LRANGE l -3 -1
LRANGE l 5 2
LRANGE l -100 100
LRANGE l 20 30
LRANGE l -1 -100
LRANGE l 0 0
LRANGE missing 0 -1
LRANGE l 0 9223372036854775807
LRANGE l -9223372036854775808 0
LRANGE l 0 9223372036854775808
LRANGE l x 1
LRANGE missing 0 x
LINDEX l 0
LINDEX l -1
LINDEX l 9
LINDEX l 10
LINDEX l -10
LINDEX l -11
LINDEX l x
LINDEX missing x
LINDEX missing 0
LSET l 0 first
LSET l -1 last
LSET l 10 x
LSET l -11 x
LSET l x y
LSET missing 0 x
LSET missing x x
LRANGE l 0 -1
LINSERT l BEFORE 5 before5
LINSERT l after 5 after5
LINSERT l BEFORE nope x
LINSERT missing BEFORE 5 x
LINSERT l MIDDLE 5 x
LINSERT l AFTER last tail
LINSERT l before first head
LRANGE l 0 -1
RPUSH r a b a c a d a
LREM r 2 a
LRANGE r 0 -1
LREM r -1 a
LRANGE r 0 -1
LREM r 0 a
LRANGE r 0 -1
LREM r 0 nothing
LREM missing 0 a
LREM r 0 b
LREM r 0 c
LREM r -5 d
EXISTS r
LTRIM l 1 -2
LRANGE l 0 -1
LTRIM l -3 -1
LRANGE l 0 -1
LTRIM l 0 100
LRANGE l 0 -1
LTRIM l 5 1
EXISTS l
LTRIM missing 0 1
LTRIM l a b
RPUSH t 1 2 3
LTRIM t -1 -2
EXISTS t
";

const LPOS: &str = "
RPUSH p a b c 1 2 3 c c
LPOS p c
LPOS p c RANK 2
LPOS p c RANK 3
LPOS p c RANK 4
LPOS p c RANK -1
LPOS p c RANK -2
LPOS p c COUNT 0
LPOS p c COUNT 2
LPOS p c RANK 2 COUNT 0
LPOS p c RANK -1 COUNT 2
LPOS p c RANK -1 COUNT 0
LPOS p c MAXLEN 3
LPOS p c MAXLEN 2
LPOS p c MAXLEN 3 COUNT 0
LPOS p c RANK -1 MAXLEN 2 COUNT 0
LPOS p c RANK -1 MAXLEN 1
LPOS p c rank 1 count 1 maxlen 0
LPOS p nothing
LPOS p nothing COUNT 5
LPOS missing a
LPOS missing a COUNT 1
LPOS missing a RANK 0
LPOS p c RANK 0
LPOS p c RANK x
LPOS p c RANK -9223372036854775808
LPOS p c RANK 9223372036854775807
LPOS p c RANK -9223372036854775807
LPOS p c COUNT -1
LPOS p c COUNT x
LPOS p c MAXLEN -1
LPOS p c MAXLEN x
LPOS p c FOO 1
LPOS p c RANK
LPOS p c COUNT
LPOS p c COUNT 1 COUNT 2
";

const MOVES: &str = "
RPUSH m1 a b c
LMOVE m1 m2 LEFT RIGHT
LMOVE m1 m2 RIGHT LEFT
LMOVE m1 m2 left left
LRANGE m2 0 -1
EXISTS m1
LMOVE m1 m2 LEFT RIGHT
LMOVE m2 m2 LEFT RIGHT
LMOVE m2 m2 RIGHT LEFT
LRANGE m2 0 -1
LMOVE m2 m2 UP LEFT
LMOVE m2 m2 LEFT DOWN
LMOVE missing m2 UP LEFT
RPOPLPUSH m2 m3
RPOPLPUSH missing m3
RPOPLPUSH m3 m3
LRANGE m3 0 -1
LRANGE m2 0 -1
RPUSH solo x
LMOVE solo solo LEFT LEFT
LRANGE solo 0 -1
";

const MULTI_POP: &str = "
RPUSH a1 1 2 3
RPUSH a2 x y
LMPOP 2 missing a2 LEFT
LMPOP 2 missing a1 RIGHT COUNT 2
LMPOP 2 a1 a2 LEFT COUNT 10
LMPOP 2 a1 a2 left count 1
LMPOP 1 missing LEFT
LMPOP 1 a2 RIGHT
LMPOP 1 a2 RIGHT
EXISTS a1 a2
RPUSH a2 x y
LMPOP 0 a2 LEFT
LMPOP -1 a2 LEFT
LMPOP x a2 LEFT
LMPOP 3 a2 LEFT
LMPOP 1 a2 MIDDLE
LMPOP 1 a2 LEFT COUNT 0
LMPOP 1 a2 LEFT COUNT -1
LMPOP 1 a2 LEFT COUNT x
LMPOP 1 a2 LEFT COUNT 1 COUNT 2
LMPOP 1 a2 LEFT FOO
LMPOP 1 a2 LEFT COUNT
LMPOP 1 a2 FOO BAR
LMPOP 9223372036854775807 a2 LEFT
LMPOP 2 a2 LEFT
LRANGE a2 0 -1
";

const BLOCKING_AT_ONCE: &str = "
RPUSH b1 1 2 3
BLPOP b1 0
BRPOP b1 0
BLPOP missing b1 0
BLPOP missing 0.01
BRPOP missing other 0.01
BLPOP b1 -1
BLPOP missing -1
BLPOP missing -0.5
BLPOP b1 abc
BLPOP b1 inf
BLPOP b1 1e300
BLPOP b1 1.5e-3
RPUSH b1 4 5 6
BLPOP b1 0x10
RPUSH b1 8 9 10
BLPOP b1 9223372036854775
BRPOP b1 9223372036854775.807
BLMPOP 9223372036854775 1 b1 LEFT
BLPOP b1 9223372036854775.808
BLPOP b1 9223372036854776
BLMOVE missing x LEFT RIGHT 0.01
BRPOPLPUSH missing x 0.01
BLMPOP 0.01 1 missing LEFT
BLMPOP 0 2 missing b1 LEFT COUNT 5
BLMPOP -1 1 b1 LEFT
BLMPOP x 1 b1 LEFT
BLMPOP 0 0 b1 LEFT
BLMPOP x 0 b1 LEFT
BLMPOP x 1 b1 MIDDLE
BLMPOP 0 1 b1 LEFT COUNT 0
RPUSH b1 7
BLMOVE b1 b2 LEFT RIGHT -1
BLMOVE b1 b2 FOO RIGHT -1
BLMOVE b1 b2 LEFT RIGHT x
BRPOPLPUSH b1 b2 x
BLMOVE b1 b2 LEFT RIGHT 0
BRPOPLPUSH b2 b1 0
LRANGE b1 0 -1
EXISTS b2
";

const ARITY_AND_CLIENT: &str = "
LPUSH l
RPUSH l
LPUSHX l
LPOP
RPOP
LLEN
LLEN a b
LRANGE l 0
LINDEX l
LSET l 0
LINSERT l BEFORE a
LREM l 0
LTRIM l 0
LPOS l
LMOVE a b LEFT
RPOPLPUSH a
LMPOP 1 a
BLPOP a
BRPOP a
BLMOVE a b LEFT RIGHT
BRPOPLPUSH a b
BLMPOP 0 1 a
CLIENT UNBLOCK 99999
CLIENT UNBLOCK 99999 TIMEOUT
CLIENT UNBLOCK 99999 error
CLIENT UNBLOCK 99999 FOO
CLIENT UNBLOCK x
CLIENT UNBLOCK x FOO
CLIENT UNBLOCK -1
CLIENT UNBLOCK
";

common::differential_script_tests! {
    push_pop_resp2, push_pop_resp3 => PUSH_POP;
    wrong_type_resp2, wrong_type_resp3 => WRONG_TYPE;
    read_and_edit_resp2, read_and_edit_resp3 => READ_AND_EDIT;
    lpos_resp2, lpos_resp3 => LPOS;
    moves_resp2, moves_resp3 => MOVES;
    multi_pop_resp2, multi_pop_resp3 => MULTI_POP;
    blocking_at_once_resp2, blocking_at_once_resp3 => BLOCKING_AT_ONCE;
    arity_and_client_resp2, arity_and_client_resp3 => ARITY_AND_CLIENT;
}

/// Scripts may call BLMPOP, which then answers at once, but not the other blocking
/// list commands (flagged `noscript` in 7.0.15).
#[test]
fn blocking_commands_in_scripts() {
    common::in_both_protocols(|pair| {
        pair.check(&[
            b"EVAL",
            b"return redis.call('blmpop', 0, 1, KEYS[1], 'LEFT')",
            b"1",
            b"missing",
        ]);
        pair.check(&[b"RPUSH", b"l", b"a", b"b", b"c"]);
        pair.check(&[
            b"EVAL",
            b"return redis.call('blmpop', 0, 2, KEYS[1], KEYS[2], 'RIGHT', 'COUNT', 2)",
            b"2",
            b"missing",
            b"l",
        ]);
        for call in [
            &b"return redis.call('blpop', KEYS[1], 0)"[..],
            b"return redis.call('brpop', KEYS[1], 0)",
            b"return redis.call('blmove', KEYS[1], 'd', 'LEFT', 'LEFT', 0)",
            b"return redis.pcall('brpoplpush', KEYS[1], 'd', 0)",
        ] {
            pair.check(&[b"EVAL", call, b"1", b"l"]);
        }
        pair.check(&[b"LRANGE", b"l", b"0", b"-1"]);
        pair.check(&[b"DEL", b"l"]);
    });
}

/// Celery's priority queue names carry the bytes `\x06\x16`; values are arbitrary.
#[test]
fn binary_keys_and_values() {
    let oracle = Oracle::start(&[]);
    let server = TestServer::start();
    let mut pair = Differential::new(&oracle, &server);
    let key: &[u8] = b"q\x06\x163";
    pair.check(&[b"LPUSH", key, b"\x00\xff\r\n", b""]);
    pair.check(&[b"RPUSH", key, b"tail\x06\x16"]);
    pair.check(&[b"LRANGE", key, b"0", b"-1"]);
    pair.check(&[b"LPOS", key, b""]);
    pair.check(&[b"BRPOP", b"q", key, b"q\x06\x166", b"1"]);
    pair.check(&[b"BLMPOP", b"1", b"2", b"q", key, b"LEFT", b"COUNT", b"5"]);
    pair.check(&[b"EXISTS", key]);
}

/// Elements larger than a packed chunk, and many of them, read back identically.
#[test]
fn large_and_many_elements() {
    let oracle = Oracle::start(&[]);
    let server = TestServer::start();
    let mut pair = Differential::new(&oracle, &server);
    let big = vec![b'x'; 20_000];
    for i in 0..300u32 {
        let value = if i % 50 == 0 {
            big.clone()
        } else {
            format!("value-{i}").into_bytes()
        };
        pair.check(&[b"RPUSH", b"big", &value]);
    }
    pair.check(&[b"LLEN", b"big"]);
    pair.check(&[b"LRANGE", b"big", b"95", b"160"]);
    pair.check(&[b"LINDEX", b"big", b"150"]);
    pair.check(&[b"LSET", b"big", b"150", &big]);
    pair.check(&[b"LINSERT", b"big", b"AFTER", b"value-77", &big]);
    pair.check(&[b"LREM", b"big", b"-2", &big]);
    pair.check(&[b"LPOS", b"big", &big, b"RANK", b"-1", b"COUNT", b"0"]);
    pair.check(&[b"LTRIM", b"big", b"40", b"-40"]);
    pair.check(&[b"LRANGE", b"big", b"0", b"-1"]);
}

/// Thousands of random list commands over three keys, compared reply by reply.
#[test]
fn random_sequences_match() {
    let oracle = Oracle::start(&[]);
    let server = TestServer::start();
    let mut pair = Differential::new(&oracle, &server);
    let mut random = common::Lcg(0x11575);
    let keys = ["k1", "k2", "k3"];
    let values = ["a", "b", "c", "dd", "", "12345"];
    for _ in 0..3000 {
        let key = keys[random.next(3) as usize];
        let other = keys[random.next(3) as usize];
        let value = values[random.next(values.len() as u64) as usize];
        let pivot = values[random.next(values.len() as u64) as usize];
        let n = (random.next(9) as i64 - 4).to_string();
        let m = (random.next(9) as i64 - 4).to_string();
        let end = ["LEFT", "RIGHT"][random.next(2) as usize];
        let end2 = ["LEFT", "RIGHT"][random.next(2) as usize];
        let count = random.next(4).to_string();
        let command: Vec<&str> = match random.next(17) {
            0 | 1 => vec!["LPUSH", key, value, pivot],
            2 | 3 => vec!["RPUSH", key, value],
            4 => vec!["LPUSHX", key, value],
            5 => vec!["LPOP", key],
            6 => vec!["RPOP", key, &count],
            7 => vec!["LRANGE", key, &n, &m],
            8 => vec!["LINDEX", key, &n],
            9 => vec!["LSET", key, &n, value],
            10 => vec![
                "LINSERT",
                key,
                ["BEFORE", "AFTER"][random.next(2) as usize],
                pivot,
                value,
            ],
            11 => vec!["LREM", key, &n, value],
            12 => vec!["LTRIM", key, &n, &m],
            13 => vec![
                "LPOS",
                key,
                value,
                "RANK",
                if n == "0" { "1" } else { &n },
                "COUNT",
                &count,
            ],
            14 => vec!["LMOVE", key, other, end, end2],
            15 => vec![
                "LMPOP",
                "2",
                key,
                other,
                end,
                "COUNT",
                if count == "0" { "1" } else { &count },
            ],
            _ => vec!["LLEN", key],
        };
        let args: Vec<&[u8]> = command.iter().map(|word| word.as_bytes()).collect();
        pair.check(&args);
    }
    for key in keys {
        pair.check(&[b"LRANGE", key.as_bytes(), b"0", b"-1"]);
    }
}
