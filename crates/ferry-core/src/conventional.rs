//! Commit messages read as Conventional Commits 1.0.0: the type, scope,
//! breaking marker, description, body and footers that the changelog, the
//! release notes and the next version are computed from.
//!
//! Rules this parser keeps:
//!
//! - It never fails and never panics: every message gives a [`Message`]. One
//!   whose header does not follow the specification is kept with `kind: None`,
//!   its first line as the subject and the rest as the body, so a release's
//!   notes never lose a commit.
//! - The header is the first non-blank line (leading blank lines and CRLF line
//!   ends are tolerated). `type(scope)!: description` needs the colon *and* a
//!   space, as the specification says; the type is ASCII letters, digits, `-`
//!   or `_`, starting with a letter, and is lower-cased (types are not case
//!   sensitive); the scope is kept as written (`feat():` counts as no scope).
//! - git's own revert header, `Revert "feat: x"`, is read as type `revert`
//!   with the quoted header as the subject; `revert: x` is an ordinary type.
//!   git's `This reverts commit <sha>.` line fills [`Message::reverts`].
//! - Footers follow git's trailer form: `Token: value` or `Token #value`, the
//!   token letters, digits and `-` (or `BREAKING CHANGE`, upper-case only, as
//!   the specification requires). A value runs until the next footer line, so
//!   it may span lines and, for a breaking change, paragraphs. The footer
//!   section is the trailing run of paragraphs that each begin with a footer;
//!   a `BREAKING CHANGE:` line starts it earlier wherever it stands, because
//!   missing a breaking change costs a wrong major version. Footers are read
//!   for non-conforming headers too (a squash merge titled "Update README"
//!   still carries `Co-authored-by`), and their `BREAKING CHANGE` counts.
//! - The `#` of a `Token #value` footer is kept in the value (`Refs #133` →
//!   value `#133`), so an issue reference reads the same in both forms.
//!
//! A changelog run parses about 100,000 messages, so the parser is one pass to
//! find where the footers start and one to read them, over borrowed slices:
//! it allocates only the strings of the result.

use serde::{Deserialize, Serialize};

/// One footer (git trailer) of a commit message, such as `Reviewed-by: Z`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Footer {
    /// The token as written: `Reviewed-by`, `Refs`, `BREAKING CHANGE`.
    pub token: String,
    /// The value, trimmed; lines after the first are kept (LF line ends).
    /// For the `Token #value` form the `#` is part of the value.
    pub value: String,
}

/// A commit message, read as a Conventional Commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The type, lower-cased (`feat`); `None` when the header does not follow
    /// the specification.
    pub kind: Option<String>,
    /// The scope as written, if any.
    pub scope: Option<String>,
    /// `!` before the colon, or a `BREAKING CHANGE` / `BREAKING-CHANGE` footer.
    pub breaking: bool,
    /// The description; for a message that does not follow the specification,
    /// its first line; for a git revert, the reverted commit's header.
    pub subject: String,
    /// The text between the header and the footers, without leading and
    /// trailing blank lines; `None` when there is none.
    pub body: Option<String>,
    /// The footers in the order written.
    pub footers: Vec<Footer>,
    /// The commit id from git's `This reverts commit <sha>.` line, if any.
    pub reverts: Option<String>,
}

impl Message {
    /// The text of the first `BREAKING CHANGE` (or `BREAKING-CHANGE`) footer,
    /// else `None` — also when the change is marked breaking only by `!`, whose
    /// description is then the subject.
    pub fn breaking_description(&self) -> Option<&str> {
        self.footers
            .iter()
            .find(|footer| is_breaking_token(&footer.token))
            .map(|footer| footer.value.as_str())
    }
}

