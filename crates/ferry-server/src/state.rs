//! What every handler shares.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ferry_core::environment::Window;
use ferry_core::windows::Recurrence;
use ferry_store::Store;
use ferry_store::blobs::BlobStore;
use tokio::sync::Notify;

/// The server's state, passed to handlers (never global).
#[derive(Debug, Clone)]
pub struct AppState {
    /// The database.
    pub store: Store,
    /// The artifact store.
    pub blobs: BlobStore,
    /// The largest artifact an upload may have, in bytes.
    pub max_artifact_bytes: u64,
    /// Hosts whose `http://` artifact references are accepted
    /// (`--allow-http-host`); `https://` and `oci://` need none.
    pub allow_http_hosts: Vec<String>,
    /// Windows already compiled: a gate check reads every window of an
    /// environment, and compiling a rule costs more than evaluating it.
    pub windows: WindowCache,
    /// How long a claimed job is leased to its agent between heartbeats.
    pub lease: chrono::Duration,
    /// Wake-ups between the handlers and the orchestrator of this process.
    pub wake: Wake,
    /// The key that seals secret variables: the data directory's key file
    /// once `run` has loaded it; by default a key of this process only
    /// (enough for a state that lives in memory), `None` if the operating
    /// system gave no random bytes for one.
    pub secret_key: Option<crate::secrets::SecretKey>,
    /// What every job of a deployment shares, assembled once.
    pub job_templates: JobTemplates,
    /// Verifies CI systems' OIDC ID tokens, keeping their issuers' keys.
    pub oidc: crate::oidc::Verifier,
    /// How long web sessions last.
    pub sessions: crate::web::SessionLimits,
    /// Failed web sign-ins of each user, to slow password guessing.
    pub sign_in_throttle: std::sync::Arc<crate::web::Throttle>,
    /// The audit chain's last verification from the web UI, with its time.
    pub last_audit_check: std::sync::Arc<crate::web::LastCheck>,
    /// How webhooks are sent.
    pub webhooks: crate::webhooks::WebhookSettings,
    /// The Slack app whose button clicks approve, when set up.
    pub slack: Option<Arc<crate::slack::SlackApp>>,
    /// The services' deploy processes and lifecycles as the orchestrator
    /// reads them, kept until the configuration changes.
    pub catalog: Arc<ferry_store::freshness::Cached<crate::orchestrator::Catalog>>,
    /// Which agent each job belongs to (that never changes), as agents'
    /// reports are checked against it.
    pub job_owners: Arc<Mutex<HashMap<i64, i64>>>,
    /// The status matrix, kept between writes.
    pub status: Arc<crate::overview::StatusModel>,
    /// API tokens already checked, kept until access changes.
    pub tokens: Arc<crate::credential_cache::CredentialCache<ferry_store::auth::Authenticated>>,
    /// Agent tokens already checked, kept until access changes.
    pub agent_tokens:
        Arc<crate::credential_cache::CredentialCache<ferry_store::agents::AgentRecord>>,
    /// When this process last recorded each agent's contact: it is written
    /// at most once a minute, without reading the database in between.
    pub agents_heard: Arc<Mutex<HashMap<i64, std::time::Instant>>>,
    /// This process among the replicas sharing the database: the name its
    /// leases on deployments are held under.
    pub replica: Arc<str>,
}

/// The default job lease: an agent that misses heartbeats this long has lost
/// its job.
pub const DEFAULT_LEASE: chrono::Duration = chrono::Duration::seconds(60);

impl AppState {
    /// A state with the default lease and fresh caches.
    pub fn new(store: Store, blobs: BlobStore, max_artifact_bytes: u64) -> Self {
        let replica = replica_name(store.backend()).into();
        Self {
            replica,
            store,
            blobs,
            max_artifact_bytes,
            allow_http_hosts: Vec::new(),
            windows: WindowCache::default(),
            lease: DEFAULT_LEASE,
            wake: Wake::default(),
            secret_key: crate::secrets::SecretKey::generate().ok(),
            job_templates: JobTemplates::default(),
            oidc: crate::oidc::Verifier::new(oidc_client()),
            sessions: crate::web::SessionLimits::default(),
            sign_in_throttle: std::sync::Arc::default(),
            last_audit_check: std::sync::Arc::default(),
            webhooks: crate::webhooks::WebhookSettings::default(),
            slack: None,
            status: Arc::default(),
            catalog: Arc::default(),
            job_owners: Arc::default(),
            tokens: Arc::default(),
            agent_tokens: Arc::default(),
            agents_heard: Arc::default(),
        }
    }
}

/// A name for this process that no other replica has: the host's, the
/// process id and the time it started. An SQLite database has one server
/// process, whose leases a restart after a crash takes back at once.
fn replica_name(backend: ferry_store::Backend) -> String {
    if backend == ferry_store::Backend::Sqlite {
        return "local".to_owned();
    }
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "ferry".to_owned());
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|since| since.as_nanos())
        .unwrap_or_default();
    format!("{host}/{}/{started:x}", std::process::id())
}

/// The HTTP client that fetches OIDC issuers' keys: bounded in time, no
/// redirects (a key set is fetched from the URL configured or discovered,
/// not from wherever a response points).
fn oidc_client() -> reqwest::Client {
    // reqwest is built without a TLS crypto provider of its own: the binary
    // installs ring, and a server made in a test gets it here.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default()
}

