//! `ferry serve`: sets up logging and runs the server until it is stopped,
//! with its local agents when asked (`--local-agent`, `--demo`).
//!
//! Only this command logs through tracing: the client commands print results,
//! and a log line among them would break `--output json`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use etcetera::BaseStrategy;
use ferry_core::Name;
use tokio::sync::watch;
use tracing_subscriber::EnvFilter;

use crate::local_agent::{self, LocalAgents};

/// `ferry serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address to listen on (port 0 picks a free port).
    #[arg(
        long,
        env = "FERRY_LISTEN",
        default_value = "127.0.0.1:8740",
        value_name = "ADDR"
    )]
    pub listen: String,
    /// The database: sqlite://PATH or postgres://... [default: SQLite in the data dir]
    #[arg(
        long,
        env = "FERRY_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub database: Option<String>,
    /// Where the server keeps its data [default: $XDG_DATA_HOME/ferry]
    ///
    /// It holds secret.key, the key that encrypts secret variables, made on
    /// the first start: back it up, and give every server of one database
    /// the same file.
    #[arg(long, env = "FERRY_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Fill an empty server with demonstration data, and deploy its `hello`
    /// service for real, on this machine, with a local agent (implies
    /// --local-agent).
    #[arg(long)]
    pub demo: bool,
    /// The port on 127.0.0.1 where the demo deploys its `hello` service.
    #[arg(
        long,
        env = "FERRY_DEMO_PORT",
        value_name = "PORT",
        default_value_t = ferry_server::DEFAULT_DEMO_PORT
    )]
    pub demo_port: u16,
    /// Run an agent inside the server for every environment, so that
    /// releases deploy on this machine: one agent named `local`, tagged
    /// host=local, per environment (those applied later too), working in
    /// <data-dir>/agent/<env>.
    #[arg(
        long,
        env = "FERRY_LOCAL_AGENT",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub local_agent: bool,
    /// Run the local agent only for this environment (repeatable, or
    /// comma-separated; implies --local-agent).
    #[arg(
        long = "local-agent-env",
        env = "FERRY_LOCAL_AGENT_ENV",
        value_name = "ENV",
        value_delimiter = ','
    )]
    pub local_agent_envs: Vec<Name>,
    /// The largest artifact an upload may have, in bytes [default: 4 GiB]
    #[arg(
        long,
        env = "FERRY_MAX_ARTIFACT_BYTES",
        value_name = "BYTES",
        default_value_t = ferry_server::DEFAULT_MAX_ARTIFACT_BYTES,
        hide_default_value = true
    )]
    pub max_artifact_bytes: u64,
    /// A host whose plain `http://` artifact references releases may name,
    /// such as a mirror on a private network (repeatable; `HOST` or
    /// `HOST:PORT`). Without it only `https://` and `oci://` references are
    /// accepted.
    #[arg(
        long = "allow-http-host",
        env = "FERRY_ALLOW_HTTP_HOSTS",
        value_name = "HOST",
        value_delimiter = ','
    )]
    pub allow_http_hosts: Vec<String>,
    /// How long an agent keeps a job without a heartbeat, in seconds: an
    /// agent that dies mid-step loses its job this long after its last
    /// heartbeat (agents heartbeat four times per lease).
    #[arg(
        long,
        env = "FERRY_JOB_LEASE",
        value_name = "SECONDS",
        default_value_t = 60,
        value_parser = clap::value_parser!(u32).range(4..=3600)
    )]
    pub job_lease: u32,
    /// This server's public address (such as `https://ferry.example.com`):
    /// the `source` of the CloudEvents its webhooks send. Without it the
    /// source is `/ferry`.
    #[arg(long, env = "FERRY_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,
    /// Shortens the webhook retry schedule by this factor (1 keeps it:
    /// 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h). For drills and tests.
    #[arg(
        long,
        env = "FERRY_WEBHOOK_RETRY_SCALE",
        value_name = "FACTOR",
        default_value_t = 1.0,
        value_parser = retry_scale
    )]
    pub webhook_retry_scale: f64,
    /// The SMTP relay e-mail subscriptions are sent through:
    /// smtp://HOST[:PORT] (no TLS), smtp://HOST[:PORT]?tls=required
    /// (STARTTLS, refused if the relay does not offer it),
    /// ?tls=opportunistic (STARTTLS when offered) or smtps://HOST[:PORT]
    /// (TLS); smtp://USER:PASSWORD@HOST… to sign in. Without it e-mail
    /// subscriptions are refused.
    #[arg(
        long,
        env = "FERRY_SMTP_URL",
        value_name = "URL",
        hide_env_values = true,
        requires = "smtp_from"
    )]
    pub smtp_url: Option<String>,
    /// A file holding the SMTP password of --smtp-url's user, instead of
    /// writing it in the URL.
    #[arg(
        long,
        env = "FERRY_SMTP_PASSWORD_FILE",
        value_name = "FILE",
        requires = "smtp_url"
    )]
    pub smtp_password_file: Option<PathBuf>,
    /// The sender of e-mail notifications, such as
    /// "ferry <ferry@example.com>".
    #[arg(
        long,
        env = "FERRY_SMTP_FROM",
        value_name = "MAILBOX",
        requires = "smtp_url"
    )]
    pub smtp_from: Option<String>,
    /// A file holding the Slack app's signing secret: with it (and
    /// --slack-bot-token-file), clicks on the Approve and Reject buttons
    /// of approval requests posted to Slack decide, at
    /// /api/v1/integrations/slack/interactions.
    #[arg(
        long,
        env = "FERRY_SLACK_SIGNING_SECRET_FILE",
        value_name = "FILE",
        requires = "slack_bot_token_file"
    )]
    pub slack_signing_secret_file: Option<PathBuf>,
    /// A file holding the Slack app's bot token (xoxb-…, with the
    /// users:read and users:read.email scopes): ferry asks Slack who
    /// clicked with it.
    #[arg(
        long,
        env = "FERRY_SLACK_BOT_TOKEN_FILE",
        value_name = "FILE",
        requires = "slack_signing_secret_file"
    )]
    pub slack_bot_token_file: Option<PathBuf>,
    /// Slack's Web API.
    #[arg(
        long,
        env = "FERRY_SLACK_API_URL",
        value_name = "URL",
        default_value = ferry_server::slack::DEFAULT_API_URL
    )]
    pub slack_api_url: String,
    /// How long a web session may stay unused before it ends, such as
    /// `30m`, `12h` or `1d` (at least 1m, at most the lifetime).
    #[arg(
        long,
        env = "FERRY_SESSION_IDLE",
        value_name = "DURATION",
        default_value = "12h",
        value_parser = ferry_core::windows::parse_duration
    )]
    pub session_idle: chrono::Duration,
    /// How long a web session lasts at most, however much it is used, such
    /// as `8h` or `7d` (at most 366d); then its user signs in again.
    #[arg(
        long,
        env = "FERRY_SESSION_LIFETIME",
        value_name = "DURATION",
        default_value = "7d",
        value_parser = ferry_core::windows::parse_duration
    )]
    pub session_lifetime: chrono::Duration,
    /// The format of the log (written to stderr; RUST_LOG filters it).
    #[arg(
        long,
        env = "FERRY_LOG_FORMAT",
        value_enum,
        default_value_t,
        value_name = "FORMAT"
    )]
    pub log_format: LogFormat,
}

