//! The in-process harness both API test files use: a real router over a real
//! SQLite store in a temporary directory, requests sent with `oneshot`.
// Each test file uses a different part of the harness.
#![allow(dead_code, unused_imports)]

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use ferry_core::Name;
use ferry_server::AppState;
use ferry_store::Store;
use ferry_store::auth::{NewToken, NewUser};
use ferry_store::blobs::BlobStore;
use ferry_store::deployments::NewDeployment;
use ferry_store::jobs::JobKind;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

pub const ADMIN_TOKEN: &str = "ferry_admin_token_for_tests";

pub struct Api {
    pub app: Router,
    pub store: Store,
    pub _dir: tempfile::TempDir,
}

pub struct Reply {
    pub status: StatusCode,
    pub content_type: String,
    pub headers: axum::http::HeaderMap,
    pub body: Value,
}

impl Api {
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::connect(&format!(
            "sqlite://{}",
            dir.path().join("ferry.db").display()
        ))
        .await
        .unwrap();
        let admin = Name::parse("admin").unwrap();
        let hash = ferry_server::hash_secret(ADMIN_TOKEN);
        let token = NewToken {
            name: "bootstrap",
            secret_hash: &hash,
            prefix: "ferry_admin_",
            expires_at: None,
            grants: None,
        };
        store
            .bootstrap_admin(NewUser {
                name: &admin,
                email: None,
                admin: true,
                token,
            })
            .await
            .unwrap();
        let state = AppState::new(
            store.clone(),
            BlobStore::new(dir.path().join("artifacts")),
            1024,
        );
        Self {
            app: ferry_server::app(state),
            store,
            _dir: dir,
        }
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> Reply {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        if body.is_some() {
            request = request.header(header::CONTENT_TYPE, "application/json");
        }
        let request = request
            .body(Body::from(body.unwrap_or("").to_owned()))
            .unwrap();
        let response = self.app.clone().oneshot(request).await.unwrap();
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

    pub async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, Some(ADMIN_TOKEN), None).await
    }

    pub async fn post(&self, path: &str, body: &str) -> Reply {
        self.send(Method::POST, path, Some(ADMIN_TOKEN), Some(body))
            .await
    }
}

/// Asserts a problem+json reply with this status and type, returning its detail.
pub fn problem(reply: &Reply, status: StatusCode, slug: &str) -> String {
    assert_eq!(reply.status, status, "{:?}", reply.body);
    assert_eq!(reply.content_type, "application/problem+json");
    assert_eq!(
        reply.body["type"],
        format!("urn:ferry:problem:{slug}"),
        "{:?}",
        reply.body
    );
    assert_eq!(reply.body["status"], status.as_u16());
    assert!(reply.body["title"].as_str().is_some_and(|t| !t.is_empty()));
    reply.body["detail"].as_str().unwrap().to_owned()
}
