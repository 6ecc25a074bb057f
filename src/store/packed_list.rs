//! `PackedList`: a compact list of byte strings, the storage behind Redis list
//! values (LPUSH/RPUSH/LPOP/RPOP/BRPOP, LRANGE, LINDEX, LSET, LINSERT, LREM,
//! LTRIM, LPOS).
//!
//! # Layout
//!
//! The list is a `VecDeque` of *chunks*. A chunk is one heap buffer holding a
//! run of consecutive elements packed back to back, plus a 32-byte header
//! (the buffer's `Vec`, the offset of the first live byte and the number of
//! entries in the chunk). Each element is stored as
//!
//! ```text
//! [len as LEB128 varint][payload bytes][the same varint, bytes reversed]
//! ```
//!
//! The leading varint lets a reader step forward over an entry; the trailing,
//! byte-reversed copy lets a reader standing just past an entry step
//! backwards over it (the last byte of the entry is the low 7-bit group, its
//! high bit says whether more groups follow to the left). So a chunk can be
//! walked from either end without any per-entry side table. A 100-byte
//! element costs 102 bytes, a 1 KiB element 1028 bytes.
//!
//! Chunks hold at most [`DEFAULT_CHUNK_BYTES`] (8 KiB, the same budget as
//! Redis's default `list-max-listpack-size -2`) of encoded entries. An
//! element whose encoding alone exceeds the budget gets a chunk of its own.
//! Because each chunk knows its entry count, positional access skips whole
//! chunks from whichever end of the list is closer and then walks at most
//! half a chunk from whichever end of that chunk is closer.
//!
//! # Why this shape
//!
//! * **Memory.** A `VecDeque<Vec<u8>>` spends 24 bytes of header plus
//!   allocator rounding on every element. Here the per-element overhead is
//!   the two varints (2 bytes for elements shorter than 128 bytes), and the
//!   per-chunk overhead (header + `VecDeque` slot) is amortised over ~80
//!   elements of 100 bytes. Interior chunks are always kept at exact
//!   capacity: when a chunk stops being the first or last chunk it is
//!   *sealed* (its bytes moved to offset 0 and the buffer shrunk to fit), and
//!   every interior edit rebuilds the chunk into an exact-size allocation.
//!   Only the two end chunks may carry slack, which is what makes pushes
//!   cheap. 1M pushes of 100-byte elements come to about 102.5 bytes of heap
//!   capacity per element (see the `memory_per_100_byte_element` test).
//! * **Queue speed.** Celery producers LPUSH at the head and workers BRPOP at
//!   the tail. When a list already spans more than one chunk, a new head chunk
//!   is allocated once, sized for a whole number of entries like the one being
//!   pushed (7 x 1028 B for 1 KiB messages, 80 x 102 B for 100 B ones), with
//!   its data right-aligned. Prepending is then a plain copy into the free
//!   space in front of the data (no memmove, no realloc), and with
//!   similar-sized messages the chunk ends up exactly full, so sealing it is
//!   free. (If a smaller entry leaves room, the chunk is regrown once to the
//!   full budget.) Popping at the tail only truncates the tail chunk; an
//!   emptied chunk is simply dropped from the deque. Small lists (a single
//!   chunk) instead start exact-size and grow their one buffer geometrically
//!   (x1.5, up to the budget), so a three-element list does not pin 8 KiB.
//!   If one end runs out of room while the other end of the same buffer has
//!   free space, the bytes are shifted inside the buffer (a bounded memmove).
//! * **Shrinking.** After pops or trims, an end chunk whose capacity is four
//!   times (plus a little) its live bytes is compacted to exact size, so a
//!   drained list gives memory back; the 1.5x growth / 4x shrink gap keeps
//!   this from thrashing.
//! * **Edits in the middle** (LSET with a different length, LINSERT, LREM,
//!   remove by index) rewrite one chunk (at most ~8 KiB of copying), split it
//!   into balanced pieces when it outgrows the budget, and merge it with its
//!   neighbours when the combination fits in one chunk, so chunks never
//!   fragment into many tiny allocations.
//!
//! `heap_bytes` reports capacity actually held (chunk buffers plus the
//! `VecDeque` of chunk headers); allocator bookkeeping is not included.

use std::collections::VecDeque;
use std::fmt;
use std::iter::FusedIterator;

/// Default byte budget of one chunk (encoded entries), mirroring Redis's
/// `list-max-listpack-size -2`.
pub const DEFAULT_CHUNK_BYTES: usize = 8 * 1024;

/// Largest budget accepted by [`PackedList::with_chunk_bytes`]; keeps chunk
/// offsets and counts within `u32`.
pub const MAX_CHUNK_BYTES: usize = 1 << 30;

// ---------------------------------------------------------------------------
// Entry encoding
// ---------------------------------------------------------------------------

/// Number of bytes of the LEB128 encoding of `n`.
#[inline]
fn varint_len(mut n: usize) -> usize {
    let mut len = 1;
    while n >= 0x80 {
        n >>= 7;
        len += 1;
    }
    len
}

/// Encoded size of an entry whose payload is `payload` bytes long.
#[inline]
fn entry_size(payload: usize) -> usize {
    payload + 2 * varint_len(payload)
}

/// LEB128 encoding of `n` (low group first); returns the bytes and their count.
#[inline]
fn encode_varint(mut n: usize) -> ([u8; 10], usize) {
    let mut out = [0u8; 10];
    let mut i = 0;
    loop {
        let group = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out[i] = group;
            return (out, i + 1);
        }
        out[i] = group | 0x80;
        i += 1;
    }
}

/// Writes the whole entry for `v` into `dst`, which must be exactly
/// `entry_size(v.len())` bytes long.
#[inline]
fn write_entry(dst: &mut [u8], v: &[u8]) {
    let (hdr, n) = encode_varint(v.len());
    dst[..n].copy_from_slice(&hdr[..n]);
    dst[n..n + v.len()].copy_from_slice(v);
    for (d, s) in dst[n + v.len()..].iter_mut().zip(hdr[..n].iter().rev()) {
        *d = *s;
    }
}

/// Appends the whole entry for `v` to `buf` (callers reserve room first).
#[inline]
fn append_entry(buf: &mut Vec<u8>, v: &[u8]) {
    let (hdr, n) = encode_varint(v.len());
    buf.extend_from_slice(&hdr[..n]);
    buf.extend_from_slice(v);
    buf.extend(hdr[..n].iter().rev());
}

