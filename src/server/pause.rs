//! `CLIENT PAUSE` and `CLIENT UNPAUSE`: holding clients' commands for a while.
//!
//! # What a pause does (Redis 7.0's rules)
//! * `ALL` holds every command a client sends, `CLIENT UNPAUSE` included: only the
//!   timeout ends such a pause. `WRITE` holds the commands that may write or
//!   propagate (the gate decides which, see [`crate::commands::gate`]) and lets the
//!   rest through.
//! * A held command gets no error. It waits, with everything pipelined behind it, and
//!   goes through the gate again from the start once the pause ends (by `UNPAUSE` or
//!   by its timeout); it may then be held again by a newer pause. A held client
//!   counts in `INFO blocked_clients` and shows the `b` flag in `CLIENT LIST`, and it
//!   can still be killed.
//! * A second `CLIENT PAUSE` never weakens nor shortens the one in force: the
//!   stricter mode and the later end win.
//! * While a pause is in force keys are not expired: reads see a key past its
//!   deadline as missing, but nothing deletes it (see
//!   [`crate::store::Keyspace::suspend_expiry_until`]), so the dataset stays still.
//!
//! [`PauseState`] is the rule book, socket-free; [`Pause`] is the server's copy, with
//! what the command gate reads on every command (two atomics) and what held clients
//! wait on.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, AtomicUsize, Ordering};

use parking_lot::Mutex;
use tokio::sync::Notify;

use crate::server::client::ClientHandle;

/// What a pause holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum PauseMode {
    /// Nothing is held.
    #[default]
    Off = 0,
    /// Commands that may write or propagate are held.
    Write = 1,
    /// Every command is held.
    All = 2,
}

impl PauseMode {
    fn from_u8(value: u8) -> PauseMode {
        match value {
            1 => PauseMode::Write,
            2 => PauseMode::All,
            _ => PauseMode::Off,
        }
    }

    /// Parses `CLIENT PAUSE`'s mode argument (`WRITE` or `ALL`, any case).
    pub fn parse(word: &[u8]) -> Option<PauseMode> {
        if word.eq_ignore_ascii_case(b"write") {
            Some(PauseMode::Write)
        } else if word.eq_ignore_ascii_case(b"all") {
            Some(PauseMode::All)
        } else {
            None
        }
    }
}

/// The pause in force: its mode and the Unix millisecond at which it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PauseState {
    mode: PauseMode,
    /// The pause holds while the clock is before this instant.
    end_ms: u64,
}

impl PauseState {
    /// The mode in force at `now_ms` (`Off` once the end has passed).
    pub fn mode_at(&self, now_ms: u64) -> PauseMode {
        if now_ms < self.end_ms {
            self.mode
        } else {
            PauseMode::Off
        }
    }

    /// When the pause in force at `now_ms` ends, if one is.
    pub fn end_at(&self, now_ms: u64) -> Option<u64> {
        (self.mode_at(now_ms) != PauseMode::Off).then_some(self.end_ms)
    }

    /// `CLIENT PAUSE`: pauses in `mode` until `end_ms`. A pause already in force is
    /// neither weakened nor shortened: the stricter mode and the later end are kept.
    pub fn pause(&mut self, mode: PauseMode, end_ms: u64, now_ms: u64) {
        if self.mode_at(now_ms) == PauseMode::Off {
            *self = PauseState { mode, end_ms };
        } else {
            self.mode = self.mode.max(mode);
            self.end_ms = self.end_ms.max(end_ms);
        }
    }

    /// `CLIENT UNPAUSE`.
    pub fn unpause(&mut self) {
        *self = PauseState::default();
    }
}

/// When a pause given `timeout_ms` at `now_ms` ends: the first millisecond it no
/// longer holds. Redis holds while its clock reads at most `now + timeout`, so a
/// client never sees a pause shorter than asked for, whatever part of the current
/// millisecond has gone. Redis 7.0 adds the two as signed 64-bit numbers without
/// checking: a sum that overflows is negative, an instant long past, so such a
/// pause holds nothing (and `CLIENT PAUSE` still answers `+OK`). A timeout of 0
/// ends at once.
pub fn end_of(timeout_ms: i64, now_ms: u64) -> u64 {
    if timeout_ms <= 0 {
        return 0;
    }
    (now_ms as i64)
        .checked_add(timeout_ms)
        .map_or(0, |last_held| last_held as u64 + 1)
}

