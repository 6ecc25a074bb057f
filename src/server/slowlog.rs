//! The slow log: the latest commands that ran for at least
//! `slowlog-log-slower-than` microseconds, newest first (`SLOWLOG GET`).
//!
//! # What is kept, as in Redis 7.0
//! * An entry is an id, the Unix time in seconds it was logged, the duration in
//!   microseconds, the arguments, the client's `ip:port` and the client's name.
//! * Arguments are kept trimmed: at most [`MAX_ARGS`], the last of which then says
//!   how many more there were (`... (5 more arguments)`), and each at most
//!   [`MAX_ARG_BYTES`] bytes followed by how many more there were
//!   (`... (3 more bytes)`). Arguments a command marked sensitive (a password) are
//!   kept as [`REDACTED`].
//! * Ids count every entry ever logged: entries trimmed away or cleared by `SLOWLOG
//!   RESET` keep their numbers used.
//! * `slowlog-max-len` is applied when the next entry arrives, not when the option
//!   changes (so `SLOWLOG LEN` may exceed a newly lowered limit until then).
//!
//! Which commands are logged, and with what duration, is decided where commands are
//! recorded ([`crate::commands::gate::record_call`]), from the one measurement the
//! gate takes for `INFO commandstats`.
//!
//! # Cost
//! Deciding costs one relaxed atomic load and a comparison; the lock is taken only to
//! log, to read or to reset.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use parking_lot::Mutex;

/// Arguments an entry keeps; the last kept one counts the rest.
pub const MAX_ARGS: usize = 32;
/// Bytes an argument keeps before the count of the rest.
pub const MAX_ARG_BYTES: usize = 128;
/// What replaces an argument a command marked sensitive.
pub const REDACTED: &[u8] = b"(redacted)";

/// A command to be logged, before it gets its id and time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlowCommand {
    pub duration_us: u64,
    /// Already trimmed (see [`logged_args`]).
    pub args: Vec<Box<[u8]>>,
    /// The client's `ip:port` (`?:0` for a script's own commands).
    pub addr: String,
    /// The client's name, empty when it has none.
    pub name: Vec<u8>,
}

/// One entry of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub id: u64,
    /// Unix seconds when it was logged.
    pub time: u64,
    pub command: SlowCommand,
}

/// The arguments as the log keeps them: trimmed (see the module documentation),
/// with the arguments at the indexes in `redacted` replaced by [`REDACTED`].
pub fn logged_args<'a>(
    args: impl ExactSizeIterator<Item = &'a [u8]>,
    redacted: &[usize],
) -> Vec<Box<[u8]>> {
    let count = args.len();
    let kept = count.min(MAX_ARGS);
    args.take(kept)
        .enumerate()
        .map(|(index, arg)| {
            if kept < count && index == kept - 1 {
                format!("... ({} more arguments)", count - kept + 1)
                    .into_bytes()
                    .into()
            } else if redacted.contains(&index) {
                REDACTED.into()
            } else if arg.len() > MAX_ARG_BYTES {
                let mut cut = arg[..MAX_ARG_BYTES].to_vec();
                cut.extend_from_slice(
                    format!("... ({} more bytes)", arg.len() - MAX_ARG_BYTES).as_bytes(),
                );
                cut.into()
            } else {
                arg.into()
            }
        })
        .collect()
}

/// The entries, and the counter ids come from.
#[derive(Debug, Default)]
struct Log {
    /// Newest first.
    entries: VecDeque<Entry>,
    next_id: u64,
}

/// The slow log, shared by every connection.
#[derive(Debug)]
pub struct SlowLog {
    /// `slowlog-log-slower-than`, cached for the gate.
    threshold_us: AtomicI64,
    /// `slowlog-max-len`.
    max_len: AtomicU64,
    log: Mutex<Log>,
}

impl SlowLog {
    /// An empty log with `slowlog-log-slower-than` and `slowlog-max-len`.
    pub fn new(threshold_us: i64, max_len: u64) -> Self {
        SlowLog {
            threshold_us: AtomicI64::new(threshold_us),
            max_len: AtomicU64::new(max_len),
            log: Mutex::new(Log::default()),
        }
    }

    /// Takes new settings (after `CONFIG SET`); the length limit applies from the
    /// next entry on.
    pub fn configure(&self, threshold_us: i64, max_len: u64) {
        self.threshold_us.store(threshold_us, Ordering::Relaxed);
        self.max_len.store(max_len, Ordering::Relaxed);
    }

    /// Whether the log is on at all (a negative threshold turns it off).
    #[inline]
    pub fn enabled(&self) -> bool {
        self.threshold_us.load(Ordering::Relaxed) >= 0
    }

    /// Whether a command that ran for `duration_us` is to be logged.
    #[inline]
    pub fn wants(&self, duration_us: u64) -> bool {
        let threshold = self.threshold_us.load(Ordering::Relaxed);
        threshold >= 0 && duration_us >= threshold as u64
    }

