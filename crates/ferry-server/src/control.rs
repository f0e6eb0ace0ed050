//! Judging a promotion: the facts from the store turned into the gates'
//! input, windows and freezes evaluated at the time the promotion would
//! act, the risk assessed, and the one pure evaluation of `ferry_core::gates`
//! run. `ferry check`, `ferry promote` and the orchestrator all come
//! through here, so they can never disagree; so do approvals, whose rule
//! (`ferry_core::gates::Duties`) is the one the gates count them with.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use ferry_core::access::{Action, Target};
use ferry_core::change::ChangeState;
use ferry_core::gates::{
    ActiveFreeze, ChangeFact, Decider, Decision, Disposition, Duties, EvidenceFact, GateInput,
    Verdict, count_evidence, evaluate, previous_phase_soak,
};
use ferry_core::notes::NotesCommit;
use ferry_core::process::DeployProcess;
use ferry_core::risk::{RiskInput, assess};
use ferry_core::windows::{Freeze, WindowCheck, active_freeze, check_windows};
use ferry_core::{Name, Tier};
use ferry_store::auth::UserRecord;
use ferry_store::changes::conflicts_by_change;
use ferry_store::deployments::DeploymentRecord;
use ferry_store::gate_facts::{GateContext, GateFacts};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::{AppState, WindowCache};

/// A promotion to judge.
pub struct Promotion<'a> {
    pub service: &'a Name,
    pub version: &'a semver::Version,
    pub environment: &'a Name,
    /// When it would act (now, or the `--at` time).
    pub at: DateTime<Utc>,
    pub emergency_reason: Option<&'a str>,
}

/// Reads the facts and evaluates every gate.
pub async fn judge(
    state: &AppState,
    promotion: &Promotion<'_>,
) -> Result<(Verdict, GateFacts), ApiError> {
    let facts = state
        .store
        .gate_facts(promotion.service, promotion.version, promotion.environment)
        .await?;
    let verdict = verdict(&facts, promotion, Utc::now(), &state.windows)?;
    Ok((verdict, facts))
}

/// Judges a promotion with the facts every judgement shares taken from
/// `context`: for many promotions judged at one moment.
pub async fn judge_in(
    state: &AppState,
    context: &GateContext,
    promotion: &Promotion<'_>,
) -> Result<Verdict, ApiError> {
    let facts = state
        .store
        .gate_facts_in(
            context,
            promotion.service,
            promotion.version,
            promotion.environment,
        )
        .await?;
    verdict(&facts, promotion, Utc::now(), &state.windows)
}

/// The authors and co-authors of a release's commits, as `Name <mail>`
/// where the release kept them, else by the names in its commits (releases
/// made before ferry kept e-mails).
pub fn commit_authors(people: &[String], commits: &[NotesCommit]) -> Vec<String> {
    let mut authors: Vec<String> = if people.is_empty() {
        commits
            .iter()
            .flat_map(|c| c.authors.iter().cloned())
            .collect()
    } else {
        people.to_vec()
    };
    authors.sort();
    authors.dedup();
    authors
}

/// Judges a promotion and says whether it goes, waits for a window or the
/// end of a freeze, or is refused: the promotion route's one question.
pub async fn disposition(
    state: &AppState,
    promotion: &Promotion<'_>,
) -> Result<(Disposition, Verdict), ApiError> {
    let (verdict, facts) = judge(state, promotion).await?;
    let opens_again = match state.windows.get(&facts.environment.windows) {
        Ok(windows) => !matches!(
            check_windows(&windows, promotion.at),
            WindowCheck::Closed { next_open: None }
        ),
        Err(_) => false,
    };
    Ok((verdict.disposition(opens_again), verdict))
}

