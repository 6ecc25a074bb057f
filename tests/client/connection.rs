//! Connection commands (PING, ECHO, QUIT, RESET, SELECT, HELLO, AUTH) and CLIENT.

use redis::Value;

use crate::{each_protocol, error, is_closed, pairs, run, text, value, wait_until};

#[test]
fn ping_and_echo() {
    each_protocol(|_, con, _| {
        assert_eq!(value(con, &["PING"]), Value::SimpleString("PONG".into()));
        assert_eq!(
            value(con, &["PING", "hi"]),
            Value::BulkString(b"hi".to_vec())
        );
        assert_eq!(run::<String>(con, &["ECHO", "hello world"]), "hello world");
        assert_eq!(
            error(con, &["PING", "a", "b"]),
            "ERR wrong number of arguments for 'ping' command"
        );
        assert_eq!(
            error(con, &["ECHO"]),
            "ERR wrong number of arguments for 'echo' command"
        );
    });
}

#[test]
fn select_isolates_databases() {
    each_protocol(|_, con, _| {
        run::<()>(con, &["SET", "k", "db0"]);
        assert_eq!(value(con, &["SELECT", "15"]), Value::Okay);
        assert_eq!(value(con, &["GET", "k"]), Value::Nil);
        run::<()>(con, &["SET", "k", "db15"]);
        run::<()>(con, &["SELECT", "0"]);
        assert_eq!(run::<String>(con, &["GET", "k"]), "db0");
        assert_eq!(
            error(con, &["SELECT", "16"]),
            "ERR DB index is out of range"
        );
        assert_eq!(
            error(con, &["SELECT", "-1"]),
            "ERR DB index is out of range"
        );
        assert_eq!(
            error(con, &["SELECT", "x"]),
            "ERR value is not an integer or out of range"
        );
    });
}

/// HELLO's fields, by name.
fn hello_fields(reply: Value) -> Vec<(String, Value)> {
    pairs(reply)
}

#[test]
fn hello_reports_and_switches_protocol() {
    each_protocol(|_, con, resp3| {
        let id: i64 = run(con, &["CLIENT", "ID"]);
        let reply = value(con, &["HELLO"]);
        assert_eq!(matches!(reply, Value::Map(_)), resp3, "{reply:?}");
        let fields = hello_fields(reply);
        let names: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "server", "version", "proto", "id", "mode", "role", "modules"
            ]
        );
        assert_eq!(text(&fields[0].1), "redis");
        assert!(text(&fields[1].1).starts_with("7."));
        assert_eq!(fields[2].1, Value::Int(if resp3 { 3 } else { 2 }));
        assert_eq!(fields[3].1, Value::Int(id));
        assert_eq!(text(&fields[4].1), "standalone");
        assert_eq!(text(&fields[5].1), "master");
        assert_eq!(fields[6].1, Value::Array(vec![]));

        // HELLO 3 SETNAME names the connection.
        let fields = hello_fields(value(con, &["HELLO", "3", "SETNAME", "worker-1"]));
        assert_eq!(fields[2].1, Value::Int(3));
        assert_eq!(run::<String>(con, &["CLIENT", "GETNAME"]), "worker-1");
        let fields = hello_fields(value(con, &["HELLO", "2"]));
        assert_eq!(fields[2].1, Value::Int(2));
        assert_eq!(
            error(con, &["HELLO", "4"]),
            "NOPROTO unsupported protocol version"
        );
        assert_eq!(
            error(con, &["HELLO", "x"]),
            "ERR Protocol version is not an integer or out of range"
        );
        assert_eq!(
            error(con, &["HELLO", "3", "BOGUS"]),
            "ERR Syntax error in HELLO option 'BOGUS'"
        );
        // Without a password, AUTH refuses and HELLO AUTH accepts any password for
        // the default user.
        assert_eq!(
            error(con, &["AUTH", "pw"]),
            "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"
        );
        let fields = hello_fields(value(con, &["HELLO", "2", "AUTH", "default", "anything"]));
        assert_eq!(fields[2].1, Value::Int(2));
    });
}

#[test]
fn quit_closes_after_answering() {
    each_protocol(|_, con, _| {
        assert_eq!(value(con, &["QUIT"]), Value::Okay);
        assert!(is_closed(con));
    });
}

