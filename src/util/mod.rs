//! Small pure helpers shared across the server: glob matching, number parsing and
//! formatting exactly as Redis does them, clocks, blocking work on the runtime,
//! what the allocator is asked, and SHA-256.

pub mod alloc;
pub mod blocking;
pub mod clock;
pub mod glob;
pub mod long_double;
pub mod numbers;
pub mod random;
pub mod sha256;
