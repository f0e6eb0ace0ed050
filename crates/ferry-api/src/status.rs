//! The environment × service matrix and the difference between two environments.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{Cell, NotesCommit, Tier};

/// An environment as a column of the status matrix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StatusEnvironment {
    /// Its name.
    pub name: String,
    /// Its tier.
    pub tier: Tier,
}

/// The environment × service matrix: which version is where.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Status {
    /// The environments, least critical tier first.
    pub environments: Vec<StatusEnvironment>,
    /// The services, by name.
    pub services: Vec<String>,
    /// One cell per service and environment, services outer, environments inner.
    pub cells: Vec<Cell>,
}

/// One side of a [`Diff`]: an environment and the version running there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DiffSide {
    /// The environment.
    pub environment: String,
    /// The service's version running there (last successful deployment), if any.
    pub version: Option<String>,
}

/// What promoting a service from one environment to another would bring.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Diff {
    /// The service.
    pub service: String,
    /// Where the release comes from.
    pub from: DiffSide,
    /// Where it would go.
    pub to: DiffSide,
    /// The releases promotion would bring, newest first: those above the
    /// target's version up to the source's.
    pub releases: Vec<String>,
    /// Their commits, newest first.
    pub commits: Vec<NotesCommit>,
}
