//! Clients blocked on keys, and the hand-off that serves them: the mechanism behind
//! BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN, BZPOPMAX and BZMPOP (the rules
//! they follow are written down in [`crate::commands::blocking`]).
//!
//! # Shape
//! A [`Waiter`] is one parked command: its database, the keys it waits on
//! (deduplicated, in argument order), what serving it means (a [`ServeOp`]), and the
//! sending half of a one-shot channel whose receiving half the client's connection
//! awaits. Every shard keeps, per database and per key, a FIFO queue of the waiters
//! blocked on that key ([`ShardWaiters`]); a waiter on several keys sits in several
//! queues, possibly in several shards. Nothing here runs a task or a timer: a waiter
//! costs a few small allocations, and an idle one costs nothing.
//!
//! The serve operation is a trait object so that each value family plugs its own: the
//! list family pops or moves, the sorted-set family pops by score. Waiters of both
//! families may share a key's queue; a serve takes, in arrival order, those waiting
//! for the type the key holds, and leaves the others in their place, as Redis 7.0
//! does. What a serve changes is reported as keyspace events through the locks it
//! holds, and [`Keyspace::serve_ready`] hands them to its caller to publish.
//!
//! # Why an element is never lost nor delivered twice
//! * **The sender is the token.** Whoever takes a waiter's sender out of its slot (a
//!   serve, `CLIENT UNBLOCK`, or the waiter itself when it stops waiting) is the only
//!   one who may ever wake it; everybody else finds the slot empty.
//! * **Registration is atomic with the emptiness check.** The blocking command checks
//!   its keys and registers with the shards of all of them locked, so a push that
//!   follows finds the waiter, and a push that came before left an element the
//!   command popped instead of blocking.
//! * **A serve happens under the key's shard lock.** It looks for something to take
//!   first, only then takes the sender (so a waiter is never claimed for nothing),
//!   pops, and sends. If the send fails because the receiver has gone, the elements
//!   go back where they came from before the lock is released.
//! * **Leaving is also under the locks.** A waiter that stops waiting (timeout,
//!   disconnect, kill, shutdown) locks the shards of every key it waits on, takes its
//!   sender, leaves every queue, and only then looks in its channel: a delivery that
//!   arrived meanwhile is kept (timeout: it becomes the reply) or put back (the client
//!   is gone), still under the same locks.
//! * Queue entries of a waiter already woken through another key are stale; a serve
//!   drops them when it meets them, and the waiter's own leaving removes the rest.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::oneshot;

use crate::pubsub::notify::KeyEvent;
use crate::store::value::FastHasher;
use crate::store::{DbView, Keyspace, Locked};

/// Keys (with their database) that received elements and whose waiters may now be
/// served.
pub type ReadyKeys = Vec<(usize, Vec<u8>)>;

/// Puts popped elements back into the database (a delivery that nobody received),
/// recording the keyspace events of doing so like a serve does.
pub type Restore = Box<dyn FnOnce(&mut DbView<'_, '_>) + Send>;

/// What a serve hands to a waiter.
pub struct Delivery {
    /// The reply, already encoded for the waiter's protocol.
    pub reply: Vec<u8>,
    /// How to undo the serve if the waiter cannot take the delivery, and the key it
    /// refills; `None` when there is nothing to put back (a move: the element is
    /// safe in its destination, as with Redis).
    pub restore: Option<(Vec<u8>, Restore)>,
}

/// Why `CLIENT UNBLOCK` woke a waiter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnblockReason {
    /// Answer as if the timeout had expired.
    Timeout,
    /// Answer with the `UNBLOCKED` error.
    Error,
}

/// What wakes a waiter.
pub enum Wake {
    Served(Delivery),
    Unblocked(UnblockReason),
}

/// What serving a waiter does; each blocking command family implements it.
pub trait ServeOp: Send + Sync {
    /// A second key a serve writes (BLMOVE's destination), locked with the first.
    fn also_locks(&self) -> Option<&[u8]> {
        None
    }

    /// Whether `key` holds something this waiter takes (a non-empty list, for the
    /// list family). A key of another type is simply not ready, as in Redis 7.0: the
    /// waiter keeps its place, and those behind it that want that type are served.
    fn can_serve(&self, db: &mut DbView<'_, '_>, key: &[u8]) -> bool;

