//! The server: shared state, listening, and the lifecycle from start to shutdown.
//!
//! * [`Server`] is the state every connection shares: configuration, keyspace,
//!   client registry, statistics.
//! * [`listener`] accepts connections (client cap, protected mode) and runs the
//!   background tasks; [`connection`] is the per-client task; [`client`] the client's
//!   state; [`outbox`] the bounded queue for pushed frames; [`pause`] `CLIENT
//!   PAUSE`; [`stats`] the counters; [`slowlog`] the slow log; [`latency`] the
//!   latency monitor.
//!
//! Shutdown is a [`CancellationToken`]: cancelling it stops the accept loops, lets
//! every connection finish the request it is running, closes the clients, and
//! `serve` returns once every task has ended.

pub mod client;
pub mod connection;
pub mod latency;
pub mod listener;
pub mod outbox;
pub mod pause;
pub mod send_batch;
pub mod slowlog;
pub mod stats;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use dashmap::DashMap;
use parking_lot::{Mutex, RwLock};
use tokio_util::sync::CancellationToken;

use crate::commands::table::CommandTable;
use crate::config::{Config, OutputLimit};
use crate::persist::Persistence;
use crate::persist::log::LogWriter;
use crate::protocol::Args;
use crate::pubsub::{Kind, PubSub, notify};
use crate::scripting::Scripting;
use crate::server::client::{Client, ClientHandle};
use crate::server::latency::LatencyMonitor;
use crate::server::pause::{Pause, PauseMode};
use crate::server::send_batch::SendBatch;
use crate::server::slowlog::SlowLog;
use crate::server::stats::Stats;
use crate::store::Keyspace;
use crate::util::clock::now_us;

pub use listener::{ServerHandle, bind, serve, start};

/// The broker-server version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The Redis version whose behaviour the server matches, reported where clients
/// gate features on it (`HELLO`, `INFO redis_version`).
pub const REDIS_COMPAT_VERSION: &str = "7.0.15";

/// State shared by every connection.
pub struct Server {
    pub config: RwLock<Config>,
    /// Shared with the persistence jobs, which copy it in the background.
    pub keyspace: Arc<Keyspace>,
    /// The append-only log, snapshots and recovery.
    pub persistence: Persistence,
    pub clients: DashMap<u64, Arc<ClientHandle>>,
    /// Who listens to which channel, pattern and shard channel.
    pub pubsub: PubSub,
    pub stats: Stats,
    /// Commands slower than `slowlog-log-slower-than` (`SLOWLOG`).
    pub slowlog: SlowLog,
    /// Events slower than `latency-monitor-threshold` (`LATENCY`); shared with the
    /// append-only log's writer thread.
    pub latency: Arc<LatencyMonitor>,
    /// The Lua script cache and interpreter (one per server: scripts run one at a time).
    pub scripting: Scripting,
    pub started: Instant,
    /// A random 40-hex-digit id for this run (`INFO run_id`).
    pub run_id: String,
    pub shutdown: CancellationToken,
    /// The addresses actually listened on.
    pub listening: Mutex<Vec<SocketAddr>>,
    next_client_id: AtomicU64,
    /// Cached from `requirepass`, read on every command.
    auth_required: AtomicBool,
    /// Cached from `notify-keyspace-events`: the classes to publish (0 = none).
    notify_flags: AtomicU32,
    /// Cached from `maxmemory` (0 = no limit), read by the command gate.
    maxmemory: AtomicU64,
    /// Cached from `client-query-buffer-limit`, read by every connection after
    /// each batch: a read of the configuration lock there would write its reader
    /// count, a cache line every core shares.
    query_buffer_limit: AtomicU64,
    /// See [`Server::run_as_event_loop`].
    replies_after_pass: AtomicBool,
    /// `io-uring yes`, on a kernel that allows it: see [`Server::send_batch`].
    batched_sends: AtomicBool,
    /// The allocator's `used_memory`, refreshed by the background task: reading it
    /// afresh costs a statistics refresh, too much for every command.
    used_memory: AtomicU64,
    loading: AtomicBool,
    /// Clients parked on a blocking command (`INFO blocked_clients`).
    pub blocked: AtomicUsize,
    /// `CLIENT PAUSE`: what is held, until when, and the clients held.
    pub pause: Pause,
    memory_peak: AtomicU64,
    /// The allocator's figure once the server's state was built (`MEMORY STATS`
    /// `startup.allocated`).
    pub startup_allocated: u64,
    monitors: DashMap<u64, Arc<ClientHandle>>,
    monitor_count: AtomicUsize,
    last_security_warning: Mutex<Option<Instant>>,
}

