//! The append-only log's writer: one buffer that every connection appends to, write
//! rounds that take it out (group commit), and the watermark replies wait for.
//!
//! # Group commit
//! Commands append their records to [`LogWriter`]'s buffer while they still hold
//! their shard locks, so the order of records matches the order of execution for
//! every key. Each append takes a sequence number. A *round* swaps the whole buffer
//! out, writes it with one `write`, and under `appendfsync always` makes it durable
//! with one `fdatasync`; then it raises the [`Watermark`] to "acknowledged up to
//! N". Whatever was appended while that fsync ran goes out together in the next
//! round, so one fsync covers every connection's writes of a round. The writer
//! thread also waits a little, after a round, for the clients that round released
//! to send their next writes (see [`Gathering`]). A connection writes its replies
//! only once the watermark covers everything appended before it (see
//! [`LogWriter::wait_durable`]).
//!
//! Under `always`, the `aof-writer` thread runs every round, so `fdatasync` never
//! blocks a runtime thread, except with a single runtime worker (`--threads 1`):
//! there the worker runs the round itself each time it runs out of work, before it
//! waits for more (see [`LogWriter::round_when_idle`]), as an event loop that syncs
//! before it sleeps. A round then covers every request that arrived during the last
//! one, and costs no thread hand-off; the writer thread only picks up stragglers.
//!
//! Under `everysec` and `no`, the first connection that needs a round runs it
//! inline (a `write` to the OS), which saves two thread hand-offs per round; the
//! thread then only picks up records nobody waits for, rewrite switches and the
//! final stop. Rounds never overlap (one lock).
//!
//! # Rewrites
//! A rewrite (see `jobs`) needs every record appended after its cut: the writer
//! copies those (the *tail*) into a side buffer while writing them to the current
//! file, the job moves the tail into the new file as it goes, and finally the writer
//! itself appends the last bit of tail, makes the new file durable, renames it over
//! the old one and carries on there. The switch happens between two of the writer's
//! rounds, so no record is lost or written twice.
//!
//! # Failure
//! A failed `write` or `fsync` leaves the log in an unknown state. The writer logs
//! the error and stops the process: nothing after the failure was acknowledged, so a
//! restart recovers every acknowledged write from the file.

use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::persist::record::{Unit, encode_command, encode_select, encode_time};
use crate::persist::watermark::Watermark;
use crate::server::latency::LatencyMonitor;

/// When the log is made durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// `fdatasync` before any reply that depends on the write leaves.
    Always = 0,
    /// `write` before the reply; `fdatasync` once a second in the background.
    Everysec = 1,
    /// `write` before the reply; the OS decides when to flush.
    No = 2,
}

impl FsyncPolicy {
    pub fn parse(name: &str) -> FsyncPolicy {
        match name {
            "everysec" => FsyncPolicy::Everysec,
            "no" => FsyncPolicy::No,
            _ => FsyncPolicy::Always,
        }
    }

    fn from_u8(value: u8) -> FsyncPolicy {
        match value {
            1 => FsyncPolicy::Everysec,
            2 => FsyncPolicy::No,
            _ => FsyncPolicy::Always,
        }
    }
}

/// A request to continue in a new file (end of a rewrite).
struct Switch {
    file: File,
    tmp: PathBuf,
    path: PathBuf,
    done: std::sync::mpsc::Sender<io::Result<u64>>,
}

/// What commands append to, guarded by one mutex.
struct Pending {
    bytes: Vec<u8>,
    /// Sequence number of the last unit appended.
    seq: u64,
    /// Database of the last record in the stream, if known.
    last_db: Option<usize>,
    /// Clock of the last record in the stream.
    last_ms: u64,
    /// Set at a rewrite's cut: where, in `bytes`, the tail starts.
    tee_start: Option<usize>,
    /// Set when a rewrite gives up: stop copying the tail.
    stop_tee: bool,
    switch: Option<Switch>,
    stop: bool,
    /// Write commands that changed something, counted here (under the lock appends
    /// take anyway) rather than in a shared atomic.
    changes: u64,
    /// The writer thread, gathering an `always` round, wants a wake-up once `seq`
    /// reaches this (see [`Gathering`]); appends below it leave the thread asleep.
    wake_at: u64,
}

