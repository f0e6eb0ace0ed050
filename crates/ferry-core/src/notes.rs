//! Release notes: the commits of a release grouped into sections, in the JSON
//! shape `ferry changelog --format json` and `ferry release notes --format
//! json` print, and their renderings as Markdown, as an HTML fragment, and
//! through a user's minijinja template.
//!
//! Rules:
//!
//! - Sections come in a fixed order: "Breaking changes" first (every breaking
//!   commit, and only there), then one per known type (Features, Bug fixes,
//!   Performance, Reverts, Refactoring, Documentation, Tests, Build,
//!   Continuous integration, Style, Chores), and "Other" last (unknown types
//!   and messages that do not follow Conventional Commits — kept, never
//!   dropped). Empty sections are left out. Within a section commits keep the
//!   order given (newest first).
//! - A commit's authors are its author, then the `Co-authored-by` names,
//!   each once, without their mail addresses.
//! - Renderings follow `sections`, which refer to commits by id; an id with no
//!   commit is skipped. `#123` in a subject, and in `Refs`/`Closes`/`Fixes`
//!   (and `Resolves`) footers, becomes a link when an issue URL is configured.
//! - A full-history changelog renders thousands of releases, so the Markdown
//!   and HTML writers stream into the caller's writer and allocate nothing.

use serde::{Deserialize, Serialize};

use crate::conventional::{Footer, Message};

mod html;
mod markdown;
mod template;

pub use html::write_html;
pub use markdown::write_markdown;
pub use template::{TemplateError, render_template};

/// One commit of a release, as the notes show it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotesCommit {
    /// The full commit id.
    pub id: String,
    /// The Conventional Commits type (`feat`), `null` when the message does not
    /// follow the specification.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// The scope, if any.
    pub scope: Option<String>,
    /// Whether it is a breaking change.
    pub breaking: bool,
    /// The description (or first line).
    pub subject: String,
    /// The body, if any.
    pub body: Option<String>,
    /// The footers, in order.
    pub footers: Vec<Footer>,
    /// The author, then co-authors: names only, each once.
    pub authors: Vec<String>,
    /// When it was committed (RFC 3339).
    pub time: String,
}

impl NotesCommit {
    /// A commit from its parsed message. `author` may be `Name` or `Name
    /// <mail>`; the names of `Co-authored-by` footers follow it.
    pub fn new(id: String, message: Message, author: String, time: String) -> Self {
        let mut authors: Vec<String> = Vec::with_capacity(1);
        let co_authors = message
            .footers
            .iter()
            .filter(|footer| footer.token.eq_ignore_ascii_case("Co-authored-by"))
            .map(|footer| footer.value.as_str());
        for person in std::iter::once(author.as_str()).chain(co_authors) {
            let name = name_of(person);
            if !name.is_empty() && !authors.iter().any(|known| known == name) {
                authors.push(name.to_owned());
            }
        }
        Self {
            id,
            kind: message.kind,
            scope: message.scope,
            breaking: message.breaking,
            subject: message.subject,
            body: message.body,
            footers: message.footers,
            authors,
            time,
        }
    }

    /// The text of its `BREAKING CHANGE` footer, if it has one.
    pub fn breaking_description(&self) -> Option<&str> {
        self.footers
            .iter()
            .find(|f| f.token == "BREAKING CHANGE" || f.token == "BREAKING-CHANGE")
            .map(|f| f.value.as_str())
    }

    /// The first seven characters of the id, as the notes show it.
    pub fn short_id(&self) -> &str {
        short_id(&self.id)
    }
}

/// `Name <mail>` → `Name`; a bare `<mail>` → `mail`.
fn name_of(person: &str) -> &str {
    let person = person.trim();
    match person.find('<') {
        Some(0) => person
            .trim_start_matches('<')
            .split('>')
            .next()
            .unwrap_or("")
            .trim(),
        Some(at) => person[..at].trim(),
        None => person,
    }
}

/// The first seven characters of a commit id (all of a shorter one).
pub fn short_id(id: &str) -> &str {
    id.char_indices().nth(7).map_or(id, |(at, _)| &id[..at])
}

