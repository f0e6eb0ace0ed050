//! Webhook subscriptions, their deliveries, and sending one again.

use axum::extract::State;
use axum::http::StatusCode;
use ferry_api::{
    CreatedWebhook, NewWebhook, Page, PageQuery, Problem, Webhook, WebhookAttempt, WebhookDelivery,
};
use ferry_core::access::{Action, Target};
use ferry_store::webhooks::{DeliveryRecord, DeliveryState, WebhookRecord};

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::extract::{Json, Path, Query};
use crate::routes::{Paging, whole};
use crate::state::AppState;
use crate::subscriptions;

/// Subscribes an address to events, written in a format: signed
/// CloudEvents, Slack or Teams messages, or e-mails (`mailto:` addresses,
/// refused unless the server has an SMTP relay). The answer holds the
/// signing secret, shown this once.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks", security(("bearer" = [])), request_body = NewWebhook,
    responses((status = 201, body = CreatedWebhook),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such service or environment", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn create_webhook(
    State(state): State<AppState>,
    caller: Caller,
    Json(request): Json<NewWebhook>,
) -> ApiResult<(StatusCode, axum::Json<CreatedWebhook>)> {
    let (record, secret) = subscriptions::create(&state, &caller, &request).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(CreatedWebhook {
            webhook: webhook(record),
            secret: secret.reveal(),
        }),
    ))
}

/// The subscriptions in force.
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks", security(("bearer" = [])),
    responses((status = 200, body = Page<Webhook>),
        (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn list_webhooks(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<axum::Json<Page<Webhook>>> {
    caller
        .require(&state, Action::ManageWebhooks, &Target::SERVER)
        .await?;
    let items = state
        .store
        .webhooks()
        .await?
        .into_iter()
        .map(webhook)
        .collect();
    Ok(axum::Json(whole(items)))
}

/// Deletes a subscription: nothing more is sent to it.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The webhook's id")),
    responses((status = 204, description = "Deleted"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn delete_webhook(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    caller
        .require(&state, Action::ManageWebhooks, &Target::SERVER)
        .await?;
    state.store.delete_webhook(caller.actor(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A subscription's deliveries, newest first.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The webhook's id"), PageQuery),
    responses((status = 200, body = Page<WebhookDelivery>),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn list_deliveries(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(query): Query<PageQuery>,
) -> ApiResult<axum::Json<Page<WebhookDelivery>>> {
    caller
        .require(&state, Action::ManageWebhooks, &Target::SERVER)
        .await?;
    let paging = Paging::parse(query.limit, query.cursor.as_deref())?;
    state.store.webhook(id).await?;
    let records = state
        .store
        .webhook_deliveries(id, paging.before, paging.fetch())
        .await?;
    Ok(axum::Json(
        paging.page(
            records
                .into_iter()
                .map(|r| delivery(r, Vec::new()))
                .collect(),
            |d| d.id,
        ),
    ))
}

/// One delivery, with its attempts.
#[utoipa::path(get, path = "/api/v1/webhooks/deliveries/{id}", tag = "webhooks", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The delivery's id")),
    responses((status = 200, body = WebhookDelivery),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get_delivery(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<axum::Json<WebhookDelivery>> {
    caller
        .require(&state, Action::ManageWebhooks, &Target::SERVER)
        .await?;
    let record = state.store.webhook_delivery(id).await?;
    let attempts = state.store.delivery_attempts(id).await?;
    Ok(axum::Json(delivery(record, attempts)))
}

/// Sends a delivery again now, whatever became of it.
#[utoipa::path(post, path = "/api/v1/webhooks/deliveries/{id}/redeliver", tag = "webhooks", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The delivery's id")),
    responses((status = 200, body = WebhookDelivery),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn redeliver(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<axum::Json<WebhookDelivery>> {
    caller
        .require(&state, Action::ManageWebhooks, &Target::SERVER)
        .await?;
    let record = state.store.redeliver(caller.actor(), id).await?;
    Ok(axum::Json(delivery(record, Vec::new())))
}

fn webhook(record: WebhookRecord) -> Webhook {
    // A chat service's incoming-webhook address holds its credential.
    let url = record.format.shown_url(&record.url);
    Webhook {
        id: record.id,
        name: record.name,
        url,
        format: record.format.as_str().to_owned(),
        events: record.events.names(),
        service: record.service,
        environment: record.environment,
        created_by: record.created_by,
        created_at: record.created_at,
    }
}

fn delivery(
    record: DeliveryRecord,
    attempts: Vec<ferry_store::webhooks::AttemptRecord>,
) -> WebhookDelivery {
    WebhookDelivery {
        id: record.id,
        webhook: record.webhook_id,
        event_id: record.event_id,
        event_type: record.event_type,
        state: record.state.as_str().to_string(),
        attempts: record.attempts,
        next_attempt_at: (record.state == DeliveryState::Pending).then_some(record.next_attempt_at),
        last_status: record.last_status,
        last_error: record.last_error,
        created_at: record.created_at,
        delivered_at: record.delivered_at,
        history: attempts
            .into_iter()
            .map(|attempt| WebhookAttempt {
                at: attempt.at,
                status: attempt.status,
                error: attempt.error,
                duration_ms: attempt.duration_ms,
            })
            .collect(),
    }
}
