//! Randomized differential test across the data-type families: seeded sequences of
//! strings, keys, hashes, sets and sorted-set commands, with bad arguments mixed in,
//! on a few keys that change type as they go. Each reply must match Debian's
//! redis-server 7.0.15 byte for byte, in RESP2 and RESP3.
//!
//! The fixed scripts of the other differential tests check each command's cases one
//! by one; this one checks what only shows when families meet: which error wins
//! when a key has the wrong type and an argument is bad too, what a command leaves
//! behind for the next family to find. Expiry arguments are 0, negative or far away,
//! so that no key expires between the two servers' replies.

mod common;

use common::{Differential, Lcg, Oracle, TestServer, sorted};

const KEYS: &[&str] = &["k1", "k2", "k3", "h1", "s1", "z1", "q\x06\x161"];
const VALUES: &[&str] = &[
    "v",
    "",
    "0",
    "1",
    "-1",
    "10",
    "3.5",
    "1.1",
    "abc",
    "9223372036854775807",
    "-9223372036854775808",
    "1e3",
    "inf",
    "nan",
    " 1",
    "+5",
    "0x10",
    "99999999999999999999",
];
const COUNTS: &[&str] = &[
    "0",
    "1",
    "2",
    "-1",
    "5",
    "100",
    "abc",
    "",
    "1.5",
    "9223372036854775807",
];
const EXPIRIES: &[&str] = &["0", "-1", "100000", "abc", "", "9223372036854775807", "1.5"];
const FLOATS: &[&str] = &[
    "0", "1", "-1", "1.5", "0.1", "inf", "-inf", "nan", "abc", "(1", "[a", "-", "+", "1e2", "",
];

/// One random command; `unordered` when its reply is a set or a hash whose order
/// is the data structure's, not Redis's contract.
fn command(random: &mut Lcg) -> (Vec<String>, bool) {
    let key = random.pick(KEYS).to_string();
    let other = random.pick(KEYS).to_string();
    let value = random.pick(VALUES).to_string();
    let count = random.pick(COUNTS).to_string();
    let expiry = random.pick(EXPIRIES).to_string();
    let float = random.pick(FLOATS).to_string();
    let words = |items: &[&str]| -> Vec<String> { items.iter().map(|s| s.to_string()).collect() };
    let (base, unordered): (Vec<&str>, bool) = match random.next(40) {
        0 => (vec!["SET", &key, &value], false),
        1 => (vec!["SET", &key, &value, "EX", &expiry], false),
        2 => (vec!["SET", &key, &value, "NX", "GET"], false),
        3 => (vec!["GET", &key], false),
        4 => (vec!["INCRBY", &key, &count], false),
        5 => (vec!["INCRBYFLOAT", &key, &value], false),
        6 => (vec!["APPEND", &key, &value], false),
        7 => (vec!["GETRANGE", &key, &count, &count], false),
        8 => (vec!["SETRANGE", &key, &count, &value], false),
        9 => (vec!["MSETNX", &key, &value, &other, &value], false),
        10 => (vec!["GETEX", &key, "PX", &expiry], false),
        11 => (vec!["DEL", &key, &other], false),
        12 => (vec!["TYPE", &key], false),
        13 => (
            vec![
                "EXPIRE",
                &key,
                &expiry,
                random.pick(&["NX", "XX", "GT", "LT", "BAD"]),
            ],
            false,
        ),
        14 => (vec!["RENAME", &key, &other], false),
        15 => (vec!["RENAMENX", &key, &other], false),
        16 => (vec!["COPY", &key, &other, "REPLACE"], false),
        17 => (vec!["HSET", &key, &value, &value], false),
        18 => (vec!["HINCRBY", &key, &value, &count], false),
        19 => (vec!["HINCRBYFLOAT", &key, &value, &float], false),
        20 => (vec!["HMGET", &key, &value, &other], false),
        21 => (vec!["HGETALL", &key], true),
        22 => (vec!["HDEL", &key, &value], false),
        23 => (vec!["SADD", &key, &value, &other], false),
        24 => (vec!["SREM", &key, &value], false),
        25 => (vec!["SMEMBERS", &key], true),
        26 => (vec!["SINTERCARD", &count, &key, &other], false),
        27 => (vec!["SMOVE", &key, &other, &value], false),
        28 => (vec!["SUNIONSTORE", &key, &key, &other], false),
        29 => (vec!["ZADD", &key, &float, &value], false),
        30 => (
            vec![
                "ZADD",
                &key,
                random.pick(&["NX", "XX", "GT", "LT", "CH", "INCR"]),
                &float,
                &value,
            ],
            false,
        ),
        31 => (vec!["ZINCRBY", &key, &float, &value], false),
        32 => (
            vec!["ZRANGE", &key, &float, &float, "BYSCORE", "WITHSCORES"],
            false,
        ),
        33 => (vec!["ZRANGE", &key, &count, &count, "REV"], false),
        34 => (vec!["ZRANK", &key, &value], false),
        35 => (vec!["ZPOPMIN", &key, &count], false),
        36 => (
            vec!["ZUNIONSTORE", &key, "2", &key, &other, "AGGREGATE", "MAX"],
            false,
        ),
        37 => (vec!["LPUSH", &key, &value], false),
        38 => (vec!["LPOS", &key, &value, "RANK", &count], false),
        _ => (vec!["DBSIZE"], false),
    };
    (words(&base), unordered)
}

fn random_mix(seed: u64, resp3: bool) {
    let oracle = Oracle::start(&[]);
    let server = TestServer::start();
    let mut pair = Differential::with_protocol(&oracle, &server, resp3);
    let mut random = Lcg(seed);
    for _ in 0..4000 {
        let (words, unordered) = command(&mut random);
        let args: Vec<&[u8]> = words.iter().map(|w| w.as_bytes()).collect();
        if unordered {
            let (redis, ours) = pair.both(&args);
            assert_eq!(sorted(ours), sorted(redis), "reply differs for {words:?}");
        } else {
            pair.check(&args);
        }
    }
}

#[test]
fn random_mix_resp2() {
    random_mix(0x5eed_0001, false);
}

#[test]
fn random_mix_resp3() {
    random_mix(0x5eed_0002, true);
}
