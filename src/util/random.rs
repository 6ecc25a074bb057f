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

/// A generator replayable from its seed (Marsaglia's xorshift64), for randomized
/// tests that check a structure against a simple model and must reproduce a failure.
#[cfg(test)]
pub(crate) struct SeededRng(u64);

#[cfg(test)]
impl SeededRng {
    /// A generator started from `seed` (zero, which xorshift cannot leave, counts as 1).
    pub(crate) fn new(seed: u64) -> Self {
        SeededRng(seed.max(1))
    }

    pub(crate) fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number in `0..n` (`n` > 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True `percent` times in a hundred.
    pub(crate) fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}
