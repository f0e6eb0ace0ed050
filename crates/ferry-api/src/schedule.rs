//! Freezes and the release calendar.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::FreezeSpec;

/// A freeze period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Freeze {
    /// As configured.
    #[serde(flatten)]
    pub spec: FreezeSpec,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// An entry of the release calendar.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CalendarEntry {
    /// `window`, `freeze`, `change` or `deployment` (one scheduled for later).
    pub kind: String,
    /// What it is, for people.
    pub title: String,
    /// The environments it concerns.
    pub environments: Vec<String>,
    /// When it starts.
    pub start: DateTime<Utc>,
    /// When it ends.
    pub end: DateTime<Utc>,
}

/// A calendar feed: the token of a calendar subscription URL
/// (`/calendar.ics?token=…`), never its secret. It reads the calendar with
/// its owner's rights, and does nothing else.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CalendarFeed {
    /// Its id, to revoke it.
    pub id: i64,
    /// What it is for, such as `phone`.
    pub name: String,
    /// Whose it is.
    pub user: String,
    /// The first characters of the secret, to recognise it.
    pub prefix: String,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When a calendar program last fetched it (to the minute).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked; a revoked feed is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<DateTime<Utc>>,
}

/// The body of `POST /api/v1/calendar/feeds`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCalendarFeed {
    /// What the feed is for, such as `phone` [default: `calendar`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A calendar feed just made: its secret, and the path of its URL, are in
/// this answer only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CreatedCalendarFeed {
    /// The feed.
    #[serde(flatten)]
    pub feed: CalendarFeed,
    /// The secret (`ferry_cal_…`), stored only hashed.
    pub secret: String,
    /// The feed's path and query on the server, secret included:
    /// `/calendar.ics?token=<secret>`. Append `&service=NAME` or
    /// `&env=NAME` to narrow it.
    pub path: String,
}
