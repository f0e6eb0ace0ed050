//! Input that is well formed but means nothing is refused where its meaning
//! is known, with what is wrong and what would be right, and changes
//! nothing: times long past or far ahead, change windows that are over,
//! freezes that name an environment twice, health checks that are no HTTP
//! URL.

#[macro_use]
mod common;

use axum::http::StatusCode;
use common::{Api, Backend, problem};
use serde_json::json;

stories!(
    a_promotion_is_scheduled_between_now_and_a_year_ahead,
    a_change_window_that_is_over_is_refused,
    a_freeze_names_each_environment_once,
    a_health_check_is_an_http_url,
    links_of_evidence_and_reports_are_web_links,
    nothing_is_recorded_for_a_release_that_cannot_go_there,
    approvers_must_name_someone,
    a_plain_http_artifact_reference_is_refused_unless_its_host_is_allowed,
    fifty_identical_promotions_at_once_make_one_deployment,
    a_version_equal_in_precedence_to_one_there_is_refused,
    a_report_links_to_a_web_page,
    a_configuration_that_means_nothing_is_refused_whatever_the_client,
);

async fn a_promotion_is_scheduled_between_now_and_a_year_ahead(backend: &Backend) {
    let api = Api::with_a_release_on(backend).await;
    for (at, says) in [
        ("1970-01-01T00:00:00Z", "in the past"),
        ("9999-12-31T23:59:59Z", "366 days ahead"),
    ] {
        let body = json!({ "service": "api", "version": "1.0.0", "environment": "dev", "at": at });
        let reply = api.post("/api/v1/promotions", &body.to_string()).await;
        let detail = problem(&reply, StatusCode::UNPROCESSABLE_ENTITY, "invalid");
        assert!(detail.contains(says), "{at}: {detail}");
    }
    let listed = api.get("/api/v1/deployments").await;
    assert_eq!(listed.body["items"], json!([]), "nothing was queued");
    api.close().await;
}

async fn a_change_window_that_is_over_is_refused(backend: &Backend) {
    let api = Api::with_a_release_on(backend).await;
    let body = json!({
        "title": "Resize the pool", "type": "normal", "service": "api", "environment": "dev",
        "window": "2020-01-01T09:00:00Z..2020-01-01T10:00:00Z",
    });
    let reply = api.post("/api/v1/change-requests", &body.to_string()).await;
    let detail = problem(&reply, StatusCode::UNPROCESSABLE_ENTITY, "invalid");
    assert!(detail.contains("is over already"), "{detail}");
    let listed = api.get("/api/v1/change-requests").await;
    assert_eq!(listed.body["items"], json!([]));
    api.close().await;
}

async fn a_freeze_names_each_environment_once(backend: &Backend) {
    let api = Api::with_a_release_on(backend).await;
    let body = json!({
        "name": "year-end", "start": "2030-12-20T00:00:00Z", "end": "2031-01-04T00:00:00Z",
        "environments": ["dev", "dev"],
    });
    let reply = api.post("/api/v1/freezes", &body.to_string()).await;
    let detail = problem(&reply, StatusCode::UNPROCESSABLE_ENTITY, "invalid");
    assert!(detail.contains("twice"), "{detail}");
    api.close().await;
}

async fn a_health_check_is_an_http_url(backend: &Backend) {
    let api = Api::on(backend).await;
    let config = ferry_core::config::parse(
        r#"
[[environment]]
name = "dev"
tier = "development"
[lifecycle.default]
phases = [["dev"]]
[[service]]
name = "api"
deploy.steps = [{ name = "install", run = "true" }]
deploy.health = { http = "http://127.0.0.1:8080/healthz" }
"#,
    )
    .unwrap();
    // A client that skips ferry.toml's checks sends a file URL.
    let mut config = serde_json::to_value(config).unwrap();
    config["services"][0]["deploy"]["health"]["http"] = json!("file:///etc/passwd");
    let body = json!({ "config": config, "dry_run": false }).to_string();
    let reply = api.post("/api/v1/apply", &body).await;
    let detail = problem(&reply, StatusCode::UNPROCESSABLE_ENTITY, "invalid");
    assert!(
        detail.contains("not an http:// or https:// URL"),
        "{detail}"
    );
    let services = api.get("/api/v1/services").await;
    assert_eq!(services.body["items"], json!([]), "nothing was applied");
    api.close().await;
}

async fn links_of_evidence_and_reports_are_web_links(backend: &Backend) {
    let api = Api::with_a_release_on(backend).await;
    let body = json!({
        "environment": "dev", "name": "e2e", "passed": true, "url": "javascript:alert(document.cookie)",
    });
    let reply = api
        .post(
            "/api/v1/services/api/releases/1.0.0/evidence",
            &body.to_string(),
        )
        .await;
    let detail = problem(&reply, StatusCode::UNPROCESSABLE_ENTITY, "invalid");
    assert!(
        detail.contains("not an https:// or http:// URL"),
        "{detail}"
    );
    let evidence = api
        .get("/api/v1/services/api/releases/1.0.0/evidence?environment=dev")
        .await;
    assert_eq!(evidence.body["items"], json!([]), "nothing was recorded");
    api.close().await;
}

