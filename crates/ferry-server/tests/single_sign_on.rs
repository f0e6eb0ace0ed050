//! Signing in to the web UI with an OpenID Connect provider, against a
//! provider on loopback: discovery, the authorization endpoint (which signs
//! in whoever the test says is at the keyboard), the token endpoint (which
//! checks the client secret and the PKCE verifier) and its keys. The
//! browser is the in-process one of the other web stories. Every story
//! runs on SQLite and on PostgreSQL.

#[macro_use]
mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use common::browser::{Browser, Page};
use common::{Api, Backend};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

stories!(
    a_person_signs_in_with_the_provider_and_their_groups_follow_it,
    a_sign_in_that_did_not_start_here_or_that_the_provider_refused_keeps_the_browser_out,
    an_id_token_that_does_not_verify_or_names_nobody_signs_no_one_in,
    settings_naming_a_group_that_does_not_exist_are_refused,
);

const KEY_A: &str = include_str!("fixtures/oidc/key-a.pem");
const KEY_B: &str = include_str!("fixtures/oidc/key-b.pem");
const JWKS: &str = include_str!("fixtures/oidc/jwks.json");
const CLIENT_ID: &str = "ferry-web";
const SECRET: &str = "s3cret: with + and %";

/// What the provider does: who is at its keyboard, and how it spoils the
/// ID token when a story asks it to.
#[derive(Default)]
struct Conduct {
    /// The claims of the person signing in (besides the standard ones).
    person: Value,
    /// Sign the ID token with key B, which the provider does not publish.
    wrong_key: bool,
    /// Put this nonce in the ID token instead of the one sent.
    nonce: Option<String>,
}

/// A code handed out: what the token endpoint checks it against.
struct Grant {
    challenge: String,
    nonce: String,
    redirect_uri: String,
    person: Value,
}

#[derive(Clone)]
struct Provider {
    issuer: String,
    conduct: Arc<Mutex<Conduct>>,
    codes: Arc<Mutex<HashMap<String, Grant>>>,
}

impl Provider {
    /// A provider on 127.0.0.1 that publishes key `ferry-test-a`.
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let provider = Provider {
            issuer: issuer.clone(),
            conduct: Arc::default(),
            codes: Arc::default(),
        };
        let mut keys: Value = serde_json::from_str(JWKS).unwrap();
        keys["keys"]
            .as_array_mut()
            .unwrap()
            .retain(|key| key["kid"] == "ferry-test-a");
        let discovery = json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}/authorize"),
            "token_endpoint": format!("{issuer}/token"),
            "jwks_uri": format!("{issuer}/keys"),
        });
        let app = axum::Router::new()
            .route(
                "/.well-known/openid-configuration",
                get(move || async move { Json(discovery) }),
            )
            .route("/keys", get(move || async move { Json(keys) }))
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .with_state(provider.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        provider
    }

    /// The next sign-in at the provider is this person's.
    fn at_the_keyboard(&self, username: &str, groups: &[&str]) {
        self.conduct.lock().unwrap().person = json!({
            "sub": format!("id-{username}"),
            "preferred_username": username,
            "email": format!("{username}@example.com"),
            "groups": groups,
        });
    }

    fn conduct(&self, change: impl FnOnce(&mut Conduct)) {
        change(&mut self.conduct.lock().unwrap());
    }
}

/// The authorization endpoint: the person at the keyboard signs in at once.
async fn authorize(
    State(provider): State<Provider>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    assert_eq!(query["response_type"], "code");
    assert_eq!(query["client_id"], CLIENT_ID);
    assert_eq!(query["code_challenge_method"], "S256");
    assert!(query["scope"].split(' ').any(|scope| scope == "openid"));
    let code = format!("code-{}", provider.codes.lock().unwrap().len());
    let grant = Grant {
        challenge: query["code_challenge"].clone(),
        nonce: query["nonce"].clone(),
        redirect_uri: query["redirect_uri"].clone(),
        person: provider.conduct.lock().unwrap().person.clone(),
    };
    provider.codes.lock().unwrap().insert(code.clone(), grant);
    Redirect::to(&format!(
        "{}?code={code}&state={}",
        query["redirect_uri"], query["state"]
    ))
    .into_response()
}

