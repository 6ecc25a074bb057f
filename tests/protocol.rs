//! Raw-byte protocol tests: every malformed input in PROTOCOL.md, inline requests,
//! pipelining, large values and requests split at every byte boundary.

mod common;

use broker_server::server::send_batch::SendBatch;
use common::{RawClient, TestServer, encode_command, wait_for_info};

/// Sends `input` and expects exactly `reply`, then a closed connection.
fn expect_error_then_close(server: &TestServer, input: &[u8], reply: &[u8]) {
    let mut client = server.raw();
    client.send(input);
    let received = client.read_until_closed();
    assert_eq!(
        String::from_utf8_lossy(&received),
        String::from_utf8_lossy(reply),
        "for input {:?}",
        String::from_utf8_lossy(input)
    );
}

#[test]
fn malformed_inputs_get_redis_replies_then_close() {
    let server = TestServer::start();
    let cases: &[(&[u8], &[u8])] = &[
        (
            b"*3000000000\r\n",
            b"-ERR Protocol error: invalid multibulk length\r\n",
        ),
        (
            b"*1\r\n$4000000000\r\n",
            b"-ERR Protocol error: invalid bulk length\r\n",
        ),
        (
            b"*1\r\nfoo\r\n",
            b"-ERR Protocol error: expected '$', got 'f'\r\n",
        ),
        (
            b"SET \"a b\r\n",
            b"-ERR Protocol error: unbalanced quotes in request\r\n",
        ),
        (
            b"*01\r\n",
            b"-ERR Protocol error: invalid multibulk length\r\n",
        ),
        (
            b"*1\r\n$-1\r\n",
            b"-ERR Protocol error: invalid bulk length\r\n",
        ),
        (
            b"*1\r\n$536870913\r\n",
            b"-ERR Protocol error: invalid bulk length\r\n",
        ),
        (
            b"RPUSH l \"ab\"c\r\n",
            b"-ERR Protocol error: unbalanced quotes in request\r\n",
        ),
        (
            b"PING\r\n*1\r\nfoo\r\n",
            b"+PONG\r\n-ERR Protocol error: expected '$', got 'f'\r\n",
        ),
    ];
    for (input, reply) in cases {
        expect_error_then_close(&server, input, reply);
    }
}

#[test]
fn http_requests_are_closed_without_a_reply() {
    let server = TestServer::start();
    expect_error_then_close(&server, b"POST / HTTP/1.1\r\nHost: x\r\n\r\n", b"");
    expect_error_then_close(&server, b"PING\r\nHost: x\r\n", b"");
    // GET is an ordinary command with too many arguments.
    let mut client = server.raw();
    client.send(b"GET / HTTP/1.1\r\n");
    assert_eq!(
        client.read_raw(),
        b"-ERR wrong number of arguments for 'get' command\r\n"
    );
}

#[test]
fn empty_requests_are_ignored_and_partial_frames_wait() {
    let server = TestServer::start();
    let mut client = server.raw();
    client.send(b"*-10\r\n\r\n*0\r\n   \r\n\n");
    client.assert_open_and_idle();
    client.send(b"*2\r\n$4\r\nECHO\r\n$3\r\nab");
    client.send(b"c\r\n");
    assert_eq!(client.read_raw(), b"$3\r\nabc\r\n");
}

#[test]
fn unauthenticated_limits_apply_only_before_auth() {
    let server = TestServer::with_config(|c| c.requirepass = Some("secret".into()));
    expect_error_then_close(
        &server,
        b"*11\r\n",
        b"-ERR Protocol error: unauthenticated multibulk length\r\n",
    );
    expect_error_then_close(
        &server,
        b"*2\r\n$3\r\nGET\r\n$20000\r\n",
        b"-ERR Protocol error: unauthenticated bulk length\r\n",
    );
    let mut client = server.raw();
    assert_eq!(
        client.call_raw(&[b"GET", b"k"]),
        b"-NOAUTH Authentication required.\r\n"
    );
    assert_eq!(client.call_raw(&[b"AUTH", b"secret"]), b"+OK\r\n");
    let big = vec![b'x'; 20000];
    assert_eq!(client.call_raw(&[b"SET", b"k", &big]), b"+OK\r\n");
}

