//! Shared test support: a real server on 127.0.0.1:0, a raw RESP client, and the
//! Redis oracle used by the differential tests.
//!
//! Every wait is bounded: sockets carry read timeouts, and helpers that wait for a
//! condition poll a reply (never a sleep standing in for synchronisation) until a
//! deadline, then fail the test.

#![allow(dead_code)]

pub mod celery_scripts;
pub mod unordered;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use broker_server::config::Config;
use broker_server::protocol::Reply;
use broker_server::protocol::parse::parse_reply;
use broker_server::server::{ServerHandle, start};

/// How long any single reply may take before the test fails.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// A broker-server running in this process on its own runtime.
pub struct TestServer {
    pub addr: SocketAddr,
    handle: Option<ServerHandle>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl TestServer {
    /// Starts a server with default settings on a free loopback port.
    pub fn start() -> TestServer {
        TestServer::with_config(|_| {})
    }

    /// Starts a server after `adjust` has changed the default configuration.
    /// Persistence is off unless `adjust` turns it on (with its own `dir`).
    pub fn with_config(adjust: impl FnOnce(&mut Config)) -> TestServer {
        let mut config = Config {
            port: 0,
            bind: vec!["127.0.0.1".into()],
            appendonly: false,
            ..Config::default()
        };
        adjust(&mut config);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .on_thread_park(broker_server::server::send_batch::on_worker_park)
            .enable_all()
            .build()
            .expect("runtime");
        let handle = runtime.block_on(start(config)).expect("server starts");
        TestServer {
            addr: handle.addr,
            handle: Some(handle),
            runtime: Some(runtime),
        }
    }

    /// A raw client connected to this server.
    pub fn raw(&self) -> RawClient {
        RawClient::tcp(self.addr)
    }

    /// A `redis` crate connection, in RESP2 or RESP3.
    pub fn client(&self, resp3: bool) -> redis::Connection {
        let url = format!(
            "redis://{}/{}",
            self.addr,
            if resp3 { "?protocol=resp3" } else { "" }
        );
        let client = redis::Client::open(url).expect("client url");
        let connection = client
            .get_connection_with_timeout(REPLY_TIMEOUT)
            .expect("connect");
        connection
            .set_read_timeout(Some(REPLY_TIMEOUT))
            .expect("timeout");
        connection
    }

    /// The server's shared state.
    pub fn state(&self) -> &broker_server::server::Server {
        &self.handle.as_ref().expect("running").server
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let (Some(handle), Some(runtime)) = (self.handle.take(), self.runtime.take()) {
            runtime.block_on(async {
                let _ = tokio::time::timeout(Duration::from_secs(15), handle.shutdown()).await;
            });
            runtime.shutdown_timeout(Duration::from_secs(5));
        }
    }
}

/// Anything a raw client can talk over.
pub trait Transport: Read + Write + Send {}
impl Transport for TcpStream {}
impl Transport for UnixStream {}

/// A client that sends raw bytes and reads raw replies.
pub struct RawClient {
    stream: Box<dyn Transport>,
    buffer: Vec<u8>,
}

impl RawClient {
    pub fn tcp(addr: SocketAddr) -> RawClient {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_read_timeout(Some(REPLY_TIMEOUT)).unwrap();
        stream.set_nodelay(true).unwrap();
        RawClient {
            stream: Box::new(stream),
            buffer: Vec::new(),
        }
    }

    pub fn unix(path: &PathBuf) -> RawClient {
        let stream = UnixStream::connect(path).expect("connect to unix socket");
        stream.set_read_timeout(Some(REPLY_TIMEOUT)).unwrap();
        RawClient {
            stream: Box::new(stream),
            buffer: Vec::new(),
        }
    }

    /// Sends bytes as they are.
    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("send");
    }

    /// Sends `bytes`, or as much of them as the server takes before it closes the
    /// connection (a reset or a broken pipe ends the write quietly).
    pub fn send_unless_closed(&mut self, bytes: &[u8]) {
        use std::io::ErrorKind::{BrokenPipe, ConnectionReset};
        match self.stream.write_all(bytes) {
            Err(e) if !matches!(e.kind(), BrokenPipe | ConnectionReset) => panic!("send: {e}"),
            _ => {}
        }
    }

