//! The orchestrator: drives deployments through their strategy's batches.
//!
//! [`tick`] does one pass over everything there is to do; [`run`] calls it
//! every [`TICK`] until shutdown. A pass holds no state of its own: it reads
//! the store, decides, and makes each step through a store call that is
//! guarded in SQL by the state it expects. Two replicas ticking at once, or a
//! server that restarts after a crash, therefore do every step once, and a
//! pass that dies half-way is finished by the next one. Replicas sharing a
//! database also lease the deployments they drive ([`DRIVE_LEASE`]), so each
//! deployment has one driver at a time, and a dead replica's deployments
//! move to a live one when its leases run out.
//!
//! One pass:
//! 1. expired leases fail their jobs; a job whose steps are all idempotent
//!    is retried (up to [`MAX_ATTEMPTS`] attempts);
//! 2. a queued or waiting deployment that is due starts on the agents of its
//!    environment that its service's target selector selects (sorted by
//!    name, split by the strategy), or waits saying why; a service deployed
//!    by another tool (no steps) is left for `ferry deploy report`;
//! 3. a running deployment whose current batch has finished halts (more
//!    failed targets than tolerated), goes on to its next batch (after the
//!    rolling pause or canary verification), or succeeds;
//! 4. a deployment that halted, with `rollback = "auto"` and a release that
//!    succeeded before it in that environment, gets a rollback deployment
//!    onto the targets it already changed;
//! 5. a post-implementation review past its due time, still open, is
//!    reminded of once (`review.remind`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Utc};
use ferry_core::DeploymentStatus;
use ferry_core::lifecycle::LifecycleSpec;
use ferry_core::process::{
    DeployProcess, OnFailure, Pause, PauseKind, RollbackPolicy, Strategy, pauses_after_batch,
    plan_batches, selects, should_halt,
};
use ferry_store::agents::AgentRecord;
use ferry_store::freshness::Topic;
use ferry_store::jobs::{JobRecord, JobState};
use ferry_store::progress::Progress;
use ferry_store::{Store, StoreError};

use crate::control::{Promotion, judge};
use crate::convert::{name, version};
use crate::state::AppState;
use crate::telemetry;

/// How often the orchestrator looks for work.
pub const TICK: std::time::Duration = std::time::Duration::from_millis(500);

/// How long a replica's lease on a deployment it drives lasts: renewed at
/// every pass, it runs out this long after its replica died, and another
/// replica takes the deployment over.
pub const DRIVE_LEASE: chrono::Duration = chrono::Duration::seconds(10);

/// How many attempts a job of idempotent steps gets when leases run out.
pub const MAX_ATTEMPTS: i64 = 3;

/// What one pass did, deployment (or job) ids in the order they were seen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TickReport {
    /// Jobs whose lease ran out and that were put back to pending.
    pub retried_jobs: Vec<i64>,
    /// Deployments started.
    pub started: Vec<i64>,
    /// Deployments held waiting (with their reason).
    pub waiting: Vec<i64>,
    /// Deployments moved to their next batch.
    pub advanced: Vec<i64>,
    /// Deployments that succeeded.
    pub succeeded: Vec<i64>,
    /// Deployments that failed.
    pub failed: Vec<i64>,
    /// Rollback deployments created.
    pub rollbacks: Vec<i64>,
    /// Deployments whose current batch got its jobs.
    pub created_jobs: Vec<i64>,
    /// Deployments cancelled between batches.
    pub cancelled: Vec<i64>,
    /// Deployments created by the promotion into an `auto` phase.
    pub promoted: Vec<i64>,
    /// Whether a release train made a deployment (or a rollback).
    pub train_deployments: bool,
    /// Deployments that wait for a person's decision.
    pub paused: Vec<i64>,
    /// Post-implementation reviews reminded of, past their due time.
    pub reminded_reviews: Vec<i64>,
}

impl TickReport {
    /// Whether the pass made jobs agents may be waiting for.
    pub fn made_jobs(&self) -> bool {
        !(self.retried_jobs.is_empty()
            && self.started.is_empty()
            && self.advanced.is_empty()
            && self.rollbacks.is_empty()
            && self.created_jobs.is_empty())
    }
}

