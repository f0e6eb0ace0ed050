//! `ferry calendar [--days N]`: the coming deployment windows, freezes and
//! scheduled changes, by start, in UTC.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use ferry_api::CalendarEntry;

use crate::cli::{ClientArgs, OutputFormat};
use crate::{output, profile};

/// `ferry calendar`.
#[derive(Debug, Args)]
pub struct CalendarArgs {
    /// How many days ahead (1 to 366) [default: the server's, 14]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=366))]
    pub days: Option<u32>,
    /// Server, token, output.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// Runs `ferry calendar`.
pub async fn run(args: CalendarArgs) -> Result<ExitCode> {
    let client = profile::resolve(&args.client)?.client()?;
    let page = client
        .calendar(args.days)
        .await
        .context("cannot read the release calendar")?;
    match args.client.output {
        OutputFormat::Json => output::json(&page)?,
        OutputFormat::Table => print_entries(&page.items, args.days)?,
    }
    Ok(ExitCode::SUCCESS)
}

fn print_entries(entries: &[CalendarEntry], days: Option<u32>) -> std::io::Result<()> {
    if entries.is_empty() {
        let ahead = days.map_or_else(
            || "the coming days".to_owned(),
            |d| format!("the next {d} day(s)"),
        );
        return writeln!(
            output::stdout(),
            "Nothing on the calendar in {ahead}: no deployment windows, freezes or scheduled changes."
        );
    }
    let rows = entries.iter().map(|e| {
        vec![
            output::minute(&e.start),
            output::minute(&e.end),
            e.kind.clone(),
            e.environments.join(","),
            e.title.clone(),
        ]
    });
    output::table(&["START", "END", "KIND", "ENVIRONMENTS", "TITLE"], rows)
}
