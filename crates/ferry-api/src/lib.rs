//! The JSON wire types of ferry's HTTP API (`/api/v1`), shared by the server,
//! the typed client and the CLI, so the three cannot disagree.
//!
//! Rules kept here: times are RFC 3339 UTC strings; lists come as
//! [`Page`]s with an opaque `next_cursor`; errors are [`Problem`]s
//! (RFC 9457) whose `type` is stable; request bodies refuse unknown fields.
//! These shapes are also what `--output json` prints, so they only grow.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

mod access;

pub use access::{
    CreateGrant, CreateGroup, CreateToken, CreateUser, CreatedToken, CreatedUser, ExchangeToken,
    ExchangedToken, Grant, GrantEntry, Group, Permission, Role, Token, User, Whoami,
};

pub use ferry_core::change::{ChangeKind, ChangeState};
pub use ferry_core::config::Config;
pub use ferry_core::environment::EnvironmentSpec;
pub use ferry_core::freeze::FreezeSpec;
pub use ferry_core::gates::{Finding, Verdict};
pub use ferry_core::junit::TestReport;
pub use ferry_core::lifecycle::LifecycleSpec;
pub use ferry_core::notes::{NotesCommit, ReleaseNotes};
pub use ferry_core::plan::{Action, Change, Kind};
pub use ferry_core::risk::{RiskAssessment, RiskFactor, RiskLevel};
pub use ferry_core::service::ServiceSpec;
pub use ferry_core::status::Cell;
pub use ferry_core::{DeploymentStatus, ReleaseState, Tier};

/// The media type of problem details.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// The prefix of every problem `type`.
pub const PROBLEM_TYPE_PREFIX: &str = "urn:ferry:problem:";

/// An error, as RFC 9457 problem details.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// A stable identifier of the kind of problem, such as
    /// `urn:ferry:problem:not-found`.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong this time, and what is expected.
    pub detail: String,
    /// The request's id, to find it in the server's log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// For `gate-blocked`: every blocker, with how to clear it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blockers: Vec<Finding>,
}

impl Problem {
    /// The short name of the problem's type (`not-found` for
    /// `urn:ferry:problem:not-found`).
    pub fn slug(&self) -> &str {
        self.kind
            .strip_prefix(PROBLEM_TYPE_PREFIX)
            .unwrap_or(&self.kind)
    }
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Query parameters of paginated lists.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// At most this many items (1 to 1000, default 100).
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// An environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Environment {
    /// As configured.
    #[serde(flatten)]
    pub spec: EnvironmentSpec,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
}

/// A lifecycle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Lifecycle {
    /// As configured.
    #[serde(flatten)]
    pub spec: LifecycleSpec,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
}

/// A service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Service {
    /// As configured.
    #[serde(flatten)]
    pub spec: ServiceSpec,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
}

/// A release: `service@version`, immutable once created.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Release {
    /// Its id.
    pub id: i64,
    /// The service released.
    pub service: String,
    /// Its semantic version.
    pub version: String,
    /// Active, or abandoned.
    pub state: ReleaseState,
    /// Free-text release notes (Markdown) given at creation; the notes
    /// generated from its commits are at `.../notes`.
    pub notes: String,
    /// The git commit released, when it was created from git.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The version this release follows, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_version: Option<String>,
    /// Its artifacts, by name.
    #[serde(default)]
    pub artifacts: Vec<Artifact>,
    /// Who created it.
    pub created_by: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// An artifact of a release.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Artifact {
    /// Its name within the release.
    pub name: String,
    /// `sha256:<hex>` of its bytes.
    pub digest: String,
    /// Its size in bytes, when known (always for stored artifacts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<i64>,
    /// Where it lives, for a reference (`oci://…@sha256:…`, or a URL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// Whether ferry stores its bytes (downloadable from the release).
    pub stored: bool,
}

/// An artifact named when creating a release: stored (upload its bytes to
/// `PUT /api/v1/blobs/{digest}` first) or a reference (`uri` given).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewArtifact {
    /// Its name within the release (lower-case letters, digits, `-`, `_`, `.`).
    pub name: String,
    /// `sha256:<hex>` of its bytes.
    pub digest: String,
    /// For a reference: where it lives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
}

/// An upload's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BlobUploaded {
    /// `sha256:<hex>` of the bytes.
    pub digest: String,
    /// Their size in bytes.
    pub size: u64,
}

/// The body of `POST /api/v1/services/{service}/releases`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRelease {
    /// The version, Semantic Versioning 2.0.0 (a leading `v` is dropped).
    pub version: String,
    /// Free-text release notes (Markdown).
    #[serde(default)]
    pub notes: String,
    /// The git commit released.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The version this release follows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_version: Option<String>,
    /// The commits it contains, newest first.
    #[serde(default)]
    pub commits: Vec<NotesCommit>,
    /// Its artifacts.
    #[serde(default)]
    pub artifacts: Vec<NewArtifact>,
    /// The authors and co-authors of its commits, as `Name <mail>`: matched
    /// against users (by e-mail first, then by name) for separation of
    /// duties.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authors: Vec<String>,
}

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

