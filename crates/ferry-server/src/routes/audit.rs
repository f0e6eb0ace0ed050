//! The audit trail: list, verify, export.

use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use ferry_api::{AuditEvent, AuditQuery, AuditVerification, Page, Problem};
use ferry_store::audit::Verification;

use crate::authorize::Reader;
use crate::convert;
use crate::error::{ApiError, ApiResult};
use crate::extract::Query;
use crate::state::AppState;

/// Events the filters let through, oldest first unless `order=newest`; the
/// cursor is the last sequence number seen. A filter of the wrong form is a
/// 422 that names its parameter.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", security(("bearer" = [])), params(AuditQuery),
    responses((status = 200, body = Page<AuditEvent>), (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A filter or the order is not of the expected form", body = Problem, content_type = "application/problem+json")))]
pub async fn list_audit(
    State(state): State<AppState>,
    _reader: Reader,
    Query(query): Query<AuditQuery>,
) -> ApiResult<axum::Json<Page<AuditEvent>>> {
    let limit = match query.limit {
        None => 100,
        Some(n @ 1..=1000) => i64::from(n),
        Some(n) => {
            return Err(ApiError::BadRequest(format!(
                "limit must be between 1 and 1000, not {n}"
            )));
        }
    };
    let cursor = match query.cursor.as_deref() {
        None => None,
        Some(c) => Some(c.parse::<i64>().map_err(|_| {
            ApiError::Unprocessable(format!(
                "invalid cursor {c:?}: pass the next_cursor of the previous page"
            ))
        })?),
    };
    let (filter, order) = query
        .read()
        .map_err(|invalid| ApiError::Unprocessable(invalid.to_string()))?;
    let mut events = state
        .store
        .audit_page(&filter, order, cursor, limit + 1)
        .await?;
    let more = events.len() as i64 > limit;
    events.truncate(limit as usize);
    let next_cursor = if more {
        events.last().map(|e| e.seq.to_string())
    } else {
        None
    };
    Ok(axum::Json(Page {
        items: events.into_iter().map(convert::audit_event).collect(),
        next_cursor,
    }))
}

/// Checks every event's hash and link. Answers 200 either way: `intact` says.
#[utoipa::path(get, path = "/api/v1/audit/verify", tag = "audit", security(("bearer" = [])), responses((status = 200, body = AuditVerification)))]
pub async fn verify_audit(
    State(state): State<AppState>,
    _reader: Reader,
) -> ApiResult<axum::Json<AuditVerification>> {
    let result = match state.store.verify_audit().await? {
        Verification::Intact { events, head_hash } => AuditVerification {
            intact: true,
            events,
            first_bad_seq: None,
            reason: None,
            head_hash: Some(head_hash),
        },
        Verification::Broken { events, break_at } => AuditVerification {
            intact: false,
            events,
            first_bad_seq: Some(break_at.seq),
            reason: Some(break_at.reason),
            head_hash: None,
        },
    };
    Ok(axum::Json(result))
}

/// The whole trail as JSON Lines, streamed page by page.
#[utoipa::path(get, path = "/api/v1/audit/export", tag = "audit", security(("bearer" = [])),
    responses((status = 200, description = "One AuditEvent per line", content_type = "application/x-ndjson")))]
pub async fn export_audit(State(state): State<AppState>, _reader: Reader) -> Response {
    let pages = futures_util::stream::unfold(Some(0i64), move |after| {
        let store = state.store.clone();
        async move {
            let after = after?;
            match store.audit_events(after, 1000).await {
                Ok(events) if events.is_empty() => None,
                Ok(events) => {
                    let next = events.last().map(|e| e.seq);
                    let mut chunk = Vec::new();
                    for event in events {
                        // Serializing our own types cannot fail.
                        serde_json::to_writer(&mut chunk, &convert::audit_event(event)).ok();
                        chunk.push(b'\n');
                    }
                    Some((Ok::<_, std::io::Error>(chunk), next))
                }
                Err(error) => {
                    tracing::error!(%error, "audit export failed");
                    Some((Err(std::io::Error::other(error.to_string())), None))
                }
            }
        }
    });
    (
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        Body::from_stream(pages),
    )
        .into_response()
}
