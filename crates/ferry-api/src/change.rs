//! Change requests.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use ferry_core::Name;

use crate::{ChangeKind, ChangeState};

/// A change request (an ITIL RFC).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ChangeRequest {
    /// Its number.
    pub id: i64,
    /// What it changes.
    pub title: String,
    /// More about it.
    pub description: String,
    /// Standard, normal or emergency.
    #[serde(rename = "type")]
    pub kind: ChangeKind,
    /// Where it stands.
    pub state: ChangeState,
    /// The service changed.
    pub service: String,
    /// The environment changed.
    pub environment: String,
    /// The release it implements (its version).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    /// When it may be carried out: start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_start: Option<DateTime<Utc>>,
    /// When it may be carried out: end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_end: Option<DateTime<Utc>>,
    /// The assessed risk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk: Option<String>,
    /// The assessed impact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impact: Option<String>,
    /// Why it was rejected or deferred.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The post-implementation review's outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_outcome: Option<String>,
    /// The review's notes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_notes: Option<String>,
    /// Whether it still needs its post-implementation review.
    pub needs_review: bool,
    /// Approved or scheduled changes of the same service and environment
    /// whose windows overlap this one's.
    pub conflicts_with: Vec<i64>,
    /// Who raised it.
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// The body of `POST /api/v1/change-requests`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateChange {
    /// What it changes.
    pub title: String,
    /// More about it.
    #[serde(default)]
    pub description: String,
    /// `standard`, `normal` or `emergency`.
    #[serde(rename = "type")]
    pub kind: ChangeKind,
    /// The service.
    pub service: Name,
    /// The environment.
    pub environment: Name,
    /// The release it implements (`1.4.0` or `api@1.4.0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    /// When it may be carried out, `START..END` (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<String>,
}

/// The body of `POST /api/v1/change-requests/{id}/{action}`: what the verb sets.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeActionBody {
    /// `assess`: `low`, `medium`, `high` or `critical`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk: Option<String>,
    /// `assess`: the impact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impact: Option<String>,
    /// `reject`, `defer`: why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// `schedule`: `START..END`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<String>,
    /// `review`: `successful`, `partially` or `failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// `review`: notes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}
