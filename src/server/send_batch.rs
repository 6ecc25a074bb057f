//! Batched reply writes: the replies of one pass of a runtime worker leave in one
//! system call (an io_uring submission) instead of one `send` per connection.
//!
//! A connection with replies queues them on its worker thread's batch and goes on
//! waiting for its next request. The batch is submitted when the worker runs out
//! of ready connections, just before it sleeps ([`on_worker_park`], a runtime
//! hook): that is an event loop's way of writing (every reply of a pass at the end
//! of the pass) with one kernel crossing for all of them, and no task is woken or
//! rescheduled for it. A worker that never runs out of work still submits after
//! [`STALE_TURNS`] connection turns, or once [`FLUSH_AT`] sends are queued.
//!
//! A connection takes its buffer back, with how much of it was sent, before it
//! sends again ([`Ticket::finish`], which submits the batch first if it has not
//! gone yet, so replies never overtake each other). Sends are non-blocking
//! (`MSG_DONTWAIT`) and a submission waits for every one of them, so a submitted
//! batch is finished when the call returns: nothing stays in flight, and no buffer
//! or socket is used after its connection is done with it. A send the socket did
//! not take in full (a client that stopped reading) or that failed wakes its
//! connection, which writes the rest the ordinary way or closes.
//!
//! Batching is used on a thread only once the hook has run there, so a runtime
//! built without it writes directly. So does a kernel or seccomp profile without
//! io_uring (Docker 25 and later forbid it by default), and `io-uring no`.

use std::cell::{Cell, OnceCell};
use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};

use io_uring::{IoUring, opcode, types};

use crate::server::client::ClientHandle;

/// Submission queue size of each worker's ring; a larger batch goes in several
/// submissions.
const RING_ENTRIES: u32 = 128;

/// Queued sends that make a batch go at once, whether or not the worker is done.
pub const FLUSH_AT: usize = 64;

/// Connection turns on a busy worker after which queued sends go, whether or not
/// the worker is done: a connection that streams requests must not hold back
/// another's replies for long.
pub const STALE_TURNS: u32 = 64;

/// One worker thread's replies waiting to be sent, or sent and not yet taken back.
///
/// Two locks: `state` for the bookkeeping, held only briefly, and `ring` for a
/// submission, held through the system call. A connection taking back a buffer
/// sent in an earlier submission thus never waits for the one in progress.
pub struct SendBatch {
    state: Mutex<State>,
    /// Signalled when a submission has filed its results.
    sent: Condvar,
    ring: Mutex<Ring>,
    /// Whether sends are queued: read without the lock on every turn and park.
    has_queued: AtomicBool,
    /// Connection turns since the oldest queued send, counted while any is.
    turns: AtomicU32,
}

struct State {
    /// Every send a ticket refers to, by slot; `None` marks a free slot.
    slots: Vec<Option<Send>>,
    free: Vec<usize>,
    /// Slots of the sends not yet submitted, in the order they were queued.
    queued: Vec<usize>,
    /// Threads waiting on `sent` for a send in flight: a notification costs a
    /// system call, so it is made only for them.
    waiting: usize,
}

/// The ring, and the sends of the submission in progress (kept for their capacity).
struct Ring {
    uring: IoUring,
    sends: Vec<InFlight>,
    /// Set when a failed submission left entries in a ring that could not be
    /// replaced: it is never submitted again, and replies are written directly.
    broken: bool,
}

/// What the kernel needs of one send, copied out of its slot.
struct InFlight {
    slot: usize,
    fd: RawFd,
    /// The slot's buffer, which stays put until the send is filed as done.
    data: *const u8,
    length: u32,
    /// `None` until the kernel reports it.
    result: Option<io::Result<usize>>,
    /// Submitted, but its completion was lost to a failed wait: the kernel may
    /// still read the buffer, which is then leaked rather than freed.
    abandoned: bool,
}

