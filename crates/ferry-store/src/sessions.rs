//! The sessions of browsers signed in to the web UI.
//!
//! Rules kept here:
//! - a session is known by the SHA-256 of its cookie's secret; the secret
//!   itself is never stored;
//! - a session lives until it has been idle past `idle_until`, until
//!   `expires_at` whatever its use, until sign-out, or until its user is
//!   disabled; use moves `idle_until` on (at most once a minute, so reads
//!   stay reads);
//! - signing in and out are audited; ended and expired sessions are swept
//!   as new ones start.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use sqlx::AssertSqlSafe;

use crate::audit::append;
use ferry_core::access::Rights;

use crate::auth::{USER_COLUMNS, UserRecord, user};
use crate::rows::{int, now, text, time};
use crate::{Result, Store};

/// How many ended sessions a new one sweeps at most.
const SWEEP_BATCH: i64 = 32;

/// A session to start.
#[derive(Debug, Clone, Copy)]
pub struct NewSession<'a> {
    /// The SHA-256 of the cookie's secret.
    pub secret_hash: &'a str,
    /// The token the session's forms carry.
    pub csrf_token: &'a str,
    /// How long it may stay unused.
    pub idle: Duration,
    /// How long it lives at most.
    pub lifetime: Duration,
}

/// A live session, with who it belongs to and what they may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Its id.
    pub id: i64,
    /// The token its forms must carry.
    pub csrf_token: String,
    /// When it ends whatever its use.
    pub expires_at: DateTime<Utc>,
    /// Its user.
    pub user: UserRecord,
    /// The user's grants (their own and their groups').
    pub rights: Rights,
    /// The groups the user belongs to.
    pub groups: Vec<String>,
}

impl Store {
    /// Starts a session for `user` (signed in); audited as `session.start`.
    pub async fn start_session(&self, user: &UserRecord, new: NewSession<'_>) -> Result<i64> {
        let mut tx = self.write().await?;
        let at = Utc::now();
        let stamp = ferry_core::time::format_time(at);
        sqlx::query(
            "DELETE FROM web_sessions WHERE id IN (SELECT id FROM web_sessions \
             WHERE expires_at <= $1 OR idle_until <= $1 LIMIT $2)",
        )
        .bind(&stamp)
        .bind(SWEEP_BATCH)
        .execute(&mut *tx)
        .await?;
        let row = sqlx::query(
            "INSERT INTO web_sessions \
             (user_id, secret_hash, csrf_token, created_at, last_seen_at, idle_until, expires_at) \
             VALUES ($1, $2, $3, $4, $4, $5, $6) RETURNING id",
        )
        .bind(user.id)
        .bind(new.secret_hash)
        .bind(new.csrf_token)
        .bind(&stamp)
        .bind(ferry_core::time::format_time(at + new.idle))
        .bind(ferry_core::time::format_time(at + new.lifetime))
        .fetch_one(&mut *tx)
        .await?;
        let id = int(&row, "id")?;
        append(
            &mut tx,
            self.backend(),
            &user.name,
            "session.start",
            &format!("user:{}", user.name),
            json!({ "session": id }),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The live session whose cookie secret hashes to `secret_hash`, its
    /// user enabled; its use moves its idle expiry on by `idle`.
    pub async fn session(&self, secret_hash: &str, idle: Duration) -> Result<Option<Session>> {
        let at = Utc::now();
        let stamp = ferry_core::time::format_time(at);
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS}, s.id AS session_id, s.csrf_token, s.last_seen_at, \
             s.expires_at AS session_expires_at \
             FROM web_sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.secret_hash = $1 AND s.expires_at > $2 AND s.idle_until > $2 \
             AND u.disabled_at IS NULL"
        )))
        .bind(secret_hash)
        .bind(&stamp)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let id = int(&row, "session_id")?;
        if at - time(&row, "last_seen_at")? > Duration::minutes(1) {
            sqlx::query("UPDATE web_sessions SET last_seen_at = $1, idle_until = $2 WHERE id = $3")
                .bind(&stamp)
                .bind(ferry_core::time::format_time(at + idle))
                .bind(id)
                .execute(self.pool())
                .await?;
        }
        let user = user(&row)?;
        let (grants, groups) = self.grants_and_groups_of(user.id).await?;
        Ok(Some(Session {
            id,
            csrf_token: text(&row, "csrf_token")?,
            expires_at: time(&row, "session_expires_at")?,
            user,
            rights: Rights {
                grants,
                narrowed_to: None,
            },
            groups,
        }))
    }

    /// Ends session `id` of `actor` (sign-out); audited as `session.end`.
    /// Ending a session already ended changes nothing.
    pub async fn end_session(&self, actor: &str, id: i64) -> Result<()> {
        let mut tx = self.write().await?;
        let ended = sqlx::query("DELETE FROM web_sessions WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if ended.rows_affected() == 0 {
            return Store::abandon(tx, Ok(())).await;
        }
        append(
            &mut tx,
            self.backend(),
            actor,
            "session.end",
            &format!("user:{actor}"),
            json!({ "session": id }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// How many live sessions user `name` has.
    pub async fn live_sessions(&self, name: &str) -> Result<i64> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM web_sessions s JOIN users u ON u.id = s.user_id \
             WHERE u.name = $1 AND s.expires_at > $2 AND s.idle_until > $2",
        )
        .bind(name)
        .bind(now())
        .fetch_one(self.pool())
        .await?;
        int(&row, "n")
    }
}