/// What a pass reads once.
struct World {
    /// The services' deploy processes and lifecycles, kept between passes
    /// until the configuration changes.
    catalog: Arc<Catalog>,
    /// The agents, read when the pass first needs them (to start a
    /// deployment or name failed targets): whether each was heard from
    /// lately decides who gets work, so they are not kept between passes.
    agents: tokio::sync::OnceCell<Vec<AgentRecord>>,
}

/// Each service's deploy process (or why it is invalid) and lifecycle, by
/// service name: read and parsed again only after a configuration change,
/// not at every pass (a thousand services make a thousand processes).
#[derive(Debug, Default)]
pub struct Catalog {
    processes: HashMap<String, Result<DeployProcess, String>>,
    lifecycles: HashMap<String, LifecycleSpec>,
}

impl Catalog {
    async fn load(store: &Store) -> Result<Self, StoreError> {
        let services = store.services().await?;
        let processes = services
            .iter()
            .map(|service| {
                let process =
                    DeployProcess::from_value(&service.spec.deploy).map_err(|e| e.to_string());
                (service.spec.name.as_str().to_owned(), process)
            })
            .collect();
        let by_name: HashMap<String, LifecycleSpec> = store
            .lifecycles()
            .await?
            .into_iter()
            .map(|stored| (stored.spec.name.as_str().to_owned(), stored.spec))
            .collect();
        let lifecycles = services
            .iter()
            .filter_map(|service| {
                let lifecycle = by_name.get(service.spec.lifecycle.as_str())?;
                Some((service.spec.name.as_str().to_owned(), lifecycle.clone()))
            })
            .collect();
        Ok(Self {
            processes,
            lifecycles,
        })
    }
}

impl World {
    async fn load(state: &AppState) -> Result<Self, StoreError> {
        let store = &state.store;
        let stamp = store.stamp(&[Topic::Catalog]);
        let catalog = state
            .catalog
            .get_or_build(stamp, Catalog::load(store))
            .await?;
        Ok(Self {
            catalog,
            agents: tokio::sync::OnceCell::new(),
        })
    }

    /// Every agent, sorted by environment and name.
    async fn agents(&self, store: &Store) -> Result<&[AgentRecord], StoreError> {
        self.agents
            .get_or_try_init(|| store.agents(None))
            .await
            .map(Vec::as_slice)
    }

    fn process(&self, service: &str) -> Result<&DeployProcess, String> {
        match self.catalog.processes.get(service) {
            Some(Ok(process)) => Ok(process),
            Some(Err(reason)) => Err(format!(
                "the deploy process of {service} is invalid: {reason}"
            )),
            None => Err(format!("service {service} is no longer configured")),
        }
    }

    /// The names of the agents of `jobs`, in their order.
    async fn agent_names(
        &self,
        store: &Store,
        jobs: &[&JobRecord],
    ) -> Result<Vec<String>, StoreError> {
        let agents = self.agents(store).await?;
        Ok(jobs
            .iter()
            .map(|job| {
                agents
                    .iter()
                    .find(|agent| agent.id == job.agent_id)
                    .map_or_else(
                        || format!("agent {}", job.agent_id),
                        |agent| agent.name.clone(),
                    )
            })
            .collect())
    }
}

