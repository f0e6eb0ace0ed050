//! Change requests: created, moved through their state machine
//! ([`ferry_core::change`]) by their verbs, each move audited.

use chrono::{DateTime, Utc};
use ferry_core::Name;
use std::collections::HashMap;

use ferry_core::change::{
    ChangeAction, ChangeKind, ChangeSlot, ChangeState, ChangeWindow, conflicts, next_state,
};
use serde_json::json;
use sqlx::AssertSqlSafe;
use sqlx::any::AnyRow;

use crate::audit::append;
use crate::rows::{int, now, opt_text, text, time};
use crate::{Result, Store, StoreError, Tx};

/// A change request as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeRecord {
    /// Its number.
    pub id: i64,
    /// What it changes, in a line.
    pub title: String,
    /// More about it.
    pub description: String,
    /// Standard, normal or emergency.
    pub kind: ChangeKind,
    /// Where it stands.
    pub state: ChangeState,
    /// The service changed.
    pub service: String,
    /// The environment changed.
    pub environment: String,
    /// The release it implements, if named (its version).
    pub release: Option<String>,
    /// When it may be carried out.
    pub window: Option<ChangeWindow>,
    /// The assessed risk (`low` … `critical`).
    pub risk: Option<String>,
    /// The assessed impact.
    pub impact: Option<String>,
    /// Why it was rejected or deferred.
    pub reason: Option<String>,
    /// The post-implementation review's outcome.
    pub review_outcome: Option<String>,
    /// The review's notes.
    pub review_notes: Option<String>,
    /// Who raised it.
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl ChangeRecord {
    /// What conflict detection needs of it.
    pub fn slot(&self) -> ChangeSlot {
        ChangeSlot {
            id: self.id,
            service: self.service.clone(),
            environment: self.environment.clone(),
            state: self.state,
            window: self.window,
        }
    }
}

/// For each change among `changes` that conflicts with others, their ids.
pub fn conflicts_by_change(changes: &[ChangeRecord]) -> HashMap<i64, Vec<i64>> {
    let slots: Vec<ChangeSlot> = changes.iter().map(ChangeRecord::slot).collect();
    let mut by_change: HashMap<i64, Vec<i64>> = HashMap::new();
    for (a, b) in conflicts(&slots) {
        by_change.entry(a).or_default().push(b);
        by_change.entry(b).or_default().push(a);
    }
    by_change
}

/// A change request to raise.
#[derive(Debug, Clone)]
pub struct NewChange<'a> {
    /// What it changes.
    pub title: &'a str,
    /// More about it.
    pub description: &'a str,
    /// Its type.
    pub kind: ChangeKind,
    /// The service.
    pub service: &'a Name,
    /// The environment.
    pub environment: &'a Name,
    /// The release it implements.
    pub release: Option<&'a semver::Version>,
    /// When it may be carried out.
    pub window: Option<ChangeWindow>,
}

/// What a verb may set along with the move.
#[derive(Debug, Clone, Default)]
pub struct ChangeUpdate<'a> {
    /// `assess`: the risk.
    pub risk: Option<&'a str>,
    /// `assess`: the impact.
    pub impact: Option<&'a str>,
    /// `reject`, `defer`: why.
    pub reason: Option<&'a str>,
    /// `schedule`: the window.
    pub window: Option<ChangeWindow>,
    /// `review`: the outcome.
    pub outcome: Option<&'a str>,
    /// `review`: notes.
    pub notes: Option<&'a str>,
}

/// Filters of [`Store::changes`].
#[derive(Debug, Clone, Default)]
pub struct ChangeFilter<'a> {
    /// Only in this state.
    pub state: Option<ChangeState>,
    /// Only of this type.
    pub kind: Option<ChangeKind>,
    /// Only of this service.
    pub service: Option<&'a Name>,
    /// Only in this environment.
    pub environment: Option<&'a Name>,
}

