//! Incidents, and the facts the DORA metrics are computed from
//! (`ferry_core::dora`).

use chrono::{DateTime, Utc};
use ferry_core::Name;
use ferry_core::dora::{DeploymentFact, IncidentFact};
use ferry_core::notes::NotesCommit;
use serde_json::json;
use sqlx::AssertSqlSafe;
use sqlx::Row;

use crate::audit::append;
use crate::rows::{int, name, now, opt_text, opt_time, text, time};
use crate::{Result, Store, StoreError};

/// An incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentRecord {
    /// Its id.
    pub id: i64,
    /// The service.
    pub service: Name,
    /// The environment.
    pub environment: Name,
    /// The deployment it counts against, if one.
    pub deployment: Option<i64>,
    /// What happened.
    pub title: String,
    /// Who opened it.
    pub opened_by: String,
    /// When.
    pub opened_at: DateTime<Utc>,
    /// Who resolved it, when and how; `None` while open.
    pub resolved: Option<(String, DateTime<Utc>, String)>,
}

const INCIDENTS: &str = "SELECT i.id, s.name AS service, e.name AS environment, i.deployment_id, \
     i.title, i.opened_by, i.opened_at, i.resolved_by, i.resolved_at, i.resolution FROM incidents i \
     JOIN services s ON s.id = i.service_id JOIN environments e ON e.id = i.environment_id";

fn incident(row: &sqlx::any::AnyRow) -> Result<IncidentRecord> {
    let resolved = match opt_time(row, "resolved_at")? {
        Some(at) => Some((
            opt_text(row, "resolved_by")?.unwrap_or_default(),
            at,
            opt_text(row, "resolution")?.unwrap_or_default(),
        )),
        None => None,
    };
    Ok(IncidentRecord {
        id: int(row, "id")?,
        service: name(row, "service")?,
        environment: name(row, "environment")?,
        deployment: row.try_get::<Option<i64>, _>("deployment_id")?,
        title: text(row, "title")?,
        opened_by: text(row, "opened_by")?,
        opened_at: time(row, "opened_at")?,
        resolved,
    })
}