    /// Sends a command as a multibulk request.
    pub fn send_command(&mut self, args: &[&[u8]]) {
        self.send(&encode_command(args));
    }

    /// Reads one reply and returns its exact bytes.
    pub fn read_raw(&mut self) -> Vec<u8> {
        let deadline = Instant::now() + REPLY_TIMEOUT;
        loop {
            if let Some((_, used)) = parse_reply(&self.buffer) {
                return self.buffer.drain(..used).collect();
            }
            assert!(
                Instant::now() < deadline,
                "no complete reply within the timeout; have {:?}",
                String::from_utf8_lossy(&self.buffer)
            );
            let mut chunk = [0u8; 64 * 1024];
            match self.stream.read(&mut chunk) {
                Ok(0) => panic!(
                    "connection closed while waiting for a reply; have {:?}",
                    String::from_utf8_lossy(&self.buffer)
                ),
                Ok(n) => self.buffer.extend_from_slice(&chunk[..n]),
                Err(e) => panic!("read failed while waiting for a reply: {e}"),
            }
        }
    }

    /// Reads one reply, parsed.
    pub fn read_reply(&mut self) -> Reply {
        let raw = self.read_raw();
        parse_reply(&raw).expect("complete").0
    }

    /// Sends a command and returns the exact bytes of its reply.
    pub fn call_raw(&mut self, args: &[&[u8]]) -> Vec<u8> {
        self.send_command(args);
        self.read_raw()
    }

    /// Sends a command given as words and returns its parsed reply.
    pub fn call(&mut self, words: &[&str]) -> Reply {
        let args: Vec<&[u8]> = words.iter().map(|w| w.as_bytes()).collect();
        self.send_command(&args);
        self.read_reply()
    }

    /// Reads until the peer closes; returns everything received.
    pub fn read_until_closed(&mut self) -> Vec<u8> {
        let mut received = std::mem::take(&mut self.buffer);
        let deadline = Instant::now() + REPLY_TIMEOUT;
        let mut chunk = [0u8; 64 * 1024];
        loop {
            assert!(
                Instant::now() < deadline,
                "connection not closed within the timeout"
            );
            match self.stream.read(&mut chunk) {
                Ok(0) => return received,
                Ok(n) => received.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return received,
                Err(e) => panic!("read failed while waiting for close: {e}"),
            }
        }
    }

    /// Asserts that nothing arrives for a short while and the connection stays open:
    /// the answer to a PING sent afterwards must be the next thing received.
    pub fn assert_open_and_idle(&mut self) {
        self.send(b"*1\r\n$4\r\nPING\r\n");
        assert_eq!(self.read_raw(), b"+PONG\r\n");
    }
}

/// Encodes a command as a multibulk request.
pub fn encode_command(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// A bulk-string reply.
pub fn bulk(text: &str) -> Reply {
    Reply::bulk(text.as_bytes())
}

/// A Debian redis-server started for comparison, on a private unix socket.
pub struct Oracle {
    child: Child,
    pub socket: PathBuf,
    dir: PathBuf,
}

impl Oracle {
    /// Starts redis-server with persistence off; `extra` adds config arguments.
    pub fn start(extra: &[&str]) -> Oracle {
        let dir = std::env::temp_dir().join(format!(
            "broker-oracle-{}-{}",
            std::process::id(),
            broker_server::server::random_hex(8)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let socket = dir.join("redis.sock");
        let binary = std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
        let child = Command::new(&binary)
            .args(["--port", "0", "--save", "", "--appendonly", "no", "--daemonize", "no"])
            .arg("--unixsocket")
            .arg(&socket)
            .arg("--dir")
            .arg(&dir)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("the differential tests need Debian's redis-server ({binary}: {e}); run ./scripts/test.sh, which installs it")
            });
        let oracle = Oracle { child, socket, dir };
        let deadline = Instant::now() + REPLY_TIMEOUT;
        while UnixStream::connect(&oracle.socket).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(10));
        }
        oracle
    }

    pub fn raw(&self) -> RawClient {
        RawClient::unix(&self.socket)
    }
}

impl Drop for Oracle {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One connection to the oracle and one to broker-server, driven in lockstep.
pub struct Differential {
    pub redis: RawClient,
    pub ours: RawClient,
}

impl Differential {
    pub fn new(oracle: &Oracle, server: &TestServer) -> Differential {
        Differential {
            redis: oracle.raw(),
            ours: server.raw(),
        }
    }

