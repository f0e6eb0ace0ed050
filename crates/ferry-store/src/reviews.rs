//! Post-implementation reviews of deployments (see `ferry_core::review`).
//!
//! Rules it keeps:
//! - a review is opened in the transaction that ends its deployment
//!   ([`after_end`], called by every write that gives a deployment a final
//!   status), so a deployment that ended has its review whatever crashes
//!   after; the unique key on the deployment makes it one review at most,
//!   whichever replica or retry gets there first, and its `review.open`
//!   event is appended only by the insert that made it;
//! - the draft is written by `ferry_core::review::draft` from the facts read
//!   here in the same transaction, and written again while the review is
//!   open when the story goes on: its rollback ends, or a later success
//!   restores the environment. Those facts are audited where they happen;
//!   the draft is derived from them, so rewriting it is no event of its own;
//! - a review is completed once: completing it again is a
//!   [`StoreError::Conflict`] naming who completed it and when;
//! - a review past its due time is reminded of once ([`Store::remind_overdue_reviews`]),
//!   by a guarded write: two replicas, or a pass after a crash, remind once.

use chrono::{DateTime, Duration, Utc};
use ferry_core::review::{
    self, DecisionFact, Ending, RestoreFact, ReviewDraft, ReviewFacts, ReviewOutcome, ReviewPolicy,
    ReviewReason, RollbackFact, TargetFact,
};
use ferry_core::time::format_time;
use ferry_core::{DeploymentStatus, Name};
use serde_json::{Value, json};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use crate::audit::append;
use crate::rows::{int, json as json_column, name, opt_text, opt_time, text, time};
use crate::{Backend, Result, Store, StoreError, Tx};

/// How a review was completed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// Who completed it.
    pub by: String,
    /// When.
    pub at: DateTime<Utc>,
    /// How it ended.
    pub outcome: ReviewOutcome,
    /// What was found.
    pub notes: String,
    /// The follow-up actions.
    pub actions: Vec<String>,
}

/// A review as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewRecord {
    /// Its id (the audit trail's `review:ID`).
    pub id: i64,
    /// The deployment reviewed.
    pub deployment: i64,
    /// Its service.
    pub service: Name,
    /// Its version.
    pub version: String,
    /// Its environment.
    pub environment: Name,
    /// Why it is reviewed.
    pub reason: ReviewReason,
    /// The draft.
    pub draft: ReviewDraft,
    /// When it was opened.
    pub opened_at: DateTime<Utc>,
    /// When it is due.
    pub due_at: DateTime<Utc>,
    /// When it was reminded of, past its due time.
    pub reminded_at: Option<DateTime<Utc>>,
    /// How it was completed; `None` while open.
    pub completion: Option<Completion>,
}

/// Filters of [`Store::reviews`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ReviewFilter<'a> {
    /// Only those not completed yet.
    pub open: bool,
    /// Only this service's.
    pub service: Option<&'a Name>,
    /// Only in this environment.
    pub environment: Option<&'a Name>,
}

/// The most reviews [`Store::reviews`] answers.
pub const MOST_LISTED: i64 = 1000;

/// Why a deployment has no review, for the "not found" answer.
pub const WHO_IS_REVIEWED: &str = "failed, rolled-back and emergency deployments are reviewed, \
     and every deployment of an environment whose policy says review = \"always\"";

const SELECT: &str = "SELECT v.id, v.deployment_id, s.name AS service, r.version, e.name AS environment, \
     v.reason, v.draft, v.opened_at, v.due_at, v.reminded_at, v.completed_by, v.completed_at, \
     v.outcome, v.notes, v.actions \
     FROM reviews v JOIN deployments d ON d.id = v.deployment_id \
     JOIN releases r ON r.id = d.release_id JOIN services s ON s.id = v.service_id \
     JOIN environments e ON e.id = v.environment_id";