/// One pass of the orchestrator at `now` (see the module's documentation).
/// A deployment whose step fails is logged and left for the next pass; the
/// error returned is that of reading what to do.
pub async fn tick(state: &AppState, now: DateTime<Utc>) -> Result<TickReport, StoreError> {
    let store = &state.store;
    let mut report = TickReport::default();
    let world = World::load(state).await?;
    let mut expired = store.expire_jobs(now).await?;
    expired.extend(store.fail_unclaimed_jobs(now - AGENT_GONE).await?);
    for job in expired {
        if let Err(error) = retry_if_idempotent(store, &world, &job, &mut report).await {
            tracing::warn!(job = job.id, %error, "retrying a job whose lease expired failed");
        }
    }
    let to_drive = store.deployments_to_drive(now).await?;
    // The deployments this replica drives: those whose lease it holds (an
    // idle pass takes no write lock for it).
    let mine = if to_drive.is_empty() {
        HashSet::new()
    } else {
        store
            .claim_deployments(&state.replica, now, DRIVE_LEASE)
            .await?
    };
    // One deployment at a time per service and environment: the running
    // ones, and those started in this pass, hold the later ones back.
    let mut busy: HashMap<(String, String), i64> = to_drive
        .iter()
        .filter(|p| p.deployment.status == DeploymentStatus::Running || p.is_paused())
        .map(|p| (key(&p.deployment), p.deployment.id))
        .collect();
    for progress in to_drive {
        let id = progress.deployment.id;
        if !mine.contains(&id) {
            continue;
        }
        let result = match progress.deployment.status {
            // Waiting for a person's decision, not for its turn.
            DeploymentStatus::Waiting if progress.is_paused() => Ok(()),
            DeploymentStatus::Queued | DeploymentStatus::Waiting => {
                match busy.get(&key(&progress.deployment)) {
                    Some(&other) if other != id => {
                        let reason = format!(
                            "waits for deployment {other} of {} to {} to end",
                            progress.deployment.service, progress.deployment.environment
                        );
                        hold(store, &progress, &reason, &mut report).await
                    }
                    _ => {
                        let started = start(state, &world, &progress, now, &mut report).await;
                        if report.started.contains(&id) {
                            busy.insert(key(&progress.deployment), id);
                        }
                        started
                    }
                }
            }
            DeploymentStatus::Running => drive(store, &world, &progress, now, &mut report).await,
            DeploymentStatus::Failed => roll_back(store, &world, &progress, &mut report).await,
            _ => Ok(()),
        };
        if let Err(error) = result {
            tracing::warn!(deployment = id, %error, "driving a deployment failed; trying again next pass");
        }
    }
    // Release trains: each running run one step on.
    report.train_deployments = crate::trains::drive(store).await?;
    for succeeded in store.recent_successes(now - AUTO_PROMOTE_GRACE).await? {
        if let Err(error) = promote_next_phase(store, &world, &succeeded, &mut report).await {
            tracing::warn!(deployment = succeeded.id, %error, "promoting into the next phase failed; trying again next pass");
        }
    }
    // Post-implementation reviews past their due time: each reminded of once.
    match crate::reviews::remind(state, now).await {
        Ok(reminded) => report.reminded_reviews = reminded,
        Err(error) => {
            tracing::warn!(%error, "reminding of overdue reviews failed; trying again next pass");
        }
    }
    Ok(report)
}

/// An agent not heard from for this long is not given new work, and the
/// jobs it was given but did not take fail.
pub const AGENT_GONE: chrono::Duration = chrono::Duration::minutes(3);

fn key(deployment: &ferry_store::deployments::DeploymentRecord) -> (String, String) {
    (deployment.service.clone(), deployment.environment.clone())
}

/// Holds `progress` back, waiting for `reason`. A deployment already
/// waiting for that reason is left alone without a write: every pass holds
/// the same deployments again.
async fn hold(
    store: &Store,
    progress: &Progress,
    reason: &str,
    report: &mut TickReport,
) -> Result<(), StoreError> {
    let id = progress.deployment.id;
    let unchanged = progress.deployment.status == DeploymentStatus::Waiting
        && progress.reason.as_deref() == Some(reason);
    if !unchanged && store.hold_deployment(id, reason).await? {
        report.waiting.push(id);
    }
    Ok(())
}

/// How long a success is looked at for the automatic promotion into the
/// next phase (so a crash between the two loses nothing).
const AUTO_PROMOTE_GRACE: chrono::Duration = chrono::Duration::hours(1);

