//! `ferry metrics [--service S] [--env E] [--since DATE] [--until DATE]`:
//! the DORA metrics of each service in each environment, with how each is
//! computed; and `ferry incident open|resolve|list`.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use ferry_api::{MetricsReport, OpenIncident, ResolveIncident};
use ferry_core::Name;
use ferry_core::dora::{Band, Distribution};
use ferry_core::time::span;

use crate::args::parse_date_or_time;
use crate::cli::{ClientArgs, OutputFormat};
use crate::output::{self, GOOD};
use crate::profile;

/// `ferry metrics`.
#[derive(Debug, Args)]
pub struct MetricsArgs {
    /// Only this service.
    #[arg(long, value_name = "SERVICE")]
    pub service: Option<Name>,
    /// Only this environment.
    #[arg(long, value_name = "ENV")]
    pub env: Option<Name>,
    /// The period's start (2027-01-01, or an RFC 3339 time) [default: 30
    /// days before --until]
    #[arg(long, value_name = "DATE", value_parser = parse_date_or_time)]
    pub since: Option<DateTime<Utc>>,
    /// The period's end, excluded [default: now]
    #[arg(long, value_name = "DATE", value_parser = parse_date_or_time)]
    pub until: Option<DateTime<Utc>>,
    /// Server, token, output.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// `ferry incident`.
#[derive(Debug, Args)]
pub struct IncidentArgs {
    /// What to do with incidents.
    #[command(subcommand)]
    pub command: IncidentCommand,
    /// Server, token, output.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// The incident commands.
#[derive(Debug, Subcommand)]
pub enum IncidentCommand {
    /// Open an incident of a service in an environment; against a
    /// deployment, it counts as that deployment's failure.
    Open {
        /// The service.
        #[arg(long, value_name = "SERVICE")]
        service: Name,
        /// The environment.
        #[arg(long, value_name = "ENV")]
        env: Name,
        /// The deployment it counts against.
        #[arg(long, value_name = "ID")]
        deployment: Option<i64>,
        /// What went wrong.
        #[arg(long, value_name = "TEXT")]
        title: String,
    },
    /// Resolve an incident: the time to restore ends.
    Resolve {
        /// The incident's id.
        #[arg(value_name = "ID")]
        id: i64,
        /// How it was resolved.
        #[arg(long, value_name = "TEXT", default_value = "")]
        resolution: String,
    },
    /// List incidents, newest first.
    List {
        /// Only those still open.
        #[arg(long)]
        open: bool,
    },
}

/// Runs `ferry metrics`.
pub async fn metrics(args: MetricsArgs) -> Result<ExitCode> {
    let client = profile::resolve(&args.client)?.client()?;
    let mut query: Vec<(&str, String)> = Vec::new();
    if let Some(service) = &args.service {
        query.push(("service", service.to_string()));
    }
    if let Some(env) = &args.env {
        query.push(("environment", env.to_string()));
    }
    if let Some(since) = args.since {
        query.push(("since", ferry_core::time::format_time(since)));
    }
    if let Some(until) = args.until {
        query.push(("until", ferry_core::time::format_time(until)));
    }
    let report = client
        .metrics(&query)
        .await
        .context("cannot read the metrics")?;
    match args.client.output {
        OutputFormat::Json => output::json(&report)?,
        OutputFormat::Table => print_report(&report)?,
    }
    Ok(ExitCode::SUCCESS)
}

fn band(band: Option<Band>) -> &'static str {
    band.map_or("—", Band::as_str)
}

fn seconds(count: i64) -> chrono::Duration {
    chrono::Duration::seconds(count)
}

fn distribution(d: &Distribution) -> String {
    match (d.p50_seconds, d.p90_seconds) {
        (Some(p50), Some(p90)) => format!(
            "{} / {} (n={})",
            span(seconds(p50)),
            span(seconds(p90)),
            d.count
        ),
        _ => "—".to_owned(),
    }
}

fn print_report(report: &MetricsReport) -> Result<()> {
    writeln!(
        output::stdout(),
        "DORA metrics from {} to {}",
        output::minute(&report.since),
        output::minute(&report.until)
    )?;
    output::table(
        &[
            "SERVICE",
            "ENV",
            "DEPLOYS",
            "PER DAY",
            "BAND",
            "LEAD TIME P50/P90",
            "BAND",
            "FAILURE RATE",
            "BAND",
            "RESTORE P50/P90",
            "BAND",
        ],
        report.items.iter().map(|item| {
            let m = &item.metrics;
            vec![
                item.service.to_string(),
                item.environment.to_string(),
                m.deployments.to_string(),
                format!("{:.2}", m.deployments_per_day),
                band(Some(m.frequency_band)).to_owned(),
                distribution(&m.lead_time),
                band(m.lead_time_band).to_owned(),
                m.change_failure_rate.map_or_else(
                    || "—".to_owned(),
                    |rate| format!("{:.0}% ({}/{})", rate * 100.0, m.failed, m.finished),
                ),
                band(m.change_failure_band).to_owned(),
                format!(
                    "{}{}",
                    distribution(&m.time_to_restore),
                    if m.unrestored > 0 {
                        format!(", {} open", m.unrestored)
                    } else {
                        String::new()
                    }
                ),
                band(m.time_to_restore_band).to_owned(),
            ]
        }),
    )?;
    let mut out = output::stdout();
    writeln!(out)?;
    for definition in &report.definitions {
        writeln!(out, "{}: {}.", definition.name, definition.definition)?;
    }
    Ok(())
}

/// Runs `ferry incident`.
pub async fn incident(args: IncidentArgs) -> Result<ExitCode> {
    let client = profile::resolve(&args.client)?.client()?;
    let format = args.client.output;
    match args.command {
        IncidentCommand::Open {
            service,
            env,
            deployment,
            title,
        } => {
            let incident = client
                .open_incident(&OpenIncident {
                    service: service.clone(),
                    environment: env.clone(),
                    deployment,
                    title,
                })
                .await
                .with_context(|| format!("cannot open an incident of {service} in {env}"))?;
            match format {
                OutputFormat::Json => output::json(&incident)?,
                OutputFormat::Table => writeln!(
                    output::stdout(),
                    "{GOOD}Opened incident {}{GOOD:#} of {} in {}: {}.",
                    incident.id,
                    incident.service,
                    incident.environment,
                    incident.title
                )?,
            }
        }
        IncidentCommand::Resolve { id, resolution } => {
            let incident = client
                .resolve_incident(id, &ResolveIncident { resolution })
                .await
                .with_context(|| format!("cannot resolve incident {id}"))?;
            match format {
                OutputFormat::Json => output::json(&incident)?,
                OutputFormat::Table => writeln!(
                    output::stdout(),
                    "{GOOD}Resolved incident {}{GOOD:#}: {}.",
                    incident.id,
                    incident.title
                )?,
            }
        }
        IncidentCommand::List { open } => {
            let page = client
                .incidents(open)
                .await
                .context("cannot list the incidents")?;
            match format {
                OutputFormat::Json => output::json(&page)?,
                OutputFormat::Table if page.items.is_empty() => {
                    writeln!(output::stdout(), "No incidents.")?
                }
                OutputFormat::Table => output::table(
                    &[
                        "ID",
                        "SERVICE",
                        "ENV",
                        "DEPLOYMENT",
                        "OPENED",
                        "RESOLVED",
                        "TITLE",
                    ],
                    page.items.iter().map(|i| {
                        vec![
                            i.id.to_string(),
                            i.service.to_string(),
                            i.environment.to_string(),
                            i.deployment.map(|d| d.to_string()).unwrap_or_default(),
                            output::minute(&i.opened_at),
                            i.resolved_at
                                .map_or_else(|| "open".to_owned(), |at| output::minute(&at)),
                            i.title.clone(),
                        ]
                    }),
                )?,
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
