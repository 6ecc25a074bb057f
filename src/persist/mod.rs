//! Durability: the append-only log, snapshots, and recovery.
//!
//! # What is guaranteed, by default
//! The server starts with `appendonly yes` and `appendfsync always`: **no reply that
//! reports a write (or shows its effect) leaves before that write is on disk**, so no
//! acknowledged write is lost when the process is killed (`kill -9`), the OS crashes
//! or the power fails (as far as the disk honours `fdatasync`). Group commit keeps
//! this cheap: one `fdatasync` covers every connection's writes that arrived while the
//! previous one ran (see [`log`]).
//!
//! | `appendfsync` | Reply leaves after | Process crash (`kill -9`) | OS crash / power loss |
//! |---|---|---|---|
//! | `always` (default) | `write` + `fdatasync` of the records it depends on | nothing acknowledged is lost | nothing acknowledged is lost |
//! | `everysec` | `write` (to the OS) of those records; `fdatasync` once a second in the background | nothing acknowledged is lost | up to about 2 s of acknowledged writes can be lost |
//! | `no` | `write` of those records; the OS flushes when it likes | nothing acknowledged is lost | whatever the OS had not flushed (on Linux, typically up to 30 s) |
//!
//! With `appendonly no`, only snapshots (`SAVE`, `BGSAVE`, shutdown saves, `save`
//! points) persist anything: everything since the last one is lost on any crash.
//!
//! # The pieces
//! * [`record`]: how commands are written to the log.
//! * [`hook`]: how every command reaches the log without per-command code (read this
//!   when adding a command family).
//! * [`log`]: the shared buffer, the writer thread, group commit.
//! * [`watermark`]: how far the log is acknowledged, and waking the replies that
//!   wait for it.
//! * [`snapshot`]: broker-server's own snapshot format (documented there).
//! * [`jobs`]: `BGSAVE` and log rewrites, taken without stopping clients.
//! * [`scan`] and [`load`]: reading logs back, torn tails, corruption, recovery.
//! * [`check`]: `broker-server check-aof FILE [--fix]`.
//!
//! # Files
//! The log is `dir/appendfilename`: a snapshot (the *base*, written when the log is
//! created or rewritten) followed by log records. A plain log without a base (such as
//! a Redis AOF made only of commands) loads too. Snapshots go to `dir/dbfilename`.
//! At start-up the log is loaded when `appendonly` is on (a missing log is created
//! from the snapshot, if there is one); otherwise the snapshot is.
//!
//! # Compaction
//! The log is rewritten in the background when it has grown by
//! `auto-aof-rewrite-percentage` since its last rewrite and is at least
//! `auto-aof-rewrite-min-size`, and on `BGREWRITEAOF`. Writes go on meanwhile and end
//! up in the new file (see [`jobs`]).

pub mod check;
pub mod hook;
pub mod input;
pub mod jobs;
pub mod load;
pub mod log;
pub mod record;
pub mod scan;
pub mod snapshot;
pub mod watermark;

pub use hook::LogEffects;
pub use load::{LoadError, LoadReport};

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::config::Config;
use crate::persist::jobs::JobKind;
use crate::persist::log::{FsyncPolicy, LogWriter};
use crate::persist::record::Unit;
use crate::protocol::Args;
use crate::server::Server;
use crate::server::latency::LatencyMonitor;
use crate::store::{ChangeLog, Keyspace, Locked};
use crate::util::clock::now_ms;

/// The settings persistence acts on, copied from [`Config`].
#[derive(Debug, Clone)]
struct Settings {
    dir: PathBuf,
    appendonly: bool,
    appendfilename: String,
    dbfilename: String,
    fsync: FsyncPolicy,
    auto_rewrite_percentage: u64,
    auto_rewrite_min_size: u64,
    /// `save` points: (seconds, changes).
    save_points: Vec<(u64, u64)>,
    key_load_delay: Duration,
}

