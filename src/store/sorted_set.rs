//! Sorted set (the data structure behind Redis `ZSET` commands).
//!
//! # Semantics
//!
//! Members are arbitrary byte strings and scores are `f64` values that are
//! never NaN. Elements are ordered by score, then by member bytes compared
//! like `memcmp` (a shorter prefix sorts first), which is the order Redis
//! uses. As in Redis, scores are compared with `<` and `==`, so `-0.0` and
//! `0.0` are equal: they tie and fall back to member order, and changing a
//! member's score from one zero to the other is a no-op.
//!
//! Score-range bounds are parsed like Redis's `zslParseRange`, which uses C
//! `strtod` (see [`ScoreBound::parse`]). Lex-range bounds are parsed like
//! `zslParseLexRangeItem` (see [`LexBound::parse`]). Lex-range queries assume
//! that all scores are equal, as Redis does: the results are unspecified
//! otherwise, but they stay in bounds.
//!
//! # Design
//!
//! The set is made of three parts:
//!
//! 1. **An entry slab** (`Vec<Entry>` and a free list). Each member is stored
//!    exactly once, as a `Box<[u8]>` next to its score, and is named
//!    everywhere else by a `u32` id. Keeping a single copy of each member
//!    matters: members usually dominate memory use, and storing them twice
//!    (once in a hash map and once in the ordered structure) would roughly
//!    double it.
//! 2. **A member index**: a small open-addressing hash table (linear probing,
//!    deletion by backward shifting, so there are no tombstones). A slot is a
//!    `u64` holding 32 bits of the member's hash and its id plus one, with
//!    zero meaning empty. The stored hash bits let most probes skip the member
//!    comparison and let the table grow without rehashing members. The hasher
//!    is std's `RandomState` (SipHash with a random key), so clients cannot
//!    pick members that all collide. A hand-written table is needed because
//!    std's `HashMap` cannot look up an id by a key that lives somewhere else
//!    (that needs the unstable raw-entry API). This gives the O(1)
//!    `score(member)` that `ZSCORE` and `ZADD` need.
//! 3. **A counted B+ tree** over `(score, id)` keys, kept in an arena of
//!    nodes addressed by `u32` index. Leaves hold the keys in order and are
//!    linked both ways for iteration. Inner nodes hold, for each child, the
//!    child's largest key and the number of elements below it. The largest
//!    key guides searches, and the counts make rank queries and seeks by rank
//!    O(log n). Scores sit inside the nodes, so a search looks at member
//!    bytes only when scores tie.
//!
//! ## Why a B+ tree and not a skiplist
//!
//! Redis uses a skiplist with spans. A B+ tree with up to 64 keys per node
//! gives the same O(log n) bounds in four or five node visits for a million
//! elements, instead of about twenty random pointer hops. The keys are packed
//! into small arrays (12 bytes per element in leaves), which helps the cache
//! and memory use. No `unsafe` code is needed, because nodes and entries live
//! in `Vec` arenas and are named by index.
//!
//! A few tuning choices:
//!
//! * When a leaf overflows at the far right (ascending inserts, such as
//!   timestamp scores) or the far left (descending inserts), the new entry
//!   goes into a leaf of its own. The full leaf stays full, so sequential
//!   loads pack leaves at about 100% instead of 50%.
//! * A node that falls below half full after a removal is merged with a
//!   neighbour if both fit in one node. Otherwise the two share their keys
//!   evenly.
//! * Removing a large rank range rebuilds the whole set in O(n) by bulk
//!   loading. Small ranges are removed one element at a time in
//!   O(k log n).
//! * Inside a node, the position of a score is found by counting every key
//!   below it, not by binary search. The keys are sorted, so the count is
//!   the same. It vectorizes, and the loads of an uncached node overlap
//!   instead of forming a chain of dependent cache misses. Member bytes are
//!   read only to break score ties.
//!
//! ## Memory
//!
//! Measured with [`SortedSet::heap_bytes`] for 1M members of 20 bytes: about
//! 96 bytes per member with random scores and 89 with ascending scores (RSS
//! grows by about 94). That breaks down as 32 bytes for the member's own
//! allocation (its jemalloc size class), 25 for the slab entry, 17 for the hash table
//! (2^21 slots at this size; between about 11 and 21 depending on where the
//! power-of-two size lands), and about 20 (random) or 13 (sequential) for the
//! B+ tree. Redis's skiplist and dict use more for the same data. Capacity
//! grows as needed. It is not given back automatically, except that a set
//! that becomes empty drops all of its storage; [`SortedSet::shrink_to_fit`]
//! compacts it on request.
//!
//! ## Limits
//!
//! Ids and subtree counts are `u32`, so a set holds at most [`MAX_LEN`]
//! members (2^31). Inserting beyond that panics.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::iter::{FusedIterator, Rev};

/// Maximum number of members a [`SortedSet`] can hold.
pub const MAX_LEN: usize = 1 << 31;

/// "No node" marker for node indices (leaf links, empty root).
const NIL: u32 = u32::MAX;
/// Maximum keys per B+ tree node in production use.
const DEFAULT_NODE_CAP: usize = 64;
/// Smallest hash-table size (a power of two).
const MIN_TABLE: usize = 8;
/// Rank-range removals at least this long (and covering at least half the
/// set) rebuild the set instead of deleting elements one by one.
const REBUILD_MIN: usize = 64;

/// One member and its score, owned by the entry slab.
#[derive(Clone, Default)]
struct Entry {
    member: Box<[u8]>,
    score: f64,
}

/// A B+ tree node. Leaves use `scores`/`ids` (one key per element) plus the
/// `prev`/`next` links. Inner nodes use all four vectors (one slot per child:
/// the child's maximum key, its node index and its element count) and leave
/// the links unused.
#[derive(Clone)]
struct Node {
    scores: Vec<f64>,
    ids: Vec<u32>,
    children: Vec<u32>,
    counts: Vec<u32>,
    prev: u32,
    next: u32,
}

impl Default for Node {
    fn default() -> Self {
        Node {
            scores: Vec::new(),
            ids: Vec::new(),
            children: Vec::new(),
            counts: Vec::new(),
            prev: NIL,
            next: NIL,
        }
    }
}

/// Grows `v` so that one more element fits, doubling but never past
/// `cap + 1` (a node may briefly hold one key too many before it splits).
fn reserve_one<T>(v: &mut Vec<T>, cap: usize) {
    if v.len() == v.capacity() {
        let target = (v.capacity() * 2).clamp(4, cap + 1).max(v.len() + 1);
        v.reserve_exact(target - v.len());
    }
}

/// Moves the first `k` elements of `src` to the end of `dst`.
fn move_front<T>(dst: &mut Vec<T>, src: &mut Vec<T>, k: usize) {
    dst.reserve_exact(k);
    dst.extend(src.drain(..k));
}

/// Moves the last `k` elements of `src` to the front of `dst`.
fn move_back<T>(src: &mut Vec<T>, dst: &mut Vec<T>, k: usize) {
    let at = src.len() - k;
    dst.reserve_exact(k);
    dst.splice(0..0, src.drain(at..));
}

fn sum_counts(counts: &[u32]) -> usize {
    counts.iter().map(|&c| c as usize).sum()
}

/// Bytes a heap allocation of `n` bytes really takes: jemalloc's size class.
fn alloc_size(n: usize) -> usize {
    crate::util::alloc::size_class(n)
}

fn vec_bytes<T>(v: &Vec<T>) -> usize {
    alloc_size(v.capacity() * size_of::<T>())
}

impl Node {
    fn len(&self) -> usize {
        self.scores.len()
    }

    /// The largest key stored in (or below) this node. The node must be
    /// non-empty.
    fn max_key(&self) -> (f64, u32) {
        let last = self.scores.len() - 1;
        (self.scores[last], self.ids[last])
    }

    /// Number of elements in this node's subtree.
    fn count(&self) -> usize {
        if self.children.is_empty() {
            self.len()
        } else {
            sum_counts(&self.counts)
        }
    }

    fn insert_key(&mut self, at: usize, score: f64, id: u32, cap: usize) {
        reserve_one(&mut self.scores, cap);
        self.scores.insert(at, score);
        reserve_one(&mut self.ids, cap);
        self.ids.insert(at, id);
    }

    fn insert_child(&mut self, at: usize, score: f64, id: u32, child: u32, count: u32, cap: usize) {
        self.insert_key(at, score, id, cap);
        reserve_one(&mut self.children, cap);
        self.children.insert(at, child);
        reserve_one(&mut self.counts, cap);
        self.counts.insert(at, count);
    }

    fn remove_at(&mut self, at: usize) {
        self.scores.remove(at);
        self.ids.remove(at);
        if !self.children.is_empty() {
            self.children.remove(at);
            self.counts.remove(at);
        }
    }

    /// Splits off the slots from `at` on into a new node (links unset).
    fn split_off(&mut self, at: usize) -> Node {
        let inner = !self.children.is_empty();
        Node {
            scores: self.scores.split_off(at),
            ids: self.ids.split_off(at),
            children: if inner {
                self.children.split_off(at)
            } else {
                Vec::new()
            },
            counts: if inner {
                self.counts.split_off(at)
            } else {
                Vec::new()
            },
            prev: NIL,
            next: NIL,
        }
    }

    /// Appends all slots of `other` (a right sibling) to `self`.
    fn append(&mut self, other: &mut Node) {
        let k = other.len();
        move_front(&mut self.scores, &mut other.scores, k);
        move_front(&mut self.ids, &mut other.ids, k);
        if !other.children.is_empty() {
            move_front(&mut self.children, &mut other.children, k);
            move_front(&mut self.counts, &mut other.counts, k);
        }
    }

    /// Moves the first `k` slots of the right sibling `right` to the end of
    /// `self`. Returns how many elements moved.
    fn take_front(&mut self, right: &mut Node, k: usize) -> usize {
        move_front(&mut self.scores, &mut right.scores, k);
        move_front(&mut self.ids, &mut right.ids, k);
        if right.children.is_empty() {
            k
        } else {
            let moved = sum_counts(&right.counts[..k]);
            move_front(&mut self.children, &mut right.children, k);
            move_front(&mut self.counts, &mut right.counts, k);
            moved
        }
    }

    /// Moves the last `k` slots of `self` to the front of the right sibling
    /// `right`. Returns how many elements moved.
    fn give_back(&mut self, right: &mut Node, k: usize) -> usize {
        move_back(&mut self.scores, &mut right.scores, k);
        move_back(&mut self.ids, &mut right.ids, k);
        if self.children.is_empty() {
            k
        } else {
            let moved = sum_counts(&self.counts[self.counts.len() - k..]);
            move_back(&mut self.children, &mut right.children, k);
            move_back(&mut self.counts, &mut right.counts, k);
            moved
        }
    }

    fn heap_bytes(&self) -> usize {
        vec_bytes(&self.scores)
            + vec_bytes(&self.ids)
            + vec_bytes(&self.children)
            + vec_bytes(&self.counts)
    }
}

