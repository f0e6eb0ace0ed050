//! Deciding on a release and promoting it: what the API's routes and the
//! web UI's buttons both do, so a person is held to the same rules from
//! either. Who may, and whether the gates let it go, are asked of the
//! application layer ([`crate::authorize`], [`crate::control`]).

use chrono::{DateTime, Utc};
use ferry_core::Name;
use ferry_core::access::Action;
use ferry_core::gates::Disposition;
use ferry_core::limits;
use ferry_store::approvals::DecisionRecord;
use ferry_store::deployments::{DeploymentRecord, NewDeployment};

use crate::auth::Caller;
use crate::authorize;
use crate::control::{self, Promotion};
use crate::convert;
use crate::error::ApiError;
use crate::state::AppState;

/// A decision on a release for an environment.
pub struct Decide<'a> {
    pub service: &'a Name,
    pub version: &'a semver::Version,
    pub environment: &'a Name,
    /// Approve (true) or reject (false).
    pub approve: bool,
    /// Why, for the record.
    pub comment: &'a str,
}

/// Records `caller`'s decision, replacing their earlier one: refused for
/// those whose role, the policy's approvers or separation of duties do not
/// let decide, for a comment over its limit, and for a release that cannot
/// go there.
pub async fn decide(
    state: &AppState,
    caller: &Caller,
    decision: Decide<'_>,
) -> Result<DecisionRecord, ApiError> {
    let person = control::may_decide(
        state,
        caller,
        decision.service,
        decision.version,
        decision.environment,
        decision.approve,
    )
    .await?;
    let comment = decision.comment.trim();
    convert::within(&limits::COMMENT, "comment", comment)?;
    Ok(state
        .store
        .decide(
            person,
            decision.service,
            decision.version,
            decision.environment,
            decision.approve,
            comment,
        )
        .await?)
}

/// A promotion as asked for.
pub struct Promote<'a> {
    pub service: &'a Name,
    pub version: &'a semver::Version,
    pub environment: &'a Name,
    /// When to start, if not now.
    pub at: Option<DateTime<Utc>>,
    /// The justification of an emergency promotion.
    pub emergency_reason: Option<&'a str>,
}

/// What a promotion did.
pub enum Promoted {
    /// A deployment was recorded (queued, or waiting for its time, a window
    /// or the end of a freeze).
    Created(DeploymentRecord),
    /// The same release was on its way there already: that deployment.
    AlreadyUnderWay(DeploymentRecord),
}

/// Promotes a release: refused (403) unless `caller` may promote there (on
/// the emergency path for an emergency), refused (409, every blocker) when
/// a gate that only people can clear blocks it; otherwise recorded, to go
/// at once or when only time no longer holds it back.
pub async fn promote(
    state: &AppState,
    caller: &Caller,
    request: Promote<'_>,
) -> Result<Promoted, ApiError> {
    let emergency = request.emergency_reason.map(str::trim);
    if let Some(reason) = emergency {
        convert::within(&limits::EMERGENCY_REASON, "emergency_reason", reason)?;
    }
    let target = authorize::target(state, Some(request.service), Some(request.environment)).await?;
    let action = if emergency.is_some() {
        Action::EmergencyPromote
    } else {
        Action::Promote
    };
    caller.require(state, action, &target).await?;
    let now = Utc::now();
    if let Some(at) = request.at {
        ferry_core::time::check_schedule("the promotion's time (at)", at, now)
            .map_err(ApiError::Unprocessable)?;
    }
    let scheduled = request.at.filter(|at| *at > now);
    let promotion = Promotion {
        service: request.service,
        version: request.version,
        environment: request.environment,
        at: scheduled.unwrap_or(now),
        emergency_reason: emergency,
    };
    let (service, version, environment) = (request.service, request.version, request.environment);
    let waits = match control::disposition(state, &promotion).await? {
        (Disposition::Go, _) => None,
        (Disposition::Wait(reason), verdict) => Some((reason, verdict.blockers)),
        (Disposition::Refuse, verdict) => {
            crate::telemetry::gate_blocked(&verdict.blockers);
            state
                .store
                .record_refused_promotion(
                    caller.actor(),
                    service,
                    version,
                    environment,
                    &verdict.blockers,
                )
                .await?;
            let count = verdict.blockers.len();
            return Err(ApiError::GateBlocked {
                detail: format!(
                    "{service}@{version} may not enter {environment}: {count} gate(s) block it"
                ),
                blockers: verdict.blockers,
            });
        }
    };
    let new = NewDeployment {
        scheduled_at: scheduled,
        emergency_reason: emergency,
        train_run: None,
    };
    let (mut deployment, created) = state
        .store
        .promote_release(caller.actor(), service, version, environment, new)
        .await?;
    if !created {
        return Ok(Promoted::AlreadyUnderWay(deployment));
    }
    if let Some((reason, blockers)) = waits {
        crate::telemetry::gate_blocked(&blockers);
        state.store.hold_deployment(deployment.id, &reason).await?;
        deployment = state.store.deployment(deployment.id).await?;
    }
    state.wake.orchestrator();
    Ok(Promoted::Created(deployment))
}
