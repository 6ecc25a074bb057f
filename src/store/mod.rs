//! The keyspace: every database's keys and values, split into locked shards.
//!
//! # Why shards, and how atomicity works
//! Keys are spread over [`SHARD_COUNT`] shards by a hash of the key bytes (the same key
//! lands in the same shard in every database, so `MOVE` and `SWAPDB` stay simple).
//! Each shard is one mutex around its databases' maps, so clients working on different
//! keys run in parallel on different cores.
//!
//! A command never locks anything itself. The command gate computes which shards the
//! command's declared keys fall in and locks them in ascending index order, which
//! cannot deadlock; commands that touch keys they cannot declare up front (`KEYS`,
//! `FLUSHDB`, scripts) lock every shard. `MULTI`/`EXEC` locks the union of its queued
//! commands' shards for the whole transaction, so no other client ever sees half of
//! one. Critical sections are synchronous: no guard is ever held across an `.await`.
//! A script can hold every shard for long, so waiting for a shard gives up with
//! [`StoreError::Busy`] once it has run past its limit ([`busy`]).
//!
//! Everything in this module is socket-free and unit-tested; operations return
//! [`StoreError`], which the command layer maps to Redis's wire text.
//!
//! # Events the store reports
//! WATCH lives with the keys ([`watch`]). Keyspace notifications the store causes
//! itself (`expired`, `new`, `keymiss`) are appended to the command's [`Locked`] when
//! their class is enabled ([`Keyspace::set_notify_flags`]), and the command layer
//! publishes them once the handler is done.

pub mod bits;
pub mod busy;
pub mod db;
pub mod expire;
pub mod hashes;
pub mod key_map;
pub mod lcs;
pub mod lists;
pub mod memory;
pub mod packed_list;
pub mod sample;
pub mod scan;
pub mod sets;
pub mod sorted_set;
pub mod strings;
pub mod thin_bytes;
pub mod value;
pub mod waiters;
pub mod watch;
pub mod zsets;

use std::hash::BuildHasher;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use parking_lot::{Mutex, MutexGuard};

pub use busy::BusyMarker;
pub use db::{Db, DbView, Entry};
pub use value::{Value, ValueType};

use crate::pubsub::notify::KeyEvent;

/// Number of shards. A power of two, at most 64 so a shard set fits in a `u64` mask.
pub const SHARD_COUNT: usize = 64;

/// Errors of store operations; the command layer maps each to Redis's wire text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreError {
    WrongType,
    NotInteger,
    NotFloat,
    Overflow,
    NanOrInfinity,
    IndexOutOfRange,
    NoSuchKey,
    StringTooLong,
    HashValueNotInteger,
    HashValueNotFloat,
    /// A sorted-set score became NaN (`inf` plus `-inf`).
    ScoreNan,
    /// A script has held the shards past `lua-time-limit`.
    Busy,
}

/// Counters kept per shard under its lock, so hot paths never touch shared atomics;
/// `INFO` sums them.
#[derive(Debug, Default, Clone, Copy)]
pub struct ShardStats {
    pub expired_keys: u64,
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
}

/// One shard: a slice of every database, plus what must change atomically with it.
pub struct Shard {
    pub dbs: Box<[Db]>,
    pub stats: ShardStats,
    /// Clients blocked on this shard's keys, kept under the same lock as the keys so
    /// that blocking and serving are atomic with the emptiness check.
    pub waiters: waiters::ShardWaiters,
    /// A point-in-time copy (snapshot, log rewrite) still waiting for this shard: it
    /// is taken before anyone gets mutable access to the shard. See [`ShardCapture`].
    capture: Option<Arc<dyn ShardCapture>>,
}

impl Shard {
    fn new(databases: usize) -> Self {
        Shard {
            dbs: (0..databases).map(|_| Db::default()).collect(),
            stats: ShardStats::default(),
            waiters: waiters::ShardWaiters::new(databases),
            capture: None,
        }
    }

    /// Hands the shard to a pending capture, if one is waiting for it.
    fn settle(&mut self, index: usize) {
        if let Some(capture) = self.capture.take() {
            capture.capture(index, self);
        }
    }

    /// Whether a capture is still waiting for this shard.
    pub fn capture_pending(&self) -> bool {
        self.capture.is_some()
    }
}