/// First index in `0..scores.len()` for which `before` is false, assuming
/// `before` holds for a prefix of the keys.
fn lower_bound<F: Fn(f64, u32) -> bool>(scores: &[f64], ids: &[u32], before: &F) -> usize {
    let (mut lo, mut hi) = (0, scores.len());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if before(scores[mid], ids[mid]) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// Number of `scores` below `value` (or at most `value` if `or_equal`).
/// The scores are sorted, so this is the partition point. Counting every slot
/// instead of binary searching lets the loads of an uncached node overlap
/// rather than form a chain of dependent cache misses, and it vectorizes.
fn count_below(scores: &[f64], value: f64, or_equal: bool) -> usize {
    if or_equal {
        scores.iter().map(|&s| usize::from(s <= value)).sum()
    } else {
        scores.iter().map(|&s| usize::from(s < value)).sum()
    }
}

/// Two distinct nodes borrowed mutably at once.
fn pair_mut(nodes: &mut [Node], a: u32, b: u32) -> (&mut Node, &mut Node) {
    let (a, b) = (a as usize, b as usize);
    debug_assert_ne!(a, b);
    if a < b {
        let (x, y) = nodes.split_at_mut(b);
        (&mut x[a], &mut y[0])
    } else {
        let (x, y) = nodes.split_at_mut(a);
        (&mut y[0], &mut x[b])
    }
}

/// How a removal finds its element in the tree.
#[derive(Clone, Copy)]
enum Target<'a> {
    Rank(usize),
    Key(f64, &'a [u8]),
}

/// A set of unique byte-string members ordered by `(score, member)`.
/// See the module documentation for the design.
#[derive(Clone)]
pub struct SortedSet {
    /// Entry slab: id -> (member, score). Free slots hold an empty member.
    entries: Vec<Entry>,
    free_ids: Vec<u32>,
    /// Member index: open addressing, `(hash32 << 32) | (id + 1)`, 0 = empty.
    table: Vec<u64>,
    hasher: RandomState,
    /// B+ tree node arena.
    nodes: Vec<Node>,
    free_nodes: Vec<u32>,
    root: u32,
    /// Number of inner levels; 0 means the root is a leaf.
    height: u32,
    /// First and last leaf.
    head: u32,
    tail: u32,
    len: usize,
    /// Estimated heap bytes of all member allocations.
    member_heap: usize,
    /// Maximum keys per node.
    cap: usize,
}

impl Default for SortedSet {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for SortedSet {
    /// Shows the length and at most the first eight elements.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 8;
        write!(f, "SortedSet(len={}) ", self.len)?;
        let mut map = f.debug_map();
        for (member, score) in self.iter().take(SHOWN) {
            map.entry(&format_args!("\"{}\"", member.escape_ascii()), &score);
        }
        if self.len > SHOWN {
            map.finish_non_exhaustive()
        } else {
            map.finish()
        }
    }
}

impl SortedSet {
    /// Creates an empty set. Allocates nothing.
    pub fn new() -> Self {
        Self::with_node_cap(DEFAULT_NODE_CAP)
    }

    fn with_node_cap(cap: usize) -> Self {
        assert!(cap >= 4, "node capacity must be at least 4");
        SortedSet {
            entries: Vec::new(),
            free_ids: Vec::new(),
            table: Vec::new(),
            hasher: RandomState::new(),
            nodes: Vec::new(),
            free_nodes: Vec::new(),
            root: NIL,
            height: 0,
            head: NIL,
            tail: NIL,
            len: 0,
            member_heap: 0,
            cap,
        }
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if the set has no members.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Removes every member and releases all storage.
    pub fn clear(&mut self) {
        let hasher = self.hasher.clone();
        *self = Self::with_node_cap(self.cap);
        self.hasher = hasher;
    }

    /// The score of `member`, in O(1).
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        let (_, id) = self.find(member)?;
        Some(self.entries[id as usize].score)
    }

    /// Inserts `member` with `score`, or changes the score of an existing
    /// member. Returns the previous score if the member existed. If that score
    /// equals `score` (`==`, so `-0.0 == 0.0`), nothing changes.
    /// O(log n).
    ///
    /// # Panics
    ///
    /// If `score` is NaN, or if the set already holds [`MAX_LEN`] members.
    pub fn insert(&mut self, member: &[u8], score: f64) -> Option<f64> {
        assert!(!score.is_nan(), "sorted set scores must not be NaN");
        if self.table.is_empty() {
            self.table = vec![0; MIN_TABLE];
        }
        let hash = self.hash(member);
        let mut slot = match self.probe(member, hash) {
            Ok(slot) => {
                let id = slot_id(self.table[slot]);
                let old = self.entries[id as usize].score;
                if old != score {
                    let removed = self.tree_remove(Target::Key(old, member));
                    debug_assert_eq!(removed, id);
                    self.entries[id as usize].score = score;
                    self.tree_insert(score, member, id);
                }
                return Some(old);
            }
            Err(slot) => slot,
        };
        assert!(self.len < MAX_LEN, "sorted set is full");
        if (self.len + 1) * 4 > self.table.len() * 3 {
            self.rehash(self.table.len() * 2);
            slot = self
                .probe(member, hash)
                .expect_err("member cannot appear during a rehash");
        }
        let id = self.alloc_id(member, score);
        self.table[slot] = (u64::from(hash) << 32) | (u64::from(id) + 1);
        self.tree_insert(score, member, id);
        self.len += 1;
        None
    }

    /// Removes `member`, returning its score. O(log n).
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let (slot, id) = self.find(member)?;
        let score = self.entries[id as usize].score;
        let removed = self.tree_remove(Target::Key(score, member));
        debug_assert_eq!(removed, id);
        self.table_remove(slot);
        self.free_id(id);
        self.len -= 1;
        if self.len == 0 {
            self.clear();
        }
        Some(score)
    }

    /// 0-based rank of `member` in ascending order. O(log n).
    /// The reverse rank is `len() - 1 - rank`.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        let (_, id) = self.find(member)?;
        let score = self.entries[id as usize].score;
        let (rank, _, _) = self.seek(|sc, ids| self.key_pos(sc, ids, score, member));
        Some(rank)
    }

    /// The element at 0-based ascending `rank`. O(log n).
    pub fn get_by_rank(&self, rank: usize) -> Option<(&[u8], f64)> {
        if rank >= self.len {
            return None;
        }
        let (leaf, pos) = self.locate(rank);
        Some(self.element(leaf, pos))
    }

    /// All elements in ascending order.
    pub fn iter(&self) -> Iter<'_> {
        self.range_by_rank(0, self.len)
    }

    /// Ascending iterator starting at ascending `rank`. It is empty if
    /// `rank >= len()`. O(log n) to start, O(1) per step.
    pub fn iter_from_rank(&self, rank: usize) -> Iter<'_> {
        self.range_by_rank(rank, self.len)
    }

    /// Descending iterator starting at the element whose reverse rank is
    /// `rank_from_end` (0 = the highest element). It is empty if
    /// `rank_from_end >= len()`.
    pub fn iter_rev_from_rank(&self, rank_from_end: usize) -> Rev<Iter<'_>> {
        self.range_by_rank(0, self.len.saturating_sub(rank_from_end))
            .rev()
    }

    /// Double-ended iterator over ascending ranks `start..end` (`end` is
    /// clamped to `len()`). It is empty if `start >= end`.
    pub fn range_by_rank(&self, start: usize, end: usize) -> Iter<'_> {
        let end = end.min(self.len);
        if start >= end {
            return Iter {
                set: self,
                front: (NIL, 0),
                back: (NIL, 0),
                remaining: 0,
            };
        }
        Iter {
            set: self,
            front: self.locate(start),
            back: self.locate(end - 1),
            remaining: end - start,
        }
    }

    /// Rank of the first element whose score is within `[min, max]` (taking
    /// exclusivity into account), or `None` if there is none. O(log n).
    pub fn first_rank_in_score_range(&self, min: ScoreBound, max: ScoreBound) -> Option<usize> {
        if score_range_is_empty(min, max) {
            return None;
        }
        let (rank, leaf, pos) = self.seek(|sc, _| count_below(sc, min.value, min.exclusive));
        if leaf == NIL {
            return None;
        }
        let (_, score) = self.element(leaf, pos);
        max.admits_as_max(score).then_some(rank)
    }

    /// Rank of the last element whose score is within the range, or `None`.
    /// O(log n).
    pub fn last_rank_in_score_range(&self, min: ScoreBound, max: ScoreBound) -> Option<usize> {
        if score_range_is_empty(min, max) {
            return None;
        }
        let (rank, leaf, pos) = self.seek(|sc, _| count_below(sc, max.value, !max.exclusive));
        if rank == 0 {
            return None;
        }
        let (leaf, pos) = self.step_back(leaf, pos);
        let (_, score) = self.element(leaf, pos);
        min.admits_as_min(score).then_some(rank - 1)
    }

    /// Number of elements whose score is within the range. O(log n).
    pub fn count_in_score_range(&self, min: ScoreBound, max: ScoreBound) -> usize {
        if score_range_is_empty(min, max) {
            return 0;
        }
        let (below, _, _) = self.seek(|sc, _| count_below(sc, min.value, min.exclusive));
        let (upto, _, _) = self.seek(|sc, _| count_below(sc, max.value, !max.exclusive));
        upto.saturating_sub(below)
    }

    /// Rank of the first element whose member is within the lex range. Like
    /// Redis, this assumes that all scores are equal, so that member order is
    /// the set order. O(log n).
    pub fn first_rank_in_lex_range(&self, min: &LexBound, max: &LexBound) -> Option<usize> {
        if lex_range_is_empty(min, max) {
            return None;
        }
        let (rank, leaf, pos) =
            self.seek(|sc, ids| self.lex_pos(sc, ids, |m| !min.admits_as_min(m)));
        if leaf == NIL {
            return None;
        }
        let (member, _) = self.element(leaf, pos);
        max.admits_as_max(member).then_some(rank)
    }

    /// Rank of the last element whose member is within the lex range (same
    /// assumption as [`first_rank_in_lex_range`](Self::first_rank_in_lex_range)).
    pub fn last_rank_in_lex_range(&self, min: &LexBound, max: &LexBound) -> Option<usize> {
        if lex_range_is_empty(min, max) {
            return None;
        }
        let (rank, leaf, pos) =
            self.seek(|sc, ids| self.lex_pos(sc, ids, |m| max.admits_as_max(m)));
        if rank == 0 {
            return None;
        }
        let (leaf, pos) = self.step_back(leaf, pos);
        let (member, _) = self.element(leaf, pos);
        min.admits_as_min(member).then_some(rank - 1)
    }

    /// Number of elements whose member is within the lex range (same
    /// assumption as [`first_rank_in_lex_range`](Self::first_rank_in_lex_range)).
    pub fn count_in_lex_range(&self, min: &LexBound, max: &LexBound) -> usize {
        if lex_range_is_empty(min, max) {
            return 0;
        }
        let (below, _, _) = self.seek(|sc, ids| self.lex_pos(sc, ids, |m| !min.admits_as_min(m)));
        let (upto, _, _) = self.seek(|sc, ids| self.lex_pos(sc, ids, |m| max.admits_as_max(m)));
        upto.saturating_sub(below)
    }

    /// Removes the elements with ascending ranks `start..=end_inclusive`
    /// (`end_inclusive` is clamped to the last rank) and returns how many
    /// were removed. This is `ZREMRANGEBYRANK` after index normalisation.
    /// Costs O(k log n) for small ranges and O(n) otherwise.
    pub fn remove_rank_range(&mut self, start: usize, end_inclusive: usize) -> usize {
        if start >= self.len || start > end_inclusive {
            return 0;
        }
        let end = end_inclusive.min(self.len - 1);
        let k = end - start + 1;
        if k == self.len {
            self.clear();
        } else if k >= REBUILD_MIN && k * 2 >= self.len {
            let order = self.ids_in_order();
            let mut keep = Vec::with_capacity(self.len - k);
            for (rank, id) in order.into_iter().enumerate() {
                let entry = std::mem::take(&mut self.entries[id as usize]);
                if rank < start || rank > end {
                    keep.push(entry);
                }
            }
            self.rebuild(keep);
        } else {
            for _ in 0..k {
                self.remove_at_rank(start);
            }
        }
        k
    }

    /// Removes and returns the lowest element.
    pub fn pop_min(&mut self) -> Option<(Box<[u8]>, f64)> {
        (self.len > 0).then(|| self.remove_at_rank(0))
    }

    /// Removes and returns the highest element.
    pub fn pop_max(&mut self) -> Option<(Box<[u8]>, f64)> {
        (self.len > 0).then(|| self.remove_at_rank(self.len - 1))
    }

    /// One past the highest id a member can have: ids are the stable positions
    /// that `ZSCAN`'s cursor walks (see [`member_by_id`](Self::member_by_id)).
    pub fn id_bound(&self) -> usize {
        self.entries.len()
    }

    /// The member holding slab id `id`, if that slot is in use. A member keeps its
    /// id from insertion to removal (score changes included), so a cursor over ids
    /// visits every member present for a whole scan. Only the bulk rebuilds
    /// ([`shrink_to_fit`](Self::shrink_to_fit), a large
    /// [`remove_rank_range`](Self::remove_rank_range)) renumber them.
    pub fn member_by_id(&self, id: usize) -> Option<(&[u8], f64)> {
        let entry = self.entries.get(id)?;
        let (_, found) = self.find(&entry.member)?;
        (found as usize == id).then_some((&entry.member[..], entry.score))
    }

    /// Rebuilds the set compactly: no spare slab, table or node capacity, and
    /// leaves packed full. O(n).
    pub fn shrink_to_fit(&mut self) {
        let order = self.ids_in_order();
        let items = order
            .into_iter()
            .map(|id| std::mem::take(&mut self.entries[id as usize]))
            .collect();
        self.rebuild(items);
    }

    /// Estimate of the heap bytes used by the set. It counts allocated
    /// capacity rounded to jemalloc's size classes, including every member's
    /// own allocation. O(n / 64).
    pub fn heap_bytes(&self) -> usize {
        vec_bytes(&self.entries)
            + self.member_heap
            + vec_bytes(&self.free_ids)
            + vec_bytes(&self.table)
            + vec_bytes(&self.nodes)
            + vec_bytes(&self.free_nodes)
            + self.nodes.iter().map(Node::heap_bytes).sum::<usize>()
    }

    // ----------------------------------------------------------------------
    // Entry slab and member index.

    fn member(&self, id: u32) -> &[u8] {
        &self.entries[id as usize].member
    }

    fn hash(&self, member: &[u8]) -> u32 {
        self.hasher.hash_one(member) as u32
    }

    /// Finds `member` in the table: `Ok(slot)` or `Err(first empty slot)`.
    /// The table must not be empty.
    fn probe(&self, member: &[u8], hash: u32) -> Result<usize, usize> {
        let mask = self.table.len() - 1;
        let mut pos = hash as usize & mask;
        loop {
            let slot = self.table[pos];
            if slot == 0 {
                return Err(pos);
            }
            if (slot >> 32) as u32 == hash && self.member(slot_id(slot)) == member {
                return Ok(pos);
            }
            pos = (pos + 1) & mask;
        }
    }

    /// `(slot, id)` of `member`, if present.
    fn find(&self, member: &[u8]) -> Option<(usize, u32)> {
        if self.len == 0 {
            return None;
        }
        let slot = self.probe(member, self.hash(member)).ok()?;
        Some((slot, slot_id(self.table[slot])))
    }

    fn rehash(&mut self, new_size: usize) {
        debug_assert!(new_size.is_power_of_two() && new_size > self.len);
        let old = std::mem::replace(&mut self.table, vec![0; new_size]);
        let mask = new_size - 1;
        for slot in old.into_iter().filter(|&s| s != 0) {
            let mut pos = (slot >> 32) as usize & mask;
            while self.table[pos] != 0 {
                pos = (pos + 1) & mask;
            }
            self.table[pos] = slot;
        }
    }

    /// Empties `slot`, shifting later entries of the probe run back so that
    /// lookups never need tombstones.
    fn table_remove(&mut self, slot: usize) {
        let mask = self.table.len() - 1;
        let mut hole = slot;
        let mut pos = (slot + 1) & mask;
        loop {
            let s = self.table[pos];
            if s == 0 {
                break;
            }
            let home = (s >> 32) as usize & mask;
            // `s` may fill the hole if the hole lies in its probe run [home, pos).
            if pos.wrapping_sub(home) & mask >= pos.wrapping_sub(hole) & mask {
                self.table[hole] = s;
                hole = pos;
            }
            pos = (pos + 1) & mask;
        }
        self.table[hole] = 0;
    }

    fn alloc_id(&mut self, member: &[u8], score: f64) -> u32 {
        self.member_heap += alloc_size(member.len());
        let entry = Entry {
            member: member.into(),
            score,
        };
        match self.free_ids.pop() {
            Some(id) => {
                self.entries[id as usize] = entry;
                id
            }
            None => {
                self.entries.push(entry);
                (self.entries.len() - 1) as u32
            }
        }
    }

    /// Takes the entry out of the slab and recycles its id.
    fn free_id(&mut self, id: u32) -> Entry {
        let entry = std::mem::take(&mut self.entries[id as usize]);
        self.member_heap -= alloc_size(entry.member.len());
        self.free_ids.push(id);
        entry
    }

    /// Removes the element at `rank` from all three structures.
    fn remove_at_rank(&mut self, rank: usize) -> (Box<[u8]>, f64) {
        let id = self.tree_remove(Target::Rank(rank));
        let member = self.member(id);
        let slot = self
            .probe(member, self.hash(member))
            .expect("tree and member index disagree");
        self.table_remove(slot);
        let entry = self.free_id(id);
        self.len -= 1;
        if self.len == 0 {
            self.clear();
        }
        (entry.member, entry.score)
    }

    /// Replaces the contents with `items`, which must be sorted by
    /// `(score, member)` and hold unique members. O(n).
    fn rebuild(&mut self, items: Vec<Entry>) {
        self.clear();
        let n = items.len();
        if n == 0 {
            return;
        }
        self.len = n;
        self.member_heap = items.iter().map(|e| alloc_size(e.member.len())).sum();
        let mut size = MIN_TABLE;
        while n * 4 > size * 3 {
            size *= 2;
        }
        self.table = vec![0; size];
        for (id, entry) in items.iter().enumerate() {
            let hash = self.hash(&entry.member);
            let mut pos = hash as usize & (size - 1);
            while self.table[pos] != 0 {
                pos = (pos + 1) & (size - 1);
            }
            self.table[pos] = (u64::from(hash) << 32) | (id as u64 + 1);
        }
        self.entries = items;

        // Leaves, as full as possible with sizes differing by at most one.
        let cap = self.cap;
        let mut level: Vec<(u32, f64, u32, u32)> = Vec::new();
        let leaves = n.div_ceil(cap);
        let mut start = 0;
        for j in 0..leaves {
            let size = n / leaves + usize::from(j < n % leaves);
            let node = Node {
                scores: self.entries[start..start + size]
                    .iter()
                    .map(|e| e.score)
                    .collect(),
                ids: (start as u32..(start + size) as u32).collect(),
                prev: level.last().map_or(NIL, |l| l.0),
                ..Node::default()
            };
            let idx = self.alloc_node(node);
            if let Some(&(prev, ..)) = level.last() {
                self.nodes[prev as usize].next = idx;
            }
            let max = (start + size - 1) as u32;
            level.push((idx, self.entries[max as usize].score, max, size as u32));
            start += size;
        }
        self.head = level[0].0;
        self.tail = level[level.len() - 1].0;

        // Inner levels.
        while level.len() > 1 {
            let groups = level.len().div_ceil(cap);
            let mut upper = Vec::with_capacity(groups);
            let mut rest = &level[..];
            for j in 0..groups {
                let size = level.len() / groups + usize::from(j < level.len() % groups);
                let (group, tail) = rest.split_at(size);
                rest = tail;
                let node = Node {
                    scores: group.iter().map(|g| g.1).collect(),
                    ids: group.iter().map(|g| g.2).collect(),
                    children: group.iter().map(|g| g.0).collect(),
                    counts: group.iter().map(|g| g.3).collect(),
                    ..Node::default()
                };
                let count = group.iter().map(|g| g.3).sum();
                let (max_score, max_id) = node.max_key();
                upper.push((self.alloc_node(node), max_score, max_id, count));
            }
            level = upper;
            self.height += 1;
        }
        self.root = level[0].0;
    }

    /// Ids of all elements in ascending order.
    fn ids_in_order(&self) -> Vec<u32> {
        let mut out = Vec::with_capacity(self.len);
        let mut leaf = self.head;
        while leaf != NIL {
            let node = &self.nodes[leaf as usize];
            out.extend_from_slice(&node.ids);
            leaf = node.next;
        }
        out
    }

    // ----------------------------------------------------------------------
    // B+ tree.

    fn node(&self, idx: u32) -> &Node {
        &self.nodes[idx as usize]
    }

    fn node_mut(&mut self, idx: u32) -> &mut Node {
        &mut self.nodes[idx as usize]
    }

    fn alloc_node(&mut self, node: Node) -> u32 {
        match self.free_nodes.pop() {
            Some(idx) => {
                self.nodes[idx as usize] = node;
                idx
            }
            None => {
                self.nodes.push(node);
                (self.nodes.len() - 1) as u32
            }
        }
    }

    fn free_node(&mut self, idx: u32) {
        self.nodes[idx as usize] = Node::default();
        self.free_nodes.push(idx);
    }

    /// Position of `(score, member)` among a node's sorted keys: the number
    /// of keys that sort before it. Member bytes are read only for ties.
    fn key_pos(&self, scores: &[f64], ids: &[u32], score: f64, member: &[u8]) -> usize {
        let lt = count_below(scores, score, false);
        let ties = scores[lt..].iter().take_while(|&&s| s == score).count();
        if ties == 0 {
            return lt;
        }
        let range = lt..lt + ties;
        lt + lower_bound(&scores[range.clone()], &ids[range], &|_, id| {
            self.member(id) < member
        })
    }

    /// Number of a node's keys whose member satisfies `before`, which must
    /// hold for a prefix of them.
    fn lex_pos(&self, scores: &[f64], ids: &[u32], before: impl Fn(&[u8]) -> bool) -> usize {
        lower_bound(scores, ids, &|_, id| before(self.member(id)))
    }

    fn element(&self, leaf: u32, pos: usize) -> (&[u8], f64) {
        let node = self.node(leaf);
        (self.member(node.ids[pos]), node.scores[pos])
    }

    /// The position just before `(leaf, pos)`; `(NIL, _)` stands for the end.
    fn step_back(&self, leaf: u32, pos: usize) -> (u32, usize) {
        if leaf == NIL {
            (self.tail, self.node(self.tail).len() - 1)
        } else if pos > 0 {
            (leaf, pos - 1)
        } else {
            let prev = self.node(leaf).prev;
            (prev, self.node(prev).len() - 1)
        }
    }

    /// Leaf and position of the element at `rank` (which must be < len).
    fn locate(&self, rank: usize) -> (u32, usize) {
        let mut idx = self.root;
        let mut r = rank;
        for _ in 0..self.height {
            let node = self.node(idx);
            let mut i = 0;
            while r >= node.counts[i] as usize {
                r -= node.counts[i] as usize;
                i += 1;
            }
            idx = node.children[i];
        }
        (idx, r)
    }

    /// Counts the elements that come before a boundary. `position(scores,
    /// ids)` must return how many of a node's keys (its elements, or its
    /// children's maximum keys) come before the boundary, and these must be
    /// a prefix in set order. Returns that count (the rank of the first
    /// element after the boundary) and that element's leaf and position,
    /// with `NIL` as the leaf if there is no such element.
    fn seek<F: Fn(&[f64], &[u32]) -> usize>(&self, position: F) -> (usize, u32, usize) {
        if self.root == NIL {
            return (0, NIL, 0);
        }
        let mut idx = self.root;
        let mut rank = 0;
        for _ in 0..self.height {
            let node = self.node(idx);
            let i = position(&node.scores, &node.ids);
            if i == node.len() {
                // Only possible at the root: everything sorts before.
                return (self.len, NIL, 0);
            }
            rank += sum_counts(&node.counts[..i]);
            idx = node.children[i];
        }
        let node = self.node(idx);
        let pos = position(&node.scores, &node.ids);
        if pos < node.len() {
            (rank + pos, idx, pos)
        } else if node.next != NIL {
            (rank + pos, node.next, 0)
        } else {
            (rank + pos, NIL, 0)
        }
    }

    fn tree_insert(&mut self, score: f64, member: &[u8], id: u32) {
        if self.root == NIL {
            let mut leaf = Node::default();
            leaf.insert_key(0, score, id, self.cap);
            let idx = self.alloc_node(leaf);
            self.root = idx;
            self.head = idx;
            self.tail = idx;
            self.height = 0;
            return;
        }
        if let Some(right) = self.insert_rec(self.root, self.height, score, member, id) {
            let left = self.root;
            let cap = self.cap;
            let mut root = Node::default();
            for (at, child) in [left, right].into_iter().enumerate() {
                let (s, i) = self.node(child).max_key();
                let count = self.node(child).count() as u32;
                root.insert_child(at, s, i, child, count, cap);
            }
            self.root = self.alloc_node(root);
            self.height += 1;
        }
    }

    /// Inserts below `idx`. Returns the new right sibling if `idx` split.
    fn insert_rec(
        &mut self,
        idx: u32,
        height: u32,
        score: f64,
        member: &[u8],
        id: u32,
    ) -> Option<u32> {
        let cap = self.cap;
        if height == 0 {
            let node = self.node(idx);
            let pos = self.key_pos(&node.scores, &node.ids, score, member);
            self.node_mut(idx).insert_key(pos, score, id, cap);
            let node = self.node(idx);
            if node.len() <= cap {
                return None;
            }
            // Sequential loads at either end keep the full leaf full.
            let at = if pos == cap && node.next == NIL {
                cap
            } else if pos == 0 && node.prev == NIL {
                1
            } else {
                node.len() / 2
            };
            return Some(self.split_leaf(idx, at));
        }
        let node = self.node(idx);
        let i = self
            .key_pos(&node.scores, &node.ids, score, member)
            .min(node.len() - 1);
        let child = node.children[i];
        let split = self.insert_rec(child, height - 1, score, member, id);
        let (child_score, child_id) = self.node(child).max_key();
        match split {
            None => {
                let node = self.node_mut(idx);
                node.counts[i] += 1;
                node.scores[i] = child_score;
                node.ids[i] = child_id;
            }
            Some(right) => {
                let (right_score, right_id) = self.node(right).max_key();
                let right_count = self.node(right).count() as u32;
                let node = self.node_mut(idx);
                node.counts[i] = node.counts[i] + 1 - right_count;
                node.scores[i] = child_score;
                node.ids[i] = child_id;
                node.insert_child(i + 1, right_score, right_id, right, right_count, cap);
            }
        }
        let len = self.node(idx).len();
        if len <= cap {
            return None;
        }
        let right = self.node_mut(idx).split_off(len / 2);
        Some(self.alloc_node(right))
    }

    fn split_leaf(&mut self, idx: u32, at: usize) -> u32 {
        let mut right = self.node_mut(idx).split_off(at);
        let next = self.node(idx).next;
        right.prev = idx;
        right.next = next;
        let r = self.alloc_node(right);
        if next == NIL {
            self.tail = r;
        } else {
            self.node_mut(next).prev = r;
        }
        self.node_mut(idx).next = r;
        r
    }

    fn unlink_leaf(&mut self, idx: u32) {
        let (prev, next) = (self.node(idx).prev, self.node(idx).next);
        if prev == NIL {
            self.head = next;
        } else {
            self.node_mut(prev).next = next;
        }
        if next == NIL {
            self.tail = prev;
        } else {
            self.node_mut(next).prev = prev;
        }
    }

    /// Removes one element from the tree and returns its id. The slab and
    /// the member index are left to the caller.
    fn tree_remove(&mut self, target: Target<'_>) -> u32 {
        let id = self.remove_rec(self.root, self.height, target);
        loop {
            let root = self.node(self.root);
            if root.len() == 0 {
                self.free_node(self.root);
                self.root = NIL;
                self.head = NIL;
                self.tail = NIL;
                self.height = 0;
                break;
            }
            if self.height == 0 || root.len() > 1 {
                break;
            }
            let only = root.children[0];
            self.free_node(self.root);
            self.root = only;
            self.height -= 1;
        }
        id
    }

    fn remove_rec(&mut self, idx: u32, height: u32, target: Target<'_>) -> u32 {
        if height == 0 {
            let node = self.node(idx);
            let pos = match target {
                Target::Rank(r) => r,
                Target::Key(s, m) => self.key_pos(&node.scores, &node.ids, s, m),
            };
            let node = self.node_mut(idx);
            let id = node.ids[pos];
            node.remove_at(pos);
            return id;
        }
        let node = self.node(idx);
        let (i, sub) = match target {
            Target::Rank(mut r) => {
                let mut i = 0;
                while r >= node.counts[i] as usize {
                    r -= node.counts[i] as usize;
                    i += 1;
                }
                (i, Target::Rank(r))
            }
            Target::Key(s, m) => (self.key_pos(&node.scores, &node.ids, s, m), target),
        };
        let child = node.children[i];
        let id = self.remove_rec(child, height - 1, sub);
        let child_len = self.node(child).len();
        if child_len == 0 {
            if height == 1 {
                self.unlink_leaf(child);
            }
            self.free_node(child);
            self.node_mut(idx).remove_at(i);
        } else {
            let (child_score, child_id) = self.node(child).max_key();
            let node = self.node_mut(idx);
            node.counts[i] -= 1;
            node.scores[i] = child_score;
            node.ids[i] = child_id;
            if child_len < self.cap / 2 && self.node(idx).len() >= 2 {
                self.rebalance(idx, i, height - 1);
            }
        }
        id
    }

    /// Fixes the underfull child `i` of `parent` by merging it with a
    /// neighbour or sharing the neighbour's slots evenly.
    fn rebalance(&mut self, parent: u32, i: usize, child_height: u32) {
        let p = self.node(parent);
        let l = if i + 1 < p.len() { i } else { i - 1 };
        let (left, right) = (p.children[l], p.children[l + 1]);
        let (left_len, right_len) = (self.node(left).len(), self.node(right).len());
        if left_len + right_len <= self.cap {
            if child_height == 0 {
                self.unlink_leaf(right);
            }
            let (ln, rn) = pair_mut(&mut self.nodes, left, right);
            ln.append(rn);
            self.free_node(right);
            let p = self.node_mut(parent);
            p.counts[l] += p.counts[l + 1];
            p.scores[l] = p.scores[l + 1];
            p.ids[l] = p.ids[l + 1];
            p.remove_at(l + 1);
        } else {
            let target = (left_len + right_len) / 2;
            let (ln, rn) = pair_mut(&mut self.nodes, left, right);
            let delta = if left_len < target {
                ln.take_front(rn, target - left_len) as i64
            } else {
                -(ln.give_back(rn, left_len - target) as i64)
            };
            let (max_score, max_id) = ln.max_key();
            let p = self.node_mut(parent);
            p.counts[l] = (i64::from(p.counts[l]) + delta) as u32;
            p.counts[l + 1] = (i64::from(p.counts[l + 1]) - delta) as u32;
            p.scores[l] = max_score;
            p.ids[l] = max_id;
        }
    }
}

