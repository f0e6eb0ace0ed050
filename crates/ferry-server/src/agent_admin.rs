//! Managing agents: who may, and revoking one. The API's routes and the
//! web UI's administration page both come through here.

use ferry_core::access::{Action, Target};
use ferry_store::agents::AgentRecord;

use crate::auth::Caller;
use crate::convert::name;
use crate::error::ApiError;
use crate::state::AppState;

/// Agent `id`, once the caller may manage the agents of its environment.
pub async fn managed(state: &AppState, caller: &Caller, id: i64) -> Result<AgentRecord, ApiError> {
    let found = state
        .store
        .agents(None)
        .await?
        .into_iter()
        .find(|a| a.id == id)
        .ok_or_else(|| ApiError::NotFound(format!("there is no agent {id}")))?;
    let environment = name("environment", &found.environment)?;
    caller
        .require(
            state,
            Action::ManageAgents,
            &Target::environment(&environment, false),
        )
        .await?;
    Ok(found)
}

/// Revokes agent `id`: its token is refused at once, and a job it holds is
/// treated as lost. Refused unless `caller` manages the agents of its
/// environment.
pub async fn revoke(state: &AppState, caller: &Caller, id: i64) -> Result<AgentRecord, ApiError> {
    let found = managed(state, caller, id).await?;
    let revoked = state.store.revoke_agent(caller.actor(), found.id).await?;
    state.wake.orchestrator();
    Ok(revoked)
}