/// One section of the notes: a title and the ids of its commits, in order.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Section {
    /// "Features", "Bug fixes"…
    pub title: String,
    /// Ids of its commits (see [`ReleaseNotes::commits`]).
    pub commits: Vec<String>,
}

/// The notes of one release, or of the commits not released yet.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseNotes {
    /// The version; `null` for unreleased commits with no version computed.
    pub version: Option<String>,
    /// The release before it, if any.
    pub previous_version: Option<String>,
    /// The release date (`YYYY-MM-DD`), if released.
    pub date: Option<String>,
    /// The commits, newest first.
    pub commits: Vec<NotesCommit>,
    /// The commits grouped by section, in display order, empty ones left out.
    pub sections: Vec<Section>,
}

impl ReleaseNotes {
    /// Notes for `commits` (newest first), with their sections computed.
    pub fn new(
        version: Option<String>,
        previous_version: Option<String>,
        date: Option<String>,
        commits: Vec<NotesCommit>,
    ) -> Self {
        let mut buckets: [Vec<String>; SECTION_TITLES.len()] = Default::default();
        for commit in &commits {
            buckets[section_index(commit.kind.as_deref(), commit.breaking)].push(commit.id.clone());
        }
        let sections = SECTION_TITLES
            .iter()
            .zip(buckets)
            .filter(|(_, ids)| !ids.is_empty())
            .map(|(title, commits)| Section {
                title: (*title).to_owned(),
                commits,
            })
            .collect();
        Self {
            version,
            previous_version,
            date,
            commits,
            sections,
        }
    }
}

/// The section titles, in display order.
pub const SECTION_TITLES: [&str; 13] = [
    "Breaking changes",
    "Features",
    "Bug fixes",
    "Performance",
    "Reverts",
    "Refactoring",
    "Documentation",
    "Tests",
    "Build",
    "Continuous integration",
    "Style",
    "Chores",
    "Other",
];

/// The types with a section of their own, in display order (after
/// "Breaking changes").
const SECTION_TYPES: [&str; 11] = [
    "feat", "fix", "perf", "revert", "refactor", "docs", "test", "build", "ci", "style", "chore",
];

/// The title of the section a commit of this type goes in.
pub fn section_title(kind: Option<&str>, breaking: bool) -> &'static str {
    SECTION_TITLES[section_index(kind, breaking)]
}

fn section_index(kind: Option<&str>, breaking: bool) -> usize {
    if breaking {
        return 0;
    }
    kind.and_then(|kind| SECTION_TYPES.iter().position(|known| *known == kind))
        .map_or(SECTION_TITLES.len() - 1, |at| at + 1)
}

/// How the notes are rendered.
#[derive(Debug, Clone, Default)]
pub struct RenderOptions {
    /// A link for issue references, `{}` standing for the number, such as
    /// `https://github.com/acme/api/issues/{}` (without `{}`, the number is
    /// appended). `None` leaves `#123` as text.
    pub issue_url: Option<String>,
}

impl RenderOptions {
    /// The issue link template split around the number.
    fn issue_link(&self) -> Option<(&str, &str)> {
        let url = self.issue_url.as_deref()?;
        Some(url.split_once("{}").unwrap_or((url, "")))
    }
}

/// Finds the commits of sections by id without an index: sections list their
/// commits in the release's order, so the next one is almost always just
/// after the last one found.
struct Commits<'a> {
    commits: &'a [NotesCommit],
    next: usize,
}

impl<'a> Commits<'a> {
    fn new(commits: &'a [NotesCommit]) -> Self {
        Self { commits, next: 0 }
    }

    fn find(&mut self, id: &str) -> Option<&'a NotesCommit> {
        let (before, after) = self.commits.split_at(self.next.min(self.commits.len()));
        let found = after
            .iter()
            .position(|c| c.id == id)
            .map(|at| at + before.len())
            .or_else(|| before.iter().position(|c| c.id == id))?;
        self.next = found + 1;
        Some(&self.commits[found])
    }
}

