//! Release plans as people change them: made (from a template), dated,
//! given milestones and tasks, and tasks moved. The API's routes and the web
//! UI's forms both come through here. Who may is the permission table's
//! `manage-plans` on the plan's service, and, for moving a task, also its
//! assignee (`ferry_core::release_plan::may_move_task`).

use chrono::Utc;
use ferry_core::Name;
use ferry_core::access::Action;
use ferry_core::release_plan::{
    NewMilestone, NewTask, TaskState, check_task, may_move_task, overdue,
};
use ferry_store::plans::{MilestoneRecord, PlanRecord, TaskRecord};

use crate::auth::Caller;
use crate::authorize;
use crate::convert;
use crate::error::ApiError;
use crate::state::AppState;

/// The service a plan's rights are scoped to: its release's; none for a
/// train's (it spans services).
fn plan_service(plan: &PlanRecord) -> Option<Name> {
    plan.release.as_ref().map(|release| release.service.clone())
}

/// Refuses (403, audited) unless `caller` may manage plan `plan`.
async fn require_manage(
    state: &AppState,
    caller: &Caller,
    plan: &PlanRecord,
) -> Result<(), ApiError> {
    let service = plan_service(plan);
    let target = authorize::target(state, service.as_ref(), None).await?;
    caller.require(state, Action::ManagePlans, &target).await
}

/// The plan of `service@version`, or a 404 that says how to make one.
pub async fn release_plan(
    state: &AppState,
    service: &Name,
    version: &semver::Version,
) -> Result<PlanRecord, ApiError> {
    state.store.release(service, version).await?;
    state
        .store
        .release_plan(service, version)
        .await?
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "{service}@{version} has no plan; make one with `ferry plan create {service}@{version}`"
            ))
        })
}

/// The plan of train `train`, or a 404 that says how to give it one.
pub async fn train_plan(state: &AppState, train: &Name) -> Result<PlanRecord, ApiError> {
    state.store.train(train).await?;
    state.store.train_plan(train).await?.ok_or_else(|| {
        ApiError::NotFound(format!(
            "train {train} has no plan; give it one with `ferry train create {train} … --template NAME`"
        ))
    })
}

/// What a caller may do with a plan, as a page shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanPermissions {
    /// Whether they manage it: date it, add tasks and milestones, record
    /// milestones reached, move every task.
    pub manages: bool,
    /// The tasks they may move: every one for a manager, those assigned to
    /// them (or their groups) for anyone else.
    pub movable: Vec<i64>,
}

/// What `caller` may do with `plan`, by the same rules the changes below
/// are refused with (`manage-plans` on the plan's service,
/// `may_move_task`): for pages that show only the forms that can work.
/// Nothing is audited; each change is checked again when it is asked.
pub async fn permissions(
    state: &AppState,
    caller: &Caller,
    plan: &PlanRecord,
) -> Result<PlanPermissions, ApiError> {
    let service = plan_service(plan);
    let target = authorize::target(state, service.as_ref(), None).await?;
    let manages = caller.rights.allows(Action::ManagePlans, &target);
    let movable = plan
        .tasks
        .iter()
        .filter(|task| {
            may_move_task(
                manages,
                caller.actor(),
                &caller.groups,
                task.assignee.as_deref(),
            )
        })
        .map(|task| task.id)
        .collect();
    Ok(PlanPermissions { manages, movable })
}

/// Makes the plan of `service@version`: from `template`, or the template
/// its service names, or empty; owned by `owner` or the caller.
pub async fn create_release_plan(
    state: &AppState,
    caller: &Caller,
    service: &Name,
    version: &semver::Version,
    request: &ferry_api::NewPlan,
) -> Result<PlanRecord, ApiError> {
    let target = authorize::target(state, Some(service), None).await?;
    caller.require(state, Action::ManagePlans, &target).await?;
    let template_name = match &request.template {
        Some(name) => Some(name.clone()),
        None => state
            .store
            .service_spec(service)
            .await?
            .and_then(|stored| stored.spec.plan_template),
    };
    let template = match &template_name {
        Some(name) => Some(state.store.plan_template(name).await?.ok_or_else(|| {
            ApiError::Unprocessable(format!(
                "there is no plan template {name}; add a [[plan_template]] to ferry.toml and apply it"
            ))
        })?),
        None => None,
    };
    let owner = request
        .owner
        .as_ref()
        .map_or_else(|| caller.actor().to_owned(), ToString::to_string);
    Ok(state
        .store
        .create_release_plan(
            caller.actor(),
            service,
            version,
            &owner,
            request.go_live,
            template.as_ref(),
        )
        .await?)
}

/// Sets a plan's owner or go-live date.
pub async fn update_plan(
    state: &AppState,
    caller: &Caller,
    id: i64,
    request: &ferry_api::PlanUpdate,
) -> Result<PlanRecord, ApiError> {
    let plan = state.store.plan(id).await?;
    require_manage(state, caller, &plan).await?;
    if request.owner.is_none() && request.go_live.is_none() {
        return Err(ApiError::Unprocessable(
            "nothing to change: give owner or go_live".into(),
        ));
    }
    Ok(state
        .store
        .update_plan(
            caller.actor(),
            id,
            request.owner.as_ref().map(Name::as_str),
            request.go_live,
        )
        .await?)
}