async fn nothing_is_recorded_for_a_release_that_cannot_go_there(backend: &Backend) {
    let api = Api::with_a_release_on(backend).await;
    let config = ferry_core::config::parse(
        r#"
[[environment]]
name = "dev"
tier = "development"
[[environment]]
name = "lab"
tier = "testing"
[lifecycle.default]
phases = [["dev"]]
[[service]]
name = "api"
"#,
    )
    .unwrap();
    api.store.apply("admin", &config, false).await.unwrap();
    let evidence = json!({ "environment": "lab", "name": "e2e", "passed": true }).to_string();
    let reply = api
        .post("/api/v1/services/api/releases/1.0.0/evidence", &evidence)
        .await;
    let detail = problem(&reply, StatusCode::UNPROCESSABLE_ENTITY, "invalid");
    assert!(
        detail.contains("lab is not in lifecycle default"),
        "{detail}"
    );
    let decision = json!({ "environment": "lab", "approve": true }).to_string();
    let reply = api
        .post("/api/v1/services/api/releases/1.0.0/decisions", &decision)
        .await;
    problem(&reply, StatusCode::UNPROCESSABLE_ENTITY, "invalid");

    let abandoned = api
        .post("/api/v1/services/api/releases/1.0.0/abandon", "{}")
        .await;
    assert_eq!(abandoned.status, StatusCode::OK, "{:?}", abandoned.body);
    let evidence = json!({ "environment": "dev", "name": "e2e", "passed": true }).to_string();
    let reply = api
        .post("/api/v1/services/api/releases/1.0.0/evidence", &evidence)
        .await;
    let detail = problem(&reply, StatusCode::UNPROCESSABLE_ENTITY, "invalid");
    assert!(detail.contains("abandoned"), "{detail}");
    let decision = json!({ "environment": "dev", "approve": true }).to_string();
    let reply = api
        .post("/api/v1/services/api/releases/1.0.0/decisions", &decision)
        .await;
    let detail = problem(&reply, StatusCode::UNPROCESSABLE_ENTITY, "invalid");
    assert!(detail.contains("abandoned"), "{detail}");

    for environment in ["dev", "lab"] {
        for what in ["evidence", "decisions"] {
            let recorded = api
                .get(&format!(
                    "/api/v1/services/api/releases/1.0.0/{what}?environment={environment}"
                ))
                .await;
            assert_eq!(
                recorded.body["items"],
                json!([]),
                "no {what} was recorded for {environment}"
            );
        }
    }
    api.close().await;
}

async fn approvers_must_name_someone(backend: &Backend) {
    let api = Api::with_a_release_on(backend).await;
    for (approver, says) in [
        ("nobody", "the user \"nobody\", who does not exist"),
        ("group:ghosts", "the group \"ghosts\", which does not exist"),
    ] {
        let mut config =
            ferry_core::config::parse("[[environment]]\nname = \"dev\"\ntier = \"development\"\n")
                .unwrap();
        config.environments[0].policy.approvers = vec![approver.to_owned()];
        let body = json!({ "config": config });
        let reply = api.post("/api/v1/apply", &body.to_string()).await;
        let detail = problem(&reply, StatusCode::UNPROCESSABLE_ENTITY, "invalid");
        assert!(detail.contains(says), "{approver}: {detail}");
    }
    let dev = api.get("/api/v1/environments/dev").await;
    assert_eq!(
        dev.body["policy"]["approvers"],
        json!([]),
        "nothing changed"
    );
    api.close().await;
}

async fn a_plain_http_artifact_reference_is_refused_unless_its_host_is_allowed(backend: &Backend) {
    let api = Api::with_a_release_on(backend).await;
    let digest = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    let body = json!({
        "version": "1.1.0",
        "artifacts": [{ "name": "app", "digest": digest, "uri": "http://mirror.lan/app.tgz" }],
    });
    let reply = api
        .post("/api/v1/services/api/releases", &body.to_string())
        .await;
    let detail = problem(&reply, StatusCode::UNPROCESSABLE_ENTITY, "invalid");
    assert!(detail.contains("--allow-http-host mirror.lan"), "{detail}");
    let release = api.get("/api/v1/services/api/releases/1.1.0").await;
    assert_eq!(release.status, StatusCode::NOT_FOUND, "nothing was created");
    api.close().await;
}

