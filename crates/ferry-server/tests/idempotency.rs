//! POSTs sent with an `Idempotency-Key`: a retry gets the first answer and
//! the work is done once; the key of another request, a key whose request
//! is still processed and a malformed key are refused and change nothing;
//! keys of two tokens never meet; an answer carrying a secret is not kept
//! in clear. Every story runs on SQLite and on PostgreSQL.

#[macro_use]
mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::{ADMIN_TOKEN, Api, Backend, Reply, problem};
use ferry_server::idempotency::{Credential, fingerprint};
use ferry_store::idempotency::{Claim, KeyedRequest};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

stories!(
    a_retry_gets_the_first_answer_and_the_work_is_done_once,
    a_key_used_for_another_request_is_refused,
    a_key_whose_request_is_still_processed_is_answered_409,
    two_tokens_sending_one_key_send_two_requests,
    a_malformed_key_is_refused_and_changes_nothing,
    a_refusal_is_kept_like_a_success,
    a_secret_in_an_answer_is_replayed_but_not_kept_in_clear,
    an_answer_over_a_mebibyte_is_sent_but_not_kept,
);

const CHANGES: &str = "/api/v1/change-requests";

/// A server with environment `dev` and service `api`.
async fn server(backend: &Backend) -> Api {
    let api = Api::on(backend).await;
    let config = ferry_core::config::parse(
        "[[environment]]\nname = \"dev\"\ntier = \"development\"\n\
         [lifecycle.default]\nphases = [[\"dev\"]]\n[[service]]\nname = \"api\"\n",
    )
    .unwrap();
    api.store.apply("admin", &config, false).await.unwrap();
    api
}

fn change(title: &str) -> String {
    json!({ "title": title, "type": "normal", "service": "api", "environment": "dev" }).to_string()
}

/// Sends a request with `token` and, when given, the `Idempotency-Key`
/// header values `keys`.
async fn send(
    api: &Api,
    method: Method,
    path: &str,
    token: Option<&str>,
    keys: &[&str],
    body: &str,
) -> Reply {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    for key in keys {
        request = request.header("Idempotency-Key", *key);
    }
    let request = request.body(Body::from(body.to_owned())).unwrap();
    let response = api.app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into()));
    Reply {
        status,
        content_type,
        headers,
        body,
    }
}

/// POSTs `body` to `path` as the administrator with key `key`.
async fn post(api: &Api, path: &str, key: &str, body: &str) -> Reply {
    send(api, Method::POST, path, Some(ADMIN_TOKEN), &[key], body).await
}

fn replayed(reply: &Reply) -> bool {
    reply
        .headers
        .get("idempotent-replayed")
        .is_some_and(|v| v == "true")
}

async fn change_count(api: &Api) -> usize {
    api.get(CHANGES).await.body["items"]
        .as_array()
        .unwrap()
        .len()
}

/// The scope of the administrator's bootstrap token.
async fn admin_scope(api: &Api) -> String {
    let tokens = api.store.tokens(Some("admin")).await.unwrap();
    let bootstrap = tokens.iter().find(|t| t.name == "bootstrap").unwrap();
    Credential::ApiToken(bootstrap.id).scope()
}

async fn a_retry_gets_the_first_answer_and_the_work_is_done_once(backend: &Backend) {
    let api = server(backend).await;
    let key = "\"8e03978e-40d5-43e8-bc93-6894a57f9324\"";
    let first = post(&api, CHANGES, key, &change("Resize the pool")).await;
    assert_eq!(first.status, StatusCode::CREATED, "{:?}", first.body);
    assert!(!replayed(&first), "the first answer is no replay");
    let again = post(&api, CHANGES, key, &change("Resize the pool")).await;
    assert_eq!(again.status, StatusCode::CREATED);
    assert_eq!(again.body, first.body, "the same answer, the same id");
    assert_eq!(again.content_type, first.content_type);
    assert!(replayed(&again), "{:?}", again.headers);
    assert_eq!(change_count(&api).await, 1, "one change request, not two");
    // The key may be sent bare, as many clients do: it is the same key.
    let bare = post(
        &api,
        CHANGES,
        "8e03978e-40d5-43e8-bc93-6894a57f9324",
        &change("Resize the pool"),
    )
    .await;
    assert!(replayed(&bare));
    assert_eq!(bare.body, first.body);
    // A new key is a new request.
    let other = post(&api, CHANGES, "another-key", &change("Resize the pool")).await;
    assert_eq!(other.status, StatusCode::CREATED);
    assert_ne!(other.body["id"], first.body["id"]);
    assert_eq!(change_count(&api).await, 2);
    api.close().await;
}

