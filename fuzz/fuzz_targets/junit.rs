//! libFuzzer binary of the `junit` target: `cargo +nightly fuzz run --features libfuzzer junit`.
//! The target's body is [`ferry_fuzz::junit::junit`], which `cargo test` also runs
//! over the corpus.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ferry_fuzz::junit::junit(data));
