//! Approving from Slack: a click on the Approve or Reject button of an
//! `approval.requested` message reaches ferry at Slack's interactivity
//! Request URL. Slack cannot send a ferry token, so the request's
//! signature is its credential: it is checked with the app's signing
//! secret (and a five-minute replay window) before anything else. The
//! person is who Slack says clicked, matched to a ferry user by the e-mail
//! Slack's `users.info` gives for them; their decision is then recorded by
//! [`crate::promotion::decide`], the same call the API's approval route
//! makes, so roles, the policy's approvers and separation of duties refuse
//! them exactly as they would refuse `ferry approve`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::http::HeaderMap;
use chrono::Utc;
use ferry_core::chat::slack::{self, Click};
use serde_json::{Value, json};

use crate::auth::{Caller, Credential};
use crate::error::ApiError;
use crate::promotion::{self, Decide};
use crate::state::AppState;

/// Slack's Web API, unless told otherwise.
pub const DEFAULT_API_URL: &str = "https://slack.com/api";

/// How long Slack's Web API may take to answer (Slack waits three seconds
/// for the click's answer).
const API_TIMEOUT: Duration = Duration::from_secs(5);

/// The audit trail's actor for requests that do not prove they are Slack's.
const UNKNOWN_ACTOR: &str = "slack";

/// Where the Slack app's secrets are, as `ferry serve` was told.
#[derive(Debug, Clone)]
pub struct SlackSettings {
    /// The file holding the app's signing secret (Basic Information → App
    /// Credentials → Signing Secret).
    pub signing_secret_file: PathBuf,
    /// The file holding the app's bot token (`xoxb-…`), which needs the
    /// `users:read` and `users:read.email` scopes.
    pub bot_token_file: PathBuf,
    /// Slack's Web API (`https://slack.com/api`).
    pub api_url: String,
}

/// The Slack app, its secrets read. Its `Debug` shows neither secret.
pub struct SlackApp {
    signing_secret: Vec<u8>,
    bot_token: String,
    api_url: String,
    client: reqwest::Client,
}

impl std::fmt::Debug for SlackApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackApp")
            .field("api_url", &self.api_url)
            .finish_non_exhaustive()
    }
}

impl SlackApp {
    /// Reads the secrets `settings` name; the error says which file is
    /// missing or empty, never what is in it.
    pub fn load(settings: &SlackSettings) -> Result<Arc<SlackApp>, String> {
        let read = |path: &PathBuf, flag: &str| -> Result<String, String> {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {flag} {}: {e}", path.display()))?;
            let text = text.trim().to_owned();
            if text.is_empty() {
                return Err(format!("{flag} {} is empty", path.display()));
            }
            Ok(text)
        };
        let signing_secret = read(&settings.signing_secret_file, "--slack-signing-secret-file")?;
        let bot_token = read(&settings.bot_token_file, "--slack-bot-token-file")?;
        let api_url = settings.api_url.trim_end_matches('/').to_owned();
        if !(api_url.starts_with("https://") || api_url.starts_with("http://")) {
            return Err(format!(
                "--slack-api-url must be an http(s) address, not {api_url:?}"
            ));
        }
        let client = reqwest::Client::builder()
            .timeout(API_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("ferry/", env!("CARGO_PKG_VERSION"), " slack"))
            .build()
            .map_err(|e| format!("no HTTP client for Slack: {e}"))?;
        Ok(Arc::new(SlackApp {
            signing_secret: signing_secret.into_bytes(),
            bot_token,
            api_url,
            client,
        }))
    }

    /// The e-mail Slack has for user `id` (`users.info`).
    async fn email_of(&self, id: &str) -> Result<String, String> {
        let response = self
            .client
            .get(format!("{}/users.info", self.api_url))
            .query(&[("user", id)])
            .bearer_auth(&self.bot_token)
            .send()
            .await
            .map_err(|e| format!("Slack's users.info could not be asked: {}", cause(&e)))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("Slack's users.info answered {status}"));
        }
        let answer: Value = response
            .json()
            .await
            .map_err(|_| "Slack's users.info did not answer JSON".to_owned())?;
        slack::email_of(&answer)
    }

    /// Posts `message` to the click's `response_url`, where Slack shows it
    /// to the person who clicked: only to an `https://` address, or one on
    /// the Web API's own host (a Slack stand-in in tests).
    fn tell(self: &Arc<Self>, response_url: Option<String>, message: Value) {
        let Some(url) = response_url else { return };
        let origin = |url: &str| -> Option<String> {
            let parsed = reqwest::Url::parse(url).ok()?;
            Some(format!(
                "{}://{}:{}",
                parsed.scheme(),
                parsed.host_str()?,
                parsed.port_or_known_default()?
            ))
        };
        let trusted = url.starts_with("https://")
            || (origin(&url).is_some() && origin(&url) == origin(&self.api_url));
        if !trusted {
            tracing::info!("a Slack click's response_url is not https: no message posted to it");
            return;
        }
        let app = self.clone();
        tokio::spawn(async move {
            match app.client.post(&url).json(&message).send().await {
                Ok(response) if response.status().is_success() => {}
                Ok(response) => {
                    tracing::info!(status = %response.status(), "Slack refused the answer to a click");
                }
                Err(error) => {
                    tracing::info!(error = %cause(&error), "the answer to a Slack click was not sent");
                }
            }
        });
    }
}

