//! The environment × service matrix, as the API's `/status` and the web
//! dashboard both show it.
//!
//! The whole matrix, and its JSON, are kept in memory between writes: a
//! read is a lookup and a copy, however long the history (see
//! `ferry_store::freshness`).

use std::sync::Arc;

use axum::body::Bytes;
use ferry_api::{Status, StatusEnvironment};
use ferry_core::Name;
use ferry_core::status::{matrix, order_environments};
use ferry_store::freshness::{Cached, Topic};
use ferry_store::status::StatusFacts;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The matrix and its JSON, with the generations they were built at.
#[derive(Debug, Default)]
pub struct StatusModel {
    whole: Cached<Status>,
    json: Cached<Bytes>,
}

/// What the matrix depends on.
const TOPICS: [Topic; 2] = [Topic::Deployments, Topic::Catalog];

/// Which version of each service (of service `only`, when given) is in each
/// environment, and what is under way; environments least critical tier
/// first, services by name.
pub async fn status(state: &AppState, only: Option<&Name>) -> ApiResult<Arc<Status>> {
    if only.is_some() {
        return Ok(Arc::new(build(&*state.store.status_facts(only).await?)));
    }
    let stamp = state.store.stamp(&TOPICS);
    if let Some(kept) = state.status.whole.get(&stamp) {
        return Ok(kept);
    }
    let built = Arc::new(build(&*state.store.status_facts(None).await?));
    state.status.whole.put(stamp, built.clone());
    Ok(built)
}

/// The whole matrix as the API sends it.
pub async fn status_json(state: &AppState) -> ApiResult<Bytes> {
    let stamp = state.store.stamp(&TOPICS);
    if let Some(kept) = state.status.json.get(&stamp) {
        return Ok((*kept).clone());
    }
    let status = status(state, None).await?;
    let json = serde_json::to_vec(&*status)
        .map(Bytes::from)
        .map_err(|error| ApiError::Internal(format!("the status cannot be written: {error}")))?;
    state.status.json.put(stamp, Arc::new(json.clone()));
    Ok(json)
}

fn build(facts: &StatusFacts) -> Status {
    let mut environments = facts.environments.clone();
    order_environments(&mut environments);
    let environment_names: Vec<_> = environments.iter().map(|(name, _)| name.clone()).collect();
    let cells = matrix(&facts.services, &environment_names, &facts.deployments);
    Status {
        environments: environments
            .into_iter()
            .map(|(name, tier)| StatusEnvironment {
                name: name.to_string(),
                tier,
            })
            .collect(),
        services: facts.services.iter().map(ToString::to_string).collect(),
        cells,
    }
}