/// What a write round works with; whoever runs a round holds it.
struct RoundState {
    /// The live file (None: records only go to a rewrite's tail).
    file: Option<Arc<File>>,
    /// The buffer swapped out of `Pending` for this round.
    chunk: Vec<u8>,
    /// Copying records to the tail (between a rewrite's cut and its switch).
    teeing: bool,
}

/// How a round ended.
#[derive(PartialEq, Eq)]
enum RoundEnd {
    Continue,
    /// The round handled `stop`: the writer thread ends.
    Stopped,
    /// An inline round found work only the writer thread does (a switch, a stop).
    LeftToThread,
}

/// Under `everysec` and `no`, appends do not wake the writer thread (the connections
/// waiting for their replies write the records themselves); it looks for records
/// nobody waits for this often.
const STRAGGLER_DELAY: Duration = Duration::from_millis(2);

/// Who runs the `always` rounds (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RoundRunner {
    /// The `aof-writer` thread, woken by every append.
    WriterThread,
    /// The single runtime worker, each time it runs out of work.
    IdleWorker,
}

/// When the writer thread starts an `always` round (group commit with a short
/// gathering window).
///
/// A round releases the replies of the records it covered, and those clients send
/// their next writes a round trip later. Starting the next round at once would
/// leave them out, for a whole `fdatasync`; under steady load the clients then
/// split into two cohorts that take turns, each waiting for two syncs per request.
/// So after a round the thread waits until as many new records have arrived as
/// the round covered (on top of those that were already waiting), or until a
/// window of half the round's duration has passed, whichever comes first: one
/// round then covers everyone, and a lone client, whose next write completes the
/// count at once, waits for nothing.
struct Gathering {
    /// `seq` at which the next round has gathered enough.
    target: u64,
    /// `seq` covered by the last round.
    covered: u64,
    /// End of the gathering window; None before the first round.
    until: Option<Instant>,
}

/// Longest gathering window, whatever a round took.
const MAX_GATHERING: Duration = Duration::from_millis(1);

impl Gathering {
    fn new() -> Self {
        Gathering {
            target: 0,
            covered: 0,
            until: None,
        }
    }

    /// Whether a round should start for the records pending, appended up to `seq`.
    fn ready(&self, seq: u64, now: Instant) -> bool {
        seq >= self.target || self.until.is_none_or(|until| now >= until)
    }

    /// The `seq` whose append should wake the thread, which waits with records
    /// pending (`gathering`) or with none.
    fn wake_at(&self, seq: u64, gathering: bool) -> u64 {
        if gathering {
            // The window's end wakes it too.
            self.target
        } else {
            // The first append either completes the count or starts the wait for
            // the window.
            seq + 1
        }
    }

    /// A round covered appends up to `covered`, took `took`, and `appended` had
    /// been reached when it ended.
    fn round_done(&mut self, covered: u64, appended: u64, took: Duration) {
        let released = covered.saturating_sub(self.covered);
        self.covered = covered;
        self.target = appended.saturating_add(released);
        self.until = Some(Instant::now() + (took / 2).min(MAX_GATHERING));
    }
}

/// The log buffer, its writer thread and the durability watermark.
pub struct LogWriter {
    pending: Mutex<Pending>,
    /// Held for a whole write round, by the writer thread or (under `everysec` and
    /// `no`) by a connection doing the round inline.
    round: Mutex<RoundState>,
    wake: Condvar,
    /// Sequence number of the last unit appended (mirrors `pending.seq`).
    appended: AtomicU64,
    /// Every unit up to this one is written (and synced under `always`).
    acked: Arc<Watermark>,
    /// Whether appends are accepted at all.
    logging: AtomicBool,
    policy: AtomicU8,
    /// Under `always`, rounds are run by the runtime worker when it goes idle
    /// ([`LogWriter::round_when_idle`]) instead of on every append.
    rounds_when_idle: AtomicBool,
    /// The live file, for the background fsync.
    live: Mutex<Option<Arc<File>>>,
    /// Written since the last fsync.
    unsynced: AtomicBool,
    /// Size of the live file.
    size: AtomicU64,
    /// Size of the live file right after its last rewrite (or at start).
    base_size: AtomicU64,
    /// Records written since a rewrite's cut, for the new file.
    tail: Mutex<Vec<u8>>,
    /// Stops the background fsync thread.
    fsync_stop: (Mutex<bool>, Condvar),
    threads: Mutex<Vec<JoinHandle<()>>>,
    /// Where slow writes, syncs and renames are reported (`aof-write`,
    /// `aof-fsync-always`, `aof-rename`); a relaxed load per round when it is off.
    latency: Arc<LatencyMonitor>,
}

