//! Hash commands over real sockets: differential scripts against Debian's
//! redis-server in RESP2 and RESP3, order-free checks for large hashes, random
//! fields, and HSCAN's guarantee.

mod common;

use std::collections::HashSet;

use broker_server::protocol::Reply;
use common::{Differential, Oracle, TestServer};

/// Tricky cases first: reply shapes, missing keys and fields, wrong types, errors.
const HASHES: &str = "
HGETALL missing
HKEYS missing
HVALS missing
HGET missing f
HMGET missing a b
HLEN missing
HEXISTS missing f
HSTRLEN missing f
HDEL missing f
HRANDFIELD missing
HRANDFIELD missing 3
HRANDFIELD missing -3 WITHVALUES
HSCAN missing 0
HSCAN missing 0 COUNT 0
HSCAN missing x
SET str v
HSET str f v
HGET str f
HGETALL str
HMGET str a
HDEL str f
HLEN str
HINCRBY str f 1
HSCAN str 0
HSCAN str x
HRANDFIELD str
HRANDFIELD str 2
HSET h b 2 a 1 c 3
HGETALL h
HKEYS h
HVALS h
HSET h a 10 d 4
HGETALL h
HMGET h a nofield d
HGET h a
HGET h nofield
HLEN h
HEXISTS h a
HEXISTS h zz
HSTRLEN h a
HDEL h a zz a
HGETALL h
HSET h a
HSET h a 1 b
HMSET h a 1 b
HMSET h x 1 y 2
HSETNX h x 9
HSETNX h z 9
HGETALL h
HRANDFIELD h 100
HRANDFIELD h 100 WITHVALUES
HRANDFIELD h 0
HRANDFIELD h 0 WITHVALUES
HRANDFIELD h x
HRANDFIELD h x a b
HRANDFIELD h 1 FOO
HRANDFIELD h 1 WITHVALUES x
HRANDFIELD h -9223372036854775808
HRANDFIELD h -4611686018427387905 WITHVALUES
HRANDFIELD h 4611686018427387904 WITHVALUES
HSCAN h 0
HSCAN h 0 MATCH [xy]
HSCAN h 0 COUNT 1
HSCAN h 0 COUNT 0
HSCAN h 0 COUNT x
HSCAN h 0 NOVALUES
HSCAN h 0 TYPE hash
HSCAN h 0 MATCH
HSCAN h 18446744073709551616
HINCRBY n f 5
HINCRBY n f -7
HINCRBY n f x
HINCRBY n f 9223372036854775807
HSET n big 9223372036854775807 s abc
HINCRBY n big 1
HINCRBY n s 1
HINCRBY n s x
HINCRBYFLOAT n fl 10.5
HINCRBYFLOAT n fl 0.1
HINCRBYFLOAT n fl -5
HINCRBYFLOAT n g 1e3
HINCRBYFLOAT n g 2.5e-3
HINCRBY n k 3
HINCRBYFLOAT n k 1.5
HINCRBYFLOAT n s 1
HINCRBYFLOAT n fl x
HINCRBYFLOAT n fl inf
HINCRBYFLOAT n fl -inf
HINCRBYFLOAT n fl nan
HINCRBYFLOAT ld f 1.1
HINCRBYFLOAT ld f 0.1
HINCRBYFLOAT ld g 1.7e308
HINCRBYFLOAT ld g 1.7e308
HSET ld huge 1.18973149535723176e4932
HINCRBYFLOAT ld huge 1e4932
HINCRBYFLOAT ld huge -1e4932
HGET ld huge
DEL ld
HGETALL n
HDEL n f big s fl huge g k
EXISTS n
HSET e f v
HDEL e f
EXISTS e
TYPE e
HSET t f v
TYPE t
OBJECT ENCODING t
HSET t long aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
OBJECT ENCODING t
HSET
HGET h
HGETALL
HINCRBY h f
HSCAN h
HSTRLEN h
";

common::differential_script_tests! {
    hashes_resp2, hashes_resp3 => HASHES;
}

#[test]
fn binary_fields_and_values() {
    let oracle = Oracle::start(&[]);
    let server = TestServer::start();
    let mut pair = Differential::with_protocol(&oracle, &server, true);
    let key: &[u8] = b"h\x06\x16\x00";
    pair.check(&[b"HSET", key, b"\x06\x16f\r\n", b"\x00\xff", b"", b"empty"]);
    pair.check(&[b"HGETALL", key]);
    pair.check(&[b"HGET", key, b""]);
    pair.check(&[b"HSTRLEN", key, b"\x06\x16f\r\n"]);
    pair.check(&[b"HSCAN", key, b"0", b"MATCH", b"\x06*"]);
    pair.check(&[b"HDEL", key, b"", b"\x06\x16f\r\n"]);
    pair.check(&[b"EXISTS", key]);
}

