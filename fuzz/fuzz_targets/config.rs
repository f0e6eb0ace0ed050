//! libFuzzer binary of the `config` target: `cargo +nightly fuzz run --features libfuzzer config`.
//! The target's body is [`ferry_fuzz::config::config`], which `cargo test` also runs
//! over the corpus.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ferry_fuzz::config::config(data));
