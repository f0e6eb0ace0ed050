//! Release notes as an HTML fragment, for the web UI and for e-mail.
//!
//! The same content as the Markdown: an `<h2>` for the release, an `<h3>` and
//! a `<ul>` per section, a `<li>` per commit and a `<blockquote>` for a
//! breaking change's description. Every text from a commit or a release is
//! escaped: commit messages are written by anyone with push access, and the
//! fragment is shown to everyone.

use std::fmt::{self, Write};

use super::{
    Commits, NotesCommit, ReleaseNotes, RenderOptions, fresh_issues, issue_refs, reference_footers,
    short_id,
};

/// Writes the notes of one release as an escaped HTML fragment.
pub fn write_html(
    out: &mut impl Write,
    notes: &ReleaseNotes,
    options: &RenderOptions,
) -> fmt::Result {
    write_release(out, notes, options)
}

fn write_release(
    out: &mut dyn Write,
    notes: &ReleaseNotes,
    options: &RenderOptions,
) -> fmt::Result {
    out.write_str("<h2>")?;
    escape(out, notes.version.as_deref().unwrap_or("Unreleased"))?;
    if let Some(date) = &notes.date {
        out.write_str(" (")?;
        escape(out, date)?;
        out.write_char(')')?;
    }
    out.write_str("</h2>\n")?;
    let mut commits = Commits::new(&notes.commits);
    let mut any = false;
    for section in &notes.sections {
        let mut opened = false;
        for id in &section.commits {
            let Some(commit) = commits.find(id) else {
                continue;
            };
            if !opened {
                out.write_str("<h3>")?;
                escape(out, &section.title)?;
                out.write_str("</h3>\n<ul>\n")?;
                opened = true;
            }
            write_commit(out, commit, options)?;
        }
        if opened {
            out.write_str("</ul>\n")?;
        }
        any |= opened;
    }
    if !any {
        out.write_str("<p>No changes.</p>\n")?;
    }
    Ok(())
}

fn write_commit(out: &mut dyn Write, commit: &NotesCommit, options: &RenderOptions) -> fmt::Result {
    out.write_str("<li>")?;
    if let Some(scope) = commit.scope.as_deref().filter(|s| !s.is_empty()) {
        out.write_str("<strong>")?;
        escape(out, scope)?;
        out.write_str(":</strong> ")?;
    }
    write_text(out, commit.subject.trim(), options)?;
    for (index, footer) in reference_footers(commit) {
        out.write_str(", ")?;
        for c in footer.token.chars() {
            escape_char(out, c.to_ascii_lowercase())?;
        }
        for (i, number) in fresh_issues(commit, index).enumerate() {
            out.write_str(if i == 0 { " " } else { ", " })?;
            write_issue(out, number, options)?;
        }
    }
    out.write_str(" (<code>")?;
    escape(out, short_id(&commit.id))?;
    out.write_str("</code>)")?;
    for (i, author) in commit.authors.iter().enumerate() {
        out.write_str(if i == 0 { " — " } else { ", " })?;
        escape(out, author)?;
    }
    if commit.breaking
        && let Some(description) = commit.breaking_description()
    {
        out.write_str("\n<blockquote><p>")?;
        let mut first = true;
        let mut blank = false;
        for line in description.lines().map(str::trim) {
            if line.is_empty() {
                blank = true;
                continue;
            }
            if blank {
                out.write_str("</p><p>")?;
            } else if !first {
                out.write_char('\n')?;
            }
            write_text(out, line, options)?;
            first = false;
            blank = false;
        }
        out.write_str("</p></blockquote>")?;
    }
    out.write_str("</li>\n")
}

/// Escaped text with its issue references linked.
fn write_text(out: &mut dyn Write, text: &str, options: &RenderOptions) -> fmt::Result {
    let mut plain = 0;
    for found in issue_refs(text) {
        escape(out, &text[plain..found.start])?;
        write_issue(out, found.number, options)?;
        plain = found.end;
    }
    escape(out, &text[plain..])
}

fn write_issue(out: &mut dyn Write, number: &str, options: &RenderOptions) -> fmt::Result {
    match options.issue_link() {
        Some((before, after)) => {
            out.write_str("<a href=\"")?;
            escape(out, before)?;
            out.write_str(number)?;
            escape(out, after)?;
            write!(out, "\">#{number}</a>")
        }
        None => write!(out, "#{number}"),
    }
}

/// Writes `text` with `&`, `<`, `>`, `"` and `'` escaped, in runs between them.
fn escape(out: &mut dyn Write, text: &str) -> fmt::Result {
    let mut plain = 0;
    for (at, c) in text.char_indices() {
        if let Some(entity) = entity(c) {
            out.write_str(&text[plain..at])?;
            out.write_str(entity)?;
            plain = at + 1;
        }
    }
    out.write_str(&text[plain..])
}

fn escape_char(out: &mut dyn Write, c: char) -> fmt::Result {
    match entity(c) {
        Some(entity) => out.write_str(entity),
        None => out.write_char(c),
    }
}

fn entity(c: char) -> Option<&'static str> {
    Some(match c {
        '&' => "&amp;",
        '<' => "&lt;",
        '>' => "&gt;",
        '"' => "&quot;",
        '\'' => "&#39;",
        _ => return None,
    })
}
