//! WATCH: which clients watch which keys, kept where the keys change.
//!
//! Every database slice of every shard ([`crate::store::Db`]) carries a
//! [`WatchedKeys`] registry, guarded by the same shard lock as the keys. Each change
//! to the slice's map (insert, remove, deadline change, in-place change through
//! `DbView::get_mut`, lazy and active expiry, flush and swap) touches the changed key
//! in that registry, which raises the [`WatchFlag`] of every client watching it; `EXEC`
//! then answers null. When nobody watches anything in a slice, a touch is one
//! emptiness check.
//!
//! The client keeps its side in a [`WatchSet`]: its flag and the `(db, key)` pairs it
//! registered, so that EXEC, DISCARD, UNWATCH, RESET and disconnection can remove
//! them under the right shard locks.
//!
//! # Keys that had already expired when watched
//! As in Redis 7.0, watching a key whose deadline has passed but which is still
//! stored remembers that fact: its removal (lazy or active expiry, DEL, flush) is no
//! logical change and does not fire the watch; anything that stores a value again
//! does. And a watched key that expires before EXEC without anyone touching it aborts
//! the transaction, because EXEC checks deadlines itself.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::store::value::FastHasher;
use crate::store::{Keyspace, Locked};

/// Raised when any key a client watches changes; shared by the client and the
/// registries it is entered in.
#[derive(Debug, Clone, Default)]
pub struct WatchFlag(Arc<AtomicBool>);

