//! What every page shares: the frame around it (the stylesheet, who is
//! signed in, the sign-out form with its CSRF token) and how it is sent.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::assets;
use super::session::Viewer;
use crate::error::ApiError;

/// The frame of a page.
#[derive(Debug, Clone)]
pub struct Frame {
    /// The stylesheet's address (its name changes with its content).
    pub stylesheet: &'static str,
    /// The script's address, for the pages that follow something live.
    pub script: &'static str,
    /// The signed-in person, if any.
    pub user: Option<String>,
    /// Whether they hold the admin role (the navigation offers
    /// Administration).
    pub admin: bool,
    /// The session's CSRF token, for the forms of the page.
    pub csrf_token: String,
}

impl Frame {
    /// The frame of a page nobody is signed in to.
    pub fn signed_out() -> Self {
        Self {
            stylesheet: assets::stylesheet(),
            script: assets::script(),
            user: None,
            admin: false,
            csrf_token: String::new(),
        }
    }

    /// The frame of a page `viewer` is looking at.
    pub fn of(viewer: &Viewer) -> Self {
        Self {
            stylesheet: assets::stylesheet(),
            script: assets::script(),
            user: Some(viewer.user.name.clone()),
            admin: viewer.user.admin,
            csrf_token: viewer.csrf_token.clone(),
        }
    }
}

/// Sends a rendered page with `status`: HTML, never cached (pages show who
/// is signed in and what they may see), shown in no frame of another
/// site, loading nothing but the server's own assets.
pub fn send(status: StatusCode, page: &impl Template) -> Response {
    let html = match page.render() {
        Ok(html) => html,
        Err(error) => {
            return ApiError::Internal(format!("rendering a page failed: {error}")).into_response();
        }
    };
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    frame: Frame,
    title: String,
    message: String,
}

/// A page that says what went wrong, with `status`.
pub fn error_page(status: StatusCode, frame: Frame, message: &str) -> Response {
    let title = status.canonical_reason().unwrap_or("Error").to_owned();
    send(
        status,
        &ErrorPage {
            frame,
            title,
            message: message.to_owned(),
        },
    )
}

/// A refusal of the application layer as a page: its status and its
/// sentence, each blocker with how to clear it.
pub fn refusal(viewer: &Viewer, error: ApiError) -> Response {
    let (status, problem) = error.into_problem();
    let mut message = problem.detail;
    for blocker in &problem.blockers {
        message.push_str(&format!(" — {} ({})", blocker.message, blocker.clear));
    }
    error_page(status, Frame::of(viewer), &message)
}
