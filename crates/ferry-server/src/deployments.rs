//! Deployments as people see and steer them: one read whole (its progress
//! and each target's steps and health), cancelled, or rolled back. The
//! API's routes and the web UI's deployment page both come through here, so
//! who may cancel or roll back, and what a rollback restores, read the same
//! from either.

use ferry_api::{Deployment, DeploymentProgress, DeploymentTarget, HealthReport, StepReport};
use ferry_core::Name;
use ferry_core::access::Action;
use ferry_core::process::{Decision, PauseKind, is_approver};
use ferry_store::deployments::DeploymentFilter;
use ferry_store::jobs::{JobRecord, LEASE_EXPIRED};
use ferry_store::pauses::Decided;
use ferry_store::progress::CancelOutcome;

use crate::auth::Caller;
use crate::authorize;
use crate::convert::{self, name};
use crate::error::ApiError;
use crate::state::AppState;

/// Deployment `id` with its progress and its targets.
pub async fn full(state: &AppState, id: i64) -> Result<Deployment, ApiError> {
    let progress = state.store.progress(id).await?;
    let jobs = state.store.jobs_with_targets(id).await?;
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
        .map(|(job, name)| target(job, Some(name)))
        .collect();
    targets.sort_by(|a, b| (a.batch, &a.target).cmp(&(b.batch, &b.target)));
    deployment.targets = targets;
    if progress.is_paused() {
        deployment.pause = progress.pause.clone();
    }
    Ok(deployment)
}

/// Records `caller`'s decision on paused deployment `id` and moves it on
/// (see `ferry_store::pauses`): refused (403) unless they may decide on
/// deployments there and, at a manual step that names its approvers, are
/// one of them; (409) when the deployment waits for no decision or for
/// another. A rollback decided after a failure puts the previous release
/// back on the targets changed, whatever the service's rollback policy.
pub async fn decide(
    state: &AppState,
    caller: &Caller,
    id: i64,
    decision: Decision,
    comment: &str,
) -> Result<Deployment, ApiError> {
    let comment = comment.trim();
    convert::within(&ferry_core::limits::COMMENT, "comment", comment)?;
    let progress = state.store.progress(id).await?;
    let service = name("service", &progress.deployment.service)?;
    let environment = name("environment", &progress.deployment.environment)?;
    let target = authorize::target(state, Some(&service), Some(&environment)).await?;
    caller
        .require(state, Action::ContinueDeployment, &target)
        .await?;
    if let Some(pause) = progress.pause.as_ref().filter(|_| progress.is_paused())
        && pause.kind == PauseKind::Manual
        && !is_approver(&pause.approvers, caller.actor(), &caller.groups)
    {
        let reason = format!(
            "{} is not one of the approvers of manual step {:?} ({})",
            caller.actor(),
            pause.step.as_deref().unwrap_or_default(),
            pause.approvers.join(", ")
        );
        return Err(caller
            .refused(state, Action::ContinueDeployment, &target, reason)
            .await);
    }
    let decided = state
        .store
        .decide_on_pause(caller.actor(), id, decision, comment)
        .await?;
    if decided == Decided::Failed {
        crate::telemetry::deployment_ended(
            &state.store,
            &progress.deployment,
            ferry_core::DeploymentStatus::Failed,
        );
    }
    if decided == Decided::Failed && decision == Decision::Rollback {
        crate::orchestrator::roll_back_changed(&state.store, id).await?;
    }
    state.wake.orchestrator();
    full(state, id).await
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

/// Cancels deployment `id`: at once when it has not started or no agent
/// drives it, after its current batch when agents run it. Refused unless
/// `caller` may cancel there; a deployment that ended cannot be cancelled.
pub async fn cancel(
    state: &AppState,
    caller: &Caller,
    id: i64,
) -> Result<(CancelOutcome, Deployment), ApiError> {
    let deployment = state.store.deployment(id).await?;
    let service = name("service", &deployment.service)?;
    let environment = name("environment", &deployment.environment)?;
    let target = authorize::target(state, Some(&service), Some(&environment)).await?;
    caller
        .require(state, Action::CancelDeployment, &target)
        .await?;
    let outcome = state.store.cancel_deployment(caller.actor(), id).await?;
    if outcome == CancelOutcome::Cancelled {
        crate::telemetry::deployment_ended(
            &state.store,
            &deployment,
            ferry_core::DeploymentStatus::Cancelled,
        );
    }
    state.wake.orchestrator();
    Ok((outcome, full(state, id).await?))
}

/// Puts an earlier release of `service` back into `environment`: the one
/// that succeeded there before the latest deployment, or `wanted` (which
/// must have succeeded there). Refused unless `caller` may roll back there.
pub async fn roll_back(
    state: &AppState,
    caller: &Caller,
    service: &Name,
    environment: &Name,
    wanted: Option<&semver::Version>,
    reason: Option<&str>,
) -> Result<Deployment, ApiError> {
    let reason = reason.map(str::trim).filter(|reason| !reason.is_empty());
    if let Some(reason) = reason {
        crate::convert::within(&ferry_core::limits::REASON, "reason", reason)?;
    }
    let target = authorize::target(state, Some(service), Some(environment)).await?;
    caller.require(state, Action::Rollback, &target).await?;
    let filter = DeploymentFilter {
        service: Some(service),
        environment: Some(environment),
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
                .release_environment_ids(service, wanted, environment)
                .await?;
            let succeeded_here = state
                .store
                .successes(release_id)
                .await?
                .iter()
                .any(|(name, _)| name == environment);
            if !succeeded_here {
                return Err(ApiError::Conflict(format!(
                    "{service}@{wanted} never succeeded in {environment}: a rollback restores a version that did; see `ferry deploy list --service {service} --env {environment}`"
                )));
            }
            wanted.clone()
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
        .request_rollback(caller.actor(), latest.id, &restore, reason)
        .await?;
    state.wake.orchestrator();
    full(state, created.id).await
}
