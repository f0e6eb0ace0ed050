//! `ferry rollback SERVICE --env ENV [--to VERSION] [--reason TEXT] [--wait]`: puts an
//! earlier release back. The server picks the version (the one that
//! succeeded before the latest deployment) unless `--to` names one, and
//! records the rollback as a deployment linked to the one it undoes.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use ferry_api::Rollback;
use ferry_core::Name;

use crate::cli::{ClientArgs, OutputFormat};
use crate::commands::follow;
use crate::output::{self, GOOD};
use crate::profile;

/// `ferry rollback`.
#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The service.
    #[arg(value_name = "SERVICE")]
    pub service: Name,
    /// The environment.
    #[arg(long, value_name = "ENV")]
    pub env: Name,
    /// The version to put back (one that succeeded there before)
    /// [default: the one before the latest deployment]
    #[arg(long, value_name = "VERSION")]
    pub to: Option<semver::Version>,
    /// Why: the release undone is marked bad in the environment with this
    /// reason [default: who rolled it back, and which deployment]
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    /// Follow the rollback until it ends, as `promote --wait` does.
    #[arg(long)]
    pub wait: bool,
    /// Server, token, output.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// Runs `ferry rollback`.
pub async fn run(args: RollbackArgs) -> Result<ExitCode> {
    let client = profile::resolve(&args.client)?.client()?;
    let body = Rollback {
        service: args.service.clone(),
        environment: args.env.clone(),
        version: args.to.as_ref().map(ToString::to_string),
        reason: args.reason.clone(),
    };
    let deployment = client
        .roll_back(&body)
        .await
        .with_context(|| format!("cannot roll back {} in {}", args.service, args.env))?;
    match args.client.output {
        OutputFormat::Json => output::json(&deployment)?,
        OutputFormat::Table => writeln!(
            output::stdout(),
            "{GOOD}Rolling back {} in {} to {}{GOOD:#}: deployment {} (undoes deployment {}).",
            deployment.service,
            deployment.environment,
            deployment.version,
            deployment.id,
            deployment
                .rollback_of
                .map_or_else(|| "?".to_owned(), |id| id.to_string())
        )?,
    }
    if args.wait {
        return follow::follow(&client, deployment.id).await;
    }
    Ok(ExitCode::SUCCESS)
}
