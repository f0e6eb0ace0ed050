//! Deployments, their progress and targets, cancelling, rolling back and reports from other tools.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use ferry_core::Name;

use crate::{DeploymentStatus, HealthReport, StepReport};

/// A deployment: a release going to an environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Deployment {
    /// Its id.
    pub id: i64,
    /// The service deployed.
    pub service: String,
    /// The version deployed.
    pub version: String,
    /// Where to.
    pub environment: String,
    /// Where it stands.
    pub status: DeploymentStatus,
    /// Who started it.
    pub created_by: String,
    /// When it was recorded.
    pub created_at: DateTime<Utc>,
    /// When its status last changed.
    pub updated_at: DateTime<Utc>,
    /// When it may start, for a promotion made for a later time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled_at: Option<DateTime<Utc>>,
    /// The justification of an emergency promotion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emergency_reason: Option<String>,
    /// A link to the run, for deployments reported by another tool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Why it waits, halted, failed or was cancelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The deployment this one rolls back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_of: Option<i64>,
    /// Its progress through the batches (one deployment's view only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<DeploymentProgress>,
    /// Each target's job (one deployment's view only), by batch and name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<DeploymentTarget>,
    /// What it waits for while a person must decide (one deployment's view
    /// only): a manual step, a canary stage or a failure, and the decisions
    /// that answer it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pause: Option<ferry_core::process::Pause>,
}

/// The body of `POST /api/v1/deployments/{id}/decisions`: a person's
/// decision on a paused deployment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeploymentDecision {
    /// `continue` or `abort` (a manual step or a canary stage); `retry`,
    /// `skip` or `rollback` (a failure).
    pub decision: ferry_core::process::Decision,
    /// Why, for the record.
    #[serde(default)]
    pub comment: String,
}

/// Where a deployment run by agents stands in its batches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeploymentProgress {
    /// The current batch, from 0.
    pub batch: i64,
    /// How many batches there are.
    pub batches: i64,
    /// How many targets each batch has.
    pub batch_sizes: Vec<usize>,
    /// The current batch waits until then (a pause or a canary's verification).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_batch_at: Option<DateTime<Utc>>,
    /// Who asked to cancel it: it stops after the current batch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel_requested_by: Option<String>,
}

/// One target's part in a deployment: its job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeploymentTarget {
    /// The agent's name.
    pub target: String,
    /// The batch it belongs to, from 0.
    pub batch: i64,
    /// `deploy` or `rollback`.
    pub kind: String,
    /// `pending`, `running`, `succeeded` or `failed`.
    pub state: String,
    /// How many times it was claimed.
    pub attempt: i64,
    /// When its state last changed.
    pub updated_at: DateTime<Utc>,
    /// How long its steps and health check ran, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds: Option<f64>,
    /// The steps that ran, with their exit codes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<StepReport>,
    /// The health check's verdict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthReport>,
    /// Why it failed, in a line (a step's exit, a lost lease…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The body of `POST /api/v1/deployments/{id}/cancel`: nothing is needed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelDeployment {}

/// The body of `POST /api/v1/rollbacks`: put an earlier release back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rollback {
    /// The service.
    pub service: Name,
    /// The environment.
    pub environment: Name,
    /// The version to put back; by default the one that succeeded there
    /// before the current one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Why it is rolled back: the bad mark of the release undone says so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The body of `POST /api/v1/deployments/{id}/report`, for deployments run
/// by another tool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportDeployment {
    /// `running`, `succeeded` or `failed`.
    pub status: DeploymentStatus,
    /// A link to the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}
