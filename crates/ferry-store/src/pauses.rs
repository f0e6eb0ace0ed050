//! Deployments that wait for a person: paused by the orchestrator at a
//! manual step, after a canary stage or after a failure, and moved on by a
//! person's decision. Each step is one transaction guarded by the state it
//! expects, and audited (`deployment.pause`, `deployment.decide`).

use chrono::Utc;
use ferry_core::DeploymentStatus;
use ferry_core::process::{Decision, Pause, PauseKind};
use ferry_core::time::format_time;
use serde_json::json;

use crate::audit::append;
use crate::freshness::Topic;
use crate::jobs::JobKind;
use crate::progress::locked;
use crate::rows::{int, opt_text, text};
use crate::{Result, Store, StoreError};

/// What a decision did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decided {
    /// The deployment runs again (continued, retried or skipped).
    Resumed,
    /// The deployment failed (aborted, or to be rolled back): the rollback
    /// policy, or the decision, does the rest.
    Failed,
}

impl Store {
    /// Pauses running deployment `id`, in batch `expected_batch` at segment
    /// `expected_segment`, for `pause`: it becomes `waiting` with the
    /// pause's reason. `false` when it is not running there any more
    /// (another replica moved it): nothing changed.
    pub async fn pause_deployment(
        &self,
        id: i64,
        expected_batch: i64,
        expected_segment: i64,
        pause: &Pause,
    ) -> Result<bool> {
        let mut tx = self.write().await?;
        let reason = pause.reason(id);
        let done = sqlx::query(
            "UPDATE deployments SET status = 'waiting', pause = $1, reason = $2, updated_at = $3 \
             WHERE id = $4 AND status = 'running' AND batch = $5 AND segment = $6",
        )
        .bind(serde_json::to_string(pause)?)
        .bind(&reason)
        .bind(format_time(Utc::now()))
        .bind(id)
        .bind(expected_batch)
        .bind(expected_segment)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Store::abandon(tx, Ok(false)).await;
        }
        let details = json!({ "before": { "status": DeploymentStatus::Running },
            "after": { "status": DeploymentStatus::Waiting, "pause": pause, "reason": reason } });
        append(
            &mut tx,
            self.backend(),
            "system",
            "deployment.pause",
            &format!("deployment:{id}"),
            details,
        )
        .await?;
        self.commit(tx, &[Topic::Deployments]).await?;
        Ok(true)
    }

    /// Records `actor`'s `decision` on paused deployment `id`, with
    /// `comment`, and moves it on: a manual step continued runs the next
    /// segment of the steps on the batch's targets that succeeded; a canary
    /// stage continued starts the next batch; a retry runs the batch's
    /// failed targets again; a skip goes on without them; an abort or a
    /// rollback fails the deployment. A deployment that does not wait for a
    /// person, or a decision that does not answer its pause, is refused and
    /// nothing changes.
    pub async fn decide_on_pause(
        &self,
        actor: &str,
        id: i64,
        decision: Decision,
        comment: &str,
    ) -> Result<Decided> {
        let mut tx = self.write().await?;
        let row = locked(&mut tx, self.backend(), id).await?;
        let status = text(&row, "status")?;
        let pause: Option<Pause> = opt_text(&row, "pause")?
            .map(|text| serde_json::from_str(&text))
            .transpose()?;
        let pause = match pause {
            Some(pause) if status == DeploymentStatus::Waiting.as_str() => pause,
            _ => {
                let error = StoreError::Conflict(format!(
                    "deployment {id} is {status} and waits for no decision"
                ));
                return Store::abandon(tx, Err(error)).await;
            }
        };
        if let Err(why) = decision.answers(pause.kind) {
            return Store::abandon(
                tx,
                Err(StoreError::Conflict(format!("deployment {id}: {why}"))),
            )
            .await;
        }
        let batch = int(&row, "batch")?;
        let stamp = format_time(Utc::now());
        let what = match pause.kind {
            PauseKind::Manual => format!(
                "manual step {:?}",
                pause.step.as_deref().unwrap_or_default()
            ),
            PauseKind::Canary => format!("canary stage {}", batch + 1),
            PauseKind::Failure => "the failure".to_owned(),
        };
        let said = if comment.is_empty() {
            String::new()
        } else {
            format!(": {comment}")
        };
        let mut next_jobs: Option<(i64, Vec<i64>)> = None;
        let decided = match decision {
            Decision::Continue if pause.kind == PauseKind::Manual => {
                sqlx::query(
                    "UPDATE deployments SET status = 'running', pause = NULL, reason = NULL, \
                     segment = segment + 1, updated_at = $1 WHERE id = $2",
                )
                .bind(&stamp)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "UPDATE jobs SET state = 'pending', segment = segment + 1, lease_owner = NULL, \
                     lease_expires_at = NULL, result = NULL, updated_at = $1 \
                     WHERE deployment_id = $2 AND batch = $3 AND kind = $4 AND state = 'succeeded'",
                )
                .bind(&stamp)
                .bind(id)
                .bind(batch)
                .bind(JobKind::Deploy.as_str())
                .execute(&mut *tx)
                .await?;
                Decided::Resumed
            }
            Decision::Continue => {
                let plan: Vec<Vec<i64>> = serde_json::from_str(
                    &opt_text(&row, "plan")?.unwrap_or_else(|| "[]".to_owned()),
                )?;
                let next = batch + 1;
                let Some(agents) = usize::try_from(next).ok().and_then(|i| plan.get(i)) else {
                    let error = StoreError::Invalid(format!(
                        "deployment {id} has no batch after batch {batch}"
                    ));
                    return Store::abandon(tx, Err(error)).await;
                };
                sqlx::query(
                    "UPDATE deployments SET status = 'running', pause = NULL, reason = NULL, \
                     batch = $1, segment = 0, next_batch_at = NULL, updated_at = $2 WHERE id = $3",
                )
                .bind(next)
                .bind(&stamp)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                next_jobs = Some((next, agents.clone()));
                Decided::Resumed
            }
            Decision::Retry => {
                sqlx::query(
                    "UPDATE deployments SET status = 'running', pause = NULL, reason = NULL, \
                     updated_at = $1 WHERE id = $2",
                )
                .bind(&stamp)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "UPDATE jobs SET state = 'pending', lease_owner = NULL, lease_expires_at = NULL, \
                     result = NULL, updated_at = $1 \
                     WHERE deployment_id = $2 AND batch = $3 AND kind = $4 AND state = 'failed'",
                )
                .bind(&stamp)
                .bind(id)
                .bind(batch)
                .bind(JobKind::Deploy.as_str())
                .execute(&mut *tx)
                .await?;
                Decided::Resumed
            }
            Decision::Skip => {
                sqlx::query(
                    "UPDATE deployments SET status = 'running', pause = NULL, reason = NULL, \
                     accepted_failures = (SELECT COUNT(*) FROM jobs j WHERE j.deployment_id = $1 \
                     AND j.kind = $2 AND j.state = 'failed'), updated_at = $3 WHERE id = $1",
                )
                .bind(id)
                .bind(JobKind::Deploy.as_str())
                .bind(&stamp)
                .execute(&mut *tx)
                .await?;
                Decided::Resumed
            }
            Decision::Abort | Decision::Rollback => {
                let verb = if decision == Decision::Abort {
                    "aborted"
                } else {
                    "rolled back"
                };
                let reason = format!("{verb} by {actor} at {what}{said}");
                sqlx::query(
                    "UPDATE deployments SET status = 'failed', pause = NULL, reason = $1, \
                     next_batch_at = NULL, updated_at = $2 WHERE id = $3",
                )
                .bind(&reason)
                .bind(&stamp)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                Decided::Failed
            }
        };
        let after = match decided {
            Decided::Resumed => DeploymentStatus::Running,
            Decided::Failed => DeploymentStatus::Failed,
        };
        let reviews = crate::reviews::after_end(&mut tx, id).await?;
        let details = json!({ "before": { "status": DeploymentStatus::Waiting, "pause": pause },
            "after": { "status": after, "decision": decision, "comment": comment } });
        append(
            &mut tx,
            self.backend(),
            actor,
            "deployment.decide",
            &format!("deployment:{id}"),
            details,
        )
        .await?;
        crate::reviews::append_opened(&mut tx, self.backend(), reviews).await?;
        self.commit(tx, &[Topic::Deployments]).await?;
        if let Some((next, agents)) = next_jobs {
            self.create_jobs(id, next, &agents, JobKind::Deploy).await?;
        }
        Ok(decided)
    }
}