// SAFETY: `data` points into a buffer owned by the batch's state, which nobody frees
// while its send is in flight (see `Stage::InFlight`); the pointer is only read by
// the kernel, under the ring's lock.
unsafe impl std::marker::Send for InFlight {}

struct Send {
    fd: RawFd,
    data: Vec<u8>,
    owner: Arc<ClientHandle>,
    stage: Stage,
}

enum Stage {
    Queued,
    /// In a submission in progress: the kernel may be reading the buffer.
    InFlight,
    /// The bytes sent, or the error (`WouldBlock` when the socket took nothing).
    Done(io::Result<usize>),
}

impl Send {
    fn is_complete(&self) -> bool {
        matches!(self.stage, Stage::Done(Ok(count)) if count == self.data.len())
    }
}

thread_local! {
    /// This thread's batch, made on first use; `None` where io_uring cannot be set up.
    static BATCH: OnceCell<Option<Arc<SendBatch>>> = const { OnceCell::new() };
    /// Whether [`on_worker_park`] runs on this thread, which submits its batch.
    static PARK_HOOKED: Cell<bool> = const { Cell::new(false) };
}

/// The runtime's park hook (`on_thread_park`): a worker about to sleep submits the
/// replies its pass queued. Every runtime that serves clients installs it.
pub fn on_worker_park() {
    PARK_HOOKED.with(|hooked| hooked.set(true));
    with_existing_batch(SendBatch::submit_queued);
}

/// Runs `f` on this thread's batch, if it has made one.
fn with_existing_batch(f: impl FnOnce(&SendBatch)) {
    BATCH.with(|cell| {
        if let Some(Some(batch)) = cell.get() {
            f(batch);
        }
    });
}

/// Called before this thread stops being a runtime worker (`block_in_place` hands
/// its worker duty to another thread, and it may never take it back): what it
/// queued goes now, and its replies are written directly until it parks as a
/// worker again.
pub fn leave_worker() {
    PARK_HOOKED.with(|hooked| hooked.set(false));
    with_existing_batch(SendBatch::submit_queued);
}

/// Counts a connection turn on this thread, submitting its batch once queued
/// sends have waited [`STALE_TURNS`] turns of a worker that never sleeps.
pub fn on_connection_turn() {
    with_existing_batch(|batch| {
        if batch.has_queued.load(Ordering::Relaxed)
            && batch.turns.fetch_add(1, Ordering::Relaxed) >= STALE_TURNS
        {
            batch.submit_queued();
        }
    });
}

impl SendBatch {
    /// The calling thread's batch, or `None` where replies are written directly:
    /// io_uring is unavailable, or the thread does not run [`on_worker_park`].
    pub fn for_this_thread() -> Option<Arc<SendBatch>> {
        if !PARK_HOOKED.with(Cell::get) {
            return None;
        }
        BATCH.with(|cell| {
            cell.get_or_init(|| SendBatch::new().ok().map(Arc::new))
                .clone()
        })
    }

    /// Submits whatever is queued.
    pub fn submit_queued(&self) {
        if self.has_queued.load(Ordering::Relaxed) {
            self.submit();
        }
    }

