//! Idempotency keys: the first answer to a POST sent with an
//! `Idempotency-Key`, kept so that a retry gets it again instead of doing
//! the work twice.
//!
//! Rules kept here:
//! - a key belongs to a scope (the credential that sent it): the same key
//!   from two scopes is two keys;
//! - a key is claimed in one statement, so of two requests racing for it
//!   exactly one holds it; the other finds it held (or answered);
//! - a hold is a lease, not a lock: past `held_until` (its server died
//!   while the request was processed) the key may be claimed again, with
//!   the next attempt number, and only the current attempt may record an
//!   answer or let the key go;
//! - a key past its expiry is free again, and expired rows are swept a few
//!   at a time each time a key is claimed.
//!
//! The store keeps answers as it is given them: the server seals their
//! bodies before, since some carry a secret shown once.

use chrono::{DateTime, Duration, Utc};
use sqlx::Row as _;
use sqlx::any::AnyRow;

use crate::rows::{int, opt_text, text, time};
use crate::{Backend, Result, Store, StoreError};

/// How many expired keys a claim sweeps at most: more than one, so the
/// sweep keeps ahead of the keys that arrive.
const SWEEP_BATCH: i64 = 16;

/// A request that came with an idempotency key.
#[derive(Debug, Clone, Copy)]
pub struct KeyedRequest<'a> {
    /// Whose key it is: the credential that sent it.
    pub scope: &'a str,
    /// The key, as the client sent it.
    pub key: &'a str,
    /// What makes two requests the same one (a digest of the method, the
    /// path and the body).
    pub fingerprint: &'a str,
    /// The method and path, to name the request in messages.
    pub request: &'a str,
}

/// A key held by the request being processed, until its answer is kept or
/// the key is let go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    /// Whose key.
    pub scope: String,
    /// The key.
    pub key: String,
    /// Which claim of the key this is (a key whose hold ran out is claimed
    /// again with the next number).
    pub attempt: i64,
}

/// An answer kept for the retries of its request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptAnswer {
    /// The HTTP status.
    pub status: u16,
    /// The `Content-Type` of the body.
    pub content_type: String,
    /// The body, as the server sealed it.
    pub body: String,
}

/// What a key holds when a request finds it taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    /// The fingerprint of the request that took it.
    pub fingerprint: String,
    /// That request's method and path.
    pub request: String,
    /// Its answer; `None` while it is being processed.
    pub answer: Option<KeptAnswer>,
    /// When the key becomes free again.
    pub expires_at: DateTime<Utc>,
}

/// The outcome of claiming a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The key was free (never used, expired, or its hold ran out): the
    /// request holds it now, and must keep its answer or let it go.
    Held(Hold),
    /// Another request took the key: what it was, and its answer if it
    /// has one.
    Taken(KeyRecord),
}