/// Past 512 fields (or with a value over 64 bytes) Redis switches to a hash
/// table: the encoding changes and the order is no longer defined.
#[test]
fn large_hashes_switch_encoding_and_keep_their_contents() {
    common::in_both_protocols(|pair| {
        pair.check(&[b"DEL", b"big"]);
        for i in 0..512 {
            let field = format!("field:{i}");
            pair.check(&[b"HSET", b"big", field.as_bytes(), i.to_string().as_bytes()]);
        }
        pair.check(&[b"OBJECT", b"ENCODING", b"big"]);
        pair.check(&[b"HGETALL", b"big"]);
        pair.check(&[b"HSET", b"big", b"one-more", b"v"]);
        pair.check(&[b"OBJECT", b"ENCODING", b"big"]);
        pair.check(&[b"HLEN", b"big"]);
        pair.check_unordered(&[b"HKEYS", b"big"]);
        pair.check_unordered(&[b"HVALS", b"big"]);
        pair.check_unordered(&[b"HGETALL", b"big"]);
        pair.check_unordered(&[b"HRANDFIELD", b"big", b"1000"]);
        pair.check_unordered(&[b"HMGET", b"big", b"field:7", b"nope", b"one-more"]);
    });
}

fn fields_of(reply: &Reply) -> Vec<Vec<u8>> {
    let Reply::Array(items) = reply else {
        panic!("expected an array, got {reply:?}")
    };
    common::bulk_strings(items)
}

#[test]
fn hrandfield_counts_and_shapes() {
    let server = TestServer::start();
    let mut client = server.raw();
    client.call(&["HSET", "h", "a", "1", "b", "2", "c", "3", "d", "4"]);
    let all: HashSet<Vec<u8>> = ["a", "b", "c", "d"]
        .iter()
        .map(|f| f.as_bytes().to_vec())
        .collect();

    // A positive count below the size: distinct fields.
    let picked = fields_of(&client.call(&["HRANDFIELD", "h", "3"]));
    assert_eq!(picked.len(), 3);
    assert_eq!(picked.iter().collect::<HashSet<_>>().len(), 3);
    assert!(picked.iter().all(|f| all.contains(f)));

    // A negative count: exactly that many, repeats allowed.
    let picked = fields_of(&client.call(&["HRANDFIELD", "h", "-10"]));
    assert_eq!(picked.len(), 10);
    assert!(picked.iter().all(|f| all.contains(f)));

    // WITHVALUES: flat pairs in RESP2, nested pairs in RESP3; values match fields.
    let flat = fields_of(&client.call(&["HRANDFIELD", "h", "-6", "WITHVALUES"]));
    assert_eq!(flat.len(), 12);
    for pair in flat.chunks(2) {
        assert_eq!(
            pair[1][0] - b'0',
            pair[0][0] - b'a' + 1,
            "value of {pair:?}"
        );
    }
    client.call(&["HELLO", "3"]);
    let Reply::Array(nested) = client.call(&["HRANDFIELD", "h", "2", "WITHVALUES"]) else {
        panic!("expected an array")
    };
    assert_eq!(nested.len(), 2);
    for item in &nested {
        let pair = fields_of(item);
        assert_eq!(pair.len(), 2);
        assert_eq!(pair[1][0] - b'0', pair[0][0] - b'a' + 1);
    }
    let one = client.call(&["HRANDFIELD", "h"]);
    let Reply::Bulk(field) = one else {
        panic!("expected a bulk string, got {one:?}")
    };
    assert!(all.contains(&field.to_vec()));
}

/// Every field present for the whole scan is returned, however the hash changes
/// between calls (COUNT is small, so the scan takes many steps).
#[test]
fn hscan_returns_every_stable_field_despite_changes() {
    let server = TestServer::start();
    let mut client = server.raw();
    for chunk in 0..10 {
        let mut args = vec!["HSET".to_string(), "big".into()];
        for i in chunk * 50..(chunk + 1) * 50 {
            args.push(format!("f{i}"));
            args.push(format!("v{i}"));
        }
        let words: Vec<&str> = args.iter().map(String::as_str).collect();
        client.call(&words);
    }
    let mut seen = HashSet::new();
    common::scan_while_changing(
        &mut client,
        ["HSCAN", "big", "7"],
        |page| {
            for pair in fields_of(page).chunks(2) {
                if pair[0].starts_with(b"f") {
                    assert_eq!(pair[1][1..], pair[0][1..], "value goes with its field");
                }
                seen.insert(pair[0].clone());
            }
        },
        // Churn: delete an odd field and add a new one each step.
        |client, round| {
            client.call(&["HDEL", "big", &format!("f{}", round * 2 + 1)]);
            client.call(&["HSET", "big", &format!("new{round}"), "x"]);
        },
    );
    for i in (0..500).step_by(2) {
        assert!(seen.contains(format!("f{i}").as_bytes()), "missed f{i}");
    }
}
