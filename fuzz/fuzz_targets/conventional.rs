//! libFuzzer binary of the `conventional` target: `cargo +nightly fuzz run --features libfuzzer conventional`.
//! The target's body is [`ferry_fuzz::conventional::conventional`], which `cargo test` also runs
//! over the corpus.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ferry_fuzz::conventional::conventional(data));
