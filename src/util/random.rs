//! A small, fast per-thread random source for sampling (RANDOMKEY, SRANDMEMBER);
//! not for anything secret.

use std::cell::Cell;
use std::hash::{BuildHasher, RandomState};

thread_local! {
    static STATE: Cell<u64> = Cell::new(RandomState::new().hash_one(0u64) | 1);
}

/// A uniformly distributed 64-bit number (xorshift64*).
pub fn next_u64() -> u64 {
    STATE.with(|state| {
        let mut x = state.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        state.set(x);
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    })
}

/// A number in `0..bound` (`bound` > 0).
pub fn below(bound: usize) -> usize {
    (next_u64() % bound as u64) as usize
}
