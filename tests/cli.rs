//! The binary: command line, config file, start-up log line, signals.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{RawClient, encode_command};

const BINARY: &str = env!("CARGO_BIN_EXE_broker-server");

fn run(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(BINARY).args(args).output().expect("runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A server process on a free port, in a fresh data directory; killed (and the
/// directory removed) when dropped.
struct Process {
    child: Child,
    port: u16,
    log: Vec<String>,
    dir: std::path::PathBuf,
}

impl Process {
    /// Starts the binary with `--port 0` and reads the port from its ready line.
    fn start(args: &[&str]) -> Process {
        let dir = std::env::temp_dir().join(format!(
            "broker-cli-data-{}-{}",
            std::process::id(),
            broker_server::server::random_hex(8)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        // Like redis-server, a config file must come first.
        let mut child = Command::new(BINARY)
            .args(args)
            .args(["--port", "0", "--bind", "127.0.0.1"])
            .current_dir(&dir)
            .env_remove("NO_COLOR")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starts");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let mut log = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        let port = loop {
            assert!(Instant::now() < deadline, "no ready line");
            let line = lines.next().expect("log line").expect("utf-8");
            log.push(line.clone());
            if line.contains("Ready to accept connections") {
                let address = line.rsplit("127.0.0.1:").next().unwrap();
                let digits: String = address.chars().take_while(char::is_ascii_digit).collect();
                break digits.parse().unwrap();
            }
        };
        std::thread::spawn(move || lines.for_each(drop));
        Process {
            child,
            port,
            log,
            dir,
        }
    }

    /// Sends `SIG<signal>` and waits (20 s at most) for the exit code.
    fn signal_and_wait(&mut self, signal: &str) -> Option<i32> {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(Instant::now() < deadline, "did not exit after SIG{signal}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn help_and_version() {
    let (code, out, _) = run(&["--help"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("--port") && out.contains("--requirepass"),
        "{out}"
    );
    let (code, out, _) = run(&["--version"]);
    assert_eq!(code, 0);
    assert!(out.contains(env!("CARGO_PKG_VERSION")), "{out}");
}

#[test]
fn unknown_options_and_bad_values_fail_with_one_line() {
    let (code, _, err) = run(&["--no-such-option", "1"]);
    assert_eq!(code, 1);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("--no-such-option"), "{err}");
    let (code, _, err) = run(&["--port", "seventy"]);
    assert_eq!(code, 1);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("port") && err.contains("seventy"), "{err}");
    let (code, _, err) = run(&["/no/such/file.conf"]);
    assert_eq!(code, 1);
    assert!(err.contains("/no/such/file.conf"), "{err}");
}

#[test]
fn config_file_then_command_line_overrides() {
    let dir = std::env::temp_dir().join(format!("broker-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("test.conf");
    std::fs::write(&file, "databases 4\nmaxclients 77\n").unwrap();
    let process = Process::start(&[file.to_str().unwrap(), "--maxclients", "88"]);
    let start_line = process.log.iter().find(|l| l.contains("starting")).unwrap();
    assert!(
        start_line.contains(env!("CARGO_PKG_VERSION")),
        "{start_line}"
    );
    assert!(start_line.contains("pid="), "{start_line}");
    assert!(start_line.contains("test.conf"), "{start_line}");
    let mut client = RawClient::tcp(format!("127.0.0.1:{}", process.port).parse().unwrap());
    assert_eq!(
        client.call_raw(&[b"CONFIG", b"GET", b"databases"]),
        b"*2\r\n$9\r\ndatabases\r\n$1\r\n4\r\n"
    );
    assert_eq!(
        client.call_raw(&[b"CONFIG", b"GET", b"maxclients"]),
        b"*2\r\n$10\r\nmaxclients\r\n$2\r\n88\r\n"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn redis_style_options_are_accepted() {
    let process = Process::start(&[
        "--save",
        "",
        "--appendonly",
        "no",
        "--list-max-listpack-size",
        "128",
    ]);
    let mut client = RawClient::tcp(format!("127.0.0.1:{}", process.port).parse().unwrap());
    assert_eq!(client.call_raw(&[b"PING"]), b"+PONG\r\n");
}

#[test]
fn logs_to_a_pipe_carry_no_colour_codes() {
    // As under Docker or systemd: stdout is not a terminal, and NO_COLOR is unset.
    let process = Process::start(&[]);
    assert!(process.log.len() >= 2, "{:?}", process.log);
    for line in &process.log {
        assert!(!line.contains('\x1b'), "colour codes in {line:?}");
    }
}

#[test]
fn sigterm_shuts_down_gracefully() {
    for signal in ["TERM", "INT"] {
        let mut process = Process::start(&[]);
        let mut client = RawClient::tcp(format!("127.0.0.1:{}", process.port).parse().unwrap());
        assert_eq!(client.call_raw(&[b"SET", b"k", b"v"]), b"+OK\r\n");
        assert_eq!(process.signal_and_wait(signal), Some(0), "SIG{signal}");
        assert!(client.read_until_closed().is_empty());
    }
}

#[test]
fn the_sample_config_documents_every_option() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/config/broker-server.conf"
    ))
    .unwrap();
    for spec in broker_server::config::OPTIONS {
        let documented = text
            .lines()
            .any(|line| line.trim_start_matches("# ").split_whitespace().next() == Some(spec.name));
        assert!(
            documented,
            "config/broker-server.conf does not document '{}'",
            spec.name
        );
    }
    let mut config = broker_server::config::Config::default();
    let uncommented: String = text
        .lines()
        .filter_map(|l| l.strip_prefix("# "))
        .filter(|l| {
            let name = l.split_whitespace().next().unwrap_or("");
            broker_server::config::find_option(name).is_some()
        })
        .collect::<Vec<_>>()
        .join("\n");
    broker_server::config::file::apply_text(&mut config, &uncommented, "sample")
        .expect("every documented default parses");
}

/// A scratch directory for one test, removed when dropped.
struct Scratch(std::path::PathBuf);

impl Scratch {
    fn new(label: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!(
            "broker-cli-{label}-{}-{}",
            std::process::id(),
            broker_server::server::random_hex(8)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn connect(process: &Process) -> RawClient {
    RawClient::tcp(format!("127.0.0.1:{}", process.port).parse().unwrap())
}

/// What `CONFIG GET name` answers, as (name, value) text.
fn config_get(client: &mut RawClient, name: &str) -> String {
    match client.call(&["CONFIG", "GET", name]) {
        broker_server::protocol::Reply::Array(items) => match &items[..] {
            [_, broker_server::protocol::Reply::Bulk(value)] => {
                String::from_utf8(value.to_vec()).unwrap()
            }
            other => panic!("CONFIG GET {name} answered {other:?}"),
        },
        other => panic!("CONFIG GET {name} answered {other:?}"),
    }
}

#[test]
fn config_rewrite_survives_a_restart() {
    let scratch = Scratch::new("rewrite");
    let file = scratch.0.join("broker.conf");
    let original = format!(
        "# Broker settings\n\
         dir {}\n\
         appendonly no\n\
         \n\
         # Clients\n\
         maxclients 77\n\
         timeout 0\n",
        scratch.0.display()
    );
    std::fs::write(&file, &original).unwrap();
    let password = "s3 cr\"et\\";
    let changes = [
        ("maxclients", "99"),
        ("timeout", "30"),
        ("maxmemory", "100mb"),
        ("notify-keyspace-events", "KEA"),
        ("save", "900 1 300 10"),
        // Not `loglevel`: `Process::start` waits for a notice-level line.
        ("hz", "25"),
        ("client-output-buffer-limit", "pubsub 1mb 512kb 5"),
        ("requirepass", password),
    ];
    let mut before = Vec::new();
    {
        let process = Process::start(&[file.to_str().unwrap()]);
        let mut client = connect(&process);
        for (name, value) in changes {
            let reply = client.call_raw(&[b"CONFIG", b"SET", name.as_bytes(), value.as_bytes()]);
            assert_eq!(reply, b"+OK\r\n", "CONFIG SET {name}");
        }
        assert_eq!(client.call_raw(&[b"CONFIG", b"REWRITE"]), b"+OK\r\n");
        for (name, _) in changes {
            before.push(config_get(&mut client, name));
        }
    }
    let text = std::fs::read_to_string(&file).unwrap();
    // Comments and layout stay; set options are replaced where they were; the rest
    // follows the signature.
    assert!(text.starts_with("# Broker settings\n"), "{text}");
    assert!(
        text.contains("\n# Clients\nmaxclients 99\ntimeout 30\n"),
        "{text}"
    );
    assert!(text.contains("# Generated by CONFIG REWRITE\n"), "{text}");
    assert!(text.contains("requirepass \"s3 cr\\\"et\\\\\"\n"), "{text}");
    let restarted = Process::start(&[file.to_str().unwrap()]);
    let mut client = connect(&restarted);
    assert_eq!(client.call_raw(&[b"AUTH", password.as_bytes()]), b"+OK\r\n");
    for ((name, _), value) in changes.iter().zip(&before) {
        assert_eq!(
            &config_get(&mut client, name),
            value,
            "{name} after the restart"
        );
    }
    assert_eq!(config_get(&mut client, "maxclients"), "99");
    assert_eq!(config_get(&mut client, "requirepass"), password);
}

#[test]
fn config_rewrite_reports_why_it_failed() {
    let scratch = Scratch::new("rewrite-gone");
    let conf_dir = scratch.0.join("conf");
    std::fs::create_dir_all(&conf_dir).unwrap();
    let file = conf_dir.join("broker.conf");
    std::fs::write(
        &file,
        format!("dir {}\nappendonly no\n", scratch.0.display()),
    )
    .unwrap();
    let process = Process::start(&[file.to_str().unwrap()]);
    let mut client = connect(&process);
    std::fs::remove_dir_all(&conf_dir).unwrap();
    // Redis 7.0.15's text for the same situation.
    assert_eq!(
        client.call_raw(&[b"CONFIG", b"REWRITE"]),
        b"-ERR Rewriting config file: No such file or directory\r\n"
    );
}

#[test]
fn sigterm_ends_a_server_whose_clients_are_paused() {
    let mut process = Process::start(&["--appendonly", "no"]);
    let mut controller = connect(&process);
    assert_eq!(
        controller.call_raw(&[b"CLIENT", b"PAUSE", b"100000", b"WRITE"]),
        b"+OK\r\n"
    );
    let mut writer = connect(&process);
    writer.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n");
    common::blocked_clients(&mut controller, 1);
    assert_eq!(process.signal_and_wait("TERM"), Some(0));
    // The held write was never executed nor answered.
    assert!(writer.read_until_closed().is_empty());
}

/// With one worker (`--threads 1`), replies wait until every ready connection has
/// run (`Server::run_as_event_loop`): concurrent pipelining clients must
/// still each get every reply, in order.
#[test]
fn a_single_worker_answers_concurrent_pipelines_in_order() {
    let process = Process::start(&["--threads", "1", "--appendonly", "no"]);
    let clients: Vec<_> = (0..4)
        .map(|client| {
            let mut connection = connect(&process);
            std::thread::spawn(move || {
                for round in 0..50 {
                    let mut pipeline = Vec::new();
                    let mut expected = Vec::new();
                    for i in 0..100 {
                        let key = format!("c{client}:k{i}");
                        let value = format!("r{round}:v{i}");
                        pipeline.extend(encode_command(&[
                            b"SET",
                            key.as_bytes(),
                            value.as_bytes(),
                        ]));
                        pipeline.extend(encode_command(&[b"GET", key.as_bytes()]));
                        pipeline.extend(encode_command(&[b"INCR", b"total"]));
                        expected.extend_from_slice(b"+OK\r\n");
                        expected.extend(format!("${}\r\n{value}\r\n", value.len()).into_bytes());
                    }
                    connection.send(&pipeline);
                    let mut received = Vec::new();
                    for position in 0..300 {
                        let reply = connection.read_raw();
                        if position % 3 == 2 {
                            // INCR's count depends on the other clients' progress.
                            assert!(reply.starts_with(b":"), "{reply:?} for INCR");
                        } else {
                            received.extend(reply);
                        }
                    }
                    assert_eq!(
                        String::from_utf8_lossy(&received),
                        String::from_utf8_lossy(&expected),
                        "client {client}, round {round}"
                    );
                }
            })
        })
        .collect();
    for client in clients {
        client.join().unwrap();
    }
    let mut observer = connect(&process);
    assert_eq!(observer.call_raw(&[b"GET", b"total"]), b"$5\r\n20000\r\n");
}
