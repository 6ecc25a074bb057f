//! Byte strings behind one thin pointer, their length stored in the same allocation.
//!
//! Keys and string values are most of a keyspace's bytes, and a queue broker holds
//! millions of them. A `Box<[u8]>` is a 16-byte pointer and length; [`ThinBytes`] is
//! 8 bytes, with the length written in front of the bytes. That keeps a key's slot in
//! the map and the [`crate::store::Value`] enum small. The prefix is 4 bytes (12 for
//! strings of 4 GiB or more), which for typical keys and values lands in the same
//! allocator size class the bare bytes would: a 12-byte key still takes 16 bytes, a
//! 100-byte value still takes 112.

use std::alloc::{Layout, alloc, alloc_zeroed, dealloc, handle_alloc_error, realloc};
use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;

/// Prefix of a string shorter than [`LONG_MARK`] bytes: its length as a `u32`.
const SHORT_HEADER: usize = 4;
/// Prefix of a longer string: [`LONG_MARK`], then its length as a `u64`.
const LONG_HEADER: usize = 12;
const LONG_MARK: u32 = u32::MAX;

/// A byte string in a single allocation (see the module docs). Its length changes
/// only through [`ThinBytes::grow_zeroed`].
pub struct ThinBytes {
    /// The length prefix, followed by the bytes.
    ptr: NonNull<u8>,
}

// SAFETY: ThinBytes owns its allocation exclusively, like Box<[u8]>.
unsafe impl Send for ThinBytes {}
// SAFETY: shared access only reads.
unsafe impl Sync for ThinBytes {}

impl ThinBytes {
    pub fn new(bytes: &[u8]) -> ThinBytes {
        let header = header_len(bytes.len());
        let layout = layout(header + bytes.len());
        // SAFETY: the layout is never zero-sized (it holds the prefix), the prefix is
        // written within it, and the bytes are copied right after the prefix.
        unsafe {
            let Some(ptr) = NonNull::new(alloc(layout)) else {
                handle_alloc_error(layout)
            };
            write_header(ptr.as_ptr(), bytes.len());
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), ptr.as_ptr().add(header), bytes.len());
            ThinBytes { ptr }
        }
    }

    /// A string of `len` zero bytes (SETBIT and BITFIELD creating a key).
    pub fn zeroed(len: usize) -> ThinBytes {
        let header = header_len(len);
        let layout = layout(header + len);
        // SAFETY: as in `new`; the allocation is already zeroed, so only the prefix
        // is written.
        unsafe {
            let Some(ptr) = NonNull::new(alloc_zeroed(layout)) else {
                handle_alloc_error(layout)
            };
            write_header(ptr.as_ptr(), len);
            ThinBytes { ptr }
        }
    }

    /// Lengthens the string to `len` bytes, the new ones zero; a shorter or equal
    /// `len` changes nothing. The allocation is resized with `realloc`, which the
    /// allocator does in place when the block has room (always within a size
    /// class, often for large blocks), so SETBIT walking up a bitmap does not copy
    /// it on every step.
    pub fn grow_zeroed(&mut self, len: usize) {
        let (header, old_len) = self.header();
        if len <= old_len {
            return;
        }
        if header_len(len) != header {
            // Crossing 4 GiB widens the prefix, which moves the bytes: rebuild.
            let mut grown = ThinBytes::zeroed(len);
            grown[..old_len].copy_from_slice(self);
            *self = grown;
            return;
        }
        let new_size = header + len;
        // SAFETY: `ptr` was allocated with `layout(header + old_len)`; the new size
        // is larger and valid (`layout` checks it). After the call, the first
        // `header + old_len` bytes are preserved, the rest is zeroed before the
        // prefix announces it.
        unsafe {
            let Some(ptr) = NonNull::new(realloc(
                self.ptr.as_ptr(),
                layout(header + old_len),
                layout(new_size).size(),
            )) else {
                handle_alloc_error(layout(new_size))
            };
            ptr.as_ptr()
                .add(header + old_len)
                .write_bytes(0, len - old_len);
            write_header(ptr.as_ptr(), len);
            self.ptr = ptr;
        }
    }

    /// (prefix size, length).
    #[inline]
    fn header(&self) -> (usize, usize) {
        // SAFETY: `ptr` always starts with a prefix written by `write_header`.
        unsafe { read_header(self.ptr.as_ptr()) }
    }

    /// Bytes requested from the allocator for a string of `len` bytes: the length
    /// prefix and the bytes.
    pub fn allocation_len(len: usize) -> usize {
        header_len(len) + len
    }

    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        let (header, len) = self.header();
        // SAFETY: `len` bytes follow the prefix, and live as long as `self`.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr().add(header), len) }
    }

    #[inline]
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        let (header, len) = self.header();
        // SAFETY: as in `as_slice`, and `&mut self` makes the access exclusive.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr().add(header), len) }
    }
}

#[inline]
fn header_len(len: usize) -> usize {
    if len < LONG_MARK as usize {
        SHORT_HEADER
    } else {
        LONG_HEADER
    }
}

fn layout(size: usize) -> Layout {
    Layout::from_size_align(size, std::mem::align_of::<u32>())
        .expect("a string that fits in memory has a valid layout")
}

/// Writes the length prefix of a `len`-byte string at `at`.
///
/// # Safety
/// `at` is aligned for `u32` and has room for `header_len(len)` bytes.
unsafe fn write_header(at: *mut u8, len: usize) {
    // SAFETY: guaranteed by the caller.
    unsafe {
        if header_len(len) == SHORT_HEADER {
            at.cast::<u32>().write(len as u32);
        } else {
            at.cast::<u32>().write(LONG_MARK);
            at.add(4).cast::<u64>().write_unaligned(len as u64);
        }
    }
}

