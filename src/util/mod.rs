//! Small pure helpers shared across the server: glob matching, number parsing and
//! formatting exactly as Redis does them, and clocks.

pub mod clock;
pub mod glob;
pub mod numbers;
pub mod random;
