//! One database's slice of one shard ([`Db`]), and the view a command works through
//! ([`DbView`]), which routes each key to its shard and applies expiry.
//!
//! # Expiry
//! An entry carries its deadline in Unix milliseconds. Reads and writes expire a key
//! lazily the moment it is touched past its deadline; [`crate::store::expire`] sweeps
//! the rest in the background, so memory comes back even for keys nobody reads.
//!
//! # Reads, writes and WATCH
//! Every change to a slice's map goes through [`Db`]'s methods, and each of them
//! touches the changed key in the slice's WATCH registry ([`crate::store::watch`]).
//! [`DbView`] offers three lookups: [`DbView::read`] for read commands (counts hits
//! and misses, reports `keymiss`), [`DbView::peek`] for a write command deciding
//! what to do (neither), and [`DbView::get_mut`] for changing a value in place, which
//! counts as a change to the key. [`DbView::change_in_place`] is for writes that may
//! turn out to change nothing (SETBIT of a bit already set): it counts a change
//! only when its caller reports one. Plain reads never fire a WATCH.
//!
//! # Why an insertion-ordered map
//! Keys live in a [`KeyMap`]: O(1) access by position gives `RANDOMKEY`, a
//! deterministic background sweep and a `SCAN` cursor with Redis's guarantee. The
//! cursor walks positions downwards; removal moves only the last entry (already
//! visited) into the hole, and insertions land at the end, so every key present for
//! the whole scan is returned at least once.

use crate::pubsub::notify::class;
use crate::store::key_map::KeyMap;
use crate::store::thin_bytes::ThinBytes;
use crate::store::value::{Value, ValueType};
use crate::store::watch::{WatchFlag, WatchedKeys};
use crate::store::{Locked, Shard, ShardStats};

/// A key's value and its expiry deadline.
#[derive(Debug, Clone)]
pub struct Entry {
    pub value: Value,
    /// Unix milliseconds; 0 means the key never expires. Changed only through [`Db`],
    /// which counts keys with a deadline.
    expire_at: u64,
}

impl Entry {
    pub fn new(value: Value) -> Self {
        Entry {
            value,
            expire_at: 0,
        }
    }

    /// The deadline in Unix milliseconds, if any.
    pub fn expire_at(&self) -> Option<u64> {
        (self.expire_at != 0).then_some(self.expire_at)
    }

    /// A key lives through its deadline's millisecond and is gone after it, as in
    /// Redis (`now > when`): PTTL reads 0 during that last millisecond.
    fn is_expired(&self, now_ms: u64) -> bool {
        self.expire_at != 0 && self.expire_at < now_ms
    }
}

/// What looking a key up found.
enum Found {
    Live(usize),
    Missing,
    /// The key was past its deadline and has just been removed.
    Expired(ThinBytes),
}

/// One database's keys within one shard.
#[derive(Default)]
pub struct Db {
    map: KeyMap,
    /// How many entries have a deadline (`INFO keyspace` `expires=`).
    expiring: usize,
    /// Where the background sweep resumes (a position, walked downwards).
    sweep_cursor: usize,
    /// Clients watching keys of this slice. Stays with the database index: SWAPDB
    /// moves the keys, not the watches.
    watched: WatchedKeys,
}

impl Db {
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn expiring(&self) -> usize {
        self.expiring
    }

    /// The live entry under `key`, expiring it first if its deadline has passed.
    pub fn lookup(
        &mut self,
        key: &[u8],
        now_ms: u64,
        stats: &mut ShardStats,
    ) -> Option<&mut Entry> {
        match self.find(key, now_ms, false) {
            Found::Live(index) => Some(self.map.entry_at_mut(index)),
            Found::Missing => None,
            Found::Expired(_) => {
                stats.expired_keys += 1;
                None
            }
        }
    }

    /// Finds `key`, removing it first if its deadline has passed (lazy expiry), or
    /// only reporting it missing when `keep_expired` (expiry is suspended).
    fn find(&mut self, key: &[u8], now_ms: u64, keep_expired: bool) -> Found {
        let Some(index) = self.map.position(key) else {
            return Found::Missing;
        };
        if self.map.entry_at(index).is_expired(now_ms) {
            if keep_expired {
                return Found::Missing;
            }
            return Found::Expired(self.remove_index(index).0);
        }
        Found::Live(index)
    }

