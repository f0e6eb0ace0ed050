//! Every limit of `ferry_core::limits` is enforced by the server: a value
//! one over the limit is a 422 that names the field, the limit and the size,
//! a control character is refused, and nothing changes. A limit without a
//! case here fails the test, so a new limit cannot go unchecked.

#[macro_use]
mod common;

use axum::http::{Method, StatusCode};
use common::{Api, Backend, problem};
use ferry_core::limits::{self, Limit};
use serde_json::{Value, json};

stories!(
    every_limit_is_enforced_and_says_what_is_allowed,
    evidence_keeps_at_most_a_hundred_failing_cases_whatever_the_client_sends,
    the_other_limits_are_enforced_too,
);

/// Where a limit is enforced: the request whose `field` gets `value`.
fn request(limit: &Limit, value: &str) -> (Method, &'static str, Value, &'static str) {
    let many_tags = |n: usize| -> Value {
        (0..n)
            .map(|i| (format!("k{i}"), json!("v")))
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    match limit.what {
        w if w == limits::TITLE.what => (
            Method::POST,
            "/api/v1/change-requests",
            json!({ "title": value, "type": "normal", "service": "api", "environment": "dev" }),
            "title",
        ),
        w if w == limits::DESCRIPTION.what => (
            Method::POST,
            "/api/v1/change-requests",
            json!({ "title": "t", "description": value, "type": "normal", "service": "api", "environment": "dev" }),
            "description",
        ),
        w if w == limits::COMMENT.what => (
            Method::POST,
            "/api/v1/services/api/releases/1.0.0/decisions",
            json!({ "environment": "dev", "approve": false, "comment": value }),
            "comment",
        ),
        w if w == limits::FREEZE_REASON.what => (
            Method::POST,
            "/api/v1/freezes",
            json!({ "name": "f", "reason": value, "start": "2030-01-01T00:00:00Z", "end": "2030-01-02T00:00:00Z", "environments": ["dev"] }),
            "reason",
        ),
        w if w == limits::EMERGENCY_REASON.what => (
            Method::POST,
            "/api/v1/promotions",
            json!({ "service": "api", "version": "1.0.0", "environment": "dev", "emergency_reason": value }),
            "emergency_reason",
        ),
        w if w == limits::REASON.what => (
            Method::POST,
            "/api/v1/locks",
            json!({ "environment": "dev", "reason": value }),
            "reason",
        ),
        w if w == limits::TOKEN_NAME.what => (
            Method::POST,
            "/api/v1/tokens",
            json!({ "name": value }),
            "name",
        ),
        w if w == limits::FEED_NAME.what => (
            Method::POST,
            "/api/v1/calendar/feeds",
            json!({ "name": value }),
            "name",
        ),
        w if w == limits::EVIDENCE_NAME.what => (
            Method::POST,
            "/api/v1/services/api/releases/1.0.0/evidence",
            json!({ "environment": "dev", "name": value, "passed": true }),
            "name",
        ),
        w if w == limits::URL.what => (
            Method::POST,
            "/api/v1/services/api/releases/1.0.0/evidence",
            json!({ "environment": "dev", "name": "e2e", "passed": true, "url": value }),
            "url",
        ),
        w if w == limits::TAGS.what => (
            Method::POST,
            "/api/v1/agent-tokens",
            json!({ "environment": "dev", "tags": many_tags(value.chars().count()) }),
            "tags",
        ),
        w if w == limits::TAG_KEY.what => (
            Method::POST,
            "/api/v1/agent-tokens",
            json!({ "environment": "dev", "tags": { value: "v" } }),
            "tags.",
        ),
        w if w == limits::TAG_VALUE.what => (
            Method::POST,
            "/api/v1/agent-tokens",
            json!({ "environment": "dev", "tags": { "role": value } }),
            "tags.role",
        ),
        w if w == limits::VERSION.what => {
            // A valid version whose pre-release makes it too long.
            let version = match value.strip_prefix("xxxxxx") {
                Some(rest) if !rest.contains('\0') => format!("1.0.0-{rest}"),
                _ => value.to_owned(),
            };
            (
                Method::POST,
                "/api/v1/services/api/releases",
                json!({ "version": version }),
                "version",
            )
        }
        w if w == limits::NOTES.what => (
            Method::POST,
            "/api/v1/services/api/releases",
            json!({ "version": "2.0.0", "notes": value }),
            "notes",
        ),
        w if w == limits::AUTHORS.what => {
            let authors: Vec<String> = (0..value.chars().count())
                .map(|i| format!("Dev {i} <dev{i}@example.com>"))
                .collect();
            (
                Method::POST,
                "/api/v1/services/api/releases",
                json!({ "version": "2.0.0", "authors": authors }),
                "authors",
            )
        }
        w if w == limits::ARTIFACTS.what => {
            let artifacts: Vec<Value> = (0..value.chars().count())
                .map(|i| {
                    json!({
                        "name": format!("bin-{i}"),
                        "digest": format!("sha256:{}", "ab".repeat(32)),
                        "uri": format!("https://artifacts.example.com/bin-{i}"),
                    })
                })
                .collect();
            (
                Method::POST,
                "/api/v1/services/api/releases",
                json!({ "version": "2.0.0", "artifacts": artifacts }),
                "artifacts",
            )
        }
        w if w == limits::CONFIG_DESCRIPTION.what => {
            let mut config = ferry_core::config::parse(
                "[[environment]]\nname = \"dev\"\ntier = \"development\"\n",
            )
            .unwrap();
            config.environments[0].description = value.to_owned();
            (
                Method::POST,
                "/api/v1/apply",
                json!({ "config": config }),
                "environment \"dev\": description",
            )
        }
        // Checked before the review is looked for: deployment 1 need not
        // have one.
        w if w == limits::REVIEW_NOTES.what => (
            Method::POST,
            "/api/v1/reviews/1",
            json!({ "outcome": "resolved", "notes": value }),
            "notes",
        ),
        w if w == limits::REVIEW_ACTION.what => (
            Method::POST,
            "/api/v1/reviews/1",
            json!({ "outcome": "follow-up", "notes": "n", "actions": [value] }),
            "actions[0]",
        ),
        w if w == limits::REVIEW_ACTIONS.what => {
            let actions = vec!["a"; value.chars().count()];
            (
                Method::POST,
                "/api/v1/reviews/1",
                json!({ "outcome": "follow-up", "notes": "n", "actions": actions }),
                "actions",
            )
        }
        other => panic!("no request enforces the limit {other:?}: add a case"),
    }
}

async fn every_limit_is_enforced_and_says_what_is_allowed(backend: &Backend) {
    for limit in limits::ALL {
        let api = Api::with_a_release_on(backend).await;
        let audit_before = api.get("/api/v1/audit?limit=1000").await.body["items"]
            .as_array()
            .unwrap()
            .len();
        let over = "x".repeat(limit.max + 1);
        let (method, path, body, field) = request(&limit, &over);
        let reply = api
            .send(
                method.clone(),
                path,
                Some(common::ADMIN_TOKEN),
                Some(&body.to_string()),
            )
            .await;
        let detail = problem(&reply, StatusCode::UNPROCESSABLE_ENTITY, "invalid");
        assert!(
            detail.starts_with(field)
                && detail.contains(&format!("{} ", limit.max + 1))
                && detail.contains(&format!("at most {}", limit.max)),
            "{}: {detail}",
            limit.what
        );
        let audit_after = api.get("/api/v1/audit?limit=1000").await.body["items"]
            .as_array()
            .unwrap()
            .len();
        assert_eq!(audit_before, audit_after, "{}: nothing changed", limit.what);

        if limit.unit == limits::Unit::Characters {
            let (method, path, body, _) = request(&limit, "bad\u{0}value");
            let reply = api
                .send(
                    method,
                    path,
                    Some(common::ADMIN_TOKEN),
                    Some(&body.to_string()),
                )
                .await;
            let detail = problem(&reply, StatusCode::UNPROCESSABLE_ENTITY, "invalid");
            assert!(detail.contains("U+0000"), "{}: {detail}", limit.what);
        }
        api.close().await;
    }
}

async fn evidence_keeps_at_most_a_hundred_failing_cases_whatever_the_client_sends(
    backend: &Backend,
) {
    let api = Api::with_a_release_on(backend).await;
    let case = json!({ "suite": "e2e", "name": "checkout", "kind": "failure", "message": "boom" });
    let report = json!({
        "tests": 5000, "failures": 5000, "errors": 0, "skipped": 0,
        "failed_cases": vec![case; 5000], "suites": ["e2e"],
    });
    let body = json!({ "environment": "dev", "name": "e2e", "report": report });
    let reply = api
        .post(
            "/api/v1/services/api/releases/1.0.0/evidence",
            &body.to_string(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);

    let kept = api
        .get("/api/v1/services/api/releases/1.0.0/evidence?environment=dev")
        .await;
    let report = &kept.body["items"][0]["report"];
    assert_eq!(report["failed_cases"].as_array().map(Vec::len), Some(100));
    assert_eq!(report["failures"], 5000, "every failure is still counted");
    assert_eq!(kept.body["items"][0]["passed"], false);
    api.close().await;
}

/// The limits of docs/limits.md kept outside `ferry_core::limits` (those the
/// HTTP layer, the agents and the idempotency keys enforce are checked in
/// `rejections`, `agents`, `idempotency` and the binary's `http_layer`).
async fn the_other_limits_are_enforced_too(backend: &Backend) {
    let api = Api::with_a_release_on(backend).await;
    let before = audit_count(&api).await;

    // Names: 63 characters.
    let long_name = "n".repeat(64);
    let group = api
        .post("/api/v1/groups", &json!({ "name": long_name }).to_string())
        .await;
    assert!(group.status.is_client_error(), "{:?}", group.body);
    let detail = group.body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("63"), "{detail}");

    // An author: 320 characters.
    let author = format!("{} <dev@example.com>", "a".repeat(320));
    let release = api
        .post(
            "/api/v1/services/api/releases",
            &json!({ "version": "2.0.0", "authors": [author] }).to_string(),
        )
        .await;
    let detail = problem(&release, StatusCode::UNPROCESSABLE_ENTITY, "invalid");
    assert!(
        detail.starts_with("authors[0]") && detail.contains("320"),
        "{detail}"
    );

    // A page: 1,000 items.
    let page = api.get("/api/v1/releases?limit=1001").await;
    assert!(page.status.is_client_error(), "{:?}", page.body);
    let detail = page.body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("1000"), "{detail}");

    // A variable's name: 128 characters.
    let variable = api
        .send(
            Method::PUT,
            &format!("/api/v1/environments/dev/variables/{}", "V".repeat(129)),
            Some(common::ADMIN_TOKEN),
            Some(&json!({ "value": "x" }).to_string()),
        )
        .await;
    assert!(variable.status.is_client_error(), "{:?}", variable.body);
    let detail = variable.body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("128"), "{detail}");

    assert_eq!(audit_count(&api).await, before, "nothing changed");

    api.close().await;
}

/// How many events the audit trail holds.
async fn audit_count(api: &Api) -> usize {
    api.get("/api/v1/audit?limit=1000").await.body["items"]
        .as_array()
        .map_or(0, Vec::len)
}
