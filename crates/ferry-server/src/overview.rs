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
    json: Cached<StatusJson>,
}

/// The whole matrix as the API sends it: its JSON, the same gzipped (for
/// clients that accept it: a thousand services make a JSON of most of a
/// megabyte, a twentieth of that gzipped), and an entity tag of its content
/// (the same on every replica, so `If-None-Match` works behind a load
/// balancer).
#[derive(Debug, Clone)]
pub struct StatusJson {
    /// The JSON.
    pub json: Bytes,
    /// The JSON, gzipped.
    pub gzip: Bytes,
    /// `"` + the JSON's SHA-256, shortened + `"`.
    pub etag: String,
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
    state
        .status
        .whole
        .get_or_build(stamp, async {
            Ok::<_, ApiError>(build(&*state.store.status_facts(None).await?))
        })
        .await
}

/// The whole matrix as the API sends it.
pub async fn status_json(state: &AppState) -> ApiResult<Arc<StatusJson>> {
    let stamp = state.store.stamp(&TOPICS);
    state
        .status
        .json
        .get_or_build(stamp, async {
            let status = status(state, None).await?;
            tokio::task::spawn_blocking(move || encode(&status))
                .await
                .map_err(|error| {
                    ApiError::Internal(format!("writing the status failed: {error}"))
                })?
        })
        .await
}

/// The JSON of `status`, gzipped too, and its entity tag.
fn encode(status: &Status) -> ApiResult<StatusJson> {
    use sha2::Digest as _;
    use std::io::Write as _;
    let failed = |error: &dyn std::fmt::Display| {
        ApiError::Internal(format!("the status cannot be written: {error}"))
    };
    let json = serde_json::to_vec(status).map_err(|e| failed(&e))?;
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gzip.write_all(&json).map_err(|e| failed(&e))?;
    let gzip = gzip.finish().map_err(|e| failed(&e))?;
    let digest = sha2::Sha256::digest(&json);
    Ok(StatusJson {
        etag: format!("\"{}\"", hex::encode(&digest[..16])),
        json: Bytes::from(json),
        gzip: Bytes::from(gzip),
    })
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
