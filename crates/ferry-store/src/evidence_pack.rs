//! What an evidence pack holds, read from one snapshot of the database: the
//! releases it covers with their commits, change requests and evidence,
//! their deployments with their jobs and logs, the audit events about all
//! of these, and the head of the audit trail, all as of one moment (on
//! PostgreSQL a `REPEATABLE READ` transaction; on SQLite a read
//! transaction, which WAL keeps on one snapshot), so the head is never
//! older than an event read.
//!
//! Reading a pack changes nothing and is not audited.

use chrono::{DateTime, Utc};
use ferry_core::Name;
use ferry_core::audit::AuditRecord;
use sqlx::AssertSqlSafe;
use sqlx::any::AnyRow;

use crate::changes::ChangeRecord;
use crate::deployments::DeploymentRecord;
use crate::evidence::EvidenceRecord;
use crate::logs::LogRecord;
use crate::releases::ReleaseRecord;
use crate::rows::{int, text};
use crate::{Backend, Result, Store, StoreError};

/// What a pack covers.
#[derive(Debug, Clone, Copy)]
pub enum PackScope<'a> {
    /// One release, in one environment or all.
    Release {
        /// Its service.
        service: &'a Name,
        /// Its version.
        version: &'a semver::Version,
        /// Only what concerns this environment.
        environment: Option<&'a Name>,
    },
    /// The deployments made from `since` to before `until`, with the
    /// releases they deployed.
    Period {
        /// The first instant of the period.
        since: DateTime<Utc>,
        /// The first instant after it.
        until: DateTime<Utc>,
        /// Only this service's deployments.
        service: Option<&'a Name>,
        /// Only the deployments into this environment.
        environment: Option<&'a Name>,
    },
}

/// Everything a pack tells, as stored.
#[derive(Debug, Clone)]
pub struct PackRecords {
    /// The releases, oldest first, each with what concerns it.
    pub releases: Vec<PackRelease>,
    /// The audit events about the releases, their change requests, their
    /// deployments and those deployments' jobs, by sequence number.
    pub events: Vec<AuditRecord>,
    /// The audit trail's last event when it was read: its sequence number.
    pub head_seq: i64,
    /// Its hash.
    pub head_hash: String,
}

/// A release of a pack.
#[derive(Debug, Clone)]
pub struct PackRelease {
    /// The release, with its artifacts.
    pub release: ReleaseRecord,
    /// Its commits, as the JSON array it was created with.
    pub commits: String,
    /// The change requests that name it (in the pack's environment).
    pub changes: Vec<ChangeRecord>,
    /// Its evidence (in the pack's environment), oldest first.
    pub evidence: Vec<PackEvidence>,
    /// Its deployments (those of the pack's scope), oldest first.
    pub deployments: Vec<PackDeployment>,
}

/// Evidence, with the environment it was recorded for.
#[derive(Debug, Clone)]
pub struct PackEvidence {
    /// The environment.
    pub environment: String,
    /// The evidence.
    pub record: EvidenceRecord,
}

/// A deployment of a pack.
#[derive(Debug, Clone)]
pub struct PackDeployment {
    /// The deployment.
    pub deployment: DeploymentRecord,
    /// Its jobs, by batch and target.
    pub jobs: Vec<PackJob>,
    /// Its whole log, oldest line first.
    pub logs: Vec<LogRecord>,
}

/// A job of a deployment: one target's part in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackJob {
    /// Its id.
    pub id: i64,
    /// The agent (target) that ran it.
    pub agent: String,
    /// Its batch, from 0.
    pub batch: i64,
    /// `deploy` or `rollback`.
    pub kind: String,
    /// Where it stands.
    pub state: String,
    /// How many times it was claimed.
    pub attempt: i64,
}

/// A read transaction on one snapshot.
type Snapshot = sqlx::Transaction<'static, sqlx::Any>;

/// A query of the store's one database type.
type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>;

impl Store {
    /// The records of the pack `scope` covers: refused (not found) when the
    /// release, the service or the environment it names does not exist.
    pub async fn evidence_pack(&self, scope: PackScope<'_>) -> Result<PackRecords> {
        let mut tx = self.pool().begin().await?;
        if self.backend() == Backend::Postgres {
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(&mut *tx)
                .await?;
        }
        let read = read(&mut tx, self.backend(), scope).await;
        tx.rollback().await?;
        read
    }
}

