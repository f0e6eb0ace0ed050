//! Which events of the audit trail a listing shows, and in which order.
//!
//! The rules, kept the same by [`AuditFilter::matches`] and by the store's
//! SQL (its contract suite compares the two):
//!
//! - `actor`: the events of exactly this actor (`admin`, `recovery`,
//!   `ci:repo:acme/api:ref:refs/heads/main`, an agent's `agent:…`).
//! - `action`: exactly this action (`release.create`), or with `KIND.*`
//!   every action on that kind of object (`release.*`: `release.create`,
//!   `release.abandon`). Every action is `KIND.VERB`.
//! - `object`: the object as recorded (`release:api@1.0.0`,
//!   `environment:prod`, `deployment:42`), or its name without the kind
//!   (`api@1.0.0`, `prod`, `42`, which matches every kind of object of that
//!   name).
//! - `since`: events at or after this instant.
//!
//! Filters combine with "and". A value that cannot match anything by its
//! form (an empty actor, an action without a verb) is refused when read,
//! with what is expected.

use std::fmt;

use chrono::{DateTime, Utc};

use crate::audit::AuditRecord;

/// Which events to list; `None` filters nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only this actor's events.
    pub actor: Option<Actor>,
    /// Only these actions.
    pub action: Option<ActionMatch>,
    /// Only events about this object.
    pub object: Option<ObjectMatch>,
    /// Only events at or after this instant.
    pub since: Option<DateTime<Utc>>,
}

impl AuditFilter {
    /// Whether `event` is one the filter lets through.
    pub fn matches(&self, event: &AuditRecord) -> bool {
        let actor = self.actor.as_ref().is_none_or(|a| a.0 == event.actor);
        let action = self
            .action
            .as_ref()
            .is_none_or(|a| a.matches(&event.action));
        let object = self
            .object
            .as_ref()
            .is_none_or(|o| o.matches(&event.object));
        let since = self.since.is_none_or(|since| {
            crate::time::parse_time(&event.time).is_ok_and(|time| time >= since)
        });
        actor && action && object && since
    }

    /// Whether the filter lets every event through.
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

/// Which event comes first in a listing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AuditOrder {
    /// The order of the chain, from event 1 (`oldest`).
    #[default]
    OldestFirst,
    /// The latest event first (`newest`).
    NewestFirst,
}

impl AuditOrder {
    /// Reads `oldest` or `newest`.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "oldest" => Ok(Self::OldestFirst),
            "newest" => Ok(Self::NewestFirst),
            other => Err(format!("expected oldest or newest, not {other:?}")),
        }
    }

    /// `oldest` or `newest`, as [`AuditOrder::parse`] reads it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OldestFirst => "oldest",
            Self::NewestFirst => "newest",
        }
    }
}

/// Who did it, as the trail records them: non-empty, on one line.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Actor(String);

impl Actor {
    /// Reads an actor's name as recorded.
    pub fn parse(text: &str) -> Result<Self, String> {
        one_line_text(
            text,
            "an actor such as admin, or ci:repo:acme/api:ref:refs/heads/main",
        )
        .map(Self)
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The actions an [`AuditFilter`] lets through.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ActionMatch {
    /// This action: `release.create`.
    Exactly(String),
    /// Every action on this kind of object: `release.*` holds `release`.
    OfKind(String),
}

/// What `--action` and `action=` accept, for messages.
const ACTION_FORM: &str = "an action such as release.create, or release.* for every action on releases (lower-case letters, digits, _ and -, in parts joined by dots)";

impl ActionMatch {
    /// Reads `KIND.VERB` (exactly that action) or `KIND.*` (every action
    /// on that kind).
    pub fn parse(text: &str) -> Result<Self, String> {
        let refuse = || format!("expected {ACTION_FORM}, not {text:?}");
        let part = |part: &str| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        };
        if let Some(kind) = text.strip_suffix(".*") {
            return if kind.split('.').all(part) {
                Ok(Self::OfKind(kind.to_owned()))
            } else {
                Err(refuse())
            };
        }
        if !text.contains('.') {
            return Err(format!(
                "expected {ACTION_FORM}, not {text:?}: every action is KIND.VERB, so {text}.* may be what is meant"
            ));
        }
        if text.split('.').all(part) {
            Ok(Self::Exactly(text.to_owned()))
        } else {
            Err(refuse())
        }
    }

    /// Whether `action` is one of these.
    pub fn matches(&self, action: &str) -> bool {
        match self {
            Self::Exactly(wanted) => action == wanted,
            Self::OfKind(kind) => action
                .strip_prefix(kind.as_str())
                .is_some_and(|rest| rest.starts_with('.')),
        }
    }
}

impl fmt::Display for ActionMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exactly(action) => f.write_str(action),
            Self::OfKind(kind) => write!(f, "{kind}.*"),
        }
    }
}

/// The objects an [`AuditFilter`] lets through: this object as recorded
/// (`release:api@1.0.0`), or every kind of object of this name
/// (`api@1.0.0` matches `release:api@1.0.0`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectMatch(String);

