//! MEMORY against broker-server alone: its figures are its own estimate of its own
//! structures (see `src/store/memory.rs`), so they are checked for what they must
//! mean, not against Redis's.

mod common;

use broker_server::protocol::Reply;
use common::{RawClient, TestServer};

fn usage(client: &mut RawClient, words: &[&str]) -> i64 {
    let mut request = vec!["MEMORY", "USAGE"];
    request.extend(words);
    match client.call(&request) {
        Reply::Int(bytes) => bytes,
        other => panic!("MEMORY USAGE {words:?} answered {other:?}"),
    }
}

fn set(client: &mut RawClient, key: &str, len: usize) {
    let value = vec![b'x'; len];
    client.send_command(&[b"SET", key.as_bytes(), &value]);
    assert_eq!(client.read_reply(), Reply::Ok);
}

#[test]
fn a_string_costs_about_its_length() {
    let server = TestServer::start();
    let mut client = server.raw();
    set(&mut client, "k", 1000);
    let thousand = usage(&mut client, &["k"]);
    assert!((1000..1100).contains(&thousand), "{thousand}");
    set(&mut client, "k", 10_000);
    let ten_thousand = usage(&mut client, &["k"]);
    assert!(ten_thousand >= thousand + 9000, "{ten_thousand}");
    assert!(ten_thousand < 11_000, "{ten_thousand}");
    // A longer name costs more; a deadline lives in the key's slot and costs nothing.
    set(&mut client, &"n".repeat(200), 10_000);
    assert!(usage(&mut client, &[&"n".repeat(200)]) >= ten_thousand + 190);
    client.call(&["EXPIRE", "k", "100"]);
    assert_eq!(usage(&mut client, &["k"]), ten_thousand);
    assert_eq!(client.call(&["MEMORY", "USAGE", "missing"]), Reply::Null);
}

#[test]
fn collections_grow_with_their_elements() {
    let server = TestServer::start();
    let mut client = server.raw();
    let item = "i".repeat(100);
    let mut last = 0;
    for round in 1..=10 {
        for _ in 0..200 {
            client.call(&["RPUSH", "list", &item]);
        }
        let all = usage(&mut client, &["list", "SAMPLES", "0"]);
        let sampled = usage(&mut client, &["list"]);
        // Each element is 102 bytes in its chunk; the chunks hold some room.
        let elements = round * 200;
        assert!(all > last, "round {round}: {last} -> {all}");
        assert!(
            all >= elements * 102 && all < elements * 102 * 3 / 2 + 1024,
            "{all}"
        );
        assert!(
            (sampled - all).abs() * 10 < all,
            "sampled {sampled}, all {all}"
        );
        last = all;
    }
    for (fill, key) in [
        (&["HSET", "hash"][..], "hash"),
        (&["SADD", "set"][..], "set"),
        (&["ZADD", "zset"][..], "zset"),
    ] {
        let mut previous = 0;
        for count in [10, 100, 1000] {
            for i in previous..count {
                let member = format!("member:{i:05}");
                let mut request = fill.to_vec();
                match key {
                    "hash" => request.extend([member.as_str(), item.as_str()]),
                    "zset" => request.extend(["1", member.as_str()]),
                    _ => request.push(member.as_str()),
                }
                client.call(&request);
            }
            let all = usage(&mut client, &[key, "SAMPLES", "0"]);
            assert!(all > count * 12, "{key} of {count}: {all}");
            let sampled = usage(&mut client, &[key, "SAMPLES", "3"]);
            assert!(
                (sampled - all).abs() * 10 < all,
                "{key}: {sampled} vs {all}"
            );
            previous = count;
        }
    }
}

#[test]
fn stats_count_keys_per_database() {
    let server = TestServer::start();
    let mut client = server.raw();
    for i in 0..10 {
        client.call(&["SET", &format!("k{i}"), "v"]);
    }
    client.call(&["SELECT", "3"]);
    client.call(&["SET", "other", "v"]);
    let Reply::Array(flat) = client.call(&["MEMORY", "STATS"]) else {
        panic!("MEMORY STATS is a flat array in RESP2")
    };
    let field = |name: &str| {
        let at = flat
            .iter()
            .position(|item| *item == Reply::bulk(name.as_bytes()))
            .unwrap_or_else(|| panic!("no {name}"));
        flat[at + 1].clone()
    };
    assert_eq!(field("keys.count"), Reply::Int(11));
    assert!(flat.iter().all(|item| *item != Reply::bulk(b"db.1")));
    for db in ["db.0", "db.3"] {
        let Reply::Array(figures) = field(db) else {
            panic!("{db} is a map")
        };
        assert_eq!(figures[0], Reply::bulk(b"overhead.hashtable.main"));
        assert!(matches!(figures[1], Reply::Int(bytes) if bytes > 0));
    }
    let (Reply::Int(total), Reply::Int(peak)) = (field("total.allocated"), field("peak.allocated"))
    else {
        panic!("allocations are integers")
    };
    assert!(total > 0 && peak >= total, "{total} {peak}");
    assert!(
        matches!(field("fragmentation"), Reply::Bulk(_)),
        "doubles are bulk in RESP2"
    );
}

#[test]
fn doctor_purge_and_malloc_stats_answer() {
    let server = TestServer::start();
    let mut client = server.raw();
    let Reply::Bulk(report) = client.call(&["MEMORY", "DOCTOR"]) else {
        panic!("DOCTOR is a bulk string in RESP2")
    };
    assert!(report.starts_with(b"broker-server memory: "));
    assert_eq!(client.call(&["MEMORY", "PURGE"]), Reply::Ok);
    client.call(&["HELLO", "3"]);
    let Reply::Verbatim(format, stats) = client.call(&["MEMORY", "MALLOC-STATS"]) else {
        panic!("MALLOC-STATS is verbatim text in RESP3")
    };
    assert_eq!(&format[..], b"txt");
    assert!(stats.windows(9).any(|w| w == b"allocated"));
}
