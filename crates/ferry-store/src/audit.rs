//! The audit trail: appended in the transaction of every change, hash-chained
//! (see [`ferry_core::audit`]), read back in pages and verified.

use ferry_core::audit::{AuditRecord, ChainBreak, ChainVerifier, EventFields, event_hash};
use ferry_core::audit_filter::{ActionMatch, AuditFilter, AuditOrder};
use sqlx::AssertSqlSafe;
use sqlx::any::AnyRow;

use crate::rows::{int, now, text};
use crate::{Backend, Result, Store, Tx};

/// The outcome of [`Store::verify_audit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    /// Every event up to the head is as written.
    Intact {
        /// How many events.
        events: i64,
        /// The last event's hash.
        head_hash: String,
    },
    /// The chain is broken.
    Broken {
        /// How many events verified before the break.
        events: i64,
        /// Where and why.
        break_at: ChainBreak,
    },
}

/// Appends an event inside `tx`, after the change it records.
pub(crate) async fn append(
    tx: &mut Tx,
    backend: Backend,
    actor: &str,
    action: &str,
    object: &str,
    details: serde_json::Value,
) -> Result<i64> {
    let mut events = Events::default();
    events.push(actor, action, object, details);
    events.append(tx, backend).await
}

/// Rows per INSERT: eight parameters each stays far below every backend's
/// limit.
const EVENTS_PER_INSERT: usize = 100;

/// One event waiting in [`Events`].
struct NewEvent {
    actor: String,
    action: String,
    object: String,
    details: String,
}

/// Events of one transaction, appended together at its end: the head is
/// read and locked once, the events inserted by the hundred and the head
/// moved once, so many changes in one transaction cost three statements of
/// audit rather than three each. The chain is the same as appending them
/// one by one.
#[derive(Default)]
pub(crate) struct Events(Vec<NewEvent>);

impl Events {
    /// Adds an event, recorded after those added before it.
    pub(crate) fn push(
        &mut self,
        actor: &str,
        action: &str,
        object: &str,
        details: serde_json::Value,
    ) {
        self.0.push(NewEvent {
            actor: actor.to_owned(),
            action: action.to_owned(),
            object: object.to_owned(),
            details: details.to_string(),
        });
    }

    /// Appends the events inside `tx`, after the changes they record, and
    /// answers the sequence number of the last (the head's when there are
    /// none).
    pub(crate) async fn append(self, tx: &mut Tx, backend: Backend) -> Result<i64> {
        // Locking the head orders concurrent writers on PostgreSQL; SQLite's
        // IMMEDIATE transaction already holds the only write lock.
        let head_sql = match backend {
            Backend::Sqlite => "SELECT seq, hash FROM audit_head WHERE id = 1",
            Backend::Postgres => "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE",
        };
        let head = sqlx::query(head_sql).fetch_one(&mut **tx).await?;
        let mut seq = int(&head, "seq")?;
        if self.0.is_empty() {
            return Ok(seq);
        }
        let mut hash = text(&head, "hash")?;
        let time = now();
        for chunk in self.0.chunks(EVENTS_PER_INSERT) {
            let values: Vec<String> = (0..chunk.len())
                .map(|i| {
                    let p = i * 8;
                    format!(
                        "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                        p + 1,
                        p + 2,
                        p + 3,
                        p + 4,
                        p + 5,
                        p + 6,
                        p + 7,
                        p + 8
                    )
                })
                .collect();
            let sql = format!(
                "INSERT INTO audit_events (seq, time, actor, action, object, details, prev_hash, hash) \
                 VALUES {}",
                values.join(", ")
            );
            let mut query = sqlx::query(AssertSqlSafe(sql));
            for event in chunk {
                seq += 1;
                let prev_hash = std::mem::take(&mut hash);
                hash = event_hash(
                    &prev_hash,
                    EventFields {
                        seq,
                        time: &time,
                        actor: &event.actor,
                        action: &event.action,
                        object: &event.object,
                        details: &event.details,
                    },
                );
                query = query
                    .bind(seq)
                    .bind(time.clone())
                    .bind(event.actor.clone())
                    .bind(event.action.clone())
                    .bind(event.object.clone())
                    .bind(event.details.clone())
                    .bind(prev_hash)
                    .bind(hash.clone());
            }
            query.execute(&mut **tx).await?;
        }
        sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
            .bind(seq)
            .bind(&hash)
            .execute(&mut **tx)
            .await?;
        Ok(seq)
    }
}

