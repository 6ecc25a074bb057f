//! Key commands: DEL, UNLINK, EXISTS, TYPE, TOUCH, the EXPIRE family and TTLs,
//! PERSIST, KEYS, SCAN, RANDOMKEY, RENAME, RENAMENX, COPY, MOVE, SWAPDB, DBSIZE,
//! FLUSHDB, FLUSHALL and OBJECT.

use std::collections::BTreeSet;

use redis::Value;

use crate::{each_protocol, error, now_ms, run, text, value};

#[test]
fn del_unlink_exists_touch_and_type() {
    each_protocol(|_, con, _| {
        run::<()>(con, &["MSET", "a", "1", "b", "2", "c", "3"]);
        assert_eq!(run::<i64>(con, &["EXISTS", "a", "b", "missing", "a"]), 3);
        assert_eq!(run::<i64>(con, &["TOUCH", "a", "missing"]), 1);
        assert_eq!(
            value(con, &["TYPE", "a"]),
            Value::SimpleString("string".into())
        );
        assert_eq!(
            value(con, &["TYPE", "missing"]),
            Value::SimpleString("none".into())
        );
        assert_eq!(run::<i64>(con, &["DEL", "a", "missing"]), 1);
        assert_eq!(run::<i64>(con, &["DEL", "a"]), 0);
        assert_eq!(run::<i64>(con, &["UNLINK", "b", "c"]), 2);
        assert_eq!(run::<i64>(con, &["EXISTS", "a", "b", "c"]), 0);
        assert_eq!(
            error(con, &["DEL"]),
            "ERR wrong number of arguments for 'del' command"
        );
    });
}

#[test]
fn expire_family_and_ttls() {
    each_protocol(|_, con, _| {
        run::<()>(con, &["SET", "k", "v"]);
        assert_eq!(run::<i64>(con, &["TTL", "k"]), -1);
        assert_eq!(run::<i64>(con, &["PTTL", "k"]), -1);
        assert_eq!(run::<i64>(con, &["EXPIRETIME", "k"]), -1);
        assert_eq!(run::<i64>(con, &["TTL", "missing"]), -2);
        assert_eq!(run::<i64>(con, &["PEXPIRETIME", "missing"]), -2);
        assert_eq!(run::<i64>(con, &["EXPIRE", "missing", "10"]), 0);

        // NX: only without a deadline. XX: only with one.
        assert_eq!(run::<i64>(con, &["EXPIRE", "k", "100", "XX"]), 0);
        assert_eq!(run::<i64>(con, &["EXPIRE", "k", "100", "NX"]), 1);
        assert_eq!(run::<i64>(con, &["EXPIRE", "k", "200", "NX"]), 0);
        assert_eq!(run::<i64>(con, &["EXPIRE", "k", "150", "XX"]), 1);
        // GT: only later. LT: only earlier.
        assert_eq!(run::<i64>(con, &["EXPIRE", "k", "50", "GT"]), 0);
        assert_eq!(run::<i64>(con, &["EXPIRE", "k", "300", "GT"]), 1);
        assert_eq!(run::<i64>(con, &["EXPIRE", "k", "400", "LT"]), 0);
        assert_eq!(run::<i64>(con, &["EXPIRE", "k", "250", "LT"]), 1);
        let ttl: i64 = run(con, &["TTL", "k"]);
        assert!((249..=250).contains(&ttl), "TTL {ttl}");
        // GT counts a key without a deadline as infinite; LT as later than anything.
        run::<()>(con, &["SET", "p", "v"]);
        assert_eq!(run::<i64>(con, &["EXPIRE", "p", "10", "GT"]), 0);
        assert_eq!(run::<i64>(con, &["EXPIRE", "p", "10", "LT"]), 1);

        assert_eq!(run::<i64>(con, &["PEXPIRE", "k", "500000"]), 1);
        let pttl: i64 = run(con, &["PTTL", "k"]);
        assert!((490_000..=500_000).contains(&pttl), "PTTL {pttl}");
        let at = now_ms() / 1000 + 1000;
        assert_eq!(run::<i64>(con, &["EXPIREAT", "k", &at.to_string()]), 1);
        assert_eq!(run::<i64>(con, &["EXPIRETIME", "k"]), at);
        assert_eq!(run::<i64>(con, &["PEXPIRETIME", "k"]), at * 1000);
        let pat = now_ms() + 2_000_000;
        assert_eq!(
            run::<i64>(con, &["PEXPIREAT", "k", &pat.to_string(), "GT"]),
            1
        );
        assert_eq!(run::<i64>(con, &["PEXPIRETIME", "k"]), pat);
        assert_eq!(run::<i64>(con, &["EXPIRETIME", "k"]), pat / 1000);

        assert_eq!(run::<i64>(con, &["PERSIST", "k"]), 1);
        assert_eq!(run::<i64>(con, &["PERSIST", "k"]), 0);
        assert_eq!(run::<i64>(con, &["TTL", "k"]), -1);

        // A deadline in the past deletes the key at once.
        assert_eq!(run::<i64>(con, &["PEXPIREAT", "k", "1"]), 1);
        assert_eq!(run::<i64>(con, &["EXISTS", "k"]), 0);
        run::<()>(con, &["SET", "k", "v"]);
        assert_eq!(run::<i64>(con, &["EXPIRE", "k", "-1"]), 1);
        assert_eq!(run::<i64>(con, &["EXISTS", "k"]), 0);

        run::<()>(con, &["SET", "k", "v"]);
        for (args, reply) in [
            (
                &["EXPIRE", "k", "10", "NX", "XX"][..],
                "ERR NX and XX, GT or LT options at the same time are not compatible",
            ),
            (
                &["EXPIRE", "k", "10", "GT", "LT"],
                "ERR GT and LT options at the same time are not compatible",
            ),
            (&["EXPIRE", "k", "10", "FOO"], "ERR Unsupported option FOO"),
            (
                &["EXPIRE", "k", "ten"],
                "ERR value is not an integer or out of range",
            ),
            (
                &["EXPIRE", "k", "9223372036854775807"],
                "ERR invalid expire time in 'expire' command",
            ),
        ] {
            assert_eq!(error(con, args), reply, "{args:?}");
        }
    });
}

