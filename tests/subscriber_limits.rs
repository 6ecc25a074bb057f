//! Slow subscribers: one that never reads is disconnected once its pending output
//! passes `client-output-buffer-limit pubsub`, while publishers keep going and a
//! subscriber that keeps up receives every message.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use broker_server::protocol::Reply;
use common::{RawClient, TestServer, bulk, encode_command};

/// Everything the server logs in this test process.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
    type Writer = Logs;

    fn make_writer(&'a self) -> Logs {
        self.clone()
    }
}

/// Installs the log capture once for the process, and returns it.
fn logs() -> &'static Logs {
    static LOGS: OnceLock<Logs> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Logs::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(logs.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("one global subscriber");
        logs
    })
}

/// The captured log line that mentions `needle`.
fn log_line(needle: &str) -> String {
    let text = String::from_utf8_lossy(&logs().0.lock().unwrap()).into_owned();
    text.lines()
        .find(|line| line.contains(needle))
        .unwrap_or_else(|| panic!("no log line with {needle}:\n{text}"))
        .to_string()
}

const PAYLOAD: usize = 16 * 1024;
const BATCH: usize = 4;
/// A bound on the test itself: far more than any socket buffers can absorb.
const MAX_MESSAGES: usize = 20_000;

/// A subscriber socket with a small receive buffer, so the server-side queue fills
/// quickly when it does not read.
fn stalled_subscriber(server: &TestServer, name: &str, channel: &str) -> TcpStream {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.connect(&server.addr.into()).unwrap();
    let mut stream: TcpStream = socket.into();
    stream
        .write_all(&encode_command(&[b"CLIENT", b"SETNAME", name.as_bytes()]))
        .unwrap();
    stream
        .write_all(&encode_command(&[b"SUBSCRIBE", channel.as_bytes()]))
        .unwrap();
    stream
}

fn numsub(client: &mut RawClient, channel: &str) -> i64 {
    match client.call(&["PUBSUB", "NUMSUB", channel]) {
        Reply::Array(items) if items.len() == 2 && items[0] == bulk(channel) => match items[1] {
            Reply::Int(n) => n,
            ref other => panic!("NUMSUB count {other:?}"),
        },
        other => panic!("NUMSUB answered {other:?}"),
    }
}

/// Waits until `channel` has `count` subscribers.
fn wait_numsub(client: &mut RawClient, channel: &str, count: i64) {
    let deadline = Instant::now() + common::REPLY_TIMEOUT;
    while numsub(client, channel) != count {
        assert!(
            Instant::now() < deadline,
            "{channel} never had {count} subscribers"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Publishes `BATCH` messages per round trip until `stop` says so.
///
/// # Returns
/// How many messages were published.
fn publish_until(
    publisher: &mut RawClient,
    channel: &str,
    mut stop: impl FnMut(&mut RawClient) -> bool,
) -> usize {
    let payload = vec![b'x'; PAYLOAD];
    let request = encode_command(&[b"PUBLISH", channel.as_bytes(), &payload]);
    let mut published = 0;
    while !stop(publisher) {
        assert!(
            published < MAX_MESSAGES,
            "the stalled subscriber was never disconnected"
        );
        for _ in 0..BATCH {
            publisher.send(&request);
        }
        for _ in 0..BATCH {
            assert!(matches!(publisher.read_reply(), Reply::Int(n) if n >= 0));
        }
        published += BATCH;
    }
    published
}

#[test]
fn a_subscriber_that_never_reads_is_disconnected_past_the_hard_limit() {
    logs();
    let server = TestServer::start();
    let mut admin = server.raw();
    // Configurable at run time, as in Redis.
    assert_eq!(
        admin.call(&[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "pubsub 1mb 0 0"
        ]),
        Reply::Ok
    );
    let mut stalled = stalled_subscriber(&server, "stalled", "news");
    // A subscriber that keeps reading, to show nothing is dropped for it.
    let mut reader = server.raw();
    reader.send_command(&[b"SUBSCRIBE", b"news"]);
    reader.read_raw();
    wait_numsub(&mut admin, "news", 2);

    let reader_thread = std::thread::spawn(move || {
        let mut received = 0usize;
        loop {
            match reader.read_reply() {
                Reply::Array(items) if items.len() == 3 => {
                    if items[2] == bulk("end") {
                        return received;
                    }
                    assert_eq!(items[2], Reply::bulk(&[b'x'; PAYLOAD]));
                    received += 1;
                }
                other => panic!("unexpected frame {other:?}"),
            }
        }
    });

    let mut publisher = server.raw();
    let published = publish_until(&mut publisher, "news", |client| numsub(client, "news") == 1);
    assert_eq!(publisher.call(&["PUBLISH", "news", "end"]), Reply::Int(1));
    assert_eq!(
        reader_thread.join().unwrap(),
        published,
        "the reading subscriber lost messages"
    );

    // The stalled subscriber's connection is closed; whatever it is sent before the
    // close is whole frames it could still read.
    stalled
        .set_read_timeout(Some(common::REPLY_TIMEOUT))
        .unwrap();
    let mut drained = Vec::new();
    let _ = std::io::Read::read_to_end(&mut stalled, &mut drained);
    let clients = match admin.call(&["CLIENT", "LIST"]) {
        Reply::Bulk(b) | Reply::Verbatim(_, b) => String::from_utf8_lossy(&b).into_owned(),
        other => panic!("{other:?}"),
    };
    assert!(!clients.contains("name=stalled"), "{clients}");
    let line = log_line("name=stalled");
    assert!(line.contains("output buffer limits"), "{line}");
    assert!(
        line.contains("channels=1 patterns=0 shard_channels=0"),
        "{line}"
    );
    assert!(line.contains("pending_bytes="), "{line}");
}

#[test]
fn a_subscriber_over_the_soft_limit_for_too_long_is_disconnected() {
    logs();
    let server = TestServer::with_config(|config| {
        config.pubsub_output_limit.hard = 0;
        config.pubsub_output_limit.soft = 256 * 1024;
        config.pubsub_output_limit.soft_seconds = 1;
    });
    let mut admin = server.raw();
    let _stalled = stalled_subscriber(&server, "sleepy", "slow");
    wait_numsub(&mut admin, "slow", 1);
    let mut publisher = server.raw();
    // Past the soft limit, publishing goes on for a second before the close. Paced,
    // so that the queue tolerated meanwhile stays small.
    let started = Instant::now();
    publish_until(&mut publisher, "slow", |client| {
        std::thread::sleep(Duration::from_millis(5));
        numsub(client, "slow") == 0
    });
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert!(log_line("name=sleepy").contains("Soft"));
}