impl WatchFlag {
    pub fn is_raised(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    fn raise(&self) {
        self.0.store(true, Ordering::Release);
    }

    fn lower(&self) {
        self.0.store(false, Ordering::Release);
    }

    fn is(&self, other: &WatchFlag) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// For a key, whether the slice replacing this one stores it, and if so whether it
/// is past its deadline.
pub type Replacement<'r> = &'r dyn Fn(&[u8]) -> Option<bool>;

/// One client watching one key.
#[derive(Debug)]
struct Watcher {
    flag: WatchFlag,
    /// The key was stored but past its deadline when watched.
    expired: bool,
}

/// The watchers of one database slice's keys.
#[derive(Debug, Default)]
pub struct WatchedKeys {
    keys: HashMap<Box<[u8]>, Vec<Watcher>, FastHasher>,
}

impl WatchedKeys {
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Number of watched keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Registers `flag` on `key`; `expired` says the key is stored but past its
    /// deadline. Registering the same flag twice keeps one entry.
    pub fn add(&mut self, key: &[u8], flag: &WatchFlag, expired: bool) {
        let watchers = self.keys.entry(key.into()).or_default();
        if !watchers.iter().any(|w| w.flag.is(flag)) {
            watchers.push(Watcher {
                flag: flag.clone(),
                expired,
            });
        }
    }

    pub fn remove(&mut self, key: &[u8], flag: &WatchFlag) {
        if let Some(watchers) = self.keys.get_mut(key) {
            watchers.retain(|w| !w.flag.is(flag));
            if watchers.is_empty() {
                self.keys.remove(key);
            }
        }
    }

    /// Whether `flag` watched `key` when it was already expired.
    pub fn watched_expired(&self, key: &[u8], flag: &WatchFlag) -> bool {
        self.keys
            .get(key)
            .and_then(|watchers| watchers.iter().find(|w| w.flag.is(flag)))
            .is_some_and(|w| w.expired)
    }

    /// `key` changed; `stored` says whether it is in the map after the change.
    pub fn touch(&mut self, key: &[u8], stored: bool) {
        let Some(watchers) = self.keys.get_mut(key) else {
            return;
        };
        for watcher in watchers {
            if watcher.expired && !stored {
                // Removing a key that had expired before it was watched changes
                // nothing a client could see; it is now simply absent.
                watcher.expired = false;
                continue;
            }
            // Anything else is a change, including a new value written straight
            // over the expired one (a SET does that in one probe, without a
            // removal first).
            watcher.flag.raise();
        }
    }

    /// The slice is being emptied (FLUSHDB, FLUSHALL) or swapped with another
    /// (SWAPDB), as Redis's `touchAllWatchedKeysInDb`. `stored(key)` says whether the
    /// key is in this slice now; `replacement(key)` says whether the slice taking its
    /// place holds the key, and whether that key is past its deadline.
    pub fn touch_all(
        &mut self,
        stored: impl Fn(&[u8]) -> bool,
        replacement: Option<Replacement<'_>>,
    ) {
        for (key, watchers) in self.keys.iter_mut() {
            let was_stored = stored(key);
            let incoming = replacement.and_then(|replacement| replacement(key));
            if !was_stored && incoming.is_none() {
                continue;
            }
            for watcher in watchers.iter_mut() {
                if watcher.expired {
                    match incoming {
                        None => {
                            watcher.expired = false;
                            continue;
                        }
                        Some(true) => continue,
                        Some(false) => {}
                    }
                } else if !was_stored && incoming == Some(true) {
                    // A missing key replaced by an already-expired one: still absent
                    // to clients, but now a stored expired key.
                    watcher.expired = true;
                    continue;
                }
                watcher.flag.raise();
            }
        }
    }
}

/// A client's watches: its flag and the keys it registered it on.
#[derive(Debug, Default)]
pub struct WatchSet {
    pub flag: WatchFlag,
    keys: Vec<(usize, Box<[u8]>)>,
}

impl WatchSet {
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Whether `(db, key)` is already watched.
    pub fn contains(&self, db: usize, key: &[u8]) -> bool {
        self.keys.iter().any(|(d, k)| *d == db && &k[..] == key)
    }

    /// Records a key registered in its slice's [`WatchedKeys`].
    pub fn record(&mut self, db: usize, key: &[u8]) {
        self.keys.push((db, key.into()));
    }

    /// The watched keys.
    pub fn keys(&self) -> impl Iterator<Item = (usize, &[u8])> {
        self.keys.iter().map(|(db, key)| (*db, &key[..]))
    }

    /// The shards holding the watched keys.
    pub fn mask(&self, keyspace: &Keyspace) -> u64 {
        keyspace.mask_of(self.keys.iter().map(|(_, key)| &key[..]))
    }

    /// Forgets every watch and lowers the flag (EXEC, DISCARD, UNWATCH, RESET,
    /// disconnection). Uses `held` when the caller already holds the shards (EXEC);
    /// otherwise locks them itself, so it must not be called while holding others.
    pub fn clear(&mut self, keyspace: &Keyspace, held: Option<&mut Locked<'_>>) {
        if !self.keys.is_empty() {
            let mask = self.mask(keyspace);
            match held {
                Some(locked) => {
                    debug_assert!(locked.covers(mask), "watched shards are held");
                    self.unregister(locked);
                }
                None => self.unregister(&mut keyspace.lock(mask)),
            }
        }
        self.flag.lower();
    }

    fn unregister(&mut self, locked: &mut Locked<'_>) {
        for (db, key) in self.keys.drain(..) {
            locked.shard_for(&key).dbs[db].unwatch(&key, &self.flag);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_touch_raises_every_watcher_of_the_key() {
        let mut watched = WatchedKeys::default();
        let (a, b) = (WatchFlag::default(), WatchFlag::default());
        watched.add(b"k", &a, false);
        watched.add(b"k", &a, false);
        watched.add(b"other", &b, false);
        watched.touch(b"k", true);
        assert!(a.is_raised());
        assert!(!b.is_raised());
        watched.remove(b"k", &a);
        watched.remove(b"other", &b);
        assert!(watched.is_empty());
    }

    #[test]
    fn removing_an_already_expired_key_is_no_change() {
        let mut watched = WatchedKeys::default();
        let flag = WatchFlag::default();
        watched.add(b"k", &flag, true);
        watched.touch(b"k", false);
        assert!(!flag.is_raised());
        assert!(!watched.watched_expired(b"k", &flag));
        // Storing the key again afterwards is a change.
        watched.touch(b"k", true);
        assert!(flag.is_raised());
    }

    #[test]
    fn storing_over_an_already_expired_key_is_a_change() {
        let mut watched = WatchedKeys::default();
        let flag = WatchFlag::default();
        watched.add(b"k", &flag, true);
        watched.touch(b"k", true);
        assert!(flag.is_raised());
    }

    #[test]
    fn flush_raises_only_stored_keys() {
        let mut watched = WatchedKeys::default();
        let (present, absent, stale) = (
            WatchFlag::default(),
            WatchFlag::default(),
            WatchFlag::default(),
        );
        watched.add(b"present", &present, false);
        watched.add(b"absent", &absent, false);
        watched.add(b"stale", &stale, true);
        watched.touch_all(|key| key != b"absent", None);
        assert!(present.is_raised());
        assert!(!absent.is_raised());
        assert!(!stale.is_raised());
    }

    #[test]
    fn swap_raises_keys_present_on_either_side() {
        let mut watched = WatchedKeys::default();
        let (incoming, gone, expired_in) = (
            WatchFlag::default(),
            WatchFlag::default(),
            WatchFlag::default(),
        );
        watched.add(b"incoming", &incoming, false);
        watched.add(b"gone", &gone, false);
        watched.add(b"expired_in", &expired_in, false);
        let replacement = |key: &[u8]| match key {
            b"incoming" => Some(false),
            b"expired_in" => Some(true),
            _ => None,
        };
        watched.touch_all(|key| key == b"gone", Some(&replacement));
        assert!(incoming.is_raised());
        assert!(gone.is_raised());
        assert!(!expired_in.is_raised());
        assert!(watched.watched_expired(b"expired_in", &expired_in));
    }
}