/// Every key a full SCAN returns, following the cursor to 0.
fn scan_all(con: &mut redis::Connection, options: &[&str]) -> BTreeSet<String> {
    let mut cursor = "0".to_string();
    let mut seen = BTreeSet::new();
    let mut rounds = 0;
    loop {
        let mut words = vec!["SCAN", cursor.as_str()];
        words.extend_from_slice(options);
        let (next, keys): (String, Vec<String>) = run(con, &words);
        seen.extend(keys);
        rounds += 1;
        assert!(rounds < 10_000, "SCAN never returned to cursor 0");
        if next == "0" {
            return seen;
        }
        cursor = next;
    }
}

#[test]
fn keys_and_scan() {
    each_protocol(|_, con, _| {
        let mut expected = BTreeSet::new();
        for i in 0..300 {
            let key = format!("user:{i}");
            run::<()>(con, &["SET", &key, "v"]);
            expected.insert(key);
        }
        run::<()>(con, &["SET", "other", "v"]);
        let mut keys: Vec<String> = run(con, &["KEYS", "user:*"]);
        keys.sort();
        assert_eq!(keys.len(), 300);
        let mut ones: Vec<String> = run(con, &["KEYS", "user:1?"]);
        ones.sort();
        assert_eq!(
            ones,
            (10..20).map(|i| format!("user:{i}")).collect::<Vec<_>>()
        );
        assert_eq!(
            run::<Vec<String>>(con, &["KEYS", "nothing*"]),
            Vec::<String>::new()
        );

        assert_eq!(scan_all(con, &["MATCH", "user:*", "COUNT", "7"]), expected);
        let everything = scan_all(con, &[]);
        assert_eq!(everything.len(), 301);
        assert_eq!(
            scan_all(con, &["TYPE", "string", "COUNT", "1000"]).len(),
            301
        );
        assert!(scan_all(con, &["TYPE", "list"]).is_empty());
        assert_eq!(error(con, &["SCAN", "x"]), "ERR invalid cursor");
        assert_eq!(error(con, &["SCAN", "0", "COUNT", "0"]), "ERR syntax error");
        assert_eq!(error(con, &["SCAN", "0", "MATCH"]), "ERR syntax error");
    });
}

#[test]
fn randomkey() {
    each_protocol(|_, con, _| {
        assert_eq!(value(con, &["RANDOMKEY"]), Value::Nil);
        run::<()>(con, &["SET", "only", "v"]);
        assert_eq!(run::<String>(con, &["RANDOMKEY"]), "only");
        run::<()>(con, &["SET", "second", "v"]);
        let key: String = run(con, &["RANDOMKEY"]);
        assert!(key == "only" || key == "second", "{key}");
    });
}

