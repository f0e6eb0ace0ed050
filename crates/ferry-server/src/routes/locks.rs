//! Locks of environments (or one service in them), and the bad marks of
//! releases rolled back.

use axum::extract::State;
use axum::http::StatusCode;
use ferry_api::{Lock, Mark, NewLock, Page, Problem, Unlock, Unmark};
use serde::Deserialize;

use crate::auth::Caller;
use crate::authorize::Reader;
use crate::convert::{self, name, version};
use crate::error::ApiResult;
use crate::extract::{Json, Path, Query};
use crate::locking;
use crate::routes::whole;
use crate::state::AppState;

/// The query of `GET /api/v1/locks`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LockQuery {
    /// Only the locks of this environment.
    pub environment: Option<ferry_core::Name>,
}

/// The locks in force, by environment and then service.
#[utoipa::path(get, path = "/api/v1/locks", tag = "control", security(("bearer" = [])), params(LockQuery),
    responses((status = 200, body = Page<Lock>), (status = 400, body = Problem, content_type = "application/problem+json")))]
pub async fn list_locks(
    State(state): State<AppState>,
    _reader: Reader,
    Query(query): Query<LockQuery>,
) -> ApiResult<axum::Json<Page<Lock>>> {
    let items = state
        .store
        .locks(query.environment.as_ref())
        .await?
        .into_iter()
        .map(convert::lock)
        .collect();
    Ok(axum::Json(whole(items)))
}

/// Locks an environment, or one service in it, to promotions until it is
/// unlocked. Rollbacks still run.
#[utoipa::path(post, path = "/api/v1/locks", tag = "control", security(("bearer" = [])), request_body = NewLock,
    responses((status = 201, body = Lock),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Locked already", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn create_lock(
    State(state): State<AppState>,
    caller: Caller,
    Json(request): Json<NewLock>,
) -> ApiResult<(StatusCode, axum::Json<Lock>)> {
    let record = locking::lock(
        &state,
        &caller,
        &request.environment,
        request.service.as_ref(),
        &request.reason,
    )
    .await?;
    Ok((StatusCode::CREATED, axum::Json(convert::lock(record))))
}

/// Lifts the lock of an environment, or of one service in it.
#[utoipa::path(post, path = "/api/v1/locks/unlock", tag = "control", security(("bearer" = [])), request_body = Unlock,
    responses((status = 200, body = Lock),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not locked", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn unlock(
    State(state): State<AppState>,
    caller: Caller,
    Json(request): Json<Unlock>,
) -> ApiResult<axum::Json<Lock>> {
    let record = locking::unlock(
        &state,
        &caller,
        &request.environment,
        request.service.as_ref(),
        &request.reason,
    )
    .await?;
    Ok(axum::Json(convert::lock(record)))
}

/// A release's bad marks, in force and lifted, oldest first.
#[utoipa::path(get, path = "/api/v1/services/{service}/releases/{version}/marks", tag = "releases", security(("bearer" = [])),
    params(("service" = String, Path), ("version" = String, Path)),
    responses((status = 200, body = Page<Mark>), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn list_marks(
    State(state): State<AppState>,
    _reader: Reader,
    Path((service, text)): Path<(String, String)>,
) -> ApiResult<axum::Json<Page<Mark>>> {
    let service = name("service", &service)?;
    let version = version(&text)?;
    state.store.release(&service, &version).await?;
    let items = state
        .store
        .marks(&service, &version)
        .await?
        .into_iter()
        .map(convert::mark)
        .collect();
    Ok(axum::Json(whole(items)))
}

/// Lifts a release's bad mark in an environment, so it may be promoted
/// there again.
#[utoipa::path(post, path = "/api/v1/services/{service}/releases/{version}/unmark", tag = "releases", security(("bearer" = [])),
    params(("service" = String, Path), ("version" = String, Path)), request_body = Unmark,
    responses((status = 200, body = Mark),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not marked bad there", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn unmark(
    State(state): State<AppState>,
    caller: Caller,
    Path((service, text)): Path<(String, String)>,
    Json(request): Json<Unmark>,
) -> ApiResult<axum::Json<Mark>> {
    let service = name("service", &service)?;
    let version = version(&text)?;
    let record = locking::unmark(
        &state,
        &caller,
        &service,
        &version,
        &request.environment,
        &request.reason,
    )
    .await?;
    Ok(axum::Json(convert::mark(record)))
}
