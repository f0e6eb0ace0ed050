//! The audit trail's page: the events, newest first, searched by actor,
//! action, object and time (the filters of `ferry audit list`, kept in the
//! address), and the result of the chain's last verification with its
//! time. Verifying reads every event, so it runs when someone asks (the
//! page's button), not on every visit; the result is kept by the server.

use std::sync::Mutex;

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use ferry_api::AuditQuery;
use ferry_store::audit::Verification;
use serde::Deserialize;

use super::page::{self, Frame, refusal};
use super::posted::{Button, Posted};
use super::session::{Viewer, percent_encode};
use crate::state::AppState;

/// Events on one page.
const PAGE: i64 = 100;

/// The last verification of the chain, kept by this server.
#[derive(Debug, Default)]
pub struct LastCheck(Mutex<Option<(DateTime<Utc>, Verification)>>);

/// The filters, as the address has them.
#[derive(Debug, Default, Deserialize)]
pub struct Filters {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    object: String,
    #[serde(default)]
    since: String,
    #[serde(default)]
    cursor: String,
}

struct Event {
    seq: i64,
    time: String,
    /// The time for people: to the second, in UTC.
    shown_time: String,
    actor: String,
    action: String,
    object: String,
    details: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    frame: Frame,
    filters: Filters,
    events: Vec<Event>,
    next: Option<String>,
    error: Option<String>,
    check: Option<String>,
    intact: bool,
}

fn given(value: &str) -> Option<String> {
    let value = value.trim();
    (!value.is_empty()).then(|| value.to_owned())
}

/// `GET /audit`.
pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    filters: Result<Query<Filters>, QueryRejection>,
) -> Response {
    let filters = filters.map(|Query(filters)| filters).unwrap_or_default();
    let query = AuditQuery {
        limit: None,
        cursor: given(&filters.cursor),
        order: Some("newest".to_owned()),
        actor: given(&filters.actor),
        action: given(&filters.action),
        object: given(&filters.object),
        since: given(&filters.since),
    };
    let (status, events, next, error) = match query.read() {
        Err(invalid) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Vec::new(),
            None,
            Some(invalid.to_string()),
        ),
        Ok((filter, order)) => {
            let cursor = given(&filters.cursor).and_then(|c| c.parse::<i64>().ok());
            let mut events = match state
                .store
                .audit_page(&filter, order, cursor, PAGE + 1)
                .await
            {
                Ok(events) => events,
                Err(error) => return refusal(&viewer, error.into()),
            };
            let more = events.len() as i64 > PAGE;
            events.truncate(PAGE as usize);
            let next = if more {
                events.last().map(|event| {
                    let mut address = format!("/audit?cursor={}", event.seq);
                    for (key, value) in [
                        ("actor", &filters.actor),
                        ("action", &filters.action),
                        ("object", &filters.object),
                        ("since", &filters.since),
                    ] {
                        if !value.is_empty() {
                            address.push_str(&format!("&{key}={}", percent_encode(value)));
                        }
                    }
                    address
                })
            } else {
                None
            };
            let events = events
                .into_iter()
                .map(|event| Event {
                    seq: event.seq,
                    shown_time: ferry_core::time::parse_time(&event.time).map_or_else(
                        |_| event.time.clone(),
                        |at| at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
                    ),
                    time: event.time,
                    actor: event.actor,
                    action: event.action,
                    object: event.object,
                    details: event.details,
                })
                .collect();
            (StatusCode::OK, events, next, None)
        }
    };
    let last = state
        .last_audit_check
        .0
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let (check, intact) = match last {
        None => (None, true),
        Some((at, Verification::Intact { events, .. })) => (
            Some(format!(
                "Intact: all {events} events verified at {}.",
                at.format("%Y-%m-%d %H:%M:%S UTC")
            )),
            true,
        ),
        Some((at, Verification::Broken { events, break_at })) => (
            Some(format!(
                "Broken at event {}: {} ({events} events verified before it, at {}).",
                break_at.seq,
                break_at.reason,
                at.format("%Y-%m-%d %H:%M:%S UTC")
            )),
            false,
        ),
    };
    page::send(
        status,
        &AuditPage {
            frame: Frame::of(&viewer),
            filters,
            events,
            next,
            error,
            check,
            intact,
        },
    )
}

/// `POST /audit/verify`: verifies the whole chain now.
pub async fn verify(
    State(state): State<AppState>,
    Posted { viewer, .. }: Posted<Button>,
) -> Response {
    match state.store.verify_audit().await {
        Ok(verification) => {
            *state
                .last_audit_check
                .0
                .lock()
                .unwrap_or_else(|e| e.into_inner()) = Some((Utc::now(), verification));
            Redirect::to("/audit").into_response()
        }
        Err(error) => refusal(&viewer, error.into()),
    }
}
