//! `ferry freeze create|list|delete`: periods when environments take no
//! promotions (an emergency promotion with a written reason excepted).

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use clap::{ArgGroup, Args, Subcommand};
use ferry_api::{Freeze, FreezeSpec};
use ferry_core::Name;

use crate::args::parse_time;
use crate::cli::{ClientArgs, OutputFormat};
use crate::{output, profile};

/// `ferry freeze`.
#[derive(Debug, Args)]
pub struct FreezeArgs {
    /// What to do with freezes.
    #[command(subcommand)]
    pub command: FreezeCommand,
    /// Server, token, output.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// The freeze commands.
#[derive(Debug, Subcommand)]
pub enum FreezeCommand {
    /// Freeze environments: no promotion enters them while it lasts (an
    /// emergency promotion excepted). One-off (--start, --end) or recurring
    /// (--rrule, --duration).
    Create(FreezeCreateArgs),
    /// List freezes.
    List,
    /// Delete a freeze.
    Delete {
        /// The freeze's name.
        #[arg(value_name = "NAME")]
        name: Name,
    },
}

/// `ferry freeze create`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("when").required(true).args(["start", "rrule"])))]
pub struct FreezeCreateArgs {
    /// Its unique name.
    #[arg(value_name = "NAME")]
    pub name: Name,
    /// An environment frozen. Repeatable.
    #[arg(long = "env", value_name = "ENV", required = true)]
    pub environments: Vec<Name>,
    /// When a one-off freeze starts (RFC 3339).
    #[arg(long, value_name = "TIME", value_parser = parse_time, requires = "end")]
    pub start: Option<DateTime<Utc>>,
    /// When a one-off freeze ends (RFC 3339).
    #[arg(long, value_name = "TIME", value_parser = parse_time, requires = "start")]
    pub end: Option<DateTime<Utc>>,
    /// The recurrence of a recurring freeze (RFC 5545), such as
    /// FREQ=WEEKLY;BYDAY=FR;BYHOUR=15.
    #[arg(
        long,
        value_name = "RULE",
        requires = "duration",
        conflicts_with_all = ["start", "end"]
    )]
    pub rrule: Option<String>,
    /// How long each occurrence lasts, such as 66h.
    #[arg(long, value_name = "DURATION", requires = "rrule")]
    pub duration: Option<String>,
    /// The IANA time zone the rule is read in [default: UTC]
    #[arg(long, value_name = "TZ", requires = "rrule")]
    pub timezone: Option<String>,
    /// Why, for the people it blocks.
    #[arg(long, value_name = "TEXT", default_value = "")]
    pub reason: String,
}

/// Runs one freeze command.
pub async fn run(args: FreezeArgs) -> Result<ExitCode> {
    let client = profile::resolve(&args.client)?.client()?;
    let format = args.client.output;
    match args.command {
        FreezeCommand::Create(create) => {
            let spec = spec(create);
            let freeze = client
                .create_freeze(&spec)
                .await
                .with_context(|| format!("cannot create freeze {}", spec.name))?;
            match format {
                OutputFormat::Json => output::json(&freeze)?,
                OutputFormat::Table => writeln!(
                    output::stdout(),
                    "Created freeze {} on {}: {}.",
                    freeze.spec.name,
                    environments(&freeze.spec),
                    when(&freeze.spec)
                )?,
            }
        }
        FreezeCommand::List => {
            let page = client.freezes().await.context("cannot list freezes")?;
            match format {
                OutputFormat::Json => output::json(&page)?,
                OutputFormat::Table => print_list(&page.items)?,
            }
        }
        FreezeCommand::Delete { name } => {
            let removed = client
                .delete_freeze(name.as_str())
                .await
                .with_context(|| format!("cannot delete freeze {name}"))?;
            match format {
                OutputFormat::Json => output::json(&removed)?,
                OutputFormat::Table => writeln!(
                    output::stdout(),
                    "Deleted freeze {}: {} may take promotions again unless another freeze holds them.",
                    removed.name,
                    environments(&removed)
                )?,
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn spec(args: FreezeCreateArgs) -> FreezeSpec {
    let time = |t: chrono::DateTime<chrono::Utc>| ferry_core::time::format_time(t);
    FreezeSpec {
        name: args.name,
        reason: args.reason,
        start: args.start.map(time),
        end: args.end.map(time),
        rrule: args.rrule,
        duration: args.duration,
        timezone: args.timezone,
        environments: args.environments,
    }
}

fn environments(spec: &FreezeSpec) -> String {
    spec.environments
        .iter()
        .map(|e| e.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// `2026-12-20 00:00 UTC..2027-01-04 00:00 UTC`, or `FREQ=…; for 66h (Europe/Berlin)`.
fn when(spec: &FreezeSpec) -> String {
    // A freeze's times are RFC 3339 text (as written in ferry.toml).
    let minute = |text: &str| {
        ferry_core::time::parse_time(text)
            .map_or_else(|_| text.to_owned(), |time| output::minute(&time))
    };
    match (&spec.start, &spec.end, &spec.rrule) {
        (Some(start), Some(end), _) => format!("{}..{}", minute(start), minute(end)),
        (_, _, Some(rule)) => {
            let mut text = rule.clone();
            if let Some(duration) = &spec.duration {
                text.push_str(&format!(" for {duration}"));
            }
            if let Some(timezone) = &spec.timezone {
                text.push_str(&format!(" ({timezone})"));
            }
            text
        }
        _ => "-".to_owned(),
    }
}

fn print_list(freezes: &[Freeze]) -> std::io::Result<()> {
    if freezes.is_empty() {
        return writeln!(output::stdout(), "No freezes.");
    }
    let rows = freezes.iter().map(|f| {
        vec![
            f.spec.name.to_string(),
            environments(&f.spec).replace(' ', ""),
            when(&f.spec),
            if f.spec.reason.is_empty() {
                "-".to_owned()
            } else {
                f.spec.reason.clone()
            },
        ]
    });
    output::table(&["NAME", "ENVIRONMENTS", "WHEN", "REASON"], rows)
}