    /// A fresh pair of connections, switched to RESP3 on both when `resp3` (HELLO's
    /// reply names the server, so it is not compared).
    pub fn with_protocol(oracle: &Oracle, server: &TestServer, resp3: bool) -> Differential {
        let mut pair = Differential::new(oracle, server);
        if resp3 {
            pair.both(&[b"HELLO", b"3"]);
        }
        pair
    }

    /// Sends one command to both and asserts the replies are identical bytes.
    pub fn check(&mut self, args: &[&[u8]]) -> Vec<u8> {
        let expected = self.redis.call_raw(args);
        let actual = self.ours.call_raw(args);
        assert_eq!(
            String::from_utf8_lossy(&actual),
            String::from_utf8_lossy(&expected),
            "reply differs from redis-server for {:?}",
            args.iter()
                .map(|a| String::from_utf8_lossy(a))
                .collect::<Vec<_>>()
        );
        actual
    }

    /// Runs a script of commands, one per line, words split on spaces (use
    /// `check` for arguments containing spaces or binary bytes). A line starting
    /// with `~` is compared with
    /// [`check_unordered`](Differential::check_unordered): same elements, any order.
    pub fn script(&mut self, text: &str) {
        for line in text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            let (unordered, line) = match line.strip_prefix('~') {
                Some(rest) => (true, rest.trim()),
                None => (false, line),
            };
            let words: Vec<&[u8]> = line.split_whitespace().map(str::as_bytes).collect();
            if unordered {
                self.check_unordered(&words);
            } else {
                self.check(&words);
            }
        }
    }

    /// The `keyspace_hits` and `keyspace_misses` lines of `INFO stats`: Redis's,
    /// then ours.
    pub fn keyspace_counts(&mut self) -> (Vec<String>, Vec<String>) {
        let counts = |info: Vec<u8>| -> Vec<String> {
            String::from_utf8_lossy(&info)
                .lines()
                .filter(|line| line.starts_with("keyspace_"))
                .map(str::to_owned)
                .collect()
        };
        (
            counts(self.redis.call_raw(&[b"INFO", b"stats"])),
            counts(self.ours.call_raw(&[b"INFO", b"stats"])),
        )
    }

    /// Sends the same command to both and returns both replies without comparing
    /// (for replies whose order differs, such as KEYS).
    pub fn both(&mut self, args: &[&[u8]]) -> (Reply, Reply) {
        let expected = self.redis.call_raw(args);
        let actual = self.ours.call_raw(args);
        (
            parse_reply(&expected).unwrap().0,
            parse_reply(&actual).unwrap().0,
        )
    }
}

/// Sorts the elements of an array reply (for order-free comparisons).
pub fn sorted(reply: Reply) -> Reply {
    match reply {
        Reply::Array(mut items) | Reply::Set(mut items) => {
            items.sort_by_key(|item| format!("{item:?}"));
            Reply::Array(items)
        }
        other => other,
    }
}

/// Polls `INFO` until `field` reads `value`, failing after the reply timeout.
pub fn wait_for_info(client: &mut RawClient, field: &str, value: &str) {
    let deadline = Instant::now() + REPLY_TIMEOUT;
    let wanted = format!("{field}:{value}");
    loop {
        let text = match client.call(&["INFO"]) {
            Reply::Bulk(b) | Reply::Verbatim(_, b) => String::from_utf8_lossy(&b).into_owned(),
            other => panic!("INFO answered {other:?}"),
        };
        if text.lines().any(|line| line.trim() == wanted) {
            return;
        }
        assert!(Instant::now() < deadline, "INFO never showed {wanted}");
        std::thread::yield_now();
    }
}

/// Waits until `INFO blocked_clients` reads `count`.
pub fn blocked_clients(observer: &mut RawClient, count: usize) {
    wait_for_info(observer, "blocked_clients", &count.to_string());
}

/// Every waiter has left every queue (the server leaked no registration).
pub fn no_waiters_left(server: &TestServer, observer: &mut RawClient) {
    blocked_clients(observer, 0);
    assert_eq!(server.state().keyspace.waiter_entries(), 0);
}

