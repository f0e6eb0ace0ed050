//! DORA metrics and incidents.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use ferry_api::{Incident, MetricsReport, OpenIncident, Page, Problem, ResolveIncident};
use serde::Deserialize;

use crate::auth::Caller;
use crate::authorize::Reader;
use crate::convert;
use crate::dora;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path, Query};
use crate::routes::whole;
use crate::state::AppState;

/// The query of `GET /api/v1/metrics`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MetricsQuery {
    /// Only this service.
    pub service: Option<ferry_core::Name>,
    /// Only this environment.
    pub environment: Option<ferry_core::Name>,
    /// The period's start, RFC 3339 [default: 30 days before `until`].
    pub since: Option<String>,
    /// The period's end, RFC 3339 [default: now].
    pub until: Option<String>,
}

fn time(field: &str, text: Option<&str>) -> Result<Option<DateTime<Utc>>, ApiError> {
    text.map(|text| {
        ferry_core::time::parse_time(text).map_err(|error| {
            ApiError::Unprocessable(format!(
                "{field}: {error}; expected an RFC 3339 time such as 2027-01-01T00:00:00Z"
            ))
        })
    })
    .transpose()
}

/// The DORA metrics of every service in every environment of its lifecycle
/// over a period: deployment frequency, lead time for changes, change
/// failure rate and time to restore, each with its definition, p50 and p90,
/// and performance band.
#[utoipa::path(get, path = "/api/v1/metrics", tag = "metrics", security(("bearer" = [])), params(MetricsQuery),
    responses((status = 200, body = MetricsReport),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn metrics(
    State(state): State<AppState>,
    _reader: Reader,
    Query(query): Query<MetricsQuery>,
) -> ApiResult<axum::Json<MetricsReport>> {
    let (service, environment) = (query.service, query.environment);
    let until = time("until", query.until.as_deref())?.unwrap_or_else(Utc::now);
    let since = time("since", query.since.as_deref())?
        .unwrap_or_else(|| until - chrono::Duration::days(30));
    let report = dora::report(&state, service.as_ref(), environment.as_ref(), since, until).await?;
    Ok(axum::Json(report))
}

/// The query of `GET /api/v1/incidents`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct IncidentQuery {
    /// Only those still open.
    #[serde(default)]
    pub open: bool,
}

/// Incidents, newest first.
#[utoipa::path(get, path = "/api/v1/incidents", tag = "metrics", security(("bearer" = [])), params(IncidentQuery),
    responses((status = 200, body = Page<Incident>), (status = 400, body = Problem, content_type = "application/problem+json")))]
pub async fn list_incidents(
    State(state): State<AppState>,
    _reader: Reader,
    Query(query): Query<IncidentQuery>,
) -> ApiResult<axum::Json<Page<Incident>>> {
    let items = state
        .store
        .incidents(query.open)
        .await?
        .into_iter()
        .map(dora::incident)
        .collect();
    Ok(axum::Json(whole(items)))
}

/// Opens an incident of a service in an environment, against one of its
/// deployments when given: it counts in the change failure rate and the
/// time to restore.
#[utoipa::path(post, path = "/api/v1/incidents", tag = "metrics", security(("bearer" = [])), request_body = OpenIncident,
    responses((status = 201, body = Incident),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn open_incident(
    State(state): State<AppState>,
    caller: Caller,
    Json(request): Json<OpenIncident>,
) -> ApiResult<(StatusCode, axum::Json<Incident>)> {
    let record = dora::open_incident(&state, &caller, &request).await?;
    Ok((StatusCode::CREATED, axum::Json(dora::incident(record))))
}

/// Resolves an incident.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/resolve", tag = "metrics", security(("bearer" = [])),
    params(("id" = crate::openapi::Id, Path, description = "The incident's id")), request_body = ResolveIncident,
    responses((status = 200, body = Incident),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Resolved already", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn resolve_incident(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(request): Json<ResolveIncident>,
) -> ApiResult<axum::Json<Incident>> {
    let id = convert::id("incident", &id)?;
    let record = dora::resolve_incident(&state, &caller, id, &request.resolution).await?;
    Ok(axum::Json(dora::incident(record)))
}