/// Decodes the entry that starts at `pos`.
/// Returns `(payload_start, payload_len, entry_end)`.
#[inline]
fn decode_fwd(buf: &[u8], pos: usize) -> (usize, usize, usize) {
    let mut len = 0usize;
    let mut shift = 0;
    let mut p = pos;
    loop {
        let b = buf[p];
        p += 1;
        len |= usize::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    let n = p - pos;
    (p, len, p + len + n)
}

/// Decodes the entry that ends just before `end`.
/// Returns `(entry_start, payload_start, payload_len)`.
#[inline]
fn decode_bwd(buf: &[u8], end: usize) -> (usize, usize, usize) {
    let mut len = 0usize;
    let mut shift = 0;
    let mut p = end;
    loop {
        p -= 1;
        let b = buf[p];
        len |= usize::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    let n = end - p;
    let payload = p - len;
    (payload - n, payload, len)
}

// ---------------------------------------------------------------------------
// Chunk
// ---------------------------------------------------------------------------

/// One allocation holding `count` consecutive encoded entries in
/// `buf[start..]`. `buf[..start]` is free room for prepending and
/// `buf.capacity() - buf.len()` is free room for appending.
#[derive(Default)]
struct Chunk {
    buf: Vec<u8>,
    start: u32,
    count: u32,
}

impl Chunk {
    /// A chunk holding a copy of `data` in an exact-size allocation.
    fn exact(data: &[u8], count: usize) -> Chunk {
        Chunk {
            buf: data.to_vec(),
            start: 0,
            count: count as u32,
        }
    }

    #[inline]
    fn start(&self) -> usize {
        self.start as usize
    }

    #[inline]
    fn used(&self) -> usize {
        self.buf.len() - self.start()
    }

    #[inline]
    fn data(&self) -> &[u8] {
        &self.buf[self.start()..]
    }

    /// Moves the live bytes to offset 0 and drops all spare capacity.
    fn seal(&mut self) {
        let start = self.start();
        if start > 0 {
            let end = self.buf.len();
            self.buf.copy_within(start..end, 0);
            self.buf.truncate(end - start);
            self.start = 0;
        }
        self.buf.shrink_to_fit();
    }

    /// Compacts an end chunk that has become mostly empty.
    #[inline]
    fn maybe_shrink(&mut self) {
        let used = self.used();
        if self.buf.capacity() >= 4 * used + 64 {
            self.buf = self.data().to_vec();
            self.start = 0;
        }
    }

    /// Shifts the live bytes inside the current allocation so they begin at
    /// `new_start`. `new_start + used` must not exceed the capacity.
    fn reposition(&mut self, new_start: usize) {
        let start = self.start();
        let used = self.used();
        debug_assert!(new_start + used <= self.buf.capacity());
        if new_start > start {
            // Capacity suffices, so this never reallocates.
            self.buf.resize(new_start + used, 0);
            self.buf.copy_within(start..start + used, new_start);
        } else if new_start < start {
            self.buf.copy_within(start..start + used, new_start);
            self.buf.truncate(new_start + used);
        }
        self.start = new_start as u32;
    }

    /// Moves the live bytes into a fresh allocation of exactly `new_cap`
    /// bytes, beginning at `new_start`.
    fn regrow(&mut self, new_cap: usize, new_start: usize) {
        debug_assert!(new_start + self.used() <= new_cap);
        let mut buf = Vec::with_capacity(new_cap);
        buf.resize(new_start, 0);
        buf.extend_from_slice(self.data());
        self.buf = buf;
        self.start = new_start as u32;
    }

    /// Makes `need` bytes of room at one end of an end chunk that may grow to
    /// `cap`: slides the live bytes inside the buffer when it has that much spare,
    /// else regrows it (by half again when it is the list's `single` chunk, to
    /// `cap` at once otherwise, as an end chunk of several fills up anyway).
    /// `start_with_spare(free)` is where the live bytes begin when `free` bytes
    /// of the buffer are spare; it decides which end the room goes to.
    #[inline]
    fn make_room(
        &mut self,
        need: usize,
        cap: usize,
        single: bool,
        start_with_spare: impl Fn(usize) -> usize,
    ) {
        let used = self.used();
        let free = self.buf.capacity() - used;
        if free >= need {
            self.reposition(start_with_spare(free));
        } else {
            let new_cap = if single {
                (self.buf.capacity() * 3 / 2).max(used + need).min(cap)
            } else {
                cap
            };
            self.regrow(new_cap, start_with_spare(new_cap - used));
        }
    }

    /// Absolute byte range `[start, end)` of entry `k` (0-based in the chunk),
    /// walking from whichever end of the chunk is closer.
    fn entry_bounds(&self, k: usize) -> (usize, usize) {
        let count = self.count as usize;
        debug_assert!(k < count);
        if k < count / 2 {
            let mut pos = self.start();
            for _ in 0..k {
                pos = decode_fwd(&self.buf, pos).2;
            }
            (pos, decode_fwd(&self.buf, pos).2)
        } else {
            let mut end = self.buf.len();
            for _ in 0..count - 1 - k {
                end = decode_bwd(&self.buf, end).0;
            }
            (decode_bwd(&self.buf, end).0, end)
        }
    }

    /// Replaces the entry bytes in `[s, e)` with `insert` (an encoded entry
    /// or nothing), producing an exact-size allocation.
    fn rebuild_replacing(&mut self, s: usize, e: usize, v: Option<&[u8]>) {
        let extra = v.map_or(0, |v| entry_size(v.len()));
        let mut buf = Vec::with_capacity(self.used() - (e - s) + extra);
        buf.extend_from_slice(&self.buf[self.start()..s]);
        if let Some(v) = v {
            append_entry(&mut buf, v);
        }
        buf.extend_from_slice(&self.buf[e..]);
        self.buf = buf;
        self.start = 0;
    }
}

// ---------------------------------------------------------------------------
// PackedList
// ---------------------------------------------------------------------------

/// A list of byte strings stored as a deque of packed chunks. See the module
/// documentation for the layout.
pub struct PackedList {
    chunks: VecDeque<Chunk>,
    len: usize,
    chunk_bytes: u32,
}

impl PackedList {
    /// An empty list with the default 8 KiB chunk budget. Does not allocate.
    pub fn new() -> Self {
        Self::with_chunk_bytes(DEFAULT_CHUNK_BYTES)
    }

    /// An empty list whose chunks hold at most `bytes` bytes of encoded
    /// entries (clamped to `1..=MAX_CHUNK_BYTES`). Elements larger than the
    /// budget still fit; each gets a chunk of its own.
    pub fn with_chunk_bytes(bytes: usize) -> Self {
        PackedList {
            chunks: VecDeque::new(),
            len: 0,
            chunk_bytes: bytes.clamp(1, MAX_CHUNK_BYTES) as u32,
        }
    }

    /// Number of elements.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the list has no elements.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Removes every element and frees all memory.
    pub fn clear(&mut self) {
        self.chunks = VecDeque::new();
        self.len = 0;
    }

    /// Bytes of heap capacity held: every chunk buffer plus the deque of
    /// chunk headers (allocator bookkeeping not included).
    pub fn heap_bytes(&self) -> usize {
        self.chunks.capacity() * std::mem::size_of::<Chunk>()
            + self.chunks.iter().map(|c| c.buf.capacity()).sum::<usize>()
    }

    /// Bytes the list's allocations take in jemalloc's size classes: the deque of
    /// chunk headers, plus the chunk buffers. The two end chunks, which may carry
    /// room to grow, are always measured; of the others, only the first `samples`
    /// are, and the rest assumed to cost as much per element (Redis's `MEMORY
    /// USAGE` samples a quicklist's nodes likewise).
    pub fn allocated_bytes(&self, samples: usize) -> usize {
        use crate::util::alloc::size_class;
        let headers = size_class(self.chunks.capacity() * std::mem::size_of::<Chunk>());
        let chunk_bytes = |chunk: &Chunk| size_class(chunk.buf.capacity());
        let n = self.chunks.len();
        if n <= samples.saturating_add(2) {
            return headers + self.chunks.iter().map(chunk_bytes).sum::<usize>();
        }
        let (head, tail) = (&self.chunks[0], &self.chunks[n - 1]);
        let ends = chunk_bytes(head) + chunk_bytes(tail);
        let interior = self.len - head.count as usize - tail.count as usize;
        let (mut bytes, mut elements) = (0usize, 0usize);
        for chunk in self.chunks.range(1..n - 1).take(samples.max(1)) {
            bytes += chunk_bytes(chunk);
            elements += chunk.count as usize;
        }
        let rest = bytes as f64 / elements.max(1) as f64 * interior as f64;
        headers + ends + rest as usize
    }

    /// Gives back chunk-header slots after the list has shrunk a lot (runs
    /// only when a whole chunk was dropped, so it is off the hot path).
    #[inline]
    fn maybe_shrink_deque(&mut self) {
        let n = self.chunks.len();
        if self.chunks.capacity() > 4 * n + 16 {
            self.chunks.shrink_to(2 * n + 4);
        }
    }

    #[inline]
    fn cap(&self) -> usize {
        self.chunk_bytes as usize
    }

    /// Capacity for a new end chunk whose first entry takes `need` bytes.
    ///
    /// The first chunk of a list starts exact-size (small lists stay small).
    /// Otherwise the chunk is planned to hold a whole number of entries of
    /// this size: queues tend to carry similar-sized messages, so the chunk
    /// usually ends up exactly full and sealing it later costs nothing. An
    /// entry over the budget gets an exact chunk of its own.
    #[inline]
    fn new_end_chunk_cap(&self, need: usize) -> usize {
        let cap = self.cap();
        if self.chunks.is_empty() || need > cap {
            need
        } else {
            need * (cap / need)
        }
    }

    /// Inserts `v` before the first element (LPUSH).
    pub fn push_front(&mut self, v: &[u8]) {
        let need = entry_size(v.len());
        let cap = self.cap();
        let single = self.chunks.len() == 1;
        match self.chunks.front_mut() {
            Some(c) if c.used() + need <= cap => {
                if c.start() < need {
                    // A lone chunk keeps a quarter of its spare room at the back
                    // for RPUSH; a head chunk of several grows only at the front.
                    c.make_room(need, cap, single, |free| {
                        if single {
                            (free - free / 4).max(need)
                        } else {
                            free
                        }
                    });
                }
                let start = c.start() - need;
                write_entry(&mut c.buf[start..start + need], v);
                c.start = start as u32;
                c.count += 1;
            }
            _ => {
                let new_cap = self.new_end_chunk_cap(need);
                let buf = if new_cap == need {
                    let mut buf = Vec::with_capacity(need);
                    append_entry(&mut buf, v);
                    buf
                } else {
                    // `vec!` zero-fills through the allocator (calloc), which
                    // is free for fresh pages; the entry goes at the very end.
                    let mut buf = vec![0u8; new_cap];
                    write_entry(&mut buf[new_cap - need..], v);
                    buf
                };
                self.chunks.push_front(Chunk {
                    buf,
                    start: (new_cap - need) as u32,
                    count: 1,
                });
                if self.chunks.len() >= 3 {
                    self.chunks[1].seal();
                }
            }
        }
        self.len += 1;
    }

    /// Appends `v` after the last element (RPUSH).
    pub fn push_back(&mut self, v: &[u8]) {
        let need = entry_size(v.len());
        let cap = self.cap();
        let single = self.chunks.len() == 1;
        match self.chunks.back_mut() {
            Some(c) if c.used() + need <= cap => {
                if c.buf.capacity() - c.buf.len() < need {
                    // A lone chunk keeps a quarter of its spare room at the front
                    // for LPUSH; a tail chunk of several grows only at the back.
                    c.make_room(need, cap, single, |free| {
                        if single {
                            (free / 4).min(free - need)
                        } else {
                            0
                        }
                    });
                }
                append_entry(&mut c.buf, v);
                c.count += 1;
            }
            _ => {
                let new_cap = self.new_end_chunk_cap(need);
                let mut buf = Vec::with_capacity(new_cap);
                append_entry(&mut buf, v);
                self.chunks.push_back(Chunk {
                    buf,
                    start: 0,
                    count: 1,
                });
                let n = self.chunks.len();
                if n >= 3 {
                    self.chunks[n - 2].seal();
                }
            }
        }
        self.len += 1;
    }

    /// Removes and returns the first element (LPOP). The returned `Vec` has
    /// exactly the element's length as capacity.
    pub fn pop_front(&mut self) -> Option<Vec<u8>> {
        let c = self.chunks.front_mut()?;
        let (p, l, next) = decode_fwd(&c.buf, c.start());
        let out = c.buf[p..p + l].to_vec();
        c.count -= 1;
        if c.count == 0 {
            self.chunks.pop_front();
            self.maybe_shrink_deque();
        } else {
            c.start = next as u32;
            c.maybe_shrink();
        }
        self.len -= 1;
        Some(out)
    }

    /// Removes and returns the last element (RPOP). The returned `Vec` has
    /// exactly the element's length as capacity.
    pub fn pop_back(&mut self) -> Option<Vec<u8>> {
        let c = self.chunks.back_mut()?;
        let (s, p, l) = decode_bwd(&c.buf, c.buf.len());
        let out = c.buf[p..p + l].to_vec();
        c.count -= 1;
        if c.count == 0 {
            self.chunks.pop_back();
            self.maybe_shrink_deque();
        } else {
            c.buf.truncate(s);
            c.maybe_shrink();
        }
        self.len -= 1;
        Some(out)
    }

    /// The first element.
    pub fn front(&self) -> Option<&[u8]> {
        self.get(0)
    }

    /// The last element.
    pub fn back(&self) -> Option<&[u8]> {
        self.len.checked_sub(1).and_then(|i| self.get(i))
    }

    /// Chunk index and position inside that chunk of element `index`
    /// (`index < len`), skipping whole chunks from the closer end.
    fn locate(&self, index: usize) -> (usize, usize) {
        debug_assert!(index < self.len);
        if index < self.len / 2 {
            let mut i = index;
            for (ci, c) in self.chunks.iter().enumerate() {
                let n = c.count as usize;
                if i < n {
                    return (ci, i);
                }
                i -= n;
            }
        } else {
            let mut from_back = self.len - 1 - index;
            for (ci, c) in self.chunks.iter().enumerate().rev() {
                let n = c.count as usize;
                if from_back < n {
                    return (ci, n - 1 - from_back);
                }
                from_back -= n;
            }
        }
        unreachable!("chunk counts disagree with list length")
    }

    /// Element at `index` (0 = head), if any (LINDEX).
    pub fn get(&self, index: usize) -> Option<&[u8]> {
        if index >= self.len {
            return None;
        }
        let (ci, k) = self.locate(index);
        let c = &self.chunks[ci];
        let (s, _) = c.entry_bounds(k);
        let (p, l, _) = decode_fwd(&c.buf, s);
        Some(&c.buf[p..p + l])
    }

    /// Replaces the element at `index` (LSET). Returns `false` if `index` is
    /// out of range.
    pub fn set(&mut self, index: usize, v: &[u8]) -> bool {
        if index >= self.len {
            return false;
        }
        let (ci, k) = self.locate(index);
        let c = &mut self.chunks[ci];
        let (s, e) = c.entry_bounds(k);
        if e - s == entry_size(v.len()) {
            write_entry(&mut c.buf[s..e], v);
        } else {
            c.rebuild_replacing(s, e, Some(v));
            self.fix(ci);
        }
        true
    }

    /// Inserts `v` so that it ends up at `index`; `index == len` appends.
    ///
    /// # Panics
    /// If `index > len`.
    pub fn insert(&mut self, index: usize, v: &[u8]) {
        assert!(
            index <= self.len,
            "insertion index (is {index}) should be <= len (is {})",
            self.len
        );
        if index == 0 {
            return self.push_front(v);
        }
        if index == self.len {
            return self.push_back(v);
        }
        let (ci, k) = self.locate(index);
        let c = &mut self.chunks[ci];
        let (s, _) = c.entry_bounds(k);
        c.rebuild_replacing(s, s, Some(v));
        c.count += 1;
        self.len += 1;
        self.fix(ci);
    }

    /// Removes and returns the element at `index`.
    pub fn remove(&mut self, index: usize) -> Option<Vec<u8>> {
        if index >= self.len {
            return None;
        }
        if index == 0 {
            return self.pop_front();
        }
        if index == self.len - 1 {
            return self.pop_back();
        }
        let (ci, k) = self.locate(index);
        let c = &mut self.chunks[ci];
        let (s, e) = c.entry_bounds(k);
        let (p, l, _) = decode_fwd(&c.buf, s);
        let out = c.buf[p..p + l].to_vec();
        c.rebuild_replacing(s, e, None);
        c.count -= 1;
        self.len -= 1;
        self.fix(ci);
        Some(out)
    }

    /// Iterator over all elements, head to tail (double-ended, exact size).
    pub fn iter(&self) -> Iter<'_> {
        match (self.chunks.front(), self.chunks.back()) {
            (Some(first), Some(last)) => Iter {
                chunks: &self.chunks,
                front: (0, first.start()),
                back: (self.chunks.len() - 1, last.buf.len()),
                remaining: self.len,
            },
            _ => Iter::empty(&self.chunks),
        }
    }

    /// Iterator over elements `start..=end_inclusive` (LRANGE after the
    /// caller has normalised negative indexes). `end_inclusive` is clamped to
    /// the last element; the iterator is empty if `start > end_inclusive` or
    /// `start >= len`. Seeking skips whole chunks.
    pub fn range(&self, start: usize, end_inclusive: usize) -> Iter<'_> {
        if start > end_inclusive || start >= self.len {
            return Iter::empty(&self.chunks);
        }
        let last = end_inclusive.min(self.len - 1);
        let (fci, fk) = self.locate(start);
        let (bci, bk) = self.locate(last);
        Iter {
            chunks: &self.chunks,
            front: (fci, self.chunks[fci].entry_bounds(fk).0),
            back: (bci, self.chunks[bci].entry_bounds(bk).1),
            remaining: last - start + 1,
        }
    }

    /// Keeps only elements `start..=end_inclusive` (LTRIM after the caller
    /// has normalised negative indexes). `end_inclusive` is clamped; the list
    /// becomes empty if `start > end_inclusive` or `start >= len`.
    pub fn retain_range(&mut self, start: usize, end_inclusive: usize) {
        if start > end_inclusive || start >= self.len {
            self.clear();
            return;
        }
        let last = end_inclusive.min(self.len - 1);
        let mut drop_front = start;
        while drop_front > 0 {
            let c = self.chunks.front_mut().expect("counts cover len");
            let n = c.count as usize;
            if n <= drop_front {
                drop_front -= n;
                self.chunks.pop_front();
            } else {
                let mut pos = c.start();
                for _ in 0..drop_front {
                    pos = decode_fwd(&c.buf, pos).2;
                }
                c.start = pos as u32;
                c.count -= drop_front as u32;
                c.maybe_shrink();
                drop_front = 0;
            }
        }
        let mut drop_back = self.len - 1 - last;
        while drop_back > 0 {
            let c = self.chunks.back_mut().expect("counts cover len");
            let n = c.count as usize;
            if n <= drop_back {
                drop_back -= n;
                self.chunks.pop_back();
            } else {
                let mut end = c.buf.len();
                for _ in 0..drop_back {
                    end = decode_bwd(&c.buf, end).0;
                }
                c.buf.truncate(end);
                c.count -= drop_back as u32;
                c.maybe_shrink();
                drop_back = 0;
            }
        }
        self.len = last - start + 1;
        self.maybe_shrink_deque();
    }

    /// Removes elements equal to `value` with LREM semantics: `count > 0`
    /// removes the first `count` matches from the head, `count < 0` the
    /// first `|count|` matches from the tail, `count == 0` all of them.
    /// Returns how many were removed.
    pub fn remove_matching(&mut self, value: &[u8], count: i64) -> usize {
        let from_tail = count < 0;
        let mut quota = if count == 0 {
            usize::MAX
        } else {
            usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX)
        };
        let n = self.chunks.len();
        let mut removed = 0;
        let mut touched: Option<(usize, usize)> = None;
        let mut kill: Vec<(usize, usize)> = Vec::new();
        for step in 0..n {
            if quota == 0 {
                break;
            }
            let ci = if from_tail { n - 1 - step } else { step };
            let c = &mut self.chunks[ci];
            kill.clear();
            if from_tail {
                let mut end = c.buf.len();
                while end > c.start() && quota > 0 {
                    let (s, p, l) = decode_bwd(&c.buf, end);
                    if &c.buf[p..p + l] == value {
                        kill.push((s, end));
                        quota -= 1;
                    }
                    end = s;
                }
                kill.reverse();
            } else {
                let mut pos = c.start();
                while pos < c.buf.len() && quota > 0 {
                    let (p, l, next) = decode_fwd(&c.buf, pos);
                    if &c.buf[p..p + l] == value {
                        kill.push((pos, next));
                        quota -= 1;
                    }
                    pos = next;
                }
            }
            if kill.is_empty() {
                continue;
            }
            let gone: usize = kill.iter().map(|&(s, e)| e - s).sum();
            let mut buf = Vec::with_capacity(c.used() - gone);
            let mut from = c.start();
            for &(s, e) in &kill {
                buf.extend_from_slice(&c.buf[from..s]);
                from = e;
            }
            buf.extend_from_slice(&c.buf[from..]);
            c.buf = buf;
            c.start = 0;
            c.count -= kill.len() as u32;
            removed += kill.len();
            touched = Some(match touched {
                None => (ci, ci),
                Some((lo, hi)) => (lo.min(ci), hi.max(ci)),
            });
        }
        if let Some((lo, hi)) = touched {
            self.len -= removed;
            let lo = lo.saturating_sub(1);
            let hi = (hi + 1).min(self.chunks.len() - 1);
            self.normalize(lo, hi);
            self.maybe_shrink_deque();
        }
        removed
    }

    /// Indexes (from the head) of elements equal to `value`, with LPOS
    /// semantics: `rank > 0` scans from the head and `rank < 0` from the tail,
    /// skipping the first `|rank| - 1` matches (`rank == 0` is treated as 1;
    /// callers reject it as Redis does); `count == 0` returns every match
    /// after that, otherwise at most `count`; `maxlen > 0` limits how many
    /// elements are compared. Indexes come out in scan order.
    pub fn position(&self, value: &[u8], rank: i64, count: usize, maxlen: usize) -> Vec<usize> {
        let skip = rank.unsigned_abs().max(1) - 1;
        let limit = if maxlen == 0 { usize::MAX } else { maxlen };
        let mut out = Vec::new();
        let mut matches: u64 = 0;
        let mut visit = |i: usize, e: &[u8]| -> bool {
            if e == value {
                matches += 1;
                if matches > skip {
                    out.push(i);
                    if count != 0 && out.len() >= count {
                        return false;
                    }
                }
            }
            true
        };
        if rank >= 0 {
            for (i, e) in self.iter().enumerate().take(limit) {
                if !visit(i, e) {
                    break;
                }
            }
        } else {
            let last = self.len.wrapping_sub(1);
            for (j, e) in self.iter().rev().enumerate().take(limit) {
                if !visit(last - j, e) {
                    break;
                }
            }
        }
        out
    }

    /// Index of the first element equal to `pivot` (for LINSERT).
    pub fn find(&self, pivot: &[u8]) -> Option<usize> {
        self.iter().position(|e| e == pivot)
    }

    /// Repairs chunk `ci` and its neighbours after an edit.
    fn fix(&mut self, ci: usize) {
        let lo = ci.saturating_sub(1);
        let hi = (ci + 1).min(self.chunks.len() - 1);
        self.normalize(lo, hi);
    }

    /// Rewrites chunks `lo..=hi`: drops empty chunks, splits over-budget
    /// chunks holding several entries, and merges runs of neighbours whose
    /// combined size fits the budget. Untouched chunks are moved, not copied.
    fn normalize(&mut self, lo: usize, hi: usize) {
        let cap = self.cap();
        let mut out: Vec<Chunk> = Vec::with_capacity(hi - lo + 3);
        let mut group: Vec<Chunk> = Vec::new();
        let mut group_used = 0;
        for i in lo..=hi {
            let c = std::mem::take(&mut self.chunks[i]);
            if c.count == 0 {
                continue;
            }
            let used = c.used();
            if used > cap && c.count > 1 {
                flush_group(&mut group, &mut out);
                group_used = 0;
                split_into(c.data(), cap, &mut out);
                continue;
            }
            if !group.is_empty() && group_used + used > cap {
                flush_group(&mut group, &mut out);
                group_used = 0;
            }
            group_used += used;
            group.push(c);
        }
        flush_group(&mut group, &mut out);
        self.splice_chunks(lo, hi, out);
    }

    /// Replaces chunk slots `lo..=hi` with `new`.
    fn splice_chunks(&mut self, lo: usize, hi: usize, new: Vec<Chunk>) {
        let old_n = hi + 1 - lo;
        let new_n = new.len();
        let mut it = new.into_iter();
        for (slot, c) in self.chunks.range_mut(lo..=hi).zip(&mut it) {
            *slot = c;
        }
        if new_n < old_n {
            self.chunks.drain(lo + new_n..=hi);
        } else {
            for (k, c) in it.enumerate() {
                self.chunks.insert(lo + old_n + k, c);
            }
        }
    }

    #[cfg(test)]
    fn check_invariants(&self) {
        let cap = self.cap();
        let mut total = 0;
        let n = self.chunks.len();
        for (ci, c) in self.chunks.iter().enumerate() {
            assert!(c.count > 0, "empty chunk {ci}");
            assert!(c.start() <= c.buf.len());
            let mut pos = c.start();
            let mut fwd = 0;
            while pos < c.buf.len() {
                pos = decode_fwd(&c.buf, pos).2;
                fwd += 1;
            }
            assert_eq!(pos, c.buf.len(), "entry overruns chunk {ci}");
            assert_eq!(fwd, c.count as usize, "forward count of chunk {ci}");
            let mut end = c.buf.len();
            let mut bwd = 0;
            while end > c.start() {
                end = decode_bwd(&c.buf, end).0;
                bwd += 1;
            }
            assert_eq!(end, c.start(), "backward walk of chunk {ci}");
            assert_eq!(bwd, c.count as usize);
            if c.used() > cap {
                assert_eq!(c.count, 1, "over-budget chunk {ci} holds several entries");
            }
            if ci != 0 && ci + 1 != n {
                assert_eq!(c.start, 0, "interior chunk {ci} has front slack");
                assert_eq!(
                    c.buf.capacity(),
                    c.buf.len(),
                    "interior chunk {ci} has slack"
                );
            }
            total += c.count as usize;
        }
        assert_eq!(total, self.len);
    }
}

