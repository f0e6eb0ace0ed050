//! The facts behind the status matrix.

use ferry_core::status::DeploymentFact;
use ferry_core::{DeploymentStatus, Name, Tier};
use sqlx::any::AnyRow;

use crate::rows::{int, name, text};
use crate::{Result, Store, StoreError};

/// What the matrix is built from.
#[derive(Debug, Clone)]
pub struct StatusFacts {
    /// Environments with their tiers.
    pub environments: Vec<(Name, Tier)>,
    /// Service names.
    pub services: Vec<Name>,
    /// For each service and environment, its newest deployment and its newest
    /// successful one (at most two per pair).
    pub deployments: Vec<DeploymentFact>,
}

fn fact(row: &AnyRow) -> Result<DeploymentFact> {
    let status = text(row, "status")?;
    Ok(DeploymentFact {
        id: int(row, "id")?,
        service: name(row, "service")?,
        environment: name(row, "environment")?,
        version: text(row, "version")?,
        status: DeploymentStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("deployment status {status:?}")))?,
        updated_at: text(row, "updated_at")?,
    })
}

impl Store {
    /// Reads what [`ferry_core::status::matrix`] needs, without reading the
    /// whole deployment history.
    pub async fn status_facts(&self) -> Result<StatusFacts> {
        let mut connection = self.pool().acquire().await?;
        let environments = sqlx::query("SELECT name, tier FROM environments")
            .fetch_all(&mut *connection)
            .await?
            .iter()
            .map(|row| {
                let tier = text(row, "tier")?;
                Ok((
                    name(row, "name")?,
                    Tier::parse(&tier).map_err(StoreError::Corrupt)?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        let services = sqlx::query("SELECT name FROM services ORDER BY name")
            .fetch_all(&mut *connection)
            .await?
            .iter()
            .map(|row| name(row, "name"))
            .collect::<Result<Vec<_>>>()?;
        let deployments = sqlx::query(
            "SELECT d.id, s.name AS service, e.name AS environment, r.version, d.status, d.updated_at \
             FROM deployments d JOIN releases r ON r.id = d.release_id \
             JOIN services s ON s.id = r.service_id JOIN environments e ON e.id = d.environment_id \
             WHERE d.id IN (SELECT MAX(d2.id) FROM deployments d2 JOIN releases r2 ON r2.id = d2.release_id \
                            GROUP BY r2.service_id, d2.environment_id) \
                OR d.id IN (SELECT MAX(d3.id) FROM deployments d3 JOIN releases r3 ON r3.id = d3.release_id \
                            WHERE d3.status = 'succeeded' GROUP BY r3.service_id, d3.environment_id)",
        )
        .fetch_all(&mut *connection)
        .await?
        .iter()
        .map(fact)
        .collect::<Result<Vec<_>>>()?;
        Ok(StatusFacts {
            environments,
            services,
            deployments,
        })
    }
}

impl Store {
    /// Something that changes whenever a deployment is recorded or changes
    /// state: an open dashboard asks for it to know when to show anew.
    pub async fn deployments_stamp(&self) -> Result<String> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n, COALESCE(MAX(updated_at), '') AS at FROM deployments",
        )
        .fetch_one(self.pool())
        .await?;
        Ok(format!("{}@{}", int(&row, "n")?, text(&row, "at")?))
    }
}
