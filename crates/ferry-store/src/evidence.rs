//! Evidence that a release was tested in an environment: JUnit reports
//! (their totals and failing cases) and named checks.

use chrono::{DateTime, Utc};
use ferry_core::Name;
use serde_json::json;
use sqlx::any::AnyRow;

use crate::approvals::release_and_environment;
use crate::audit::append;
use crate::rows::{int, now, opt_text, text, time};
use crate::{Result, Store};

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

fn evidence(row: &AnyRow) -> Result<EvidenceRecord> {
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

impl Store {
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

    /// The evidence of a release in an environment, oldest first.
    pub async fn evidence(
        &self,
        release_id: i64,
        environment_id: i64,
    ) -> Result<Vec<EvidenceRecord>> {
        let rows = sqlx::query(
            "SELECT id, name, passed, summary, report, url, created_by, created_at FROM evidence \
             WHERE release_id = $1 AND environment_id = $2 ORDER BY id",
        )
        .bind(release_id)
        .bind(environment_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(evidence).collect()
    }
}
