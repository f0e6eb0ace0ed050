//! Release plans: milestones and tasks of a release or a train.

use chrono::{DateTime, Utc};
use ferry_core::Name;
use ferry_core::release_plan::TaskState;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A plan, whole.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Plan {
    /// Its id.
    pub id: i64,
    /// The release it belongs to, as `service@version`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    /// The train it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train: Option<String>,
    /// Who owns it.
    pub owner: String,
    /// The go-live date, once set.
    #[serde(default)]
    pub go_live: Option<DateTime<Utc>>,
    /// The template it was made from.
    #[serde(default)]
    pub template: Option<String>,
    /// Who made it.
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
    /// Its milestones, by date (undated last).
    pub milestones: Vec<Milestone>,
    /// Its tasks, by date (undated last).
    pub tasks: Vec<Task>,
    /// How many milestones and tasks are overdue.
    pub overdue: usize,
}

/// A milestone of a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Milestone {
    /// Its id (`ferry plan milestone done ID`).
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Its date, once known.
    #[serde(default)]
    pub due: Option<DateTime<Utc>>,
    /// Its offset from the go-live date, when it came from a template.
    #[serde(default)]
    pub offset: Option<String>,
    /// When it was reached.
    #[serde(default)]
    pub done_at: Option<DateTime<Utc>>,
    /// Who recorded it.
    #[serde(default)]
    pub done_by: Option<String>,
    /// Whether its date has passed and it is not reached.
    pub overdue: bool,
}

/// A task of a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Task {
    /// Its id (`ferry plan task done ID`).
    pub id: i64,
    /// The plan it is in.
    pub plan: i64,
    /// What is to be done.
    pub title: String,
    /// More about it.
    #[serde(default)]
    pub description: String,
    /// Who does it: a user name or `group:NAME`.
    #[serde(default)]
    pub assignee: Option<String>,
    /// When it is due, once known.
    #[serde(default)]
    pub due: Option<DateTime<Utc>>,
    /// Its offset from the go-live date, when it came from a template.
    #[serde(default)]
    pub offset: Option<String>,
    /// The environment it must be done before (a gate there).
    #[serde(default)]
    pub required_before: Option<Name>,
    /// A link.
    #[serde(default)]
    pub link: Option<String>,
    /// Where it stands.
    pub state: TaskState,
    /// Why it was skipped or reopened.
    #[serde(default)]
    pub reason: Option<String>,
    /// Who changed it last.
    pub updated_by: String,
    /// When.
    pub updated_at: DateTime<Utc>,
    /// Whether its date has passed and it is not done or skipped.
    pub overdue: bool,
}

/// The body of `POST /api/v1/services/{service}/releases/{version}/plan`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPlan {
    /// Who owns it [default: who makes it].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<Name>,
    /// The go-live date, which dates a template's milestones and tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub go_live: Option<DateTime<Utc>>,
    /// The template to make it from [default: the service's, if any].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<Name>,
}

/// The body of `PATCH /api/v1/plans/{id}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanUpdate {
    /// A new owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<Name>,
    /// A new go-live date: milestones and tasks made from a template are
    /// dated from it again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub go_live: Option<DateTime<Utc>>,
}

/// The body of `POST /api/v1/plans/{id}/tasks`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPlanTask {
    /// What is to be done.
    pub title: String,
    /// More about it.
    #[serde(default)]
    pub description: String,
    /// Who does it: a user name or `group:NAME`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    /// When it is due.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<DateTime<Utc>>,
    /// The environment it must be done before: a gate there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_before: Option<Name>,
    /// A link (http or https).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

/// The body of `POST /api/v1/tasks/{id}/{action}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskMove {
    /// Why: required to skip or reopen a task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The body of `POST /api/v1/plans/{id}/milestones`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPlanMilestone {
    /// Its name.
    pub name: String,
    /// Its date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<DateTime<Utc>>,
}