/// Moves a run of chunks into `out`, merging them into one exact-size chunk
/// when there is more than one.
fn flush_group(group: &mut Vec<Chunk>, out: &mut Vec<Chunk>) {
    match group.len() {
        0 => {}
        1 => out.extend(group.pop()),
        _ => {
            let total = group.iter().map(Chunk::used).sum();
            let mut buf = Vec::with_capacity(total);
            let mut count = 0;
            for c in group.drain(..) {
                buf.extend_from_slice(c.data());
                count += c.count;
            }
            out.push(Chunk {
                buf,
                start: 0,
                count,
            });
        }
    }
}

/// Splits encoded entries `data` (more than `cap` bytes, several entries)
/// into balanced exact-size chunks of at most `cap` bytes each, except that
/// a single entry larger than `cap` gets a chunk of its own.
fn split_into(data: &[u8], cap: usize, out: &mut Vec<Chunk>) {
    let total = data.len();
    let pieces = total.div_ceil(cap).max(2);
    let target = total.div_ceil(pieces);
    let mut piece_start = 0;
    let mut count = 0;
    let mut pos = 0;
    while pos < total {
        let next = decode_fwd(data, pos).2;
        let piece_used = pos - piece_start;
        if count > 0 && (piece_used + (next - pos) > cap || piece_used >= target) {
            out.push(Chunk::exact(&data[piece_start..pos], count));
            piece_start = pos;
            count = 0;
        }
        count += 1;
        pos = next;
    }
    if count > 0 {
        out.push(Chunk::exact(&data[piece_start..], count));
    }
}

