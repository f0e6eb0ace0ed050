//! Agents: their tokens, jobs, heartbeats and reports.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use ferry_core::Name;

use crate::logs::AgentLogLine;

/// The body of `POST /api/v1/agent-tokens`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAgentToken {
    /// The environment the agent deploys into.
    pub environment: Name,
    /// The agent's name, unique in its environment (such as its host name);
    /// one is made up when none is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Name>,
    /// Its tags, matched by services' target selectors.
    #[serde(default)]
    pub tags: std::collections::BTreeMap<String, String>,
}

/// An agent: a `ferry agent` process on a target machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Agent {
    /// Its id.
    pub id: i64,
    /// Its name, unique in its environment.
    pub name: String,
    /// The environment it deploys into.
    pub environment: String,
    /// Its tags.
    pub tags: std::collections::BTreeMap<String, String>,
    /// When it registered.
    pub created_at: DateTime<Utc>,
    /// When it was last heard from, to the minute.
    pub last_seen_at: Option<DateTime<Utc>>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// The answer of `POST /api/v1/agent-tokens`: the secret, shown once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CreatedAgentToken {
    /// The secret (`ferry_agent_` and 64 hex digits); the server keeps only its hash.
    pub secret: String,
    /// The agent it authenticates.
    pub agent: Agent,
}

/// The body of `POST /api/v1/agent/hello`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentHello {
    /// The agent's tags, when it wants to replace them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<std::collections::BTreeMap<String, String>>,
}

/// One step of a job, as the agent runs it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AgentStep {
    /// Its name.
    pub name: String,
    /// The command, run with `sh -c`.
    pub run: String,
    /// How long it may run, in seconds; `None` for no limit.
    pub timeout_seconds: Option<u64>,
    /// Whether it may run again after a lost agent.
    pub idempotent: bool,
}

/// An artifact a job downloads before its steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AgentArtifact {
    /// Its name.
    pub name: String,
    /// `sha256:<hex>`: the download must have it.
    pub digest: String,
    /// The path to download it from (with the agent's token).
    pub url: String,
}

/// A job handed to an agent by `GET /api/v1/agent/jobs/next`. Its `Debug`
/// form names the variables but shows no value: they include secrets.
#[derive(Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AgentJob {
    /// The job's id.
    pub job_id: i64,
    /// The attempt this claim started; heartbeats and reports name it.
    pub attempt: i64,
    /// The deployment it belongs to.
    pub deployment_id: i64,
    /// `deploy` or `rollback`.
    pub kind: String,
    /// The service.
    pub service: String,
    /// The version to deploy.
    pub version: String,
    /// The last version that succeeded in the environment, if any.
    pub previous_version: Option<String>,
    /// The environment.
    pub environment: String,
    /// The steps, in order.
    pub steps: Vec<AgentStep>,
    /// The health check (`{ http = URL, ... }` or `{ command = RUN, ... }`), if any.
    #[schema(value_type = Option<Object>)]
    pub health: Option<serde_json::Value>,
    /// The artifacts to download first.
    pub artifacts: Vec<AgentArtifact>,
    /// The environment's variables for the steps, secrets included.
    pub variables: std::collections::BTreeMap<String, String>,
    /// The names of the variables that are secret: their values are masked
    /// in every line the agent sends or prints.
    #[serde(default)]
    pub secrets: Vec<String>,
    /// How long the lease lasts without a heartbeat, in seconds.
    #[serde(default = "default_lease_seconds")]
    pub lease_seconds: u64,
}

fn default_lease_seconds() -> u64 {
    60
}

impl std::fmt::Debug for AgentJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentJob")
            .field("job_id", &self.job_id)
            .field("attempt", &self.attempt)
            .field("deployment_id", &self.deployment_id)
            .field("kind", &self.kind)
            .field("service", &self.service)
            .field("version", &self.version)
            .field("previous_version", &self.previous_version)
            .field("environment", &self.environment)
            .field("steps", &self.steps)
            .field("health", &self.health)
            .field("artifacts", &self.artifacts)
            .field("variables", &self.variables.keys().collect::<Vec<_>>())
            .field("secrets", &self.secrets)
            .field("lease_seconds", &self.lease_seconds)
            .finish()
    }
}

/// The body of `POST /api/v1/agent/jobs/{id}/heartbeat`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentHeartbeat {
    /// The attempt that holds the lease.
    pub attempt: i64,
}

/// The answer to a heartbeat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HeartbeatAck {
    /// `false` when the lease is gone: the agent must stop the job.
    pub ok: bool,
}

/// How one step ended, as reported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepReport {
    /// The step's name.
    pub name: String,
    /// Its exit code (none when it timed out, was killed or could not start).
    pub exit_code: Option<i32>,
    /// Whether it ran past its timeout.
    #[serde(default)]
    pub timed_out: bool,
    /// How long it ran, in seconds.
    pub seconds: f64,
}

/// The health check's verdict, as reported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HealthReport {
    /// Whether an attempt passed.
    pub healthy: bool,
    /// How many attempts were made.
    pub attempts: u32,
    /// What the last attempt saw.
    pub last: String,
}

/// The body of `POST /api/v1/agent/jobs/{id}/finish`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FinishJob {
    /// The attempt reported.
    pub attempt: i64,
    /// Whether every step and the health check passed.
    pub succeeded: bool,
    /// The steps that ran, in order.
    #[serde(default)]
    pub steps: Vec<StepReport>,
    /// The health check's verdict, when one ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthReport>,
    /// The last lines of the log (masked), or why the job failed.
    #[serde(default)]
    pub log_tail: Vec<String>,
    /// Lines of the log not sent yet (at most 1000), numbered as in
    /// `POST /api/v1/agent/jobs/{id}/logs`: stored with the report, so a
    /// short job's whole log comes with it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<AgentLogLine>,
}

/// The answer to a finish report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FinishAck {
    /// `finished` (recorded), `already_done` (the same report came before)
    /// or `stale` (the attempt no longer holds the job).
    pub outcome: String,
}
