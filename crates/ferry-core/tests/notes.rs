//! Release-notes rendering against fixture folders.
//!
//! Each folder under `tests/notes/` is one case: `input.json` (one release
//! object, or an array of them newest first, exactly as `ferry changelog
//! --format json` prints), an optional `options.json` (`{"issue_url": …}`),
//! and the exact expected renderings `expected.md` and `expected.html`.
//! Releases are joined the way a changelog is written: Markdown with one blank
//! line between releases, HTML one fragment after the other.
//!
//! After an intended change of the output, run with `FERRY_BLESS=1` to
//! rewrite the expected files, and review their diff.

use std::fs;
use std::path::{Path, PathBuf};

use ferry_core::notes::{ReleaseNotes, RenderOptions, write_html, write_markdown};

fn cases() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/notes");
    let mut cases: Vec<PathBuf> = fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_dir())
        .collect();
    cases.sort();
    cases
}

fn read_input(case: &Path) -> Vec<ReleaseNotes> {
    let text = fs::read_to_string(case.join("input.json")).unwrap();
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    if value.is_array() {
        serde_json::from_value(value).unwrap()
    } else {
        vec![serde_json::from_value(value).unwrap()]
    }
}

fn read_options(case: &Path) -> RenderOptions {
    let Ok(text) = fs::read_to_string(case.join("options.json")) else {
        return RenderOptions::default();
    };
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    RenderOptions {
        issue_url: value["issue_url"].as_str().map(str::to_owned),
    }
}

fn render(notes: &[ReleaseNotes], options: &RenderOptions) -> (String, String) {
    let mut markdown = String::new();
    let mut html = String::new();
    for (index, release) in notes.iter().enumerate() {
        if index > 0 {
            markdown.push('\n');
        }
        write_markdown(&mut markdown, release, options).unwrap();
        write_html(&mut html, release, options).unwrap();
    }
    (markdown, html)
}

#[test]
fn fixtures_render_exactly() {
    let cases = cases();
    let names: Vec<String> = cases
        .iter()
        .map(|case| case.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for wanted in [
        "mixed",
        "non-conventional",
        "issue-links",
        "unreleased",
        "no-changes",
    ] {
        assert!(
            names.iter().any(|n| n == wanted),
            "case {wanted} is missing"
        );
    }
    let bless = std::env::var_os("FERRY_BLESS").is_some();
    let mut failures = Vec::new();
    for (case, name) in cases.iter().zip(&names) {
        let notes = read_input(case);
        // The fixture's sections are what the domain computes for its commits.
        for release in &notes {
            let computed = ReleaseNotes::new(
                release.version.clone(),
                release.previous_version.clone(),
                release.date.clone(),
                release.commits.clone(),
            );
            assert_eq!(computed.sections, release.sections, "{name}: sections");
        }
        let (markdown, html) = render(&notes, &read_options(case));
        for (file, got) in [("expected.md", &markdown), ("expected.html", &html)] {
            let path = case.join(file);
            if bless {
                fs::write(&path, got).unwrap();
                continue;
            }
            let want = fs::read_to_string(&path).unwrap_or_default();
            if &want != got {
                failures.push(format!(
                    "{name}/{file} differs.\n--- expected\n{want}\n--- rendered\n{got}"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// What a reader of the Markdown relies on, whatever the case: no trailing
/// white space, never two blank lines in a row, one final newline.
#[test]
fn markdown_is_tidy() {
    for case in cases() {
        let (markdown, _) = render(&read_input(&case), &read_options(&case));
        let name = case.display();
        assert!(
            markdown.ends_with('\n') && !markdown.ends_with("\n\n"),
            "{name}: ending"
        );
        assert!(!markdown.contains("\n\n\n"), "{name}: two blank lines");
        for line in markdown.lines() {
            assert_eq!(line, line.trim_end(), "{name}: trailing white space");
        }
    }
}
