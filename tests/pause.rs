//! `CLIENT PAUSE` / `CLIENT UNPAUSE`: errors and reply shapes against Debian's
//! redis-server in both protocols, then what a pause holds, over real sockets.
//!
//! Held commands are observed through `INFO blocked_clients` (a held client counts
//! there, as in Redis) or, under `ALL` where even `INFO` is held, through the
//! server's own count; a pause that must end by itself is measured from before it
//! was given. Nothing sleeps; every wait is bounded.

mod common;

use std::time::{Duration, Instant};

use broker_server::protocol::Reply;
use common::{
    Differential, REPLY_TIMEOUT, RawClient, TestServer, blocked_clients, bulk, client_id,
    client_line, wait_for_info,
};

common::differential_script_tests! {
    pause_errors_match_redis_resp2, pause_errors_match_redis_resp3 => "
        CLIENT PAUSE
        CLIENT PAUSE x
        CLIENT PAUSE -1
        CLIENT PAUSE 1.5
        CLIENT PAUSE 99999999999999999999
        CLIENT PAUSE 10 foo
        CLIENT PAUSE x foo
        CLIENT PAUSE -1 foo
        CLIENT PAUSE 10 write extra
        CLIENT UNPAUSE x
        CLIENT PAUSE 0
        CLIENT PAUSE 0 write
        CLIENT PAUSE 0 ALL
        CLIENT UNPAUSE
        # The end overflows in Redis 7.0 and lies in the past: nothing is held.
        CLIENT PAUSE 9223372036854775807 WRITE
        SET k v
        CLIENT PAUSE 9223372036854775807
        GET k
        CLIENT UNPAUSE
    ";
}

/// The entries of a HELP reply, without those whose first word is in `skip` (an
/// entry is a line starting with a word, and the indented lines below it).
fn help_entries(reply: Reply, skip: &[&str]) -> Vec<String> {
    let Reply::Array(lines) = reply else {
        panic!("HELP answered {reply:?}");
    };
    let mut kept = Vec::new();
    let mut skipping = false;
    for line in lines {
        let Reply::Simple(line) = line else {
            panic!("a HELP line is {line:?}");
        };
        let line = String::from_utf8(line.to_vec()).unwrap();
        if !line.starts_with(' ') {
            let word = line.split_whitespace().next().unwrap_or("");
            skipping = skip.contains(&word);
        }
        if !skipping {
            kept.push(line);
        }
    }
    kept
}

/// CLIENT HELP says what Redis 7.0 says of every subcommand both servers have.
#[test]
fn client_help_matches_redis_for_the_subcommands_served() {
    common::in_both_protocols(|pair| {
        let (theirs, ours) = pair.both(&[b"CLIENT", b"HELP"]);
        // Client-side caching is not served here; SETINFO and NO-TOUCH came after 7.0.
        let theirs = help_entries(theirs, &["CACHING", "GETREDIR", "TRACKING", "TRACKINGINFO"]);
        let ours = help_entries(ours, &["SETINFO", "NO-TOUCH"]);
        assert_eq!(ours, theirs);
        assert!(
            ours.iter()
                .any(|line| line == "PAUSE <timeout> [WRITE|ALL]")
        );
    });
}

/// Polls `PTTL key` until the key reads as gone (its deadline has passed).
fn wait_until_expired(client: &mut RawClient, key: &str) {
    let deadline = Instant::now() + REPLY_TIMEOUT;
    while client.call(&["PTTL", key]) != Reply::Int(-2) {
        assert!(Instant::now() < deadline, "{key} never expired");
        std::thread::yield_now();
    }
}

