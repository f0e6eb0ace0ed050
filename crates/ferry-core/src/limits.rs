//! The limits of what ferry accepts, in one table: how long a text may be,
//! how many items a list may hold, and which characters a text may not
//! contain. The server checks every request against them, whatever the
//! client; `docs/limits.md` documents them and a test checks that the two
//! agree.
//!
//! A text is counted in characters (Unicode scalar values). No text may hold
//! NUL or another control character, except line feeds and tabs in texts
//! written for people on several lines (descriptions, notes, comments):
//! PostgreSQL cannot store NUL at all, and control characters in a name or
//! title make logs and terminals lie.

use std::fmt;

/// What a limit counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Characters of a text.
    Characters,
    /// Items of a list.
    Items,
}

/// One limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// What it limits, as the documentation names it.
    pub what: &'static str,
    /// The most allowed.
    pub max: usize,
    /// What is counted.
    pub unit: Unit,
    /// For a text: whether line feeds and tabs are allowed in it.
    pub multiline: bool,
}

const fn text(what: &'static str, max: usize, multiline: bool) -> Limit {
    Limit {
        what,
        max,
        unit: Unit::Characters,
        multiline,
    }
}

const fn items(what: &'static str, max: usize) -> Limit {
    Limit {
        what,
        max,
        unit: Unit::Items,
        multiline: false,
    }
}

/// A change request's title.
pub const TITLE: Limit = text("change request title", 200, false);
/// A change request's description, impact, reasons and review notes.
pub const DESCRIPTION: Limit = text(
    "change request description, impact, reason, review notes",
    10_000,
    true,
);
/// An approval's or rejection's comment.
pub const COMMENT: Limit = text("approval or rejection comment", 2_000, true);
/// A freeze's reason.
pub const FREEZE_REASON: Limit = text("freeze reason", 1_000, true);
/// The reason for a lock, an unlock, an unmark or a rollback.
pub const REASON: Limit = text(
    "reason for a lock, an unlock, an unmark or a rollback",
    1_000,
    true,
);
/// An emergency promotion's justification.
pub const EMERGENCY_REASON: Limit = text("emergency justification", 2_000, true);
/// A token's name.
pub const TOKEN_NAME: Limit = text("token name", 100, false);
/// A calendar feed's name.
pub const FEED_NAME: Limit = text("calendar feed name", 100, false);
/// An evidence's name (a suite or check).
pub const EVIDENCE_NAME: Limit = text("evidence name", 100, false);
/// A URL given with evidence or a report.
pub const URL: Limit = text("URL of evidence or of a report", 2_000, false);
/// An agent's tags.
pub const TAGS: Limit = items("agent tags", 50);
/// A tag's key.
pub const TAG_KEY: Limit = text("agent tag key", 100, false);
/// A tag's value.
pub const TAG_VALUE: Limit = text("agent tag value", 200, false);

/// A post-implementation review's notes.
pub const REVIEW_NOTES: Limit = text("post-implementation review notes", 10_000, true);
/// A follow-up action of a post-implementation review.
pub const REVIEW_ACTION: Limit = text("follow-up action of a review", 500, false);
/// The follow-up actions of a post-implementation review.
pub const REVIEW_ACTIONS: Limit = items("follow-up actions of a review", 50);

/// A release's version, with its pre-release and build parts.
pub const VERSION: Limit = text("version", 128, false);

/// The description of an environment or a service in ferry.toml.
pub const CONFIG_DESCRIPTION: Limit =
    text("description of an environment or a service", 2_000, true);

/// A release's notes (Markdown).
pub const NOTES: Limit = text("release notes", 1_048_576, true);
/// The authors a release names.
pub const AUTHORS: Limit = items("authors of a release", 10_000);
/// The artifacts of a release.
pub const ARTIFACTS: Limit = items("artifacts of a release", 100);

/// Every limit, in the documentation's order.
pub const ALL: [Limit; 21] = [
    TITLE,
    DESCRIPTION,
    COMMENT,
    FREEZE_REASON,
    EMERGENCY_REASON,
    REASON,
    TOKEN_NAME,
    FEED_NAME,
    EVIDENCE_NAME,
    URL,
    TAGS,
    TAG_KEY,
    TAG_VALUE,
    REVIEW_NOTES,
    REVIEW_ACTION,
    REVIEW_ACTIONS,
    VERSION,
    CONFIG_DESCRIPTION,
    NOTES,
    AUTHORS,
    ARTIFACTS,
];

