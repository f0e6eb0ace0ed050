//! Webhook subscriptions, and the durable outbox their deliveries come
//! from: the audit trail, read after a mark that moves in the same
//! transaction as the deliveries it makes.

use chrono::{DateTime, Utc};
use ferry_core::Name;
use ferry_core::chat::Format;
use ferry_core::event::{AuditFact, DeploymentFacts, EventSelection, event_of};
use serde_json::json;
use sqlx::{AssertSqlSafe, Row};

use crate::audit::append;
use crate::rows::{int, name, now, opt_text, opt_time, text, time};
use crate::{Backend, Result, Store, StoreError, Tx};

/// A subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookRecord {
    /// Its id.
    pub id: i64,
    /// Its name, when `ferry.toml` declares it (`[[webhook]]`).
    pub name: Option<Name>,
    /// Where deliveries are posted (`mailto:` and the recipients for
    /// e-mail).
    pub url: String,
    /// How deliveries are written.
    pub format: Format,
    /// The events it wants.
    pub events: EventSelection,
    /// Only events of this service, when set.
    pub service: Option<Name>,
    /// Only events of this environment, when set.
    pub environment: Option<Name>,
    /// Its signing secret, sealed by the server.
    pub secret_sealed: String,
    /// Who made it, and when.
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// A subscription to make.
#[derive(Debug, Clone)]
pub struct NewWebhook<'a> {
    /// Where deliveries are posted (`mailto:` and the recipients for
    /// e-mail).
    pub url: &'a str,
    /// How deliveries are written.
    pub format: Format,
    /// The events it wants.
    pub events: &'a EventSelection,
    /// Only events of this service.
    pub service: Option<&'a Name>,
    /// Only events of this environment.
    pub environment: Option<&'a Name>,
    /// Its signing secret, sealed by the server.
    pub secret_sealed: &'a str,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    /// Not delivered yet; tried again at `next_attempt_at`.
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// Every attempt of the schedule failed (or its subscription was
    /// deleted); it can be sent again by hand.
    Failed,
}

impl DeliveryState {
    /// Its name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
        }
    }

    fn parse(text: &str) -> Result<DeliveryState> {
        match text {
            "pending" => Ok(DeliveryState::Pending),
            "delivered" => Ok(DeliveryState::Delivered),
            "failed" => Ok(DeliveryState::Failed),
            other => Err(StoreError::Corrupt(format!(
                "unknown webhook delivery state {other:?}"
            ))),
        }
    }
}

/// One event for one subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRecord {
    /// Its id.
    pub id: i64,
    /// The subscription.
    pub webhook_id: i64,
    /// The event's id (the `webhook-id` header and the CloudEvent's `id`).
    pub event_id: String,
    /// The CloudEvent's `type`.
    pub event_type: String,
    /// The audit event it comes from.
    pub event_seq: i64,
    /// The body posted, the same on every attempt.
    pub payload: String,
    /// Where it stands.
    pub state: DeliveryState,
    /// How many attempts were made.
    pub attempts: i64,
    /// When it is tried next (while pending).
    pub next_attempt_at: DateTime<Utc>,
    /// The last attempt's HTTP status, if it got an answer.
    pub last_status: Option<i64>,
    /// The last attempt's error, if it failed.
    pub last_error: Option<String>,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
    /// When the receiver took it.
    pub delivered_at: Option<DateTime<Utc>>,
}

/// A delivery claimed for an attempt, with where and how to send it.
#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
    /// The delivery, its attempt counted.
    pub delivery: DeliveryRecord,
    /// The subscription's address.
    pub url: String,
    /// How the subscription's deliveries are written.
    pub format: Format,
    /// The subscription's signing secret, sealed.
    pub secret_sealed: String,
}

