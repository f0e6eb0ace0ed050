//! The environment × service matrix, as the API's `/status` and the web
//! dashboard both show it.

use ferry_api::{Status, StatusEnvironment};
use ferry_core::Name;
use ferry_core::status::{matrix, order_environments};

use crate::error::ApiResult;
use crate::state::AppState;

/// Which version of each service (of service `only`, when given) is in each
/// environment, and what is under way; environments least critical tier
/// first, services by name.
pub async fn status(state: &AppState, only: Option<&Name>) -> ApiResult<Status> {
    let mut facts = state.store.status_facts(only).await?;
    order_environments(&mut facts.environments);
    let environment_names: Vec<_> = facts
        .environments
        .iter()
        .map(|(name, _)| name.clone())
        .collect();
    let cells = matrix(&facts.services, &environment_names, &facts.deployments);
    Ok(Status {
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
    })
}