impl LogWriter {
    pub fn new(policy: FsyncPolicy, latency: Arc<LatencyMonitor>) -> Arc<Self> {
        Arc::new(LogWriter {
            pending: Mutex::new(Pending {
                bytes: Vec::with_capacity(64 * 1024),
                seq: 0,
                last_db: None,
                last_ms: 0,
                tee_start: None,
                stop_tee: false,
                switch: None,
                stop: false,
                changes: 0,
                wake_at: 0,
            }),
            round: Mutex::new(RoundState {
                file: None,
                chunk: Vec::with_capacity(64 * 1024),
                teeing: false,
            }),
            wake: Condvar::new(),
            appended: AtomicU64::new(0),
            acked: Watermark::new(),
            logging: AtomicBool::new(false),
            policy: AtomicU8::new(policy as u8),
            rounds_when_idle: AtomicBool::new(false),
            live: Mutex::new(None),
            unsynced: AtomicBool::new(false),
            size: AtomicU64::new(0),
            base_size: AtomicU64::new(0),
            tail: Mutex::new(Vec::new()),
            fsync_stop: (Mutex::new(false), Condvar::new()),
            threads: Mutex::new(Vec::new()),
            latency,
        })
    }

    /// Whether appends are accepted.
    #[inline]
    pub fn logging(&self) -> bool {
        self.logging.load(Ordering::Acquire)
    }

    pub fn policy(&self) -> FsyncPolicy {
        FsyncPolicy::from_u8(self.policy.load(Ordering::Relaxed))
    }

    pub fn set_policy(&self, policy: FsyncPolicy) {
        self.policy.store(policy as u8, Ordering::Relaxed);
        // The writer thread waits differently under each policy.
        self.wake.notify_one();
    }

    pub fn size(&self) -> u64 {
        self.size.load(Ordering::Relaxed)
    }

    pub fn base_size(&self) -> u64 {
        self.base_size.load(Ordering::Relaxed)
    }

    /// Bytes appended but not yet taken by the writer.
    pub fn buffered(&self) -> usize {
        self.pending.lock().bytes.len()
    }

    /// Starts the writer on `file` (None: records are only copied to a rewrite's
    /// tail, until a switch installs a file) and accepts appends if `accept`.
    pub fn start(self: &Arc<Self>, file: Option<File>, size: u64, accept: bool) {
        {
            let mut pending = self.pending.lock();
            pending.stop = false;
            pending.stop_tee = false;
            pending.tee_start = None;
            pending.last_db = None;
            pending.last_ms = 0;
        }
        *self.fsync_stop.0.lock() = false;
        self.size.store(size, Ordering::Relaxed);
        self.base_size.store(size, Ordering::Relaxed);
        let file = file.map(Arc::new);
        *self.live.lock() = file.clone();
        {
            let mut round = self.round.lock();
            round.file = file;
            round.teeing = false;
            round.chunk.clear();
        }
        let writer = self.clone();
        let syncer = self.clone();
        let mut threads = self.threads.lock();
        threads.push(
            std::thread::Builder::new()
                .name("aof-writer".into())
                .spawn(move || writer.run())
                .expect("spawn the log writer"),
        );
        threads.push(
            std::thread::Builder::new()
                .name("aof-fsync".into())
                .spawn(move || syncer.fsync_every_second())
                .expect("spawn the log fsync thread"),
        );
        self.logging.store(accept, Ordering::Release);
    }

