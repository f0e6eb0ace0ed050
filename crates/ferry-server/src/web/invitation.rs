//! An invitation's page: the person it was made for sets their web
//! password with it, once, before it expires; then they sign in.
//!
//! The form is protected against cross-site request forgery as the
//! sign-in form is: a short-lived `SameSite=Strict` cookie holds a token
//! the form repeats.

use askama::Template;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Duration;
use serde::Deserialize;

use super::page::{self, Frame, error_page};
use super::session::{self, SameSite, cookie, random_token, same_token};
use crate::auth::hash_secret;
use crate::error::ApiError;
use crate::passwords;
use crate::state::AppState;

/// The cookie that carries the form's CSRF token.
const INVITATION_COOKIE: &str = "ferry_invitation";

#[derive(Template)]
#[template(path = "invitation.html")]
struct InvitationPage {
    frame: Frame,
    user: String,
    csrf: String,
    error: Option<String>,
}

/// What a link that does not work says.
const NOT_LIVE: &str = "This invitation is unknown, used already or expired: \
     ask an administrator for another (ferry user invite NAME).";

/// `GET /invitations/{secret}`.
pub async fn form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(secret): Path<String>,
) -> Response {
    match state.store.invitation(&hash_secret(&secret)).await {
        Ok(Some(user)) => invitation_page(&headers, StatusCode::OK, &user.name, None),
        Ok(None) => error_page(StatusCode::NOT_FOUND, Frame::signed_out(), NOT_LIVE),
        Err(error) => ApiError::from(error).into_response(),
    }
}

fn invitation_page(
    headers: &HeaderMap,
    status: StatusCode,
    user: &str,
    error: Option<String>,
) -> Response {
    let csrf = match random_token() {
        Ok(token) => token,
        Err(error) => return error.into_response(),
    };
    let mut response = page::send(
        status,
        &InvitationPage {
            frame: Frame::signed_out(),
            user: user.to_owned(),
            csrf: csrf.clone(),
            error,
        },
    );
    response.headers_mut().append(
        header::SET_COOKIE,
        session::set_cookie(
            headers,
            INVITATION_COOKIE,
            &csrf,
            Duration::hours(1),
            SameSite::Strict,
        ),
    );
    response
}

/// The form as sent.
#[derive(Debug, Deserialize)]
pub struct NewPassword {
    csrf: String,
    password: String,
    again: String,
}

/// `POST /invitations/{secret}`: sets the password and uses the invitation.
pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(secret): Path<String>,
    form: Result<Form<NewPassword>, FormRejection>,
) -> Response {
    let secret_hash = hash_secret(&secret);
    let user = match state.store.invitation(&secret_hash).await {
        Ok(Some(user)) => user,
        Ok(None) => return error_page(StatusCode::NOT_FOUND, Frame::signed_out(), NOT_LIVE),
        Err(error) => return ApiError::from(error).into_response(),
    };
    let again =
        |status, message: String| invitation_page(&headers, status, &user.name, Some(message));
    let Ok(Form(form)) = form else {
        return again(
            StatusCode::BAD_REQUEST,
            "The form was incomplete: type the new password twice.".to_owned(),
        );
    };
    let expected = cookie(&headers, INVITATION_COOKIE).unwrap_or_default();
    if expected.is_empty() || !same_token(expected, &form.csrf) {
        return again(
            StatusCode::BAD_REQUEST,
            "The form had expired: type the new password again.".to_owned(),
        );
    }
    if form.password != form.again {
        return again(
            StatusCode::UNPROCESSABLE_ENTITY,
            "The two passwords differ: type the same one twice.".to_owned(),
        );
    }
    if let Err(error) = passwords::check(&form.password) {
        return again(StatusCode::UNPROCESSABLE_ENTITY, error.to_string());
    }
    let hash = match passwords::hash(form.password).await {
        Ok(hash) => hash,
        Err(error) => return error.into_response(),
    };
    match state.store.redeem_invitation(&secret_hash, &hash).await {
        Ok(Some(_)) => Redirect::to("/login?next=%2F&welcome=1").into_response(),
        Ok(None) => error_page(StatusCode::NOT_FOUND, Frame::signed_out(), NOT_LIVE),
        Err(error) => ApiError::from(error).into_response(),
    }
}
