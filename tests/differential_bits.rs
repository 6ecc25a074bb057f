//! Differential tests for the bitmap commands and LCS: the same command sequences
//! sent to Debian's redis-server 7.0.15 and to broker-server must get
//! byte-identical replies, in RESP2 and in RESP3. Hand-written edge cases first,
//! then a seeded random sequence over a handful of keys.

mod common;

use common::{Differential, Oracle, TestServer};

const SETBIT_GETBIT: &str = "
SETBIT k 7 1
GETBIT k 7
GETBIT k 6
GETBIT k 100
GET k
SETBIT k 7 1
SETBIT k 7 0
SETBIT k 100 1
STRLEN k
GET k
SETBIT k 100 0
GETBIT missing 0
GETBIT missing 4294967295
EXISTS missing
SETBIT k 4294967296 1
SETBIT k 18446744073709551616 1
SETBIT k -1 1
SETBIT k x 1
SETBIT k 1.5 1
SETBIT k #1 1
SETBIT k 0 2
SETBIT k 0 -1
SETBIT k 0 x
SETBIT k 0 01
GETBIT k 4294967296
GETBIT k -1
GETBIT k #1
GETBIT k +1
SET s a
SETBIT s 6 1
GET s
SET n 12345
GETBIT n 2
SETBIT n 7 1
GET n
RPUSH l a
SETBIT l 0 1
GETBIT l 0
SETBIT l x 1
SETBIT l 0 5
GETBIT l x
SETBIT k 0
GETBIT k
SETBIT k 8 1 extra
GETBIT k 8 extra
SET t v EX 100
SETBIT t 100 1
TTL t
SETBIT created 0 0
GET created
";

const BITCOUNT: &str = "
SET s foobar
BITCOUNT s
BITCOUNT s 0 0
BITCOUNT s 1 1
BITCOUNT s 0 -1
BITCOUNT s -2 -1
BITCOUNT s 1 1 BYTE
BITCOUNT s 5 30 BIT
BITCOUNT s 5 30 bit
BITCOUNT s 5 30 Byte
BITCOUNT s -5 -1 BIT
BITCOUNT s 47 47 BIT
BITCOUNT s 48 100 BIT
BITCOUNT s 0 -1 FOO
BITCOUNT s -1 -2 FOO
BITCOUNT s -1 -2 BIT
BITCOUNT s 1 0 FOO
BITCOUNT s 0
BITCOUNT s 0 1 BIT extra
BITCOUNT s a b
BITCOUNT s 0 b
BITCOUNT s -100 100
BITCOUNT s -10 -20
BITCOUNT s -20 -10
BITCOUNT s 100 200
BITCOUNT s 9223372036854775807 -9223372036854775808
BITCOUNT s -9223372036854775808 9223372036854775807 BIT
BITCOUNT s 0 9223372036854775808
BITCOUNT missing
BITCOUNT missing a b
BITCOUNT missing 0
BITCOUNT missing 0 1 FOO extra
RPUSH l a
BITCOUNT l
BITCOUNT l a b
BITCOUNT
SET n 12345
BITCOUNT n 1 2
";

const BITPOS: &str = "
SET s foobar
BITPOS s 1
BITPOS s 0
BITPOS s 1 2
BITPOS s 0 2
BITPOS s 0 2 -1
BITPOS s 1 2 -1 BYTE
BITPOS s 1 7 15 BIT
BITPOS s 0 7 15 BIT
BITPOS s 1 -5 -1 BIT
BITPOS s 0 -5 -1 bit
BITPOS s 1 100
BITPOS s 0 100
BITPOS s 0 100 200
BITPOS s 1 3 2
BITPOS s 1 -1 -2
BITPOS s 1 -100 -50
BITPOS s 2
BITPOS s -1
BITPOS s x
BITPOS s 1 x
BITPOS s 1 0 x
BITPOS s 1 0 1 FOO
BITPOS s 1 0 x FOO
BITPOS s 1 0 1 BIT extra
BITPOS missing 1
BITPOS missing 0
BITPOS missing 0 1 2 3 4
BITPOS missing 2
BITPOS missing 0 x
RPUSH l a
BITPOS l 1
BITPOS l 2
BITPOS l 1 x
BITPOS s
SETBIT z 20 0
BITPOS z 1
BITPOS z 0
BITPOS z 0 1
BITPOS z 0 0 -1
";

