//! `ferry deploy list|show|logs|cancel|report`: deployments, their targets
//! and logs, and the reports of those run by another tool (a CI job, another
//! CD system) for services without deployment steps; `ferry deploy
//! continue|abort|retry|skip|rollback`: decisions on paused deployments.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use ferry_api::{Deployment, LogLine, Page, ReportDeployment};
use ferry_client::{Client, DeploymentQuery, LogEvent, all_pages};
use ferry_core::{DeploymentStatus, Name};

use crate::cli::{ClientArgs, OutputFormat};
use crate::{output, profile};

mod decision;

use decision::DecisionArgs;
use ferry_core::process::Decision;

/// `ferry deploy`.
#[derive(Debug, Args)]
pub struct DeployArgs {
    /// What to do with deployments.
    #[command(subcommand)]
    pub command: DeployCommand,
    /// Server, token, output.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// The deployment commands.
#[derive(Debug, Subcommand)]
pub enum DeployCommand {
    /// List deployments, newest first.
    List {
        /// Only deployments of this service.
        #[arg(long, value_name = "SERVICE")]
        service: Option<Name>,
        /// Only deployments to this environment.
        #[arg(long, value_name = "ENV")]
        env: Option<Name>,
    },
    /// Show one deployment: its batches and each target's state, steps,
    /// exit codes and health check.
    Show {
        /// The deployment's id.
        #[arg(value_name = "ID")]
        id: i64,
    },
    /// Print the log of a deployment's steps (secrets masked).
    Logs {
        /// The deployment's id.
        #[arg(value_name = "ID")]
        id: i64,
        /// Keep following it live until the deployment ends.
        #[arg(short, long)]
        follow: bool,
    },
    /// Cancel a deployment: at once when it has not started, after its
    /// current batch when it runs.
    Cancel {
        /// The deployment's id.
        #[arg(value_name = "ID")]
        id: i64,
    },
    /// Continue a deployment that waits at a manual step (the step's
    /// approvers, when it names some) or after a canary stage.
    Continue(DecisionArgs),
    /// Abort a deployment that waits at a manual step or after a canary
    /// stage: it fails, and the rollback policy applies.
    Abort(DecisionArgs),
    /// Run the failed targets of a deployment that waits after a failure
    /// (`on_failure = "ask"`) again.
    Retry(DecisionArgs),
    /// Go on without the failed targets of a deployment that waits after a
    /// failure.
    Skip(DecisionArgs),
    /// Roll back a deployment that waits after a failure: the targets it
    /// changed get the release before it back, whatever the rollback policy.
    Rollback(DecisionArgs),
    /// Report the progress of a deployment run by another tool (a CI job,
    /// another CD system), for services without deployment steps.
    Report {
        /// The deployment's id.
        #[arg(value_name = "ID")]
        id: i64,
        /// Where it stands.
        #[arg(long, value_enum, value_name = "STATUS")]
        status: ReportedStatus,
        /// A link to the run.
        #[arg(long, value_name = "URL")]
        url: Option<String>,
    },
}

/// What another tool may report of a deployment it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportedStatus {
    /// It started.
    Running,
    /// It finished and works.
    Succeeded,
    /// It failed.
    Failed,
}

impl From<ReportedStatus> for DeploymentStatus {
    fn from(status: ReportedStatus) -> Self {
        match status {
            ReportedStatus::Running => DeploymentStatus::Running,
            ReportedStatus::Succeeded => DeploymentStatus::Succeeded,
            ReportedStatus::Failed => DeploymentStatus::Failed,
        }
    }
}

