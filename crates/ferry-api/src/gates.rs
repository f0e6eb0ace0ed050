//! Decisions, evidence, checks and promotions: what the gates read.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use ferry_core::Name;

use crate::{TestReport, Verdict};

/// A user's decision on a release for an environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Decision {
    /// Who decided.
    pub user: String,
    /// Approved (true) or rejected (false).
    pub approve: bool,
    /// Why.
    pub comment: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// The body of `POST …/releases/{version}/decisions`: approve or reject.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Decide {
    /// The environment the decision is for.
    pub environment: Name,
    /// Approve (true) or reject (false). A new decision replaces the
    /// caller's earlier one: approving withdraws a rejection.
    pub approve: bool,
    /// Why.
    #[serde(default)]
    pub comment: String,
}

/// Evidence that a release was tested in an environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Evidence {
    /// Its id.
    pub id: i64,
    /// The suite or check's name.
    pub name: String,
    /// Whether it passed.
    pub passed: bool,
    /// One line for people, such as "120 tests, 2 failed".
    pub summary: String,
    /// The JUnit report's totals and failing cases, for test evidence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<TestReport>,
    /// A link to the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Who recorded it.
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// The body of `POST …/releases/{version}/evidence`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddEvidence {
    /// The environment it was gathered in.
    pub environment: Name,
    /// The suite or check's name (what policies require).
    pub name: String,
    /// A JUnit report (parsed): passed when it has tests and none failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<TestReport>,
    /// For a named check: whether it passed (ignored with a report).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passed: Option<bool>,
    /// A link to the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// What `ferry check` says of a promotion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Check {
    /// The service.
    pub service: String,
    /// The version.
    pub version: String,
    /// The environment.
    pub environment: String,
    /// Allowed, or the blockers; the warnings; the risk.
    #[serde(flatten)]
    pub verdict: Verdict,
}

/// The body of `POST /api/v1/promotions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Promote {
    /// The service.
    pub service: Name,
    /// The version.
    pub version: String,
    /// The environment to promote into.
    pub environment: Name,
    /// Start no earlier than this (the windows and freezes are judged then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<DateTime<Utc>>,
    /// An emergency promotion's written justification: windows and freezes
    /// do not block it; approvals, evidence and the lifecycle still do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emergency_reason: Option<String>,
}
