//! The one error type of the API, and how each kind is shown to a client:
//! RFC 9457 problem details with a stable `type`, an explicit status, and a
//! sentence that says what was wrong and what is expected. Internal failures
//! are logged with their cause and shown only as a generic message with an id
//! to find that log line.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ferry_api::{PROBLEM_JSON, PROBLEM_TYPE_PREFIX, Problem};
use ferry_store::StoreError;

/// An error a handler returns.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is malformed: its JSON, a parameter, a name or a version.
    #[error("{0}")]
    BadRequest(String),
    /// The request body is not JSON, or not JSON of the expected shape.
    #[error("{0}")]
    InvalidJson(String),
    /// No valid token was sent.
    #[error("{0}")]
    Unauthorized(String),
    /// The caller may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// The resource does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The method is not offered on this path.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// The request conflicts with what exists (a duplicate).
    #[error("{0}")]
    Conflict(String),
    /// The request is well-formed but breaks a rule.
    #[error("{0}")]
    Unprocessable(String),
    /// A gate refuses the promotion; every blocker is listed.
    #[error("{detail}")]
    GateBlocked {
        /// The sentence.
        detail: String,
        /// The blockers, each with how to clear it.
        blockers: Vec<ferry_api::Finding>,
    },
    /// The `Idempotency-Key` was used before for another request (another
    /// method, path or body).
    #[error("{0}")]
    IdempotencyKeyReused(String),
    /// The request with this `Idempotency-Key` is still being processed.
    #[error("{0}")]
    IdempotencyKeyInProgress(String),
    /// The body is larger than allowed.
    #[error("{0}")]
    TooLarge(String),
    /// The request's path and query are longer than the server reads.
    #[error("{0}")]
    UriTooLong(String),
    /// The request's head is larger than the server reads.
    #[error("{0}")]
    HeadersTooLarge(String),
    /// The body is not of a media type the endpoint takes.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The thing asked for is recorded but not stored by ferry.
    #[error("{0}")]
    NotStored(String),
    /// The server is not ready (database unreachable).
    #[error("{0}")]
    Unavailable(String),
    /// The server's disk is full: nothing was saved.
    #[error("{0}")]
    InsufficientStorage(String),
    /// Something failed inside the server.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad-request", "Bad request"),
            ApiError::InvalidJson(_) => {
                (StatusCode::BAD_REQUEST, "invalid-json", "Invalid JSON body")
            }
            ApiError::Unauthorized(_) => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Authentication required",
            ),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", "Forbidden"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not-found", "Not found"),
            ApiError::MethodNotAllowed(_) => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
            ),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict", "Conflict"),
            ApiError::Unprocessable(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                "The request breaks a rule",
            ),
            ApiError::GateBlocked { .. } => {
                (StatusCode::CONFLICT, "gate-blocked", "Refused by a gate")
            }
            ApiError::IdempotencyKeyReused(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency-key-reused",
                "The Idempotency-Key was used for another request",
            ),
            ApiError::IdempotencyKeyInProgress(_) => (
                StatusCode::CONFLICT,
                "idempotency-key-in-progress",
                "A request with this Idempotency-Key is still being processed",
            ),
            ApiError::TooLarge(_) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-large",
                "Payload too large",
            ),
            ApiError::UriTooLong(_) => (StatusCode::URI_TOO_LONG, "uri-too-long", "URI too long"),
            ApiError::HeadersTooLarge(_) => (
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "headers-too-large",
                "Request header fields too large",
            ),
            ApiError::UnsupportedMediaType(_) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
            ),
            ApiError::NotStored(_) => (StatusCode::CONFLICT, "not-stored", "Not stored by ferry"),
            ApiError::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Service unavailable",
            ),
            ApiError::InsufficientStorage(_) => (
                StatusCode::INSUFFICIENT_STORAGE,
                "insufficient-storage",
                "Insufficient storage",
            ),
            ApiError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal server error",
            ),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound(message) => ApiError::NotFound(message),
            StoreError::Conflict(message) => ApiError::Conflict(message),
            StoreError::Invalid(message) => ApiError::Unprocessable(message),
            StoreError::StorageFull { cause } => {
                tracing::warn!(%cause, "a write failed: the disk is full");
                ApiError::InsufficientStorage(ferry_store::STORAGE_FULL.to_owned())
            }
            unreachable if unreachable.is_unavailable() => {
                tracing::warn!(cause = %unreachable, "the database cannot be reached");
                ApiError::Unavailable(DATABASE_UNAVAILABLE.to_owned())
            }
            other => ApiError::Internal(other.to_string()),
        }
    }
}

/// What a client is told when the database cannot be reached.
const DATABASE_UNAVAILABLE: &str = "the server cannot reach its database at the moment; \
     try the request again shortly";

/// Numbers internal errors so a client's report can be matched to the log.
static INCIDENTS: AtomicU64 = AtomicU64::new(1);

impl ApiError {
    /// Its status and the problem document that says it.
    pub(crate) fn into_problem(self) -> (StatusCode, Problem) {
        let (status, slug, title) = self.parts();
        let (detail, request_id) = match &self {
            ApiError::Internal(cause) => {
                let id = format!(
                    "{:x}-{}",
                    std::process::id(),
                    INCIDENTS.fetch_add(1, Ordering::Relaxed)
                );
                tracing::error!(error.id = %id, %cause, "internal error");
                (
                    format!(
                        "the server failed to handle the request; quote error id {id} to its operator"
                    ),
                    Some(id),
                )
            }
            other => (other.to_string(), None),
        };
        let problem = Problem {
            kind: format!("{PROBLEM_TYPE_PREFIX}{slug}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail,
            request_id,
            blockers: match self {
                ApiError::GateBlocked { blockers, .. } => blockers,
                _ => Vec::new(),
            },
        };
        (status, problem)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, problem) = self.into_problem();
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (status, body).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// A handler result.
pub type ApiResult<T> = Result<T, ApiError>;
