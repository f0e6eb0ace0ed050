//! `ferry rollback SERVICE --env ENV [--to VERSION] [--wait]`: puts an
//! earlier release back. The server picks the version (the one that
//! succeeded before the latest deployment) unless `--to` names one, and
//! records the rollback as a deployment linked to the one it undoes.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use ferry_api::Rollback;

use crate::cli::{OutputFormat, RollbackArgs};
use crate::commands::follow;
use crate::output::{self, GOOD};
use crate::profile;

/// Runs `ferry rollback`.
pub async fn run(args: RollbackArgs) -> Result<ExitCode> {
    let client = profile::resolve(&args.client)?.client()?;
    let body = Rollback {
        service: args.service.as_str().to_owned(),
        environment: args.env.as_str().to_owned(),
        version: args.to.as_ref().map(ToString::to_string),
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