    /// Logs `command` at Unix second `now_s`, then trims the log to
    /// `slowlog-max-len` (which may drop the new entry itself when the limit is 0).
    pub fn push(&self, command: SlowCommand, now_s: u64) {
        let max_len = self.max_len.load(Ordering::Relaxed);
        let mut log = self.log.lock();
        let id = log.next_id;
        log.next_id += 1;
        log.entries.push_front(Entry {
            id,
            time: now_s,
            command,
        });
        let keep = usize::try_from(max_len).unwrap_or(usize::MAX);
        log.entries.truncate(keep);
    }

    /// Up to `count` entries, newest first.
    pub fn newest(&self, count: usize) -> Vec<Entry> {
        self.log
            .lock()
            .entries
            .iter()
            .take(count)
            .cloned()
            .collect()
    }

    pub fn len(&self) -> usize {
        self.log.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Empties the log; ids carry on from where they were.
    pub fn reset(&self) {
        self.log.lock().entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(name: &str, duration_us: u64) -> SlowCommand {
        SlowCommand {
            duration_us,
            args: vec![name.as_bytes().into()],
            addr: "127.0.0.1:5000".into(),
            name: Vec::new(),
        }
    }

    fn ids(log: &SlowLog) -> Vec<u64> {
        log.newest(usize::MAX).iter().map(|e| e.id).collect()
    }

    #[test]
    fn short_commands_are_kept_whole() {
        let args: Vec<&[u8]> = vec![b"SET", b"k", b"v"];
        let kept = logged_args(args.into_iter(), &[]);
        assert_eq!(
            kept,
            vec![b"SET"[..].into(), b"k"[..].into(), b"v"[..].into()]
        );
    }

    #[test]
    fn the_last_kept_argument_counts_the_rest() {
        let words: Vec<String> = (0..40).map(|i| format!("a{i}")).collect();
        let kept = logged_args(words.iter().map(|w| w.as_bytes()), &[]);
        assert_eq!(kept.len(), MAX_ARGS);
        assert_eq!(&*kept[30], b"a30");
        assert_eq!(&*kept[31], b"... (9 more arguments)");
        // Exactly 32 arguments are all kept; 33 lose two to the count.
        let words: Vec<String> = (0..32).map(|i| format!("a{i}")).collect();
        let kept = logged_args(words.iter().map(|w| w.as_bytes()), &[]);
        assert_eq!(&*kept[31], b"a31");
        let words: Vec<String> = (0..33).map(|i| format!("a{i}")).collect();
        let kept = logged_args(words.iter().map(|w| w.as_bytes()), &[]);
        assert_eq!(&*kept[31], b"... (2 more arguments)");
    }

    #[test]
    fn long_arguments_are_cut_to_128_bytes() {
        let exact = vec![b'x'; MAX_ARG_BYTES];
        let long = vec![b'y'; MAX_ARG_BYTES + 72];
        let args: Vec<&[u8]> = vec![b"SET", &exact, &long];
        let kept = logged_args(args.into_iter(), &[]);
        assert_eq!(&*kept[1], &exact[..]);
        let mut expected = vec![b'y'; MAX_ARG_BYTES];
        expected.extend_from_slice(b"... (72 more bytes)");
        assert_eq!(&*kept[2], &expected[..]);
    }

    #[test]
    fn redacted_arguments_are_replaced() {
        let args: Vec<&[u8]> = vec![b"AUTH", b"user", b"secret"];
        let kept = logged_args(args.into_iter(), &[1, 2]);
        assert_eq!(&*kept[1], REDACTED);
        assert_eq!(&*kept[2], REDACTED);
    }

    #[test]
    fn threshold_decides() {
        let log = SlowLog::new(10_000, 128);
        assert!(!log.wants(9_999));
        assert!(log.wants(10_000));
        log.configure(0, 128);
        assert!(log.wants(0));
        log.configure(-1, 128);
        assert!(!log.enabled());
        assert!(!log.wants(u64::MAX));
    }

    #[test]
    fn newest_first_with_ids_that_keep_counting() {
        let log = SlowLog::new(0, 128);
        for (i, name) in ["a", "b", "c"].into_iter().enumerate() {
            log.push(command(name, i as u64), 1_700_000_000 + i as u64);
        }
        let entries = log.newest(10);
        assert_eq!(ids(&log), [2, 1, 0]);
        assert_eq!(&*entries[0].command.args[0], b"c");
        assert_eq!(entries[0].time, 1_700_000_002);
        assert_eq!(log.newest(2).len(), 2);
        log.reset();
        assert!(log.is_empty());
        log.push(command("d", 0), 0);
        assert_eq!(ids(&log), [3]);
    }

    #[test]
    fn max_len_applies_at_the_next_entry() {
        let log = SlowLog::new(0, 4);
        for _ in 0..6 {
            log.push(command("x", 0), 0);
        }
        assert_eq!(ids(&log), [5, 4, 3, 2]);
        log.configure(0, 2);
        assert_eq!(log.len(), 4);
        log.push(command("x", 0), 0);
        assert_eq!(ids(&log), [6, 5]);
        log.configure(0, 0);
        log.push(command("x", 0), 0);
        assert!(log.is_empty());
        log.configure(0, 8);
        log.push(command("x", 0), 0);
        assert_eq!(ids(&log), [8]);
    }
}
