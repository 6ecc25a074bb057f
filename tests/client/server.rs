//! Server commands: INFO, COMMAND, CONFIG, TIME, LASTSAVE, MONITOR, SHUTDOWN,
//! FUNCTION FLUSH and DEBUG.

use redis::Value;

use crate::{each_protocol, error, info, info_int, is_closed, pairs, run, text, value, wait_until};

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[test]
fn info_carries_the_fields_clients_read() {
    each_protocol(|server, con, resp3| {
        let reply = value(con, &["INFO"]);
        assert_eq!(matches!(reply, Value::VerbatimString { .. }), resp3);
        let all = text(&reply);
        for section in [
            "# Server",
            "# Clients",
            "# Memory",
            "# Persistence",
            "# Stats",
            "# Replication",
            "# CPU",
            "# Cluster",
            "# Keyspace",
        ] {
            assert!(all.contains(section), "INFO lacks {section}");
        }
        let fields = info(con, None);
        assert!(
            fields["redis_version"].starts_with("7."),
            "{}",
            fields["redis_version"]
        );
        assert_eq!(fields["arch_bits"], "64");
        assert_eq!(fields["cluster_enabled"], "0");
        assert_eq!(fields["role"], "master");
        assert_eq!(fields["connected_clients"], "1");
        assert_eq!(fields["blocked_clients"], "0");
        assert!(fields["used_memory"].parse::<u64>().unwrap() > 0);
        assert_eq!(fields["expired_keys"], "0");
        assert!(
            !fields.contains_key("db0"),
            "an empty database is not listed"
        );

        run::<()>(con, &["SET", "a", "1"]);
        run::<()>(con, &["SET", "b", "2", "EX", "100"]);
        run::<()>(con, &["SELECT", "3"]);
        run::<()>(con, &["SET", "c", "3"]);
        let keyspace = info(con, Some("keyspace"));
        assert_eq!(keyspace["db0"], "keys=2,expires=1,avg_ttl=0");
        assert_eq!(keyspace["db3"], "keys=1,expires=0,avg_ttl=0");
        assert!(
            !keyspace.contains_key("redis_version"),
            "only the section asked for"
        );

        // connected_clients follows connections coming and going.
        let other = server.client(resp3);
        assert_eq!(info_int(con, "clients", "connected_clients"), 2);
        drop(other);
        wait_until("the closed client to leave", || {
            info_int(con, "clients", "connected_clients") == 1
        });

        // Lazy expiry counts in expired_keys.
        run::<()>(con, &["SET", "gone", "v", "PXAT", "1"]);
        let stats = info(con, Some("stats"));
        assert!(stats.contains_key("expired_keys"));
        let commandstats = info(con, Some("commandstats"));
        assert!(
            commandstats["cmdstat_set"].starts_with("calls="),
            "{commandstats:?}"
        );
    });
}

#[test]
fn command_count_info_docs_and_list() {
    each_protocol(|_, con, resp3| {
        let count: i64 = run(con, &["COMMAND", "COUNT"]);
        let names: Vec<String> = run(con, &["COMMAND", "LIST"]);
        // COMMAND LIST also names subcommands (`client|list`); COUNT counts commands.
        let top_level = names.iter().filter(|n| !n.contains('|')).count();
        assert_eq!(count as usize, top_level);
        for name in [
            "get",
            "set",
            "client",
            "command",
            "config",
            "info",
            "hello",
            "client|list",
        ] {
            assert!(names.iter().any(|n| n == name), "COMMAND LIST lacks {name}");
        }
        let all: Vec<Value> = run(con, &["COMMAND"]);
        assert_eq!(all.len(), top_level);

        let info: Vec<Value> = run(con, &["COMMAND", "INFO", "get", "nosuch"]);
        let Value::Array(get) = &info[0] else {
            panic!("{info:?}")
        };
        assert_eq!(text(&get[0]), "get");
        assert_eq!(get[1], Value::Int(2));
        assert_eq!(&get[3..6], [Value::Int(1), Value::Int(1), Value::Int(1)]);
        assert_eq!(info[1], Value::Nil);

        let docs = pairs(value(con, &["COMMAND", "DOCS", "get"]));
        assert_eq!(docs[0].0, "get");
        let fields = pairs(docs[0].1.clone());
        let names: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["summary", "since", "group", "arguments"]);
        assert_eq!(text(&fields[2].1), "string");
        let Value::Array(arguments) = &fields[3].1 else {
            panic!("{fields:?}")
        };
        let key = pairs(arguments[0].clone());
        assert_eq!(text(&key[0].1), "key");
        assert_eq!(text(&key[1].1), "key");
        let whole = value(con, &["COMMAND", "DOCS", "ping"]);
        assert_eq!(matches!(whole, Value::Map(_)), resp3);

        let filtered: Vec<String> = run(con, &["COMMAND", "LIST", "FILTERBY", "PATTERN", "get*"]);
        assert!(filtered.iter().all(|n| n.starts_with("get")));
        assert!(filtered.contains(&"getex".to_string()));
        assert_eq!(
            error(con, &["COMMAND", "NOSUCH"]),
            "ERR unknown subcommand 'NOSUCH'. Try COMMAND HELP."
        );
    });
}

