//! Release trains as people use them: made, checked, promoted and shown;
//! and driven by the orchestrator through `ferry_core::train::next_step`.
//! The API's routes, the CLI (through them) and the orchestrator all come
//! through here.

use chrono::Utc;
use ferry_api::{MemberCheck, TrainCheck, TrainRun, TrainRunMember};
use ferry_core::access::{Action, Target};
use ferry_core::gates::{Disposition, Finding};
use ferry_core::train::{RunStatus, TrainStep, next_step, order};
use ferry_core::{DeploymentStatus, Name, ReleaseRef};
use ferry_store::deployments::NewDeployment;
use ferry_store::trains::{RunRecord, TrainRecord};
use ferry_store::{Store, StoreError};

use crate::auth::Caller;
use crate::authorize;
use crate::control::{self, Promotion};
use crate::error::ApiError;
use crate::state::AppState;

/// Makes a train of `request.releases` in `request.order`, with a plan
/// from `request.template` when one is named.
pub async fn create(
    state: &AppState,
    caller: &Caller,
    request: &ferry_api::NewTrain,
) -> Result<TrainRecord, ApiError> {
    caller
        .require(state, Action::ManageTrains, &Target::SERVER)
        .await?;
    let releases: Vec<ReleaseRef> = request
        .releases
        .iter()
        .map(|text| {
            text.parse::<ReleaseRef>()
                .map_err(|error| ApiError::Unprocessable(format!("releases: {error}")))
        })
        .collect::<Result<_, _>>()?;
    let services: Vec<Name> = releases.iter().map(|r| r.service.clone()).collect();
    let indexes = order(&services, &request.order).map_err(ApiError::Unprocessable)?;
    let members: Vec<(Name, semver::Version)> = indexes
        .iter()
        .map(|&i| (releases[i].service.clone(), releases[i].version.clone()))
        .collect();
    let template = match &request.template {
        Some(name) => Some(state.store.plan_template(name).await?.ok_or_else(|| {
            ApiError::Unprocessable(format!(
                "template: there is no plan template {name}; add a [[plan_template]] to ferry.toml and apply it"
            ))
        })?),
        None => None,
    };
    Ok(state
        .store
        .create_train(
            caller.actor(),
            &request.name,
            &members,
            template.as_ref(),
            request.go_live,
        )
        .await?)
}

/// Every member's verdict for promoting `train` into `environment` now.
pub async fn check(
    state: &AppState,
    train: &Name,
    environment: &Name,
) -> Result<TrainCheck, ApiError> {
    let record = state.store.train(train).await?;
    let mut members = Vec::with_capacity(record.members.len());
    for member in &record.members {
        let promotion = Promotion {
            service: &member.service,
            version: &member.version,
            environment,
            at: Utc::now(),
            emergency_reason: None,
        };
        let (verdict, _) = control::judge(state, &promotion).await?;
        members.push(MemberCheck {
            release: member.release(),
            verdict,
        });
    }
    Ok(TrainCheck {
        train: train.clone(),
        environment: environment.clone(),
        allowed: members.iter().all(|m| m.verdict.allowed),
        members,
    })
}

