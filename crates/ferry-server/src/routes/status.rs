//! The environment × service matrix.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ferry_api::Status;

use crate::authorize::Reader;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Which version of each service is in each environment, and what is under way.
///
/// The answer carries an `ETag`: a request with `If-None-Match` naming it
/// gets `304 Not Modified` while nothing changed. It is gzipped for a
/// client that accepts it (`Accept-Encoding: gzip`).
#[utoipa::path(get, path = "/api/v1/status", tag = "deployments", security(("bearer" = [])), responses(
    (status = 200, body = Status),
    (status = 304, description = "Nothing changed since the answer whose ETag If-None-Match names")
))]
pub async fn status(
    State(state): State<AppState>,
    _reader: Reader,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let written = crate::overview::status_json(&state).await?;
    let etag = HeaderValue::from_str(&written.etag)
        .map_err(|error| ApiError::Internal(format!("the status's ETag: {error}")))?;
    let vary = (header::VARY, HeaderValue::from_static("accept-encoding"));
    if matches_etag(&headers, &written.etag) {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag), vary]).into_response());
    }
    let json = (
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if accepts_gzip(&headers) {
        let gzip = (header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        let headers = [json, gzip, (header::ETAG, etag), vary];
        return Ok((headers, written.gzip.clone()).into_response());
    }
    Ok(([json, (header::ETAG, etag), vary], written.json.clone()).into_response())
}

/// Whether `If-None-Match` names `etag` (or is `*`).
fn matches_etag(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == etag || tag == "*")
}

/// Whether `Accept-Encoding` takes gzip (named or `*`, and not with `q=0`).
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|coding| {
            let mut parts = coding.split(';').map(|part| part.replace(' ', ""));
            let name = parts.next().unwrap_or_default();
            let refused = parts.any(|part| {
                part.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q == 0.0)
            });
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}
