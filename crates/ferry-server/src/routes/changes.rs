//! Change requests: raise, move through their states, list and show, with
//! conflicts between approved changes shown everywhere.

use axum::extract::State;
use axum::http::StatusCode;
use ferry_api::{
    ChangeActionBody, ChangeKind, ChangeRequest, ChangeState, CreateChange, Page, Problem,
};
use ferry_core::change::{ChangeAction, needs_review};

use crate::change_control::window;
use ferry_store::changes::{ChangeFilter, ChangeRecord, NewChange, conflicts_by_change};
use serde::Deserialize;

use crate::auth::Caller;
use crate::authorize;
use crate::authorize::Reader;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path, Query};
use crate::routes::whole;
use crate::state::AppState;
use ferry_core::access::Action;
use ferry_core::limits;

/// Filters of the change request list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ChangeQuery {
    /// Only in this state.
    state: Option<ChangeState>,
    /// Only of this type.
    #[serde(rename = "type")]
    kind: Option<ChangeKind>,
    /// Only of this service.
    service: Option<ferry_core::Name>,
    /// Only in this environment.
    environment: Option<ferry_core::Name>,
    /// Only emergency changes implemented and not yet reviewed.
    #[serde(default)]
    needs_review: bool,
}

/// The wire form, with the conflicts found among `all` (same service and
/// environment, approved or scheduled, overlapping windows).
pub(crate) fn wire(record: ChangeRecord, all: &[ChangeRecord]) -> ChangeRequest {
    let same_target: Vec<ChangeRecord> = all
        .iter()
        .filter(|c| c.service == record.service && c.environment == record.environment)
        .cloned()
        .collect();
    let conflicts_with = conflicts_by_change(&same_target)
        .remove(&record.id)
        .unwrap_or_default();
    ChangeRequest {
        id: record.id,
        title: record.title,
        description: record.description,
        kind: record.kind,
        state: record.state,
        needs_review: needs_review(record.kind, record.state),
        service: record.service,
        environment: record.environment,
        release: record.release,
        window_start: record.window.map(|w| w.start),
        window_end: record.window.map(|w| w.end),
        risk: record.risk,
        impact: record.impact,
        reason: record.reason,
        review_outcome: record.review_outcome,
        review_notes: record.review_notes,
        conflicts_with,
        created_by: record.created_by,
        created_at: record.created_at,
        updated_at: record.updated_at,
    }
}

/// Raises a change request (in `draft`).
#[utoipa::path(post, path = "/api/v1/change-requests", tag = "control", security(("bearer" = [])), request_body = CreateChange,
    responses((status = 201, body = ChangeRequest), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn create_change(
    State(state): State<AppState>,
    caller: Caller,
    Json(request): Json<CreateChange>,
) -> ApiResult<(StatusCode, axum::Json<ChangeRequest>)> {
    let title = request.title.trim();
    crate::convert::within(&limits::TITLE, "title", title)?;
    crate::convert::within(&limits::DESCRIPTION, "description", &request.description)?;
    if title.is_empty() {
        return Err(ApiError::Unprocessable(
            "a change request needs a title".into(),
        ));
    }
    let service = request.service.clone();
    let environment = request.environment.clone();
    let target = authorize::target(&state, Some(&service), Some(&environment)).await?;
    caller
        .require(&state, Action::CreateChange, &target)
        .await?;
    let release = match request.release.as_deref() {
        Some(text) => {
            let version_text = match text.split_once('@') {
                Some((named, version)) if named == service.as_str() => version,
                Some(_) => {
                    return Err(ApiError::Unprocessable(format!(
                        "release {text:?} is not of service {service}"
                    )));
                }
                None => text,
            };
            Some(crate::convert::version(version_text)?)
        }
        None => None,
    };
    let new = NewChange {
        title,
        description: request.description.trim(),
        kind: request.kind,
        service: &service,
        environment: &environment,
        release: release.as_ref(),
        window: window(request.window.as_deref())?,
    };
    let created = state.store.create_change(caller.actor(), new).await?;
    let all = state
        .store
        .changes(ChangeFilter {
            service: Some(&service),
            environment: Some(&environment),
            ..Default::default()
        })
        .await?;
    Ok((StatusCode::CREATED, axum::Json(wire(created, &all))))
}

/// Change requests, newest first.
#[utoipa::path(get, path = "/api/v1/change-requests", tag = "control", security(("bearer" = [])), params(ChangeQuery),
    responses((status = 200, body = Page<ChangeRequest>), (status = 400, body = Problem, content_type = "application/problem+json")))]
pub async fn list_changes(
    State(state): State<AppState>,
    _reader: Reader,
    Query(query): Query<ChangeQuery>,
) -> ApiResult<axum::Json<Page<ChangeRequest>>> {
    let service = query.service;
    let environment = query.environment;
    let state_filter = query.state;
    let kind = query.kind;
    let all = state.store.changes(ChangeFilter::default()).await?;
    let items = all
        .iter()
        .filter(|c| state_filter.is_none_or(|s| c.state == s))
        .filter(|c| kind.is_none_or(|k| c.kind == k))
        .filter(|c| service.as_ref().is_none_or(|s| c.service == s.as_str()))
        .filter(|c| {
            environment
                .as_ref()
                .is_none_or(|e| c.environment == e.as_str())
        })
        .filter(|c| !query.needs_review || needs_review(c.kind, c.state))
        .map(|c| wire(c.clone(), &all))
        .collect();
    Ok(axum::Json(whole(items)))
}

/// One change request.
#[utoipa::path(get, path = "/api/v1/change-requests/{id}", tag = "control", security(("bearer" = [])),
    params(("id" = crate::openapi::Id, Path, description = "The change request's number")),
    responses((status = 200, body = ChangeRequest), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get_change(
    State(state): State<AppState>,
    _reader: Reader,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<ChangeRequest>> {
    let id = crate::convert::id("change request", &id)?;
    let found = state.store.change(id).await?;
    let all = state.store.changes(ChangeFilter::default()).await?;
    Ok(axum::Json(wire(found, &all)))
}

/// Moves a change request by a verb: submit, assess, approve, reject, defer,
/// schedule, implement, review, close. An illegal move names the allowed ones.
#[utoipa::path(post, path = "/api/v1/change-requests/{id}/{action}", tag = "control", security(("bearer" = [])),
    params(("id" = crate::openapi::Id, Path, description = "The change request's number"), ("action" = ferry_core::change::ChangeAction, Path, description = "submit, assess, approve, reject, defer, schedule, implement, review or close")),
    request_body = ChangeActionBody,
    responses((status = 200, body = ChangeRequest), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 403, description = "Not allowed to, or raised it and may not assess or approve it", body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, description = "Not allowed from its state", body = Problem, content_type = "application/problem+json")))]
pub async fn act_on_change(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, action)): Path<(String, String)>,
    Json(body): Json<ChangeActionBody>,
) -> ApiResult<axum::Json<ChangeRequest>> {
    let id = crate::convert::id("change request", &id)?;
    let action = ChangeAction::parse(&action).map_err(ApiError::NotFound)?;
    let updated = crate::change_control::act(&state, &caller, id, action, &body).await?;
    let all = state.store.changes(ChangeFilter::default()).await?;
    Ok(axum::Json(wire(updated, &all)))
}