/// Receives a point-in-time copy of every shard: the snapshot and log-rewrite jobs.
///
/// # How a consistent copy is taken without stopping clients
/// [`Keyspace::begin_capture`] holds every shard lock for an instant and arms the
/// capture on each shard. From then on, each shard is handed to
/// [`ShardCapture::capture`] exactly once, under its lock, by whoever reaches it
/// first: the background job walking the shards, or a command about to touch it
/// (any access through [`Locked::shard`] or [`Locked::shards`]). Nothing can change a
/// shard before it was copied, so the copies together are the dataset as it was at
/// the instant of `begin_capture`. A command that gets there first pays for copying
/// one shard (1/[`SHARD_COUNT`] of the data); the rest of the work happens on the
/// job's thread.
pub trait ShardCapture: Send + Sync {
    /// Copies `shard` (number `index`). Called once per shard, with its lock held.
    fn capture(&self, index: usize, shard: &Shard);
}

/// Where changes made outside any command are logged: the append-only log (see
/// `crate::persist::hook`). Commands are logged by the command gate; code in the
/// store that changes data on its own (serving a blocked client after the command
/// that filled its key has returned...) logs what the change amounts to through
/// [`Locked::propagate`], which ends up here.
pub trait ChangeLog: Send + Sync {
    /// Logs `commands`, run in database `db` at `now_ms`, as one unit.
    fn log(&self, db: usize, now_ms: u64, commands: &[&[&[u8]]]);
}

/// All databases, sharded.
pub struct Keyspace {
    shards: Box<[Mutex<Shard>]>,
    /// Set once by the server; none in store-only tests.
    change_log: OnceLock<Arc<dyn ChangeLog>>,
    /// Chooses a key's shard. Seeded differently from the maps' own hasher, whose top
    /// bits must not be constant within a shard.
    shard_hasher: foldhash::fast::FixedState,
    databases: usize,
    /// Notification classes the store reports (mirrors `notify-keyspace-events`).
    notify: AtomicU32,
    /// Says when a script holding every shard has run too long to be waited for.
    pub busy: BusyMarker,
    /// Unix milliseconds until which no key is expired (`CLIENT PAUSE`); 0 when
    /// expiry runs.
    expiry_suspended_until: AtomicU64,
}

impl Keyspace {
    pub fn new(databases: usize) -> Self {
        Keyspace {
            shards: (0..SHARD_COUNT)
                .map(|_| Mutex::new(Shard::new(databases)))
                .collect(),
            change_log: OnceLock::new(),
            shard_hasher: foldhash::fast::FixedState::with_seed(0x5eed_b40c_e55e_0001),
            databases,
            notify: AtomicU32::new(0),
            busy: BusyMarker::default(),
            expiry_suspended_until: AtomicU64::new(0),
        }
    }

    /// Stops expiring keys until `end_ms` (0 resumes at once), as Redis does during
    /// `CLIENT PAUSE`: a key past its deadline then reads as missing, but neither
    /// the lookup nor the background sweep removes it, so the dataset stays as it
    /// is until the pause ends.
    pub fn suspend_expiry_until(&self, end_ms: u64) {
        self.expiry_suspended_until.store(end_ms, Ordering::Relaxed);
    }

    /// Whether expiry is suspended at `now_ms`.
    #[inline]
    pub fn expiry_suspended(&self, now_ms: u64) -> bool {
        now_ms < self.expiry_suspended_until.load(Ordering::Relaxed)
    }

    /// Sets the notification classes the store reports (0 = none).
    pub fn set_notify_flags(&self, flags: u32) {
        self.notify.store(flags, Ordering::Relaxed);
    }

    /// Whether events of `class` are reported.
    pub fn reports(&self, class: u32) -> bool {
        self.notify.load(Ordering::Relaxed) & class != 0
    }

    /// Installs where [`Locked::propagate`] logs (once; later calls are ignored).
    pub fn set_change_log(&self, log: Arc<dyn ChangeLog>) {
        let _ = self.change_log.set(log);
    }

    /// Number of databases (`databases` setting).
    pub fn databases(&self) -> usize {
        self.databases
    }

    /// The shard a key lives in.
    #[inline]
    pub fn shard_of(&self, key: &[u8]) -> usize {
        (self.shard_hasher.hash_one(key) >> (64 - SHARD_COUNT.trailing_zeros())) as usize
    }