async fn read(tx: &mut Snapshot, backend: Backend, scope: PackScope<'_>) -> Result<PackRecords> {
    let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
        .fetch_one(&mut **tx)
        .await?;
    let (head_seq, head_hash) = (int(&head, "seq")?, text(&head, "hash")?);
    let (releases, deployments, environment) = match scope {
        PackScope::Release {
            service,
            version,
            environment,
        } => {
            if let Some(environment) = environment {
                environment_exists(tx, environment).await?;
            }
            let release = release(tx, service, version).await?;
            let deployments = deployments_where(
                tx,
                "d.release_id = $1 AND ($2 = '' OR e.name = $2)",
                |query| {
                    query
                        .bind(release.id)
                        .bind(environment.map_or("", Name::as_str))
                },
            )
            .await?;
            (vec![release], deployments, environment)
        }
        PackScope::Period {
            since,
            until,
            service,
            environment,
        } => {
            if let Some(service) = service {
                crate::releases::service_id(tx, service).await?;
            }
            if let Some(environment) = environment {
                environment_exists(tx, environment).await?;
            }
            let deployments = deployments_where(
                tx,
                "d.created_at >= $1 AND d.created_at < $2 AND ($3 = '' OR s.name = $3) \
                 AND ($4 = '' OR e.name = $4)",
                |query| {
                    query
                        .bind(ferry_core::time::format_time(since))
                        .bind(ferry_core::time::format_time(until))
                        .bind(service.map_or("", Name::as_str))
                        .bind(environment.map_or("", Name::as_str))
                },
            )
            .await?;
            let mut releases: Vec<ReleaseRecord> = Vec::new();
            for deployment in &deployments {
                let known = releases.iter().any(|release| {
                    release.service == deployment.service && release.version == deployment.version
                });
                if !known {
                    let service = Name::parse(&deployment.service).map_err(|error| {
                        StoreError::Corrupt(format!("service {:?}: {error}", deployment.service))
                    })?;
                    let version = semver::Version::parse(&deployment.version).map_err(|error| {
                        StoreError::Corrupt(format!("version {:?}: {error}", deployment.version))
                    })?;
                    releases.push(release(tx, &service, &version).await?);
                }
            }
            releases.sort_by_key(|release| release.id);
            (releases, deployments, environment)
        }
    };
    let only = environment.map_or_else(String::new, Name::to_string);
    let mut objects = Vec::new();
    let mut pack = Vec::with_capacity(releases.len());
    for release in releases {
        objects.push(format!("release:{}@{}", release.service, release.version));
        let commits = text(
            &sqlx::query("SELECT commits FROM releases WHERE id = $1")
                .bind(release.id)
                .fetch_one(&mut **tx)
                .await?,
            "commits",
        )?;
        let changes = sqlx::query(AssertSqlSafe(format!(
            "{} WHERE c.release_id = $1 AND ($2 = '' OR e.name = $2) ORDER BY c.id",
            crate::changes::SELECT
        )))
        .bind(release.id)
        .bind(&only)
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(crate::changes::change)
        .collect::<Result<Vec<_>>>()?;
        objects.extend(changes.iter().map(|change| format!("change:{}", change.id)));
        let evidence = sqlx::query(
            "SELECT v.id, v.name, v.passed, v.summary, v.report, v.url, v.created_by, v.created_at, \
             e.name AS environment FROM evidence v JOIN environments e ON e.id = v.environment_id \
             WHERE v.release_id = $1 AND ($2 = '' OR e.name = $2) ORDER BY v.id",
        )
        .bind(release.id)
        .bind(&only)
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|row| {
            Ok(PackEvidence {
                environment: text(row, "environment")?,
                record: crate::evidence::evidence(row)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
        let mut own = Vec::new();
        for deployment in deployments
            .iter()
            .filter(|d| d.service == release.service && d.version == release.version)
        {
            objects.push(format!("deployment:{}", deployment.id));
            let jobs = jobs(tx, deployment.id).await?;
            objects.extend(jobs.iter().map(|job| format!("job:{}", job.id)));
            own.push(PackDeployment {
                deployment: deployment.clone(),
                jobs,
                logs: logs(tx, deployment.id).await?,
            });
        }
        pack.push(PackRelease {
            release,
            commits,
            changes,
            evidence,
            deployments: own,
        });
    }
    let events = events_about(tx, backend, &objects, head_seq).await?;
    Ok(PackRecords {
        releases: pack,
        events,
        head_seq,
        head_hash,
    })
}

async fn environment_exists(tx: &mut Snapshot, environment: &Name) -> Result<()> {
    sqlx::query("SELECT id FROM environments WHERE name = $1")
        .bind(environment.as_str())
        .fetch_optional(&mut **tx)
        .await?
        .map(|_| ())
        .ok_or_else(|| {
            StoreError::NotFound(format!(
                "there is no environment {:?}",
                environment.as_str()
            ))
        })
}

/// A release with its artifacts.
async fn release(
    tx: &mut Snapshot,
    service: &Name,
    version: &semver::Version,
) -> Result<ReleaseRecord> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "{} WHERE s.name = $1 AND r.version = $2",
        crate::releases::SELECT
    )))
    .bind(service.as_str())
    .bind(version.to_string())
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("there is no release {service}@{version}")))?;
    let mut release = crate::releases::release(&row)?;
    release.artifacts = sqlx::query(
        "SELECT name, digest, size, uri FROM artifacts WHERE release_id = $1 ORDER BY name",
    )
    .bind(release.id)
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(crate::releases::artifact)
    .collect::<Result<Vec<_>>>()?;
    Ok(release)
}

