//! ferry's HTTP server: the JSON API under `/api/v1` with its OpenAPI
//! document, token authentication, RFC 9457 problem details for every error,
//! health checks, the first-start bootstrap and the demo data.
//!
//! Handlers only translate: they check what the request says, call the store,
//! and turn the result into wire types. Rules live in `ferry-core`, data in
//! `ferry-store`.

mod agent_auth;
mod auth;
mod control;
mod convert;
mod demo;
mod error;
mod extract;
pub mod orchestrator;
mod routes;
mod state;

use std::path::PathBuf;

use axum::extract::DefaultBodyLimit;
use ferry_store::Store;
use ferry_store::auth::NewUser;
use ferry_store::blobs::BlobStore;
use tower_http::trace::TraceLayer;

pub use auth::hash_secret;
pub use demo::load as load_demo;
pub use error::ApiError;
pub use orchestrator::{TickReport, tick as orchestrator_tick};
pub use routes::openapi_document;
pub use state::AppState;

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
    /// The largest artifact an upload may have, in bytes.
    pub max_artifact_bytes: u64,
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
        .layer(TraceLayer::new_for_http())
}

/// The largest JSON body accepted (artifact uploads have their own limit).
const JSON_BODY_LIMIT: usize = 16 << 20;

/// The default largest artifact accepted: 4 GiB.
pub const DEFAULT_MAX_ARTIFACT_BYTES: u64 = 4 << 30;

/// Runs the server until SIGINT or SIGTERM.
pub async fn run(settings: Settings) -> Result<(), Error> {
    let data_dir_error = |source| Error::DataDir {
        path: settings.data_dir.clone(),
        source,
    };
    std::fs::create_dir_all(&settings.data_dir).map_err(data_dir_error)?;
    let url = match &settings.database_url {
        Some(url) => url.clone(),
        None => format!("sqlite://{}", settings.data_dir.join("ferry.db").display()),
    };
    let store = Store::connect(&url).await?;
    if let Some(secret) = bootstrap(&store).await? {
        write_bootstrap_token(&settings.data_dir, &secret).map_err(data_dir_error)?;
        println!("bootstrap token: {secret}");
        println!(
            "  (shown once; also in {}; it belongs to user \"admin\")",
            settings.data_dir.join("bootstrap-token").display()
        );
    }
    if settings.demo {
        demo::load(&store)
            .await
            .map_err(|e| Error::Startup(format!("loading the demo data failed: {e}")))?;
    }
    let listener = tokio::net::TcpListener::bind(&settings.listen)
        .await
        .map_err(|source| Error::Listen {
            address: settings.listen.clone(),
            source,
        })?;
    let address = listener.local_addr().map_err(Error::Serve)?;
    println!("listening on http://{address}");
    if settings.demo {
        println!(
            "demo: try `FERRY_SERVER=http://{address} FERRY_TOKEN=$(cat {}) ferry status`",
            settings.data_dir.join("bootstrap-token").display()
        );
    }
    tracing::info!(%address, database = ?store.backend(), "ferry is serving");
    let blobs = BlobStore::new(settings.data_dir.join("artifacts"));
    let state = AppState {
        store: store.clone(),
        blobs,
        max_artifact_bytes: settings.max_artifact_bytes,
        windows: Default::default(),
    };
    // The orchestrator drives deployments in the background; it stops after
    // the requests under way, and whatever it was doing is guarded in the
    // database, so the next start (or another replica) takes over.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let orchestrator = tokio::spawn(orchestrator::run(state.clone(), stop.clone()));
    let served = axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(Error::Serve);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    if let Err(error) = orchestrator.await {
        tracing::warn!(%error, "the orchestrator stopped abnormally");
    }
    served?;
    store.close().await;
    tracing::info!("ferry stopped");
    Ok(())
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

async fn shutdown_signal() {
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
