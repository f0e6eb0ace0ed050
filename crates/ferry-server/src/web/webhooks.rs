//! Webhook subscriptions and their deliveries, for those who manage them
//! (`/admin/webhooks`): each subscription with what it wants and how its
//! deliveries fare; a subscription's deliveries newest first, each with its
//! attempts' outcome and a button that sends it again.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use ferry_core::access::{Action, Target};
use ferry_store::webhooks::{DeliveryRecord, DeliveryState, WebhookRecord};
use serde::Deserialize;

use super::page::{self, Frame, refusal};
use super::posted::{Button, Posted};
use super::session::Viewer;
use crate::error::ApiError;
use crate::state::AppState;

/// How many deliveries a subscription's page lists.
const LISTED: i64 = 100;

struct Subscription {
    id: i64,
    /// `ops (ferry.toml)` for one the file declares; empty otherwise.
    name: String,
    url: String,
    format: &'static str,
    events: String,
    scope: String,
    created: String,
}

struct Delivery {
    id: i64,
    event_type: String,
    event_id: String,
    state: &'static str,
    attempts: i64,
    answer: String,
    when: String,
    pending: bool,
}

fn shown(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

fn subscription(record: WebhookRecord) -> Subscription {
    // A chat service's incoming-webhook address holds its credential.
    let url = record.format.shown_url(&record.url);
    let scope = match (&record.service, &record.environment) {
        (Some(service), Some(environment)) => format!("{service} in {environment}"),
        (Some(service), None) => format!("{service}, everywhere"),
        (None, Some(environment)) => format!("every service in {environment}"),
        (None, None) => "everything".to_owned(),
    };
    Subscription {
        id: record.id,
        name: record
            .name
            .map(|name| format!("{name} (ferry.toml)"))
            .unwrap_or_default(),
        url,
        format: record.format.as_str(),
        events: record.events.names().join(", "),
        scope,
        created: format!("{}, {}", record.created_by, shown(record.created_at)),
    }
}

fn delivery(record: DeliveryRecord) -> Delivery {
    let answer = match (&record.last_status, &record.last_error) {
        (_, Some(error)) => error.clone(),
        (Some(status), None) => format!("answered {status}"),
        (None, None) => "not tried yet".to_owned(),
    };
    let when = match record.state {
        DeliveryState::Delivered => record
            .delivered_at
            .map_or_else(String::new, |at| format!("delivered {}", shown(at))),
        DeliveryState::Pending => format!("next attempt {}", shown(record.next_attempt_at)),
        DeliveryState::Failed => "given up".to_owned(),
    };
    Delivery {
        id: record.id,
        event_type: record.event_type,
        event_id: record.event_id,
        state: record.state.as_str(),
        attempts: record.attempts,
        answer,
        when,
        pending: record.state == DeliveryState::Pending,
    }
}

#[derive(Template)]
#[template(path = "webhooks.html")]
struct WebhooksPage {
    frame: Frame,
    subscriptions: Vec<Subscription>,
}

#[derive(Template)]
#[template(path = "webhook.html")]
struct WebhookPage {
    frame: Frame,
    subscription: Subscription,
    deliveries: Vec<Delivery>,
    done: Option<String>,
}

/// `GET /admin/webhooks`.
pub async fn list(State(state): State<AppState>, viewer: Viewer) -> Response {
    let listed = async {
        viewer
            .caller()
            .require(&state, Action::ManageWebhooks, &Target::SERVER)
            .await?;
        Ok::<_, ApiError>(state.store.webhooks().await?)
    };
    match listed.await {
        Ok(records) => page::send(
            StatusCode::OK,
            &WebhooksPage {
                frame: Frame::of(&viewer),
                subscriptions: records.into_iter().map(subscription).collect(),
            },
        ),
        Err(error) => refusal(&viewer, error),
    }
}

/// What the address says was just done.
#[derive(Debug, Default, Deserialize)]
pub struct Done {
    #[serde(default)]
    redelivered: String,
}

/// `GET /admin/webhooks/{id}`.
pub async fn page(
    State(state): State<AppState>,
    Path(id): Path<String>,
    viewer: Viewer,
    done: Result<axum::extract::Query<Done>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let found = async {
        viewer
            .caller()
            .require(&state, Action::ManageWebhooks, &Target::SERVER)
            .await?;
        let id = crate::convert::id("webhook", &id)?;
        let record = state.store.webhook(id).await?;
        let deliveries = state.store.webhook_deliveries(id, None, LISTED).await?;
        Ok::<_, ApiError>((record, deliveries))
    };
    let done = done
        .ok()
        .map(|d| d.0.redelivered)
        .filter(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_digit()))
        .map(|id| format!("Delivery {id} is sent again now."));
    match found.await {
        Ok((record, deliveries)) => page::send(
            StatusCode::OK,
            &WebhookPage {
                frame: Frame::of(&viewer),
                subscription: subscription(record),
                deliveries: deliveries.into_iter().map(delivery).collect(),
                done,
            },
        ),
        Err(error) => refusal(&viewer, error),
    }
}

/// `POST /admin/webhooks/deliveries/{id}/redeliver`: sends it again now.
pub async fn redeliver(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { viewer, form: _ }: Posted<Button>,
) -> Response {
    let sent = async {
        let caller = viewer.caller();
        caller
            .require(&state, Action::ManageWebhooks, &Target::SERVER)
            .await?;
        let id = crate::convert::id("delivery", &id)?;
        let record = state.store.redeliver(caller.actor(), id).await?;
        Ok::<_, ApiError>(record)
    };
    match sent.await {
        Ok(record) => Redirect::to(&format!(
            "/admin/webhooks/{}?redelivered={}",
            record.webhook_id, record.id
        ))
        .into_response(),
        Err(error) => refusal(&viewer, error),
    }
}