impl Settings {
    fn from(config: &Config) -> Self {
        let save = config.get("save").unwrap_or_default();
        let numbers: Vec<u64> = save
            .split_whitespace()
            .filter_map(|word| word.parse().ok())
            .collect();
        Settings {
            dir: config.dir.clone(),
            appendonly: config.appendonly,
            appendfilename: config.appendfilename.clone(),
            dbfilename: config.dbfilename.clone(),
            fsync: FsyncPolicy::parse(&config.appendfsync),
            auto_rewrite_percentage: config.auto_aof_rewrite_percentage,
            auto_rewrite_min_size: config.auto_aof_rewrite_min_size,
            save_points: numbers.chunks_exact(2).map(|p| (p[0], p[1])).collect(),
            key_load_delay: Duration::from_micros(config.key_load_delay),
        }
    }
}

/// Job bookkeeping, for `INFO` and scheduling.
#[derive(Debug, Default)]
struct JobState {
    running: Option<(JobKind, Instant)>,
    rewrite_scheduled: bool,
    enable_scheduled: bool,
    bgsave_scheduled: bool,
    bgsave_ok: bool,
    rewrite_ok: bool,
    last_bgsave_seconds: Option<u64>,
    last_rewrite_seconds: Option<u64>,
    rewrites: u64,
    saves: u64,
    /// When a rewrite last failed: automatic ones wait a while before trying again.
    rewrite_failed_at: Option<Instant>,
}

/// How long automatic rewrites wait after a failed one.
const REWRITE_RETRY: Duration = Duration::from_secs(60);

/// State shared with the job threads.
pub(crate) struct Inner {
    keyspace: Arc<Keyspace>,
    log: Arc<LogWriter>,
    settings: Mutex<Settings>,
    jobs: Mutex<JobState>,
    job_thread: Mutex<Option<JoinHandle<()>>>,
    /// Asks a running job to give up (shutdown, `appendonly no`).
    cancel: AtomicBool,
    /// Write commands that changed something and were not counted by the log (the
    /// log counts those it appends: see [`Inner::changes`]).
    dirty: AtomicU64,
    /// [`Inner::changes`] when the last snapshot was taken.
    changes_at_save: AtomicU64,
    /// Unix seconds of the last successful snapshot.
    lastsave: AtomicU64,
    /// `SHUTDOWN SAVE` (1) or `NOSAVE` (2); 0 lets the `save` points decide.
    shutdown_save: AtomicU8,
    /// Recovery finished: shutdown may save what is in memory.
    ready: AtomicBool,
    loading_started: AtomicU64,
    loading_total: AtomicU64,
    loading_loaded: AtomicU64,
}

/// What [`Locked::propagate`] logs to.
struct StoreChanges(std::sync::Weak<Inner>);

impl ChangeLog for StoreChanges {
    fn log(&self, db: usize, now_ms: u64, commands: &[&[&[u8]]]) {
        if let Some(inner) = self.0.upgrade() {
            inner.log_command(db, now_ms, commands);
        }
    }
}