    /// Notes that `key` changed, for the clients watching it.
    pub fn touch(&mut self, key: &[u8]) {
        if !self.watched.is_empty() {
            let stored = self.map.contains_key(key);
            self.watched.touch(key, stored);
        }
    }

    /// Registers a WATCH of `key`.
    pub fn watch(&mut self, key: &[u8], flag: &WatchFlag, now_ms: u64) {
        let expired = self.map.get(key).is_some_and(|e| e.is_expired(now_ms));
        self.watched.add(key, flag, expired);
    }

    pub fn unwatch(&mut self, key: &[u8], flag: &WatchFlag) {
        self.watched.remove(key, flag);
    }

    /// Number of keys some client watches in this slice.
    pub fn watched_keys(&self) -> usize {
        self.watched.len()
    }

    /// Whether `key`, watched with `flag`, has expired since it was watched (EXEC
    /// refuses to run then, even if nobody touched the key).
    pub fn watched_key_expired(&self, key: &[u8], flag: &WatchFlag, now_ms: u64) -> bool {
        !self.watched.watched_expired(key, flag)
            && self.map.get(key).is_some_and(|e| e.is_expired(now_ms))
    }

    /// Stores `value` under `key` with the given deadline (0 = none), replacing any
    /// previous entry. Returns the previous entry.
    pub fn insert(&mut self, key: &[u8], value: Value, expire_at: u64) -> Option<Entry> {
        let entry = Entry { value, expire_at };
        self.expiring += usize::from(expire_at != 0);
        let previous = self.map.insert(key, entry);
        if let Some(old) = &previous {
            self.expiring -= usize::from(old.expire_at != 0);
        }
        self.touch(key);
        previous
    }

    /// Inserts an entry as it is (deadline included); used by MOVE, COPY and SWAPDB.
    pub fn insert_entry(&mut self, key: &[u8], entry: Entry) -> Option<Entry> {
        let expire_at = entry.expire_at;
        self.insert(key, entry.value, expire_at)
    }

