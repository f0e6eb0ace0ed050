//! Idempotent POSTs, after the IETF httpapi draft "The Idempotency-Key HTTP
//! Header Field": a client that sends a POST with an `Idempotency-Key` may
//! send it again (its connection broke, it timed out) without the work being
//! done twice. One layer, [`layer`], does it for every POST of the API.
//!
//! Rules kept here:
//! - a key is 1 to [`MAX_KEY_CHARS`] visible ASCII characters, sent as a
//!   Structured Field string (`"…"`, as the draft says) or bare; any other
//!   value is refused (400) before anything is done;
//! - keys are scoped to the credential that sent them (an API token, a CI
//!   workload's token, an agent), so two callers never see each other's
//!   answers; a request without a valid credential is left to its handler,
//!   which refuses it;
//! - two requests are the same when their method, path (with query) and
//!   body are ([`fingerprint`]); the same key with another request is a 422
//!   problem (`idempotency-key-reused`), and while the first is processed a
//!   409 (`idempotency-key-in-progress`);
//! - the first answer is kept for [`KEPT_FOR`] and replayed whole (status,
//!   content type, body) with `Idempotent-Replayed: true`. Error answers
//!   are kept too, as the draft says, except those that invite a retry (408,
//!   429 and every 5xx: [`kept`]); a kept answer's body is sealed with the
//!   server's secret key, since some carry a secret shown once;
//! - once a request holds its key, its work runs to the end even if the
//!   client goes away, so that the retry finds its answer.

use axum::body::{Body, Bytes, HttpBody as _};
use axum::extract::{FromRequest as _, FromRequestParts as _, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ferry_store::idempotency::{Claim, Hold, KeptAnswer, KeyRecord, KeyedRequest};
use sha2::{Digest as _, Sha256};
use tracing::Instrument as _;
use utoipa::Modify;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{Content, OpenApi, Ref, RefOr, Required};

use crate::agent_auth::{AGENT_TOKEN_PREFIX, AgentCaller};
use crate::auth::{Caller, bearer};
use crate::error::ApiError;
use crate::state::AppState;

/// The request header that carries the key.
pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";
/// The response header that marks an answer replayed from a kept one.
pub const REPLAYED: &str = "Idempotent-Replayed";
/// The longest key, in characters.
pub const MAX_KEY_CHARS: usize = 255;
/// How long a key and its answer are kept.
pub const KEPT_FOR: chrono::Duration = chrono::Duration::hours(24);
/// The largest answer kept; a larger one is sent but not kept (its key is
/// freed, as after a 5xx), so that the table holds no bulk.
pub const MAX_KEPT_ANSWER: usize = 1 << 20;

/// The longest a request may hold its key: its processing ends at the
/// request timeout, so only a server that died meanwhile leaves a key held
/// this long.
fn held_for() -> chrono::Duration {
    chrono::Duration::from_std(crate::routes::REQUEST_TIMEOUT * 2)
        .unwrap_or(chrono::Duration::minutes(2))
}

pub use crate::auth::Credential;

/// The forms of a key [`parse_key`] reads, as the document states them: bare
/// visible ASCII not starting with a double quote, or quoted (without the
/// escapes the server also reads).
const KEY_PATTERN: &str = r#"^(?:[!#-~][!-~]{0,254}|"[!#-\[\]-~]{1,255}")$"#;

/// The key of an `Idempotency-Key` header's value: a Structured Field string
/// (`"…"`, with `\"` and `\\` escapes) or the bare characters, either way 1 to
/// [`MAX_KEY_CHARS`] visible ASCII characters. The error says what is wrong.
pub fn parse_key(value: &[u8]) -> Result<String, String> {
    let text = std::str::from_utf8(value)
        .map_err(|_| "it holds bytes that are not ASCII".to_owned())?
        .trim_matches([' ', '\t']);
    let key = match text.strip_prefix('"') {
        Some(quoted) => unquote(quoted)?,
        None => text.to_owned(),
    };
    if key.is_empty() {
        return Err("it is empty".to_owned());
    }
    if let Some(c) = key.chars().find(|c| !c.is_ascii_graphic()) {
        return Err(format!(
            "it holds {c:?}, which is not a visible ASCII character"
        ));
    }
    if key.len() > MAX_KEY_CHARS {
        return Err(format!("it has {} characters", key.len()));
    }
    Ok(key)
}

/// The characters of a Structured Field string after its opening quote.
fn unquote(quoted: &str) -> Result<String, String> {
    let mut key = String::new();
    let mut chars = quoted.chars();
    loop {
        match chars.next() {
            None => return Err("its opening double quote is not closed".to_owned()),
            Some('\\') => match chars.next() {
                Some(c @ ('"' | '\\')) => key.push(c),
                _ => {
                    return Err("a backslash in a quoted key may only escape \" or \\".to_owned());
                }
            },
            Some('"') if chars.as_str().is_empty() => return Ok(key),
            Some('"') => return Err("something follows its closing double quote".to_owned()),
            Some(c) => key.push(c),
        }
    }
}

/// What makes two requests the same one: the SHA-256 (hex) of the method,
/// the path with its query, and the body.
pub fn fingerprint(method: &str, path_and_query: &str, body: &[u8]) -> String {
    let digest = Sha256::new()
        .chain_update(method.as_bytes())
        .chain_update([0])
        .chain_update(path_and_query.as_bytes())
        .chain_update([0])
        .chain_update(body)
        .finalize();
    hex::encode(digest)
}

/// Whether an answer with `status` is kept for the retries of its request:
/// not one that asks to try again (408, 429, 5xx), since a retry may then
/// succeed.
pub fn kept(status: StatusCode) -> bool {
    !(status.is_server_error()
        || status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS)
}

/// The kept answer for a request (`request`, with `fingerprint`) whose key
/// was taken, or why there is none to give: another request used the key
/// (422), or the first is still being processed (409).
fn judge<'r>(
    record: &'r KeyRecord,
    key: &str,
    request: &str,
    fingerprint: &str,
) -> Result<&'r KeptAnswer, ApiError> {
    if record.fingerprint != fingerprint {
        let first = if record.request == request {
            format!("{request} with another body")
        } else {
            record.request.clone()
        };
        return Err(ApiError::IdempotencyKeyReused(format!(
            "the Idempotency-Key {key:?} was used for {first} (it is kept until {}); \
             a retry must repeat its request exactly, and a new request needs a new key",
            ferry_core::time::format_time(record.expires_at)
        )));
    }
    record.answer.as_ref().ok_or_else(|| {
        ApiError::IdempotencyKeyInProgress(format!(
            "the request first sent with Idempotency-Key {key:?} ({request}) is still being \
             processed; send it again in a moment to get its answer"
        ))
    })
}