impl Inner {
    fn log_command(&self, db: usize, now_ms: u64, commands: &[&[&[u8]]]) {
        if !self.log.logging() {
            self.dirty.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let mut unit = Unit::default();
        for command in commands {
            unit.push(db, command.iter().copied());
        }
        self.log.append(&unit, now_ms, 1);
    }

    fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    fn log_path(&self) -> PathBuf {
        let settings = self.settings.lock();
        settings.dir.join(&settings.appendfilename)
    }

    fn snapshot_path(&self) -> PathBuf {
        let settings = self.settings.lock();
        settings.dir.join(&settings.dbfilename)
    }

    /// Write commands that changed something, ever.
    fn changes(&self) -> u64 {
        self.dirty.load(Ordering::Relaxed) + self.log.changes()
    }

    /// Changes since the last snapshot (`rdb_changes_since_last_save`).
    fn changes_since_save(&self) -> u64 {
        self.changes()
            .saturating_sub(self.changes_at_save.load(Ordering::Relaxed))
    }

    /// A snapshot taken at `cut_ms`, when [`Inner::changes`] was `changes_at_cut`,
    /// is safely on disk.
    fn saved(&self, cut_ms: u64, changes_at_cut: u64) {
        self.lastsave.store(cut_ms / 1000, Ordering::Relaxed);
        self.changes_at_save
            .fetch_max(changes_at_cut, Ordering::Relaxed);
    }

    fn job_finished(&self, kind: JobKind, ok: bool, seconds: u64) {
        let mut jobs = self.jobs.lock();
        jobs.running = None;
        match kind {
            JobKind::Snapshot => {
                jobs.bgsave_ok = ok;
                jobs.last_bgsave_seconds = Some(seconds);
                jobs.saves += u64::from(ok);
            }
            JobKind::Rewrite | JobKind::Enable => {
                jobs.rewrite_ok = ok;
                jobs.last_rewrite_seconds = Some(seconds);
                jobs.rewrites += u64::from(ok);
                jobs.rewrite_failed_at = (!ok).then(Instant::now);
            }
        }
    }
}

/// Why a background job could not start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobRefusal {
    /// The same kind of job is already running.
    AlreadyRunning,
    /// Another job is running; this one will start after it.
    Scheduled,
    /// Another job is running and this kind is not scheduled.
    Busy,
    /// A log rewrite needs the log to be on.
    LogOff,
}

/// The server's durability machinery; one per [`Server`].
pub struct Persistence {
    inner: Arc<Inner>,
}

impl Persistence {
    /// The persistence of `keyspace`; the log's writes, syncs and renames are
    /// reported to `latency`.
    pub fn new(config: &Config, keyspace: Arc<Keyspace>, latency: Arc<LatencyMonitor>) -> Self {
        let settings = Settings::from(config);
        let log = LogWriter::new(settings.fsync, latency);
        let persistence = Persistence {
            inner: Arc::new(Inner {
                keyspace,
                log,
                settings: Mutex::new(settings),
                jobs: Mutex::new(JobState {
                    bgsave_ok: true,
                    rewrite_ok: true,
                    ..JobState::default()
                }),
                job_thread: Mutex::new(None),
                cancel: AtomicBool::new(false),
                dirty: AtomicU64::new(0),
                changes_at_save: AtomicU64::new(0),
                lastsave: AtomicU64::new(now_ms() / 1000),
                shutdown_save: AtomicU8::new(0),
                ready: AtomicBool::new(false),
                loading_started: AtomicU64::new(0),
                loading_total: AtomicU64::new(0),
                loading_loaded: AtomicU64::new(0),
            }),
        };
        // Weak: the keyspace must not keep persistence (which holds the keyspace)
        // alive.
        let sink: Arc<dyn ChangeLog> = Arc::new(StoreChanges(Arc::downgrade(&persistence.inner)));
        persistence.inner.keyspace.set_change_log(sink);
        persistence
    }

    // -----------------------------------------------------------------------------
    // The hook's side (see `hook`).

    /// The log writer, for the runtime's idle hook (`--threads 1`).
    pub fn log_writer(&self) -> Arc<LogWriter> {
        self.inner.log.clone()
    }

    /// Whether write commands are being logged.
    #[inline]
    pub fn logging(&self) -> bool {
        self.inner.log.logging()
    }

    /// Counts write commands that changed something but are not logged through
    /// [`Persistence::log_args`] or [`Persistence::log_unit`], which count their own
    /// (`rdb_changes_since_last_save`).
    #[inline]
    pub fn note_dirty(&self, commands: u64) {
        self.inner.dirty.fetch_add(commands, Ordering::Relaxed);
    }

    /// Logs one command run in `db` at `now_ms` (counted as one change). Call with
    /// the keys' locks held.
    pub fn log_args(&self, db: usize, args: Args<'_>, now_ms: u64) {
        self.inner.log.append_command(db, args.iter(), now_ms);
    }

