//! Deployment progress: what the orchestrator records while it drives a
//! deployment through its batches.
//!
//! Rules it keeps:
//! - every change is one transaction with its audit event, and is guarded in
//!   SQL by the state it expects (`WHERE status = …`, `WHERE batch = …`), so
//!   two replicas, or one that restarts after a crash, doing the same step
//!   change things once: the loser gets `false` and nothing changed;
//! - the jobs of a batch are created with [`Store::create_jobs`] right after
//!   the step that makes the batch current; creating them is idempotent, so
//!   the orchestrator repairs a crash between the two by creating them again;
//! - a rollback deployment is linked to the failed one by `rollback_of` (one
//!   at most, a unique index decides between replicas); when it succeeds the
//!   failed one becomes `rolled_back` in the same transaction.

use chrono::{DateTime, Utc};
use ferry_core::DeploymentStatus;
use ferry_core::time::format_time;
use serde_json::json;
use sqlx::AssertSqlSafe;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::audit::append;
use crate::deployments::DeploymentRecord;
use crate::freshness::Topic;
use crate::jobs::JobKind;
use crate::rows::{int, opt_text, opt_time, text, time};
use crate::{Backend, Result, Store, StoreError, Tx};

/// A deployment with the orchestrator's progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// The deployment.
    pub deployment: DeploymentRecord,
    /// The batches (agent ids), fixed when it started; `None` before.
    pub plan: Option<Vec<Vec<i64>>>,
    /// The index of the current batch; `None` before it started.
    pub batch: Option<i64>,
    /// The current batch is held back until then (a pause or verification).
    pub next_batch_at: Option<DateTime<Utc>>,
    /// The failed deployment this one rolls back.
    pub rollback_of: Option<i64>,
    /// Why it waits, halted or failed.
    pub reason: Option<String>,
    /// Who asked to cancel it while it ran: it stops after its current batch.
    pub cancel_requested_by: Option<String>,
    /// What it waits for, while a person must decide.
    pub pause: Option<ferry_core::process::Pause>,
    /// The segment of the steps the current batch runs (see
    /// `ferry_core::process::ManualStep`).
    pub segment: i64,
    /// How many failed targets people chose to go on without.
    pub accepted_failures: i64,
}

impl Progress {
    /// The kind of job this deployment runs on its targets.
    pub fn job_kind(&self) -> JobKind {
        if self.rollback_of.is_some() {
            JobKind::Rollback
        } else {
            JobKind::Deploy
        }
    }

    /// Whether it ran and now waits for a person.
    pub fn is_paused(&self) -> bool {
        self.deployment.status == DeploymentStatus::Waiting && self.plan.is_some()
    }

    /// The agent ids of the current batch (empty before it started).
    pub fn current_batch(&self) -> &[i64] {
        match (&self.plan, self.batch) {
            (Some(plan), Some(batch)) => usize::try_from(batch)
                .ok()
                .and_then(|batch| plan.get(batch))
                .map_or(&[], Vec::as_slice),
            _ => &[],
        }
    }
}

const SELECT: &str = "SELECT d.id, s.name AS service, r.version, e.name AS environment, d.status, \
     d.created_by, d.created_at, d.updated_at, d.scheduled_at, d.emergency_reason, d.url, \
     d.plan, d.batch, d.next_batch_at, d.rollback_of, d.reason, d.cancel_requested_by, \
     d.pause, d.segment, d.accepted_failures \
     FROM deployments d JOIN releases r ON r.id = d.release_id \
     JOIN services s ON s.id = r.service_id JOIN environments e ON e.id = d.environment_id";

fn status(text: &str) -> Result<DeploymentStatus> {
    DeploymentStatus::parse(text)
        .ok_or_else(|| StoreError::Corrupt(format!("deployment status {text:?}")))
}

fn opt_int(row: &AnyRow, column: &str) -> Result<Option<i64>> {
    Ok(row.try_get::<Option<i64>, _>(column)?)
}

fn plan_of(row: &AnyRow) -> Result<Option<Vec<Vec<i64>>>> {
    opt_text(row, "plan")?
        .map(|plan| {
            serde_json::from_str(&plan).map_err(|e| StoreError::Corrupt(format!("plan: {e}")))
        })
        .transpose()
}