/// Reads a prefix written by [`write_header`]: (prefix size, length).
///
/// # Safety
/// `at` holds a prefix written by [`write_header`].
#[inline]
unsafe fn read_header(at: *const u8) -> (usize, usize) {
    // SAFETY: guaranteed by the caller.
    unsafe {
        let short = at.cast::<u32>().read();
        if short != LONG_MARK {
            (SHORT_HEADER, short as usize)
        } else {
            (
                LONG_HEADER,
                at.add(4).cast::<u64>().read_unaligned() as usize,
            )
        }
    }
}

impl Drop for ThinBytes {
    fn drop(&mut self) {
        let (header, len) = self.header();
        // SAFETY: allocated in `new` with exactly this layout.
        unsafe { dealloc(self.ptr.as_ptr(), layout(header + len)) }
    }
}

impl Clone for ThinBytes {
    fn clone(&self) -> Self {
        ThinBytes::new(self)
    }
}

impl Deref for ThinBytes {
    type Target = [u8];

    #[inline]
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl DerefMut for ThinBytes {
    #[inline]
    fn deref_mut(&mut self) -> &mut [u8] {
        self.as_mut_slice()
    }
}

impl AsRef<[u8]> for ThinBytes {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl Borrow<[u8]> for ThinBytes {
    fn borrow(&self) -> &[u8] {
        self
    }
}

impl PartialEq for ThinBytes {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for ThinBytes {}

impl Hash for ThinBytes {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state)
    }
}

impl fmt::Debug for ThinBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "b\"{}\"", self.escape_ascii())
    }
}

impl From<&[u8]> for ThinBytes {
    fn from(bytes: &[u8]) -> Self {
        ThinBytes::new(bytes)
    }
}

impl From<Vec<u8>> for ThinBytes {
    fn from(bytes: Vec<u8>) -> Self {
        ThinBytes::new(&bytes)
    }
}

impl From<Box<[u8]>> for ThinBytes {
    fn from(bytes: Box<[u8]>) -> Self {
        ThinBytes::new(&bytes)
    }
}

impl From<ThinBytes> for Box<[u8]> {
    fn from(bytes: ThinBytes) -> Self {
        bytes.as_slice().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_every_length_and_byte() {
        for len in [0, 1, 3, 4, 5, 11, 12, 13, 100, 4096, 1 << 20] {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            let thin = ThinBytes::new(&bytes);
            assert_eq!(thin.len(), len);
            assert_eq!(&thin[..], &bytes[..]);
            assert_eq!(thin.clone(), thin);
        }
    }

    #[test]
    fn zeroed_and_grown_strings_keep_their_bytes() {
        assert_eq!(&ThinBytes::zeroed(0)[..], b"");
        assert_eq!(&ThinBytes::zeroed(5)[..], &[0; 5]);
        let mut thin = ThinBytes::from(&b"ab"[..]);
        thin.grow_zeroed(1);
        assert_eq!(&thin[..], b"ab");
        for len in [3, 4, 12, 100, 5000, 1 << 20] {
            thin.grow_zeroed(len);
            assert_eq!(thin.len(), len);
            assert_eq!(&thin[..2], b"ab");
            assert!(thin[2..].iter().all(|&b| b == 0));
        }
        thin[4999] = 7;
        thin.grow_zeroed((1 << 20) + 1);
        assert_eq!(thin[4999], 7);
    }

    #[test]
    fn is_one_pointer_wide() {
        assert_eq!(std::mem::size_of::<ThinBytes>(), 8);
        assert_eq!(std::mem::size_of::<Option<ThinBytes>>(), 8);
    }

    #[test]
    fn binary_bytes_round_trip_and_mutate_in_place() {
        let mut thin = ThinBytes::from(&b"q\x06\x16\x00\xff"[..]);
        thin[0] = b'Q';
        assert_eq!(&thin[..], b"Q\x06\x16\x00\xff");
        let boxed: Box<[u8]> = thin.into();
        assert_eq!(&boxed[..], b"Q\x06\x16\x00\xff");
    }

    #[test]
    fn prefixes_short_and_long_lengths() {
        // The long form is exercised on a bare buffer: a 4 GiB string is too big for
        // a unit test, but its prefix is not.
        let mut buffer = [0u32; 4];
        let at = buffer.as_mut_ptr().cast::<u8>();
        for len in [0, 1, 200, u32::MAX as usize - 1, u32::MAX as usize, 1 << 40] {
            // SAFETY: `buffer` is u32-aligned and 16 bytes long, room for either prefix.
            let (header, read) = unsafe {
                write_header(at, len);
                read_header(at)
            };
            assert_eq!(read, len);
            assert_eq!(header, header_len(len));
        }
        assert_eq!(header_len(u32::MAX as usize - 1), SHORT_HEADER);
        assert_eq!(header_len(u32::MAX as usize), LONG_HEADER);
    }

    #[test]
    fn equal_strings_hash_alike() {
        use std::hash::BuildHasher;
        let state = std::collections::hash_map::RandomState::new();
        let a = ThinBytes::from(&b"celery"[..]);
        assert_eq!(
            state.hash_one(&a),
            state.hash_one(ThinBytes::from(vec![b'c', b'e', b'l', b'e', b'r', b'y']))
        );
    }
}