/// Calls [`tick`] every [`TICK`], or at once when woken, until `stop` is set.
/// Passes that fail one after another wait [`TICK`], then twice as long
/// each time, up to [`MOST_BACKOFF`]; one that succeeds ends the wait.
pub async fn run(state: AppState, stop: Arc<AtomicBool>) {
    // Leftovers of earlier runs: interrupted uploads, bytes no release names.
    tokio::spawn({
        let (blobs, store) = (state.blobs.clone(), state.store.clone());
        async move { blobs.sweep_logged(&store).await }
    });
    let mut failures: u32 = 0;
    while !stop.load(Ordering::Relaxed) {
        match tick(&state, Utc::now()).await {
            Ok(report) => {
                if failures > 0 {
                    tracing::info!(failures, "orchestrator passes succeed again");
                    failures = 0;
                }
                if report.made_jobs() {
                    match state.store.agents_with_pending_jobs().await {
                        Ok(agents) => {
                            // Agents waiting on other replicas hear of it too.
                            if let Err(error) = state.store.announce_jobs(&agents).await {
                                tracing::warn!(%error, "telling other replicas of new jobs failed");
                            }
                            state.wake.agents(agents);
                        }
                        Err(error) => tracing::warn!(%error, "finding the agents to wake failed"),
                    }
                }
                if !report.promoted.is_empty() || report.train_deployments {
                    // Start them without waiting for the next tick.
                    state.wake.orchestrator();
                }
            }
            Err(error) => {
                failures = failures.saturating_add(1);
                let wait = backoff(failures);
                tracing::warn!(
                    %error,
                    failures,
                    retry_in_ms = wait.as_millis() as u64,
                    "orchestrator pass failed; the next waits longer while passes fail"
                );
                // Woken or not, a failing database is not asked again
                // sooner; `stop` is still seen within a tick.
                let until = tokio::time::Instant::now() + wait;
                while !stop.load(Ordering::Relaxed) && tokio::time::Instant::now() < until {
                    tokio::time::sleep_until(until.min(tokio::time::Instant::now() + TICK)).await;
                }
                continue;
            }
        }
        tokio::select! {
            () = state.wake.orchestrator.notified() => {}
            () = tokio::time::sleep(TICK) => {}
        }
    }
    // Another replica takes this one's deployments over at its next pass.
    if let Err(error) = state.store.release_deployments(&state.replica).await {
        tracing::warn!(%error, "giving up the leases on deployments failed; they run out");
    }
}

/// The longest wait between failing passes.
pub const MOST_BACKOFF: std::time::Duration = std::time::Duration::from_secs(30);

/// The wait after the `failures`-th failing pass in a row (1 or more):
/// [`TICK`], doubled for each failure before it, at most [`MOST_BACKOFF`].
fn backoff(failures: u32) -> std::time::Duration {
    let doublings = failures.saturating_sub(1).min(16);
    TICK.saturating_mul(1 << doublings).min(MOST_BACKOFF)
}

async fn retry_if_idempotent(
    store: &Store,
    world: &World,
    job: &JobRecord,
    report: &mut TickReport,
) -> Result<(), StoreError> {
    if job.attempt >= MAX_ATTEMPTS {
        return Ok(());
    }
    let deployment = store.deployment(job.deployment_id).await?;
    let Ok(process) = world.process(&deployment.service) else {
        return Ok(());
    };
    if !process.steps.is_empty() && process.steps.iter().all(|step| step.idempotent) {
        store.retry_job(job.id).await?;
        report.retried_jobs.push(job.id);
    }
    Ok(())
}