/// The context a kept answer is sealed in: its scope and key, so an answer
/// opens only for the request it answers.
fn sealing_context(scope: &str, key: &str) -> Vec<u8> {
    format!("ferry idempotent answer\0{scope}\0{key}").into_bytes()
}

/// The key of a request, if it sent one (refused when it sent several or a
/// malformed one).
fn key_of(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let mut values = headers.get_all(IDEMPOTENCY_KEY).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(ApiError::BadRequest(
            "send one Idempotency-Key header, not several".into(),
        ));
    }
    parse_key(value.as_bytes()).map(Some).map_err(|reason| {
        ApiError::BadRequest(format!(
            "the Idempotency-Key header must be 1 to {MAX_KEY_CHARS} visible ASCII characters, \
             bare or in double quotes (such as \"8e03978e-40d5-43e8-bc93-6894a57f9324\"), \
             but {reason}"
        ))
    })
}

/// Who sent the request, authenticated now and left in its extensions for
/// the handler; `None` without a valid credential (the handler refuses it).
async fn credential(parts: &mut Parts, state: &AppState) -> Result<Option<Credential>, ApiError> {
    let agent = match bearer(parts, "") {
        Ok(secret) => secret.starts_with(AGENT_TOKEN_PREFIX),
        Err(_) => return Ok(None),
    };
    let found = if agent {
        AgentCaller::from_request_parts(parts, state)
            .await
            .map(|agent| {
                let credential = Credential::Agent(agent.agent.id);
                parts.extensions.insert(agent);
                credential
            })
    } else {
        Caller::from_request_parts(parts, state)
            .await
            .map(|caller| {
                let credential = caller.credential;
                parts.extensions.insert(caller);
                credential
            })
    };
    match found {
        Ok(credential) => Ok(Some(credential)),
        Err(ApiError::Unauthorized(_)) => Ok(None),
        Err(other) => Err(other),
    }
}