/// Reads a commit message. Never fails: see the module documentation for what
/// a message that does not follow the specification becomes.
pub fn parse(message: &str) -> Message {
    let message = message.strip_prefix('\u{feff}').unwrap_or(message);
    let (header, rest) = split_header(message);
    let header = parse_header(header);

    let (footer_start, reverts) = scan(rest);
    let body = clean_block(&rest[..footer_start]);
    let footers = read_footers(&rest[footer_start..]);
    let breaking = header.breaking
        || footers
            .iter()
            .any(|footer| is_breaking_token(&footer.token));

    Message {
        kind: header.kind.map(str::to_ascii_lowercase),
        scope: header.scope.map(str::to_owned),
        breaking,
        subject: header.subject.to_owned(),
        body,
        footers,
        reverts: reverts.map(str::to_owned),
    }
}

/// The parts of a header, borrowed from the message.
struct Header<'a> {
    kind: Option<&'a str>,
    scope: Option<&'a str>,
    breaking: bool,
    subject: &'a str,
}

/// Lines with the byte offset where each starts, without the line end (`\n`
/// or `\r\n`).
fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut offset = 0;
    text.split_inclusive('\n').map(move |raw| {
        let start = offset;
        offset += raw.len();
        let line = raw.strip_suffix('\n').unwrap_or(raw);
        (start, line.strip_suffix('\r').unwrap_or(line))
    })
}

fn is_blank(line: &str) -> bool {
    line.bytes().all(|b| b.is_ascii_whitespace())
}

/// The first non-blank line (trimmed), and everything after it.
fn split_header(message: &str) -> (&str, &str) {
    for (start, line) in lines(message) {
        if !is_blank(line) {
            let after = message[start..]
                .find('\n')
                .map_or(message.len(), |i| start + i + 1);
            return (line.trim(), &message[after..]);
        }
    }
    ("", "")
}

fn parse_header(header: &str) -> Header<'_> {
    let plain = Header {
        kind: None,
        scope: None,
        breaking: false,
        subject: header,
    };
    // git's own revert message, `Revert "<reverted header>"`.
    if let Some(quoted) = header
        .strip_prefix("Revert \"")
        .and_then(|rest| rest.strip_suffix('"'))
        .map(str::trim)
        .filter(|quoted| !quoted.is_empty())
    {
        return Header {
            kind: Some("revert"),
            scope: None,
            breaking: false,
            subject: quoted,
        };
    }

    let bytes = header.as_bytes();
    if !bytes.first().is_some_and(u8::is_ascii_alphabetic) {
        return plain;
    }
    let mut at = bytes
        .iter()
        .position(|&b| !(b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        .unwrap_or(bytes.len());
    let kind = &header[..at];

    let mut scope = None;
    if bytes.get(at) == Some(&b'(') {
        let Some(close) = bytes[at + 1..].iter().position(|&b| b == b')') else {
            return plain;
        };
        let inside = &header[at + 1..at + 1 + close];
        if inside.contains('(') {
            return plain;
        }
        let inside = inside.trim();
        scope = (!inside.is_empty()).then_some(inside);
        at += close + 2;
    }

    let breaking = bytes.get(at) == Some(&b'!');
    if breaking {
        at += 1;
    }
    // The specification requires ": " — "feat:x" is not a Conventional Commit.
    if bytes.get(at) != Some(&b':') || !matches!(bytes.get(at + 1), Some(b' ' | b'\t')) {
        return plain;
    }
    let subject = header[at + 1..].trim();
    if subject.is_empty() {
        return plain;
    }
    Header {
        kind: Some(kind),
        scope,
        breaking,
        subject,
    }
}

/// If `line` starts a footer: its token and the start of its value (which,
/// for the `Token #value` form, includes the `#`).
fn footer_start(line: &str) -> Option<(&str, &str)> {
    for token in ["BREAKING CHANGE", "BREAKING-CHANGE"] {
        if let Some(value) = line
            .strip_prefix(token)
            .and_then(|rest| rest.strip_prefix(": "))
        {
            return Some((token, value));
        }
    }
    let end = line
        .find(|c: char| !(c.is_alphanumeric() || c == '-'))
        .unwrap_or(line.len());
    let token = &line[..end];
    if token.is_empty() || token.starts_with('-') {
        return None;
    }
    let rest = &line[end..];
    if let Some(value) = rest.strip_prefix(": ") {
        Some((token, value))
    } else if rest.starts_with(" #") && rest.len() > 2 {
        Some((token, &rest[1..]))
    } else {
        None
    }
}

fn is_breaking_token(token: &str) -> bool {
    token == "BREAKING CHANGE" || token == "BREAKING-CHANGE"
}

/// One pass over the text after the header: where the footer section starts
/// (the text's length when there is none), and the id of git's "This reverts
/// commit" line.
fn scan(rest: &str) -> (usize, Option<&str>) {
    let mut breaking_at = None;
    // Start of the trailing run of paragraphs that each begin with a footer.
    let mut run_start = None;
    let mut paragraph_start = true;
    let mut reverts = None;
    for (start, line) in lines(rest) {
        if is_blank(line) {
            paragraph_start = true;
            continue;
        }
        let footer = footer_start(line);
        if breaking_at.is_none() && footer.is_some_and(|(token, _)| is_breaking_token(token)) {
            breaking_at = Some(start);
        }
        if paragraph_start {
            run_start = match (footer, run_start) {
                (Some(_), None) => Some(start),
                (Some(_), kept) => kept,
                (None, _) => None,
            };
        }
        paragraph_start = false;
        if reverts.is_none() {
            reverts = reverted_id(line);
        }
    }
    let start = match (breaking_at, run_start) {
        (Some(a), Some(b)) => a.min(b),
        (a, b) => a.or(b).unwrap_or(rest.len()),
    };
    (start, reverts)
}

/// The id in git's `This reverts commit <sha>.` line.
fn reverted_id(line: &str) -> Option<&str> {
    let after = line.trim_start().strip_prefix("This reverts commit ")?;
    let end = after
        .find(|c: char| !c.is_ascii_hexdigit())
        .unwrap_or(after.len());
    // Shorter runs of hex letters are words ("a", "be"), not abbreviated ids.
    (end >= 4).then(|| &after[..end])
}

/// `text` without leading blank lines and trailing white space, with LF line
/// ends; `None` when nothing is left.
fn clean_block(text: &str) -> Option<String> {
    let first = lines(text)
        .find(|(_, line)| !is_blank(line))
        .map(|(start, _)| start)?;
    let text = text[first..].trim_end();
    if !text.contains('\r') {
        return Some(text.to_owned());
    }
    let mut out = String::with_capacity(text.len());
    for (i, (_, line)) in lines(text).enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(line);
    }
    Some(out)
}

