//! `ferry serve`: sets up logging and runs the server until it is stopped.
//!
//! Only this command logs through tracing: the client commands print results,
//! and a log line among them would break `--output json`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use etcetera::BaseStrategy;
use tracing_subscriber::EnvFilter;

use crate::cli::{LogFormat, ServeArgs};

/// Runs the server with the given settings.
pub fn run(args: ServeArgs) -> Result<ExitCode> {
    init_logging(args.log_format);
    let data_dir = match args.data_dir {
        Some(dir) => dir,
        None => default_data_dir()?,
    };
    let settings = ferry_server::Settings {
        listen: args.listen,
        database_url: args.database,
        data_dir,
        demo: args.demo,
        max_artifact_bytes: args.max_artifact_bytes,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(ferry_server::run(settings))?;
    Ok(ExitCode::SUCCESS)
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