    /// Logs a unit of records (written inside `MULTI`/`EXEC` when it holds several)
    /// standing for `changes` changing commands. Call with the keys' locks held.
    pub fn log_unit(&self, unit: &Unit, now_ms: u64, changes: u64) {
        self.inner.log.append(unit, now_ms, changes);
    }

    /// Logs commands that amount to a change made outside any command (see
    /// [`hook`]), as one unit. Call with the locks of the keys they touch held.
    /// Store code uses [`Locked::propagate`], which comes here.
    pub fn log_command(&self, db: usize, now_ms: u64, commands: &[&[&[u8]]]) {
        self.inner.log_command(db, now_ms, commands);
    }

    /// Waits until everything logged so far is durable under the current policy.
    /// Connections call this before writing replies.
    #[inline]
    pub async fn wait_durable(&self) {
        if !self.inner.log.is_durable() {
            self.inner.log.wait_durable().await;
        }
    }

    // -----------------------------------------------------------------------------
    // Start-up and shutdown.

    /// Loads the dataset at start-up (see the module documentation) and starts the
    /// log. Clients get `-LOADING` meanwhile (the caller sets and clears
    /// [`Server::set_loading`]).
    pub fn recover(&self, server: &Server) -> Result<(), LoadError> {
        let inner = &self.inner;
        let settings = inner.settings.lock().clone();
        let log_path = settings.dir.join(&settings.appendfilename);
        let snapshot_path = settings.dir.join(&settings.dbfilename);
        inner
            .loading_started
            .store(now_ms() / 1000, Ordering::Relaxed);
        let report = if settings.appendonly && log_path.exists() {
            inner
                .loading_total
                .store(file_size(&log_path), Ordering::Relaxed);
            let progress = load::AtomicProgress(&inner.loading_loaded);
            let report = load::load_log(server, &log_path, &progress, settings.key_load_delay)?;
            Some(("append only file", log_path.clone(), report))
        } else if snapshot_path.exists() {
            inner
                .loading_total
                .store(file_size(&snapshot_path), Ordering::Relaxed);
            let report = load::load_snapshot(server, &snapshot_path)?;
            Some(("snapshot", snapshot_path.clone(), report))
        } else {
            None
        };
        let expired = load::expire_all(&inner.keyspace, now_ms());
        if let Some((what, path, report)) = report {
            tracing::info!(
                file = %path.display(),
                bytes = report.bytes,
                keys = report.keys,
                records = report.records,
                expired,
                seconds = format_args!("{:.3}", report.seconds),
                mb_per_s = format_args!("{:.1}", report.mb_per_second()),
                "DB loaded from {what}"
            );
        }
        inner
            .changes_at_save
            .store(inner.changes(), Ordering::Relaxed);
        if settings.appendonly {
            self.open_log(&log_path).map_err(|error| LoadError::Io {
                path: log_path.clone(),
                error,
            })?;
        }
        inner.ready.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// Starts the writer on the log at `path`, creating it (with the dataset as its
    /// base) when it does not exist.
    fn open_log(&self, path: &std::path::Path) -> std::io::Result<()> {
        let inner = &self.inner;
        if !path.exists() {
            let locked = inner.keyspace.lock_all();
            jobs::save_shards(path, locked.shards_ref().map(|(_, s)| s), now_ms())?;
            tracing::info!(file = %path.display(), "Created the append only file");
        }
        let file = std::fs::OpenOptions::new().append(true).open(path)?;
        let size = file.metadata()?.len();
        inner.log.start(Some(file), size, true);
        Ok(())
    }

    /// Records the `SHUTDOWN` option: `Some(true)` for SAVE, `Some(false)` for NOSAVE.
    pub fn set_shutdown_save(&self, save: Option<bool>) {
        let value = match save {
            None => 0,
            Some(true) => 1,
            Some(false) => 2,
        };
        self.inner.shutdown_save.store(value, Ordering::Relaxed);
    }

    /// Leaves a consistent, synced state once clients are gone: stops any job, saves
    /// a snapshot if asked (`SHUTDOWN SAVE`, or `save` points configured and no
    /// `NOSAVE`), and syncs and closes the log.
    pub fn shutdown(&self) {
        let inner = &self.inner;
        inner.cancel.store(true, Ordering::Relaxed);
        if let Some(thread) = inner.job_thread.lock().take() {
            let _ = thread.join();
        }
        let save = match inner.shutdown_save.load(Ordering::Relaxed) {
            1 => true,
            2 => false,
            _ => !inner.settings.lock().save_points.is_empty(),
        };
        if save && inner.ready.load(Ordering::Relaxed) {
            match self.save_locked(&inner.keyspace.lock_all()) {
                Ok(_) => tracing::info!("DB saved on disk"),
                Err(error) => tracing::error!(%error, "Error saving the snapshot at shutdown"),
            }
        }
        if inner.log.logging() {
            inner.log.stop();
            tracing::info!("The append only file is synced and closed");
        }
    }

    // -----------------------------------------------------------------------------
    // Snapshots and rewrites.

    /// `SAVE`: writes a snapshot now, from shards the caller holds locked.
    pub fn save_locked(&self, locked: &Locked<'_>) -> std::io::Result<u64> {
        if matches!(self.inner.jobs.lock().running, Some((JobKind::Snapshot, _))) {
            return Err(std::io::Error::other("Background save already in progress"));
        }
        let now = now_ms();
        let changes = self.inner.changes();
        let size = jobs::save_shards(
            &self.inner.snapshot_path(),
            locked.shards_ref().map(|(_, s)| s),
            now,
        )?;
        self.inner.saved(now, changes);
        self.inner.jobs.lock().saves += 1;
        Ok(size)
    }

    /// `BGSAVE` (`schedule`: `BGSAVE SCHEDULE`).
    pub fn background_save(&self, schedule: bool) -> Result<(), JobRefusal> {
        self.start_job(JobKind::Snapshot, schedule)
    }

    /// `BGREWRITEAOF`.
    pub fn background_rewrite(&self) -> Result<(), JobRefusal> {
        if !self.logging() {
            return Err(JobRefusal::LogOff);
        }
        self.start_job(JobKind::Rewrite, true)
    }

    fn start_job(&self, kind: JobKind, schedule: bool) -> Result<(), JobRefusal> {
        let inner = &self.inner;
        let mut jobs = inner.jobs.lock();
        if let Some((running, _)) = jobs.running {
            let same = running == kind
                || (running == JobKind::Enable && kind == JobKind::Rewrite)
                || (running == JobKind::Rewrite && kind == JobKind::Enable);
            if same && kind != JobKind::Enable {
                return Err(JobRefusal::AlreadyRunning);
            }
            if !schedule {
                return Err(JobRefusal::Busy);
            }
            match kind {
                JobKind::Enable => jobs.enable_scheduled = true,
                JobKind::Rewrite => jobs.rewrite_scheduled = true,
                JobKind::Snapshot => jobs.bgsave_scheduled = true,
            }
            return Err(JobRefusal::Scheduled);
        }
        if inner.cancelled() {
            return Err(JobRefusal::Busy);
        }
        jobs.running = Some((kind, Instant::now()));
        match kind {
            JobKind::Enable => jobs.enable_scheduled = false,
            JobKind::Rewrite => jobs.rewrite_scheduled = false,
            JobKind::Snapshot => jobs.bgsave_scheduled = false,
        }
        drop(jobs);
        let mut thread = inner.job_thread.lock();
        if let Some(previous) = thread.take() {
            let _ = previous.join();
        }
        let job_inner = inner.clone();
        *thread = Some(
            std::thread::Builder::new()
                .name("persist-job".into())
                .spawn(move || jobs::run(job_inner, kind))
                .expect("spawn a persistence job"),
        );
        Ok(())
    }

    /// Periodic work (from the server's background task): scheduled jobs, automatic
    /// log rewrites, `save` points.
    pub fn cron(&self) {
        let inner = &self.inner;
        if !inner.ready.load(Ordering::Relaxed) || inner.cancelled() {
            return;
        }
        let (running, enable, rewrite, bgsave, backing_off) = {
            let jobs = inner.jobs.lock();
            (
                jobs.running.is_some(),
                jobs.enable_scheduled,
                jobs.rewrite_scheduled,
                jobs.bgsave_scheduled,
                jobs.rewrite_failed_at
                    .is_some_and(|at| at.elapsed() < REWRITE_RETRY),
            )
        };
        if running {
            return;
        }
        let settings = inner.settings.lock().clone();
        // Turning the log on: scheduled behind another job, or retried (after a
        // pause) when it failed, until the log is on as configured.
        if settings.appendonly && !self.logging() && (enable || !backing_off) {
            let _ = self.start_job(JobKind::Enable, false);
            return;
        }
        if self.logging() {
            let size = inner.log.size();
            let base = inner.log.base_size().max(1);
            let grown = size.saturating_sub(base) * 100 / base;
            let auto = settings.auto_rewrite_percentage > 0
                && !backing_off
                && size >= settings.auto_rewrite_min_size
                && grown >= settings.auto_rewrite_percentage;
            if rewrite || auto {
                if auto {
                    tracing::info!(
                        size,
                        base,
                        grown_percent = grown,
                        "Starting automatic rewriting of the append only file"
                    );
                }
                let _ = self.start_job(JobKind::Rewrite, false);
                return;
            }
        }
        if bgsave {
            let _ = self.start_job(JobKind::Snapshot, false);
            return;
        }
        let dirty = inner.changes_since_save();
        let since = (now_ms() / 1000).saturating_sub(inner.lastsave.load(Ordering::Relaxed));
        let due = settings
            .save_points
            .iter()
            .any(|&(seconds, changes)| dirty >= changes && since >= seconds && changes > 0);
        if due {
            tracing::info!(dirty, since, "Save point reached: saving in the background");
            let _ = self.start_job(JobKind::Snapshot, false);
        }
    }

    /// Applies changed settings (`CONFIG SET`): the fsync policy at once, the log
    /// switched on (a rewrite writes it from the dataset first) or off.
    pub fn reconfigure(&self, config: &Config) {
        let inner = &self.inner;
        let settings = Settings::from(config);
        let was_on = inner.settings.lock().appendonly;
        inner.log.set_policy(settings.fsync);
        let now_on = settings.appendonly;
        *inner.settings.lock() = settings;
        if !inner.ready.load(Ordering::Relaxed) || was_on == now_on {
            return;
        }
        if now_on {
            tracing::info!("Turning the append only file on: writing it from the dataset");
            inner.cancel.store(false, Ordering::Relaxed);
            if let Err(JobRefusal::Busy) = self.start_job(JobKind::Enable, true) {
                inner.jobs.lock().enable_scheduled = true;
            }
        } else {
            tracing::info!("Turning the append only file off");
            let running = inner.jobs.lock().running.map(|(kind, _)| kind);
            if matches!(running, Some(JobKind::Rewrite | JobKind::Enable)) {
                inner.cancel.store(true, Ordering::Relaxed);
                if let Some(thread) = inner.job_thread.lock().take() {
                    let _ = thread.join();
                }
                inner.cancel.store(false, Ordering::Relaxed);
            }
            {
                let mut jobs = inner.jobs.lock();
                jobs.enable_scheduled = false;
                jobs.rewrite_scheduled = false;
            }
            inner.log.stop();
        }
    }

    // -----------------------------------------------------------------------------
    // Reporting.

    /// Unix seconds of the last successful snapshot (`LASTSAVE`).
    pub fn lastsave(&self) -> u64 {
        self.inner.lastsave.load(Ordering::Relaxed)
    }

    /// Whether a background job is running.
    pub fn job_running(&self) -> bool {
        self.inner.jobs.lock().running.is_some()
    }

    /// The fields of `INFO persistence`.
    pub fn write_info(&self, loading: bool, text: &mut String) {
        let inner = &self.inner;
        let jobs = inner.jobs.lock();
        let running = jobs.running;
        let elapsed = |kinds: &[JobKind]| match running {
            Some((kind, since)) if kinds.contains(&kind) => since.elapsed().as_secs() as i64,
            _ => -1,
        };
        let mut field = |name: &str, value: &dyn std::fmt::Display| {
            let _ = write!(text, "{name}:{value}\r\n");
        };
        field("loading", &u8::from(loading));
        field("async_loading", &0);
        field("current_cow_peak", &0);
        field("current_cow_size", &0);
        field("current_fork_perc", &"0.00");
        field("rdb_changes_since_last_save", &inner.changes_since_save());
        let bgsave = matches!(running, Some((JobKind::Snapshot, _)));
        let rewriting = matches!(running, Some((JobKind::Rewrite | JobKind::Enable, _)));
        field("rdb_bgsave_in_progress", &u8::from(bgsave));
        field(
            "rdb_last_save_time",
            &inner.lastsave.load(Ordering::Relaxed),
        );
        field(
            "rdb_last_bgsave_status",
            &if jobs.bgsave_ok { "ok" } else { "err" },
        );
        field(
            "rdb_last_bgsave_time_sec",
            &jobs.last_bgsave_seconds.map_or(-1, |s| s as i64),
        );
        field(
            "rdb_current_bgsave_time_sec",
            &elapsed(&[JobKind::Snapshot]),
        );
        field("rdb_saves", &jobs.saves);
        field("rdb_last_cow_size", &0);
        field("aof_enabled", &u8::from(self.logging()));
        field("aof_rewrite_in_progress", &u8::from(rewriting));
        field(
            "aof_rewrite_scheduled",
            &u8::from(jobs.rewrite_scheduled || jobs.enable_scheduled),
        );
        field(
            "aof_last_rewrite_time_sec",
            &jobs.last_rewrite_seconds.map_or(-1, |s| s as i64),
        );
        field(
            "aof_current_rewrite_time_sec",
            &elapsed(&[JobKind::Rewrite, JobKind::Enable]),
        );
        field(
            "aof_last_bgrewrite_status",
            &if jobs.rewrite_ok { "ok" } else { "err" },
        );
        field("aof_rewrites", &jobs.rewrites);
        field("aof_last_write_status", &"ok");
        field("aof_last_cow_size", &0);
        field("module_fork_in_progress", &0);
        field("module_fork_last_cow_size", &0);
        drop(jobs);
        if self.logging() {
            let settings = inner.settings.lock();
            let policy = match settings.fsync {
                FsyncPolicy::Always => "always",
                FsyncPolicy::Everysec => "everysec",
                FsyncPolicy::No => "no",
            };
            drop(settings);
            field("aof_current_size", &inner.log.size());
            field("aof_base_size", &inner.log.base_size());
            field("aof_pending_rewrite", &0);
            field("aof_buffer_length", &inner.log.buffered());
            field("aof_pending_bio_fsync", &0);
            field("aof_delayed_fsync", &0);
            field("aof_fsync_policy", &policy);
        }
        if loading {
            let total = inner.loading_total.load(Ordering::Relaxed);
            let loaded = inner.loading_loaded.load(Ordering::Relaxed).min(total);
            let started = inner.loading_started.load(Ordering::Relaxed);
            let elapsed = (now_ms() / 1000).saturating_sub(started);
            let percent = if total == 0 {
                0.0
            } else {
                loaded as f64 * 100.0 / total as f64
            };
            let eta = ((total - loaded) * elapsed.max(1))
                .checked_div(loaded)
                .unwrap_or(1);
            field("loading_start_time", &started);
            field("loading_total_bytes", &total);
            field("loading_rdb_used_mem", &0);
            field("loading_loaded_bytes", &loaded);
            field("loading_loaded_perc", &format_args!("{percent:.2}"));
            field("loading_eta_seconds", &eta);
        }
    }
}

fn file_size(path: &std::path::Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}
