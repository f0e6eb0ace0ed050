//! Signing in with the organisation's OpenID Connect provider: the
//! authorization code flow with PKCE (RFC 7636), for the web UI.
//!
//! [`start`] makes the address of the provider's sign-in page and the
//! [`Pending`] sign-in that the browser keeps (in a cookie) until the
//! provider sends it back; [`finish`] exchanges the code the provider gave
//! for an ID token (with the client secret and the PKCE verifier), verifies
//! it (keys, issuer, audience, expiry, nonce), reads who it names
//! (`ferry_core::sso`) and makes or updates that user.

use base64::Engine as _;
use ferry_core::sso::{SecretSource, SsoSpec};
use ferry_store::StoreError;
use ferry_store::auth::UserRecord;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::oidc::Discovery;
use crate::state::AppState;

/// A sign-in under way: what the browser keeps while it is at the provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// The `state` sent, to be sent back.
    pub state: String,
    /// The `nonce` sent, to be found in the ID token.
    pub nonce: String,
    /// The PKCE code verifier, whose hash was sent.
    pub verifier: String,
    /// Where to go once signed in.
    pub next: String,
}

impl Pending {
    /// As a cookie value (base64url JSON).
    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
    }

    /// From a cookie value; `None` when it is not one.
    pub fn decode(text: &str) -> Option<Self> {
        let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text)
            .ok()?;
        serde_json::from_slice(&json).ok()
    }
}

/// Why a sign-in with the provider did not happen; each a sentence for the
/// person signing in (the server's log has more for its operator).
#[derive(Debug, thiserror::Error)]
pub enum SsoError {
    /// No `[oidc]` was applied.
    #[error("signing in with an OpenID Connect provider is not set up on this server")]
    NotConfigured,
    /// The provider could not be reached or answered what it should not.
    #[error("the sign-in provider cannot be used now: {0}")]
    Provider(String),
    /// The server cannot read its client secret.
    #[error(
        "this server cannot read its OpenID Connect client secret ({0}); its operator must fix it"
    )]
    Secret(String),
    /// The provider's answer names nobody ferry accepts.
    #[error("{0}")]
    Refused(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The settings, the provider's discovery document, or why there are none.
async fn provider(state: &AppState) -> Result<(SsoSpec, Discovery), SsoError> {
    let spec = state
        .store
        .oidc_sign_in()
        .await?
        .ok_or(SsoError::NotConfigured)?;
    let discovery = state
        .oidc
        .discovery(&spec.issuer)
        .await
        .map_err(|error| SsoError::Provider(error.to_string()))?;
    Ok((spec, discovery))
}

/// The sign-in settings, when `[oidc]` was applied (for the sign-in page's
/// button).
pub async fn settings(state: &AppState) -> Result<Option<SsoSpec>, StoreError> {
    state.store.oidc_sign_in().await
}

/// The callback URL: the settings' `redirect_url`, else `origin` (such as
/// `https://ferry.example.com`) and the callback path.
pub fn redirect_uri(spec: &SsoSpec, origin: &str) -> String {
    spec.redirect_url
        .clone()
        .unwrap_or_else(|| format!("{origin}{}", ferry_core::sso::CALLBACK_PATH))
}

/// Where to send the browser to sign in, and the sign-in it keeps meanwhile.
pub async fn start(
    state: &AppState,
    origin: &str,
    next: &str,
) -> Result<(String, Pending), SsoError> {
    let (spec, discovery) = provider(state).await?;
    let endpoint = discovery.authorization_endpoint.as_deref().ok_or_else(|| {
        SsoError::Provider("its discovery document names no authorization_endpoint".to_owned())
    })?;
    let random = || {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)
            .map(|()| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
            .map_err(|e| SsoError::Provider(format!("no randomness for the sign-in: {e}")))
    };
    let pending = Pending {
        state: random()?,
        nonce: random()?,
        verifier: random()?,
        next: next.to_owned(),
    };
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(pending.verifier.as_bytes()));
    let scope = spec.scopes.join(" ");
    let url = reqwest::Url::parse_with_params(
        endpoint,
        [
            ("response_type", "code"),
            ("client_id", spec.client_id.as_str()),
            ("redirect_uri", redirect_uri(&spec, origin).as_str()),
            ("scope", scope.as_str()),
            ("state", pending.state.as_str()),
            ("nonce", pending.nonce.as_str()),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ],
    )
    .map_err(|e| SsoError::Provider(format!("its authorization_endpoint {endpoint:?}: {e}")))?;
    Ok((url.into(), pending))
}