fn slot_id(slot: u64) -> u32 {
    (slot as u32).wrapping_sub(1)
}

impl<'a> IntoIterator for &'a SortedSet {
    type Item = (&'a [u8], f64);
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

/// Double-ended iterator over a contiguous rank range of a [`SortedSet`],
/// yielding `(member, score)` in ascending order (or descending via `rev`).
#[derive(Clone)]
pub struct Iter<'a> {
    set: &'a SortedSet,
    front: (u32, usize),
    back: (u32, usize),
    remaining: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a [u8], f64);

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let set = self.set;
        let (leaf, pos) = self.front;
        let node = set.node(leaf);
        let item = (set.member(node.ids[pos]), node.scores[pos]);
        self.front = if pos + 1 < node.len() {
            (leaf, pos + 1)
        } else {
            (node.next, 0)
        };
        Some(item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let set = self.set;
        let (leaf, pos) = self.back;
        let node = set.node(leaf);
        let item = (set.member(node.ids[pos]), node.scores[pos]);
        self.back = if pos > 0 {
            (leaf, pos - 1)
        } else if node.prev != NIL {
            (node.prev, set.node(node.prev).len() - 1)
        } else {
            (NIL, 0)
        };
        Some(item)
    }
}

impl ExactSizeIterator for Iter<'_> {}
impl FusedIterator for Iter<'_> {}

