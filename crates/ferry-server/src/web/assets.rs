//! The files pages load: one stylesheet, embedded in the binary and served
//! under a name that holds a digest of its content, so browsers may keep it
//! for a year and still load a new one after an upgrade.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::error::ApiError;

const STYLESHEET: &str = include_str!("../../assets/ferry.css");

/// The stylesheet's file name: `ferry.<digest>.css`.
static STYLESHEET_NAME: LazyLock<String> = LazyLock::new(|| {
    let digest = hex::encode(Sha256::digest(STYLESHEET.as_bytes()));
    format!("ferry.{}.css", &digest[..12])
});

/// The stylesheet's address.
static STYLESHEET_PATH: LazyLock<String> =
    LazyLock::new(|| format!("/assets/{}", *STYLESHEET_NAME));

/// The stylesheet's address, for pages.
pub fn stylesheet() -> &'static str {
    &STYLESHEET_PATH
}

/// `GET /assets/{file}`.
pub async fn serve(Path(file): Path<String>) -> Response {
    if file != *STYLESHEET_NAME {
        return ApiError::NotFound(format!("no asset {file:?}")).into_response();
    }
    let mut response = STYLESHEET.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    response
}
