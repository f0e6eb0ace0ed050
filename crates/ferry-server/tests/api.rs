//! The HTTP API in process: every request goes through the real router and
//! middleware (`oneshot`), over a real SQLite store in a temporary directory.

use axum::http::{Method, StatusCode, header};
use ferry_core::Name;
use ferry_store::deployments::NewDeployment;
use serde_json::{Value, json};

mod common;

use common::{ADMIN_TOKEN, Api, Reply, problem};

impl Api {
    async fn with_config(self) -> Self {
        let config = ferry_core::config::parse(
            "[[environment]]\nname = \"dev\"\ntier = \"development\"\n[lifecycle.default]\nphases = [[\"dev\"]]\n[[service]]\nname = \"api\"\n",
        )
        .unwrap();
        let body = serde_json::to_string(&json!({ "config": config })).unwrap();
        assert_eq!(
            self.post("/api/v1/apply", &body).await.status,
            StatusCode::OK
        );
        self
    }
}

#[tokio::test]
async fn health_checks_need_no_token() {
    let api = Api::new().await;
    for path in ["/healthz", "/readyz"] {
        let reply = api.send(Method::GET, path, None, None).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}");
    }
}

#[tokio::test]
async fn every_other_endpoint_needs_a_token() {
    let api = Api::new().await;
    for path in [
        "/api/v1/services",
        "/api/v1/status",
        "/api/v1/audit",
        "/api/v1/openapi.json",
    ] {
        let reply = api.send(Method::GET, path, None, None).await;
        let detail = problem(&reply, StatusCode::UNAUTHORIZED, "unauthorized");
        assert!(detail.contains("Authorization: Bearer"), "{detail}");
        assert_eq!(reply.headers[header::WWW_AUTHENTICATE], "Bearer");
    }
    let wrong = api
        .send(Method::GET, "/api/v1/status", Some("ferry_wrong"), None)
        .await;
    assert!(
        problem(&wrong, StatusCode::UNAUTHORIZED, "unauthorized")
            .contains("unknown, revoked or expired")
    );
}

#[tokio::test]
async fn malformed_json_is_a_400_problem() {
    let api = Api::new().await.with_config().await;
    let reply = api
        .post("/api/v1/services/api/releases", "{\"version\": ")
        .await;
    let detail = problem(&reply, StatusCode::BAD_REQUEST, "invalid-json");
    assert!(detail.contains("not valid JSON"), "{detail}");
}

#[tokio::test]
async fn unknown_fields_are_named() {
    let api = Api::new().await.with_config().await;
    let reply = api
        .post(
            "/api/v1/services/api/releases",
            r#"{"version":"1.0.0","colour":"red"}"#,
        )
        .await;
    let detail = problem(&reply, StatusCode::BAD_REQUEST, "invalid-json");
    assert!(detail.contains("colour"), "{detail}");
}

