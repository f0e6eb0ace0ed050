//! Deployments: listed, shown with their targets, cancelled, rolled back.
//! They are created by promotion (routes/gates.rs) and driven by the
//! orchestrator.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::StatusCode;
use ferry_api::{
    CancelDeployment, Deployment, DeploymentProgress, DeploymentTarget, HealthReport, Page,
    Problem, Rollback, StepReport,
};
use ferry_store::deployments::DeploymentFilter;
use ferry_store::jobs::{JobRecord, LEASE_EXPIRED};
use ferry_store::progress::CancelOutcome;
use serde::Deserialize;

use crate::auth::Caller;
use crate::authorize;
use crate::authorize::Reader;
use crate::convert::{self, name, version};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path, Query};
use crate::routes::Paging;
use crate::state::AppState;
use ferry_core::access::Action;

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
    Ok(axum::Json(full(&state, id).await?))
}

/// Deployment `id` with its progress and its targets.
async fn full(state: &AppState, id: i64) -> Result<Deployment, ApiError> {
    let progress = state.store.progress(id).await?;
    let jobs = state.store.jobs(id).await?;
    let environment = name("environment", &progress.deployment.environment)?;
    let names: HashMap<i64, String> = state
        .store
        .agents(Some(&environment))
        .await?
        .into_iter()
        .map(|agent| (agent.id, agent.name))
        .collect();
    let mut deployment = convert::deployment(progress.deployment.clone());
    if let (Some(plan), Some(batch)) = (&progress.plan, progress.batch) {
        deployment.progress = Some(DeploymentProgress {
            batch,
            batches: i64::try_from(plan.len()).unwrap_or(i64::MAX),
            batch_sizes: plan.iter().map(Vec::len).collect(),
            next_batch_at: progress.next_batch_at,
            cancel_requested_by: progress.cancel_requested_by.clone(),
        });
    }
    let mut targets: Vec<DeploymentTarget> = jobs
        .iter()
        .map(|job| target(job, names.get(&job.agent_id)))
        .collect();
    targets.sort_by(|a, b| (a.batch, &a.target).cmp(&(b.batch, &b.target)));
    deployment.targets = targets;
    Ok(deployment)
}

/// A job as the target's part in its deployment.
fn target(job: &JobRecord, name: Option<&String>) -> DeploymentTarget {
    let result = job.result.as_ref();
    let steps: Vec<StepReport> = result
        .and_then(|r| r.get("steps"))
        .and_then(|s| serde_json::from_value(s.clone()).ok())
        .unwrap_or_default();
    let health: Option<HealthReport> = result
        .and_then(|r| r.get("health"))
        .and_then(|h| serde_json::from_value(h.clone()).ok());
    let seconds = (!steps.is_empty()).then(|| steps.iter().map(|s| s.seconds).sum());
    let error = if job.state.as_str() != "failed" {
        None
    } else if let Some(reason) = result
        .and_then(|r| r.get("reason"))
        .and_then(|r| r.as_str())
    {
        Some(reason.to_owned())
    } else if let Some(step) = steps.iter().find(|s| s.timed_out || s.exit_code != Some(0)) {
        Some(match (step.timed_out, step.exit_code) {
            (true, _) => format!("step {:?} timed out", step.name),
            (false, Some(code)) => format!("step {:?} exited with {code}", step.name),
            (false, None) => format!("step {:?} was killed or could not start", step.name),
        })
    } else if let Some(health) = health.as_ref().filter(|h| !h.healthy) {
        Some(format!("health check failed: {}", health.last))
    } else {
        result
            .and_then(|r| r.get("log_tail"))
            .and_then(|t| t.as_array())
            .and_then(|t| t.last())
            .and_then(|l| l.as_str())
            .map(str::to_owned)
            .or_else(|| Some(LEASE_EXPIRED.to_owned()))
    };
    DeploymentTarget {
        target: name
            .cloned()
            .unwrap_or_else(|| format!("agent {}", job.agent_id)),
        batch: job.batch,
        kind: job.kind.as_str().to_owned(),
        state: job.state.as_str().to_owned(),
        attempt: job.attempt,
        updated_at: job.updated_at,
        seconds,
        steps,
        health,
        error,
    }
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
    let deployment = state.store.deployment(id).await?;
    let service = name("service", &deployment.service)?;
    let environment = name("environment", &deployment.environment)?;
    let target = authorize::target(&state, Some(&service), Some(&environment)).await?;
    caller
        .require(&state, Action::CancelDeployment, &target)
        .await?;
    let outcome = state.store.cancel_deployment(caller.actor(), id).await?;
    state.wake.orchestrator();
    let code = match outcome {
        CancelOutcome::Cancelled => StatusCode::OK,
        CancelOutcome::Requested | CancelOutcome::AlreadyRequested { .. } => StatusCode::ACCEPTED,
    };
    Ok((code, axum::Json(full(&state, id).await?)))
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
    let service = request.service.clone();
    let environment = request.environment.clone();
    let target = authorize::target(&state, Some(&service), Some(&environment)).await?;
    caller.require(&state, Action::Rollback, &target).await?;
    let wanted = request.version.as_deref().map(version).transpose()?;
    let filter = DeploymentFilter {
        service: Some(&service),
        environment: Some(&environment),
    };
    let latest = state
        .store
        .deployments(filter, None, 1)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| {
            ApiError::Conflict(format!(
                "{service} was never deployed to {environment}: there is nothing to roll back"
            ))
        })?;
    let restore = match wanted {
        Some(wanted) => {
            let (release_id, _) = state
                .store
                .release_environment_ids(&service, &wanted, &environment)
                .await?;
            let succeeded_here = state
                .store
                .successes(release_id)
                .await?
                .iter()
                .any(|(name, _)| name == &environment);
            if !succeeded_here {
                return Err(ApiError::Conflict(format!(
                    "{service}@{wanted} never succeeded in {environment}: a rollback restores a version that did; see `ferry deploy list --service {service} --env {environment}`"
                )));
            }
            wanted
        }
        None => state
            .store
            .last_success_before(latest.id)
            .await?
            .ok_or_else(|| {
                ApiError::Conflict(format!(
                    "no release of {service} other than {} succeeded in {environment} before deployment {}: there is nothing to roll back to",
                    latest.version, latest.id
                ))
            })?,
    };
    let created = state
        .store
        .request_rollback(caller.actor(), latest.id, &restore)
        .await?;
    state.wake.orchestrator();
    Ok((
        StatusCode::CREATED,
        axum::Json(full(&state, created.id).await?),
    ))
}