/// An issue reference in a text: `#` and digits standing alone (not
/// `acme/api#1`, `&#38;` or `#12a`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct IssueRef<'a> {
    /// The digits.
    number: &'a str,
    /// Where `#` is.
    start: usize,
    /// Just after the last digit.
    end: usize,
}

/// The issue references of `text`, in order.
fn issue_refs(text: &str) -> impl Iterator<Item = IssueRef<'_>> {
    let bytes = text.as_bytes();
    let mut at = 0;
    std::iter::from_fn(move || {
        while let Some(found) = bytes.get(at..)?.iter().position(|&b| b == b'#') {
            let hash = at + found;
            let digits = bytes[hash + 1..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            let end = hash + 1 + digits;
            at = end.max(hash + 1);
            // Part of a word, a path, an HTML entity or a non-ASCII word?
            let joined = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80;
            let alone_before = hash == 0
                || !(joined(bytes[hash - 1]) || matches!(bytes[hash - 1], b'&' | b'/' | b'#'));
            let alone_after = end == bytes.len() || !joined(bytes[end]);
            if digits > 0 && alone_before && alone_after {
                return Some(IssueRef {
                    number: &text[hash + 1..end],
                    start: hash,
                    end,
                });
            }
        }
        None
    })
}

fn mentions_issue(text: &str, number: &str) -> bool {
    issue_refs(text).any(|found| found.number == number)
}

/// Whether a footer refers to issues: `Refs`, `Closes`, `Fixes`, `Resolves`
/// and their other forms, in any case.
fn is_reference_footer(token: &str) -> bool {
    const TOKENS: [&str; 12] = [
        "refs",
        "ref",
        "references",
        "closes",
        "close",
        "closed",
        "fixes",
        "fix",
        "fixed",
        "resolves",
        "resolve",
        "resolved",
    ];
    TOKENS.iter().any(|known| token.eq_ignore_ascii_case(known))
}

/// The issue numbers of the commit's footer `index` that are not shown yet:
/// not in the subject, in an earlier reference footer, or earlier in this one.
fn fresh_issues(commit: &NotesCommit, index: usize) -> impl Iterator<Item = &str> {
    let value = commit.footers[index].value.as_str();
    let earlier = &commit.footers[..index];
    issue_refs(value)
        .filter(move |found| {
            let n = found.number;
            !mentions_issue(&commit.subject, n)
                && !mentions_issue(&value[..found.start], n)
                && !earlier
                    .iter()
                    .any(|f| is_reference_footer(&f.token) && mentions_issue(&f.value, n))
        })
        .map(|found| found.number)
}

