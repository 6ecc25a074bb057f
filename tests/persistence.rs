//! Durability, end to end: real server processes killed with SIGKILL under load,
//! torn and corrupted logs, rewrites under load, snapshots, slow loads.
//!
//! Every process runs in its own temporary directory and is killed (and the
//! directory removed) when its guard drops. Every wait is bounded, and waits poll a
//! condition (a log line, an INFO field, a counter), never a fixed sleep.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use broker_server::protocol::Reply;
use broker_server::protocol::parse::parse_reply;
use common::{RawClient, encode_command};

const BINARY: &str = env!("CARGO_BIN_EXE_broker-server");
/// Longest any start, load or exit may take before a test fails.
const DEADLINE: Duration = Duration::from_secs(60);

/// A temporary data directory, removed when dropped.
struct DataDir(PathBuf);

impl DataDir {
    fn new(name: &str) -> DataDir {
        let path = std::env::temp_dir().join(format!(
            "broker-persist-{name}-{}-{}",
            std::process::id(),
            broker_server::server::random_hex(8)
        ));
        std::fs::create_dir_all(&path).unwrap();
        DataDir(path)
    }

    fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    fn log(&self) -> PathBuf {
        self.file("appendonly.aof")
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A server process; SIGKILLed when dropped.
struct Node {
    child: Child,
    addr: SocketAddr,
    lines: Arc<Mutex<Vec<String>>>,
}

/// Removes terminal colour codes from a log line.
fn plain(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

impl Node {
    /// Starts a server in `dir` and waits for its ready line.
    fn start(dir: &DataDir, args: &[&str]) -> Node {
        Node::start_until(dir, args, "Ready to accept connections")
    }

    /// Starts a server in `dir` and waits for a log line containing `marker`.
    fn start_until(dir: &DataDir, args: &[&str], marker: &str) -> Node {
        let mut node = Node::spawn(dir, args);
        let line = node.wait_line(marker);
        let address = line
            .rsplit("127.0.0.1:")
            .next()
            .unwrap()
            .chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>();
        node.addr = format!("127.0.0.1:{address}").parse().unwrap();
        node
    }

    /// Starts a server in `dir` without waiting for anything.
    fn spawn(dir: &DataDir, args: &[&str]) -> Node {
        let mut child = Command::new(BINARY)
            .args(["--port", "0", "--bind", "127.0.0.1", "--dir"])
            .arg(&dir.0)
            .args(args)
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the server starts");
        let lines = Arc::new(Mutex::new(Vec::new()));
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let lines = lines.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines() {
                    let Ok(line) = line else { break };
                    lines.lock().unwrap().push(plain(&line));
                }
            });
        }
        Node {
            child,
            addr: "127.0.0.1:0".parse().unwrap(),
            lines,
        }
    }

    /// Waits for a log line containing `marker`; fails if the process exits first.
    fn wait_line(&mut self, marker: &str) -> String {
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(line) = self.find_line(marker) {
                return line;
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                // Give the reader threads a moment to collect the last lines.
                std::thread::sleep(Duration::from_millis(100));
                panic!(
                    "the server exited ({status}) before logging '{marker}':\n{}",
                    self.log()
                );
            }
            assert!(
                Instant::now() < deadline,
                "no '{marker}' in the log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn find_line(&self, marker: &str) -> Option<String> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .find(|line| line.contains(marker))
            .cloned()
    }

    fn log(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }

    fn client(&self) -> RawClient {
        RawClient::tcp(self.addr)
    }

    /// SIGKILL, then wait for the process to be gone.
    fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits for the process to exit on its own; returns its exit code.
    fn wait_exit(&mut self) -> Option<i32> {
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Let the reader threads drain the pipes.
                let drained = Instant::now() + Duration::from_secs(2);
                while Instant::now() < drained && Arc::strong_count(&self.lines) > 1 {
                    std::thread::sleep(Duration::from_millis(5));
                }
                return status.code();
            }
            assert!(Instant::now() < deadline, "the server did not exit");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Sends SIGTERM.
    fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A connection that reports errors instead of panicking: the load generators keep
/// going until the server dies under them.
struct Conn {
    stream: TcpStream,
    buffer: Vec<u8>,
}

impl Conn {
    fn connect(addr: SocketAddr) -> std::io::Result<Conn> {
        let stream = TcpStream::connect(addr)?;
        stream.set_read_timeout(Some(Duration::from_secs(20)))?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream,
            buffer: Vec::new(),
        })
    }

