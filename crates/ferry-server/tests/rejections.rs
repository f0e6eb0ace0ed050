//! What the framework itself would refuse is a problem too: a body too
//! large, a body that is not JSON by its content type, a path that is not
//! valid UTF-8 — each `application/problem+json` with a stable `type` and
//! the right status, never a plain-text or empty answer.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{ADMIN_TOKEN, Api, Reply, problem};
use http_body_util::BodyExt;
use tower::ServiceExt;

/// Sends `body` with `content_type` to `path` as the administrator.
async fn send(api: &Api, path: &str, content_type: Option<&str>, body: Vec<u8>) -> Reply {
    let mut request =
        Request::post(path).header(header::AUTHORIZATION, format!("Bearer {ADMIN_TOKEN}"));
    if let Some(content_type) = content_type {
        request = request.header(header::CONTENT_TYPE, content_type);
    }
    let response = api
        .app
        .clone()
        .oneshot(request.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        content_type,
        headers,
        body: serde_json::from_slice(&bytes).unwrap_or_default(),
    }
}

#[tokio::test]
async fn a_json_body_over_the_limit_is_413() {
    let api = Api::new().await;
    let huge = format!("{{\"name\": \"{}\"}}", "x".repeat(17 << 20));
    let reply = send(
        &api,
        "/api/v1/tokens",
        Some("application/json"),
        huge.into_bytes(),
    )
    .await;
    let detail = problem(&reply, StatusCode::PAYLOAD_TOO_LARGE, "too-large");
    assert!(detail.contains("16 MiB"), "{detail}");
    let tokens = api.get("/api/v1/tokens").await;
    assert_eq!(
        tokens.body["items"].as_array().unwrap().len(),
        1,
        "no token was made"
    );
}

#[tokio::test]
async fn a_body_that_is_not_json_by_its_content_type_is_415() {
    let api = Api::new().await;
    for content_type in [None, Some("text/plain")] {
        let reply = send(
            &api,
            "/api/v1/tokens",
            content_type,
            br#"{"name":"ci"}"#.to_vec(),
        )
        .await;
        let detail = problem(
            &reply,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
        );
        assert!(detail.contains("application/json"), "{detail}");
    }
    let tokens = api.get("/api/v1/tokens").await;
    assert_eq!(
        tokens.body["items"].as_array().unwrap().len(),
        1,
        "no token was made"
    );
}

#[tokio::test]
async fn a_path_that_is_not_utf8_is_a_problem() {
    let api = Api::new().await;
    let reply = api.get("/api/v1/services/%FF%FE/releases").await;
    let detail = problem(&reply, StatusCode::BAD_REQUEST, "bad-request");
    assert!(detail.contains("invalid path"), "{detail}");
}

#[tokio::test]
async fn a_path_longer_than_the_server_reads_is_414() {
    let api = Api::new().await;
    let long = format!("/api/v1/services/{}", "a".repeat(10_000));
    let reply = api.get(&long).await;
    let detail = problem(&reply, StatusCode::URI_TOO_LONG, "uri-too-long");
    assert!(detail.contains("at most 8192"), "{detail}");
}
