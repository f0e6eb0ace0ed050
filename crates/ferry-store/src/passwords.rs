//! Users' web passwords and the invitations to set one.
//!
//! Rules kept here:
//! - a password is stored as the PHC string the server hashed it to
//!   (argon2id); the store never sees the password itself;
//! - setting a password, inviting and redeeming an invitation are audited;
//!   the hashes and secrets never are;
//! - an invitation is valid once, until its expiry, for an enabled user:
//!   redeeming it sets the password and uses it up in one transaction, so
//!   two browsers racing with one link set one password.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::AssertSqlSafe;

use crate::audit::append;
use crate::auth::{USER_COLUMNS, UserRecord, user, user_by_name};
use crate::freshness::Topic;
use crate::rows::{now, opt_text};
use crate::{Result, Store, StoreError};

/// A user with the hash of their password, for signing in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordUser {
    /// The user.
    pub user: UserRecord,
    /// Their password's PHC string; `None` until one is set.
    pub password_hash: Option<String>,
}

impl Store {
    /// User `name` with their password's hash; `None` when there is no
    /// such user.
    pub async fn password_user(&self, name: &str) -> Result<Option<PasswordUser>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS}, u.password_hash FROM users u WHERE u.name = $1"
        )))
        .bind(name)
        .fetch_optional(self.pool())
        .await?;
        row.map(|row| {
            Ok(PasswordUser {
                user: user(&row)?,
                password_hash: opt_text(&row, "password_hash")?,
            })
        })
        .transpose()
    }

    /// Sets user `name`'s password to `hash` (a PHC string); audited as
    /// `user.password.set` by `actor`.
    pub async fn set_password(&self, actor: &str, name: &str, hash: &str) -> Result<UserRecord> {
        let mut tx = self.write().await?;
        let found = match user_by_name(&mut tx, name).await {
            Ok(found) => found,
            Err(error) => return Store::abandon(tx, Err(error)).await,
        };
        sqlx::query("UPDATE users SET password_hash = $1, password_set_at = $2 WHERE id = $3")
            .bind(hash)
            .bind(now())
            .bind(found.id)
            .execute(&mut *tx)
            .await?;
        append(
            &mut tx,
            self.backend(),
            actor,
            "user.password.set",
            &format!("user:{name}"),
            json!({}),
        )
        .await?;
        self.commit(tx, &[Topic::Access]).await?;
        Ok(found)
    }

    /// Records an invitation for user `name` to set their password, known
    /// by the SHA-256 of its secret and valid until `expires_at`; audited
    /// as `user.invite` by `actor`.
    pub async fn create_invitation(
        &self,
        actor: &str,
        name: &str,
        secret_hash: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<UserRecord> {
        let mut tx = self.write().await?;
        let found = match user_by_name(&mut tx, name).await {
            Ok(found) => found,
            Err(error) => return Store::abandon(tx, Err(error)).await,
        };
        if found.disabled_at.is_some() {
            return Store::abandon(
                tx,
                Err(StoreError::Conflict(format!(
                    "user {name:?} is disabled: enable them before inviting them"
                ))),
            )
            .await;
        }
        let expires = ferry_core::time::format_time(expires_at);
        sqlx::query(
            "INSERT INTO invitations (user_id, secret_hash, created_by, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(found.id)
        .bind(secret_hash)
        .bind(actor)
        .bind(now())
        .bind(&expires)
        .execute(&mut *tx)
        .await?;
        append(
            &mut tx,
            self.backend(),
            actor,
            "user.invite",
            &format!("user:{name}"),
            json!({ "expires_at": expires }),
        )
        .await?;
        self.commit(tx, &[Topic::Access]).await?;
        Ok(found)
    }

    /// The user a live invitation is for: unused, not expired, its user
    /// enabled; `None` otherwise.
    pub async fn invitation(&self, secret_hash: &str) -> Result<Option<UserRecord>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM invitations i JOIN users u ON u.id = i.user_id \
             WHERE i.secret_hash = $1 AND i.used_at IS NULL AND i.expires_at > $2 \
             AND u.disabled_at IS NULL"
        )))
        .bind(secret_hash)
        .bind(now())
        .fetch_optional(self.pool())
        .await?;
        row.map(|row| user(&row)).transpose()
    }

    /// Redeems a live invitation: sets its user's password to `hash` and
    /// uses the invitation up; audited as `user.password.set` by the user.
    /// `None` when the invitation is not live (used, expired, unknown).
    pub async fn redeem_invitation(
        &self,
        secret_hash: &str,
        hash: &str,
    ) -> Result<Option<UserRecord>> {
        let mut tx = self.write().await?;
        let at = now();
        let used = sqlx::query(
            "UPDATE invitations SET used_at = $1 \
             WHERE secret_hash = $2 AND used_at IS NULL AND expires_at > $1 \
             AND user_id IN (SELECT id FROM users WHERE disabled_at IS NULL)",
        )
        .bind(&at)
        .bind(secret_hash)
        .execute(&mut *tx)
        .await?;
        if used.rows_affected() != 1 {
            return Store::abandon(tx, Ok(None)).await;
        }
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM invitations i JOIN users u ON u.id = i.user_id \
             WHERE i.secret_hash = $1"
        )))
        .bind(secret_hash)
        .fetch_one(&mut *tx)
        .await?;
        let found = user(&row)?;
        sqlx::query("UPDATE users SET password_hash = $1, password_set_at = $2 WHERE id = $3")
            .bind(hash)
            .bind(&at)
            .bind(found.id)
            .execute(&mut *tx)
            .await?;
        append(
            &mut tx,
            self.backend(),
            &found.name,
            "user.password.set",
            &format!("user:{}", found.name),
            json!({ "by": "invitation" }),
        )
        .await?;
        self.commit(tx, &[Topic::Access]).await?;
        Ok(Some(found))
    }
}
