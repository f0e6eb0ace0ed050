//! Every input kept in `fuzz/corpus/<target>/` goes through its target on
//! each `cargo test`: inputs that once crashed a parser stay fixed, and the
//! corpus keeps covering what the fuzzer found, without nightly or libFuzzer.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

/// The inputs of one target's corpus, sorted by file name.
fn inputs(target: &str) -> Vec<PathBuf> {
    let directory = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target);
    let entries = std::fs::read_dir(&directory)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", directory.display()));
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("a corpus entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

/// Runs every input of `target`'s corpus through it; fails naming each
/// input that made it panic.
fn replay(target: &str) {
    let (_, body) = ferry_fuzz::TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .expect("a known target");
    let files = inputs(target);
    assert!(!files.is_empty(), "the corpus of {target} is empty");
    let failed: Vec<String> = files
        .iter()
        .filter(|file| {
            let data = std::fs::read(file).expect("a readable corpus file");
            catch_unwind(AssertUnwindSafe(|| body(&data))).is_err()
        })
        .map(|file| file.display().to_string())
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {} {target} inputs fail:\n{}",
        failed.len(),
        files.len(),
        failed.join("\n")
    );
}

#[test]
fn config_corpus() {
    replay("config");
}

#[test]
fn conventional_corpus() {
    replay("conventional");
}

#[test]
fn junit_corpus() {
    replay("junit");
}

#[test]
fn rrule_corpus() {
    replay("rrule");
}

#[test]
fn problem_corpus() {
    replay("problem");
}

#[test]
fn every_target_has_a_binary_and_a_corpus() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (name, _) in ferry_fuzz::TARGETS {
        let binary = root.join("fuzz_targets").join(format!("{name}.rs"));
        assert!(binary.is_file(), "{} is missing", binary.display());
        assert!(!inputs(name).is_empty(), "the corpus of {name} is empty");
    }
}