#[test]
fn rename_renamenx_copy_and_move() {
    each_protocol(|_, con, _| {
        run::<()>(con, &["SET", "a", "1", "EX", "100"]);
        assert_eq!(value(con, &["RENAME", "a", "b"]), Value::Okay);
        assert_eq!(run::<i64>(con, &["EXISTS", "a"]), 0);
        assert_eq!(run::<String>(con, &["GET", "b"]), "1");
        assert!(run::<i64>(con, &["TTL", "b"]) > 0, "RENAME keeps the TTL");
        assert_eq!(error(con, &["RENAME", "a", "c"]), "ERR no such key");
        run::<()>(con, &["SET", "c", "3"]);
        assert_eq!(run::<i64>(con, &["RENAMENX", "b", "c"]), 0);
        assert_eq!(run::<i64>(con, &["RENAMENX", "b", "d"]), 1);
        assert_eq!(run::<String>(con, &["GET", "d"]), "1");

        assert_eq!(run::<i64>(con, &["COPY", "d", "e"]), 1);
        assert_eq!(run::<i64>(con, &["COPY", "d", "c"]), 0);
        assert_eq!(run::<i64>(con, &["COPY", "d", "c", "REPLACE"]), 1);
        assert_eq!(run::<String>(con, &["GET", "c"]), "1");
        assert_eq!(run::<i64>(con, &["COPY", "missing", "x"]), 0);
        assert_eq!(run::<i64>(con, &["COPY", "d", "d2", "DB", "3"]), 1);
        assert_eq!(
            error(con, &["COPY", "d", "d"]),
            "ERR source and destination objects are the same"
        );
        assert_eq!(
            error(con, &["COPY", "d", "x", "DB", "99"]),
            "ERR DB index is out of range"
        );

        assert_eq!(run::<i64>(con, &["MOVE", "e", "3"]), 1);
        assert_eq!(run::<i64>(con, &["MOVE", "e", "3"]), 0);
        assert_eq!(run::<i64>(con, &["EXISTS", "e"]), 0);
        assert_eq!(
            error(con, &["MOVE", "d", "0"]),
            "ERR source and destination objects are the same"
        );
        run::<()>(con, &["SELECT", "3"]);
        let moved: Vec<String> = run(con, &["MGET", "e", "d2"]);
        assert_eq!(moved, ["1", "1"]);
    });
}

#[test]
fn databases_swapdb_dbsize_and_flushes() {
    each_protocol(|_, con, _| {
        run::<()>(con, &["MSET", "a", "1", "b", "2"]);
        run::<()>(con, &["SELECT", "1"]);
        run::<()>(con, &["SET", "c", "3"]);
        assert_eq!(run::<i64>(con, &["DBSIZE"]), 1);
        assert_eq!(value(con, &["SWAPDB", "0", "1"]), Value::Okay);
        assert_eq!(run::<i64>(con, &["DBSIZE"]), 2);
        assert_eq!(run::<String>(con, &["GET", "a"]), "1");
        run::<()>(con, &["SELECT", "0"]);
        assert_eq!(run::<i64>(con, &["DBSIZE"]), 1);
        assert_eq!(
            error(con, &["SWAPDB", "0", "16"]),
            "ERR DB index is out of range"
        );
        assert_eq!(
            error(con, &["SWAPDB", "x", "1"]),
            "ERR invalid first DB index"
        );

        assert_eq!(value(con, &["FLUSHDB"]), Value::Okay);
        assert_eq!(run::<i64>(con, &["DBSIZE"]), 0);
        run::<()>(con, &["SELECT", "1"]);
        assert_eq!(
            run::<i64>(con, &["DBSIZE"]),
            2,
            "FLUSHDB clears only its database"
        );
        run::<()>(con, &["SELECT", "0"]);
        run::<()>(con, &["SET", "z", "1"]);
        assert_eq!(value(con, &["FLUSHALL", "SYNC"]), Value::Okay);
        assert_eq!(run::<i64>(con, &["DBSIZE"]), 0);
        run::<()>(con, &["SELECT", "1"]);
        assert_eq!(run::<i64>(con, &["DBSIZE"]), 0);
        assert_eq!(value(con, &["FLUSHDB", "ASYNC"]), Value::Okay);
        assert_eq!(error(con, &["FLUSHALL", "LATER"]), "ERR syntax error");
    });
}

#[test]
fn object_subcommands() {
    each_protocol(|_, con, _| {
        run::<()>(con, &["SET", "int", "12345"]);
        run::<()>(con, &["SET", "short", "hello"]);
        run::<()>(con, &["SET", "long", &"x".repeat(100)]);
        assert_eq!(run::<String>(con, &["OBJECT", "ENCODING", "int"]), "int");
        assert_eq!(
            run::<String>(con, &["OBJECT", "ENCODING", "short"]),
            "embstr"
        );
        assert_eq!(run::<String>(con, &["OBJECT", "ENCODING", "long"]), "raw");
        assert_eq!(value(con, &["OBJECT", "ENCODING", "missing"]), Value::Nil);
        assert_eq!(run::<i64>(con, &["OBJECT", "REFCOUNT", "short"]), 1);
        assert_eq!(value(con, &["OBJECT", "REFCOUNT", "missing"]), Value::Nil);
        let idle: i64 = run(con, &["OBJECT", "IDLETIME", "short"]);
        assert!(idle >= 0);
        assert!(
            error(con, &["OBJECT", "FREQ", "short"])
                .starts_with("ERR An LFU maxmemory policy is not selected")
        );
        let help: Vec<Value> = run(con, &["OBJECT", "HELP"]);
        assert!(text(&help[0]).starts_with("OBJECT <subcommand>"));
        assert!(help.len() > 4);
        assert_eq!(
            error(con, &["OBJECT", "NOPE", "k"]),
            "ERR unknown subcommand 'NOPE'. Try OBJECT HELP."
        );
    });
}
