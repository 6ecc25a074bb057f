//! Sorted-set commands over real sockets: differential scripts against Debian's
//! redis-server in RESP2 and RESP3, byte for byte (scores as `%.17g`, RESP3
//! doubles and the three WITHSCORES shapes), random members, and ZSCAN's guarantee.

mod common;

use std::collections::HashSet;

use broker_server::protocol::Reply;
use common::{Differential, Oracle, TestServer};

/// Tricky cases first: reply shapes, score formatting, bounds, LIMIT, empty
/// results, wrong types and missing keys.
const ZSETS: &str = "
ZADD z 0.1 a 1795475386.5482562 b 2 c -inf d +inf e
ZRANGE z 0 -1 WITHSCORES
ZRANGE z 0 -1
ZREVRANGE z 0 -1 WITHSCORES
ZRANGE z +inf 0 BYSCORE REV WITHSCORES
ZRANGE z +inf 0 BYSCORE REV WITHSCORES LIMIT 0 2
ZRANGE z 1795475386.5482562 0 BYSCORE REV WITHSCORES LIMIT 0 1
ZRANGE z 0 +inf BYSCORE REV WITHSCORES
ZRANGE z (0.1 (2 BYSCORE WITHSCORES
ZRANGE z (2 (0.1 BYSCORE REV
ZRANGE z -inf +inf BYSCORE LIMIT 1 2 WITHSCORES
ZRANGE z -inf +inf BYSCORE LIMIT 1 -1
ZRANGE z -inf +inf BYSCORE LIMIT -1 2
ZRANGE z -inf +inf BYSCORE LIMIT 0 0
ZRANGE z -inf +inf BYSCORE LIMIT 10 1
ZRANGE z 0 -1 LIMIT 0 1
ZRANGE z 0 -1 LIMIT 0 -1
ZRANGE z 0 -1 LIMIT 0
ZRANGE z 0 -1 BYSCORE BYLEX
ZRANGE z 0 -1 REV REV
ZRANGE z 0 -1 FOO
ZRANGE z a b
ZRANGE z a b BYSCORE
ZRANGE z ((1 2 BYSCORE
ZRANGE z 1 2 BYLEX
ZRANGE z - + BYLEX WITHSCORES
ZRANGE z 3 1
ZRANGEBYSCORE z (-inf (+inf WITHSCORES
ZCOUNT z (-inf (+inf
ZCOUNT z -inf -inf
ZRANGEBYSCORE z 0x1p-3 1
ZRANGEBYSCORE z 1e400 +inf WITHSCORES
ZRANGEBYSCORE z -1e400 0 WITHSCORES
ZRANGEBYSCORE z nan 1
ZRANGEBYSCORE z ( 1
ZRANGEBYSCORE z -INF +Infinity
ZRANGE z 9223372036854775807 -9223372036854775808
ZRANGE z -9223372036854775808 9223372036854775807
ZRANGE z 0 9223372036854775808
ZRANGE z -inf +inf BYSCORE LIMIT 9223372036854775807 9223372036854775807
ZRANGE z +inf -inf BYSCORE REV LIMIT 1 9223372036854775807
ZRANGE z +inf -inf BYSCORE REV LIMIT 9223372036854775807 1
ZRANGE z -inf +inf BYSCORE LIMIT 2 -9223372036854775808
ZRANGE z -100 100
ZRANGE z 5 10
ZSCORE z a
ZSCORE z b
ZSCORE z d
ZSCORE z e
ZSCORE z nope
ZMSCORE z a nope e
ZMSCORE missing a b
ZSCORE missing a
ZCARD z
ZCARD missing
ZCOUNT z -inf +inf
ZCOUNT z (0.1 +inf
ZCOUNT z 2 2
ZCOUNT z (2 2
ZCOUNT z 3 1
ZCOUNT z x 1
ZCOUNT missing -inf +inf
ZRANK z a
ZRANK z e
ZRANK z nope
ZREVRANK z a
ZREVRANK missing a
ZRANGEBYSCORE z -inf +inf WITHSCORES
ZRANGEBYSCORE z -inf +inf WITHSCORES LIMIT 1 1
ZRANGEBYSCORE z -inf +inf LIMIT 1
ZRANGEBYSCORE z -inf +inf LIMIT 1 x
ZRANGEBYSCORE z 1 2 REV
ZRANGEBYSCORE z 1 2 BYSCORE
ZRANGEBYSCORE z (1 (1
ZRANGEBYSCORE z 2 1
ZREVRANGEBYSCORE z +inf -inf WITHSCORES
ZREVRANGEBYSCORE z 2 (0.1 WITHSCORES
ZREVRANGEBYSCORE z -inf +inf
ZREVRANGEBYSCORE z +inf -inf LIMIT 1 2
ZREVRANGE z 0 1 WITHSCORES
ZREVRANGE z -2 -1
ZREVRANGE z 0 1 LIMIT 0 1
ZREVRANGE z 0 1 BYSCORE
ZRANGEBYSCORE missing -inf +inf
ZRANGE missing 0 -1 WITHSCORES
SET str v
ZADD str 1 a
ZRANGE str 0 -1
ZRANGEBYSCORE str -inf +inf
ZSCORE str a
ZMSCORE str a
ZCARD str
ZCOUNT str -inf +inf
ZRANK str a
ZREM str a
ZINCRBY str 1 a
ZPOPMIN str
ZPOPMAX str 2
ZRANDMEMBER str
ZRANDMEMBER str 2
ZREMRANGEBYRANK str 0 -1
ZRANGESTORE dst str 0 -1
ZSCAN str 0
ZLEXCOUNT str - +
";

const ZADD: &str = "
ZADD k 1 a 2 b 3 c
ZADD k 1 a 2 b 3 c
ZADD k CH 1 a 5 b 6 new
ZADD k NX 10 a 11 nx
ZADD k XX 10 a 11 xx
ZADD k XX CH 20 a 21 xx2
ZADD k GT 5 a 100 b 1 gt
ZADD k GT CH 5 a 100 b 2 gt2
ZADD k LT CH 5 a 100 b
ZADD k LT 1 a
ZRANGE k 0 -1 WITHSCORES
ZADD k INCR 1.5 a
ZADD k INCR 1 brand-new
ZADD k NX INCR 1 a
ZADD k XX INCR 1 missing-member
ZADD k GT INCR -1 a
ZADD k LT INCR -1 a
ZADD k INCR 0 a
ZADD k INCR inf a
ZADD k INCR -inf a
ZADD k INCR +inf a
ZADD k NX XX 1 a
ZADD k GT LT 1 a
ZADD k NX GT 1 a
ZADD k NX LT 1 a
ZADD k INCR 1 a 2 b
ZADD k INCR NX XX 1 a 2 b
ZADD k 1
ZADD k x a
ZADD k nan a
ZADD k 1e400 a
ZADD k 0x10 hex
ZADD k 1 a 2
ZADD k CH
ZADD k NX
ZADD k FOO 1 a
ZADD k 1 a FOO
ZADD k -0 zero
ZSCORE k zero
ZADD k INCR -0 negzero
ZSCORE k negzero
ZADD k 1e-320 tiny
ZADD k 1.0000000000000001e-05 small
ZADD k 123456789012345678 bigint
ZRANGE k 0 -1 WITHSCORES
ZADD fresh XX 1 a
EXISTS fresh
ZADD fresh XX INCR 1 a
EXISTS fresh
ZADD fresh NX INCR 2 a
ZADD fresh GT 1 b
ZADD str 1 a
ZADD str x a
ZINCRBY k 2.5 a
ZINCRBY k 1 fresh-member
ZINCRBY k x a
ZINCRBY k nan a
ZINCRBY k -inf e
ZINCRBY k +inf e
ZINCRBY newkey 0.1 m
ZINCRBY k 1 a b
ZRANGE newkey 0 -1 WITHSCORES
ZREM k a zz a
ZREM k zz
ZREM missing a
ZREM newkey m
EXISTS newkey
TYPE k
OBJECT ENCODING k
";

const RANGES: &str = "
ZADD l 0 a 0 b 0 c 0 d 0 e 0 f
ZRANGEBYLEX l - +
ZRANGEBYLEX l [b (e
ZRANGEBYLEX l (b [e LIMIT 1 2
ZRANGEBYLEX l - + LIMIT 0 0
ZRANGEBYLEX l - + LIMIT -1 2
ZRANGEBYLEX l + -
ZRANGEBYLEX l [z +
ZRANGEBYLEX l a b
ZRANGEBYLEX l - + WITHSCORES
ZRANGEBYLEX l - + REV
ZREVRANGEBYLEX l + -
ZREVRANGEBYLEX l [e (b
ZREVRANGEBYLEX l + - LIMIT 1 3
ZREVRANGEBYLEX l - +
ZRANGE l [e (b BYLEX REV
ZRANGE l (b [e BYLEX LIMIT 0 2
ZRANGE l + - BYLEX REV LIMIT 2 10
ZLEXCOUNT l - +
ZLEXCOUNT l [b [d
ZLEXCOUNT l (b (b
ZLEXCOUNT l a b
ZLEXCOUNT missing - +
ZREMRANGEBYLEX l [a (c
ZREMRANGEBYLEX l x y
ZREMRANGEBYLEX missing - +
ZRANGE l 0 -1
ZADD r 1 a 2 b 3 c 4 d 5 e 6 f
ZREMRANGEBYRANK r 0 0
ZREMRANGEBYRANK r -2 -1
ZREMRANGEBYRANK r 5 10
ZREMRANGEBYRANK r x 1
ZRANGE r 0 -1 WITHSCORES
ZREMRANGEBYSCORE r (2 3
ZREMRANGEBYSCORE r x 3
ZREMRANGEBYSCORE r 10 1
ZRANGE r 0 -1 WITHSCORES
ZREMRANGEBYSCORE r -inf +inf
EXISTS r
ZREMRANGEBYRANK missing 0 -1
ZADD src 1 a 2 b 3 c 4 d
ZRANGESTORE dst src 0 1
ZRANGE dst 0 -1 WITHSCORES
ZRANGESTORE dst src +inf (1 BYSCORE REV LIMIT 0 2
ZRANGE dst 0 -1 WITHSCORES
ZRANGESTORE dst src [b [c BYLEX
ZRANGESTORE dst src 0 -1 WITHSCORES
ZRANGESTORE dst src 0 -1 LIMIT 0 1
ZRANGESTORE dst src 5 10
EXISTS dst
ZRANGESTORE dst missing 0 -1
SET dst v
ZRANGESTORE dst src 0 0
TYPE dst
ZRANGESTORE dst str 0 -1
ZPOPMIN src
ZPOPMAX src
ZPOPMIN src 1
ZPOPMIN src 0
ZPOPMIN src -1
ZPOPMIN src x
ZPOPMIN src 1 2
ZPOPMAX src 10
EXISTS src
ZPOPMIN src
ZPOPMIN src 3
ZPOPMAX missing
ZPOPMIN missing 0
ZADD one 1 only
ZRANDMEMBER one
ZRANDMEMBER one 1
ZRANDMEMBER one 1 WITHSCORES
ZRANDMEMBER one -3 WITHSCORES
ZRANDMEMBER one 0
ZRANDMEMBER one 0 WITHSCORES
ZRANDMEMBER one x
ZRANDMEMBER one 1 FOO
ZRANDMEMBER one 1 WITHSCORES x
ZRANDMEMBER one -9223372036854775808
ZRANDMEMBER one 4611686018427387904 WITHSCORES
ZRANDMEMBER missing
ZRANDMEMBER missing 2
ZRANDMEMBER missing 2 WITHSCORES
ZADD scan 1 a 2 b 0.1 c
ZSCAN scan 0
ZSCAN scan 0 MATCH [ab]
ZSCAN scan 0 COUNT 1
ZSCAN scan 0 COUNT 0
ZSCAN scan x
ZSCAN missing 0
ZSCAN missing 0 COUNT 0
";

const COMBINE: &str = "
ZADD za 1 a 2 b 3 c
ZADD zb 10 b 20 c 30 d
SADD sa a d x
ZUNIONSTORE out 2 za zb
ZRANGE out 0 -1 WITHSCORES
ZUNIONSTORE out 2 za zb WEIGHTS 2 0.5
ZRANGE out 0 -1 WITHSCORES
ZUNIONSTORE out 2 za zb AGGREGATE MIN
ZRANGE out 0 -1 WITHSCORES
ZUNIONSTORE out 2 za zb AGGREGATE max WEIGHTS 1 -1
ZRANGE out 0 -1 WITHSCORES
ZUNIONSTORE out 3 za zb sa
ZRANGE out 0 -1 WITHSCORES
ZUNIONSTORE out 2 za missing
ZRANGE out 0 -1 WITHSCORES
ZINTERSTORE out 2 za zb
ZRANGE out 0 -1 WITHSCORES
ZINTERSTORE out 2 za zb WEIGHTS 3 1 AGGREGATE MAX
ZRANGE out 0 -1 WITHSCORES
ZINTERSTORE out 2 za sa
ZRANGE out 0 -1 WITHSCORES
ZINTERSTORE out 2 za missing
EXISTS out
ZDIFFSTORE out 2 za zb
ZRANGE out 0 -1 WITHSCORES
ZDIFFSTORE out 2 za za
EXISTS out
ZUNIONSTORE out 0 za
ZUNIONSTORE out -1 za
ZUNIONSTORE out x za
ZUNIONSTORE out 3 za zb
ZUNIONSTORE out 1 za WEIGHTS
ZUNIONSTORE out 1 za WEIGHTS x
ZUNIONSTORE out 2 za zb WEIGHTS 1
ZUNIONSTORE out 1 za AGGREGATE
ZUNIONSTORE out 1 za AGGREGATE foo
ZUNIONSTORE out 1 za WITHSCORES
ZUNIONSTORE out 1 za FOO
ZUNIONSTORE out 2 za str
ZUNIONSTORE out 2 za str WEIGHTS x y
ZDIFFSTORE out 1 za WEIGHTS 1
ZDIFFSTORE out 1 za AGGREGATE SUM
ZADD zinf 1 a
ZADD zinf2 1 a
ZINCRBY zinf +inf a
ZINCRBY zinf2 -inf a
ZUNIONSTORE out 2 zinf zinf2
ZRANGE out 0 -1 WITHSCORES
ZUNIONSTORE out 1 zinf WEIGHTS 0
ZRANGE out 0 -1 WITHSCORES
ZUNION 2 za zb
ZUNION 2 za zb WITHSCORES
ZUNION 2 za zb WEIGHTS 1 2 AGGREGATE SUM WITHSCORES
ZINTER 2 za zb WITHSCORES
ZINTER 2 za sa
ZDIFF 2 za zb WITHSCORES
ZDIFF 1 missing
ZDIFF 2 za zb WEIGHTS 1 1
ZUNION 0 za
ZINTER 2 za
ZINTERCARD 2 za zb
ZINTERCARD 2 za zb LIMIT 1
ZINTERCARD 2 za zb LIMIT 0
ZINTERCARD 2 za zb LIMIT -1
ZINTERCARD 2 za zb LIMIT x
ZINTERCARD 2 za zb WITHSCORES
ZINTERCARD 0 za
ZINTERCARD 3 za zb
ZINTERCARD 2 za missing
ZINTERCARD 2 za str
ZINTERCARD 1 sa
";

/// ZMPOP: BZMPOP's reply shape without the wait, its argument errors, and the
/// null array when no key holds a sorted set.
const ZMPOP: &str = "
ZMPOP 1 za MIN
ZADD za 1 x 2 y 3 z
ZADD zb 5 q
SET str v
ZMPOP 1 za MIN COUNT 0
ZMPOP 1 za MIN COUNT -1
ZMPOP 1 za MIN COUNT
ZMPOP 1 za MIN
ZMPOP 1 za max COUNT 1 COUNT 1
ZMPOP 1 za FOO
ZMPOP 2 missing za MAX COUNT 10
EXISTS za
ZMPOP 0 za MIN
ZMPOP -1 za MIN
ZMPOP x za MIN
ZMPOP 3 za MIN
ZMPOP 1 za
ZMPOP 1
ZMPOP 1 str MIN
ZMPOP 2 missing str MIN
ZMPOP 2 zb str MAX COUNT 9223372036854775807
ZADD zb 1 q
MULTI
ZMPOP 1 zb MAX
EXEC
";

common::differential_script_tests! {
    zmpop_resp2, zmpop_resp3 => ZMPOP;
    zsets_resp2, zsets_resp3 => ZSETS;
    zadd_resp2, zadd_resp3 => ZADD;
    ranges_resp2, ranges_resp3 => RANGES;
    combine_resp2, combine_resp3 => COMBINE;
}

#[test]
fn binary_members() {
    let oracle = Oracle::start(&[]);
    let server = TestServer::start();
    let mut pair = Differential::with_protocol(&oracle, &server, true);
    let key: &[u8] = b"celery-taskset-meta-\x06\x16.j";
    pair.check(&[b"ZADD", key, b"1", b"\x00\xff", b"1", b"", b"2", b"a\r\nb"]);
    pair.check(&[b"ZRANGE", key, b"0", b"-1", b"WITHSCORES"]);
    pair.check(&[b"ZRANGEBYLEX", key, b"[\x00", b"+"]);
    pair.check(&[b"ZRANGEBYLEX", key, b"-", b"(\x00\xff"]);
    pair.check(&[b"ZSCORE", key, b""]);
    pair.check(&[b"ZSCAN", key, b"0", b"MATCH", b"a*"]);
    pair.check(&[b"ZREM", key, b"", b"\x00\xff", b"a\r\nb"]);
    pair.check(&[b"EXISTS", key]);
}

/// Past 128 members (or with a member over 64 bytes) Redis uses a skiplist; the
/// order is still defined, so everything compares byte for byte, including rank
/// removals large enough to rebuild the set.
#[test]
fn large_sorted_sets() {
    common::in_both_protocols(|pair| {
        pair.check(&[b"DEL", b"big", b"copy"]);
        for chunk in 0..10 {
            let pairs: Vec<(String, String)> = (chunk * 100..(chunk + 1) * 100)
                .map(|i| (format!("{}.{}", i % 97, i), format!("m{i}")))
                .collect();
            let mut args: Vec<&[u8]> = vec![b"ZADD", b"big"];
            for (score, member) in &pairs {
                args.push(score.as_bytes());
                args.push(member.as_bytes());
            }
            pair.check(&args);
            pair.check(&[b"OBJECT", b"ENCODING", b"big"]);
        }
        pair.check(&[b"ZCARD", b"big"]);
        pair.check(&[b"ZRANGE", b"big", b"0", b"20", b"WITHSCORES"]);
        pair.check(&[
            b"ZRANGE",
            b"big",
            b"50",
            b"(10",
            b"BYSCORE",
            b"REV",
            b"WITHSCORES",
            b"LIMIT",
            b"3",
            b"7",
        ]);
        pair.check(&[b"ZCOUNT", b"big", b"(5", b"10.5"]);
        pair.check(&[b"ZRANK", b"big", b"m555"]);
        pair.check(&[b"ZREVRANK", b"big", b"m555"]);
        pair.check(&[b"ZRANGESTORE", b"copy", b"big", b"100", b"899"]);
        pair.check(&[b"ZREMRANGEBYRANK", b"copy", b"10", b"700"]);
        pair.check(&[b"ZRANGE", b"copy", b"0", b"-1", b"WITHSCORES"]);
        pair.check(&[b"ZREMRANGEBYSCORE", b"big", b"-inf", b"(50"]);
        pair.check(&[b"ZRANGE", b"big", b"0", b"-1", b"WITHSCORES"]);
        pair.check(&[b"ZPOPMAX", b"big", b"5"]);
        pair.check(&[
            b"ZUNIONSTORE",
            b"copy",
            b"2",
            b"big",
            b"copy",
            b"WEIGHTS",
            b"0.5",
            b"3",
        ]);
        pair.check(&[b"ZRANGE", b"copy", b"0", b"-1", b"WITHSCORES"]);
        pair.check(&[
            b"ZINTER",
            b"2",
            b"big",
            b"copy",
            b"WITHSCORES",
            b"AGGREGATE",
            b"MIN",
        ]);
        // A skiplist-encoded set is returned whole in hash order by Redis.
        pair.check_unordered(&[b"ZRANDMEMBER", b"copy", b"100000", b"WITHSCORES"]);
    });
}

fn elements(reply: &Reply) -> Vec<Reply> {
    match reply {
        Reply::Array(items) => items.clone(),
        other => panic!("expected an array, got {other:?}"),
    }
}

#[test]
fn zrandmember_counts_and_shapes() {
    let server = TestServer::start();
    let mut client = server.raw();
    client.call(&["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d"]);
    let is_member = |reply: &Reply| matches!(reply, Reply::Bulk(m) if [&b"a"[..], b"b", b"c", b"d"].contains(&&m[..]));

    let picked = elements(&client.call(&["ZRANDMEMBER", "z", "3"]));
    assert_eq!(picked.len(), 3);
    assert!(picked.iter().all(is_member));
    let distinct: HashSet<String> = picked.iter().map(|m| format!("{m:?}")).collect();
    assert_eq!(distinct.len(), 3);
    let picked = elements(&client.call(&["ZRANDMEMBER", "z", "-9"]));
    assert_eq!(picked.len(), 9);
    assert!(picked.iter().all(is_member));

    // RESP2: flat member, score-as-bulk pairs.
    let flat = elements(&client.call(&["ZRANDMEMBER", "z", "-5", "WITHSCORES"]));
    assert_eq!(flat.len(), 10);
    for pair in flat.chunks(2) {
        let (Reply::Bulk(member), Reply::Bulk(score)) = (&pair[0], &pair[1]) else {
            panic!("expected bulk strings, got {pair:?}")
        };
        assert_eq!(score[0] - b'0', member[0] - b'a' + 1);
    }
    // RESP3: nested [member, double] pairs.
    client.call(&["HELLO", "3"]);
    let nested = elements(&client.call(&["ZRANDMEMBER", "z", "2", "WITHSCORES"]));
    assert_eq!(nested.len(), 2);
    for item in &nested {
        let pair = elements(item);
        let (Reply::Bulk(member), Reply::Double(score)) = (&pair[0], &pair[1]) else {
            panic!("expected [bulk, double], got {pair:?}")
        };
        assert_eq!(*score, f64::from(member[0] - b'a' + 1));
    }
}

/// Every member present for the whole scan is returned, however the sorted set
/// changes between calls, scores included (members keep their place in the
/// cursor's order when their score moves).
#[test]
fn zscan_returns_every_stable_member_despite_changes() {
    let server = TestServer::start();
    let mut client = server.raw();
    let mut args = vec!["ZADD".to_string(), "big".into()];
    for i in 0..400 {
        args.push(i.to_string());
        args.push(format!("m{i}"));
    }
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    client.call(&words);
    let mut seen = HashSet::new();
    common::scan_while_changing(
        &mut client,
        ["ZSCAN", "big", "7"],
        |page| {
            for pair in elements(page).chunks(2) {
                let Reply::Bulk(member) = &pair[0] else {
                    panic!("expected a member, got {:?}", pair[0])
                };
                seen.insert(member.to_vec());
            }
        },
        |client, round| {
            client.call(&["ZREM", "big", &format!("m{}", round * 2 + 1)]);
            client.call(&["ZADD", "big", "-1", &format!("new{round}")]);
            client.call(&["ZINCRBY", "big", "1000", &format!("m{}", round * 2)]);
        },
    );
    for i in (0..400).step_by(2) {
        assert!(seen.contains(format!("m{i}").as_bytes()), "missed m{i}");
    }
}
