//! Artifact bytes: content-addressed uploads (`/api/v1/blobs/{digest}`) and
//! downloads of a release's artifacts with their digest in the headers.
//!
//! A release is created in one request that names its artifacts by digest,
//! so the bytes are uploaded first; an upload of bytes the server already has
//! is answered at once (a client asks with HEAD and skips it).

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use ferry_api::{BlobUploaded, Problem};
use ferry_core::digest::Digest;
use ferry_store::blobs::BlobError;
use ferry_store::releases::ReleaseRecord;

use crate::auth::Caller;
use crate::authorize::Reader;
use crate::convert::{name, version};
use crate::error::{ApiError, ApiResult};
use crate::extract::Path;
use crate::state::AppState;
use ferry_core::access::Action;

fn digest(text: &str) -> Result<Digest, ApiError> {
    Digest::parse(text).map_err(ApiError::BadRequest)
}

/// Uploads bytes under their digest. The body's SHA-256 must match.
#[utoipa::path(put, path = "/api/v1/blobs/{digest}", tag = "releases", security(("bearer" = [])),
    params(("digest" = ferry_core::digest::Digest, Path, description = "sha256:<hex> of the body")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses(
        (status = 201, description = "Stored", body = BlobUploaded),
        (status = 200, description = "Stored already", body = BlobUploaded),
        (status = 400, description = "The body does not have that digest", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "No grant allows creating releases", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Larger than the server allows", body = Problem, content_type = "application/problem+json")
    ))]
pub async fn put_blob(
    State(state): State<AppState>,
    caller: Caller,
    Path(text): Path<String>,
    request: Request,
) -> ApiResult<(StatusCode, axum::Json<BlobUploaded>)> {
    caller
        .require_somewhere(&state, Action::CreateRelease)
        .await?;
    let digest = digest(&text)?;
    // Kept: it is about to be named in a release (the sweep spares it).
    if let Some(size) = state.blobs.size_kept(&digest).await {
        return Ok((
            StatusCode::OK,
            axum::Json(BlobUploaded {
                digest: digest.to_string(),
                size,
            }),
        ));
    }
    let mut stream = request.into_body().into_data_stream();
    let stored = state
        .blobs
        .put(&digest, &mut stream, state.max_artifact_bytes)
        .await;
    if stored.is_err() {
        drain(&mut stream).await;
    }
    let size = stored.map_err(|error| match error {
        BlobError::Mismatch { .. } => ApiError::Unprocessable(error.to_string()),
        BlobError::TooLarge { .. } => ApiError::TooLarge(format!(
            "{error}; the server's limit is set with --max-artifact-bytes"
        )),
        BlobError::Body(_) => ApiError::BadRequest(error.to_string()),
        BlobError::StorageFull(cause) => {
            tracing::warn!(%digest, %cause, "an upload failed: the disk is full");
            ApiError::InsufficientStorage(
                "the server's disk is full, so the upload was not stored; its operator must \
                     free space on the disk of its data directory, then the upload can be tried \
                     again"
                    .to_owned(),
            )
        }
        BlobError::Io(_) => ApiError::Internal(error.to_string()),
    })?;
    tracing::info!(%digest, size, "artifact stored");
    Ok((
        StatusCode::CREATED,
        axum::Json(BlobUploaded {
            digest: digest.to_string(),
            size,
        }),
    ))
}

/// The most of a refused upload's body read (and thrown away) before the
/// answer, so that the client, still sending, reads the answer instead of a
/// connection reset.
const DRAIN_BYTES: u64 = 16 << 20;

/// How long a refused upload's body is read at most before the answer.
const DRAIN_FOR: std::time::Duration = std::time::Duration::from_secs(10);

