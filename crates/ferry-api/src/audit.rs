//! The audit trail and the check of its hash chain.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An event of the audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AuditEvent {
    /// Position in the trail, from 1.
    pub seq: i64,
    /// When it happened (RFC 3339 UTC, microseconds).
    pub time: String,
    /// Who did it.
    pub actor: String,
    /// What was done, such as `release.create`.
    pub action: String,
    /// What it was done to, such as `release:api@1.2.0`.
    pub object: String,
    /// Details: the state before and after.
    pub details: serde_json::Value,
    /// The hash of the previous event.
    pub prev_hash: String,
    /// This event's hash (SHA-256, hex).
    pub hash: String,
}

/// The result of checking the audit trail's hash chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AuditVerification {
    /// Whether every event is as written and none is missing.
    pub intact: bool,
    /// How many events were checked and found good.
    pub events: i64,
    /// The first event that failed, when not intact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_bad_seq: Option<i64>,
    /// What is wrong with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The hash of the last event when intact: keep it to prove later that
    /// nothing before it changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_hash: Option<String>,
}
