//! Approvals and rejections of a release for an environment: one decision
//! per user, the newest replacing the older (that is how a rejection is
//! withdrawn), counted exactly once each by a unique key.

use chrono::{DateTime, Utc};
use ferry_core::Name;
use serde_json::json;

use crate::audit::append;
use crate::auth::UserRecord;
use crate::rows::{int, json, now};
use crate::{Backend, Result, Store, StoreError, Tx};

/// A user's decision on a release for an environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionRecord {
    /// Who decided.
    pub user: String,
    /// Their e-mail, for separation of duties.
    pub email: Option<String>,
    /// Approve (true) or reject (false).
    pub approve: bool,
    /// Why.
    pub comment: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// A decision as the JSON aggregation writes it.
#[derive(serde::Deserialize)]
struct DecisionJson {
    user: String,
    email: Option<String>,
    approve: i64,
    comment: String,
    at: String,
}

impl DecisionJson {
    fn into_record(self) -> Result<DecisionRecord> {
        Ok(DecisionRecord {
            user: self.user,
            email: self.email,
            approve: self.approve != 0,
            comment: self.comment,
            at: ferry_core::time::parse_time(&self.at).map_err(StoreError::Corrupt)?,
        })
    }
}

/// The ids of a release and an environment, or which of them does not exist.
pub(crate) async fn release_and_environment(
    tx: &mut Tx,
    service: &Name,
    version: &semver::Version,
    environment: &Name,
) -> Result<(i64, i64)> {
    let release = sqlx::query(
        "SELECT r.id FROM releases r JOIN services s ON s.id = r.service_id WHERE s.name = $1 AND r.version = $2",
    )
    .bind(service.as_str())
    .bind(version.to_string())
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("there is no release {service}@{version}")))?;
    let environment_row = sqlx::query("SELECT id FROM environments WHERE name = $1")
        .bind(environment.as_str())
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| {
            StoreError::NotFound(format!(
                "there is no environment {:?}",
                environment.as_str()
            ))
        })?;
    Ok((int(&release, "id")?, int(&environment_row, "id")?))
}

impl Store {
    /// Records `user`'s approval (or rejection) of `service@version` for
    /// `environment`, replacing their earlier decision.
    pub async fn decide(
        &self,
        user: &UserRecord,
        service: &Name,
        version: &semver::Version,
        environment: &Name,
        approve: bool,
        comment: &str,
    ) -> Result<DecisionRecord> {
        let mut tx = self.write().await?;
        let (release_id, environment_id) =
            release_and_environment(&mut tx, service, version, environment).await?;
        let stamp = now();
        sqlx::query(
            "INSERT INTO approvals (release_id, environment_id, user_id, approve, comment, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (release_id, environment_id, user_id) \
             DO UPDATE SET approve = excluded.approve, comment = excluded.comment, created_at = excluded.created_at",
        )
        .bind(release_id)
        .bind(environment_id)
        .bind(user.id)
        .bind(i64::from(approve))
        .bind(comment)
        .bind(&stamp)
        .execute(&mut *tx)
        .await?;
        let action = if approve {
            "approval.approve"
        } else {
            "approval.reject"
        };
        let details = json!({ "after": { "release": format!("{service}@{version}"), "environment": environment, "approve": approve, "comment": comment } });
        append(
            &mut tx,
            self.backend(),
            &user.name,
            action,
            &format!("release:{service}@{version}"),
            details,
        )
        .await?;
        tx.commit().await?;
        Ok(DecisionRecord {
            user: user.name.clone(),
            email: user.email.clone(),
            approve,
            comment: comment.to_owned(),
            at: ferry_core::time::parse_time(&stamp).map_err(StoreError::Corrupt)?,
        })
    }

    /// The decisions on a release for an environment, oldest first.
    ///
    /// They come back as one JSON array in one row: a release may have
    /// thousands of decisions, and rows one by one cost far more than one
    /// JSON document (sqlx hands SQLite rows over a channel, row by row).
    pub async fn decisions(
        &self,
        release_id: i64,
        environment_id: i64,
    ) -> Result<Vec<DecisionRecord>> {
        let sql = match self.backend() {
            Backend::Sqlite => {
                "SELECT COALESCE(json_group_array(json_object('user', name, 'email', email, 'approve', approve, \
                 'comment', comment, 'at', created_at)), '[]') AS items FROM (SELECT u.name, u.email, a.approve, \
                 a.comment, a.created_at FROM approvals a JOIN users u ON u.id = a.user_id \
                 WHERE a.release_id = $1 AND a.environment_id = $2 ORDER BY a.id)"
            }
            Backend::Postgres => {
                "SELECT COALESCE(json_agg(json_build_object('user', u.name, 'email', u.email, 'approve', a.approve, \
                 'comment', a.comment, 'at', a.created_at) ORDER BY a.id)::text, '[]') AS items \
                 FROM approvals a JOIN users u ON u.id = a.user_id WHERE a.release_id = $1 AND a.environment_id = $2"
            }
        };
        let row = sqlx::query(sql)
            .bind(release_id)
            .bind(environment_id)
            .fetch_one(self.pool())
            .await?;
        let items: Vec<DecisionJson> = json(&row, "items")?;
        items.into_iter().map(DecisionJson::into_record).collect()
    }
}