#[tokio::test]
async fn an_invalid_version_says_why() {
    let api = Api::new().await.with_config().await;
    let reply = api
        .post("/api/v1/services/api/releases", r#"{"version":"1.2"}"#)
        .await;
    let detail = problem(&reply, StatusCode::UNPROCESSABLE_ENTITY, "invalid");
    assert!(detail.contains("not a semantic version"), "{detail}");
}

#[tokio::test]
async fn releases_are_created_once_and_never_for_unknown_services() {
    let api = Api::new().await.with_config().await;
    let created = api
        .post(
            "/api/v1/services/api/releases",
            r#"{"version":"v1.0.0","notes":"first"}"#,
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(
        (
            created.body["version"].as_str(),
            created.body["created_by"].as_str()
        ),
        (Some("1.0.0"), Some("admin"))
    );
    let again = api
        .post("/api/v1/services/api/releases", r#"{"version":"1.0.0"}"#)
        .await;
    assert!(problem(&again, StatusCode::CONFLICT, "conflict").contains("exists already"));
    let unknown = api
        .post("/api/v1/services/nope/releases", r#"{"version":"1.0.0"}"#)
        .await;
    assert!(problem(&unknown, StatusCode::NOT_FOUND, "not-found").contains("no service \"nope\""));
    let bad_name = api
        .post(
            "/api/v1/services/No%20Pe/releases",
            r#"{"version":"1.0.0"}"#,
        )
        .await;
    problem(&bad_name, StatusCode::BAD_REQUEST, "bad-request");
    let shown = api.get("/api/v1/services/api/releases/1.0.0").await;
    assert_eq!(shown.body["notes"], "first");
}

#[tokio::test]
async fn lists_are_paginated_by_cursor() {
    let api = Api::new().await.with_config().await;
    for patch in 0..5 {
        api.post(
            "/api/v1/services/api/releases",
            &format!(r#"{{"version":"1.0.{patch}"}}"#),
        )
        .await;
    }
    let first = api.get("/api/v1/services/api/releases?limit=2").await;
    let versions = |reply: &Reply| {
        reply.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["version"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(versions(&first), ["1.0.4", "1.0.3"]);
    let cursor = first.body["next_cursor"].as_str().unwrap().to_owned();
    let second = api
        .get(&format!(
            "/api/v1/services/api/releases?limit=2&cursor={cursor}"
        ))
        .await;
    assert_eq!(versions(&second), ["1.0.2", "1.0.1"]);
    let bad = api.get("/api/v1/services/api/releases?limit=0").await;
    assert!(problem(&bad, StatusCode::BAD_REQUEST, "bad-request").contains("between 1 and 1000"));
    let unknown = api.get("/api/v1/services/api/releases?page=2").await;
    assert!(problem(&unknown, StatusCode::BAD_REQUEST, "bad-request").contains("page"));
}

#[tokio::test]
async fn an_invalid_configuration_is_unprocessable_and_changes_nothing() {
    let api = Api::new().await;
    let body = json!({ "config": {
        "environments": [],
        "lifecycles": [{ "name": "default", "phases": [{ "environments": ["prod"] }] }]
    }});
    let reply = api.post("/api/v1/apply", &body.to_string()).await;
    assert!(problem(&reply, StatusCode::UNPROCESSABLE_ENTITY, "invalid").contains("\"prod\""));
    assert_eq!(api.get("/api/v1/lifecycles").await.body["items"], json!([]));
}

#[tokio::test]
async fn the_status_is_gzipped_on_request_and_not_sent_again_unchanged() {
    let api = Api::new().await.with_config().await;
    let (status, plain_headers, plain) = api.get_raw("/api/v1/status", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(plain_headers.get(header::CONTENT_ENCODING).is_none());
    let matrix: serde_json::Value = serde_json::from_slice(&plain).unwrap();
    assert_eq!(matrix["services"], json!(["api"]));
    let etag = plain_headers[header::ETAG].to_str().unwrap().to_owned();

    // A browser's Accept-Encoding gets the same JSON, gzipped.
    let (status, headers, gzipped) = api
        .get_raw(
            "/api/v1/status",
            &[("accept-encoding", "gzip, deflate, br")],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_ENCODING], "gzip");
    assert_eq!(headers[header::VARY], "accept-encoding");
    let mut unzipped = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(&gzipped[..]),
        &mut unzipped,
    )
    .unwrap();
    assert_eq!(unzipped, plain);
    // gzip refused with q=0 is not sent.
    let (_, headers, _) = api
        .get_raw(
            "/api/v1/status",
            &[("accept-encoding", "gzip;q=0, identity")],
        )
        .await;
    assert!(headers.get(header::CONTENT_ENCODING).is_none());

    // Nothing changed: 304 without a body.
    let (status, _, body) = api
        .get_raw("/api/v1/status", &[("if-none-match", &etag)])
        .await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert!(body.is_empty());

    // A new environment changes the matrix, and so its tag.
    let config = ferry_core::config::parse(
        "[[environment]]\nname = \"dev\"\ntier = \"development\"\n[[environment]]\nname = \"prod\"\ntier = \"production\"\n[lifecycle.default]\nphases = [[\"dev\"], [\"prod\"]]\n[[service]]\nname = \"api\"\n",
    )
    .unwrap();
    let body = serde_json::to_string(&json!({ "config": config })).unwrap();
    assert_eq!(
        api.post("/api/v1/apply", &body).await.status,
        StatusCode::OK
    );
    let (status, headers, changed) = api
        .get_raw("/api/v1/status", &[("if-none-match", &etag)])
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(headers[header::ETAG].to_str().unwrap(), etag);
    let matrix: serde_json::Value = serde_json::from_slice(&changed).unwrap();
    assert_eq!(matrix["environments"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn unknown_paths_and_methods_are_problems() {
    let api = Api::new().await;
    problem(
        &api.get("/api/v1/nothing-here").await,
        StatusCode::NOT_FOUND,
        "not-found",
    );
    let reply = api
        .send(Method::DELETE, "/api/v1/status", Some(ADMIN_TOKEN), None)
        .await;
    problem(&reply, StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed");
}

#[tokio::test]
async fn only_admins_create_users_and_new_users_can_act() {
    let api = Api::new().await;
    let created = api
        .post(
            "/api/v1/users",
            r#"{"name":"carol","email":"carol@example.com"}"#,
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let secret = created.body["token"]["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("ferry_"));
    let whoami = api
        .send(Method::GET, "/api/v1/whoami", Some(&secret), None)
        .await;
    assert_eq!(whoami.body["user"]["name"], "carol");
    let refused = api
        .send(
            Method::POST,
            "/api/v1/users",
            Some(&secret),
            Some(r#"{"name":"dave"}"#),
        )
        .await;
    problem(&refused, StatusCode::FORBIDDEN, "forbidden");
    let duplicate = api.post("/api/v1/users", r#"{"name":"carol"}"#).await;
    problem(&duplicate, StatusCode::CONFLICT, "conflict");
}

#[tokio::test]
async fn the_openapi_document_describes_the_api() {
    let api = Api::new().await;
    let reply = api.get("/api/v1/openapi.json").await;
    assert_eq!(reply.status, StatusCode::OK);
    let document = &reply.body;
    assert!(
        document["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        document["openapi"]
    );
    for path in [
        "/api/v1/apply",
        "/api/v1/services/{service}/releases",
        "/api/v1/status",
        "/api/v1/audit/verify",
        "/api/v1/tokens",
    ] {
        assert!(
            document["paths"].get(path).is_some(),
            "{path} is not documented"
        );
    }
    assert!(document["components"]["schemas"].get("Problem").is_some());
    assert!(
        document["components"]["securitySchemes"]
            .get("bearer")
            .is_some()
    );
    // Every route the router serves under /api/v1 is in the document.
    let documented = document["paths"].as_object().unwrap().len();
    assert!(documented >= 20, "{documented} paths");
}

#[tokio::test]
async fn the_audit_trail_records_api_writes() {
    let api = Api::new().await.with_config().await;
    api.post("/api/v1/services/api/releases", r#"{"version":"1.0.0"}"#)
        .await;
    let events = api.get("/api/v1/audit?limit=1000").await.body["items"]
        .as_array()
        .unwrap()
        .clone();
    let last = events.last().unwrap();
    assert_eq!(
        (
            last["actor"].as_str(),
            last["action"].as_str(),
            last["object"].as_str()
        ),
        (
            Some("admin"),
            Some("release.create"),
            Some("release:api@1.0.0")
        )
    );
    let verify = api.get("/api/v1/audit/verify").await;
    assert_eq!(verify.body["intact"], true);
    assert_eq!(verify.body["events"], events.len());
}

#[tokio::test]
async fn the_audit_trail_is_filtered_and_paged_newest_first_on_request() {
    let api = Api::new().await.with_config().await;
    for version in ["1.0.0", "1.1.0"] {
        let body = format!(r#"{{"version":"{version}"}}"#);
        api.post("/api/v1/services/api/releases", &body).await;
    }
    let seqs = |reply: &Reply| -> Vec<i64> {
        reply.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["seq"].as_i64().unwrap())
            .collect()
    };
    // Without `order`, the chain's order, as before.
    let all = api.get("/api/v1/audit").await;
    let oldest = seqs(&all);
    assert!(oldest.windows(2).all(|w| w[0] < w[1]), "{oldest:?}");
    let newest = seqs(&api.get("/api/v1/audit?order=newest").await);
    assert_eq!(newest, oldest.iter().rev().copied().collect::<Vec<_>>());

    let releases = api
        .get("/api/v1/audit?order=newest&action=release.*&actor=admin")
        .await;
    let objects: Vec<&str> = releases.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["object"].as_str().unwrap())
        .collect();
    assert_eq!(objects, ["release:api@1.1.0", "release:api@1.0.0"]);
    let one = api.get("/api/v1/audit?object=api@1.0.0").await;
    assert_eq!(
        one.body["items"].as_array().unwrap().len(),
        1,
        "{:#}",
        one.body
    );
    let since = &all.body["items"][1]["time"];
    let later = api
        .get(&format!(
            "/api/v1/audit?since={}",
            since.as_str().unwrap().replace(':', "%3A")
        ))
        .await;
    assert_eq!(seqs(&later), oldest[1..]);

    // Newest first, a page at a time, the cursor going back.
    let first = api.get("/api/v1/audit?order=newest&limit=2").await;
    assert_eq!(seqs(&first), newest[..2]);
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let second = api
        .get(&format!(
            "/api/v1/audit?order=newest&limit=2&cursor={cursor}"
        ))
        .await;
    assert_eq!(seqs(&second), newest[2..4]);
}

#[tokio::test]
async fn a_malformed_audit_filter_is_refused_naming_its_parameter() {
    let api = Api::new().await;
    for (query, parameter) in [
        ("action=release", "action"),
        ("action=Release.Create", "action"),
        ("since=yesterday", "since"),
        ("order=latest", "order"),
        ("actor=", "actor"),
        ("object=%0A", "object"),
    ] {
        let reply = api.get(&format!("/api/v1/audit?{query}")).await;
        let detail = problem(&reply, StatusCode::UNPROCESSABLE_ENTITY, "invalid");
        assert!(
            detail.starts_with(&format!("query parameter `{parameter}`: "))
                && detail.contains("expected"),
            "{query}: {detail}"
        );
    }
}

const HELLO: &str = "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

#[tokio::test]
async fn artifacts_are_uploaded_by_digest_and_downloaded_with_it() {
    let api = Api::new().await.with_config().await;
    let put = |digest: &str, body: &'static str| {
        let path = format!("/api/v1/blobs/{digest}");
        let api = &api;
        async move {
            api.send(Method::PUT, &path, Some(ADMIN_TOKEN), Some(body))
                .await
        }
    };
    let wrong = put(HELLO, "hullo").await;
    assert!(
        problem(&wrong, StatusCode::UNPROCESSABLE_ENTITY, "invalid").contains("digest mismatch")
    );
    let missing = api
        .post(
            "/api/v1/services/api/releases",
            &format!(r#"{{"version":"1.0.0","artifacts":[{{"name":"bin","digest":"{HELLO}"}}]}}"#),
        )
        .await;
    assert!(
        problem(&missing, StatusCode::UNPROCESSABLE_ENTITY, "invalid").contains("were uploaded")
    );

    let stored = put(HELLO, "hello").await;
    assert_eq!(stored.status, StatusCode::CREATED);
    assert_eq!(
        (stored.body["digest"].as_str(), stored.body["size"].as_u64()),
        (Some(HELLO), Some(5))
    );
    assert_eq!(
        put(HELLO, "hello").await.status,
        StatusCode::OK,
        "the same bytes are kept once"
    );
    let head = api
        .send(
            Method::HEAD,
            &format!("/api/v1/blobs/{HELLO}"),
            Some(ADMIN_TOKEN),
            None,
        )
        .await;
    assert_eq!(head.status, StatusCode::OK);

    let oci = format!("oci://ghcr.io/acme/api@{HELLO}");
    let body = json!({ "version": "1.0.0", "artifacts": [
        { "name": "bin", "digest": HELLO },
        { "name": "image", "digest": HELLO, "uri": oci },
    ]});
    let created = api
        .post("/api/v1/services/api/releases", &body.to_string())
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    assert_eq!(created.body["artifacts"][0]["stored"], true);
    assert_eq!(created.body["artifacts"][1]["uri"], oci);

    let download = api
        .get("/api/v1/services/api/releases/1.0.0/artifacts/bin")
        .await;
    assert_eq!(download.status, StatusCode::OK);
    assert_eq!(download.body, Value::String("hello".into()));
    assert_eq!(download.headers["ferry-digest"], HELLO);
    assert_eq!(
        download.headers["repr-digest"],
        "sha-256=:LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=:"
    );
    let reference = api
        .get("/api/v1/services/api/releases/1.0.0/artifacts/image")
        .await;
    assert!(problem(&reference, StatusCode::CONFLICT, "not-stored").contains("ghcr.io"));
    let unknown = api
        .get("/api/v1/services/api/releases/1.0.0/artifacts/nope")
        .await;
    problem(&unknown, StatusCode::NOT_FOUND, "not-found");
}

#[tokio::test]
async fn oversized_uploads_and_bad_references_are_refused() {
    let api = Api::new().await.with_config().await;
    let big = "x".repeat(2048);
    let digest = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
    let reply = api
        .send(
            Method::PUT,
            &format!("/api/v1/blobs/{digest}"),
            Some(ADMIN_TOKEN),
            Some(&big),
        )
        .await;
    problem(&reply, StatusCode::PAYLOAD_TOO_LARGE, "too-large");
    let bad = api
        .send(
            Method::PUT,
            "/api/v1/blobs/md5:abc",
            Some(ADMIN_TOKEN),
            Some("x"),
        )
        .await;
    assert!(problem(&bad, StatusCode::BAD_REQUEST, "bad-request").contains("sha256:"));
    let other = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    let body = json!({ "version": "1.0.0", "artifacts": [{ "name": "image", "digest": HELLO, "uri": format!("oci://r/x@{other}") }]});
    let mismatch = api
        .post("/api/v1/services/api/releases", &body.to_string())
        .await;
    assert!(problem(&mismatch, StatusCode::UNPROCESSABLE_ENTITY, "invalid").contains("names"));
}

#[tokio::test]
async fn diff_lists_what_a_promotion_would_bring() {
    let api = Api::new().await;
    let config = ferry_core::config::parse(
        "[[environment]]\nname = \"dev\"\ntier = \"development\"\n[[environment]]\nname = \"prod\"\ntier = \"production\"\n[lifecycle.default]\nphases = [[\"dev\"], [\"prod\"]]\n[[service]]\nname = \"api\"\n",
    )
    .unwrap();
    api.post("/api/v1/apply", &json!({ "config": config }).to_string())
        .await;
    for (version, subject) in [("1.0.0", "first"), ("1.1.0", "second"), ("1.2.0", "third")] {
        let commit = json!({ "id": format!("{version}-id"), "type": "feat", "scope": null, "breaking": false, "subject": subject,
            "body": null, "footers": [], "authors": ["Ada"], "time": "2026-11-01T00:00:00Z" });
        let body = json!({ "version": version, "commits": [commit] });
        assert_eq!(
            api.post("/api/v1/services/api/releases", &body.to_string())
                .await
                .status,
            StatusCode::CREATED
        );
    }
    let deploy = |version: &'static str, environment: &'static str| {
        let store = api.store.clone();
        async move {
            let service = Name::parse("api").unwrap();
            let version = semver::Version::parse(version).unwrap();
            let deployment = store
                .create_deployment(
                    "admin",
                    &service,
                    &version,
                    &Name::parse(environment).unwrap(),
                    NewDeployment::default(),
                )
                .await
                .unwrap();
            store
                .set_deployment_status(
                    "admin",
                    deployment.id,
                    ferry_core::DeploymentStatus::Running,
                )
                .await
                .unwrap();
            store
                .set_deployment_status(
                    "admin",
                    deployment.id,
                    ferry_core::DeploymentStatus::Succeeded,
                )
                .await
                .unwrap();
        }
    };
    deploy("1.0.0", "prod").await;
    deploy("1.2.0", "dev").await;
    let diff = api.get("/api/v1/services/api/diff?from=dev&to=prod").await;
    assert_eq!(diff.status, StatusCode::OK, "{:?}", diff.body);
    assert_eq!(
        (
            diff.body["from"]["version"].as_str(),
            diff.body["to"]["version"].as_str()
        ),
        (Some("1.2.0"), Some("1.0.0"))
    );
    assert_eq!(diff.body["releases"], json!(["1.2.0", "1.1.0"]));
    let subjects: Vec<_> = diff.body["commits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["subject"].as_str().unwrap())
        .collect();
    assert_eq!(subjects, ["third", "second"]);
    let backwards = api.get("/api/v1/services/api/diff?from=prod&to=dev").await;
    assert_eq!(backwards.body["releases"], json!([]));
    let unknown = api.get("/api/v1/services/api/diff?from=dev&to=qa").await;
    problem(&unknown, StatusCode::NOT_FOUND, "not-found");
}

#[tokio::test]
async fn the_demo_shows_a_release_on_its_way_to_production() {
    let api = Api::new().await;
    ferry_server::load_demo(&api.store).await.unwrap();
    let status = api.get("/api/v1/status").await;
    let prod_api = status.body["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["service"] == "api" && c["environment"] == "prod")
        .unwrap()
        .clone();
    assert_eq!(prod_api["current"]["version"], "1.4.0");
    let check = api
        .get("/api/v1/services/api/releases/1.5.0/check?environment=prod")
        .await;
    assert_eq!(check.status, StatusCode::OK, "{:?}", check.body);
    let codes: Vec<&str> = check.body["blockers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"approvals-missing"), "{codes:?}");
    // Its plan's QA sign-off, required before prod, holds it too.
    assert!(codes.contains(&"task-required"), "{codes:?}");
    let plan = api.get("/api/v1/services/api/releases/1.5.0/plan").await;
    assert_eq!(plan.status, StatusCode::OK, "{:?}", plan.body);
    assert_eq!(plan.body["template"], "standard");
    assert_eq!(plan.body["owner"], "priya");
    assert_eq!(plan.body["milestones"].as_array().unwrap().len(), 3);
    assert!(plan.body["go_live"].is_string(), "{:?}", plan.body);
    let train = api.get("/api/v1/trains/spring").await;
    assert_eq!(
        train.body["members"],
        serde_json::json!(["api@1.5.1", "worker@0.9.0", "web@2.4.0"])
    );
    let train_plan = api.get("/api/v1/trains/spring/plan").await;
    assert_eq!(train_plan.status, StatusCode::OK, "{:?}", train_plan.body);
    for cleared in [
        "lifecycle-order",
        "evidence-missing",
        "change-request-missing",
    ] {
        assert!(
            !codes.contains(&cleared),
            "{cleared} should be cleared in the demo: {codes:?}"
        );
    }
    let changes = api.get("/api/v1/change-requests").await;
    assert_eq!(changes.body["items"][0]["state"], "approved");
    let verify = api.get("/api/v1/audit/verify").await;
    assert_eq!(verify.body["intact"], true);
}
