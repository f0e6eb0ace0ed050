//! Deployment logs: the lines people read and the lines agents send.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::DeploymentStatus;

/// One line of a deployment's log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LogLine {
    /// Its id: follow a log by asking for the lines after the last id seen.
    pub id: i64,
    /// The agent that ran the step.
    pub target: String,
    /// The job's attempt.
    pub attempt: i64,
    /// When the agent read it.
    pub at: DateTime<Utc>,
    /// `out`, `err`, or `ferry` for the agent's own lines.
    pub stream: String,
    /// The step that printed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// The text, secrets masked.
    pub line: String,
}

/// A page of a deployment's log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LogPage {
    /// The lines, oldest first.
    pub lines: Vec<LogLine>,
    /// Ask for the lines after this id next.
    pub last_id: i64,
    /// Whether the deployment has ended (no more lines will come once it has).
    pub ended: bool,
    /// The deployment's status now.
    pub status: DeploymentStatus,
}

/// A line an agent sends, numbered within its attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentLogLine {
    /// Its number within the attempt, from 0.
    pub seq: i64,
    /// When the agent read it.
    pub at: DateTime<Utc>,
    /// `out`, `err` or `ferry`.
    pub stream: String,
    /// The step that printed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// The text, secrets masked.
    pub line: String,
}

/// The body of `POST /api/v1/agent/jobs/{id}/logs`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentLogs {
    /// The attempt the lines belong to.
    pub attempt: i64,
    /// The lines (at most 1000).
    pub lines: Vec<AgentLogLine>,
}