/// The reference footers of a commit that have issues to show, with their
/// index (for [`fresh_issues`]).
fn reference_footers(commit: &NotesCommit) -> impl Iterator<Item = (usize, &Footer)> {
    commit
        .footers
        .iter()
        .enumerate()
        .filter(move |(index, footer)| {
            is_reference_footer(&footer.token) && fresh_issues(commit, *index).next().is_some()
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conventional::parse;

    fn commit(id: &str, message: &str) -> NotesCommit {
        NotesCommit::new(
            id.into(),
            parse(message),
            "Ada Lovelace".into(),
            "2026-11-20T10:00:00Z".into(),
        )
    }

    fn numbers(text: &str) -> Vec<&str> {
        issue_refs(text).map(|found| found.number).collect()
    }

    #[test]
    fn authors_are_deduplicated_names() {
        let c = NotesCommit::new(
            "a".into(),
            parse(
                "feat: x\n\nCo-authored-by: Bob <bob@example.com>\nCo-Authored-By: Ada Lovelace <ada@example.com>\nco-authored-by: <carol@example.com>\nSigned-off-by: Dan <dan@example.com>",
            ),
            "Ada Lovelace <ada@example.com>".into(),
            "t".into(),
        );
        assert_eq!(c.authors, ["Ada Lovelace", "Bob", "carol@example.com"]);
        let c = NotesCommit::new("a".into(), parse("fix: y"), "  ".into(), "t".into());
        assert!(c.authors.is_empty());
    }

    #[test]
    fn sections_in_order_breaking_only_once() {
        let notes = ReleaseNotes::new(
            Some("1.4.0".into()),
            Some("1.3.0".into()),
            None,
            vec![
                commit("c1", "chore: tidy"),
                commit("c2", "feat(api)!: drop v1"),
                commit("c3", "fix: one"),
                commit("c4", "feat: two"),
                commit("c5", "Update README"),
                commit("c6", "wip: what"),
                commit("c7", "fix: three\n\nBREAKING CHANGE: gone"),
                commit(
                    "c8",
                    "Revert \"feat: two\"\n\nThis reverts commit c4c4c4c4.",
                ),
                commit("c9", "FEAT: loud"),
            ],
        );
        let got: Vec<(&str, Vec<&str>)> = notes
            .sections
            .iter()
            .map(|s| {
                (
                    s.title.as_str(),
                    s.commits.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("Breaking changes", vec!["c2", "c7"]),
                ("Features", vec!["c4", "c9"]),
                ("Bug fixes", vec!["c3"]),
                ("Reverts", vec!["c8"]),
                ("Chores", vec!["c1"]),
                ("Other", vec!["c5", "c6"]),
            ]
        );
        for (kind, title) in [
            ("perf", "Performance"),
            ("refactor", "Refactoring"),
            ("docs", "Documentation"),
            ("test", "Tests"),
            ("build", "Build"),
            ("ci", "Continuous integration"),
            ("style", "Style"),
        ] {
            assert_eq!(section_title(Some(kind), false), title);
        }
        assert_eq!(section_title(None, false), "Other");
        assert_eq!(section_title(Some("docs"), true), "Breaking changes");
        assert!(
            ReleaseNotes::new(None, None, None, vec![])
                .sections
                .is_empty()
        );
    }

    #[test]
    fn json_shape() {
        let notes = ReleaseNotes::new(None, None, None, vec![commit("c1", "Update README")]);
        let json = serde_json::to_value(&notes).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "version": null, "previous_version": null, "date": null,
                "commits": [{
                    "id": "c1", "type": null, "scope": null, "breaking": false,
                    "subject": "Update README", "body": null, "footers": [],
                    "authors": ["Ada Lovelace"], "time": "2026-11-20T10:00:00Z"
                }],
                "sections": [{"title": "Other", "commits": ["c1"]}]
            })
        );
        let back: ReleaseNotes = serde_json::from_value(json).unwrap();
        assert_eq!(back, notes);
    }

    #[test]
    fn issue_references_stand_alone() {
        let text = "fix #12 and (#3), not acme/api#4, &#38;, #5a, a#6, #, ##7, #é or é#8";
        assert_eq!(numbers(text), ["12", "3"]);
        let first = issue_refs(text).next().unwrap();
        assert_eq!(&text[first.start..first.end], "#12");
        assert_eq!(numbers("#1"), ["1"]);
        assert!(numbers("").is_empty());
    }

    #[test]
    fn references_show_each_issue_once() {
        let c = commit(
            "a",
            "fix: crash on start (#12)\n\nCloses #12\nRefs: #3, #4, #3\nFixes: #4, #5\nReviewed-by: #6\nRefs: 676104e",
        );
        let shown: Vec<(&str, Vec<&str>)> = reference_footers(&c)
            .map(|(index, footer)| (footer.token.as_str(), fresh_issues(&c, index).collect()))
            .collect();
        assert_eq!(shown, vec![("Refs", vec!["3", "4"]), ("Fixes", vec!["5"])]);
    }

    #[test]
    fn lookup_by_id_wraps_around() {
        let commits = vec![
            commit("a", "fix: a"),
            commit("b", "fix: b"),
            commit("c", "fix: c"),
        ];
        let mut finder = Commits::new(&commits);
        assert_eq!(finder.find("b").map(|c| c.id.as_str()), Some("b"));
        assert_eq!(finder.find("c").map(|c| c.id.as_str()), Some("c"));
        assert_eq!(finder.find("a").map(|c| c.id.as_str()), Some("a"));
        assert!(finder.find("zz").is_none());
        assert_eq!(short_id("0123456789"), "0123456");
        assert_eq!(short_id("abc"), "abc");
    }
}