/// Runs one deployment command.
pub async fn run(args: DeployArgs) -> Result<ExitCode> {
    let client = profile::resolve(&args.client)?.client()?;
    let format = args.client.output;
    match args.command {
        DeployCommand::List { service, env } => {
            let service = service.map(|s| s.as_str().to_owned());
            let environment = env.map(|e| e.as_str().to_owned());
            let deployments = all_pages(|page| {
                let query = DeploymentQuery {
                    service: service.clone(),
                    environment: environment.clone(),
                    limit: page.limit,
                    cursor: page.cursor,
                };
                let client = &client;
                async move { client.deployments(&query).await }
            })
            .await?;
            match format {
                OutputFormat::Json => output::json(&Page {
                    items: deployments,
                    next_cursor: None,
                })?,
                OutputFormat::Table => print_list(&deployments)?,
            }
        }
        DeployCommand::Show { id } => {
            let deployment = client
                .deployment(id)
                .await
                .with_context(|| format!("cannot show deployment {id}"))?;
            match format {
                OutputFormat::Json => output::json(&deployment)?,
                OutputFormat::Table => print_deployment(&deployment)?,
            }
        }
        DeployCommand::Logs { id, follow } => {
            return logs(&client, id, follow, format).await;
        }
        DeployCommand::Cancel { id } => {
            let deployment = client
                .cancel_deployment(id)
                .await
                .with_context(|| format!("cannot cancel deployment {id}"))?;
            match format {
                OutputFormat::Json => output::json(&deployment)?,
                OutputFormat::Table => {
                    let what = match deployment.status {
                        ferry_core::DeploymentStatus::Cancelled => "is cancelled".to_owned(),
                        _ => "stops after its current batch".to_owned(),
                    };
                    writeln!(
                        output::stdout(),
                        "Deployment {} of {}@{} to {} {what}.",
                        deployment.id,
                        deployment.service,
                        deployment.version,
                        deployment.environment
                    )?;
                }
            }
        }
        DeployCommand::Continue(args) => {
            decision::run(&client, Decision::Continue, args, format).await?
        }
        DeployCommand::Abort(args) => decision::run(&client, Decision::Abort, args, format).await?,
        DeployCommand::Retry(args) => decision::run(&client, Decision::Retry, args, format).await?,
        DeployCommand::Skip(args) => decision::run(&client, Decision::Skip, args, format).await?,
        DeployCommand::Rollback(args) => {
            decision::run(&client, Decision::Rollback, args, format).await?
        }
        DeployCommand::Report { id, status, url } => {
            let body = ReportDeployment {
                status: status.into(),
                url,
            };
            let deployment = client.report_deployment(id, &body).await.with_context(|| {
                format!("cannot report deployment {id} {}", body.status.as_str())
            })?;
            match format {
                OutputFormat::Json => output::json(&deployment)?,
                OutputFormat::Table => writeln!(
                    output::stdout(),
                    "Deployment {} of {}@{} to {} is {}.",
                    deployment.id,
                    deployment.service,
                    deployment.version,
                    deployment.environment,
                    deployment.status.as_str()
                )?,
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_list(deployments: &[Deployment]) -> std::io::Result<()> {
    if deployments.is_empty() {
        return writeln!(
            output::stdout(),
            "No deployments yet: promote a release with `ferry promote SERVICE@VERSION --to ENV`."
        );
    }
    let rows = deployments.iter().map(|d| {
        vec![
            d.id.to_string(),
            format!("{}@{}", d.service, d.version),
            d.environment.clone(),
            d.status.as_str().to_owned(),
            output::time(&d.created_at),
            d.created_by.clone(),
        ]
    });
    output::table(
        &["ID", "RELEASE", "ENVIRONMENT", "STATUS", "CREATED", "BY"],
        rows,
    )
}

fn print_deployment(d: &Deployment) -> std::io::Result<()> {
    let mut out = output::stdout();
    writeln!(out, "deployment   {}", d.id)?;
    writeln!(out, "release      {}@{}", d.service, d.version)?;
    writeln!(out, "environment  {}", d.environment)?;
    writeln!(out, "status       {}", d.status.as_str())?;
    writeln!(
        out,
        "created      {} by {}",
        output::time(&d.created_at),
        d.created_by
    )?;
    writeln!(out, "updated      {}", output::time(&d.updated_at))?;
    if let Some(at) = &d.scheduled_at {
        writeln!(out, "not before   {}", output::time(at))?;
    }
    if let Some(reason) = &d.emergency_reason {
        writeln!(out, "emergency    {reason}")?;
    }
    if let Some(url) = &d.url {
        writeln!(out, "url          {url}")?;
    }
    if let Some(reason) = &d.reason {
        writeln!(out, "reason       {reason}")?;
    }
    if let Some(undone) = d.rollback_of {
        writeln!(out, "rolls back   deployment {undone}")?;
    }
    if let Some(pause) = &d.pause {
        if let Some(step) = &pause.step {
            writeln!(out, "waits at     manual step {step:?}")?;
        }
        if let Some(instructions) = &pause.instructions {
            writeln!(out, "instructions {instructions}")?;
        }
        if !pause.approvers.is_empty() {
            writeln!(out, "approvers    {}", pause.approvers.join(", "))?;
        }
        if !pause.failed.is_empty() {
            writeln!(out, "failed on    {}", pause.failed.join(", "))?;
        }
        let decisions: Vec<String> = pause
            .decisions
            .iter()
            .map(|decision| format!("ferry deploy {decision} {}", d.id))
            .collect();
        writeln!(out, "decide with  {}", decisions.join(" | "))?;
    }
    if let Some(progress) = &d.progress {
        writeln!(
            out,
            "batch        {} of {} (sizes {})",
            progress.batch + 1,
            progress.batches,
            progress
                .batch_sizes
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )?;
        if let Some(at) = &progress.next_batch_at {
            writeln!(out, "next batch   {}", output::time(at))?;
        }
        if let Some(by) = &progress.cancel_requested_by {
            writeln!(out, "cancelling   asked by {by}; stops after this batch")?;
        }
    }
    out.flush()?;
    drop(out);
    if d.targets.is_empty() {
        return Ok(());
    }
    writeln!(output::stdout())?;
    let rows = d.targets.iter().map(|t| {
        let exits = t
            .steps
            .iter()
            .map(|s| match (s.timed_out, s.exit_code) {
                (true, _) => format!("{}=timeout", s.name),
                (false, Some(code)) => format!("{}={code}", s.name),
                (false, None) => format!("{}=killed", s.name),
            })
            .collect::<Vec<_>>()
            .join(" ");
        let health = t.health.as_ref().map_or_else(String::new, |h| {
            if h.healthy {
                "healthy".to_owned()
            } else {
                "unhealthy".to_owned()
            }
        });
        vec![
            t.target.clone(),
            (t.batch + 1).to_string(),
            t.kind.clone(),
            t.state.clone(),
            t.attempt.to_string(),
            t.seconds.map_or_else(String::new, |s| format!("{s:.2}s")),
            exits,
            health,
            t.error.clone().unwrap_or_default(),
        ]
    });
    output::table(
        &[
            "TARGET",
            "BATCH",
            "KIND",
            "STATE",
            "ATTEMPT",
            "TOOK",
            "EXIT CODES",
            "HEALTH",
            "ERROR",
        ],
        rows,
    )
}

/// Prints a deployment's log; with `follow`, until the deployment ends.
async fn logs(client: &Client, id: i64, follow: bool, format: OutputFormat) -> Result<ExitCode> {
    let print = |line: &LogLine| -> std::io::Result<()> {
        match format {
            OutputFormat::Json => output::json_line(line),
            OutputFormat::Table => {
                let step = line
                    .step
                    .as_deref()
                    .map_or_else(String::new, |s| format!("[{s}] "));
                writeln!(
                    output::stdout(),
                    "{} {} {} {step}{}",
                    output::time(&line.at),
                    line.target,
                    line.stream,
                    line.line
                )
            }
        }
    };
    if !follow {
        let mut after = 0;
        loop {
            let page = client
                .deployment_logs(id, after)
                .await
                .with_context(|| format!("cannot read the log of deployment {id}"))?;
            for line in &page.lines {
                print(line)?;
            }
            if page.lines.is_empty() || page.last_id == after {
                return Ok(ExitCode::SUCCESS);
            }
            after = page.last_id;
        }
    }
    let mut after = 0;
    // A dropped connection is picked up again after the last line seen.
    for _ in 0..10 {
        let mut events = client
            .follow_deployment_logs(id, after)
            .await
            .with_context(|| format!("cannot follow the log of deployment {id}"))?;
        loop {
            match events.next().await {
                Ok(Some(LogEvent::Line(line))) => {
                    after = line.id;
                    print(&line)?;
                }
                Ok(Some(LogEvent::Status(status))) => {
                    if format == OutputFormat::Table {
                        writeln!(anstream::stderr(), "deployment {id}: {status}")?;
                    }
                }
                Ok(Some(LogEvent::End(status))) => {
                    if format == OutputFormat::Table {
                        writeln!(anstream::stderr(), "deployment {id} ended: {status}")?;
                    }
                    return Ok(ExitCode::SUCCESS);
                }
                Ok(None) | Err(_) => break,
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    anyhow::bail!("lost the log of deployment {id} ten times; try again")
}