/// Whether `caller` may promote `train` into `environment`: promote on
/// every member there, as [`promote`] requires; for pages that show the
/// form only where it can work. Nothing is audited; [`promote`] checks
/// again, and judges the gates.
pub async fn may_promote(
    state: &AppState,
    caller: &Caller,
    train: &TrainRecord,
    environment: &Name,
) -> Result<bool, ApiError> {
    for member in &train.members {
        let target = authorize::target(state, Some(&member.service), Some(environment)).await?;
        if !caller.rights.allows(Action::Promote, &target) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Promotes `train` into `environment`: refused (403) unless `caller` may
/// promote every member there; refused (409, every member's blockers) when
/// any member's gates do not let it go now, all or nothing; otherwise a run
/// starts, which the orchestrator drives.
pub async fn promote(
    state: &AppState,
    caller: &Caller,
    train: &Name,
    environment: &Name,
) -> Result<RunRecord, ApiError> {
    let record = state.store.train(train).await?;
    for member in &record.members {
        let target = authorize::target(state, Some(&member.service), Some(environment)).await?;
        caller.require(state, Action::Promote, &target).await?;
    }
    let mut blockers: Vec<Finding> = Vec::new();
    for member in &record.members {
        let promotion = Promotion {
            service: &member.service,
            version: &member.version,
            environment,
            at: Utc::now(),
            emergency_reason: None,
        };
        let (disposition, verdict) = control::disposition(state, &promotion).await?;
        if disposition != Disposition::Go {
            crate::telemetry::gate_blocked(&verdict.blockers);
            let release = member.release();
            blockers.extend(verdict.blockers.into_iter().map(|finding| Finding {
                message: format!("{release}: {}", finding.message),
                ..finding
            }));
        }
    }
    if !blockers.is_empty() {
        return Err(ApiError::GateBlocked {
            detail: format!(
                "train {train} may not enter {environment}: {} gate(s) block its members",
                blockers.len()
            ),
            blockers,
        });
    }
    let run = state
        .store
        .start_run(caller.actor(), train, environment)
        .await?;
    state.wake.orchestrator();
    Ok(run)
}

/// A run as the API shows it, with its members.
pub async fn run_view(state: &AppState, run: RunRecord) -> Result<TrainRun, ApiError> {
    let members = state
        .store
        .run_members(run.id)
        .await?
        .into_iter()
        .map(|member| TrainRunMember {
            release: member.member.release(),
            deployment: member.deployment.map(|(id, _)| id),
            status: member.deployment.map(|(_, status)| status),
            rollback: member.rollback.map(|(id, _)| id),
            rollback_status: member.rollback.map(|(_, status)| status),
        })
        .collect();
    Ok(TrainRun {
        id: run.id,
        train: run.train,
        environment: run.environment,
        status: run.status,
        reason: run.reason,
        created_by: run.created_by,
        created_at: run.created_at,
        updated_at: run.updated_at,
        members,
    })
}

/// A train as the API shows it; with its runs when `runs`.
pub async fn view(
    state: &AppState,
    record: TrainRecord,
    runs: bool,
) -> Result<ferry_api::Train, ApiError> {
    let plan = state.store.train_plan(&record.name).await?.map(|p| p.id);
    let mut views = Vec::new();
    if runs {
        for run in state.store.runs(&record.name).await? {
            views.push(run_view(state, run).await?);
        }
    }
    Ok(ferry_api::Train {
        members: record.members.iter().map(|m| m.release()).collect(),
        name: record.name,
        created_by: record.created_by,
        created_at: record.created_at,
        plan,
        runs: views,
    })
}

/// Moves every running run one step on (see `ferry_core::train`): starts
/// the next member, rolls back, or ends it. Answers whether it made a
/// deployment.
pub async fn drive(store: &Store) -> Result<bool, StoreError> {
    let mut made = false;
    for run in store.running_runs().await? {
        match drive_run(store, &run).await {
            Ok(step) => made |= step,
            Err(error) => {
                tracing::warn!(run = run.id, %error, "driving a train run failed; trying again next pass");
            }
        }
    }
    Ok(made)
}

async fn drive_run(store: &Store, run: &RunRecord) -> Result<bool, StoreError> {
    let members = store.run_members(run.id).await?;
    let facts: Vec<_> = members.iter().map(|m| m.facts).collect();
    match next_step(&facts) {
        TrainStep::Wait => Ok(false),
        TrainStep::Start(index) => {
            let member = &members[index].member;
            let new = NewDeployment {
                train_run: Some(run.id),
                ..NewDeployment::default()
            };
            store
                .promote_release(
                    &run.created_by,
                    &member.service,
                    &member.version,
                    &run.environment,
                    new,
                )
                .await?;
            Ok(true)
        }
        TrainStep::RollBack(index) => {
            let member = &members[index];
            let Some((deployment, status)) = member.deployment else {
                return Ok(false);
            };
            if status == DeploymentStatus::Failed {
                crate::orchestrator::roll_back_changed(store, deployment).await?;
            } else if let Some(version) = store.last_success_before(deployment).await? {
                let reason = format!(
                    "train {} failed in {}: its members go back to what ran before",
                    run.train, run.environment
                );
                store
                    .request_rollback_marked(
                        &run.created_by,
                        deployment,
                        &version,
                        Some(&reason),
                        status != DeploymentStatus::Succeeded,
                    )
                    .await?;
            }
            Ok(true)
        }
        TrainStep::Succeeded => {
            store.finish_run(run.id, RunStatus::Succeeded, None).await?;
            Ok(false)
        }
        TrainStep::Failed { failed } => {
            let member = &members[failed];
            let deployment = member
                .deployment
                .map(|(id, _)| format!(" (deployment {id})"))
                .unwrap_or_default();
            let back: Vec<String> = members
                .iter()
                .filter(|m| m.rollback.is_some())
                .map(|m| m.member.release())
                .collect();
            let reason = if back.is_empty() {
                format!(
                    "{} failed{deployment}; nothing to roll back",
                    member.member.release()
                )
            } else {
                format!(
                    "{} failed{deployment}; rolled back {}",
                    member.member.release(),
                    back.join(", ")
                )
            };
            store
                .finish_run(run.id, RunStatus::Failed, Some(&reason))
                .await?;
            Ok(false)
        }
    }
}
