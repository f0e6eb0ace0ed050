//! Release notes as Markdown (CommonMark, as GitHub and GitLab show it).
//!
//! Shape: `## 1.4.0 (2026-11-22)` (`## Unreleased` without a version, no date
//! when there is none), a `### Title` per section, one list item per commit —
//! `- **scope:** subject, closes #12 (abc1234) — Ada, Bob` — and, under a
//! breaking change, its `BREAKING CHANGE` text as a block quote inside the
//! item. Blocks are separated by exactly one blank line, no line has trailing
//! white space, and the output ends with one newline, so releases written one
//! after the other are joined with a single `"\n"`.
//!
//! Commit text is written as the author wrote it — subjects use Markdown on
//! purpose (`code`) — except that `<` outside code spans is escaped (`\<`),
//! so `Option<String>` does not vanish as an HTML tag when shown. This is not
//! a sanitizer: Markdown from commits is shown by renderers that sanitize
//! (GitHub, GitLab); ferry's own pages use the HTML writer, which escapes.

use std::fmt::{self, Write};

use super::{
    Commits, NotesCommit, ReleaseNotes, RenderOptions, fresh_issues, issue_refs, reference_footers,
    short_id,
};

/// Writes the notes of one release as Markdown (see the module documentation
/// for the shape). To write a changelog, call it for each release, newest
/// first, with `"\n"` in between.
pub fn write_markdown(
    out: &mut impl Write,
    notes: &ReleaseNotes,
    options: &RenderOptions,
) -> fmt::Result {
    // One copy of the code for every writer type.
    write_release(out, notes, options)
}

fn write_release(
    out: &mut dyn Write,
    notes: &ReleaseNotes,
    options: &RenderOptions,
) -> fmt::Result {
    out.write_str("## ")?;
    out.write_str(notes.version.as_deref().unwrap_or("Unreleased"))?;
    if let Some(date) = &notes.date {
        write!(out, " ({date})")?;
    }
    out.write_char('\n')?;
    let mut commits = Commits::new(&notes.commits);
    let mut any = false;
    for section in &notes.sections {
        let mut opened = false;
        for id in &section.commits {
            let Some(commit) = commits.find(id) else {
                continue;
            };
            if !opened {
                write!(out, "\n### {}\n\n", section.title)?;
                opened = true;
            }
            write_commit(out, commit, options)?;
        }
        any |= opened;
    }
    if !any {
        out.write_str("\nNo changes.\n")?;
    }
    Ok(())
}

fn write_commit(out: &mut dyn Write, commit: &NotesCommit, options: &RenderOptions) -> fmt::Result {
    out.write_str("- ")?;
    if let Some(scope) = commit.scope.as_deref().filter(|s| !s.is_empty()) {
        write!(out, "**{scope}:** ")?;
    }
    write_text(out, commit.subject.trim(), options)?;
    for (index, footer) in reference_footers(commit) {
        out.write_str(", ")?;
        for c in footer.token.chars() {
            out.write_char(c.to_ascii_lowercase())?;
        }
        for (i, number) in fresh_issues(commit, index).enumerate() {
            out.write_str(if i == 0 { " " } else { ", " })?;
            write_issue(out, number, options)?;
        }
    }
    write!(out, " ({})", short_id(&commit.id))?;
    for (i, author) in commit.authors.iter().enumerate() {
        out.write_str(if i == 0 { " — " } else { ", " })?;
        out.write_str(author)?;
    }
    out.write_char('\n')?;
    if commit.breaking
        && let Some(description) = commit.breaking_description()
    {
        // A block quote inside the list item (indented to the item's text)
        // keeps the list tight and the description's paragraphs.
        let mut blank = false;
        for line in description.lines().map(str::trim_end) {
            if line.is_empty() {
                blank = true;
                continue;
            }
            if blank {
                out.write_str("  >\n")?;
                blank = false;
            }
            out.write_str("  > ")?;
            write_text(out, line, options)?;
            out.write_char('\n')?;
        }
    }
    Ok(())
}

/// A commit's text as Markdown that shows what the author typed: issue
/// references linked, and `<` escaped so `Option<String>` is not taken for an
/// HTML tag — both only outside code spans, where Markdown shows text as is.
fn write_text(out: &mut dyn Write, text: &str, options: &RenderOptions) -> fmt::Result {
    let bytes = text.as_bytes();
    let mut refs = issue_refs(text).peekable();
    // The length of the backtick run that opened the code span we are in.
    let mut code = 0;
    let mut plain = 0;
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b'`' => {
                let run = bytes[at..].iter().take_while(|&&b| b == b'`').count();
                if code == run {
                    code = 0;
                } else if code == 0 && closes(&bytes[at + run..], run) {
                    code = run;
                }
                at += run;
            }
            b'<' if code == 0 => {
                out.write_str(&text[plain..at])?;
                out.write_str("\\<")?;
                at += 1;
                plain = at;
            }
            b'#' => {
                while refs.next_if(|found| found.start < at).is_some() {}
                match refs.next_if(|found| found.start == at) {
                    Some(found) if code == 0 => {
                        out.write_str(&text[plain..at])?;
                        write_issue(out, found.number, options)?;
                        at = found.end;
                        plain = at;
                    }
                    _ => at += 1,
                }
            }
            _ => at += 1,
        }
    }
    out.write_str(&text[plain..])
}

/// Whether a backtick run of exactly `run` follows: an unmatched run is
/// plain text in CommonMark, not the start of a code span.
fn closes(rest: &[u8], run: usize) -> bool {
    let mut at = 0;
    while let Some(found) = rest[at..].iter().position(|&b| b == b'`') {
        let start = at + found;
        let len = rest[start..].iter().take_while(|&&b| b == b'`').count();
        if len == run {
            return true;
        }
        at = start + len;
    }
    false
}

/// Text with its issue references linked and nothing else changed, for the
/// `issue_links` template filter (the template decides about escaping).
pub(super) fn write_links(out: &mut dyn Write, text: &str, options: &RenderOptions) -> fmt::Result {
    let mut plain = 0;
    for found in issue_refs(text) {
        out.write_str(&text[plain..found.start])?;
        write_issue(out, found.number, options)?;
        plain = found.end;
    }
    out.write_str(&text[plain..])
}

fn write_issue(out: &mut dyn Write, number: &str, options: &RenderOptions) -> fmt::Result {
    match options.issue_link() {
        Some((before, after)) => write!(out, "[#{number}]({before}{number}{after})"),
        None => write!(out, "#{number}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> String {
        let options = RenderOptions {
            issue_url: Some("u/{}".into()),
        };
        let mut out = String::new();
        write_text(&mut out, s, &options).unwrap();
        out
    }

    #[test]
    fn links_and_escapes_outside_code_spans() {
        assert_eq!(text("take Option<T> (#4)"), "take Option\\<T> ([#4](u/4))");
        assert_eq!(
            text("`Vec<T>` and `#4`, #5"),
            "`Vec<T>` and `#4`, [#5](u/5)"
        );
        assert_eq!(text("``a`b<c`` <d"), "``a`b<c`` \\<d");
        // An unmatched backtick is text: what follows is not code.
        assert_eq!(text("don't ` <x> #6"), "don't ` \\<x> [#6](u/6)");
        assert_eq!(text(""), "");
    }
}
