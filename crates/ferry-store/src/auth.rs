//! Users and API tokens. Tokens are stored only as a hash of their secret.

use chrono::{DateTime, Utc};
use ferry_core::Name;
use serde_json::json;
use sqlx::any::AnyRow;

use crate::audit::append;
use crate::rows::{int, now, opt_text, opt_time, text, time};
use crate::{Result, Store, StoreError, Tx};

/// A user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// Row id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// E-mail address.
    pub email: Option<String>,
    /// Whether the user administers the server.
    pub admin: bool,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// An API token, without its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// Row id.
    pub id: i64,
    /// What it is for.
    pub name: String,
    /// Whose it is.
    pub user: String,
    /// The first characters of the secret.
    pub prefix: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last use, to the minute.
    pub last_used_at: Option<DateTime<Utc>>,
    /// Revocation time.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A token to be stored: its name, the hash of its secret and a prefix to show.
#[derive(Debug, Clone)]
pub struct NewToken<'a> {
    /// What it is for.
    pub name: &'a str,
    /// SHA-256 of the secret, hex.
    pub secret_hash: &'a str,
    /// The first characters of the secret.
    pub prefix: &'a str,
}

/// A new user: who, and their first token.
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    /// Their name.
    pub name: &'a Name,
    /// Their e-mail.
    pub email: Option<&'a str>,
    /// Whether they administer the server.
    pub admin: bool,
    /// Their first token.
    pub token: NewToken<'a>,
}

fn user(row: &AnyRow) -> Result<UserRecord> {
    Ok(UserRecord {
        id: int(row, "id")?,
        name: text(row, "name")?,
        email: opt_text(row, "email")?,
        admin: int(row, "admin")? != 0,
        created_at: time(row, "created_at")?,
    })
}

fn token(row: &AnyRow) -> Result<TokenRecord> {
    Ok(TokenRecord {
        id: int(row, "id")?,
        name: text(row, "name")?,
        user: text(row, "user_name")?,
        prefix: text(row, "prefix")?,
        created_at: time(row, "created_at")?,
        last_used_at: opt_time(row, "last_used_at")?,
        revoked_at: opt_time(row, "revoked_at")?,
    })
}

impl Store {
    /// Creates the first administrator, only if there is no user at all.
    /// Returns `None` when users exist (a restart, or another replica won).
    pub async fn bootstrap_admin(
        &self,
        new: NewUser<'_>,
    ) -> Result<Option<(UserRecord, TokenRecord)>> {
        let mut tx = self.write().await?;
        let users = int(
            &sqlx::query("SELECT COUNT(*) AS n FROM users")
                .fetch_one(&mut *tx)
                .await?,
            "n",
        )?;
        if users > 0 {
            return Ok(None);
        }
        let created = self.insert_user(&mut tx, "system", new).await?;
        tx.commit().await?;
        Ok(Some(created))
    }