async fn fifty_identical_promotions_at_once_make_one_deployment(backend: &Backend) {
    let api = Api::with_a_release_on(backend).await;
    let body = json!({ "service": "api", "version": "1.0.0", "environment": "dev" }).to_string();
    let sent: Vec<_> = (0..50)
        .map(|_| {
            let request = axum::http::Request::builder()
                .method("POST")
                .uri("/api/v1/promotions")
                .header("authorization", format!("Bearer {}", common::ADMIN_TOKEN))
                .header("content-type", "application/json")
                .body(axum::body::Body::from(body.clone()))
                .unwrap();
            tokio::spawn(tower::ServiceExt::oneshot(api.app.clone(), request))
        })
        .collect();
    let mut created = 0;
    let mut ids = std::collections::BTreeSet::new();
    for answer in sent {
        let response = answer.await.unwrap().unwrap();
        let status = response.status();
        let bytes = http_body_util::BodyExt::collect(response.into_body())
            .await
            .unwrap()
            .to_bytes();
        let deployment: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert!(
            status == StatusCode::CREATED || status == StatusCode::OK,
            "{status}: {deployment}"
        );
        created += usize::from(status == StatusCode::CREATED);
        ids.insert(deployment["id"].as_i64().unwrap());
    }
    assert_eq!(created, 1, "one promotion made the deployment");
    assert_eq!(ids.len(), 1, "the others were answered with it: {ids:?}");
    let listed = api.get("/api/v1/deployments").await;
    assert_eq!(listed.body["items"].as_array().map(Vec::len), Some(1));
    api.close().await;
}

async fn a_version_equal_in_precedence_to_one_there_is_refused(backend: &Backend) {
    let api = Api::with_a_release_on(backend).await;
    for version in ["1.0.0+build.1", "1.0.0+build.2"] {
        let reply = api
            .post(
                "/api/v1/services/api/releases",
                &json!({ "version": version }).to_string(),
            )
            .await;
        let detail = problem(&reply, StatusCode::CONFLICT, "conflict");
        assert!(detail.contains("build metadata"), "{version}: {detail}");
    }
    let listed = api.get("/api/v1/services/api/releases").await;
    assert_eq!(listed.body["items"].as_array().map(Vec::len), Some(1));
    api.close().await;
}

async fn a_report_links_to_a_web_page(backend: &Backend) {
    let api = Api::with_a_release_on(backend).await;
    let promoted = api
        .post(
            "/api/v1/promotions",
            &json!({ "service": "api", "version": "1.0.0", "environment": "dev" }).to_string(),
        )
        .await;
    let id = promoted.body["id"].as_i64().unwrap();
    let report = json!({ "status": "succeeded", "url": "javascript:alert(1)" });
    let reply = api
        .post(
            &format!("/api/v1/deployments/{id}/report"),
            &report.to_string(),
        )
        .await;
    let detail = problem(&reply, StatusCode::UNPROCESSABLE_ENTITY, "invalid");
    assert!(
        detail.contains("not an https:// or http:// URL"),
        "{detail}"
    );
    let deployment = api.get(&format!("/api/v1/deployments/{id}")).await;
    assert_ne!(
        deployment.body["status"], "succeeded",
        "nothing was recorded"
    );
    api.close().await;
}

/// What `ferry apply` refuses in ferry.toml, the server refuses from any
/// client that sends the configuration as JSON.
async fn a_configuration_that_means_nothing_is_refused_whatever_the_client(backend: &Backend) {
    let api = Api::on(backend).await;
    let config = ferry_core::config::parse(
        r#"
[[environment]]
name = "dev"
tier = "development"
windows = [{ rrule = "FREQ=WEEKLY;BYDAY=MO;BYHOUR=9", duration = "8h" }]
[lifecycle.default]
phases = [["dev"]]
[[service]]
name = "api"
paths = ["services/api/**"]
deploy.strategy = { kind = "canary", stages = [1, "25%", "100%"], verify = "1m" }
deploy.steps = [{ name = "install", run = "true" }]
"#,
    )
    .unwrap();
    let config = serde_json::to_value(config).unwrap();
    let mut shrinking = config.clone();
    shrinking["services"][0]["deploy"]["strategy"]["stages"] = json!(["50%", "25%", "100%"]);
    let mut glob = config.clone();
    glob["services"][0]["paths"] = json!(["services/[api"]);
    let mut never = config.clone();
    never["environments"][0]["windows"][0]["rrule"] = json!("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30");
    for (story, config, says) in [
        ("canary stages that shrink", shrinking, "grow"),
        ("an invalid glob", glob, "services/[api"),
        ("a window that never opens", never, "matches no date"),
    ] {
        let body = json!({ "config": config, "dry_run": false }).to_string();
        let reply = api.post("/api/v1/apply", &body).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{story}: {:?}",
            reply.body
        );
        let detail = problem(&reply, StatusCode::UNPROCESSABLE_ENTITY, "invalid");
        assert!(detail.contains(says), "{story}: {detail}");
    }
    let services = api.get("/api/v1/services").await;
    assert_eq!(services.body["items"], json!([]), "nothing was applied");
    api.close().await;
}
