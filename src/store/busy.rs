//! Waiting for a lock a long script holds, without waiting forever.
//!
//! A script holds every shard for its whole run, and a script may loop until
//! `SCRIPT KILL`. Redis answers other clients `-BUSY` once a script has run past
//! `lua-time-limit` (before that they simply wait). Here a client waiting for a shard
//! would otherwise park its runtime thread for as long as the script runs, and with
//! every thread parked nobody could even deliver the `SCRIPT KILL`. So every wait
//! for a shard (or for the script engine) goes through [`BusyMarker::lock`]: an
//! uncontended lock is one `try_lock`; a contended one waits in short slices, moves
//! off the runtime ([`off_the_runtime`]) once it is a script it waits for, and gives
//! up with [`StoreError::Busy`] as soon as the marker says the script has run past
//! its limit.

use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::{Mutex, MutexGuard};

use crate::store::StoreError;
use crate::util::blocking::off_the_runtime;

/// How long a contended lock waits before looking at the marker again: the delay
/// between a script passing the limit and its waiters answering `-BUSY`.
const WAIT_SLICE: Duration = Duration::from_millis(10);

/// How many times a contended lock is retried in user space before the thread
/// yields. Ordinary commands hold a shard for well under a microsecond, while
/// parking_lot's own wait soon calls `sched_yield`, a system call per retry.
const SPIN_TRIES: u32 = 128;

/// Retries `mutex` for a few hundred nanoseconds without leaving user space.
#[inline]
fn spin_lock<T>(mutex: &Mutex<T>) -> Option<MutexGuard<'_, T>> {
    for _ in 0..SPIN_TRIES {
        std::hint::spin_loop();
        if !mutex.is_locked() {
            if let Some(guard) = mutex.try_lock() {
                return Some(guard);
            }
        }
    }
    None
}

/// When the running script started, if one runs, and the limit it may run for before
/// waiters give up.
#[derive(Debug, Default)]
pub struct BusyMarker {
    /// Monotonic milliseconds at the start of the running script, plus one; 0 when
    /// no script runs.
    since: AtomicU64,
    /// `lua-time-limit` as read when the script started; 0 means no limit.
    limit_ms: AtomicU64,
}

/// Clears the marker when the script ends, however it ends.
pub struct RunningScript<'m> {
    marker: &'m BusyMarker,
}

impl Drop for RunningScript<'_> {
    fn drop(&mut self) {
        self.marker.since.store(0, Ordering::Release);
    }
}

/// Milliseconds on a process-wide monotonic clock.
fn monotonic_ms() -> u64 {
    static EPOCH: LazyLock<Instant> = LazyLock::new(Instant::now);
    EPOCH.elapsed().as_millis() as u64
}

impl BusyMarker {
    /// Marks a script as running from now on, until the returned guard is dropped.
    /// `limit_ms` of 0 never makes it busy, as `lua-time-limit 0` in Redis.
    pub fn begin(&self, limit_ms: u64) -> RunningScript<'_> {
        self.limit_ms.store(limit_ms, Ordering::Relaxed);
        self.since.store(monotonic_ms() + 1, Ordering::Release);
        RunningScript { marker: self }
    }

    /// Whether a script is running.
    #[inline]
    pub fn is_running(&self) -> bool {
        self.since.load(Ordering::Acquire) != 0
    }

    /// Whether a script has been running for longer than its limit.
    #[inline]
    pub fn is_busy(&self) -> bool {
        let since = self.since.load(Ordering::Acquire);
        since != 0 && self.past_limit(since)
    }

    #[cold]
    fn past_limit(&self, since: u64) -> bool {
        let limit = self.limit_ms.load(Ordering::Relaxed);
        limit > 0 && monotonic_ms() + 1 >= since + limit
    }

    /// Locks `mutex`, or gives up with [`StoreError::Busy`] once a script has run past
    /// its limit.
    #[inline]
    pub fn lock<'m, T>(&self, mutex: &'m Mutex<T>) -> Result<MutexGuard<'m, T>, StoreError> {
        match mutex.try_lock() {
            Some(guard) => Ok(guard),
            None => self.lock_contended(mutex),
        }
    }

    /// Locks `mutex`, waiting however long a script holds it (internal work that
    /// cannot answer `-BUSY`: serving blocked clients, leaving a waiter queue).
    pub fn lock_patiently<'m, T>(&self, mutex: &'m Mutex<T>) -> MutexGuard<'m, T> {
        if let Some(guard) = mutex.try_lock().or_else(|| spin_lock(mutex)) {
            return guard;
        }
        off_the_runtime(|| mutex.lock())
    }

    #[cold]
    fn lock_contended<'m, T>(&self, mutex: &'m Mutex<T>) -> Result<MutexGuard<'m, T>, StoreError> {
        // Contention between ordinary commands is brief: wait right here.
        if let Some(guard) = spin_lock(mutex) {
            return Ok(guard);
        }
        while !self.is_running() {
            if let Some(guard) = mutex.try_lock_for(WAIT_SLICE) {
                return Ok(guard);
            }
        }
        // A script holds it, possibly for seconds.
        off_the_runtime(|| {
            loop {
                if self.is_busy() {
                    return Err(StoreError::Busy);
                }
                if let Some(guard) = mutex.try_lock_for(WAIT_SLICE) {
                    return Ok(guard);
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiters_give_up_once_the_script_is_past_its_limit() {
        let marker = BusyMarker::default();
        let mutex = Mutex::new(());
        assert!(marker.lock(&mutex).is_ok());
        let held = mutex.lock();
        let running = marker.begin(30);
        assert!(!marker.is_busy());
        let started = Instant::now();
        assert_eq!(marker.lock(&mutex).err(), Some(StoreError::Busy));
        assert!(started.elapsed() >= Duration::from_millis(20));
        assert!(marker.is_busy());
        drop(running);
        assert!(!marker.is_busy());
        drop(held);
        assert!(marker.lock(&mutex).is_ok());
    }

    #[test]
    fn a_zero_limit_never_makes_a_script_busy() {
        let marker = BusyMarker::default();
        let _running = marker.begin(0);
        assert!(!marker.is_busy());
    }
}