fn record(row: &AnyRow) -> Result<ReviewRecord> {
    let reason = text(row, "reason")?;
    let completion = match opt_time(row, "completed_at")? {
        Some(at) => {
            let outcome = opt_text(row, "outcome")?.unwrap_or_default();
            Some(Completion {
                by: opt_text(row, "completed_by")?.unwrap_or_default(),
                at,
                outcome: ReviewOutcome::parse(&outcome).map_err(StoreError::Corrupt)?,
                notes: opt_text(row, "notes")?.unwrap_or_default(),
                actions: match opt_text(row, "actions")? {
                    Some(actions) => serde_json::from_str(&actions)
                        .map_err(|e| StoreError::Corrupt(format!("actions: {e}")))?,
                    None => Vec::new(),
                },
            })
        }
        None => None,
    };
    Ok(ReviewRecord {
        id: int(row, "id")?,
        deployment: int(row, "deployment_id")?,
        service: name(row, "service")?,
        version: text(row, "version")?,
        environment: name(row, "environment")?,
        reason: ReviewReason::parse(&reason).map_err(StoreError::Corrupt)?,
        draft: json_column(row, "draft")?,
        opened_at: time(row, "opened_at")?,
        due_at: time(row, "due_at")?,
        reminded_at: opt_time(row, "reminded_at")?,
        completion,
    })
}

/// A `review.open` event to append once every row of the transaction is
/// written (the audit head is locked last).
#[derive(Debug)]
pub(crate) struct Opened {
    id: i64,
    details: Value,
}

/// An environment's review settings, read leniently from its stored policy:
/// a policy that cannot be read reviews on failure, due by the default, so
/// that the end of a deployment is never refused over a review.
fn settings(policy: Option<&str>) -> (ReviewPolicy, Duration) {
    let policy: Value = policy
        .and_then(|text| serde_json::from_str(text).ok())
        .unwrap_or(Value::Null);
    let review = policy
        .get("review")
        .and_then(|value| serde_json::from_value(value.clone()).ok())
        .unwrap_or_default();
    let due = review::due_after(policy.get("review_due").and_then(Value::as_str))
        .or_else(|_| review::due_after(None))
        .unwrap_or_else(|_| Duration::days(7));
    (review, due)
}

/// Opens the reviews the end of deployment `id` (whose final status is
/// written in `tx`) calls for, and writes again the drafts of open reviews
/// its end changes: its own, when it rolls another back, the one it undoes
/// (opened now if it has none: it was rolled back), and, when it succeeded,
/// those of its service and environment waiting for a restore. Answers the
/// `review.open` events to append with [`append_opened`].
pub(crate) async fn after_end(tx: &mut Tx, id: i64) -> Result<Vec<Opened>> {
    let row = sqlx::query(
        "SELECT d.status, d.rollback_of, d.emergency_reason, d.plan, d.service_id, \
         d.environment_id, d.updated_at, e.policy FROM deployments d \
         JOIN environments e ON e.id = d.environment_id WHERE d.id = $1",
    )
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("there is no deployment {id}")))?;
    let status = text(&row, "status")?;
    let status = DeploymentStatus::parse(&status)
        .ok_or_else(|| StoreError::Corrupt(format!("deployment status {status:?}")))?;
    if !status.is_finished() {
        return Ok(Vec::new());
    }
    let rollback_of = row.try_get::<Option<i64>, _>("rollback_of")?;
    let (policy, due) = settings(opt_text(&row, "policy")?.as_deref());
    let updated_at = time(&row, "updated_at")?;
    let mut opened = Vec::new();
    let ending = Ending {
        status,
        rollback: rollback_of.is_some(),
        emergency: opt_text(&row, "emergency_reason")?.is_some(),
        // Agents took it (it has batches), or it ended other than cancelled.
        started: opt_text(&row, "plan")?.is_some() || status != DeploymentStatus::Cancelled,
        policy,
    };
    if let Some(reason) = review::reason(&ending) {
        let failed_at = matches!(
            status,
            DeploymentStatus::Failed | DeploymentStatus::RolledBack
        )
        .then_some(updated_at);
        opened.extend(open(tx, id, reason, failed_at, due).await?);
    }
    let mut drafted = vec![id];
    if let Some(original) = rollback_of {
        // The deployment this one undoes was rolled back: its review opens
        // now (it failed before reviews were kept, or it had succeeded), or
        // its draft tells of the rollback's end.
        let existing =
            sqlx::query("SELECT failed_at, completed_at FROM reviews WHERE deployment_id = $1")
                .bind(original)
                .fetch_optional(&mut **tx)
                .await?;
        match existing {
            Some(review) => {
                if opt_text(&review, "completed_at")?.is_none() {
                    redraft(tx, original, opt_time(&review, "failed_at")?).await?;
                }
            }
            None => {
                opened.extend(open(tx, original, ReviewReason::RolledBack, None, due).await?);
            }
        }
        drafted.push(original);
    }
    if status == DeploymentStatus::Succeeded {
        // A success there restores what failed before it.
        let waiting = sqlx::query(
            "SELECT deployment_id, failed_at FROM reviews WHERE service_id = $1 \
             AND environment_id = $2 AND completed_at IS NULL AND failed_at IS NOT NULL \
             AND restored_at IS NULL ORDER BY id",
        )
        .bind(int(&row, "service_id")?)
        .bind(int(&row, "environment_id")?)
        .fetch_all(&mut **tx)
        .await?;
        for review in &waiting {
            let deployment = int(review, "deployment_id")?;
            if !drafted.contains(&deployment) {
                redraft(tx, deployment, opt_time(review, "failed_at")?).await?;
            }
        }
    }
    Ok(opened)
}

