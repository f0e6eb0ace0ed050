//! Extractors whose rejections are problem details, not axum's plain text.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON body; unknown fields and wrong types are a 400 that names them.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(Json(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType(
            "the body must be JSON, sent with Content-Type: application/json".into(),
        ),
        other if other.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::TooLarge(format!(
                "the body is larger than the {} MiB a JSON request may have",
                crate::JSON_BODY_LIMIT >> 20
            ))
        }
        JsonRejection::JsonSyntaxError(error) => ApiError::InvalidJson(format!(
            "the body is not valid JSON: {}",
            source_text(&error)
        )),
        JsonRejection::JsonDataError(error) => ApiError::InvalidJson(format!(
            "the body does not have the expected shape: {}",
            source_text(&error)
        )),
        other => ApiError::InvalidJson(other.body_text()),
    }
}

/// The innermost cause, which is serde's sentence with line and column.
fn source_text(error: &dyn std::error::Error) -> String {
    let mut current = error;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}

/// Query parameters; unknown or malformed ones are a 400 that names them.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Query(value)),
            Err(QueryRejection::FailedToDeserializeQueryString(error)) => Err(
                ApiError::BadRequest(format!("invalid query parameters: {}", source_text(&error))),
            ),
            Err(other) => Err(ApiError::BadRequest(other.body_text())),
        }
    }
}

/// Path parameters; one that is not valid UTF-8 or not of the expected form
/// is a 400 problem that says so (axum's own rejection is plain text).
#[derive(Debug)]
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(PathRejection::FailedToDeserializePathParams(error)) => Err(ApiError::BadRequest(
                format!("invalid path: {}", source_text(&error)),
            )),
            Err(other) => Err(ApiError::BadRequest(format!(
                "invalid path: {}",
                other.body_text()
            ))),
        }
    }
}
