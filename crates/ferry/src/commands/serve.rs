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
use etcetera::BaseStrategy;
use ferry_core::Name;
use tokio::sync::watch;
use tracing_subscriber::EnvFilter;

use crate::cli::{LogFormat, ServeArgs};
use crate::local_agent::{self, LocalAgents};

/// How long the local agents get to finish the step they run once the
/// server has stopped; a job cut short is failed or retried when its lease
/// runs out, as for any agent that goes away.
const AGENT_GRACE: Duration = Duration::from_secs(10);

/// Runs the server with the given settings.
pub fn run(args: ServeArgs) -> Result<ExitCode> {
    init_logging(args.log_format);
    let data_dir = match args.data_dir {
        Some(dir) => dir,
        None => default_data_dir()?,
    };
    // The demo deploys its hello service with the local agent of dev.
    let local_agents = (args.local_agent || args.demo || !args.local_agent_envs.is_empty())
        .then_some(args.local_agent_envs);
    let settings = ferry_server::Settings {
        listen: args.listen,
        database_url: args.database,
        data_dir,
        demo: args.demo,
        demo_port: args.demo_port,
        max_artifact_bytes: args.max_artifact_bytes,
        lease: chrono::Duration::seconds(i64::from(args.job_lease)),
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

/// `$XDG_DATA_HOME/ferry`, or `~/.local/share/ferry`.
fn default_data_dir() -> Result<PathBuf> {
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