#[test]
fn desync_inputs_end_in_a_protocol_error() {
    let server = TestServer::start();
    for (prefix, expected) in [
        (&b"\x00"[..], &b"too big inline request"[..]),
        (b"*\x00", b"too big mbulk count string"),
        (b"$\x00", b"too big inline request"),
    ] {
        let mut client = server.raw();
        client.send(prefix);
        let filler = vec![b'A'; 70 * 1024];
        client.send(&filler);
        let received = client.read_until_closed();
        let text = String::from_utf8_lossy(&received);
        assert!(
            text.contains("Protocol error")
                && text.contains(std::str::from_utf8(expected).unwrap()),
            "{text}"
        );
    }
}

#[test]
fn inline_commands_follow_redis_quoting() {
    let server = TestServer::start();
    let mut client = server.raw();
    client.send(b"SET k \"a\\x41\\tb\"\r\n");
    assert_eq!(client.read_raw(), b"+OK\r\n");
    client.send(b"GET k\n");
    assert_eq!(client.read_raw(), b"$4\r\naA\tb\r\n");
    client.send(b"set 'it\\'s' x\"y z\"\r\n");
    assert_eq!(client.read_raw(), b"+OK\r\n");
    assert_eq!(client.call_raw(&[b"GET", b"it's"]), b"$4\r\nxy z\r\n");
}

#[test]
fn a_pipeline_of_ten_thousand_commands_is_answered_in_order() {
    pipeline_of_ten_thousand_commands(&TestServer::start());
}

fn pipeline_of_ten_thousand_commands(server: &TestServer) {
    let mut client = server.raw();
    let mut pipeline = Vec::new();
    for i in 0..10_000 {
        pipeline.extend(encode_command(&[b"INCR", b"counter"]));
        if i % 1000 == 0 {
            pipeline.extend(encode_command(&[b"PING"]));
        }
    }
    client.send(&pipeline);
    let mut expected_counter = 0;
    for i in 0..10_000 {
        expected_counter += 1;
        assert_eq!(
            client.read_raw(),
            format!(":{expected_counter}\r\n").as_bytes()
        );
        if i % 1000 == 0 {
            assert_eq!(client.read_raw(), b"+PONG\r\n");
        }
    }
}

#[test]
fn a_hundred_megabyte_value_round_trips() {
    value_round_trips(&TestServer::start(), 100 * 1024 * 1024);
}

/// SET then GET of a `size`-byte value. A value larger than the socket's buffer
/// leaves in several writes (the first of them batched when io_uring is on).
fn value_round_trips(server: &TestServer, size: usize) {
    let mut client = server.raw();
    let value: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
    assert_eq!(client.call_raw(&[b"SET", b"big", &value]), b"+OK\r\n");
    assert_eq!(
        client.call_raw(&[b"STRLEN", b"big"]),
        format!(":{size}\r\n").as_bytes()
    );
    let reply = client.call_raw(&[b"GET", b"big"]);
    let header = format!("${size}\r\n");
    assert_eq!(&reply[..header.len()], header.as_bytes());
    assert!(
        reply[header.len()..reply.len() - 2] == value[..],
        "value corrupted"
    );
}

#[test]
fn replies_are_the_same_written_in_io_uring_batches_or_directly() {
    // On by default wherever the kernel allows it.
    let server = TestServer::start();
    let mut client = server.raw();
    let supported = SendBatch::supported().is_ok();
    wait_for_info(
        &mut client,
        "io_uring_writes",
        if supported { "yes" } else { "no" },
    );
    // Off: one write per connection, and the same replies.
    let direct = TestServer::with_config(|config| config.io_uring = false);
    wait_for_info(&mut direct.raw(), "io_uring_writes", "no");
    pipeline_of_ten_thousand_commands(&direct);
    value_round_trips(&direct, 16 * 1024 * 1024);
    // Switched at run time, between the replies of one connection.
    let mut client = direct.raw();
    assert_eq!(
        client.call_raw(&[b"CONFIG", b"SET", b"io-uring", b"yes"]),
        b"+OK\r\n"
    );
    wait_for_info(
        &mut client,
        "io_uring_writes",
        if supported { "yes" } else { "no" },
    );
    assert_eq!(client.call_raw(&[b"INCR", b"counter"]), b":10001\r\n");
    assert_eq!(
        client.call_raw(&[b"CONFIG", b"SET", b"io-uring", b"no"]),
        b"+OK\r\n"
    );
    assert_eq!(client.call_raw(&[b"INCR", b"counter"]), b":10002\r\n");
    assert_eq!(
        client.call_raw(&[b"CONFIG", b"SET", b"io-uring", b"maybe"]),
        b"-ERR CONFIG SET failed (possibly related to argument 'io-uring') - argument must be 'yes' or 'no'\r\n"
    );
}

