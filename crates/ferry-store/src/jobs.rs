//! Jobs: one deployment's work on one agent, leased rather than locked.
//!
//! Rules it keeps:
//! - a job is claimed by one `UPDATE … WHERE id = (SELECT … LIMIT 1)
//!   RETURNING …`: on PostgreSQL the inner select is `FOR UPDATE SKIP
//!   LOCKED`, so concurrent claimers never wait on or take the same row; on
//!   SQLite the statement runs in an `IMMEDIATE` transaction, whose single
//!   writer gives the same guarantee;
//! - every claim starts a new attempt; heartbeats and reports name their
//!   attempt and change the job only while it is `running` under that
//!   attempt, so an agent that lost its lease cannot overwrite a newer one;
//! - a repeated report of the same outcome changes nothing
//!   ([`FinishOutcome::AlreadyDone`]);
//! - a lease that runs out fails the job ([`Store::expire_jobs`]); retrying it
//!   is the orchestrator's decision ([`Store::retry_job`]);
//! - every change of state appends an audit event in its transaction;
//!   heartbeats only move the lease and are not audited.
//!
//! Times are compared as the fixed-width text the store writes; a lease is
//! held up to and including `lease_expires_at`.

use std::fmt;

use chrono::{DateTime, Utc};
use ferry_core::time::format_time;
use serde_json::{Value, json};
use sqlx::AssertSqlSafe;
use sqlx::any::AnyRow;

use crate::audit::{Events, append};
use crate::group::{Write, Written};
use crate::logs::{NewLogLine, at_most_max};
use crate::rows::{int, now, opt_text, opt_time, text, time};
use crate::{Backend, Result, Store, StoreError, Tx};

/// What a job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobKind {
    /// Deploys the deployment's release on the agent's target.
    Deploy,
    /// Puts the previous release back on the agent's target.
    Rollback,
}

impl JobKind {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Deploy => "deploy",
            JobKind::Rollback => "rollback",
        }
    }

    /// Reads the stored spelling.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "deploy" => Some(JobKind::Deploy),
            "rollback" => Some(JobKind::Rollback),
            _ => None,
        }
    }
}

impl fmt::Display for JobKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobState {
    /// Waiting for its agent to claim it.
    Pending,
    /// Claimed; its agent holds the lease.
    Running,
    /// Its agent reported success.
    Succeeded,
    /// Its agent reported failure, or its lease ran out.
    Failed,
}

impl JobState {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Pending => "pending",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
        }
    }

    /// Reads the stored spelling.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "pending" => Some(JobState::Pending),
            "running" => Some(JobState::Running),
            "succeeded" => Some(JobState::Succeeded),
            "failed" => Some(JobState::Failed),
            _ => None,
        }
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRecord {
    /// Row id.
    pub id: i64,
    /// The deployment it belongs to.
    pub deployment_id: i64,
    /// The agent that runs it.
    pub agent_id: i64,
    /// The strategy's batch it is in (from 0).
    pub batch: i64,
    /// Which segment of the steps it runs: those between two manual steps
    /// (0 without manual steps).
    pub segment: i64,
    /// What it does.
    pub kind: JobKind,
    /// Where it stands.
    pub state: JobState,
    /// How many times it was claimed; reports name the attempt they are for.
    pub attempt: i64,
    /// `agent:<agent id>:<attempt>` of the attempt that holds (or, once
    /// finished, held) the lease; `None` when pending or expired.
    pub lease_owner: Option<String>,
    /// When the lease runs out unless a heartbeat extends it.
    pub lease_expires_at: Option<DateTime<Utc>>,
    /// What the agent reported (exit codes and the like), or why it failed.
    pub result: Option<Value>,
    /// When the current attempt's agent said it starts running it.
    pub started_at: Option<DateTime<Utc>>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// The outcome of [`Store::finish_job`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FinishOutcome {
    /// The report was recorded: the job as it is now, and whether no job
    /// of its batch is left pending or running (the batch is over, for the
    /// orchestrator to judge).
    Finished {
        /// The job, finished.
        job: JobRecord,
        /// Whether it was the last of its batch to finish: of the reports
        /// committed together, only the last of a batch can say so.
        batch_over: bool,
    },
    /// The same attempt already reported the same outcome: nothing changed
    /// (a retried report after a lost response).
    AlreadyDone(JobRecord),
    /// The report is for an attempt that no longer holds the job (an older
    /// attempt, or one whose lease expired): nothing changed.
    Stale(JobRecord),
}