    /// Sends every queued send, in submissions of at most the ring's size, files
    /// the results, and wakes the connections whose send was not taken in full.
    /// Takes the ring's lock, then the state's: never call it holding the state.
    fn submit(&self) {
        let mut ring = self.ring.lock().unwrap_or_else(PoisonError::into_inner);
        let Ring {
            uring,
            sends,
            broken,
        } = &mut *ring;
        {
            let mut state = self.lock();
            // Cleared under the lock, so a send queued meanwhile keeps it set.
            self.has_queued.store(false, Ordering::Relaxed);
            let State { slots, queued, .. } = &mut *state;
            sends.clear();
            for slot in queued.drain(..) {
                let send = slots[slot].as_mut().expect("a queued slot is in use");
                send.stage = Stage::InFlight;
                sends.push(InFlight {
                    slot,
                    fd: send.fd,
                    data: send.data.as_ptr(),
                    length: send.data.len().min(u32::MAX as usize) as u32,
                    result: None,
                    abandoned: false,
                });
            }
        }
        if sends.is_empty() {
            return;
        }
        // Each chunk is sent only while the ring works; the sends left over get no
        // result, are filed as `WouldBlock`, and their connections write them.
        let mut failed = *broken;
        for chunk in sends.chunks_mut(RING_ENTRIES as usize) {
            failed = failed || send_chunk(uring, chunk).is_err();
        }
        if failed && !*broken {
            // A fresh ring drops whatever the kernel did not take.
            match IoUring::new(RING_ENTRIES) {
                Ok(fresh) => *uring = fresh,
                Err(_) => *broken = true,
            }
        }
        // Wakes are left until the locks are released: a wake-up may drop a task
        // (at shutdown), and with it a ticket of this batch. Allocated only when a
        // send was not taken in full, which is rare.
        let mut unfinished = Vec::new();
        let anyone_waiting = {
            let mut state = self.lock();
            for in_flight in sends.drain(..) {
                let send = state.slots[in_flight.slot]
                    .as_mut()
                    .expect("a slot in flight is in use");
                let result = if in_flight.abandoned {
                    std::mem::forget(std::mem::take(&mut send.data));
                    Err(io::Error::other("send batch failed"))
                } else {
                    // Not taken by the kernel at all: its connection writes it.
                    in_flight
                        .result
                        .unwrap_or_else(|| Err(io::ErrorKind::WouldBlock.into()))
                };
                send.stage = Stage::Done(result);
                if !send.is_complete() {
                    unfinished.push(send.owner.clone());
                }
            }
            state.waiting > 0
        };
        drop(ring);
        if anyone_waiting {
            self.sent.notify_all();
        }
        for owner in unfinished {
            owner.outbox.wake();
        }
    }

    /// Whether this kernel and process may use io_uring, or why not: tried once,
    /// reported at start, and replies are written directly when not.
    pub fn supported() -> Result<(), &'static str> {
        static PROBE: OnceLock<Result<(), String>> = OnceLock::new();
        PROBE
            .get_or_init(|| {
                // On a thread of its own: closing a ring later interrupts the
                // blocking calls of every thread that used it (the kernel's
                // clean-up signals them), which the caller's thread must not see.
                std::thread::spawn(|| {
                    SendBatch::new()
                        .map(drop)
                        .map_err(|error| error.to_string())
                })
                .join()
                .unwrap_or_else(|_| Err("the probe failed".to_string()))
            })
            .as_ref()
            .map(|_| ())
            .map_err(String::as_str)
    }

    fn new() -> io::Result<SendBatch> {
        Ok(SendBatch {
            state: Mutex::new(State {
                slots: Vec::new(),
                free: Vec::new(),
                queued: Vec::new(),
                waiting: 0,
            }),
            sent: Condvar::new(),
            ring: Mutex::new(Ring {
                uring: IoUring::new(RING_ENTRIES)?,
                sends: Vec::new(),
                broken: false,
            }),
            has_queued: AtomicBool::new(false),
            turns: AtomicU32::new(0),
        })
    }

    /// Waits until the submission in progress has filed its results.
    fn wait_for_submission<'s>(
        &'s self,
        mut state: MutexGuard<'s, State>,
    ) -> MutexGuard<'s, State> {
        state.waiting += 1;
        let mut state = self
            .sent
            .wait(state)
            .unwrap_or_else(PoisonError::into_inner);
        state.waiting -= 1;
        state
    }

    /// The batch's bookkeeping. No panic can leave it half changed, so a poisoned
    /// lock is taken as it is.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `data` to be sent on `fd`, for `owner`'s connection. The socket must
    /// stay open until the returned ticket has been finished or dropped.
    pub fn queue(self: &Arc<Self>, fd: RawFd, data: Vec<u8>, owner: Arc<ClientHandle>) -> Ticket {
        let mut inner = self.lock();
        let send = Send {
            fd,
            data,
            owner,
            stage: Stage::Queued,
        };
        let slot = match inner.free.pop() {
            Some(slot) => {
                inner.slots[slot] = Some(send);
                slot
            }
            None => {
                inner.slots.push(Some(send));
                inner.slots.len() - 1
            }
        };
        inner.queued.push(slot);
        if inner.queued.len() >= FLUSH_AT {
            drop(inner);
            self.submit();
        } else if !self.has_queued.load(Ordering::Relaxed) {
            self.turns.store(0, Ordering::Relaxed);
            self.has_queued.store(true, Ordering::Relaxed);
        }
        Ticket {
            batch: self.clone(),
            slot,
            done: false,
        }
    }
}