    pub fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        let index = self.map.position(key)?;
        Some(self.remove_index(index).1)
    }

    fn remove_index(&mut self, index: usize) -> (ThinBytes, Entry) {
        let (key, entry) = self.map.swap_remove_at(index);
        self.expiring -= usize::from(entry.expire_at != 0);
        self.touch(&key);
        (key, entry)
    }

    /// Sets (non-zero) or clears (0) the deadline of an existing key.
    pub fn set_expire(&mut self, key: &[u8], expire_at: u64) -> bool {
        let Some(entry) = self.map.get_mut(key) else {
            return false;
        };
        let had = entry.expire_at != 0;
        entry.expire_at = expire_at;
        self.expiring = self.expiring + usize::from(expire_at != 0) - usize::from(had);
        self.touch(key);
        true
    }

    /// Removes every key (FLUSHDB, FLUSHALL); watchers of stored keys are touched.
    pub fn clear(&mut self) {
        let map = &self.map;
        self.watched.touch_all(|key| map.contains_key(key), None);
        self.map = KeyMap::default();
        self.expiring = 0;
        self.sweep_cursor = 0;
    }

    /// Exchanges the keys of two slices (SWAPDB); the watches stay with their
    /// database index, and a watched key stored on either side is touched.
    pub fn swap_keys(&mut self, other: &mut Db, now_ms: u64) {
        touch_replaced(&mut self.watched, &self.map, &other.map, now_ms);
        touch_replaced(&mut other.watched, &other.map, &self.map, now_ms);
        std::mem::swap(&mut self.map, &mut other.map);
        std::mem::swap(&mut self.expiring, &mut other.expiring);
        std::mem::swap(&mut self.sweep_cursor, &mut other.sweep_cursor);
    }

    /// Examines up to `budget` entries from where the last sweep stopped and removes
    /// those past their deadline.
    ///
    /// # Returns
    /// (entries examined, keys expired).
    pub fn sweep(&mut self, now_ms: u64, budget: usize) -> (usize, u64) {
        self.sweep_with(now_ms, budget, |_| {})
    }

    /// [`Db::sweep`], handing each expired key to `on_expired`.
    pub fn sweep_with(
        &mut self,
        now_ms: u64,
        budget: usize,
        mut on_expired: impl FnMut(ThinBytes),
    ) -> (usize, u64) {
        if self.expiring == 0 {
            return (0, 0);
        }
        let mut examined = 0;
        let mut expired = 0;
        while examined < budget {
            if self.sweep_cursor == 0 || self.sweep_cursor > self.map.len() {
                self.sweep_cursor = self.map.len();
                if examined > 0 || self.sweep_cursor == 0 {
                    break;
                }
            }
            self.sweep_cursor -= 1;
            examined += 1;
            if self.map.entry_at(self.sweep_cursor).is_expired(now_ms) {
                on_expired(self.remove_index(self.sweep_cursor).0);
                expired += 1;
            }
        }
        (examined, expired)
    }

    /// Gives back the table memory of a slice whose keys have mostly gone.
    pub fn shrink_if_sparse(&mut self) -> bool {
        self.map.shrink_if_sparse()
    }

    /// Visits keys for `SCAN`, walking positions downwards from `position` (exclusive;
    /// `None` means from the top).
    ///
    /// # Returns
    /// The position to resume from, or `None` when this database slice is done.
    pub fn scan(
        &self,
        position: Option<usize>,
        count: usize,
        now_ms: u64,
        mut visit: impl FnMut(&[u8], &Entry),
    ) -> Option<usize> {
        crate::store::scan::scan_down(self.map.len(), position, count, |index| {
            let (key, entry) = self.map.get_at(index).expect("position is below len");
            if !entry.is_expired(now_ms) {
                visit(key, entry);
            }
        })
    }

    /// Every live key, for `KEYS`.
    pub fn keys(&self, now_ms: u64) -> impl Iterator<Item = (&[u8], &Entry)> {
        self.map
            .iter()
            .filter(move |(_, entry)| !entry.is_expired(now_ms))
    }

    /// The key at a position, for `RANDOMKEY`.
    pub fn key_at(&self, index: usize) -> Option<(&[u8], &Entry)> {
        self.map.get_at(index)
    }

    /// Approximate heap bytes held by the map itself (not the keys and values).
    pub fn table_bytes(&self) -> usize {
        self.map.table_bytes()
    }
}

/// Touches the watchers of a slice whose keys `emptied` are replaced by `incoming`.
fn touch_replaced(watched: &mut WatchedKeys, emptied: &KeyMap, incoming: &KeyMap, now_ms: u64) {
    let replaced_by = |key: &[u8]| incoming.get(key).map(|e| e.is_expired(now_ms));
    watched.touch_all(|key| emptied.contains_key(key), Some(&replaced_by));
}

/// Database `db` seen through a set of locked shards, at one instant.
pub struct DbView<'l, 'a> {
    locked: &'l mut Locked<'a>,
    db: usize,
    now_ms: u64,
}

impl<'l, 'a> DbView<'l, 'a> {
    pub(crate) fn new(locked: &'l mut Locked<'a>, db: usize, now_ms: u64) -> Self {
        DbView { locked, db, now_ms }
    }

