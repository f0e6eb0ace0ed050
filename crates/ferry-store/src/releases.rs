//! Releases: created once with their content and artifacts, never edited,
//! possibly abandoned.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use ferry_core::{Name, ReleaseState};
use serde_json::json;
use sqlx::AssertSqlSafe;
use sqlx::any::AnyRow;

use crate::audit::append;
use crate::rows::{int, now, opt_text, text, time};
use crate::{Result, Store, StoreError, Tx};

/// A release as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseRecord {
    /// Row id.
    pub id: i64,
    /// The service.
    pub service: String,
    /// The semantic version, normalized.
    pub version: String,
    /// Active or abandoned.
    pub state: ReleaseState,
    /// Free-text notes given at creation.
    pub notes: String,
    /// The git commit released, when known.
    pub commit: Option<String>,
    /// The version this one follows, when known.
    pub previous_version: Option<String>,
    /// Its artifacts, by name.
    pub artifacts: Vec<ArtifactRecord>,
    /// Who created it.
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// An artifact of a release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactRecord {
    /// Its name within the release.
    pub name: String,
    /// `sha256:<hex>`.
    pub digest: String,
    /// Its size in bytes, when known (always for stored ones).
    pub size: Option<i64>,
    /// Where it lives, for a reference; `None` when ferry stores it.
    pub uri: Option<String>,
}

/// What a new release holds.
#[derive(Debug, Clone)]
pub struct NewRelease<'a> {
    /// Free-text notes.
    pub notes: &'a str,
    /// The git commit released.
    pub commit: Option<&'a str>,
    /// The version it follows.
    pub previous_version: Option<&'a str>,
    /// Its commits, as a JSON array of release-notes commits.
    pub commits_json: &'a str,
    /// Its artifacts (names unique).
    pub artifacts: &'a [ArtifactRecord],
    /// The authors and co-authors of its commits, as `Name <mail>`.
    pub people: &'a [String],
    /// Its go-live date, which dates the plan its service's template makes.
    pub go_live: Option<chrono::DateTime<chrono::Utc>>,
}

impl<'a> NewRelease<'a> {
    /// A release with notes and nothing else (no git content, no artifacts).
    pub fn with_notes(notes: &'a str) -> Self {
        Self {
            notes,
            commit: None,
            previous_version: None,
            commits_json: "[]",
            artifacts: &[],
            people: &[],
            go_live: None,
        }
    }
}

pub(crate) const SELECT: &str = "SELECT r.id, s.name AS service, r.version, r.state, r.notes, r.commit_id, \
     r.previous_version, r.created_by, r.created_at \
     FROM releases r JOIN services s ON s.id = r.service_id";

pub(crate) fn release(row: &AnyRow) -> Result<ReleaseRecord> {
    let state = text(row, "state")?;
    Ok(ReleaseRecord {
        id: int(row, "id")?,
        service: text(row, "service")?,
        version: text(row, "version")?,
        state: ReleaseState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("release state {state:?}")))?,
        notes: text(row, "notes")?,
        commit: opt_text(row, "commit_id")?,
        previous_version: opt_text(row, "previous_version")?,
        artifacts: Vec::new(),
        created_by: text(row, "created_by")?,
        created_at: time(row, "created_at")?,
    })
}

pub(crate) fn artifact(row: &AnyRow) -> Result<ArtifactRecord> {
    Ok(ArtifactRecord {
        name: text(row, "name")?,
        digest: text(row, "digest")?,
        size: row_size(row)?,
        uri: opt_text(row, "uri")?,
    })
}

fn row_size(row: &AnyRow) -> Result<Option<i64>> {
    Ok(sqlx::Row::try_get::<Option<i64>, _>(row, "size")?)
}

pub(crate) async fn service_id(tx: &mut Tx, service: &Name) -> Result<i64> {
    let row = sqlx::query("SELECT id FROM services WHERE name = $1")
        .bind(service.as_str())
        .fetch_optional(&mut **tx)
        .await?;
    match row {
        Some(row) => int(&row, "id"),
        None => Err(StoreError::NotFound(format!(
            "there is no service {:?}; define it in ferry.toml and run `ferry apply`",
            service.as_str()
        ))),
    }
}

