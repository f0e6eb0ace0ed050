//! The webhook worker: turns the audit trail's new events into deliveries
//! (`Store::fan_out_events`), and posts the deliveries that are due, each
//! signed as the Standard Webhooks specification says, each in a task of
//! its own so that a slow or dead receiver holds up nothing else, retried
//! on the schedule of `ferry_core::webhook`.
//!
//! A delivery holds its CloudEvent; the subscription's format is applied
//! as it is sent: posted as it is, rendered as a Slack or Teams message
//! (`ferry_core::chat`), or sent as an e-mail through the SMTP relay
//! (`crate::mail`). An e-mail is an attempt like a post: a relay that
//! refuses it is retried on the same schedule.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use ferry_core::chat::{Format, Notice};
use ferry_core::subscription::SecretSource;
use ferry_core::webhook::{SigningSecret, retry_after};
use ferry_store::webhooks::{AttemptOutcome, ClaimedDelivery};

use crate::error::ApiError;
use crate::freeze_watch::FreezeWatch;
use crate::state::AppState;

/// How webhooks are sent.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// The CloudEvents `source` of this ferry: its public address, or
    /// `/ferry`.
    pub source: String,
    /// Shortens the retry schedule (1: the schedule as it is; tests and
    /// drills use less).
    pub retry_scale: f64,
    /// The SMTP relay for e-mail subscriptions, when the server has one.
    pub mail: Option<Arc<crate::mail::Mailer>>,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            source: "/ferry".to_string(),
            retry_scale: 1.0,
            mail: None,
        }
    }
}

/// How long one attempt may take.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a claimed delivery is left to its attempt (longer than the
/// attempt's timeout): after it, another pass may try it again.
const LEASE: Duration = Duration::from_secs(60);

/// How often the trail is read for new events, at most.
const LOOK_EVERY: Duration = Duration::from_millis(250);

/// How many deliveries one pass claims.
const CLAIMED_AT_ONCE: i64 = 32;

/// The sealing context of webhook secrets.
pub const SECRET_CONTEXT: &[u8] = b"ferry webhook secret";

/// Runs until `stop`.
pub async fn run(state: AppState, stop: Arc<AtomicBool>) {
    let client = match reqwest::Client::builder()
        .timeout(ATTEMPT_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("ferry/", env!("CARGO_PKG_VERSION"), " webhooks"))
        .build()
    {
        Ok(client) => client,
        Err(error) => {
            tracing::error!(%error, "no HTTP client for webhooks: none will be sent");
            return;
        }
    };
    let mut failures: u32 = 0;
    let mut freezes = FreezeWatch::default();
    while !stop.load(Ordering::Relaxed) {
        if let Err(error) = freezes.look(&state).await {
            tracing::warn!(%error, "looking for freezes that began or ended failed");
        }
        let wait = match pass(&state, &client).await {
            Ok(wait) => {
                failures = 0;
                wait
            }
            Err(error) => {
                failures = failures.saturating_add(1);
                tracing::warn!(%error, failures, "webhook pass failed");
                Duration::from_millis(500).saturating_mul(failures.min(60))
            }
        };
        tokio::time::sleep(wait).await;
    }
}

/// One pass: new events into deliveries, due deliveries sent. Answers how
/// long to wait before the next.
async fn pass(state: &AppState, client: &reqwest::Client) -> Result<Duration, ApiError> {
    let source = &state.webhooks.source;
    loop {
        let (_, more) = state.store.fan_out_events(source).await?;
        if !more {
            break;
        }
    }
    let claimed = state
        .store
        .claim_deliveries(Utc::now(), LEASE, CLAIMED_AT_ONCE)
        .await?;
    let full = i64::try_from(claimed.len()).unwrap_or(0) >= CLAIMED_AT_ONCE;
    for delivery in claimed {
        let (state, client) = (state.clone(), client.clone());
        tokio::spawn(async move { attempt(&state, &client, delivery).await });
    }
    if full {
        return Ok(Duration::ZERO);
    }
    // Sleep until the next retry is due, or the next look at the trail.
    let wait = match state.store.next_delivery_due().await? {
        Some(due) => (due - Utc::now()).to_std().unwrap_or(Duration::ZERO),
        None => LOOK_EVERY,
    };
    Ok(wait.min(LOOK_EVERY))
}