    pub fn index(&self) -> usize {
        self.db
    }

    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }

    /// The locked shards this view reads through.
    pub fn locked(&mut self) -> &mut Locked<'a> {
        self.locked
    }

    /// Finds a live entry: its shard and position. A key found past its deadline is
    /// removed, counted and reported as `expired`, unless expiry is suspended
    /// (`CLIENT PAUSE`): it is then only missing.
    fn find(&mut self, key: &[u8]) -> Option<(usize, usize)> {
        let (db, now) = (self.db, self.now_ms);
        let keyspace = self.locked.keyspace();
        let shard_index = keyspace.shard_of(key);
        let keep_expired = keyspace.expiry_suspended(now);
        let Shard { dbs, stats, .. } = self.locked.shard(shard_index);
        match dbs[db].find(key, now, keep_expired) {
            Found::Live(index) => Some((shard_index, index)),
            Found::Missing => None,
            Found::Expired(key) => {
                stats.expired_keys += 1;
                self.locked
                    .report(class::EXPIRED, "expired", db, || key.into());
                None
            }
        }
    }

    fn entry_at(&mut self, (shard, index): (usize, usize)) -> &mut Entry {
        let db = self.db;
        self.locked.shard(shard).dbs[db].map.entry_at_mut(index)
    }

    /// A live entry for a read command; counts a keyspace hit or miss and reports a
    /// `keymiss`, as Redis's read lookups do.
    pub fn read(&mut self, key: &[u8]) -> Option<&Entry> {
        let found = self.find(key);
        let db = self.db;
        let stats = &mut self.locked.shard_for(key).stats;
        match found {
            Some(_) => stats.keyspace_hits += 1,
            None => stats.keyspace_misses += 1,
        }
        match found {
            Some(at) => Some(self.entry_at(at)),
            None => {
                self.locked
                    .report(class::KEY_MISS, "keymiss", db, || key.into());
                None
            }
        }
    }

    /// A live entry for a write command deciding what to do: neither a hit, a miss
    /// nor a change.
    pub fn peek(&mut self, key: &[u8]) -> Option<&Entry> {
        let found = self.find(key)?;
        Some(self.entry_at(found))
    }

    /// A live entry, for a command about to change it in place: watchers of the key
    /// see a change. Use [`DbView::peek`] to look before deciding.
    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut Entry> {
        let found = self.find(key)?;
        self.db_mut(key).touch(key);
        self.locked.note_change();
        Some(self.entry_at(found))
    }

    /// Whether a live key exists.
    pub fn exists(&mut self, key: &[u8]) -> bool {
        self.peek(key).is_some()
    }

    /// The type of a live key.
    pub fn type_of(&mut self, key: &[u8]) -> Option<ValueType> {
        self.peek(key).map(|entry| entry.value.value_type())
    }

    /// The deadline of a live key (None if it has none or does not exist).
    pub fn expire_at(&mut self, key: &[u8]) -> Option<u64> {
        self.peek(key).and_then(|entry| entry.expire_at())
    }

    /// Stores a value with a deadline (0 = none), replacing the previous entry.
    ///
    /// # Returns
    /// The live entry it replaced. One already past its deadline is not returned
    /// but counted and reported as expired, exactly as a lookup before the write
    /// would have, so callers need not look the key up first (one probe).
    pub fn insert(&mut self, key: &[u8], value: Value, expire_at: u64) -> Option<Entry> {
        let (db, now) = (self.db, self.now_ms);
        let previous = self.db_mut(key).insert(key, value, expire_at);
        let expired = previous.as_ref().is_some_and(|entry| entry.is_expired(now));
        if expired {
            self.locked.shard_for(key).stats.expired_keys += 1;
            self.locked
                .report(class::EXPIRED, "expired", db, || key.into());
        }
        if previous.is_none() || expired {
            self.locked.report(class::NEW, "new", db, || key.into());
            return None;
        }
        previous
    }

    /// Stores an entry as it is, deadline included; returns what [`DbView::insert`]
    /// returns.
    pub fn insert_entry(&mut self, key: &[u8], entry: Entry) -> Option<Entry> {
        let expire_at = entry.expire_at;
        self.insert(key, entry.value, expire_at)
    }

    /// Removes a live key. Returns its entry.
    pub fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        self.find(key)?;
        self.db_mut(key).remove(key)
    }

    /// Sets (non-zero) or clears (0) a live key's deadline.
    pub fn set_expire(&mut self, key: &[u8], expire_at: u64) -> bool {
        self.find(key).is_some() && self.db_mut(key).set_expire(key, expire_at)
    }

    /// Records a keyspace event of `class` on `key` in this database, if that class
    /// is reported, for work that runs outside a command handler (serving a blocked
    /// client); handlers call [`crate::commands::Ctx::notify`] instead. The events
    /// are published, in order, once the work is done.
    pub fn report(&mut self, class: u32, event: &'static str, key: &[u8]) {
        let db = self.db;
        self.locked.report(class, event, db, || key.into());
    }

    /// Removes `key` if it holds an empty collection; Redis never keeps those.
    pub fn remove_if_empty(&mut self, key: &[u8]) {
        if self
            .peek(key)
            .is_some_and(|entry| entry.value.is_empty_collection())
        {
            self.db_mut(key).remove(key);
        }
    }

    /// The value under `key`, for a read command, if it has type `expected`;
    /// `WrongType` otherwise.
    pub fn typed(
        &mut self,
        key: &[u8],
        expected: ValueType,
    ) -> Result<Option<&Value>, crate::store::StoreError> {
        match self.read(key) {
            None => Ok(None),
            Some(entry) if entry.value.value_type() == expected => Ok(Some(&entry.value)),
            Some(_) => Err(crate::store::StoreError::WrongType),
        }
    }

    /// [`DbView::typed`] for a write command deciding what to do: no statistics, no
    /// `keymiss`.
    pub fn typed_for_write(
        &mut self,
        key: &[u8],
        expected: ValueType,
    ) -> Result<Option<&Value>, crate::store::StoreError> {
        match self.peek(key) {
            None => Ok(None),
            Some(entry) if entry.value.value_type() == expected => Ok(Some(&entry.value)),
            Some(_) => Err(crate::store::StoreError::WrongType),
        }
    }

    /// The value under `key`, created with `create` when missing; `WrongType` if it
    /// has another type.
    pub fn typed_or_insert(
        &mut self,
        key: &[u8],
        expected: ValueType,
        create: impl FnOnce() -> Value,
    ) -> Result<&mut Value, crate::store::StoreError> {
        if self.typed_mut(key, expected)?.is_none() {
            self.insert(key, create(), 0);
        }
        Ok(&mut self.get_mut(key).expect("just inserted").value)
    }

    /// Looks `keys` up in order as a read command does ([`DbView::read`]: lazy
    /// expiry, a hit or a miss, `keymiss`), stopping after the first whose type
    /// `accepts` refuses. Multi-key reads (SINTER, ZUNIONSTORE, ...) call it before
    /// borrowing their inputs together with [`DbView::peek_shared`], which does none
    /// of that, so that their statistics and events are those of Redis's lookups.
    pub fn read_all<'k>(
        &mut self,
        keys: impl IntoIterator<Item = &'k [u8]>,
        accepts: impl Fn(ValueType) -> bool,
    ) {
        for key in keys {
            if self
                .read(key)
                .is_some_and(|entry| !accepts(entry.value.value_type()))
            {
                return;
            }
        }
    }

    /// A live entry, read through a shared borrow without expiring anything, so that
    /// several can be held at once (SINTER, ZUNIONSTORE). An entry past its deadline
    /// reads as missing, as it would after lazy expiry.
    pub fn peek_shared(&self, key: &[u8]) -> Option<&Entry> {
        let shard = self.locked.shard_ref(self.locked.keyspace().shard_of(key));
        shard.dbs[self.db]
            .map
            .get(key)
            .filter(|entry| !entry.is_expired(self.now_ms))
    }

    /// [`peek_shared`](Self::peek_shared), checking the type: `WrongType` if it
    /// differs.
    pub fn peek_shared_typed(
        &self,
        key: &[u8],
        expected: ValueType,
    ) -> Result<Option<&Value>, crate::store::StoreError> {
        match self.peek_shared(key) {
            None => Ok(None),
            Some(entry) if entry.value.value_type() == expected => Ok(Some(&entry.value)),
            Some(_) => Err(crate::store::StoreError::WrongType),
        }
    }

    /// The value under `key`, to change in place, if it has type `expected`;
    /// `WrongType` otherwise (and then nothing counts as changed).
    pub fn typed_mut(
        &mut self,
        key: &[u8],
        expected: ValueType,
    ) -> Result<Option<&mut Value>, crate::store::StoreError> {
        let Some(found) = self.find(key) else {
            return Ok(None);
        };
        if self.entry_at(found).value.value_type() != expected {
            return Err(crate::store::StoreError::WrongType);
        }
        self.db_mut(key).touch(key);
        self.locked.note_change();
        Ok(Some(&mut self.entry_at(found).value))
    }

    /// Changes the value under `key` in place when `change` may turn out to change
    /// nothing (SETBIT of a bit already set, BITFIELD writing what is there):
    /// `change` gets the value and answers its result and whether it changed
    /// anything, and only then do watchers of the key see a change and the command
    /// count as a write, as Redis signals such commands only when they changed
    /// something.
    ///
    /// # Returns
    /// `None` when the key is missing; `WrongType` (with `change` not called) when
    /// it holds another type than `expected`.
    pub fn change_in_place<R>(
        &mut self,
        key: &[u8],
        expected: ValueType,
        change: impl FnOnce(&mut Value) -> (R, bool),
    ) -> Result<Option<R>, crate::store::StoreError> {
        let Some(found) = self.find(key) else {
            return Ok(None);
        };
        let value = &mut self.entry_at(found).value;
        if value.value_type() != expected {
            return Err(crate::store::StoreError::WrongType);
        }
        let (result, changed) = change(value);
        if changed {
            self.db_mut(key).touch(key);
        }
        Ok(Some(result))
    }

    /// Replaces whatever `key` holds with a computed collection of `len` elements
    /// (the *STORE commands), or deletes it when the collection is empty. The new
    /// key has no deadline; replacing a live key does not make it `new`.
    ///
    /// # Returns
    /// The live entry `key` held before, if any.
    pub fn store_collection(&mut self, key: &[u8], value: Value, len: usize) -> Option<Entry> {
        if len > 0 {
            self.insert(key, value, 0)
        } else {
            self.remove(key)
        }
    }

    /// The database slice of `key`'s shard, for direct changes (counted as a change).
    pub fn db_mut(&mut self, key: &[u8]) -> &mut Db {
        let db = self.db;
        self.locked.changes += 1;
        &mut self.locked.shard_for(key).dbs[db]
    }

    /// Total keys in this database (requires every shard to be locked).
    pub fn len(&mut self) -> usize {
        let db = self.db;
        self.locked
            .shards_ref()
            .map(|(_, shard)| shard.dbs[db].len())
            .sum()
    }

    pub fn is_empty(&mut self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(value: &[u8]) -> Value {
        Value::Str(value.into())
    }

    #[test]
    fn lazy_expiry_counts_and_removes() {
        let mut db = Db::default();
        let mut stats = ShardStats::default();
        db.insert(b"k", text(b"v"), 1000);
        assert_eq!(db.expiring(), 1);
        assert!(db.lookup(b"k", 999, &mut stats).is_some());
        // Alive during the deadline's own millisecond, as in Redis.
        assert!(db.lookup(b"k", 1000, &mut stats).is_some());
        assert_eq!(stats.expired_keys, 0);
        assert!(db.lookup(b"k", 1001, &mut stats).is_none());
        assert_eq!(stats.expired_keys, 1);
        assert_eq!((db.len(), db.expiring()), (0, 0));
    }

    #[test]
    fn overwriting_an_expired_key_counts_it_as_expired() {
        let keyspace = crate::store::Keyspace::new(1);
        keyspace.set_notify_flags(class::ALL | class::NEW | class::KEYEVENT);
        let mut locked = keyspace.lock_all();
        locked.db(0, 0).insert(b"k", text(b"old"), 1000);
        let mut view = locked.db(0, 500);
        assert!(view.insert(b"k", text(b"live"), 1000).is_some());
        let mut view = locked.db(0, 2000);
        assert!(view.insert(b"k", text(b"new"), 0).is_none());
        let expired: u64 = locked.shards().map(|(_, s)| s.stats.expired_keys).sum();
        assert_eq!(expired, 1);
        assert_eq!(locked.db(0, 2000).len(), 1);
        // As Redis 7.0.15 reports a SET over a key past its deadline (checked with
        // notify-keyspace-events KEAn): `new` for the first write, then `expired`
        // and `new` again for the overwrite; no event for the live replacement.
        let events: Vec<&str> = locked.take_events().iter().map(|e| e.event).collect();
        assert_eq!(events, ["new", "expired", "new"]);
    }

    #[test]
    fn suspended_expiry_hides_expired_keys_without_removing_them() {
        let keyspace = crate::store::Keyspace::new(1);
        keyspace.set_notify_flags(class::ALL | class::KEYEVENT);
        keyspace.lock_all().db(0, 0).insert(b"k", text(b"v"), 1000);
        keyspace.suspend_expiry_until(5000);
        let mut locked = keyspace.lock_all();
        let mut view = locked.db(0, 2000);
        assert!(view.read(b"k").is_none());
        assert!(!view.exists(b"k"));
        assert!(view.remove(b"k").is_none());
        // Still stored (DBSIZE counts it, as Redis's does during a pause), not
        // counted as expired and not announced.
        assert_eq!(view.len(), 1);
        let expired: u64 = locked.shards().map(|(_, s)| s.stats.expired_keys).sum();
        assert_eq!(expired, 0);
        assert!(locked.take_events().iter().all(|e| e.event != "expired"));
        // Once the suspension is over, the next lookup expires it.
        let mut view = locked.db(0, 5000);
        assert!(view.read(b"k").is_none());
        assert_eq!(view.len(), 0);
        let expired: u64 = locked.shards().map(|(_, s)| s.stats.expired_keys).sum();
        assert_eq!(expired, 1);
    }

    #[test]
    fn replacing_keeps_the_expiring_count_right() {
        let mut db = Db::default();
        db.insert(b"k", text(b"v"), 5);
        db.insert(b"k", text(b"w"), 0);
        assert_eq!(db.expiring(), 0);
        assert!(db.set_expire(b"k", 9));
        assert_eq!(db.expiring(), 1);
        assert!(db.set_expire(b"k", 0));
        assert_eq!(db.expiring(), 0);
        assert!(!db.set_expire(b"missing", 9));
    }

    #[test]
    fn sweep_reclaims_every_expired_key() {
        let mut db = Db::default();
        for i in 0..1000u32 {
            let deadline = if i % 2 == 0 { 10 } else { 0 };
            db.insert(&i.to_be_bytes(), text(b"v"), deadline);
        }
        let mut total = 0;
        for _ in 0..20 {
            total += db.sweep(100, 100).1;
        }
        assert_eq!(total, 500);
        assert_eq!((db.len(), db.expiring()), (500, 0));
    }

    use crate::store::Keyspace;
    use crate::store::watch::WatchFlag;

    /// Watches `key` in database 0 of `keyspace` at time `now`.
    fn watch(keyspace: &Keyspace, key: &[u8], now: u64) -> WatchFlag {
        let flag = WatchFlag::default();
        keyspace.lock_all().shard_for(key).dbs[0].watch(key, &flag, now);
        flag
    }

    #[test]
    fn reads_never_fire_a_watch_and_writes_always_do() {
        let keyspace = Keyspace::new(2);
        let mut locked = keyspace.lock_all();
        locked.db(0, 0).insert(b"k", text(b"v"), 0);
        drop(locked);
        let flag = watch(&keyspace, b"k", 0);
        let mut locked = keyspace.lock_all();
        let mut db = locked.db(0, 0);
        assert!(db.read(b"k").is_some());
        assert!(db.peek(b"k").is_some());
        assert!(db.exists(b"k"));
        assert_eq!(db.type_of(b"k"), Some(ValueType::String));
        assert!(db.typed(b"k", ValueType::List).is_err());
        assert!(db.typed_mut(b"k", ValueType::List).is_err());
        db.remove_if_empty(b"k");
        assert!(!db.set_expire(b"other", 5));
        assert!(db.remove(b"missing").is_none());
        assert!(!flag.is_raised(), "a read or a no-op fired the watch");
        assert!(db.get_mut(b"k").is_some());
        assert!(flag.is_raised());
        // The same key in another database is another key.
        drop(locked);
        let other = watch(&keyspace, b"k", 0);
        keyspace.lock_all().db(1, 0).insert(b"k", text(b"x"), 0);
        assert!(!other.is_raised());
        for write in [
            |db: &mut DbView| assert!(db.insert(b"k", text(b"w"), 0).is_some()),
            |db: &mut DbView| assert!(db.set_expire(b"k", 50)),
            |db: &mut DbView| assert!(db.remove(b"k").is_some()),
        ] {
            keyspace.lock_all().db(0, 0).insert(b"k", text(b"v"), 0);
            let flag = watch(&keyspace, b"k", 0);
            write(&mut keyspace.lock_all().db(0, 0));
            assert!(flag.is_raised());
        }
    }

    #[test]
    fn expiry_fires_a_watch_but_not_for_a_key_already_expired() {
        let keyspace = Keyspace::new(1);
        keyspace
            .lock_all()
            .db(0, 0)
            .insert(b"live", text(b"v"), 100);
        keyspace
            .lock_all()
            .db(0, 0)
            .insert(b"stale", text(b"v"), 100);
        let live = watch(&keyspace, b"live", 50);
        let stale = watch(&keyspace, b"stale", 150);
        let mut locked = keyspace.lock_all();
        let slice = &locked.shard_for(b"live").dbs[0];
        assert!(slice.watched_key_expired(b"live", &live, 150));
        let slice = &locked.shard_for(b"stale").dbs[0];
        assert!(!slice.watched_key_expired(b"stale", &stale, 150));
        assert!(locked.db(0, 150).read(b"live").is_none());
        assert!(locked.db(0, 150).read(b"stale").is_none());
        assert!(live.is_raised());
        assert!(!stale.is_raised());
        // Recreating the stale key is a change.
        locked.db(0, 150).insert(b"stale", text(b"new"), 0);
        assert!(stale.is_raised());
    }

    #[test]
    fn active_expiry_and_flush_fire_watches() {
        let keyspace = Keyspace::new(1);
        keyspace.lock_all().db(0, 0).insert(b"t", text(b"v"), 10);
        keyspace.lock_all().db(0, 0).insert(b"f", text(b"v"), 0);
        let (t, f, absent) = (
            watch(&keyspace, b"t", 0),
            watch(&keyspace, b"f", 0),
            watch(&keyspace, b"absent", 0),
        );
        assert_eq!(crate::store::expire::sweep_step(&keyspace, 20), 1);
        assert!(t.is_raised());
        for (_, shard) in keyspace.lock_all().shards() {
            shard.dbs[0].clear();
        }
        assert!(f.is_raised());
        assert!(!absent.is_raised());
    }

    #[test]
    fn swap_moves_keys_and_leaves_watches() {
        let keyspace = Keyspace::new(2);
        keyspace.lock_all().db(1, 0).insert(b"k", text(b"one"), 0);
        let flag = watch(&keyspace, b"k", 0);
        let mut locked = keyspace.lock_all();
        let (left, right) = locked.shard_for(b"k").dbs.split_at_mut(1);
        left[0].swap_keys(&mut right[0], 0);
        assert!(flag.is_raised());
        assert!(locked.db(0, 0).exists(b"k"));
        assert!(!locked.db(1, 0).exists(b"k"));
    }

    #[test]
    fn the_store_reports_expired_new_and_missed_keys_when_asked() {
        use crate::pubsub::notify::class;
        let keyspace = Keyspace::new(1);
        let mut locked = keyspace.lock_all();
        locked.db(0, 0).insert(b"quiet", text(b"v"), 0);
        assert!(locked.take_events().is_empty());
        drop(locked);
        keyspace.set_notify_flags(class::NEW | class::EXPIRED | class::KEY_MISS);
        let mut locked = keyspace.lock_all();
        let mut db = locked.db(0, 0);
        db.insert(b"k", text(b"v"), 10);
        db.insert(b"k", text(b"w"), 10);
        assert!(db.read(b"nope").is_none());
        assert!(db.peek(b"nope2").is_none());
        locked.db(0, 20).insert(b"k", text(b"x"), 0);
        let events: Vec<_> = locked
            .take_events()
            .into_iter()
            .map(|e| (e.event, String::from_utf8(e.key.into()).unwrap()))
            .collect();
        let expected = [
            ("new", "k"),
            ("keymiss", "nope"),
            ("expired", "k"),
            ("new", "k"),
        ];
        assert_eq!(
            events,
            expected.map(|(event, key)| (event, key.to_string()))
        );
    }

    #[test]
    fn scan_returns_every_stable_key_despite_removals() {
        let mut db = Db::default();
        for i in 0..100u32 {
            db.insert(&i.to_be_bytes(), text(b"v"), 0);
        }
        let mut seen = std::collections::HashSet::new();
        let mut position = None;
        let mut step = 0u32;
        loop {
            let mut batch = Vec::new();
            position = db.scan(position, 7, 0, |key, _| batch.push(key.to_vec()));
            seen.extend(batch);
            // Remove a key that is either odd (churn) and add a new one each round.
            db.remove(&(step * 2 + 1).to_be_bytes());
            db.insert(&(1000 + step).to_be_bytes(), text(b"n"), 0);
            step += 1;
            if position.is_none() {
                break;
            }
        }
        for i in (0..100u32).filter(|i| i % 2 == 0) {
            assert!(seen.contains(i.to_be_bytes().as_slice()), "missed {i}");
        }
    }
}
