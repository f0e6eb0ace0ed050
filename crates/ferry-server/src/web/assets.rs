//! The files pages load: one stylesheet and one small script, embedded in
//! the binary and served under names that hold a digest of their content,
//! so browsers may keep them for a year and still load new ones after an
//! upgrade.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::error::ApiError;

/// One embedded file.
struct Asset {
    /// Its address: `/assets/<stem>.<digest>.<extension>`.
    path: String,
    content: &'static str,
    content_type: &'static str,
}

impl Asset {
    fn new(stem: &str, extension: &str, content: &'static str, content_type: &'static str) -> Self {
        let digest = hex::encode(Sha256::digest(content.as_bytes()));
        Self {
            path: format!("/assets/{stem}.{}.{extension}", &digest[..12]),
            content,
            content_type,
        }
    }
}

static STYLESHEET: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new(
        "ferry",
        "css",
        include_str!("../../assets/ferry.css"),
        "text/css; charset=utf-8",
    )
});

static SCRIPT: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new(
        "ferry",
        "js",
        include_str!("../../assets/ferry.js"),
        "text/javascript; charset=utf-8",
    )
});

/// The stylesheet's address, for pages.
pub fn stylesheet() -> &'static str {
    &STYLESHEET.path
}

/// The script's address, for pages.
pub fn script() -> &'static str {
    &SCRIPT.path
}

/// `GET /assets/{file}`.
pub async fn serve(Path(file): Path<String>) -> Response {
    let Some(asset) = [&*STYLESHEET, &*SCRIPT]
        .into_iter()
        .find(|asset| asset.path.strip_prefix("/assets/") == Some(file.as_str()))
    else {
        return ApiError::NotFound(format!("no asset {file:?}")).into_response();
    };
    let mut response = asset.content.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    response
}
