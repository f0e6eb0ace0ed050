//! Who is calling, for the agent endpoints: an agent token
//! (`ferry_agent_` and 64 hex digits), known to the store by its SHA-256.
//!
//! Agent tokens live apart from API tokens: an agent token does not
//! authenticate as a user (it is not an API token), and a user's token is
//! refused here, so an agent sees only its own jobs.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use ferry_store::agents::AgentRecord;

use crate::auth::{Secret, bearer, hash_secret};

use crate::error::ApiError;
use crate::state::AppState;

/// The prefix of every agent token's secret.
pub const AGENT_TOKEN_PREFIX: &str = "ferry_agent_";

/// A fresh agent secret and its hash.
pub fn generate_agent_secret() -> Result<Secret, ApiError> {
    Secret::generate_with_prefix(AGENT_TOKEN_PREFIX)
}

/// The authenticated agent of a request.
#[derive(Debug, Clone)]
pub struct AgentCaller {
    /// The agent.
    pub agent: AgentRecord,
    /// The hash of the token it sent.
    pub token_hash: String,
}

impl FromRequestParts<AppState> for AgentCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // Already known when the idempotency layer authenticated the request.
        if let Some(agent) = parts.extensions.get::<AgentCaller>() {
            return Ok(agent.clone());
        }
        let secret = bearer(
            parts,
            "this endpoint needs an agent token: send `Authorization: Bearer ferry_agent_…` (see `ferry agent token create`)",
        )?;
        if !secret.starts_with(AGENT_TOKEN_PREFIX) {
            return Err(ApiError::Unauthorized(
                "this endpoint is for agents: it needs an agent token (ferry_agent_…), not an API token".into(),
            ));
        }
        let token_hash = hash_secret(secret);
        let found = state
            .agent_tokens
            .get_or_read(
                &state.store,
                &token_hash,
                |_| true,
                state.store.agent_by_token(&token_hash),
            )
            .await?;
        match found {
            Some(agent) => Ok(AgentCaller { agent, token_hash }),
            None => Err(ApiError::Unauthorized(
                "the agent token is unknown or revoked; create one with `ferry agent token create`"
                    .into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_secrets_are_prefixed_random_and_hashed() {
        let a = generate_agent_secret().unwrap();
        let b = generate_agent_secret().unwrap();
        assert!(a.secret.starts_with("ferry_agent_") && a.secret.len() == 12 + 64);
        assert_ne!(a.secret, b.secret);
        assert_eq!(a.hash, hash_secret(&a.secret));
    }
}