impl Server {
    pub fn new(config: Config) -> Self {
        let auth_required = config.auth_required();
        let notify_flags = config_notify_flags(&config);
        let maxmemory = config.maxmemory;
        let query_buffer_limit = config.client_query_buffer_limit;
        let batched_sends = config_batched_sends(&config);
        let keyspace = Arc::new(Keyspace::new(config.databases));
        keyspace.set_notify_flags(notify_flags);
        let latency = Arc::new(LatencyMonitor::new(config.latency_monitor_threshold));
        let stats = Stats::new(CommandTable::get().len());
        stats.set_latency_tracking(config.latency_tracking);
        let allocated = crate::util::alloc::allocated();
        Server {
            persistence: Persistence::new(&config, keyspace.clone(), latency.clone()),
            slowlog: SlowLog::new(config.slowlog_log_slower_than, config.slowlog_max_len),
            latency,
            stats,
            keyspace,
            config: RwLock::new(config),
            clients: DashMap::new(),
            pubsub: PubSub::default(),
            scripting: Scripting::new(),
            started: Instant::now(),
            run_id: random_hex(40),
            shutdown: CancellationToken::new(),
            listening: Mutex::new(Vec::new()),
            next_client_id: AtomicU64::new(1),
            auth_required: AtomicBool::new(auth_required),
            notify_flags: AtomicU32::new(notify_flags),
            maxmemory: AtomicU64::new(maxmemory),
            query_buffer_limit: AtomicU64::new(query_buffer_limit),
            replies_after_pass: AtomicBool::new(false),
            batched_sends: AtomicBool::new(batched_sends),
            used_memory: AtomicU64::new(allocated),
            loading: AtomicBool::new(false),
            blocked: AtomicUsize::new(0),
            pause: Pause::default(),
            memory_peak: AtomicU64::new(0),
            startup_allocated: allocated,
            monitors: DashMap::new(),
            monitor_count: AtomicUsize::new(0),
            last_security_warning: Mutex::new(None),
        }
    }

    pub fn next_client_id(&self) -> u64 {
        self.next_client_id.fetch_add(1, Ordering::Relaxed)
    }

    pub fn auth_required(&self) -> bool {
        self.auth_required.load(Ordering::Relaxed)
    }

    /// For a runtime with a single worker: serve like an event loop.
    ///
    /// Each connection defers writing its replies until every other ready
    /// connection has run, so the replies of a pass leave together. Without it the
    /// worker writes one reply at a time, and a client waiting on many connections
    /// is woken once per reply; with it, one wake finds several. Measured with one
    /// worker and 50 clients at `-P 16` (PERFORMANCE.md, "Runtime"): 8–15 % less
    /// server CPU and 12 % less client CPU per request. With several workers the
    /// deferred connection often moves to another worker instead, which costs
    /// more than it saves.
    ///
    /// Under `appendfsync always` the log's rounds are left to the worker: the
    /// caller runs [`LogWriter::round_when_idle`] on the returned writer each time
    /// the worker is about to sleep.
    pub fn run_as_event_loop(&self) -> Arc<LogWriter> {
        self.replies_after_pass.store(true, Ordering::Relaxed);
        let log = self.persistence.log_writer();
        log.run_rounds_when_idle();
        log
    }

    /// Whether [`Server::run_as_event_loop`] is on.
    #[inline]
    pub fn replies_after_pass(&self) -> bool {
        self.replies_after_pass.load(Ordering::Relaxed)
    }

    /// The calling worker's batch of replies to send, when replies go out in
    /// batches (`io-uring yes` on a kernel that allows it; see
    /// [`send_batch`]); `None` to write them directly.
    #[inline]
    pub fn send_batch(&self) -> Option<Arc<SendBatch>> {
        self.batches_sends()
            .then(SendBatch::for_this_thread)
            .flatten()
    }

    /// Whether replies go out in batches through io_uring (`INFO server`).
    #[inline]
    pub fn batches_sends(&self) -> bool {
        self.batched_sends.load(Ordering::Relaxed)
    }

    /// `client-query-buffer-limit`, in bytes.
    #[inline]
    pub fn query_buffer_limit(&self) -> u64 {
        self.query_buffer_limit.load(Ordering::Relaxed)
    }

    /// Closes every client idle for longer than `timeout` seconds, as Redis's
    /// client cron does, so that a timeout set at run time reaches clients already
    /// idle. Clients waiting on a blocking command or a pause, subscribers and
    /// monitors are left alone, as in Redis.
    pub fn close_idle_clients(&self) {
        let timeout_ms = self.config.read().timeout.saturating_mul(1000);
        if timeout_ms == 0 {
            return;
        }
        for entry in self.clients.iter() {
            let handle = entry.value();
            if handle.idle_ms() > timeout_ms
                && handle.subscriptions() == 0
                && !handle.is_blocked()
                && !handle.info.lock().monitor
            {
                handle.close_idle();
            }
        }
    }

