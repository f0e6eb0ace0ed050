//! The environment × service matrix.

use axum::extract::State;
use ferry_api::{Status, StatusEnvironment};
use ferry_core::status::{matrix, order_environments};

use crate::authorize::Reader;
use crate::error::ApiResult;
use crate::state::AppState;

/// Which version of each service is in each environment, and what is under way.
#[utoipa::path(get, path = "/api/v1/status", tag = "deployments", security(("bearer" = [])), responses((status = 200, body = Status)))]
pub async fn status(
    State(state): State<AppState>,
    _reader: Reader,
) -> ApiResult<axum::Json<Status>> {
    let mut facts = state.store.status_facts().await?;
    order_environments(&mut facts.environments);
    let environment_names: Vec<_> = facts
        .environments
        .iter()
        .map(|(name, _)| name.clone())
        .collect();
    let cells = matrix(&facts.services, &environment_names, &facts.deployments);
    Ok(axum::Json(Status {
        environments: facts
            .environments
            .into_iter()
            .map(|(name, tier)| StatusEnvironment {
                name: name.to_string(),
                tier,
            })
            .collect(),
        services: facts.services.iter().map(ToString::to_string).collect(),
        cells,
    }))
}