/// Appends the `review.open` events of [`after_end`].
pub(crate) async fn append_opened(
    tx: &mut Tx,
    backend: Backend,
    opened: Vec<Opened>,
) -> Result<()> {
    for review in opened {
        append(
            tx,
            backend,
            "system",
            "review.open",
            &format!("review:{}", review.id),
            review.details,
        )
        .await?;
    }
    Ok(())
}

/// Opens the review of deployment `id` for `reason`, due `due` from now,
/// unless it has one; `None` then.
async fn open(
    tx: &mut Tx,
    id: i64,
    reason: ReviewReason,
    failed_at: Option<DateTime<Utc>>,
    due: Duration,
) -> Result<Option<Opened>> {
    let facts = facts(tx, id, failed_at).await?;
    let draft = review::draft(&facts);
    let now = Utc::now();
    let due_at = now + due;
    let row = sqlx::query(
        "INSERT INTO reviews (deployment_id, service_id, environment_id, reason, failed_at, \
         restored_at, draft, opened_at, due_at) \
         SELECT d.id, d.service_id, d.environment_id, $2, $3, $4, $5, $6, $7 FROM deployments d \
         WHERE d.id = $1 ON CONFLICT (deployment_id) DO NOTHING RETURNING id",
    )
    .bind(id)
    .bind(reason.as_str())
    .bind(facts.failed_at.map(format_time))
    .bind(
        draft
            .restored
            .as_ref()
            .map(|restore| format_time(restore.at)),
    )
    .bind(serde_json::to_string(&draft)?)
    .bind(format_time(now))
    .bind(format_time(due_at))
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let review = int(&row, "id")?;
    Ok(Some(Opened {
        id: review,
        details: json!({ "after": { "deployment": id, "service": facts.service,
            "environment": facts.environment, "reason": reason, "due": format_time(due_at) } }),
    }))
}

