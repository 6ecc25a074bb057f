//! What a key costs in memory: the estimate behind `MEMORY USAGE`.
//!
//! The figure is the bytes broker-server's own structures take for the key, each
//! allocation rounded to the jemalloc size class it is served from
//! ([`size_class`]):
//!
//! * the key's share of its database map ([`BYTES_PER_KEY`]: the 32-byte slot
//!   holding the thin key pointer, the value and the deadline, and the index entry);
//! * the key's bytes, in one length-prefixed allocation ([`ThinBytes`]);
//! * the value: a string's own length-prefixed allocation (nothing more: it sits in
//!   the slot); for a collection, the boxed collection, its tables (hash and set
//!   index and entry vectors, list chunk headers, sorted-set slab, hash table and
//!   tree), and its elements' allocations.
//!
//! As in Redis, the elements of a big collection are sampled: the first `samples`
//! hash fields or set members are measured and the others assumed to cost as much
//! on average; for a list, its two end chunks (which may carry room to grow) and
//! `samples` chunks after the head. Sorted sets keep a running total of their
//! members' allocations, so their figure is exact without sampling. What is not
//! counted: spare capacity the database map keeps for growth, and the allocator's
//! own bookkeeping. A key past its deadline that has not been removed yet reads as
//! missing.

use std::mem::size_of;

use crate::store::key_map::BYTES_PER_KEY;
use crate::store::thin_bytes::ThinBytes;
use crate::store::value::{Hash, List, Set, Value, ZSet};
use crate::util::alloc::size_class;

/// How many elements `MEMORY USAGE` measures when not told (Redis's default).
pub const DEFAULT_SAMPLES: usize = 5;

/// The bytes `key` holding `value` costs, measuring at most `samples` elements of a
/// collection (`usize::MAX` for all of them).
pub fn key_usage(key: &[u8], value: &Value, samples: usize) -> usize {
    BYTES_PER_KEY + size_class(ThinBytes::allocation_len(key.len())) + value_usage(value, samples)
}

/// The bytes a value's own allocations take (its place in the slot is the key's).
pub fn value_usage(value: &Value, samples: usize) -> usize {
    match value {
        Value::Str(bytes) => size_class(ThinBytes::allocation_len(bytes.len())),
        Value::List(list) => size_class(size_of::<List>()) + list.allocated_bytes(samples),
        Value::Hash(hash) => {
            let elements = hash
                .iter()
                .map(|(field, value)| size_class(field.len()) + size_class(value.len()));
            size_class(size_of::<Hash>())
                + index_table_bytes(hash.capacity())
                + entries_bytes(hash.capacity(), HASH_ENTRY)
                + sampled(elements, hash.len(), samples)
        }
        Value::Set(set) => {
            let elements = set.iter().map(|member| size_class(member.len()));
            size_class(size_of::<Set>())
                + index_table_bytes(set.capacity())
                + entries_bytes(set.capacity(), SET_ENTRY)
                + sampled(elements, set.len(), samples)
        }
        Value::ZSet(zset) => size_class(size_of::<ZSet>()) + zset.heap_bytes(),
    }
}

/// One entry of a hash's entry vector: the cached hash, the boxed field and value.
const HASH_ENTRY: usize = size_of::<usize>() + 2 * size_of::<Box<[u8]>>();
/// One entry of a set's entry vector: the cached hash and the boxed member.
const SET_ENTRY: usize = size_of::<usize>() + size_of::<Box<[u8]>>();

/// The entry vector of an indexed map or set that can hold `capacity` entries (it
/// reserves as many as its index table can hold).
fn entries_bytes(capacity: usize, entry: usize) -> usize {
    size_class(capacity * entry)
}

/// The index table of an indexed map or set that can hold `capacity` entries: one
/// `usize` position and one control byte per bucket, plus a group of trailing
/// control bytes. Tables keep an eighth of their buckets empty (one bucket, below
/// eight).
fn index_table_bytes(capacity: usize) -> usize {
    /// Control bytes are read in groups of this many (SSE2).
    const GROUP: usize = 16;
    if capacity == 0 {
        return 0;
    }
    let buckets = if capacity < 8 {
        capacity + 1
    } else {
        capacity / 7 * 8
    };
    let positions = (buckets * size_of::<usize>()).next_multiple_of(GROUP);
    size_class(positions + buckets + GROUP)
}