const BITOP: &str = "
SET a foobar
SET b abcdef
BITOP AND dest a b
GET dest
BITOP OR dest a b
GET dest
BITOP XOR dest a b
GET dest
BITOP NOT dest a
GET dest
BITOP not dest a b
BITOP NOT dest
BITOP FOO dest a
BITOP FOO dest
BITOP and dest a missing
GET dest
BITOP AND dest missing missing2
EXISTS dest
BITOP OR dest missing
EXISTS dest
SET short ab
BITOP XOR dest a short
GET dest
BITOP AND dest short a
GET dest
BITOP Or dest short a b
GET dest
RPUSH l x
BITOP AND dest l a
BITOP AND dest a l
BITOP NOT dest l
SET dest x EX 100
BITOP OR dest a
TTL dest
RPUSH dl x
BITOP OR dl a
TYPE dl
BITOP OR dl missing
EXISTS dl
BITOP OR a a b
GET a
BITOP AND dest
SET n 12345
BITOP NOT dest n
STRLEN dest
";

const BITFIELD: &str = "
BITFIELD bf SET i8 0 -100
BITFIELD bf GET i8 0 GET u8 0
BITFIELD bf INCRBY i8 0 -100
BITFIELD bf OVERFLOW SAT INCRBY i8 0 -100
BITFIELD bf OVERFLOW FAIL INCRBY i8 0 -100
BITFIELD bf OVERFLOW WRAP INCRBY u4 8 20
BITFIELD bf SET u8 #2 255 GET u8 #2 INCRBY u8 #2 1
BITFIELD bf OVERFLOW sat SET u8 #3 -1 SET i8 #4 200 SET i8 #5 -200
BITFIELD bf OVERFLOW fail SET u8 #3 256 SET i8 #4 -129 SET i8 #4 -128
BITFIELD bf GET i64 0 GET u63 1 GET i64 3 GET i64 #1
BITFIELD bf SET i64 0 9223372036854775807 INCRBY i64 0 1
BITFIELD bf OVERFLOW SAT INCRBY i64 0 -1 INCRBY i64 0 9223372036854775807
BITFIELD bf OVERFLOW SAT SET i64 0 -9223372036854775808 INCRBY i64 0 -1
BITFIELD bf OVERFLOW FAIL INCRBY i64 0 -1
BITFIELD bf OVERFLOW FAIL INCRBY i64 0 -9223372036854775808
BITFIELD bf OVERFLOW WRAP INCRBY i64 0 -9223372036854775808
BITFIELD bf OVERFLOW SAT SET i8 0 -9223372036854775808
BITFIELD bf OVERFLOW SAT SET i8 0 9223372036854775807
BITFIELD bf OVERFLOW WRAP SET i8 0 -9223372036854775808
BITFIELD bf OVERFLOW FAIL SET i8 0 -9223372036854775808
BITFIELD bf OVERFLOW SAT SET u63 0 -1 GET u63 0
BITFIELD bf OVERFLOW WRAP INCRBY u63 0 9223372036854775807
BITFIELD bf OVERFLOW SAT INCRBY u63 0 -9223372036854775808
BITFIELD bf OVERFLOW WRAP SET u8 0 -1 SET u8 8 -256 SET u8 16 -255
BITFIELD bf SET u1 3 1 SET i1 4 -1 GET i1 3 GET u1 4 INCRBY i1 3 1 INCRBY u1 4 1
BITFIELD bf OVERFLOW SAT INCRBY i1 3 1 INCRBY i1 3 -1 INCRBY u1 4 1
BITFIELD bf SET i13 5 -4000 GET i13 5 GET u13 5 INCRBY i13 5 9000
BITFIELD bf SET i32 #3 2147483647 INCRBY i32 #3 1 OVERFLOW SAT INCRBY i32 #3 -1
BITFIELD bf GET u8 1000
STRLEN bf
BITFIELD bf SET u8 1000 1
STRLEN bf
BITFIELD bf SET i64 1001 -1
STRLEN bf
BITFIELD bf
BITFIELD missing
BITFIELD missing GET u8 0 GET i64 100
EXISTS missing
BITFIELD fresh OVERFLOW FAIL INCRBY u8 100 300
STRLEN fresh
BITFIELD fresh2 SET u8 100 0
GET fresh2
BITFIELD bf GET u64 0
BITFIELD bf GET i65 0
BITFIELD bf GET i0 0
BITFIELD bf GET u0 0
BITFIELD bf GET I8 0
BITFIELD bf GET x 0
BITFIELD bf GET i 0
BITFIELD bf GET i-8 0
BITFIELD bf GET u8 -1
BITFIELD bf GET u8 x
BITFIELD bf GET u8 4294967296
BITFIELD bf GET u8 4294967295
BITFIELD bf GET u8 #-1
BITFIELD bf GET u8 #
BITFIELD bf GET u8 #x
BITFIELD bf GET u8 #536870912
BITFIELD bf GET u8 #536870911
BITFIELD bf GET u8 #1152921504606846976
BITFIELD bf SET u8 0
BITFIELD bf SET u8 0 x
BITFIELD bf INCRBY u8 0 1.5
BITFIELD bf INCRBY u8 0 9223372036854775808
BITFIELD bf OVERFLOW
BITFIELD bf OVERFLOW FOO GET u8 0
BITFIELD bf GET u8 0 OVERFLOW FOO
BITFIELD bf GET u8 0 OVERFLOW
BITFIELD bf OVERFLOW SAT
BITFIELD bf FOO
BITFIELD bf GET u8
BITFIELD bf GET u8 0 SET
BITFIELD bf GET u8 0 SET u8 0
BITFIELD bf get u8 0 set u8 0 1 incrby u8 0 1 overflow wrap
BITFIELD bf GET u8 0 GET x 0 SET u8 -1 1
BITFIELD bf GET u8 -1 GET x 0
RPUSH l a
BITFIELD l GET u8 0
BITFIELD l SET u8 0 1
BITFIELD l SET x 0 1
BITFIELD l
BITFIELD_RO bf GET u8 0 GET i16 #1
BITFIELD_RO bf SET u8 0 1
BITFIELD_RO bf INCRBY u8 0 1
BITFIELD_RO bf OVERFLOW SAT GET u8 0
BITFIELD_RO bf GET u8 0 SET x 0 1
BITFIELD_RO l GET u8 0
BITFIELD_RO l SET u8 0 1
BITFIELD_RO missing GET u8 0
EXISTS missing
BITFIELD_RO bf
BITFIELD_RO bf SET x 0 1
BITFIELD_RO bf FOO
BITFIELD
BITFIELD_RO
SET t v EX 100
BITFIELD t SET u8 100 1
TTL t
";

