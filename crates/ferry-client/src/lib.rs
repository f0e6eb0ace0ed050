//! A typed HTTP client for ferry's JSON API (`/api/v1`), used by the CLI and
//! the agent.
//!
//! One method per endpoint, taking and returning the wire types of
//! [`ferry_api`], so the client and the server cannot disagree on a shape.
//! Rules kept here:
//!
//! - every request carries `Authorization: Bearer <token>` when a token is set;
//! - a non-2xx answer becomes [`Error::Api`] with the server's RFC 9457
//!   [`Problem`], so callers can tell problems apart by their stable `type`;
//! - a server that cannot be reached is [`Error::Unreachable`], whose message
//!   names the URL tried and how to fix it;
//! - every POST carries an `Idempotency-Key` of its own, and a request whose
//!   answer was lost is sent again a few times when it cannot do its work
//!   twice ([`retry`] says when), except the agent's reports, which the
//!   agent's loop sends again itself;
//! - the audit export is streamed ([`Download`]), never held whole in memory.
//!
//! The client uses rustls without a built-in crypto provider: the program must
//! install one (`rustls::crypto::ring::default_provider().install_default()`)
//! before calling [`Client::new`].

mod access;
mod agent;
mod calendar;
mod control;
mod evidence_pack;
mod metrics;
mod planning;
pub mod retry;
mod reviews;
mod stream;

pub use stream::{Download, LogEvent, LogFollow};
mod variables;
mod webhooks;

pub use access::GrantQuery;
pub use calendar::CalendarQuery;
pub use evidence_pack::EvidencePackQuery;

use std::future::Future;
use std::time::Duration;

use ferry_api::{
    AddEvidence, ApplyRequest, ApplyResult, AuditEvent, AuditQuery, AuditVerification,
    BlobUploaded, CalendarEntry, ChangeActionBody, ChangeRequest, Check, CreateChange,
    CreateRelease, CreateToken, CreateUser, CreatedToken, CreatedUser, Decide, Decision,
    Deployment, Diff, Environment, Evidence, Freeze, FreezeSpec, Lifecycle, Page, PageQuery,
    Problem, Promote, Release, ReportDeployment, Service, Status, Token, User, Whoami,
};
use ferry_api::{
    Agent, AgentHeartbeat, AgentHello, AgentJob, CreateAgentToken, CreatedAgentToken, FinishAck,
    FinishJob, HeartbeatAck,
};
use reqwest::{Method, RequestBuilder, Response, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The address `ferry serve` listens on unless told otherwise.
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:8740";

/// How long to wait for a connection: a server that does not answer within
/// this is as good as down, and a CLI should say so rather than hang.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The most of an unexpected (non-problem) error body quoted in a message.
const BODY_EXCERPT_CHARS: usize = 300;

/// What can go wrong talking to a ferry server.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server address is not an `http://` or `https://` URL.
    #[error("{server:?} is not a server URL ({reason}); expected something like {DEFAULT_SERVER}")]
    InvalidServerUrl {
        /// The address as given.
        server: String,
        /// Why it was refused.
        reason: String,
    },
    /// The HTTP client could not be set up (TLS configuration).
    #[error("cannot set up the HTTP client: {0}")]
    Setup(#[source] reqwest::Error),
    /// No connection could be made to the server.
    #[error(
        "cannot reach the ferry server at {server} ({reason}); start one with `ferry serve`, \
         or point to it with --server URL or FERRY_SERVER"
    )]
    Unreachable {
        /// The server URL tried.
        server: String,
        /// The innermost cause, such as "Connection refused".
        reason: String,
        /// The underlying error.
        #[source]
        source: reqwest::Error,
    },
    /// The server answered with problem details (RFC 9457). Boxed: a
    /// refusal by the gates carries its blockers, and every `Result` of
    /// this client should stay small.
    #[error("{}", .0.detail)]
    Api(Box<Problem>),
    /// The server answered with an error status but no problem details, as a
    /// proxy or something that is not ferry would.
    #[error("{url} answered {status} without problem details: {body}")]
    UnexpectedStatus {
        /// The URL requested.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The start of the body.
        body: String,
    },
    /// The request was sent but failed before a full answer came back
    /// (timeout, connection reset).
    #[error("request to {url} failed: {reason}")]
    Transport {
        /// The URL requested.
        url: String,
        /// The innermost cause.
        reason: String,
        /// The underlying error.
        #[source]
        source: reqwest::Error,
    },
    /// The answer is not the JSON the API documents: the server is probably
    /// of another version.
    #[error("unexpected answer from {url}: {source}")]
    Decode {
        /// The URL requested.
        url: String,
        /// What did not match.
        #[source]
        source: serde_json::Error,
    },
}