    /// Takes it, once [`can_serve`](Self::can_serve) said yes under the same locks.
    /// Keys it pushes to go into `ready`, through [`DbView::note_ready`]; the
    /// keyspace events Redis would send go to [`Locked::report`].
    fn serve(&self, db: &mut DbView<'_, '_>, key: &[u8], ready: &mut ReadyKeys) -> Delivery;
}

/// One blocked command.
pub struct Waiter {
    /// The blocked client (for `CLIENT UNBLOCK` and logs).
    pub client_id: u64,
    db: usize,
    /// The keys waited on, deduplicated, in argument order.
    keys: Vec<Box<[u8]>>,
    /// The shards of `keys`: what leaving must lock.
    mask: u64,
    op: Box<dyn ServeOp>,
    /// The token (see the module documentation); `None` once taken.
    sender: Mutex<Option<oneshot::Sender<Wake>>>,
}

impl Waiter {
    /// A waiter for `keys` of database `db`, and the receiver its connection awaits.
    pub fn new<'k>(
        keyspace: &Keyspace,
        client_id: u64,
        db: usize,
        keys: impl IntoIterator<Item = &'k [u8]>,
        op: Box<dyn ServeOp>,
    ) -> (Arc<Waiter>, oneshot::Receiver<Wake>) {
        let mut unique: Vec<Box<[u8]>> = Vec::new();
        for key in keys {
            if !unique.iter().any(|k| &k[..] == key) {
                unique.push(key.into());
            }
        }
        let mask = keyspace.mask_of(unique.iter().map(|k| &k[..]));
        let (sender, receiver) = oneshot::channel();
        let waiter = Waiter {
            client_id,
            db,
            keys: unique,
            mask,
            op,
            sender: Mutex::new(Some(sender)),
        };
        (Arc::new(waiter), receiver)
    }

    /// Whether nobody has woken the waiter yet.
    pub fn is_waiting(&self) -> bool {
        self.sender.lock().is_some()
    }

    fn take_sender(&self) -> Option<oneshot::Sender<Wake>> {
        self.sender.lock().take()
    }

    /// Wakes the waiter without serving it (`CLIENT UNBLOCK`).
    ///
    /// # Returns
    /// Whether it was still waiting.
    pub fn unblock(&self, reason: UnblockReason) -> bool {
        match self.take_sender() {
            Some(sender) => sender.send(Wake::Unblocked(reason)).is_ok(),
            None => false,
        }
    }
}

/// What one look at a key's queue decided ([`Keyspace::serve_ready`]).
enum Step {
    /// A waiter was served, or a stale entry dropped: look again from the oldest.
    Again,
    /// That waiter waits for another type than the key holds: try the next one.
    Skip,
    /// The waiter's serve also writes another key: look again with these shards.
    Widen(u64),
    /// Nobody left who can be served.
    Done,
}

/// One database's queues within a shard: key → waiters, oldest first.
type Queues = HashMap<Box<[u8]>, VecDeque<Arc<Waiter>>, FastHasher>;

/// One shard's queues of waiters, per database and key.
#[derive(Default)]
pub struct ShardWaiters {
    dbs: Box<[Queues]>,
    /// Queue entries across all databases: lets the push path skip the lookup
    /// entirely in the common case where nobody waits in this shard.
    entries: usize,
}

impl ShardWaiters {
    pub fn new(databases: usize) -> Self {
        ShardWaiters {
            dbs: (0..databases).map(|_| HashMap::default()).collect(),
            entries: 0,
        }
    }

    /// Whether any waiter (possibly stale) is queued on `key`.
    pub fn is_waited(&self, db: usize, key: &[u8]) -> bool {
        self.entries > 0 && self.dbs[db].contains_key(key)
    }