/// Refuses (403, audited) unless `caller` may approve or reject
/// `service@version` for `environment`: their role there, then the policy's
/// approvers and separation of duties, by the same rule the gates count
/// decisions with. Answers the person deciding.
pub async fn may_decide<'c>(
    state: &AppState,
    caller: &'c Caller,
    service: &Name,
    version: &semver::Version,
    environment: &Name,
    approve: bool,
) -> Result<&'c UserRecord, ApiError> {
    // Only what the rule needs: this runs once per approval, and a release
    // may collect thousands. The environment is read once, for its
    // protection and its policy.
    let spec = state
        .store
        .environments()
        .await?
        .into_iter()
        .find(|e| &e.spec.name == environment)
        .map(|e| e.spec)
        .ok_or_else(|| ApiError::NotFound(format!("there is no environment {environment:?}")))?;
    let target = Target::deployment(service, environment, spec.protected);
    caller
        .require(state, Action::DecideRelease, &target)
        .await?;
    let person = caller
        .person(state, Action::DecideRelease.as_str(), &target)
        .await?;
    let release = may_go_there(state, service, version, environment).await?;
    let people = state.store.release_people(release.id).await?;
    let commits: Vec<NotesCommit> = if people.is_empty() {
        serde_json::from_str(&state.store.release_commits(release.id).await?)
            .map_err(|e| ApiError::Internal(format!("stored commits unreadable: {e}")))?
    } else {
        Vec::new()
    };
    let authors = commit_authors(&people, &commits);
    let name = format!("{service}@{version}");
    let duties = Duties::new(&spec, &name, &release.created_by, &authors);
    let decider = Decider {
        user: caller.actor(),
        email: person.email.as_deref(),
        groups: &caller.groups,
    };
    match duties.refusal(decider, approve) {
        None => Ok(person),
        Some(why) => {
            let reason = format!("{why}; ask another approver");
            Err(caller
                .refused(state, Action::DecideRelease, &target, reason)
                .await)
        }
    }
}

/// Refuses (422) a decision or evidence on a release that can never be
/// promoted into `environment`: an abandoned release, or an environment
/// outside its service's lifecycle. Answers the release.
pub async fn may_go_there(
    state: &AppState,
    service: &Name,
    version: &semver::Version,
    environment: &Name,
) -> Result<ferry_store::releases::ReleaseRecord, ApiError> {
    let release = state.store.release(service, version).await?;
    if release.state == ferry_core::ReleaseState::Abandoned {
        return Err(ApiError::Unprocessable(format!(
            "{service}@{version} was abandoned: it can no longer be promoted, so nothing is recorded for it"
        )));
    }
    let (services, lifecycles) =
        tokio::try_join!(state.store.services(), state.store.lifecycles())?;
    let lifecycle = services
        .iter()
        .find(|s| &s.spec.name == service)
        .and_then(|s| lifecycles.iter().find(|l| l.spec.name == s.spec.lifecycle));
    if let Some(lifecycle) = lifecycle
        && lifecycle.spec.phase_of(environment).is_none()
    {
        let known: Vec<&str> = lifecycle.spec.environments().map(Name::as_str).collect();
        return Err(ApiError::Unprocessable(format!(
            "{environment} is not in lifecycle {} of {service} (its environments: {}): {service}@{version} can never go there",
            lifecycle.spec.name,
            known.join(", ")
        )));
    }
    Ok(release)
}

/// Refuses (409) a report of a deployment that ferry's agents run: only a
/// service without deployment steps is deployed by another tool, which
/// reports its progress.
pub async fn reportable(state: &AppState, deployment: &DeploymentRecord) -> Result<(), ApiError> {
    let service = state
        .store
        .services()
        .await?
        .into_iter()
        .find(|s| s.spec.name.as_str() == deployment.service)
        .ok_or_else(|| ApiError::NotFound(format!("there is no service {}", deployment.service)))?;
    let process = DeployProcess::from_value(&service.spec.deploy).map_err(|reason| {
        ApiError::Unprocessable(format!(
            "the deploy process of {} is invalid: {reason}",
            deployment.service
        ))
    })?;
    if process.is_external() {
        Ok(())
    } else {
        Err(ApiError::Conflict(format!(
            "deployment {} is run by ferry's agents ({} has deployment steps): only they report its progress; cancel it with `ferry deploy cancel {}`",
            deployment.id, deployment.service, deployment.id
        )))
    }
}