impl Error {
    /// The server's problem details, when the server refused the request.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            Error::Api(problem) => Some(problem.as_ref()),
            _ => None,
        }
    }
}

/// Filters of `GET /api/v1/deployments`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DeploymentQuery {
    /// Only deployments of this service.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Only deployments to this environment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// At most this many.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// Filters of `GET /api/v1/change-requests`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ChangeQuery {
    /// Only change requests in this state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Only change requests of this type (`standard`, `normal`, `emergency`).
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Only change requests of this service.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Only change requests in this environment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// Only emergency changes implemented and not yet reviewed.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub needs_review: bool,
}

/// A client of one ferry server, cheap to clone.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    token: Option<String>,
}

impl std::fmt::Debug for Client {
    // The token is a secret: never print it, even in debug output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("server", &self.base.as_str())
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl Client {
    /// A client of the server at `server_url` (such as `http://127.0.0.1:8740`),
    /// authenticating with `token` when given.
    ///
    /// # Panics
    ///
    /// When no rustls crypto provider is installed (see the crate docs).
    pub fn new(server_url: &str, token: Option<String>) -> Result<Self, Error> {
        let invalid = |reason: String| Error::InvalidServerUrl {
            server: server_url.to_owned(),
            reason,
        };
        if !server_url.contains("://") {
            return Err(invalid(
                "it has no scheme: start it with http:// or https://".to_owned(),
            ));
        }
        let base = Url::parse(server_url.trim()).map_err(|error| invalid(error.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(invalid(format!(
                "the scheme is {:?}, not http or https",
                base.scheme()
            )));
        }
        if base.cannot_be_a_base() || base.host().is_none() {
            return Err(invalid("it names no host".to_owned()));
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("ferry/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(Error::Setup)?;
        Ok(Self { http, base, token })
    }

    /// The server's URL, as it is shown in messages.
    pub fn server(&self) -> &str {
        self.base.as_str().trim_end_matches('/')
    }

    /// Who the token belongs to.
    pub async fn whoami(&self) -> Result<Whoami, Error> {
        self.get(&["whoami"], None::<&()>).await
    }

    /// Makes the server match a configuration, or with `dry_run` only plans it.
    pub async fn apply(&self, request: &ApplyRequest) -> Result<ApplyResult, Error> {
        self.send_json(Method::POST, &["apply"], request).await
    }

    /// One page of environments.
    pub async fn environments(&self, page: &PageQuery) -> Result<Page<Environment>, Error> {
        self.get(&["environments"], Some(page)).await
    }

    /// One page of lifecycles.
    pub async fn lifecycles(&self, page: &PageQuery) -> Result<Page<Lifecycle>, Error> {
        self.get(&["lifecycles"], Some(page)).await
    }

    /// One page of services.
    pub async fn services(&self, page: &PageQuery) -> Result<Page<Service>, Error> {
        self.get(&["services"], Some(page)).await
    }

    /// One service.
    pub async fn service(&self, name: &str) -> Result<Service, Error> {
        self.get(&["services", name], None::<&()>).await
    }

    /// One page of a service's releases.
    pub async fn releases(&self, service: &str, page: &PageQuery) -> Result<Page<Release>, Error> {
        self.get(&["services", service, "releases"], Some(page))
            .await
    }

    /// Creates a release of `service`.
    pub async fn create_release(
        &self,
        service: &str,
        release: &CreateRelease,
    ) -> Result<Release, Error> {
        self.send_json(Method::POST, &["services", service, "releases"], release)
            .await
    }

    /// One release.
    pub async fn release(&self, service: &str, version: &str) -> Result<Release, Error> {
        self.get(&["services", service, "releases", version], None::<&()>)
            .await
    }

    /// Abandons a release: it may not be promoted any more.
    pub async fn abandon_release(&self, service: &str, version: &str) -> Result<Release, Error> {
        let path = ["services", service, "releases", version, "abandon"];
        let response = self.send(self.request(Method::POST, &path)).await?;
        decode(response).await
    }

    /// One page of deployments, newest first, filtered by `query`.
    pub async fn deployments(&self, query: &DeploymentQuery) -> Result<Page<Deployment>, Error> {
        self.get(&["deployments"], Some(query)).await
    }

    /// One deployment.
    pub async fn deployment(&self, id: i64) -> Result<Deployment, Error> {
        self.get(&["deployments", &id.to_string()], None::<&()>)
            .await
    }

    /// Cancels a deployment: at once when it has not started, after its
    /// current batch when it runs.
    pub async fn cancel_deployment(&self, id: i64) -> Result<Deployment, Error> {
        self.send_json(
            Method::POST,
            &["deployments", &id.to_string(), "cancel"],
            &ferry_api::CancelDeployment {},
        )
        .await
    }

    /// Decides on a paused deployment: continue, abort, retry, skip or
    /// roll back.
    pub async fn decide_deployment(
        &self,
        id: i64,
        decision: &ferry_api::DeploymentDecision,
    ) -> Result<Deployment, Error> {
        self.send_json(
            Method::POST,
            &["deployments", &id.to_string(), "decisions"],
            decision,
        )
        .await
    }

    /// Puts an earlier release back (`POST /api/v1/rollbacks`).
    pub async fn roll_back(&self, rollback: &ferry_api::Rollback) -> Result<Deployment, Error> {
        self.send_json(Method::POST, &["rollbacks"], rollback).await
    }

    /// The lines of a deployment's log after line `after`.
    pub async fn deployment_logs(&self, id: i64, after: i64) -> Result<ferry_api::LogPage, Error> {
        self.get(
            &["deployments", &id.to_string(), "logs"],
            Some(&[("after", after)]),
        )
        .await
    }

    /// Follows a deployment's log live (server-sent events) from line
    /// `after`; read it with [`LogFollow::next`].
    pub async fn follow_deployment_logs(&self, id: i64, after: i64) -> Result<LogFollow, Error> {
        let url = self.url(&["deployments", &id.to_string(), "logs", "stream"]);
        let request = self
            .http
            .get(url.clone())
            .query(&[("after", after)])
            .header(reqwest::header::ACCEPT, "text/event-stream");
        let response = self.send(request).await?;
        Ok(LogFollow {
            download: Download {
                response,
                url: url.to_string(),
            },
            buffer: Vec::new(),
        })
    }

    /// Reports the progress of a deployment run by another tool.
    pub async fn report_deployment(
        &self,
        id: i64,
        report: &ReportDeployment,
    ) -> Result<Deployment, Error> {
        self.send_json(
            Method::POST,
            &["deployments", &id.to_string(), "report"],
            report,
        )
        .await
    }

    /// Approves or rejects a release for an environment; the caller's new
    /// decision replaces their earlier one.
    pub async fn decide(
        &self,
        service: &str,
        version: &str,
        decision: &Decide,
    ) -> Result<Decision, Error> {
        let path = ["services", service, "releases", version, "decisions"];
        self.send_json(Method::POST, &path, decision).await
    }

    /// The decisions on a release for an environment.
    pub async fn decisions(
        &self,
        service: &str,
        version: &str,
        environment: &str,
    ) -> Result<Page<Decision>, Error> {
        let path = ["services", service, "releases", version, "decisions"];
        self.get(&path, Some(&[("environment", environment)])).await
    }

    /// Records evidence that a release was tested in an environment.
    pub async fn add_evidence(
        &self,
        service: &str,
        version: &str,
        evidence: &AddEvidence,
    ) -> Result<Evidence, Error> {
        let path = ["services", service, "releases", version, "evidence"];
        self.send_json(Method::POST, &path, evidence).await
    }

    /// The evidence of a release in an environment.
    pub async fn evidence(
        &self,
        service: &str,
        version: &str,
        environment: &str,
    ) -> Result<Page<Evidence>, Error> {
        let path = ["services", service, "releases", version, "evidence"];
        self.get(&path, Some(&[("environment", environment)])).await
    }

    /// Evaluates every gate of promoting a release into an environment now,
    /// as an emergency promotion when a justification is given. A blocked
    /// promotion is a result (`allowed: false`), not an error.
    pub async fn check(
        &self,
        service: &str,
        version: &str,
        environment: &str,
        emergency_reason: Option<&str>,
    ) -> Result<Check, Error> {
        let path = ["services", service, "releases", version, "check"];
        let mut query = vec![("environment", environment)];
        if let Some(reason) = emergency_reason {
            query.push(("emergency_reason", reason));
        }
        self.get(&path, Some(&query)).await
    }

    /// Promotes a release into an environment. A refusal by the gates is
    /// [`Error::Api`] with the problem `gate-blocked`, whose `blockers` say
    /// why and how to clear each.
    pub async fn promote(&self, promotion: &Promote) -> Result<Deployment, Error> {
        self.send_json(Method::POST, &["promotions"], promotion)
            .await
    }

    /// Raises a change request (in `draft`).
    pub async fn create_change(&self, change: &CreateChange) -> Result<ChangeRequest, Error> {
        self.send_json(Method::POST, &["change-requests"], change)
            .await
    }

    /// Change requests, newest first, filtered by `query`.
    pub async fn changes(&self, query: &ChangeQuery) -> Result<Page<ChangeRequest>, Error> {
        self.get(&["change-requests"], Some(query)).await
    }

    /// One change request.
    pub async fn change(&self, id: i64) -> Result<ChangeRequest, Error> {
        self.get(&["change-requests", &id.to_string()], None::<&()>)
            .await
    }

    /// Moves a change request by a verb (`submit`, `assess`, `approve`,
    /// `reject`, `defer`, `schedule`, `implement`, `review`, `close`).
    pub async fn act_on_change(
        &self,
        id: i64,
        action: &str,
        body: &ChangeActionBody,
    ) -> Result<ChangeRequest, Error> {
        let path = ["change-requests", &id.to_string(), action];
        self.send_json(Method::POST, &path, body).await
    }

    /// Every freeze.
    pub async fn freezes(&self) -> Result<Page<Freeze>, Error> {
        self.get(&["freezes"], None::<&()>).await
    }

    /// Adds a freeze.
    pub async fn create_freeze(&self, freeze: &FreezeSpec) -> Result<Freeze, Error> {
        self.send_json(Method::POST, &["freezes"], freeze).await
    }

    /// Removes a freeze; the answer is the freeze removed.
    pub async fn delete_freeze(&self, name: &str) -> Result<FreezeSpec, Error> {
        let response = self
            .send(self.request(Method::DELETE, &["freezes", name]))
            .await?;
        decode(response).await
    }

    /// The deployment windows, freezes and scheduled changes of the next
    /// `days` days (the server's default when `None`), by start.
    pub async fn calendar(&self, days: Option<u32>) -> Result<Page<CalendarEntry>, Error> {
        match days {
            Some(days) => self.get(&["calendar"], Some(&[("days", days)])).await,
            None => self.get(&["calendar"], None::<&()>).await,
        }
    }

    /// The environment × service matrix.
    pub async fn status(&self) -> Result<Status, Error> {
        self.get(&["status"], None::<&()>).await
    }

    /// One page of the audit trail: the events `query` filters, in its order.
    pub async fn audit(&self, query: &AuditQuery) -> Result<Page<AuditEvent>, Error> {
        self.get(&["audit"], Some(query)).await
    }

    /// Checks the audit trail's hash chain. A broken chain is a result
    /// (`intact: false`), not an error.
    pub async fn verify_audit(&self) -> Result<AuditVerification, Error> {
        self.get(&["audit", "verify"], None::<&()>).await
    }

    /// The whole audit trail as JSON Lines, to be read chunk by chunk.
    pub async fn export_audit(&self) -> Result<Download, Error> {
        let url = self.url(&["audit", "export"]);
        let response = self.send(self.http.get(url.clone())).await?;
        Ok(Download {
            response,
            url: url.to_string(),
        })
    }

    /// Whether the server stores bytes with this digest (`sha256:<hex>`).
    pub async fn has_blob(&self, digest: &str) -> Result<bool, Error> {
        match self
            .send(self.request(Method::HEAD, &["blobs", digest]))
            .await
        {
            Ok(_) => Ok(true),
            Err(Error::Api(problem)) if problem.status == 404 => Ok(false),
            // A HEAD answer has no body, so a 404 arrives without its problem.
            Err(Error::UnexpectedStatus { status: 404, .. }) => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// Uploads bytes under their digest; the server checks it.
    pub async fn upload_blob(
        &self,
        digest: &str,
        body: impl Into<reqwest::Body>,
    ) -> Result<BlobUploaded, Error> {
        let request = self
            .request(Method::PUT, &["blobs", digest])
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(body);
        decode(self.send(request).await?).await
    }

    /// An artifact of a release, to be read chunk by chunk; its digest is in
    /// the `ferry-digest` header.
    pub async fn download_artifact(
        &self,
        service: &str,
        version: &str,
        name: &str,
    ) -> Result<Download, Error> {
        let url = self.url(&["services", service, "releases", version, "artifacts", name]);
        let response = self.send(self.http.get(url.clone())).await?;
        Ok(Download {
            response,
            url: url.to_string(),
        })
    }

    /// The release notes rendered as `md`, `html` or `json`.
    pub async fn release_notes(
        &self,
        service: &str,
        version: &str,
        format: &str,
    ) -> Result<String, Error> {
        let request = self
            .request(
                Method::GET,
                &["services", service, "releases", version, "notes"],
            )
            .query(&[("format", format)]);
        let response = self.send(request).await?;
        let url = response.url().to_string();
        response.text().await.map_err(|source| Error::Transport {
            url,
            reason: root_cause(&source),
            source,
        })
    }

    /// What promoting a service from one environment to another would bring.
    pub async fn diff(&self, service: &str, from: &str, to: &str) -> Result<Diff, Error> {
        self.get(
            &["services", service, "diff"],
            Some(&[("from", from), ("to", to)]),
        )
        .await
    }

    /// One page of API tokens (admins see everyone's, others their own).
    pub async fn tokens(&self, page: &PageQuery) -> Result<Page<Token>, Error> {
        self.get(&["tokens"], Some(page)).await
    }

    /// Creates a token for the caller; its secret is in the answer only.
    pub async fn create_token(&self, token: &CreateToken) -> Result<CreatedToken, Error> {
        self.send_json(Method::POST, &["tokens"], token).await
    }

    /// Revokes a token: it is refused from now on.
    pub async fn revoke_token(&self, id: i64) -> Result<Token, Error> {
        let response = self
            .send(self.request(Method::DELETE, &["tokens", &id.to_string()]))
            .await?;
        decode(response).await
    }

    /// One page of users.
    pub async fn users(&self, page: &PageQuery) -> Result<Page<User>, Error> {
        self.get(&["users"], Some(page)).await
    }

    /// Creates a user with a first token, whose secret is in the answer only.
    pub async fn create_user(&self, user: &CreateUser) -> Result<CreatedUser, Error> {
        self.send_json(Method::POST, &["users"], user).await
    }

    /// `/api/v1/` followed by `segments`, each percent-encoded as needed (a
    /// version's build metadata may hold `+`).
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        url.set_query(None);
        url.set_fragment(None);
        // Checked in `new`: the base URL can be a base, so this cannot fail.
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(["api", "v1"]).extend(segments);
        }
        url
    }

    fn request(&self, method: Method, segments: &[&str]) -> RequestBuilder {
        self.http.request(method, self.url(segments))
    }

    async fn get<T: DeserializeOwned, Q: Serialize + ?Sized>(
        &self,
        segments: &[&str],
        query: Option<&Q>,
    ) -> Result<T, Error> {
        let mut request = self.request(Method::GET, segments);
        if let Some(query) = query {
            request = request.query(query);
        }
        decode(self.send(request).await?).await
    }

    async fn send_json<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        method: Method,
        segments: &[&str],
        body: &B,
    ) -> Result<T, Error> {
        let response = self.send(self.request(method, segments).json(body)).await?;
        decode(response).await
    }

    /// Like [`Client::send_json`], but sent once and without an
    /// `Idempotency-Key`: for the agent's reports, which the server takes
    /// twice harmlessly (by job and attempt) and the agent sends again itself.
    async fn send_json_once<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        method: Method,
        segments: &[&str],
        body: &B,
    ) -> Result<T, Error> {
        let request = self.prepare(self.request(method, segments).json(body))?;
        decode(self.attempt(request).await?).await
    }

    /// Sends with the token; turns every non-2xx answer into an error. A
    /// POST gets a fresh `Idempotency-Key`, and a request whose answer was
    /// lost is sent again as [`retry`] allows; the error is the last one.
    async fn send(&self, request: RequestBuilder) -> Result<Response, Error> {
        let mut request = self.prepare(request)?;
        if request.method() == Method::POST
            && let Some(key) = retry::new_key()
            && let Ok(value) = reqwest::header::HeaderValue::from_str(&key)
        {
            request.headers_mut().insert(retry::IDEMPOTENCY_KEY, value);
        }
        let resendable = retry::may_resend(request.method(), request.headers());
        let mut delays = retry::DELAYS.iter();
        let mut attempts = 1;
        loop {
            // A body that is a stream cannot be copied: it is sent once.
            let copy = resendable.then(|| request.try_clone()).flatten();
            let error = match self.attempt(request).await {
                Ok(response) => return Ok(response),
                Err(error) => error,
            };
            match (copy, delays.next()) {
                (Some(copy), Some(delay)) if retry::worth_resending(&error) => {
                    tokio::time::sleep(*delay).await;
                    request = copy;
                    attempts += 1;
                }
                _ => return Err(tried(error, attempts)),
            }
        }
    }

    /// The request with the token.
    fn prepare(&self, mut request: RequestBuilder) -> Result<reqwest::Request, Error> {
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        request.build().map_err(|source| self.send_error(source))
    }

    /// Sends `request` once; every non-2xx answer is an error.
    async fn attempt(&self, request: reqwest::Request) -> Result<Response, Error> {
        let response = self
            .http
            .execute(request)
            .await
            .map_err(|source| self.send_error(source))?;
        if response.status().is_success() {
            Ok(response)
        } else {
            Err(error_from(response).await)
        }
    }

    fn send_error(&self, source: reqwest::Error) -> Error {
        let reason = root_cause(&source);
        if source.is_connect() {
            Error::Unreachable {
                server: self.server().to_owned(),
                reason,
                source,
            }
        } else {
            let url = source
                .url()
                .map_or_else(|| self.server().to_owned(), Url::to_string);
            Error::Transport {
                url,
                reason,
                source,
            }
        }
    }
}

/// Fetches every page of a list: `fetch` is called with the cursor of the
/// previous page until a page has no `next_cursor`.
///
/// ```no_run
/// # async fn example(client: &ferry_client::Client) -> Result<(), ferry_client::Error> {
/// let releases = ferry_client::all_pages(|page| async move {
///     client.releases("api", &page).await
/// })
/// .await?;
/// # Ok(()) }
/// ```
pub async fn all_pages<T, F, Fut>(mut fetch: F) -> Result<Vec<T>, Error>
where
    F: FnMut(PageQuery) -> Fut,
    Fut: Future<Output = Result<Page<T>, Error>>,
{
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = fetch(PageQuery {
            limit: None,
            cursor: cursor.clone(),
        })
        .await?;
        items.extend(page.items);
        match page.next_cursor {
            // A cursor that does not move would loop forever; stop instead.
            Some(next) if Some(&next) != cursor.as_ref() => cursor = Some(next),
            _ => return Ok(items),
        }
    }
}

async fn decode<T: DeserializeOwned>(response: Response) -> Result<T, Error> {
    let url = response.url().to_string();
    let bytes = response.bytes().await.map_err(|source| Error::Transport {
        url: url.clone(),
        reason: root_cause(&source),
        source,
    })?;
    serde_json::from_slice(&bytes).map_err(|source| Error::Decode { url, source })
}

/// Reads an error answer (see [`error_from_answer`]).
async fn error_from(response: Response) -> Error {
    let url = response.url().to_string();
    let status = response.status();
    let body = response.bytes().await.unwrap_or_default();
    error_from_answer(status.as_u16(), &url, &body)
}

/// What an error answer of `url` with HTTP `status` and `body` means: the
/// server's problem details when the body is one (ferry always sends them),
/// else [`Error::UnexpectedStatus`] quoting the start of the body (or the
/// status's reason when the body is blank). Never fails, whatever the body.
pub fn error_from_answer(status: u16, url: &str, body: &[u8]) -> Error {
    if let Ok(problem) = serde_json::from_slice::<Problem>(body) {
        return Error::Api(Box::new(problem));
    }
    let text = String::from_utf8_lossy(body);
    let mut excerpt: String = text.trim().chars().take(BODY_EXCERPT_CHARS).collect();
    if excerpt.is_empty() {
        excerpt = reqwest::StatusCode::from_u16(status)
            .ok()
            .and_then(|status| status.canonical_reason())
            .unwrap_or("no body")
            .to_owned();
    } else if text.trim().chars().count() > BODY_EXCERPT_CHARS {
        excerpt.push('…');
    }
    Error::UnexpectedStatus {
        url: url.to_owned(),
        status,
        body: excerpt,
    }
}

/// `error` after `attempts` attempts: a lost connection says how many were
/// made, so a reader knows it was not a passing blip.
fn tried(error: Error, attempts: usize) -> Error {
    if attempts < 2 {
        return error;
    }
    match error {
        Error::Unreachable {
            server,
            reason,
            source,
        } => Error::Unreachable {
            server,
            reason: format!("{reason}; tried {attempts} times"),
            source,
        },
        Error::Transport {
            url,
            reason,
            source,
        } => Error::Transport {
            url,
            reason: format!("{reason}; tried {attempts} times"),
            source,
        },
        other => other,
    }
}

/// The innermost cause of an error, which for network errors is the useful
/// part ("Connection refused"); the outer layers only say a request failed.
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(server: &str) -> Client {
        // The library leaves the crypto provider to the program; tests are one.
        let _ = rustls::crypto::ring::default_provider().install_default();
        Client::new(server, None).unwrap()
    }

