//! Who drives each deployment under way: replicas that share a database
//! take leases on the deployments the orchestrator looks at, so each has one
//! driver at a time, and a replica that dies loses its leases when they run
//! out, to whichever replica claims them next.
//!
//! The steps of a deployment are guarded in SQL by the state they expect
//! anyway ([`crate::progress`]), so two drivers could not do a step twice;
//! the lease keeps them from trying, and spreads the work.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use ferry_core::time::format_time;
use sqlx::AssertSqlSafe;

use crate::progress::{DRIVABLE, ROLLBACK_GRACE};
use crate::rows::int;
use crate::{Result, Store};

impl Store {
    /// Takes or renews, for replica `replica` until `now + lease`, the lease
    /// of every deployment the orchestrator looks at whose lease is free,
    /// already its own, or ran out; answers the ids it holds now.
    pub async fn claim_deployments(
        &self,
        replica: &str,
        now: DateTime<Utc>,
        lease: chrono::Duration,
    ) -> Result<HashSet<i64>> {
        let mut tx = self.write().await?;
        let rows = sqlx::query(AssertSqlSafe(format!(
            "UPDATE deployments AS d SET driver = $3, driver_until = $4 \
             WHERE {DRIVABLE} AND (d.driver IS NULL OR d.driver = $3 OR d.driver_until < $1) \
             RETURNING id"
        )))
        .bind(format_time(now))
        .bind(format_time(now - ROLLBACK_GRACE))
        .bind(replica)
        .bind(format_time(now + lease))
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        rows.iter().map(|row| int(row, "id")).collect()
    }

    /// Gives up replica `replica`'s leases (at shutdown), so another replica
    /// takes its deployments over at once instead of when the leases run out.
    pub async fn release_deployments(&self, replica: &str) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE deployments SET driver = NULL, driver_until = NULL WHERE driver = $1",
        )
        .bind(replica)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected())
    }

    /// Which replica holds the lease of deployment `id`, and until when.
    pub async fn deployment_driver(&self, id: i64) -> Result<Option<(String, String)>> {
        let row = sqlx::query(
            "SELECT driver, driver_until FROM deployments WHERE id = $1 AND driver IS NOT NULL",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.map(|row| {
            Ok((
                crate::rows::text(&row, "driver")?,
                crate::rows::text(&row, "driver_until")?,
            ))
        })
        .transpose()
    }
}
