//! CI workload identity: an OIDC ID token from a CI system (GitHub Actions,
//! GitLab CI, any issuer with a JWK Set), accepted by a trust policy of
//! ferry.toml, exchanged for a short-lived ferry token with that policy's
//! grants. No long-lived secret lives in the pipeline.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use ferry_api::{ExchangeToken, ExchangedToken, Problem};
use ferry_store::auth::NewWorkloadToken;

use crate::auth::{Secret, WORKLOAD_TOKEN_PREFIX};
use crate::error::{ApiError, ApiResult};
use crate::extract::Json;
use crate::state::AppState;

/// Exchanges a CI system's OIDC ID token for a ferry token. Its signature
/// (by the issuer's keys), `exp`, `nbf`, `iss`, `aud` and `sub` are checked
/// against the trust policies; the first that accepts it gives the token
/// its grants and lifetime. Every exchange is audited with the workload's
/// subject. Needs no `Authorization` header: the ID token is the proof.
#[utoipa::path(post, path = "/api/v1/oidc/exchange", tag = "access", request_body = ExchangeToken, responses(
    (status = 201, body = ExchangedToken),
    (status = 400, body = Problem, content_type = "application/problem+json"),
    (status = 401, description = "The ID token is refused: no trust policy accepts it, or it does not verify", body = Problem, content_type = "application/problem+json")
))]
pub async fn exchange(
    State(state): State<AppState>,
    Json(request): Json<ExchangeToken>,
) -> ApiResult<(StatusCode, axum::Json<ExchangedToken>)> {
    let trusts = state.store.trusts().await?;
    if trusts.is_empty() {
        return Err(ApiError::Unauthorized(
            "this server trusts no CI workload: add a [[trust]] policy to ferry.toml and apply it"
                .into(),
        ));
    }
    let now = Utc::now();
    let verified = state
        .oidc
        .verify(request.token.trim(), &trusts, now.timestamp())
        .await
        .map_err(|error| {
            tracing::warn!(%error, "an OIDC token exchange was refused");
            ApiError::Unauthorized(error.to_string())
        })?;
    let lifetime = chrono::Duration::minutes(i64::from(verified.trust.ttl()));
    let expires_at: DateTime<Utc> = now + lifetime;
    let secret = Secret::generate_with_prefix(WORKLOAD_TOKEN_PREFIX)?;
    let record = state
        .store
        .create_workload_token(&NewWorkloadToken {
            issuer: &verified.issuer,
            subject: &verified.subject,
            grants: &verified.trust.grants,
            prefix: &secret.secret[..WORKLOAD_TOKEN_PREFIX.len() + 6],
            secret_hash: &secret.hash,
            expires_at,
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(ExchangedToken {
            secret: secret.secret,
            expires_at: record.expires_at,
            issuer: record.issuer,
            subject: record.subject,
            grants: record.grants,
        }),
    ))
}
