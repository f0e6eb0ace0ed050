//! The in-process harness both API test files use: a real router over a real
//! SQLite store in a temporary directory, requests sent with `oneshot`.
// Each test file uses a different part of the harness.
#![allow(dead_code, unused_imports)]

pub mod browser;

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

/// Runs every story (an `async fn(&Backend)` of the test file) once on
/// SQLite and once on PostgreSQL, as `sqlite::<story>` and `postgres::<story>`.
#[allow(unused_macros)]
macro_rules! stories {
    ($($story:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $story() {
                    super::$story(&crate::common::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $story() {
                    if let Some(backend) = crate::common::Backend::postgres() {
                        super::$story(&backend).await;
                    }
                }
            )*
        }
    };
}

pub mod world;

pub const ADMIN_TOKEN: &str = "ferry_admin_token_for_tests";

pub struct Api {
    pub app: Router,
    pub store: Store,
    pub _dir: tempfile::TempDir,
    /// The PostgreSQL schema made for this server's store, dropped (or
    /// given back) by [`Api::close`]; `None` on SQLite.
    pub scratch: Option<Scratch>,
    /// The key the server seals secrets with.
    pub secret_key: Option<ferry_server::secrets::SecretKey>,
}

/// Which database a test's server keeps its data in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// An SQLite file in the test's temporary directory.
    Sqlite,
    /// A schema of its own in the PostgreSQL database at this URL.
    Postgres(String),
}

impl Backend {
    /// PostgreSQL, from `FERRY_TEST_POSTGRES_URL` (a database the tests may
    /// create schemas in). Without it the PostgreSQL run is skipped with a
    /// message, except under CI (`CI` set), where a missing URL fails the run
    /// rather than letting it pass having tested nothing.
    pub fn postgres() -> Option<Self> {
        match std::env::var("FERRY_TEST_POSTGRES_URL") {
            Ok(url) if !url.trim().is_empty() => Some(Backend::Postgres(url)),
            _ => {
                assert!(
                    std::env::var_os("CI").is_none(),
                    "FERRY_TEST_POSTGRES_URL is not set: CI must run the PostgreSQL suites"
                );
                eprintln!("FERRY_TEST_POSTGRES_URL is not set: skipping the PostgreSQL run");
                None
            }
        }
    }

    /// A store for one test: a new SQLite file in `dir`, or a new schema.
    pub async fn store(&self, dir: &std::path::Path) -> (Store, Option<Scratch>) {
        match self {
            Backend::Sqlite => (sqlite_store(dir).await, None),
            Backend::Postgres(base) => {
                let schema = Scratch::schema(base).await;
                let url = schema_url(base, schema.name());
                (Store::connect(&url).await.unwrap(), Some(schema))
            }
        }
    }
}

/// The store of the SQLite file `ferry.db` in `dir`.
pub async fn sqlite_store(dir: &std::path::Path) -> Store {
    let url = format!("sqlite://{}", dir.join("ferry.db").display());
    Store::connect(&url).await.unwrap()
}

/// A schema a test made on a PostgreSQL server for itself, as the store's
/// contract tests do.
#[derive(Debug)]
pub enum Scratch {
    /// Dropped when the test is done.
    Schema { base: String, name: String },
    /// Borrowed from a pool of schemas (see `world::Template`): given back
    /// when the test is done, for the next one to fill anew.
    Leased {
        name: String,
        pool: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    },
}

/// A name no other test run uses.
pub fn random_name(prefix: &str) -> String {
    let mut random = [0u8; 6];
    getrandom::fill(&mut random).unwrap();
    format!("{prefix}_{}", hex::encode(random))
}

/// Runs `sql` (one statement or several) on the PostgreSQL server at `url`.
pub async fn postgres_execute(url: &str, sql: String) {
    use sqlx::Connection;
    let mut connection = sqlx::PgConnection::connect(&without_tls(url))
        .await
        .unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(&mut connection)
        .await
        .unwrap();
    connection.close().await.unwrap();
}

/// `url` without TLS unless it asks for `sslmode`: the tests talk to a
/// server on loopback, and a handshake costs tens of milliseconds in a
/// debug build, for every connection of every pool.
pub fn without_tls(url: &str) -> String {
    if url.contains("sslmode=") {
        url.to_owned()
    } else {
        let separator = if url.contains('?') { '&' } else { '?' };
        format!("{url}{separator}sslmode=disable")
    }
}

/// The URL of schema `schema` of the PostgreSQL database at `base`.
pub fn schema_url(base: &str, schema: &str) -> String {
    let separator = if base.contains('?') { '&' } else { '?' };
    without_tls(&format!("{base}{separator}options[search_path]={schema}"))
}

impl Scratch {
    /// A new schema of the database at `base`.
    pub async fn schema(base: &str) -> Self {
        let name = random_name("ferry_test");
        postgres_execute(base, format!("CREATE SCHEMA {name}")).await;
        Scratch::Schema {
            base: base.to_owned(),
            name,
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Scratch::Schema { name, .. } | Scratch::Leased { name, .. } => name,
        }
    }