#[test]
fn a_request_split_at_every_byte_boundary_gives_the_same_replies() {
    let server = TestServer::start();
    let mut stream = Vec::new();
    stream.extend(encode_command(&[b"SET", b"k\x06\x16", b"v\r\nv"]));
    stream.extend(b"GET k\x06\x16\r\n");
    stream.extend(encode_command(&[b"GET", b"k\x06\x16"]));
    // The inline GET carries the binary key as it is: bytes 0x06 0x16 are no blanks.
    let want: &[u8] = b"+OK\r\n$4\r\nv\r\nv\r\n$4\r\nv\r\nv\r\n";
    for split in 1..stream.len() {
        let mut client = server.raw();
        client.send(&stream[..split]);
        client.send(&stream[split..]);
        let mut got = Vec::new();
        for _ in 0..3 {
            got.extend(client.read_raw());
        }
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(want),
            "split at {split}"
        );
    }
}

#[test]
fn command_errors_keep_the_connection_open() {
    let server = TestServer::start();
    let mut client = server.raw();
    let cases: &[(&[&[u8]], &[u8])] = &[
        (&[b"FOO", b"a", b"b"], b"-ERR unknown command 'FOO', with args beginning with: 'a' 'b' \r\n"),
        (&[b"FOO"], b"-ERR unknown command 'FOO', with args beginning with: \r\n"),
        (&[b"GET"], b"-ERR wrong number of arguments for 'get' command\r\n"),
        (&[b"CLIENT", b"SETNAME"], b"-ERR wrong number of arguments for 'client|setname' command\r\n"),
        (
            &[b"CLIENT", b"MAINT_NOTIFICATIONS", b"ON"],
            b"-ERR unknown subcommand 'MAINT_NOTIFICATIONS'. Try CLIENT HELP.\r\n",
        ),
        (&[b"SET", b"k", b"v", b"NX", b"XX"], b"-ERR syntax error\r\n"),
        (&[b"INCRBY", b"k", b"x"], b"-ERR value is not an integer or out of range\r\n"),
        (&[b"SETEX", b"k", b"0", b"v"], b"-ERR invalid expire time in 'setex' command\r\n"),
        (&[b"HELLO", b"4"], b"-NOPROTO unsupported protocol version\r\n"),
        (&[b"HELLO", b"x"], b"-ERR Protocol version is not an integer or out of range\r\n"),
        (&[b"HELLO", b"3", b"FOO"], b"-ERR Syntax error in HELLO option 'FOO'\r\n"),
        (
            &[b"AUTH", b"x"],
            b"-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n",
        ),
        (&[b"SELECT", b"16"], b"-ERR DB index is out of range\r\n"),
    ];
    for (args, reply) in cases {
        assert_eq!(
            String::from_utf8_lossy(&client.call_raw(args)),
            String::from_utf8_lossy(reply)
        );
    }
    client.assert_open_and_idle();
    client.send(&encode_command(&[b"SET", b"l", b"x"]));
    client.read_raw();
    client.send(&encode_command(&[b"INCR", b"l"]));
    assert_eq!(
        client.read_raw(),
        b"-ERR value is not an integer or out of range\r\n"
    );
}

#[test]
fn hello_3_switches_to_resp3_nulls_and_maps() {
    let server = TestServer::start();
    let mut client = server.raw();
    let hello = client.call_raw(&[b"HELLO", b"3"]);
    let text = String::from_utf8_lossy(&hello);
    assert!(text.starts_with("%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n:3\r\n$2\r\nid\r\n:"), "{text}");
    assert!(text.ends_with("$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n"), "{text}");
    assert_eq!(client.call_raw(&[b"GET", b"nokey"]), b"_\r\n");
    assert_eq!(client.call_raw(&[b"MGET", b"a", b"b"]), b"*2\r\n_\r\n_\r\n");
    assert_eq!(client.call_raw(&[b"HELLO", b"2"]).first(), Some(&b'*'));
    assert_eq!(client.call_raw(&[b"GET", b"nokey"]), b"$-1\r\n");
}

