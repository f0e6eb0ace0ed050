//! Who is calling, for the agent endpoints: an agent token
//! (`ferry_agent_` and 64 hex digits), known to the store by its SHA-256.
//!
//! Agent tokens live apart from API tokens: an agent token does not
//! authenticate as a user (it is not an API token), and a user's token is
//! refused here, so an agent sees only its own jobs.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use ferry_store::agents::AgentRecord;

use crate::auth::hash_secret;
use crate::error::ApiError;
use crate::state::AppState;

/// The prefix of every agent token's secret.
pub const AGENT_TOKEN_PREFIX: &str = "ferry_agent_";

/// A fresh agent secret and its hash.
pub struct AgentSecret {
    /// The secret, shown once.
    pub secret: String,
    /// Its hash, stored.
    pub hash: String,
}

impl AgentSecret {
    /// Generates a secret from the operating system's randomness.
    pub fn generate() -> Result<Self, ApiError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)
            .map_err(|e| ApiError::Internal(format!("no randomness: {e}")))?;
        let secret = format!("{AGENT_TOKEN_PREFIX}{}", hex::encode(bytes));
        let hash = hash_secret(&secret);
        Ok(Self { secret, hash })
    }
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
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Err(ApiError::Unauthorized(
                "this endpoint needs an agent token: send `Authorization: Bearer ferry_agent_…` (see `ferry agent token create`)".into(),
            ));
        };
        let secret = value
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .ok_or_else(|| {
                ApiError::Unauthorized("the Authorization header must be `Bearer <token>`".into())
            })?;
        if !secret.starts_with(AGENT_TOKEN_PREFIX) {
            return Err(ApiError::Unauthorized(
                "this endpoint is for agents: it needs an agent token (ferry_agent_…), not an API token".into(),
            ));
        }
        let token_hash = hash_secret(secret);
        match state.store.agent_by_token(&token_hash).await? {
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
        let a = AgentSecret::generate().unwrap();
        let b = AgentSecret::generate().unwrap();
        assert!(a.secret.starts_with("ferry_agent_") && a.secret.len() == 12 + 64);
        assert_ne!(a.secret, b.secret);
        assert_eq!(a.hash, hash_secret(&a.secret));
    }
}
