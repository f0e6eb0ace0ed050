//! Deployments: a release going to an environment, moving by the state
//! machine of [`ferry_core::deployment`].

use chrono::{DateTime, Utc};
use ferry_core::{DeploymentStatus, Name};
use serde_json::json;
use sqlx::AssertSqlSafe;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::audit::append;
use crate::freshness::Topic;
use crate::releases::service_id;
use crate::rows::{int, now, opt_text, opt_time, text, time};
use crate::{Result, Store, StoreError};

/// A deployment as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentRecord {
    /// Row id.
    pub id: i64,
    /// The service.
    pub service: String,
    /// The version.
    pub version: String,
    /// The environment.
    pub environment: String,
    /// Where it stands.
    pub status: DeploymentStatus,
    /// Who started it.
    pub created_by: String,
    /// When it was recorded.
    pub created_at: DateTime<Utc>,
    /// When its status last changed.
    pub updated_at: DateTime<Utc>,
    /// When it may start, for a promotion made `--at` a later time.
    pub scheduled_at: Option<DateTime<Utc>>,
    /// The written justification of an emergency promotion.
    pub emergency_reason: Option<String>,
    /// A link to the run, for a deployment reported by another tool.
    pub url: Option<String>,
    /// Why it waits, halted, failed or was cancelled.
    pub reason: Option<String>,
    /// The deployment this one rolls back.
    pub rollback_of: Option<i64>,
}

/// How a deployment is recorded.
#[derive(Debug, Clone, Default)]
pub struct NewDeployment<'a> {
    /// When it may start; in the future, the deployment waits.
    pub scheduled_at: Option<DateTime<Utc>>,
    /// The justification of an emergency promotion.
    pub emergency_reason: Option<&'a str>,
    /// The run of a release train it belongs to.
    pub train_run: Option<i64>,
}

/// Filters of [`Store::deployments`].
#[derive(Debug, Clone, Default)]
pub struct DeploymentFilter<'a> {
    /// Only this service's.
    pub service: Option<&'a Name>,
    /// Only into this environment.
    pub environment: Option<&'a Name>,
}

pub(crate) const SELECT: &str = "SELECT d.id, s.name AS service, r.version, e.name AS environment, d.status, \
     d.created_by, d.created_at, d.updated_at, d.scheduled_at, d.emergency_reason, d.url, \
     d.reason, d.rollback_of \
     FROM deployments d JOIN releases r ON r.id = d.release_id \
     JOIN services s ON s.id = r.service_id JOIN environments e ON e.id = d.environment_id";

pub(crate) fn deployment(row: &AnyRow) -> Result<DeploymentRecord> {
    let status = text(row, "status")?;
    Ok(DeploymentRecord {
        id: int(row, "id")?,
        service: text(row, "service")?,
        version: text(row, "version")?,
        environment: text(row, "environment")?,
        status: DeploymentStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("deployment status {status:?}")))?,
        created_by: text(row, "created_by")?,
        created_at: time(row, "created_at")?,
        updated_at: time(row, "updated_at")?,
        scheduled_at: opt_time(row, "scheduled_at")?,
        emergency_reason: opt_text(row, "emergency_reason")?,
        url: opt_text(row, "url")?,
        reason: opt_text(row, "reason")?,
        rollback_of: row.try_get::<Option<i64>, _>("rollback_of")?,
    })
}

impl Store {
    /// Records a deployment of `service@version` to `environment`: queued,
    /// or waiting when it is scheduled for later.
    pub async fn create_deployment(
        &self,
        actor: &str,
        service: &Name,
        version: &semver::Version,
        environment: &Name,
        new: NewDeployment<'_>,
    ) -> Result<DeploymentRecord> {
        self.deploy(actor, service, version, environment, new, false)
            .await
            .map(|(deployment, _)| deployment)
    }

    /// A promotion of `service@version` to `environment`: when the same
    /// release is already queued, waiting or running there, that deployment
    /// (and `false`) instead of another, however many promotions arrive at
    /// once; otherwise a new one (and `true`).
    pub async fn promote_release(
        &self,
        actor: &str,
        service: &Name,
        version: &semver::Version,
        environment: &Name,
        new: NewDeployment<'_>,
    ) -> Result<(DeploymentRecord, bool)> {
        self.deploy(actor, service, version, environment, new, true)
            .await
    }