    /// Appends one unit of records run at `now_ms`. Call it while holding the locks
    /// of the keys the records touch.
    ///
    /// # Returns
    /// The unit's sequence number, or None when the log is off.
    pub fn append(&self, unit: &Unit, now_ms: u64, changes: u64) -> Option<u64> {
        if unit.is_empty() {
            return None;
        }
        let wrap = unit.len() > 1;
        self.append_with(unit.first_db(), unit.last_db(), now_ms, changes, |bytes| {
            if wrap {
                encode_command(bytes, [&b"MULTI"[..]].into_iter());
            }
            bytes.extend_from_slice(unit.bytes());
            if wrap {
                encode_command(bytes, [&b"EXEC"[..]].into_iter());
            }
        })
    }

    /// Appends one command run in `db` at `now_ms`, encoded straight into the buffer.
    pub fn append_command<'a>(
        &self,
        db: usize,
        args: impl ExactSizeIterator<Item = &'a [u8]>,
        now_ms: u64,
    ) -> Option<u64> {
        self.append_with(db, db, now_ms, 1, |bytes| encode_command(bytes, args))
    }

    /// Write commands that changed something, counted by appends.
    pub fn changes(&self) -> u64 {
        self.pending.lock().changes
    }

    fn append_with(
        &self,
        first_db: usize,
        last_db: usize,
        now_ms: u64,
        changes: u64,
        encode: impl FnOnce(&mut Vec<u8>),
    ) -> Option<u64> {
        let mut pending = self.pending.lock();
        pending.changes += changes;
        if !self.logging.load(Ordering::Relaxed) {
            return None;
        }
        let state = &mut *pending;
        if state.last_ms != now_ms {
            encode_time(&mut state.bytes, now_ms);
            state.last_ms = now_ms;
        }
        if state.last_db != Some(first_db) {
            encode_select(&mut state.bytes, first_db);
        }
        encode(&mut state.bytes);
        state.last_db = Some(last_db);
        state.seq += 1;
        let seq = state.seq;
        let wake = seq >= state.wake_at;
        self.appended.store(seq, Ordering::Release);
        drop(pending);
        if wake && self.always_rounds() == Some(RoundRunner::WriterThread) {
            self.wake.notify_one();
        }
        Some(seq)
    }

    /// Under `always`, who runs the rounds; `None` under the other policies, where
    /// the connection that needs a round runs it.
    fn always_rounds(&self) -> Option<RoundRunner> {
        (self.policy() == FsyncPolicy::Always).then(|| {
            if self.rounds_when_idle.load(Ordering::Relaxed) {
                RoundRunner::IdleWorker
            } else {
                RoundRunner::WriterThread
            }
        })
    }

    /// Has [`round_when_idle`](Self::round_when_idle) run the `always` rounds from
    /// now on. Only for a runtime with a single worker: with several, the workers
    /// take turns at sleeping and their rounds would split the batches.
    pub fn run_rounds_when_idle(&self) {
        self.rounds_when_idle.store(true, Ordering::Relaxed);
        self.wake.notify_one();
    }

    /// Called by the runtime worker just before it sleeps: under `always`, runs the
    /// round that makes every pending reply durable. The replies it releases wake
    /// their connections, so the worker goes on to send them instead of sleeping.
    pub fn round_when_idle(&self) {
        if self.policy() != FsyncPolicy::Always || self.is_durable() {
            return;
        }
        if let Some(mut state) = self.round.try_lock() {
            self.round(&mut state, true);
        }
    }

    /// Whether everything appended so far is acknowledged.
    #[inline]
    pub fn is_durable(&self) -> bool {
        self.acked.get() >= self.appended.load(Ordering::Acquire)
    }

    /// Waits until every unit appended before the call is written (and synced, under
    /// `always`). Replies wait on this, so that none leaves before the write it
    /// reports, or any write it could have observed, would survive a crash.
    ///
    /// Under `everysec` and `no` the caller writes the records itself when no round
    /// is running (one `write` to the OS, covering every connection's records so far),
    /// which spares a hand-off to the writer thread and back. Under `always` the
    /// writer thread does it, so that no runtime thread blocks in `fdatasync`.
    pub async fn wait_durable(&self) {
        let target = self.appended.load(Ordering::Acquire);
        loop {
            if self.acked.get() >= target {
                return;
            }
            if self.policy() != FsyncPolicy::Always {
                if let Some(mut state) = self.round.try_lock() {
                    if self.round(&mut state, true) == RoundEnd::Continue {
                        continue;
                    }
                }
            }
            let mut watermark = self.acked.subscribe();
            if self.acked.get() >= target {
                return;
            }
            // Any round ending wakes us: either it covered us, or we try again. The
            // sender lives as long as `self`, so this cannot fail while we borrow it.
            let _ = watermark.changed().await;
        }
    }

    /// Marks a rewrite's cut: every record appended from now on is also copied to the
    /// tail. Call it while holding every shard lock. With `accept`, appends start
    /// being accepted at the same instant (turning the log on at run time).
    pub fn begin_tee(&self, accept: bool) {
        let mut pending = self.pending.lock();
        pending.tee_start = Some(pending.bytes.len());
        pending.stop_tee = false;
        // The tail must stand on its own: restate the database and the clock.
        pending.last_db = None;
        pending.last_ms = 0;
        if accept {
            self.logging.store(true, Ordering::Release);
        }
        drop(pending);
        self.wake.notify_one();
    }

    /// Takes the tail copied so far.
    pub fn take_tail(&self) -> Vec<u8> {
        std::mem::take(&mut *self.tail.lock())
    }

    /// Stops copying the tail (the rewrite gave up).
    pub fn abort_tee(&self) {
        self.pending.lock().stop_tee = true;
        self.wake.notify_one();
    }

    /// Has the writer append the rest of the tail to `file` (already holding the new
    /// base and the tail so far), make it durable, rename `tmp` to `path`, and carry
    /// on in it.
    ///
    /// # Returns
    /// The new file's size.
    pub fn switch_to(&self, file: File, tmp: PathBuf, path: PathBuf) -> io::Result<u64> {
        let (done, result) = std::sync::mpsc::channel();
        {
            let mut pending = self.pending.lock();
            if pending.stop {
                return Err(io::Error::other("the log is stopping"));
            }
            pending.switch = Some(Switch {
                file,
                tmp,
                path,
                done,
            });
        }
        self.wake.notify_one();
        result
            .recv()
            .unwrap_or_else(|_| Err(io::Error::other("the log writer stopped")))
    }

    /// Stops accepting appends, writes and syncs what is pending, and stops the
    /// threads.
    pub fn stop(&self) {
        {
            let mut pending = self.pending.lock();
            self.logging.store(false, Ordering::Release);
            pending.stop = true;
        }
        self.wake.notify_one();
        {
            let (stop, wake) = &self.fsync_stop;
            *stop.lock() = true;
            wake.notify_all();
        }
        let threads: Vec<JoinHandle<()>> = self.threads.lock().drain(..).collect();
        for thread in threads {
            let _ = thread.join();
        }
        *self.live.lock() = None;
        let seq = self.pending.lock().seq;
        self.acked.raise(seq, false);
    }

    /// The writer thread: runs a round whenever there is work.
    fn run(self: Arc<Self>) {
        let mut gathering = Gathering::new();
        loop {
            {
                let mut pending = self.pending.lock();
                // Records nobody waits for, or that the idle worker has not taken
                // yet, are picked up after one straggler delay.
                let mut waited = false;
                loop {
                    let runner = self.always_rounds();
                    let records = !pending.bytes.is_empty()
                        && match runner {
                            None => true,
                            Some(RoundRunner::IdleWorker) => waited,
                            Some(RoundRunner::WriterThread) => {
                                gathering.ready(pending.seq, Instant::now())
                            }
                        };
                    let work = records
                        || pending.switch.is_some()
                        || pending.tee_start.is_some()
                        || pending.stop
                        || pending.stop_tee;
                    if work {
                        break;
                    }
                    match runner {
                        Some(RoundRunner::WriterThread) => {
                            let records_pending = !pending.bytes.is_empty();
                            pending.wake_at = gathering.wake_at(pending.seq, records_pending);
                            match gathering.until.filter(|_| records_pending) {
                                Some(until) => {
                                    self.wake.wait_until(&mut pending, until);
                                }
                                None => self.wake.wait(&mut pending),
                            }
                        }
                        _ => {
                            pending.wake_at = 0;
                            self.wake.wait_for(&mut pending, STRAGGLER_DELAY);
                            waited = true;
                        }
                    }
                }
                // Until the next wait, appends need not wake the thread.
                pending.wake_at = u64::MAX;
            }
            let mut state = self.round.lock();
            let started = Instant::now();
            if self.round(&mut state, false) == RoundEnd::Stopped {
                return;
            }
            drop(state);
            let covered = self.acked.get();
            let appended = {
                let mut pending = self.pending.lock();
                pending.wake_at = 0;
                pending.seq
            };
            gathering.round_done(covered, appended, started.elapsed());
        }
    }

    /// One write round: takes what was appended, writes it to the live file (and
    /// syncs under `always`), copies the tail, performs a pending switch or stop, and
    /// publishes the new watermark. `inline`: run by a connection, which leaves
    /// switches and stops to the writer thread.
    fn round(&self, state: &mut RoundState, inline: bool) -> RoundEnd {
        let (upto, switch, stop, tee_start, stop_tee) = {
            let mut pending = self.pending.lock();
            if inline && (pending.switch.is_some() || pending.stop) {
                drop(pending);
                self.wake.notify_one();
                return RoundEnd::LeftToThread;
            }
            std::mem::swap(&mut pending.bytes, &mut state.chunk);
            (
                pending.seq,
                pending.switch.take(),
                pending.stop,
                pending.tee_start.take(),
                std::mem::take(&mut pending.stop_tee),
            )
        };
        let chunk = std::mem::take(&mut state.chunk);
        let mut tee_from = 0;
        if let Some(start) = tee_start {
            state.teeing = true;
            tee_from = start;
        }
        if let Some(switch) = switch {
            // Records before the cut (if the cut came in this very round) are in
            // the new base already.
            let result = self.finish_switch(&switch, &chunk[tee_from.min(chunk.len())..]);
            match &result {
                Ok(size) => {
                    let new = Arc::new(switch.file);
                    *self.live.lock() = Some(new.clone());
                    state.file = Some(new);
                    self.size.store(*size, Ordering::Relaxed);
                    self.base_size.store(*size, Ordering::Relaxed);
                }
                Err(_) => {
                    let _ = std::fs::remove_file(&switch.tmp);
                    self.write_chunk(state.file.as_deref(), &chunk);
                }
            }
            state.teeing = false;
            self.tail.lock().clear();
            let _ = switch.done.send(result);
        } else {
            self.write_chunk(state.file.as_deref(), &chunk);
            if state.teeing && chunk.len() > tee_from {
                self.tail.lock().extend_from_slice(&chunk[tee_from..]);
            }
        }
        if stop_tee {
            state.teeing = false;
            self.tail.lock().clear();
        }
        state.chunk = chunk;
        state.chunk.clear();
        if state.chunk.capacity() > 16 * 1024 * 1024 {
            state.chunk = Vec::with_capacity(64 * 1024);
        }
        if stop {
            if let Some(file) = state.file.take() {
                if let Err(error) = file.sync_all() {
                    fatal("fsync", &error);
                }
            }
            let pending = self.pending.lock();
            if let Some(switch) = &pending.switch {
                let _ = switch
                    .done
                    .send(Err(io::Error::other("the log is stopping")));
            }
            self.acked.raise(upto.max(pending.seq), inline);
            return RoundEnd::Stopped;
        }
        self.acked.raise(upto, inline);
        RoundEnd::Continue
    }

    /// Writes a chunk to the live file (syncing under `always`).
    fn write_chunk(&self, file: Option<&File>, chunk: &[u8]) {
        let Some(mut file) = file else { return };
        if chunk.is_empty() {
            return;
        }
        let started = self.latency.start();
        if let Err(error) = file.write_all(chunk) {
            fatal("write", &error);
        }
        self.latency.finish("aof-write", started);
        self.size.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        if self.policy() == FsyncPolicy::Always {
            let started = self.latency.start();
            if let Err(error) = file.sync_data() {
                fatal("fsync", &error);
            }
            self.latency.finish("aof-fsync-always", started);
        } else {
            self.unsynced.store(true, Ordering::Relaxed);
        }
    }

    /// The writer's part of a switch: the last of the tail, then this round's chunk,
    /// into the new file; sync; rename; sync the directory.
    fn finish_switch(&self, switch: &Switch, chunk: &[u8]) -> io::Result<u64> {
        let mut file = &switch.file;
        let tail = self.take_tail();
        file.write_all(&tail)?;
        file.write_all(chunk)?;
        file.sync_all()?;
        let size = file.metadata()?.len();
        let started = self.latency.start();
        std::fs::rename(&switch.tmp, &switch.path)?;
        self.latency.finish("aof-rename", started);
        sync_parent_dir(&switch.path)?;
        Ok(size)
    }

    /// The background fsync of `appendfsync everysec`.
    fn fsync_every_second(self: Arc<Self>) {
        let (stop, wake) = &self.fsync_stop;
        loop {
            {
                let mut stopped = stop.lock();
                if *stopped {
                    return;
                }
                wake.wait_for(&mut stopped, Duration::from_secs(1));
                if *stopped {
                    return;
                }
            }
            if self.policy() != FsyncPolicy::Everysec
                || !self.unsynced.swap(false, Ordering::Relaxed)
            {
                continue;
            }
            let live = self.live.lock().clone();
            if let Some(file) = live {
                if let Err(error) = file.sync_data() {
                    fatal("fsync", &error);
                }
            }
        }
    }
}