impl FinishOutcome {
    /// The job as it is after the report.
    pub fn job(&self) -> &JobRecord {
        match self {
            FinishOutcome::Finished { job, .. }
            | FinishOutcome::AlreadyDone(job)
            | FinishOutcome::Stale(job) => job,
        }
    }
}

/// What a job whose lease ran out records as its result.
pub const LEASE_EXPIRED: &str = "lease expired: the agent stopped answering";

/// Why a job whose lease ran out before its agent started it is pending again.
pub const NEVER_STARTED: &str = "the lease ran out before the agent started the job";

/// Why a job that no agent took is failed.
pub const NOT_CLAIMED: &str = "not taken: the agent has stopped asking for work";

const COLUMNS: &str = "id, deployment_id, agent_id, batch, segment, kind, state, attempt, lease_owner, \
     lease_expires_at, result, started_at, created_at, updated_at";

fn job(row: &AnyRow) -> Result<JobRecord> {
    let kind = text(row, "kind")?;
    let state = text(row, "state")?;
    Ok(JobRecord {
        id: int(row, "id")?,
        deployment_id: int(row, "deployment_id")?,
        agent_id: int(row, "agent_id")?,
        batch: int(row, "batch")?,
        segment: int(row, "segment")?,
        kind: JobKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("job kind {kind:?}")))?,
        state: JobState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("job state {state:?}")))?,
        attempt: int(row, "attempt")?,
        lease_owner: opt_text(row, "lease_owner")?,
        lease_expires_at: opt_time(row, "lease_expires_at")?,
        result: opt_text(row, "result")?
            .map(|result| serde_json::from_str(&result))
            .transpose()?,
        started_at: opt_time(row, "started_at")?,
        created_at: time(row, "created_at")?,
        updated_at: time(row, "updated_at")?,
    })
}

/// The lease owner of `attempt` of a job of agent `agent_id`.
fn owner(agent_id: i64, attempt: i64) -> String {
    format!("agent:{agent_id}:{attempt}")
}

/// Job `id` read inside `tx`; on PostgreSQL `FOR UPDATE` when `lock`.
async fn job_in(tx: &mut Tx, backend: Backend, id: i64, lock: bool) -> Result<JobRecord> {
    let lock = if lock && backend == Backend::Postgres {
        " FOR UPDATE"
    } else {
        ""
    };
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM jobs WHERE id = $1{lock}"
    )))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("there is no job {id}")))?;
    job(&row)
}

/// How many agents one statement of [`Store::create_jobs`] covers: far
/// below the bound parameters either database allows.
const SET_CHUNK: usize = 500;

/// `$first, $first+1, …`: `count` numbered parameters.
fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The row-locking clause that lets concurrent claimers pass each other.
fn skip_locked(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "",
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
    }
}

