//! Release trains: releases of several services that go together, and their
//! runs into environments.

use chrono::{DateTime, Utc};
use ferry_core::train::RunStatus;
use ferry_core::{DeploymentStatus, Name};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::Verdict;

/// A train.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Train {
    /// Its name.
    pub name: Name,
    /// Its releases (`service@version`), in the order they deploy.
    pub members: Vec<String>,
    /// Who made it.
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
    /// The id of its plan, if it has one.
    #[serde(default)]
    pub plan: Option<i64>,
    /// Its runs, newest first (one train's view only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runs: Vec<TrainRun>,
}

/// A run: the train's promotion into an environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TrainRun {
    /// Its id.
    pub id: i64,
    /// The train.
    pub train: Name,
    /// The environment.
    pub environment: Name,
    /// How it stands.
    pub status: RunStatus,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Who promoted the train.
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Each member's deployment and rollback in the run, in order.
    pub members: Vec<TrainRunMember>,
}

/// A member's part in a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TrainRunMember {
    /// The release, `service@version`.
    pub release: String,
    /// Its deployment in the run, once made.
    #[serde(default)]
    pub deployment: Option<i64>,
    /// That deployment's status.
    #[serde(default)]
    pub status: Option<DeploymentStatus>,
    /// The rollback of that deployment, if the run rolled it back.
    #[serde(default)]
    pub rollback: Option<i64>,
    /// The rollback's status.
    #[serde(default)]
    pub rollback_status: Option<DeploymentStatus>,
}

/// The body of `POST /api/v1/trains`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTrain {
    /// Its unique name.
    pub name: Name,
    /// Its releases, `service@version`, one per service.
    pub releases: Vec<String>,
    /// The services in the order they deploy [default: as `releases` lists them].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub order: Vec<Name>,
    /// The plan template of the train's plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<Name>,
    /// The go-live date, which dates the template's milestones and tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub go_live: Option<DateTime<Utc>>,
}

/// The body of `POST /api/v1/trains/{name}/promotions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrainPromotion {
    /// The environment the train goes into.
    pub environment: Name,
}

/// Every member's gates for a train's promotion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TrainCheck {
    /// The train.
    pub train: Name,
    /// The environment.
    pub environment: Name,
    /// Whether the train may go: exactly when every member may.
    pub allowed: bool,
    /// Each member's verdict, in order.
    pub members: Vec<MemberCheck>,
}

/// One member's verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MemberCheck {
    /// The release, `service@version`.
    pub release: String,
    /// Its gates' verdict.
    pub verdict: Verdict,
}