impl Drop for LogWriter {
    fn drop(&mut self) {
        self.acked.close();
    }
}

/// Syncs the directory holding `path`, so a rename or creation in it is durable.
pub fn sync_parent_dir(path: &std::path::Path) -> io::Result<()> {
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => std::path::Path::new("."),
    };
    File::open(parent)?.sync_all()
}

/// The log can no longer be trusted to hold what was acknowledged: stop the process.
fn fatal(what: &str, error: &io::Error) -> ! {
    tracing::error!(%error, "Can't {what} the append only file; exiting so that no write is acknowledged without being logged. Restart the server to recover from the file.");
    eprintln!("broker-server: can't {what} the append only file: {error}");
    std::process::exit(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_round_starts_at_once() {
        let gathering = Gathering::new();
        assert!(gathering.ready(1, Instant::now()));
    }

    #[test]
    fn a_round_waits_for_the_clients_it_released() {
        let mut gathering = Gathering::new();
        // The round covered 25 records while 25 more arrived: the next one waits
        // for the 25 released clients to come back too.
        gathering.round_done(25, 50, Duration::from_millis(10));
        let now = Instant::now();
        assert!(!gathering.ready(50, now));
        assert!(!gathering.ready(74, now));
        assert!(gathering.ready(75, now));
        assert_eq!(gathering.wake_at(50, true), 75);
    }

    #[test]
    fn the_window_ends_the_wait() {
        let mut gathering = Gathering::new();
        gathering.round_done(10, 10, Duration::from_millis(2));
        let until = gathering.until.expect("a window after a round");
        assert!(!gathering.ready(11, until - Duration::from_micros(1)));
        assert!(gathering.ready(11, until));
    }

    #[test]
    fn the_window_is_half_a_round_and_at_most_a_millisecond() {
        let mut gathering = Gathering::new();
        let before = Instant::now();
        gathering.round_done(1, 1, Duration::from_micros(400));
        let window = gathering.until.unwrap() - before;
        assert!(window >= Duration::from_micros(200) && window < Duration::from_millis(1));
        let before = Instant::now();
        gathering.round_done(2, 2, Duration::from_secs(1));
        let window = gathering.until.unwrap() - before;
        assert!(window >= MAX_GATHERING && window < Duration::from_millis(500));
    }

    #[test]
    fn a_lone_client_completes_the_count_with_its_next_write() {
        let mut gathering = Gathering::new();
        gathering.round_done(6, 6, Duration::from_millis(5));
        // The client's one write of the last round.
        gathering.round_done(7, 7, Duration::from_millis(5));
        assert!(gathering.ready(8, Instant::now()));
        // With nothing pending, the very next append wakes the thread.
        assert_eq!(gathering.wake_at(7, false), 8);
    }
}
