//! One database's slice of one shard ([`Db`]), and the view a command works through
//! ([`DbView`]), which routes each key to its shard and applies expiry.
//!
//! # Expiry
//! An entry carries its deadline in Unix milliseconds. Reads and writes expire a key
//! lazily the moment it is touched past its deadline; [`crate::store::expire`] sweeps
//! the rest in the background, so memory comes back even for keys nobody reads.
//!
//! # Why an insertion-ordered map
//! Keys live in an `IndexMap`: O(1) access by position gives `RANDOMKEY`, a
//! deterministic background sweep and a `SCAN` cursor with Redis's guarantee. The
//! cursor walks positions downwards; removal moves only the last entry (already
//! visited) into the hole, and insertions land at the end, so every key present for
//! the whole scan is returned at least once.

use indexmap::IndexMap;

use crate::store::value::{FastHasher, Value, ValueType};
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

    fn is_expired(&self, now_ms: u64) -> bool {
        self.expire_at != 0 && self.expire_at <= now_ms
    }
}

/// One database's keys within one shard.
#[derive(Default)]
pub struct Db {
    map: IndexMap<Box<[u8]>, Entry, FastHasher>,
    /// How many entries have a deadline (`INFO keyspace` `expires=`).
    expiring: usize,
    /// Where the background sweep resumes (a position, walked downwards).
    sweep_cursor: usize,
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
        let index = self.map.get_index_of(key)?;
        if self.map[index].is_expired(now_ms) {
            self.remove_index(index);
            stats.expired_keys += 1;
            return None;
        }
        Some(&mut self.map[index])
    }

    /// Stores `value` under `key` with the given deadline (0 = none), replacing any
    /// previous entry. Returns the previous entry.
    pub fn insert(&mut self, key: &[u8], value: Value, expire_at: u64) -> Option<Entry> {
        let entry = Entry { value, expire_at };
        self.expiring += usize::from(expire_at != 0);
        let previous = match self.map.get_index_of(key) {
            Some(index) => Some(std::mem::replace(&mut self.map[index], entry)),
            None => {
                self.map.insert(key.into(), entry);
                None
            }
        };
        if let Some(old) = &previous {
            self.expiring -= usize::from(old.expire_at != 0);
        }
        previous
    }

    /// Inserts an entry as it is (deadline included); used by MOVE, COPY and SWAPDB.
    pub fn insert_entry(&mut self, key: &[u8], entry: Entry) -> Option<Entry> {
        let expire_at = entry.expire_at;
        self.insert(key, entry.value, expire_at)
    }

    pub fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        let index = self.map.get_index_of(key)?;
        Some(self.remove_index(index))
    }

    fn remove_index(&mut self, index: usize) -> Entry {
        let (_, entry) = self
            .map
            .swap_remove_index(index)
            .expect("index comes from a lookup");
        self.expiring -= usize::from(entry.expire_at != 0);
        entry
    }

    /// Sets (non-zero) or clears (0) the deadline of an existing key.
    pub fn set_expire(&mut self, key: &[u8], expire_at: u64) -> bool {
        let Some(entry) = self.map.get_mut(key) else {
            return false;
        };
        let had = entry.expire_at != 0;
        entry.expire_at = expire_at;
        self.expiring = self.expiring + usize::from(expire_at != 0) - usize::from(had);
        true
    }

    pub fn clear(&mut self) {
        self.map = IndexMap::default();
        self.expiring = 0;
        self.sweep_cursor = 0;
    }

    /// Examines up to `budget` entries from where the last sweep stopped and removes
    /// those past their deadline.
    ///
    /// # Returns
    /// (entries examined, keys expired).
    pub fn sweep(&mut self, now_ms: u64, budget: usize) -> (usize, u64) {
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
            if self.map[self.sweep_cursor].is_expired(now_ms) {
                self.remove_index(self.sweep_cursor);
                expired += 1;
            }
        }
        (examined, expired)
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
        let mut next = position.unwrap_or(usize::MAX).min(self.map.len());
        let mut visited = 0;
        while next > 0 && visited < count {
            next -= 1;
            visited += 1;
            let (key, entry) = self.map.get_index(next).expect("position is below len");
            if !entry.is_expired(now_ms) {
                visit(key, entry);
            }
        }
        (next > 0).then_some(next)
    }

    /// Every live key, for `KEYS`.
    pub fn keys(&self, now_ms: u64) -> impl Iterator<Item = (&[u8], &Entry)> {
        self.map
            .iter()
            .filter(move |(_, entry)| !entry.is_expired(now_ms))
            .map(|(key, entry)| (&key[..], entry))
    }

    /// The key at a position, for `RANDOMKEY`.
    pub fn key_at(&self, index: usize) -> Option<(&[u8], &Entry)> {
        self.map.get_index(index).map(|(k, e)| (&k[..], e))
    }

    /// Approximate heap bytes held by the map itself (not the values).
    pub fn table_bytes(&self) -> usize {
        self.map.capacity()
            * (std::mem::size_of::<(Box<[u8]>, Entry)>() + 2 * std::mem::size_of::<usize>())
    }
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

    /// The live entry under `key`, without statistics or change counting.
    fn live(&mut self, key: &[u8]) -> Option<&mut Entry> {
        let (db, now) = (self.db, self.now_ms);
        let shard = self.locked.shard_for(key);
        shard.dbs[db].lookup(key, now, &mut shard.stats)
    }

    /// A live entry, mutable; counts a keyspace hit or miss as Redis does, and counts
    /// as a change when found (the caller may modify it).
    pub fn read(&mut self, key: &[u8]) -> Option<&mut Entry> {
        let (db, now) = (self.db, self.now_ms);
        let (Shard { dbs, stats, .. }, changes) = self.locked.shard_and_changes(key);
        let found = dbs[db].lookup(key, now, stats);
        match found {
            Some(_) => {
                stats.keyspace_hits += 1;
                *changes += 1;
            }
            None => stats.keyspace_misses += 1,
        }
        found
    }

    /// A live entry, read-only; counts a keyspace hit or miss. Never a change.
    pub fn peek(&mut self, key: &[u8]) -> Option<&Entry> {
        let (db, now) = (self.db, self.now_ms);
        let Shard { dbs, stats, .. } = self.locked.shard_for(key);
        let found = dbs[db].lookup(key, now, stats);
        match found {
            Some(_) => stats.keyspace_hits += 1,
            None => stats.keyspace_misses += 1,
        }
        found.map(|entry| &*entry)
    }

    /// A live entry, for a command about to change it (not counted as a hit or miss;
    /// counted as a change when found).
    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut Entry> {
        let (db, now) = (self.db, self.now_ms);
        let (shard, changes) = self.locked.shard_and_changes(key);
        let found = shard.dbs[db].lookup(key, now, &mut shard.stats);
        if found.is_some() {
            *changes += 1;
        }
        found
    }

    /// Whether a live key exists.
    pub fn exists(&mut self, key: &[u8]) -> bool {
        self.live(key).is_some()
    }

    /// The type of a live key.
    pub fn type_of(&mut self, key: &[u8]) -> Option<ValueType> {
        self.live(key).map(|entry| entry.value.value_type())
    }

    /// The deadline of a live key (None if it has none or does not exist).
    pub fn expire_at(&mut self, key: &[u8]) -> Option<u64> {
        self.live(key).and_then(|entry| entry.expire_at())
    }

    /// Stores a value with a deadline (0 = none), replacing the previous entry.
    pub fn insert(&mut self, key: &[u8], value: Value, expire_at: u64) -> Option<Entry> {
        self.db_mut(key).insert(key, value, expire_at)
    }

    /// Stores an entry as it is, deadline included.
    pub fn insert_entry(&mut self, key: &[u8], entry: Entry) -> Option<Entry> {
        self.db_mut(key).insert_entry(key, entry)
    }

    /// Removes a live key. Returns its entry.
    pub fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        self.live(key)?;
        self.db_mut(key).remove(key)
    }

    /// Sets (non-zero) or clears (0) a live key's deadline.
    pub fn set_expire(&mut self, key: &[u8], expire_at: u64) -> bool {
        self.live(key).is_some() && self.db_mut(key).set_expire(key, expire_at)
    }

    /// Removes `key` if it holds an empty collection; Redis never keeps those.
    pub fn remove_if_empty(&mut self, key: &[u8]) {
        if self
            .live(key)
            .is_some_and(|entry| entry.value.is_empty_collection())
        {
            self.db_mut(key).remove(key);
        }
    }

    /// The value under `key` if it has type `expected`; `WrongType` otherwise.
    pub fn typed(
        &mut self,
        key: &[u8],
        expected: ValueType,
    ) -> Result<Option<&mut Value>, crate::store::StoreError> {
        match self.read(key) {
            None => Ok(None),
            Some(entry) if entry.value.value_type() == expected => Ok(Some(&mut entry.value)),
            Some(_) => Err(crate::store::StoreError::WrongType),
        }
    }

    /// Like [`DbView::typed`], read-only: never counts as a change.
    pub fn typed_ref(
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
        assert!(db.lookup(b"k", 1000, &mut stats).is_none());
        assert_eq!(stats.expired_keys, 1);
        assert_eq!((db.len(), db.expiring()), (0, 0));
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