    /// The shard mask covering `keys`.
    pub fn mask_of<'k>(&self, keys: impl IntoIterator<Item = &'k [u8]>) -> u64 {
        keys.into_iter()
            .fold(0, |mask, key| mask | 1 << self.shard_of(key))
    }

    /// Locks the shards in `mask`, in ascending order; [`StoreError::Busy`] when a
    /// script holding them has run past its limit.
    pub fn lock_or_busy(&self, mask: u64) -> Result<Locked<'_>, StoreError> {
        let mut locked = self.unlocked();
        for index in shard_indices(mask) {
            // On `Busy`, dropping `locked` releases the shards taken so far.
            locked.hold(index, self.busy.lock(&self.shards[index])?);
        }
        Ok(locked)
    }

    /// Locks the shards in `mask`, in ascending order, waiting as long as it takes:
    /// for internal work that has no client to answer `-BUSY` to.
    pub fn lock(&self, mask: u64) -> Locked<'_> {
        let mut locked = self.unlocked();
        for index in shard_indices(mask) {
            locked.hold(index, self.busy.lock_patiently(&self.shards[index]));
        }
        locked
    }

    /// Every shard, waiting as long as it takes (see [`Keyspace::lock`]).
    pub fn lock_all(&self) -> Locked<'_> {
        self.lock(ALL_SHARDS)
    }

    /// Holds no shard yet; [`Locked::hold`] adds them.
    fn unlocked(&self) -> Locked<'_> {
        Locked {
            keyspace: self,
            mask: 0,
            _not_send: PhantomData,
            events: Vec::new(),
            changes: 0,
        }
    }

    pub fn for_each_shard(&self, mut f: impl FnMut(usize, &mut Shard)) {
        for (index, shard) in self.shards.iter().enumerate() {
            if self.busy.is_running() {
                return;
            }
            match self.busy.lock(shard) {
                Ok(mut guard) => {
                    guard.settle(index);
                    f(index, &mut guard)
                }
                Err(_) => return,
            }
        }
    }

    /// Like [`Keyspace::for_each_shard`], but skips shards a capture is still waiting
    /// for, so that housekeeping (the expiry sweep) never does a capture's work.
    /// Like [`Keyspace::for_each_shard`], it stops while a script holds the shards.
    pub fn for_each_idle_shard(&self, mut f: impl FnMut(usize, &mut Shard)) {
        for (index, shard) in self.shards.iter().enumerate() {
            if self.busy.is_running() {
                return;
            }
            let Ok(mut guard) = self.busy.lock(shard) else {
                return;
            };
            if !guard.capture_pending() {
                f(index, &mut guard);
            }
        }
    }

    /// Arms `capture` on every shard while holding every lock at once, and runs
    /// `at_cut` at that instant (the log marks where the copy stands). See
    /// [`ShardCapture`].
    ///
    /// # Panics
    /// If a capture is already armed: callers run one capture at a time.
    pub fn begin_capture<R>(
        &self,
        capture: Arc<dyn ShardCapture>,
        at_cut: impl FnOnce() -> R,
    ) -> R {
        let mut guards: Vec<MutexGuard<'_, Shard>> = self
            .shards
            .iter()
            .map(|shard| self.busy.lock_patiently(shard))
            .collect();
        for guard in guards.iter_mut() {
            assert!(guard.capture.is_none(), "one capture at a time");
            guard.capture = Some(capture.clone());
        }
        at_cut()
    }

    /// Makes sure shard `index` has been captured (the capture job's walk).
    pub fn settle_shard(&self, index: usize) {
        self.busy.lock_patiently(&self.shards[index]).settle(index);
    }
}

/// A mask with every shard set.
pub const ALL_SHARDS: u64 = if SHARD_COUNT == 64 {
    u64::MAX
} else {
    (1u64 << SHARD_COUNT) - 1
};

/// The shard indices whose bits are set in `mask`, in ascending order.
fn shard_indices(mask: u64) -> impl Iterator<Item = usize> {
    let mut rest = mask;
    std::iter::from_fn(move || {
        (rest != 0).then(|| {
            let index = rest.trailing_zeros() as usize;
            rest &= rest - 1;
            index
        })
    })
}