pub(crate) const SELECT: &str = "SELECT c.id, c.title, c.description, c.kind, c.state, s.name AS service, e.name AS environment, \
     r.version AS release_version, c.window_start, c.window_end, c.risk, c.impact, c.reason, c.review_outcome, \
     c.review_notes, c.created_by, c.created_at, c.updated_at \
     FROM change_requests c JOIN services s ON s.id = c.service_id JOIN environments e ON e.id = c.environment_id \
     LEFT JOIN releases r ON r.id = c.release_id";

pub(crate) fn change(row: &AnyRow) -> Result<ChangeRecord> {
    let kind = text(row, "kind")?;
    let state = text(row, "state")?;
    let window = match (opt_text(row, "window_start")?, opt_text(row, "window_end")?) {
        (Some(start), Some(end)) => Some(ChangeWindow {
            start: ferry_core::time::parse_time(&start).map_err(StoreError::Corrupt)?,
            end: ferry_core::time::parse_time(&end).map_err(StoreError::Corrupt)?,
        }),
        _ => None,
    };
    Ok(ChangeRecord {
        id: int(row, "id")?,
        title: text(row, "title")?,
        description: text(row, "description")?,
        kind: ChangeKind::parse(&kind)
            .map_err(|_| StoreError::Corrupt(format!("change kind {kind:?}")))?,
        state: ChangeState::parse(&state)
            .map_err(|_| StoreError::Corrupt(format!("change state {state:?}")))?,
        service: text(row, "service")?,
        environment: text(row, "environment")?,
        release: opt_text(row, "release_version")?,
        window,
        risk: opt_text(row, "risk")?,
        impact: opt_text(row, "impact")?,
        reason: opt_text(row, "reason")?,
        review_outcome: opt_text(row, "review_outcome")?,
        review_notes: opt_text(row, "review_notes")?,
        created_by: text(row, "created_by")?,
        created_at: time(row, "created_at")?,
        updated_at: time(row, "updated_at")?,
    })
}

fn window_text(window: Option<ChangeWindow>) -> (Option<String>, Option<String>) {
    match window {
        Some(w) => (
            Some(ferry_core::time::format_time(w.start)),
            Some(ferry_core::time::format_time(w.end)),
        ),
        None => (None, None),
    }
}

async fn fetch(tx: &mut Tx, id: i64) -> Result<ChangeRecord> {
    let row = sqlx::query(AssertSqlSafe(format!("{SELECT} WHERE c.id = $1")))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("there is no change request {id}")))?;
    change(&row)
}