/// Writes the draft of deployment `id`'s open review again from the facts
/// as they are now.
async fn redraft(tx: &mut Tx, id: i64, failed_at: Option<DateTime<Utc>>) -> Result<()> {
    let facts = facts(tx, id, failed_at).await?;
    let draft = review::draft(&facts);
    sqlx::query(
        "UPDATE reviews SET draft = $1, failed_at = $2, restored_at = $3 \
         WHERE deployment_id = $4 AND completed_at IS NULL",
    )
    .bind(serde_json::to_string(&draft)?)
    .bind(facts.failed_at.map(format_time))
    .bind(
        draft
            .restored
            .as_ref()
            .map(|restore| format_time(restore.at)),
    )
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Everything the draft of deployment `id`'s review says, read in `tx`.
/// `failed_at` is when it failed; a deployment that did not fail but was
/// rolled back was judged bad when its rollback was created.
async fn facts(tx: &mut Tx, id: i64, failed_at: Option<DateTime<Utc>>) -> Result<ReviewFacts> {
    let row = sqlx::query(
        "SELECT d.id, s.name AS service, r.version, e.name AS environment, d.status, \
         d.created_by, d.created_at, d.updated_at, d.reason, d.emergency_reason, d.release_id, \
         d.service_id, d.environment_id FROM deployments d JOIN releases r ON r.id = d.release_id \
         JOIN services s ON s.id = r.service_id JOIN environments e ON e.id = d.environment_id \
         WHERE d.id = $1",
    )
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("there is no deployment {id}")))?;
    let status = text(&row, "status")?;
    let status = DeploymentStatus::parse(&status)
        .ok_or_else(|| StoreError::Corrupt(format!("deployment status {status:?}")))?;
    let (service_id, environment_id) = (int(&row, "service_id")?, int(&row, "environment_id")?);
    let previous_version = sqlx::query(
        "SELECT r.version FROM deployments d JOIN releases r ON r.id = d.release_id \
         WHERE d.service_id = $1 AND d.environment_id = $2 AND d.status = 'succeeded' \
         AND d.id < $3 AND d.release_id <> $4 ORDER BY d.id DESC LIMIT 1",
    )
    .bind(service_id)
    .bind(environment_id)
    .bind(id)
    .bind(int(&row, "release_id")?)
    .fetch_optional(&mut **tx)
    .await?
    .map(|row| text(&row, "version"))
    .transpose()?;
    let decisions = sqlx::query(
        "SELECT u.name, a.approve, a.comment, a.created_at FROM approvals a \
         JOIN users u ON u.id = a.user_id WHERE a.release_id = $1 AND a.environment_id = $2 \
         ORDER BY a.id",
    )
    .bind(int(&row, "release_id")?)
    .bind(environment_id)
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(|decision| {
        Ok(DecisionFact {
            user: text(decision, "name")?,
            approve: int(decision, "approve")? != 0,
            comment: text(decision, "comment")?,
            at: time(decision, "created_at")?,
        })
    })
    .collect::<Result<Vec<_>>>()?;
    let jobs = sqlx::query(
        "SELECT j.id, a.name AS target, j.batch, j.kind, j.state, j.attempt, j.result, \
         j.updated_at FROM jobs j JOIN agents a ON a.id = j.agent_id \
         WHERE j.deployment_id = $1 ORDER BY j.batch, a.name, j.id",
    )
    .bind(id)
    .fetch_all(&mut **tx)
    .await?;
    let mut targets = Vec::with_capacity(jobs.len());
    let mut quoted = 0;
    for job in &jobs {
        let state = text(job, "state")?;
        // The draft quotes the logs of the first failing targets only.
        let log = if state == "failed" && quoted < review::QUOTED_TARGETS {
            quoted += 1;
            let mut lines: Vec<String> = sqlx::query(
                "SELECT line FROM deployment_logs WHERE job_id = $1 AND attempt = $2 \
                 ORDER BY seq DESC LIMIT $3",
            )
            .bind(int(job, "id")?)
            .bind(int(job, "attempt")?)
            .bind(i64::try_from(review::LOG_LINES).unwrap_or(20))
            .fetch_all(&mut **tx)
            .await?
            .iter()
            .map(|line| text(line, "line"))
            .collect::<Result<_>>()?;
            lines.reverse();
            lines
        } else {
            Vec::new()
        };
        targets.push(TargetFact {
            target: text(job, "target")?,
            batch: int(job, "batch")?,
            kind: text(job, "kind")?,
            state,
            // A result that cannot be read is no reason to lose the review.
            result: opt_text(job, "result")?.and_then(|result| serde_json::from_str(&result).ok()),
            updated_at: time(job, "updated_at")?,
            log,
        });
    }
    let rollback = sqlx::query(
        "SELECT d.id, r.version, d.status, d.created_by, d.created_at, d.updated_at \
         FROM deployments d JOIN releases r ON r.id = d.release_id WHERE d.rollback_of = $1",
    )
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?
    .map(|rollback| {
        let status = text(&rollback, "status")?;
        let status = DeploymentStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("deployment status {status:?}")))?;
        Ok::<_, StoreError>(RollbackFact {
            deployment: int(&rollback, "id")?,
            version: text(&rollback, "version")?,
            status,
            created_by: text(&rollback, "created_by")?,
            created_at: time(&rollback, "created_at")?,
            ended_at: if status.is_finished() {
                Some(time(&rollback, "updated_at")?)
            } else {
                None
            },
        })
    })
    .transpose()?;
    let failed_at = failed_at.or_else(|| rollback.as_ref().map(|rollback| rollback.created_at));
    let restored = match failed_at {
        Some(failed_at) => sqlx::query(
            "SELECT d.id, r.version, d.updated_at FROM deployments d \
             JOIN releases r ON r.id = d.release_id WHERE d.service_id = $1 \
             AND d.environment_id = $2 AND d.status = 'succeeded' AND d.id <> $3 \
             AND d.updated_at >= $4 ORDER BY d.updated_at, d.id LIMIT 1",
        )
        .bind(service_id)
        .bind(environment_id)
        .bind(id)
        .bind(format_time(failed_at))
        .fetch_optional(&mut **tx)
        .await?
        .map(|restore| {
            Ok::<_, StoreError>(RestoreFact {
                deployment: int(&restore, "id")?,
                version: text(&restore, "version")?,
                at: time(&restore, "updated_at")?,
            })
        })
        .transpose()?,
        None => None,
    };
    Ok(ReviewFacts {
        deployment: id,
        service: text(&row, "service")?,
        version: text(&row, "version")?,
        environment: text(&row, "environment")?,
        previous_version,
        status,
        created_by: text(&row, "created_by")?,
        created_at: time(&row, "created_at")?,
        updated_at: time(&row, "updated_at")?,
        failed_at,
        reason: opt_text(&row, "reason")?,
        emergency_reason: opt_text(&row, "emergency_reason")?,
        decisions,
        targets,
        rollback,
        restored,
    })
}