/// Submits `sends` (at most the ring's size) and waits for every one of them,
/// filing each result. An error from the kernel after some were submitted marks
/// the ones without a result abandoned.
fn send_chunk(uring: &mut IoUring, sends: &mut [InFlight]) -> io::Result<()> {
    {
        let mut submission = uring.submission();
        for (index, send) in sends.iter().enumerate() {
            let entry = opcode::Send::new(types::Fd(send.fd), send.data, send.length)
                .flags(libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL)
                .build()
                .user_data(index as u64);
            // SAFETY: the buffers stay allocated and the sockets open until the
            // sends complete: this returns only once every one has (or they are
            // leaked), and a slot in flight is neither freed nor given back to its
            // connection, whose socket stays open while it holds the ticket.
            unsafe { submission.push(&entry) }.expect("an empty ring has room for a batch");
        }
    }
    let mut completed = 0;
    let mut submitted = false;
    while completed < sends.len() {
        match uring.submit_and_wait(sends.len() - completed) {
            Ok(_) => submitted = true,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => {
                tracing::warn!(%error, "io_uring send batch failed; writing directly");
                if submitted {
                    for send in sends.iter_mut().filter(|send| send.result.is_none()) {
                        send.abandoned = true;
                    }
                }
                return Err(error);
            }
        }
        for entry in uring.completion() {
            let code = entry.result();
            sends[entry.user_data() as usize].result = Some(if code >= 0 {
                Ok(code as usize)
            } else {
                Err(io::Error::from_raw_os_error(-code))
            });
            completed += 1;
        }
    }
    Ok(())
}

impl State {
    /// Frees `slot`, returning its send.
    fn release(&mut self, slot: usize) -> Option<Send> {
        let send = self.slots[slot].take();
        if send.is_some() {
            self.free.push(slot);
        }
        send
    }
}

/// A connection's claim on a queued send.
pub struct Ticket {
    batch: Arc<SendBatch>,
    slot: usize,
    done: bool,
}

impl Ticket {
    /// Submits the batch if it has not gone yet, and gives back the buffer and how
    /// much of it was sent.
    pub fn finish(mut self) -> (Vec<u8>, io::Result<usize>) {
        let send = self.settle(true).expect("a ticket's slot is in use");
        self.done = true;
        let Stage::Done(result) = send.stage else {
            unreachable!("a settled send is done")
        };
        (send.data, result)
    }

    /// Waits out a submission carrying the send, then frees its slot and returns
    /// the send. One still queued is submitted first when `send_queued`, and taken
    /// out of the queue unsent otherwise (`None`).
    fn settle(&self, send_queued: bool) -> Option<Send> {
        let batch = &self.batch;
        let mut state = batch.lock();
        loop {
            match state.slots[self.slot].as_ref().map(|send| &send.stage) {
                Some(Stage::Queued) if send_queued => {
                    drop(state);
                    batch.submit();
                    state = batch.lock();
                }
                Some(Stage::Queued) => {
                    let slot = self.slot;
                    state.queued.retain(|&queued| queued != slot);
                    state.release(slot);
                    return None;
                }
                Some(Stage::InFlight) => state = batch.wait_for_submission(state),
                Some(Stage::Done(_)) | None => return state.release(self.slot),
            }
        }
    }
}