impl Store {
    /// Creates a pending job of `kind` for each of `agent_ids` in `batch` of
    /// deployment `deployment_id`, and returns them in the order of
    /// `agent_ids`. A job that exists already (same deployment, agent and
    /// kind) is returned as it is, so creating twice creates once. Every
    /// agent must be a live agent of the deployment's environment.
    pub async fn create_jobs(
        &self,
        deployment_id: i64,
        batch: i64,
        agent_ids: &[i64],
        kind: JobKind,
    ) -> Result<Vec<JobRecord>> {
        let mut tx = self.write().await?;
        let environment_id = int(
            &sqlx::query("SELECT environment_id FROM deployments WHERE id = $1")
                .bind(deployment_id)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| {
                    StoreError::NotFound(format!("there is no deployment {deployment_id}"))
                })?,
            "environment_id",
        )?;
        let stamp = now();
        // Rows are inserted in agent order, and all of them before the audit
        // head is locked, so concurrent creations cannot wait on each other
        // in a circle. Each statement covers a chunk of agents, not one.
        let mut ordered = agent_ids.to_vec();
        ordered.sort_unstable();
        ordered.dedup();
        let mut created: Vec<(i64, i64)> = Vec::new();
        for chunk in ordered.chunks(SET_CHUNK) {
            let agents = sqlx::query(AssertSqlSafe(format!(
                "SELECT id, environment_id, revoked_at FROM agents WHERE id IN ({})",
                placeholders(1, chunk.len())
            )));
            let agents = chunk
                .iter()
                .fold(agents, |query, id| query.bind(*id))
                .fetch_all(&mut *tx)
                .await?;
            let mut found = std::collections::HashMap::with_capacity(agents.len());
            for agent in &agents {
                found.insert(
                    int(agent, "id")?,
                    (
                        int(agent, "environment_id")?,
                        opt_text(agent, "revoked_at")?.is_some(),
                    ),
                );
            }
            for &agent_id in chunk {
                match found.get(&agent_id) {
                    None => {
                        return Err(StoreError::NotFound(format!(
                            "there is no agent {agent_id}"
                        )));
                    }
                    Some(&(environment, _)) if environment != environment_id => {
                        return Err(StoreError::Invalid(format!(
                            "agent {agent_id} does not deploy into the environment of deployment {deployment_id}"
                        )));
                    }
                    Some((_, true)) => {
                        return Err(StoreError::Invalid(format!("agent {agent_id} is revoked")));
                    }
                    Some(_) => {}
                }
            }
            let rows: Vec<String> = (0..chunk.len())
                .map(|i| format!("($1, ${}, $2, $3, 'pending', $4, $4)", i + 5))
                .collect();
            let insert = sqlx::query(AssertSqlSafe(format!(
                "INSERT INTO jobs (deployment_id, agent_id, batch, kind, state, created_at, updated_at) \
                 VALUES {} ON CONFLICT (deployment_id, agent_id, kind) DO NOTHING RETURNING id, agent_id",
                rows.join(", ")
            )))
            .bind(deployment_id)
            .bind(batch)
            .bind(kind.as_str())
            .bind(&stamp);
            for row in chunk
                .iter()
                .fold(insert, |query, id| query.bind(*id))
                .fetch_all(&mut *tx)
                .await?
            {
                created.push((int(&row, "agent_id")?, int(&row, "id")?));
            }
        }
        // Audited in agent order, whatever order the database returned.
        created.sort_unstable();
        let mut events = Events::default();
        for (agent_id, id) in created {
            let details = json!({ "after": { "deployment": deployment_id, "agent": agent_id,
                "batch": batch, "kind": kind.as_str(), "state": JobState::Pending.as_str() } });
            events.push("system", "job.create", &format!("job:{id}"), details);
        }
        events.append(&mut tx, self.backend()).await?;
        let mut by_agent = std::collections::HashMap::with_capacity(ordered.len());
        for chunk in ordered.chunks(SET_CHUNK) {
            let read = sqlx::query(AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM jobs WHERE deployment_id = $1 AND kind = $2 AND agent_id IN ({})",
                placeholders(3, chunk.len())
            )))
            .bind(deployment_id)
            .bind(kind.as_str());
            for row in chunk
                .iter()
                .fold(read, |query, id| query.bind(*id))
                .fetch_all(&mut *tx)
                .await?
            {
                let job = job(&row)?;
                by_agent.insert(job.agent_id, job);
            }
        }
        let jobs = agent_ids
            .iter()
            .map(|agent_id| {
                by_agent.get(agent_id).cloned().ok_or_else(|| {
                    StoreError::Corrupt(format!(
                        "the job of agent {agent_id} in deployment {deployment_id} was not written"
                    ))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        tx.commit().await?;
        Ok(jobs)
    }

    /// Whether agent `agent_id` has a pending job (a read: cheaper than a
    /// claim that finds nothing).
    pub async fn has_pending_job(&self, agent_id: i64) -> Result<bool> {
        let row = sqlx::query(
            "SELECT 1 AS found FROM jobs WHERE agent_id = $1 AND state = 'pending' LIMIT 1",
        )
        .bind(agent_id)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.is_some())
    }

    /// The agents that have pending jobs.
    pub async fn agents_with_pending_jobs(&self) -> Result<Vec<i64>> {
        let rows = sqlx::query("SELECT DISTINCT agent_id FROM jobs WHERE state = 'pending'")
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(|row| int(row, "agent_id")).collect()
    }

    /// Claims agent `agent_id`'s oldest pending job, if it has one: the job
    /// becomes `running` under a new attempt whose lease runs until
    /// `now + lease`. Concurrent claims never return the same job.
    pub async fn claim_job(
        &self,
        agent_id: i64,
        lease: chrono::Duration,
        now: DateTime<Utc>,
    ) -> Result<Option<JobRecord>> {
        match self
            .in_group(Write::Claim {
                agent_id,
                lease,
                now,
            })
            .await?
        {
            Written::Claimed(job) => Ok(job),
            other => Err(other.mismatch()),
        }
    }

    /// Records that `attempt` of job `id` starts running: its agent says so
    /// before it runs anything. `false` when the attempt no longer holds the
    /// job: the agent must not run it. Saying it again answers `true`.
    pub async fn start_job(&self, id: i64, attempt: i64, now: DateTime<Utc>) -> Result<bool> {
        match self.in_group(Write::Start { id, attempt, now }).await? {
            Written::Started(started) => Ok(started),
            other => Err(other.mismatch()),
        }
    }

    /// Extends the lease of job `id` to `now + lease`, only while it is
    /// running under `attempt`. `false` tells the agent it lost the job.
    pub async fn heartbeat_job(
        &self,
        id: i64,
        attempt: i64,
        lease: chrono::Duration,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE jobs SET lease_expires_at = $1, updated_at = $2 \
             WHERE id = $3 AND attempt = $4 AND state = 'running'",
        )
        .bind(format_time(now + lease))
        .bind(format_time(now))
        .bind(id)
        .bind(attempt)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records the outcome `attempt` reports for job `id`: `succeeded` or
    /// failed, with `result` (exit codes and the like). Only an attempt that
    /// still holds the running job finishes it; a repeated report of the same
    /// outcome is [`FinishOutcome::AlreadyDone`], a report from an attempt
    /// that lost the job is [`FinishOutcome::Stale`], and neither changes
    /// anything. The same attempt reporting the other outcome afterwards is a
    /// [`StoreError::Conflict`].
    pub async fn finish_job(
        &self,
        id: i64,
        attempt: i64,
        succeeded: bool,
        result: &Value,
        now: DateTime<Utc>,
    ) -> Result<FinishOutcome> {
        self.finish_job_logged(id, attempt, succeeded, result, &[], now)
            .await
    }

    /// [`Store::finish_job`] with the last `lines` of the attempt's log
    /// (stored as [`Store::append_logs`] stores them) in the same
    /// transaction: the log is whole when the job is seen finished.
    pub async fn finish_job_logged(
        &self,
        id: i64,
        attempt: i64,
        succeeded: bool,
        result: &Value,
        lines: &[NewLogLine],
        now: DateTime<Utc>,
    ) -> Result<FinishOutcome> {
        at_most_max(lines)?;
        let write = Write::Finish {
            id,
            attempt,
            succeeded,
            result: result.clone(),
            lines: lines.to_vec(),
            now,
        };
        match self.in_group(write).await? {
            Written::Finished(outcome) => Ok(outcome),
            other => Err(other.mismatch()),
        }
    }

    /// Fails every running job whose lease ran out before `now` (its agent
    /// stopped answering), recording [`LEASE_EXPIRED`], and returns them so
    /// the orchestrator can decide whether to retry. On PostgreSQL jobs
    /// another transaction holds are skipped (they are being reported).
    pub async fn expire_jobs(&self, now: DateTime<Utc>) -> Result<Vec<JobRecord>> {
        let mut tx = self.write().await?;
        let stamp = format_time(now);
        let reason = json!({ "reason": LEASE_EXPIRED });
        // Each statement takes its rows before the audit head is locked, so
        // writers always lock jobs first and the head last. A job its agent
        // never started goes back to pending: nothing of it ran.
        let requeued = sqlx::query(AssertSqlSafe(format!(
            "UPDATE jobs SET state = 'pending', lease_owner = NULL, lease_expires_at = NULL, \
             updated_at = $1 WHERE state = 'running' AND started_at IS NULL AND id IN \
             (SELECT id FROM jobs WHERE state = 'running' AND started_at IS NULL \
             AND lease_expires_at < $1 ORDER BY id{}) RETURNING {COLUMNS}",
            skip_locked(self.backend())
        )))
        .bind(&stamp)
        .fetch_all(&mut *tx)
        .await?;
        let rows = sqlx::query(AssertSqlSafe(format!(
            "UPDATE jobs SET state = 'failed', result = $1, lease_owner = NULL, updated_at = $2 \
             WHERE state = 'running' AND id IN (SELECT id FROM jobs \
             WHERE state = 'running' AND lease_expires_at < $2 ORDER BY id{}) \
             RETURNING {COLUMNS}",
            skip_locked(self.backend())
        )))
        .bind(reason.to_string())
        .bind(&stamp)
        .fetch_all(&mut *tx)
        .await?;
        let mut requeued = requeued.iter().map(job).collect::<Result<Vec<_>>>()?;
        requeued.sort_by_key(|job| job.id);
        for job in &requeued {
            let details = json!({ "before": { "state": JobState::Running.as_str(),
                    "lease_owner": owner(job.agent_id, job.attempt) },
                "after": { "state": JobState::Pending.as_str(), "reason": NEVER_STARTED } });
            append(
                &mut tx,
                self.backend(),
                "system",
                "job.requeue",
                &format!("job:{}", job.id),
                details,
            )
            .await?;
        }
        let mut expired = rows.iter().map(job).collect::<Result<Vec<_>>>()?;
        expired.sort_by_key(|job| job.id);
        for job in &expired {
            let details = json!({ "before": { "state": JobState::Running.as_str(),
                    "lease_owner": owner(job.agent_id, job.attempt) },
                "after": { "state": JobState::Failed.as_str(), "attempt": job.attempt, "result": reason } });
            append(
                &mut tx,
                self.backend(),
                "system",
                "job.failed",
                &format!("job:{}", job.id),
                details,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(expired)
    }

    /// Fails every pending job created before `before` whose agent has not
    /// been seen since then either (it went away after it was chosen as a
    /// target), recording [`NOT_CLAIMED`], so its deployment goes on to its
    /// halt-or-continue decision instead of waiting for it forever.
    pub async fn fail_unclaimed_jobs(&self, before: DateTime<Utc>) -> Result<Vec<JobRecord>> {
        let mut tx = self.write().await?;
        let stamp = format_time(before);
        let reason = json!({ "reason": NOT_CLAIMED });
        let rows = sqlx::query(AssertSqlSafe(format!(
            "UPDATE jobs SET state = 'failed', result = $1, updated_at = $2 \
             WHERE state = 'pending' AND id IN (SELECT j.id FROM jobs j \
             JOIN agents a ON a.id = j.agent_id WHERE j.state = 'pending' \
             AND j.created_at < $3 AND (a.last_seen_at IS NULL OR a.last_seen_at < $3) \
             ORDER BY j.id{}) RETURNING {COLUMNS}",
            match self.backend() {
                Backend::Sqlite => "",
                // Only the jobs are locked: agents keep being touched.
                Backend::Postgres => " FOR UPDATE OF j SKIP LOCKED",
            }
        )))
        .bind(reason.to_string())
        .bind(now())
        .bind(&stamp)
        .fetch_all(&mut *tx)
        .await?;
        let mut failed = rows.iter().map(job).collect::<Result<Vec<_>>>()?;
        failed.sort_by_key(|job| job.id);
        for job in &failed {
            let details = json!({ "before": { "state": JobState::Pending.as_str() },
                "after": { "state": JobState::Failed.as_str(), "result": reason } });
            append(
                &mut tx,
                self.backend(),
                "system",
                "job.failed",
                &format!("job:{}", job.id),
                details,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(failed)
    }

    /// Puts failed job `id` back to pending so its agent claims it again
    /// (as the next attempt). Retrying a job that is pending already changes
    /// nothing; a running or succeeded job cannot be retried.
    pub async fn retry_job(&self, id: i64) -> Result<JobRecord> {
        let mut tx = self.write().await?;
        // Locked, so that concurrent retries retry once.
        let current = job_in(&mut tx, self.backend(), id, true).await?;
        match current.state {
            JobState::Pending => return Store::abandon(tx, Ok(current)).await,
            JobState::Failed => {}
            JobState::Running | JobState::Succeeded => {
                let error = StoreError::Invalid(format!(
                    "job {id} is {}: only a failed job is retried",
                    current.state
                ));
                return Store::abandon(tx, Err(error)).await;
            }
        }
        let row = sqlx::query(AssertSqlSafe(format!(
            "UPDATE jobs SET state = 'pending', lease_owner = NULL, lease_expires_at = NULL, \
             result = NULL, updated_at = $1 WHERE id = $2 AND state = 'failed' RETURNING {COLUMNS}"
        )))
        .bind(now())
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        let retried = job(&row)?;
        let details = json!({ "before": { "state": JobState::Failed.as_str(), "attempt": current.attempt,
                "result": current.result },
            "after": { "state": JobState::Pending.as_str() } });
        append(
            &mut tx,
            self.backend(),
            "system",
            "job.retry",
            &format!("job:{id}"),
            details,
        )
        .await?;
        tx.commit().await?;
        Ok(retried)
    }

    /// The jobs of deployment `deployment_id`, in the order they were created.
    pub async fn jobs(&self, deployment_id: i64) -> Result<Vec<JobRecord>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM jobs WHERE deployment_id = $1 ORDER BY id"
        )))
        .bind(deployment_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(job).collect()
    }

    /// The jobs of deployment `deployment_id`, oldest first, each with the
    /// name of its agent (one read, not the jobs and then every agent).
    pub async fn jobs_with_targets(&self, deployment_id: i64) -> Result<Vec<(JobRecord, String)>> {
        let columns: Vec<String> = COLUMNS
            .split(", ")
            .map(|c| format!("j.{}", c.trim()))
            .collect();
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {}, a.name AS target FROM jobs j JOIN agents a ON a.id = j.agent_id \
             WHERE j.deployment_id = $1 ORDER BY j.id",
            columns.join(", ")
        )))
        .bind(deployment_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| Ok((job(row)?, text(row, "target")?)))
            .collect()
    }

    /// The jobs of `kind` of deployment `deployment_id` that the
    /// orchestrator judges it by: those of batch `batch` and every failed
    /// one, oldest first (not the whole deployment's, pass after pass).
    pub async fn jobs_to_judge(
        &self,
        deployment_id: i64,
        kind: JobKind,
        batch: i64,
    ) -> Result<Vec<JobRecord>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM jobs WHERE deployment_id = $1 AND kind = $2 \
             AND (batch = $3 OR state = 'failed') ORDER BY id"
        )))
        .bind(deployment_id)
        .bind(kind.as_str())
        .bind(batch)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(job).collect()
    }

    /// Job `id` if it is `agent_id`'s: an agent never learns of another's jobs.
    pub async fn agent_job(&self, agent_id: i64, id: i64) -> Result<Option<JobRecord>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM jobs WHERE id = $1 AND agent_id = $2"
        )))
        .bind(id)
        .bind(agent_id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(job).transpose()
    }
}