    fn call(&mut self, args: &[Vec<u8>]) -> std::io::Result<Reply> {
        let slices: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
        self.stream.write_all(&encode_command(&slices))?;
        loop {
            if let Some((reply, used)) = parse_reply(&self.buffer) {
                self.buffer.drain(..used);
                return Ok(reply);
            }
            let mut chunk = [0u8; 16 * 1024];
            let n = self.stream.read(&mut chunk)?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            self.buffer.extend_from_slice(&chunk[..n]);
        }
    }
}

fn words(parts: &[&str]) -> Vec<Vec<u8>> {
    parts.iter().map(|p| p.as_bytes().to_vec()).collect()
}

/// Sends every command, then reads every reply (one round trip for a batch).
fn pipeline(client: &mut RawClient, commands: &[Vec<Vec<u8>>]) -> Vec<Reply> {
    let mut bytes = Vec::new();
    for command in commands {
        let slices: Vec<&[u8]> = command.iter().map(Vec::as_slice).collect();
        bytes.extend_from_slice(&encode_command(&slices));
    }
    client.send(&bytes);
    commands.iter().map(|_| client.read_reply()).collect()
}

fn text(reply: &Reply) -> String {
    match reply {
        Reply::Bulk(bytes) | Reply::Simple(bytes) | Reply::Verbatim(_, bytes) => {
            String::from_utf8_lossy(bytes).into_owned()
        }
        Reply::Int(n) => n.to_string(),
        Reply::Ok => "OK".into(),
        Reply::Null => "(nil)".into(),
        other => format!("{other:?}"),
    }
}

fn info_field(client: &mut RawClient, field: &str) -> String {
    let info = text(&client.call(&["INFO", "persistence"]));
    info.lines()
        .find_map(|line| line.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("INFO has no {field}:\n{info}"))
        .trim()
        .to_string()
}

