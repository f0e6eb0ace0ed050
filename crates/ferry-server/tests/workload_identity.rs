//! CI workload identity, end to end through the API: an issuer on loopback
//! publishes its keys (discovery and JWKS), the test signs ID tokens, and
//! ferry exchanges those a trust policy accepts for a short-lived token
//! with exactly the policy's grants. Every other token is refused with a
//! problem that says why.

mod common;

use axum::Json;
use axum::http::{Method, StatusCode};
use axum::routing::get;
use base64::Engine;
use common::{Api, problem};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

const KEY_A: &str = include_str!("fixtures/oidc/key-a.pem");
const KEY_B: &str = include_str!("fixtures/oidc/key-b.pem");
const JWKS: &str = include_str!("fixtures/oidc/jwks.json");
const SUBJECT: &str = "repo:acme/api:ref:refs/heads/main";

/// An OIDC issuer on 127.0.0.1 that publishes key `ferry-test-a` only.
async fn issuer() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let mut keys: Value = serde_json::from_str(JWKS).unwrap();
    keys["keys"]
        .as_array_mut()
        .unwrap()
        .retain(|key| key["kid"] == "ferry-test-a");
    let discovery = json!({ "issuer": url, "jwks_uri": format!("{url}/keys") });
    let app = axum::Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(move || async move { Json(discovery) }),
        )
        .route("/keys", get(move || async move { Json(keys) }));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

fn key(pem: &str) -> EncodingKey {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap();
    EncodingKey::from_rsa_der(&der)
}

fn sign(pem: &str, kid: &str, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, &key(pem)).unwrap()
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The claims of a GitHub Actions ID token for acme/api's main branch.
fn claims(issuer: &str) -> Value {
    json!({
        "iss": issuer, "aud": "ferry", "sub": SUBJECT,
        "iat": now(), "nbf": now() - 5, "exp": now() + 300,
        "repository": "acme/api", "ref": "refs/heads/main",
    })
}

/// A server whose ferry.toml trusts `issuer` for acme/api's main branch,
/// as a developer of service `api` only.
async fn server_trusting(issuer: &str) -> Api {
    let api = Api::new().await;
    let toml = format!(
        r#"
[[environment]]
name = "dev"
tier = "development"

[lifecycle.default]
phases = [["dev"]]

[[service]]
name = "api"

[[service]]
name = "web"

[[trust]]
issuer = "{issuer}"
subject = "repo:acme/api:ref:refs/heads/*"
grants = [{{ role = "developer", service = "api" }}]
ttl_minutes = 15
"#
    );
    let config = ferry_core::config::parse(&toml).unwrap();
    let body = json!({ "config": config, "dry_run": false }).to_string();
    let applied = api.post("/api/v1/apply", &body).await;
    assert_eq!(applied.status, StatusCode::OK, "{:?}", applied.body);
    api
}

async fn exchange(api: &Api, token: &str) -> common::Reply {
    let body = json!({ "token": token }).to_string();
    api.send(Method::POST, "/api/v1/oidc/exchange", None, Some(&body))
        .await
}

