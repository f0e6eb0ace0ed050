//! `ferry approve|reject SERVICE@VERSION --env ENV [--comment TEXT]`: a
//! decision on a release for an environment. A person's new decision
//! replaces their earlier one, so approving withdraws a rejection.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use ferry_api::Decide;
use ferry_core::{Name, ReleaseRef};

use crate::cli::{ClientArgs, OutputFormat};
use crate::{output, profile};

/// `ferry approve` and `ferry reject`.
#[derive(Debug, Args)]
pub struct DecideArgs {
    /// The release, such as api@1.4.0.
    #[arg(value_name = "SERVICE@VERSION")]
    pub release: ReleaseRef,
    /// The environment the decision is for.
    #[arg(long, value_name = "ENV")]
    pub env: Name,
    /// Why.
    #[arg(long, value_name = "TEXT", default_value = "")]
    pub comment: String,
    /// Server, token, output.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// Approves (`approve` true) or rejects a release.
pub async fn run(args: DecideArgs, approve: bool) -> Result<ExitCode> {
    let client = profile::resolve(&args.client)?.client()?;
    let release = &args.release;
    let verb = if approve { "approve" } else { "reject" };
    let body = Decide {
        environment: args.env.clone(),
        approve,
        comment: args.comment,
    };
    let decision = client
        .decide(
            release.service.as_str(),
            &release.version.to_string(),
            &body,
        )
        .await
        .with_context(|| format!("cannot {verb} {release} for {}", args.env))?;
    match args.client.output {
        OutputFormat::Json => output::json(&decision)?,
        OutputFormat::Table => {
            let done = if decision.approve {
                "approved"
            } else {
                "rejected"
            };
            writeln!(
                output::stdout(),
                "{} {done} {release} for {}.",
                decision.user,
                args.env
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