/// The format of the server's log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Lines for people.
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// How long the local agents get to finish the step they run once the
/// server has stopped; a job cut short is failed or retried when its lease
/// runs out, as for any agent that goes away.
const AGENT_GRACE: Duration = Duration::from_secs(10);

/// Runs the server with the given settings.
pub fn run(args: ServeArgs) -> Result<ExitCode> {
    init_logging(args.log_format);
    let sessions = ferry_server::SessionLimits::new(args.session_idle, args.session_lifetime)
        .map_err(anyhow::Error::msg)?;
    let data_dir = match args.data_dir {
        Some(dir) => dir,
        None => default_data_dir()?,
    };
    // The demo deploys its hello service with the local agent of dev.
    let local_agents = (args.local_agent || args.demo || !args.local_agent_envs.is_empty())
        .then_some(args.local_agent_envs);
    let mailer = args
        .smtp_url
        .map(|url| {
            ferry_server::mail::Mailer::new(&ferry_server::mail::SmtpSettings {
                url,
                password_file: args.smtp_password_file,
                from: args.smtp_from.unwrap_or_default(),
            })
            .map(Arc::new)
            .map_err(anyhow::Error::msg)
        })
        .transpose()?;
    let slack = match (args.slack_signing_secret_file, args.slack_bot_token_file) {
        (Some(signing_secret_file), Some(bot_token_file)) => Some(
            ferry_server::slack::SlackApp::load(&ferry_server::slack::SlackSettings {
                signing_secret_file,
                bot_token_file,
                api_url: args.slack_api_url,
            })
            .map_err(anyhow::Error::msg)?,
        ),
        _ => None,
    };
    let settings = ferry_server::Settings {
        listen: args.listen,
        database_url: args.database,
        data_dir,
        demo: args.demo,
        demo_port: args.demo_port,
        max_artifact_bytes: args.max_artifact_bytes,
        allow_http_hosts: args.allow_http_hosts,
        lease: chrono::Duration::seconds(i64::from(args.job_lease)),
        sessions,
        public_url: args.public_url,
        webhook_retry_scale: args.webhook_retry_scale,
        mailer,
        slack,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(settings, local_agents))?;
    Ok(ExitCode::SUCCESS)
}

