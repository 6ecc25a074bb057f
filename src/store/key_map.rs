//! The map from keys to entries inside one database slice ([`KeyMap`]).
//!
//! Entries sit in one dense vector, in insertion order, and a hash index maps each
//! key to its position. Positions give `RANDOMKEY`, the background expiry sweep and
//! `SCAN` their O(1) access by number (see [`crate::store::db`] for the cursor
//! guarantee). Removal moves the last entry into the hole.
//!
//! # Why not a general-purpose map
//! Per key this costs a 32-byte slot (thin key, value, deadline) plus a 4-byte
//! position in the index: it stores no hash (the index is rebuilt from the keys when
//! it grows, as Redis rehashes) and positions are `u32`. With millions of small
//! keys that is the difference between using more memory than Redis and less.

use std::hash::BuildHasher;

use hashbrown::HashTable;
use hashbrown::hash_table::Entry as IndexEntry;

use crate::store::db::Entry;
use crate::store::thin_bytes::ThinBytes;
use crate::store::value::FastHasher;

/// What each key costs in the map itself: its slot (thin key, value, deadline) and
/// its position in the index with the index's control byte. The spare capacity
/// both keep for growth is not counted.
pub const BYTES_PER_KEY: usize = std::mem::size_of::<Slot>() + std::mem::size_of::<u32>() + 1;

/// Below this many slots a map is not worth shrinking.
const MIN_SHRINK_CAPACITY: usize = 128;

struct Slot {
    key: ThinBytes,
    entry: Entry,
}

/// Keys and their entries, addressable by key and by position.
#[derive(Default)]
pub struct KeyMap {
    slots: Vec<Slot>,
    /// Positions in `slots`, hashed by their key.
    index: HashTable<u32>,
    hasher: FastHasher,
}

impl KeyMap {
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    #[inline]
    fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    /// The position of `key`.
    #[inline]
    pub fn position(&self, key: &[u8]) -> Option<usize> {
        let slots = &self.slots;
        self.index
            .find(self.hash(key), |&at| &slots[at as usize].key[..] == key)
            .map(|&at| at as usize)
    }

    pub fn get(&self, key: &[u8]) -> Option<&Entry> {
        self.position(key).map(|at| &self.slots[at].entry)
    }

    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut Entry> {
        self.position(key).map(|at| &mut self.slots[at].entry)
    }

    pub fn contains_key(&self, key: &[u8]) -> bool {
        self.position(key).is_some()
    }

    /// The entry at a position below [`KeyMap::len`].
    pub fn entry_at(&self, at: usize) -> &Entry {
        &self.slots[at].entry
    }

    pub fn entry_at_mut(&mut self, at: usize) -> &mut Entry {
        &mut self.slots[at].entry
    }

    /// The key and entry at a position, if it is below [`KeyMap::len`].
    pub fn get_at(&self, at: usize) -> Option<(&[u8], &Entry)> {
        self.slots.get(at).map(|slot| (&slot.key[..], &slot.entry))
    }

    /// Stores `entry` under `key` with one hash and one probe; the key is copied
    /// only when it is new.
    ///
    /// # Returns
    /// The entry it replaced.
    pub fn insert(&mut self, key: &[u8], entry: Entry) -> Option<Entry> {
        let hash = self.hash(key);
        let (slots, hasher) = (&self.slots, &self.hasher);
        let found = self.index.entry(
            hash,
            |&at| &slots[at as usize].key[..] == key,
            |&at| hasher.hash_one(&slots[at as usize].key[..]),
        );
        match found {
            IndexEntry::Occupied(occupied) => {
                let at = *occupied.get() as usize;
                Some(std::mem::replace(&mut self.slots[at].entry, entry))
            }
            IndexEntry::Vacant(vacant) => {
                let at = u32::try_from(self.slots.len())
                    .expect("a database slice holds fewer than 2^32 keys");
                vacant.insert(at);
                self.slots.push(Slot {
                    key: ThinBytes::new(key),
                    entry,
                });
                None
            }
        }
    }

    /// Removes the entry at a position below [`KeyMap::len`]; the last entry takes
    /// its place.
    pub fn swap_remove_at(&mut self, at: usize) -> (ThinBytes, Entry) {
        let last = self.slots.len() - 1;
        let hash = self.hash(&self.slots[at].key);
        match self.index.find_entry(hash, |&p| p as usize == at) {
            Ok(found) => {
                found.remove();
            }
            Err(_) => unreachable!("every slot is indexed"),
        }
        if at != last {
            let hash = self.hash(&self.slots[last].key);
            let moved = self
                .index
                .find_mut(hash, |&p| p as usize == last)
                .expect("every slot is indexed");
            *moved = at as u32;
        }
        let slot = self.slots.swap_remove(at);
        (slot.key, slot.entry)
    }

