//! Who is calling: bearer tokens, their secrets and their hashes.
//!
//! A token's secret is `ferry_` and 64 hex digits of randomness. Only its
//! SHA-256 is stored: the secret is high-entropy, so a slow hash would add
//! nothing but latency to every request.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use chrono::Utc;
use ferry_core::access::Rights;
use ferry_store::auth::{Authenticated, NewToken, UserRecord};
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::state::AppState;

/// The prefix every secret starts with, so scanners recognise leaked ones.
pub const TOKEN_PREFIX: &str = "ferry_";

/// A fresh secret with its hash and display prefix.
pub struct Secret {
    /// The secret, shown once.
    pub secret: String,
    /// Its hash, stored.
    pub hash: String,
}

impl Secret {
    /// Generates an API token's secret from the operating system's randomness.
    pub fn generate() -> Result<Self, ApiError> {
        Self::generate_with_prefix(TOKEN_PREFIX)
    }

    /// Generates a secret that starts with `prefix` (API and agent tokens
    /// differ only by it).
    pub fn generate_with_prefix(prefix: &str) -> Result<Self, ApiError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)
            .map_err(|e| ApiError::Internal(format!("no randomness: {e}")))?;
        let secret = format!("{prefix}{}", hex::encode(bytes));
        let hash = hash_secret(&secret);
        Ok(Self { secret, hash })
    }

    /// The token to store, named `name`, with the owner's rights and no
    /// expiry.
    pub fn new_token<'a>(&'a self, name: &'a str) -> NewToken<'a> {
        NewToken {
            name,
            secret_hash: &self.hash,
            prefix: &self.secret[..TOKEN_PREFIX.len() + 6],
            expires_at: None,
            grants: None,
        }
    }
}

/// The stored form of a secret.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The secret of an `Authorization: Bearer` header; `missing` says what to
/// send when there is none.
pub fn bearer<'a>(parts: &'a Parts, missing: &str) -> Result<&'a str, ApiError> {
    let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
        return Err(ApiError::Unauthorized(missing.to_owned()));
    };
    value
        .to_str()
        .ok()
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .ok_or_else(|| {
            ApiError::Unauthorized("the Authorization header must be `Bearer <token>`".into())
        })
}

/// The prefix of a CI workload's token, handed out by the OIDC exchange.
pub const WORKLOAD_TOKEN_PREFIX: &str = "ferry_ci_";

/// What a caller proved who they are with. Its idempotency keys and its
/// refusals in the audit trail are its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// A user's API token, by id.
    ApiToken(i64),
    /// A CI workload's token (from the OIDC exchange), by id.
    WorkloadToken(i64),
    /// An agent, by id (whichever of its tokens it sends).
    Agent(i64),
    /// A browser's web session, by id.
    Session(i64),
    /// A click in Slack, signed by Slack and made by the person whose
    /// e-mail Slack vouches for.
    Slack,
}

impl Credential {
    /// The scope of its idempotency keys in the store, which also names it
    /// in the audit trail (`token:7`, `ci-token:3`, `agent:2`, `session:5`,
    /// `slack`).
    pub fn scope(self) -> String {
        match self {
            Credential::ApiToken(id) => format!("token:{id}"),
            Credential::WorkloadToken(id) => format!("ci-token:{id}"),
            Credential::Agent(id) => format!("agent:{id}"),
            Credential::Session(id) => format!("session:{id}"),
            Credential::Slack => "slack".to_owned(),
        }
    }
}

/// The authenticated caller of a request: who, and what their token allows.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The name the audit trail records: the user's, or `ci:<subject>` for a
    /// CI workload.
    pub actor: String,
    /// The user the token belongs to; `None` for a CI workload's token.
    pub user: Option<UserRecord>,
    /// The groups the user belongs to.
    pub groups: Vec<String>,
    /// What the token allows: the user's grants, narrowed by the token's
    /// (a CI workload's: its trust policy's grants).
    pub rights: Rights,
    /// What they proved who they are with.
    pub credential: Credential,
}

impl Caller {
    /// The name the audit trail records for what the caller does.
    pub fn actor(&self) -> &str {
        &self.actor
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // Already known when the idempotency layer authenticated the request.
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(caller.clone());
        }
        let secret = bearer(
            parts,
            "this endpoint needs an API token: send `Authorization: Bearer <token>` (see `ferry login` and `ferry token create`)",
        )?;
        let hash = hash_secret(secret);
        let live = |found: &Authenticated| found.expires_at.is_none_or(|end| end > Utc::now());
        let read = async {
            if secret.starts_with(WORKLOAD_TOKEN_PREFIX) {
                state.store.authenticate_workload(&hash).await
            } else {
                state.store.authenticate(&hash).await
            }
        };
        let found = state
            .tokens
            .get_or_read(&state.store, &hash, live, read)
            .await?;
        match found {
            Some(found) => Ok(Caller {
                credential: match found.user {
                    Some(_) => Credential::ApiToken(found.token_id),
                    None => Credential::WorkloadToken(found.token_id),
                },
                actor: found.actor,
                user: found.user,
                groups: found.groups,
                rights: found.rights,
            }),
            None => Err(ApiError::Unauthorized(
                "the API token is unknown, revoked or expired, or its user is disabled".into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_prefixed_random_and_hashed() {
        let a = Secret::generate().unwrap();
        let b = Secret::generate().unwrap();
        assert!(a.secret.starts_with("ferry_") && a.secret.len() == 6 + 64);
        assert_ne!(a.secret, b.secret);
        assert_eq!(a.hash, hash_secret(&a.secret));
        assert_ne!(a.hash, a.secret);
        assert_eq!(a.new_token("x").prefix, &a.secret[..12]);
    }
}