    /// Queue entries in this shard (stale ones included).
    pub fn len(&self) -> usize {
        self.entries
    }

    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }

    fn push(&mut self, db: usize, key: &[u8], waiter: &Arc<Waiter>) {
        let queues = &mut self.dbs[db];
        match queues.get_mut(key) {
            Some(queue) => queue.push_back(waiter.clone()),
            None => {
                queues.insert(key.into(), VecDeque::from([waiter.clone()]));
            }
        }
        self.entries += 1;
    }

    /// Removes `waiter` from `key`'s queue, if it is there.
    fn remove(&mut self, db: usize, key: &[u8], waiter: &Arc<Waiter>) {
        let queues = &mut self.dbs[db];
        let Some(queue) = queues.get_mut(key) else {
            return;
        };
        // Waiters that leave by timeout are usually the oldest: search from the front.
        if let Some(at) = queue.iter().position(|w| Arc::ptr_eq(w, waiter)) {
            queue.remove(at);
            self.entries -= 1;
        }
        if queue.is_empty() {
            queues.remove(key);
        }
    }

    /// The oldest waiter on `key` nobody has woken yet; stale entries in front of it
    /// are dropped.
    fn front_waiting(&mut self, db: usize, key: &[u8]) -> Option<Arc<Waiter>> {
        let queues = &mut self.dbs[db];
        let queue = queues.get_mut(key)?;
        let mut found = None;
        while let Some(front) = queue.front() {
            if front.is_waiting() {
                found = Some(front.clone());
                break;
            }
            queue.pop_front();
            self.entries -= 1;
        }
        if queue.is_empty() {
            queues.remove(key);
        }
        found
    }

    /// The waiter `skip` places behind the oldest one on `key` nobody has woken yet
    /// (stale entries are not counted).
    fn waiting(&mut self, db: usize, key: &[u8], skip: usize) -> Option<Arc<Waiter>> {
        let oldest = self.front_waiting(db, key)?;
        if skip == 0 {
            return Some(oldest);
        }
        self.dbs[db]
            .get(key)?
            .iter()
            .filter(|waiter| waiter.is_waiting())
            .nth(skip)
            .cloned()
    }
}

impl Locked<'_> {
    /// Queues `waiter` on each of its keys. The caller holds every key's shard and has
    /// just found them all without anything to serve.
    pub fn register(&mut self, waiter: &Arc<Waiter>) {
        for key in &waiter.keys {
            self.shard_for(key).waiters.push(waiter.db, key, waiter);
        }
    }

    /// Adds every key waited on in database `db`, within the held shards, to `ready`
    /// (SWAPDB gives a database new contents all at once). Serving skips the keys that
    /// hold nothing to take.
    pub fn note_waited_keys(&mut self, db: usize, ready: &mut ReadyKeys) {
        for (_, shard) in self.shards() {
            ready.extend(shard.waiters.dbs[db].keys().map(|key| (db, key.to_vec())));
        }
    }
}

impl DbView<'_, '_> {
    /// Whether a waiter is queued on `key` in this database.
    pub fn is_waited(&mut self, key: &[u8]) -> bool {
        let db = self.index();
        self.locked().shard_for(key).waiters.is_waited(db, key)
    }

    /// Adds `key` to `ready` if a waiter is queued on it (after a push). A key nobody
    /// waits on needs no serve pass: a command that blocks later will see the element.
    pub fn note_ready(&mut self, key: &[u8], ready: &mut ReadyKeys) {
        let db = self.index();
        if self.is_waited(key) && !ready.iter().any(|(d, k)| *d == db && k == key) {
            ready.push((db, key.to_vec()));
        }
    }
}

impl Keyspace {
    /// Serves the waiters of every key in `ready`, in order, FIFO per key, for as long
    /// as each key has something to take. Keys that serves push to (BLMOVE) are
    /// appended and served in turn. Called with no shard locked.
    ///
    /// # Returns
    /// The keyspace events the serves caused (the pops, keys they emptied, lazy
    /// expiries met on the way), oldest first, for the caller to publish.
    pub fn serve_ready(&self, mut ready: ReadyKeys, now_ms: u64) -> Vec<KeyEvent> {
        let mut events = Vec::new();
        let mut next = 0;
        while next < ready.len() {
            let (db, key) = std::mem::take(&mut ready[next]);
            next += 1;
            self.serve_key(db, &key, &mut ready, &mut events, now_ms);
        }
        events
    }

    fn serve_key(
        &self,
        db: usize,
        key: &[u8],
        ready: &mut ReadyKeys,
        events: &mut Vec<KeyEvent>,
        now_ms: u64,
    ) {
        let mut mask = 1u64 << self.shard_of(key);
        let mut skip = 0;
        loop {
            let mut locked = self.lock(mask);
            let step = self.serve_step(&mut locked, mask, db, key, skip, ready, now_ms);
            events.extend(locked.take_events());
            drop(locked);
            match step {
                Step::Again => skip = 0,
                Step::Skip => skip += 1,
                Step::Widen(needed) => mask = needed,
                Step::Done => return,
            }
        }
    }

