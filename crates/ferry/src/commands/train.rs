//! `ferry train create|list|show|notes`: releases of several services that
//! go together; `ferry promote --train` and `ferry check --train` promote
//! and check them (in `promote` and `check`), and [`follow`] follows a run.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use ferry_api::{NewTrain, Train, TrainRun};
use ferry_client::Client;
use ferry_core::train::RunStatus;
use ferry_core::{Name, ReleaseRef};

use crate::args::parse_date_or_time;
use crate::cli::{ClientArgs, OutputFormat};
use crate::output::{self, BAD, GOOD};
use crate::profile;

/// `ferry train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// What to do with trains.
    #[command(subcommand)]
    pub command: TrainCommand,
    /// Server, token, output.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// The train commands.
#[derive(Debug, Subcommand)]
pub enum TrainCommand {
    /// Make a train of releases of several services that go together
    /// (release managers).
    Create {
        /// Its unique name.
        #[arg(value_name = "NAME")]
        name: Name,
        /// A member, such as api@2.3.0 (one per service). Repeatable.
        #[arg(long = "release", value_name = "SERVICE@VERSION", required = true)]
        releases: Vec<ReleaseRef>,
        /// The services in the order they deploy, such as api,worker,web
        /// [default: the order of --release]
        #[arg(long, value_name = "SERVICES", value_delimiter = ',')]
        order: Vec<Name>,
        /// Give the train a plan made from this template.
        #[arg(long, value_name = "NAME")]
        template: Option<Name>,
        /// The go-live date of the train's plan (2027-03-01, or an RFC 3339 time).
        #[arg(long, value_name = "DATE", value_parser = parse_date_or_time, requires = "template")]
        go_live: Option<DateTime<Utc>>,
    },
    /// List the trains and their members.
    List,
    /// Show a train: its members in order and each run, member by member.
    Show {
        /// The train.
        #[arg(value_name = "NAME")]
        name: Name,
    },
    /// Print the notes of every member, one after the other (Markdown).
    Notes {
        /// The train.
        #[arg(value_name = "NAME")]
        name: Name,
    },
}

