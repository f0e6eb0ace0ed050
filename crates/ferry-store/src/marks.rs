//! Bad marks: a release rolled back from an environment is marked bad
//! there, in the same transaction that records the rollback, until someone
//! unmarks it. Unmarking ends the row; one mark per release and environment
//! is in force at a time (a unique index).

use ferry_core::Name;
use ferry_core::lock::BadMark;
use serde_json::json;
use sqlx::{AssertSqlSafe, Row};

use crate::approvals::release_and_environment;
use crate::audit::append;
use crate::locks::Lifted;
use crate::rows::{int, name, now, opt_text, opt_time, text, time};
use crate::{Backend, Result, Store, StoreError, Tx};

/// A bad mark of a release, in force or lifted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkRecord {
    /// Its id.
    pub id: i64,
    /// The release.
    pub release: ferry_core::ReleaseRef,
    /// Where, why, by whom and when.
    pub mark: BadMark,
    /// Who unmarked it, when and why; `None` while it is in force.
    pub unmarked: Option<Lifted>,
}

const MARKS: &str = "SELECT m.id, s.name AS service, r.version, e.name AS environment, m.reason, \
     m.marked_by, m.marked_at, m.deployment_id, m.unmarked_by, m.unmarked_at, m.unmark_reason \
     FROM release_marks m JOIN releases r ON r.id = m.release_id JOIN services s ON s.id = r.service_id \
     JOIN environments e ON e.id = m.environment_id";

fn record(row: &sqlx::any::AnyRow) -> Result<MarkRecord> {
    let unmarked = match opt_time(row, "unmarked_at")? {
        Some(at) => Some(Lifted {
            by: opt_text(row, "unmarked_by")?.unwrap_or_default(),
            at,
            reason: opt_text(row, "unmark_reason")?.unwrap_or_default(),
        }),
        None => None,
    };
    Ok(MarkRecord {
        id: int(row, "id")?,
        release: crate::rows::release_ref(row)?,
        mark: BadMark {
            environment: name(row, "environment")?,
            reason: text(row, "reason")?,
            marked_by: text(row, "marked_by")?,
            marked_at: time(row, "marked_at")?,
            deployment: row.try_get::<Option<i64>, _>("deployment_id")?,
        },
        unmarked,
    })
}

