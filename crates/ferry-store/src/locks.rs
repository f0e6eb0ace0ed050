//! Locks: environments, or one service in them, closed to promotions by a
//! person (or by ferry after a rollback) until unlocked. Unlocking ends
//! the row; one lock of a scope is in force at a time (a unique index).

use chrono::{DateTime, Utc};
use ferry_core::Name;
use ferry_core::lock::LockFact;
use serde_json::json;
use sqlx::AssertSqlSafe;

use crate::audit::append;
use crate::rows::{int, name, now, opt_text, opt_time, text, time};
use crate::{Backend, Result, Store, StoreError, Tx};

/// A lock, in force or lifted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockRecord {
    /// Its id.
    pub id: i64,
    /// What it holds, who locked it, when and why.
    pub lock: LockFact,
    /// Who lifted it, when and why; `None` while it is in force.
    pub unlocked: Option<Lifted>,
}

/// How a lock or a mark ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lifted {
    /// Who.
    pub by: String,
    /// When.
    pub at: DateTime<Utc>,
    /// Why.
    pub reason: String,
}

const LOCKS: &str = "SELECT l.id, e.name AS environment, s.name AS service, l.reason, l.locked_by, \
     l.locked_at, l.unlocked_by, l.unlocked_at, l.unlock_reason FROM locks l \
     JOIN environments e ON e.id = l.environment_id LEFT JOIN services s ON s.id = l.service_id";

fn record(row: &sqlx::any::AnyRow) -> Result<LockRecord> {
    let service = opt_text(row, "service")?
        .map(|text| Name::parse(&text).map_err(|e| StoreError::Corrupt(format!("service: {e}"))))
        .transpose()?;
    let unlocked = match opt_time(row, "unlocked_at")? {
        Some(at) => Some(Lifted {
            by: opt_text(row, "unlocked_by")?.unwrap_or_default(),
            at,
            reason: opt_text(row, "unlock_reason")?.unwrap_or_default(),
        }),
        None => None,
    };
    Ok(LockRecord {
        id: int(row, "id")?,
        lock: LockFact {
            environment: name(row, "environment")?,
            service,
            reason: text(row, "reason")?,
            locked_by: text(row, "locked_by")?,
            locked_at: time(row, "locked_at")?,
        },
        unlocked,
    })
}

/// The ids of an environment and, if named, a service; or which does not exist.
async fn scope_ids(
    tx: &mut Tx,
    environment: &Name,
    service: Option<&Name>,
) -> Result<(i64, Option<i64>)> {
    let environment_id = sqlx::query("SELECT id FROM environments WHERE name = $1")
        .bind(environment.as_str())
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("there is no environment {environment}")))?;
    let service_id = match service {
        Some(service) => Some(int(
            &sqlx::query("SELECT id FROM services WHERE name = $1")
                .bind(service.as_str())
                .fetch_optional(&mut **tx)
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("there is no service {service}")))?,
            "id",
        )?),
        None => None,
    };
    Ok((int(&environment_id, "id")?, service_id))
}

/// The lock in force on exactly this scope, inside `tx`.
async fn in_force(
    tx: &mut Tx,
    environment_id: i64,
    service_id: Option<i64>,
) -> Result<Option<i64>> {
    let row = sqlx::query(
        "SELECT id FROM locks WHERE environment_id = $1 AND COALESCE(service_id, 0) = $2 AND unlocked_at IS NULL",
    )
    .bind(environment_id)
    .bind(service_id.unwrap_or(0))
    .fetch_optional(&mut **tx)
    .await?;
    row.map(|row| int(&row, "id")).transpose()
}