async fn start(
    state: &AppState,
    world: &World,
    progress: &Progress,
    now: DateTime<Utc>,
    report: &mut TickReport,
) -> Result<(), StoreError> {
    let store = &state.store;
    let deployment = &progress.deployment;
    let process = match world.process(&deployment.service) {
        Ok(process) => process,
        Err(reason) => return hold(store, progress, &reason, report).await,
    };
    if process.is_external() {
        // Deployed by another tool: it waits for `ferry deploy report`.
        return Ok(());
    }
    // `agents` is sorted by environment and name.
    let targets: Vec<&AgentRecord> = world
        .agents(store)
        .await?
        .iter()
        .filter(|agent| {
            agent.environment == deployment.environment
                && agent.revoked_at.is_none()
                && agent
                    .last_seen_at
                    .is_some_and(|seen| now - seen <= AGENT_GONE)
                && selects(&process.targets, &agent.tags)
        })
        .collect();
    // The gates are judged again now: windows and freezes move with time,
    // and approvals or evidence may have changed since the promotion. A
    // rollback restores a release that passed them here before.
    if progress.rollback_of.is_none()
        && let Some((reason, blockers)) = blocked(state, deployment, now).await
    {
        let held = report.waiting.len();
        hold(store, progress, &reason, report).await?;
        if report.waiting.len() > held {
            // Held anew (not again for the same reason, as every pass does).
            telemetry::gate_blocked(&blockers);
        }
        return Ok(());
    }
    if targets.is_empty() {
        let reason = format!(
            "no agent of {} that the service's targets select has asked for work in the last {} minutes",
            deployment.environment,
            AGENT_GONE.num_minutes()
        );
        return hold(store, progress, &reason, report).await;
    }
    let names: Vec<String> = targets.iter().map(|agent| agent.name.clone()).collect();
    let ids: BTreeMap<&str, i64> = targets
        .iter()
        .map(|agent| (agent.name.as_str(), agent.id))
        .collect();
    let plan: Vec<Vec<i64>> = plan_batches(&process.strategy, &names)
        .into_iter()
        .map(|batch| batch.iter().map(|name| ids[name.as_str()]).collect())
        .collect();
    if store.start_deployment(deployment.id, &plan, now).await? {
        report.started.push(deployment.id);
    }
    Ok(())
}

/// Why the gates hold `deployment` back now, with their blockers, if they do.
async fn blocked(
    state: &AppState,
    deployment: &ferry_store::deployments::DeploymentRecord,
    now: DateTime<Utc>,
) -> Option<(String, Vec<ferry_core::gates::Finding>)> {
    let judged = async {
        let service = name("service", &deployment.service)?;
        let version = version(&deployment.version)?;
        let environment = name("environment", &deployment.environment)?;
        let promotion = Promotion {
            service: &service,
            version: &version,
            environment: &environment,
            at: now,
            emergency_reason: deployment.emergency_reason.as_deref(),
        };
        judge(state, &promotion).await.map(|(verdict, _)| verdict)
    };
    match judged.await {
        Ok(verdict) if verdict.allowed => None,
        Ok(verdict) => Some((verdict.held_reason(), verdict.blockers)),
        Err(error) => Some((format!("the gates cannot be judged: {error}"), Vec::new())),
    }
}

