//! Everything the gates need to judge one promotion, read in one place.

use chrono::{DateTime, Utc};
use ferry_core::environment::EnvironmentSpec;
use ferry_core::freeze::FreezeSpec;
use ferry_core::lifecycle::LifecycleSpec;
use ferry_core::{DeploymentStatus, Name};

use crate::approvals::{DecisionRecord, release_and_environment};
use crate::changes::{ChangeFilter, ChangeRecord};
use crate::evidence::EvidenceRecord;
use crate::releases::ReleaseRecord;
use crate::rows::{name, text, time};
use crate::{Result, Store, StoreError};

/// The facts about a release and an environment that the gates judge.
#[derive(Debug, Clone)]
pub struct GateFacts {
    /// The release.
    pub release: ReleaseRecord,
    /// Its commits, as the JSON array it was created with.
    pub commits_json: String,
    /// The environment.
    pub environment: EnvironmentSpec,
    /// The service's lifecycle.
    pub lifecycle: LifecycleSpec,
    /// Where this release has succeeded, and when.
    pub succeeded_in: Vec<(Name, DateTime<Utc>)>,
    /// The decisions on it for this environment.
    pub decisions: Vec<DecisionRecord>,
    /// Its evidence in this environment.
    pub evidence: Vec<EvidenceRecord>,
    /// Change requests of the service in this environment.
    pub changes: Vec<ChangeRecord>,
    /// Every freeze.
    pub freezes: Vec<FreezeSpec>,
    /// The service's last deployments that finished, newest first: true when
    /// they succeeded.
    pub recent_outcomes: Vec<bool>,
}

impl Store {
    /// Reads the facts for promoting `service@version` into `environment`.
    pub async fn gate_facts(
        &self,
        service: &Name,
        version: &semver::Version,
        environment: &Name,
    ) -> Result<GateFacts> {
        let mut tx = self.pool().begin().await?;
        let (release_id, environment_id) =
            release_and_environment(&mut tx, service, version, environment).await?;
        tx.rollback().await?;
        let release = self.release(service, version).await?;
        let commits_json = self.release_commits(release_id).await?;
        let environment_spec = self
            .environments()
            .await?
            .into_iter()
            .find(|e| &e.spec.name == environment)
            .map(|e| e.spec)
            .ok_or_else(|| {
                StoreError::NotFound(format!(
                    "there is no environment {:?}",
                    environment.as_str()
                ))
            })?;
        let service_spec = self
            .services()
            .await?
            .into_iter()
            .find(|s| &s.spec.name == service)
            .map(|s| s.spec)
            .ok_or_else(|| {
                StoreError::NotFound(format!("there is no service {:?}", service.as_str()))
            })?;
        let lifecycle = self
            .lifecycles()
            .await?
            .into_iter()
            .find(|l| l.spec.name == service_spec.lifecycle)
            .map(|l| l.spec)
            .ok_or_else(|| {
                StoreError::Corrupt(format!("service {service} follows a missing lifecycle"))
            })?;
        let succeeded_in = sqlx::query(
            "SELECT e.name, d.updated_at FROM deployments d JOIN environments e ON e.id = d.environment_id \
             WHERE d.release_id = $1 AND d.status = $2 ORDER BY d.id",
        )
        .bind(release_id)
        .bind(DeploymentStatus::Succeeded.as_str())
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|row| Ok((name(row, "name")?, time(row, "updated_at")?)))
        .collect::<Result<Vec<_>>>()?;
        let recent_outcomes = sqlx::query(
            "SELECT d.status FROM deployments d JOIN releases r ON r.id = d.release_id JOIN services s ON s.id = r.service_id \
             WHERE s.name = $1 AND d.status IN ('succeeded', 'failed', 'rolled_back') ORDER BY d.id DESC LIMIT 10",
        )
        .bind(service.as_str())
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|row| Ok(text(row, "status")? == DeploymentStatus::Succeeded.as_str()))
        .collect::<Result<Vec<_>>>()?;
        let filter = ChangeFilter {
            service: Some(service),
            environment: Some(environment),
            ..ChangeFilter::default()
        };
        Ok(GateFacts {
            release,
            commits_json,
            environment: environment_spec,
            lifecycle,
            succeeded_in,
            decisions: self.decisions(release_id, environment_id).await?,
            evidence: self.evidence(release_id, environment_id).await?,
            changes: self.changes(filter).await?,
            freezes: self.freezes().await?.into_iter().map(|f| f.spec).collect(),
            recent_outcomes,
        })
    }

    /// The ids of a release and an environment (for reads that need them).
    pub async fn release_environment_ids(
        &self,
        service: &Name,
        version: &semver::Version,
        environment: &Name,
    ) -> Result<(i64, i64)> {
        let mut tx = self.pool().begin().await?;
        let ids = release_and_environment(&mut tx, service, version, environment).await;
        tx.rollback().await?;
        ids
    }
}