async fn a_key_used_for_another_request_is_refused(backend: &Backend) {
    let api = server(backend).await;
    let first = post(&api, CHANGES, "k1", &change("Resize the pool")).await;
    assert_eq!(first.status, StatusCode::CREATED);

    let other_body = post(&api, CHANGES, "k1", &change("Rotate the keys")).await;
    let detail = problem(
        &other_body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency-key-reused",
    );
    assert!(
        detail.contains("\"k1\"") && detail.contains("another body"),
        "{detail}"
    );

    let freeze = json!({
        "name": "year-end", "start": "2030-12-20T00:00:00Z", "end": "2031-01-04T00:00:00Z",
        "environments": ["dev"],
    });
    let other_path = post(&api, "/api/v1/freezes", "k1", &freeze.to_string()).await;
    let detail = problem(
        &other_path,
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency-key-reused",
    );
    assert!(detail.contains("POST /api/v1/change-requests"), "{detail}");

    assert_eq!(change_count(&api).await, 1, "nothing more was raised");
    let freezes = api.get("/api/v1/freezes").await;
    assert_eq!(freezes.body["items"], json!([]), "nothing was frozen");
    // The first request, sent again, still gets its answer.
    let again = post(&api, CHANGES, "k1", &change("Resize the pool")).await;
    assert!(replayed(&again));
    assert_eq!(again.body, first.body);
    api.close().await;
}

async fn a_key_whose_request_is_still_processed_is_answered_409(backend: &Backend) {
    let api = server(backend).await;
    let body = change("Resize the pool");
    let scope = admin_scope(&api).await;
    let print = fingerprint("POST", CHANGES, body.as_bytes());
    let keyed = KeyedRequest {
        scope: &scope,
        key: "busy",
        fingerprint: &print,
        request: "POST /api/v1/change-requests",
    };
    // The first request holds the key (as it does while its handler runs).
    let hour = chrono::Duration::hours(1);
    let Claim::Held(hold) = api
        .store
        .claim_idempotency_key(&keyed, chrono::Utc::now(), hour, hour)
        .await
        .unwrap()
    else {
        panic!("a fresh key is held by its first request");
    };

    let retry = post(&api, CHANGES, "busy", &body).await;
    let detail = problem(&retry, StatusCode::CONFLICT, "idempotency-key-in-progress");
    assert!(detail.contains("still being processed"), "{detail}");
    assert_eq!(change_count(&api).await, 0, "the retry did nothing");
    // Another request with that key is refused as reusing it, even now.
    let other = post(&api, CHANGES, "busy", &change("Rotate the keys")).await;
    problem(
        &other,
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency-key-reused",
    );

    // The first request ended without an answer to keep (a 5xx): the key
    // is free, and the retry does the work.
    assert!(api.store.release_idempotency_key(&hold).await.unwrap());
    let retry = post(&api, CHANGES, "busy", &body).await;
    assert_eq!(retry.status, StatusCode::CREATED, "{:?}", retry.body);
    assert!(!replayed(&retry));
    assert_eq!(change_count(&api).await, 1);

    // A hold whose server died runs out: past it, the key is taken again.
    let keyed = KeyedRequest {
        key: "abandoned",
        ..keyed
    };
    let long_ago = chrono::Utc::now() - chrono::Duration::minutes(10);
    let claimed = api
        .store
        .claim_idempotency_key(&keyed, long_ago, chrono::Duration::minutes(2), hour * 24)
        .await
        .unwrap();
    assert!(matches!(claimed, Claim::Held(_)));
    let retry = post(&api, CHANGES, "abandoned", &body).await;
    assert_eq!(retry.status, StatusCode::CREATED, "{:?}", retry.body);
    assert_eq!(change_count(&api).await, 2);
    api.close().await;
}

async fn two_tokens_sending_one_key_send_two_requests(backend: &Backend) {
    let api = server(backend).await;
    let created = api
        .post("/api/v1/tokens", &json!({ "name": "laptop" }).to_string())
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let laptop = created.body["secret"].as_str().unwrap().to_owned();

    let body = change("Resize the pool");
    let mine = post(&api, CHANGES, "shared", &body).await;
    let theirs = send(
        &api,
        Method::POST,
        CHANGES,
        Some(&laptop),
        &["shared"],
        &body,
    )
    .await;
    assert_eq!(mine.status, StatusCode::CREATED);
    assert_eq!(theirs.status, StatusCode::CREATED, "{:?}", theirs.body);
    assert!(!replayed(&theirs), "one token never gets another's answer");
    assert_ne!(mine.body["id"], theirs.body["id"]);
    assert_eq!(change_count(&api).await, 2);
    // Each token's retry gets its own answer.
    let again = send(
        &api,
        Method::POST,
        CHANGES,
        Some(&laptop),
        &["shared"],
        &body,
    )
    .await;
    assert!(replayed(&again));
    assert_eq!(again.body, theirs.body);
    api.close().await;
}