    /// Re-reads settings that hot paths cache, after `CONFIG SET`.
    pub fn config_changed(&self) {
        let config = self.config.read();
        self.auth_required
            .store(config.auth_required(), Ordering::Relaxed);
        let flags = config_notify_flags(&config);
        self.notify_flags.store(flags, Ordering::Relaxed);
        self.maxmemory.store(config.maxmemory, Ordering::Relaxed);
        self.query_buffer_limit
            .store(config.client_query_buffer_limit, Ordering::Relaxed);
        self.refresh_used_memory();
        self.keyspace.set_notify_flags(flags);
        self.slowlog
            .configure(config.slowlog_log_slower_than, config.slowlog_max_len);
        self.latency.configure(config.latency_monitor_threshold);
        self.stats.set_latency_tracking(config.latency_tracking);
        self.batched_sends
            .store(config_batched_sends(&config), Ordering::Relaxed);
        self.persistence.reconfigure(&config);
    }

    /// Reads the allocator's figure into the copy [`Server::over_maxmemory`] uses.
    pub fn refresh_used_memory(&self) {
        let used = crate::commands::server::allocated_bytes();
        self.used_memory.store(used, Ordering::Relaxed);
    }

    /// Whether memory use is past `maxmemory` (never without a limit). Writes are
    /// then refused with `-OOM`, Redis's `noeviction` policy, the only one
    /// broker-server has: a broker must not drop queued tasks to make room. Below
    /// the limit the figure is at most one background period old; past it, it is
    /// read afresh, so that memory freed meanwhile lets writes through at once.
    #[inline]
    pub fn over_maxmemory(&self) -> bool {
        let limit = self.maxmemory.load(Ordering::Relaxed);
        if limit == 0 || self.used_memory.load(Ordering::Relaxed) <= limit {
            return false;
        }
        self.refresh_used_memory();
        self.used_memory.load(Ordering::Relaxed) > limit
    }

    /// The keyspace-notification classes to publish; 0 when none.
    pub fn notify_flags(&self) -> u32 {
        self.notify_flags.load(Ordering::Relaxed)
    }

    /// Publishes `message` on `channel` ([`Kind::Channel`], also reaching matching
    /// patterns) or on a shard channel ([`Kind::Shard`]), pushing to each subscriber
    /// within the `client-output-buffer-limit pubsub` limits.
    ///
    /// # Returns
    /// The number of receivers.
    pub fn publish(&self, kind: Kind, channel: &[u8], message: &[u8]) -> usize {
        let limit = self.config.read().pubsub_output_limit;
        self.pubsub
            .publish(kind, channel, message, |handle, frame| {
                self.push_to(handle, frame, limit)
            })
    }

    pub fn is_loading(&self) -> bool {
        self.loading.load(Ordering::Relaxed)
    }

    pub fn set_loading(&self, loading: bool) {
        if !loading {
            // The dataset just loaded is what `maxmemory` is first checked against.
            self.refresh_used_memory();
        }
        self.loading.store(loading, Ordering::Relaxed);
    }

    /// Checks a password against `requirepass`.
    pub fn password_matches(&self, password: &[u8]) -> bool {
        self.config
            .read()
            .requirepass
            .as_deref()
            .is_some_and(|expected| expected.as_bytes() == password)
    }

    /// Logs a cross-protocol attack, at most once a minute.
    pub fn log_security_attack(&self, client: &Client) {
        let mut last = self.last_security_warning.lock();
        if last.is_none_or(|at| at.elapsed() >= Duration::from_secs(60)) {
            *last = Some(Instant::now());
            tracing::warn!(
                addr = %client.handle.addr,
                "Possible SECURITY ATTACK detected. It looks like somebody is sending POST or Host: commands to broker-server. This is likely due to an attacker attempting to use Cross Protocol Scripting to compromise your server. Connection aborted."
            );
        }
    }

