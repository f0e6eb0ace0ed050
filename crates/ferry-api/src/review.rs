//! Post-implementation reviews of deployments: opened when a deployment
//! fails, is rolled back, ends on the emergency path, or ends where the
//! environment reviews every deployment; drafted from the deployment's
//! timeline, due at a time, completed once.

use chrono::{DateTime, Utc};
use ferry_core::Name;
use ferry_core::review::{ReviewDraft, ReviewOutcome, ReviewReason};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A deployment's review: its draft and, once completed, its completion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Review {
    /// Its id.
    pub id: i64,
    /// The deployment reviewed (the review's address: `/api/v1/reviews/{deployment}`).
    pub deployment: i64,
    /// The deployment's service.
    pub service: Name,
    /// The version it deployed.
    pub version: String,
    /// Its environment.
    pub environment: Name,
    /// Why it is reviewed: `failed`, `rolled-back`, `emergency` or `policy`.
    pub reason: ReviewReason,
    /// When the review was opened (when the deployment ended).
    pub opened_at: DateTime<Utc>,
    /// When it is due.
    pub due_at: DateTime<Utc>,
    /// Whether it is still open past its due time.
    pub overdue: bool,
    /// When it was reminded of, past its due time.
    #[serde(default)]
    pub reminded_at: Option<DateTime<Utc>>,
    /// The draft, written from the deployment's timeline.
    pub draft: ReviewDraft,
    /// How it was completed; absent while it is open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion: Option<ReviewCompletion>,
}

/// How a review was completed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReviewCompletion {
    /// Who completed it.
    pub by: String,
    /// When.
    pub at: DateTime<Utc>,
    /// `resolved`, `follow-up` or `accepted-risk`.
    pub outcome: ReviewOutcome,
    /// What was found.
    pub notes: String,
    /// The follow-up actions.
    #[serde(default)]
    pub actions: Vec<String>,
}

/// The body of `POST /api/v1/reviews/{deployment}`: completes the review.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteReview {
    /// `resolved` (the cause is fixed), `follow-up` (actions remain) or
    /// `accepted-risk` (the cause is knowingly left as it is).
    pub outcome: ReviewOutcome,
    /// What happened, why, and what was learnt.
    pub notes: String,
    /// Follow-up actions, one line each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<String>,
}