/// The server's pause: the state, the copies the command gate reads without a lock,
/// and what held clients wait on.
#[derive(Default)]
pub struct Pause {
    state: Mutex<PauseState>,
    /// Copy of `state.mode` ([`PauseMode`] as a number): lets the gate see "no
    /// pause" with one relaxed load.
    mode: AtomicU8,
    /// Copy of `state.end_ms`.
    end_ms: AtomicU64,
    /// Wakes held clients when the pause is lifted early (`CLIENT UNPAUSE`); each one
    /// also sleeps until the end it last saw, which covers the timeout.
    lifted: Notify,
    /// Clients holding a command now.
    held: AtomicUsize,
}

impl Pause {
    /// Whether a pause was given and not lifted: it may still have ended by its
    /// timeout. One relaxed load, for the gate to skip reading the clock.
    #[inline]
    pub fn is_set(&self) -> bool {
        self.mode.load(Ordering::Relaxed) != 0
    }

    /// The mode in force at `now_ms`.
    #[inline]
    pub fn mode(&self, now_ms: u64) -> PauseMode {
        let mode = self.mode.load(Ordering::Acquire);
        if mode == 0 {
            return PauseMode::Off;
        }
        PauseState {
            mode: PauseMode::from_u8(mode),
            end_ms: self.end_ms.load(Ordering::Acquire),
        }
        .mode_at(now_ms)
    }

    /// When the pause in force at `now_ms` ends, if one is.
    pub fn end(&self, now_ms: u64) -> Option<u64> {
        self.state.lock().end_at(now_ms)
    }

    /// `CLIENT PAUSE`; returns the resulting end (for the keyspace's expiry).
    pub fn pause(&self, mode: PauseMode, end_ms: u64, now_ms: u64) -> u64 {
        let mut state = self.state.lock();
        state.pause(mode, end_ms, now_ms);
        self.publish(&state);
        state.end_ms
    }

    /// `CLIENT UNPAUSE`: lifts the pause and wakes every held client.
    pub fn unpause(&self) {
        let mut state = self.state.lock();
        state.unpause();
        self.publish(&state);
        drop(state);
        self.lifted.notify_waiters();
    }

    /// Copies `state` for the gate: the end first, so that a reader who sees the new
    /// mode also sees its end.
    fn publish(&self, state: &PauseState) {
        self.end_ms.store(state.end_ms, Ordering::Release);
        self.mode.store(state.mode as u8, Ordering::Release);
    }

    /// A future that completes at the next `CLIENT UNPAUSE`. It is registered as soon
    /// as it is created: create it, then check [`Pause::end`], then await it, and no
    /// unpause in between is missed.
    pub fn lifted(&self) -> tokio::sync::futures::Notified<'_> {
        self.lifted.notified()
    }

    /// Counts `handle` as held until the returned guard is dropped.
    pub fn hold(&self, handle: &Arc<ClientHandle>) -> HeldGuard<'_> {
        self.held.fetch_add(1, Ordering::AcqRel);
        handle.held.store(true, Ordering::Relaxed);
        HeldGuard {
            pause: self,
            handle: handle.clone(),
        }
    }

    /// How many clients hold a command now (part of `INFO blocked_clients`).
    pub fn held(&self) -> usize {
        self.held.load(Ordering::Acquire)
    }
}

/// A client counted as held; dropping it (the pause ended, or the client was killed
/// or left) stops counting it.
pub struct HeldGuard<'a> {
    pause: &'a Pause,
    handle: Arc<ClientHandle>,
}