impl fmt::Debug for Iter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Iter")
            .field("remaining", &self.remaining)
            .finish_non_exhaustive()
    }
}

// --------------------------------------------------------------------------
// Score ranges.

/// One end of a score range, as given to `ZRANGEBYSCORE` and friends.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScoreBound {
    /// The bound's score; never NaN when produced by [`ScoreBound::parse`].
    pub value: f64,
    /// True for a `(`-prefixed (open) bound.
    pub exclusive: bool,
}

impl ScoreBound {
    /// `-inf` (inclusive).
    pub const NEG_INF: ScoreBound = ScoreBound::inclusive(f64::NEG_INFINITY);
    /// `+inf` (inclusive).
    pub const POS_INF: ScoreBound = ScoreBound::inclusive(f64::INFINITY);

    /// A closed bound (`value`).
    pub const fn inclusive(value: f64) -> Self {
        ScoreBound {
            value,
            exclusive: false,
        }
    }

    /// An open bound (`(value`).
    pub const fn exclusive(value: f64) -> Self {
        ScoreBound {
            value,
            exclusive: true,
        }
    }

    /// Parses a score-range argument the way Redis's `zslParseRange` does.
    /// A leading `(` makes the bound exclusive. The rest is read like C
    /// `strtod`, and the whole of it must be consumed. That means:
    ///
    /// * leading C whitespace is skipped, trailing whitespace is an error;
    /// * decimal (`1`, `-1.5`, `.5`, `5.`, `1e-3`), hexadecimal (`0x1p-3`)
    ///   and `inf`/`infinity` in any case, with an optional sign, are
    ///   accepted; values out of range become ±inf or 0;
    /// * NaN is rejected;
    /// * parsing stops at the first NUL byte, as the C string ends there,
    ///   and an empty number (`""` or `"("`) reads as 0.
    pub fn parse(arg: &[u8]) -> Option<Self> {
        match arg.first() {
            Some(b'(') => parse_c_double(&arg[1..]).map(Self::exclusive),
            _ => parse_c_double(arg).map(Self::inclusive),
        }
    }

    /// Whether `score` satisfies this bound used as a minimum.
    pub fn admits_as_min(self, score: f64) -> bool {
        if self.exclusive {
            score > self.value
        } else {
            score >= self.value
        }
    }

    /// Whether `score` satisfies this bound used as a maximum.
    pub fn admits_as_max(self, score: f64) -> bool {
        if self.exclusive {
            score < self.value
        } else {
            score <= self.value
        }
    }
}

/// The range can contain nothing (the checks Redis makes up front).
fn score_range_is_empty(min: ScoreBound, max: ScoreBound) -> bool {
    min.value > max.value || (min.value == max.value && (min.exclusive || max.exclusive))
}

fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Reads `s` as C `strtod` would, and succeeds only if the whole of `s` (up to
/// a NUL byte) is used and the result is not NaN.
fn parse_c_double(s: &[u8]) -> Option<f64> {
    let s = match s.iter().position(|&b| b == 0) {
        Some(nul) => &s[..nul],
        None => s,
    };
    if s.is_empty() {
        // strtod converts nothing and stops at the terminator: value 0.
        return Some(0.0);
    }
    // All whitespace: nothing is converted and the end pointer stays at
    // the start, which is not the terminator.
    let start = s.iter().position(|&b| !is_c_space(b))?;
    let t = &s[start..];
    let (negative, body) = match t[0] {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    let magnitude = if body.len() > 2 && body[0] == b'0' && (body[1] | 0x20) == b'x' && {
        let rest = &body[2..];
        rest[0].is_ascii_hexdigit()
            || (rest[0] == b'.' && rest.get(1).is_some_and(u8::is_ascii_hexdigit))
    } {
        parse_hex_magnitude(&body[2..])?
    } else if body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity") {
        f64::INFINITY
    } else if is_c_decimal(body) {
        // The C grammar checked above is a subset of what Rust accepts, and
        // both round correctly to nearest.
        std::str::from_utf8(body).ok()?.parse::<f64>().ok()?
    } else {
        return None;
    };
    Some(if negative { -magnitude } else { magnitude })
}

/// `digits [. digits] [(e|E) [sign] digits]` with at least one mantissa
/// digit, and nothing else.
fn is_c_decimal(b: &[u8]) -> bool {
    let digits = |from: usize| b[from..].iter().take_while(|c| c.is_ascii_digit()).count();
    let int = digits(0);
    let mut i = int;
    let mut frac = 0;
    if b.get(i) == Some(&b'.') {
        frac = digits(i + 1);
        i += 1 + frac;
    }
    if int + frac == 0 {
        return false;
    }
    if i < b.len() && (b[i] | 0x20) == b'e' {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let exp = digits(i);
        if exp == 0 {
            return false;
        }
        i += exp;
    }
    i == b.len()
}

/// Parses the part of a hexadecimal float after `0x` (`h[.h][p[sign]d]`),
/// rounding to nearest even. Fails if anything is left over.
fn parse_hex_magnitude(s: &[u8]) -> Option<f64> {
    let mut mantissa: u64 = 0;
    let mut exp: i64 = 0;
    let mut sticky = false;
    let mut seen_point = false;
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        if c == b'.' && !seen_point {
            seen_point = true;
            i += 1;
            continue;
        }
        let Some(d) = (c as char).to_digit(16) else {
            break;
        };
        if mantissa >> 60 == 0 {
            mantissa = (mantissa << 4) | u64::from(d);
            if seen_point {
                exp -= 4;
            }
        } else {
            sticky |= d != 0;
            if !seen_point {
                exp += 4;
            }
        }
        i += 1;
    }
    if i < s.len() && (s[i] | 0x20) == b'p' {
        let mut j = i + 1;
        let negative = s.get(j) == Some(&b'-');
        if matches!(s.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        let digits_start = j;
        let mut e: i64 = 0;
        while j < s.len() && s[j].is_ascii_digit() {
            e = (e * 10 + i64::from(s[j] - b'0')).min(1 << 40);
            j += 1;
        }
        if j == digits_start {
            return None;
        }
        exp += if negative { -e } else { e };
        i = j;
    }
    if i != s.len() {
        return None;
    }
    Some(compose_binary(mantissa, exp, sticky))
}

/// Rounds `mantissa * 2^exp` (plus a little more if `sticky`) to the
/// nearest `f64`, ties to even, with subnormals, overflow and underflow.
fn compose_binary(mantissa: u64, exp: i64, sticky: bool) -> f64 {
    if mantissa == 0 {
        return 0.0;
    }
    let shift = mantissa.leading_zeros();
    let m = mantissa << shift;
    let e = exp - i64::from(shift); // value = m * 2^e, top bit of m set
    let top = e + 63; // binary exponent of the leading bit
    if top > 1023 {
        return f64::INFINITY;
    }
    let drop = if top >= -1022 { 11 } else { 11 + (-1022 - top) };
    if drop > 64 {
        return 0.0;
    }
    let (kept, rest, half) = if drop == 64 {
        (0, m, 1u64 << 63)
    } else {
        (m >> drop, m & ((1u64 << drop) - 1), 1u64 << (drop - 1))
    };
    let round_up = rest > half || (rest == half && (sticky || kept & 1 == 1));
    let kept = kept + u64::from(round_up);
    // value = kept * 2^k with k in [-1074, 971] and kept <= 2^53, so both
    // factors are exact and the product is exact or overflows to inf.
    let k = e + drop;
    let scale = if k >= -1022 {
        f64::from_bits(((k + 1023) as u64) << 52)
    } else {
        f64::from_bits(1u64 << (k + 1074))
    };
    kept as f64 * scale
}

// --------------------------------------------------------------------------
// Lex ranges.

/// One end of a lexicographic range, as given to `ZRANGEBYLEX` and friends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LexBound {
    /// `-`: below every member.
    NegInf,
    /// `+`: above every member.
    PosInf,
    /// `[member`
    Inclusive(Vec<u8>),
    /// `(member`
    Exclusive(Vec<u8>),
}

impl LexBound {
    /// Parses a lex-range argument like Redis's `zslParseLexRangeItem`:
    /// `-`, `+`, `[member` or `(member`; anything else is invalid. Like the
    /// C code, `+` and `-` are also accepted when followed by a NUL byte.
    pub fn parse(arg: &[u8]) -> Option<Self> {
        let alone = || arg.get(1).is_none_or(|&b| b == 0);
        match arg.first()? {
            b'+' => alone().then_some(LexBound::PosInf),
            b'-' => alone().then_some(LexBound::NegInf),
            b'(' => Some(LexBound::Exclusive(arg[1..].to_vec())),
            b'[' => Some(LexBound::Inclusive(arg[1..].to_vec())),
            _ => None,
        }
    }

    /// Whether `member` satisfies this bound used as a minimum.
    pub fn admits_as_min(&self, member: &[u8]) -> bool {
        match self {
            LexBound::NegInf => true,
            LexBound::PosInf => false,
            LexBound::Inclusive(b) => member >= b.as_slice(),
            LexBound::Exclusive(b) => member > b.as_slice(),
        }
    }

    /// Whether `member` satisfies this bound used as a maximum.
    pub fn admits_as_max(&self, member: &[u8]) -> bool {
        match self {
            LexBound::NegInf => false,
            LexBound::PosInf => true,
            LexBound::Inclusive(b) => member <= b.as_slice(),
            LexBound::Exclusive(b) => member < b.as_slice(),
        }
    }

    fn is_exclusive(&self) -> bool {
        !matches!(self, LexBound::Inclusive(_))
    }
}

