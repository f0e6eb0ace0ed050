//! `ferry promote SERVICE@VERSION --to ENV [--at TIME] [--emergency --reason
//! TEXT]`: the gates are evaluated by the server as it acts; when they allow
//! the promotion a deployment is recorded, queued or waiting for `--at`.
//!
//! A refusal by a gate exits 3 with every blocker printed as `ferry check`
//! prints them, after the `error:` line on stderr (stdout stays for the
//! deployment a script would read); with `--output json` the problem, with
//! its `blockers`, is printed to stdout.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use clap::Args;
use ferry_api::{Problem, Promote};
use ferry_core::{Name, ReleaseRef};

use crate::args::parse_time;
use crate::cli::{ClientArgs, OutputFormat};
use crate::commands::check::{self, BLOCKED};
use crate::commands::follow;
use crate::output::{self, BAD, GOOD};
use crate::profile;

/// `ferry promote`.
#[derive(Debug, Args)]
pub struct PromoteArgs {
    /// The release, such as api@1.4.0.
    #[arg(value_name = "SERVICE@VERSION", required_unless_present = "train")]
    pub release: Option<ReleaseRef>,
    /// Promote every member of this train instead, one after the other
    /// (all their gates first; when one fails, those changed are rolled
    /// back in reverse order).
    #[arg(long, value_name = "NAME", conflicts_with_all = ["release", "at", "emergency"])]
    pub train: Option<Name>,
    /// The environment to promote it into.
    #[arg(long, value_name = "ENV")]
    pub to: Name,
    /// Start no earlier than this RFC 3339 time, such as
    /// 2026-12-01T09:00:00Z (windows and freezes are judged then).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub at: Option<DateTime<Utc>>,
    /// An emergency promotion: windows and freezes do not block it
    /// (approvals, evidence and the lifecycle still do); needs --reason.
    #[arg(long, requires = "reason")]
    pub emergency: bool,
    /// The written justification of the emergency.
    #[arg(long, value_name = "TEXT", requires = "emergency")]
    pub reason: Option<String>,
    /// Follow the deployment with a progress bar per batch until it ends;
    /// exit 0 when it succeeded, 1 when it failed, was rolled back or cancelled.
    #[arg(long)]
    pub wait: bool,
    /// Server, token, output.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// Runs `ferry promote`.
pub async fn run(args: PromoteArgs) -> Result<ExitCode> {
    let client = profile::resolve(&args.client)?.client()?;
    if let Some(train) = &args.train {
        return promote_train(&client, train, &args).await;
    }
    let Some(release) = &args.release else {
        anyhow::bail!("name the release to promote (SERVICE@VERSION), or --train NAME");
    };
    let body = Promote {
        service: release.service.clone(),
        version: release.version.to_string(),
        environment: args.to.clone(),
        at: args.at,
        emergency_reason: if args.emergency {
            args.reason.clone()
        } else {
            None
        },
    };
    let deployment = match client.promote(&body).await {
        Ok(deployment) => deployment,
        Err(ferry_client::Error::Api(problem)) if problem.slug() == "gate-blocked" => {
            refused(&problem, args.client.output)?;
            return Ok(ExitCode::from(BLOCKED));
        }
        Err(error) => {
            return Err(error).with_context(|| format!("cannot promote {release} to {}", args.to));
        }
    };
    match args.client.output {
        OutputFormat::Json => output::json(&deployment)?,
        OutputFormat::Table => {
            let when = match &deployment.scheduled_at {
                Some(at) => format!("waiting until {}", output::time(at)),
                None => deployment.status.as_str().to_owned(),
            };
            writeln!(
                output::stdout(),
                "{GOOD}Promoted {}@{} to {}{GOOD:#}: deployment {} {when}.",
                deployment.service,
                deployment.version,
                deployment.environment,
                deployment.id
            )?;
            if let (None, Some(reason)) = (&deployment.scheduled_at, &deployment.reason) {
                writeln!(output::stdout(), "It waits: {reason}")?;
            }
        }
    }
    if args.wait {
        return follow::follow(&client, deployment.id).await;
    }
    Ok(ExitCode::SUCCESS)
}

/// `ferry promote --train NAME --to ENV [--wait]`.
async fn promote_train(
    client: &ferry_client::Client,
    train: &Name,
    args: &PromoteArgs,
) -> Result<ExitCode> {
    let run = match client
        .promote_train(
            train.as_str(),
            &ferry_api::TrainPromotion {
                environment: args.to.clone(),
            },
        )
        .await
    {
        Ok(run) => run,
        Err(ferry_client::Error::Api(problem)) if problem.slug() == "gate-blocked" => {
            refused(&problem, args.client.output)?;
            return Ok(ExitCode::from(BLOCKED));
        }
        Err(error) => {
            return Err(error)
                .with_context(|| format!("cannot promote train {train} to {}", args.to));
        }
    };
    match args.client.output {
        OutputFormat::Json => output::json(&run)?,
        OutputFormat::Table => writeln!(
            output::stdout(),
            "{GOOD}Promoting train {train} to {}{GOOD:#}: run {}, {} one after the other.",
            run.environment,
            run.id,
            run.members
                .iter()
                .map(|m| m.release.as_str())
                .collect::<Vec<_>>()
                .join(" → ")
        )?,
    }
    if args.wait {
        return crate::commands::train::follow(client, train, run.id).await;
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints a refusal: the problem as JSON, or the sentence and the blockers.
fn refused(problem: &Problem, format: OutputFormat) -> std::io::Result<()> {
    let mut err = anstream::stderr();
    writeln!(err, "{BAD}error:{BAD:#} {}", problem.detail)?;
    match format {
        OutputFormat::Json => output::json(problem),
        OutputFormat::Table => {
            check::write_findings(&mut err, &problem.blockers, &[])?;
            err.flush()
        }
    }
}