    /// Gives memory back once at most an eighth of the slots are in use, as Redis
    /// shrinks a dict below 10 % fill: a queue's result keys expire in bulk, and the
    /// table they grew should not stay at its peak. Positions do not change.
    ///
    /// # Returns
    /// Whether it shrank.
    pub fn shrink_if_sparse(&mut self) -> bool {
        let capacity = self.slots.capacity();
        if capacity < MIN_SHRINK_CAPACITY || self.slots.len() > capacity / 8 {
            return false;
        }
        let keep = (self.slots.len() * 2).max(MIN_SHRINK_CAPACITY / 2);
        self.slots.shrink_to(keep);
        let (slots, hasher) = (&self.slots, &self.hasher);
        self.index
            .shrink_to(keep, |&at| hasher.hash_one(&slots[at as usize].key[..]));
        true
    }

    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &Entry)> {
        self.slots.iter().map(|slot| (&slot.key[..], &slot.entry))
    }

    /// Heap bytes held by the slots and the index (not the keys' and values' own
    /// allocations).
    pub fn table_bytes(&self) -> usize {
        self.slots.capacity() * std::mem::size_of::<Slot>()
            + self.index.capacity() * (std::mem::size_of::<u32>() + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Value;

    fn entry(text: &str) -> Entry {
        Entry::new(Value::Str(text.as_bytes().into()))
    }

    fn text(entry: &Entry) -> &[u8] {
        match &entry.value {
            Value::Str(bytes) => bytes,
            _ => panic!("not a string"),
        }
    }

    #[test]
    fn slots_stay_small() {
        assert_eq!(std::mem::size_of::<Slot>(), 32);
    }

    #[test]
    fn inserts_replaces_and_finds_by_key_and_position() {
        let mut map = KeyMap::default();
        assert!(map.insert(b"a", entry("1")).is_none());
        assert!(map.insert(b"b", entry("2")).is_none());
        let old = map.insert(b"a", entry("3")).expect("a was there");
        assert_eq!(text(&old), b"1");
        assert_eq!(map.len(), 2);
        assert_eq!(text(map.get(b"a").unwrap()), b"3");
        assert_eq!(map.position(b"b"), Some(1));
        assert_eq!(map.get_at(1).map(|(k, _)| k), Some(&b"b"[..]));
        assert!(map.get_at(2).is_none());
        assert!(!map.contains_key(b"c"));
    }

    #[test]
    fn swap_remove_keeps_every_other_key_reachable() {
        let mut map = KeyMap::default();
        let keys: Vec<Vec<u8>> = (0..1000).map(|i| format!("k{i}").into_bytes()).collect();
        for key in &keys {
            map.insert(key, entry("v"));
        }
        // Remove from the front, the middle and the end, checking after each.
        let mut left: std::collections::HashSet<Vec<u8>> = keys.iter().cloned().collect();
        for victim in [0usize, 500, 998, 3, 7] {
            let at = map.position(&keys[victim]).unwrap();
            let (key, _) = map.swap_remove_at(at);
            assert_eq!(&key[..], &keys[victim][..]);
            left.remove(&keys[victim]);
        }
        assert_eq!(map.len(), left.len());
        for key in &keys {
            assert_eq!(map.contains_key(key), left.contains(key));
        }
        for at in 0..map.len() {
            let (key, _) = map.get_at(at).unwrap();
            assert_eq!(map.position(key), Some(at));
        }
        let last = map.len() - 1;
        map.swap_remove_at(last);
        assert_eq!(map.len(), left.len() - 1);
    }

    #[test]
    fn shrinks_when_sparse_and_keeps_every_position() {
        let mut map = KeyMap::default();
        for i in 0..10_000 {
            map.insert(format!("k{i}").as_bytes(), entry("v"));
        }
        assert!(!map.shrink_if_sparse(), "a full map keeps its capacity");
        let peak = map.table_bytes();
        while map.len() > 100 {
            map.swap_remove_at(0);
        }
        let positions: Vec<(Vec<u8>, usize)> = (0..map.len())
            .map(|at| (map.get_at(at).unwrap().0.to_vec(), at))
            .collect();
        assert!(map.shrink_if_sparse());
        assert!(
            map.table_bytes() * 10 < peak,
            "{} of {peak}",
            map.table_bytes()
        );
        for (key, at) in &positions {
            assert_eq!(map.position(key), Some(*at));
        }
        assert!(!map.shrink_if_sparse(), "once is enough");
        map.insert(b"new", entry("n"));
        assert_eq!(map.position(b"new"), Some(100));
    }

    #[test]
    fn binary_keys_are_distinct() {
        let mut map = KeyMap::default();
        map.insert(b"q\x06\x163", entry("x"));
        map.insert(b"q", entry("y"));
        assert_eq!(text(map.get(b"q\x06\x163").unwrap()), b"x");
        assert_eq!(text(map.get(b"q").unwrap()), b"y");
        assert!(map.get(b"q\x06").is_none());
    }
}