impl Default for PackedList {
    fn default() -> Self {
        Self::new()
    }
}

impl Clone for PackedList {
    /// The clone is fully compacted: every chunk at exact capacity.
    fn clone(&self) -> Self {
        let mut chunks = VecDeque::with_capacity(self.chunks.len());
        chunks.extend(
            self.chunks
                .iter()
                .map(|c| Chunk::exact(c.data(), c.count as usize)),
        );
        PackedList {
            chunks,
            len: self.len,
            chunk_bytes: self.chunk_bytes,
        }
    }
}

impl fmt::Debug for PackedList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PackedList")
            .field("len", &self.len)
            .field("chunks", &self.chunks.len())
            .field("heap_bytes", &self.heap_bytes())
            .finish()
    }
}

impl PartialEq for PackedList {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl Eq for PackedList {}

impl<T: AsRef<[u8]>> Extend<T> for PackedList {
    fn extend<I: IntoIterator<Item = T>>(&mut self, iter: I) {
        for v in iter {
            self.push_back(v.as_ref());
        }
    }
}

impl<T: AsRef<[u8]>> FromIterator<T> for PackedList {
    /// Builds a list in iteration order (as RPUSH would).
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let mut list = PackedList::new();
        list.extend(iter);
        list
    }
}

impl<'a> IntoIterator for &'a PackedList {
    type Item = &'a [u8];
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

// ---------------------------------------------------------------------------
// Iterator
// ---------------------------------------------------------------------------

/// Double-ended iterator over a [`PackedList`] (or a range of it).
#[derive(Clone)]
pub struct Iter<'a> {
    chunks: &'a VecDeque<Chunk>,
    /// (chunk index, offset of the next entry to yield from the front)
    front: (usize, usize),
    /// (chunk index, offset just past the next entry to yield from the back)
    back: (usize, usize),
    remaining: usize,
}