/// Reads what is left of a refused upload (up to [`DRAIN_BYTES`] and
/// [`DRAIN_FOR`]). A server that answers while its client is still sending
/// and closes the connection makes the client's next write fail: the client
/// then sees a broken connection, not why its upload was refused.
async fn drain(stream: &mut axum::body::BodyDataStream) {
    use futures_util::StreamExt as _;
    let mut left = DRAIN_BYTES;
    let read = async {
        while let Some(Ok(chunk)) = stream.next().await {
            match left.checked_sub(chunk.len() as u64) {
                Some(rest) => left = rest,
                None => break,
            }
        }
    };
    let _ = tokio::time::timeout(DRAIN_FOR, read).await;
}

/// Whether bytes with this digest are stored (200 with their size) or not (404).
#[utoipa::path(head, path = "/api/v1/blobs/{digest}", tag = "releases", security(("bearer" = [])),
    params(("digest" = ferry_core::digest::Digest, Path, description = "sha256:<hex>")),
    responses((status = 200, description = "Stored; Content-Length is the size"), (status = 404, description = "Not stored")))]
pub async fn head_blob(
    State(state): State<AppState>,
    _reader: Reader,
    Path(text): Path<String>,
) -> ApiResult<Response> {
    let digest = digest(&text)?;
    // Asked before naming it in a release: kept (the sweep spares it).
    match state.blobs.size_kept(&digest).await {
        Some(size) => {
            Ok((StatusCode::OK, [(header::CONTENT_LENGTH, size.to_string())]).into_response())
        }
        None => Err(ApiError::NotFound(format!(
            "no artifact with digest {digest} is stored"
        ))),
    }
}

/// Downloads an artifact of a release, with its digest in `Repr-Digest`
/// (RFC 9530) and `Ferry-Digest` (`sha256:<hex>`).
#[utoipa::path(get, path = "/api/v1/services/{service}/releases/{version}/artifacts/{name}", tag = "releases", security(("bearer" = [])),
    params(
        ("service" = ferry_core::Name, Path, description = "The service's name"),
        ("version" = crate::openapi::Version, Path, description = "The version"),
        ("name" = String, Path, description = "The artifact's name")
    ),
    responses(
        (status = 200, description = "The artifact's bytes", content_type = "application/octet-stream"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A reference: ferry records it but does not store it", body = Problem, content_type = "application/problem+json")
    ))]
pub async fn download_artifact(
    State(state): State<AppState>,
    _reader: Reader,
    Path((service, text, artifact)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    let release = state
        .store
        .release(&name("service", &service)?, &version(&text)?)
        .await?;
    artifact_response(&state, &release, &artifact).await
}

/// The bytes of `artifact` of `release`, with its digest in the headers;
/// for users and agents alike.
pub(crate) async fn artifact_response(
    state: &AppState,
    release: &ReleaseRecord,
    artifact: &str,
) -> ApiResult<Response> {
    let found = release
        .artifacts
        .iter()
        .find(|a| a.name == artifact)
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "release {}@{} has no artifact {artifact:?}",
                release.service, release.version
            ))
        })?;
    let digest = digest(&found.digest).map_err(|e| ApiError::Internal(e.to_string()))?;
    if let Some(uri) = &found.uri {
        return Err(ApiError::NotStored(format!(
            "artifact {artifact:?} is a reference to {uri} ({digest}); ferry records it but does not store it"
        )));
    }
    let file = tokio::fs::File::open(state.blobs.path(&digest))
        .await
        .map_err(|error| {
            ApiError::Internal(format!(
                "artifact {digest} is recorded but unreadable: {error}"
            ))
        })?;
    let size = file
        .metadata()
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .len();
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    let raw = hex::decode(digest.hex()).map_err(|e| ApiError::Internal(e.to_string()))?;
    let repr = format!(
        "sha-256=:{}:",
        base64::engine::general_purpose::STANDARD.encode(raw)
    );
    for (header_name, value) in [("repr-digest", repr), ("ferry-digest", digest.to_string())] {
        let value = HeaderValue::from_str(&value).map_err(|e| ApiError::Internal(e.to_string()))?;
        headers.insert(header_name, value);
    }
    let disposition = format!("attachment; filename=\"{}\"", artifact.replace('"', ""));
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(file));
    Ok((headers, body).into_response())
}
