//! String commands: GET, SET and its options, SETEX, PSETEX, SETNX, MGET, MSET,
//! MSETNX, GETSET, GETDEL, GETEX, the counters, APPEND, STRLEN, GETRANGE, SETRANGE.

use redis::Value;

use crate::common::TestServer;
use crate::{each_protocol, error, now_ms, run, run_bytes, value};

#[test]
fn get_and_set_are_binary_safe() {
    each_protocol(|_, con, _| {
        assert_eq!(value(con, &["GET", "missing"]), Value::Nil);
        assert_eq!(value(con, &["SET", "k", "v"]), Value::Okay);
        assert_eq!(run::<String>(con, &["GET", "k"]), "v");
        let key: &[u8] = b"celery\x06\x163";
        let data: &[u8] = b"\x00\xff\r\n$-1\r\n";
        let ok: Value = run_bytes(con, &[b"SET", key, data]);
        assert_eq!(ok, Value::Okay);
        let back: Vec<u8> = run_bytes(con, &[b"GET", key]);
        assert_eq!(back, data);
        assert_eq!(run::<String>(con, &["SET", "empty", ""]), "OK");
        assert_eq!(value(con, &["GET", "empty"]), Value::BulkString(vec![]));
        assert_eq!(
            error(con, &["GET"]),
            "ERR wrong number of arguments for 'get' command"
        );
    });
}

#[test]
fn set_conditions_and_get_option() {
    each_protocol(|_, con, _| {
        assert_eq!(value(con, &["SET", "k", "v1", "NX"]), Value::Okay);
        assert_eq!(value(con, &["SET", "k", "v2", "NX"]), Value::Nil);
        assert_eq!(value(con, &["SET", "other", "v", "XX"]), Value::Nil);
        assert_eq!(value(con, &["EXISTS", "other"]), Value::Int(0));
        assert_eq!(value(con, &["SET", "k", "v2", "XX"]), Value::Okay);
        assert_eq!(run::<String>(con, &["SET", "k", "v3", "GET"]), "v2");
        assert_eq!(value(con, &["SET", "new", "v", "GET"]), Value::Nil);
        assert_eq!(run::<String>(con, &["GET", "new"]), "v");
        // NX with GET (Redis 7.0): the old value comes back and nothing is written.
        assert_eq!(run::<String>(con, &["SET", "k", "v4", "NX", "GET"]), "v3");
        assert_eq!(run::<String>(con, &["GET", "k"]), "v3");
        assert_eq!(
            value(con, &["SET", "k", "v5", "XX", "GET"]).clone(),
            Value::BulkString(b"v3".to_vec())
        );
        assert_eq!(
            error(con, &["SET", "k", "v", "NX", "XX"]),
            "ERR syntax error"
        );
        assert_eq!(error(con, &["SET", "k", "v", "BOGUS"]), "ERR syntax error");
    });
}

#[test]
fn set_expiry_options() {
    each_protocol(|_, con, _| {
        run::<()>(con, &["SET", "ex", "v", "EX", "100"]);
        let ttl: i64 = run(con, &["TTL", "ex"]);
        assert!((99..=100).contains(&ttl), "TTL {ttl}");
        run::<()>(con, &["SET", "px", "v", "PX", "100000"]);
        let pttl: i64 = run(con, &["PTTL", "px"]);
        assert!((90_000..=100_000).contains(&pttl), "PTTL {pttl}");
        let at = now_ms() / 1000 + 1000;
        run::<()>(con, &["SET", "exat", "v", "EXAT", &at.to_string()]);
        assert_eq!(run::<i64>(con, &["EXPIRETIME", "exat"]), at);
        let pat = now_ms() + 1_000_000;
        run::<()>(con, &["SET", "pxat", "v", "PXAT", &pat.to_string()]);
        assert_eq!(run::<i64>(con, &["PEXPIRETIME", "pxat"]), pat);
        // KEEPTTL keeps the deadline; a plain SET clears it.
        run::<()>(con, &["SET", "pxat", "v2", "KEEPTTL"]);
        assert_eq!(run::<i64>(con, &["PEXPIRETIME", "pxat"]), pat);
        assert_eq!(run::<String>(con, &["GET", "pxat"]), "v2");
        run::<()>(con, &["SET", "pxat", "v3"]);
        assert_eq!(run::<i64>(con, &["TTL", "pxat"]), -1);
        // A deadline already past removes the key.
        run::<()>(con, &["SET", "past", "v", "PXAT", "1"]);
        assert_eq!(value(con, &["GET", "past"]), Value::Nil);
        for (args, reply) in [
            (
                &["SET", "k", "v", "EX", "0"][..],
                "ERR invalid expire time in 'set' command",
            ),
            (
                &["SET", "k", "v", "PX", "-5"],
                "ERR invalid expire time in 'set' command",
            ),
            (
                &["SET", "k", "v", "EX", "ten"],
                "ERR value is not an integer or out of range",
            ),
            (
                &["SET", "k", "v", "EX", "10", "PX", "10"],
                "ERR syntax error",
            ),
            (&["SET", "k", "v", "KEEPTTL", "EX", "5"], "ERR syntax error"),
            (&["SET", "k", "v", "EX"], "ERR syntax error"),
        ] {
            assert_eq!(error(con, args), reply, "{args:?}");
        }
    });
}