async fn drive(
    store: &Store,
    world: &World,
    progress: &Progress,
    now: DateTime<Utc>,
    report: &mut TickReport,
) -> Result<(), StoreError> {
    let id = progress.deployment.id;
    let (Some(plan), Some(batch)) = (&progress.plan, progress.batch) else {
        // Running without a plan: reported by another tool.
        return Ok(());
    };
    let pausing = progress.next_batch_at.is_some_and(|at| at > now);
    if pausing && progress.cancel_requested_by.is_none() {
        return Ok(());
    }
    let kind = progress.job_kind();
    let current = progress.current_batch();
    let jobs = store.jobs_to_judge(id, kind, batch).await?;
    let in_batch: Vec<&JobRecord> = jobs.iter().filter(|job| job.batch == batch).collect();
    if let Some(by) = &progress.cancel_requested_by
        && in_batch
            .iter()
            .all(|job| matches!(job.state, JobState::Succeeded | JobState::Failed))
    {
        // Between batches: the batch that ran is finished and the next one
        // has no jobs yet (or is still pausing).
        let done = if in_batch.len() < current.len() || pausing {
            batch
        } else {
            batch + 1
        };
        let reason = format!("cancelled by {by} after {done} of {} batch(es)", plan.len());
        if store
            .finish_deployment(id, DeploymentStatus::Cancelled, Some(&reason))
            .await?
        {
            telemetry::deployment_ended(store, &progress.deployment, DeploymentStatus::Cancelled);
            report.cancelled.push(id);
        }
        return Ok(());
    }
    if pausing {
        return Ok(());
    }
    if in_batch.len() < current.len() {
        // The batch's jobs are created after the step that made it current
        // (or once its pause is over): create them, idempotently.
        store.create_jobs(id, batch, current, kind).await?;
        report.created_jobs.push(id);
        return Ok(());
    }
    if in_batch
        .iter()
        .any(|job| matches!(job.state, JobState::Pending | JobState::Running))
    {
        return Ok(());
    }
    let failed: Vec<&JobRecord> = jobs
        .iter()
        .filter(|job| job.state == JobState::Failed)
        .collect();
    let process = world.process(&progress.deployment.service).ok();
    // A rollback runs every step at once and never waits for a person.
    let asks = progress.rollback_of.is_none();
    let tolerate = process.map_or(0, |process| process.tolerate_failures);
    let failed_count = u32::try_from(failed.len()).unwrap_or(u32::MAX);
    let accepted = u32::try_from(progress.accepted_failures).unwrap_or(0);
    if should_halt(failed_count.saturating_sub(accepted), tolerate) {
        if asks && process.is_some_and(|process| process.on_failure == OnFailure::Ask) {
            let mut pause = Pause::new(PauseKind::Failure, batch);
            pause.failed = world.agent_names(store, &failed).await?;
            return pause_for(store, progress, &pause, report).await;
        }
        let names = world.agent_names(store, &failed).await?;
        let reason = format!(
            "halted: failed on {} (tolerated: {tolerate})",
            names.join(", ")
        );
        if store
            .finish_deployment(id, DeploymentStatus::Failed, Some(&reason))
            .await?
        {
            telemetry::deployment_ended(store, &progress.deployment, DeploymentStatus::Failed);
            report.failed.push(id);
        }
        if progress.rollback_of.is_none() {
            let failed_now = store.progress(id).await?;
            roll_back(store, world, &failed_now, report).await?;
        }
        return Ok(());
    }
    // More of the steps to run on this batch, after a person's manual step?
    if asks
        && let Some(manual) = process.and_then(|process| {
            process.manual_after(usize::try_from(progress.segment).unwrap_or(usize::MAX))
        })
    {
        let mut pause = Pause::new(PauseKind::Manual, batch);
        pause.step = Some(manual.name.clone());
        pause.instructions = Some(manual.instructions.clone());
        pause.approvers = manual.approvers.clone();
        return pause_for(store, progress, &pause, report).await;
    }
    let last = i64::try_from(plan.len()).unwrap_or(i64::MAX) - 1;
    let total: usize = plan.iter().map(Vec::len).sum();
    if batch < last
        && asks
        && process.is_some_and(|process| {
            pauses_after_batch(
                &process.strategy,
                total,
                usize::try_from(batch).unwrap_or(usize::MAX),
            )
        })
    {
        let pause = Pause::new(PauseKind::Canary, batch);
        return pause_for(store, progress, &pause, report).await;
    }
    if batch < last {
        let wait = world
            .process(&progress.deployment.service)
            .ok()
            .and_then(|process| match &process.strategy {
                Strategy::All => None,
                Strategy::Rolling { pause, .. } => *pause,
                Strategy::Canary { verify, .. } => *verify,
            })
            .filter(|wait| *wait > chrono::Duration::zero());
        let next_at = wait.map(|wait| now + wait);
        if store.advance_batch(id, batch, next_at).await? {
            report.advanced.push(id);
        }
        return Ok(());
    }
    if store
        .finish_deployment(id, DeploymentStatus::Succeeded, None)
        .await?
    {
        telemetry::deployment_ended(store, &progress.deployment, DeploymentStatus::Succeeded);
        report.succeeded.push(id);
        if let Some(original) = progress.rollback_of {
            count_restored(store, original).await;
        }
    }
    Ok(())
}

/// Counts failed deployment `original` as rolled back, when the success of
/// its rollback (which just ended) restored it: that write turned it
/// `rolled_back`, and only the one rollback a deployment may have does.
async fn count_restored(store: &Store, original: i64) {
    match store.deployment(original).await {
        Ok(restored) if restored.status == DeploymentStatus::RolledBack => {
            telemetry::deployment_ended(store, &restored, DeploymentStatus::RolledBack);
        }
        Ok(_) => {}
        Err(error) => {
            tracing::debug!(deployment = original, %error, "a rolled-back deployment was not counted");
        }
    }
}