    pub async fn drop_now(self) {
        match self {
            Scratch::Schema { base, name } => {
                postgres_execute(&base, format!("DROP SCHEMA {name} CASCADE")).await;
            }
            Scratch::Leased { name, pool } => pool.lock().unwrap().push(name),
        }
    }
}

pub struct Reply {
    pub status: StatusCode,
    pub content_type: String,
    pub headers: axum::http::HeaderMap,
    pub body: Value,
}

impl Api {
    pub async fn new() -> Self {
        Self::on(&Backend::Sqlite).await
    }

    /// A server (SQLite) with environment `dev`, the default lifecycle,
    /// service `api` deployed by another tool, and its release api@1.0.0.
    pub async fn with_a_release() -> Self {
        Self::with_a_release_on(&Backend::Sqlite).await
    }

    /// [`Api::with_a_release`] over a new database of `backend`.
    pub async fn with_a_release_on(backend: &Backend) -> Self {
        let api = Self::on(backend).await;
        let config = ferry_core::config::parse(
            "[[environment]]\nname = \"dev\"\ntier = \"development\"\n\
             [lifecycle.default]\nphases = [[\"dev\"]]\n[[service]]\nname = \"api\"\n",
        )
        .unwrap();
        api.store.apply("admin", &config, false).await.unwrap();
        let release = serde_json::json!({ "version": "1.0.0" }).to_string();
        let created = api.post("/api/v1/services/api/releases", &release).await;
        assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
        api
    }

    /// A server over a new database of `backend`, with the bootstrap
    /// administrator `admin` holding [`ADMIN_TOKEN`].
    pub async fn on(backend: &Backend) -> Self {
        Self::on_adjusted(backend, |_| {}).await
    }

    /// [`Api::on`], with the server's state adjusted by `adjust` (settings
    /// of `ferry serve` such as session limits) before it serves.
    pub async fn on_adjusted(backend: &Backend, adjust: impl FnOnce(&mut AppState)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (store, scratch) = backend.store(dir.path()).await;
        Self::over_adjusted(store, dir, scratch, None, adjust).await
    }

    /// A server over `store` (whose artifacts are kept in `dir`), with the
    /// bootstrap administrator (made unless the store has users), sealing
    /// secrets with `secret_key` (a new key when `None`).
    pub async fn over(
        store: Store,
        dir: tempfile::TempDir,
        scratch: Option<Scratch>,
        secret_key: Option<ferry_server::secrets::SecretKey>,
    ) -> Self {
        Self::over_adjusted(store, dir, scratch, secret_key, |_| {}).await
    }

    /// [`Api::over`], with the state adjusted by `adjust` before it serves.
    pub async fn over_adjusted(
        store: Store,
        dir: tempfile::TempDir,
        scratch: Option<Scratch>,
        secret_key: Option<ferry_server::secrets::SecretKey>,
        adjust: impl FnOnce(&mut AppState),
    ) -> Self {
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
        let mut state = AppState::new(
            store.clone(),
            BlobStore::new(dir.path().join("artifacts")),
            1024,
        );
        if secret_key.is_some() {
            state.secret_key = secret_key;
        }
        adjust(&mut state);
        Self {
            secret_key: state.secret_key.clone(),
            app: ferry_server::app(state),
            store,
            _dir: dir,
            scratch,
        }
    }

    /// Runs `sql` on the database behind the store's back, as an intruder
    /// with access to it would.
    pub async fn tamper(&self, sql: &str) {
        use sqlx::Connection as _;
        let url = match &self.scratch {
            None => format!("sqlite://{}", self._dir.path().join("ferry.db").display()),
            Some(Scratch::Schema { base, name }) => schema_url(base, name),
            Some(Scratch::Leased { .. }) => panic!("tamper with a server of its own"),
        };
        sqlx::any::install_default_drivers();
        let mut connection = sqlx::AnyConnection::connect(&url).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(&mut connection)
            .await
            .unwrap();
        connection.close().await.unwrap();
    }

    /// Closes the store and drops what was made for it on PostgreSQL.
    pub async fn close(self) {
        self.store.close().await;
        if let Some(scratch) = self.scratch {
            scratch.drop_now().await;
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

    /// A `GET` as the administrator with `headers`: the answer's status,
    /// headers and bytes as sent (not decoded).
    pub async fn get_raw(
        &self,
        path: &str,
        headers: &[(&str, &str)],
    ) -> (StatusCode, axum::http::HeaderMap, axum::body::Bytes) {
        let mut request = Request::builder()
            .method(Method::GET)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {ADMIN_TOKEN}"));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = self
            .app
            .clone()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let (status, headers) = (response.status(), response.headers().clone());
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, headers, bytes)
    }

    /// Like [`Api::send`], but a server-sent event stream is answered
    /// with its status and headers only (it would run until its deployment
    /// ends).
    pub async fn call(
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
        let body = if content_type.starts_with("text/event-stream") {
            Value::Null
        } else {
            let bytes = response.into_body().collect().await.unwrap().to_bytes();
            serde_json::from_slice(&bytes)
                .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into()))
        };
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