    /// Creates a user with their first token.
    pub async fn create_user(
        &self,
        actor: &str,
        new: NewUser<'_>,
    ) -> Result<(UserRecord, TokenRecord)> {
        let mut tx = self.write().await?;
        let exists = sqlx::query("SELECT id FROM users WHERE name = $1")
            .bind(new.name.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_some() {
            return Err(StoreError::Conflict(format!(
                "user {:?} exists already",
                new.name.as_str()
            )));
        }
        let created = self.insert_user(&mut tx, actor, new).await?;
        tx.commit().await?;
        Ok(created)
    }

    async fn insert_user(
        &self,
        tx: &mut Tx,
        actor: &str,
        new: NewUser<'_>,
    ) -> Result<(UserRecord, TokenRecord)> {
        let row = sqlx::query(
            "INSERT INTO users (name, email, admin, created_at) VALUES ($1, $2, $3, $4) \
             RETURNING id, name, email, admin, created_at",
        )
        .bind(new.name.as_str())
        .bind(new.email)
        .bind(i64::from(new.admin))
        .bind(now())
        .fetch_one(&mut **tx)
        .await?;
        let user = user(&row)?;
        let details =
            json!({ "after": { "name": user.name, "email": user.email, "admin": user.admin } });
        append(
            tx,
            self.backend(),
            actor,
            "user.create",
            &format!("user:{}", user.name),
            details,
        )
        .await?;
        let token = self.insert_token(tx, actor, &user, new.token).await?;
        Ok((user, token))
    }

    async fn insert_token(
        &self,
        tx: &mut Tx,
        actor: &str,
        owner: &UserRecord,
        new: NewToken<'_>,
    ) -> Result<TokenRecord> {
        let id = int(
            &sqlx::query(
                "INSERT INTO api_tokens (user_id, name, prefix, secret_hash, created_at) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(owner.id)
            .bind(new.name)
            .bind(new.prefix)
            .bind(new.secret_hash)
            .bind(now())
            .fetch_one(&mut **tx)
            .await?,
            "id",
        )?;
        let details =
            json!({ "after": { "user": owner.name, "name": new.name, "prefix": new.prefix } });
        append(
            tx,
            self.backend(),
            actor,
            "token.create",
            &format!("token:{id}"),
            details,
        )
        .await?;
        let row = sqlx::query(TOKEN_SELECT_BY_ID)
            .bind(id)
            .fetch_one(&mut **tx)
            .await?;
        token(&row)
    }

    /// Creates a further token for `owner`.
    pub async fn create_token(&self, owner: &UserRecord, new: NewToken<'_>) -> Result<TokenRecord> {
        let mut tx = self.write().await?;
        let created = self.insert_token(&mut tx, &owner.name, owner, new).await?;
        tx.commit().await?;
        Ok(created)
    }

    /// The user whose live token has this secret hash.
    pub async fn authenticate(&self, secret_hash: &str) -> Result<Option<UserRecord>> {
        let row = sqlx::query(
            "SELECT u.id, u.name, u.email, u.admin, u.created_at, t.id AS token_id, t.last_used_at \
             FROM api_tokens t JOIN users u ON u.id = t.user_id \
             WHERE t.secret_hash = $1 AND t.revoked_at IS NULL",
        )
        .bind(secret_hash)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        // Record use at most once a minute, so reads stay reads.
        let stale = opt_time(&row, "last_used_at")?
            .is_none_or(|last| Utc::now() - last > chrono::Duration::minutes(1));
        if stale {
            sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                .bind(now())
                .bind(int(&row, "token_id")?)
                .execute(self.pool())
                .await?;
        }
        Ok(Some(user(&row)?))
    }

    /// The tokens of `owner`, or every token when `owner` is `None`.
    pub async fn tokens(&self, owner: Option<&str>) -> Result<Vec<TokenRecord>> {
        let rows = sqlx::query(
            "SELECT t.id, t.name, u.name AS user_name, t.prefix, t.created_at, t.last_used_at, t.revoked_at \
             FROM api_tokens t JOIN users u ON u.id = t.user_id \
             WHERE $1 = '' OR u.name = $1 ORDER BY t.id",
        )
        .bind(owner.unwrap_or(""))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(token).collect()
    }

    /// Revokes token `id`; only its owner or an administrator may.
    pub async fn revoke_token(&self, actor: &UserRecord, id: i64) -> Result<TokenRecord> {
        let mut tx = self.write().await?;
        let row = sqlx::query(TOKEN_SELECT_BY_ID)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        let found = row.as_ref().map(token).transpose()?;
        let Some(found) = found.filter(|t| actor.admin || t.user == actor.name) else {
            return Err(StoreError::NotFound(format!("no token {id} of yours")));
        };
        if found.revoked_at.is_some() {
            return Ok(found);
        }
        sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2")
            .bind(now())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let details = json!({ "user": found.user, "name": found.name, "prefix": found.prefix });
        append(
            &mut tx,
            self.backend(),
            &actor.name,
            "token.revoke",
            &format!("token:{id}"),
            details,
        )
        .await?;
        let row = sqlx::query(TOKEN_SELECT_BY_ID)
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        token(&row)
    }

    /// Every user, by name.
    pub async fn users(&self) -> Result<Vec<UserRecord>> {
        let rows =
            sqlx::query("SELECT id, name, email, admin, created_at FROM users ORDER BY name")
                .fetch_all(self.pool())
                .await?;
        rows.iter().map(user).collect()
    }
}

const TOKEN_SELECT_BY_ID: &str = "SELECT t.id, t.name, u.name AS user_name, t.prefix, t.created_at, t.last_used_at, t.revoked_at \
     FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.id = $1";
