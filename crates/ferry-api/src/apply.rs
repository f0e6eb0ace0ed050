//! Applying a configuration: the request and what it did.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{Change, Config};

/// The body of `POST /api/v1/apply`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplyRequest {
    /// The configuration to make true.
    pub config: Config,
    /// Only compute the plan.
    #[serde(default)]
    pub dry_run: bool,
}

/// What `POST /api/v1/apply` did (or, with `dry_run`, would do).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ApplyResult {
    /// One entry per environment, lifecycle, service and freeze of the file.
    pub changes: Vec<Change>,
    /// Whether anything was written.
    pub applied: bool,
}