impl Store {
    /// The reviews, at most [`MOST_LISTED`]: the open ones first, the
    /// soonest due first; then the completed ones, the latest first.
    pub async fn reviews(&self, filter: ReviewFilter<'_>) -> Result<Vec<ReviewRecord>> {
        let mut conditions = vec!["$1 = $1 AND $2 = $2"];
        if filter.open {
            conditions.push("v.completed_at IS NULL");
        }
        if filter.service.is_some() {
            conditions.push("v.service_id = (SELECT id FROM services WHERE name = $1)");
        }
        if filter.environment.is_some() {
            conditions.push("v.environment_id = (SELECT id FROM environments WHERE name = $2)");
        }
        sqlx::query(AssertSqlSafe(format!(
            "{SELECT} WHERE {} ORDER BY CASE WHEN v.completed_at IS NULL THEN 0 ELSE 1 END, \
             CASE WHEN v.completed_at IS NULL THEN v.due_at ELSE '' END, \
             v.completed_at DESC, v.id DESC LIMIT $3",
            conditions.join(" AND ")
        )))
        .bind(filter.service.map_or("", Name::as_str))
        .bind(filter.environment.map_or("", Name::as_str))
        .bind(MOST_LISTED)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(record)
        .collect()
    }

    /// The review of deployment `deployment`: "not found" when there is no
    /// such deployment, or it has no review (saying which are reviewed).
    pub async fn review_of(&self, deployment: i64) -> Result<ReviewRecord> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "{SELECT} WHERE v.deployment_id = $1"
        )))
        .bind(deployment)
        .fetch_optional(self.pool())
        .await?;
        match row {
            Some(row) => record(&row),
            None => {
                let found = self.deployment(deployment).await?;
                Err(StoreError::NotFound(format!(
                    "deployment {deployment} ({}@{} to {}, {}) has no review: {WHO_IS_REVIEWED}",
                    found.service, found.version, found.environment, found.status
                )))
            }
        }
    }

    /// Completes the review of deployment `deployment` for `actor`, with
    /// `outcome`, `notes` and follow-up `actions` (checked by the caller,
    /// `ferry_core::review::check_completion`). A review completed already
    /// is a [`StoreError::Conflict`] naming who completed it and when.
    pub async fn complete_review(
        &self,
        actor: &str,
        deployment: i64,
        outcome: ReviewOutcome,
        notes: &str,
        actions: &[String],
    ) -> Result<ReviewRecord> {
        let mut tx = self.write().await?;
        let stamp = format_time(Utc::now());
        let done = sqlx::query(
            "UPDATE reviews SET completed_by = $1, completed_at = $2, outcome = $3, notes = $4, \
             actions = $5 WHERE deployment_id = $6 AND completed_at IS NULL RETURNING id",
        )
        .bind(actor)
        .bind(&stamp)
        .bind(outcome.as_str())
        .bind(notes)
        .bind(serde_json::to_string(actions)?)
        .bind(deployment)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(done) = done else {
            tx.rollback().await?;
            let existing = self.review_of(deployment).await?;
            let (by, at) = existing
                .completion
                .map(|completion| (completion.by, completion.at))
                .unwrap_or_else(|| (String::new(), existing.opened_at));
            return Err(StoreError::Conflict(format!(
                "the review of deployment {deployment} was completed already, by {by} at {}",
                format_time(at)
            )));
        };
        let id = int(&done, "id")?;
        let details = json!({ "after": { "deployment": deployment, "outcome": outcome,
            "notes": notes, "actions": actions } });
        append(
            &mut tx,
            self.backend(),
            actor,
            "review.complete",
            &format!("review:{id}"),
            details,
        )
        .await?;
        tx.commit().await?;
        self.review_of(deployment).await
    }

    /// Reminds of every review still open at `now` past its due time that
    /// was not reminded of yet: each once, with a `review.remind` event
    /// (the details of its `review.open`, and `"overdue": true`). Answers
    /// the ids of the reviews reminded of by this call.
    pub async fn remind_overdue_reviews(&self, now: DateTime<Utc>) -> Result<Vec<i64>> {
        // Most passes find none: a read tells without the write lock.
        let due = sqlx::query(
            "SELECT id FROM reviews WHERE completed_at IS NULL AND reminded_at IS NULL \
             AND due_at <= $1 ORDER BY due_at, id LIMIT 100",
        )
        .bind(format_time(now))
        .fetch_all(self.pool())
        .await?;
        let mut reminded = Vec::new();
        for row in &due {
            let id = int(row, "id")?;
            let mut tx = self.write().await?;
            let done = sqlx::query(
                "UPDATE reviews SET reminded_at = $1 WHERE id = $2 AND completed_at IS NULL \
                 AND reminded_at IS NULL AND due_at <= $1",
            )
            .bind(format_time(now))
            .bind(id)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() != 1 {
                Store::abandon(tx, Ok(())).await?;
                continue;
            }
            let review = sqlx::query(AssertSqlSafe(format!("{SELECT} WHERE v.id = $1")))
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
            let review = record(&review)?;
            let details = json!({ "after": { "deployment": review.deployment,
                "service": review.service, "environment": review.environment,
                "reason": review.reason, "due": format_time(review.due_at), "overdue": true } });
            append(
                &mut tx,
                self.backend(),
                "system",
                "review.remind",
                &format!("review:{id}"),
                details,
            )
            .await?;
            tx.commit().await?;
            reminded.push(id);
        }
        Ok(reminded)
    }
}
