//! Everything the gates need to judge one promotion, read in one place.

use chrono::{DateTime, Utc};
use ferry_core::environment::EnvironmentSpec;
use ferry_core::freeze::FreezeSpec;
use ferry_core::lifecycle::LifecycleSpec;
use ferry_core::{DeploymentStatus, Name};

use crate::approvals::{DecisionRecord, release_and_environment};
use crate::changes::{ChangeFilter, ChangeRecord};
use crate::evidence::LatestEvidence;
use crate::releases::ReleaseRecord;
use crate::rows::{int, name, text, time};
use crate::{Result, Store, StoreError};

/// The facts about a release and an environment that the gates judge.
#[derive(Debug, Clone)]
pub struct GateFacts {
    /// The release.
    pub release: ReleaseRecord,
    /// Its commits, as the JSON array it was created with.
    pub commits_json: String,
    /// The authors and co-authors of its commits, as `Name <mail>`.
    pub people: Vec<String>,
    /// The groups of every user who belongs to one, by user name.
    pub memberships: std::collections::HashMap<String, Vec<String>>,
    /// The environment.
    pub environment: EnvironmentSpec,
    /// The service's lifecycle.
    pub lifecycle: LifecycleSpec,
    /// Where this release has succeeded, and when.
    pub succeeded_in: Vec<(Name, DateTime<Utc>)>,
    /// The decisions on it for this environment.
    pub decisions: Vec<DecisionRecord>,
    /// Its newest evidence of each name in this environment.
    pub evidence: Vec<LatestEvidence>,
    /// Change requests of the service in this environment.
    pub changes: Vec<ChangeRecord>,
    /// Every freeze.
    pub freezes: Vec<FreezeSpec>,
    /// The service's last deployments that finished, newest first: true when
    /// they succeeded.
    pub recent_outcomes: Vec<bool>,
    /// The release's bad mark in this environment, if it has one.
    pub marked_bad: Option<ferry_core::lock::BadMark>,
    /// The locks in force in this environment (of any service).
    pub locks: Vec<ferry_core::lock::LockFact>,
    /// The tasks of the release's plans required before this environment.
    pub required_tasks: Vec<ferry_core::release_plan::RequiredTask>,
}

impl Store {
    /// Reads the facts for promoting `service@version` into `environment`.
    ///
    /// The reads are independent, so they run at once on several pooled
    /// connections: a gate check waits for the slowest read, not for the sum.
    pub async fn gate_facts(
        &self,
        service: &Name,
        version: &semver::Version,
        environment: &Name,
    ) -> Result<GateFacts> {
        let (release_id, environment_id) = self
            .release_environment_ids(service, version, environment)
            .await?;
        let filter = ChangeFilter {
            service: Some(service),
            environment: Some(environment),
            ..ChangeFilter::default()
        };
        let (
            release,
            commits_json,
            environments,
            services,
            lifecycles,
            succeeded_in,
            recent_outcomes,
        ) = tokio::try_join!(
            self.release(service, version),
            self.release_commits(release_id),
            self.environments(),
            self.service_spec(service),
            self.lifecycles(),
            self.successes(release_id),
            self.recent_outcomes(service),
        )?;
        let (people, memberships) =
            tokio::try_join!(self.release_people(release_id), self.memberships())?;
        let (decisions, evidence, changes, freezes, marked_bad, locks, required_tasks) = tokio::try_join!(
            self.decisions(release_id, environment_id),
            self.latest_evidence(release_id, environment_id),
            self.changes(filter),
            self.freezes(),
            self.mark_in_force(release_id, environment_id),
            self.locks(Some(environment)),
            self.required_tasks(release_id, environment),
        )?;
        let environment_spec = environments
            .into_iter()
            .find(|e| &e.spec.name == environment)
            .map(|e| e.spec)
            .ok_or_else(|| {
                StoreError::NotFound(format!(
                    "there is no environment {:?}",
                    environment.as_str()
                ))
            })?;
        let service_spec = services.map(|s| s.spec).ok_or_else(|| {
            StoreError::NotFound(format!("there is no service {:?}", service.as_str()))
        })?;
        let lifecycle = lifecycles
            .into_iter()
            .find(|l| l.spec.name == service_spec.lifecycle)
            .map(|l| l.spec)
            .ok_or_else(|| {
                StoreError::Corrupt(format!("service {service} follows a missing lifecycle"))
            })?;
        Ok(GateFacts {
            release,
            commits_json,
            people,
            memberships,
            environment: environment_spec,
            lifecycle,
            succeeded_in,
            decisions,
            evidence,
            changes,
            freezes: freezes.into_iter().map(|f| f.spec).collect(),
            recent_outcomes,
            marked_bad,
            locks: locks.into_iter().map(|record| record.lock).collect(),
            required_tasks,
        })
    }

    /// Where release `release_id` succeeded, and when.
    pub async fn successes(&self, release_id: i64) -> Result<Vec<(Name, DateTime<Utc>)>> {
        sqlx::query(
            "SELECT e.name, d.updated_at FROM deployments d JOIN environments e ON e.id = d.environment_id \
             WHERE d.release_id = $1 AND d.status = $2 ORDER BY d.id",
        )
        .bind(release_id)
        .bind(DeploymentStatus::Succeeded.as_str())
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|row| Ok((name(row, "name")?, time(row, "updated_at")?)))
        .collect()
    }

    /// The outcomes of the service's last ten finished deployments, newest first.
    async fn recent_outcomes(&self, service: &Name) -> Result<Vec<bool>> {
        sqlx::query(
            "SELECT d.status FROM deployments d \
             WHERE d.service_id = (SELECT id FROM services WHERE name = $1) \
             AND d.status IN ('succeeded', 'failed', 'rolled_back') ORDER BY d.id DESC LIMIT 10",
        )
        .bind(service.as_str())
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|row| Ok(text(row, "status")? == DeploymentStatus::Succeeded.as_str()))
        .collect()
    }

    /// The ids of a release and an environment (for reads that need them).
    pub async fn release_environment_ids(
        &self,
        service: &Name,
        version: &semver::Version,
        environment: &Name,
    ) -> Result<(i64, i64)> {
        let row = sqlx::query(
            "SELECT r.id AS release_id, e.id AS environment_id FROM releases r JOIN services s ON s.id = r.service_id \
             JOIN environments e ON e.name = $3 WHERE s.name = $1 AND r.version = $2",
        )
        .bind(service.as_str())
        .bind(version.to_string())
        .bind(environment.as_str())
        .fetch_optional(self.pool())
        .await?;
        match row {
            Some(row) => Ok((int(&row, "release_id")?, int(&row, "environment_id")?)),
            // Say which of the two is missing.
            None => {
                let mut tx = self.pool().begin().await?;
                let ids = release_and_environment(&mut tx, service, version, environment).await;
                tx.rollback().await?;
                ids
            }
        }
    }
}