/// Under a WRITE pause reads keep flowing, answered as Redis answers them, and a
/// key past its deadline reads as missing while it is still stored.
#[test]
fn reads_during_a_write_pause_match_redis() {
    common::in_both_protocols(|pair| {
        pair.check(&[b"SET", b"k", b"v"]);
        // In one transaction, so that the key cannot expire before the pause starts.
        pair.script(
            "
            MULTI
            SET e v PX 100
            CLIENT PAUSE 100000 WRITE
            EXEC
            ",
        );
        pair.script(
            "
            GET k
            MGET k e missing
            EXISTS k e
            STRLEN k
            TYPE k
            PING
            ECHO hi
            SELECT 0
            PUBSUB NUMSUB ch
            MULTI
            GET k
            EXEC
            ",
        );
        pair.check(&[b"EVAL_RO", b"return redis.call('get', KEYS[1])", b"1", b"k"]);
        pair.check(&[
            b"EVAL",
            b"#!lua flags=no-writes\nreturn redis.call('get', KEYS[1])",
            b"1",
            b"k",
        ]);
        let Differential { redis, ours } = pair;
        wait_until_expired(redis, "e");
        wait_until_expired(ours, "e");
        // Gone for reads, but no one deletes it during the pause.
        pair.script(
            "
            GET e
            EXISTS e
            TTL e
            KEYS *
            DBSIZE
            CLIENT UNPAUSE
            GET e
            DBSIZE
            ",
        );
    });
}

/// Waits until the server counts `count` clients held by the pause (`INFO` itself
/// is held under `ALL`).
fn wait_held(server: &TestServer, count: usize) {
    let deadline = Instant::now() + REPLY_TIMEOUT;
    while server.state().pause.held() != count {
        assert!(
            Instant::now() < deadline,
            "{} clients held, never {count}",
            server.state().pause.held()
        );
        std::thread::yield_now();
    }
}

#[test]
fn a_write_pause_holds_writes_and_answers_reads() {
    let server = TestServer::start();
    let mut controller = server.raw();
    let mut observer = server.raw();
    let mut writer = server.raw();
    let writer_id = client_id(&mut writer);
    controller.call(&["SET", "k", "old"]);
    assert_eq!(
        controller.call(&["CLIENT", "PAUSE", "100000", "WRITE"]),
        Reply::Ok
    );
    // A pipeline: the read before the write is answered, the write and everything
    // behind it wait.
    writer.send(&common::encode_command(&[b"GET", b"k"]));
    writer.send(&common::encode_command(&[b"SET", b"k", b"new"]));
    writer.send(&common::encode_command(&[b"GET", b"k"]));
    assert_eq!(writer.read_reply(), bulk("old"));
    blocked_clients(&mut observer, 1);
    let line = client_line(&mut observer, &writer_id);
    assert!(
        line.contains("flags=b ") && line.contains("cmd=set "),
        "{line}"
    );
    // Reads from anyone, the pausing client included, still go through.
    assert_eq!(observer.call(&["GET", "k"]), bulk("old"));
    assert_eq!(controller.call(&["GET", "k"]), bulk("old"));
    // So does a second pause, which does not cut the first one short: a new write
    // is held too.
    assert_eq!(
        controller.call(&["CLIENT", "PAUSE", "0", "WRITE"]),
        Reply::Ok
    );
    let mut late_writer = server.raw();
    late_writer.send(&common::encode_command(&[b"SET", b"late", b"1"]));
    blocked_clients(&mut observer, 2);
    assert_eq!(observer.call(&["EXISTS", "late"]), Reply::Int(0));
    // A held client is not blocked on a key: CLIENT UNBLOCK has nothing to do.
    assert_eq!(
        observer.call(&["CLIENT", "UNBLOCK", &writer_id]),
        Reply::Int(0)
    );
    assert_eq!(controller.call(&["CLIENT", "UNPAUSE"]), Reply::Ok);
    assert_eq!(writer.read_reply(), Reply::Ok);
    assert_eq!(writer.read_reply(), bulk("new"));
    assert_eq!(late_writer.read_reply(), Reply::Ok);
    blocked_clients(&mut observer, 0);
    let line = client_line(&mut observer, &writer_id);
    assert!(line.contains("flags=N "), "{line}");
}

