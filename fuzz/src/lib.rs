//! Fuzz targets for ferry's parsers.
//!
//! Each target is a function taking any bytes, here in one place: the
//! libFuzzer binaries in `fuzz_targets/` call it (run by hand with
//! `cargo +nightly fuzz run --features libfuzzer <target>`), and
//! `tests/corpora.rs` replays every input kept in `corpus/<target>/` through
//! it under `cargo test`, so an input that once found a bug stays fixed.
//!
//! A target returns normally for every input. It panics only when a parser
//! panics or breaks a promise its documentation makes (such as the cap on
//! the failing cases a JUnit report keeps): that panic is what the fuzzer
//! reports as a crash.

pub mod config;
pub mod conventional;
pub mod junit;
pub mod problem;
pub mod rrule;

/// A target: takes any bytes, panics only on a bug.
pub type Target = fn(&[u8]);

/// Every target, by the name of its binary and corpus directory.
pub const TARGETS: [(&str, Target); 5] = [
    ("config", config::config),
    ("conventional", conventional::conventional),
    ("junit", junit::junit),
    ("rrule", rrule::rrule),
    ("problem", problem::problem),
];
