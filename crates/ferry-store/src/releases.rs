//! Releases: created once, never edited, possibly abandoned.

use chrono::{DateTime, Utc};
use ferry_core::{Name, ReleaseState};
use serde_json::json;
use sqlx::AssertSqlSafe;
use sqlx::any::AnyRow;

use crate::audit::append;
use crate::rows::{int, now, text, time};
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
    /// Release notes.
    pub notes: String,
    /// Who created it.
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

const SELECT: &str = "SELECT r.id, s.name AS service, r.version, r.state, r.notes, r.created_by, r.created_at \
     FROM releases r JOIN services s ON s.id = r.service_id";

fn release(row: &AnyRow) -> Result<ReleaseRecord> {
    let state = text(row, "state")?;
    Ok(ReleaseRecord {
        id: int(row, "id")?,
        service: text(row, "service")?,
        version: text(row, "version")?,
        state: ReleaseState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("release state {state:?}")))?,
        notes: text(row, "notes")?,
        created_by: text(row, "created_by")?,
        created_at: time(row, "created_at")?,
    })
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
    /// Records `service@version`. Refused when the service is unknown or the
    /// version exists already.
    pub async fn create_release(
        &self,
        actor: &str,
        service: &Name,
        version: &semver::Version,
        notes: &str,
    ) -> Result<ReleaseRecord> {
        let mut tx = self.write().await?;
        let service_id = service_id(&mut tx, service).await?;
        let version = version.to_string();
        let exists = sqlx::query("SELECT id FROM releases WHERE service_id = $1 AND version = $2")
            .bind(service_id)
            .bind(&version)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_some() {
            return Err(duplicate(service, &version));
        }
        let id = sqlx::query(
            "INSERT INTO releases (service_id, version, state, notes, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(service_id)
        .bind(&version)
        .bind(ReleaseState::Active.as_str())
        .bind(notes)
        .bind(actor)
        .bind(now())
        .fetch_one(&mut *tx)
        .await
        .map_err(|error| match StoreError::from(error) {
            StoreError::Conflict(_) => duplicate(service, &version),
            other => other,
        })?;
        let id = int(&id, "id")?;
        let details =
            json!({ "after": { "service": service, "version": version, "notes": notes } });
        append(
            &mut tx,
            self.backend(),
            actor,
            "release.create",
            &format!("release:{service}@{version}"),
            details,
        )
        .await?;
        let row = sqlx::query(AssertSqlSafe(format!("{SELECT} WHERE r.id = $1")))
            .bind(id)
            .fetch_one(&mut *tx)
            .await;
        let created = release(&row?)?;
        tx.commit().await?;
        Ok(created)
    }

    /// Releases, newest first, of one service or all, with `id < before`.
    pub async fn releases(
        &self,
        service: Option<&Name>,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<ReleaseRecord>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "{SELECT} WHERE ($1 = '' OR s.name = $1) AND r.id < $2 ORDER BY r.id DESC LIMIT $3"
        )))
        .bind(service.map_or("", Name::as_str))
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(release).collect()
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
            Some(row) => release(&row),
            None => Err(StoreError::NotFound(format!(
                "there is no release {service}@{version}"
            ))),
        }
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