async fn a_malformed_key_is_refused_and_changes_nothing(backend: &Backend) {
    let api = server(backend).await;
    let body = change("Resize the pool");
    let long = "k".repeat(256);
    for keys in [
        &[""][..],
        &["\"\""],
        &["a key"],
        &["\"unclosed"],
        &[long.as_str()],
        &["one", "two"],
    ] {
        let reply = send(&api, Method::POST, CHANGES, Some(ADMIN_TOKEN), keys, &body).await;
        let detail = problem(&reply, StatusCode::BAD_REQUEST, "bad-request");
        assert!(detail.contains("Idempotency-Key"), "{keys:?}: {detail}");
    }
    assert_eq!(change_count(&api).await, 0);
    // A request without a token is left to the route, which asks for one.
    let anonymous = send(&api, Method::POST, CHANGES, None, &["k"], &body).await;
    problem(&anonymous, StatusCode::UNAUTHORIZED, "unauthorized");
    // The longest key is fine.
    let longest = "k".repeat(255);
    let reply = post(&api, CHANGES, &longest, &body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    api.close().await;
}

async fn a_refusal_is_kept_like_a_success(backend: &Backend) {
    let api = server(backend).await;
    let web = json!({ "title": "Move", "type": "normal", "service": "web", "environment": "dev" })
        .to_string();
    let refused = post(&api, CHANGES, "web-change", &web).await;
    problem(&refused, StatusCode::NOT_FOUND, "not-found");
    let config = ferry_core::config::parse(
        "[[environment]]\nname = \"dev\"\ntier = \"development\"\n\
         [lifecycle.default]\nphases = [[\"dev\"]]\n\
         [[service]]\nname = \"api\"\n[[service]]\nname = \"web\"\n",
    )
    .unwrap();
    api.store.apply("admin", &config, false).await.unwrap();
    // The retry gets the first answer, though the request would pass now…
    let again = post(&api, CHANGES, "web-change", &web).await;
    problem(&again, StatusCode::NOT_FOUND, "not-found");
    assert!(replayed(&again));
    assert_eq!(again.body, refused.body);
    // …and passes as a new request, with a new key.
    let new = post(&api, CHANGES, "web-change-2", &web).await;
    assert_eq!(new.status, StatusCode::CREATED, "{:?}", new.body);
    api.close().await;
}

async fn a_secret_in_an_answer_is_replayed_but_not_kept_in_clear(backend: &Backend) {
    let api = server(backend).await;
    let body = json!({ "name": "ci" }).to_string();
    let first = post(&api, "/api/v1/tokens", "token-key", &body).await;
    assert_eq!(first.status, StatusCode::CREATED, "{:?}", first.body);
    let secret = first.body["secret"].as_str().unwrap().to_owned();
    let again = post(&api, "/api/v1/tokens", "token-key", &body).await;
    assert!(replayed(&again));
    assert_eq!(
        again.body["secret"],
        secret.as_str(),
        "the lost answer is given again"
    );
    let tokens = api.store.tokens(Some("admin")).await.unwrap();
    assert_eq!(tokens.iter().filter(|t| t.name == "ci").count(), 1);

    let scope = admin_scope(&api).await;
    let print = fingerprint("POST", "/api/v1/tokens", body.as_bytes());
    let keyed = KeyedRequest {
        scope: &scope,
        key: "token-key",
        fingerprint: &print,
        request: "POST /api/v1/tokens",
    };
    let hour = chrono::Duration::hours(1);
    let Claim::Taken(record) = api
        .store
        .claim_idempotency_key(&keyed, chrono::Utc::now(), hour, hour)
        .await
        .unwrap()
    else {
        panic!("the key is taken");
    };
    let kept = record.answer.expect("the answer is kept");
    assert_eq!(kept.status, 201);
    assert!(!kept.body.contains(&secret), "kept sealed, not in clear");
    assert!(!kept.body.contains("ferry_"), "{}", kept.body);
    api.close().await;
}

/// An answer larger than the server keeps (1 MiB) is sent, and its key is
/// freed: a retry is a new request.
async fn an_answer_over_a_mebibyte_is_sent_but_not_kept(backend: &Backend) {
    let api = server(backend).await;
    let notes = "n".repeat(ferry_core::limits::NOTES.max);
    let body = json!({ "version": "3.0.0", "notes": notes }).to_string();
    let path = "/api/v1/services/api/releases";
    let first = post(&api, path, "big-answer", &body).await;
    assert_eq!(
        first.status,
        StatusCode::CREATED,
        "{:?}",
        first.content_type
    );
    assert!(!replayed(&first));
    let again = post(&api, path, "big-answer", &body).await;
    problem(&again, StatusCode::CONFLICT, "conflict");
    assert!(!replayed(&again), "the answer was not kept");
    api.close().await;
}
