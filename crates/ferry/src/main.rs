//! `ferry`, the one binary of the ferry release manager: the server
//! (`ferry serve`) and the command-line client of its API.
//!
//! Exit codes are a contract: 0 ok, 1 error, 2 usage (clap), 3 refused by a
//! gate. Errors go to stderr and start with `error:`; results go to stdout.

mod args;
mod artifacts;
mod cli;
mod commands;
mod history;
mod local_agent;
mod output;
mod profile;
#[cfg(test)]
mod readme;

use std::process::ExitCode;

use crate::cli::{Cli, Command};

fn main() -> ExitCode {
    // reqwest and sqlx are built without a crypto provider of their own so
    // that only one (ring) is compiled in; it must be installed before any
    // TLS client is made. An error only means one is installed already.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::from_command_line();
    match run(cli) {
        Ok(code) => code,
        Err(error) => output::report(&error),
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve(args) => commands::serve::run(args),
        Command::Changelog(args) => commands::changelog::run(args),
        Command::Admin(args) => commands::admin::run(args),
        Command::SampleApp(args) => commands::sample_app::run(args),
        Command::Completions(args) => {
            commands::completions::run(&args)?;
            Ok(ExitCode::SUCCESS)
        }
        // A client command makes a few requests one after another: a
        // single-threaded runtime is enough and starts faster.
        command => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(commands::run_client(command)),
    }
}