impl Store {
    /// Claims `request`'s key at `now`: held for `hold_for` (the longest its
    /// processing may take) and kept for `keep_for` from now.
    pub async fn claim_idempotency_key(
        &self,
        request: &KeyedRequest<'_>,
        now: DateTime<Utc>,
        hold_for: Duration,
        keep_for: Duration,
    ) -> Result<Claim> {
        let at = ferry_core::time::format_time(now);
        // A key let go or swept between the claim and the read is claimed
        // again; it cannot change hands forever within one request.
        for _ in 0..3 {
            let claimed = sqlx::query(
                "INSERT INTO idempotency_keys \
                 (scope, client_key, fingerprint, request, attempt, held_until, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, 1, $5, $6, $7) \
                 ON CONFLICT (scope, client_key) DO UPDATE SET \
                 fingerprint = excluded.fingerprint, request = excluded.request, \
                 attempt = idempotency_keys.attempt + 1, held_until = excluded.held_until, \
                 status = NULL, content_type = NULL, body = NULL, \
                 created_at = excluded.created_at, expires_at = excluded.expires_at \
                 WHERE idempotency_keys.expires_at <= $6 \
                 OR (idempotency_keys.status IS NULL AND idempotency_keys.held_until <= $6) \
                 RETURNING attempt",
            )
            .bind(request.scope)
            .bind(request.key)
            .bind(request.fingerprint)
            .bind(request.request)
            .bind(ferry_core::time::format_time(now + hold_for))
            .bind(&at)
            .bind(ferry_core::time::format_time(now + keep_for))
            .fetch_optional(self.pool())
            .await?;
            if let Some(row) = claimed {
                if let Err(error) = self.sweep_idempotency_keys(now).await {
                    tracing::warn!(%error, "sweeping expired idempotency keys failed");
                }
                return Ok(Claim::Held(Hold {
                    scope: request.scope.to_owned(),
                    key: request.key.to_owned(),
                    attempt: int(&row, "attempt")?,
                }));
            }
            let row = sqlx::query(
                "SELECT fingerprint, request, status, content_type, body, expires_at \
                 FROM idempotency_keys WHERE scope = $1 AND client_key = $2",
            )
            .bind(request.scope)
            .bind(request.key)
            .fetch_optional(self.pool())
            .await?;
            if let Some(row) = row {
                return Ok(Claim::Taken(record(&row)?));
            }
        }
        Err(StoreError::Conflict(format!(
            "idempotency key {:?} kept changing hands while it was claimed; send the request again",
            request.key
        )))
    }

    /// Keeps `answer` as the answer of the request holding `hold`; `false`
    /// when the hold is gone (it ran out and another request claimed the key).
    pub async fn keep_answer(&self, hold: &Hold, answer: &KeptAnswer) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE idempotency_keys SET status = $1, content_type = $2, body = $3 \
             WHERE scope = $4 AND client_key = $5 AND attempt = $6 AND status IS NULL",
        )
        .bind(i64::from(answer.status))
        .bind(&answer.content_type)
        .bind(&answer.body)
        .bind(&hold.scope)
        .bind(&hold.key)
        .bind(hold.attempt)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Lets `hold`'s key go without an answer (the request may be sent
    /// again and is then done anew); `false` when the hold was gone.
    pub async fn release_idempotency_key(&self, hold: &Hold) -> Result<bool> {
        let done = sqlx::query(
            "DELETE FROM idempotency_keys \
             WHERE scope = $1 AND client_key = $2 AND attempt = $3 AND status IS NULL",
        )
        .bind(&hold.scope)
        .bind(&hold.key)
        .bind(hold.attempt)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Removes a few keys expired at `now` (the oldest first); answers how
    /// many. Claims call it, so expired keys go as new ones arrive.
    pub async fn sweep_idempotency_keys(&self, now: DateTime<Utc>) -> Result<u64> {
        // Concurrent sweeps pass over each other's rows on PostgreSQL
        // rather than wait for them.
        let lock = match self.backend() {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        };
        let swept = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM idempotency_keys WHERE id IN \
             (SELECT id FROM idempotency_keys WHERE expires_at <= $1 \
             ORDER BY expires_at LIMIT $2{lock})"
        )))
        .bind(ferry_core::time::format_time(now))
        .bind(SWEEP_BATCH)
        .execute(self.pool())
        .await?;
        Ok(swept.rows_affected())
    }
}

fn record(row: &AnyRow) -> Result<KeyRecord> {
    let status = row.try_get::<Option<i64>, _>("status")?;
    let answer = match status {
        None => None,
        Some(status) => Some(KeptAnswer {
            status: u16::try_from(status)
                .map_err(|_| StoreError::Corrupt(format!("status: {status}")))?,
            content_type: opt_text(row, "content_type")?.unwrap_or_default(),
            body: opt_text(row, "body")?.unwrap_or_default(),
        }),
    };
    Ok(KeyRecord {
        fingerprint: text(row, "fingerprint")?,
        request: text(row, "request")?,
        answer,
        expires_at: time(row, "expires_at")?,
    })
}