/// The deployments `condition` lets through, with the parameters `bind`
/// gives it, oldest first.
async fn deployments_where<'q>(
    tx: &mut Snapshot,
    condition: &str,
    bind: impl FnOnce(AnyQuery<'q>) -> AnyQuery<'q>,
) -> Result<Vec<DeploymentRecord>> {
    let sql = format!(
        "{} WHERE {condition} ORDER BY d.id",
        crate::deployments::SELECT
    );
    bind(sqlx::query(AssertSqlSafe(sql)))
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(crate::deployments::deployment)
        .collect()
}

async fn jobs(tx: &mut Snapshot, deployment_id: i64) -> Result<Vec<PackJob>> {
    let rows = sqlx::query(
        "SELECT j.id, a.name AS agent, j.batch, j.kind, j.state, j.attempt FROM jobs j \
         JOIN agents a ON a.id = j.agent_id WHERE j.deployment_id = $1 ORDER BY j.batch, a.name, j.id",
    )
    .bind(deployment_id)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter()
        .map(|row: &AnyRow| {
            Ok(PackJob {
                id: int(row, "id")?,
                agent: text(row, "agent")?,
                batch: int(row, "batch")?,
                kind: text(row, "kind")?,
                state: text(row, "state")?,
                attempt: int(row, "attempt")?,
            })
        })
        .collect()
}

/// A deployment's whole log, a page at a time.
async fn logs(tx: &mut Snapshot, deployment_id: i64) -> Result<Vec<LogRecord>> {
    let mut lines = Vec::new();
    let mut after = 0;
    loop {
        let page = sqlx::query(
            "SELECT l.id, l.job_id, a.name AS target, l.attempt, l.at, l.stream, l.step, l.line \
             FROM deployment_logs l JOIN jobs j ON j.id = l.job_id JOIN agents a ON a.id = j.agent_id \
             WHERE l.deployment_id = $1 AND l.id > $2 ORDER BY l.id LIMIT 1000",
        )
        .bind(deployment_id)
        .bind(after)
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(crate::logs::record)
        .collect::<Result<Vec<_>>>()?;
        let Some(last) = page.last() else {
            return Ok(lines);
        };
        after = last.id;
        lines.extend(page);
    }
}

/// The events about `objects` up to the head, by sequence number: one pass
/// over the trail, the objects given as one JSON array.
async fn events_about(
    tx: &mut Snapshot,
    backend: Backend,
    objects: &[String],
    head: i64,
) -> Result<Vec<AuditRecord>> {
    if objects.is_empty() {
        return Ok(Vec::new());
    }
    let listed = match backend {
        Backend::Sqlite => "SELECT value FROM json_each($1)",
        Backend::Postgres => "SELECT jsonb_array_elements_text(CAST($1 AS jsonb))",
    };
    let sql = format!(
        "SELECT seq, time, actor, action, object, details, prev_hash, hash FROM audit_events \
         WHERE object IN ({listed}) AND seq <= $2 ORDER BY seq"
    );
    sqlx::query(AssertSqlSafe(sql))
        .bind(serde_json::to_string(objects)?)
        .bind(head)
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(crate::audit::record)
        .collect()
}
