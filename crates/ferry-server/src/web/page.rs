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
    /// The signed-in person, if any.
    pub user: Option<String>,
    /// The session's CSRF token, for the forms of the page.
    pub csrf_token: String,
}

impl Frame {
    /// The frame of a page nobody is signed in to.
    pub fn signed_out() -> Self {
        Self {
            stylesheet: assets::stylesheet(),
            user: None,
            csrf_token: String::new(),
        }
    }

    /// The frame of a page `viewer` is looking at.
    pub fn of(viewer: &Viewer) -> Self {
        Self {
            stylesheet: assets::stylesheet(),
            user: Some(viewer.user.name.clone()),
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