/// The token endpoint: client_secret_basic, one use of each code, PKCE.
async fn token(
    State(provider): State<Provider>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let refuse = |error: &str| (StatusCode::BAD_REQUEST, Json(json!({ "error": error })));
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Basic "))
        .and_then(|value| base64::engine::general_purpose::STANDARD.decode(value).ok())
        .map(|bytes| String::from_utf8(bytes).unwrap());
    let expected = format!("{CLIENT_ID}:{}", "s3cret%3A%20with%20%2B%20and%20%25");
    if basic.as_deref() != Some(expected.as_str()) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "error": "invalid_client" })),
        )
            .into_response();
    }
    let Some(grant) = provider.codes.lock().unwrap().remove(&form["code"]) else {
        return refuse("invalid_grant").into_response();
    };
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(form["code_verifier"].as_bytes()));
    if challenge != grant.challenge || form["redirect_uri"] != grant.redirect_uri {
        return refuse("invalid_grant").into_response();
    }
    let conduct = provider.conduct.lock().unwrap();
    let now = chrono::Utc::now().timestamp();
    let mut claims = json!({
        "iss": provider.issuer, "aud": CLIENT_ID, "iat": now, "exp": now + 300,
        "nonce": conduct.nonce.clone().unwrap_or(grant.nonce),
    });
    for (name, value) in grant.person.as_object().unwrap() {
        claims[name] = value.clone();
    }
    let pem = if conduct.wrong_key { KEY_B } else { KEY_A };
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("ferry-test-a".to_owned());
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap();
    let id_token =
        jsonwebtoken::encode(&header, &claims, &EncodingKey::from_rsa_der(&der)).unwrap();
    Json(json!({ "access_token": "a", "token_type": "Bearer", "id_token": id_token }))
        .into_response()
}

/// A server whose ferry.toml signs people in with `provider`, the secret
/// in a file, mapping the provider's `release-team` to ferry's group
/// `release-managers` (which exists and may approve).
async fn server(backend: &Backend, provider: &Provider) -> (Api, tempfile::TempDir) {
    let api = Api::with_a_release_on(backend).await;
    let created = api
        .post(
            "/api/v1/groups",
            &json!({ "name": "release-managers" }).to_string(),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let secrets = tempfile::tempdir().unwrap();
    let secret_file = secrets.path().join("oidc-secret");
    std::fs::write(&secret_file, format!("{SECRET}\n")).unwrap();
    let applied = apply(
        &api,
        provider,
        &secret_file.display().to_string(),
        "release-managers",
    )
    .await;
    assert_eq!(applied.status, StatusCode::OK, "{:?}", applied.body);
    (api, secrets)
}

async fn apply(api: &Api, provider: &Provider, secret_file: &str, group: &str) -> common::Reply {
    let toml = format!(
        "[[environment]]\nname = \"dev\"\ntier = \"development\"\n\
         [lifecycle.default]\nphases = [[\"dev\"]]\n[[service]]\nname = \"api\"\n\
         [oidc]\nissuer = \"{}\"\nclient_id = \"{CLIENT_ID}\"\n\
         client_secret_file = \"{secret_file}\"\nlabel = \"Example SSO\"\n\
         [oidc.groups]\n\"release-team\" = \"{group}\"\n",
        provider.issuer
    );
    let config = ferry_core::config::parse(&toml).unwrap();
    api.post(
        "/api/v1/apply",
        &json!({ "config": config, "dry_run": false }).to_string(),
    )
    .await
}

/// The browser goes to the provider from `/login/oidc?next=…` and comes
/// back with what the provider said: the callback's answer.
async fn sign_in(api: &Api, browser: &mut Browser, next: &str) -> Page {
    let start = browser
        .get(
            api,
            &format!("/login/oidc?next={}", common::browser::encode(next)),
        )
        .await;
    assert_eq!(start.status, StatusCode::SEE_OTHER, "{}", start.html);
    let at_provider = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(start.location())
        .send()
        .await
        .unwrap();
    let back = at_provider.headers()[header::LOCATION].to_str().unwrap();
    let callback = back
        .strip_prefix("http://127.0.0.1:8740")
        .expect("the provider sends the browser back to ferry's callback");
    browser.get(api, callback).await
}

/// The members of `group`.
async fn members(api: &Api, group: &str) -> Vec<String> {
    let groups = api.get("/api/v1/groups").await;
    groups.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == group)
        .map(|g| serde_json::from_value(g["members"].clone()).unwrap())
        .unwrap_or_default()
}

async fn a_person_signs_in_with_the_provider_and_their_groups_follow_it(backend: &Backend) {
    let provider = Provider::start().await;
    let (api, _secrets) = server(backend, &provider).await;
    let mut browser = Browser::default();
    let form = browser.get(&api, "/login?next=%2Fservices%2Fapi").await;
    assert!(
        form.html
            .contains("href=\"/login/oidc?next=/services/api\">Sign in with Example SSO</a>"),
        "the sign-in page offers the provider: {}",
        form.html
    );

    // Carol's first sign-in makes her, in the group her provider group
    // maps to, and brings her where she was going.
    provider.at_the_keyboard("carol", &["release-team", "cooks"]);
    let back = sign_in(&api, &mut browser, "/services/api").await;
    assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.html);
    assert_eq!(back.location(), "/services/api");
    assert!(browser.holds("ferry_session") && !browser.holds("ferry_oidc"));
    let dashboard = browser.get(&api, "/").await;
    assert_eq!(dashboard.status, StatusCode::OK);
    assert!(dashboard.html.contains("carol"), "{}", dashboard.html);
    let users = api.get("/api/v1/users").await;
    let carol = users.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|user| user["name"] == "carol")
        .expect("carol was made");
    assert_eq!(carol["email"], "carol@example.com", "{carol:?}");
    assert_eq!(members(&api, "release-managers").await, ["carol"]);
    let audit = api.get("/api/v1/audit?actor=oidc").await;
    let actions: Vec<&str> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|event| event["action"].as_str())
        .collect();
    assert!(
        actions.contains(&"user.create") && actions.contains(&"group.add"),
        "{actions:?}"
    );

    // Out of the team at the provider: out of the group at the next sign-in.
    provider.at_the_keyboard("carol", &[]);
    let mut later = Browser::default();
    let back = sign_in(&api, &mut later, "/").await;
    assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.html);
    assert!(members(&api, "release-managers").await.is_empty());
    api.close().await;
}