impl ObjectMatch {
    /// Reads an object as recorded, or its name.
    pub fn parse(text: &str) -> Result<Self, String> {
        one_line_text(
            text,
            "an object such as release:api@1.0.0 or environment:prod, or its name such as api@1.0.0 or prod",
        )
        .map(Self)
    }

    /// The text as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `object` is this object, or an object of any kind with this
    /// name (`KIND:` followed by it).
    pub fn matches(&self, object: &str) -> bool {
        object == self.0
            || object
                .strip_suffix(self.0.as_str())
                .and_then(|kind| kind.strip_suffix(':'))
                .is_some_and(|kind| !kind.is_empty())
    }
}

impl fmt::Display for ObjectMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `text` when it is not blank and has no control characters; else an error
/// saying what is `expected`.
fn one_line_text(text: &str, expected: &str) -> Result<String, String> {
    if text.trim().is_empty() {
        return Err(format!("expected {expected}, not nothing"));
    }
    if text.chars().any(char::is_control) {
        return Err(format!(
            "expected {expected}, on one line without control characters, not {text:?}"
        ));
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(actor: &str, action: &str, object: &str, time: &str) -> AuditRecord {
        AuditRecord {
            seq: 1,
            time: time.into(),
            actor: actor.into(),
            action: action.into(),
            object: object.into(),
            details: "{}".into(),
            prev_hash: String::new(),
            hash: String::new(),
        }
    }

    #[test]
    fn actions_are_matched_exactly_or_by_kind() {
        let exact = ActionMatch::parse("release.create").unwrap();
        assert!(exact.matches("release.create"));
        assert!(!exact.matches("release.abandon"));
        assert!(!exact.matches("release.create.x"));
        let kind = ActionMatch::parse("release.*").unwrap();
        assert_eq!(kind, ActionMatch::OfKind("release".into()));
        assert_eq!(kind.to_string(), "release.*");
        assert!(kind.matches("release.create") && kind.matches("release.abandon"));
        assert!(!kind.matches("releases.create") && !kind.matches("release"));
        assert!(!kind.matches("ci-token.create"));
    }

    #[test]
    fn an_action_of_another_form_is_refused_with_the_expected_one() {
        for bad in [
            "",
            "release",
            "Release.create",
            "release.",
            ".create",
            "release.c*",
            "*",
            "release create",
        ] {
            let error = ActionMatch::parse(bad).unwrap_err();
            assert!(error.contains("release.create"), "{bad:?}: {error}");
        }
        assert!(
            ActionMatch::parse("release")
                .unwrap_err()
                .contains("release.*")
        );
    }

    #[test]
    fn objects_are_matched_as_recorded_or_by_name() {
        let by_name = ObjectMatch::parse("api@1.0.0").unwrap();
        assert!(by_name.matches("release:api@1.0.0"));
        assert!(by_name.matches("api@1.0.0"));
        assert!(!by_name.matches("release:api@1.0.0-rc.1"));
        assert!(!by_name.matches("release:xapi@1.0.0"));
        let prod = ObjectMatch::parse("prod").unwrap();
        assert!(prod.matches("environment:prod"));
        assert!(!prod.matches("variable:prod/LOG_LEVEL"));
        let exact = ObjectMatch::parse("token:5").unwrap();
        assert!(exact.matches("token:5"));
        assert!(!exact.matches("ci-token:5"));
        assert!(ObjectMatch::parse(" ").is_err());
        assert!(ObjectMatch::parse("a\nb").is_err());
    }

    #[test]
    fn filters_combine() {
        let filter = AuditFilter {
            actor: Some(Actor::parse("admin").unwrap()),
            action: Some(ActionMatch::parse("release.*").unwrap()),
            object: Some(ObjectMatch::parse("api@1.0.0").unwrap()),
            since: Some(crate::time::parse_time("2026-12-04T10:00:00Z").unwrap()),
        };
        let good = event(
            "admin",
            "release.create",
            "release:api@1.0.0",
            "2026-12-04T10:00:00.000000Z",
        );
        assert!(filter.matches(&good));
        assert!(AuditFilter::default().matches(&good));
        assert!(AuditFilter::default().is_empty() && !filter.is_empty());
        for bad in [
            AuditRecord {
                actor: "dana".into(),
                ..good.clone()
            },
            AuditRecord {
                action: "deployment.create".into(),
                ..good.clone()
            },
            AuditRecord {
                object: "release:api@1.0.1".into(),
                ..good.clone()
            },
            AuditRecord {
                time: "2026-12-04T09:59:59.999999Z".into(),
                ..good.clone()
            },
        ] {
            assert!(!filter.matches(&bad), "{bad:?}");
        }
    }

    #[test]
    fn orders_are_read_by_name() {
        assert_eq!(AuditOrder::parse("newest"), Ok(AuditOrder::NewestFirst));
        assert_eq!(AuditOrder::parse("oldest"), Ok(AuditOrder::OldestFirst));
        assert_eq!(AuditOrder::default(), AuditOrder::OldestFirst);
        assert!(
            AuditOrder::parse("latest")
                .unwrap_err()
                .contains("oldest or newest")
        );
        for order in [AuditOrder::OldestFirst, AuditOrder::NewestFirst] {
            assert_eq!(AuditOrder::parse(order.as_str()), Ok(order));
        }
    }
}