/// The layer: a POST with an `Idempotency-Key` from an authenticated caller
/// is done once, and its retries get its answer (see the module's rules).
pub async fn layer(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let key = match key_of(request.headers()) {
        Ok(Some(key)) => key,
        Ok(None) => return next.run(request).await,
        Err(error) => return error.into_response(),
    };
    let (mut parts, body) = request.into_parts();
    let credential = match credential(&mut parts, &state).await {
        Ok(Some(credential)) => credential,
        Ok(None) => return next.run(Request::from_parts(parts, body)).await,
        Err(error) => return error.into_response(),
    };
    let body = match Bytes::from_request(Request::from_parts(parts.clone(), body), &state).await {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return crate::extract::body_too_large().into_response();
        }
        Err(rejection) => {
            return ApiError::BadRequest(format!(
                "the body could not be read: {}",
                rejection.body_text()
            ))
            .into_response();
        }
    };
    let path = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path(), |p| p.as_str());
    let fingerprint = fingerprint(parts.method.as_str(), path, &body);
    let scope = credential.scope();
    let request_line = format!("{} {}", parts.method, parts.uri.path());
    let keyed = KeyedRequest {
        scope: &scope,
        key: &key,
        fingerprint: &fingerprint,
        request: &request_line,
    };
    let claim = state
        .store
        .claim_idempotency_key(&keyed, chrono::Utc::now(), held_for(), KEPT_FOR)
        .await;
    match claim {
        Err(error) => ApiError::from(error).into_response(),
        Ok(Claim::Taken(record)) => {
            match judge(&record, &key, &request_line, &fingerprint)
                .and_then(|answer| replay(&state, &scope, &key, answer))
            {
                Ok(response) => response,
                Err(error) => error.into_response(),
            }
        }
        Ok(Claim::Held(hold)) => {
            let request = Request::from_parts(parts, Body::from(body));
            let (task_state, task_hold) = (state.clone(), hold.clone());
            // Spawned: a client that goes away drops this future, not the
            // work, whose answer its retry is to find.
            let work = tokio::spawn(
                async move {
                    let response = next.run(request).await;
                    keep(&task_state, &task_hold, response).await
                }
                .in_current_span(),
            );
            match work.await {
                Ok(response) => response,
                Err(error) => {
                    release(&state, &hold).await;
                    ApiError::Internal(format!("the request's task failed: {error}"))
                        .into_response()
                }
            }
        }
    }
}