/// Locks a scope inside `tx`, audited; `Ok(None)` when it is locked already.
pub(crate) async fn lock_in(
    tx: &mut Tx,
    backend: Backend,
    actor: &str,
    environment_id: i64,
    service_id: Option<i64>,
    reason: &str,
) -> Result<Option<i64>> {
    if in_force(tx, environment_id, service_id).await?.is_some() {
        return Ok(None);
    }
    let row = sqlx::query(
        "INSERT INTO locks (environment_id, service_id, reason, locked_by, locked_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(environment_id)
    .bind(service_id)
    .bind(reason)
    .bind(actor)
    .bind(now())
    .fetch_one(&mut **tx)
    .await?;
    let id = int(&row, "id")?;
    let scope = sqlx::query(
        "SELECT e.name AS environment, s.name AS service FROM environments e \
         LEFT JOIN services s ON s.id = $2 WHERE e.id = $1",
    )
    .bind(environment_id)
    .bind(service_id)
    .fetch_one(&mut **tx)
    .await?;
    let details = json!({ "after": { "environment": text(&scope, "environment")?,
        "service": opt_text(&scope, "service")?, "reason": reason } });
    append(
        tx,
        backend,
        actor,
        "lock.create",
        &format!("lock:{id}"),
        details,
    )
    .await?;
    Ok(Some(id))
}

impl Store {
    /// Locks `environment` (or `service` in it) for `actor`, with `reason`.
    /// A scope that is locked already is a [`StoreError::Conflict`] naming
    /// who locked it.
    pub async fn lock(
        &self,
        actor: &str,
        environment: &Name,
        service: Option<&Name>,
        reason: &str,
    ) -> Result<LockRecord> {
        let mut tx = self.write().await?;
        let (environment_id, service_id) = scope_ids(&mut tx, environment, service).await?;
        match lock_in(
            &mut tx,
            self.backend(),
            actor,
            environment_id,
            service_id,
            reason,
        )
        .await?
        {
            Some(id) => {
                tx.commit().await?;
                self.lock_record(id).await
            }
            None => {
                let existing = in_force(&mut tx, environment_id, service_id).await?;
                tx.rollback().await?;
                let existing = match existing {
                    Some(id) => self.lock_record(id).await?,
                    None => {
                        return Err(StoreError::Conflict(
                            "the lock changed meanwhile; try again".into(),
                        ));
                    }
                };
                Err(StoreError::Conflict(format!(
                    "{} is locked already, by {} since {}: {}",
                    existing.lock.scope(),
                    existing.lock.locked_by,
                    ferry_core::time::format_time(existing.lock.locked_at),
                    existing.lock.reason
                )))
            }
        }
    }

    /// Lifts the lock in force on exactly `environment` (or `service` in
    /// it), for `actor`, with `reason`. No such lock is a
    /// [`StoreError::NotFound`] that names the locks there are.
    pub async fn unlock(
        &self,
        actor: &str,
        environment: &Name,
        service: Option<&Name>,
        reason: &str,
    ) -> Result<LockRecord> {
        let mut tx = self.write().await?;
        let (environment_id, service_id) = scope_ids(&mut tx, environment, service).await?;
        let Some(id) = in_force(&mut tx, environment_id, service_id).await? else {
            tx.rollback().await?;
            let others: Vec<String> = self
                .locks(Some(environment))
                .await?
                .iter()
                .map(|record| record.lock.scope())
                .collect();
            let scope = match service {
                Some(service) => format!("{service} in {environment}"),
                None => environment.to_string(),
            };
            let there = if others.is_empty() {
                format!("nothing in {environment} is locked")
            } else {
                format!("locked there: {}", others.join(", "))
            };
            return Err(StoreError::NotFound(format!(
                "{scope} is not locked ({there})"
            )));
        };
        sqlx::query(
            "UPDATE locks SET unlocked_by = $2, unlocked_at = $3, unlock_reason = $4 WHERE id = $1",
        )
        .bind(id)
        .bind(actor)
        .bind(now())
        .bind(reason)
        .execute(&mut *tx)
        .await?;
        let details = json!({ "after": { "environment": environment, "service": service, "reason": reason } });
        append(
            &mut tx,
            self.backend(),
            actor,
            "lock.remove",
            &format!("lock:{id}"),
            details,
        )
        .await?;
        tx.commit().await?;
        self.lock_record(id).await
    }

    /// The locks in force, of one environment or of all, by environment
    /// and then service (the environment's own lock first).
    pub async fn locks(&self, environment: Option<&Name>) -> Result<Vec<LockRecord>> {
        let sql = format!(
            "{LOCKS} WHERE l.unlocked_at IS NULL AND ($1 = '' OR e.name = $1) ORDER BY e.name, COALESCE(s.name, ''), l.id"
        );
        sqlx::query(AssertSqlSafe(sql))
            .bind(environment.map_or("", Name::as_str))
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(record)
            .collect()
    }

    /// One lock, in force or lifted.
    pub async fn lock_record(&self, id: i64) -> Result<LockRecord> {
        let row = sqlx::query(AssertSqlSafe(format!("{LOCKS} WHERE l.id = $1")))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("there is no lock {id}")))?;
        record(&row)
    }
}
