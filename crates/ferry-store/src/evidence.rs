//! Evidence that a release was tested in an environment: JUnit reports
//! (their totals and failing cases) and named checks.

use chrono::{DateTime, Utc};
use ferry_core::Name;
use serde_json::json;
use sqlx::any::AnyRow;

use crate::approvals::release_and_environment;
use crate::audit::append;
use crate::rows::{int, json, now, opt_text, text, time};
use crate::{Backend, Result, Store, StoreError};

/// A piece of evidence as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceRecord {
    /// Row id.
    pub id: i64,
    /// The suite or check name.
    pub name: String,
    /// Whether it passed.
    pub passed: bool,
    /// One line for people, such as "120 tests, 2 failed".
    pub summary: String,
    /// The parsed report (JSON), for JUnit evidence.
    pub report: Option<String>,
    /// A link to the run.
    pub url: Option<String>,
    /// Who recorded it.
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// Evidence to record.
#[derive(Debug, Clone)]
pub struct NewEvidence<'a> {
    /// The suite or check name.
    pub name: &'a str,
    /// Whether it passed.
    pub passed: bool,
    /// One line for people.
    pub summary: &'a str,
    /// The parsed report (JSON).
    pub report: Option<&'a str>,
    /// A link to the run.
    pub url: Option<&'a str>,
}

pub(crate) fn evidence(row: &AnyRow) -> Result<EvidenceRecord> {
    Ok(EvidenceRecord {
        id: int(row, "id")?,
        name: text(row, "name")?,
        passed: int(row, "passed")? != 0,
        summary: text(row, "summary")?,
        report: opt_text(row, "report")?,
        url: opt_text(row, "url")?,
        created_by: text(row, "created_by")?,
        created_at: time(row, "created_at")?,
    })
}

/// The newest evidence of each name, as the gates need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatestEvidence {
    /// The suite or check name.
    pub name: String,
    /// Whether it passed.
    pub passed: bool,
    /// One line for people.
    pub summary: String,
    /// When it was recorded.
    pub created_at: DateTime<Utc>,
}

/// Evidence as the JSON aggregation writes it.
#[derive(serde::Deserialize)]
struct EvidenceJson {
    id: i64,
    name: String,
    passed: i64,
    summary: String,
    report: Option<String>,
    url: Option<String>,
    created_by: String,
    created_at: String,
}

impl EvidenceJson {
    fn into_record(self) -> Result<EvidenceRecord> {
        Ok(EvidenceRecord {
            id: self.id,
            name: self.name,
            passed: self.passed != 0,
            summary: self.summary,
            report: self.report,
            url: self.url,
            created_by: self.created_by,
            created_at: ferry_core::time::parse_time(&self.created_at)
                .map_err(StoreError::Corrupt)?,
        })
    }
}

impl Store {
    /// The newest evidence of each name for a release in an environment:
    /// what the gates judge, without the history or the reports.
    pub async fn latest_evidence(
        &self,
        release_id: i64,
        environment_id: i64,
    ) -> Result<Vec<LatestEvidence>> {
        let sql = match self.backend() {
            Backend::Sqlite => {
                "SELECT COALESCE(json_group_array(json_array(name, passed, summary, created_at)), '[]') AS items \
                 FROM evidence WHERE id IN (SELECT MAX(id) FROM evidence WHERE release_id = $1 AND environment_id = $2 GROUP BY name)"
            }
            Backend::Postgres => {
                "SELECT COALESCE(json_agg(json_build_array(name, passed, summary, created_at))::text, '[]') AS items \
                 FROM evidence WHERE id IN (SELECT MAX(id) FROM evidence WHERE release_id = $1 AND environment_id = $2 GROUP BY name)"
            }
        };
        let row = sqlx::query(sql)
            .bind(release_id)
            .bind(environment_id)
            .fetch_one(self.pool())
            .await?;
        let items: Vec<(String, i64, String, String)> = json(&row, "items")?;
        items
            .into_iter()
            .map(|(name, passed, summary, at)| {
                let created_at = ferry_core::time::parse_time(&at).map_err(StoreError::Corrupt)?;
                Ok(LatestEvidence {
                    name,
                    passed: passed != 0,
                    summary,
                    created_at,
                })
            })
            .collect()
    }

    /// Records evidence for `service@version` in `environment`.
    pub async fn add_evidence(
        &self,
        actor: &str,
        service: &Name,
        version: &semver::Version,
        environment: &Name,
        new: NewEvidence<'_>,
    ) -> Result<EvidenceRecord> {
        let mut tx = self.write().await?;
        let (release_id, environment_id) =
            release_and_environment(&mut tx, service, version, environment).await?;
        let row = sqlx::query(
            "INSERT INTO evidence (release_id, environment_id, name, passed, summary, report, url, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             RETURNING id, name, passed, summary, report, url, created_by, created_at",
        )
        .bind(release_id)
        .bind(environment_id)
        .bind(new.name)
        .bind(i64::from(new.passed))
        .bind(new.summary)
        .bind(new.report)
        .bind(new.url)
        .bind(actor)
        .bind(now())
        .fetch_one(&mut *tx)
        .await?;
        let record = evidence(&row)?;
        let details = json!({ "after": { "release": format!("{service}@{version}"), "environment": environment,
            "name": new.name, "passed": new.passed, "summary": new.summary, "url": new.url } });
        append(
            &mut tx,
            self.backend(),
            actor,
            "evidence.add",
            &format!("release:{service}@{version}"),
            details,
        )
        .await?;
        tx.commit().await?;
        Ok(record)
    }

    /// The evidence of a release in an environment, oldest first, as one
    /// JSON array in one row (see [`Store::decisions`] for why).
    pub async fn evidence(
        &self,
        release_id: i64,
        environment_id: i64,
    ) -> Result<Vec<EvidenceRecord>> {
        let sql = match self.backend() {
            Backend::Sqlite => {
                "SELECT COALESCE(json_group_array(json_object('id', id, 'name', name, 'passed', passed, \
                 'summary', summary, 'report', report, 'url', url, 'created_by', created_by, 'created_at', created_at)), '[]') \
                 AS items FROM (SELECT * FROM evidence WHERE release_id = $1 AND environment_id = $2 ORDER BY id)"
            }
            Backend::Postgres => {
                "SELECT COALESCE(json_agg(json_build_object('id', id, 'name', name, 'passed', passed, \
                 'summary', summary, 'report', report, 'url', url, 'created_by', created_by, 'created_at', created_at) \
                 ORDER BY id)::text, '[]') AS items FROM evidence WHERE release_id = $1 AND environment_id = $2"
            }
        };
        let row = sqlx::query(sql)
            .bind(release_id)
            .bind(environment_id)
            .fetch_one(self.pool())
            .await?;
        let items: Vec<EvidenceJson> = json(&row, "items")?;
        items.into_iter().map(EvidenceJson::into_record).collect()
    }
}