    async fn deploy(
        &self,
        actor: &str,
        service: &Name,
        version: &semver::Version,
        environment: &Name,
        new: NewDeployment<'_>,
        once: bool,
    ) -> Result<(DeploymentRecord, bool)> {
        let mut tx = self.write().await?;
        let service_id = service_id(&mut tx, service).await?;
        // On PostgreSQL the release row is locked, so that promotions of one
        // release are judged one after the other (SQLite has one writer).
        let lock = match (once, self.backend()) {
            (true, crate::Backend::Postgres) => " FOR UPDATE",
            _ => "",
        };
        let release = sqlx::query(AssertSqlSafe(format!(
            "SELECT id, state FROM releases WHERE service_id = $1 AND version = $2{lock}"
        )))
        .bind(service_id)
        .bind(version.to_string())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("there is no release {service}@{version}")))?;
        if text(&release, "state")? != ferry_core::ReleaseState::Active.as_str() {
            return Err(StoreError::Invalid(format!(
                "release {service}@{version} is abandoned"
            )));
        }
        let environment_id = sqlx::query("SELECT id FROM environments WHERE name = $1")
            .bind(environment.as_str())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| {
                StoreError::NotFound(format!(
                    "there is no environment {:?}",
                    environment.as_str()
                ))
            })?;
        if once {
            let unfinished = sqlx::query(AssertSqlSafe(format!(
                "{SELECT} WHERE d.release_id = $1 AND d.environment_id = $2 \
                 AND d.status IN ('queued', 'waiting', 'running', 'verifying') \
                 AND d.rollback_of IS NULL ORDER BY d.id LIMIT 1"
            )))
            .bind(int(&release, "id")?)
            .bind(int(&environment_id, "id")?)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(row) = unfinished {
                let found = deployment(&row);
                return Store::abandon(tx, found.map(|d| (d, false))).await;
            }
        }
        let stamp = now();
        let status = match new.scheduled_at {
            Some(at) if at > Utc::now() => DeploymentStatus::Waiting,
            _ => DeploymentStatus::Queued,
        };
        let id = sqlx::query(
            "INSERT INTO deployments (release_id, service_id, environment_id, status, created_by, created_at, updated_at, \
             scheduled_at, emergency_reason, train_run_id) VALUES ($1, (SELECT service_id FROM releases WHERE id = $1), $2, $3, $4, $5, $5, $6, $7, $8) RETURNING id",
        )
        .bind(int(&release, "id")?)
        .bind(int(&environment_id, "id")?)
        .bind(status.as_str())
        .bind(actor)
        .bind(&stamp)
        .bind(new.scheduled_at.map(ferry_core::time::format_time))
        .bind(new.emergency_reason)
        .bind(new.train_run)
        .fetch_one(&mut *tx)
        .await?;
        let id = int(&id, "id")?;
        let details = json!({ "after": { "release": format!("{service}@{version}"), "environment": environment, "status": status,
            "scheduled_at": new.scheduled_at, "emergency_reason": new.emergency_reason, "train_run": new.train_run } });
        append(
            &mut tx,
            self.backend(),
            actor,
            "deployment.create",
            &format!("deployment:{id}"),
            details,
        )
        .await?;
        let created = deployment(
            &sqlx::query(AssertSqlSafe(format!("{SELECT} WHERE d.id = $1")))
                .bind(id)
                .fetch_one(&mut *tx)
                .await?,
        )?;
        self.commit(tx, &[Topic::Deployments]).await?;
        Ok((created, true))
    }

    /// Deployments (not rollbacks) that succeeded at `since` or later, oldest first.
    pub async fn recent_successes(&self, since: DateTime<Utc>) -> Result<Vec<DeploymentRecord>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "{SELECT} WHERE d.status = 'succeeded' AND d.rollback_of IS NULL \
             AND d.updated_at >= $1 ORDER BY d.id"
        )))
        .bind(ferry_core::time::format_time(since))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(deployment).collect()
    }

    /// Promotes the release of succeeded deployment `source_id` into
    /// `environment` by itself (the phase there is `auto`): a queued
    /// deployment created by `system`, unless the release has a deployment
    /// there already (created by a person, or by an earlier pass or another
    /// replica), in which case nothing changes and `None` is the answer.
    pub async fn promote_automatically(
        &self,
        source_id: i64,
        environment: &Name,
    ) -> Result<Option<DeploymentRecord>> {
        // Every orchestrator pass asks again for an hour: most find the
        // promotion made already, which a read tells without the write lock.
        let made = sqlx::query(
            "SELECT 1 AS found FROM deployments d JOIN deployments s ON s.release_id = d.release_id \
             JOIN environments e ON e.id = d.environment_id WHERE s.id = $1 AND e.name = $2 LIMIT 1",
        )
        .bind(source_id)
        .bind(environment.as_str())
        .fetch_optional(self.pool())
        .await?;
        if made.is_some() {
            return Ok(None);
        }
        let mut tx = self.write().await?;
        // Locking the source serializes replicas doing the same promotion.
        let lock = match self.backend() {
            crate::Backend::Sqlite => "",
            crate::Backend::Postgres => " FOR UPDATE",
        };
        let source = sqlx::query(AssertSqlSafe(format!(
            "SELECT release_id, status FROM deployments WHERE id = $1{lock}"
        )))
        .bind(source_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("there is no deployment {source_id}")))?;
        if text(&source, "status")? != DeploymentStatus::Succeeded.as_str() {
            return Store::abandon(tx, Ok(None)).await;
        }
        let release_id = int(&source, "release_id")?;
        let Some(environment_id) = sqlx::query("SELECT id FROM environments WHERE name = $1")
            .bind(environment.as_str())
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Store::abandon(tx, Ok(None)).await;
        };
        let environment_id = int(&environment_id, "id")?;
        let exists = sqlx::query(
            "SELECT 1 FROM deployments WHERE release_id = $1 AND environment_id = $2 LIMIT 1",
        )
        .bind(release_id)
        .bind(environment_id)
        .fetch_optional(&mut *tx)
        .await?;
        let abandoned = sqlx::query("SELECT state FROM releases WHERE id = $1")
            .bind(release_id)
            .fetch_one(&mut *tx)
            .await?;
        // A release rolled back from there is never picked again by itself.
        let marked = sqlx::query(
            "SELECT 1 FROM release_marks WHERE release_id = $1 AND environment_id = $2 AND unmarked_at IS NULL",
        )
        .bind(release_id)
        .bind(environment_id)
        .fetch_optional(&mut *tx)
        .await?;
        if exists.is_some()
            || marked.is_some()
            || text(&abandoned, "state")? != ferry_core::ReleaseState::Active.as_str()
        {
            return Store::abandon(tx, Ok(None)).await;
        }
        let stamp = now();
        let reason = format!("promoted automatically after deployment {source_id} succeeded");
        let id = sqlx::query(
            "INSERT INTO deployments (release_id, service_id, environment_id, status, created_by, created_at, \
             updated_at, reason) VALUES ($1, (SELECT service_id FROM releases WHERE id = $1), $2, 'queued', 'system', $3, $3, $4) RETURNING id",
        )
        .bind(release_id)
        .bind(environment_id)
        .bind(&stamp)
        .bind(&reason)
        .fetch_one(&mut *tx)
        .await?;
        let id = int(&id, "id")?;
        let created = deployment(
            &sqlx::query(AssertSqlSafe(format!("{SELECT} WHERE d.id = $1")))
                .bind(id)
                .fetch_one(&mut *tx)
                .await?,
        )?;
        let details = json!({ "after": { "release": format!("{}@{}", created.service, created.version),
            "environment": environment, "status": DeploymentStatus::Queued, "reason": reason } });
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
        Ok(Some(created))
    }

    /// Records what another tool reports of deployment `id`: `running`,
    /// `succeeded` or `failed` (a final report on a deployment not yet
    /// running passes through `running`). Reporting the status it has
    /// already changes nothing, so a retried report is harmless.
    pub async fn report_deployment(
        &self,
        actor: &str,
        id: i64,
        to: DeploymentStatus,
        url: Option<&str>,
    ) -> Result<DeploymentRecord> {
        if !matches!(
            to,
            DeploymentStatus::Running | DeploymentStatus::Succeeded | DeploymentStatus::Failed
        ) {
            return Err(StoreError::Invalid(format!(
                "a report says running, succeeded or failed, not {to}"
            )));
        }
        let current = self.deployment(id).await?;
        if current.status == to {
            return Ok(current);
        }
        if let Some(url) = url {
            sqlx::query("UPDATE deployments SET url = $1 WHERE id = $2")
                .bind(url)
                .bind(id)
                .execute(self.pool())
                .await?;
        }
        if to != DeploymentStatus::Running
            && matches!(
                current.status,
                DeploymentStatus::Queued | DeploymentStatus::Waiting
            )
        {
            self.set_deployment_status(actor, id, DeploymentStatus::Running)
                .await?;
        }
        self.set_deployment_status(actor, id, to).await?;
        self.deployment(id).await
    }

    /// Moves deployment `id` to `to`, if the state machine allows it.
    pub async fn set_deployment_status(
        &self,
        actor: &str,
        id: i64,
        to: DeploymentStatus,
    ) -> Result<DeploymentRecord> {
        let mut tx = self.write().await?;
        let current = sqlx::query(AssertSqlSafe(format!("{SELECT} WHERE d.id = $1")))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("there is no deployment {id}")))?;
        let current = deployment(&current)?;
        current
            .status
            .transition(to)
            .map_err(|illegal| StoreError::Invalid(illegal.to_string()))?;
        let stamp = now();
        sqlx::query("UPDATE deployments SET status = $1, updated_at = $2 WHERE id = $3")
            .bind(to.as_str())
            .bind(&stamp)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let reviews = crate::reviews::after_end(&mut tx, id).await?;
        let details = json!({ "before": { "status": current.status }, "after": { "status": to } });
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
        let updated_at = ferry_core::time::parse_time(&stamp).map_err(StoreError::Corrupt)?;
        Ok(DeploymentRecord {
            status: to,
            updated_at,
            ..current
        })
    }

    /// Deployments, newest first, with `id < before`.
    pub async fn deployments(
        &self,
        filter: DeploymentFilter<'_>,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<DeploymentRecord>> {
        // Only the filters given are written, so that each combination walks
        // an index of its own backwards from `before` (an `OR` would make
        // the database read every deployment).
        let mut conditions = vec!["d.id < $3"];
        if filter.service.is_some() {
            conditions.push("d.service_id = (SELECT id FROM services WHERE name = $1)");
        }
        if filter.environment.is_some() {
            conditions.push("d.environment_id = (SELECT id FROM environments WHERE name = $2)");
        }
        // Every placeholder appears, so that the binds below always match.
        conditions.push("$1 = $1 AND $2 = $2");
        let rows = sqlx::query(AssertSqlSafe(format!(
            "{SELECT} WHERE {} ORDER BY d.id DESC LIMIT $4",
            conditions.join(" AND ")
        )))
        .bind(filter.service.map_or("", Name::as_str))
        .bind(filter.environment.map_or("", Name::as_str))
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(deployment).collect()
    }

    /// The deployments under way (queued, waiting, running or verifying),
    /// newest first, at most `limit`: found by their state's index, however
    /// long the history.
    pub async fn deployments_under_way(&self, limit: i64) -> Result<Vec<DeploymentRecord>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "{SELECT} WHERE d.status IN ('queued', 'waiting', 'running', 'verifying') \
             ORDER BY d.id DESC LIMIT $1"
        )))
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(deployment).collect()
    }

    /// The deployments not yet finished that are scheduled from `from` to
    /// before `to`, by when.
    pub async fn scheduled_deployments(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<DeploymentRecord>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "{SELECT} WHERE d.status IN ('queued', 'waiting', 'running', 'verifying') \
             AND d.scheduled_at >= $1 AND d.scheduled_at < $2 ORDER BY d.scheduled_at, d.id"
        )))
        .bind(ferry_core::time::format_time(from))
        .bind(ferry_core::time::format_time(to))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(deployment).collect()
    }

    /// One deployment.
    pub async fn deployment(&self, id: i64) -> Result<DeploymentRecord> {
        let row = sqlx::query(AssertSqlSafe(format!("{SELECT} WHERE d.id = $1")))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("there is no deployment {id}")))?;
        deployment(&row)
    }
}