    /// Starts feeding every executed command to `handle` (MONITOR).
    pub fn add_monitor(&self, handle: Arc<ClientHandle>) {
        handle.info.lock().monitor = true;
        if self.monitors.insert(handle.id, handle).is_none() {
            self.monitor_count.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn remove_monitor(&self, id: u64) {
        if self.monitors.remove(&id).is_some() {
            self.monitor_count.fetch_sub(1, Ordering::Relaxed);
        }
    }

    pub fn monitors_active(&self) -> bool {
        self.monitor_count.load(Ordering::Relaxed) > 0
    }

    /// Sends a MONITOR line for a command `client` ran (a script's own client shows
    /// as `lua`), with the arguments the command marked sensitive redacted.
    pub fn feed_monitors(&self, client: &Client, args: &Args<'_>) {
        let origin = if client.script {
            format!("{} lua", client.db)
        } else {
            format!("{} {}", client.db, client.handle.addr)
        };
        let micros = now_us();
        let mut line = format!(
            "+{}.{:06} [{origin}]",
            micros / 1_000_000,
            micros % 1_000_000
        )
        .into_bytes();
        for (index, arg) in args.iter().enumerate() {
            let arg = if client.redacted.contains(&index) {
                slowlog::REDACTED
            } else {
                arg
            };
            line.extend_from_slice(b" \"");
            for &byte in arg {
                match byte {
                    b'\\' => line.extend_from_slice(b"\\\\"),
                    b'"' => line.extend_from_slice(b"\\\""),
                    b'\n' => line.extend_from_slice(b"\\n"),
                    b'\r' => line.extend_from_slice(b"\\r"),
                    b'\t' => line.extend_from_slice(b"\\t"),
                    0x07 => line.extend_from_slice(b"\\a"),
                    0x08 => line.extend_from_slice(b"\\b"),
                    0x20..=0x7e => line.push(byte),
                    _ => line.extend_from_slice(format!("\\x{byte:02x}").as_bytes()),
                }
            }
            line.push(b'"');
        }
        line.extend_from_slice(b"\r\n");
        let frame = Bytes::from(line);
        for monitor in self.monitors.iter() {
            self.push_to(
                monitor.value(),
                frame.clone(),
                OutputLimit {
                    hard: 0,
                    soft: 0,
                    soft_seconds: 0,
                },
            );
        }
    }

    /// Pushes a frame to a client, closing it if its output limit is exceeded. The
    /// frame is then not queued, and the client is closed rather than left to miss it
    /// unknowingly; the close is logged once.
    pub fn push_to(&self, client: &ClientHandle, frame: Bytes, limit: OutputLimit) {
        if let Err(overflow) = client.outbox.push(frame, limit) {
            if client.kill.is_cancelled() {
                return;
            }
            let name = String::from_utf8_lossy(&client.info.lock().name).into_owned();
            let [channels, patterns, shard_channels] = client.subscription_counts();
            tracing::warn!(
                id = client.id,
                addr = %client.addr,
                name = %name,
                channels,
                patterns,
                shard_channels,
                pending_bytes = client.outbox.pending_bytes(),
                ?overflow,
                "Client scheduled to be closed ASAP for overcoming of output buffer limits."
            );
            client.kill.cancel();
        }
    }

    /// `CLIENT PAUSE`: holds commands in `mode` until `end_ms` (never weakening nor
    /// shortening a pause in force), and suspends key expiry meanwhile.
    pub fn pause_clients(&self, mode: PauseMode, end_ms: u64, now_ms: u64) {
        let end = self.pause.pause(mode, end_ms, now_ms);
        self.keyspace.suspend_expiry_until(end);
    }

    /// `CLIENT UNPAUSE`: releases every held client and resumes expiry.
    pub fn unpause_clients(&self) {
        self.keyspace.suspend_expiry_until(0);
        self.pause.unpause();
    }

    pub fn blocked_clients(&self) -> usize {
        // Pairs with the decrement in `Waiting::leave`, which follows the waiter's
        // removal from the queues.
        self.blocked.load(Ordering::Acquire)
    }

    /// Records a memory reading and returns the peak so far.
    pub fn note_memory_peak(&self, used: u64) -> u64 {
        self.memory_peak
            .fetch_max(used, Ordering::Relaxed)
            .max(used)
    }

    /// Server uptime.
    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }
}

/// Whether `config` asks for batched sends and this kernel allows them.
fn config_batched_sends(config: &Config) -> bool {
    config.io_uring && SendBatch::supported().is_ok()
}

/// The notification classes `config` enables, or 0 when none would be published.
fn config_notify_flags(config: &Config) -> u32 {
    notify::parse_flags(&config.notify_keyspace_events).map_or(0, notify::effective)
}

/// `len` random lower-case hex digits, from the OS's randomness via the std hasher
/// seed (no extra crate needed for an id).
pub fn random_hex(len: usize) -> String {
    use std::hash::{BuildHasher, RandomState};
    let mut out = String::with_capacity(len);
    let state = RandomState::new();
    let mut counter = 0u64;
    while out.len() < len {
        let word = state.hash_one((counter, now_us()));
        out.push_str(&format!("{word:016x}"));
        counter += 1;
    }
    out.truncate(len);
    out
}