impl Store {
    /// Opens an incident of `service` in `environment`, against
    /// `deployment` when given (which must be a deployment of that service
    /// there).
    pub async fn open_incident(
        &self,
        actor: &str,
        service: &Name,
        environment: &Name,
        deployment: Option<i64>,
        title: &str,
    ) -> Result<IncidentRecord> {
        let mut tx = self.write().await?;
        let service_id = int(
            &sqlx::query("SELECT id FROM services WHERE name = $1")
                .bind(service.as_str())
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("there is no service {service}")))?,
            "id",
        )?;
        let environment_id = int(
            &sqlx::query("SELECT id FROM environments WHERE name = $1")
                .bind(environment.as_str())
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| {
                    StoreError::NotFound(format!("there is no environment {environment}"))
                })?,
            "id",
        )?;
        if let Some(id) = deployment {
            let found = sqlx::query(
                "SELECT 1 AS found FROM deployments WHERE id = $1 AND service_id = $2 AND environment_id = $3",
            )
            .bind(id)
            .bind(service_id)
            .bind(environment_id)
            .fetch_optional(&mut *tx)
            .await?;
            if found.is_none() {
                let error = StoreError::Invalid(format!(
                    "deployment {id} is not a deployment of {service} to {environment}"
                ));
                return Store::abandon(tx, Err(error)).await;
            }
        }
        let row = sqlx::query(
            "INSERT INTO incidents (service_id, environment_id, deployment_id, title, opened_by, opened_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(service_id)
        .bind(environment_id)
        .bind(deployment)
        .bind(title)
        .bind(actor)
        .bind(now())
        .fetch_one(&mut *tx)
        .await?;
        let id = int(&row, "id")?;
        let details = json!({ "after": { "service": service, "environment": environment,
            "deployment": deployment, "title": title } });
        append(
            &mut tx,
            self.backend(),
            actor,
            "incident.open",
            &format!("incident:{id}"),
            details,
        )
        .await?;
        tx.commit().await?;
        self.incident(id).await
    }

    /// Resolves incident `id`; one resolved already is a
    /// [`StoreError::Conflict`].
    pub async fn resolve_incident(
        &self,
        actor: &str,
        id: i64,
        resolution: &str,
    ) -> Result<IncidentRecord> {
        let mut tx = self.write().await?;
        let done = sqlx::query(
            "UPDATE incidents SET resolved_by = $1, resolved_at = $2, resolution = $3 \
             WHERE id = $4 AND resolved_at IS NULL",
        )
        .bind(actor)
        .bind(now())
        .bind(resolution)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            tx.rollback().await?;
            let existing = self.incident(id).await?;
            let (by, at, _) = existing.resolved.unwrap_or_default();
            return Err(StoreError::Conflict(format!(
                "incident {id} was resolved already, by {by} at {}",
                ferry_core::time::format_time(at)
            )));
        }
        let details = json!({ "after": { "resolution": resolution } });
        append(
            &mut tx,
            self.backend(),
            actor,
            "incident.resolve",
            &format!("incident:{id}"),
            details,
        )
        .await?;
        tx.commit().await?;
        self.incident(id).await
    }

    /// Incident `id`.
    pub async fn incident(&self, id: i64) -> Result<IncidentRecord> {
        let row = sqlx::query(AssertSqlSafe(format!("{INCIDENTS} WHERE i.id = $1")))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("there is no incident {id}")))?;
        incident(&row)
    }

    /// The incidents, newest first: those still open only when `open`.
    pub async fn incidents(&self, open: bool) -> Result<Vec<IncidentRecord>> {
        let filter = if open {
            " WHERE i.resolved_at IS NULL"
        } else {
            ""
        };
        sqlx::query(AssertSqlSafe(format!(
            "{INCIDENTS}{filter} ORDER BY i.id DESC"
        )))
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(incident)
        .collect()
    }

    /// Every finished deployment of `service` in `environment`, oldest
    /// first, and its incidents: what `ferry_core::dora::measure` needs.
    pub async fn dora_facts(
        &self,
        service: &Name,
        environment: &Name,
    ) -> Result<(Vec<DeploymentFact>, Vec<IncidentFact>)> {
        let rows = sqlx::query(
            "SELECT d.id, d.release_id, d.status, d.rollback_of, d.updated_at, r.commits \
             FROM deployments d JOIN releases r ON r.id = d.release_id \
             WHERE d.service_id = (SELECT id FROM services WHERE name = $1) \
             AND d.environment_id = (SELECT id FROM environments WHERE name = $2) \
             AND d.status IN ('succeeded', 'failed', 'rolled_back') ORDER BY d.id",
        )
        .bind(service.as_str())
        .bind(environment.as_str())
        .fetch_all(self.pool())
        .await?;
        let mut deployments = Vec::with_capacity(rows.len());
        for row in &rows {
            let commits: Vec<NotesCommit> = serde_json::from_str(&text(row, "commits")?)
                .map_err(|e| StoreError::Corrupt(format!("commits: {e}")))?;
            deployments.push(DeploymentFact {
                id: int(row, "id")?,
                release_id: int(row, "release_id")?,
                succeeded: text(row, "status")? == "succeeded",
                rollback: row.try_get::<Option<i64>, _>("rollback_of")?.is_some(),
                finished_at: time(row, "updated_at")?,
                commits: commits
                    .iter()
                    .filter_map(|c| ferry_core::time::parse_time(&c.time).ok())
                    .collect(),
            });
        }
        let incidents = sqlx::query(
            "SELECT i.opened_at, i.resolved_at, i.deployment_id FROM incidents i \
             WHERE i.service_id = (SELECT id FROM services WHERE name = $1) \
             AND i.environment_id = (SELECT id FROM environments WHERE name = $2) ORDER BY i.id",
        )
        .bind(service.as_str())
        .bind(environment.as_str())
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|row| {
            Ok(IncidentFact {
                opened_at: time(row, "opened_at")?,
                resolved_at: opt_time(row, "resolved_at")?,
                deployment: row.try_get::<Option<i64>, _>("deployment_id")?,
            })
        })
        .collect::<Result<_>>()?;
        Ok((deployments, incidents))
    }
}