#[test]
fn reset_restores_the_connection_defaults() {
    each_protocol(|_, con, _| {
        run::<()>(con, &["SELECT", "2"]);
        run::<()>(con, &["SET", "in2", "v"]);
        run::<()>(con, &["CLIENT", "SETNAME", "named"]);
        assert_eq!(value(con, &["RESET"]), Value::SimpleString("RESET".into()));
        assert_eq!(value(con, &["CLIENT", "GETNAME"]), Value::Nil);
        assert_eq!(
            value(con, &["GET", "in2"]),
            Value::Nil,
            "back on database 0"
        );
        let fields = hello_fields(value(con, &["HELLO"]));
        assert_eq!(fields[2].1, Value::Int(2), "back to RESP2");
    });
}

#[test]
fn client_id_names_and_info() {
    each_protocol(|server, con, resp3| {
        let id: i64 = run(con, &["CLIENT", "ID"]);
        assert!(id > 0);
        assert_eq!(value(con, &["CLIENT", "GETNAME"]), Value::Nil);
        assert_eq!(value(con, &["CLIENT", "SETNAME", "conn-a"]), Value::Okay);
        assert_eq!(run::<String>(con, &["CLIENT", "GETNAME"]), "conn-a");
        assert_eq!(
            error(con, &["CLIENT", "SETNAME", "has space"]),
            "ERR Client names cannot contain spaces, newlines or special characters."
        );
        assert_eq!(
            value(con, &["CLIENT", "SETINFO", "LIB-NAME", "mylib"]),
            Value::Okay
        );
        assert_eq!(
            value(con, &["CLIENT", "SETINFO", "lib-ver", "1.2.3"]),
            Value::Okay
        );
        assert_eq!(
            error(con, &["CLIENT", "SETINFO", "colour", "blue"]),
            "ERR Unrecognized option 'colour'"
        );
        let info = value(con, &["CLIENT", "INFO"]);
        assert_eq!(matches!(info, Value::VerbatimString { .. }), resp3);
        let info = text(&info);
        for field in [
            format!("id={id} "),
            " name=conn-a ".into(),
            " db=0 ".into(),
            format!(" resp={} ", if resp3 { 3 } else { 2 }),
            " lib-name=mylib ".into(),
            " lib-ver=1.2.3".into(),
            " cmd=client|info ".into(),
        ] {
            assert!(info.contains(&field), "CLIENT INFO lacks {field:?}: {info}");
        }

        let mut other = server.client(resp3);
        let other_id: i64 = run(&mut other, &["CLIENT", "ID"]);
        let list = text(&value(con, &["CLIENT", "LIST"]));
        assert_eq!(list.lines().count(), 2, "{list}");
        assert!(list.lines().any(|l| l.starts_with(&format!("id={id} "))));
        assert!(
            list.lines()
                .any(|l| l.starts_with(&format!("id={other_id} ")))
        );
        let only = text(&value(
            con,
            &["CLIENT", "LIST", "ID", &other_id.to_string()],
        ));
        assert_eq!(only.lines().count(), 1);
        assert!(only.starts_with(&format!("id={other_id} ")));
        let normal = text(&value(con, &["CLIENT", "LIST", "TYPE", "normal"]));
        assert_eq!(normal.lines().count(), 2);
        assert_eq!(
            error(con, &["CLIENT", "LIST", "TYPE", "bogus"]),
            "ERR Unknown client type 'bogus'"
        );
    });
}

#[test]
fn client_no_evict_and_no_touch_set_flags() {
    each_protocol(|_, con, _| {
        assert_eq!(value(con, &["CLIENT", "NO-EVICT", "on"]), Value::Okay);
        assert_eq!(value(con, &["CLIENT", "NO-TOUCH", "ON"]), Value::Okay);
        let info = text(&value(con, &["CLIENT", "INFO"]));
        let flags = info
            .split(' ')
            .find_map(|f| f.strip_prefix("flags="))
            .unwrap();
        assert!(flags.contains('e') && flags.contains('T'), "{flags}");
        run::<()>(con, &["CLIENT", "NO-EVICT", "off"]);
        run::<()>(con, &["CLIENT", "NO-TOUCH", "off"]);
        let info = text(&value(con, &["CLIENT", "INFO"]));
        assert!(info.contains(" flags=N "), "{info}");
        assert_eq!(
            error(con, &["CLIENT", "NO-EVICT", "maybe"]),
            "ERR syntax error"
        );
    });
}

