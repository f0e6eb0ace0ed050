//! ferry's HTTP server: the JSON API under `/api/v1` with its OpenAPI
//! document, token authentication, RFC 9457 problem details for every error,
//! health checks, the first-start bootstrap and the demo data.
//!
//! Handlers only translate: they check what the request says, call the store,
//! and turn the result into wire types. Rules live in `ferry-core`, data in
//! `ferry-store`.

mod agent_admin;
mod agent_auth;
mod auth;
mod authorize;
mod calendar;
mod calendar_feeds;
mod change_control;
mod comparison;
mod connection;
mod control;
mod convert;
mod credential_cache;
mod demo;
mod deployments;
mod dora;
mod error;
mod evidence_pack;
mod extract;
mod freeze_watch;
pub mod idempotency;
mod locking;
mod log_follow;
pub mod mail;
pub mod oidc;
mod openapi;
pub mod orchestrator;
mod overview;
pub mod passwords;
mod planning;
mod promotion;
mod recovery;
mod release_notes;
mod reviews;
mod routes;
pub mod secrets;
mod single_sign_on;
pub mod slack;
mod state;
mod subscriptions;
pub mod telemetry;
mod trains;
mod web;
pub mod webhooks;

use std::net::SocketAddr;
use std::path::PathBuf;

use axum::extract::DefaultBodyLimit;
use ferry_store::Store;
use ferry_store::auth::NewUser;
use ferry_store::blobs::BlobStore;
use tower_http::trace::TraceLayer;

pub use agent_auth::generate_agent_secret;
pub use auth::{Secret, hash_secret};
pub use demo::{DEFAULT_PORT as DEFAULT_DEMO_PORT, load as load_demo};
pub use error::ApiError;
pub use orchestrator::{TickReport, tick as orchestrator_tick};
pub use recovery::recover_admin;
pub use routes::openapi_document;
pub use state::{AppState, DEFAULT_LEASE};
pub use web::SessionLimits;

/// The settings of `ferry serve`.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The address to listen on, such as `127.0.0.1:8740` (port 0 picks one).
    pub listen: String,
    /// The database URL; `None` means the SQLite file `ferry.db` in `data_dir`.
    pub database_url: Option<String>,
    /// Where ferry keeps its files.
    pub data_dir: PathBuf,
    /// Load sample data into an empty database.
    pub demo: bool,
    /// The port on 127.0.0.1 where the demo's `hello` service is deployed.
    pub demo_port: u16,
    /// The largest artifact an upload may have, in bytes.
    pub max_artifact_bytes: u64,
    /// Hosts whose `http://` artifact references are accepted.
    pub allow_http_hosts: Vec<String>,
    /// How long a job is leased to its agent between heartbeats.
    pub lease: chrono::Duration,
    /// How long web sessions last.
    pub sessions: SessionLimits,
    /// This server's public address, the `source` of the events it sends
    /// (`/ferry` when unset).
    pub public_url: Option<String>,
    /// Shortens the webhook retry schedule (1: as it is).
    pub webhook_retry_scale: f64,
    /// The SMTP relay e-mail subscriptions are sent through; without it
    /// they are refused.
    pub mailer: Option<std::sync::Arc<mail::Mailer>>,
    /// The Slack app whose button clicks approve; without it the
    /// interactivity route answers 404.
    pub slack: Option<std::sync::Arc<slack::SlackApp>>,
}

/// Why the server could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The data directory could not be created or written.
    #[error("cannot use data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The database could not be opened or migrated.
    #[error(transparent)]
    Store(#[from] ferry_store::StoreError),
    /// The address could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Listen {
        /// The address.
        address: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Start-up data (bootstrap, demo) could not be written.
    #[error("{0}")]
    Startup(String),
    /// The server failed while serving.
    #[error("server error: {0}")]
    Serve(std::io::Error),
}

/// The application with its middleware.
pub fn app(state: AppState) -> axum::Router {
    routes::router(state)
        .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT))
        .layer(TraceLayer::new_for_http().make_span_with(
            |request: &axum::http::Request<axum::body::Body>| {
                // As tower-http's default span, but a calendar feed's secret
                // in the query (`token=`) is never written to the log.
                tracing::debug_span!(
                    "request",
                    method = %request.method(),
                    uri = %routes::redacted_uri(request.uri()),
                    version = ?request.version(),
                )
            },
        ))
}

