//! Release plans: a release's plan, its milestones and tasks.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use ferry_api::{
    Milestone, NewPlan, NewPlanMilestone, NewPlanTask, Plan, PlanUpdate, Problem, Task, TaskMove,
};

use crate::auth::Caller;
use crate::authorize::Reader;
use crate::convert::{self, name, version};
use crate::error::ApiResult;
use crate::extract::{Json, Path};
use crate::planning;
use crate::state::AppState;

/// A release's plan: owner, go-live date, milestones and tasks, overdue
/// ones flagged.
#[utoipa::path(get, path = "/api/v1/services/{service}/releases/{version}/plan", tag = "plans", security(("bearer" = [])),
    params(("service" = String, Path), ("version" = String, Path)),
    responses((status = 200, body = Plan), (status = 404, description = "No such release, or it has no plan", body = Problem, content_type = "application/problem+json")))]
pub async fn get_release_plan(
    State(state): State<AppState>,
    _reader: Reader,
    Path((service, text)): Path<(String, String)>,
) -> ApiResult<axum::Json<Plan>> {
    let service = name("service", &service)?;
    let version = version(&text)?;
    let plan = planning::release_plan(&state, &service, &version).await?;
    Ok(axum::Json(planning::plan(plan)))
}

/// Makes a release's plan: from the template named, or its service's, or
/// empty. Dates come from the go-live date when one is given.
#[utoipa::path(post, path = "/api/v1/services/{service}/releases/{version}/plan", tag = "plans", security(("bearer" = [])),
    params(("service" = String, Path), ("version" = String, Path)), request_body = NewPlan,
    responses((status = 201, body = Plan),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "It has a plan already", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn create_release_plan(
    State(state): State<AppState>,
    caller: Caller,
    Path((service, text)): Path<(String, String)>,
    Json(request): Json<NewPlan>,
) -> ApiResult<(StatusCode, axum::Json<Plan>)> {
    let service = name("service", &service)?;
    let version = version(&text)?;
    let plan = planning::create_release_plan(&state, &caller, &service, &version, &request).await?;
    Ok((StatusCode::CREATED, axum::Json(planning::plan(plan))))
}

/// One plan.
#[utoipa::path(get, path = "/api/v1/plans/{id}", tag = "plans", security(("bearer" = [])),
    params(("id" = crate::openapi::Id, Path, description = "The plan's id")),
    responses((status = 200, body = Plan), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get_plan(
    State(state): State<AppState>,
    _reader: Reader,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Plan>> {
    let id = convert::id("plan", &id)?;
    Ok(axum::Json(planning::plan(state.store.plan(id).await?)))
}

/// Sets a plan's owner or go-live date; milestones and tasks made from a
/// template are dated from the new go-live date.
#[utoipa::path(patch, path = "/api/v1/plans/{id}", tag = "plans", security(("bearer" = [])),
    params(("id" = crate::openapi::Id, Path, description = "The plan's id")), request_body = PlanUpdate,
    responses((status = 200, body = Plan),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn update_plan(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(request): Json<PlanUpdate>,
) -> ApiResult<axum::Json<Plan>> {
    let id = convert::id("plan", &id)?;
    let plan = planning::update_plan(&state, &caller, id, &request).await?;
    Ok(axum::Json(planning::plan(plan)))
}

/// Adds a task to a plan.
#[utoipa::path(post, path = "/api/v1/plans/{id}/tasks", tag = "plans", security(("bearer" = [])),
    params(("id" = crate::openapi::Id, Path, description = "The plan's id")), request_body = NewPlanTask,
    responses((status = 201, body = Task),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn add_task(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(request): Json<NewPlanTask>,
) -> ApiResult<(StatusCode, axum::Json<Task>)> {
    let id = convert::id("plan", &id)?;
    let task = planning::add_task(&state, &caller, id, &request).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(planning::task(task, Utc::now())),
    ))
}

/// Moves a task: `start`, `done`, `skip` (with a reason) or `reopen` (with
/// a reason). Its assignee may, as may those who manage plans.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/{action}", tag = "plans", security(("bearer" = [])),
    params(("id" = crate::openapi::Id, Path, description = "The task's id"),
        ("action" = ferry_core::release_plan::TaskAction, Path, description = "start, done, skip or reopen")),
    request_body = TaskMove,
    responses((status = 200, body = Task),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Its state does not allow it", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn move_task(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, action)): Path<(String, ferry_core::release_plan::TaskAction)>,
    Json(request): Json<TaskMove>,
) -> ApiResult<axum::Json<Task>> {
    let id = convert::id("task", &id)?;
    let to = action.state();
    let task = planning::move_task(&state, &caller, id, to, request.reason.as_deref()).await?;
    Ok(axum::Json(planning::task(task, Utc::now())))
}

/// Adds a milestone to a plan.
#[utoipa::path(post, path = "/api/v1/plans/{id}/milestones", tag = "plans", security(("bearer" = [])),
    params(("id" = crate::openapi::Id, Path, description = "The plan's id")), request_body = NewPlanMilestone,
    responses((status = 201, body = Milestone),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn add_milestone(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(request): Json<NewPlanMilestone>,
) -> ApiResult<(StatusCode, axum::Json<Milestone>)> {
    let id = convert::id("plan", &id)?;
    let milestone = planning::add_milestone(&state, &caller, id, &request).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(planning::milestone(milestone, Utc::now())),
    ))
}

/// Records that a milestone was reached.
#[utoipa::path(post, path = "/api/v1/milestones/{id}/done", tag = "plans", security(("bearer" = [])),
    params(("id" = crate::openapi::Id, Path, description = "The milestone's id")),
    responses((status = 200, body = Milestone),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Reached already", body = Problem, content_type = "application/problem+json")))]
pub async fn complete_milestone(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Milestone>> {
    let id = convert::id("milestone", &id)?;
    let milestone = planning::complete_milestone(&state, &caller, id).await?;
    Ok(axum::Json(planning::milestone(milestone, Utc::now())))
}