const LCS: &str = "
SET s1 ohmytext
SET s2 mynewtext
LCS s1 s2
LCS s2 s1
LCS s1 s2 LEN
LCS s1 s2 IDX
LCS s1 s2 IDX MINMATCHLEN 4
LCS s1 s2 IDX MINMATCHLEN 4 WITHMATCHLEN
LCS s1 s2 IDX WITHMATCHLEN MINMATCHLEN -5
LCS s1 s2 idx minmatchlen 0 withmatchlen
LCS s1 s2 IDX MINMATCHLEN 100
LCS s1 s2 MINMATCHLEN 2
LCS s1 s2 LEN IDX
LCS s1 s2 IDX LEN
LCS s1 s2 LEN LEN
LCS s1 s2 IDX IDX
LCS s1 s2 MINMATCHLEN
LCS s1 s2 MINMATCHLEN x
LCS s1 s2 MINMATCHLEN x LEN IDX
LCS s1 s2 FOO
LCS s1 s2 LEN FOO
LCS s1 s2 WITHMATCHLEN
LCS s1 missing
LCS missing missing IDX
LCS missing s1 LEN
LCS s1 s1 IDX WITHMATCHLEN
RPUSH l a
LCS l s1
LCS s1 l
LCS l s1 FOO
LCS l missing
LCS s1
LCS
SET a1 abcabcabc
SET a2 cbacbacba
LCS a1 a2 IDX WITHMATCHLEN
LCS a1 a2
SET n1 1234567890
SET n2 9081726354
LCS n1 n2 IDX WITHMATCHLEN
LCS n1 n2
";