fn progress(row: &AnyRow) -> Result<Progress> {
    Ok(Progress {
        deployment: DeploymentRecord {
            id: int(row, "id")?,
            service: text(row, "service")?,
            version: text(row, "version")?,
            environment: text(row, "environment")?,
            status: status(&text(row, "status")?)?,
            created_by: text(row, "created_by")?,
            created_at: time(row, "created_at")?,
            updated_at: time(row, "updated_at")?,
            scheduled_at: opt_time(row, "scheduled_at")?,
            emergency_reason: opt_text(row, "emergency_reason")?,
            url: opt_text(row, "url")?,
            reason: opt_text(row, "reason")?,
            rollback_of: opt_int(row, "rollback_of")?,
        },
        plan: plan_of(row)?,
        batch: opt_int(row, "batch")?,
        next_batch_at: opt_time(row, "next_batch_at")?,
        rollback_of: opt_int(row, "rollback_of")?,
        reason: opt_text(row, "reason")?,
        cancel_requested_by: opt_text(row, "cancel_requested_by")?,
        pause: opt_text(row, "pause")?
            .map(|pause| {
                serde_json::from_str(&pause).map_err(|e| StoreError::Corrupt(format!("pause: {e}")))
            })
            .transpose()?,
        segment: int(row, "segment")?,
        accepted_failures: int(row, "accepted_failures")?,
    })
}

/// Deployment `id`'s own columns inside `tx`, locked on PostgreSQL.
pub(crate) async fn locked(tx: &mut Tx, backend: Backend, id: i64) -> Result<AnyRow> {
    let lock = match backend {
        Backend::Sqlite => "",
        Backend::Postgres => " FOR UPDATE",
    };
    sqlx::query(AssertSqlSafe(format!(
        "SELECT id, status, plan, batch, rollback_of, reason, release_id, environment_id, \
         cancel_requested_by, pause, segment \
         FROM deployments WHERE id = $1{lock}"
    )))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("there is no deployment {id}")))
}

/// Release `version` of the service of deployment `id` (whose own columns
/// are `row`), with its id and the service's name.
async fn sibling_release(
    tx: &mut Tx,
    row: &AnyRow,
    version: &semver::Version,
    id: i64,
) -> Result<AnyRow> {
    sqlx::query(
        "SELECT r.id, s.name AS service FROM releases r JOIN services s ON s.id = r.service_id \
         WHERE r.service_id = (SELECT service_id FROM releases WHERE id = $1) \
         AND r.version = $2",
    )
    .bind(int(row, "release_id")?)
    .bind(version.to_string())
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(|| {
        StoreError::NotFound(format!(
            "there is no release {version} of the service of deployment {id}"
        ))
    })
}

fn usize_index(batch: i64) -> usize {
    usize::try_from(batch).unwrap_or(usize::MAX)
}

/// What cancelling a deployment did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CancelOutcome {
    /// It had not started: it is cancelled.
    Cancelled,
    /// It runs: it stops after its current batch.
    Requested,
    /// Someone asked before: it stops after its current batch.
    AlreadyRequested {
        /// Who asked.
        by: String,
    },
}

/// How long a failed deployment is reconsidered for its automatic rollback
/// (so a crash between halting and rolling back loses nothing).
pub const ROLLBACK_GRACE: chrono::Duration = chrono::Duration::hours(1);

/// Which deployments the orchestrator looks at (`$1` is now, `$2` now
/// less [`ROLLBACK_GRACE`]); see [`Store::deployments_to_drive`].
pub(crate) const DRIVABLE: &str = "((d.status IN ('queued', 'waiting') \
     AND (d.scheduled_at IS NULL OR d.scheduled_at <= $1)) \
     OR d.status = 'running' \
     OR (d.status = 'failed' AND d.rollback_of IS NULL AND d.plan IS NOT NULL \
     AND d.updated_at >= $2 \
     AND NOT EXISTS (SELECT 1 FROM deployments x WHERE x.rollback_of = d.id)))";