#[test]
fn a_write_pause_holds_publish_scripts_and_transactions_with_writes() {
    let server = TestServer::start();
    let mut controller = server.raw();
    let mut observer = server.raw();
    let mut client = server.raw();
    controller.call(&["CLIENT", "PAUSE", "100000", "WRITE"]);
    // Inside MULTI the write is held instead of queued.
    assert_eq!(client.call(&["MULTI"]), Reply::Ok);
    assert_eq!(client.call(&["GET", "k"]), Reply::simple("QUEUED"));
    client.send(&common::encode_command(&[b"SET", b"k", b"v"]));
    blocked_clients(&mut observer, 1);
    let mut others: Vec<RawClient> = Vec::new();
    for command in [
        &[&b"PUBLISH"[..], b"ch", b"m"][..],
        &[b"EVAL", b"return 1", b"0"],
        &[b"EVAL", b"#!lua\nreturn 1", b"0"],
        &[b"BRPOP", b"q", b"0"],
    ] {
        let mut other = server.raw();
        other.send(&common::encode_command(command));
        others.push(other);
    }
    blocked_clients(&mut observer, 5);
    assert_eq!(controller.call(&["CLIENT", "UNPAUSE"]), Reply::Ok);
    assert_eq!(client.read_reply(), Reply::simple("QUEUED"));
    assert_eq!(
        client.call(&["EXEC"]),
        Reply::Array(vec![Reply::Null, Reply::Ok])
    );
    assert_eq!(others[0].read_reply(), Reply::Int(0));
    assert_eq!(others[1].read_reply(), Reply::Int(1));
    assert_eq!(others[2].read_reply(), Reply::Int(1));
    // Released, the BRPOP goes through the gate again and waits for an element.
    blocked_clients(&mut observer, 1);
    controller.call(&["LPUSH", "q", "x"]);
    assert_eq!(
        others[3].read_reply(),
        Reply::Array(vec![bulk("q"), bulk("x")])
    );
    blocked_clients(&mut observer, 0);
}

#[test]
fn a_held_transaction_exec_waits_for_the_pause() {
    let server = TestServer::start();
    let mut controller = server.raw();
    let mut observer = server.raw();
    let mut client = server.raw();
    client.call(&["MULTI"]);
    client.call(&["INCR", "n"]);
    controller.call(&["CLIENT", "PAUSE", "100000", "WRITE"]);
    client.send(&common::encode_command(&[b"EXEC"]));
    blocked_clients(&mut observer, 1);
    assert_eq!(observer.call(&["GET", "n"]), Reply::Null);
    controller.call(&["CLIENT", "UNPAUSE"]);
    assert_eq!(client.read_reply(), Reply::Array(vec![Reply::Int(1)]));
}

/// Sends `command` from a fresh connection at once and returns the connection, for
/// its reply to be read later.
fn send_from_new_client(server: &TestServer, command: &[&[u8]]) -> RawClient {
    let mut client = server.raw();
    client.send(&common::encode_command(command));
    client
}

/// Asserts that `reply` arrives no sooner than `at_least` after `started` (and not
/// seconds later).
fn assert_answered_after(
    client: &mut RawClient,
    expected: Reply,
    started: Instant,
    at_least: Duration,
) {
    assert_eq!(client.read_reply(), expected);
    let waited = started.elapsed();
    assert!(
        waited >= at_least,
        "answered after {waited:?} < {at_least:?}"
    );
    assert!(waited < at_least + Duration::from_secs(3), "{waited:?}");
}