/// [`Store::claim_job`] inside `tx`, its audit event added to `events`.
pub(crate) async fn claim_in(
    tx: &mut Tx,
    backend: Backend,
    events: &mut Events,
    agent_id: i64,
    lease: chrono::Duration,
    now: DateTime<Utc>,
) -> Result<Option<JobRecord>> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "UPDATE jobs SET state = 'running', attempt = attempt + 1, \
         lease_owner = 'agent:' || CAST(agent_id AS TEXT) || ':' || CAST(attempt + 1 AS TEXT), \
         lease_expires_at = $2, started_at = NULL, updated_at = $3 \
         WHERE state = 'pending' AND id = (SELECT id FROM jobs \
         WHERE agent_id = $1 AND state = 'pending' ORDER BY id LIMIT 1{}) \
         RETURNING {COLUMNS}",
        skip_locked(backend)
    )))
    .bind(agent_id)
    .bind(format_time(now + lease))
    .bind(format_time(now))
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let claimed = job(&row)?;
    let details = json!({ "before": { "state": JobState::Pending.as_str() },
        "after": { "state": JobState::Running.as_str(), "attempt": claimed.attempt,
            "lease_owner": claimed.lease_owner, "lease_expires_at": claimed.lease_expires_at } });
    events.push(
        &format!("agent:{agent_id}"),
        "job.claim",
        &format!("job:{}", claimed.id),
        details,
    );
    Ok(Some(claimed))
}

