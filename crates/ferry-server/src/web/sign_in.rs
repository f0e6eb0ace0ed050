//! Signing in with a password, and out.
//!
//! The sign-in form is protected against cross-site request forgery before
//! any session exists: `GET /login` sets a short-lived `SameSite=Strict`
//! cookie holding a random token that the form repeats, and `POST /login`
//! accepts the form only when both agree. A wrong user name and a wrong
//! password get the same answer, in the same time.

use askama::Template;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Duration;
use ferry_store::auth::UserRecord;
use ferry_store::sessions::NewSession;
use serde::Deserialize;

use super::page::{self, Frame};
use super::posted::{Button, Posted};
use super::session::{self, SESSION_COOKIE, SameSite, cookie, random_token, same_token};
use crate::auth::hash_secret;
use crate::error::ApiError;
use crate::passwords;
use crate::state::AppState;

/// The cookie that carries the sign-in form's CSRF token.
const SIGN_IN_COOKIE: &str = "ferry_sign_in";

#[derive(Template)]
#[template(path = "login.html")]
struct SignInPage {
    frame: Frame,
    csrf: String,
    next: String,
    username: String,
    error: Option<String>,
    notice: Option<String>,
    /// The single sign-on button's words, when `[oidc]` is set up.
    sso: Option<String>,
}

/// Where to go after signing in, and whether a password was just set.
#[derive(Debug, Deserialize)]
pub struct Next {
    next: Option<String>,
    #[serde(default)]
    welcome: Option<String>,
}

/// `GET /login`: the sign-in form.
pub async fn form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<Next>,
) -> Response {
    let next = local_path(query.next.as_deref().unwrap_or("/"));
    let notice = query
        .welcome
        .map(|_| "Your password is set: sign in with it.".to_owned());
    sign_in_page(&state, &headers, StatusCode::OK, &next, "", (None, notice)).await
}

/// The sign-in form with a fresh CSRF token (and its cookie), and the
/// single sign-on button when it is set up.
pub(super) async fn sign_in_page(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    next: &str,
    username: &str,
    (error, notice): (Option<String>, Option<String>),
) -> Response {
    let csrf = match random_token() {
        Ok(token) => token,
        Err(error) => return error.into_response(),
    };
    // A database that cannot say only hides the button; the form works.
    let sso = crate::single_sign_on::settings(state)
        .await
        .ok()
        .flatten()
        .map(|spec| spec.button());
    let page = SignInPage {
        frame: Frame::signed_out(),
        csrf: csrf.clone(),
        next: next.to_owned(),
        username: username.to_owned(),
        error,
        notice,
        sso,
    };
    let mut response = page::send(status, &page);
    response.headers_mut().append(
        header::SET_COOKIE,
        session::set_cookie(
            headers,
            SIGN_IN_COOKIE,
            &csrf,
            Duration::hours(1),
            SameSite::Strict,
        ),
    );
    response
}

/// The sign-in form as sent.
#[derive(Debug, Deserialize)]
pub struct SignIn {
    username: String,
    password: String,
    csrf: String,
    #[serde(default)]
    next: String,
}

/// `POST /login`: checks the password and starts a session.
pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<SignIn>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return sign_in_page(
            &state,
            &headers,
            StatusCode::BAD_REQUEST,
            "/",
            "",
            (
                Some("The form was incomplete: fill in your user name and password.".to_owned()),
                None,
            ),
        )
        .await;
    };
    let next = local_path(&form.next);
    let expected = cookie(&headers, SIGN_IN_COOKIE).unwrap_or_default();
    if expected.is_empty() || !same_token(expected, &form.csrf) {
        return sign_in_page(
            &state,
            &headers,
            StatusCode::BAD_REQUEST,
            &next,
            &form.username,
            (
                Some("The sign-in form had expired: sign in again.".to_owned()),
                None,
            ),
        )
        .await;
    }
    let username = form.username.trim();
    if let Some(wait) = state.sign_in_throttle.wait_for(username) {
        let minutes = wait.as_secs().div_ceil(60);
        return sign_in_page(
            &state,
            &headers,
            StatusCode::TOO_MANY_REQUESTS,
            &next,
            username,
            (
                Some(format!(
                    "Too many failed sign-ins for this user: try again in {minutes} minutes."
                )),
                None,
            ),
        )
        .await;
    }
    let found = match state.store.password_user(username).await {
        Ok(found) => found,
        Err(error) => return ApiError::from(error).into_response(),
    };
    let (user, hash) = match found {
        Some(found) if found.user.disabled_at.is_none() => (Some(found.user), found.password_hash),
        _ => (None, None),
    };
    let matches = passwords::verify(form.password, hash).await;
    let Some(user) = user.filter(|_| matches) else {
        state.sign_in_throttle.failed(username);
        tracing::info!(user = %username, "a web sign-in failed");
        return sign_in_page(
            &state,
            &headers,
            StatusCode::UNAUTHORIZED,
            &next,
            username,
            (Some("Wrong user name or password.".to_owned()), None),
        )
        .await;
    };
    state.sign_in_throttle.succeeded(username);
    let mut response = signed_in(&state, &headers, &user, &next).await;
    response.headers_mut().append(
        header::SET_COOKIE,
        session::set_cookie(
            &headers,
            SIGN_IN_COOKIE,
            "",
            Duration::zero(),
            SameSite::Strict,
        ),
    );
    response
}

/// Starts a session for `user`, who has just proved who they are, and
/// sends the browser on to `next` (a path of this server) with its cookie.
pub(super) async fn signed_in(
    state: &AppState,
    headers: &HeaderMap,
    user: &UserRecord,
    next: &str,
) -> Response {
    let (secret, csrf) = match (random_token(), random_token()) {
        (Ok(secret), Ok(csrf)) => (secret, csrf),
        (Err(error), _) | (_, Err(error)) => return error.into_response(),
    };
    let new = NewSession {
        secret_hash: &hash_secret(&secret),
        csrf_token: &csrf,
        idle: state.sessions.idle,
        lifetime: state.sessions.lifetime,
    };
    if let Err(error) = state.store.start_session(user, new).await {
        return ApiError::from(error).into_response();
    }
    let mut response = Redirect::to(next).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        session::set_cookie(
            headers,
            SESSION_COOKIE,
            &secret,
            state.sessions.lifetime,
            SameSite::Lax,
        ),
    );
    response
}

/// `POST /logout`: ends the session.
pub async fn sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
    Posted { viewer, .. }: Posted<Button>,
) -> Response {
    if let Err(error) = state
        .store
        .end_session(&viewer.user.name, viewer.session_id)
        .await
    {
        return ApiError::from(error).into_response();
    }
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        session::set_cookie(
            &headers,
            SESSION_COOKIE,
            "",
            Duration::zero(),
            SameSite::Lax,
        ),
    );
    response
}

/// `next` when it is a path of this server; `/` otherwise (never another
/// site: `//host` and `/\host` are other sites to a browser).
pub(super) fn local_path(next: &str) -> String {
    let local = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.chars().any(char::is_control);
    if local {
        next.to_owned()
    } else {
        "/".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn only_paths_of_this_server_are_followed_after_signing_in() {
        assert_eq!(local_path("/deployments/4?x=1"), "/deployments/4?x=1");
        for elsewhere in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "",
            "/\n",
        ] {
            assert_eq!(local_path(elsewhere), "/", "{elsewhere:?}");
        }
    }
}