#[test]
fn an_all_pause_holds_every_command_until_it_ends() {
    let server = TestServer::start();
    let mut controller = server.raw();
    controller.call(&["SET", "k", "v"]);
    let pause = Duration::from_millis(400);
    let started = Instant::now();
    assert_eq!(
        controller.call(&["CLIENT", "PAUSE", "400", "ALL"]),
        Reply::Ok
    );
    // Reads, the pausing client's own commands, and even UNPAUSE are held: only the
    // timeout ends an ALL pause.
    let mut reader = send_from_new_client(&server, &[b"GET", b"k"]);
    let mut unpauser = send_from_new_client(&server, &[b"CLIENT", b"UNPAUSE"]);
    controller.send(&common::encode_command(&[b"PING"]));
    assert_answered_after(&mut reader, bulk("v"), started, pause);
    assert_answered_after(&mut unpauser, Reply::Ok, started, pause);
    assert_answered_after(&mut controller, Reply::simple("PONG"), started, pause);
    assert_eq!(server.state().pause.held(), 0);
}

#[test]
fn a_write_pause_with_a_short_timeout_ends_by_itself() {
    let server = TestServer::start();
    let mut controller = server.raw();
    let started = Instant::now();
    controller.call(&["CLIENT", "PAUSE", "300", "WRITE"]);
    let mut writer = send_from_new_client(&server, &[b"SET", b"k", b"v"]);
    assert_answered_after(&mut writer, Reply::Ok, started, Duration::from_millis(300));
    assert_eq!(controller.call(&["GET", "k"]), bulk("v"));
    let mut observer = server.raw();
    wait_for_info(&mut observer, "blocked_clients", "0");
}

#[test]
fn a_held_client_can_be_killed() {
    let server = TestServer::start();
    let mut controller = server.raw();
    let mut observer = server.raw();
    let mut writer = server.raw();
    let writer_id = client_id(&mut writer);
    controller.call(&["CLIENT", "PAUSE", "100000", "WRITE"]);
    writer.send(&common::encode_command(&[b"SET", b"k", b"v"]));
    blocked_clients(&mut observer, 1);
    assert_eq!(
        controller.call(&["CLIENT", "KILL", "ID", &writer_id]),
        Reply::Int(1)
    );
    assert!(writer.read_until_closed().is_empty());
    blocked_clients(&mut observer, 0);
    controller.call(&["CLIENT", "UNPAUSE"]);
    assert_eq!(controller.call(&["EXISTS", "k"]), Reply::Int(0));
}

#[test]
fn shutdown_closes_clients_held_by_an_all_pause() {
    let server = TestServer::start();
    let mut controller = server.raw();
    controller.call(&["CLIENT", "PAUSE", "100000", "ALL"]);
    let mut reader = send_from_new_client(&server, &[b"GET", b"k"]);
    wait_held(&server, 1);
    server.state().shutdown.cancel();
    assert!(reader.read_until_closed().is_empty());
    wait_held(&server, 0);
}

#[test]
fn keys_do_not_expire_during_a_pause() {
    // A fast background sweep, which would otherwise reclaim the key at once.
    let server = TestServer::with_config(|config| config.hz = 500);
    let mut client = server.raw();
    // In one transaction, so that the key cannot expire before the pause starts.
    client.call(&["MULTI"]);
    client.call(&["SET", "k", "v", "PX", "20"]);
    client.call(&["CLIENT", "PAUSE", "100000", "WRITE"]);
    assert_eq!(
        client.call(&["EXEC"]),
        Reply::Array(vec![Reply::Ok, Reply::Ok])
    );
    wait_until_expired(&mut client, "k");
    assert_eq!(client.call(&["GET", "k"]), Reply::Null);
    assert_eq!(client.call(&["DBSIZE"]), Reply::Int(1));
    wait_for_info(&mut client, "expired_keys", "0");
    client.call(&["CLIENT", "UNPAUSE"]);
    assert_eq!(client.call(&["GET", "k"]), Reply::Null);
    assert_eq!(client.call(&["DBSIZE"]), Reply::Int(0));
    wait_for_info(&mut client, "expired_keys", "1");
}