/// Keeps `response` as the answer of the request holding `hold` (or frees
/// the key when it is not to be kept), and sends it on.
async fn keep(state: &AppState, hold: &Hold, response: Response) -> Response {
    let status = response.status();
    let size = response.body().size_hint().upper();
    if !kept(status) {
        release(state, hold).await;
        return response;
    }
    if size.is_none_or(|size| size > MAX_KEPT_ANSWER as u64) {
        tracing::warn!(
            %status,
            "an answer to a POST with an Idempotency-Key is too large to keep; its key is freed"
        );
        release(state, hold).await;
        return response;
    }
    let (parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_KEPT_ANSWER).await {
        Ok(bytes) => bytes,
        Err(error) => {
            release(state, hold).await;
            return ApiError::Internal(format!("the answer could not be read: {error}"))
                .into_response();
        }
    };
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let sealed = state
        .secret_key
        .as_ref()
        .ok_or_else(|| "the server has no secret key to seal it with".to_owned())
        .and_then(|secret_key| {
            secret_key
                .seal_with(&sealing_context(&hold.scope, &hold.key), &bytes)
                .map_err(|error| error.to_string())
        });
    let kept = match sealed {
        Ok(body) => {
            let answer = KeptAnswer {
                status: status.as_u16(),
                content_type,
                body,
            };
            state
                .store
                .keep_answer(hold, &answer)
                .await
                .map_err(|error| error.to_string())
        }
        Err(error) => Err(error),
    };
    match kept {
        Ok(true) => {}
        Ok(false) => tracing::warn!(
            "a request outlived the hold of its Idempotency-Key; its answer is not kept"
        ),
        Err(error) => {
            tracing::warn!(%error, "an answer could not be kept for the retries of its request");
            release(state, hold).await;
        }
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// Frees a held key (a failure to is logged: the hold then runs out).
async fn release(state: &AppState, hold: &Hold) {
    if let Err(error) = state.store.release_idempotency_key(hold).await {
        tracing::warn!(%error, "an Idempotency-Key could not be freed; it is held until its hold runs out");
    }
}

/// The kept `answer`, opened and marked as replayed.
fn replay(
    state: &AppState,
    scope: &str,
    key: &str,
    answer: &KeptAnswer,
) -> Result<Response, ApiError> {
    let cannot = |why: String| {
        ApiError::Internal(format!(
            "the answer kept for Idempotency-Key {key:?} cannot be replayed: {why}"
        ))
    };
    let secret_key = state
        .secret_key
        .as_ref()
        .ok_or_else(|| cannot("the server has no secret key".to_owned()))?;
    let body = secret_key
        .open_with(&sealing_context(scope, key), &answer.body)
        .map_err(|error| cannot(error.to_string()))?;
    let status = StatusCode::from_u16(answer.status).map_err(|error| cannot(error.to_string()))?;
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    if let Ok(content_type) = HeaderValue::from_str(&answer.content_type) {
        headers.insert(header::CONTENT_TYPE, content_type);
    }
    headers.insert(REPLAYED, HeaderValue::from_static("true"));
    Ok(response)
}

/// Documents the `Idempotency-Key` header on every POST operation of the
/// OpenAPI document that takes a token, with the answers it adds (409, 422) and the
/// `Idempotent-Replayed` header of replayed answers. Applied once the
/// routes' operations are in the document.
pub struct Documentation;

/// Where the document's components are referred to.
const PARAMETER: &str = "IdempotencyKey";
const REPLAYED_HEADER: &str = "IdempotentReplayed";
const IN_PROGRESS: &str = "IdempotencyKeyInProgress";
const REUSED: &str = "IdempotencyKeyReused";

impl Modify for Documentation {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let description = format!(
            "A key of the client's choosing, new for each request: 1 to {MAX_KEY_CHARS} visible \
             ASCII characters, sent as a Structured Field string (in double quotes) or bare. A \
             retry of the same request (same method, path and body) with the same key and the \
             same token within 24 hours is not done again: it gets the first answer, marked \
             `{REPLAYED}: true`. Answers 408, 429 and 5xx are not kept (retry with the same \
             key); other error answers are. The same key with another request is answered 422 \
             `urn:ferry:problem:idempotency-key-reused`; while the first request is still \
             processed, 409 `urn:ferry:problem:idempotency-key-in-progress`."
        );
        components.parameters.insert(
            PARAMETER.to_owned(),
            ParameterBuilder::new()
                .name(IDEMPOTENCY_KEY)
                .parameter_in(ParameterIn::Header)
                .required(Required::False)
                .description(Some(description))
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .min_length(Some(1))
                        .max_length(Some(MAX_KEY_CHARS + 2))
                        .pattern(Some(KEY_PATTERN)),
                ))
                .example(Some(serde_json::json!(
                    "\"8e03978e-40d5-43e8-bc93-6894a57f9324\""
                )))
                .build()
                .into(),
        );
        components.headers.insert(
            REPLAYED_HEADER.to_owned(),
            HeaderBuilder::new()
                .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                .description(Some(format!(
                    "`true` when the answer is the one kept for an earlier request with the same \
                     {IDEMPOTENCY_KEY}, replayed; absent otherwise"
                )))
                .build()
                .into(),
        );
        for (name, description) in [
            (
                IN_PROGRESS,
                "The request first sent with this Idempotency-Key is still being processed; send \
                 it again in a moment",
            ),
            (
                REUSED,
                "This Idempotency-Key was used for another request (another method, path or body)",
            ),
        ] {
            components.responses.insert(
                name.to_owned(),
                ResponseBuilder::new()
                    .description(description)
                    .content(
                        ferry_api::PROBLEM_JSON,
                        Content::new(Some(Ref::from_schema_name("Problem"))),
                    )
                    .build()
                    .into(),
            );
        }
        for item in openapi.paths.paths.values_mut() {
            // A POST that takes no token (the OIDC exchange) has no scope
            // for keys: the header means nothing there.
            let Some(operation) = item
                .post
                .as_mut()
                .filter(|operation| operation.security.as_ref().is_some_and(|s| !s.is_empty()))
            else {
                continue;
            };
            operation
                .parameters
                .get_or_insert_with(Vec::new)
                .push(RefOr::Ref(Ref::new(format!(
                    "#/components/parameters/{PARAMETER}"
                ))));
            let responses = &mut operation.responses.responses;
            for (status, name) in [("409", IN_PROGRESS), ("422", REUSED)] {
                responses.entry(status.to_owned()).or_insert_with(|| {
                    RefOr::Ref(Ref::new(format!("#/components/responses/{name}")))
                });
            }
            for (status, response) in responses.iter_mut() {
                if let (true, RefOr::T(response)) = (status.starts_with('2'), response) {
                    response.headers.insert(
                        REPLAYED.to_owned(),
                        RefOr::Ref(Ref::new(format!("#/components/headers/{REPLAYED_HEADER}"))),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_visible_ascii_quoted_or_bare() {
        let uuid = "8e03978e-40d5-43e8-bc93-6894a57f9324";
        assert_eq!(parse_key(format!("\"{uuid}\"").as_bytes()).unwrap(), uuid);
        assert_eq!(parse_key(uuid.as_bytes()).unwrap(), uuid);
        assert_eq!(parse_key(br#""a\"b\\c""#).unwrap(), r#"a"b\c"#);
        assert_eq!(
            parse_key(&[b'k'; MAX_KEY_CHARS]).unwrap().len(),
            MAX_KEY_CHARS
        );
        for (bad, says) in [
            (&b""[..], "empty"),
            (b"\"\"", "empty"),
            (b"\"abc", "not closed"),
            (b"\"a\"b", "follows"),
            (b"\"a\\nb\"", "backslash"),
            (b"a b", "not a visible ASCII"),
            (b"\"a b\"", "not a visible ASCII"),
            (b"caf\xc3\xa9", "not a visible ASCII"),
            (b"\xff", "not ASCII"),
        ] {
            let error = parse_key(bad).unwrap_err();
            assert!(error.contains(says), "{bad:?}: {error}");
        }
        let long = parse_key(&[b'k'; MAX_KEY_CHARS + 1]).unwrap_err();
        assert!(long.contains("256 characters"), "{long}");
    }

    #[test]
    fn the_same_request_is_the_same_method_path_and_body() {
        let a = fingerprint("POST", "/api/v1/change-requests", b"{\"title\":\"x\"}");
        assert_eq!(
            a,
            fingerprint("POST", "/api/v1/change-requests", b"{\"title\":\"x\"}")
        );
        assert_ne!(
            a,
            fingerprint("POST", "/api/v1/change-requests", b"{\"title\":\"y\"}")
        );
        assert_ne!(
            a,
            fingerprint("POST", "/api/v1/freezes", b"{\"title\":\"x\"}")
        );
        assert_ne!(
            a,
            fingerprint("PUT", "/api/v1/change-requests", b"{\"title\":\"x\"}")
        );
        // The separators keep the parts apart.
        assert_ne!(
            fingerprint("POST", "/a", b"b"),
            fingerprint("POST", "/ab", b"")
        );
    }

    #[test]
    fn answers_that_invite_a_retry_are_not_kept() {
        for status in [200, 201, 204, 400, 403, 404, 409, 413, 422] {
            assert!(kept(StatusCode::from_u16(status).unwrap()), "{status}");
        }
        for status in [408, 429, 500, 502, 503, 504, 507] {
            assert!(!kept(StatusCode::from_u16(status).unwrap()), "{status}");
        }
    }

    #[test]
    fn a_taken_key_answers_its_request_only() {
        let answer = KeptAnswer {
            status: 201,
            content_type: "application/json".into(),
            body: "sealed".into(),
        };
        let record = KeyRecord {
            fingerprint: "f1".into(),
            request: "POST /api/v1/freezes".into(),
            answer: Some(answer.clone()),
            expires_at: chrono::Utc::now(),
        };
        assert_eq!(
            judge(&record, "k", "POST /api/v1/freezes", "f1").unwrap(),
            &answer
        );
        let other_body = judge(&record, "k", "POST /api/v1/freezes", "f2").unwrap_err();
        assert!(matches!(other_body, ApiError::IdempotencyKeyReused(_)));
        assert!(
            other_body.to_string().contains("with another body"),
            "{other_body}"
        );
        let other_path = judge(&record, "k", "POST /api/v1/tokens", "f3").unwrap_err();
        assert!(
            other_path
                .to_string()
                .contains("used for POST /api/v1/freezes"),
            "{other_path}"
        );
        let held = KeyRecord {
            answer: None,
            ..record
        };
        let busy = judge(&held, "k", "POST /api/v1/freezes", "f1").unwrap_err();
        assert!(
            matches!(busy, ApiError::IdempotencyKeyInProgress(_)),
            "{busy}"
        );
        // Another request is refused as such even while the first runs.
        let reused = judge(&held, "k", "POST /api/v1/freezes", "f2").unwrap_err();
        assert!(
            matches!(reused, ApiError::IdempotencyKeyReused(_)),
            "{reused}"
        );
    }

    #[test]
    fn scopes_tell_credentials_apart() {
        let scopes = [
            Credential::ApiToken(1).scope(),
            Credential::WorkloadToken(1).scope(),
            Credential::Agent(1).scope(),
            Credential::ApiToken(2).scope(),
        ];
        let distinct: std::collections::HashSet<_> = scopes.iter().collect();
        assert_eq!(distinct.len(), scopes.len());
    }
}
