//! Set commands over real sockets: differential scripts against Debian's
//! redis-server in RESP2 and RESP3, random members, and SSCAN's guarantee.
//!
//! Redis lists small integer sets (intsets) in numeric order, and broker-server
//! does the same; other sets live in hash tables there, so their member order is
//! not defined: lines starting with `~` compare replies with their elements
//! sorted (the reply type, set or array, still has to match).

mod common;

use std::collections::HashSet;

use broker_server::protocol::Reply;
use common::{Differential, Oracle, TestServer};

const SETS: &str = "
~SMEMBERS missing
SCARD missing
SISMEMBER missing a
SMISMEMBER missing a b
SREM missing a
SPOP missing
~SPOP missing 3
SRANDMEMBER missing
SRANDMEMBER missing 3
SRANDMEMBER missing -3
SMOVE missing dst a
~SINTER missing
~SUNION missing
~SDIFF missing
SINTERSTORE dst missing
SINTERCARD 1 missing
SSCAN missing 0
SSCAN missing 0 COUNT 0
SSCAN missing x
SET str v
SADD str a
SMEMBERS str
SISMEMBER str a
SMISMEMBER str a
SCARD str
SREM str a
SPOP str
SPOP str 2
SPOP str 0
SRANDMEMBER str
SRANDMEMBER str 2
SSCAN str 0
SSCAN str x
SADD s a b c
SADD s a d
~SMEMBERS s
SCARD s
SISMEMBER s a
SISMEMBER s zz
SMISMEMBER s a zz d
SREM s a zz
SREM s a
~SMEMBERS s
~SRANDMEMBER s 10
SRANDMEMBER s 0
SRANDMEMBER s x
SRANDMEMBER s 1 2
SRANDMEMBER s -9223372036854775808
SPOP s 0
SPOP s -1
SPOP s x
SPOP s 1 2
SADD t c d e
~SINTER s t
~SINTER s t missing
~SINTER missing str
SINTER s str
SINTER str missing
~SUNION s t missing
SUNION s str
SUNION missing str
~SDIFF s t
~SDIFF t s missing
~SDIFF missing s
SDIFF s str
SINTERSTORE dst s t
~SMEMBERS dst
SUNIONSTORE dst s t
SCARD dst
SDIFFSTORE dst t s
~SMEMBERS dst
SINTERSTORE dst s missing
EXISTS dst
SET dst v
SUNIONSTORE dst s
TYPE dst
SUNIONSTORE dst missing
EXISTS dst
SDIFFSTORE dst s str
SINTERCARD 2 s t
SINTERCARD 2 s t LIMIT 1
SINTERCARD 2 s t LIMIT 0
SINTERCARD 2 s t LIMIT -1
SINTERCARD 2 s t LIMIT x
SINTERCARD 2 s t LIMIT
SINTERCARD 2 s t FOO 1
SINTERCARD 0 s
SINTERCARD -1 s
SINTERCARD x s
SINTERCARD 3 s t
SINTERCARD 2 s str
SINTERCARD 2 missing str
SMOVE s t c
SMOVE s t c
SMOVE s s d
SMOVE s s zz
SMOVE s str d
SMOVE str s d
SMOVE missing str d
SMOVE s newset d
EXISTS s
~SMEMBERS newset
SADD ints 3 1 2 -5 100
SMEMBERS ints
OBJECT ENCODING ints
SSCAN ints 0
SSCAN ints 0 MATCH 1*
SSCAN ints 0 COUNT 0
SSCAN ints 0 TYPE set
SADD i1 5 3 1 -2
SADD i2 3 4 5 9
SINTER i1 i2
SUNION i1 i2
SDIFF i1 i2
SUNIONSTORE i3 i2 i1
SMEMBERS i3
SRANDMEMBER i1 10
SPOP i1 10
SPOP i2 4
SADD ints x
OBJECT ENCODING ints
TYPE ints
SPOP one-missing 1
SADD solo m
SPOP solo 5
EXISTS solo
SADD solo m
SPOP solo
EXISTS solo
SADD
SREM s
SCARD
SMOVE s t
SINTER
SINTERSTORE dst
";

common::differential_script_tests! {
    sets_resp2, sets_resp3 => SETS;
}

#[test]
fn binary_members() {
    let oracle = Oracle::start(&[]);
    let server = TestServer::start();
    let mut pair = Differential::with_protocol(&oracle, &server, true);
    let key: &[u8] = b"_kombu.binding.\x06\x16";
    pair.check(&[b"SADD", key, b"\x00\xff", b"", b"a\r\nb"]);
    pair.check_unordered(&[b"SMEMBERS", key]);
    pair.check(&[b"SISMEMBER", key, b""]);
    pair.check(&[b"SMISMEMBER", key, b"\x00\xff", b"\x00"]);
    pair.check_unordered(&[b"SSCAN", key, b"0", b"MATCH", b"a*"]);
    pair.check(&[b"SREM", key, b"", b"\x00\xff", b"a\r\nb"]);
    pair.check(&[b"EXISTS", key]);
}