/// The range can contain nothing (the checks Redis makes up front; `-` and
/// `+` count as exclusive).
fn lex_range_is_empty(min: &LexBound, max: &LexBound) -> bool {
    use LexBound::{Exclusive, Inclusive, NegInf, PosInf};
    let cmp = match (min, max) {
        (NegInf, NegInf) | (PosInf, PosInf) => Ordering::Equal,
        (NegInf, _) | (_, PosInf) => Ordering::Less,
        (PosInf, _) | (_, NegInf) => Ordering::Greater,
        (Inclusive(a) | Exclusive(a), Inclusive(b) | Exclusive(b)) => a.cmp(b),
    };
    cmp == Ordering::Greater
        || (cmp == Ordering::Equal && (min.is_exclusive() || max.is_exclusive()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::random::SeededRng;
    use std::hint::black_box;
    use std::time::Instant;

    // ------------------------------------------------------------------
    // Reference model: a Vec sorted by (score, member), Redis comparison.

    fn cmp_elem(a: (f64, &[u8]), b: (f64, &[u8])) -> Ordering {
        if a.0 < b.0 {
            Ordering::Less
        } else if a.0 > b.0 {
            Ordering::Greater
        } else {
            a.1.cmp(b.1)
        }
    }

    #[derive(Clone, Default)]
    struct Model {
        v: Vec<(f64, Vec<u8>)>,
    }

    impl Model {
        fn pos(&self, m: &[u8]) -> Option<usize> {
            self.v.iter().position(|e| e.1 == m)
        }

        fn insert(&mut self, m: &[u8], s: f64) -> Option<f64> {
            let old = self.pos(m).map(|i| self.v[i].0);
            if old == Some(s) {
                return old;
            }
            if let Some(i) = self.pos(m) {
                self.v.remove(i);
            }
            let at = self
                .v
                .partition_point(|e| cmp_elem((e.0, &e.1), (s, m)) == Ordering::Less);
            self.v.insert(at, (s, m.to_vec()));
            old
        }

        fn remove(&mut self, m: &[u8]) -> Option<f64> {
            let i = self.pos(m)?;
            Some(self.v.remove(i).0)
        }

        fn in_score_range(s: f64, min: ScoreBound, max: ScoreBound) -> bool {
            let ge = if min.exclusive {
                s > min.value
            } else {
                s >= min.value
            };
            let le = if max.exclusive {
                s < max.value
            } else {
                s <= max.value
            };
            ge && le
        }

        fn in_lex_range(m: &[u8], min: &LexBound, max: &LexBound) -> bool {
            let ge = match min {
                LexBound::NegInf => true,
                LexBound::PosInf => false,
                LexBound::Inclusive(b) => m >= &b[..],
                LexBound::Exclusive(b) => m > &b[..],
            };
            let le = match max {
                LexBound::NegInf => false,
                LexBound::PosInf => true,
                LexBound::Inclusive(b) => m <= &b[..],
                LexBound::Exclusive(b) => m < &b[..],
            };
            ge && le
        }

        /// (first, last, count) of the elements matching `f`, which must be
        /// contiguous.
        fn span(
            &self,
            f: impl Fn(&(f64, Vec<u8>)) -> bool,
        ) -> (Option<usize>, Option<usize>, usize) {
            let first = self.v.iter().position(&f);
            let last = self.v.iter().rposition(&f);
            let count = self.v.iter().filter(|e| f(e)).count();
            if let (Some(a), Some(b)) = (first, last) {
                assert_eq!(b + 1 - a, count, "model range is not contiguous");
            }
            (first, last, count)
        }
    }

    fn contents(s: &SortedSet) -> Vec<(f64, Vec<u8>)> {
        s.iter().map(|(m, sc)| (sc, m.to_vec())).collect()
    }

    fn same_elems(a: &[(f64, Vec<u8>)], b: &[(f64, Vec<u8>)]) -> bool {
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|(x, y)| x.0.to_bits() == y.0.to_bits() && x.1 == y.1)
    }

    // ------------------------------------------------------------------
    // Structural invariants.

    fn walk(
        s: &SortedSet,
        idx: u32,
        height: u32,
        is_root: bool,
        leaves: &mut Vec<u32>,
        keys: &mut Vec<(f64, u32)>,
        visited: &mut usize,
    ) -> (usize, (f64, u32)) {
        *visited += 1;
        let n = s.node(idx);
        assert!(n.len() >= 1, "empty node");
        assert!(n.len() <= s.cap, "overfull node");
        assert_eq!(n.scores.len(), n.ids.len());
        if height == 0 {
            assert!(n.children.is_empty() && n.counts.is_empty());
            leaves.push(idx);
            keys.extend(n.scores.iter().copied().zip(n.ids.iter().copied()));
            return (n.len(), n.max_key());
        }
        assert_eq!(n.children.len(), n.len());
        assert_eq!(n.counts.len(), n.len());
        if is_root {
            assert!(n.len() >= 2, "inner root with a single child");
        }
        let mut total = 0;
        for i in 0..n.len() {
            let (count, max) = walk(s, n.children[i], height - 1, false, leaves, keys, visited);
            assert_eq!(count, n.counts[i] as usize, "stale count");
            assert_eq!(max.0.to_bits(), n.scores[i].to_bits(), "stale max score");
            assert_eq!(max.1, n.ids[i], "stale max id");
            total += count;
        }
        (total, n.max_key())
    }

    fn check_invariants(s: &SortedSet) {
        // Slab.
        assert_eq!(s.entries.len() - s.free_ids.len(), s.len);
        let mut free = vec![false; s.entries.len()];
        for &id in &s.free_ids {
            assert!(!free[id as usize], "id freed twice");
            free[id as usize] = true;
            assert!(s.entries[id as usize].member.is_empty());
        }
        let heap: usize = s.entries.iter().map(|e| alloc_size(e.member.len())).sum();
        assert_eq!(heap, s.member_heap);
        // Member index.
        let mut in_table = vec![false; s.entries.len()];
        for (pos, &slot) in s.table.iter().enumerate() {
            if slot == 0 {
                continue;
            }
            let id = slot_id(slot);
            assert!(!free[id as usize], "table points at a free id");
            assert!(!in_table[id as usize], "id in table twice");
            in_table[id as usize] = true;
            let member = s.member(id);
            assert_eq!((slot >> 32) as u32, s.hash(member));
            assert_eq!(s.probe(member, s.hash(member)), Ok(pos));
        }
        assert_eq!(in_table.iter().filter(|&&b| b).count(), s.len);
        if s.len == 0 {
            assert_eq!(s.root, NIL);
            assert_eq!((s.head, s.tail), (NIL, NIL));
            assert!(s.nodes.is_empty() && s.entries.is_empty() && s.table.is_empty());
            return;
        }
        assert!(s.table.len().is_power_of_two());
        assert!(s.len * 4 <= s.table.len() * 3);
        // Tree.
        let mut leaves = Vec::new();
        let mut keys = Vec::new();
        let mut visited = 0;
        let (count, _) = walk(
            s,
            s.root,
            s.height,
            true,
            &mut leaves,
            &mut keys,
            &mut visited,
        );
        assert_eq!(count, s.len);
        assert_eq!(visited, s.nodes.len() - s.free_nodes.len());
        for w in keys.windows(2) {
            let a = (w[0].0, s.member(w[0].1));
            let b = (w[1].0, s.member(w[1].1));
            assert_eq!(cmp_elem(a, b), Ordering::Less, "keys out of order");
        }
        for &(score, id) in &keys {
            assert!(!free[id as usize]);
            assert_eq!(score.to_bits(), s.entries[id as usize].score.to_bits());
        }
        // Leaf chain.
        assert_eq!(s.head, leaves[0]);
        assert_eq!(s.tail, *leaves.last().unwrap());
        for (i, &leaf) in leaves.iter().enumerate() {
            let n = s.node(leaf);
            let prev = if i == 0 { NIL } else { leaves[i - 1] };
            let next = leaves.get(i + 1).copied().unwrap_or(NIL);
            assert_eq!((n.prev, n.next), (prev, next), "broken leaf links");
        }
    }

    fn check_against_model(s: &SortedSet, model: &Model) {
        check_invariants(s);
        assert_eq!(s.len(), model.v.len());
        let got = contents(s);
        assert!(same_elems(&got, &model.v), "contents differ");
        let rev: Vec<(f64, Vec<u8>)> = s.iter().rev().map(|(m, sc)| (sc, m.to_vec())).collect();
        let mut expect_rev = model.v.clone();
        expect_rev.reverse();
        assert!(same_elems(&rev, &expect_rev));
        for (i, (score, member)) in model.v.iter().enumerate() {
            assert_eq!(s.score(member).map(f64::to_bits), Some(score.to_bits()));
            assert_eq!(s.rank(member), Some(i));
            let (m, sc) = s.get_by_rank(i).unwrap();
            assert_eq!((m, sc.to_bits()), (&member[..], score.to_bits()));
        }
        assert_eq!(s.get_by_rank(model.v.len()), None);
    }

    // ------------------------------------------------------------------
    // Random generators.

    const SCORES: [f64; 12] = [
        f64::NEG_INFINITY,
        -1e300,
        -2.5,
        -1.0,
        -0.0,
        0.0,
        0.5,
        1.0,
        2.0,
        3.25,
        1e300,
        f64::INFINITY,
    ];

    fn gen_score(rng: &mut SeededRng) -> f64 {
        match rng.below(3) {
            0 => SCORES[rng.below(SCORES.len())],
            1 => rng.below(40) as f64 - 20.0,
            _ => (rng.next() >> 11) as f64 / (1u64 << 53) as f64 * 100.0 - 50.0,
        }
    }

    fn gen_member(rng: &mut SeededRng, pool: usize) -> Vec<u8> {
        if rng.chance(30) {
            const ALPHABET: [u8; 5] = [0, 1, b'a', b'b', 0xff];
            let len = rng.below(4);
            (0..len)
                .map(|_| ALPHABET[rng.below(ALPHABET.len())])
                .collect()
        } else {
            format!("m{}", rng.below(pool)).into_bytes()
        }
    }

    fn gen_score_bound(rng: &mut SeededRng) -> ScoreBound {
        ScoreBound {
            value: gen_score(rng),
            exclusive: rng.chance(40),
        }
    }

    fn gen_lex_bound(rng: &mut SeededRng, pool: usize) -> LexBound {
        match rng.below(10) {
            0 => LexBound::NegInf,
            1 => LexBound::PosInf,
            2..=5 => LexBound::Inclusive(gen_member(rng, pool)),
            _ => LexBound::Exclusive(gen_member(rng, pool)),
        }
    }

    /// Random operations against the model. In `lex` mode all scores are
    /// zero (either sign), so lex ranges are meaningful.
    /// The set alternates between growing towards `grow_to` members (when
    /// destructive operations are rare) and shrinking to a handful.
    fn run_model_test(seed: u64, cap: usize, ops: usize, pool: usize, grow_to: usize, lex: bool) {
        let mut rng = SeededRng::new(seed);
        let mut s = SortedSet::with_node_cap(cap);
        let mut model = Model::default();
        let mut growing = true;
        let mut max_len = 0;
        let mut max_height = 0;
        let mut low = 0;
        for step in 0..ops {
            if growing && model.v.len() >= grow_to {
                growing = false;
                low = rng.below(20);
            } else if !growing && model.v.len() <= low {
                growing = true;
            }
            let score = if lex {
                if rng.chance(50) { 0.0 } else { -0.0 }
            } else {
                gen_score(&mut rng)
            };
            let mut op = rng.below(100);
            let destructive = matches!(op, 40..=49 | 80..=91);
            if growing && destructive && rng.chance(90) {
                op = 0;
            }
            match op {
                0..=39 => {
                    let insert = if growing { true } else { rng.chance(25) };
                    if insert {
                        let m = gen_member(&mut rng, pool);
                        let expect = model.insert(&m, score);
                        let got = s.insert(&m, score);
                        assert_eq!(got.map(f64::to_bits), expect.map(f64::to_bits));
                    } else if !model.v.is_empty() {
                        let m = model.v[rng.below(model.v.len())].1.clone();
                        assert_eq!(s.remove(&m), model.remove(&m));
                    }
                }
                40..=49 => {
                    // Remove: an existing member (if any) or a random one.
                    let m = if !model.v.is_empty() && rng.chance(70) {
                        model.v[rng.below(model.v.len())].1.clone()
                    } else {
                        gen_member(&mut rng, pool)
                    };
                    let expect = model.remove(&m);
                    assert_eq!(s.remove(&m).map(f64::to_bits), expect.map(f64::to_bits));
                    assert_eq!(s.score(&m), None);
                }
                50..=54 => {
                    // Update an existing member's score.
                    if !model.v.is_empty() {
                        let m = model.v[rng.below(model.v.len())].1.clone();
                        let expect = model.insert(&m, score);
                        let got = s.insert(&m, score);
                        assert_eq!(got.map(f64::to_bits), expect.map(f64::to_bits));
                    }
                }
                55..=59 => {
                    let m = gen_member(&mut rng, pool);
                    let p = model.pos(&m);
                    assert_eq!(s.rank(&m), p);
                    assert_eq!(
                        s.score(&m).map(f64::to_bits),
                        p.map(|i| model.v[i].0.to_bits())
                    );
                }
                60..=64 => {
                    let r = rng.below(model.v.len() + 3);
                    let expect = model.v.get(r).map(|e| (e.1.as_slice(), e.0.to_bits()));
                    assert_eq!(s.get_by_rank(r).map(|(m, sc)| (m, sc.to_bits())), expect);
                }
                65..=69 => {
                    let r = rng.below(model.v.len() + 3);
                    let k = rng.below(80);
                    let got: Vec<_> = s
                        .iter_from_rank(r)
                        .take(k)
                        .map(|(m, sc)| (sc, m.to_vec()))
                        .collect();
                    let expect: Vec<_> = model.v.iter().skip(r).take(k).cloned().collect();
                    assert!(same_elems(&got, &expect));
                    let got: Vec<_> = s
                        .iter_rev_from_rank(r)
                        .take(k)
                        .map(|(m, sc)| (sc, m.to_vec()))
                        .collect();
                    let expect: Vec<_> = model.v.iter().rev().skip(r).take(k).cloned().collect();
                    assert!(same_elems(&got, &expect));
                    assert_eq!(s.iter_from_rank(r).len(), model.v.len().saturating_sub(r));
                }
                70..=71 => {
                    // Mixed front/back iteration over a rank window.
                    let a = rng.below(model.v.len() + 2);
                    let b = rng.below(model.v.len() + 2);
                    let mut it = s.range_by_rank(a, b);
                    let end = b.min(model.v.len());
                    let mut lo = a;
                    let mut hi = end;
                    loop {
                        assert_eq!(it.len(), hi.saturating_sub(lo));
                        let item = if rng.chance(50) {
                            let x = it.next();
                            if let Some((m, _)) = x {
                                assert_eq!(m, &model.v[lo].1[..]);
                                lo += 1;
                            }
                            x
                        } else {
                            let x = it.next_back();
                            if let Some((m, _)) = x {
                                hi -= 1;
                                assert_eq!(m, &model.v[hi].1[..]);
                            }
                            x
                        };
                        if item.is_none() {
                            assert!(lo >= hi);
                            assert!(it.next().is_none() && it.next_back().is_none());
                            break;
                        }
                    }
                }
                72..=79 => {
                    if lex {
                        let min = gen_lex_bound(&mut rng, pool);
                        let max = gen_lex_bound(&mut rng, pool);
                        let (first, last, count) =
                            model.span(|e| Model::in_lex_range(&e.1, &min, &max));
                        assert_eq!(
                            s.first_rank_in_lex_range(&min, &max),
                            first,
                            "{min:?} {max:?}"
                        );
                        assert_eq!(
                            s.last_rank_in_lex_range(&min, &max),
                            last,
                            "{min:?} {max:?}"
                        );
                        assert_eq!(s.count_in_lex_range(&min, &max), count, "{min:?} {max:?}");
                    } else {
                        // Lex queries on mixed scores are undefined (as in
                        // Redis) but must stay in bounds and not panic.
                        let lmin = gen_lex_bound(&mut rng, pool);
                        let lmax = gen_lex_bound(&mut rng, pool);
                        let n = model.v.len();
                        assert!(
                            s.first_rank_in_lex_range(&lmin, &lmax)
                                .is_none_or(|r| r < n)
                        );
                        assert!(s.last_rank_in_lex_range(&lmin, &lmax).is_none_or(|r| r < n));
                        assert!(s.count_in_lex_range(&lmin, &lmax) <= n);
                        let min = gen_score_bound(&mut rng);
                        let max = gen_score_bound(&mut rng);
                        let (first, last, count) =
                            model.span(|e| Model::in_score_range(e.0, min, max));
                        assert_eq!(
                            s.first_rank_in_score_range(min, max),
                            first,
                            "{min:?} {max:?}"
                        );
                        assert_eq!(
                            s.last_rank_in_score_range(min, max),
                            last,
                            "{min:?} {max:?}"
                        );
                        assert_eq!(s.count_in_score_range(min, max), count, "{min:?} {max:?}");
                    }
                }
                80..=84 => {
                    let n = model.v.len();
                    let (start, end) = if rng.chance(3) {
                        // Large range: exercises the rebuild path.
                        let a = rng.below(n / 4 + 1);
                        (a, a + rng.below(n + 1))
                    } else if rng.chance(50) {
                        let a = rng.below(n + 2);
                        (a, a + rng.below(4))
                    } else {
                        let a = rng.below(n + 2);
                        (a, a + rng.below(40))
                    };
                    let expect = if start < n && start <= end {
                        model.v.drain(start..=end.min(n - 1)).count()
                    } else {
                        0
                    };
                    assert_eq!(s.remove_rank_range(start, end), expect);
                }
                85..=91 => {
                    let (got, expect) = if rng.chance(50) {
                        (
                            s.pop_min(),
                            (!model.v.is_empty()).then(|| model.v.remove(0)),
                        )
                    } else {
                        (s.pop_max(), model.v.pop())
                    };
                    assert_eq!(
                        got.map(|(m, sc)| (m.to_vec(), sc.to_bits())),
                        expect.map(|(sc, m)| (m, sc.to_bits()))
                    );
                }
                92 => {
                    let c = s.clone();
                    check_against_model(&c, &model);
                    if rng.chance(20) {
                        s.shrink_to_fit();
                    }
                }
                _ => {
                    // Membership check of a known member.
                    if let Some(e) = model.v.get(rng.below(model.v.len() + 1)) {
                        assert_eq!(s.score(&e.1).map(f64::to_bits), Some(e.0.to_bits()));
                    }
                }
            }
            max_len = max_len.max(model.v.len());
            max_height = max_height.max(s.height);
            if step % 250 == 0 || model.v.len() < 4 {
                check_invariants(&s);
            }
            if step % 1000 == 0 {
                check_against_model(&s, &model);
            }
        }
        check_against_model(&s, &model);
        assert!(
            max_len >= grow_to.min(pool / 2) * 3 / 4,
            "test never grew the set (max {max_len})"
        );
        let min_height = if grow_to >= cap * cap { 2 } else { 1 };
        assert!(
            max_height >= min_height,
            "tree stayed shallow ({max_height})"
        );
    }

    #[test]
    fn randomized_against_model_small_nodes() {
        for seed in 1..=6 {
            run_model_test(seed * 0x9E37_79B9, 4, 20_000, 3000, 1500, false);
        }
        run_model_test(77, 5, 20_000, 3000, 2000, false);
        run_model_test(78, 7, 20_000, 3000, 2000, false);
    }

    #[test]
    fn randomized_against_model_default_nodes() {
        for seed in 11..=13 {
            run_model_test(seed, DEFAULT_NODE_CAP, 40_000, 20_000, 6000, false);
        }
    }

    #[test]
    fn randomized_against_model_lex() {
        run_model_test(21, 4, 20_000, 3000, 1500, true);
        run_model_test(22, 6, 20_000, 3000, 1500, true);
        run_model_test(23, DEFAULT_NODE_CAP, 60_000, 20_000, 5000, true);
    }

    #[test]
    fn randomized_small_pool_heavy_updates() {
        // Few distinct members: mostly updates, removals and empty/refill cycles.
        run_model_test(31, 4, 20_000, 20, 100, false);
        run_model_test(32, DEFAULT_NODE_CAP, 20_000, 60, 100, false);
    }

    // ------------------------------------------------------------------
    // Deterministic behaviour.

    fn set_of(items: &[(&str, f64)]) -> SortedSet {
        let mut s = SortedSet::new();
        for &(m, sc) in items {
            s.insert(m.as_bytes(), sc);
        }
        s
    }

    fn members(s: &SortedSet) -> Vec<String> {
        s.iter()
            .map(|(m, _)| String::from_utf8_lossy(m).into_owned())
            .collect()
    }

    #[test]
    fn basic_insert_update_remove() {
        let mut s = SortedSet::new();
        assert!(s.is_empty());
        assert_eq!(s.score(b"a"), None);
        assert_eq!(s.rank(b"a"), None);
        assert_eq!(s.remove(b"a"), None);
        assert_eq!(s.insert(b"a", 1.0), None);
        assert_eq!(s.insert(b"b", 2.0), None);
        assert_eq!(s.insert(b"c", 0.5), None);
        assert_eq!(s.len(), 3);
        assert_eq!(members(&s), ["c", "a", "b"]);
        assert_eq!(s.insert(b"c", 3.0), Some(0.5));
        assert_eq!(members(&s), ["a", "b", "c"]);
        assert_eq!(s.insert(b"c", 3.0), Some(3.0));
        assert_eq!(s.score(b"c"), Some(3.0));
        assert_eq!(s.rank(b"c"), Some(2));
        assert_eq!(s.get_by_rank(0), Some((&b"a"[..], 1.0)));
        assert_eq!(s.get_by_rank(3), None);
        assert_eq!(s.remove(b"a"), Some(1.0));
        assert_eq!(s.remove(b"a"), None);
        assert_eq!(s.len(), 2);
        assert_eq!(s.remove(b"b"), Some(2.0));
        assert_eq!(s.remove(b"c"), Some(3.0));
        assert!(s.is_empty());
        assert_eq!(s.heap_bytes(), 0);
        check_invariants(&s);
        assert_eq!(s.insert(b"", 7.0), None, "empty member is allowed");
        assert_eq!(s.score(b""), Some(7.0));
        check_invariants(&s);
    }

    #[test]
    fn ties_order_by_member_bytes() {
        let mut s = SortedSet::new();
        for m in [&b"b"[..], b"ab", b"a", b"", b"\xff", b"a\x00", b"B"] {
            s.insert(m, 1.0);
        }
        s.insert(b"z", 0.0);
        let got: Vec<&[u8]> = s.iter().map(|(m, _)| m).collect();
        let expect: Vec<&[u8]> = vec![b"z", b"", b"B", b"a", b"a\x00", b"ab", b"b", b"\xff"];
        assert_eq!(got, expect);
        check_invariants(&s);
    }

    #[test]
    fn negative_zero_equals_zero() {
        let mut s = SortedSet::new();
        s.insert(b"b", -0.0);
        s.insert(b"a", 0.0);
        // -0 and 0 tie, so member order decides.
        assert_eq!(members(&s), ["a", "b"]);
        // Same score by `==`: a no-op that keeps the stored value.
        assert_eq!(s.insert(b"a", -0.0), Some(0.0));
        assert_eq!(s.score(b"a").unwrap().to_bits(), 0.0f64.to_bits());
        let zero = ScoreBound::inclusive(0.0);
        assert_eq!(s.count_in_score_range(zero, zero), 2);
        assert_eq!(s.count_in_score_range(ScoreBound::inclusive(-0.0), zero), 2);
        assert_eq!(
            s.count_in_score_range(ScoreBound::exclusive(-0.0), ScoreBound::POS_INF),
            0
        );
    }

    #[test]
    fn infinite_scores() {
        let s = set_of(&[("x", f64::INFINITY), ("y", f64::NEG_INFINITY), ("z", 0.0)]);
        assert_eq!(members(&s), ["y", "z", "x"]);
        let all = s.count_in_score_range(ScoreBound::NEG_INF, ScoreBound::POS_INF);
        assert_eq!(all, 3);
        let open = s.count_in_score_range(
            ScoreBound::exclusive(f64::NEG_INFINITY),
            ScoreBound::exclusive(f64::INFINITY),
        );
        assert_eq!(open, 1);
        assert_eq!(
            s.first_rank_in_score_range(ScoreBound::POS_INF, ScoreBound::POS_INF),
            Some(2)
        );
    }

    #[test]
    #[should_panic(expected = "NaN")]
    fn nan_score_panics() {
        SortedSet::new().insert(b"a", f64::NAN);
    }

    #[test]
    fn rank_iterators() {
        let s = set_of(&[("a", 1.0), ("b", 2.0), ("c", 3.0), ("d", 4.0)]);
        let fwd: Vec<_> = s.iter_from_rank(1).map(|(m, _)| m[0]).collect();
        assert_eq!(fwd, b"bcd");
        let rev: Vec<_> = s.iter_rev_from_rank(0).map(|(m, _)| m[0]).collect();
        assert_eq!(rev, b"dcba");
        let rev: Vec<_> = s.iter_rev_from_rank(1).map(|(m, _)| m[0]).collect();
        assert_eq!(rev, b"cba");
        assert_eq!(s.iter_from_rank(4).count(), 0);
        assert_eq!(s.iter_from_rank(usize::MAX).count(), 0);
        assert_eq!(s.iter_rev_from_rank(4).count(), 0);
        assert_eq!(s.iter_rev_from_rank(usize::MAX).count(), 0);
        assert_eq!(s.range_by_rank(3, 1).count(), 0);
        assert_eq!(s.range_by_rank(1, 100).len(), 3);
        let mut it = s.iter();
        assert_eq!(it.next().unwrap().0, b"a");
        assert_eq!(it.next_back().unwrap().0, b"d");
        assert_eq!(it.len(), 2);
        assert_eq!(it.next().unwrap().0, b"b");
        assert_eq!(it.next_back().unwrap().0, b"c");
        assert_eq!(it.next(), None);
        assert_eq!(it.next_back(), None);
        let collected: Vec<_> = (&s).into_iter().map(|(_, sc)| sc).collect();
        assert_eq!(collected, [1.0, 2.0, 3.0, 4.0]);
        let empty = SortedSet::new();
        assert_eq!(empty.iter().next(), None);
        assert_eq!(empty.iter_rev_from_rank(0).next(), None);
    }

    #[test]
    fn score_range_helpers() {
        let s = set_of(&[("a", 1.0), ("b", 2.0), ("c", 2.0), ("d", 3.0), ("e", 5.0)]);
        let b = |v: f64, ex: bool| ScoreBound {
            value: v,
            exclusive: ex,
        };
        let q = |min, max| {
            (
                s.first_rank_in_score_range(min, max),
                s.last_rank_in_score_range(min, max),
                s.count_in_score_range(min, max),
            )
        };
        assert_eq!(q(b(2.0, false), b(3.0, false)), (Some(1), Some(3), 3));
        assert_eq!(q(b(2.0, true), b(3.0, false)), (Some(3), Some(3), 1));
        assert_eq!(q(b(2.0, false), b(3.0, true)), (Some(1), Some(2), 2));
        assert_eq!(q(b(2.0, true), b(3.0, true)), (None, None, 0));
        assert_eq!(q(b(3.5, false), b(4.5, false)), (None, None, 0));
        assert_eq!(q(b(6.0, false), b(9.0, false)), (None, None, 0));
        assert_eq!(q(b(-9.0, false), b(0.0, false)), (None, None, 0));
        assert_eq!(q(b(3.0, false), b(2.0, false)), (None, None, 0));
        assert_eq!(q(b(2.0, false), b(2.0, false)), (Some(1), Some(2), 2));
        assert_eq!(q(b(2.0, true), b(2.0, false)), (None, None, 0));
        assert_eq!(
            q(ScoreBound::NEG_INF, ScoreBound::POS_INF),
            (Some(0), Some(4), 5)
        );
        let empty = SortedSet::new();
        assert_eq!(
            empty.first_rank_in_score_range(ScoreBound::NEG_INF, ScoreBound::POS_INF),
            None
        );
        assert_eq!(
            empty.last_rank_in_score_range(ScoreBound::NEG_INF, ScoreBound::POS_INF),
            None
        );
        assert_eq!(
            empty.count_in_score_range(ScoreBound::NEG_INF, ScoreBound::POS_INF),
            0
        );
    }

    #[test]
    fn lex_range_helpers() {
        let s = set_of(&[("a", 0.0), ("b", 0.0), ("c", 0.0), ("d", 0.0), ("e", 0.0)]);
        let p = |a: &str| LexBound::parse(a.as_bytes()).unwrap();
        let q = |min: &str, max: &str| {
            let (min, max) = (p(min), p(max));
            (
                s.first_rank_in_lex_range(&min, &max),
                s.last_rank_in_lex_range(&min, &max),
                s.count_in_lex_range(&min, &max),
            )
        };
        assert_eq!(q("-", "+"), (Some(0), Some(4), 5));
        assert_eq!(q("[b", "[d"), (Some(1), Some(3), 3));
        assert_eq!(q("(b", "(d"), (Some(2), Some(2), 1));
        assert_eq!(q("[bb", "+"), (Some(2), Some(4), 3));
        assert_eq!(q("-", "(a"), (None, None, 0));
        assert_eq!(q("(e", "+"), (None, None, 0));
        assert_eq!(q("[d", "[b"), (None, None, 0));
        assert_eq!(q("[c", "[c"), (Some(2), Some(2), 1));
        assert_eq!(q("(c", "[c"), (None, None, 0));
        assert_eq!(q("+", "+"), (None, None, 0));
        assert_eq!(q("-", "-"), (None, None, 0));
        assert_eq!(q("+", "-"), (None, None, 0));
        assert_eq!(q("[", "+"), (Some(0), Some(4), 5));
        assert_eq!(q("(", "+"), (Some(0), Some(4), 5));
        assert_eq!(q("-", "["), (None, None, 0));
    }

    #[test]
    fn remove_rank_range_paths() {
        for cap in [4, DEFAULT_NODE_CAP] {
            for (start, end) in [
                (0, 0),
                (10, 20),
                (0, 499),
                (100, 5000),
                (250, 999),
                (999, 999),
                (3, 2),
                (1000, 2000),
            ] {
                let mut s = SortedSet::with_node_cap(cap);
                let mut model = Model::default();
                for i in 0..1000 {
                    let m = format!("k{i}").into_bytes();
                    let sc = (i % 37) as f64;
                    s.insert(&m, sc);
                    model.insert(&m, sc);
                }
                let expect = if start <= end && start < 1000 {
                    model.v.drain(start..=end.min(999)).count()
                } else {
                    0
                };
                assert_eq!(s.remove_rank_range(start, end), expect);
                check_against_model(&s, &model);
                // Still fully usable afterwards.
                for i in 0..300 {
                    let m = format!("n{i}").into_bytes();
                    s.insert(&m, i as f64);
                    model.insert(&m, i as f64);
                }
                check_against_model(&s, &model);
            }
        }
        let mut s = set_of(&[("a", 1.0), ("b", 2.0)]);
        assert_eq!(s.remove_rank_range(0, usize::MAX), 2);
        assert!(s.is_empty());
        check_invariants(&s);
        assert_eq!(s.remove_rank_range(0, 0), 0);
    }

    #[test]
    fn pop_min_max() {
        let mut s = set_of(&[("a", 1.0), ("b", 2.0), ("c", 3.0)]);
        assert_eq!(s.pop_min(), Some((b"a".to_vec().into_boxed_slice(), 1.0)));
        assert_eq!(s.pop_max(), Some((b"c".to_vec().into_boxed_slice(), 3.0)));
        assert_eq!(s.pop_max(), Some((b"b".to_vec().into_boxed_slice(), 2.0)));
        assert_eq!(s.pop_min(), None);
        assert_eq!(s.pop_max(), None);
        check_invariants(&s);
    }

    #[test]
    fn clone_is_independent_and_debug_is_short() {
        let mut a = SortedSet::new();
        for i in 0..100 {
            a.insert(format!("m{i:03}").as_bytes(), f64::from(i));
        }
        let b = a.clone();
        a.remove(b"m000");
        assert_eq!(a.len(), 99);
        assert_eq!(b.len(), 100);
        assert_eq!(b.rank(b"m050"), Some(50));
        assert_eq!(b.score(b"m000"), Some(0.0));
        check_invariants(&a);
        check_invariants(&b);
        let d = format!("{b:?}");
        assert!(d.starts_with("SortedSet(len=100) {\"m000\": 0.0,"), "{d}");
        assert!(d.ends_with(", ..}"), "{d}");
        assert!(d.len() < 200, "{d}");
        let small = set_of(&[("x\n", 1.5)]);
        assert_eq!(format!("{small:?}"), "SortedSet(len=1) {\"x\\n\": 1.5}");
        assert_eq!(format!("{:?}", SortedSet::default()), "SortedSet(len=0) {}");
    }

    #[test]
    fn sequential_loads_pack_leaves() {
        for descending in [false, true] {
            let mut s = SortedSet::new();
            let n = 64 * 100;
            for i in 0..n {
                let v = if descending { n - i } else { i };
                s.insert(format!("{v:08}").as_bytes(), v as f64);
            }
            check_invariants(&s);
            let leaves = s.ids_in_order().len();
            assert_eq!(leaves, n);
            let mut leaf_count = 0;
            let mut leaf = s.head;
            while leaf != NIL {
                leaf_count += 1;
                leaf = s.node(leaf).next;
            }
            assert!(
                leaf_count <= n / 64 + 2,
                "{leaf_count} leaves for {n} (descending={descending})"
            );
        }
    }

    #[test]
    fn pop_min_queue_workload_stays_compact() {
        // Timestamps appended at the end and popped from the front.
        let mut s = SortedSet::new();
        let mut next = 0u64;
        for _ in 0..20_000 {
            s.insert(format!("t{next}").as_bytes(), next as f64);
            next += 1;
        }
        for round in 0..50_000u64 {
            s.insert(format!("t{next}").as_bytes(), next as f64);
            next += 1;
            let (m, sc) = s.pop_min().unwrap();
            assert_eq!(sc, (round) as f64);
            assert_eq!(&*m, format!("t{round}").as_bytes());
        }
        check_invariants(&s);
        let live_nodes = s.nodes.len() - s.free_nodes.len();
        assert!(live_nodes < 20_000 / 16, "{live_nodes} nodes");
    }

    #[test]
    fn shrink_to_fit_and_heap_bytes() {
        let mut s = SortedSet::new();
        assert_eq!(s.heap_bytes(), 0);
        for i in 0..10_000 {
            s.insert(format!("member-{i:013}").as_bytes(), f64::from(i % 977));
        }
        let full = s.heap_bytes();
        assert!(full > 10_000 * 50 && full < 10_000 * 200, "{full}");
        for i in 0..9_000 {
            s.remove(format!("member-{i:013}").as_bytes());
        }
        let before = s.heap_bytes();
        let expect = contents(&s);
        s.shrink_to_fit();
        check_invariants(&s);
        assert!(same_elems(&contents(&s), &expect));
        let after = s.heap_bytes();
        assert!(after < before / 3, "{after} vs {before}");
        s.clear();
        assert_eq!(s.heap_bytes(), 0);
        assert!(s.is_empty());
    }

    // ------------------------------------------------------------------
    // Parsing.

    fn sb(s: &str) -> Option<(u64, bool)> {
        ScoreBound::parse(s.as_bytes()).map(|b| (b.value.to_bits(), b.exclusive))
    }

    fn inc(v: f64) -> Option<(u64, bool)> {
        Some((v.to_bits(), false))
    }

    fn exc(v: f64) -> Option<(u64, bool)> {
        Some((v.to_bits(), true))
    }

    #[test]
    fn score_bound_parse() {
        assert_eq!(sb("1.5"), inc(1.5));
        assert_eq!(sb("(1.5"), exc(1.5));
        assert_eq!(sb("-inf"), inc(f64::NEG_INFINITY));
        assert_eq!(sb("+inf"), inc(f64::INFINITY));
        assert_eq!(sb("inf"), inc(f64::INFINITY));
        assert_eq!(sb("(-inf"), exc(f64::NEG_INFINITY));
        assert_eq!(sb("(+inf"), exc(f64::INFINITY));
        assert_eq!(sb("INF"), inc(f64::INFINITY));
        assert_eq!(sb("-Infinity"), inc(f64::NEG_INFINITY));
        assert_eq!(sb("infinit"), None);
        assert_eq!(sb("infx"), None);
        assert_eq!(sb("nan"), None);
        assert_eq!(sb("(nan"), None);
        assert_eq!(sb("-NaN"), None);
        assert_eq!(sb("nan(123)"), None);
        assert_eq!(sb("10"), inc(10.0));
        assert_eq!(sb("-0"), inc(-0.0));
        assert_eq!(sb("(0"), exc(0.0));
        assert_eq!(sb("1e3"), inc(1000.0));
        assert_eq!(sb("1E+3"), inc(1000.0));
        assert_eq!(sb("2.5e-1"), inc(0.25));
        assert_eq!(sb(".5"), inc(0.5));
        assert_eq!(sb("5."), inc(5.0));
        assert_eq!(sb("1.e2"), inc(100.0));
        assert_eq!(sb("+.5"), inc(0.5));
        assert_eq!(sb("-.5e1"), inc(-5.0));
        assert_eq!(sb("0.1"), inc(0.1));
        assert_eq!(sb("1e400"), inc(f64::INFINITY));
        assert_eq!(sb("-1e400"), inc(f64::NEG_INFINITY));
        assert_eq!(sb("1e-400"), inc(0.0));
        assert_eq!(sb("1e99999999999999999999999"), inc(f64::INFINITY));
        assert_eq!(sb("0e99999999999999999999999"), inc(0.0));
        assert_eq!(sb("4.9406564584124654e-324"), inc(f64::from_bits(1)));
        assert_eq!(sb("1.7976931348623157e308"), inc(f64::MAX));
        assert_eq!(sb("1.8e308"), inc(f64::INFINITY));
        assert_eq!(sb("  1.5"), inc(1.5));
        assert_eq!(sb("\t\n\x0b\x0c\r-2"), inc(-2.0));
        assert_eq!(sb("( 3"), exc(3.0));
        assert_eq!(sb("1.5 "), None);
        assert_eq!(sb(" "), None);
        assert_eq!(sb("( "), None);
        assert_eq!(sb(""), inc(0.0));
        assert_eq!(sb("("), exc(0.0));
        assert_eq!(sb("(("), None);
        assert_eq!(sb("((1"), None);
        assert_eq!(sb("[1"), None);
        assert_eq!(sb("abc"), None);
        assert_eq!(sb("-"), None);
        assert_eq!(sb("+"), None);
        assert_eq!(sb("."), None);
        assert_eq!(sb("-."), None);
        assert_eq!(sb("e5"), None);
        assert_eq!(sb("1e"), None);
        assert_eq!(sb("1e+"), None);
        assert_eq!(sb("1e+-3"), None);
        assert_eq!(sb("1.2.3"), None);
        assert_eq!(sb("1_000"), None);
        assert_eq!(sb("--1"), None);
        assert_eq!(sb("+-1"), None);
        assert_eq!(sb("\u{a0}1"), None);
        assert_eq!(sb("١"), None);
        // The C string ends at the first NUL byte.
        assert_eq!(sb("1\0abc"), inc(1.0));
        assert_eq!(sb("\0"), inc(0.0));
        assert_eq!(sb("(2\0x"), exc(2.0));
        // Hexadecimal floats.
        assert_eq!(sb("0x10"), inc(16.0));
        assert_eq!(sb("0X1P-2"), inc(0.25));
        assert_eq!(sb("0x.8"), inc(0.5));
        assert_eq!(sb("0x1."), inc(1.0));
        assert_eq!(sb("-0x1.8p1"), inc(-3.0));
        assert_eq!(sb("(0xAp+1"), exc(20.0));
        assert_eq!(sb("0x"), None);
        assert_eq!(sb("0x."), None);
        assert_eq!(sb("0x.p1"), None);
        assert_eq!(sb("0xg"), None);
        assert_eq!(sb("0x1p"), None);
        assert_eq!(sb("0x1p+"), None);
        assert_eq!(sb("0x1.2.3"), None);
        assert_eq!(sb("0x1e"), inc(30.0));
        assert_eq!(sb("0x1p99999999999999999999"), inc(f64::INFINITY));
        assert_eq!(sb("0x1p-99999999999999999999"), inc(0.0));
    }

    #[test]
    fn hex_float_rounding() {
        let hx = |s: &str| parse_c_double(s.as_bytes()).unwrap();
        assert_eq!(hx("0x1p-1074"), f64::from_bits(1));
        assert_eq!(hx("0x1p-1075"), 0.0, "tie rounds to even (zero)");
        assert_eq!(hx("0x1.0000001p-1075"), f64::from_bits(1));
        assert_eq!(hx("0x3p-1076"), f64::from_bits(1));
        assert_eq!(
            hx("0x3p-1075"),
            f64::from_bits(2),
            "1.5 ulp tie rounds to even"
        );
        assert_eq!(hx("0x1p-1076"), 0.0);
        assert_eq!(hx("0x0.0000000000001p-1022"), f64::from_bits(1));
        assert_eq!(hx("0x1p-1022"), f64::MIN_POSITIVE);
        assert_eq!(hx("0x1.fffffffffffffp-1023"), f64::MIN_POSITIVE);
        assert_eq!(hx("0x1.ffffffffffffep-1023"), f64::from_bits((1 << 52) - 1));
        assert_eq!(hx("0x1.fffffffffffffp1023"), f64::MAX);
        assert_eq!(hx("0x1.fffffffffffff7ffffp1023"), f64::MAX);
        assert_eq!(hx("0x1.fffffffffffff8p1023"), f64::INFINITY);
        assert_eq!(hx("0x1p1023"), 2f64.powi(1023));
        assert_eq!(hx("0x1p1024"), f64::INFINITY);
        assert_eq!(hx("0x1.00000000000008p0"), 1.0, "tie to even, down");
        assert_eq!(
            hx("0x1.00000000000018p0"),
            1.0 + 2.0 * f64::EPSILON,
            "tie to even, up"
        );
        assert_eq!(
            hx("0x1.000000000000080000000001p0"),
            1.0 + f64::EPSILON,
            "sticky bit"
        );
        assert_eq!(hx("0x00000000000000000000001p0"), 1.0);
        assert_eq!(hx("0x0.000000000000000000000001p96"), 1.0);
        assert_eq!(hx("0x0p0"), 0.0);
        assert_eq!(hx("-0x0").to_bits(), (-0.0f64).to_bits());

        // Random integers and fractions against u128 -> f64 conversion,
        // which rounds to nearest even.
        let mut rng = SeededRng::new(99);
        for _ in 0..20_000 {
            let bits = rng.below(129) as u32;
            let x: u128 = (u128::from(rng.next()) << 64 | u128::from(rng.next()))
                .checked_shr(128 - bits)
                .unwrap_or(0);
            let digits = format!("{x:x}");
            let frac = rng.below(digits.len() + 1);
            let shift = rng.below(200) as i32 - 100;
            let (int_part, frac_part) = digits.split_at(digits.len() - frac);
            let text = format!("0x{int_part}.{frac_part}p{shift}");
            let expect = x as f64 * 2f64.powi(shift - 4 * frac as i32);
            assert_eq!(hx(&text), expect, "{text}");
        }
    }

    /// Differential test against the C library's `strtod`, run through the
    /// same steps as Redis's `zslParseRange`.
    #[cfg(target_os = "linux")]
    #[test]
    fn score_bound_parse_matches_libc_strtod() {
        use std::ffi::c_char;
        unsafe extern "C" {
            fn strtod(s: *const c_char, end: *mut *mut c_char) -> f64;
        }
        fn redis_parse(arg: &[u8]) -> Option<(u64, bool)> {
            let mut buf = arg.to_vec();
            buf.push(0);
            let (start, exclusive) = if buf[0] == b'(' {
                (1, true)
            } else {
                (0, false)
            };
            let mut end: *mut c_char = std::ptr::null_mut();
            // SAFETY: `buf` is NUL-terminated and outlives the call; `end`
            // points into `buf` afterwards.
            let value = unsafe { strtod(buf.as_ptr().add(start).cast(), &mut end) };
            // SAFETY: strtod sets `end` to a position inside `buf`.
            let stop = unsafe { *end };
            (stop == 0 && !value.is_nan()).then_some((value.to_bits(), exclusive))
        }
        let pieces: [&str; 32] = [
            "0",
            "1",
            "9",
            "5",
            ".",
            "e",
            "E",
            "-",
            "+",
            "(",
            " ",
            "\t",
            "x",
            "X",
            "p",
            "a",
            "f",
            "inf",
            "INF",
            "inity",
            "nan",
            "n",
            "\0",
            "123456789",
            "0x",
            "1e308",
            "e-",
            "00000000000000000001",
            "7e-324",
            "z",
            "(0x",
            "P",
        ];
        let mut rng = SeededRng::new(4242);
        let mut accepted = 0;
        for _ in 0..200_000 {
            let n = rng.below(6);
            let mut s = String::new();
            for _ in 0..n {
                s.push_str(pieces[rng.below(pieces.len())]);
            }
            let got = ScoreBound::parse(s.as_bytes()).map(|b| (b.value.to_bits(), b.exclusive));
            let expect = redis_parse(s.as_bytes());
            assert_eq!(got, expect, "{s:?}");
            accepted += usize::from(got.is_some());
        }
        assert!(accepted > 10_000, "{accepted}");
        // Random decimal numbers.
        for _ in 0..50_000 {
            let s = format!(
                "{}{}.{}e{}",
                if rng.chance(50) { "-" } else { "" },
                rng.next() >> rng.below(64),
                rng.next() >> rng.below(64),
                rng.below(700) as i32 - 350
            );
            let got = ScoreBound::parse(s.as_bytes()).map(|b| (b.value.to_bits(), b.exclusive));
            assert_eq!(got, redis_parse(s.as_bytes()), "{s:?}");
        }
    }

    #[test]
    fn lex_bound_parse() {
        use LexBound::*;
        assert_eq!(LexBound::parse(b"-"), Some(NegInf));
        assert_eq!(LexBound::parse(b"+"), Some(PosInf));
        assert_eq!(LexBound::parse(b"[abc"), Some(Inclusive(b"abc".to_vec())));
        assert_eq!(LexBound::parse(b"(abc"), Some(Exclusive(b"abc".to_vec())));
        assert_eq!(LexBound::parse(b"["), Some(Inclusive(Vec::new())));
        assert_eq!(LexBound::parse(b"("), Some(Exclusive(Vec::new())));
        assert_eq!(LexBound::parse(b"[a\0b"), Some(Inclusive(b"a\0b".to_vec())));
        assert_eq!(LexBound::parse(b"(("), Some(Exclusive(b"(".to_vec())));
        assert_eq!(LexBound::parse(b""), None);
        assert_eq!(LexBound::parse(b"abc"), None);
        assert_eq!(LexBound::parse(b"+a"), None);
        assert_eq!(LexBound::parse(b"-a"), None);
        assert_eq!(LexBound::parse(b"--"), None);
        assert_eq!(LexBound::parse(b"-inf"), None);
        assert_eq!(LexBound::parse(b" ["), None);
        // As in C, a NUL ends the string after `+` or `-`.
        assert_eq!(LexBound::parse(b"+\0x"), Some(PosInf));
        assert_eq!(LexBound::parse(b"-\0"), Some(NegInf));
    }

    // ------------------------------------------------------------------
    // Timing (run with `cargo test --release -- --ignored --nocapture`).

    fn rss_bytes() -> Option<usize> {
        let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
        let pages: usize = statm.split_whitespace().nth(1)?.parse().ok()?;
        Some(pages * 4096)
    }

    #[test]
    #[ignore]
    fn timing_1m() {
        const N: usize = 1_000_000;
        let mut rng = SeededRng::new(0x2545_F491_4F6C_DD1D);
        let members: Vec<Vec<u8>> = (0..N)
            .map(|i| {
                format!("member-{:013}", rng.next() % 10_000_000_000_000 + i as u64).into_bytes()
            })
            .collect();
        assert!(members.iter().all(|m| m.len() == 20));
        let scores: Vec<f64> = (0..N)
            .map(|_| (rng.next() >> 11) as f64 / (1u64 << 53) as f64 * 1e9)
            .collect();
        let lookups: Vec<usize> = (0..N).map(|_| rng.below(N)).collect();
        let per_op = |t: Instant| t.elapsed().as_nanos() as f64 / N as f64;

        let rss0 = rss_bytes();
        let mut s = SortedSet::new();
        let t = Instant::now();
        for (m, &sc) in members.iter().zip(&scores) {
            s.insert(m, sc);
        }
        let insert_ns = per_op(t);
        let rss1 = rss_bytes();
        let len = s.len();

        // Baseline: what the harness itself pays to fetch a random key.
        let t = Instant::now();
        let mut acc = 0usize;
        for &i in &lookups {
            acc = acc.wrapping_add(usize::from(members[i][19]));
        }
        let key_ns = per_op(t);
        black_box(acc);

        let t = Instant::now();
        for &i in &lookups {
            acc = acc.wrapping_add(s.rank(&members[i]).unwrap());
        }
        let rank_ns = per_op(t);
        black_box(acc);

        let t = Instant::now();
        let mut sum = 0.0;
        for &i in &lookups {
            sum += s.score(&members[i]).unwrap();
        }
        let score_ns = per_op(t);
        black_box(sum);

        let t = Instant::now();
        for &i in &lookups {
            sum += s.get_by_rank(i % len).unwrap().1;
        }
        let by_rank_ns = per_op(t);
        black_box(sum);

        let t = Instant::now();
        for &i in &lookups {
            let sc = scores[i];
            acc = acc.wrapping_add(
                s.count_in_score_range(ScoreBound::inclusive(sc), ScoreBound::inclusive(sc + 1e6)),
            );
        }
        let count_ns = per_op(t);
        black_box(acc);

        let t = Instant::now();
        for (m, sc) in s.iter() {
            acc = acc.wrapping_add(m.len());
            sum += sc;
        }
        let iter_ns = per_op(t);
        black_box((acc, sum));

        let heap = s.heap_bytes();
        let t = Instant::now();
        for (i, m) in members.iter().enumerate() {
            s.insert(m, scores[N - 1 - i]);
        }
        let update_ns = per_op(t);

        let t = Instant::now();
        for m in &members {
            s.remove(m);
        }
        let remove_ns = per_op(t);
        assert!(s.is_empty());

        let mut seq = SortedSet::new();
        for (i, m) in members.iter().enumerate() {
            seq.insert(m, i as f64);
        }
        let seq_heap = seq.heap_bytes();

        println!("sorted set, {N} members of 20 bytes, random scores:");
        println!("  (fetch random key, harness baseline: {key_ns:.0} ns)");
        println!("  insert          {insert_ns:7.0} ns/op");
        println!("  rank            {rank_ns:7.0} ns/op (random member)");
        println!("  score           {score_ns:7.0} ns/op");
        println!("  get_by_rank     {by_rank_ns:7.0} ns/op");
        println!("  count_in_range  {count_ns:7.0} ns/op");
        println!("  iterate         {iter_ns:7.1} ns/element");
        println!("  update score    {update_ns:7.0} ns/op");
        println!("  remove          {remove_ns:7.0} ns/op");
        println!(
            "  heap_bytes      {:7.1} bytes/member (random scores)",
            heap as f64 / N as f64
        );
        println!(
            "  heap_bytes      {:7.1} bytes/member (ascending scores)",
            seq_heap as f64 / N as f64
        );
        if let (Some(a), Some(b)) = (rss0, rss1) {
            println!(
                "  RSS growth      {:7.1} bytes/member (random scores)",
                b.saturating_sub(a) as f64 / N as f64
            );
        }
    }

    #[test]
    fn ids_are_stable_positions_for_scans() {
        let mut set = SortedSet::new();
        for i in 0..10u8 {
            set.insert(&[i], f64::from(i));
        }
        set.remove(&[3]);
        set.insert(&[5], 100.0);
        let live: Vec<u8> = (0..set.id_bound())
            .filter_map(|id| set.member_by_id(id))
            .map(|(m, _)| m[0])
            .collect();
        assert_eq!(live.len(), 9);
        assert!(!live.contains(&3));
        assert_eq!(set.member_by_id(5).map(|(_, s)| s), Some(100.0));
        // A freed slot holds an empty member, which must not read as the real one.
        set.insert(b"", 1.0);
        set.remove(&[7]);
        let empties = (0..set.id_bound())
            .filter_map(|id| set.member_by_id(id))
            .filter(|(m, _)| m.is_empty())
            .count();
        assert_eq!(empties, 1);
    }
}