/// The token endpoint's answer, as far as ferry reads it.
#[derive(Deserialize)]
struct TokenAnswer {
    id_token: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// Signs in the person the provider's `code` stands for: the user, made or
/// updated. The caller has checked that the provider sent back the
/// `pending` sign-in's state.
pub async fn finish(
    state: &AppState,
    pending: &Pending,
    code: &str,
    origin: &str,
) -> Result<UserRecord, SsoError> {
    let (spec, discovery) = provider(state).await?;
    let endpoint = discovery.token_endpoint.as_deref().ok_or_else(|| {
        SsoError::Provider("its discovery document names no token_endpoint".to_owned())
    })?;
    let secret = client_secret(&spec)?;
    // client_secret_basic: id and secret form-encoded, then base64 (RFC
    // 6749 §2.3.1).
    let encode = crate::web::percent_encode;
    let response = state
        .oidc
        .client()
        .post(endpoint)
        .basic_auth(encode(&spec.client_id), Some(encode(&secret)))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri(&spec, origin).as_str()),
            ("code_verifier", pending.verifier.as_str()),
        ])
        .send()
        .await
        .map_err(|e| SsoError::Provider(format!("its token endpoint: {}", e.without_url())))?;
    let status = response.status();
    let answer: TokenAnswer = response.json().await.map_err(|e| {
        SsoError::Provider(format!(
            "its token endpoint answered HTTP {status} without the JSON expected: {}",
            e.without_url()
        ))
    })?;
    let id_token = match (answer.id_token, answer.error) {
        (Some(token), None) if status.is_success() => token,
        (_, error) => {
            let error = error.unwrap_or_else(|| format!("HTTP {status}"));
            let detail = answer
                .error_description
                .map(|d| format!(": {d}"))
                .unwrap_or_default();
            return Err(SsoError::Provider(format!(
                "its token endpoint refused the code ({error}{detail})"
            )));
        }
    };
    let now = chrono::Utc::now().timestamp();
    let claims = state
        .oidc
        .verify_id_token(&id_token, &discovery, &spec.client_id, &pending.nonce, now)
        .await
        .map_err(|error| SsoError::Provider(format!("its ID token was refused: {error}")))?;
    let identity = spec.identity(&claims).map_err(SsoError::Refused)?;
    let user = state
        .store
        .provider_user(&identity, &spec.managed_groups())
        .await
        .map_err(|error| match error {
            StoreError::Conflict(reason) => SsoError::Refused(reason),
            other => SsoError::Store(other),
        })?;
    if user.disabled_at.is_some() {
        return Err(SsoError::Refused(format!(
            "the ferry user {:?} is disabled; an administrator may enable them",
            user.name
        )));
    }
    Ok(user)
}

/// The client secret, read now from where the settings say.
fn client_secret(spec: &SsoSpec) -> Result<String, SsoError> {
    let secret = match spec.secret_source() {
        Some(SecretSource::File(path)) => std::fs::read_to_string(path)
            .map_err(|e| SsoError::Secret(format!("file {path}: {e}")))?,
        Some(SecretSource::Env(variable)) => std::env::var(variable)
            .map_err(|e| SsoError::Secret(format!("environment variable {variable}: {e}")))?,
        None => return Err(SsoError::Secret("none is configured".to_owned())),
    };
    let secret = secret.trim().to_owned();
    if secret.is_empty() {
        return Err(SsoError::Secret("it is empty".to_owned()));
    }
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pending_sign_in_survives_its_cookie() {
        let pending = Pending {
            state: "s".into(),
            nonce: "n".into(),
            verifier: "v".into(),
            next: "/deployments/4?x=1".into(),
        };
        assert_eq!(Pending::decode(&pending.encode()), Some(pending));
        assert_eq!(Pending::decode("not a cookie"), None);
    }
}