/// The part of an agent's job that every target of a deployment shares
/// (steps, health check, artifacts, variables), kept for a few minutes: a
/// deployment to hundreds of targets reads and decrypts it once, and all
/// its targets run the same process even if the configuration changes
/// while it runs. Decrypted secrets stay in memory no longer than that.
#[derive(Debug, Clone, Default)]
pub struct JobTemplates(Arc<Mutex<Templates>>);

type Templates = HashMap<i64, (std::time::Instant, Arc<JobTemplate>)>;

/// What every job of a deployment shares: the job with all its steps, and
/// where each segment of them (between manual steps) begins and ends.
#[derive(Debug, Clone)]
pub struct JobTemplate {
    /// The job, every step in it.
    pub job: ferry_api::AgentJob,
    /// The steps of each segment, as ranges of `job.steps`.
    pub segments: Vec<std::ops::Range<usize>>,
}

impl JobTemplates {
    /// How long a template is kept.
    const TTL: std::time::Duration = std::time::Duration::from_secs(300);
    /// The most templates kept; past it the oldest goes first.
    const CAPACITY: usize = 256;

    /// The template of deployment `id`, if a fresh one is kept.
    pub fn get(&self, id: i64) -> Option<Arc<JobTemplate>> {
        let templates = self.0.lock().ok()?;
        templates
            .get(&id)
            .filter(|(at, _)| at.elapsed() < Self::TTL)
            .map(|(_, template)| template.clone())
    }

    /// Keeps `template` for deployment `id`.
    pub fn put(&self, id: i64, template: Arc<JobTemplate>) {
        if let Ok(mut templates) = self.0.lock() {
            templates.retain(|_, (at, _)| at.elapsed() < Self::TTL);
            if templates.len() >= Self::CAPACITY
                && let Some(oldest) = templates
                    .iter()
                    .min_by_key(|(_, (at, _))| *at)
                    .map(|(id, _)| *id)
            {
                templates.remove(&oldest);
            }
            templates.insert(id, (std::time::Instant::now(), template));
        }
    }
}

/// Wake-ups inside one server process, so work moves on at once instead of
/// at the next poll. They only hurry things: the database stays the truth,
/// and every waiter also polls, so replicas that share a database (and miss
/// each other's wake-ups) still make progress.
#[derive(Debug, Clone, Default)]
pub struct Wake {
    /// One bell per agent, rung when it has a job waiting: only the agents
    /// with work look again, not every waiting agent.
    agents: Arc<Mutex<HashMap<i64, Arc<Notify>>>>,
    /// Something the orchestrator acts on happened (a promotion, a finished
    /// job, a cancel): it makes a pass now.
    pub orchestrator: Arc<Notify>,
    /// Log lines arrived: followers of a deployment's log look again.
    pub logs: Arc<Notify>,
}

impl Wake {
    /// The bell agent `agent` waits on.
    pub fn agent_bell(&self, agent: i64) -> Arc<Notify> {
        match self.agents.lock() {
            Ok(mut bells) => bells.entry(agent).or_default().clone(),
            // A poisoned map only costs the wake-up: the agent still polls.
            Err(_) => Arc::new(Notify::new()),
        }
    }

    /// Wakes `agents` if they are waiting for a job.
    pub fn agents(&self, agents: impl IntoIterator<Item = i64>) {
        if let Ok(bells) = self.agents.lock() {
            for agent in agents {
                if let Some(bell) = bells.get(&agent) {
                    bell.notify_waiters();
                }
            }
        }
    }

    /// Every `interval`, until the process ends, wakes the agents waiting
    /// here that have pending jobs: one read for all of them, the safety
    /// net for a job whose wake-up was lost (made by another replica whose
    /// notification did not arrive, say).
    pub async fn poll_pending_jobs(
        &self,
        store: ferry_store::Store,
        interval: std::time::Duration,
    ) {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let waiting = self.agents.lock().is_ok_and(|bells| !bells.is_empty());
            if !waiting {
                continue;
            }
            match store.agents_with_pending_jobs().await {
                Ok(agents) => self.agents(agents),
                Err(error) => tracing::debug!(%error, "looking for pending jobs failed"),
            }
        }
    }

    /// Wakes every follower of a log.
    pub fn logs(&self) {
        self.logs.notify_waiters();
    }

    /// Makes the orchestrator pass now (or right after the pass under way).
    pub fn orchestrator(&self) {
        self.orchestrator.notify_one();
    }
}

/// An environment's windows, compiled.
type Compiled = Arc<Vec<Recurrence>>;

/// Compiled deployment windows of an environment, by their text.
#[derive(Debug, Clone, Default)]
pub struct WindowCache(Arc<Mutex<HashMap<Vec<Window>, Compiled>>>);

impl WindowCache {
    /// The most rules kept; past it the cache starts afresh (rules rarely change).
    const CAPACITY: usize = 10_000;

    /// The compiled form of `windows`.
    pub fn get(&self, windows: &[Window]) -> Result<Compiled, String> {
        if let Some(found) = self
            .0
            .lock()
            .map_err(|_| "window cache poisoned".to_owned())?
            .get(windows)
        {
            return Ok(found.clone());
        }
        let compiled = Arc::new(
            windows
                .iter()
                .map(Recurrence::from_window)
                .collect::<Result<Vec<_>, _>>()?,
        );
        let mut cache = self
            .0
            .lock()
            .map_err(|_| "window cache poisoned".to_owned())?;
        if cache.len() >= Self::CAPACITY {
            cache.clear();
        }
        cache.insert(windows.to_vec(), compiled.clone());
        Ok(compiled)
    }
}