impl<'a> Iter<'a> {
    fn empty(chunks: &'a VecDeque<Chunk>) -> Self {
        Iter {
            chunks,
            front: (0, 0),
            back: (0, 0),
            remaining: 0,
        }
    }
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.remaining == 0 {
            return None;
        }
        let chunks: &'a VecDeque<Chunk> = self.chunks;
        let (mut ci, mut off) = self.front;
        let mut c = &chunks[ci];
        if off >= c.buf.len() {
            ci += 1;
            c = &chunks[ci];
            off = c.start();
        }
        let (p, l, next) = decode_fwd(&c.buf, off);
        self.front = (ci, next);
        self.remaining -= 1;
        Some(&c.buf[p..p + l])
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<'a> DoubleEndedIterator for Iter<'a> {
    #[inline]
    fn next_back(&mut self) -> Option<&'a [u8]> {
        if self.remaining == 0 {
            return None;
        }
        let chunks: &'a VecDeque<Chunk> = self.chunks;
        let (mut ci, mut end) = self.back;
        let mut c = &chunks[ci];
        if end <= c.start() {
            ci -= 1;
            c = &chunks[ci];
            end = c.buf.len();
        }
        let (s, p, l) = decode_bwd(&c.buf, end);
        self.back = (ci, s);
        self.remaining -= 1;
        Some(&c.buf[p..p + l])
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl FusedIterator for Iter<'_> {}

impl fmt::Debug for Iter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Iter")
            .field("remaining", &self.remaining)
            .finish()
    }
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::random::SeededRng;
    use std::time::Instant;

    fn collect(list: &PackedList) -> Vec<Vec<u8>> {
        list.iter().map(<[u8]>::to_vec).collect()
    }

    fn bytes(s: &str) -> Vec<u8> {
        s.as_bytes().to_vec()
    }

    fn list_of(items: &[&str]) -> PackedList {
        items.iter().collect()
    }

    #[test]
    fn varint_roundtrip_and_sizes() {
        for n in [
            0usize,
            1,
            127,
            128,
            300,
            16_383,
            16_384,
            2_097_151,
            2_097_152,
            u32::MAX as usize,
            usize::MAX,
        ] {
            let (hdr, len) = encode_varint(n);
            assert_eq!(len, varint_len(n), "n={n}");
            // Forward and backward decode of a header-only "entry".
            let mut buf = hdr[..len].to_vec();
            let mut v = 0usize;
            for (i, b) in buf.iter().enumerate() {
                v |= usize::from(b & 0x7f) << (7 * i);
            }
            assert_eq!(v, n);
            buf.reverse();
            let mut back = 0usize;
            for (i, b) in buf.iter().rev().enumerate() {
                back |= usize::from(b & 0x7f) << (7 * i);
            }
            assert_eq!(back, n);
        }
        assert_eq!(entry_size(100), 102);
        assert_eq!(entry_size(1024), 1028);
        assert_eq!(entry_size(0), 2);
    }

    #[test]
    fn entries_decode_both_ways() {
        let payloads: Vec<Vec<u8>> = [0usize, 1, 127, 128, 5000, 16_384]
            .iter()
            .map(|&n| (0..n).map(|i| (i * 7) as u8).collect())
            .collect();
        let mut buf = Vec::new();
        for p in &payloads {
            append_entry(&mut buf, p);
        }
        let mut pos = 0;
        for p in &payloads {
            let (s, l, next) = decode_fwd(&buf, pos);
            assert_eq!(&buf[s..s + l], &p[..]);
            pos = next;
        }
        assert_eq!(pos, buf.len());
        let mut end = buf.len();
        for p in payloads.iter().rev() {
            let (s, ps, l) = decode_bwd(&buf, end);
            assert_eq!(&buf[ps..ps + l], &p[..]);
            end = s;
        }
        assert_eq!(end, 0);
        let mut one = vec![0u8; entry_size(300)];
        write_entry(&mut one, &[9u8; 300]);
        let mut two = Vec::new();
        append_entry(&mut two, &[9u8; 300]);
        assert_eq!(one, two);
    }

    #[test]
    fn empty_list() {
        let mut l = PackedList::new();
        assert!(l.is_empty());
        assert_eq!(l.len(), 0);
        assert_eq!(l.heap_bytes(), 0);
        assert_eq!(l.pop_front(), None);
        assert_eq!(l.pop_back(), None);
        assert_eq!(l.get(0), None);
        assert_eq!(l.front(), None);
        assert_eq!(l.back(), None);
        assert!(!l.set(0, b"x"));
        assert_eq!(l.remove(0), None);
        assert_eq!(l.iter().next(), None);
        assert_eq!(l.iter().next_back(), None);
        assert_eq!(l.range(0, 10).count(), 0);
        assert_eq!(l.remove_matching(b"x", 0), 0);
        assert!(l.position(b"x", 1, 0, 0).is_empty());
        assert!(l.position(b"x", -1, 0, 0).is_empty());
        assert_eq!(l.find(b"x"), None);
        l.retain_range(0, 5);
        assert!(l.is_empty());
        l.check_invariants();
    }

    #[test]
    fn push_pop_both_ends() {
        let mut l = PackedList::new();
        l.push_back(b"b");
        l.push_front(b"a");
        l.push_back(b"c");
        l.push_back(b"");
        assert_eq!(
            collect(&l),
            vec![bytes("a"), bytes("b"), bytes("c"), vec![]]
        );
        assert_eq!(l.front(), Some(&b"a"[..]));
        assert_eq!(l.back(), Some(&b""[..]));
        let v = l.pop_back().unwrap();
        assert!(v.is_empty());
        let v = l.pop_front().unwrap();
        assert_eq!(v, b"a");
        assert_eq!(v.capacity(), 1);
        assert_eq!(l.pop_back().unwrap(), b"c");
        assert_eq!(l.pop_back().unwrap(), b"b");
        assert_eq!(l.pop_back(), None);
        assert!(l.is_empty());
        assert!(l.chunks.is_empty());
        assert!(
            l.heap_bytes() <= 8 * size_of::<Chunk>(),
            "{}",
            l.heap_bytes()
        );
        l.check_invariants();
    }