/// The largest JSON body accepted (artifact uploads have their own limit).
pub(crate) const JSON_BODY_LIMIT: usize = 16 << 20;

/// The default largest artifact accepted: 4 GiB.
pub const DEFAULT_MAX_ARTIFACT_BYTES: u64 = 4 << 30;

/// Runs the server until SIGINT or SIGTERM.
pub async fn run(settings: Settings) -> Result<(), Error> {
    Server::start(settings)
        .await?
        .serve(shutdown_signal())
        .await
}

/// A server that has its database and listens, but does not answer yet:
/// between [`Server::start`] and [`Server::serve`] its address and store are
/// known, so agents running in the same process (`ferry serve
/// --local-agent`) get their tokens and the URL to reach it before the
/// first request.
#[derive(Debug)]
pub struct Server {
    settings: Settings,
    store: Store,
    listener: tokio::net::TcpListener,
    address: SocketAddr,
    /// The demo was loaded at this start: its releases are to be promoted.
    demo_loaded: bool,
    /// The key that seals secret variables, from the data directory.
    secret_key: secrets::SecretKey,
}

impl Server {
    /// Opens (and migrates) the database, binds the address, bootstraps an
    /// empty database, loads the demo when asked; prints `listening on URL`,
    /// then, on the first start, the bootstrap token.
    pub async fn start(settings: Settings) -> Result<Self, Error> {
        let data_dir_error = |source| Error::DataDir {
            path: settings.data_dir.clone(),
            source,
        };
        std::fs::create_dir_all(&settings.data_dir).map_err(data_dir_error)?;
        private(&settings.data_dir, 0o700).map_err(data_dir_error)?;
        let url = match &settings.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", settings.data_dir.join("ferry.db").display()),
        };
        let store = Store::connect(&url).await?;
        // The database holds hashes of every token and the audit trail: only
        // the server's user reads it.
        for file in ["ferry.db", "ferry.db-wal", "ferry.db-shm"] {
            let path = settings.data_dir.join(file);
            if path.exists() {
                private(&path, 0o600).map_err(data_dir_error)?;
            }
        }
        let secret_key = secrets::SecretKey::load(&settings.data_dir, &store)
            .await
            .map_err(|e| Error::Startup(e.to_string()))?;
        // The address is bound before anything is made for the first start:
        // a port in use then stops the start before the bootstrap token
        // exists, so the next start still makes it and shows it.
        let listener = tokio::net::TcpListener::bind(&settings.listen)
            .await
            .map_err(|source| Error::Listen {
                address: settings.listen.clone(),
                source,
            })?;
        let address = listener.local_addr().map_err(Error::Serve)?;
        let bootstrap_token = bootstrap(&store).await?;
        if let Some(secret) = &bootstrap_token {
            write_bootstrap_token(&settings.data_dir, secret).map_err(data_dir_error)?;
        }
        let demo_loaded = settings.demo
            && demo::load_with_port(&store, settings.demo_port)
                .await
                .map_err(|e| Error::Startup(format!("loading the demo data failed: {e}")))?;
        println!("listening on http://{address}");
        // Shown once the server listens, so that the token is never shown by
        // a start that then fails.
        if let Some(secret) = bootstrap_token {
            println!("bootstrap token: {secret}");
            println!(
                "  (shown once; also in {}; it belongs to user \"admin\")",
                settings.data_dir.join("bootstrap-token").display()
            );
        }
        if settings.demo {
            println!(
                "demo: try `FERRY_SERVER=http://{address} FERRY_TOKEN=$(cat {}) ferry status`",
                settings.data_dir.join("bootstrap-token").display()
            );
        }
        if demo_loaded {
            println!(
                "demo: who may do what — rosa approves in prod, dana develops api, omar deploys to \
                 dev and staging, priya manages releases and the release group approves anywhere \
                 (see `ferry role list` and `ferry role list --permissions`)"
            );
            println!(
                "demo: the local agent deploys hello 1.0.0 to dev, serving http://127.0.0.1:{}/; \
                 then hello 1.1.0, which fails its health check and is rolled back \
                 (watch with `ferry deploy list`)",
                settings.demo_port
            );
        }
        tracing::info!(%address, database = ?store.backend(), "ferry is serving");
        Ok(Self {
            settings,
            store,
            listener,
            address,
            demo_loaded,
            secret_key,
        })
    }

    /// The address it listens on (the real port when `listen` asked for 0).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Its database.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Serves until `shutdown` completes, then finishes the requests under
    /// way and stops the orchestrator.
    pub async fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), Error> {
        let Self {
            settings,
            store,
            listener,
            demo_loaded,
            secret_key,
            ..
        } = self;
        let blobs = BlobStore::new(settings.data_dir.join("artifacts"));
        let mut state = AppState::new(store.clone(), blobs, settings.max_artifact_bytes);
        state.lease = settings.lease;
        state.sessions = settings.sessions;
        state.allow_http_hosts = settings.allow_http_hosts.clone();
        state.secret_key = Some(secret_key);
        state.webhooks = webhooks::WebhookSettings {
            source: settings
                .public_url
                .clone()
                .unwrap_or_else(|| "/ferry".to_string()),
            retry_scale: settings.webhook_retry_scale,
            mail: settings.mailer.clone(),
        };
        state.slack = settings.slack.clone();
        // The orchestrator drives deployments in the background; it stops after
        // the requests under way, and whatever it was doing is guarded in the
        // database, so the next start (or another replica) takes over.
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let orchestrator = tokio::spawn(orchestrator::run(state.clone(), stop.clone()));
        let webhooks = tokio::spawn(webhooks::run(state.clone(), stop.clone()));
        let upkeep = tokio::spawn(telemetry::upkeep());
        // Read models learn of other replicas' writes; waiters for jobs
        // and log lines hear of them too.
        let read_models = {
            let (store, wake) = (store.clone(), state.wake.clone());
            tokio::spawn(async move {
                store
                    .watch(move |heard| match heard {
                        ferry_store::freshness::Heard::Logs => wake.logs(),
                        ferry_store::freshness::Heard::Jobs(agents) => wake.agents(agents),
                    })
                    .await;
            })
        };
        let job_poll = {
            let (store, wake) = (store.clone(), state.wake.clone());
            tokio::spawn(async move {
                wake.poll_pending_jobs(store, routes::agents::POLL_INTERVAL)
                    .await;
            })
        };
        let traces = telemetry::Traces::start();
        let demo = demo_loaded.then(|| tokio::spawn(demo::promote(store.clone(), stop.clone())));
        let served = axum::serve(
            connection::Listener(listener),
            app(state).into_make_service(),
        )
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(Error::Serve);
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        upkeep.abort();
        read_models.abort();
        job_poll.abort();
        if let Err(error) = orchestrator.await {
            tracing::warn!(%error, "the orchestrator stopped abnormally");
        }
        // Attempts under way finish in their own tasks or run out their
        // lease; the next start sends what is left.
        webhooks.abort();
        if let Some(task) = demo
            && let Err(error) = task.await
        {
            tracing::warn!(%error, "the demo's promotions stopped abnormally");
        }
        traces.stop().await;
        served?;
        store.close().await;
        tracing::info!("ferry stopped");
        Ok(())
    }
}

/// On an empty database, creates the `admin` user and returns its token's
/// secret (once: a restart finds the user and returns `None`).
async fn bootstrap(store: &Store) -> Result<Option<String>, Error> {
    let secret = auth::Secret::generate().map_err(|e| Error::Startup(e.to_string()))?;
    let admin = ferry_core::Name::parse("admin").expect("\"admin\" is a valid name");
    let new = NewUser {
        name: &admin,
        email: None,
        admin: true,
        token: secret.new_token("bootstrap"),
    };
    Ok(store.bootstrap_admin(new).await?.map(|_| secret.secret))
}

/// Gives `path` the permission bits `mode` (Unix only): the data directory
/// and the database are the server's user's alone.
fn private(path: &std::path::Path, mode: u32) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
    Ok(())
}

fn write_bootstrap_token(data_dir: &std::path::Path, secret: &str) -> std::io::Result<()> {
    use std::io::Write;
    let path = data_dir.join("bootstrap-token");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    writeln!(file, "{secret}")
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests under way");
}
