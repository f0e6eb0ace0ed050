//! `ferry diff SERVICE --from ENV --to ENV`: what a promotion would bring.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use ferry_core::Name;

use crate::cli::{ClientArgs, OutputFormat};
use crate::{output, profile};

/// The arguments of `ferry diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The service.
    #[arg(value_name = "SERVICE")]
    pub service: Name,
    /// The environment the release would come from.
    #[arg(long, value_name = "ENV")]
    pub from: Name,
    /// The environment it would go to.
    #[arg(long, value_name = "ENV")]
    pub to: Name,
    /// Server, token, output.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// Runs `ferry diff`.
pub async fn run(args: DiffArgs) -> Result<ExitCode> {
    let client = profile::resolve(&args.client)?.client()?;
    let diff = client
        .diff(args.service.as_str(), args.from.as_str(), args.to.as_str())
        .await
        .with_context(|| {
            format!(
                "cannot compare {} between {} and {}",
                args.service, args.from, args.to
            )
        })?;
    if args.client.output == OutputFormat::Json {
        output::json(&diff)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = output::stdout();
    let side = |version: &Option<String>| version.clone().unwrap_or_else(|| "nothing".into());
    writeln!(
        out,
        "{}: {} has {}, {} has {}.",
        diff.service,
        diff.from.environment,
        side(&diff.from.version),
        diff.to.environment,
        side(&diff.to.version)
    )?;
    if diff.releases.is_empty() {
        writeln!(out, "Promoting would bring nothing new.")?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(
        out,
        "Promoting would bring {} release(s): {}; {} commit(s):",
        diff.releases.len(),
        diff.releases.join(", "),
        diff.commits.len()
    )?;
    for commit in &diff.commits {
        let short: String = commit.id.chars().take(7).collect();
        let kind = match (&commit.kind, &commit.scope) {
            (Some(kind), Some(scope)) => format!("{kind}({scope}): "),
            (Some(kind), None) => format!("{kind}: "),
            _ => String::new(),
        };
        let breaking = if commit.breaking { " [breaking]" } else { "" };
        writeln!(out, "  {short} {kind}{}{breaking}", commit.subject)?;
    }
    Ok(ExitCode::SUCCESS)
}
