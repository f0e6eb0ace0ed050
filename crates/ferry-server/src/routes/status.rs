//! The environment × service matrix.

use axum::extract::State;
use ferry_api::Status;

use crate::authorize::Reader;
use crate::error::ApiResult;
use crate::state::AppState;

/// Which version of each service is in each environment, and what is under way.
#[utoipa::path(get, path = "/api/v1/status", tag = "deployments", security(("bearer" = [])), responses((status = 200, body = Status)))]
pub async fn status(
    State(state): State<AppState>,
    _reader: Reader,
) -> ApiResult<impl axum::response::IntoResponse> {
    let json = crate::overview::status_json(&state).await?;
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        json,
    ))
}
