//! Locks and bad marks: environments (or one service in them) closed to
//! promotions by people, and releases marked bad where they were rolled
//! back.

use chrono::{DateTime, Utc};
use ferry_core::Name;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A lock, in force (`unlocked_at` is null) or lifted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Lock {
    /// Its id.
    pub id: i64,
    /// The environment.
    pub environment: Name,
    /// The one service locked; null when the whole environment is.
    pub service: Option<Name>,
    /// Why it was locked.
    pub reason: String,
    /// Who locked it (`ferry` when it was locked after a rollback).
    pub locked_by: String,
    /// When.
    pub locked_at: DateTime<Utc>,
    /// Who unlocked it, if it is lifted.
    #[serde(default)]
    pub unlocked_by: Option<String>,
    /// When it was unlocked.
    #[serde(default)]
    pub unlocked_at: Option<DateTime<Utc>>,
    /// Why it was unlocked.
    #[serde(default)]
    pub unlock_reason: Option<String>,
}

/// The body of `POST /api/v1/locks`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLock {
    /// The environment to lock.
    pub environment: Name,
    /// Lock only this service in it; absent to lock the whole environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<Name>,
    /// Why: shown to everyone the lock stops.
    pub reason: String,
}

/// The body of `POST /api/v1/locks/unlock`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Unlock {
    /// The environment to unlock.
    pub environment: Name,
    /// Unlock this service's own lock; absent for the environment's lock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<Name>,
    /// Why it may go ahead again.
    pub reason: String,
}

/// A release's bad mark in an environment, in force (`unmarked_at` is
/// null) or lifted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Mark {
    /// Its id.
    pub id: i64,
    /// The release, as `service@version`.
    pub release: String,
    /// The environment it was rolled back from.
    pub environment: Name,
    /// Why: the rollback's reason.
    pub reason: String,
    /// Who asked for the rollback (`ferry` for an automatic one).
    pub marked_by: String,
    /// When.
    pub marked_at: DateTime<Utc>,
    /// The deployment rolled back.
    #[serde(default)]
    pub deployment: Option<i64>,
    /// Who unmarked it, if it is lifted.
    #[serde(default)]
    pub unmarked_by: Option<String>,
    /// When it was unmarked.
    #[serde(default)]
    pub unmarked_at: Option<DateTime<Utc>>,
    /// Why it was unmarked.
    #[serde(default)]
    pub unmark_reason: Option<String>,
}

/// The body of `POST /api/v1/services/{service}/releases/{version}/unmark`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Unmark {
    /// The environment whose mark is lifted.
    pub environment: Name,
    /// Why the release may go there again.
    pub reason: String,
}