#[test]
fn config_get_set_and_resetstat() {
    each_protocol(|_, con, resp3| {
        let reply = value(con, &["CONFIG", "GET", "maxclients"]);
        assert_eq!(matches!(reply, Value::Map(_)), resp3);
        let fields = pairs(reply);
        assert_eq!(fields.len(), 1);
        assert_eq!(fields[0].0, "maxclients");
        assert_eq!(text(&fields[0].1), "10000");
        let many = pairs(value(con, &["CONFIG", "GET", "max*", "timeout"]));
        assert!(many.iter().any(|(k, _)| k == "maxmemory"));
        assert!(many.iter().any(|(k, _)| k == "timeout"));

        assert_eq!(
            text(&pairs(value(con, &["CONFIG", "GET", "timeout"]))[0].1),
            "0"
        );
        assert_eq!(
            value(con, &["CONFIG", "SET", "timeout", "300"]),
            Value::Okay
        );
        assert_eq!(
            text(&pairs(value(con, &["CONFIG", "GET", "timeout"]))[0].1),
            "300"
        );
        run::<()>(con, &["CONFIG", "SET", "timeout", "0"]);
        // Options Redis has and broker-server does not tune are accepted and
        // reported back.
        for (name, setting) in [
            ("save", ""),
            ("appendfsync", "everysec"),
            ("list-max-listpack-size", "-2"),
        ] {
            assert_eq!(
                value(con, &["CONFIG", "SET", name, setting]),
                Value::Okay,
                "{name}"
            );
            let got = pairs(value(con, &["CONFIG", "GET", name]));
            assert_eq!(got.len(), 1, "CONFIG GET {name}");
        }
        assert_eq!(
            error(con, &["CONFIG", "SET", "no-such-option", "1"]),
            "ERR Unknown option or number of arguments for CONFIG SET - 'no-such-option'"
        );
        assert!(
            error(con, &["CONFIG", "SET", "maxclients", "lots"])
                .starts_with("ERR CONFIG SET failed (possibly related to argument 'maxclients')")
        );
        assert!(pairs(value(con, &["CONFIG", "GET", "no-such-option"])).is_empty());

        for _ in 0..5 {
            run::<()>(con, &["PING"]);
        }
        assert!(info(con, Some("commandstats")).contains_key("cmdstat_ping"));
        assert_eq!(value(con, &["CONFIG", "RESETSTAT"]), Value::Okay);
        let stats = info(con, Some("commandstats"));
        assert!(!stats.contains_key("cmdstat_ping"), "{stats:?}");
    });
}

#[test]
fn time_and_lastsave() {
    each_protocol(|_, con, _| {
        let before = now_secs();
        let (seconds, micros): (i64, i64) = run(con, &["TIME"]);
        let after = now_secs();
        assert!((before..=after).contains(&seconds));
        assert!((0..1_000_000).contains(&micros));
        let lastsave: i64 = run(con, &["LASTSAVE"]);
        assert!(lastsave > 1_600_000_000 && lastsave <= after);
    });
}

#[test]
fn monitor_sees_other_clients_commands() {
    each_protocol(|server, con, resp3| {
        let mut monitor = server.client(resp3);
        assert_eq!(value(&mut monitor, &["MONITOR"]), Value::Okay);
        run::<()>(con, &["SET", "watched", "a b\"c"]);
        let line = text(&monitor.recv_response().unwrap());
        assert!(
            line.ends_with(r#""SET" "watched" "a b\"c""#),
            "MONITOR line: {line}"
        );
        let (seconds, rest) = line.split_once('.').unwrap();
        assert!(seconds.parse::<u64>().is_ok(), "{line}");
        assert!(rest.contains(" [0 127.0.0.1:"), "{line}");
        run::<String>(con, &["GET", "watched"]);
        let line = text(&monitor.recv_response().unwrap());
        assert!(line.ends_with(r#""GET" "watched""#), "{line}");
    });
}

#[test]
fn shutdown_stops_the_server() {
    each_protocol(|server, con, resp3| {
        let mut bystander = server.client(resp3);
        assert_eq!(error(con, &["SHUTDOWN", "LATER"]), "ERR syntax error");
        // A successful SHUTDOWN answers nothing: the connection just closes.
        assert!(
            redis::cmd("SHUTDOWN")
                .arg("NOSAVE")
                .query::<Value>(con)
                .is_err()
        );
        assert!(server.state().shutdown.is_cancelled());
        assert!(is_closed(&mut bystander));
    });
}

#[test]
fn function_flush_and_debug() {
    each_protocol(|_, con, _| {
        assert_eq!(value(con, &["FUNCTION", "FLUSH"]), Value::Okay);
        assert_eq!(value(con, &["FUNCTION", "FLUSH", "ASYNC"]), Value::Okay);
        assert_eq!(value(con, &["FUNCTION", "FLUSH", "sync"]), Value::Okay);
        assert_eq!(
            error(con, &["FUNCTION", "FLUSH", "LATER"]),
            "ERR FUNCTION FLUSH only supports SYNC|ASYNC option"
        );
        let debug = error(con, &["DEBUG", "SLEEP", "0"]);
        assert!(debug.starts_with("ERR DEBUG is not supported"), "{debug}");
        assert_eq!(value(con, &["PING"]), Value::SimpleString("PONG".into()));
    });
}

#[test]
fn role_is_master_and_replication_is_refused() {
    each_protocol(|_, con, _| {
        assert_eq!(
            value(con, &["ROLE"]),
            Value::Array(vec![
                Value::BulkString(b"master".to_vec()),
                Value::Int(0),
                Value::Array(vec![])
            ])
        );
        assert_eq!(value(con, &["REPLICAOF", "NO", "ONE"]), Value::Okay);
        for command in ["REPLICAOF", "SLAVEOF"] {
            let refused = error(con, &[command, "127.0.0.1", "6380"]);
            assert!(
                refused.starts_with("ERR broker-server does not replicate"),
                "{refused}"
            );
        }
        assert_eq!(
            value(con, &["ROLE"]).as_sequence().map(|s| s.len()),
            Some(3)
        );
    });
}