// Past maxmemory the writes (BITFIELD even with only GETs, as it is declared
// denyoom) are refused and the reads still answer.
const OUT_OF_MEMORY: &str = "
SET s foobar
CONFIG SET maxmemory 1
SETBIT s 1 1
SETBIT fresh 1 1
GETBIT s 1
BITFIELD s GET u8 0
BITFIELD_RO s GET u8 0
BITOP NOT d s
BITCOUNT s
BITPOS s 0
LCS s s
CONFIG SET maxmemory 0
SETBIT s 1 1
";

common::differential_script_tests! {
    out_of_memory_resp2, out_of_memory_resp3 => OUT_OF_MEMORY;
    setbit_getbit_resp2, setbit_getbit_resp3 => SETBIT_GETBIT;
    bitcount_resp2, bitcount_resp3 => BITCOUNT;
    bitpos_resp2, bitpos_resp3 => BITPOS;
    bitop_resp2, bitop_resp3 => BITOP;
    bitfield_resp2, bitfield_resp3 => BITFIELD;
    lcs_resp2, lcs_resp3 => LCS;
}

/// Bitmaps of arbitrary bytes, beyond what a script line can spell: runs of ones
/// and zeros, and word-sized stretches for the fast paths.
#[test]
fn binary_bitmaps() {
    common::in_both_protocols(|pair| {
        let ones = vec![0xFFu8; 40];
        let mut mixed = vec![0u8; 37];
        mixed[33] = 0x04;
        mixed[5] = 0x80;
        let tail = b"\xFF\xF0\x00".to_vec();
        for (key, value) in [(&b"ones"[..], &ones), (b"mixed", &mixed), (b"tail", &tail)] {
            pair.check(&[b"SET", key, value]);
        }
        for key in [&b"ones"[..], b"mixed", b"tail"] {
            for args in [
                &[&b"BITPOS"[..], key, b"0"][..],
                &[b"BITPOS", key, b"1"],
                &[b"BITPOS", key, b"0", b"3"],
                &[b"BITPOS", key, b"0", b"3", b"-1"],
                &[b"BITPOS", key, b"1", b"6"],
                &[b"BITPOS", key, b"1", b"6", b"-2"],
                &[b"BITPOS", key, b"0", b"9", b"300", b"BIT"],
                &[b"BITPOS", key, b"1", b"41", b"270", b"BIT"],
                &[b"BITPOS", key, b"0", b"-20", b"-1", b"BIT"],
                &[b"BITCOUNT", key],
                &[b"BITCOUNT", key, b"1", b"-2"],
                &[b"BITCOUNT", key, b"3", b"290", b"BIT"],
                &[
                    b"BITFIELD",
                    key,
                    b"GET",
                    b"i64",
                    b"3",
                    b"GET",
                    b"u63",
                    b"#4",
                ],
                &[b"BITOP", b"NOT", b"dest", key],
                &[b"GET", b"dest"],
                &[b"BITOP", b"AND", b"dest", key, b"ones"],
                &[b"GET", b"dest"],
            ] {
                pair.check(args);
            }
        }
        pair.check(&[b"BITOP", b"XOR", b"dest", b"ones", b"mixed", b"tail"]);
        pair.check(&[b"GET", b"dest"]);
        pair.check(&[b"SET", b"bin", b"\x00\xffab\r\n"]);
        pair.check(&[b"LCS", b"bin", b"tail", b"IDX", b"WITHMATCHLEN"]);
        pair.check(&[b"LCS", b"bin", b"tail"]);
        pair.check(&[b"SET", b"empty", b""]);
        for args in [
            &[&b"BITPOS"[..], b"empty", b"0"][..],
            &[b"BITPOS", b"empty", b"1"],
            &[b"BITPOS", b"empty", b"0", b"0"],
            &[b"BITCOUNT", b"empty"],
            &[b"BITCOUNT", b"empty", b"0", b"-1", b"BIT"],
            &[b"GETBIT", b"empty", b"0"],
            &[b"BITFIELD", b"empty", b"GET", b"u8", b"0"],
            &[b"BITOP", b"OR", b"dest", b"empty"],
            &[b"EXISTS", b"dest"],
            &[b"LCS", b"empty", b"bin", b"IDX"],
            &[b"SETBIT", b"empty", b"3", b"0"],
            &[b"GET", b"empty"],
            &[
                b"DEL", b"ones", b"mixed", b"tail", b"bin", b"empty", b"dest",
            ],
        ] {
            pair.check(args);
        }
    });
}