pub(crate) fn record(row: &AnyRow) -> Result<AuditRecord> {
    Ok(AuditRecord {
        seq: int(row, "seq")?,
        time: text(row, "time")?,
        actor: text(row, "actor")?,
        action: text(row, "action")?,
        object: text(row, "object")?,
        details: text(row, "details")?,
        prev_hash: text(row, "prev_hash")?,
        hash: text(row, "hash")?,
    })
}

impl Store {
    /// Where the audit trail's head is: every change of state appends an
    /// event in its transaction, so while this stays the same nothing has
    /// changed (see [`crate::freshness::Stamped`]).
    pub async fn change_stamp(&self) -> Result<i64> {
        let head = sqlx::query("SELECT seq FROM audit_head WHERE id = 1")
            .fetch_one(self.pool())
            .await?;
        int(&head, "seq")
    }

    /// Records an event that changes nothing else: a refusal of a sensitive
    /// action, or a credential handed out.
    pub async fn audit_event(
        &self,
        actor: &str,
        action: &str,
        object: &str,
        details: serde_json::Value,
    ) -> Result<i64> {
        let mut tx = self.write().await?;
        let seq = append(&mut tx, self.backend(), actor, action, object, details).await?;
        tx.commit().await?;
        Ok(seq)
    }

    /// Events with `seq > after`, oldest first, at most `limit`.
    pub async fn audit_events(&self, after: i64, limit: i64) -> Result<Vec<AuditRecord>> {
        let rows = sqlx::query(
            "SELECT seq, time, actor, action, object, details, prev_hash, hash \
             FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(record).collect()
    }

    /// A page of the events `filter` lets through, in `order`, at most
    /// `limit`: those after the event `cursor` (its `seq`) in that order, or
    /// from the first when `None`. The SQL keeps the rules of
    /// [`AuditFilter::matches`].
    pub async fn audit_page(
        &self,
        filter: &AuditFilter,
        order: AuditOrder,
        cursor: Option<i64>,
        limit: i64,
    ) -> Result<Vec<AuditRecord>> {
        let (after, before, direction) = match order {
            AuditOrder::OldestFirst => (cursor.unwrap_or(0), i64::MAX, "ASC"),
            AuditOrder::NewestFirst => (0, cursor.unwrap_or(i64::MAX), "DESC"),
        };
        let (action, kind) = match &filter.action {
            None => ("", String::new()),
            Some(ActionMatch::Exactly(action)) => (action.as_str(), String::new()),
            Some(ActionMatch::OfKind(kind)) => ("", format!("{kind}.")),
        };
        let object = filter.object.as_ref().map_or("", |o| o.as_str());
        // An empty parameter filters nothing. An object given by its name
        // also matches `KIND:NAME`: the text after the last characters of
        // the object's length, less the name's, is `:` and the name. A
        // kind's actions start with `KIND.`.
        let sql = format!(
            "SELECT seq, time, actor, action, object, details, prev_hash, hash \
             FROM audit_events \
             WHERE seq > $1 AND seq < $2 \
             AND ($3 = '' OR actor = $3) \
             AND ($4 = '' OR action = $4) \
             AND ($5 = '' OR substr(action, 1, length($5)) = $5) \
             AND ($6 = '' OR object = $6 OR (length(object) > length($6) + 1 \
                  AND substr(object, length(object) - length($6)) = ':' || $6)) \
             AND ($7 = '' OR time >= $7) \
             ORDER BY seq {direction} LIMIT $8"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(after)
            .bind(before)
            .bind(filter.actor.as_ref().map_or("", |a| a.as_str()))
            .bind(action)
            .bind(kind)
            .bind(object)
            .bind(
                filter
                    .since
                    .map(ferry_core::time::format_time)
                    .unwrap_or_default(),
            )
            .bind(limit)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(record).collect()
    }

    /// Walks the whole trail in pages and checks every link and hash.
    pub async fn verify_audit(&self) -> Result<Verification> {
        // The head is read first: events appended while we walk lie beyond it
        // and are left for the next verification.
        let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
            .fetch_one(self.pool())
            .await?;
        let (head_seq, head_hash) = (int(&head, "seq")?, text(&head, "hash")?);
        let mut verifier = ChainVerifier::default();
        let mut after = 0;
        let mut events = 0;
        'pages: loop {
            let page = self.audit_events(after, 1000).await?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            for event in &page {
                if event.seq > head_seq && event.seq == events + 1 {
                    break 'pages;
                }
                if let Err(break_at) = verifier.push(event) {
                    return Ok(Verification::Broken { events, break_at });
                }
                events += 1;
            }
        }
        Ok(match verifier.finish(head_seq, &head_hash) {
            Ok(events) => Verification::Intact { events, head_hash },
            Err(break_at) => Verification::Broken { events, break_at },
        })
    }
}