/// The `CLIENT LIST` line of client `id`.
pub fn client_line(observer: &mut RawClient, id: &str) -> String {
    match observer.call(&["CLIENT", "LIST", "ID", id]) {
        Reply::Bulk(text) | Reply::Verbatim(_, text) => String::from_utf8(text.to_vec()).unwrap(),
        other => panic!("CLIENT LIST answered {other:?}"),
    }
}

/// The connection's `CLIENT ID`, as text for `CLIENT UNBLOCK`/`CLIENT KILL`.
pub fn client_id(client: &mut RawClient) -> String {
    match client.call(&["CLIENT", "ID"]) {
        Reply::Int(id) => id.to_string(),
        other => panic!("CLIENT ID answered {other:?}"),
    }
}

/// Sends the blocking command `line` (words split on spaces) on `waiter` and waits
/// until `INFO` counts `blocked` blocked clients (the waiter among them).
pub fn park(observer: &mut RawClient, waiter: &mut RawClient, line: &str, blocked: usize) {
    let args: Vec<&[u8]> = line.split_whitespace().map(str::as_bytes).collect();
    waiter.send_command(&args);
    blocked_clients(observer, blocked);
}

/// Sends the blocking `command` on `waiter`, waits until it is the only blocked
/// client, unblocks it with `CLIENT UNBLOCK <id> [mode]` (which must answer 1) and
/// returns the waiter's raw reply.
pub fn block_then_unblock(
    observer: &mut RawClient,
    waiter: &mut RawClient,
    id: &str,
    command: &[&[u8]],
    mode: Option<&str>,
) -> Vec<u8> {
    waiter.send_command(command);
    blocked_clients(observer, 1);
    let mut unblock = vec!["CLIENT", "UNBLOCK", id];
    unblock.extend(mode);
    assert_eq!(observer.call(&unblock), Reply::Int(1), "{unblock:?}");
    waiter.read_raw()
}

/// Runs the blocking `command`, which must time out with the RESP2 null array
/// after waiting at least `at_least_ms` (and not seconds longer).
pub fn assert_times_out_after(client: &mut RawClient, command: &[&[u8]], at_least_ms: u64) {
    assert_answers_after(client, command, b"*-1\r\n", at_least_ms);
}

/// Runs the blocking `command`, which must answer `expected` (raw bytes) after
/// waiting at least `at_least_ms` (and not seconds longer).
pub fn assert_answers_after(
    client: &mut RawClient,
    command: &[&[u8]],
    expected: &[u8],
    at_least_ms: u64,
) {
    let started = Instant::now();
    assert_eq!(
        String::from_utf8_lossy(&client.call_raw(command)),
        String::from_utf8_lossy(expected)
    );
    let waited = started.elapsed();
    let at_least = Duration::from_millis(at_least_ms);
    assert!(waited >= at_least, "{waited:?} < {at_least:?}");
    assert!(waited < at_least + Duration::from_secs(3), "{waited:?}");
}

/// Runs each blocking command of `resp2` on a RESP2 connection and each of `resp3`
/// on a RESP3 one: every one must time out with its protocol's null (`*-1` or `_`),
/// and no waiter may be left afterwards.
pub fn assert_null_timeouts(server: &TestServer, resp2: &[&[&[u8]]], resp3: &[&[&[u8]]]) {
    let expectations = [(false, resp2, &b"*-1\r\n"[..]), (true, resp3, b"_\r\n")];
    for (hello3, commands, null) in expectations {
        let mut client = server.raw();
        if hello3 {
            client.call(&["HELLO", "3"]);
        }
        for command in commands {
            assert_eq!(
                String::from_utf8_lossy(&client.call_raw(command)),
                String::from_utf8_lossy(null),
                "{:?}",
                command
                    .iter()
                    .map(|a| String::from_utf8_lossy(a))
                    .collect::<Vec<_>>()
            );
        }
    }
    let mut observer = server.raw();
    no_waiters_left(server, &mut observer);
}