/// [`Store::start_job`] inside `tx`, its audit event added to `events`.
pub(crate) async fn start_in(
    tx: &mut Tx,
    backend: Backend,
    events: &mut Events,
    id: i64,
    attempt: i64,
    now: DateTime<Utc>,
) -> Result<bool> {
    // The guarded update is the whole change when the attempt holds the job;
    // only otherwise is the job read to tell a repeat from a lost lease.
    let started = sqlx::query(
        "UPDATE jobs SET started_at = $1, updated_at = $1 \
         WHERE id = $2 AND attempt = $3 AND state = 'running' AND started_at IS NULL \
         RETURNING agent_id",
    )
    .bind(format_time(now))
    .bind(id)
    .bind(attempt)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(started) = started else {
        let current = job_in(tx, backend, id, false).await?;
        return Ok(current.attempt == attempt
            && current.state == JobState::Running
            && current.started_at.is_some());
    };
    let details = json!({ "after": { "attempt": attempt, "started_at": format_time(now) } });
    events.push(
        &owner(int(&started, "agent_id")?, attempt),
        "job.start",
        &format!("job:{id}"),
        details,
    );
    Ok(true)
}

/// [`Store::finish_job`] inside `tx`, its audit event added to `events`.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn finish_in(
    tx: &mut Tx,
    backend: Backend,
    events: &mut Events,
    id: i64,
    attempt: i64,
    succeeded: bool,
    result: &Value,
    now: DateTime<Utc>,
) -> Result<FinishOutcome> {
    let to = if succeeded {
        JobState::Succeeded
    } else {
        JobState::Failed
    };
    let row = sqlx::query(AssertSqlSafe(format!(
        "UPDATE jobs SET state = $1, result = $2, updated_at = $3 \
         WHERE id = $4 AND attempt = $5 AND state = 'running' RETURNING {COLUMNS}"
    )))
    .bind(to.as_str())
    .bind(result.to_string())
    .bind(format_time(now))
    .bind(id)
    .bind(attempt)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = row else {
        let current = job_in(tx, backend, id, false).await?;
        // The attempt finished the job itself only if it still names the
        // lease owner: an expired lease clears it.
        let finished_by_this_attempt = current.attempt == attempt
            && matches!(current.state, JobState::Succeeded | JobState::Failed)
            && current.lease_owner.as_deref() == Some(&owner(current.agent_id, attempt));
        return if !finished_by_this_attempt {
            Ok(FinishOutcome::Stale(current))
        } else if current.state == to {
            Ok(FinishOutcome::AlreadyDone(current))
        } else {
            Err(StoreError::Conflict(format!(
                "attempt {attempt} of job {id} already reported {}",
                current.state
            )))
        };
    };
    let finished = job(&row)?;
    let details = json!({ "before": { "state": JobState::Running.as_str() },
        "after": { "state": to.as_str(), "attempt": attempt, "result": result } });
    events.push(
        &owner(finished.agent_id, attempt),
        &format!("job.{}", to.as_str()),
        &format!("job:{id}"),
        details,
    );
    // Whether the batch is over is asked once a group (`batch_over_in`).
    Ok(FinishOutcome::Finished {
        job: finished,
        batch_over: false,
    })
}

/// Whether no job of `kind` in batch `batch` of deployment `deployment_id`
/// is pending or running, inside `tx`.
pub(crate) async fn batch_over_in(
    tx: &mut Tx,
    deployment_id: i64,
    batch: i64,
    kind: JobKind,
) -> Result<bool> {
    let left = sqlx::query(
        "SELECT 1 AS found FROM jobs WHERE deployment_id = $1 AND batch = $2 AND kind = $3 \
         AND state IN ('pending', 'running') LIMIT 1",
    )
    .bind(deployment_id)
    .bind(batch)
    .bind(kind.as_str())
    .fetch_optional(&mut **tx)
    .await?;
    Ok(left.is_none())
}