impl Store {
    /// Records `service@version` with its content. Refused when the service
    /// is unknown or the version exists already.
    pub async fn create_release(
        &self,
        actor: &str,
        service: &Name,
        version: &semver::Version,
        new: NewRelease<'_>,
    ) -> Result<ReleaseRecord> {
        let mut tx = self.write().await?;
        let service_id = service_id(&mut tx, service).await?;
        // Versions that differ only in build metadata have the same
        // precedence in Semantic Versioning: one of them is the release.
        let precedence = semver::Version {
            build: semver::BuildMetadata::EMPTY,
            ..version.clone()
        }
        .to_string();
        let version = version.to_string();
        let exists = sqlx::query(
            "SELECT version FROM releases WHERE service_id = $1 AND (version = $2 OR version LIKE $3)",
        )
        .bind(service_id)
        .bind(&precedence)
        .bind(format!("{precedence}+%"))
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = exists {
            let existing = text(&row, "version")?;
            let error = if existing == version {
                duplicate(service, &version)
            } else {
                StoreError::Conflict(format!(
                    "{service}@{existing} exists, and {version} differs from it only in build metadata, which Semantic Versioning does not order: give the release a version of its own"
                ))
            };
            return Store::abandon(tx, Err(error)).await;
        }
        let id = sqlx::query(
            "INSERT INTO releases (service_id, version, state, notes, created_by, created_at, \
             commit_id, previous_version, commits, people) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        )
        .bind(service_id)
        .bind(&version)
        .bind(ReleaseState::Active.as_str())
        .bind(new.notes)
        .bind(actor)
        .bind(now())
        .bind(new.commit)
        .bind(new.previous_version)
        .bind(new.commits_json)
        .bind(serde_json::to_string(new.people)?)
        .fetch_one(&mut *tx)
        .await
        .map_err(|error| match StoreError::from(error) {
            StoreError::Conflict(_) => duplicate(service, &version),
            other => other,
        })?;
        let id = int(&id, "id")?;
        for artifact in new.artifacts {
            sqlx::query(
                "INSERT INTO artifacts (release_id, name, digest, size, uri) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(id)
            .bind(&artifact.name)
            .bind(&artifact.digest)
            .bind(artifact.size)
            .bind(artifact.uri.as_deref())
            .execute(&mut *tx)
            .await
            .map_err(|error| match StoreError::from(error) {
                StoreError::Conflict(_) => StoreError::Invalid(format!("artifact {:?} is named twice", artifact.name)),
                other => other,
            })?;
        }
        let artifacts: Vec<_> = new
            .artifacts
            .iter()
            .map(|a| json!({ "name": a.name, "digest": a.digest, "size": a.size, "uri": a.uri }))
            .collect();
        let details = json!({ "after": {
            "service": service, "version": version, "notes": new.notes, "commit": new.commit,
            "previous_version": new.previous_version, "artifacts": artifacts,
        }});
        append(
            &mut tx,
            self.backend(),
            actor,
            "release.create",
            &format!("release:{service}@{version}"),
            details,
        )
        .await?;
        crate::plans::plan_from_service_template(
            &mut tx,
            self.backend(),
            actor,
            id,
            &format!("release:{service}@{version}"),
            new.go_live,
        )
        .await?;
        let row = sqlx::query(AssertSqlSafe(format!("{SELECT} WHERE r.id = $1")))
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        let mut created = release(&row)?;
        tx.commit().await?;
        created.artifacts = new.artifacts.to_vec();
        created.artifacts.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(created)
    }

    /// Releases, newest first, of one service or all, with `id < before`.
    pub async fn releases(
        &self,
        service: Option<&Name>,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<ReleaseRecord>> {
        // With a service, its own index is walked backwards (an `OR` would
        // make the database read every release).
        let service_is = if service.is_some() {
            "r.service_id = (SELECT id FROM services WHERE name = $1)"
        } else {
            "$1 = ''"
        };
        let rows = sqlx::query(AssertSqlSafe(format!(
            "{SELECT} WHERE {service_is} AND r.id < $2 ORDER BY r.id DESC LIMIT $3"
        )))
        .bind(service.map_or("", Name::as_str))
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        let mut releases = rows.iter().map(release).collect::<Result<Vec<_>>>()?;
        self.attach_artifacts(&mut releases).await?;
        Ok(releases)
    }

    /// One release.
    pub async fn release(
        &self,
        service: &Name,
        version: &semver::Version,
    ) -> Result<ReleaseRecord> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "{SELECT} WHERE s.name = $1 AND r.version = $2"
        )))
        .bind(service.as_str())
        .bind(version.to_string())
        .fetch_optional(self.pool())
        .await?;
        match row {
            Some(row) => {
                let mut found = vec![release(&row)?];
                self.attach_artifacts(&mut found).await?;
                Ok(found.remove(0))
            }
            None => Err(StoreError::NotFound(format!(
                "there is no release {service}@{version}"
            ))),
        }
    }

    /// The commits of a release, as the JSON array it was created with.
    pub async fn release_commits(&self, id: i64) -> Result<String> {
        let row = sqlx::query("SELECT commits FROM releases WHERE id = $1")
            .bind(id)
            .fetch_one(self.pool())
            .await?;
        text(&row, "commits")
    }

    /// The authors and co-authors of release `id`'s commits, as `Name
    /// <mail>` (empty for releases created before ferry kept them).
    pub async fn release_people(&self, id: i64) -> Result<Vec<String>> {
        let row = sqlx::query("SELECT people FROM releases WHERE id = $1")
            .bind(id)
            .fetch_one(self.pool())
            .await?;
        crate::rows::json(&row, "people")
    }

    /// Whether any release has an artifact with this digest (stored or referenced).
    pub async fn artifact_digest_known(&self, digest: &str) -> Result<bool> {
        let row = sqlx::query("SELECT id FROM artifacts WHERE digest = $1 LIMIT 1")
            .bind(digest)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.is_some())
    }

    /// Fills in the artifacts of `releases` with one query.
    async fn attach_artifacts(&self, releases: &mut [ReleaseRecord]) -> Result<()> {
        if releases.is_empty() {
            return Ok(());
        }
        // Ids are integers from the database, so listing them inline is safe.
        let ids: Vec<String> = releases.iter().map(|r| r.id.to_string()).collect();
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT release_id, name, digest, size, uri FROM artifacts WHERE release_id IN ({}) ORDER BY name",
            ids.join(", ")
        )))
        .fetch_all(self.pool())
        .await?;
        let mut by_release: HashMap<i64, Vec<ArtifactRecord>> = HashMap::new();
        for row in &rows {
            by_release
                .entry(int(row, "release_id")?)
                .or_default()
                .push(artifact(row)?);
        }
        for release in releases {
            release.artifacts = by_release.remove(&release.id).unwrap_or_default();
        }
        Ok(())
    }

    /// Abandons a release: it may not be promoted any more.
    pub async fn abandon_release(
        &self,
        actor: &str,
        service: &Name,
        version: &semver::Version,
    ) -> Result<ReleaseRecord> {
        let current = self.release(service, version).await?;
        if !current.state.can_become(ReleaseState::Abandoned) {
            return Err(StoreError::Invalid(format!(
                "release {service}@{version} is {} already",
                current.state.as_str()
            )));
        }
        let mut tx = self.write().await?;
        let updated = sqlx::query("UPDATE releases SET state = $1 WHERE id = $2 AND state = $3")
            .bind(ReleaseState::Abandoned.as_str())
            .bind(current.id)
            .bind(current.state.as_str())
            .execute(&mut *tx)
            .await?;
        if updated.rows_affected() != 1 {
            return Err(StoreError::Conflict(format!(
                "release {service}@{version} changed meanwhile; try again"
            )));
        }
        let details = json!({ "before": { "state": current.state }, "after": { "state": ReleaseState::Abandoned } });
        append(
            &mut tx,
            self.backend(),
            actor,
            "release.abandon",
            &format!("release:{service}@{version}"),
            details,
        )
        .await?;
        tx.commit().await?;
        Ok(ReleaseRecord {
            state: ReleaseState::Abandoned,
            ..current
        })
    }
}

fn duplicate(service: &Name, version: &str) -> StoreError {
    StoreError::Conflict(format!(
        "release {service}@{version} exists already; a release never changes: create a new version"
    ))
}