/// A value over a limit, or with a character it may not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    /// Longer (or with more items) than the limit.
    #[error("{field}: {size} {unit} where at most {max} are allowed")]
    TooLong {
        /// The field, as the request names it.
        field: String,
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
        /// What was counted.
        unit: &'static str,
    },
    /// A control character (NUL included) where none may be.
    #[error("{field}: holds the control character U+{code:04X} at character {position}; {allowed}")]
    Control {
        /// The field.
        field: String,
        /// The character's code point.
        code: u32,
        /// Where (1-based, in characters).
        position: usize,
        /// What is allowed instead.
        allowed: &'static str,
    },
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Unit::Characters => "characters",
            Unit::Items => "items",
        }
    }
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Limit {
    /// Checks a text against this limit; `field` names it in the error.
    pub fn check(&self, field: &str, value: &str) -> Result<(), LimitError> {
        let mut size = 0;
        for (index, c) in value.chars().enumerate() {
            size += 1;
            let allowed = self.multiline && matches!(c, '\n' | '\t' | '\r');
            if c.is_control() && !allowed {
                return Err(LimitError::Control {
                    field: field.to_owned(),
                    code: u32::from(c),
                    position: index + 1,
                    allowed: if self.multiline {
                        "only line feeds and tabs are allowed"
                    } else {
                        "it is one line of printable text"
                    },
                });
            }
        }
        self.check_count(field, size)
    }

    /// Checks a size (characters or items) against this limit.
    pub fn check_count(&self, field: &str, size: usize) -> Result<(), LimitError> {
        if size > self.max {
            return Err(LimitError::TooLong {
                field: field.to_owned(),
                size,
                max: self.max,
                unit: self.unit.as_str(),
            });
        }
        Ok(())
    }
}

/// Checks a link given for people to follow (evidence, a report): an
/// `https://` or `http://` URL with a host, so that no `javascript:`,
/// `file:` or `data:` link is stored and shown.
pub fn check_link(field: &str, value: &str) -> Result<(), String> {
    URL.check(field, value).map_err(|error| error.to_string())?;
    let rest = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"))
        .ok_or_else(|| {
            format!(
                "{field}: {value:?} is not an https:// or http:// URL; expected a link such as \"https://ci.example.com/runs/12\""
            )
        })?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || host.contains(' ') {
        return Err(format!("{field}: {value:?} names no host"));
    }
    Ok(())
}

/// The table of `docs/limits.md`.
pub fn markdown_table() -> String {
    let mut out = String::from("| what | at most | line feeds and tabs |\n|---|---:|:-:|\n");
    for limit in ALL {
        let lines = match (limit.unit, limit.multiline) {
            (Unit::Items, _) => "",
            (Unit::Characters, true) => "yes",
            (Unit::Characters, false) => "no",
        };
        out.push_str(&format!(
            "| {} | {} {} | {lines} |\n",
            limit.what, limit.max, limit.unit
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_over_a_limit_say_the_field_the_size_and_the_limit() {
        assert!(TITLE.check("title", &"x".repeat(200)).is_ok());
        let error = TITLE.check("title", &"é".repeat(201)).unwrap_err();
        assert_eq!(
            error.to_string(),
            "title: 201 characters where at most 200 are allowed"
        );
        let error = TAGS.check_count("tags", 51).unwrap_err();
        assert_eq!(
            error.to_string(),
            "tags: 51 items where at most 50 are allowed"
        );
    }

    #[test]
    fn control_characters_are_refused_line_feeds_only_where_lines_are() {
        let error = TITLE.check("title", "a\u{0}b").unwrap_err();
        assert_eq!(
            error.to_string(),
            "title: holds the control character U+0000 at character 2; it is one line of printable text"
        );
        assert!(TITLE.check("title", "two\nlines").is_err());
        assert!(
            DESCRIPTION
                .check("description", "two\nlines\tand a tab")
                .is_ok()
        );
        assert!(DESCRIPTION.check("description", "bell\u{7}").is_err());
    }

    #[test]
    fn links_are_web_links() {
        assert!(check_link("url", "https://ci.example.com/runs/12").is_ok());
        for bad in [
            "javascript:alert(1)",
            "file:///etc/passwd",
            "https:///x",
            "ci/runs/12",
        ] {
            assert!(check_link("url", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_limit_is_in_the_table_once() {
        let table = markdown_table();
        for limit in ALL {
            assert_eq!(
                table.matches(&format!("| {} |", limit.what)).count(),
                1,
                "{}",
                limit.what
            );
        }
    }
}