/// Posts one delivery and records what came of it.
async fn attempt(state: &AppState, client: &reqwest::Client, claimed: ClaimedDelivery) {
    let ClaimedDelivery {
        delivery,
        url,
        format,
        secret_sealed,
    } = claimed;
    let started = Instant::now();
    let sent = if format == Format::Email {
        let key = format!("{}.{}", delivery.id, delivery.event_id);
        mail(state, &url, &delivery.payload, &key).await
    } else {
        match secret(state, &secret_sealed) {
            Ok(secret) => {
                send(
                    client,
                    &url,
                    format,
                    secret.as_ref(),
                    &delivery.event_id,
                    &delivery.payload,
                )
                .await
            }
            Err(error) => Err(error),
        }
    };
    let duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    let attempts = u32::try_from(delivery.attempts).unwrap_or(u32::MAX);
    let (status, error) = match sent {
        Ok(status) if (200..300).contains(&status) => (Some(status), None),
        Ok(status) => (
            Some(status),
            Some(format!("the receiver answered {status}")),
        ),
        Err(error) => (None, Some(error)),
    };
    let delivered = error.is_none();
    let retry_at = if delivered {
        None
    } else {
        retry_after(attempts, jitter(), state.webhooks.retry_scale)
            .and_then(|wait| chrono::Duration::from_std(wait).ok())
            .map(|wait| Utc::now() + wait)
    };
    if let Some(error) = &error {
        // A chat service's address holds its credential: never logged whole.
        let to = format.shown_url(&url);
        tracing::info!(delivery = delivery.id, webhook = delivery.webhook_id, attempts, %error, %to, "webhook delivery failed");
    }
    // Each attempt counts: taken, or failed (retried or not).
    crate::telemetry::webhook_delivery(if delivered { "delivered" } else { "failed" });
    let outcome = AttemptOutcome {
        status,
        error,
        duration_ms,
        delivered,
        retry_at,
    };
    if let Err(error) = state.store.record_attempt(delivery.id, &outcome).await {
        // The lease runs out and the delivery is tried again.
        tracing::warn!(%error, delivery = delivery.id, "recording a webhook attempt failed");
    }
}

/// Posts `payload` written in `format`, signed; the receiver's status, or
/// why there is none.
async fn send(
    client: &reqwest::Client,
    url: &str,
    format: Format,
    secret: Option<&SigningSecret>,
    id: &str,
    payload: &str,
) -> Result<u16, String> {
    let (content_type, body) = match format {
        Format::CloudEvents => ("application/cloudevents+json", payload.to_string()),
        Format::Slack => (
            "application/json",
            ferry_core::chat::slack::message(&notice(payload)?).to_string(),
        ),
        Format::Teams => (
            "application/json",
            ferry_core::chat::teams::message(&notice(payload)?).to_string(),
        ),
        Format::Email => return Err("an e-mail is not posted".to_owned()),
    };
    let timestamp = Utc::now().timestamp();
    let mut request = client
        .post(url)
        .header("content-type", content_type)
        .header("webhook-id", id)
        .header("webhook-timestamp", timestamp.to_string());
    if let Some(secret) = secret {
        request = request.header(
            "webhook-signature",
            secret.sign(id, timestamp, body.as_bytes()),
        );
    }
    let response = request
        .body(body)
        .send()
        .await
        .map_err(|error| describe(&error))?;
    Ok(response.status().as_u16())
}

/// The notice of a delivery's CloudEvent.
fn notice(payload: &str) -> Result<Notice, String> {
    let event: serde_json::Value = serde_json::from_str(payload)
        .map_err(|error| format!("the delivery's event is not JSON: {error}"))?;
    Ok(Notice::from_cloudevent(&event))
}

