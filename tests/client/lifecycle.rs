//! Security and lifecycle: requirepass, the idle timeout and maxclients.

use redis::Value;

use crate::common::TestServer;
use crate::{connect, error, info_int, is_closed, pairs, run, url, value, wait_until};

const NOAUTH_HELLO: &str = "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time";
const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";

#[test]
fn requirepass_refuses_everything_but_auth_hello_and_quit() {
    let server = TestServer::with_config(|c| c.requirepass = Some("s3cret".into()));
    // A RESP2 connection without credentials (RESP3 would fail at its HELLO).
    let mut con = server.client(false);
    for words in [
        &["GET", "k"][..],
        &["SET", "k", "v"],
        &["PING"],
        &["SELECT", "1"],
        &["CLIENT", "ID"],
        &["INFO"],
        &["CONFIG", "GET", "requirepass"],
    ] {
        assert_eq!(
            error(&mut con, words),
            "NOAUTH Authentication required.",
            "{words:?}"
        );
    }
    assert_eq!(error(&mut con, &["HELLO", "3"]), NOAUTH_HELLO);
    assert_eq!(error(&mut con, &["AUTH", "wrong"]), WRONGPASS);
    assert_eq!(error(&mut con, &["AUTH", "someone", "s3cret"]), WRONGPASS);
    assert_eq!(
        error(&mut con, &["HELLO", "3", "AUTH", "default", "wrong"]),
        WRONGPASS
    );
    assert_eq!(
        error(&mut con, &["GET", "k"]),
        "NOAUTH Authentication required."
    );

    // HELLO 3 AUTH authenticates and switches protocol in one step.
    let hello = value(&mut con, &["HELLO", "3", "AUTH", "default", "s3cret"]);
    assert!(matches!(hello, Value::Map(_)));
    assert_eq!(pairs(hello)[2].1, Value::Int(3));
    assert_eq!(value(&mut con, &["GET", "k"]), Value::Nil);

    // AUTH with and without the user name.
    let mut second = server.client(false);
    assert_eq!(value(&mut second, &["AUTH", "s3cret"]), Value::Okay);
    assert_eq!(
        value(&mut second, &["PING"]),
        Value::SimpleString("PONG".into())
    );
    let mut third = server.client(false);
    assert_eq!(
        value(&mut third, &["AUTH", "default", "s3cret"]),
        Value::Okay
    );
    assert_eq!(value(&mut third, &["SET", "k", "v"]), Value::Okay);

    // QUIT needs no authentication.
    let mut quitter = server.client(false);
    assert_eq!(value(&mut quitter, &["QUIT"]), Value::Okay);
    assert!(is_closed(&mut quitter));

    // The crate's own handshakes: AUTH in RESP2, HELLO 3 AUTH in RESP3.
    for resp3 in [false, true] {
        let mut con = connect(&url(&server, Some("s3cret"), resp3)).expect("authenticates");
        assert_eq!(run::<String>(&mut con, &["GET", "k"]), "v");
        assert!(connect(&url(&server, Some("wrong"), resp3)).is_err());
    }
}

#[test]
fn idle_clients_are_closed_after_the_timeout() {
    let server = TestServer::with_config(|c| c.timeout = 1);
    let mut idle = [server.client(false), server.client(true)];
    for con in &mut idle {
        assert_eq!(value(con, &["PING"]), Value::SimpleString("PONG".into()));
    }
    // Watch the registry, not the connections: a command would reset their clocks.
    let state = server.state();
    wait_until("idle clients to be closed", || state.clients.is_empty());
    for con in &mut idle {
        assert!(is_closed(con));
    }
}

#[test]
fn maxclients_refuses_the_client_past_the_limit() {
    for resp3 in [false, true] {
        let server = TestServer::with_config(|c| c.maxclients = 2);
        let mut first = server.client(resp3);
        let second = server.client(resp3);
        match connect(&url(&server, None, resp3)) {
            Err(error) => assert!(
                error.to_string().contains("max number of clients reached")
                    || error.is_io_error()
                    || error.is_connection_dropped(),
                "{error}"
            ),
            Ok(mut third) => assert!(is_closed(&mut third), "a third client was served"),
        }
        assert_eq!(info_int(&mut first, "stats", "rejected_connections"), 1);
        assert_eq!(info_int(&mut first, "clients", "connected_clients"), 2);
        // Once a client leaves, a new one is admitted.
        drop(second);
        let state = server.state();
        wait_until("the second client to leave", || state.clients.len() == 1);
        let mut fourth = connect(&url(&server, None, resp3)).expect("admitted");
        assert_eq!(
            value(&mut fourth, &["PING"]),
            Value::SimpleString("PONG".into())
        );
    }
}