/// Past 512 members, or with a non-integer one, Redis uses a hash table.
#[test]
fn large_sets_switch_encoding_and_keep_their_contents() {
    common::in_both_protocols(|pair| {
        pair.check(&[b"DEL", b"big", b"other"]);
        for chunk in 0..6 {
            let members: Vec<String> = (chunk * 100..(chunk + 1) * 100)
                .map(|i| i.to_string())
                .collect();
            let mut args: Vec<&[u8]> = vec![b"SADD", b"big"];
            args.extend(members.iter().map(|m| m.as_bytes()));
            pair.check(&args);
            pair.check(&[b"OBJECT", b"ENCODING", b"big"]);
        }
        pair.check(&[b"SADD", b"other", b"5", b"50", b"500", b"5000", b"x"]);
        pair.check_unordered(&[b"SMEMBERS", b"big"]);
        pair.check_unordered(&[b"SINTER", b"big", b"other"]);
        pair.check_unordered(&[b"SUNION", b"other", b"big"]);
        pair.check_unordered(&[b"SDIFF", b"other", b"big"]);
        pair.check(&[b"SINTERCARD", b"2", b"big", b"other"]);
        pair.check(&[b"SINTERCARD", b"2", b"big", b"other", b"LIMIT", b"2"]);
        pair.check_unordered(&[b"SRANDMEMBER", b"big", b"1000"]);
        pair.check(&[b"SCARD", b"big"]);
    });
}

fn members_of(reply: &Reply) -> Vec<Vec<u8>> {
    let (Reply::Array(items) | Reply::Set(items)) = reply else {
        panic!("expected an array or a set, got {reply:?}")
    };
    common::bulk_strings(items)
}

#[test]
fn random_members_and_pops() {
    let server = TestServer::start();
    let mut client = server.raw();
    client.call(&["HELLO", "3"]);
    client.call(&["SADD", "s", "a", "b", "c", "d", "e"]);
    let all: HashSet<Vec<u8>> = ["a", "b", "c", "d", "e"]
        .iter()
        .map(|m| m.as_bytes().to_vec())
        .collect();

    let reply = client.call(&["SRANDMEMBER", "s", "3"]);
    assert!(
        matches!(reply, Reply::Array(_)),
        "SRANDMEMBER answers an array"
    );
    let picked = members_of(&reply);
    assert_eq!(picked.iter().collect::<HashSet<_>>().len(), 3);
    assert!(picked.iter().all(|m| all.contains(m)));
    let picked = members_of(&client.call(&["SRANDMEMBER", "s", "-12"]));
    assert_eq!(picked.len(), 12);
    assert!(picked.iter().all(|m| all.contains(m)));

    let reply = client.call(&["SPOP", "s", "2"]);
    assert!(
        matches!(reply, Reply::Set(_)),
        "SPOP with a count answers a set"
    );
    let popped = members_of(&reply);
    assert_eq!(popped.iter().collect::<HashSet<_>>().len(), 2);
    let left = members_of(&client.call(&["SMEMBERS", "s"]));
    assert_eq!(left.len(), 3);
    assert!(popped.iter().all(|m| !left.contains(m) && all.contains(m)));
    let Reply::Bulk(one) = client.call(&["SPOP", "s"]) else {
        panic!("SPOP without a count answers a bulk string")
    };
    assert!(left.contains(&one.to_vec()));
    assert_eq!(members_of(&client.call(&["SPOP", "s", "10"])).len(), 2);
    assert_eq!(client.call(&["EXISTS", "s"]), Reply::Int(0));
}

#[test]
fn sscan_returns_every_stable_member_despite_changes() {
    let server = TestServer::start();
    let mut client = server.raw();
    let members: Vec<String> = (0..600).map(|i| format!("m{i}")).collect();
    let mut args = vec!["SADD", "big"];
    args.extend(members.iter().map(String::as_str));
    client.call(&args);
    let mut seen = HashSet::new();
    common::scan_while_changing(
        &mut client,
        ["SSCAN", "big", "9"],
        |page| seen.extend(members_of(page)),
        |client, round| {
            client.call(&["SREM", "big", &format!("m{}", round * 2 + 1)]);
            client.call(&["SADD", "big", &format!("new{round}")]);
        },
    );
    for i in (0..600).step_by(2) {
        assert!(seen.contains(format!("m{i}").as_bytes()), "missed m{i}");
    }
}