/// The total of `len` elements' costs, from the first `samples` of `costs`.
fn sampled(costs: impl Iterator<Item = usize>, len: usize, samples: usize) -> usize {
    let (mut total, mut measured) = (0usize, 0usize);
    for cost in costs.take(samples.max(1)) {
        total += cost;
        measured += 1;
    }
    if measured == 0 || measured == len {
        return total;
    }
    (total as f64 / measured as f64 * len as f64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::value::FastHasher;

    /// Bytes this thread has allocated and not freed (jemalloc counts size classes).
    fn net_allocated() -> i64 {
        use tikv_jemalloc_ctl::thread::{allocatedp, deallocatedp};
        let allocated = allocatedp::read().expect("thread.allocatedp").get();
        let freed = deallocatedp::read().expect("thread.deallocatedp").get();
        allocated as i64 - freed as i64
    }

    /// What building `value` left allocated on this thread, and the value.
    fn measured(build: impl FnOnce() -> Value) -> (usize, Value) {
        let before = net_allocated();
        let value = build();
        (usize::try_from(net_allocated() - before).unwrap(), value)
    }

    fn bytes(len: usize, seed: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 + seed) as u8).collect()
    }

    #[test]
    fn a_string_costs_its_size_class() {
        for len in [0, 1, 12, 13, 100, 1000, 5000, 100_000] {
            let data = bytes(len, 1);
            let (allocated, value) = measured(|| Value::Str(ThinBytes::new(&data)));
            assert_eq!(value_usage(&value, DEFAULT_SAMPLES), allocated, "{len}");
        }
    }

    #[test]
    fn string_keys_grow_in_size_class_steps() {
        let usage = |len: usize| key_usage(b"k", &Value::Str(ThinBytes::new(&bytes(len, 0))), 5);
        // One byte key (8) and the slot and index (37); the value with its 4-byte
        // prefix: 1004 bytes take jemalloc's 1024 class.
        assert_eq!(usage(1000), 37 + 8 + 1024);
        assert_eq!(usage(1001), usage(1000));
        assert_eq!(usage(1021), usage(1000) + 256, "next class: 1280");
        let mut last = usage(0);
        for len in 1..5000 {
            let now = usage(len);
            assert!(
                now >= last && now - last <= len / 4 + 16,
                "{len}: {last} -> {now}"
            );
            last = now;
        }
    }

    #[test]
    fn a_list_costs_what_it_allocated() {
        for count in [1, 10, 1000, 20_000] {
            let item = bytes(100, 3);
            let (allocated, value) = measured(|| {
                let mut list = Box::new(List::new());
                for _ in 0..count {
                    list.push_front(&item);
                }
                Value::List(list)
            });
            let exact = value_usage(&value, usize::MAX);
            assert_eq!(exact, allocated, "{count} elements");
            // Sampling five chunks is close for elements of one size.
            let sampled = value_usage(&value, DEFAULT_SAMPLES) as f64;
            assert!(
                (sampled / exact as f64 - 1.0).abs() < 0.05,
                "{sampled} vs {exact}"
            );
        }
    }

    #[test]
    fn a_list_grows_with_its_elements() {
        let mut list = List::new();
        let mut last = 0;
        for round in 1..=50 {
            for _ in 0..100 {
                list.push_back(&bytes(50, round));
            }
            let now = value_usage(&Value::List(Box::new(list.clone())), DEFAULT_SAMPLES);
            // Each element is 52 bytes encoded; chunks grow ahead of their contents.
            let encoded = round * 100 * 52;
            assert!(now >= last, "round {round}: {last} -> {now}");
            assert!(
                (encoded..encoded * 3 / 2 + 1024).contains(&now),
                "round {round}: {now}"
            );
            last = now;
        }
    }

    #[test]
    fn hashes_and_sets_cost_what_they_allocated() {
        for count in [1, 7, 8, 100, 5000] {
            let (allocated, hash) = measured(|| {
                let mut hash = Hash::with_hasher(FastHasher::default());
                for i in 0..count {
                    let field: Box<[u8]> = format!("field:{i}").into_bytes().into();
                    let value: Box<[u8]> = bytes(40, i).into();
                    hash.insert(field, value);
                }
                Value::Hash(Box::new(hash))
            });
            assert_eq!(value_usage(&hash, usize::MAX), allocated, "hash of {count}");
            let (allocated, set) = measured(|| {
                let mut set = Set::with_hasher(FastHasher::default());
                for i in 0..count {
                    set.insert(bytes(30, i).into_boxed_slice());
                }
                Value::Set(Box::new(set))
            });
            assert_eq!(value_usage(&set, usize::MAX), allocated, "set of {count}");
        }
    }

    #[test]
    fn a_sorted_set_costs_what_it_allocated() {
        for count in [1, 100, 10_000] {
            let (allocated, zset) = measured(|| {
                let mut zset = Box::new(ZSet::new());
                for i in 0..count {
                    zset.insert(&bytes(20, i), i as f64);
                }
                Value::ZSet(zset)
            });
            let estimate = value_usage(&zset, DEFAULT_SAMPLES) as f64;
            let ratio = estimate / allocated as f64;
            assert!(
                (0.95..1.05).contains(&ratio),
                "{count}: {estimate} vs {allocated}"
            );
        }
    }

    #[test]
    fn sampling_extrapolates_from_the_first_elements() {
        let costs = [10, 20, 30, 40];
        assert_eq!(sampled(costs.into_iter(), 4, usize::MAX), 100);
        assert_eq!(sampled(costs.into_iter(), 4, 2), 60);
        assert_eq!(
            sampled(costs.into_iter(), 4, 0),
            40,
            "at least one is measured"
        );
        assert_eq!(sampled(std::iter::empty(), 0, 5), 0);
    }
}