    #[test]
    fn urls_keep_a_path_prefix_and_encode_segments() {
        let client = client("http://example.test/ferry/");
        let url = client.url(&["services", "api", "releases", "1.0.0+build/7"]);
        assert_eq!(
            url.as_str(),
            "http://example.test/ferry/api/v1/services/api/releases/1.0.0+build%2F7"
        );
        assert_eq!(client.server(), "http://example.test/ferry");
        let plain = self::client("http://127.0.0.1:8740");
        assert_eq!(
            plain.url(&["whoami"]).as_str(),
            "http://127.0.0.1:8740/api/v1/whoami"
        );
    }

    #[test]
    fn server_urls_are_checked() {
        for bad in [
            "127.0.0.1:8740",
            "ftp://example.test",
            "not a url",
            "mailto:x@example.test",
        ] {
            let error = Client::new(bad, None).unwrap_err();
            assert!(
                matches!(error, Error::InvalidServerUrl { .. }),
                "{bad}: {error}"
            );
            assert!(error.to_string().contains(DEFAULT_SERVER), "{error}");
        }
    }

    #[test]
    fn the_token_is_not_in_debug_output() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = Client::new("http://127.0.0.1:8740", Some("ferry_secret".into())).unwrap();
        assert!(!format!("{client:?}").contains("ferry_secret"));
    }
}