/// A client that selected database 1 and blocks with `wait` is not served by
/// `fill_db0` in database 0 (after which `count` there answers 1), but by
/// `fill_db1` in database 1; its reply must be `served`.
pub fn assert_waiters_are_per_database(
    wait: &str,
    fill_db0: &[&str],
    count: &[&str],
    fill_db1: &[&str],
    served: Reply,
) {
    let server = TestServer::start();
    let mut observer = server.raw();
    let mut waiter = server.raw();
    waiter.call(&["SELECT", "1"]);
    park(&mut observer, &mut waiter, wait, 1);
    observer.call(fill_db0);
    assert_eq!(observer.call(count), Reply::Int(1));
    observer.call(&["SELECT", "1"]);
    observer.call(fill_db1);
    assert_eq!(waiter.read_reply(), served);
    no_waiters_left(&server, &mut observer);
}

/// Reads frames until one carries the `sync` marker (a message on the `sync`
/// channel); returns them all.
pub fn until_sync(client: &mut RawClient) -> Vec<u8> {
    let mut frames = Vec::new();
    loop {
        let frame = client.read_raw();
        let done = frame.windows(10).any(|w| w == b"$4\r\nsync\r\n");
        frames.extend_from_slice(&frame);
        if done {
            return frames;
        }
    }
}

/// Declares two tests per script, RESP2 and RESP3, each run by
/// [`run_differential_script`].
#[allow(unused_macros)]
macro_rules! differential_script_tests {
    ($($resp2:ident, $resp3:ident => $script:expr;)*) => {$(
        #[test]
        fn $resp2() {
            $crate::common::run_differential_script($script, false);
        }

        #[test]
        fn $resp3() {
            $crate::common::run_differential_script($script, true);
        }
    )*};
}
#[allow(unused_imports)]
pub(crate) use differential_script_tests;

/// Runs `script` (see [`Differential::script`]) on a fresh oracle and a fresh
/// broker-server, after `HELLO 3` on both when `resp3`.
pub fn run_differential_script(script: &str, resp3: bool) {
    let oracle = Oracle::start(&[]);
    let server = TestServer::start();
    Differential::with_protocol(&oracle, &server, resp3).script(script);
}

/// Starts a fresh oracle and broker-server and runs `body` twice on them, on a new
/// pair of connections each time: in RESP2, then in RESP3.
pub fn in_both_protocols(mut body: impl FnMut(&mut Differential)) {
    let oracle = Oracle::start(&[]);
    let server = TestServer::start();
    for resp3 in [false, true] {
        body(&mut Differential::with_protocol(&oracle, &server, resp3));
    }
}

/// The contents of `items`, each of which must be a bulk string.
pub fn bulk_strings(items: &[Reply]) -> Vec<Vec<u8>> {
    items
        .iter()
        .map(|item| match item {
            Reply::Bulk(b) => b.to_vec(),
            other => panic!("expected a bulk string, got {other:?}"),
        })
        .collect()
}

/// Runs a whole SCAN-family iteration, `<command> <key> <cursor> COUNT <count>`:
/// hands each page of elements to `page`, then calls `change(client, round)` so the
/// test can alter the collection before the next step. Fails the test if the scan
/// has not ended after 1000 steps.
pub fn scan_while_changing(
    client: &mut RawClient,
    [command, key, count]: [&str; 3],
    mut page: impl FnMut(&Reply),
    mut change: impl FnMut(&mut RawClient, usize),
) {
    let mut cursor = "0".to_string();
    let mut round = 0;
    loop {
        let reply = client.call(&[command, key, &cursor, "COUNT", count]);
        let Reply::Array(parts) = reply else {
            panic!("{command} answered {reply:?}")
        };
        let Reply::Bulk(next) = &parts[0] else {
            panic!("{command} answered the cursor {:?}", parts[0])
        };
        page(&parts[1]);
        change(client, round);
        round += 1;
        cursor = String::from_utf8(next.to_vec()).unwrap();
        if cursor == "0" {
            break;
        }
        assert!(round < 1000, "the scan never ended");
    }
}

/// A small deterministic generator for randomized differential tests, so that a
/// failure always replays the same sequence.
pub struct Lcg(pub u64);

impl Lcg {
    /// A number in `0..bound`.
    pub fn next(&mut self, bound: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % bound
    }

    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.next(items.len() as u64) as usize]
    }

    /// A small index, often negative.
    pub fn index(&mut self, span: i64) -> String {
        (self.next(2 * span as u64 + 1) as i64 - span).to_string()
    }
}
