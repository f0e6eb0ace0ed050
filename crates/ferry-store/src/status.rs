//! The facts behind the status matrix.

use std::sync::Arc;

use ferry_core::status::DeploymentFact;
use ferry_core::{DeploymentStatus, Name, Tier};
use sqlx::AssertSqlSafe;

use crate::freshness::Topic;
use crate::rows::{int, json, name, text};
use crate::{Backend, Result, Store, StoreError};

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

/// A deployment as the status query lists it: id, service, environment,
/// version, status, last change.
type FactRow = (i64, String, String, String, String, String);

fn fact(
    (id, service, environment, version, status, updated_at): FactRow,
) -> Result<DeploymentFact> {
    let name = |text: String| Name::parse(&text).map_err(|e| StoreError::Corrupt(e.to_string()));
    Ok(DeploymentFact {
        id,
        service: name(service)?,
        environment: name(environment)?,
        version,
        status: DeploymentStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("deployment status {status:?}")))?,
        updated_at,
    })
}

impl Store {
    /// What [`ferry_core::status::matrix`] needs (for service `only` when
    /// given), from the in-memory read model: built from the current-state
    /// table (one row per service and environment, never the history) after
    /// a write of deployments, services or environments, here or on another
    /// replica (see [`crate::freshness`]).
    pub async fn status_facts(&self, only: Option<&Name>) -> Result<Arc<StatusFacts>> {
        let stamp = self.stamp(&[Topic::Deployments, Topic::Catalog]);
        let all = self
            .status_model
            .get_or_build(stamp, self.status_facts_from_heads())
            .await?;
        Ok(match only {
            None => all,
            Some(service) => Arc::new(StatusFacts {
                environments: all.environments.clone(),
                services: all
                    .services
                    .iter()
                    .filter(|s| *s == service)
                    .cloned()
                    .collect(),
                deployments: all
                    .deployments
                    .iter()
                    .filter(|d| &d.service == service)
                    .cloned()
                    .collect(),
            }),
        })
    }

    /// What the read model is built from: the current-state table.
    pub async fn status_facts_from_heads(&self) -> Result<StatusFacts> {
        self.read_status_facts(
            "SELECT latest_id FROM deployment_heads \
             UNION SELECT current_id FROM deployment_heads WHERE current_id IS NOT NULL",
        )
        .await
    }

    /// The same facts worked out from the whole deployment history, the way
    /// the current-state table must agree with (tests compare the two).
    pub async fn status_facts_from_history(&self) -> Result<StatusFacts> {
        self.read_status_facts(
            "SELECT MAX(id) FROM deployments GROUP BY service_id, environment_id \
             UNION SELECT MAX(id) FROM deployments WHERE status = 'succeeded' \
             GROUP BY service_id, environment_id",
        )
        .await
    }

    async fn read_status_facts(&self, ids: &str) -> Result<StatusFacts> {
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
        // The answer comes back as one JSON document: thousands of rows
        // handed over one by one cost more than finding them.
        let list = match self.backend() {
            Backend::Sqlite => {
                "COALESCE(json_group_array(json_array(d.id, s.name, e.name, r.version, d.status, \
                 d.updated_at)), '[]')"
            }
            Backend::Postgres => {
                "COALESCE(json_agg(json_build_array(d.id, s.name, e.name, r.version, d.status, \
                 d.updated_at))::text, '[]')"
            }
        };
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {list} AS items \
             FROM deployments d JOIN releases r ON r.id = d.release_id \
             JOIN services s ON s.id = d.service_id JOIN environments e ON e.id = d.environment_id \
             WHERE d.id IN ({ids})"
        )))
        .fetch_one(&mut *connection)
        .await?;
        let rows: Vec<FactRow> = json(&row, "items")?;
        let deployments = rows.into_iter().map(fact).collect::<Result<Vec<_>>>()?;
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
            // Deployments are never removed: the newest id and the newest
            // change say it all, each from an index.
            "SELECT COALESCE((SELECT MAX(id) FROM deployments), 0) AS n, \
             COALESCE((SELECT MAX(updated_at) FROM deployments), '') AS at",
        )
        .fetch_one(self.pool())
        .await?;
        Ok(format!("{}@{}", int(&row, "n")?, text(&row, "at")?))
    }

    /// How many deployments are queued or waiting (for their time, a
    /// window, a freeze, their turn, an agent or a person's decision).
    pub async fn deployments_queued(&self) -> Result<i64> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM deployments WHERE status IN ('queued', 'waiting')",
        )
        .fetch_one(self.pool())
        .await?;
        int(&row, "n")
    }
}
