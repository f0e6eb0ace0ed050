//! `ferry diff`: what promoting a service between two environments would bring.

use axum::extract::State;
use ferry_api::{Diff, Problem};
use serde::Deserialize;

use crate::authorize::Reader;
use crate::convert::name;
use crate::error::ApiResult;
use crate::extract::{Path, Query};
use crate::state::AppState;

/// The two environments compared.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DiffQuery {
    /// The environment the release comes from.
    from: ferry_core::Name,
    /// The environment it would go to.
    to: ferry_core::Name,
}

/// The releases and commits between the version in `to` and the one in `from`.
#[utoipa::path(get, path = "/api/v1/services/{service}/diff", tag = "releases", security(("bearer" = [])),
    params(("service" = ferry_core::Name, Path, description = "The service's name"), DiffQuery),
    responses((status = 200, body = Diff), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn diff(
    State(state): State<AppState>,
    _reader: Reader,
    Path(service): Path<String>,
    Query(query): Query<DiffQuery>,
) -> ApiResult<axum::Json<Diff>> {
    let service = name("service", &service)?;
    Ok(axum::Json(
        crate::comparison::diff(&state, &service, &query.from, &query.to).await?,
    ))
}