async fn a_sign_in_that_did_not_start_here_or_that_the_provider_refused_keeps_the_browser_out(
    backend: &Backend,
) {
    let provider = Provider::start().await;
    let (api, _secrets) = server(backend, &provider).await;
    provider.at_the_keyboard("carol", &[]);

    // A code sent to a browser that did not ask for it (login CSRF).
    let mut stranger = Browser::default();
    let forged = stranger
        .get(&api, "/login/oidc/callback?code=code-0&state=abc")
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(
        forged.html.contains("did not start in this browser"),
        "{}",
        forged.html
    );
    assert!(!stranger.holds("ferry_session"));

    // The right browser, but another state than the one it sent.
    let mut browser = Browser::default();
    browser.get(&api, "/login/oidc").await;
    let mixed = browser
        .get(&api, "/login/oidc/callback?code=code-0&state=not-the-one")
        .await;
    assert_eq!(mixed.status, StatusCode::FORBIDDEN);
    assert!(!browser.holds("ferry_session") && !browser.holds("ferry_oidc"));

    // The provider said no.
    let mut browser = Browser::default();
    let start = browser.get(&api, "/login/oidc").await;
    let state = start
        .location()
        .split(['?', '&'])
        .find_map(|pair| pair.strip_prefix("state="))
        .unwrap()
        .to_owned();
    let refused = browser
        .get(
            &api,
            &format!(
                "/login/oidc/callback?error=access_denied&error_description=Not%20today&state={state}"
            ),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(
        refused
            .html
            .contains("The provider did not sign you in: Not today."),
        "{}",
        refused.html
    );
    assert!(!browser.holds("ferry_session"));
    api.close().await;
}

async fn an_id_token_that_does_not_verify_or_names_nobody_signs_no_one_in(backend: &Backend) {
    let provider = Provider::start().await;
    let (api, _secrets) = server(backend, &provider).await;
    let refused = |page: &Page, said: &str| {
        assert!(page.html.contains(said), "{said}: {}", page.html);
        assert!(
            !page.headers.get_all(header::SET_COOKIE).iter().any(|c| c
                .to_str()
                .unwrap()
                .starts_with("ferry_session=")
                && !c.to_str().unwrap().contains("Max-Age=0")),
            "no session"
        );
    };

    provider.at_the_keyboard("carol", &[]);
    provider.conduct(|c| c.wrong_key = true);
    let page = sign_in(&api, &mut Browser::default(), "/").await;
    assert_eq!(page.status, StatusCode::BAD_GATEWAY);
    refused(&page, "signature does not verify");

    provider.conduct(|c| {
        c.wrong_key = false;
        c.nonce = Some("another sign-in's".to_owned());
    });
    let page = sign_in(&api, &mut Browser::default(), "/").await;
    refused(&page, "nonce");

    provider.conduct(|c| c.nonce = None);
    provider.at_the_keyboard("Carol Smith", &[]);
    let page = sign_in(&api, &mut Browser::default(), "/").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    refused(&page, "is not a ferry user name");

    // A disabled user stays out, whatever the provider says.
    provider.at_the_keyboard("carol", &[]);
    let first = sign_in(&api, &mut Browser::default(), "/").await;
    assert_eq!(first.status, StatusCode::SEE_OTHER);
    let disabled = api.post("/api/v1/users/carol/disable", "").await;
    assert_eq!(disabled.status, StatusCode::OK, "{:?}", disabled.body);
    let page = sign_in(&api, &mut Browser::default(), "/").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    refused(&page, "is disabled");
    assert!(
        api.get("/api/v1/users").await.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|user| user["name"] != "carol-smith"),
        "nobody was made of a name ferry refused"
    );
    api.close().await;
}

async fn settings_naming_a_group_that_does_not_exist_are_refused(backend: &Backend) {
    let provider = Provider::start().await;
    let api = Api::with_a_release_on(backend).await;
    let refused = apply(&api, &provider, "/etc/ferry/oidc-secret", "nobody-here").await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let problem = common::problem(&refused, StatusCode::UNPROCESSABLE_ENTITY, "invalid");
    assert!(
        problem.contains("\"nobody-here\", which does not exist"),
        "{problem}"
    );
    let page = Browser::default().get(&api, "/login").await;
    assert!(
        !page.html.contains("/login/oidc"),
        "no button: nothing was applied"
    );
    api.close().await;
}
