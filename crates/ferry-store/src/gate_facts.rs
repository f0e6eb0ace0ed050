//! Everything the gates need to judge one promotion, read in one place.

use chrono::{DateTime, Utc};
use ferry_core::environment::EnvironmentSpec;
use ferry_core::freeze::FreezeSpec;
use ferry_core::lifecycle::LifecycleSpec;
use ferry_core::{DeploymentStatus, Name};

use crate::approvals::{DecisionRecord, release_and_environment};
use crate::changes::{ChangeFilter, ChangeRecord};
use crate::evidence::LatestEvidence;
use crate::freshness::Stamped;
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

/// What every judgement at one moment shares, whichever release it is
/// about: read once when many promotions are judged together (the
/// dashboard's waiting versions), and with the release's own facts when one
/// is.
#[derive(Debug, Clone)]
pub struct GateContext {
    /// Every environment.
    pub environments: Vec<EnvironmentSpec>,
    /// Every lifecycle.
    pub lifecycles: Vec<LifecycleSpec>,
    /// The groups of every user who belongs to one, by user name.
    pub memberships: std::collections::HashMap<String, Vec<String>>,
    /// Every freeze.
    pub freezes: Vec<FreezeSpec>,
    /// The locks in force, in every environment.
    pub locks: Vec<ferry_core::lock::LockFact>,
}

/// Facts read before, each kept while nothing has changed (see
/// [`crate::freshness::Stamped`]): a gate check of an unchanged promotion
/// reads only the audit trail's head.
#[derive(Debug)]
pub(crate) struct KeptFacts {
    facts: Stamped<(Name, String, Name), GateFacts>,
    context: Stamped<(), GateContext>,
}

impl Default for KeptFacts {
    fn default() -> Self {
        Self {
            facts: Stamped::new(4096),
            context: Stamped::new(1),
        }
    }
}

/// The facts of one release and environment, before the shared context
/// completes them.
struct ReleaseReads {
    release: ReleaseRecord,
    commits_json: String,
    service_spec: Option<ferry_core::service::ServiceSpec>,
    succeeded_in: Vec<(Name, DateTime<Utc>)>,
    recent_outcomes: Vec<bool>,
    people: Vec<String>,
    decisions: Vec<DecisionRecord>,
    evidence: Vec<LatestEvidence>,
    changes: Vec<ChangeRecord>,
    marked_bad: Option<ferry_core::lock::BadMark>,
    required_tasks: Vec<ferry_core::release_plan::RequiredTask>,
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
        let stamp = self.change_stamp().await?;
        let key = (service.clone(), version.to_string(), environment.clone());
        let facts = self
            .gate_facts_kept
            .facts
            .get_or_build(key, stamp, async {
                let (context, reads) = tokio::try_join!(
                    self.context_at(stamp),
                    self.release_reads(service, version, environment)
                )?;
                assemble(&context, reads, service, environment)
            })
            .await?;
        Ok(GateFacts::clone(&facts))
    }

    /// The facts for promoting `service@version` into `environment`, with
    /// the shared ones taken from `context` instead of read again.
    pub async fn gate_facts_in(
        &self,
        context: &GateContext,
        service: &Name,
        version: &semver::Version,
        environment: &Name,
    ) -> Result<GateFacts> {
        let reads = self.release_reads(service, version, environment).await?;
        assemble(context, reads, service, environment)
    }

    /// What every judgement shares: environments, lifecycles, group
    /// memberships, freezes and the locks in force.
    pub async fn gate_context(&self) -> Result<GateContext> {
        let stamp = self.change_stamp().await?;
        let context = self.context_at(stamp).await?;
        Ok(GateContext::clone(&context))
    }

    /// [`Store::gate_context`] kept at `stamp`, read before.
    async fn context_at(&self, stamp: i64) -> Result<std::sync::Arc<GateContext>> {
        self.gate_facts_kept
            .context
            .get_or_build((), stamp, self.read_gate_context())
            .await
    }

    /// [`Store::gate_context`] read from the database.
    async fn read_gate_context(&self) -> Result<GateContext> {
        let (environments, lifecycles, memberships, freezes, locks) = tokio::try_join!(
            self.environments(),
            self.lifecycles(),
            self.memberships(),
            self.freezes(),
            self.locks(None),
        )?;
        Ok(GateContext {
            environments: environments.into_iter().map(|e| e.spec).collect(),
            lifecycles: lifecycles.into_iter().map(|l| l.spec).collect(),
            memberships,
            freezes: freezes.into_iter().map(|f| f.spec).collect(),
            locks: locks.into_iter().map(|record| record.lock).collect(),
        })
    }

    /// The facts of `service@version` and `environment` alone.
    async fn release_reads(
        &self,
        service: &Name,
        version: &semver::Version,
        environment: &Name,
    ) -> Result<ReleaseReads> {
        let (release_id, environment_id) = self
            .release_environment_ids(service, version, environment)
            .await?;
        let filter = ChangeFilter {
            service: Some(service),
            environment: Some(environment),
            ..ChangeFilter::default()
        };
        let (release, commits_json, service_spec, succeeded_in, recent_outcomes, people) = tokio::try_join!(
            self.release(service, version),
            self.release_commits(release_id),
            self.service_spec(service),
            self.successes(release_id),
            self.recent_outcomes(service),
            self.release_people(release_id),
        )?;
        let (decisions, evidence, changes, marked_bad, required_tasks) = tokio::try_join!(
            self.decisions(release_id, environment_id),
            self.latest_evidence(release_id, environment_id),
            self.changes(filter),
            self.mark_in_force(release_id, environment_id),
            self.required_tasks(release_id, environment),
        )?;
        Ok(ReleaseReads {
            release,
            commits_json,
            service_spec: service_spec.map(|stored| stored.spec),
            succeeded_in,
            recent_outcomes,
            people,
            decisions,
            evidence,
            changes,
            marked_bad,
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

/// One judgement's facts: the release's own, completed by the shared ones.
fn assemble(
    context: &GateContext,
    reads: ReleaseReads,
    service: &Name,
    environment: &Name,
) -> Result<GateFacts> {
    let environment_spec = context
        .environments
        .iter()
        .find(|e| &e.name == environment)
        .cloned()
        .ok_or_else(|| {
            StoreError::NotFound(format!(
                "there is no environment {:?}",
                environment.as_str()
            ))
        })?;
    let service_spec = reads.service_spec.ok_or_else(|| {
        StoreError::NotFound(format!("there is no service {:?}", service.as_str()))
    })?;
    let lifecycle = context
        .lifecycles
        .iter()
        .find(|l| l.name == service_spec.lifecycle)
        .cloned()
        .ok_or_else(|| {
            StoreError::Corrupt(format!("service {service} follows a missing lifecycle"))
        })?;
    Ok(GateFacts {
        release: reads.release,
        commits_json: reads.commits_json,
        people: reads.people,
        memberships: context.memberships.clone(),
        environment: environment_spec,
        lifecycle,
        succeeded_in: reads.succeeded_in,
        decisions: reads.decisions,
        evidence: reads.evidence,
        changes: reads.changes,
        freezes: context.freezes.clone(),
        recent_outcomes: reads.recent_outcomes,
        marked_bad: reads.marked_bad,
        locks: context
            .locks
            .iter()
            .filter(|lock| &lock.environment == environment)
            .cloned()
            .collect(),
        required_tasks: reads.required_tasks,
    })
}