/// The body of `POST /api/v1/deployments/{id}/cancel`: nothing is needed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelDeployment {}

/// The body of `POST /api/v1/rollbacks`: put an earlier release back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rollback {
    /// The service.
    pub service: String,
    /// The environment.
    pub environment: String,
    /// The version to put back; by default the one that succeeded there
    /// before the current one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

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
    pub environment: String,
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
    pub environment: String,
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
    pub service: String,
    /// The version.
    pub version: String,
    /// The environment to promote into.
    pub environment: String,
    /// Start no earlier than this (the windows and freezes are judged then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<DateTime<Utc>>,
    /// An emergency promotion's written justification: windows and freezes
    /// do not block it; approvals, evidence and the lifecycle still do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emergency_reason: Option<String>,
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
    pub service: String,
    /// The environment.
    pub environment: String,
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

/// A freeze period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Freeze {
    /// As configured.
    #[serde(flatten)]
    pub spec: FreezeSpec,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// An entry of the release calendar.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CalendarEntry {
    /// `window`, `freeze` or `change`.
    pub kind: String,
    /// What it is, for people.
    pub title: String,
    /// The environments it concerns.
    pub environments: Vec<String>,
    /// When it starts.
    pub start: DateTime<Utc>,
    /// When it ends.
    pub end: DateTime<Utc>,
}

/// The body of `POST /api/v1/agent-tokens`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAgentToken {
    /// The environment the agent deploys into.
    pub environment: String,
    /// The agent's name, unique in its environment (such as its host name);
    /// one is made up when none is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
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
}

/// The answer to a finish report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FinishAck {
    /// `finished` (recorded), `already_done` (the same report came before)
    /// or `stale` (the attempt no longer holds the job).
    pub outcome: String,
}

/// Where a variable of an environment comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum VariableSource {
    /// The environment's `variables` in ferry.toml, applied with `ferry apply`.
    Config,
    /// `ferry var set` (`PUT .../variables/{name}`); wins over ferry.toml.
    Set,
}

/// A variable of an environment, as its deployment steps see it. A secret's
/// value is never sent: it leaves the server only in an agent's job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Variable {
    /// Its name.
    pub name: String,
    /// Its value; absent for a secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Whether it is secret: encrypted at rest, masked in deployment logs.
    pub secret: bool,
    /// Where it comes from.
    pub source: VariableSource,
    /// For a variable that is set: whether ferry.toml has one of the same
    /// name, which this one replaces.
    #[serde(default)]
    pub overrides_config: bool,
    /// Who set it (absent for ferry.toml's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_by: Option<String>,
    /// When it was last set or applied.
    pub updated_at: DateTime<Utc>,
}

/// The body of `PUT /api/v1/environments/{environment}/variables/{name}`.
#[derive(Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetVariable {
    /// The value.
    pub value: String,
    /// Keep it secret: encrypted at rest, never returned, masked in logs.
    #[serde(default)]
    pub secret: bool,
}

impl std::fmt::Debug for SetVariable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let value = if self.secret { "***" } else { &self.value };
        f.debug_struct("SetVariable")
            .field("value", &value)
            .field("secret", &self.secret)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_use_the_rfc_9457_member_names() {
        let problem = Problem {
            kind: format!("{PROBLEM_TYPE_PREFIX}not-found"),
            title: "Not found".into(),
            status: 404,
            detail: "no service \"web\"".into(),
            request_id: None,
            blockers: Vec::new(),
        };
        let json = serde_json::to_value(&problem).unwrap();
        assert_eq!(json["type"], "urn:ferry:problem:not-found");
        assert_eq!(problem.slug(), "not-found");
        assert!(json.get("request_id").is_none());
    }

    #[test]
    fn request_bodies_refuse_unknown_fields() {
        let error = serde_json::from_str::<CreateRelease>(r#"{"version":"1.0.0","verison":"x"}"#)
            .unwrap_err();
        assert!(error.to_string().contains("verison"), "{error}");
    }

    #[test]
    fn a_job_printed_for_debugging_shows_no_variable_value() {
        let job: AgentJob = serde_json::from_value(serde_json::json!({
            "job_id": 1, "attempt": 1, "deployment_id": 1, "kind": "deploy",
            "service": "api", "version": "1.0.0", "previous_version": null,
            "environment": "prod", "steps": [], "health": null, "artifacts": [],
            "variables": { "DB_PASSWORD": "hunter2-secret", "LOG_LEVEL": "debug" },
            "secrets": ["DB_PASSWORD"]
        }))
        .unwrap();
        let printed = format!("{job:?}");
        assert!(printed.contains("DB_PASSWORD") && printed.contains("LOG_LEVEL"));
        assert!(!printed.contains("hunter2-secret") && !printed.contains("debug\""));
        assert_eq!(job.lease_seconds, 60);
    }
}