/// Sends a delivery's event as an e-mail to the recipients of `url`
/// (`mailto:`), named by `key`; the relay's reply code, or why it did not
/// take it.
async fn mail(state: &AppState, url: &str, payload: &str, key: &str) -> Result<u16, String> {
    let mailer = state
        .webhooks
        .mail
        .as_ref()
        .ok_or("this server sends no e-mail: start it with --smtp-url and --smtp-from")?;
    let to = crate::mail::recipients(url)?;
    let mail = ferry_core::chat::email::mail(&notice(payload)?);
    mailer.send(&to, &mail, key).await
}

/// An HTTP error as people read it: what failed, without the URL again.
fn describe(error: &reqwest::Error) -> String {
    let what = if error.is_timeout() {
        "no answer within 10 s"
    } else if error.is_connect() {
        "cannot connect"
    } else {
        "the request failed"
    };
    let mut cause = String::new();
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        cause = inner.to_string();
        source = inner.source();
    }
    if cause.is_empty() {
        what.to_string()
    } else {
        format!("{what}: {cause}")
    }
}

/// Checks that this server can send what `ferry.toml` declares: e-mail
/// only with SMTP set up, and each signing secret where the file says
/// (read now, as each attempt will read it).
pub fn check_declared(
    state: &AppState,
    declared: &[ferry_core::subscription::WebhookSpec],
) -> Result<(), ApiError> {
    for spec in declared {
        let name = spec.name.as_str();
        if spec.format() == Ok(Format::Email) && state.webhooks.mail.is_none() {
            return Err(ApiError::Unprocessable(format!(
                "webhook {name:?} sends e-mail, and this server sends none: its operator must start it with --smtp-url and --smtp-from"
            )));
        }
        if let Some(source) = spec.secret_source() {
            secret(state, &source.stored())
                .map_err(|error| ApiError::Unprocessable(format!("webhook {name:?}: {error}")))?;
        }
    }
    Ok(())
}

/// The signing secret of a subscription, from where it is kept: sealed in
/// the database, or (declared in ferry.toml) in a file or an environment
/// variable of this server, read at each attempt so that a rotated secret
/// is used at once. `None` for a chat or e-mail subscription declared
/// without one: its deliveries are not signed.
fn secret(state: &AppState, stored: &str) -> Result<Option<SigningSecret>, String> {
    match SecretSource::from_stored(stored) {
        SecretSource::Sealed(sealed) if sealed.is_empty() => Ok(None),
        SecretSource::Sealed(sealed) => {
            let key = state
                .secret_key
                .as_ref()
                .ok_or("this server has no key to open webhook secrets with")?;
            let bytes = key
                .open_with(SECRET_CONTEXT, &sealed)
                .map_err(|error| format!("the webhook's secret cannot be opened: {error}"))?;
            SigningSecret::from_key(bytes).map(Some)
        }
        SecretSource::File(path) => {
            let text = std::fs::read_to_string(&path).map_err(|error| {
                format!("the webhook's secret_file {path} cannot be read: {error}")
            })?;
            SigningSecret::parse(&text)
                .map(Some)
                .map_err(|error| format!("the webhook's secret_file {path}: {error}"))
        }
        SecretSource::Env(name) => {
            let text = std::env::var(&name).map_err(|_| {
                format!("the webhook's secret_env {name} is not set in this server's environment")
            })?;
            SigningSecret::parse(&text)
                .map(Some)
                .map_err(|error| format!("the webhook's secret_env {name}: {error}"))
        }
    }
}

/// A number from 0 to 1 for spreading retries.
fn jitter() -> f64 {
    let mut bytes = [0u8; 2];
    if getrandom::fill(&mut bytes).is_err() {
        return 0.5;
    }
    f64::from(u16::from_le_bytes(bytes)) / f64::from(u16::MAX)
}