/// What an attempt came to.
#[derive(Debug, Clone)]
pub struct AttemptOutcome {
    /// The HTTP status, if the receiver answered.
    pub status: Option<u16>,
    /// What went wrong, if something did.
    pub error: Option<String>,
    /// How long it took.
    pub duration_ms: i64,
    /// Delivered; else when to try again (`None`: never, it failed).
    pub delivered: bool,
    /// When to try again, if it was not delivered and the schedule goes on.
    pub retry_at: Option<DateTime<Utc>>,
}

/// One attempt, as the history shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRecord {
    /// When it was made.
    pub at: DateTime<Utc>,
    /// The HTTP status, if the receiver answered.
    pub status: Option<i64>,
    /// What went wrong, if something did.
    pub error: Option<String>,
    /// How long it took.
    pub duration_ms: i64,
}

const WEBHOOKS: &str = "SELECT w.id, w.name, w.url, w.format, w.events, s.name AS service, e.name AS environment, \
     w.secret_sealed, w.created_by, w.created_at, w.after_seq FROM webhooks w \
     LEFT JOIN services s ON s.id = w.service_id LEFT JOIN environments e ON e.id = w.environment_id";

const DELIVERIES: &str = "SELECT id, webhook_id, event_id, event_type, event_seq, payload, state, attempts, \
     next_attempt_at, last_status, last_error, created_at, delivered_at FROM webhook_deliveries";

/// How many audit events one pass of the outbox reads.
const OUTBOX_BATCH: i64 = 500;

impl Store {
    /// Makes a subscription; it is told of the events after its making.
    pub async fn create_webhook(&self, actor: &str, new: NewWebhook<'_>) -> Result<WebhookRecord> {
        let mut tx = self.write().await?;
        let ids = match scope_ids(&mut tx, new.service, new.environment).await {
            Ok(ids) => ids,
            Err(error) => return Store::abandon(tx, Err(error)).await,
        };
        let events = serde_json::to_string(&new.events.names())?;
        let row = sqlx::query(
            "INSERT INTO webhooks (url, events, service_id, environment_id, secret_sealed, created_by, created_at, after_seq, format) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8) RETURNING id",
        )
        .bind(new.url)
        .bind(&events)
        .bind(ids[0])
        .bind(ids[1])
        .bind(new.secret_sealed)
        .bind(actor)
        .bind(now())
        .bind(new.format.as_str())
        .fetch_one(&mut *tx)
        .await?;
        let id = int(&row, "id")?;
        // A chat service's incoming-webhook address holds its credential:
        // the trail keeps it without.
        let url = new.format.shown_url(new.url);
        let details = json!({ "after": { "url": url, "format": new.format.as_str(),
            "events": new.events.names(), "service": new.service, "environment": new.environment } });
        let seq = append(
            &mut tx,
            self.backend(),
            actor,
            "webhook.create",
            &format!("webhook:{id}"),
            details,
        )
        .await?;
        // Told of what happens after it was made.
        sqlx::query("UPDATE webhooks SET after_seq = $1 WHERE id = $2")
            .bind(seq)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.webhook(id).await
    }

    /// The subscriptions in force, oldest first.
    pub async fn webhooks(&self) -> Result<Vec<WebhookRecord>> {
        sqlx::query(AssertSqlSafe(format!(
            "{WEBHOOKS} WHERE w.deleted_at IS NULL ORDER BY w.id"
        )))
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(webhook)
        .collect()
    }

