//! Locks and bad marks: the two ways people close a path to promotions
//! that no configuration describes.
//!
//! - A **lock** closes an environment, or one service in it, to
//!   promotions until someone unlocks it (`ferry lock ENV [--service S]
//!   --reason TEXT`, `ferry unlock`). It is a gate: it names who locked it,
//!   when and why. A lock is a deliberate stop, so the emergency path does
//!   not bypass it; rollbacks, which restore what ran before, are never held
//!   by one. An environment with `lock_after_rollback = true` is locked by
//!   ferry itself after any rollback there.
//! - A **bad mark** says a release was rolled back from an environment
//!   (automatically or by hand), and why. A release marked bad in an
//!   environment is never promoted there by an automatic phase, and a
//!   person's promotion of it is blocked until someone unmarks it
//!   (`ferry release unmark SERVICE@VERSION --env ENV --reason TEXT`).
//!
//! Both are kept with their history: unlocking or unmarking ends the record
//! (with who, when and why) instead of deleting it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::Name;

/// A lock in force: an environment, or one service in it, closed to
/// promotions.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockFact {
    /// The environment.
    pub environment: Name,
    /// The one service locked; `None` when the whole environment is.
    pub service: Option<Name>,
    /// Why, in the words of whoever locked it.
    pub reason: String,
    /// Who locked it (`ferry` when it was locked after a rollback).
    pub locked_by: String,
    /// When.
    pub locked_at: DateTime<Utc>,
}

impl LockFact {
    /// Whether this lock holds promotions of `service` into `environment`.
    pub fn holds(&self, service: &Name, environment: &Name) -> bool {
        &self.environment == environment && self.service.as_ref().is_none_or(|s| s == service)
    }

    /// What is locked, for people: `prod` or `api in prod`.
    pub fn scope(&self) -> String {
        match &self.service {
            Some(service) => format!("{service} in {}", self.environment),
            None => self.environment.to_string(),
        }
    }

    /// The command that lifts it.
    pub fn unlock_command(&self) -> String {
        match &self.service {
            Some(service) => format!(
                "ferry unlock {} --service {service} --reason TEXT",
                self.environment
            ),
            None => format!("ferry unlock {} --reason TEXT", self.environment),
        }
    }
}

/// Who locks an environment after a rollback there.
pub const LOCKED_BY_FERRY: &str = "ferry";

/// A release marked bad in an environment, because it was rolled back there.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BadMark {
    /// The environment it was rolled back from.
    pub environment: Name,
    /// Why it was marked: the rollback's reason.
    pub reason: String,
    /// Who marked it: who asked for the rollback, or `ferry` for an
    /// automatic one.
    pub marked_by: String,
    /// When.
    pub marked_at: DateTime<Utc>,
    /// The deployment that was rolled back, if it is known.
    pub deployment: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> Name {
        Name::parse(text).unwrap()
    }

    fn lock(service: Option<&str>) -> LockFact {
        LockFact {
            environment: name("prod"),
            service: service.map(name),
            reason: "incident 42".into(),
            locked_by: "rosa".into(),
            locked_at: DateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn an_environment_lock_holds_every_service_there_and_nowhere_else() {
        let whole = lock(None);
        assert!(whole.holds(&name("api"), &name("prod")));
        assert!(whole.holds(&name("web"), &name("prod")));
        assert!(!whole.holds(&name("api"), &name("staging")));
        assert_eq!(whole.scope(), "prod");
        assert_eq!(whole.unlock_command(), "ferry unlock prod --reason TEXT");
    }

    #[test]
    fn a_service_lock_holds_only_that_service() {
        let one = lock(Some("api"));
        assert!(one.holds(&name("api"), &name("prod")));
        assert!(!one.holds(&name("web"), &name("prod")));
        assert_eq!(one.scope(), "api in prod");
        assert_eq!(
            one.unlock_command(),
            "ferry unlock prod --service api --reason TEXT"
        );
    }
}
