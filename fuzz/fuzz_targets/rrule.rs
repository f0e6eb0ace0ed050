//! libFuzzer binary of the `rrule` target: `cargo +nightly fuzz run --features libfuzzer rrule`.
//! The target's body is [`ferry_fuzz::rrule::rrule`], which `cargo test` also runs
//! over the corpus.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ferry_fuzz::rrule::rrule(data));