    #[test]
    fn popped_vec_has_exact_capacity() {
        let mut l = PackedList::new();
        for n in [0usize, 5, 100, 1024, 20_000] {
            l.push_front(&vec![1u8; n]);
            l.push_back(&vec![2u8; n]);
        }
        while let Some(v) = l.pop_back() {
            assert_eq!(v.capacity(), v.len());
            if let Some(w) = l.pop_front() {
                assert_eq!(w.capacity(), w.len());
            }
        }
    }

    #[test]
    fn fifo_queue_like_celery() {
        let mut l = PackedList::new();
        let msg = |i: u32| {
            let mut m = vec![b'x'; 1024];
            m[..4].copy_from_slice(&i.to_le_bytes());
            m
        };
        for i in 0..5000u32 {
            l.push_front(&msg(i));
            if i % 3 == 2 {
                l.pop_back();
            }
        }
        l.check_invariants();
        let mut expect = 5000 / 3;
        while let Some(m) = l.pop_back() {
            assert_eq!(m, msg(expect as u32));
            expect += 1;
        }
        assert_eq!(expect, 5000);
    }

    #[test]
    fn large_elements_get_own_chunks() {
        let mut l = PackedList::with_chunk_bytes(64);
        let big = vec![7u8; 1000];
        l.push_back(b"a");
        l.push_back(&big);
        l.push_back(b"b");
        l.push_front(&big);
        l.insert(2, &big);
        l.check_invariants();
        assert_eq!(l.len(), 5);
        assert_eq!(l.get(0), Some(&big[..]));
        assert_eq!(l.get(1), Some(&b"a"[..]));
        assert_eq!(l.get(2), Some(&big[..]));
        assert_eq!(l.get(3), Some(&big[..]));
        assert_eq!(l.get(4), Some(&b"b"[..]));
        assert!(l.set(1, &big));
        l.check_invariants();
        assert!(l.set(1, b"tiny"));
        l.check_invariants();
        assert_eq!(l.remove(2).unwrap(), big);
        l.check_invariants();
        assert_eq!(
            collect(&l),
            vec![big.clone(), bytes("tiny"), big.clone(), bytes("b")]
        );
    }

    #[test]
    fn get_set_insert_remove() {
        let mut l = PackedList::with_chunk_bytes(16);
        for i in 0..50u8 {
            l.push_back(&[i, i]);
        }
        l.check_invariants();
        for i in 0..50u8 {
            assert_eq!(l.get(i as usize), Some(&[i, i][..]));
        }
        assert_eq!(l.get(50), None);
        assert!(l.set(10, b"ten"));
        assert!(l.set(11, &[11, 11])); // same size: in place
        assert!(l.set(49, b"last-one-longer"));
        assert!(!l.set(50, b"nope"));
        l.check_invariants();
        assert_eq!(l.get(10), Some(&b"ten"[..]));
        assert_eq!(l.get(49), Some(&b"last-one-longer"[..]));
        l.insert(0, b"head");
        l.insert(l.len(), b"tail");
        l.insert(25, b"mid");
        l.check_invariants();
        assert_eq!(l.len(), 53);
        assert_eq!(l.get(0), Some(&b"head"[..]));
        assert_eq!(l.get(25), Some(&b"mid"[..]));
        assert_eq!(l.get(52), Some(&b"tail"[..]));
        assert_eq!(l.remove(25).unwrap(), b"mid");
        assert_eq!(l.remove(0).unwrap(), b"head");
        assert_eq!(l.remove(l.len() - 1).unwrap(), b"tail");
        assert_eq!(l.remove(l.len()), None);
        l.check_invariants();
        assert_eq!(l.len(), 50);
        // Remove everything from the middle out; chunks must merge, not pile up.
        while l.len() > 2 {
            l.remove(l.len() / 2);
            l.check_invariants();
        }
        assert!(l.chunks.len() <= 2);
    }

    #[test]
    #[should_panic(expected = "insertion index")]
    fn insert_past_end_panics() {
        let mut l = list_of(&["a"]);
        l.insert(2, b"x");
    }

    #[test]
    fn iter_double_ended_and_exact_size() {
        let mut l = PackedList::with_chunk_bytes(10);
        for i in 0..30u8 {
            l.push_back(&[i]);
        }
        let mut it = l.iter();
        assert_eq!(it.len(), 30);
        assert_eq!(it.next(), Some(&[0u8][..]));
        assert_eq!(it.next_back(), Some(&[29u8][..]));
        assert_eq!(it.len(), 28);
        let mut fronts = Vec::new();
        let mut backs = Vec::new();
        while let Some(v) = it.next() {
            fronts.push(v[0]);
            match it.next_back() {
                Some(v) => backs.push(v[0]),
                None => break,
            }
        }
        assert_eq!(it.next(), None);
        assert_eq!(it.next_back(), None);
        assert_eq!(fronts, (1..15).collect::<Vec<u8>>());
        assert_eq!(backs, (15..29).rev().collect::<Vec<u8>>());
        let rev: Vec<u8> = l.iter().rev().map(|v| v[0]).collect();
        assert_eq!(rev, (0..30).rev().collect::<Vec<u8>>());
        let via_ref: usize = (&l).into_iter().count();
        assert_eq!(via_ref, 30);
    }

    #[test]
    fn range_like_lrange() {
        let mut l = PackedList::with_chunk_bytes(12);
        for i in 0..100u8 {
            l.push_back(&[i; 3]);
        }
        let r: Vec<u8> = l.range(10, 20).map(|v| v[0]).collect();
        assert_eq!(r, (10..=20).collect::<Vec<u8>>());
        let r: Vec<u8> = l.range(95, 1000).map(|v| v[0]).collect();
        assert_eq!(r, (95..100).collect::<Vec<u8>>());
        assert_eq!(l.range(100, 200).count(), 0);
        assert_eq!(l.range(5, 4).count(), 0);
        assert_eq!(l.range(42, 42).len(), 1);
        let r: Vec<u8> = l.range(30, 60).rev().map(|v| v[0]).collect();
        assert_eq!(r, (30..=60).rev().collect::<Vec<u8>>());
        let r: Vec<u8> = l.range(0, usize::MAX).map(|v| v[0]).collect();
        assert_eq!(r, (0..100).collect::<Vec<u8>>());
    }

    #[test]
    fn retain_range_like_ltrim() {
        let base: Vec<String> = (0..40).map(|i| format!("e{i}")).collect();
        let mk = || {
            let mut l = PackedList::with_chunk_bytes(20);
            l.extend(&base);
            l
        };
        let mut l = mk();
        l.retain_range(5, 30);
        l.check_invariants();
        assert_eq!(
            collect(&l),
            base[5..=30].iter().map(|s| bytes(s)).collect::<Vec<_>>()
        );
        let mut l = mk();
        l.retain_range(0, 1000);
        assert_eq!(l.len(), 40);
        let mut l = mk();
        l.retain_range(39, 39);
        l.check_invariants();
        assert_eq!(collect(&l), vec![bytes("e39")]);
        let mut l = mk();
        l.retain_range(10, 9);
        assert!(l.is_empty());
        let mut l = mk();
        l.retain_range(40, 50);
        assert!(l.is_empty());
        // Capped-list idiom: LPUSH + LTRIM 0 9.
        let mut l = PackedList::new();
        for i in 0..1000 {
            l.push_front(format!("item{i}").as_bytes());
            l.retain_range(0, 9);
            l.check_invariants();
        }
        assert_eq!(l.len(), 10);
        assert_eq!(l.get(0), Some(&b"item999"[..]));
        assert_eq!(l.get(9), Some(&b"item990"[..]));
        assert!(
            l.heap_bytes() < 512,
            "capped list holds {} bytes",
            l.heap_bytes()
        );
    }

