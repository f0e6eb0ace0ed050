//! Liveness and readiness, the only routes open without a token.

use axum::Json;
use axum::extract::State;
use ferry_store::StoreError;
use ferry_store::blobs::BlobError;
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, description = "Alive")))]
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// The process can serve requests: its database answers and takes writes,
/// and its artifact store has room.
#[utoipa::path(get, path = "/readyz", tag = "health", responses(
    (status = 200, description = "Ready"),
    (status = 503, description = "The database does not answer or cannot write, or a disk is full", body = ferry_api::Problem, content_type = "application/problem+json")
))]
pub async fn readyz(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    // Ready means able to write too: a server whose disk is full answers
    // reads but refuses every change, so it is taken out of rotation until
    // space is freed (the checks write and throw away a little; no sync).
    state.store.ready().await.map_err(|error| match error {
        StoreError::StorageFull { cause } => {
            tracing::debug!(%cause, "not ready: the database's disk is full");
            ApiError::Unavailable(
                "not ready: the disk of the database is full; free space on it".to_owned(),
            )
        }
        StoreError::Unwritable(reason) => ApiError::Unavailable(format!(
            "not ready: the database cannot be written: {reason}"
        )),
        other => ApiError::Unavailable(format!("the database does not answer: {other}")),
    })?;
    state.blobs.probe().await.map_err(|error| match error {
        BlobError::StorageFull(cause) => {
            tracing::debug!(%cause, "not ready: the artifact store's disk is full");
            ApiError::Unavailable(
                "not ready: the disk of the data directory (the artifact store) is full; \
                 free space on it"
                    .to_owned(),
            )
        }
        other => ApiError::Unavailable(format!(
            "not ready: the artifact store cannot be written: {other}"
        )),
    })?;
    Ok(Json(json!({ "status": "ready" })))
}
