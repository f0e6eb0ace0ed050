//! A form posted from one of this session's pages: the one way every
//! signed-in page's form reaches its handler.
//!
//! [`Posted`] is the handler's last extractor (it reads the body): it finds
//! the signed-in [`Viewer`] (a browser without a session is sent to sign
//! in), reads the form, and checks that its CSRF token is the session's, in
//! constant time. A form that cannot be read gets a 400 page, one whose
//! token is not the session's a 403 page; either way nothing is done.

use axum::extract::{Form, FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::page::{Frame, error_page};
use super::session::{Viewer, same_token};
use crate::state::AppState;

/// A form that carries the session's CSRF token.
pub trait Protected {
    /// The token the form carried.
    fn csrf(&self) -> &str;
}

/// A form with nothing but its CSRF token: a button's.
#[derive(Debug, Deserialize)]
pub struct Button {
    csrf: String,
}

impl Protected for Button {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// Who posted `form`, from one of their session's pages.
pub struct Posted<T> {
    /// Who.
    pub viewer: Viewer,
    /// The form.
    pub form: T,
}

impl<T> FromRequest<AppState> for Posted<T>
where
    T: DeserializeOwned + Protected + Send,
{
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let viewer = Viewer::from_request_parts(&mut parts, state).await?;
        let request = Request::from_parts(parts, body);
        let form = match Form::<T>::from_request(request, state).await {
            Ok(Form(form)) => form,
            Err(rejection) => {
                return Err(error_page(
                    StatusCode::BAD_REQUEST,
                    Frame::of(&viewer),
                    &format!("The form could not be read: {rejection}"),
                ));
            }
        };
        if !same_token(&viewer.csrf_token, form.csrf()) {
            return Err(error_page(
                StatusCode::FORBIDDEN,
                Frame::of(&viewer),
                "The form did not come from this session's page: nothing was done. \
                 Reload the page and try again.",
            )
            .into_response());
        }
        Ok(Posted { viewer, form })
    }
}
