//! The freeze watch: freezes begin and end with time, not with a change
//! anyone makes, so a pass writes their beginnings and ends into the audit
//! trail (`freeze.start`, `freeze.end`), from where they are told to
//! subscribers like every other event.

use chrono::{DateTime, Utc};
use ferry_core::freeze::{FreezeTransition, transitions};
use ferry_core::time::format_time;
use ferry_core::windows::Freeze;
use serde_json::json;
use sqlx::Row;

use crate::audit::append;
use crate::rows::time;
use crate::{Result, Store};

/// How long the watch's mark may stay behind while nothing begins or ends:
/// past it, the mark moves forward (one write an hour at most), so that a
/// pass never looks far back.
const MARK_AT_MOST_BEHIND: chrono::Duration = chrono::Duration::hours(1);

impl Store {
    /// Writes the beginnings and ends of `freezes` since the last look, up
    /// to `now`, into the audit trail; answers them. The first look ever
    /// only sets the mark: what happened before it is not told. Writes
    /// nothing while nothing began or ended (but for moving a mark an hour
    /// old). Replicas looking at once tell each transition once: only the
    /// one that moves the mark from where both read it writes.
    pub async fn watch_freezes(
        &self,
        freezes: &[Freeze],
        now: DateTime<Utc>,
    ) -> Result<Vec<FreezeTransition>> {
        let mark = sqlx::query("SELECT watched_until FROM freeze_watch WHERE id = 1")
            .fetch_optional(self.pool())
            .await?;
        let Some(mark) = mark else {
            sqlx::query(
                "INSERT INTO freeze_watch (id, watched_until) VALUES (1, $1) ON CONFLICT (id) DO NOTHING",
            )
            .bind(format_time(now))
            .execute(self.pool())
            .await?;
            return Ok(Vec::new());
        };
        let stored = mark.try_get::<String, _>("watched_until")?;
        let after = time(&mark, "watched_until")?;
        let found = transitions(freezes, after, now);
        if found.is_empty() && now - after < MARK_AT_MOST_BEHIND {
            return Ok(found);
        }
        let mut tx = self.write().await?;
        let moved = sqlx::query(
            "UPDATE freeze_watch SET watched_until = $1 WHERE id = 1 AND watched_until = $2",
        )
        .bind(format_time(now))
        .bind(&stored)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if moved != 1 {
            // Another replica looked first and told them.
            return Ok(Vec::new());
        }
        for transition in &found {
            let action = if transition.started {
                "freeze.start"
            } else {
                "freeze.end"
            };
            append(
                &mut tx,
                self.backend(),
                "system",
                action,
                &format!("freeze:{}", transition.freeze),
                json!({ "after": {
                    "freeze": transition.freeze,
                    "environment": transition.environment,
                    "start": format_time(transition.start),
                    "end": format_time(transition.end),
                    "reason": transition.reason,
                } }),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(found)
    }
}