    /// Subscription `id` (in force).
    pub async fn webhook(&self, id: i64) -> Result<WebhookRecord> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "{WEBHOOKS} WHERE w.id = $1 AND w.deleted_at IS NULL"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("there is no webhook {id}")))?;
        webhook(&row)
    }

    /// Deletes subscription `id`: nothing more is sent to it, and what was
    /// waiting is failed.
    pub async fn delete_webhook(&self, actor: &str, id: i64) -> Result<()> {
        let mut tx = self.write().await?;
        let stamp = now();
        let done = sqlx::query(
            "UPDATE webhooks SET deleted_by = $1, deleted_at = $2 WHERE id = $3 AND deleted_at IS NULL",
        )
        .bind(actor)
        .bind(&stamp)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            let error = StoreError::NotFound(format!("there is no webhook {id}"));
            return Store::abandon(tx, Err(error)).await;
        }
        sqlx::query(
            "UPDATE webhook_deliveries SET state = 'failed', last_error = 'the webhook was deleted', \
             lease_until = NULL WHERE webhook_id = $1 AND state = 'pending'",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        append(
            &mut tx,
            self.backend(),
            actor,
            "webhook.delete",
            &format!("webhook:{id}"),
            json!({ "before": { "id": id } }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Reads the audit trail after the outbox's mark: each event worth
    /// telling becomes a delivery for each subscription that wants it
    /// (once: a delivery is unique by subscription and event), and the
    /// mark moves past what was read, in one transaction. `source` is the
    /// CloudEvents source of this ferry. Answers how many deliveries were
    /// queued, and whether the trail may hold more to read.
    pub async fn fan_out_events(&self, source: &str) -> Result<(usize, bool)> {
        // Nothing is written while there is nothing to tell: no
        // subscription, or no event after the mark (a write each pass would
        // hold SQLite's write lock for nothing, and fail on a full disk).
        let look = sqlx::query(
            "SELECT (SELECT seq FROM webhook_outbox WHERE id = 1) AS mark, \
             (SELECT MIN(after_seq) FROM webhooks WHERE deleted_at IS NULL) AS first_wanted, \
             (SELECT MAX(seq) FROM audit_events) AS head",
        )
        .fetch_one(self.pool())
        .await?;
        let first_wanted = look.try_get::<Option<i64>, _>("first_wanted")?;
        let head = look.try_get::<Option<i64>, _>("head")?.unwrap_or(0);
        let mark = look.try_get::<Option<i64>, _>("mark")?.unwrap_or(0);
        match first_wanted {
            Some(first) if head > mark.max(first) => {}
            _ => return Ok((0, false)),
        }
        let mut tx = self.write().await?;
        let mark_sql = match self.backend() {
            Backend::Sqlite => "SELECT seq FROM webhook_outbox WHERE id = 1",
            Backend::Postgres => "SELECT seq FROM webhook_outbox WHERE id = 1 FOR UPDATE",
        };
        let mark = int(&sqlx::query(mark_sql).fetch_one(&mut *tx).await?, "seq")?;
        // What came before every subscription is told to none of them.
        let first_wanted: Option<i64> = sqlx::query(
            "SELECT MIN(after_seq) AS first_wanted FROM webhooks WHERE deleted_at IS NULL",
        )
        .fetch_one(&mut *tx)
        .await?
        .try_get("first_wanted")?;
        let mark = mark.max(first_wanted.unwrap_or(mark));
        let events = sqlx::query(
            "SELECT seq, time, actor, action, object, details FROM audit_events \
             WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(mark)
        .bind(OUTBOX_BATCH)
        .fetch_all(&mut *tx)
        .await?;
        let Some(last) = events.last() else {
            tx.rollback().await?;
            return Ok((0, false));
        };
        let last_seq = int(last, "seq")?;
        let hooks = sqlx::query(AssertSqlSafe(format!(
            "{WEBHOOKS} WHERE w.deleted_at IS NULL ORDER BY w.id"
        )))
        .fetch_all(&mut *tx)
        .await?;
        let subscribers = hooks
            .iter()
            .map(|row| Ok((webhook(row)?, int(row, "after_seq")?)))
            .collect::<Result<Vec<_>>>()?;
        let mut queued = 0;
        let stamp = now();
        if !subscribers.is_empty() {
            let mut deployments = std::collections::HashMap::new();
            for row in &events {
                let seq = int(row, "seq")?;
                let action = text(row, "action")?;
                let object = text(row, "object")?;
                let details: serde_json::Value = serde_json::from_str(&text(row, "details")?)?;
                // A deployment's many events read its facts once.
                let deployment = match object.strip_prefix("deployment:") {
                    Some(id) if action.starts_with("deployment.") => {
                        let id: i64 = id.parse().unwrap_or(0);
                        if let std::collections::hash_map::Entry::Vacant(slot) =
                            deployments.entry(id)
                        {
                            slot.insert(deployment_facts(&mut tx, id).await?);
                        }
                        deployments.get(&id).cloned().flatten()
                    }
                    _ => None,
                };
                let actor = text(row, "actor")?;
                let fact = AuditFact {
                    seq,
                    time: time(row, "time")?,
                    actor: &actor,
                    action: &action,
                    object: &object,
                    details: &details,
                };
                let Some(event) = event_of(&fact, deployment.as_ref()) else {
                    continue;
                };
                let payload = event.cloudevent(source).to_string();
                for (hook, after) in &subscribers {
                    let wanted = seq > *after
                        && hook.events.wants(event.kind)
                        && hook
                            .service
                            .as_ref()
                            .is_none_or(|s| event.service.as_ref() == Some(s))
                        && hook
                            .environment
                            .as_ref()
                            .is_none_or(|e| event.environment.as_ref() == Some(e));
                    if !wanted {
                        continue;
                    }
                    let inserted = sqlx::query(
                        "INSERT INTO webhook_deliveries (webhook_id, event_id, event_type, event_seq, payload, \
                         state, attempts, next_attempt_at, created_at) \
                         VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $6) \
                         ON CONFLICT (webhook_id, event_id) DO NOTHING",
                    )
                    .bind(hook.id)
                    .bind(&event.id)
                    .bind(event.kind.cloudevents_type())
                    .bind(seq)
                    .bind(&payload)
                    .bind(&stamp)
                    .execute(&mut *tx)
                    .await?;
                    queued += usize::try_from(inserted.rows_affected()).unwrap_or(0);
                }
            }
        }
        sqlx::query("UPDATE webhook_outbox SET seq = $1 WHERE id = 1")
            .bind(last_seq)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        let more = i64::try_from(events.len()).unwrap_or(0) >= OUTBOX_BATCH;
        Ok((queued, more))
    }

    /// Claims up to `limit` deliveries that are due, for `lease` (another
    /// pass or replica leaves them alone meanwhile: one attempt in flight),
    /// counting their attempt.
    pub async fn claim_deliveries(
        &self,
        now_at: DateTime<Utc>,
        lease: std::time::Duration,
        limit: i64,
    ) -> Result<Vec<ClaimedDelivery>> {
        let stamp = ferry_core::time::format_time(now_at);
        let until = ferry_core::time::format_time(
            now_at + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::seconds(60)),
        );
        let skip_locked = match self.backend() {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        };
        // A read first: no write transaction while nothing is due.
        let due = sqlx::query(
            "SELECT id FROM webhook_deliveries WHERE state = 'pending' AND next_attempt_at <= $1 \
             AND (lease_until IS NULL OR lease_until <= $1) LIMIT 1",
        )
        .bind(&stamp)
        .fetch_optional(self.pool())
        .await?;
        if due.is_none() {
            return Ok(Vec::new());
        }
        let mut tx = self.write().await?;
        let ids = sqlx::query(AssertSqlSafe(format!(
            "SELECT d.id FROM webhook_deliveries d WHERE d.state = 'pending' AND d.next_attempt_at <= $1 \
             AND (d.lease_until IS NULL OR d.lease_until <= $1) ORDER BY d.next_attempt_at, d.id LIMIT $2{skip_locked}"
        )))
        .bind(&stamp)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        let mut claimed = Vec::new();
        for row in &ids {
            let id = int(row, "id")?;
            sqlx::query(
                "UPDATE webhook_deliveries SET lease_until = $1, attempts = attempts + 1 WHERE id = $2",
            )
            .bind(&until)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            let row = sqlx::query(
                "SELECT d.id, d.webhook_id, d.event_id, d.event_type, d.event_seq, d.payload, d.state, d.attempts, \
                 d.next_attempt_at, d.last_status, d.last_error, d.created_at, d.delivered_at, w.url, w.format, w.secret_sealed \
                 FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id WHERE d.id = $1",
            )
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
            claimed.push(ClaimedDelivery {
                delivery: delivery(&row)?,
                url: text(&row, "url")?,
                format: format(&row)?,
                secret_sealed: text(&row, "secret_sealed")?,
            });
        }
        tx.commit().await?;
        Ok(claimed)
    }

    /// Records an attempt at delivery `id`, and where the delivery stands
    /// after it.
    pub async fn record_attempt(&self, id: i64, outcome: &AttemptOutcome) -> Result<()> {
        let mut tx = self.write().await?;
        let stamp = now();
        sqlx::query(
            "INSERT INTO webhook_attempts (delivery_id, at, status, error, duration_ms) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(&stamp)
        .bind(outcome.status.map(i64::from))
        .bind(outcome.error.as_deref())
        .bind(outcome.duration_ms)
        .execute(&mut *tx)
        .await?;
        let (state, next) = match (outcome.delivered, outcome.retry_at) {
            (true, _) => (DeliveryState::Delivered, None),
            (false, Some(at)) => (DeliveryState::Pending, Some(at)),
            (false, None) => (DeliveryState::Failed, None),
        };
        sqlx::query(
            "UPDATE webhook_deliveries SET state = $1, lease_until = NULL, last_status = $2, last_error = $3, \
             next_attempt_at = COALESCE($4, next_attempt_at), delivered_at = $5 WHERE id = $6 AND state = 'pending'",
        )
        .bind(state.as_str())
        .bind(outcome.status.map(i64::from))
        .bind(outcome.error.as_deref())
        .bind(next.map(ferry_core::time::format_time))
        .bind(outcome.delivered.then(|| stamp.clone()))
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// When the next pending delivery is due, if one is.
    pub async fn next_delivery_due(&self) -> Result<Option<DateTime<Utc>>> {
        let row = sqlx::query(
            "SELECT MIN(next_attempt_at) AS due FROM webhook_deliveries WHERE state = 'pending'",
        )
        .fetch_one(self.pool())
        .await?;
        opt_time(&row, "due")
    }

    /// The deliveries of subscription `webhook_id`, newest first, before
    /// delivery `before`.
    pub async fn webhook_deliveries(
        &self,
        webhook_id: i64,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<DeliveryRecord>> {
        sqlx::query(AssertSqlSafe(format!(
            "{DELIVERIES} WHERE webhook_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3"
        )))
        .bind(webhook_id)
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(delivery)
        .collect()
    }

    /// Delivery `id`.
    pub async fn webhook_delivery(&self, id: i64) -> Result<DeliveryRecord> {
        let row = sqlx::query(AssertSqlSafe(format!("{DELIVERIES} WHERE id = $1")))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("there is no webhook delivery {id}")))?;
        delivery(&row)
    }

    /// The attempts at delivery `id`, oldest first.
    pub async fn delivery_attempts(&self, id: i64) -> Result<Vec<AttemptRecord>> {
        sqlx::query(
            "SELECT at, status, error, duration_ms FROM webhook_attempts WHERE delivery_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|row| {
            Ok(AttemptRecord {
                at: time(row, "at")?,
                status: row.try_get::<Option<i64>, _>("status")?,
                error: opt_text(row, "error")?,
                duration_ms: int(row, "duration_ms")?,
            })
        })
        .collect()
    }

    /// Sends delivery `id` again, now, whatever became of it (its
    /// subscription must still be in force).
    pub async fn redeliver(&self, actor: &str, id: i64) -> Result<DeliveryRecord> {
        let mut tx = self.write().await?;
        let done = sqlx::query(
            "UPDATE webhook_deliveries SET state = 'pending', next_attempt_at = $1, lease_until = NULL, \
             delivered_at = NULL WHERE id = $2 AND webhook_id IN (SELECT id FROM webhooks WHERE deleted_at IS NULL)",
        )
        .bind(now())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            let error = StoreError::NotFound(format!(
                "there is no webhook delivery {id} of a webhook in force"
            ));
            return Store::abandon(tx, Err(error)).await;
        }
        append(
            &mut tx,
            self.backend(),
            actor,
            "webhook.redeliver",
            &format!("webhook_delivery:{id}"),
            json!({ "after": { "state": "pending" } }),
        )
        .await?;
        tx.commit().await?;
        self.webhook_delivery(id).await
    }
}

/// What does not change about deployment `id`.
async fn deployment_facts(tx: &mut crate::Tx, id: i64) -> Result<Option<DeploymentFacts>> {
    let row = sqlx::query(
        "SELECT d.id, s.name AS service, r.version, e.name AS environment, d.rollback_of \
         FROM deployments d JOIN releases r ON r.id = d.release_id JOIN services s ON s.id = r.service_id \
         JOIN environments e ON e.id = d.environment_id WHERE d.id = $1",
    )
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    row.map(|row| {
        Ok(DeploymentFacts {
            id: int(&row, "id")?,
            service: name(&row, "service")?,
            version: text(&row, "version")?,
            environment: name(&row, "environment")?,
            rollback_of: row.try_get::<Option<i64>, _>("rollback_of")?,
        })
    })
    .transpose()
}

fn webhook(row: &sqlx::any::AnyRow) -> Result<WebhookRecord> {
    let names: Vec<String> = serde_json::from_str(&text(row, "events")?)?;
    let events = EventSelection::parse(&names).map_err(StoreError::Corrupt)?;
    let optional_name = |column: &str| -> Result<Option<Name>> {
        opt_text(row, column)?
            .map(|value| {
                Name::parse(&value).map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
            })
            .transpose()
    };
    Ok(WebhookRecord {
        id: int(row, "id")?,
        name: optional_name("name")?,
        url: text(row, "url")?,
        format: format(row)?,
        events,
        service: optional_name("service")?,
        environment: optional_name("environment")?,
        secret_sealed: text(row, "secret_sealed")?,
        created_by: text(row, "created_by")?,
        created_at: time(row, "created_at")?,
    })
}

fn format(row: &sqlx::any::AnyRow) -> Result<Format> {
    Format::parse(&text(row, "format")?).map_err(StoreError::Corrupt)
}

fn delivery(row: &sqlx::any::AnyRow) -> Result<DeliveryRecord> {
    Ok(DeliveryRecord {
        id: int(row, "id")?,
        webhook_id: int(row, "webhook_id")?,
        event_id: text(row, "event_id")?,
        event_type: text(row, "event_type")?,
        event_seq: int(row, "event_seq")?,
        payload: text(row, "payload")?,
        state: DeliveryState::parse(&text(row, "state")?)?,
        attempts: int(row, "attempts")?,
        next_attempt_at: time(row, "next_attempt_at")?,
        last_status: row.try_get::<Option<i64>, _>("last_status")?,
        last_error: opt_text(row, "last_error")?,
        created_at: time(row, "created_at")?,
        delivered_at: opt_time(row, "delivered_at")?,
    })
}

/// The ids of the service and the environment a subscription is limited
/// to; a name that is nobody's is "not found".
pub(crate) async fn scope_ids(
    tx: &mut Tx,
    service: Option<&Name>,
    environment: Option<&Name>,
) -> Result<[Option<i64>; 2]> {
    let mut ids = [None, None];
    for (slot, (table, what, wanted)) in ids.iter_mut().zip([
        ("services", "service", service),
        ("environments", "environment", environment),
    ]) {
        if let Some(wanted) = wanted {
            let row = sqlx::query(AssertSqlSafe(format!(
                "SELECT id FROM {table} WHERE name = $1"
            )))
            .bind(wanted.as_str())
            .fetch_optional(&mut **tx)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("there is no {what} {wanted:?}")))?;
            *slot = Some(int(&row, "id")?);
        }
    }
    Ok(ids)
}
