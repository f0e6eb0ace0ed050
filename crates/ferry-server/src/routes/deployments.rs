//! Deployments: read now; created by promotion in a later version.

use axum::extract::{Path, State};
use ferry_api::{Deployment, Page, Problem};
use ferry_store::deployments::DeploymentFilter;
use serde::Deserialize;

use crate::auth::Caller;
use crate::convert::{self, name};
use crate::error::{ApiError, ApiResult};
use crate::extract::Query;
use crate::routes::Paging;
use crate::state::AppState;

/// Filters and paging of the deployment list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeploymentQuery {
    /// Only this service's deployments.
    service: Option<String>,
    /// Only deployments into this environment.
    environment: Option<String>,
    /// At most this many (1 to 1000, default 100).
    limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// Deployments, newest first.
#[utoipa::path(get, path = "/api/v1/deployments", tag = "deployments", security(("bearer" = [])), params(DeploymentQuery),
    responses((status = 200, body = Page<Deployment>), (status = 400, body = Problem, content_type = "application/problem+json")))]
pub async fn list_deployments(
    State(state): State<AppState>,
    _caller: Caller,
    Query(query): Query<DeploymentQuery>,
) -> ApiResult<axum::Json<Page<Deployment>>> {
    let paging = Paging::parse(query.limit, query.cursor.as_deref())?;
    let service = query
        .service
        .as_deref()
        .map(|s| name("service", s))
        .transpose()?;
    let environment = query
        .environment
        .as_deref()
        .map(|e| name("environment", e))
        .transpose()?;
    let filter = DeploymentFilter {
        service: service.as_ref(),
        environment: environment.as_ref(),
    };
    let records = state
        .store
        .deployments(filter, paging.before, paging.fetch())
        .await?;
    Ok(axum::Json(paging.page(
        records.into_iter().map(convert::deployment).collect(),
        |d| d.id,
    )))
}

/// One deployment.
#[utoipa::path(get, path = "/api/v1/deployments/{id}", tag = "deployments", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The deployment's id")),
    responses((status = 200, body = Deployment), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get_deployment(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Deployment>> {
    let id = id
        .parse::<i64>()
        .map_err(|_| ApiError::BadRequest(format!("deployment id {id:?} is not a number")))?;
    Ok(axum::Json(convert::deployment(
        state.store.deployment(id).await?,
    )))
}