/// Reads the footer section: each footer line starts a footer; any other line
/// (blank ones included) continues the value of the one before.
fn read_footers(section: &str) -> Vec<Footer> {
    let mut footers: Vec<Footer> = Vec::new();
    for (_, line) in lines(section) {
        if let Some((token, value)) = footer_start(line) {
            if let Some(last) = footers.last_mut() {
                trim_value(&mut last.value);
            }
            footers.push(Footer {
                token: token.to_owned(),
                value: value.trim().to_owned(),
            });
        } else if let Some(last) = footers.last_mut() {
            last.value.push('\n');
            last.value.push_str(line.trim_end());
        }
    }
    if let Some(last) = footers.last_mut() {
        trim_value(&mut last.value);
    }
    footers
}

/// Drops the blank lines a value collected before the next footer (and the
/// leading ones of a value that starts on the line after its token).
fn trim_value(value: &mut String) {
    let end = value.trim_end().len();
    value.truncate(end);
    let start = value.len() - value.trim_start().len();
    if start > 0 {
        value.drain(..start);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn footer(token: &str, value: &str) -> Footer {
        Footer {
            token: token.into(),
            value: value.into(),
        }
    }

    struct Expect<'a> {
        kind: Option<&'a str>,
        scope: Option<&'a str>,
        breaking: bool,
        subject: &'a str,
        body: Option<&'a str>,
        footers: &'a [(&'a str, &'a str)],
    }

    fn check(message: &str, expect: Expect<'_>) {
        let parsed = parse(message);
        let wanted = Message {
            kind: expect.kind.map(Into::into),
            scope: expect.scope.map(Into::into),
            breaking: expect.breaking,
            subject: expect.subject.into(),
            body: expect.body.map(Into::into),
            footers: expect.footers.iter().map(|(t, v)| footer(t, v)).collect(),
            reverts: None,
        };
        assert_eq!(parsed, wanted, "message: {message:?}");
    }

    // Every example of https://www.conventionalcommits.org/en/v1.0.0/.
    #[test]
    fn the_specification_examples() {
        check(
            "feat: allow provided config object to extend other configs\n\nBREAKING CHANGE: `extends` key in config file is now used for extending other config files",
            Expect {
                kind: Some("feat"),
                scope: None,
                breaking: true,
                subject: "allow provided config object to extend other configs",
                body: None,
                footers: &[(
                    "BREAKING CHANGE",
                    "`extends` key in config file is now used for extending other config files",
                )],
            },
        );
        check(
            "refactor!: drop support for Node 6",
            Expect {
                kind: Some("refactor"),
                scope: None,
                breaking: true,
                subject: "drop support for Node 6",
                body: None,
                footers: &[],
            },
        );
        check(
            "refactor(runtime)!: drop support for Node 6",
            Expect {
                kind: Some("refactor"),
                scope: Some("runtime"),
                breaking: true,
                subject: "drop support for Node 6",
                body: None,
                footers: &[],
            },
        );
        check(
            "refactor!: drop support for Node 6\n\nBREAKING CHANGE: refactor to use JavaScript features not available in Node 6.",
            Expect {
                kind: Some("refactor"),
                scope: None,
                breaking: true,
                subject: "drop support for Node 6",
                body: None,
                footers: &[(
                    "BREAKING CHANGE",
                    "refactor to use JavaScript features not available in Node 6.",
                )],
            },
        );
        check(
            "docs: correct spelling of CHANGELOG",
            Expect {
                kind: Some("docs"),
                scope: None,
                breaking: false,
                subject: "correct spelling of CHANGELOG",
                body: None,
                footers: &[],
            },
        );
        check(
            "feat(lang): add polish language",
            Expect {
                kind: Some("feat"),
                scope: Some("lang"),
                breaking: false,
                subject: "add polish language",
                body: None,
                footers: &[],
            },
        );
        check(
            "fix: correct minor typos in code\n\nsee the issue for details\n\non typos fixed.\n\nReviewed-by: Z\nRefs #133\n",
            Expect {
                kind: Some("fix"),
                scope: None,
                breaking: false,
                subject: "correct minor typos in code",
                body: Some("see the issue for details\n\non typos fixed."),
                footers: &[("Reviewed-by", "Z"), ("Refs", "#133")],
            },
        );
        // The FAQ's revert.
        check(
            "revert: let us never again speak of the noodle incident\n\nRefs: 676104e, a215868",
            Expect {
                kind: Some("revert"),
                scope: None,
                breaking: false,
                subject: "let us never again speak of the noodle incident",
                body: None,
                footers: &[("Refs", "676104e, a215868")],
            },
        );
    }

    #[test]
    fn types_are_case_insensitive_and_scopes_kept() {
        let m = parse("FEAT(API): Add X");
        assert_eq!(m.kind.as_deref(), Some("feat"));
        assert_eq!(m.scope.as_deref(), Some("API"));
        assert_eq!(m.subject, "Add X");
        let m = parse("fix(  parser ):   trim  ");
        assert_eq!(m.scope.as_deref(), Some("parser"));
        assert_eq!(m.subject, "trim");
        let m = parse("feat(): empty scope");
        assert_eq!((m.kind.as_deref(), m.scope), (Some("feat"), None));
        let m = parse("build-deps(@acme/ui, cli)!: bump");
        assert_eq!(m.kind.as_deref(), Some("build-deps"));
        assert_eq!(m.scope.as_deref(), Some("@acme/ui, cli"));
        assert!(m.breaking);
    }

    #[test]
    fn non_conforming_messages_are_kept_whole() {
        for header in [
            "Update README.md",
            "feat:no space",
            "feat: ",
            "feat",
            "(scope): no type",
            "feat(unclosed: x",
            "feat(a(b)): nested",
            "feat !: space before bang",
            "1.2.0: release",
            "Merge branch 'main' into feature",
            "Revert \"\"",
        ] {
            let m = parse(&format!("{header}\n\nSome body.\n"));
            assert_eq!(m.kind, None, "{header:?}");
            assert_eq!(m.subject, header.trim(), "{header:?}");
            assert_eq!(m.body.as_deref(), Some("Some body."), "{header:?}");
            assert!(!m.breaking);
        }
        let m = parse("Just one line");
        assert_eq!(m.subject, "Just one line");
        assert_eq!(m.body, None);
    }

    #[test]
    fn leading_blank_lines_and_crlf_are_tolerated() {
        let m = parse(
            "\r\n  \n\tfeat(api): add x\r\n\r\nFirst line.\r\nSecond line.\r\n\r\nRefs: #1\r\nAcked-by: Bob\r\n",
        );
        assert_eq!(m.kind.as_deref(), Some("feat"));
        assert_eq!(m.subject, "add x");
        assert_eq!(m.body.as_deref(), Some("First line.\nSecond line."));
        assert_eq!(
            m.footers,
            vec![footer("Refs", "#1"), footer("Acked-by", "Bob")]
        );
        assert_eq!(parse("\u{feff}fix: bom").kind.as_deref(), Some("fix"));
    }

    #[test]
    fn empty_and_blank_messages() {
        for text in ["", "\n\n", "  \r\n \t "] {
            let m = parse(text);
            assert_eq!(m.kind, None);
            assert_eq!(m.subject, "");
            assert_eq!(m.body, None);
            assert!(m.footers.is_empty());
        }
    }

    #[test]
    fn footer_values_span_lines_until_the_next_token() {
        let m = parse(
            "feat: x\n\nBREAKING CHANGE: the config format changed:\nkeys are now kebab-case.\n\nRun `ferry migrate` to convert.\nReviewed-by: Z\nCo-authored-by: Ada <ada@example.com>\n",
        );
        assert!(m.breaking);
        assert_eq!(m.body, None);
        assert_eq!(
            m.breaking_description(),
            Some(
                "the config format changed:\nkeys are now kebab-case.\n\nRun `ferry migrate` to convert."
            )
        );
        assert_eq!(m.footers.len(), 3);
        assert_eq!(
            m.footers[2],
            footer("Co-authored-by", "Ada <ada@example.com>")
        );
    }

    #[test]
    fn breaking_change_footer_forms() {
        let m = parse("fix: y\n\nBREAKING-CHANGE: the hyphen form");
        assert!(m.breaking);
        assert_eq!(m.breaking_description(), Some("the hyphen form"));
        // Must be upper-case: otherwise an ordinary footer.
        let m = parse("fix: y\n\nBreaking-Change: not it");
        assert!(!m.breaking);
        assert_eq!(m.breaking_description(), None);
        assert_eq!(m.footers, vec![footer("Breaking-Change", "not it")]);
        // `!` alone: breaking, described by the subject.
        let m = parse("feat!: drop v1");
        assert!(m.breaking);
        assert_eq!(m.breaking_description(), None);
        // A breaking footer right after the body, with no blank line between.
        let m = parse("feat: x\n\nSome body.\nBREAKING CHANGE: sneaky\n\nRefs: #4");
        assert!(m.breaking);
        assert_eq!(m.body.as_deref(), Some("Some body."));
        assert_eq!(
            m.footers,
            vec![footer("BREAKING CHANGE", "sneaky"), footer("Refs", "#4")]
        );
        // On a message that does not follow the specification, still breaking.
        let m = parse("Rework the API\n\nBREAKING CHANGE: v1 is gone");
        assert_eq!(m.kind, None);
        assert!(m.breaking);
    }

    #[test]
    fn body_paragraphs_that_do_not_end_the_message_stay_body() {
        let m = parse(
            "fix: x\n\nNote: this looks like a footer but a paragraph follows.\n\nPlain text.\n\nSigned-off-by: A <a@b>",
        );
        assert_eq!(
            m.body.as_deref(),
            Some("Note: this looks like a footer but a paragraph follows.\n\nPlain text.")
        );
        assert_eq!(m.footers, vec![footer("Signed-off-by", "A <a@b>")]);
        // Indented lines and URLs are not tokens.
        let m = parse("fix: x\n\n  Refs: indented\nsee https://example.com");
        assert!(m.footers.is_empty());
        // A token may not start with '-', and "Token #" needs a value.
        let m = parse("fix: x\n\n-x: y\nFixes #");
        assert!(m.footers.is_empty());
    }

    #[test]
    fn footers_directly_under_the_header() {
        let m = parse("chore: bump\nSigned-off-by: Bot <bot@example.com>");
        assert_eq!(m.body, None);
        assert_eq!(
            m.footers,
            vec![footer("Signed-off-by", "Bot <bot@example.com>")]
        );
    }

    #[test]
    fn git_reverts() {
        let m = parse(
            "Revert \"feat(api): add retries\"\n\nThis reverts commit 0123456789abcdef0123456789abcdef01234567.\n",
        );
        assert_eq!(m.kind.as_deref(), Some("revert"));
        assert_eq!(m.scope, None);
        assert_eq!(m.subject, "feat(api): add retries");
        assert_eq!(
            m.reverts.as_deref(),
            Some("0123456789abcdef0123456789abcdef01234567")
        );
        assert_eq!(
            m.body.as_deref(),
            Some("This reverts commit 0123456789abcdef0123456789abcdef01234567.")
        );
        // Reverting a revert.
        let m = parse("Revert \"Revert \"fix: x\"\"\n\nThis reverts commit abc1234.");
        assert_eq!(m.subject, "Revert \"fix: x\"");
        assert_eq!(m.reverts.as_deref(), Some("abc1234"));
        // `revert:` is an ordinary type, and may also carry git's line.
        let m = parse("revert: undo x\n\nThis reverts commit deadbeef.");
        assert_eq!(m.kind.as_deref(), Some("revert"));
        assert_eq!(m.reverts.as_deref(), Some("deadbeef"));
        assert_eq!(parse("fix: x\n\nThis reverts commit a.").reverts, None);
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn never_panics_and_is_deterministic(text in any::<String>()) {
                let first = parse(&text);
                prop_assert_eq!(&first, &parse(&text));
            }

            #[test]
            fn never_panics_on_message_like_text(
                text in "[a-zA-Z!():# \\-\r\n\u{e9}]{0,80}"
            ) {
                let first = parse(&text);
                prop_assert_eq!(&first, &parse(&text));
                prop_assert!(!first.subject.contains('\n'));
            }

            #[test]
            fn conforming_headers_round_trip(
                kind in "[a-z][a-z0-9]{0,8}",
                scope in proptest::option::of("[a-z][a-z0-9/-]{0,8}"),
                bang in any::<bool>(),
                subject in "[a-zA-Z0-9][a-zA-Z0-9 ,.]{0,30}[a-zA-Z0-9.]",
                body in proptest::option::of("[a-z][a-z .]{0,40}[a-z.]"),
            ) {
                let scope_part = scope.as_ref().map(|s| format!("({s})")).unwrap_or_default();
                let bang_part = if bang { "!" } else { "" };
                let mut text = format!("{kind}{scope_part}{bang_part}: {subject}");
                if let Some(body) = &body {
                    text.push_str("\n\n");
                    text.push_str(body);
                }
                let m = parse(&text);
                prop_assert_eq!(m.kind.as_deref(), Some(kind.as_str()));
                prop_assert_eq!(m.scope, scope);
                prop_assert_eq!(m.breaking, bang);
                prop_assert_eq!(m.subject, subject);
                prop_assert_eq!(m.body, body);
            }
        }
    }
}