    /// Looks at the waiter `skip` places behind the oldest on `key`, and serves it if
    /// it can be served under the shards in `mask`.
    #[allow(clippy::too_many_arguments)]
    fn serve_step(
        &self,
        locked: &mut Locked<'_>,
        mask: u64,
        db: usize,
        key: &[u8],
        skip: usize,
        ready: &mut ReadyKeys,
        now_ms: u64,
    ) -> Step {
        let Some(waiter) = locked.shard_for(key).waiters.waiting(db, key, skip) else {
            return Step::Done;
        };
        if let Some(other) = waiter.op.also_locks() {
            let needed = mask | 1u64 << self.shard_of(other);
            if needed != mask {
                // Locks are taken in ascending order only: let go and take both.
                return Step::Widen(needed);
            }
        }
        let mut view = locked.db(db, now_ms);
        if !waiter.op.can_serve(&mut view, key) {
            // Redis 7.0 serves a key's waiters for the type the key now holds: one
            // waiting for another type (BLPOP on a key that became a sorted set)
            // stays in its place while those behind it are served. A key with
            // nothing at all ends the pass.
            return if view.exists(key) {
                Step::Skip
            } else {
                Step::Done
            };
        }
        let sender = waiter.take_sender();
        locked.shard_for(key).waiters.remove(db, key, &waiter);
        // Someone else (CLIENT UNBLOCK, a serve through another key, the waiter
        // leaving) took the token since `waiting`: just drop the entry.
        let Some(sender) = sender else {
            return Step::Again;
        };
        let delivery = waiter.op.serve(&mut locked.db(db, now_ms), key, ready);
        if let Err(Wake::Served(lost)) = sender.send(Wake::Served(delivery)) {
            if let Some((_, restore)) = lost.restore {
                restore(&mut locked.db(db, now_ms));
            }
        }
        Step::Again
    }

    /// Takes `waiter` out of every queue, with the shards of all its keys locked, and
    /// settles any wake that raced with its leaving.
    ///
    /// `gone` says the client can no longer receive a reply (disconnect, kill,
    /// shutdown): a delivery found in the channel is then put back, and its key served
    /// to the next waiters; the keyspace events of both go to `publish`.
    ///
    /// # Returns
    /// The wake found in the channel, if any (never a delivery when `gone`).
    pub fn leave(
        &self,
        waiter: &Arc<Waiter>,
        receiver: &mut oneshot::Receiver<Wake>,
        gone: bool,
        now_ms: u64,
        publish: &mut dyn FnMut(KeyEvent),
    ) -> Option<Wake> {
        let mut refilled = None;
        let wake = {
            let mut locked = self.lock(waiter.mask);
            drop(waiter.take_sender());
            for key in &waiter.keys {
                locked.shard_for(key).waiters.remove(waiter.db, key, waiter);
            }
            let wake = match receiver.try_recv() {
                Ok(Wake::Served(delivery)) if gone => {
                    if let Some((key, restore)) = delivery.restore {
                        restore(&mut locked.db(waiter.db, now_ms));
                        refilled = Some((waiter.db, key));
                    }
                    None
                }
                Ok(wake) => Some(wake),
                Err(_) => None,
            };
            locked.take_events().into_iter().for_each(&mut *publish);
            wake
        };
        if let Some(refilled) = refilled {
            // Redis popped these elements once, for the waiter that has gone: their
            // second serve announces nothing again.
            drop(self.serve_ready(vec![refilled], now_ms));
        }
        wake
    }

