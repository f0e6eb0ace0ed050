//! Releases of a service.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use ferry_api::{CreateRelease, Page, PageQuery, Problem, Release};

use crate::auth::Caller;
use crate::convert::{self, name, version};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Query};
use crate::routes::Paging;
use crate::state::AppState;

const NOTES_LIMIT: usize = 1 << 20;

/// Releases of every service, newest first.
#[utoipa::path(get, path = "/api/v1/releases", tag = "releases", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, body = Page<Release>), (status = 400, body = Problem, content_type = "application/problem+json")))]
pub async fn list_all_releases(
    State(state): State<AppState>,
    _caller: Caller,
    Query(query): Query<PageQuery>,
) -> ApiResult<axum::Json<Page<Release>>> {
    let paging = Paging::parse(query.limit, query.cursor.as_deref())?;
    let records = state
        .store
        .releases(None, paging.before, paging.fetch())
        .await?;
    Ok(axum::Json(paging.page(
        records.into_iter().map(convert::release).collect(),
        |r| r.id,
    )))
}

/// Releases of one service, newest first.
#[utoipa::path(get, path = "/api/v1/services/{service}/releases", tag = "releases", security(("bearer" = [])),
    params(("service" = String, Path, description = "The service's name"), PageQuery),
    responses((status = 200, body = Page<Release>), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn list_releases(
    State(state): State<AppState>,
    _caller: Caller,
    Path(service): Path<String>,
    Query(query): Query<PageQuery>,
) -> ApiResult<axum::Json<Page<Release>>> {
    let service = name("service", &service)?;
    let paging = Paging::parse(query.limit, query.cursor.as_deref())?;
    if !state
        .store
        .services()
        .await?
        .iter()
        .any(|s| s.spec.name == service)
    {
        return Err(ApiError::NotFound(format!(
            "there is no service {:?}",
            service.as_str()
        )));
    }
    let records = state
        .store
        .releases(Some(&service), paging.before, paging.fetch())
        .await?;
    Ok(axum::Json(paging.page(
        records.into_iter().map(convert::release).collect(),
        |r| r.id,
    )))
}

/// Creates a release. Its version must be new for the service.
#[utoipa::path(post, path = "/api/v1/services/{service}/releases", tag = "releases", security(("bearer" = [])),
    params(("service" = String, Path, description = "The service's name")),
    request_body = CreateRelease,
    responses(
        (status = 201, body = Release),
        (status = 400, description = "Malformed body or version", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown service", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The version exists", body = Problem, content_type = "application/problem+json")
    ))]
pub async fn create_release(
    State(state): State<AppState>,
    caller: Caller,
    Path(service): Path<String>,
    Json(request): Json<CreateRelease>,
) -> ApiResult<(StatusCode, axum::Json<Release>)> {
    let service = name("service", &service)?;
    let version = version(&request.version)?;
    if request.notes.len() > NOTES_LIMIT {
        return Err(ApiError::BadRequest(format!(
            "release notes are limited to {NOTES_LIMIT} bytes"
        )));
    }
    let record = state
        .store
        .create_release(&caller.0.name, &service, &version, &request.notes)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(convert::release(record))))
}

/// One release.
#[utoipa::path(get, path = "/api/v1/services/{service}/releases/{version}", tag = "releases", security(("bearer" = [])),
    params(("service" = String, Path, description = "The service's name"), ("version" = String, Path, description = "The version")),
    responses((status = 200, body = Release), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get_release(
    State(state): State<AppState>,
    _caller: Caller,
    Path((service, text)): Path<(String, String)>,
) -> ApiResult<axum::Json<Release>> {
    let record = state
        .store
        .release(&name("service", &service)?, &version(&text)?)
        .await?;
    Ok(axum::Json(convert::release(record)))
}

/// Abandons a release: it can no longer be promoted. Final.
#[utoipa::path(post, path = "/api/v1/services/{service}/releases/{version}/abandon", tag = "releases", security(("bearer" = [])),
    params(("service" = String, Path, description = "The service's name"), ("version" = String, Path, description = "The version")),
    responses(
        (status = 200, body = Release),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Abandoned already", body = Problem, content_type = "application/problem+json")
    ))]
pub async fn abandon_release(
    State(state): State<AppState>,
    caller: Caller,
    Path((service, text)): Path<(String, String)>,
) -> ApiResult<axum::Json<Release>> {
    let record = state
        .store
        .abandon_release(
            &caller.0.name,
            &name("service", &service)?,
            &version(&text)?,
        )
        .await?;
    Ok(axum::Json(convert::release(record)))
}
