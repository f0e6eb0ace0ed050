//! `ferry deploy continue|abort|retry|skip|rollback ID [--comment TEXT]`:
//! a person's decision on a deployment that waits for one (a manual step,
//! a canary stage with a manual pause, a failure under `on_failure =
//! "ask"`).

use std::io::Write;

use anyhow::{Context, Result};
use clap::Args;
use ferry_api::{Deployment, DeploymentDecision};
use ferry_client::Client;
use ferry_core::process::Decision;

use crate::cli::OutputFormat;
use crate::output::{self, GOOD};

/// The arguments of every decision.
#[derive(Debug, Args)]
pub struct DecisionArgs {
    /// The deployment's id.
    #[arg(value_name = "ID")]
    pub id: i64,
    /// Why, for the record (the audit trail keeps it).
    #[arg(long, value_name = "TEXT", default_value = "")]
    pub comment: String,
}

/// Sends `decision` on the deployment and says what it did.
pub async fn run(
    client: &Client,
    decision: Decision,
    args: DecisionArgs,
    format: OutputFormat,
) -> Result<()> {
    let deployment = client
        .decide_deployment(
            args.id,
            &DeploymentDecision {
                decision,
                comment: args.comment,
            },
        )
        .await
        .with_context(|| format!("cannot {decision} deployment {}", args.id))?;
    match format {
        OutputFormat::Json => output::json(&deployment)?,
        OutputFormat::Table => writeln!(
            output::stdout(),
            "{GOOD}{}{GOOD:#}: {}",
            done(decision, &deployment),
            next(decision, &deployment)
        )?,
    }
    Ok(())
}

fn done(decision: Decision, d: &Deployment) -> String {
    let verb = match decision {
        Decision::Continue => "Continued",
        Decision::Abort => "Aborted",
        Decision::Retry => "Retrying the failed targets of",
        Decision::Skip => "Going on without the failed targets of",
        Decision::Rollback => "Rolling back",
    };
    format!(
        "{verb} deployment {} of {}@{} to {}",
        d.id, d.service, d.version, d.environment
    )
}

fn next(decision: Decision, d: &Deployment) -> String {
    match decision {
        Decision::Abort | Decision::Rollback => format!(
            "it is {}; the targets it changed get the release before it back (see `ferry deploy list --service {} --env {}`).",
            d.status.as_str(),
            d.service,
            d.environment
        ),
        _ => format!(
            "it is {} again; follow it with `ferry deploy logs {} -f`.",
            d.status.as_str(),
            d.id
        ),
    }
}