/// A set of locked shards: what a command may touch while it runs.
///
/// The locks are held without guard objects: bit `i` of `mask` set means this value
/// holds shard `i`'s mutex, and `Drop` unlocks exactly those. A command's `Locked`
/// is moved through several calls on every request, and a 64-slot array of guards
/// made each move a 512-byte copy (a fifth of a pipelined GET's instructions).
pub struct Locked<'a> {
    keyspace: &'a Keyspace,
    /// The shards whose mutex this value holds.
    mask: u64,
    /// Keeps `Locked` on the thread that took the locks, as guards would.
    _not_send: PhantomData<MutexGuard<'a, Shard>>,
    /// Keyspace events caused so far and not yet published, oldest first.
    events: Vec<KeyEvent>,
    /// Bumped by every path that may change data (see [`Locked::changes`]).
    changes: u64,
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        for index in shard_indices(self.mask) {
            // SAFETY: a set bit means this value locked the shard (`Locked::hold`)
            // and has not released it; no reference into the shard outlives `self`.
            unsafe { self.keyspace.shards[index].force_unlock(Default::default()) };
        }
    }
}

impl<'a> Locked<'a> {
    pub fn keyspace(&self) -> &'a Keyspace {
        self.keyspace
    }

    /// Whether every shard is held.
    pub fn holds_all(&self) -> bool {
        self.mask == ALL_SHARDS
    }

    /// Whether every shard in `mask` is held.
    pub fn covers(&self, mask: u64) -> bool {
        self.mask & mask == mask
    }

    /// Records an event of `class` on `key` in `db`, if that class is reported.
    pub fn report(
        &mut self,
        class: u32,
        event: &'static str,
        db: usize,
        key: impl FnOnce() -> Box<[u8]>,
    ) {
        if self.keyspace.reports(class) {
            self.events.push(KeyEvent {
                class,
                event,
                db,
                key: key(),
            });
        }
    }

    /// Takes the events recorded so far, oldest first.
    pub fn take_events(&mut self) -> Vec<KeyEvent> {
        std::mem::take(&mut self.events)
    }

    /// Whether the shard of `key` is held.
    pub fn holds(&self, key: &[u8]) -> bool {
        self.mask & (1 << self.keyspace.shard_of(key)) != 0
    }

    /// The shard holding `key`.
    ///
    /// # Panics
    /// If the gate did not lock that shard: a command touched a key it did not declare.
    pub fn shard_for(&mut self, key: &[u8]) -> &mut Shard {
        let index = self.keyspace.shard_of(key);
        self.shard(index)
    }

    /// A held shard by index.
    pub fn shard(&mut self, index: usize) -> &mut Shard {
        // SAFETY: the pointer is to a shard this value holds locked, and the
        // reference borrows `self` mutably, so it is the only one and ends before
        // `Drop` unlocks.
        let shard = unsafe { &mut *self.held(index) };
        shard.settle(index);
        shard
    }

    /// A held shard by index, for reading several entries at once.
    pub fn shard_ref(&self, index: usize) -> &Shard {
        // SAFETY: the pointer is to a shard this value holds locked, and the
        // reference borrows `self`, so it ends before `Drop` unlocks.
        unsafe { &*self.held(index) }
    }

    /// Every held shard, in index order. Counts as a change (callers get raw mutable
    /// access: FLUSHDB, SWAPDB...).
    pub fn shards(&mut self) -> impl Iterator<Item = (usize, &mut Shard)> {
        self.changes += 1;
        let this = &*self;
        shard_indices(self.mask).map(move |index| {
            // SAFETY: the pointer is to a shard this value holds locked; each index
            // comes once and the iterator borrows `self` mutably, so the references
            // are unique and end before `Drop` unlocks.
            let shard = unsafe { &mut *this.held(index) };
            shard.settle(index);
            (index, shard)
        })
    }

    /// Every held shard, read-only (INFO, DBSIZE): never waits for a capture.
    pub fn shards_ref(&self) -> impl Iterator<Item = (usize, &Shard)> {
        shard_indices(self.mask).map(|index| (index, self.shard_ref(index)))
    }

    fn holds_shard(&self, index: usize) -> bool {
        self.mask & (1 << index) != 0
    }

    /// The data of held shard `index`.
    ///
    /// # Panics
    /// If this value does not hold it: the command touched a key it did not declare.
    fn held(&self, index: usize) -> *mut Shard {
        assert!(
            self.holds_shard(index),
            "command touched a key outside the shards it declared"
        );
        self.keyspace.shards[index].data_ptr()
    }

    /// Takes over the lock `guard` holds on shard `index`, until `self` is dropped.
    fn hold(&mut self, index: usize, guard: MutexGuard<'a, Shard>) {
        debug_assert!(!self.holds_shard(index), "a shard is locked once");
        MutexGuard::leak(guard);
        self.mask |= 1 << index;
    }

    /// How many times data may have changed through these locks: bumped when a key is
    /// inserted, removed or given a deadline, and whenever a command obtains mutable
    /// access to a live value or to a raw shard. A write command that leaves it
    /// unchanged changed nothing, so the append-only log skips it. The count errs on
    /// the side of "changed": mutable access that ends up changing nothing counts.
    pub fn changes(&self) -> u64 {
        self.changes
    }

    /// Records a change the counter cannot see (for code that edits shards directly).
    pub fn note_change(&mut self) {
        self.changes += 1;
    }

    /// Logs what a change made outside any command amounts to, as one unit (several
    /// commands are replayed all or none), while these locks are held: for example a
    /// blocked client served after the push that filled its key returned logs
    /// `RPOP key` (or `LMOVE src dst RIGHT LEFT`...) once the hand-off succeeded. A
    /// handler never needs this: the gate logs commands (see `Ctx::propagate`).
    pub fn propagate(&mut self, db: usize, now_ms: u64, commands: &[&[&[u8]]]) {
        self.changes += 1;
        if let Some(log) = self.keyspace.change_log.get() {
            log.log(db, now_ms, commands);
        }
    }

    /// A view of database `db` at time `now_ms` (Unix milliseconds).
    pub fn db(&mut self, db: usize, now_ms: u64) -> DbView<'_, 'a> {
        DbView::new(self, db, now_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Which shards can be locked by someone else right now.
    fn free_shards(keyspace: &Keyspace) -> u64 {
        (0..SHARD_COUNT)
            .filter(|&index| keyspace.shards[index].try_lock().is_some())
            .fold(0, |mask, index| mask | 1 << index)
    }

    #[test]
    fn locked_holds_exactly_its_shards_until_dropped() {
        let keyspace = Keyspace::new(1);
        let mask = 1 << 3 | 1 << 17 | 1 << 63;
        let mut locked = keyspace.lock_or_busy(mask).unwrap();
        assert_eq!(free_shards(&keyspace), ALL_SHARDS & !mask);
        assert!(locked.covers(mask) && !locked.covers(1 << 4));
        let held: Vec<usize> = locked.shards().map(|(index, _)| index).collect();
        assert_eq!(held, vec![3, 17, 63]);
        let seen: Vec<usize> = locked.shards_ref().map(|(index, _)| index).collect();
        assert_eq!(seen, held);
        drop(locked);
        assert_eq!(free_shards(&keyspace), ALL_SHARDS);
    }

    #[test]
    fn writes_through_one_locked_are_seen_by_the_next() {
        let keyspace = Keyspace::new(1);
        let mask = 1 << keyspace.shard_of(b"k");
        let mut locked = keyspace.lock(mask);
        locked.shard_for(b"k").stats.keyspace_hits = 7;
        drop(locked);
        let locked = keyspace.lock(mask);
        assert_eq!(
            locked
                .shard_ref(keyspace.shard_of(b"k"))
                .stats
                .keyspace_hits,
            7
        );
    }

    #[test]
    fn a_busy_shard_releases_the_ones_already_taken() {
        let keyspace = Keyspace::new(1);
        let held_elsewhere = keyspace.shards[40].lock();
        let running = keyspace.busy.begin(1);
        assert_eq!(
            keyspace.lock_or_busy(1 << 2 | 1 << 40).err(),
            Some(StoreError::Busy)
        );
        drop(running);
        drop(held_elsewhere);
        assert_eq!(free_shards(&keyspace), ALL_SHARDS);
    }

    #[test]
    #[should_panic(expected = "outside the shards it declared")]
    fn touching_an_undeclared_shard_panics() {
        let keyspace = Keyspace::new(1);
        let mut locked = keyspace.lock(1 << 1);
        locked.shard(2);
    }
}
