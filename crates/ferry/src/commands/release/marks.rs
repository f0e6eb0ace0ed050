//! `ferry release marks SERVICE@VERSION` and `ferry release unmark
//! SERVICE@VERSION --env ENV --reason TEXT`: where a release was rolled
//! back and marked bad, and lifting a mark once it is known to be good.

use std::io::Write;

use anyhow::{Context, Result};
use clap::Args;
use ferry_api::{Mark, Unmark};
use ferry_client::Client;
use ferry_core::{Name, ReleaseRef};

use crate::cli::OutputFormat;
use crate::output::{self, GOOD};

/// `ferry release unmark`.
#[derive(Debug, Args)]
pub struct UnmarkArgs {
    /// The release, such as api@1.4.0.
    #[arg(value_name = "SERVICE@VERSION")]
    pub release: ReleaseRef,
    /// The environment whose mark is lifted.
    #[arg(long, value_name = "ENV")]
    pub env: Name,
    /// Why it may go there again.
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
}

/// Lists the marks of `release`.
pub async fn list(client: &Client, release: &ReleaseRef, format: OutputFormat) -> Result<()> {
    let page = client
        .marks(release.service.as_str(), &release.version.to_string())
        .await
        .with_context(|| format!("cannot read the marks of {release}"))?;
    match format {
        OutputFormat::Json => output::json(&page)?,
        OutputFormat::Table if page.items.is_empty() => writeln!(
            output::stdout(),
            "{release} was never rolled back: it is marked bad nowhere."
        )?,
        OutputFormat::Table => output::table(
            &["ENVIRONMENT", "MARKED BY", "AT", "REASON", "UNMARKED"],
            page.items.iter().map(row),
        )?,
    }
    Ok(())
}

fn row(mark: &Mark) -> Vec<String> {
    let unmarked = match (&mark.unmarked_by, &mark.unmarked_at) {
        (Some(by), Some(at)) => format!(
            "by {by} at {}: {}",
            output::time(at),
            mark.unmark_reason.as_deref().unwrap_or_default()
        ),
        _ => "no (in force)".to_owned(),
    };
    vec![
        mark.environment.to_string(),
        mark.marked_by.clone(),
        output::time(&mark.marked_at),
        mark.reason.clone(),
        unmarked,
    ]
}

/// Lifts a mark.
pub async fn unmark(client: &Client, args: UnmarkArgs, format: OutputFormat) -> Result<()> {
    let release = &args.release;
    let mark = client
        .unmark(
            release.service.as_str(),
            &release.version.to_string(),
            &Unmark {
                environment: args.env.clone(),
                reason: args.reason,
            },
        )
        .await
        .with_context(|| format!("cannot unmark {release} in {}", args.env))?;
    match format {
        OutputFormat::Json => output::json(&mark)?,
        OutputFormat::Table => writeln!(
            output::stdout(),
            "{GOOD}Unmarked {release} in {}{GOOD:#}: it may be promoted there again (it was marked bad by {} at {}: {}).",
            mark.environment,
            mark.marked_by,
            output::time(&mark.marked_at),
            mark.reason
        )?,
    }
    Ok(())
}