impl Drop for HeldGuard<'_> {
    fn drop(&mut self) {
        // As for a blocking command: interaction first, then no longer held, so
        // the idle sweep never sees a long-held client idle.
        self.handle.touch();
        self.handle.held.store(false, Ordering::Release);
        self.pause.held.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pause_ends_at_its_deadline() {
        let mut state = PauseState::default();
        assert_eq!(state.mode_at(1_000), PauseMode::Off);
        state.pause(PauseMode::Write, 1_500, 1_000);
        assert_eq!(state.mode_at(1_000), PauseMode::Write);
        assert_eq!(state.mode_at(1_499), PauseMode::Write);
        assert_eq!(state.end_at(1_499), Some(1_500));
        assert_eq!(state.mode_at(1_500), PauseMode::Off);
        assert_eq!(state.end_at(1_500), None);
    }

    #[test]
    fn a_later_pause_neither_weakens_nor_shortens() {
        let mut state = PauseState::default();
        state.pause(PauseMode::All, 5_000, 1_000);
        state.pause(PauseMode::Write, 2_000, 1_100);
        assert_eq!(state.mode_at(4_999), PauseMode::All);
        // A stricter or longer one takes over what it strengthens.
        let mut state = PauseState::default();
        state.pause(PauseMode::Write, 5_000, 1_000);
        state.pause(PauseMode::All, 2_000, 1_100);
        assert_eq!(state.mode_at(1_200), PauseMode::All);
        assert_eq!(state.mode_at(4_999), PauseMode::All);
        state.pause(PauseMode::Write, 9_000, 1_300);
        assert_eq!(state.mode_at(8_999), PauseMode::All);
    }

    #[test]
    fn an_ended_pause_is_forgotten() {
        let mut state = PauseState::default();
        state.pause(PauseMode::All, 2_000, 1_000);
        // Past its end, a new pause starts afresh: WRITE, not ALL.
        state.pause(PauseMode::Write, 9_000, 3_000);
        assert_eq!(state.mode_at(3_000), PauseMode::Write);
    }

    #[test]
    fn unpause_lifts_everything() {
        let mut state = PauseState::default();
        state.pause(PauseMode::All, 9_000, 1_000);
        state.unpause();
        assert_eq!(state.mode_at(1_000), PauseMode::Off);
        state.pause(PauseMode::Write, 9_000, 1_000);
        assert_eq!(state.mode_at(1_000), PauseMode::Write);
    }

    #[test]
    fn ends_as_redis_computes_them() {
        assert_eq!(end_of(0, 1_000), 0);
        // Held through millisecond 1_250, as Redis's `end < now` test.
        assert_eq!(end_of(250, 1_000), 1_251);
        // Overflowing the signed sum ends in the past: nothing is held.
        assert_eq!(end_of(i64::MAX, 1_000), 0);
        let mut state = PauseState::default();
        state.pause(PauseMode::All, end_of(0, 1_000), 1_000);
        assert_eq!(state.mode_at(1_000), PauseMode::Off);
    }

    #[test]
    fn modes_parse_in_any_case() {
        assert_eq!(PauseMode::parse(b"write"), Some(PauseMode::Write));
        assert_eq!(PauseMode::parse(b"ALL"), Some(PauseMode::All));
        assert_eq!(PauseMode::parse(b"read"), None);
    }

    #[test]
    fn the_shared_copy_follows_the_state() {
        let pause = Pause::default();
        assert_eq!(pause.mode(1_000), PauseMode::Off);
        assert_eq!(pause.pause(PauseMode::Write, 2_000, 1_000), 2_000);
        assert_eq!(pause.mode(1_000), PauseMode::Write);
        assert_eq!(pause.mode(2_000), PauseMode::Off);
        assert_eq!(pause.end(1_000), Some(2_000));
        pause.unpause();
        assert_eq!(pause.mode(1_000), PauseMode::Off);
        assert_eq!(pause.end(1_000), None);
    }

    #[test]
    fn held_clients_are_counted_until_released() {
        let pause = Pause::default();
        let nowhere = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        let handle = Arc::new(ClientHandle::new(1, nowhere, nowhere));
        let guard = pause.hold(&handle);
        assert_eq!(pause.held(), 1);
        assert!(handle.held.load(Ordering::Relaxed));
        drop(guard);
        assert_eq!(pause.held(), 0);
        assert!(!handle.held.load(Ordering::Relaxed));
    }

    #[tokio::test]
    async fn unpause_wakes_a_waiter_registered_before_it() {
        let pause = Pause::default();
        pause.pause(PauseMode::All, u64::MAX, 0);
        let lifted = pause.lifted();
        pause.unpause();
        // Completes at once: the notification reached the future created before it.
        lifted.await;
        assert_eq!(pause.mode(0), PauseMode::Off);
    }
}