    /// Queue entries across every shard (stale ones included): 0 once every waiter
    /// has left. For tests and diagnostics.
    pub fn waiter_entries(&self) -> usize {
        let mut total = 0;
        self.for_each_shard(|_, shard| total += shard.waiters.len());
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pubsub::notify::class;
    use crate::store::ValueType;
    use crate::store::lists::End;

    /// Pops one element from the tail; the reply is the element itself.
    struct PopTail;

    impl ServeOp for PopTail {
        fn can_serve(&self, db: &mut DbView<'_, '_>, key: &[u8]) -> bool {
            db.list_len(key).unwrap_or(0) > 0
        }

        fn serve(&self, db: &mut DbView<'_, '_>, key: &[u8], _: &mut ReadyKeys) -> Delivery {
            let item = db.list_pop(key, End::Tail, 1).unwrap().unwrap().remove(0);
            let index = db.index();
            db.locked()
                .report(class::LIST, "rpop", index, || key.into());
            let owned = key.to_vec();
            let back = item.clone();
            Delivery {
                reply: item,
                restore: Some((
                    key.to_vec(),
                    Box::new(move |db: &mut DbView<'_, '_>| {
                        db.list_push(&owned, [&back[..]], End::Tail, true).unwrap();
                    }),
                )),
            }
        }
    }

    /// Waits for a sorted set, and never gets one in these tests.
    struct WantsZSet;

    impl ServeOp for WantsZSet {
        fn can_serve(&self, db: &mut DbView<'_, '_>, key: &[u8]) -> bool {
            db.type_of(key) == Some(ValueType::ZSet)
        }

        fn serve(&self, _: &mut DbView<'_, '_>, _: &[u8], _: &mut ReadyKeys) -> Delivery {
            unreachable!("no sorted set is ever stored here")
        }
    }

    fn block(
        keyspace: &Keyspace,
        id: u64,
        keys: &[&[u8]],
    ) -> (Arc<Waiter>, oneshot::Receiver<Wake>) {
        block_with(keyspace, id, keys, Box::new(PopTail))
    }

    fn block_with(
        keyspace: &Keyspace,
        id: u64,
        keys: &[&[u8]],
        op: Box<dyn ServeOp>,
    ) -> (Arc<Waiter>, oneshot::Receiver<Wake>) {
        let (waiter, receiver) = Waiter::new(keyspace, id, 0, keys.iter().copied(), op);
        keyspace.lock(waiter.mask).register(&waiter);
        (waiter, receiver)
    }

    /// Pushes `item` and serves the key's waiters; returns the events of the serves.
    fn push(keyspace: &Keyspace, key: &[u8], item: &[u8]) -> Vec<KeyEvent> {
        let mut ready = Vec::new();
        {
            let mut locked = keyspace.lock_all();
            let mut db = locked.db(0, 0);
            db.list_push(key, [item], End::Head, true).unwrap();
            db.note_ready(key, &mut ready);
        }
        keyspace.serve_ready(ready, 0)
    }

    fn served(receiver: &mut oneshot::Receiver<Wake>) -> Option<Vec<u8>> {
        match receiver.try_recv() {
            Ok(Wake::Served(delivery)) => Some(delivery.reply),
            _ => None,
        }
    }

    #[test]
    fn waiters_are_served_first_come_first_served() {
        let keyspace = Keyspace::new(1);
        let (first, mut first_rx) = block(&keyspace, 1, &[b"q"]);
        let (second, mut second_rx) = block(&keyspace, 2, &[b"q"]);
        push(&keyspace, b"q", b"x");
        assert_eq!(served(&mut first_rx), Some(b"x".to_vec()));
        assert!(served(&mut second_rx).is_none());
        push(&keyspace, b"q", b"y");
        assert_eq!(served(&mut second_rx), Some(b"y".to_vec()));
        assert!(
            keyspace
                .leave(&first, &mut first_rx, false, 0, &mut |_| {})
                .is_none()
        );
        assert!(
            keyspace
                .leave(&second, &mut second_rx, false, 0, &mut |_| {})
                .is_none()
        );
        assert_eq!(keyspace.waiter_entries(), 0);
        assert_eq!(keyspace.lock_all().db(0, 0).list_len(b"q"), Ok(0));
    }

    #[test]
    fn a_waiter_on_several_keys_is_served_once() {
        let keyspace = Keyspace::new(1);
        let (waiter, mut rx) = block(&keyspace, 1, &[b"a", b"b", b"a"]);
        assert_eq!(waiter.keys.len(), 2);
        push(&keyspace, b"b", b"1");
        push(&keyspace, b"a", b"2");
        assert_eq!(served(&mut rx), Some(b"1".to_vec()));
        // The stale entry on `a` did not take the element.
        assert_eq!(keyspace.lock_all().db(0, 0).list_len(b"a"), Ok(1));
        keyspace.leave(&waiter, &mut rx, false, 0, &mut |_| {});
        assert_eq!(keyspace.waiter_entries(), 0);
    }

    #[test]
    fn a_gone_waiter_puts_its_delivery_back_for_the_next_one() {
        let keyspace = Keyspace::new(1);
        let (gone, mut gone_rx) = block(&keyspace, 1, &[b"q"]);
        let (next, mut next_rx) = block(&keyspace, 2, &[b"q"]);
        push(&keyspace, b"q", b"x");
        // The first waiter was handed `x` but disconnects before replying.
        assert!(
            keyspace
                .leave(&gone, &mut gone_rx, true, 0, &mut |_| {})
                .is_none()
        );
        assert_eq!(served(&mut next_rx), Some(b"x".to_vec()));
        keyspace.leave(&next, &mut next_rx, false, 0, &mut |_| {});
        assert_eq!(keyspace.waiter_entries(), 0);
    }

    #[test]
    fn a_timed_out_waiter_keeps_a_racing_delivery() {
        let keyspace = Keyspace::new(1);
        let (waiter, mut rx) = block(&keyspace, 1, &[b"q"]);
        push(&keyspace, b"q", b"x");
        match keyspace.leave(&waiter, &mut rx, false, 0, &mut |_| {}) {
            Some(Wake::Served(delivery)) => assert_eq!(delivery.reply, b"x"),
            _ => panic!("the delivery was lost"),
        }
    }

    #[test]
    fn a_dropped_receiver_never_loses_the_element() {
        let keyspace = Keyspace::new(1);
        let (waiter, rx) = block(&keyspace, 1, &[b"q"]);
        drop(rx);
        push(&keyspace, b"q", b"x");
        assert_eq!(keyspace.lock_all().db(0, 0).list_len(b"q"), Ok(1));
        assert!(!waiter.is_waiting());
        assert_eq!(keyspace.waiter_entries(), 0);
    }

    #[test]
    fn unblock_wins_over_a_later_push() {
        let keyspace = Keyspace::new(1);
        let (waiter, mut rx) = block(&keyspace, 1, &[b"q"]);
        assert!(waiter.unblock(UnblockReason::Error));
        assert!(!waiter.unblock(UnblockReason::Timeout));
        push(&keyspace, b"q", b"x");
        assert_eq!(keyspace.lock_all().db(0, 0).list_len(b"q"), Ok(1));
        assert!(matches!(
            keyspace.leave(&waiter, &mut rx, false, 0, &mut |_| {}),
            Some(Wake::Unblocked(UnblockReason::Error))
        ));
    }

    #[test]
    fn a_waiter_for_another_type_keeps_its_place_behind_served_ones() {
        let keyspace = Keyspace::new(1);
        let (zset, mut zset_rx) = block_with(&keyspace, 1, &[b"q"], Box::new(WantsZSet));
        let (list, mut list_rx) = block(&keyspace, 2, &[b"q"]);
        push(&keyspace, b"q", b"x");
        assert_eq!(served(&mut list_rx), Some(b"x".to_vec()));
        assert!(zset.is_waiting());
        // Still first in line: the next list waiter queues behind it and is served.
        let (later, mut later_rx) = block(&keyspace, 3, &[b"q"]);
        push(&keyspace, b"q", b"y");
        assert_eq!(served(&mut later_rx), Some(b"y".to_vec()));
        assert!(zset.is_waiting());
        for (waiter, rx) in [
            (&zset, &mut zset_rx),
            (&list, &mut list_rx),
            (&later, &mut later_rx),
        ] {
            keyspace.leave(waiter, rx, false, 0, &mut |_| {});
        }
        assert_eq!(keyspace.waiter_entries(), 0);
    }

    #[test]
    fn serves_hand_back_the_events_they_cause() {
        let keyspace = Keyspace::new(1);
        keyspace.set_notify_flags(class::LIST);
        assert!(push(&keyspace, b"q", b"kept").is_empty());
        let (waiter, mut rx) = block(&keyspace, 1, &[b"q"]);
        let events = push(&keyspace, b"q", b"x");
        assert_eq!(served(&mut rx), Some(b"kept".to_vec()));
        let names: Vec<_> = events.iter().map(|e| (e.event, &e.key[..])).collect();
        assert_eq!(names, [("rpop", &b"q"[..])]);
        keyspace.leave(&waiter, &mut rx, false, 0, &mut |_| {});
    }
}