    #[test]
    fn remove_matching_like_lrem() {
        let items = ["a", "x", "b", "x", "c", "x", "d", "x"];
        let mut l = list_of(&items);
        assert_eq!(l.remove_matching(b"x", 2), 2);
        assert_eq!(collect(&l), ["a", "b", "c", "x", "d", "x"].map(bytes));
        let mut l = list_of(&items);
        assert_eq!(l.remove_matching(b"x", -3), 3);
        assert_eq!(collect(&l), ["a", "x", "b", "c", "d"].map(bytes));
        let mut l = list_of(&items);
        assert_eq!(l.remove_matching(b"x", 0), 4);
        assert_eq!(collect(&l), ["a", "b", "c", "d"].map(bytes));
        assert_eq!(l.remove_matching(b"zz", 0), 0);
        assert_eq!(l.remove_matching(b"a", i64::MIN), 1);
        assert_eq!(l.remove_matching(b"d", i64::MAX), 1);
        assert_eq!(collect(&l), ["b", "c"].map(bytes));
        l.check_invariants();

        // Removing everything across many chunks leaves no empty chunks.
        let mut l = PackedList::with_chunk_bytes(16);
        for i in 0..200 {
            l.push_back(if i % 2 == 0 { b"same" } else { b"other" });
        }
        assert_eq!(l.remove_matching(b"same", 0), 100);
        l.check_invariants();
        assert_eq!(l.len(), 100);
        assert_eq!(l.remove_matching(b"other", 0), 100);
        l.check_invariants();
        assert!(l.is_empty());
        assert_eq!(l.chunks.len(), 0);
    }

    #[test]
    fn position_like_lpos() {
        // Example list from the LPOS documentation.
        let l = list_of(&["a", "b", "c", "d", "1", "2", "3", "4", "3", "3", "3"]);
        assert_eq!(l.position(b"3", 1, 1, 0), vec![6]);
        assert_eq!(l.position(b"3", 1, 0, 0), vec![6, 8, 9, 10]);
        assert_eq!(l.position(b"3", 2, 0, 0), vec![8, 9, 10]);
        assert_eq!(l.position(b"3", 1, 2, 0), vec![6, 8]);
        assert_eq!(l.position(b"3", -1, 2, 0), vec![10, 9]);
        assert_eq!(l.position(b"3", -2, 1, 0), vec![9]);
        assert_eq!(l.position(b"3", -1, 0, 0), vec![10, 9, 8, 6]);
        assert_eq!(l.position(b"3", 1, 0, 7), vec![6]);
        assert_eq!(l.position(b"3", 1, 0, 6), Vec::<usize>::new());
        assert_eq!(l.position(b"3", -1, 0, 3), vec![10, 9, 8]);
        assert_eq!(l.position(b"3", 5, 0, 0), Vec::<usize>::new());
        assert_eq!(l.position(b"3", i64::MIN, 0, 0), Vec::<usize>::new());
        assert_eq!(l.position(b"3", 0, 1, 0), vec![6]);
        assert_eq!(l.position(b"nope", 1, 0, 0), Vec::<usize>::new());
        assert_eq!(l.find(b"3"), Some(6));
        assert_eq!(l.find(b"a"), Some(0));
        assert_eq!(l.find(b"z"), None);
    }

    #[test]
    fn clone_eq_debug_default_from_iter() {
        let mut l: PackedList = ["one", "two", "three"].iter().collect();
        l.push_front(b"zero");
        let c = l.clone();
        assert_eq!(c, l);
        assert!(c.heap_bytes() <= l.heap_bytes());
        c.check_invariants();
        let d = PackedList::default();
        assert!(d.is_empty());
        assert_ne!(d, l);
        let s = format!("{l:?}");
        assert!(s.starts_with("PackedList { len: 4"), "{s}");
        assert!(format!("{:?}", l.iter()).contains("remaining: 4"));
        let from_vecs: PackedList = vec![vec![1u8, 2], vec![3]].into_iter().collect();
        assert_eq!(collect(&from_vecs), vec![vec![1, 2], vec![3]]);
    }

    #[test]
    fn interior_chunks_are_exact_after_pushes() {
        for front in [true, false] {
            let mut l = PackedList::new();
            for i in 0..10_000u32 {
                let v = [i as u8; 37];
                if front {
                    l.push_front(&v)
                } else {
                    l.push_back(&v)
                }
            }
            l.check_invariants();
            let n = l.chunks.len();
            assert!(n > 10);
            for c in l.chunks.range(1..n - 1) {
                assert_eq!(c.buf.capacity(), c.buf.len());
            }
        }
    }

    #[test]
    fn small_lists_stay_small() {
        let mut l = PackedList::new();
        l.push_front(b"hello");
        assert_eq!(l.heap_bytes() - l.chunks.capacity() * size_of::<Chunk>(), 7);
        for _ in 0..9 {
            l.push_front(b"hello");
        }
        let buffers = l.heap_bytes() - l.chunks.capacity() * size_of::<Chunk>();
        assert!(buffers <= 7 * 10 * 3 / 2 + 8, "{buffers}");
    }

    #[test]
    fn drained_queue_gives_memory_back() {
        let mut l = PackedList::new();
        let msg = vec![b'm'; 1024];
        for _ in 0..200 {
            l.push_front(&msg);
        }
        for _ in 0..199 {
            l.pop_back();
        }
        l.check_invariants();
        assert!(
            l.heap_bytes() <= 4 * 1028 + 64 + 8 * size_of::<Chunk>(),
            "{}",
            l.heap_bytes()
        );
        let buffers: usize = l.chunks.iter().map(|c| c.buf.capacity()).sum();
        assert!(buffers <= 4 * 1028 + 64, "{buffers}");
    }

    #[test]
    fn steady_queue_memory_is_bounded() {
        // A Celery-style queue hovering around 1000 messages must not
        // accumulate slack however long it runs.
        let msg = vec![b'q'; 1024];
        let mut l = PackedList::new();
        for _ in 0..1000 {
            l.push_front(&msg);
        }
        let mut peak = 0;
        for i in 0..50_000 {
            l.push_front(&msg);
            if i % 7 != 3 {
                l.pop_back();
            } else {
                l.push_front(&msg);
                l.pop_back();
                l.pop_back();
            }
            peak = peak.max(l.heap_bytes());
        }
        l.check_invariants();
        assert_eq!(l.len(), 1000);
        let payload = 1000 * 1028;
        assert!(
            peak <= payload + payload / 10 + 3 * DEFAULT_CHUNK_BYTES,
            "peak {peak} for {payload} bytes of entries"
        );
    }

    #[test]
    fn memory_per_100_byte_element() {
        const N: usize = 1_000_000;
        let v = [b'v'; 100];
        let mut l = PackedList::new();
        for _ in 0..N {
            l.push_front(&v);
        }
        let per = l.heap_bytes() as f64 / N as f64;
        println!(
            "LPUSH 1M x 100 B: {} heap bytes, {per:.3} bytes/element, {} chunks",
            l.heap_bytes(),
            l.chunks.len()
        );
        assert!(per <= 110.0, "{per} bytes per element");
        assert!(per <= 104.0, "{per} bytes per element (Redis figure)");

        let mut r = PackedList::new();
        for _ in 0..N {
            r.push_back(&v);
        }
        let per = r.heap_bytes() as f64 / N as f64;
        println!("RPUSH 1M x 100 B: {per:.3} bytes/element");
        assert!(per <= 104.0, "{per} bytes per element");
        assert_eq!(l.len(), N);
        assert_eq!(l.get(N / 2), Some(&v[..]));
    }

    // ----- randomized model check -----

    fn random_value(rng: &mut SeededRng, cap: usize) -> Vec<u8> {
        const POOL: [&[u8]; 5] = [b"", b"a", b"dup", b"celery-task", &[0x80; 130]];
        match rng.below(12) {
            0..=4 => POOL[rng.below(POOL.len())].to_vec(),
            5..=7 => (0..rng.below(40)).map(|_| rng.next() as u8).collect(),
            8..=10 => vec![rng.next() as u8; 100 + rng.below(200)],
            _ => vec![rng.next() as u8; (cap / 2 + rng.below(cap * 2)).min(20_000)],
        }
    }

    fn model_lpos(
        m: &VecDeque<Vec<u8>>,
        v: &[u8],
        rank: i64,
        count: usize,
        maxlen: usize,
    ) -> Vec<usize> {
        let rank = if rank == 0 { 1 } else { rank };
        let order: Vec<usize> = if rank > 0 {
            (0..m.len()).collect()
        } else {
            (0..m.len()).rev().collect()
        };
        let mut out = Vec::new();
        let mut matches = 0u64;
        for (scanned, &i) in order.iter().enumerate() {
            if maxlen != 0 && scanned >= maxlen {
                break;
            }
            if m[i] == v {
                matches += 1;
                if matches >= rank.unsigned_abs() {
                    out.push(i);
                    if count != 0 && out.len() == count {
                        break;
                    }
                }
            }
        }
        out
    }