impl Store {
    /// Raises a change request, in `draft`.
    pub async fn create_change(&self, actor: &str, new: NewChange<'_>) -> Result<ChangeRecord> {
        let mut tx = self.write().await?;
        let service_id = crate::releases::service_id(&mut tx, new.service).await?;
        let environment_id = int(
            &sqlx::query("SELECT id FROM environments WHERE name = $1")
                .bind(new.environment.as_str())
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| {
                    StoreError::NotFound(format!(
                        "there is no environment {:?}",
                        new.environment.as_str()
                    ))
                })?,
            "id",
        )?;
        let release_id = match new.release {
            Some(version) => Some(int(
                &sqlx::query("SELECT id FROM releases WHERE service_id = $1 AND version = $2")
                    .bind(service_id)
                    .bind(version.to_string())
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or_else(|| {
                        StoreError::NotFound(format!(
                            "there is no release {}@{version}",
                            new.service
                        ))
                    })?,
                "id",
            )?),
            None => None,
        };
        let (start, end) = window_text(new.window);
        let stamp = now();
        let id = int(
            &sqlx::query(
                "INSERT INTO change_requests (title, description, kind, state, service_id, environment_id, release_id, \
                 window_start, window_end, created_by, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING id",
            )
            .bind(new.title)
            .bind(new.description)
            .bind(new.kind.as_str())
            .bind(ChangeState::Draft.as_str())
            .bind(service_id)
            .bind(environment_id)
            .bind(release_id)
            .bind(start)
            .bind(end)
            .bind(actor)
            .bind(&stamp)
            .fetch_one(&mut *tx)
            .await?,
            "id",
        )?;
        let created = fetch(&mut tx, id).await?;
        let details = json!({ "after": { "title": created.title, "type": created.kind, "state": created.state,
            "service": created.service, "environment": created.environment, "release": created.release } });
        append(
            &mut tx,
            self.backend(),
            actor,
            "change.create",
            &format!("change:{id}"),
            details,
        )
        .await?;
        tx.commit().await?;
        Ok(created)
    }

    /// Moves change `id` by `action`, if its state machine allows it.
    pub async fn act_on_change(
        &self,
        actor: &str,
        id: i64,
        action: ChangeAction,
        update: ChangeUpdate<'_>,
    ) -> Result<ChangeRecord> {
        let mut tx = self.write().await?;
        let current = fetch(&mut tx, id).await?;
        let next = next_state(current.kind, current.state, action)
            .map_err(|illegal| StoreError::Invalid(illegal.to_string()))?;
        let window = update.window.or(current.window);
        if action == ChangeAction::Schedule && window.is_none() {
            return Err(StoreError::Invalid(format!(
                "change {id} has no window: schedule it with --window START..END"
            )));
        }
        let (start, end) = window_text(window);
        sqlx::query(
            "UPDATE change_requests SET state = $1, window_start = $2, window_end = $3, \
             risk = COALESCE($4, risk), impact = COALESCE($5, impact), reason = COALESCE($6, reason), \
             review_outcome = COALESCE($7, review_outcome), review_notes = COALESCE($8, review_notes), updated_at = $9 \
             WHERE id = $10",
        )
        .bind(next.as_str())
        .bind(start)
        .bind(end)
        .bind(update.risk)
        .bind(update.impact)
        .bind(update.reason)
        .bind(update.outcome)
        .bind(update.notes)
        .bind(now())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let updated = fetch(&mut tx, id).await?;
        let details = json!({
            "before": { "state": current.state },
            "after": { "state": updated.state, "risk": update.risk, "impact": update.impact, "reason": update.reason,
                       "window": update.window.map(|w| format!("{}..{}", ferry_core::time::format_time(w.start), ferry_core::time::format_time(w.end))),
                       "outcome": update.outcome, "notes": update.notes },
        });
        append(
            &mut tx,
            self.backend(),
            actor,
            &format!("change.{}", action.as_str()),
            &format!("change:{id}"),
            details,
        )
        .await?;
        tx.commit().await?;
        Ok(updated)
    }

    /// One change request.
    pub async fn change(&self, id: i64) -> Result<ChangeRecord> {
        let mut tx = self.pool().begin().await?;
        let found = fetch(&mut tx, id).await;
        tx.rollback().await?;
        found
    }

    /// Change requests, newest first.
    pub async fn changes(&self, filter: ChangeFilter<'_>) -> Result<Vec<ChangeRecord>> {
        // Only the filters given are written: a service and an environment
        // then find their change requests by index instead of reading all.
        let mut conditions = Vec::new();
        if filter.state.is_some() {
            conditions.push("c.state = $1");
        }
        if filter.kind.is_some() {
            conditions.push("c.kind = $2");
        }
        if filter.service.is_some() {
            conditions.push("c.service_id = (SELECT id FROM services WHERE name = $3)");
        }
        if filter.environment.is_some() {
            conditions.push("c.environment_id = (SELECT id FROM environments WHERE name = $4)");
        }
        // Every placeholder appears, so that the binds below always match.
        conditions.push("$1 = $1 AND $2 = $2 AND $3 = $3 AND $4 = $4");
        let rows = sqlx::query(AssertSqlSafe(format!(
            "{SELECT} WHERE {} ORDER BY c.id DESC",
            conditions.join(" AND ")
        )))
        .bind(filter.state.map_or("", ChangeState::as_str))
        .bind(filter.kind.map_or("", ChangeKind::as_str))
        .bind(filter.service.map_or("", Name::as_str))
        .bind(filter.environment.map_or("", Name::as_str))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(change).collect()
    }
}