/// Polls INFO until `field` satisfies `ok`.
fn wait_info(client: &mut RawClient, field: &str, ok: impl Fn(&str) -> bool) {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let value = info_field(client, field);
        if ok(&value) {
            return;
        }
        assert!(Instant::now() < deadline, "INFO {field} stayed at {value}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

// ---------------------------------------------------------------------------------
// The table of write kinds the crash tests drive. Each kind says what its n-th
// command is and how to check, after a restart, that every acknowledged one (and
// nothing beyond the ones sent) is there. Add a row per command family: LPUSH,
// HSET, SADD, ZADD... once those commands exist.

/// One kind of write.
struct Kind {
    name: &'static str,
    /// The `i`-th command of worker `w`.
    command: fn(w: usize, i: u64) -> Vec<Vec<u8>>,
    /// Whether a reply acknowledges the write.
    acked: fn(&Reply) -> bool,
    /// Checks the restarted server: `acked` commands were acknowledged, `sent` were
    /// sent (the last one may or may not have been applied).
    verify: fn(&mut RawClient, w: usize, acked: u64, sent: u64) -> Result<(), String>,
}

fn ok_reply(reply: &Reply) -> bool {
    matches!(reply, Reply::Ok) || matches!(reply, Reply::Simple(s) if &s[..] == b"OK")
}

fn int_reply(reply: &Reply) -> bool {
    matches!(reply, Reply::Int(_))
}

fn bulk_reply(reply: &Reply) -> bool {
    matches!(reply, Reply::Bulk(_))
}

/// Checks `count` GETs (in batches) against expected values.
fn verify_gets(
    client: &mut RawClient,
    count: u64,
    key: impl Fn(u64) -> String,
    expected: impl Fn(u64) -> String,
) -> Result<(), String> {
    let mut i = 0;
    while i < count {
        let end = (i + 500).min(count);
        let commands: Vec<Vec<Vec<u8>>> = (i..end).map(|j| words(&["GET", &key(j)])).collect();
        for (j, reply) in (i..end).zip(pipeline(client, &commands)) {
            if text(&reply) != expected(j) {
                return Err(format!(
                    "{} is {:?}, expected {:?}",
                    key(j),
                    text(&reply),
                    expected(j)
                ));
            }
        }
        i = end;
    }
    Ok(())
}

/// Checks that a counter-like value lies between what was acknowledged and sent.
fn verify_between(value: f64, acked: f64, sent: f64, what: &str) -> Result<(), String> {
    if value < acked || value > sent {
        return Err(format!(
            "{what} is {value}: {acked} acknowledged, {sent} sent"
        ));
    }
    Ok(())
}

const KINDS: &[Kind] = &[
    Kind {
        name: "SET",
        command: |w, i| words(&["SET", &format!("set:{w}:{i}"), &format!("v{i}")]),
        acked: ok_reply,
        verify: |client, w, acked, _| {
            verify_gets(
                client,
                acked,
                |i| format!("set:{w}:{i}"),
                |i| format!("v{i}"),
            )
        },
    },
    Kind {
        name: "SETEX",
        command: |w, i| {
            words(&[
                "SETEX",
                &format!("setex:{w}:{i}"),
                "100000",
                &format!("e{i}"),
            ])
        },
        acked: ok_reply,
        verify: |client, w, acked, _| {
            verify_gets(
                client,
                acked,
                |i| format!("setex:{w}:{i}"),
                |i| format!("e{i}"),
            )?;
            if acked > 0 {
                let ttl = text(&client.call(&["TTL", &format!("setex:{w}:0")]));
                if !(99_000..=100_000).contains(&ttl.parse::<i64>().unwrap_or(-9)) {
                    return Err(format!("setex:{w}:0 has TTL {ttl}"));
                }
            }
            Ok(())
        },
    },
    Kind {
        name: "INCR",
        command: |w, _| words(&["INCR", &format!("incr:{w}")]),
        acked: int_reply,
        verify: |client, w, acked, sent| {
            let value = text(&client.call(&["GET", &format!("incr:{w}")]));
            let value = if value == "(nil)" {
                0.0
            } else {
                value.parse().unwrap()
            };
            verify_between(value, acked as f64, sent as f64, "the counter")
        },
    },
    Kind {
        name: "APPEND",
        command: |w, _| words(&["APPEND", &format!("append:{w}"), "xy"]),
        acked: int_reply,
        verify: |client, w, acked, sent| {
            let length = text(&client.call(&["STRLEN", &format!("append:{w}")]));
            verify_between(
                length.parse().unwrap(),
                2.0 * acked as f64,
                2.0 * sent as f64,
                "the appended length",
            )
        },
    },
    Kind {
        name: "MSET",
        command: |w, i| {
            words(&[
                "MSET",
                &format!("mset:{w}:{i}:a"),
                &format!("a{i}"),
                &format!("mset:{w}:{i}:b"),
                &format!("b{i}"),
            ])
        },
        acked: ok_reply,
        verify: |client, w, acked, _| {
            verify_gets(
                client,
                acked,
                |i| format!("mset:{w}:{i}:a"),
                |i| format!("a{i}"),
            )?;
            verify_gets(
                client,
                acked,
                |i| format!("mset:{w}:{i}:b"),
                |i| format!("b{i}"),
            )
        },
    },
    Kind {
        name: "INCRBYFLOAT",
        command: |w, _| words(&["INCRBYFLOAT", &format!("float:{w}"), "0.5"]),
        acked: bulk_reply,
        verify: |client, w, acked, sent| {
            let value = text(&client.call(&["GET", &format!("float:{w}")]));
            let value = if value == "(nil)" {
                0.0
            } else {
                value.parse().unwrap()
            };
            verify_between(value, acked as f64 * 0.5, sent as f64 * 0.5, "the float")
        },
    },
    Kind {
        name: "EXPIRE",
        // Creates a key, then gives it a relative TTL: both must survive.
        command: |w, i| {
            if i % 2 == 0 {
                words(&["SET", &format!("expire:{w}:{}", i / 2), "x"])
            } else {
                words(&["EXPIRE", &format!("expire:{w}:{}", i / 2), "50000"])
            }
        },
        acked: |reply| ok_reply(reply) || int_reply(reply),
        verify: |client, w, acked, _| {
            for i in 0..acked / 2 {
                let ttl = text(&client.call(&["TTL", &format!("expire:{w}:{i}")]));
                let ttl: i64 = ttl.parse().unwrap_or(-9);
                if !(49_000..=50_000).contains(&ttl) {
                    return Err(format!("expire:{w}:{i} has TTL {ttl}"));
                }
            }
            Ok(())
        },
    },
];

/// What one load worker did.
struct Tally {
    kind: usize,
    worker: usize,
    acked: u64,
    sent: u64,
}

/// Runs one worker per kind (times `per_kind`) against `addr` until `stop` is set
/// or the server goes away. `total` counts acknowledgements across workers.
fn run_load(
    addr: SocketAddr,
    per_kind: usize,
    stop: Arc<AtomicBool>,
    total: Arc<AtomicU64>,
) -> Vec<std::thread::JoinHandle<Tally>> {
    let mut workers = Vec::new();
    for (kind_index, kind) in KINDS.iter().enumerate() {
        for copy in 0..per_kind {
            let (stop, total) = (stop.clone(), total.clone());
            let worker = kind_index * 100 + copy;
            workers.push(std::thread::spawn(move || {
                let mut tally = Tally {
                    kind: kind_index,
                    worker,
                    acked: 0,
                    sent: 0,
                };
                let Ok(mut conn) = Conn::connect(addr) else {
                    return tally;
                };
                while !stop.load(Ordering::Relaxed) {
                    let command = (kind.command)(worker, tally.sent);
                    tally.sent += 1;
                    match conn.call(&command) {
                        Ok(reply) => {
                            assert!((kind.acked)(&reply), "{} answered {reply:?}", kind.name);
                            tally.acked += 1;
                            total.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(_) => break,
                    }
                }
                tally
            }));
        }
    }
    workers
}

fn wait_for_count(total: &AtomicU64, at_least: u64) {
    let deadline = Instant::now() + DEADLINE;
    while total.load(Ordering::Relaxed) < at_least {
        assert!(Instant::now() < deadline, "the load did not progress");
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn verify_tallies(node: &Node, tallies: &[Tally]) {
    let mut client = node.client();
    for tally in tallies {
        let kind = &KINDS[tally.kind];
        if let Err(problem) = (kind.verify)(&mut client, tally.worker, tally.acked, tally.sent) {
            panic!(
                "{} worker {}: {problem} ({} acknowledged, {} sent)\n{}",
                kind.name,
                tally.worker,
                tally.acked,
                tally.sent,
                node.log()
            );
        }
    }
}

/// Kills the server while every load worker still has a command in flight, restarts
/// it, and counts every acknowledged write.
fn kill_9_under_load(name: &str, args: &[&str]) {
    let dir = DataDir::new(name);
    let node = Node::start(&dir, args);
    let stop = Arc::new(AtomicBool::new(false));
    let total = Arc::new(AtomicU64::new(0));
    let workers = run_load(node.addr, 2, stop.clone(), total.clone());
    wait_for_count(&total, 3000);
    node.kill9();
    let tallies: Vec<Tally> = workers.into_iter().map(|w| w.join().unwrap()).collect();
    assert!(
        tallies.iter().all(|t| t.acked > 0),
        "every worker got going"
    );
    let node = Node::start(&dir, &[]);
    verify_tallies(&node, &tallies);
}

#[test]
fn kill_9_under_concurrent_writes_loses_no_acknowledged_write() {
    kill_9_under_load("kill9", &[]);
}

/// With one runtime worker, the worker runs the `always` rounds itself when it runs
/// out of work; replies must still come (the load progresses) and stay durable.
#[test]
fn a_single_worker_syncing_when_idle_loses_no_acknowledged_write() {
    kill_9_under_load("kill9-one-worker", &["--threads", "1"]);
}

/// `CONFIG SET appendfsync` under load changes who runs the log's rounds (the writer
/// thread, gathering, under `always`; the connections themselves otherwise): replies
/// keep coming under every policy, and a kill -9 afterwards loses nothing that was
/// acknowledged.
#[test]
fn switching_the_fsync_policy_under_load_stalls_nothing_and_loses_nothing() {
    let dir = DataDir::new("policy-switch");
    let node = Node::start(&dir, &[]);
    let stop = Arc::new(AtomicBool::new(false));
    let total = Arc::new(AtomicU64::new(0));
    let workers = run_load(node.addr, 1, stop.clone(), total.clone());
    let mut admin = node.client();
    for policy in ["everysec", "no", "always", "no", "everysec", "always"] {
        let reply = admin.call(&["CONFIG", "SET", "appendfsync", policy]);
        assert_eq!(text(&reply), "OK", "CONFIG SET appendfsync {policy}");
        // Progress under this policy, or wait_for_count fails at its deadline.
        wait_for_count(&total, total.load(Ordering::Relaxed) + 500);
    }
    node.kill9();
    let tallies: Vec<Tally> = workers.into_iter().map(|w| w.join().unwrap()).collect();
    let node = Node::start(&dir, &[]);
    verify_tallies(&node, &tallies);
}

#[test]
fn every_policy_survives_kill_9() {
    for policy in ["everysec", "no"] {
        let dir = DataDir::new(policy);
        let node = Node::start(&dir, &["--appendfsync", policy]);
        let stop = Arc::new(AtomicBool::new(false));
        let total = Arc::new(AtomicU64::new(0));
        let workers = run_load(node.addr, 1, stop.clone(), total.clone());
        wait_for_count(&total, 3000);
        node.kill9();
        let tallies: Vec<Tally> = workers.into_iter().map(|w| w.join().unwrap()).collect();
        let node = Node::start(&dir, &[]);
        verify_tallies(&node, &tallies);
    }
}

#[test]
fn a_torn_tail_is_trimmed_with_a_warning() {
    let dir = DataDir::new("torn");
    let node = Node::start(&dir, &[]);
    let mut client = node.client();
    for i in 0..10 {
        assert!(ok_reply(&client.call(&["SET", &format!("k{i}"), "v"])));
    }
    node.kill9();
    let whole = std::fs::metadata(dir.log()).unwrap().len();
    for torn in [
        &b"*3\r\n$3\r\nSET\r\n$4\r\ntorn"[..],
        b"*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$4\r\ntorn\r\n$1\r\nv\r\n",
        b"\0\0\0\0\0\0\0\0\0\0\0\0",
    ] {
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(dir.log())
            .unwrap();
        file.write_all(torn).unwrap();
        drop(file);
        let node = Node::start(&dir, &[]);
        assert!(
            node.find_line("torn write").is_some(),
            "no warning:\n{}",
            node.log()
        );
        let mut client = node.client();
        assert_eq!(text(&client.call(&["DBSIZE"])), "10");
        assert_eq!(client.call(&["EXISTS", "torn"]), Reply::Int(0));
        node.kill9();
        assert_eq!(std::fs::metadata(dir.log()).unwrap().len(), whole);
    }
}

/// maxmemory refuses clients' writes, never the log's: a restart with more data
/// than the limit, written by commands, a transaction and a script, loads all of
/// it, and only then do new writes get -OOM.
#[test]
fn replay_ignores_maxmemory() {
    let dir = DataDir::new("maxmemory");
    log_with_keys(&dir, 20);
    let node = Node::start(&dir, &[]);
    let mut client = node.client();
    client.call(&["MULTI"]);
    client.call(&["SET", "in-multi", "1"]);
    client.call(&["LPUSH", "queue", "task"]);
    client.call(&["EXEC"]);
    let script =
        "redis.call('set', 'from-script', '1') return redis.call('rpush', 'queue', 'next')";
    assert_eq!(client.call(&["EVAL", script, "0"]), Reply::Int(2));
    node.kill9();

    let node = Node::start(&dir, &["--maxmemory", "1"]);
    let mut client = node.client();
    assert_eq!(text(&client.call(&["DBSIZE"])), "23");
    assert_eq!(text(&client.call(&["LLEN", "queue"])), "2");
    assert_eq!(text(&client.call(&["GET", "from-script"])), "1");
    let refused = format!("{:?}", client.call(&["SET", "new", "1"]));
    assert!(refused.contains("OOM command not allowed"), "{refused}");
    node.kill9();
}

/// Writes `count` keys one command each, then stops the server.
fn log_with_keys(dir: &DataDir, count: usize) {
    let node = Node::start(dir, &[]);
    let mut client = node.client();
    for i in 0..count {
        assert!(ok_reply(&client.call(&[
            "SET",
            &format!("key{i:03}"),
            "value"
        ])));
    }
    node.kill9();
}

fn check_aof(args: &[&str]) -> (i32, String) {
    let output = Command::new(BINARY)
        .arg("check-aof")
        .args(args)
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr),
    )
}

#[test]
fn a_corrupted_middle_stops_the_server_and_check_aof_repairs_it() {
    let dir = DataDir::new("corrupt");
    log_with_keys(&dir, 20);
    let path = dir.log();
    let path_text = path.to_str().unwrap();
    assert_eq!(check_aof(&[path_text]).0, 0, "a clean log is valid");

    // Damage the record of key010: its leading '*' becomes garbage.
    let mut bytes = std::fs::read(&path).unwrap();
    let key = bytes.windows(6).position(|w| w == b"key010").unwrap();
    let record = bytes[..key].iter().rposition(|&b| b == b'*').unwrap();
    bytes[record] = b'!';
    std::fs::write(&path, &bytes).unwrap();

    let mut node = Node::spawn(&dir, &[]);
    let code = node.wait_exit();
    assert_ne!(code, Some(0), "the server must refuse a corrupted log");
    let log = node.log();
    assert!(log.contains("check-aof"), "{log}");
    assert!(log.contains(&format!("offset {record}")), "{log}");

    let (code, out) = check_aof(&[path_text]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(&format!("offset {record}")), "{out}");
    let (code, out) = check_aof(&["--fix", path_text]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Truncated"), "{out}");
    assert_eq!(std::fs::metadata(&path).unwrap().len(), record as u64);
    assert_eq!(check_aof(&[path_text]).0, 0);

    let node = Node::start(&dir, &[]);
    let mut client = node.client();
    assert_eq!(text(&client.call(&["DBSIZE"])), "10");
    assert_eq!(text(&client.call(&["GET", "key009"])), "value");
    assert_eq!(client.call(&["EXISTS", "key010"]), Reply::Int(0));
}

#[test]
fn a_damaged_base_is_reported_not_truncated() {
    let dir = DataDir::new("base");
    log_with_keys(&dir, 3);
    let node = Node::start(&dir, &[]);
    let mut client = node.client();
    assert_eq!(
        text(&client.call(&["BGREWRITEAOF"])),
        "Background append only file rewriting started"
    );
    wait_info(&mut client, "aof_rewrites", |v| v == "1");
    node.kill9();
    let mut bytes = std::fs::read(dir.log()).unwrap();
    let key = bytes.windows(6).position(|w| w == b"key001").unwrap();
    bytes[key + 3] = b'X';
    std::fs::write(dir.log(), &bytes).unwrap();
    let mut node = Node::spawn(&dir, &[]);
    assert_ne!(node.wait_exit(), Some(0));
    assert!(node.log().contains("checksum mismatch"), "{}", node.log());
    let (code, out) = check_aof(&["--fix", dir.log().to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("snapshot base is damaged"), "{out}");
}

#[test]
fn rewrites_under_load_lose_nothing() {
    let dir = DataDir::new("rewrite");
    // A tiny growth threshold makes rewrites start on their own as well.
    let node = Node::start(
        &dir,
        &[
            "--appendfsync",
            "everysec",
            "--auto-aof-rewrite-min-size",
            "65536",
            "--auto-aof-rewrite-percentage",
            "50",
        ],
    );
    let stop = Arc::new(AtomicBool::new(false));
    let total = Arc::new(AtomicU64::new(0));
    let workers = run_load(node.addr, 1, stop.clone(), total.clone());
    let mut client = node.client();
    for round in 0..3 {
        wait_for_count(&total, 2000 * (round + 1));
        let answer = text(&client.call(&["BGREWRITEAOF"]));
        assert!(
            answer.contains("rewriting started") || answer.contains("already in progress"),
            "{answer}"
        );
    }
    wait_info(&mut client, "aof_rewrites", |v| {
        v.parse::<u64>().unwrap() >= 2
    });
    let at = total.load(Ordering::Relaxed);
    wait_for_count(&total, at + 1000);
    // Kill with writes (and maybe a rewrite) in flight.
    node.kill9();
    let tallies: Vec<Tally> = workers.into_iter().map(|w| w.join().unwrap()).collect();
    let node = Node::start(&dir, &[]);
    verify_tallies(&node, &tallies);
    // The log was compacted: its base holds most keys.
    let bytes = std::fs::read(dir.log()).unwrap();
    assert!(bytes.starts_with(b"BRKRSNAP"));
}

#[test]
fn snapshots_round_trip_with_deadlines_and_shutdown_saves() {
    let dir = DataDir::new("snapshot");
    let mut node = Node::start(&dir, &["--appendonly", "no"]);
    let mut client = node.client();
    client.call(&["SET", "plain", "p"]);
    client.call(&["SET", "ttl", "t", "EX", "1000"]);
    client.call(&["SELECT", "3"]);
    client.call(&["SET", "other-db", "o"]);
    client.call(&["SELECT", "0"]);
    assert_eq!(info_field(&mut client, "rdb_changes_since_last_save"), "3");
    let before = text(&client.call(&["LASTSAVE"]));
    assert_eq!(text(&client.call(&["SAVE"])), "OK");
    assert_eq!(info_field(&mut client, "rdb_changes_since_last_save"), "0");
    assert!(text(&client.call(&["LASTSAVE"])) >= before);
    client.call(&["SET", "after-save", "a"]);
    assert_eq!(text(&client.call(&["BGSAVE"])), "Background saving started");
    wait_info(&mut client, "rdb_bgsave_in_progress", |v| v == "0");
    assert_eq!(info_field(&mut client, "rdb_last_bgsave_status"), "ok");
    client.call(&["SET", "at-shutdown", "s"]);
    client.send_command(&[b"SHUTDOWN", b"SAVE"]);
    assert_eq!(node.wait_exit(), Some(0));
    drop(node);

    let node = Node::start(&dir, &["--appendonly", "no"]);
    let mut client = node.client();
    assert_eq!(text(&client.call(&["GET", "plain"])), "p");
    assert_eq!(text(&client.call(&["GET", "after-save"])), "a");
    assert_eq!(text(&client.call(&["GET", "at-shutdown"])), "s");
    let ttl: i64 = text(&client.call(&["TTL", "ttl"])).parse().unwrap();
    assert!((990..=1000).contains(&ttl), "{ttl}");
    client.call(&["SELECT", "3"]);
    assert_eq!(text(&client.call(&["GET", "other-db"])), "o");
    node.kill9();

    // With the log on and no log yet, start-up builds the log from the snapshot.
    let node = Node::start(&dir, &[]);
    let mut client = node.client();
    assert_eq!(text(&client.call(&["GET", "plain"])), "p");
    node.kill9();
    let node = Node::start(&dir, &[]);
    let mut client = node.client();
    assert_eq!(text(&client.call(&["GET", "at-shutdown"])), "s");
}

#[test]
fn sigterm_and_shutdown_nosave_leave_a_synced_log() {
    let dir = DataDir::new("sigterm");
    let mut node = Node::start(&dir, &["--appendfsync", "no"]);
    let mut client = node.client();
    client.call(&["SET", "a", "1"]);
    node.terminate();
    assert_eq!(node.wait_exit(), Some(0));
    assert!(node.log().contains("synced and closed"), "{}", node.log());
    drop(node);
    let mut node = Node::start(&dir, &[]);
    let mut client = node.client();
    assert_eq!(text(&client.call(&["GET", "a"])), "1");
    client.call(&["SET", "b", "2"]);
    client.send_command(&[b"SHUTDOWN", b"NOSAVE"]);
    assert_eq!(node.wait_exit(), Some(0));
    assert!(!dir.file("dump.snap").exists());
    drop(node);
    let node = Node::start(&dir, &[]);
    let mut client = node.client();
    assert_eq!(text(&client.call(&["GET", "b"])), "2");
}

#[test]
fn turning_the_log_on_at_run_time_writes_it_from_the_dataset() {
    let dir = DataDir::new("enable");
    let node = Node::start(&dir, &["--appendonly", "no"]);
    let mut client = node.client();
    for i in 0..100 {
        client.call(&["SET", &format!("before{i}"), "b"]);
    }
    assert!(!dir.log().exists());
    assert!(ok_reply(&client.call(&[
        "CONFIG",
        "SET",
        "appendonly",
        "yes"
    ])));
    for i in 0..100 {
        client.call(&["SET", &format!("during{i}"), "d"]);
    }
    wait_info(&mut client, "aof_rewrites", |v| v == "1");
    assert_eq!(info_field(&mut client, "aof_enabled"), "1");
    for i in 0..100 {
        client.call(&["SET", &format!("after{i}"), "a"]);
    }
    node.kill9();
    let node = Node::start(&dir, &[]);
    let mut client = node.client();
    assert_eq!(text(&client.call(&["DBSIZE"])), "300");

    // And off again: nothing more is logged.
    assert!(ok_reply(&client.call(&[
        "CONFIG",
        "SET",
        "appendonly",
        "no"
    ])));
    assert_eq!(info_field(&mut client, "aof_enabled"), "0");
    client.call(&["SET", "unlogged", "u"]);
    node.kill9();
    let node = Node::start(&dir, &[]);
    let mut client = node.client();
    assert_eq!(text(&client.call(&["DBSIZE"])), "300");
}

/// Writes a plain log (no base): a clock annotation, then `records`.
fn write_plain_log(path: &Path, records: &[Vec<Vec<u8>>]) {
    let mut bytes = Vec::new();
    for record in records {
        let slices: Vec<&[u8]> = record.iter().map(Vec::as_slice).collect();
        bytes.extend_from_slice(&encode_command(&slices));
    }
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn keys_that_expired_while_down_are_gone_after_loading() {
    let dir = DataDir::new("expired");
    let now = unix_ms();
    let mut bytes = format!("#T:{}\r\n", now - 10_000).into_bytes();
    for record in [
        words(&["SET", "gone", "v", "PXAT", &(now - 5_000).to_string()]),
        // Still alive at the time this ran: the append must apply.
        words(&["APPEND", "gone", "w"]),
        words(&["SET", "kept", "v", "PXAT", &(now + 100_000).to_string()]),
        words(&["SET", "plain", "v"]),
    ] {
        let slices: Vec<&[u8]> = record.iter().map(Vec::as_slice).collect();
        bytes.extend_from_slice(&encode_command(&slices));
    }
    // Later, after "gone" expired: SETNX must succeed on replay as it did then.
    bytes.extend_from_slice(format!("#T:{}\r\n", now - 4_000).as_bytes());
    bytes.extend_from_slice(&encode_command(&[b"SETNX", b"gone2", b"x"]));
    bytes.extend_from_slice(&encode_command(&[
        b"SET",
        b"gone2",
        b"y",
        b"PXAT",
        (now - 3_000).to_string().as_bytes(),
    ]));
    std::fs::write(dir.log(), bytes).unwrap();
    let node = Node::start(&dir, &[]);
    let mut client = node.client();
    assert_eq!(text(&client.call(&["DBSIZE"])), "2");
    assert_eq!(client.call(&["EXISTS", "gone", "gone2"]), Reply::Int(0));
    let ttl: i64 = text(&client.call(&["TTL", "kept"])).parse().unwrap();
    assert!((90..=100).contains(&ttl), "{ttl}");
}

#[test]
fn clients_get_loading_during_a_slow_load_and_ping_and_info_work() {
    let dir = DataDir::new("loading");
    let records: Vec<Vec<Vec<u8>>> = (0..4000)
        .map(|i| words(&["SET", &format!("k{i}"), "v"]))
        .collect();
    write_plain_log(&dir.log(), &records);
    // 250 µs per record: the load takes at least a second.
    let node = Node::start_until(&dir, &["--key-load-delay", "250"], "Loading the dataset");
    let mut client = node.client();
    let mut saw_loading = false;
    let deadline = Instant::now() + DEADLINE;
    loop {
        let reply = client.call_raw(&[b"GET", b"k0"]);
        if reply == b"-LOADING Redis is loading the dataset in memory\r\n" {
            if !saw_loading {
                saw_loading = true;
                assert_eq!(client.call_raw(&[b"PING"]), b"+PONG\r\n");
                assert_eq!(info_field(&mut client, "loading"), "1");
                let total: u64 = info_field(&mut client, "loading_total_bytes")
                    .parse()
                    .unwrap();
                assert_eq!(total, std::fs::metadata(dir.log()).unwrap().len());
            }
        } else {
            assert_eq!(reply, b"$1\r\nv\r\n");
            break;
        }
        assert!(Instant::now() < deadline, "the load never ended");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(saw_loading, "the load ended before a client could see it");
    assert_eq!(info_field(&mut client, "loading"), "0");
    assert_eq!(text(&client.call(&["DBSIZE"])), "4000");
}

/// The raw replies that show the bit-command keys' values, after checking that
/// the deadline a bit write kept is still there.
fn bit_keys_state(client: &mut RawClient) -> Vec<Vec<u8>> {
    let state: Vec<Vec<u8>> = ["bm", "bf", "created", "x", "n", "gone", "ttl"]
        .iter()
        .map(|key| client.call_raw(&[b"GET", key.as_bytes()]))
        .collect();
    // The deadline survives; the seconds left may tick down between reads.
    let ttl: i64 = text(&client.call(&["TTL", "ttl"])).parse().unwrap();
    assert!((900..=1000).contains(&ttl), "TTL {ttl}");
    state
}

/// SETBIT, BITFIELD and BITOP reach the log: after a kill -9, the keys they wrote
/// (and deleted) read the same, from the log's tail and again once a rewrite has
/// folded them into its base.
#[test]
fn bit_writes_survive_a_restart() {
    let dir = DataDir::new("bits");
    let node = Node::start(&dir, &[]);
    let mut client = node.client();
    let script: &[&[&str]] = &[
        &["SETBIT", "bm", "7", "1"],
        &["SETBIT", "bm", "7", "1"],
        &["SETBIT", "bm", "100", "1"],
        &["SETBIT", "bm", "3", "0"],
        &[
            "BITFIELD", "bf", "SET", "i16", "#1", "-1234", "INCRBY", "u8", "0", "200",
        ],
        &[
            "BITFIELD", "bf", "OVERFLOW", "SAT", "INCRBY", "u8", "0", "100",
        ],
        &[
            "BITFIELD", "bf", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "1",
        ],
        &[
            "BITFIELD", "created", "OVERFLOW", "FAIL", "INCRBY", "u8", "40", "300",
        ],
        &["SET", "src1", "foobar"],
        &["SET", "src2", "abcdef"],
        &["BITOP", "XOR", "x", "src1", "src2"],
        &["BITOP", "NOT", "n", "bm"],
        &["SET", "gone", "v"],
        &["BITOP", "AND", "gone", "missing"],
        &["SETBIT", "ttl", "5", "1"],
        &["EXPIRE", "ttl", "1000"],
        &["SETBIT", "ttl", "200", "1"],
    ];
    for command in script {
        assert!(!client.call(command).is_error(), "{command:?}");
    }
    let before = bit_keys_state(&mut client);
    assert_eq!(before[5], b"$-1\r\n", "BITOP deleted its destination");
    node.kill9();

    let node = Node::start(&dir, &[]);
    let mut client = node.client();
    assert_eq!(bit_keys_state(&mut client), before);
    assert_eq!(
        text(&client.call(&["BGREWRITEAOF"])),
        "Background append only file rewriting started"
    );
    wait_info(&mut client, "aof_rewrites", |v| v == "1");
    client.call(&["SETBIT", "bm", "300", "1"]);
    client.call(&["BITFIELD", "bf", "INCRBY", "i16", "#1", "1"]);
    client.call(&["BITOP", "OR", "x", "x", "bm"]);
    let after = bit_keys_state(&mut client);
    assert_ne!(after, before);
    node.kill9();

    let node = Node::start(&dir, &[]);
    let mut client = node.client();
    assert_eq!(bit_keys_state(&mut client), after);
}