/// Serves until SIGINT or SIGTERM; with `local_agents` (only those
/// environments, or every one when empty), runs them beside the server.
async fn serve(settings: ferry_server::Settings, local_agents: Option<Vec<Name>>) -> Result<()> {
    let data_dir = settings.data_dir.clone();
    let server = ferry_server::Server::start(settings).await?;
    let Some(only) = local_agents else {
        server.serve(ferry_server::shutdown_signal()).await?;
        return Ok(());
    };
    let (stop, stopped) = watch::channel(false);
    let stop = Arc::new(stop);
    let config = LocalAgents {
        store: server.store().clone(),
        server: local_agent::server_url(server.address()),
        data_dir,
        only,
    };
    let agents = tokio::spawn(local_agent::run(config, stopped));
    // The agents stop on the signal itself, not after the server: the
    // graceful shutdown waits for open requests, and an agent's long poll
    // is one.
    let signal = {
        let stop = stop.clone();
        async move {
            ferry_server::shutdown_signal().await;
            let _ = stop.send(true);
        }
    };
    let served = server.serve(signal).await;
    let _ = stop.send(true);
    if tokio::time::timeout(AGENT_GRACE, agents).await.is_err() {
        tracing::warn!(
            "the local agents did not stop within {}s; their jobs end with their leases",
            AGENT_GRACE.as_secs()
        );
    }
    served?;
    Ok(())
}

/// `$XDG_DATA_HOME/ferry`, or `~/.local/share/ferry` (also where `ferry
/// admin token` looks).
pub(crate) fn default_data_dir() -> Result<PathBuf> {
    let base = etcetera::choose_base_strategy().context(
        "cannot find a data directory (neither XDG_DATA_HOME nor HOME is set); pass --data-dir DIR",
    )?;
    Ok(base.data_dir().join("ferry"))
}

/// Logs to stderr (stdout carries the lines `listening on …` and the bootstrap
/// token that scripts read), INFO unless RUST_LOG says otherwise.
fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => {
            // NO_COLOR counts only when set to something (no-color.org).
            let no_color = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
            let colour = std::io::stderr().is_terminal() && !no_color;
            builder.with_ansi(colour).init();
        }
    }
}

/// A retry scale: a number above 0, at most 1.
fn retry_scale(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(scale) if scale > 0.0 && scale <= 1.0 => Ok(scale),
        _ => Err(format!("{text:?} is not a number above 0 and at most 1")),
    }
}