/// Reads count keyspace hits and misses as Redis's lookups do: BITOP and LCS read
/// each key (BITOP stopping at a wrong type), the bit writes look up nothing as a
/// read, and BITFIELD reads only when it has nothing to write.
#[test]
fn lookups_count_hits_and_misses_as_redis_does() {
    let oracle = Oracle::start(&[]);
    let server = TestServer::start();
    let mut pair = Differential::new(&oracle, &server);
    pair.script(
        "SET s foobar
        RPUSH l x
        CONFIG RESETSTAT
        GETBIT s 1
        GETBIT missing 1
        GETBIT s x
        SETBIT s 1 1
        SETBIT new 1 1
        BITCOUNT s
        BITCOUNT missing 0 1
        BITPOS s 1
        BITPOS missing 0
        BITPOS s 5
        BITOP AND d s missing s
        BITOP OR d missing l s
        BITFIELD s GET u8 0
        BITFIELD missing2 GET u8 0
        BITFIELD s SET u8 0 1
        BITFIELD_RO s GET u8 0
        BITFIELD_RO s SET u8 0 1
        LCS s missing
        LCS l s",
    );
    let (redis, ours) = pair.keyspace_counts();
    assert_eq!(ours, redis);
    assert_eq!(redis.len(), 2, "{redis:?}");
}

/// Scripts see the same replies: BITFIELD's null for a failed write, LCS's IDX
/// map in RESP2 and in RESP3 form, and BITFIELD_RO allowed in a read-only script.
#[test]
fn bit_commands_in_scripts() {
    common::in_both_protocols(|pair| {
        pair.check(&[b"SET", b"s1", b"ohmytext"]);
        pair.check(&[b"SET", b"s2", b"mynewtext"]);
        for script in [
            &b"return redis.call('setbit', KEYS[1], 9, 1)"[..],
            b"return redis.call('bitfield', KEYS[1], 'OVERFLOW', 'FAIL', 'INCRBY', 'u8', 0, 300, 'GET', 'u8', 0)",
            b"return redis.call('bitcount', KEYS[1], 0, -1, 'BIT')",
            b"return redis.call('bitpos', KEYS[1], 1)",
            b"return redis.call('bitop', 'NOT', KEYS[1], KEYS[1])",
            b"return redis.call('get', KEYS[1])",
            b"return redis.call('lcs', 's1', 's2', 'IDX', 'WITHMATCHLEN')",
            b"redis.setresp(3); return redis.call('lcs', 's1', 's2', 'IDX', 'WITHMATCHLEN')",
            b"return redis.pcall('bitfield', KEYS[1], 'GET', 'u64', 0)",
            b"return redis.pcall('setbit', KEYS[1], 4294967296, 1)",
        ] {
            pair.check(&[b"EVAL", script, b"1", b"ev"]);
        }
        pair.check(&[
            b"EVAL_RO",
            b"#!lua flags=no-writes\nreturn redis.call('bitfield_ro', KEYS[1], 'GET', 'i8', 0)",
            b"1",
            b"ev",
        ]);
        pair.check(&[
            b"EVAL_RO",
            b"#!lua flags=no-writes\nreturn redis.pcall('bitfield', KEYS[1], 'GET', 'i8', 0)",
            b"1",
            b"ev",
        ]);
        pair.check(&[b"DEL", b"ev"]);
    });
}