/// Adds a task to a plan.
pub async fn add_task(
    state: &AppState,
    caller: &Caller,
    plan_id: i64,
    request: &ferry_api::NewPlanTask,
) -> Result<TaskRecord, ApiError> {
    let plan = state.store.plan(plan_id).await?;
    require_manage(state, caller, &plan).await?;
    check_task(
        &request.title,
        &request.description,
        request.assignee.as_deref(),
        request.link.as_deref(),
    )
    .map_err(ApiError::Unprocessable)?;
    if let Some(environment) = &request.required_before
        && !state
            .store
            .environments()
            .await?
            .iter()
            .any(|stored| &stored.spec.name == environment)
    {
        return Err(ApiError::Unprocessable(format!(
            "required_before: there is no environment {environment}"
        )));
    }
    let new = NewTask {
        title: request.title.trim().to_owned(),
        description: request.description.clone(),
        assignee: request.assignee.clone(),
        due: request.due,
        offset: None,
        required_before: request.required_before.clone(),
        link: request.link.clone(),
    };
    let task = state.store.add_task(caller.actor(), plan_id, &new).await?;
    // A task required before an environment may hold promotions there.
    state.wake.orchestrator();
    Ok(task)
}

/// Moves task `id` to `to`, with `reason` (required to skip or reopen):
/// refused unless `caller` manages the plan or is the task's assignee.
pub async fn move_task(
    state: &AppState,
    caller: &Caller,
    id: i64,
    to: TaskState,
    reason: Option<&str>,
) -> Result<TaskRecord, ApiError> {
    let task = state.store.task(id).await?;
    let plan = state.store.plan(task.plan_id).await?;
    let service = plan_service(&plan);
    let target = authorize::target(state, service.as_ref(), None).await?;
    let manages = caller.rights.allows(Action::ManagePlans, &target);
    if !may_move_task(
        manages,
        caller.actor(),
        &caller.groups,
        task.assignee.as_deref(),
    ) {
        let reason = format!(
            "{} may not move task {id}: it is not assigned to them ({}) and they may not manage plans here",
            caller.actor(),
            task.assignee.as_deref().unwrap_or("no one")
        );
        return Err(caller
            .refused(state, Action::ManagePlans, &target, reason)
            .await);
    }
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    if let Some(reason) = reason {
        convert::within(&ferry_core::limits::REASON, "reason", reason)?;
    }
    let needs_reason =
        to == TaskState::Skipped || (to == TaskState::Todo && task.state != TaskState::Todo);
    if needs_reason && reason.is_none() {
        return Err(ApiError::Unprocessable(format!(
            "reason: required to {} a task; say why",
            if to == TaskState::Skipped {
                "skip"
            } else {
                "reopen"
            }
        )));
    }
    let moved = state
        .store
        .move_task(caller.actor(), id, to, reason)
        .await?;
    state.wake.orchestrator();
    Ok(moved)
}

/// Adds a milestone to a plan.
pub async fn add_milestone(
    state: &AppState,
    caller: &Caller,
    plan_id: i64,
    request: &ferry_api::NewPlanMilestone,
) -> Result<MilestoneRecord, ApiError> {
    let plan = state.store.plan(plan_id).await?;
    require_manage(state, caller, &plan).await?;
    let name = request.name.trim();
    if name.is_empty() {
        return Err(ApiError::Unprocessable(
            "name: must not be empty; name the milestone, such as \"code freeze\"".into(),
        ));
    }
    convert::within(&ferry_core::limits::TITLE, "name", name)?;
    let new = NewMilestone {
        name: name.to_owned(),
        due: request.due,
        offset: None,
    };
    Ok(state
        .store
        .add_milestone(caller.actor(), plan_id, &new)
        .await?)
}

/// Records that a milestone was reached.
pub async fn complete_milestone(
    state: &AppState,
    caller: &Caller,
    id: i64,
) -> Result<MilestoneRecord, ApiError> {
    let milestone = state.store.milestone(id).await?;
    let plan = state.store.plan(milestone.plan_id).await?;
    require_manage(state, caller, &plan).await?;
    Ok(state.store.complete_milestone(caller.actor(), id).await?)
}

/// A plan as the API shows it, overdue items flagged as of now.
pub fn plan(record: PlanRecord) -> ferry_api::Plan {
    let now = Utc::now();
    let milestones: Vec<ferry_api::Milestone> = record
        .milestones
        .into_iter()
        .map(|m| milestone(m, now))
        .collect();
    let tasks: Vec<ferry_api::Task> = record.tasks.into_iter().map(|t| task(t, now)).collect();
    let overdue = milestones.iter().filter(|m| m.overdue).count()
        + tasks.iter().filter(|t| t.overdue).count();
    ferry_api::Plan {
        id: record.id,
        release: record.release.map(|release| release.to_string()),
        train: record.train.map(|train| train.to_string()),
        owner: record.owner,
        go_live: record.go_live,
        template: record.template,
        created_by: record.created_by,
        created_at: record.created_at,
        milestones,
        tasks,
        overdue,
    }
}

/// A milestone as the API shows it.
pub fn milestone(record: MilestoneRecord, now: chrono::DateTime<Utc>) -> ferry_api::Milestone {
    let (done_at, done_by) = match record.done {
        Some((at, by)) => (Some(at), Some(by)),
        None => (None, None),
    };
    ferry_api::Milestone {
        id: record.id,
        name: record.name,
        due: record.due,
        offset: record.offset.map(|o| o.to_string()),
        overdue: overdue(record.due, done_at.is_some(), now),
        done_at,
        done_by,
    }
}

/// A task as the API shows it.
pub fn task(record: TaskRecord, now: chrono::DateTime<Utc>) -> ferry_api::Task {
    ferry_api::Task {
        id: record.id,
        plan: record.plan_id,
        overdue: overdue(record.due, record.state.is_settled(), now),
        title: record.title,
        description: record.description,
        assignee: record.assignee,
        due: record.due,
        offset: record.offset.map(|o| o.to_string()),
        required_before: record.required_before,
        link: record.link,
        state: record.state,
        reason: record.reason,
        updated_by: record.updated_by,
        updated_at: record.updated_at,
    }
}