#[tokio::test]
async fn a_trusted_ci_job_gets_exactly_its_grants_for_a_short_while() {
    let issuer = issuer().await;
    let api = server_trusting(&issuer).await;

    let reply = exchange(&api, &sign(KEY_A, "ferry-test-a", &claims(&issuer))).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    assert_eq!(reply.body["subject"], SUBJECT);
    assert_eq!(
        reply.body["grants"],
        json!([{ "role": "developer", "service": "api" }])
    );
    let secret = reply.body["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("ferry_ci_"));
    let expires: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(reply.body["expires_at"].clone()).unwrap();
    let minutes = (expires - chrono::Utc::now()).num_minutes();
    assert!((14..=15).contains(&minutes), "15 minutes, not {minutes}");

    let send = |method: Method, path: &'static str, body: Option<String>| {
        let api = &api;
        let secret = secret.clone();
        async move { api.send(method, path, Some(&secret), body.as_deref()).await }
    };
    let whoami = send(Method::GET, "/api/v1/whoami", None).await;
    assert_eq!(whoami.body["user"]["name"], format!("ci:{SUBJECT}"));
    let release = json!({ "version": "1.0.0" }).to_string();
    let created = send(
        Method::POST,
        "/api/v1/services/api/releases",
        Some(release.clone()),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    assert_eq!(created.body["created_by"], format!("ci:{SUBJECT}"));
    // Nothing beyond the policy's grants.
    let other = send(Method::POST, "/api/v1/services/web/releases", Some(release)).await;
    problem(&other, StatusCode::FORBIDDEN, "forbidden");
    let promote = json!({ "service": "api", "version": "1.0.0", "environment": "dev" });
    let refused = send(
        Method::POST,
        "/api/v1/promotions",
        Some(promote.to_string()),
    )
    .await;
    problem(&refused, StatusCode::FORBIDDEN, "forbidden");
    let token = send(
        Method::POST,
        "/api/v1/tokens",
        Some(json!({ "name": "forever" }).to_string()),
    )
    .await;
    let detail = problem(&token, StatusCode::FORBIDDEN, "forbidden");
    assert!(detail.contains("CI workload"), "{detail}");

    // The exchange and what the workload did are in the audit trail, by name.
    let audit = api.get("/api/v1/audit?limit=1000").await;
    let events = audit.body["items"].as_array().unwrap();
    let by_ci = |action: &str| {
        events
            .iter()
            .any(|e| e["action"] == action && e["actor"] == format!("ci:{SUBJECT}"))
    };
    assert!(by_ci("token.exchange") && by_ci("release.create") && by_ci("access.denied"));
    let exchanged = events
        .iter()
        .find(|e| e["action"] == "token.exchange")
        .unwrap();
    assert!(
        !exchanged.to_string().contains(&secret),
        "no secret in the trail"
    );
}

#[tokio::test]
async fn untrusted_or_unverifiable_id_tokens_are_refused_and_say_why() {
    let issuer = issuer().await;
    let api = server_trusting(&issuer).await;
    let good = claims(&issuer);
    let with = |field: &str, value: Value| {
        let mut claims = good.clone();
        claims[field] = value;
        claims
    };
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "another audience",
            sign(KEY_A, "ferry-test-a", &with("aud", json!("sigstore"))),
            "audience",
        ),
        (
            "another issuer",
            sign(
                KEY_A,
                "ferry-test-a",
                &with("iss", json!("https://gitlab.example.com")),
            ),
            "issuer",
        ),
        (
            "another repository",
            sign(
                KEY_A,
                "ferry-test-a",
                &with("sub", json!("repo:evil/api:ref:refs/heads/main")),
            ),
            "subject",
        ),
        (
            "a forged signature",
            sign(KEY_B, "ferry-test-a", &good),
            "signature",
        ),
        (
            "an unknown key",
            sign(KEY_B, "ferry-test-b", &good),
            "ferry-test-b",
        ),
        (
            "an expired token",
            sign(KEY_A, "ferry-test-a", &with("exp", json!(now() - 600))),
            "expired",
        ),
        (
            "a token not valid yet",
            sign(KEY_A, "ferry-test-a", &with("nbf", json!(now() + 600))),
            "not valid before",
        ),
        ("not a token", "ey.not.a.jwt".to_owned(), "well-formed"),
    ];
    for (case, token, says) in cases {
        let reply = exchange(&api, &token).await;
        let detail = problem(&reply, StatusCode::UNAUTHORIZED, "unauthorized");
        assert!(detail.contains(says), "{case}: {detail:?} lacks {says:?}");
    }
    // Nothing was handed out.
    let audit = api.get("/api/v1/audit?limit=1000").await;
    assert!(
        !audit.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "token.exchange")
    );
    let verified = api.get("/api/v1/audit/verify").await;
    assert_eq!(verified.status, StatusCode::OK);
}

#[tokio::test]
async fn a_server_that_trusts_no_workload_says_how_to() {
    let api = Api::new().await;
    let reply = exchange(&api, "ey.a.b").await;
    let detail = problem(&reply, StatusCode::UNAUTHORIZED, "unauthorized");
    assert!(detail.contains("[[trust]]"), "{detail}");
}