/// Runs one train command.
pub async fn run(args: TrainArgs) -> Result<ExitCode> {
    let client = profile::resolve(&args.client)?.client()?;
    let format = args.client.output;
    match args.command {
        TrainCommand::Create {
            name,
            releases,
            order,
            template,
            go_live,
        } => {
            let train = client
                .create_train(&NewTrain {
                    name: name.clone(),
                    releases: releases.iter().map(ToString::to_string).collect(),
                    order,
                    template,
                    go_live,
                })
                .await
                .with_context(|| format!("cannot make train {name}"))?;
            match format {
                OutputFormat::Json => output::json(&train)?,
                OutputFormat::Table => writeln!(
                    output::stdout(),
                    "{GOOD}Made train {}{GOOD:#}: {}.",
                    train.name,
                    train.members.join(" → ")
                )?,
            }
        }
        TrainCommand::List => {
            let page = client.trains().await.context("cannot list the trains")?;
            match format {
                OutputFormat::Json => output::json(&page)?,
                OutputFormat::Table if page.items.is_empty() => writeln!(
                    output::stdout(),
                    "No trains yet: make one with `ferry train create NAME --release SERVICE@VERSION …`."
                )?,
                OutputFormat::Table => output::table(
                    &["TRAIN", "MEMBERS", "CREATED BY"],
                    page.items.iter().map(|t| {
                        vec![
                            t.name.to_string(),
                            t.members.join(" → "),
                            t.created_by.clone(),
                        ]
                    }),
                )?,
            }
        }
        TrainCommand::Show { name } => {
            let train = client
                .train(name.as_str())
                .await
                .with_context(|| format!("cannot show train {name}"))?;
            match format {
                OutputFormat::Json => output::json(&train)?,
                OutputFormat::Table => print_train(&train)?,
            }
        }
        TrainCommand::Notes { name } => {
            let train = client
                .train(name.as_str())
                .await
                .with_context(|| format!("cannot read train {name}"))?;
            let mut out = output::stdout();
            writeln!(out, "# Train {}\n", train.name)?;
            for member in &train.members {
                let release: ReleaseRef = member
                    .parse()
                    .with_context(|| format!("the server named a member {member:?}"))?;
                let notes = client
                    .release_notes(release.service.as_str(), &release.version.to_string(), "md")
                    .await
                    .with_context(|| format!("cannot read the notes of {member}"))?;
                writeln!(out, "## {member}\n")?;
                // Each member's headings one level down, under its own.
                for line in notes.lines() {
                    if line.starts_with('#') {
                        writeln!(out, "#{line}")?;
                    } else {
                        writeln!(out, "{line}")?;
                    }
                }
                writeln!(out)?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_train(train: &Train) -> Result<()> {
    let mut out = output::stdout();
    writeln!(out, "train      {}", train.name)?;
    writeln!(out, "members    {}", train.members.join(" → "))?;
    writeln!(
        out,
        "created    {} by {}",
        output::time(&train.created_at),
        train.created_by
    )?;
    if let Some(plan) = train.plan {
        writeln!(
            out,
            "plan       {plan} (ferry plan show --train {})",
            train.name
        )?;
    }
    drop(out);
    for run in &train.runs {
        writeln!(output::stdout())?;
        print_run(run)?;
    }
    Ok(())
}

/// A run and its members, as a table.
pub fn print_run(run: &TrainRun) -> Result<()> {
    let mut out = output::stdout();
    writeln!(
        out,
        "run {} into {}: {}{}",
        run.id,
        run.environment,
        run.status.as_str(),
        run.reason
            .as_ref()
            .map(|r| format!(" — {r}"))
            .unwrap_or_default()
    )?;
    drop(out);
    output::table(
        &["MEMBER", "DEPLOYMENT", "STATUS", "ROLLBACK"],
        run.members.iter().map(|m| {
            vec![
                m.release.clone(),
                m.deployment.map(|d| d.to_string()).unwrap_or_default(),
                m.status
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_else(|| "—".to_owned()),
                match (m.rollback, m.rollback_status) {
                    (Some(id), Some(status)) => format!("{id} {}", status.as_str()),
                    _ => String::new(),
                },
            ]
        }),
    )?;
    Ok(())
}

/// Follows run `run` of `train` until it ends, printing each change of its
/// members; exit 0 when the train succeeded, 1 otherwise.
pub async fn follow(client: &Client, train: &Name, run: i64) -> Result<ExitCode> {
    let mut last = String::new();
    loop {
        let shown = client
            .train(train.as_str())
            .await
            .with_context(|| format!("cannot follow train {train}"))?;
        let Some(current) = shown.runs.into_iter().find(|r| r.id == run) else {
            anyhow::bail!("run {run} of train {train} is gone");
        };
        let line: Vec<String> = current
            .members
            .iter()
            .map(|m| {
                format!(
                    "{} {}{}",
                    m.release,
                    m.status.map_or("—", |s| s.as_str()),
                    m.rollback_status
                        .map(|s| format!(" (rollback {})", s.as_str()))
                        .unwrap_or_default()
                )
            })
            .collect();
        let line = line.join(", ");
        if line != last {
            writeln!(output::stdout(), "train {train}: {line}")?;
            last = line;
        }
        match current.status {
            RunStatus::Running => tokio::time::sleep(Duration::from_millis(500)).await,
            RunStatus::Succeeded => {
                writeln!(
                    output::stdout(),
                    "{GOOD}Train {train} is in {}{GOOD:#}: every member succeeded.",
                    current.environment
                )?;
                return Ok(ExitCode::SUCCESS);
            }
            RunStatus::Failed => {
                writeln!(
                    output::stdout(),
                    "{BAD}Train {train} failed in {}{BAD:#}: {}",
                    current.environment,
                    current.reason.unwrap_or_default()
                )?;
                return Ok(ExitCode::FAILURE);
            }
        }
    }
}
