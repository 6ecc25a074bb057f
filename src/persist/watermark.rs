//! The durability watermark: how far the log is acknowledged, and the wake-ups of
//! the connections whose replies wait for it.
//!
//! Waking a task from a thread outside the runtime costs a push onto the runtime's
//! shared queue and often a system call to wake a worker, once per task. After an
//! `always` round the writer thread would pay that for every waiting connection
//! (under strace: one eventfd write or futex wake per connection, 50 per round at
//! 50 clients, spread over a few hundred microseconds in which the next round could
//! not start). So the writer thread wakes a single task, the *releaser*, which
//! wakes the waiting connections from inside the runtime, onto its own worker's
//! queue, where waking costs no system call.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tokio::sync::{Notify, watch};

/// The sequence number up to which every log unit is acknowledged.
pub struct Watermark {
    acked: AtomicU64,
    /// Signalled whenever `acked` rises; waiters subscribe to it.
    changed: watch::Sender<u64>,
    /// Wakes the releaser task.
    release: Notify,
    /// A releaser task runs (in the runtime of the first waiter).
    releaser: AtomicBool,
    /// The log is gone: the releaser ends.
    closed: AtomicBool,
}

impl Watermark {
    pub fn new() -> Arc<Self> {
        let (changed, _) = watch::channel(0);
        Arc::new(Watermark {
            acked: AtomicU64::new(0),
            changed,
            release: Notify::new(),
            releaser: AtomicBool::new(false),
            closed: AtomicBool::new(false),
        })
    }

    #[inline]
    pub fn get(&self) -> u64 {
        self.acked.load(Ordering::SeqCst)
    }

    /// Raises the watermark to `seq` and wakes every waiter. `in_runtime`: the
    /// caller is a runtime thread, which wakes them itself; any other thread hands
    /// the wake-ups to the releaser, when there is one.
    pub fn raise(&self, seq: u64, in_runtime: bool) {
        // SeqCst, with the releaser's exit: one of the two sees the other's store.
        self.acked.store(seq, Ordering::SeqCst);
        if !in_runtime && self.releaser.load(Ordering::SeqCst) {
            self.release.notify_one();
        } else {
            self.changed.send_replace(seq);
        }
    }

    /// A receiver that sees every later raise. Check the watermark again after
    /// subscribing: a raise just before it is not reported. Call it from inside
    /// the runtime; the first call starts the releaser there.
    pub fn subscribe(self: &Arc<Self>) -> watch::Receiver<u64> {
        if !self.releaser.load(Ordering::Relaxed) {
            self.start_releaser();
        }
        self.changed.subscribe()
    }

    fn start_releaser(self: &Arc<Self>) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if self.releaser.swap(true, Ordering::AcqRel) {
            return;
        }
        let running = ReleaserRunning(self.clone());
        runtime.spawn(async move {
            let watermark = &running.0;
            loop {
                watermark.release.notified().await;
                if watermark.closed.load(Ordering::Acquire) {
                    return;
                }
                watermark.changed.send_replace(watermark.get());
            }
        });
    }

    /// Ends the releaser (the log writer is dropped).
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.release.notify_one();
    }
}

/// Held by the releaser task: when the task ends, or its runtime drops it, raises
/// go back to waking the waiters directly.
struct ReleaserRunning(Arc<Watermark>);

impl Drop for ReleaserRunning {
    fn drop(&mut self) {
        self.0.releaser.store(false, Ordering::SeqCst);
        // A raise that chose the releaser just before this is delivered here.
        self.0.changed.send_replace(self.0.get());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    }

    /// Waits on `watermark` until it reaches `target`, as a connection does.
    async fn wait_for(watermark: Arc<Watermark>, target: u64) {
        loop {
            let mut receiver = watermark.subscribe();
            if watermark.get() >= target {
                return;
            }
            receiver.changed().await.unwrap();
        }
    }

    #[test]
    fn raises_from_another_thread_reach_every_waiter_through_the_releaser() {
        let runtime = runtime();
        let watermark = Watermark::new();
        let waiters: Vec<_> = (0..50)
            .map(|_| runtime.spawn(wait_for(watermark.clone(), 3)))
            .collect();
        // Once a waiter has subscribed, the releaser runs.
        while !watermark.releaser.load(Ordering::Acquire) {
            std::thread::yield_now();
        }
        for seq in 1..=3 {
            watermark.raise(seq, false);
        }
        runtime.block_on(async {
            for waiter in waiters {
                tokio::time::timeout(Duration::from_secs(10), waiter)
                    .await
                    .expect("every waiter wakes")
                    .unwrap();
            }
        });
    }

    #[test]
    fn without_a_runtime_raises_wake_waiters_directly() {
        let watermark = Watermark::new();
        let receiver = watermark.changed.subscribe();
        watermark.raise(5, false);
        assert!(receiver.has_changed().unwrap());
        assert_eq!(watermark.get(), 5);
    }

    #[test]
    fn a_dropped_releaser_hands_raises_back_to_the_raiser() {
        let watermark = Watermark::new();
        {
            let runtime = runtime();
            runtime.block_on(async {
                let _ = watermark.subscribe();
            });
            assert!(watermark.releaser.load(Ordering::Acquire));
        }
        // The runtime, and the releaser with it, is gone.
        assert!(!watermark.releaser.load(Ordering::Acquire));
        let receiver = watermark.changed.subscribe();
        watermark.raise(9, false);
        assert!(receiver.has_changed().unwrap());
    }

    #[test]
    fn closing_ends_the_releaser() {
        let runtime = runtime();
        let watermark = Watermark::new();
        runtime.block_on(async {
            let _ = watermark.subscribe();
        });
        watermark.close();
        runtime.block_on(async {
            tokio::time::timeout(Duration::from_secs(10), async {
                while watermark.releaser.load(Ordering::Acquire) {
                    tokio::task::yield_now().await;
                }
            })
            .await
            .expect("the releaser ends");
        });
    }
}