impl Drop for Ticket {
    /// A connection dropped while its send waits (the runtime shutting down) takes
    /// it out of the batch before its socket closes; one in flight is waited for.
    fn drop(&mut self) {
        if !self.done {
            self.settle(false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixStream;
    use std::time::Duration;

    /// A batch of its own (not the thread's), or `None` where io_uring is
    /// unavailable, which the message says.
    fn batch() -> Option<Arc<SendBatch>> {
        match SendBatch::new() {
            Ok(batch) => Some(Arc::new(batch)),
            Err(error) => {
                eprintln!("io_uring unavailable here ({error}): nothing to test");
                None
            }
        }
    }

    fn owner() -> Arc<ClientHandle> {
        let addr = "127.0.0.1:1".parse().unwrap();
        Arc::new(ClientHandle::new(1, addr, addr))
    }

    fn read_exactly(stream: &mut UnixStream, count: usize) -> Vec<u8> {
        let mut buffer = vec![0; count];
        stream.read_exact(&mut buffer).unwrap();
        buffer
    }

    /// Whether `owner` was woken (an `Outbox::ready` that completes at once).
    fn woken(owner: &ClientHandle) -> bool {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        runtime.block_on(async {
            tokio::time::timeout(Duration::from_millis(1), owner.outbox.ready())
                .await
                .is_ok()
        })
    }

    #[test]
    fn one_submission_sends_every_queued_buffer() {
        let Some(batch) = batch() else { return };
        let (a, mut a_peer) = UnixStream::pair().unwrap();
        let (b, mut b_peer) = UnixStream::pair().unwrap();
        let (a_owner, b_owner) = (owner(), owner());
        let first = batch.queue(a.as_raw_fd(), b"+first\r\n".to_vec(), a_owner.clone());
        let second = batch.queue(b.as_raw_fd(), b"+second\r\n".to_vec(), b_owner.clone());
        let third = batch.queue(a.as_raw_fd(), b":3\r\n".to_vec(), a_owner.clone());
        assert!(batch.has_queued.load(Ordering::Relaxed));
        batch.submit_queued();
        assert!(batch.lock().queued.is_empty() && !batch.has_queued.load(Ordering::Relaxed));
        // Everything went in full: nobody is woken.
        assert!(!woken(&a_owner) && !woken(&b_owner));
        assert_eq!(read_exactly(&mut a_peer, 12), b"+first\r\n:3\r\n");
        assert_eq!(read_exactly(&mut b_peer, 9), b"+second\r\n");
        let (data, sent) = second.finish();
        assert_eq!((data.as_slice(), sent.unwrap()), (&b"+second\r\n"[..], 9));
        assert_eq!(third.finish().1.unwrap(), 4);
        assert_eq!(first.finish().1.unwrap(), 8);
        let inner = batch.lock();
        assert_eq!(inner.slots.iter().filter(|slot| slot.is_some()).count(), 0);
        assert_eq!(inner.free.len(), inner.slots.len());
    }

    #[test]
    fn a_send_still_queued_goes_out_when_its_owner_needs_the_buffer() {
        let Some(batch) = batch() else { return };
        let (a, mut a_peer) = UnixStream::pair().unwrap();
        let first = batch.queue(a.as_raw_fd(), b"one ".to_vec(), owner());
        let second = batch.queue(a.as_raw_fd(), b"two".to_vec(), owner());
        // The second finishes first: the whole batch goes, in order.
        assert_eq!(second.finish().1.unwrap(), 3);
        assert_eq!(read_exactly(&mut a_peer, 7), b"one two");
        assert_eq!(first.finish().1.unwrap(), 4);
    }

    #[test]
    fn a_dropped_ticket_is_never_sent() {
        let Some(batch) = batch() else { return };
        let (a, mut a_peer) = UnixStream::pair().unwrap();
        let dropped = batch.queue(a.as_raw_fd(), b"never".to_vec(), owner());
        let kept = batch.queue(a.as_raw_fd(), b"kept".to_vec(), owner());
        drop(dropped);
        batch.submit_queued();
        a_peer.set_nonblocking(true).unwrap();
        let mut buffer = [0u8; 16];
        assert_eq!(a_peer.read(&mut buffer).unwrap(), 4);
        assert_eq!(&buffer[..4], b"kept");
        // A ticket dropped after its batch went out leaves nothing behind.
        drop(batch.queue(a.as_raw_fd(), b"x".to_vec(), owner()));
        assert_eq!(kept.finish().1.unwrap(), 4);
        let inner = batch.lock();
        assert!(inner.queued.is_empty() && inner.slots.iter().all(Option::is_none));
    }

    #[test]
    fn a_full_socket_takes_part_or_nothing_and_its_owner_is_woken() {
        let Some(batch) = batch() else { return };
        let (a, mut a_peer) = UnixStream::pair().unwrap();
        let (b, _b_peer) = UnixStream::pair().unwrap();
        let (slow, fast) = (owner(), owner());
        let small = batch.queue(b.as_raw_fd(), b"+OK\r\n".to_vec(), fast.clone());
        let big = batch.queue(a.as_raw_fd(), vec![7u8; 8 << 20], slow.clone());
        batch.submit_queued();
        assert!(woken(&slow), "a partial send wakes its connection");
        assert!(!woken(&fast));
        let (data, sent) = big.finish();
        let sent = sent.unwrap();
        assert!(
            sent > 0 && sent < data.len(),
            "sent {sent} of {}",
            data.len()
        );
        // Nothing more fits: the send would block, and reports that instead.
        let (_, again) = batch
            .queue(a.as_raw_fd(), vec![1u8; 1 << 20], slow)
            .finish();
        assert_eq!(again.unwrap_err().kind(), io::ErrorKind::WouldBlock);
        assert_eq!(read_exactly(&mut a_peer, sent), vec![7u8; sent]);
        assert_eq!(small.finish().1.unwrap(), 5);
    }

    #[test]
    fn a_batch_goes_at_once_when_full() {
        let Some(batch) = batch() else { return };
        let (a, mut a_peer) = UnixStream::pair().unwrap();
        let tickets: Vec<Ticket> = (0..FLUSH_AT)
            .map(|i| batch.queue(a.as_raw_fd(), vec![(i % 251) as u8], owner()))
            .collect();
        // The last one queued submitted them all, nobody asking.
        assert!(batch.lock().queued.is_empty());
        let expected: Vec<u8> = (0..FLUSH_AT).map(|i| (i % 251) as u8).collect();
        assert_eq!(read_exactly(&mut a_peer, FLUSH_AT), expected);
        for ticket in tickets.into_iter().rev() {
            assert_eq!(ticket.finish().1.unwrap(), 1);
        }
    }

    #[test]
    fn more_sends_than_the_ring_holds_go_in_several_submissions() {
        let Some(batch) = batch() else { return };
        let (a, mut a_peer) = UnixStream::pair().unwrap();
        let count = RING_ENTRIES as usize * 2 + 5;
        // Queued directly, past the size that submits a batch by itself.
        let tickets: Vec<Ticket> = {
            let mut inner = batch.lock();
            (0..count)
                .map(|i| {
                    inner.slots.push(Some(Send {
                        fd: a.as_raw_fd(),
                        data: vec![(i % 251) as u8],
                        owner: owner(),
                        stage: Stage::Queued,
                    }));
                    inner.queued.push(i);
                    Ticket {
                        batch: batch.clone(),
                        slot: i,
                        done: false,
                    }
                })
                .collect()
        };
        batch.has_queued.store(true, Ordering::Relaxed);
        batch.submit_queued();
        for ticket in tickets.into_iter().rev() {
            assert_eq!(ticket.finish().1.unwrap(), 1);
        }
        let expected: Vec<u8> = (0..count).map(|i| (i % 251) as u8).collect();
        assert_eq!(read_exactly(&mut a_peer, count), expected);
    }

    #[test]
    fn a_closed_peer_is_an_error_for_its_send_only() {
        let Some(batch) = batch() else { return };
        let (a, a_peer) = UnixStream::pair().unwrap();
        let (b, mut b_peer) = UnixStream::pair().unwrap();
        drop(a_peer);
        let broken_owner = owner();
        let fine = batch.queue(b.as_raw_fd(), b"fine".to_vec(), owner());
        let broken = batch.queue(a.as_raw_fd(), b"lost".to_vec(), broken_owner.clone());
        batch.submit_queued();
        assert!(woken(&broken_owner));
        assert_eq!(
            broken.finish().1.unwrap_err().kind(),
            io::ErrorKind::BrokenPipe
        );
        assert_eq!(fine.finish().1.unwrap(), 4);
        assert_eq!(read_exactly(&mut b_peer, 4), b"fine");
    }

    /// Runs `check` on a fresh thread, whose thread-local batch is its own.
    fn on_a_fresh_thread(check: impl FnOnce() + std::marker::Send + 'static) {
        if SendBatch::supported().is_err() {
            eprintln!("io_uring unavailable here: nothing to test");
            return;
        }
        std::thread::spawn(check).join().expect("check passes");
    }

    #[test]
    fn only_a_thread_that_parks_through_the_hook_batches_and_it_submits_on_park() {
        on_a_fresh_thread(|| {
            assert!(SendBatch::for_this_thread().is_none());
            on_worker_park();
            let batch = SendBatch::for_this_thread().expect("a hooked thread batches");
            let (a, mut a_peer) = UnixStream::pair().unwrap();
            let ticket = batch.queue(a.as_raw_fd(), b"+OK\r\n".to_vec(), owner());
            on_worker_park();
            assert_eq!(read_exactly(&mut a_peer, 5), b"+OK\r\n");
            assert_eq!(ticket.finish().1.unwrap(), 5);
        });
    }

    #[test]
    fn a_thread_leaving_the_workers_sends_what_it_queued_then_writes_directly() {
        on_a_fresh_thread(|| {
            on_worker_park();
            let batch = SendBatch::for_this_thread().expect("a hooked thread batches");
            let (a, mut a_peer) = UnixStream::pair().unwrap();
            let ticket = batch.queue(a.as_raw_fd(), b"queued".to_vec(), owner());
            leave_worker();
            assert_eq!(read_exactly(&mut a_peer, 6), b"queued");
            assert!(SendBatch::for_this_thread().is_none());
            assert_eq!(ticket.finish().1.unwrap(), 6);
            // Parking as a worker again brings batching back.
            on_worker_park();
            assert!(SendBatch::for_this_thread().is_some());
        });
    }

    #[test]
    fn a_busy_worker_submits_after_enough_turns() {
        on_a_fresh_thread(|| {
            on_worker_park();
            let batch = SendBatch::for_this_thread().expect("a hooked thread batches");
            let (a, mut a_peer) = UnixStream::pair().unwrap();
            let ticket = batch.queue(a.as_raw_fd(), b"late".to_vec(), owner());
            for _ in 0..STALE_TURNS {
                on_connection_turn();
            }
            assert!(batch.has_queued.load(Ordering::Relaxed), "not yet");
            on_connection_turn();
            assert!(!batch.has_queued.load(Ordering::Relaxed));
            assert_eq!(read_exactly(&mut a_peer, 4), b"late");
            assert_eq!(ticket.finish().1.unwrap(), 4);
        });
    }
}