#[test]
fn setex_psetex_and_setnx() {
    each_protocol(|_, con, _| {
        assert_eq!(value(con, &["SETEX", "s", "100", "v"]), Value::Okay);
        let ttl: i64 = run(con, &["TTL", "s"]);
        assert!((99..=100).contains(&ttl));
        assert_eq!(run::<String>(con, &["GET", "s"]), "v");
        assert_eq!(value(con, &["PSETEX", "p", "100000", "v"]), Value::Okay);
        let pttl: i64 = run(con, &["PTTL", "p"]);
        assert!((90_000..=100_000).contains(&pttl));
        assert_eq!(
            error(con, &["SETEX", "s", "0", "v"]),
            "ERR invalid expire time in 'setex' command"
        );
        assert_eq!(
            error(con, &["PSETEX", "p", "-1", "v"]),
            "ERR invalid expire time in 'psetex' command"
        );
        assert_eq!(run::<i64>(con, &["SETNX", "n", "1"]), 1);
        assert_eq!(run::<i64>(con, &["SETNX", "n", "2"]), 0);
        assert_eq!(run::<String>(con, &["GET", "n"]), "1");
    });
}

#[test]
fn mget_mset_and_msetnx() {
    each_protocol(|_, con, _| {
        assert_eq!(value(con, &["MSET", "a", "1", "b", "2"]), Value::Okay);
        let values: Vec<Option<String>> = run(con, &["MGET", "a", "missing", "b"]);
        assert_eq!(values, [Some("1".into()), None, Some("2".into())]);
        assert_eq!(
            value(con, &["MGET", "x", "y"]),
            Value::Array(vec![Value::Nil, Value::Nil])
        );
        assert_eq!(
            error(con, &["MSET", "a", "1", "b"]),
            "ERR wrong number of arguments for 'mset' command"
        );
        // MSETNX writes all or nothing.
        assert_eq!(run::<i64>(con, &["MSETNX", "a", "9", "c", "3"]), 0);
        assert_eq!(value(con, &["GET", "c"]), Value::Nil);
        assert_eq!(run::<i64>(con, &["MSETNX", "c", "3", "d", "4"]), 1);
        let values: Vec<String> = run(con, &["MGET", "a", "c", "d"]);
        assert_eq!(values, ["1", "3", "4"]);
    });
}

#[test]
fn getset_getdel_and_getex() {
    each_protocol(|_, con, _| {
        assert_eq!(value(con, &["GETSET", "k", "1"]), Value::Nil);
        assert_eq!(run::<String>(con, &["GETSET", "k", "2"]), "1");
        run::<()>(con, &["EXPIRE", "k", "100"]);
        run::<String>(con, &["GETSET", "k", "3"]);
        assert_eq!(run::<i64>(con, &["TTL", "k"]), -1, "GETSET clears the TTL");
        assert_eq!(run::<String>(con, &["GETDEL", "k"]), "3");
        assert_eq!(value(con, &["GETDEL", "k"]), Value::Nil);
        assert_eq!(run::<i64>(con, &["EXISTS", "k"]), 0);

        run::<()>(con, &["SET", "g", "v"]);
        assert_eq!(run::<String>(con, &["GETEX", "g"]), "v");
        assert_eq!(run::<i64>(con, &["TTL", "g"]), -1);
        assert_eq!(run::<String>(con, &["GETEX", "g", "EX", "100"]), "v");
        assert!((99..=100).contains(&run::<i64>(con, &["TTL", "g"])));
        assert_eq!(run::<String>(con, &["GETEX", "g", "PX", "200000"]), "v");
        assert!(run::<i64>(con, &["PTTL", "g"]) > 100_000);
        let at = now_ms() / 1000 + 500;
        run::<String>(con, &["GETEX", "g", "EXAT", &at.to_string()]);
        assert_eq!(run::<i64>(con, &["EXPIRETIME", "g"]), at);
        let pat = now_ms() + 500_000;
        run::<String>(con, &["GETEX", "g", "PXAT", &pat.to_string()]);
        assert_eq!(run::<i64>(con, &["PEXPIRETIME", "g"]), pat);
        assert_eq!(run::<String>(con, &["GETEX", "g", "PERSIST"]), "v");
        assert_eq!(run::<i64>(con, &["TTL", "g"]), -1);
        assert_eq!(value(con, &["GETEX", "missing", "EX", "10"]), Value::Nil);
        assert_eq!(
            error(con, &["GETEX", "g", "EX", "10", "PERSIST"]),
            "ERR syntax error"
        );
        assert_eq!(
            error(con, &["GETEX", "g", "EX", "0"]),
            "ERR invalid expire time in 'getex' command"
        );
    });
}