/// `proto-max-bulk-len` caps how far a bit write may reach (512 MB by default,
/// so offsets from 2^32 bits on are refused), and the LCS table.
#[test]
fn growth_and_table_limits_follow_proto_max_bulk_len() {
    common::in_both_protocols(|pair| {
        pair.script(
            "
            CONFIG SET proto-max-bulk-len 1mb
            SETBIT big 8388608 1
            GETBIT big 8388608
            BITFIELD big GET u8 8388608
            SETBIT big 8388607 1
            STRLEN big
            BITCOUNT big
            BITPOS big 1
            BITFIELD big2 SET u8 8388600 1
            BITFIELD big2 SET u16 8388600 1
            STRLEN big2
            BITFIELD big2 SET i64 8388607 -1
            STRLEN big2
            BITFIELD big2 SET u8 #1048576 1
            BITOP XOR big3 big big2
            STRLEN big3
            BITCOUNT big3
            SETRANGE l1 399 x
            SETRANGE l2 399 y
            LCS l1 l2 LEN
            SETRANGE l1 599 x
            SETRANGE l2 599 y
            LCS l1 l2 LEN
            LCS l1 l2 IDX
            LCS l1 missing LEN
            DEL big big2 big3 l1 l2
            CONFIG SET proto-max-bulk-len 512mb
            ",
        );
    });
}

/// WATCH sees a bit write only when it changed something, as in Redis: a SETBIT
/// of a bit already set, a BITFIELD writing what is there or failing, and a BITOP
/// that deletes nothing leave a transaction free to run.
#[test]
fn watch_fires_only_for_bit_writes_that_change_something() {
    let oracle = Oracle::start(&[]);
    let server = TestServer::start();
    let mut watcher = Differential::new(&oracle, &server);
    let mut writer = Differential::new(&oracle, &server);
    for (setup, write) in [
        ("SETBIT w 3 1", "SETBIT w 3 1"),
        ("SETBIT w 3 1", "SETBIT w 3 0"),
        ("SETBIT w 3 1", "SETBIT w 100 0"),
        ("SET w abc", "BITFIELD w SET u8 0 97"),
        ("SET w abc", "BITFIELD w SET u8 0 98"),
        ("SET w abc", "BITFIELD w GET u8 0"),
        ("SET w abc", "BITFIELD w OVERFLOW FAIL INCRBY u8 0 200"),
        ("SET w abc", "BITFIELD w SET u8 100 0"),
        ("SET w abc", "BITOP AND w w"),
        ("DEL w", "BITOP AND w missing"),
        ("SET w abc", "BITOP AND w missing"),
    ] {
        writer.script(setup);
        watcher.script("WATCH w");
        writer.script(write);
        watcher.script("MULTI\nGET w\nEXEC");
    }
}

/// One random BITFIELD operation, appended to `words`.
fn random_field_op(random: &mut common::Lcg, words: &mut Vec<String>) {
    if random.next(5) == 0 {
        words.push("OVERFLOW".into());
        words.push(random.pick(&["WRAP", "SAT", "FAIL", "sat"]).into());
    }
    let signed = random.next(2) == 0;
    let width = *[1u64, 2, 5, 7, 8, 13, 16, 31, 32, 33, 63, 64]
        .get(random.next(12) as usize)
        .unwrap();
    let width = if !signed && width == 64 { 63 } else { width };
    let ty = format!("{}{width}", if signed { "i" } else { "u" });
    let offset = if random.next(4) == 0 {
        format!("#{}", random.next(6))
    } else {
        random.next(120).to_string()
    };
    let value = match random.next(6) {
        0 => "9223372036854775807".to_string(),
        1 => "-9223372036854775808".to_string(),
        2 => (random.next(1 << 20) as i64 - (1 << 19)).to_string(),
        _ => random.index(300),
    };
    match random.next(3) {
        0 => words.extend(["GET".into(), ty, offset]),
        1 => words.extend(["SET".into(), ty, offset, value]),
        _ => words.extend(["INCRBY".into(), ty, offset, value]),
    }
}

