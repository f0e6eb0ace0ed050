//! Deployments: listed, shown with their targets, cancelled, rolled back.
//! They are created by promotion (routes/gates.rs) and driven by the
//! orchestrator.

use axum::extract::State;
use axum::http::StatusCode;
use ferry_api::{CancelDeployment, Deployment, DeploymentDecision, Page, Problem, Rollback};
use ferry_store::deployments::DeploymentFilter;
use ferry_store::progress::CancelOutcome;
use serde::Deserialize;

use crate::auth::Caller;
use crate::authorize::Reader;
use crate::convert::{self, version};
use crate::deployments;
use crate::error::ApiResult;
use crate::extract::{Json, Path, Query};
use crate::routes::Paging;
use crate::state::AppState;

/// Filters and paging of the deployment list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeploymentQuery {
    /// Only this service's deployments.
    service: Option<ferry_core::Name>,
    /// Only deployments into this environment.
    environment: Option<ferry_core::Name>,
    /// At most this many (1 to 1000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// Deployments, newest first.
#[utoipa::path(get, path = "/api/v1/deployments", tag = "deployments", security(("bearer" = [])), params(DeploymentQuery),
    responses((status = 200, body = Page<Deployment>), (status = 400, body = Problem, content_type = "application/problem+json")))]
pub async fn list_deployments(
    State(state): State<AppState>,
    _reader: Reader,
    Query(query): Query<DeploymentQuery>,
) -> ApiResult<axum::Json<Page<Deployment>>> {
    let paging = Paging::parse(query.limit, query.cursor.as_deref())?;
    let service = query.service;
    let environment = query.environment;
    let filter = DeploymentFilter {
        service: service.as_ref(),
        environment: environment.as_ref(),
    };
    let records = state
        .store
        .deployments(filter, paging.before, paging.fetch())
        .await?;
    Ok(axum::Json(paging.page(
        records.into_iter().map(convert::deployment).collect(),
        |d| d.id,
    )))
}

/// One deployment.
#[utoipa::path(get, path = "/api/v1/deployments/{id}", tag = "deployments", security(("bearer" = [])),
    params(("id" = crate::openapi::Id, Path, description = "The deployment's id")),
    responses((status = 200, body = Deployment), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get_deployment(
    State(state): State<AppState>,
    _reader: Reader,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Deployment>> {
    let id = convert::id("deployment", &id)?;
    Ok(axum::Json(deployments::full(&state, id).await?))
}

/// Cancels a deployment: at once when it has not started or no agent drives
/// it (one reported by another tool), after its current batch when agents
/// run it (202). A deployment that ended cannot be cancelled.
#[utoipa::path(post, path = "/api/v1/deployments/{id}/cancel", tag = "deployments", security(("bearer" = [])),
    params(("id" = crate::openapi::Id, Path, description = "The deployment's id")),
    request_body = CancelDeployment,
    responses((status = 200, description = "Cancelled", body = Deployment),
        (status = 202, description = "It stops after its current batch", body = Deployment),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "It has ended", body = Problem, content_type = "application/problem+json")))]
pub async fn cancel_deployment(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(_request): Json<CancelDeployment>,
) -> ApiResult<(StatusCode, axum::Json<Deployment>)> {
    let id = convert::id("deployment", &id)?;
    let (outcome, deployment) = deployments::cancel(&state, &caller, id).await?;
    let code = match outcome {
        CancelOutcome::Cancelled => StatusCode::OK,
        CancelOutcome::Requested | CancelOutcome::AlreadyRequested { .. } => StatusCode::ACCEPTED,
    };
    Ok((code, axum::Json(deployment)))
}

/// Decides on a deployment that waits for a person: `continue` or `abort`
/// at a manual step or after a canary stage with a manual pause; `retry`,
/// `skip` or `rollback` after a failure under `on_failure = "ask"`.
#[utoipa::path(post, path = "/api/v1/deployments/{id}/decisions", tag = "deployments", security(("bearer" = [])),
    params(("id" = crate::openapi::Id, Path, description = "The deployment's id")),
    request_body = DeploymentDecision,
    responses((status = 200, description = "Decided: the deployment as it is now", body = Deployment),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "It waits for no decision, or for another", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn decide_deployment(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(request): Json<DeploymentDecision>,
) -> ApiResult<axum::Json<Deployment>> {
    let id = convert::id("deployment", &id)?;
    let deployment =
        deployments::decide(&state, &caller, id, request.decision, &request.comment).await?;
    Ok(axum::Json(deployment))
}

/// Puts an earlier release of a service back into an environment: by
/// default the one that succeeded there before the latest deployment, or
/// the version asked for (which must have succeeded there). The rollback is
/// a deployment linked to the one it undoes; it runs on the environment's
/// targets by the service's strategy, without judging the gates again.
#[utoipa::path(post, path = "/api/v1/rollbacks", tag = "deployments", security(("bearer" = [])),
    request_body = Rollback,
    responses((status = 201, body = Deployment),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Nothing to roll back to, or a deployment is under way", body = Problem, content_type = "application/problem+json")))]
pub async fn roll_back(
    State(state): State<AppState>,
    caller: Caller,
    Json(request): Json<Rollback>,
) -> ApiResult<(StatusCode, axum::Json<Deployment>)> {
    let wanted = request.version.as_deref().map(version).transpose()?;
    let deployment = deployments::roll_back(
        &state,
        &caller,
        &request.service,
        &request.environment,
        wanted.as_ref(),
        request.reason.as_deref(),
    )
    .await?;
    Ok((StatusCode::CREATED, axum::Json(deployment)))
}
