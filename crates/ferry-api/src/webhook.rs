//! Webhook subscriptions and their deliveries.

use chrono::{DateTime, Utc};
use ferry_core::Name;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A webhook subscription.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Webhook {
    /// Its id.
    pub id: i64,
    /// Its name, when `ferry.toml` declares it (`[[webhook]]`); `ferry
    /// apply` keeps it as the file says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Name>,
    /// Where deliveries are posted; `mailto:` and the recipients for an
    /// e-mail subscription. A chat service's incoming-webhook address is
    /// shown without its last segment and query, which hold its
    /// credential.
    pub url: String,
    /// How deliveries are written: `cloudevents`, `slack`, `teams` or
    /// `email`.
    #[serde(default = "cloudevents")]
    pub format: String,
    /// The events it wants (`*` for every kind).
    pub events: Vec<String>,
    /// Only events of this service, when set.
    #[serde(default)]
    pub service: Option<Name>,
    /// Only events of this environment, when set.
    #[serde(default)]
    pub environment: Option<Name>,
    /// Who made it.
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// The body of `POST /api/v1/webhooks`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// Where to post deliveries: an `https://` address (or `http://` on a
    /// host the server allows); for format `email`, `mailto:` and the
    /// recipients, comma-separated (`mailto:ops@example.com,dev@example.com`).
    pub url: String,
    /// How deliveries are written: `cloudevents` (the signed CloudEvent),
    /// `slack` (an incoming-webhook message with Block Kit blocks, which
    /// Mattermost and Rocket.Chat take too), `teams` (a message with an
    /// Adaptive Card) or `email` (sent over the server's SMTP relay).
    /// Absent: `email` for a `mailto:` address, `cloudevents` otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// The events to send: `*`, or kinds such as `deployment.succeeded`.
    pub events: Vec<String>,
    /// Only events of this service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<Name>,
    /// Only events of this environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<Name>,
    /// The signing secret (`whsec_` and 24 to 64 bytes in base64); absent
    /// to have the server make one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

fn cloudevents() -> String {
    "cloudevents".to_owned()
}

/// The answer to `POST /api/v1/webhooks`: the subscription and its signing
/// secret, shown this once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CreatedWebhook {
    /// The subscription.
    pub webhook: Webhook,
    /// Its signing secret, for the receiver to check signatures with.
    pub secret: String,
}

/// One event for one subscription, and where it stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WebhookDelivery {
    /// Its id.
    pub id: i64,
    /// The subscription.
    pub webhook: i64,
    /// The event's id (the `webhook-id` header).
    pub event_id: String,
    /// The CloudEvent's type.
    pub event_type: String,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    /// How many attempts were made.
    pub attempts: i64,
    /// When it is tried next, while pending.
    #[serde(default)]
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The last attempt's HTTP status (for e-mail, the SMTP server's
    /// reply code).
    #[serde(default)]
    pub last_status: Option<i64>,
    /// The last attempt's error.
    #[serde(default)]
    pub last_error: Option<String>,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
    /// When the receiver took it.
    #[serde(default)]
    pub delivered_at: Option<DateTime<Utc>>,
    /// Its attempts, oldest first (in the answer about one delivery).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<WebhookAttempt>,
}

/// One attempt at a delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WebhookAttempt {
    /// When.
    pub at: DateTime<Utc>,
    /// The HTTP status, if the receiver answered (for e-mail, the SMTP
    /// server's reply code).
    #[serde(default)]
    pub status: Option<i64>,
    /// What went wrong, if something did.
    #[serde(default)]
    pub error: Option<String>,
    /// How long it took, in milliseconds.
    pub duration_ms: i64,
}