/// Pauses `progress` for a person's decision.
async fn pause_for(
    store: &Store,
    progress: &Progress,
    pause: &Pause,
    report: &mut TickReport,
) -> Result<(), StoreError> {
    let id = progress.deployment.id;
    let batch = progress.batch.unwrap_or(0);
    if store
        .pause_deployment(id, batch, progress.segment, pause)
        .await?
    {
        report.paused.push(id);
    }
    Ok(())
}

/// Creates the automatic rollback of failed deployment `progress`, when its
/// service asks for one and a release succeeded before it in its environment.
async fn roll_back(
    store: &Store,
    world: &World,
    progress: &Progress,
    report: &mut TickReport,
) -> Result<(), StoreError> {
    let deployment = &progress.deployment;
    if deployment.status != DeploymentStatus::Failed || progress.rollback_of.is_some() {
        return Ok(());
    }
    let Ok(process) = world.process(&deployment.service) else {
        return Ok(());
    };
    if process.rollback != RollbackPolicy::Auto {
        return Ok(());
    }
    if let Some(rollback) = roll_back_changed(store, deployment.id).await? {
        report.rollbacks.push(rollback.deployment.id);
    }
    Ok(())
}

/// Creates the rollback of failed deployment `failed_id` onto the targets
/// it already changed, to the release that succeeded before it there;
/// `None` when there is no such release or no target was changed.
pub(crate) async fn roll_back_changed(
    store: &Store,
    failed_id: i64,
) -> Result<Option<Progress>, StoreError> {
    let Some(version) = store.last_success_before(failed_id).await? else {
        return Ok(None);
    };
    // The targets already changed: every one whose job was claimed.
    let mut changed: Vec<i64> = store
        .jobs(failed_id)
        .await?
        .into_iter()
        .filter(|job| job.attempt > 0)
        .map(|job| job.agent_id)
        .collect();
    changed.sort_unstable();
    changed.dedup();
    if changed.is_empty() {
        return Ok(None);
    }
    Ok(Some(
        store.create_rollback(failed_id, &version, &changed).await?,
    ))
}

/// Promotes the release of `succeeded` into the environments of the next
/// phase of its lifecycle, when that phase is `auto` and the release has not
/// gone there yet. The new deployments are judged by the gates when they
/// start, like any other. A protected environment is never entered this
/// way: only a person whose grant names it promotes there.
async fn promote_next_phase(
    store: &Store,
    world: &World,
    succeeded: &ferry_store::deployments::DeploymentRecord,
    report: &mut TickReport,
) -> Result<(), StoreError> {
    let Some(lifecycle) = world.catalog.lifecycles.get(&succeeded.service) else {
        return Ok(());
    };
    let Ok(environment) = ferry_core::Name::parse(&succeeded.environment) else {
        return Ok(());
    };
    let Some(next) = lifecycle
        .phase_of(&environment)
        .and_then(|index| lifecycle.phases.get(index + 1))
        .filter(|phase| phase.auto)
    else {
        return Ok(());
    };
    let protected: Vec<ferry_core::Name> = store
        .environments()
        .await?
        .into_iter()
        .filter(|stored| stored.spec.protected)
        .map(|stored| stored.spec.name)
        .collect();
    for target in &next.environments {
        if protected.contains(target) {
            tracing::info!(
                deployment.id = succeeded.id,
                environment = %target,
                "not promoted automatically: the environment is protected"
            );
            continue;
        }
        if let Some(created) = store.promote_automatically(succeeded.id, target).await? {
            report.promoted.push(created.id);
        }
    }
    Ok(())
}

#[cfg(test)]
mod backoff_tests {
    use super::*;

    #[test]
    fn failing_passes_wait_longer_up_to_the_most() {
        let waits: Vec<u64> = (1..=9).map(|n| backoff(n).as_millis() as u64).collect();
        assert_eq!(
            waits,
            [
                500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000
            ]
        );
        assert_eq!(backoff(u32::MAX), MOST_BACKOFF);
    }
}
