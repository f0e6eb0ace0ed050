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