#[test]
fn unknown_client_subcommands_keep_the_connection() {
    each_protocol(|_, con, _| {
        assert_eq!(
            error(con, &["CLIENT", "MAINT_NOTIFICATIONS", "on"]),
            "ERR unknown subcommand 'MAINT_NOTIFICATIONS'. Try CLIENT HELP."
        );
        assert_eq!(
            error(con, &["CLIENT", "NOSUCH"]),
            "ERR unknown subcommand 'NOSUCH'. Try CLIENT HELP."
        );
        assert_eq!(value(con, &["PING"]), Value::SimpleString("PONG".into()));
        let help: Vec<Value> = run(con, &["CLIENT", "HELP"]);
        assert!(text(&help[0]).starts_with("CLIENT <subcommand>"));
    });
}

/// The client address the server sees for a connection.
fn peer_addr(con: &mut redis::Connection) -> String {
    let info = text(&value(con, &["CLIENT", "INFO"]));
    info.split(' ')
        .find_map(|field| field.strip_prefix("addr="))
        .expect("addr field")
        .to_string()
}

#[test]
fn client_kill_by_id_by_addr_and_of_oneself() {
    each_protocol(|server, con, resp3| {
        let mut by_id = server.client(resp3);
        let mut by_addr = server.client(resp3);
        let mut old_form = server.client(resp3);
        let id: i64 = run(&mut by_id, &["CLIENT", "ID"]);
        assert_eq!(
            run::<i64>(con, &["CLIENT", "KILL", "ID", &id.to_string()]),
            1
        );
        assert!(is_closed(&mut by_id));
        assert_eq!(
            run::<i64>(con, &["CLIENT", "KILL", "ID", &id.to_string()]),
            0
        );

        let peer = peer_addr(&mut by_addr);
        assert_eq!(run::<i64>(con, &["CLIENT", "KILL", "ADDR", &peer]), 1);
        assert!(is_closed(&mut by_addr));

        let peer = peer_addr(&mut old_form);
        assert_eq!(value(con, &["CLIENT", "KILL", &peer]), Value::Okay);
        assert!(is_closed(&mut old_form));
        assert_eq!(
            error(con, &["CLIENT", "KILL", "1.2.3.4:5"]),
            "ERR No such client"
        );

        // The killed clients leave the registry.
        let state = server.state();
        wait_until("killed clients to leave", || state.clients.len() == 1);

        // SKIPME yes (the default) spares the caller; SKIPME no kills it after its
        // reply.
        let own_id: i64 = run(con, &["CLIENT", "ID"]);
        let own = own_id.to_string();
        assert_eq!(run::<i64>(con, &["CLIENT", "KILL", "ID", &own]), 0);
        assert_eq!(
            run::<i64>(con, &["CLIENT", "KILL", "ID", &own, "SKIPME", "no"]),
            1
        );
        assert!(is_closed(con));
    });
}

#[test]
fn client_reply_off_and_skip() {
    each_protocol(|_, con, _| {
        // Replies that are never sent cannot be awaited one command at a time, so
        // the commands go out together and the replies that do come are read.
        let batch = redis::pipe()
            .cmd("CLIENT")
            .arg("REPLY")
            .arg("SKIP")
            .cmd("SET")
            .arg("a")
            .arg("1")
            .cmd("GET")
            .arg("a")
            .get_packed_pipeline();
        con.send_packed_command(&batch).unwrap();
        assert_eq!(text(&con.recv_response().unwrap()), "1");

        let batch = redis::pipe()
            .cmd("CLIENT")
            .arg("REPLY")
            .arg("OFF")
            .cmd("SET")
            .arg("b")
            .arg("2")
            .cmd("GET")
            .arg("b")
            .cmd("CLIENT")
            .arg("REPLY")
            .arg("ON")
            .cmd("GET")
            .arg("b")
            .get_packed_pipeline();
        con.send_packed_command(&batch).unwrap();
        assert_eq!(con.recv_response().unwrap(), Value::Okay, "ON answers OK");
        assert_eq!(text(&con.recv_response().unwrap()), "2");
        assert_eq!(
            error(con, &["CLIENT", "REPLY", "MAYBE"]),
            "ERR syntax error"
        );
    });
}
