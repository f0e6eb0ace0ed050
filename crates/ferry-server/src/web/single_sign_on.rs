//! Signing in with the organisation's OpenID Connect provider, in the
//! browser: `GET /login/oidc` sends it to the provider, and the provider
//! sends it back to `GET /login/oidc/callback` with a code.
//!
//! While the browser is at the provider, the cookie `ferry_oidc` (HttpOnly,
//! `SameSite=Lax` so that the provider's redirect back carries it, ten
//! minutes) holds the sign-in under way: its `state`, `nonce` and PKCE
//! verifier. The callback is accepted only with that cookie and the same
//! `state`, so nobody can sign a browser in with a code of their own
//! (login CSRF); the cookie is removed once used.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Duration;
use serde::Deserialize;

use super::session::{self, SameSite, cookie, same_token};
use super::sign_in::{local_path, sign_in_page, signed_in};
use crate::single_sign_on::{self as sso, Pending, SsoError};
use crate::state::AppState;

/// The cookie that holds the sign-in under way.
const PENDING_COOKIE: &str = "ferry_oidc";

/// How long a sign-in at the provider may take.
const PENDING_FOR: Duration = Duration::minutes(10);

/// `?next=` of `GET /login/oidc`.
#[derive(Debug, Deserialize)]
pub struct Start {
    next: Option<String>,
}

/// `GET /login/oidc`: off to the provider.
pub async fn start(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<Start>,
) -> Response {
    let next = local_path(query.next.as_deref().unwrap_or("/"));
    match sso::start(&state, &origin(&headers), &next).await {
        Ok((url, pending)) => {
            let mut response = Redirect::to(&url).into_response();
            response.headers_mut().append(
                header::SET_COOKIE,
                session::set_cookie(
                    &headers,
                    PENDING_COOKIE,
                    &pending.encode(),
                    PENDING_FOR,
                    SameSite::Lax,
                ),
            );
            response
        }
        Err(error) => refused(&state, &headers, &next, &error).await,
    }
}

/// What the provider sends back: a code, or an error; and the state.
#[derive(Debug, Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `GET /login/oidc/callback`: back from the provider.
pub async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(answer): Query<Callback>,
) -> Response {
    let pending = cookie(&headers, PENDING_COOKIE).and_then(Pending::decode);
    let Some(pending) = pending.filter(|pending| {
        answer
            .state
            .as_deref()
            .is_some_and(|sent| same_token(&pending.state, sent))
    }) else {
        let error = SsoError::Refused(
            "This sign-in did not start in this browser, or took longer than ten minutes: \
             sign in again."
                .to_owned(),
        );
        return forget(refused(&state, &headers, "/", &error).await, &headers);
    };
    let code = match (answer.code, answer.error) {
        (Some(code), None) => code,
        (_, error) => {
            let why = answer
                .error_description
                .or(error)
                .unwrap_or_else(|| "it sent no code".to_owned());
            let error = SsoError::Refused(format!("The provider did not sign you in: {why}."));
            return forget(
                refused(&state, &headers, &pending.next, &error).await,
                &headers,
            );
        }
    };
    let response = match sso::finish(&state, &pending, &code, &origin(&headers)).await {
        Ok(user) => {
            tracing::info!(user = %user.name, "signed in with the OpenID Connect provider");
            signed_in(&state, &headers, &user, &pending.next).await
        }
        Err(error) => refused(&state, &headers, &pending.next, &error).await,
    };
    forget(response, &headers)
}

/// The sign-in page saying why `error` kept the person out.
async fn refused(state: &AppState, headers: &HeaderMap, next: &str, error: &SsoError) -> Response {
    let status = match error {
        SsoError::NotConfigured => StatusCode::NOT_FOUND,
        SsoError::Provider(_) => StatusCode::BAD_GATEWAY,
        SsoError::Refused(_) => StatusCode::FORBIDDEN,
        SsoError::Secret(_) | SsoError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    match error {
        SsoError::Refused(_) => tracing::info!(%error, "an OpenID Connect sign-in was refused"),
        _ => tracing::warn!(%error, "an OpenID Connect sign-in failed"),
    }
    let mut message = error.to_string();
    if let Some(first) = message.get(..1) {
        message = format!("{}{}", first.to_uppercase(), &message[1..]);
    }
    if !message.ends_with('.') {
        message.push('.');
    }
    sign_in_page(state, headers, status, next, "", (Some(message), None)).await
}

/// `response` with the sign-in cookie removed.
fn forget(mut response: Response, headers: &HeaderMap) -> Response {
    response.headers_mut().append(
        header::SET_COOKIE,
        session::set_cookie(headers, PENDING_COOKIE, "", Duration::zero(), SameSite::Lax),
    );
    response
}

/// The address the browser used, such as `https://ferry.example.com`: the
/// `Host` it sent, over HTTPS when a proxy says so.
fn origin(headers: &HeaderMap) -> String {
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"));
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("localhost");
    format!("{}://{host}", if https { "https" } else { "http" })
}