#[test]
fn counters() {
    each_protocol(|_, con, _| {
        assert_eq!(run::<i64>(con, &["INCR", "c"]), 1);
        assert_eq!(run::<i64>(con, &["INCRBY", "c", "41"]), 42);
        assert_eq!(run::<i64>(con, &["DECR", "c"]), 41);
        assert_eq!(run::<i64>(con, &["DECRBY", "c", "50"]), -9);
        assert_eq!(run::<String>(con, &["GET", "c"]), "-9");
        run::<()>(con, &["SET", "max", &i64::MAX.to_string()]);
        assert_eq!(
            error(con, &["INCR", "max"]),
            "ERR increment or decrement would overflow"
        );
        assert_eq!(
            error(con, &["DECRBY", "c", "-9223372036854775808"]),
            "ERR decrement would overflow"
        );
        run::<()>(con, &["SET", "text", "abc"]);
        assert_eq!(
            error(con, &["INCR", "text"]),
            "ERR value is not an integer or out of range"
        );
        assert_eq!(
            error(con, &["INCRBY", "c", "1.5"]),
            "ERR value is not an integer or out of range"
        );
        // INCRBYFLOAT answers a bulk string in both protocols, as Redis does.
        run::<()>(con, &["SET", "f", "10.5"]);
        assert_eq!(
            value(con, &["INCRBYFLOAT", "f", "0.1"]),
            Value::BulkString(b"10.6".to_vec())
        );
        assert_eq!(run::<String>(con, &["INCRBYFLOAT", "f", "-5"]), "5.6");
        assert_eq!(run::<String>(con, &["INCRBYFLOAT", "newf", "5e3"]), "5000");
        assert_eq!(
            error(con, &["INCRBYFLOAT", "f", "x"]),
            "ERR value is not a valid float"
        );
        assert_eq!(
            error(con, &["INCRBYFLOAT", "text", "1"]),
            "ERR value is not a valid float"
        );
        assert_eq!(
            error(con, &["INCRBYFLOAT", "f", "inf"]),
            "ERR increment would produce NaN or Infinity"
        );
    });
}

#[test]
fn append_strlen_getrange_setrange() {
    each_protocol(|_, con, _| {
        assert_eq!(run::<i64>(con, &["APPEND", "s", "hello"]), 5);
        assert_eq!(run::<i64>(con, &["APPEND", "s", " world"]), 11);
        assert_eq!(run::<i64>(con, &["STRLEN", "s"]), 11);
        assert_eq!(run::<i64>(con, &["STRLEN", "missing"]), 0);
        assert_eq!(run::<String>(con, &["GETRANGE", "s", "0", "4"]), "hello");
        assert_eq!(run::<String>(con, &["GETRANGE", "s", "-5", "-1"]), "world");
        assert_eq!(run::<String>(con, &["GETRANGE", "s", "6", "1000"]), "world");
        assert_eq!(run::<String>(con, &["GETRANGE", "s", "5", "2"]), "");
        assert_eq!(run::<String>(con, &["GETRANGE", "missing", "0", "-1"]), "");
        assert_eq!(run::<String>(con, &["SUBSTR", "s", "0", "4"]), "hello");
        assert_eq!(run::<i64>(con, &["SETRANGE", "s", "6", "WORLD"]), 11);
        assert_eq!(run::<String>(con, &["GET", "s"]), "hello WORLD");
        // Writing past the end pads with zero bytes.
        assert_eq!(run::<i64>(con, &["SETRANGE", "pad", "3", "x"]), 4);
        assert_eq!(run::<Vec<u8>>(con, &["GET", "pad"]), b"\0\0\0x");
        assert_eq!(run::<i64>(con, &["SETRANGE", "nothing", "5", ""]), 0);
        assert_eq!(run::<i64>(con, &["EXISTS", "nothing"]), 0);
        assert_eq!(
            error(con, &["SETRANGE", "s", "-1", "x"]),
            "ERR offset is out of range"
        );
        assert_eq!(
            error(con, &["SETRANGE", "s", "536870912", "x"]),
            "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
        );
        assert_eq!(
            error(con, &["GETRANGE", "s", "a", "1"]),
            "ERR value is not an integer or out of range"
        );
    });
}

#[test]
fn nulls_are_resp3_nulls_on_a_resp3_connection() {
    // The crate reads both `$-1` and `_` as Nil; the raw bytes are checked here.
    let server = TestServer::start();
    let mut raw = server.raw();
    raw.call(&["HELLO", "3"]);
    assert_eq!(raw.call_raw(&[b"GET", b"nokey"]), b"_\r\n");
    assert_eq!(raw.call_raw(&[b"GETDEL", b"nokey"]), b"_\r\n");
    assert_eq!(raw.call_raw(&[b"SET", b"k", b"v", b"NX", b"GET"]), b"_\r\n");
    assert_eq!(raw.call_raw(&[b"SET", b"k", b"v", b"NX"]), b"_\r\n");
}
