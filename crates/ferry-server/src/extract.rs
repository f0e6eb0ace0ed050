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
        let axum::Json(mut value) = axum::Json::<serde_json::Value>::from_request(request, state)
            .await
            .map_err(json_rejection)?;
        // Every body of the API is an object: serde would also read a
        // struct from an array of its fields in order, which no client
        // means.
        if !value.is_object() {
            let kind = match &value {
                serde_json::Value::Array(_) => "an array",
                serde_json::Value::String(_) => "a string",
                serde_json::Value::Number(_) => "a number",
                serde_json::Value::Bool(_) => "a boolean",
                _ => "null",
            };
            return Err(ApiError::InvalidJson(format!(
                "the body must be a JSON object ({{ ... }}), not {kind}"
            )));
        }
        whole_numbers(&mut value);
        serde_path_to_error::deserialize(value)
            .map(Json)
            .map_err(|error| {
                ApiError::InvalidJson(format!(
                    "the body does not have the expected shape: {error}"
                ))
            })
    }
}

/// JSON has one kind of number: `3.0` is the whole number 3 (JSON Schema
/// says so too), though serde refuses it where an integer is expected. Whole
/// numbers written with a fraction are read as integers.
fn whole_numbers(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Number(number) => {
            if let Some(float) = number.as_f64().filter(|_| number.is_f64())
                && float.fract() == 0.0
                && float.abs() < 9_007_199_254_740_992.0
            {
                // Exact below 2^53, so the conversion loses nothing.
                *number = serde_json::Number::from(float as i64);
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(whole_numbers),
        serde_json::Value::Object(map) => map.values_mut().for_each(whole_numbers),
        _ => {}
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType(
            "the body must be JSON, sent with Content-Type: application/json".into(),
        ),
        other if other.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => body_too_large(),
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

/// The refusal of a JSON request's body over [`crate::JSON_BODY_LIMIT`].
pub(crate) fn body_too_large() -> ApiError {
    ApiError::TooLarge(format!(
        "the body is larger than the {} MiB a JSON request may have",
        crate::JSON_BODY_LIMIT >> 20
    ))
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
