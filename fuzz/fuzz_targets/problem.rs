//! libFuzzer binary of the `problem` target: `cargo +nightly fuzz run --features libfuzzer problem`.
//! The target's body is [`ferry_fuzz::problem::problem`], which `cargo test` also runs
//! over the corpus.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ferry_fuzz::problem::problem(data));
