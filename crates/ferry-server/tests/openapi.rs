//! The API's contract, as a snapshot: the OpenAPI document every client and
//! `--output json` script relies on, and the problem bodies of refusals. A
//! change to either shows in review as a change to a snapshot file under
//! `tests/snapshots/` (accept it with `cargo insta review`, or run with
//! `INSTA_UPDATE=always` and read the diff).

mod common;

use axum::http::{Method, StatusCode};
use common::{ADMIN_TOKEN, Api};
use serde_json::{Value, json};

#[test]
fn the_openapi_document_is_the_snapshot() {
    let document = serde_json::to_value(ferry_server::openapi_document()).unwrap();
    insta::assert_json_snapshot!("openapi", document);
}

/// What a refusal case sends: its name, method, path, token and body.
type Case<'a> = (&'a str, Method, &'a str, Option<&'a str>, Option<String>);

/// A problem body with what differs from run to run (error ids) masked.
fn stable(mut body: Value) -> Value {
    if body.get("error_id").is_some() {
        body["error_id"] = json!("[error id]");
    }
    body
}

#[tokio::test]
async fn refusals_are_problems_that_say_why() {
    let api = Api::new().await;
    let config = ferry_core::config::parse(
        r#"
[[environment]]
name = "prod"
tier = "production"
protected = true
[lifecycle.default]
phases = [["prod"]]
[[service]]
name = "api"
"#,
    )
    .unwrap();
    api.store.apply("admin", &config, false).await.unwrap();
    let bob = api
        .post(
            "/api/v1/users",
            &json!({ "name": "bob", "email": "bob@example.com" }).to_string(),
        )
        .await;
    let bob = bob.body["token"]["secret"].as_str().unwrap().to_owned();
    let grant = json!({ "user": "bob", "role": "developer", "service": "api" }).to_string();
    assert_eq!(
        api.post("/api/v1/grants", &grant).await.status,
        StatusCode::CREATED
    );

    let mut problems = serde_json::Map::new();
    let promote = json!({ "service": "api", "version": "1.0.0", "environment": "prod" });
    let cases: [Case<'_>; 6] = [
        ("no token", Method::GET, "/api/v1/status", None, None),
        (
            "an unknown token",
            Method::GET,
            "/api/v1/status",
            Some("ferry_0000"),
            None,
        ),
        (
            "a developer promotes",
            Method::POST,
            "/api/v1/promotions",
            Some(&bob),
            Some(promote.to_string()),
        ),
        (
            "an administrator promotes into a protected environment",
            Method::POST,
            "/api/v1/promotions",
            Some(ADMIN_TOKEN),
            Some(promote.to_string()),
        ),
        (
            "a developer applies a configuration",
            Method::POST,
            "/api/v1/apply",
            Some(&bob),
            Some(json!({ "config": {}, "dry_run": false }).to_string()),
        ),
        (
            "a reserved user name",
            Method::POST,
            "/api/v1/users",
            Some(ADMIN_TOKEN),
            Some(json!({ "name": "system" }).to_string()),
        ),
    ];
    for (case, method, path, token, body) in cases {
        let reply = api.send(method, path, token, body.as_deref()).await;
        assert_eq!(reply.content_type, "application/problem+json", "{case}");
        problems.insert(case.to_owned(), stable(reply.body));
    }
    insta::assert_json_snapshot!("refusals", Value::Object(problems));
}