    fn model_lrem(m: &mut VecDeque<Vec<u8>>, v: &[u8], count: i64) -> usize {
        let mut quota = if count == 0 {
            usize::MAX
        } else {
            count.unsigned_abs() as usize
        };
        let mut keep = vec![true; m.len()];
        let idx: Vec<usize> = if count < 0 {
            (0..m.len()).rev().collect()
        } else {
            (0..m.len()).collect()
        };
        for i in idx {
            if quota == 0 {
                break;
            }
            if m[i] == v {
                keep[i] = false;
                quota -= 1;
            }
        }
        let before = m.len();
        let mut k = keep.iter();
        m.retain(|_| *k.next().unwrap());
        before - m.len()
    }

    fn run_model(seed: u64, cap: usize, steps: usize) {
        let mut rng = SeededRng::new(seed);
        let mut list = PackedList::with_chunk_bytes(cap);
        let mut model: VecDeque<Vec<u8>> = VecDeque::new();
        let (mut max_len, mut max_chunks) = (0, 0);
        for step in 0..steps {
            let len = model.len();
            let op = rng.below(24);
            let ctx = format!("seed {seed} cap {cap} step {step} op {op} len {len}");
            match op {
                0..=2 => {
                    let v = random_value(&mut rng, cap);
                    list.push_front(&v);
                    model.push_front(v);
                }
                3..=5 => {
                    let v = random_value(&mut rng, cap);
                    list.push_back(&v);
                    model.push_back(v);
                }
                6 => {
                    let got = list.pop_front();
                    assert_eq!(got, model.pop_front(), "{ctx}");
                    if let Some(g) = got {
                        assert_eq!(g.capacity(), g.len());
                    }
                }
                7 => assert_eq!(list.pop_back(), model.pop_back(), "{ctx}"),
                8 => {
                    let i = rng.below(len + 2);
                    assert_eq!(list.get(i), model.get(i).map(|v| &v[..]), "{ctx}");
                }
                9 | 10 => {
                    let i = rng.below(len + 1);
                    let v = random_value(&mut rng, cap);
                    let ok = list.set(i, &v);
                    assert_eq!(ok, i < len, "{ctx}");
                    if ok {
                        model[i] = v;
                    }
                }
                11 | 12 => {
                    let i = rng.below(len + 1);
                    let v = random_value(&mut rng, cap);
                    list.insert(i, &v);
                    model.insert(i, v);
                }
                13 | 14 => {
                    let i = rng.below(len + 1);
                    assert_eq!(list.remove(i), model.remove(i), "{ctx}");
                }
                15 => {
                    // Mostly gentle trims so the list keeps some length.
                    let start = rng.below(len / 8 + 2);
                    let end = if rng.below(8) == 0 {
                        rng.below(len + 2)
                    } else {
                        len.saturating_sub(rng.below(len / 8 + 2))
                    };
                    list.retain_range(start, end);
                    if start > end || start >= len {
                        model.clear();
                    } else {
                        let end = end.min(len - 1);
                        model.truncate(end + 1);
                        model.drain(..start);
                    }
                }
                16 => {
                    let v = random_value(&mut rng, cap);
                    let count = rng.below(7) as i64 - 3;
                    let a = list.remove_matching(&v, count);
                    let b = model_lrem(&mut model, &v, count);
                    assert_eq!(a, b, "{ctx}");
                }
                17 => {
                    let v = random_value(&mut rng, cap);
                    let rank = rng.below(7) as i64 - 3;
                    let count = rng.below(4);
                    let maxlen = if rng.below(2) == 0 {
                        0
                    } else {
                        rng.below(len + 2)
                    };
                    assert_eq!(
                        list.position(&v, rank, count, maxlen),
                        model_lpos(&model, &v, rank, count, maxlen),
                        "{ctx} rank {rank} count {count} maxlen {maxlen}"
                    );
                    assert_eq!(list.find(&v), model.iter().position(|e| *e == v), "{ctx}");
                }
                18 | 19 => {
                    let a = rng.below(len + 2);
                    let b = rng.below(len + 2);
                    let got: Vec<&[u8]> = list.range(a, b).collect();
                    let want: Vec<&[u8]> = if a > b || a >= len {
                        Vec::new()
                    } else {
                        model.range(a..=b.min(len - 1)).map(|v| &v[..]).collect()
                    };
                    assert_eq!(list.range(a, b).len(), want.len(), "{ctx}");
                    assert_eq!(got, want, "{ctx}");
                    let got_rev: Vec<&[u8]> = list.range(a, b).rev().collect();
                    let want_rev: Vec<&[u8]> = want.iter().rev().copied().collect();
                    assert_eq!(got_rev, want_rev, "{ctx}");
                }
                20 => {
                    // Interleaved double-ended iteration.
                    let mut it = list.iter();
                    let mut lo = 0;
                    let mut hi = len;
                    while lo < hi {
                        assert_eq!(it.len(), hi - lo, "{ctx}");
                        if rng.below(2) == 0 {
                            assert_eq!(it.next(), Some(&model[lo][..]), "{ctx}");
                            lo += 1;
                        } else {
                            hi -= 1;
                            assert_eq!(it.next_back(), Some(&model[hi][..]), "{ctx}");
                        }
                    }
                    assert_eq!(it.next(), None);
                    assert_eq!(it.next_back(), None);
                }
                21 => {
                    let c = list.clone();
                    c.check_invariants();
                    assert!(c.iter().eq(model.iter().map(|v| &v[..])), "{ctx}");
                }
                _ => {
                    // Bursts keep the list long enough to span many chunks.
                    for _ in 0..rng.below(20) {
                        let v = random_value(&mut rng, cap);
                        if rng.below(2) == 0 {
                            list.push_front(&v);
                            model.push_front(v);
                        } else {
                            list.push_back(&v);
                            model.push_back(v);
                        }
                    }
                }
            }
            list.check_invariants();
            max_len = max_len.max(list.len());
            max_chunks = max_chunks.max(list.chunks.len());
            assert_eq!(list.len(), model.len(), "{ctx}");
            assert!(list.iter().eq(model.iter().map(|v| &v[..])), "{ctx}");
            assert!(
                list.iter().rev().eq(model.iter().rev().map(|v| &v[..])),
                "{ctx}"
            );
        }
        println!("model run seed {seed:#x} cap {cap}: max len {max_len}, max chunks {max_chunks}");
        // The run must have exercised multi-chunk lists.
        assert!(max_chunks >= 3, "cap {cap}: only {max_chunks} chunks");
    }

    #[test]
    fn randomized_against_vecdeque_model() {
        for (i, cap) in [1usize, 7, 32, 100, 600, 2048, DEFAULT_CHUNK_BYTES]
            .into_iter()
            .enumerate()
        {
            for seed in 1..=3u64 {
                let seed = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (i as u64 + 1);
                run_model(seed, cap, 2500);
            }
        }
    }

    // ----- benchmark (ignored by default) -----

    fn report(name: &str, ops: usize, start: Instant) {
        let ns = start.elapsed().as_nanos() as f64 / ops as f64;
        println!("{name}: {ns:.1} ns/op");
    }

    #[test]
    #[ignore]
    fn bench_push_front_pop_back_1k() {
        use std::hint::black_box;
        const N: usize = 1_000_000;
        let msg = vec![b'j'; 1024];

        // Deep queue: 1M LPUSH, then 1M RPOP.
        let mut l = PackedList::new();
        let t = Instant::now();
        for _ in 0..N {
            l.push_front(black_box(&msg));
        }
        report("deep: push_front 1 KiB (1M)", N, t);
        println!(
            "  heap {} bytes = {:.1} bytes/element",
            l.heap_bytes(),
            l.heap_bytes() as f64 / N as f64
        );
        let t = Instant::now();
        for _ in 0..N {
            black_box(l.pop_back());
        }
        report("deep: pop_back 1 KiB (1M)", N, t);
        assert!(l.is_empty());

        // Steady state: queue depth D, 1M (push_front + pop_back) pairs.
        for depth in [0usize, 10, 1000, 100_000] {
            let mut l = PackedList::new();
            for _ in 0..depth {
                l.push_front(&msg);
            }
            let t = Instant::now();
            for _ in 0..N {
                l.push_front(black_box(&msg));
                black_box(l.pop_back());
            }
            report(
                &format!("steady depth {depth}: push_front+pop_back pair"),
                N,
                t,
            );
        }

        // Baseline for context: VecDeque<Vec<u8>>.
        let mut d: VecDeque<Vec<u8>> = VecDeque::new();
        let t = Instant::now();
        for _ in 0..N {
            d.push_front(black_box(&msg).to_vec());
        }
        for _ in 0..N {
            black_box(d.pop_back());
        }
        report(
            "baseline VecDeque<Vec<u8>> deep push+pop (per op)",
            2 * N,
            t,
        );
    }
}