/// The pure part: from facts to verdict.
pub fn verdict(
    facts: &GateFacts,
    promotion: &Promotion<'_>,
    now: DateTime<Utc>,
    cache: &WindowCache,
) -> Result<Verdict, ApiError> {
    let commits: Vec<NotesCommit> = serde_json::from_str(&facts.commits_json)
        .map_err(|e| ApiError::Internal(format!("stored commits unreadable: {e}")))?;
    let commit_authors = commit_authors(&facts.people, &commits);
    let environment = &facts.environment;
    let windows = cache.get(&environment.windows).map_err(|e| {
        ApiError::Unprocessable(format!(
            "environment {}: a window is invalid: {e}",
            environment.name
        ))
    })?;
    let freezes = facts
        .freezes
        .iter()
        .map(Freeze::from_spec)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ApiError::Unprocessable(format!("a freeze is invalid: {e}")))?;
    let window = check_windows(&windows, promotion.at);
    let freeze =
        active_freeze(&freezes, promotion.environment, promotion.at).map(|(freeze, _, end)| {
            ActiveFreeze {
                name: freeze.name.clone(),
                reason: freeze.reason.clone(),
                end,
            }
        });

    let version = promotion.version.to_string();
    let conflicting = conflicts_by_change(&facts.changes);
    let changes: Vec<ChangeFact> = facts
        .changes
        .iter()
        .filter(|c| {
            c.release.as_deref().is_none_or(|v| v == version) && c.state != ChangeState::Closed
        })
        .map(|c| ChangeFact {
            id: c.id,
            kind: c.kind,
            state: c.state,
            window: c.window.map(|w| (w.start, w.end)),
            conflicts_with: conflicting.get(&c.id).cloned().unwrap_or_default(),
        })
        .collect();
    let decisions: Vec<Decision> = facts
        .decisions
        .iter()
        .map(|d| Decision {
            user: d.user.clone(),
            email: d.email.clone(),
            groups: facts.memberships.get(&d.user).cloned().unwrap_or_default(),
            approve: d.approve,
            comment: d.comment.clone(),
            at: d.at,
        })
        .collect();
    let evidence: Vec<EvidenceFact> = facts
        .evidence
        .iter()
        .map(|e| EvidenceFact {
            name: e.name.clone(),
            passed: e.passed,
            summary: e.summary.clone(),
            at: e.created_at,
        })
        .collect();

    let (required_evidence_missing, evidence_failing) =
        count_evidence(&environment.policy.evidence, &evidence);
    let soak = previous_phase_soak(
        &facts.lifecycle,
        promotion.environment,
        &facts.succeeded_in,
        now,
    );
    let timezone: Tz = environment
        .windows
        .first()
        .and_then(|w| w.timezone.as_deref())
        .and_then(|tz| tz.parse().ok())
        .unwrap_or(Tz::UTC);
    let change_kind = changes.first().map(|c| c.kind);
    let risk = assess(&RiskInput {
        commits: commits.len(),
        breaking_changes: commits.iter().filter(|c| c.breaking).count(),
        change_kind,
        recent_outcomes: facts.recent_outcomes.clone(),
        required_evidence_missing,
        evidence_failing,
        soak,
        local_time: promotion.at.with_timezone(&timezone).naive_local(),
        production: environment.tier == Tier::Production,
    });
    let input = GateInput {
        service: promotion.service.as_str(),
        version: promotion.version,
        release_abandoned: facts.release.state == ferry_core::ReleaseState::Abandoned,
        marked_bad: facts.marked_bad.as_ref(),
        locks: &facts.locks,
        required_tasks: &facts.required_tasks,
        release_creator: &facts.release.created_by,
        commit_authors: &commit_authors,
        environment,
        lifecycle: &facts.lifecycle,
        succeeded_in: &facts.succeeded_in,
        decisions: &decisions,
        evidence: &evidence,
        changes: &changes,
        window,
        freeze,
        risk: &risk,
        emergency: promotion.emergency_reason,
        now,
    };
    Ok(evaluate(&input))
}