/// An HTTP error without its URL (which may carry a query).
fn cause(error: &reqwest::Error) -> String {
    let mut cause = if error.is_timeout() {
        "no answer in time".to_owned()
    } else {
        "the request failed".to_owned()
    };
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        cause = inner.to_string();
        source = inner.source();
    }
    cause
}

/// Answers a request to the interactivity Request URL: 401 without Slack's
/// signature headers, 404 when Slack is not set up, 401 (audited) when the
/// request is not signed by Slack within
/// the replay window, 400 when it holds no payload; otherwise the message
/// Slack shows the person who clicked, saying what ferry did or why it
/// refused.
pub async fn interaction(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Value, ApiError> {
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    let Some(app) = &state.slack else {
        // Unsigned is unsigned, set up or not.
        for required in ["X-Slack-Signature", "X-Slack-Request-Timestamp"] {
            if header(required).is_none() {
                return Err(ApiError::Unauthorized(format!(
                    "this request is not Slack's: it has no {required} header"
                )));
            }
        }
        return Err(ApiError::NotFound(
            "approving from Slack is not set up on this server: start it with \
             --slack-signing-secret-file and --slack-bot-token-file"
                .to_owned(),
        ));
    };
    if let Err(refused) = slack::verify(
        &app.signing_secret,
        header("x-slack-request-timestamp"),
        header("x-slack-signature"),
        body,
        Utc::now().timestamp(),
    ) {
        let reason = format!("this request is not Slack's: {refused}");
        audit_refusal(state, UNKNOWN_ACTOR, "server", &reason).await;
        return Err(ApiError::Unauthorized(reason));
    }
    let payload = slack::form_field(body, "payload").ok_or_else(|| {
        ApiError::BadRequest(
            "the body has no payload field: Slack sends an interaction form-encoded, its JSON in `payload`"
                .to_owned(),
        )
    })?;
    let click = match slack::click(&payload) {
        Ok(click) => click,
        Err(why) => return Ok(slack::answer(&format!("ferry did nothing: {why}"))),
    };
    let message = slack::answer(&decide(state, app, &click).await);
    app.tell(click.response_url.clone(), message.clone());
    Ok(message)
}

/// Records the click's decision as the ferry user Slack's e-mail names;
/// what to tell them.
async fn decide(state: &AppState, app: &SlackApp, click: &Click) -> String {
    let ask = &click.ask;
    let verb = if click.approve { "approve" } else { "reject" };
    let what = format!("{} for {}", ask.release(), ask.environment);
    let slack_actor = format!("slack:{}", click.user);
    let object = format!("service:{}@{}", ask.service, ask.environment);
    let email = match app.email_of(&click.user).await {
        Ok(email) => email,
        Err(why) => {
            let reason = format!("ferry cannot tell who clicked: {why}");
            audit_refusal(state, &slack_actor, &object, &reason).await;
            return format!("ferry did not {verb} {what}: {reason}");
        }
    };
    let found = match state.store.enabled_user_by_email(&email).await {
        Ok(found) => found,
        Err(error) => {
            let detail = ApiError::from(error).into_problem().1.detail;
            return format!("ferry did not {verb} {what}: {detail}");
        }
    };
    let Some((user, rights, groups)) = found else {
        let reason = format!(
            "no enabled ferry user has the e-mail {email} that Slack shows for you; \
             ask an administrator to give your ferry user that e-mail"
        );
        audit_refusal(state, &slack_actor, &object, &reason).await;
        return format!("ferry did not {verb} {what}: {reason}");
    };
    let caller = Caller {
        actor: user.name.clone(),
        user: Some(user),
        groups,
        rights,
        credential: Credential::Slack,
    };
    let decided = promotion::decide(
        state,
        &caller,
        Decide {
            service: &ask.service,
            version: &ask.version,
            environment: &ask.environment,
            approve: click.approve,
            comment: "from Slack",
        },
    )
    .await;
    match decided {
        Ok(_) => {
            let done = if click.approve {
                "approved"
            } else {
                "rejected"
            };
            format!("{} {done} {what}.", caller.actor)
        }
        Err(error) => {
            let detail = error.into_problem().1.detail;
            format!(
                "ferry refused to let {} {verb} {what}: {detail}",
                caller.actor
            )
        }
    }
}

/// Records a refused request in the audit trail (`access.denied`); a
/// failure to record it is logged, and the refusal stands.
async fn audit_refusal(state: &AppState, actor: &str, object: &str, reason: &str) {
    let details = json!({
        "action": ferry_core::access::Action::DecideRelease.as_str(),
        "reason": reason,
        "credential": Credential::Slack.scope(),
    });
    if let Err(error) = state
        .store
        .audit_event(actor, "access.denied", object, details)
        .await
    {
        tracing::warn!(%error, "a refused Slack request could not be written to the audit trail");
    }
}
