//! The values a key can hold, and what `TYPE` and `OBJECT ENCODING` report for them.

use indexmap::{IndexMap, IndexSet};

use crate::store::thin_bytes::ThinBytes;
use crate::util::numbers::parse_i64;

/// The hasher used inside hashes and sets: fast, seeded per map.
pub type FastHasher = foldhash::fast::RandomState;

/// A list value: packed chunks, a few bytes of overhead per element.
pub type List = crate::store::packed_list::PackedList;
/// A hash value: field → value, with O(1) access by position for HRANDFIELD and HSCAN.
pub type Hash = IndexMap<Box<[u8]>, Box<[u8]>, FastHasher>;
/// A set value, with O(1) access by position for SRANDMEMBER, SPOP and SSCAN.
pub type Set = IndexSet<Box<[u8]>, FastHasher>;
/// A sorted set value: members ordered by score, with O(log n) ranks.
pub type ZSet = crate::store::sorted_set::SortedSet;

/// A stored value. Collections are boxed so an entry stays small.
#[derive(Debug, Clone)]
pub enum Value {
    Str(ThinBytes),
    List(Box<List>),
    Hash(Box<Hash>),
    Set(Box<Set>),
    ZSet(Box<ZSet>),
}

/// A value's type, as `TYPE` and `SCAN ... TYPE` name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    String,
    List,
    Hash,
    Set,
    ZSet,
}

impl ValueType {
    pub fn name(self) -> &'static str {
        match self {
            ValueType::String => "string",
            ValueType::List => "list",
            ValueType::Hash => "hash",
            ValueType::Set => "set",
            ValueType::ZSet => "zset",
        }
    }

    /// Parses a type name as given to `SCAN ... TYPE` (case-insensitive).
    pub fn parse(name: &[u8]) -> Option<ValueType> {
        [
            ValueType::String,
            ValueType::List,
            ValueType::Hash,
            ValueType::Set,
            ValueType::ZSet,
        ]
        .into_iter()
        .find(|t| t.name().as_bytes().eq_ignore_ascii_case(name))
    }
}

/// Redis 7.0's thresholds for its compact encodings (its built-in defaults, which
/// a server started without a config file uses), for reporting them and for the
/// behaviours that follow from them (field order, HSCAN in one go).
const EMBSTR_MAX: usize = 44;
/// `hash-max-listpack-entries` (512 built in; the sample redis.conf says 128).
pub const HASH_LISTPACK_MAX_ENTRIES: usize = 512;
/// `zset-max-listpack-entries`.
const ZSET_LISTPACK_MAX_ENTRIES: usize = 128;
/// `hash-max-listpack-value` and `zset-max-listpack-value`.
const LISTPACK_MAX_VALUE: usize = 64;
/// `set-max-intset-entries`.
pub const INTSET_MAX_ENTRIES: usize = 512;

impl Value {
    pub fn value_type(&self) -> ValueType {
        match self {
            Value::Str(_) => ValueType::String,
            Value::List(_) => ValueType::List,
            Value::Hash(_) => ValueType::Hash,
            Value::Set(_) => ValueType::Set,
            Value::ZSet(_) => ValueType::ZSet,
        }
    }

    /// Whether a collection has become empty (and its key must go).
    pub fn is_empty_collection(&self) -> bool {
        match self {
            Value::Str(_) => false,
            Value::List(list) => list.is_empty(),
            Value::Hash(hash) => hash.is_empty(),
            Value::Set(set) => set.is_empty(),
            Value::ZSet(zset) => zset.is_empty(),
        }
    }

    /// The encoding Redis 7.0 would report for the same value in `OBJECT ENCODING`.
    pub fn encoding_name(&self) -> &'static str {
        match self {
            Value::Str(bytes) if bytes.len() <= 20 && parse_i64(bytes).is_some() => "int",
            Value::Str(bytes) if bytes.len() <= EMBSTR_MAX => "embstr",
            Value::Str(_) => "raw",
            Value::List(_) => "quicklist",
            Value::Hash(hash) if Value::hash_is_small(hash) => "listpack",
            Value::Hash(_) => "hashtable",
            Value::Set(set) if Value::set_is_small(set) => "intset",
            Value::Set(_) => "hashtable",
            Value::ZSet(zset) if Value::zset_is_small(zset) => "listpack",
            Value::ZSet(_) => "skiplist",
        }
    }

    /// Whether Redis 7.0 would hold this hash as a listpack: it then keeps fields in
    /// insertion order and answers HSCAN in one go.
    pub fn hash_is_small(hash: &Hash) -> bool {
        hash.len() <= HASH_LISTPACK_MAX_ENTRIES
            && hash
                .iter()
                .all(|(f, v)| f.len() <= LISTPACK_MAX_VALUE && v.len() <= LISTPACK_MAX_VALUE)
    }

    /// Whether Redis 7.0 would hold this set as an intset (SSCAN answers in one go).
    pub fn set_is_small(set: &Set) -> bool {
        set.len() <= INTSET_MAX_ENTRIES && set.iter().all(|m| parse_i64(m).is_some())
    }

    /// Whether Redis 7.0 would hold this sorted set as a listpack (ZSCAN answers in
    /// one go).
    pub fn zset_is_small(zset: &ZSet) -> bool {
        zset.len() <= ZSET_LISTPACK_MAX_ENTRIES
            && zset.iter().all(|(m, _)| m.len() <= LISTPACK_MAX_VALUE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_encodings() {
        let enc = |s: &[u8]| Value::Str(s.into()).encoding_name();
        assert_eq!(enc(b"12345"), "int");
        assert_eq!(enc(b"hello"), "embstr");
        assert_eq!(enc(&[b'x'; 45]), "raw");
    }

    #[test]
    fn type_names_parse_back() {
        for t in [
            ValueType::String,
            ValueType::List,
            ValueType::Hash,
            ValueType::Set,
            ValueType::ZSet,
        ] {
            assert_eq!(
                ValueType::parse(t.name().to_uppercase().as_bytes()),
                Some(t)
            );
        }
        assert_eq!(ValueType::parse(b"stream"), None);
    }
}
