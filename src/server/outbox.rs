//! A client's queue of frames pushed from elsewhere (pub/sub messages, `MONITOR`
//! lines), bounded in bytes.
//!
//! Publishers never wait on a slow reader and never skip a message: a frame is either
//! queued or, when the queue passes its limit, refused, and the caller then closes the
//! client (Redis's `client-output-buffer-limit`). The connection task drains the queue
//! between replies, so a push never lands inside another reply.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::sync::Notify;

use crate::config::OutputLimit;

#[derive(Default)]
struct Pending {
    frames: VecDeque<Bytes>,
    bytes: u64,
    /// When the queue first went above the soft limit, if it still is.
    over_soft_since: Option<Instant>,
}

/// A bounded queue of pre-encoded frames with a wake-up for the owning connection.
#[derive(Default)]
pub struct Outbox {
    pending: Mutex<Pending>,
    ready: Notify,
}

/// Why a frame was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overflow {
    Hard { pending: u64 },
    Soft { pending: u64, seconds: u64 },
}

impl Outbox {
    /// Queues a frame unless that would break `limit`.
    pub fn push(&self, frame: Bytes, limit: OutputLimit) -> Result<(), Overflow> {
        let mut pending = self.pending.lock();
        let total = pending.bytes + frame.len() as u64;
        if limit.hard > 0 && total > limit.hard {
            return Err(Overflow::Hard { pending: total });
        }
        if limit.soft > 0 && total > limit.soft {
            let since = *pending.over_soft_since.get_or_insert_with(Instant::now);
            if since.elapsed() >= Duration::from_secs(limit.soft_seconds) {
                return Err(Overflow::Soft {
                    pending: total,
                    seconds: limit.soft_seconds,
                });
            }
        } else {
            pending.over_soft_since = None;
        }
        pending.bytes = total;
        pending.frames.push_back(frame);
        drop(pending);
        self.ready.notify_one();
        Ok(())
    }

    /// Moves every queued frame into `out`.
    ///
    /// # Returns
    /// How many frames were moved.
    pub fn drain_into(&self, out: &mut Vec<u8>) -> usize {
        let mut pending = self.pending.lock();
        let count = pending.frames.len();
        for frame in pending.frames.drain(..) {
            out.extend_from_slice(&frame);
        }
        pending.bytes = 0;
        pending.over_soft_since = None;
        count
    }

    /// Bytes waiting to be written (`omem` in `CLIENT LIST`).
    pub fn pending_bytes(&self) -> u64 {
        self.pending.lock().bytes
    }

    /// Wakes the connection with nothing to drain: a batched send of its replies
    /// needs seeing to (see [`crate::server::send_batch`]).
    pub fn wake(&self) {
        self.ready.notify_one();
    }

    /// Waits until a frame has been pushed (or [`Outbox::wake`]). A push made while
    /// nobody waits is remembered, so no wake-up is lost.
    pub async fn ready(&self) {
        self.ready.notified().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: OutputLimit = OutputLimit {
        hard: 10,
        soft: 0,
        soft_seconds: 0,
    };

    #[test]
    fn refuses_past_the_hard_limit_and_drains_in_order() {
        let outbox = Outbox::default();
        outbox.push(Bytes::from_static(b"abcd"), LIMIT).unwrap();
        outbox.push(Bytes::from_static(b"efgh"), LIMIT).unwrap();
        assert_eq!(
            outbox.push(Bytes::from_static(b"ijk"), LIMIT),
            Err(Overflow::Hard { pending: 11 })
        );
        let mut out = Vec::new();
        assert_eq!(outbox.drain_into(&mut out), 2);
        assert_eq!(out, b"abcdefgh");
        assert_eq!(outbox.pending_bytes(), 0);
    }

    #[test]
    fn soft_limit_with_zero_seconds_refuses_at_once() {
        let outbox = Outbox::default();
        let limit = OutputLimit {
            hard: 0,
            soft: 3,
            soft_seconds: 0,
        };
        assert!(outbox.push(Bytes::from_static(b"ab"), limit).is_ok());
        assert!(matches!(
            outbox.push(Bytes::from_static(b"cd"), limit),
            Err(Overflow::Soft { .. })
        ));
    }
}