#[test]
fn quit_answers_then_closes_and_ignores_the_rest() {
    let server = TestServer::start();
    let mut client = server.raw();
    client.send(b"SET a 1\r\nQUIT\r\nSET a 2\r\n");
    assert_eq!(client.read_until_closed(), b"+OK\r\n+OK\r\n");
    let mut other = server.raw();
    assert_eq!(other.call_raw(&[b"GET", b"a"]), b"$1\r\n1\r\n");
}

/// `client-query-buffer-limit` and `timeout` set at run time apply to connections
/// that were already open.
#[test]
fn limits_set_at_run_time_apply_to_open_connections() {
    let server = TestServer::start();
    let mut admin = server.raw();
    let mut large = server.raw();
    let mut idle = server.raw();
    large.assert_open_and_idle();
    idle.assert_open_and_idle();
    let mut config_set = |name: &str, value: &str| {
        assert_eq!(
            admin.call_raw(&[b"CONFIG", b"SET", name.as_bytes(), value.as_bytes()]),
            b"+OK\r\n"
        );
    };
    // An argument still arriving, already past the new limit: closed, no reply
    // (with no idle timeout yet, nothing else closes it).
    config_set("client-query-buffer-limit", "1mb");
    let mut request = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2000000\r\n".to_vec();
    request.resize(request.len() + 1_100_000, b'x');
    large.send_unless_closed(&request);
    assert_eq!(large.read_until_closed(), b"");
    // A client idle since before the change is closed once it has idled a second
    // more, without sending anything (Redis's client cron does the same).
    config_set("timeout", "1");
    assert_eq!(idle.read_until_closed(), b"");
}

/// The idle timeout spares, as in Redis, clients waiting on a blocking command,
/// subscribers and monitors, however long they have been quiet.
#[test]
fn the_idle_timeout_spares_blocked_clients_subscribers_and_monitors() {
    let server = TestServer::start();
    let mut admin = server.raw();
    let mut blocked = server.raw();
    let mut subscriber = server.raw();
    let mut monitor = server.raw();
    let mut idle = server.raw();
    let blocked_id = common::client_id(&mut blocked);
    blocked.send_command(&[b"BLPOP", b"queue", b"0"]);
    common::blocked_clients(&mut admin, 1);
    assert!(
        subscriber
            .call_raw(&[b"SUBSCRIBE", b"news"])
            .starts_with(b"*3\r\n")
    );
    assert_eq!(monitor.call_raw(&[b"MONITOR"]), b"+OK\r\n");
    idle.assert_open_and_idle();
    // Every other client's last interaction is older than the idle one's.
    assert_eq!(
        admin.call_raw(&[b"CONFIG", b"SET", b"timeout", b"1"]),
        b"+OK\r\n"
    );
    assert_eq!(idle.read_until_closed(), b"");
    // The admin connection idles too: a fresh one checks the others.
    let mut admin = server.raw();
    // Served after waiting longer than the timeout, the blocked client is not
    // closed with its element: the end of its wait counts as interaction.
    assert_eq!(admin.call_raw(&[b"LPUSH", b"queue", b"task"]), b":1\r\n");
    assert_eq!(blocked.read_raw(), b"*2\r\n$5\r\nqueue\r\n$4\r\ntask\r\n");
    let line = common::client_line(&mut admin, &blocked_id);
    assert!(line.contains(" idle=0 "), "{line}");
    blocked.assert_open_and_idle();
    assert_eq!(
        admin.call_raw(&[b"CONFIG", b"SET", b"timeout", b"0"]),
        b"+OK\r\n"
    );
    assert_eq!(admin.call_raw(&[b"PUBLISH", b"news", b"hi"]), b":1\r\n");
    assert_eq!(
        subscriber.read_raw(),
        b"*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n"
    );
    // The monitor saw the commands since it started.
    assert!(monitor.read_raw().starts_with(b"+"));
}

#[test]
fn max_clients_refuses_extra_connections() {
    let server = TestServer::with_config(|c| c.maxclients = 2);
    let mut first = server.raw();
    let mut second = server.raw();
    first.assert_open_and_idle();
    second.assert_open_and_idle();
    let mut third = RawClient::tcp(server.addr);
    assert_eq!(
        third.read_until_closed(),
        b"-ERR max number of clients reached\r\n"
    );
}