/// What a rollback does besides the rollback deployment, inside its
/// transaction: marks the release of deployment `undone_id` bad in its
/// environment (unless it is already), and locks the environment when its
/// `lock_after_rollback` says so (unless it is already). Audited as
/// `actor`.
pub(crate) async fn after_rollback(
    tx: &mut Tx,
    backend: Backend,
    actor: &str,
    undone_id: i64,
    reason: &str,
) -> Result<()> {
    let row = sqlx::query(
        "SELECT d.release_id, d.environment_id, e.name AS environment, e.lock_after_rollback, \
         s.name AS service, r.version \
         FROM deployments d JOIN environments e ON e.id = d.environment_id \
         JOIN releases r ON r.id = d.release_id JOIN services s ON s.id = r.service_id WHERE d.id = $1",
    )
    .bind(undone_id)
    .fetch_one(&mut **tx)
    .await?;
    let (release_id, environment_id) = (int(&row, "release_id")?, int(&row, "environment_id")?);
    let release = format!("{}@{}", text(&row, "service")?, text(&row, "version")?);
    let marked = sqlx::query(
        "SELECT id FROM release_marks WHERE release_id = $1 AND environment_id = $2 AND unmarked_at IS NULL",
    )
    .bind(release_id)
    .bind(environment_id)
    .fetch_optional(&mut **tx)
    .await?;
    if marked.is_none() {
        let inserted = sqlx::query(
            "INSERT INTO release_marks (release_id, environment_id, deployment_id, reason, marked_by, marked_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(release_id)
        .bind(environment_id)
        .bind(undone_id)
        .bind(reason)
        .bind(actor)
        .bind(now())
        .fetch_one(&mut **tx)
        .await?;
        let details = json!({ "after": { "environment": text(&row, "environment")?, "reason": reason,
            "deployment": undone_id, "mark": int(&inserted, "id")? } });
        append(
            tx,
            backend,
            actor,
            "release.mark-bad",
            &format!("release:{release}"),
            details,
        )
        .await?;
    }
    if crate::rows::flag(&row, "lock_after_rollback")? {
        let why =
            format!("locked after the rollback of {release} (deployment {undone_id}): {reason}");
        crate::locks::lock_in(
            tx,
            backend,
            ferry_core::lock::LOCKED_BY_FERRY,
            environment_id,
            None,
            &why,
        )
        .await?;
    }
    Ok(())
}

impl Store {
    /// Lifts the bad mark of `service@version` in `environment`, for
    /// `actor`, with `reason`. A release not marked bad there is a
    /// [`StoreError::NotFound`].
    pub async fn unmark(
        &self,
        actor: &str,
        service: &Name,
        version: &semver::Version,
        environment: &Name,
        reason: &str,
    ) -> Result<MarkRecord> {
        let mut tx = self.write().await?;
        let (release_id, environment_id) =
            release_and_environment(&mut tx, service, version, environment).await?;
        let Some(row) = sqlx::query(
            "SELECT id FROM release_marks WHERE release_id = $1 AND environment_id = $2 AND unmarked_at IS NULL",
        )
        .bind(release_id)
        .bind(environment_id)
        .fetch_optional(&mut *tx)
        .await?
        else {
            tx.rollback().await?;
            return Err(StoreError::NotFound(format!(
                "{service}@{version} is not marked bad in {environment}"
            )));
        };
        let id = int(&row, "id")?;
        sqlx::query(
            "UPDATE release_marks SET unmarked_by = $2, unmarked_at = $3, unmark_reason = $4 WHERE id = $1",
        )
        .bind(id)
        .bind(actor)
        .bind(now())
        .bind(reason)
        .execute(&mut *tx)
        .await?;
        let details =
            json!({ "after": { "environment": environment, "reason": reason, "mark": id } });
        append(
            &mut tx,
            self.backend(),
            actor,
            "release.unmark",
            &format!("release:{service}@{version}"),
            details,
        )
        .await?;
        tx.commit().await?;
        self.mark(id).await
    }

    /// The bad marks of one release, in force and lifted, oldest first.
    pub async fn marks(
        &self,
        service: &Name,
        version: &semver::Version,
    ) -> Result<Vec<MarkRecord>> {
        sqlx::query(AssertSqlSafe(format!(
            "{MARKS} WHERE s.name = $1 AND r.version = $2 ORDER BY m.id"
        )))
        .bind(service.as_str())
        .bind(version.to_string())
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(record)
        .collect()
    }

    /// Every bad mark in force, newest first.
    pub async fn marks_in_force(&self) -> Result<Vec<MarkRecord>> {
        sqlx::query(AssertSqlSafe(format!(
            "{MARKS} WHERE m.unmarked_at IS NULL ORDER BY m.id DESC"
        )))
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(record)
        .collect()
    }

    /// The bad mark in force of a release in an environment, by their ids.
    pub(crate) async fn mark_in_force(
        &self,
        release_id: i64,
        environment_id: i64,
    ) -> Result<Option<BadMark>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "{MARKS} WHERE m.release_id = $1 AND m.environment_id = $2 AND m.unmarked_at IS NULL"
        )))
        .bind(release_id)
        .bind(environment_id)
        .fetch_optional(self.pool())
        .await?;
        row.map(|row| record(&row).map(|record| record.mark))
            .transpose()
    }

    /// One mark.
    pub async fn mark(&self, id: i64) -> Result<MarkRecord> {
        let row = sqlx::query(AssertSqlSafe(format!("{MARKS} WHERE m.id = $1")))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("there is no mark {id}")))?;
        record(&row)
    }
}
