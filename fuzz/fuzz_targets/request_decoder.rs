//! Fuzzes the request decoder with the invariants the ordinary tests check.
//!
//! Run with `cargo +nightly fuzz run request_decoder` from the repository root; the
//! saved corpus is `fuzz/corpus/request_decoder/`, which `cargo test --test decoder`
//! replays on stable. Add anything this finds to that corpus, and a crashing input
//! also as a named test in `tests/decoder/main.rs`.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/decoder/invariants.rs"]
mod invariants;

fuzz_target!(|data: &[u8]| {
    invariants::check(data, invariants::Splits::Sample(16));
});
