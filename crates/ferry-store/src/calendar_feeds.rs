//! Calendar feed tokens: the secret of a calendar subscription URL
//! (`/calendar.ics?token=…`), for calendar programs, which cannot send an
//! `Authorization` header.
//!
//! Rules kept here, in the transaction of the change:
//! - only the SHA-256 of a feed's secret is stored, as for API tokens;
//! - a feed reads with its owner's rights of the moment: a revoked feed, and
//!   a feed of a disabled user, do not authenticate;
//! - making and revoking a feed are audited (`calendar-feed.create`,
//!   `calendar-feed.revoke`, on `calendar-feed:<id>`); revoking a revoked
//!   feed changes nothing and appends nothing;
//! - use is recorded at most once a minute, so fetches stay reads.

use chrono::{DateTime, Utc};
use ferry_core::access::Rights;
use serde_json::json;
use sqlx::AssertSqlSafe;
use sqlx::any::AnyRow;

use crate::audit::append;
use crate::auth::{USER_COLUMNS, UserRecord, user};
use crate::rows::{int, now, opt_time, text, time};
use crate::{Result, Store, StoreError};

/// A calendar feed, without its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarFeedRecord {
    /// Row id.
    pub id: i64,
    /// What it is for, such as `phone`.
    pub name: String,
    /// Whose it is: it reads with their rights.
    pub user: String,
    /// The first characters of the secret.
    pub prefix: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last fetch, to the minute.
    pub last_used_at: Option<DateTime<Utc>>,
    /// Revocation time; a revoked feed is refused.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A feed to be stored: its name, the hash of its secret and a prefix to show.
#[derive(Debug, Clone, Copy)]
pub struct NewCalendarFeed<'a> {
    /// What it is for.
    pub name: &'a str,
    /// SHA-256 of the secret, hex.
    pub secret_hash: &'a str,
    /// The first characters of the secret.
    pub prefix: &'a str,
}

/// Who a live feed belongs to, and what they may do now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedOwner {
    /// The feed's id.
    pub feed_id: i64,
    /// Its owner, enabled.
    pub user: UserRecord,
    /// The owner's grants (their own and their groups').
    pub rights: Rights,
    /// The groups the owner belongs to.
    pub groups: Vec<String>,
}

const FEED_SELECT: &str = "SELECT f.id, f.name, u.name AS user_name, f.prefix, f.created_at, \
     f.last_used_at, f.revoked_at FROM calendar_feeds f JOIN users u ON u.id = f.user_id";

fn feed(row: &AnyRow) -> Result<CalendarFeedRecord> {
    Ok(CalendarFeedRecord {
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
    /// Stores a calendar feed of `owner`, made by `actor` (the owner, when
    /// they ask for it themselves); audited as `calendar-feed.create`.
    pub async fn create_calendar_feed(
        &self,
        actor: &str,
        owner: &UserRecord,
        new: NewCalendarFeed<'_>,
    ) -> Result<CalendarFeedRecord> {
        let mut tx = self.write().await?;
        let id = int(
            &sqlx::query(
                "INSERT INTO calendar_feeds (user_id, name, prefix, secret_hash, created_at) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(owner.id)
            .bind(new.name)
            .bind(new.prefix)
            .bind(new.secret_hash)
            .bind(now())
            .fetch_one(&mut *tx)
            .await?,
            "id",
        )?;
        let details =
            json!({ "after": { "user": owner.name, "name": new.name, "prefix": new.prefix } });
        append(
            &mut tx,
            self.backend(),
            actor,
            "calendar-feed.create",
            &format!("calendar-feed:{id}"),
            details,
        )
        .await?;
        let row = sqlx::query(AssertSqlSafe(format!("{FEED_SELECT} WHERE f.id = $1")))
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        let created = feed(&row)?;
        tx.commit().await?;
        Ok(created)
    }

    /// The calendar feeds of `owner`, or every feed when `owner` is `None`,
    /// in the order they were made.
    pub async fn calendar_feeds(&self, owner: Option<&str>) -> Result<Vec<CalendarFeedRecord>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "{FEED_SELECT} WHERE $1 = '' OR u.name = $1 ORDER BY f.id"
        )))
        .bind(owner.unwrap_or(""))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(feed).collect()
    }

    /// Calendar feed `id`, if it exists.
    pub async fn calendar_feed(&self, id: i64) -> Result<Option<CalendarFeedRecord>> {
        let row = sqlx::query(AssertSqlSafe(format!("{FEED_SELECT} WHERE f.id = $1")))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(feed).transpose()
    }

    /// Revokes calendar feed `id` (who may is the caller's to decide);
    /// audited as `calendar-feed.revoke`. A feed revoked already is answered
    /// as it is, and nothing is written.
    pub async fn revoke_calendar_feed(&self, actor: &str, id: i64) -> Result<CalendarFeedRecord> {
        let mut tx = self.write().await?;
        let row = sqlx::query(AssertSqlSafe(format!("{FEED_SELECT} WHERE f.id = $1")))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(found) = row.as_ref().map(feed).transpose()? else {
            let missing = StoreError::NotFound(format!("there is no calendar feed {id}"));
            return Store::abandon(tx, Err(missing)).await;
        };
        if found.revoked_at.is_some() {
            return Store::abandon(tx, Ok(found)).await;
        }
        sqlx::query("UPDATE calendar_feeds SET revoked_at = $1 WHERE id = $2")
            .bind(now())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let details = json!({ "user": found.user, "name": found.name, "prefix": found.prefix });
        append(
            &mut tx,
            self.backend(),
            actor,
            "calendar-feed.revoke",
            &format!("calendar-feed:{id}"),
            details,
        )
        .await?;
        let row = sqlx::query(AssertSqlSafe(format!("{FEED_SELECT} WHERE f.id = $1")))
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        let revoked = feed(&row)?;
        tx.commit().await?;
        Ok(revoked)
    }

    /// The enabled owner of the live calendar feed whose secret has this
    /// hash, with their rights now.
    pub async fn authenticate_calendar_feed(&self, secret_hash: &str) -> Result<Option<FeedOwner>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS}, f.id AS feed_id, f.last_used_at \
             FROM calendar_feeds f JOIN users u ON u.id = f.user_id \
             WHERE f.secret_hash = $1 AND f.revoked_at IS NULL AND u.disabled_at IS NULL"
        )))
        .bind(secret_hash)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let feed_id = int(&row, "feed_id")?;
        // Record use at most once a minute, so fetches stay reads.
        let stale = opt_time(&row, "last_used_at")?
            .is_none_or(|last| Utc::now() - last > chrono::Duration::minutes(1));
        if stale {
            sqlx::query("UPDATE calendar_feeds SET last_used_at = $1 WHERE id = $2")
                .bind(now())
                .bind(feed_id)
                .execute(self.pool())
                .await?;
        }
        let user = user(&row)?;
        let (grants, groups) = self.grants_and_groups_of(user.id).await?;
        Ok(Some(FeedOwner {
            feed_id,
            user,
            rights: Rights {
                grants,
                narrowed_to: None,
            },
            groups,
        }))
    }
}