/// One random command over `keys`.
fn random_command(random: &mut common::Lcg, keys: &[&str]) -> Vec<String> {
    let key = random.pick(keys).to_string();
    let other = random.pick(keys).to_string();
    let unit = || ["BYTE", "BIT", "bit"];
    let mut words: Vec<String> = Vec::new();
    match random.next(20) {
        0..=3 => {
            let offset = random.next(200).to_string();
            words.extend(["SETBIT".into(), key, offset, random.next(2).to_string()]);
        }
        4 => words.extend(["GETBIT".into(), key, random.next(220).to_string()]),
        5 | 6 => {
            words.extend(["BITCOUNT".into(), key]);
            if random.next(4) != 0 {
                words.extend([random.index(30), random.index(30)]);
                if random.next(2) == 0 {
                    words.push(random.pick(&unit()).into());
                }
            }
        }
        7 | 8 => {
            words.extend(["BITPOS".into(), key, random.next(2).to_string()]);
            let extra = random.next(4);
            if extra >= 1 {
                words.push(random.index(30));
            }
            if extra >= 2 {
                words.push(random.index(30));
            }
            if extra >= 3 {
                words.push(random.pick(&unit()).into());
            }
        }
        9 | 10 => {
            let op = random.pick(&["AND", "OR", "XOR", "NOT"]);
            words.extend(["BITOP".into(), op.into(), key, other]);
            if op != "NOT" {
                for _ in 0..random.next(3) {
                    words.push(random.pick(keys).into());
                }
            }
        }
        11..=13 => {
            words.extend(["BITFIELD".into(), key]);
            for _ in 0..1 + random.next(3) {
                random_field_op(random, &mut words);
            }
        }
        14 => {
            words.extend(["BITFIELD_RO".into(), key]);
            for _ in 0..random.next(3) {
                let ty = random.pick(&["u8", "i8", "i64", "u63", "i3"]);
                words.extend(["GET".into(), ty.into(), random.next(150).to_string()]);
            }
        }
        15 => {
            words.extend(["LCS".into(), key, other]);
            match random.next(4) {
                0 => words.push("LEN".into()),
                1 => {
                    words.push("IDX".into());
                    if random.next(2) == 0 {
                        words.extend(["MINMATCHLEN".into(), random.next(4).to_string()]);
                    }
                    if random.next(2) == 0 {
                        words.push("WITHMATCHLEN".into());
                    }
                }
                _ => {}
            }
        }
        16 => {
            let value = random.pick(&["a", "zz", "foobar", "12345", "\u{7f}\u{1}"]);
            words.extend([
                "SETRANGE".into(),
                key,
                random.next(20).to_string(),
                value.into(),
            ]);
        }
        17 => {
            let value = random.pick(&["abc", "hello world", "0", "xyzzyx"]);
            words.extend(["SET".into(), key, value.into()]);
        }
        18 => words.extend(["DEL".into(), key]),
        _ => words.extend(["GET".into(), key]),
    }
    words
}

/// Thousands of random bit and LCS commands over five keys (one of them a list, for
/// the type errors), in each protocol, compared reply by reply.
#[test]
fn random_sequences_match() {
    let oracle = Oracle::start(&[]);
    let server = TestServer::start();
    let keys = ["b1", "b2", "b3", "b4", "list"];
    for (resp3, seed) in [(false, 0xb175_u64), (true, 0x5eed)] {
        let mut pair = Differential::with_protocol(&oracle, &server, resp3);
        let mut random = common::Lcg(seed);
        pair.check(&[b"FLUSHALL"]);
        for step in 0..2500 {
            if step % 500 == 0 {
                pair.check(&[b"DEL", b"list"]);
                pair.check(&[b"RPUSH", b"list", b"x"]);
            }
            let words = random_command(&mut random, &keys);
            let args: Vec<&[u8]> = words.iter().map(|word| word.as_bytes()).collect();
            pair.check(&args);
        }
        for key in keys {
            pair.check(&[b"TYPE", key.as_bytes()]);
            pair.check(&[b"GET", key.as_bytes()]);
        }
    }
}
