//! Small pure helpers shared across the server: glob matching, number parsing and
//! formatting exactly as Redis does them, clocks, and blocking work on the runtime.

pub mod blocking;
pub mod clock;
pub mod glob;
pub mod numbers;
pub mod random;
