//! What broker-server asks of its allocator, jemalloc: the size an allocation really
//! takes, the process-wide statistics, the allocator's own report, and purging.
//!
//! jemalloc serves every request from a size class: 8 and 16 bytes, then multiples
//! of 16 up to 128, then four classes per power of two (160, 192, 224, 256, 320, ...),
//! the same rule continuing into page-sized and larger classes. [`size_class`]
//! computes that rule directly, so memory estimates can round each allocation
//! without a call into the allocator; a test checks it against jemalloc's own
//! `nallocx` over the sizes a keyspace uses.

use std::ffi::{CStr, c_char, c_void};

/// The bytes jemalloc hands out for a request of `size` bytes (0 for none: an empty
/// `Vec` or `Box<[u8]>` allocates nothing). Valid for the alignments the store uses
/// (at most 16 bytes).
#[inline]
pub fn size_class(size: usize) -> usize {
    match size {
        0 => 0,
        1..=8 => 8,
        9..=16 => 16,
        _ => {
            // The classes between 2^(k-1) and 2^k are 2^(k-3) apart, and never closer
            // than the 16-byte quantum.
            let power = size.next_power_of_two();
            let spacing = (power >> 3).max(16);
            // A power of two: round up with a mask, no division (sorted sets call
            // this on every insert).
            (size + spacing - 1) & !(spacing - 1)
        }
    }
}

/// The allocator's process-wide figures, in bytes (jemalloc's `stats.*`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AllocatorStats {
    /// Allocated by the program (`stats.allocated`: Redis's `used_memory`).
    pub allocated: u64,
    /// In active pages, a multiple of the page size (`stats.active`).
    pub active: u64,
    /// In physically resident pages the allocator maps (`stats.resident`).
    pub resident: u64,
}

/// Reads fresh statistics (jemalloc caches them until its epoch advances).
pub fn stats() -> AllocatorStats {
    use tikv_jemalloc_ctl::{epoch, stats};
    let _ = epoch::advance();
    let read = |value: tikv_jemalloc_ctl::Result<usize>| value.unwrap_or(0) as u64;
    AllocatorStats {
        allocated: read(stats::allocated::read()),
        active: read(stats::active::read()),
        resident: read(stats::resident::read()),
    }
}

/// Bytes allocated by the program (`stats.allocated`).
pub fn allocated() -> u64 {
    stats().allocated
}

/// jemalloc's statistics report, as `malloc_stats_print` writes it.
pub fn report() -> String {
    /// Appends each piece of the report to the `Vec<u8>` behind `sink`.
    unsafe extern "C" fn append(sink: *mut c_void, piece: *const c_char) {
        // SAFETY: `sink` is the vector passed below, alive for the whole call, and
        // jemalloc hands over NUL-terminated strings.
        unsafe {
            let text = &mut *sink.cast::<Vec<u8>>();
            text.extend_from_slice(CStr::from_ptr(piece).to_bytes());
        }
    }
    let mut text: Vec<u8> = Vec::new();
    // SAFETY: the callback only appends to `text`, which outlives the call; a null
    // options string asks for the default report.
    unsafe {
        tikv_jemalloc_sys::malloc_stats_print(
            Some(append),
            (&mut text as *mut Vec<u8>).cast::<c_void>(),
            std::ptr::null(),
        );
    }
    String::from_utf8_lossy(&text).into_owned()
}

/// Asks every arena to return its unused dirty pages to the system at once
/// (`arena.<MALLCTL_ARENAS_ALL>.purge`), instead of after the decay time.
///
/// # Returns
/// Whether jemalloc accepted the request.
pub fn purge() -> bool {
    // jemalloc's MALLCTL_ARENAS_ALL: the index meaning "every arena".
    const ALL_ARENAS_PURGE: &[u8] = b"arena.4096.purge\0";
    // SAFETY: the name is NUL-terminated, and this control neither reads nor
    // writes a value, so every pointer is null and every length zero.
    let status = unsafe {
        tikv_jemalloc_sys::mallctl(
            ALL_ARENAS_PURGE.as_ptr().cast::<c_char>(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            0,
        )
    };
    status == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What jemalloc itself answers for `size` (without allocating).
    fn nallocx(size: usize) -> usize {
        // SAFETY: nallocx only computes; flags 0 asks for the default alignment.
        unsafe { tikv_jemalloc_sys::nallocx(size, 0) }
    }

    #[test]
    fn size_classes_are_jemallocs() {
        for size in 1..=(64 * 1024) {
            assert_eq!(size_class(size), nallocx(size), "{size} bytes");
        }
        for shift in 16..40 {
            for size in [(1usize << shift) - 1, 1 << shift, (1 << shift) + 1] {
                assert_eq!(size_class(size), nallocx(size), "{size} bytes");
            }
        }
        assert_eq!(size_class(0), 0);
        assert_eq!(size_class(1004), 1024);
    }

    #[test]
    fn statistics_and_purge_answer() {
        let stats = stats();
        assert!(stats.allocated > 0);
        assert!(stats.active >= stats.allocated);
        assert!(purge());
        assert!(report().contains("Begin jemalloc statistics"));
    }
}