impl Store {
    /// Deployment `id` with its progress.
    pub async fn progress(&self, id: i64) -> Result<Progress> {
        let row = sqlx::query(AssertSqlSafe(format!("{SELECT} WHERE d.id = $1")))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("there is no deployment {id}")))?;
        progress(&row)
    }

    /// What the orchestrator has to look at, oldest first: queued and waiting
    /// deployments that are due (no `scheduled_at`, or at most `now`), running
    /// ones, and failed ones it started that have no rollback yet and failed
    /// less than [`ROLLBACK_GRACE`] ago.
    pub async fn deployments_to_drive(&self, now: DateTime<Utc>) -> Result<Vec<Progress>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "{SELECT} WHERE {DRIVABLE} ORDER BY d.id"
        )))
        .bind(format_time(now))
        .bind(format_time(now - ROLLBACK_GRACE))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(progress).collect()
    }

    /// Starts queued or waiting deployment `id` with `plan` (batches of agent
    /// ids): it becomes `running` at batch 0 and the jobs of batch 0 are
    /// created. `false` when it was not queued or waiting (started already,
    /// by this or another replica): nothing changed.
    pub async fn start_deployment(
        &self,
        id: i64,
        plan: &[Vec<i64>],
        now: DateTime<Utc>,
    ) -> Result<bool> {
        if plan.is_empty() || plan.iter().any(Vec::is_empty) {
            return Err(StoreError::Invalid(format!(
                "deployment {id} cannot start without targets in every batch"
            )));
        }
        let mut tx = self.write().await?;
        let row = locked(&mut tx, self.backend(), id).await?;
        let before = status(&text(&row, "status")?)?;
        if !matches!(before, DeploymentStatus::Queued | DeploymentStatus::Waiting) {
            return Ok(false);
        }
        let kind = if opt_int(&row, "rollback_of")?.is_some() {
            JobKind::Rollback
        } else {
            JobKind::Deploy
        };
        let plan_json = serde_json::to_string(plan)?;
        let done = sqlx::query(
            "UPDATE deployments SET status = 'running', plan = $1, batch = 0, \
             next_batch_at = NULL, reason = NULL, updated_at = $2 \
             WHERE id = $3 AND status IN ('queued', 'waiting') AND plan IS NULL",
        )
        .bind(&plan_json)
        .bind(format_time(now))
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        let details = json!({ "before": { "status": before },
            "after": { "status": DeploymentStatus::Running, "plan": plan, "batch": 0 } });
        append(
            &mut tx,
            self.backend(),
            "system",
            "deployment.start",
            &format!("deployment:{id}"),
            details,
        )
        .await?;
        self.commit(tx, &[Topic::Deployments]).await?;
        self.create_jobs(id, 0, &plan[0], kind).await?;
        Ok(true)
    }

    /// Moves running deployment `id` from batch `expected_batch` to the next
    /// one, held back until `next_at` when given (a pause). Without `next_at`
    /// the next batch's jobs are created at once; with it, the orchestrator
    /// creates them when the time has come. `false` when the deployment is not
    /// running at `expected_batch` (another replica moved it): nothing changed.
    pub async fn advance_batch(
        &self,
        id: i64,
        expected_batch: i64,
        next_at: Option<DateTime<Utc>>,
    ) -> Result<bool> {
        let mut tx = self.write().await?;
        let row = locked(&mut tx, self.backend(), id).await?;
        if status(&text(&row, "status")?)? != DeploymentStatus::Running
            || opt_int(&row, "batch")? != Some(expected_batch)
        {
            return Ok(false);
        }
        let plan = plan_of(&row)?.unwrap_or_default();
        let next = expected_batch + 1;
        let Some(agents) = plan.get(usize_index(next)).cloned() else {
            return Err(StoreError::Invalid(format!(
                "deployment {id} has no batch after batch {expected_batch}"
            )));
        };
        let kind = if opt_int(&row, "rollback_of")?.is_some() {
            JobKind::Rollback
        } else {
            JobKind::Deploy
        };
        let done = sqlx::query(
            "UPDATE deployments SET batch = $1, segment = 0, next_batch_at = $2, updated_at = $3 \
             WHERE id = $4 AND status = 'running' AND batch = $5",
        )
        .bind(next)
        .bind(next_at.map(format_time))
        .bind(format_time(Utc::now()))
        .bind(id)
        .bind(expected_batch)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        let details = json!({ "before": { "batch": expected_batch },
            "after": { "batch": next, "targets": agents, "next_batch_at": next_at } });
        append(
            &mut tx,
            self.backend(),
            "system",
            "deployment.batch",
            &format!("deployment:{id}"),
            details,
        )
        .await?;
        self.commit(tx, &[Topic::Deployments]).await?;
        if next_at.is_none() {
            self.create_jobs(id, next, &agents, kind).await?;
        }
        Ok(true)
    }

    /// Holds queued or waiting deployment `id` as `waiting` because of
    /// `reason`. `false` when it already waits for that reason, or is no
    /// longer queued or waiting: nothing changed.
    pub async fn hold_deployment(&self, id: i64, reason: &str) -> Result<bool> {
        let mut tx = self.write().await?;
        let row = locked(&mut tx, self.backend(), id).await?;
        let before = status(&text(&row, "status")?)?;
        let before_reason = opt_text(&row, "reason")?;
        let unchanged =
            before == DeploymentStatus::Waiting && before_reason.as_deref() == Some(reason);
        if unchanged || !matches!(before, DeploymentStatus::Queued | DeploymentStatus::Waiting) {
            return Store::abandon(tx, Ok(false)).await;
        }
        let done = sqlx::query(
            "UPDATE deployments SET status = 'waiting', reason = $1, updated_at = $2 \
             WHERE id = $3 AND status = $4 AND (reason IS NULL OR reason <> $1)",
        )
        .bind(reason)
        .bind(format_time(Utc::now()))
        .bind(id)
        .bind(before.as_str())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        let details = json!({ "before": { "status": before, "reason": before_reason },
            "after": { "status": DeploymentStatus::Waiting, "reason": reason } });
        append(
            &mut tx,
            self.backend(),
            "system",
            "deployment.wait",
            &format!("deployment:{id}"),
            details,
        )
        .await?;
        self.commit(tx, &[Topic::Deployments]).await?;
        Ok(true)
    }

    /// Ends deployment `id`: `succeeded` (from running through `verifying`,
    /// or from verifying), `failed` or `cancelled` with `reason`, by the
    /// state machine.
    /// When a rollback deployment succeeds, the failed deployment it undoes
    /// becomes `rolled_back` in the same transaction, as do the reviews its
    /// end calls for ([`crate::reviews`]). `false` when it already has that
    /// status (a repeat): nothing changed.
    pub async fn finish_deployment(
        &self,
        id: i64,
        to: DeploymentStatus,
        reason: Option<&str>,
    ) -> Result<bool> {
        if !matches!(
            to,
            DeploymentStatus::Succeeded | DeploymentStatus::Failed | DeploymentStatus::Cancelled
        ) {
            return Err(StoreError::Invalid(format!(
                "a deployment finishes succeeded, failed or cancelled, not {to}"
            )));
        }
        let mut tx = self.write().await?;
        let row = locked(&mut tx, self.backend(), id).await?;
        let before = status(&text(&row, "status")?)?;
        if before == to {
            return Ok(false);
        }
        let path: &[DeploymentStatus] =
            if before == DeploymentStatus::Running && to == DeploymentStatus::Succeeded {
                &[DeploymentStatus::Verifying, DeploymentStatus::Succeeded]
            } else {
                &[to]
            };
        let mut from = before;
        for &step in path {
            from = from
                .transition(step)
                .map_err(|illegal| StoreError::Invalid(illegal.to_string()))?;
        }
        let stamp = format_time(Utc::now());
        let done = sqlx::query(
            "UPDATE deployments SET status = $1, reason = COALESCE($2, reason), \
             next_batch_at = NULL, updated_at = $3 WHERE id = $4 AND status = $5",
        )
        .bind(to.as_str())
        .bind(reason)
        .bind(&stamp)
        .bind(id)
        .bind(before.as_str())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        // Every row is changed before the audit head is locked.
        let mut restored = None;
        if let (DeploymentStatus::Succeeded, Some(original)) = (to, opt_int(&row, "rollback_of")?) {
            let done = sqlx::query(
                "UPDATE deployments SET status = 'rolled_back', updated_at = $1 \
                 WHERE id = $2 AND status = 'failed'",
            )
            .bind(&stamp)
            .bind(original)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 1 {
                restored = Some(original);
            }
        }
        let reviews = crate::reviews::after_end(&mut tx, id).await?;
        let mut from = before;
        for &step in path {
            let details = json!({ "before": { "status": from },
                "after": { "status": step, "reason": reason } });
            append(
                &mut tx,
                self.backend(),
                "system",
                "deployment.status",
                &format!("deployment:{id}"),
                details,
            )
            .await?;
            from = step;
        }
        if let Some(original) = restored {
            let details = json!({ "before": { "status": DeploymentStatus::Failed },
                "after": { "status": DeploymentStatus::RolledBack, "rollback": id } });
            append(
                &mut tx,
                self.backend(),
                "system",
                "deployment.status",
                &format!("deployment:{original}"),
                details,
            )
            .await?;
        }
        crate::reviews::append_opened(&mut tx, self.backend(), reviews).await?;
        self.commit(tx, &[Topic::Deployments]).await?;
        Ok(true)
    }

    /// Cancels deployment `id` for `actor`. A queued or waiting deployment is
    /// cancelled at once; a running one is marked, and the orchestrator
    /// cancels it once its current batch has finished (a batch is never cut
    /// in half, and a target is never left half-deployed). A deployment that
    /// ended, or is verifying its last batch, cannot be cancelled.
    pub async fn cancel_deployment(&self, actor: &str, id: i64) -> Result<CancelOutcome> {
        let mut tx = self.write().await?;
        let row = locked(&mut tx, self.backend(), id).await?;
        let before = status(&text(&row, "status")?)?;
        let stamp = format_time(Utc::now());
        // A deployment no agent drives (no plan of batches: one reported by
        // another tool) has no batch to finish: it ends at once too.
        let driven = opt_text(&row, "plan")?.is_some();
        match before {
            DeploymentStatus::Running | DeploymentStatus::Verifying if driven => {
                if let Some(by) = opt_text(&row, "cancel_requested_by")? {
                    return Store::abandon(tx, Ok(CancelOutcome::AlreadyRequested { by })).await;
                }
                sqlx::query(
                    "UPDATE deployments SET cancel_requested_by = $1, updated_at = $2 \
                     WHERE id = $3 AND status = $4",
                )
                .bind(actor)
                .bind(&stamp)
                .bind(id)
                .bind(before.as_str())
                .execute(&mut *tx)
                .await?;
                let details = json!({ "after": { "cancel_requested_by": actor } });
                append(
                    &mut tx,
                    self.backend(),
                    actor,
                    "deployment.cancel",
                    &format!("deployment:{id}"),
                    details,
                )
                .await?;
                self.commit(tx, &[Topic::Deployments]).await?;
                Ok(CancelOutcome::Requested)
            }
            DeploymentStatus::Queued
            | DeploymentStatus::Waiting
            | DeploymentStatus::Running
            | DeploymentStatus::Verifying => {
                let reason = format!("cancelled by {actor}");
                let done = sqlx::query(
                    "UPDATE deployments SET status = 'cancelled', reason = $1, \
                     cancel_requested_by = $2, updated_at = $3 WHERE id = $4 AND status = $5",
                )
                .bind(&reason)
                .bind(actor)
                .bind(&stamp)
                .bind(id)
                .bind(before.as_str())
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() != 1 {
                    return Err(StoreError::Conflict(format!(
                        "deployment {id} changed while it was being cancelled; try again"
                    )));
                }
                let reviews = crate::reviews::after_end(&mut tx, id).await?;
                let details = json!({ "before": { "status": before },
                    "after": { "status": DeploymentStatus::Cancelled, "reason": reason } });
                append(
                    &mut tx,
                    self.backend(),
                    actor,
                    "deployment.status",
                    &format!("deployment:{id}"),
                    details,
                )
                .await?;
                crate::reviews::append_opened(&mut tx, self.backend(), reviews).await?;
                self.commit(tx, &[Topic::Deployments]).await?;
                Ok(CancelOutcome::Cancelled)
            }
            ended => {
                let error = StoreError::Conflict(format!(
                    "deployment {id} is {ended}: only a queued, waiting or running deployment can be cancelled"
                ));
                Store::abandon(tx, Err(error)).await
            }
        }
    }

    /// The version of the service of deployment `id` that last succeeded in
    /// its environment before it (another release than its own), if any.
    pub async fn last_success_before(&self, id: i64) -> Result<Option<semver::Version>> {
        let row = sqlx::query(
            "SELECT r.version FROM deployments d JOIN releases r ON r.id = d.release_id \
             JOIN deployments f ON f.id = $1 JOIN releases fr ON fr.id = f.release_id \
             WHERE d.environment_id = f.environment_id AND r.service_id = fr.service_id \
             AND d.status = 'succeeded' AND d.id < f.id AND d.release_id <> f.release_id \
             ORDER BY d.id DESC LIMIT 1",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.map(|row| {
            let version = text(&row, "version")?;
            semver::Version::parse(&version)
                .map_err(|e| StoreError::Corrupt(format!("version {version:?}: {e}")))
        })
        .transpose()
    }

    /// Creates, for `actor`, a rollback of ended deployment `undone_id` to
    /// `version` of the same service: a queued deployment linked by
    /// `rollback_of`, which the orchestrator starts on the environment's
    /// targets like any other (without judging the gates: the version passed
    /// them there before). A deployment has one rollback at most: a second
    /// is a [`StoreError::Conflict`] naming the first.
    ///
    /// The release of the deployment undone is marked bad in its
    /// environment, for `mark_reason` (see [`crate::marks`]).
    pub async fn request_rollback(
        &self,
        actor: &str,
        undone_id: i64,
        version: &semver::Version,
        mark_reason: Option<&str>,
    ) -> Result<DeploymentRecord> {
        self.request_rollback_marked(actor, undone_id, version, mark_reason, true)
            .await
    }

    /// [`Store::request_rollback`], marking the release undone bad only
    /// when `mark_bad` (a train puts back the members that did nothing
    /// wrong without marking them).
    pub async fn request_rollback_marked(
        &self,
        actor: &str,
        undone_id: i64,
        version: &semver::Version,
        mark_reason: Option<&str>,
        mark_bad: bool,
    ) -> Result<DeploymentRecord> {
        let mut tx = self.write().await?;
        let row = locked(&mut tx, self.backend(), undone_id).await?;
        let before = status(&text(&row, "status")?)?;
        if !before.is_finished() {
            return Err(StoreError::Conflict(format!(
                "deployment {undone_id} is {before}: cancel it, or wait for it to end, before rolling it back"
            )));
        }
        if let Some(existing) = sqlx::query("SELECT id FROM deployments WHERE rollback_of = $1")
            .bind(undone_id)
            .fetch_optional(&mut *tx)
            .await?
        {
            return Err(StoreError::Conflict(format!(
                "deployment {undone_id} was rolled back already, by deployment {}",
                int(&existing, "id")?
            )));
        }
        let release = sibling_release(&mut tx, &row, version, undone_id).await?;
        let stamp = format_time(Utc::now());
        let reason = format!("rolls back deployment {undone_id}, asked by {actor}");
        let inserted = sqlx::query(
            "INSERT INTO deployments (release_id, service_id, environment_id, status, created_by, created_at, \
             updated_at, rollback_of, reason) VALUES ($1, (SELECT service_id FROM releases WHERE id = $1), $2, 'queued', $3, $4, $4, $5, $6) \
             ON CONFLICT (rollback_of) WHERE rollback_of IS NOT NULL DO NOTHING RETURNING id",
        )
        .bind(int(&release, "id")?)
        .bind(int(&row, "environment_id")?)
        .bind(actor)
        .bind(&stamp)
        .bind(undone_id)
        .bind(&reason)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| {
            StoreError::Conflict(format!("deployment {undone_id} was rolled back already"))
        })?;
        let id = int(&inserted, "id")?;
        let why = mark_reason
            .map(str::to_owned)
            .unwrap_or_else(|| format!("rolled back by {actor} (deployment {id})"));
        if mark_bad {
            crate::marks::after_rollback(&mut tx, self.backend(), actor, undone_id, &why).await?;
        }
        let service = text(&release, "service")?;
        let details = json!({ "after": { "release": format!("{service}@{version}"),
            "status": DeploymentStatus::Queued, "rollback_of": undone_id, "reason": reason } });
        append(
            &mut tx,
            self.backend(),
            actor,
            "deployment.create",
            &format!("deployment:{id}"),
            details,
        )
        .await?;
        self.commit(tx, &[Topic::Deployments]).await?;
        Ok(self.progress(id).await?.deployment)
    }

    /// Creates the rollback of failed deployment `failed_id`: a deployment of
    /// `version` of the same service into the same environment, linked by
    /// `rollback_of`, running at once in one batch of `agent_ids` with jobs
    /// of kind rollback. A failed deployment has one rollback at most: asking
    /// again returns the one that exists.
    pub async fn create_rollback(
        &self,
        failed_id: i64,
        version: &semver::Version,
        agent_ids: &[i64],
    ) -> Result<Progress> {
        if agent_ids.is_empty() {
            return Err(StoreError::Invalid(format!(
                "the rollback of deployment {failed_id} needs at least one target"
            )));
        }
        let mut tx = self.write().await?;
        let row = locked(&mut tx, self.backend(), failed_id).await?;
        if let Some(existing) = sqlx::query("SELECT id FROM deployments WHERE rollback_of = $1")
            .bind(failed_id)
            .fetch_optional(&mut *tx)
            .await?
        {
            drop(tx);
            return self.progress(int(&existing, "id")?).await;
        }
        let before = status(&text(&row, "status")?)?;
        if before != DeploymentStatus::Failed {
            return Err(StoreError::Invalid(format!(
                "deployment {failed_id} is {before}: only a failed deployment is rolled back"
            )));
        }
        let release = sibling_release(&mut tx, &row, version, failed_id).await?;
        let plan = vec![agent_ids.to_vec()];
        let stamp = format_time(Utc::now());
        let inserted = sqlx::query(
            "INSERT INTO deployments (release_id, service_id, environment_id, status, created_by, created_at, \
             updated_at, plan, batch, rollback_of, reason) \
             VALUES ($1, (SELECT service_id FROM releases WHERE id = $1), $2, 'running', 'system', $3, $3, $4, 0, $5, $6) \
             ON CONFLICT (rollback_of) WHERE rollback_of IS NOT NULL DO NOTHING RETURNING id",
        )
        .bind(int(&release, "id")?)
        .bind(int(&row, "environment_id")?)
        .bind(&stamp)
        .bind(serde_json::to_string(&plan)?)
        .bind(failed_id)
        .bind(format!("rolls back deployment {failed_id}"))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(inserted) = inserted else {
            drop(tx);
            let existing = sqlx::query("SELECT id FROM deployments WHERE rollback_of = $1")
                .bind(failed_id)
                .fetch_one(self.pool())
                .await?;
            return self.progress(int(&existing, "id")?).await;
        };
        let id = int(&inserted, "id")?;
        let why = match opt_text(&row, "reason")? {
            Some(halted) if !halted.is_empty() => {
                format!("rolled back automatically (deployment {id}): {halted}")
            }
            _ => format!("rolled back automatically (deployment {id})"),
        };
        crate::marks::after_rollback(
            &mut tx,
            self.backend(),
            ferry_core::lock::LOCKED_BY_FERRY,
            failed_id,
            &why,
        )
        .await?;
        let service = text(&release, "service")?;
        let details = json!({ "after": { "release": format!("{service}@{version}"),
            "status": DeploymentStatus::Running, "rollback_of": failed_id, "plan": plan, "batch": 0 } });
        append(
            &mut tx,
            self.backend(),
            "system",
            "deployment.create",
            &format!("deployment:{id}"),
            details,
        )
        .await?;
        self.commit(tx, &[Topic::Deployments]).await?;
        self.create_jobs(id, 0, agent_ids, JobKind::Rollback)
            .await?;
        self.progress(id).await
    }
}
