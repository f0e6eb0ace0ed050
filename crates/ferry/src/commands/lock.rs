//! `ferry lock [ENV [--service S] --reason TEXT]` and `ferry unlock ENV
//! [--service S] --reason TEXT`: close an environment, or one service in
//! it, to promotions until it is unlocked; `ferry lock` alone lists the
//! locks in force.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Args;
use ferry_api::{Lock, NewLock, Unlock};
use ferry_core::Name;

use crate::cli::{ClientArgs, OutputFormat};
use crate::output::{self, GOOD};
use crate::profile;

/// `ferry lock`.
#[derive(Debug, Args)]
pub struct LockArgs {
    /// The environment to lock; without it, the locks in force are listed.
    #[arg(value_name = "ENV")]
    pub environment: Option<Name>,
    /// Lock only this service in the environment.
    #[arg(long, value_name = "SERVICE", requires = "environment")]
    pub service: Option<Name>,
    /// Why: shown to everyone the lock stops (required to lock).
    #[arg(long, value_name = "TEXT", requires = "environment")]
    pub reason: Option<String>,
    /// Server, token, output.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// `ferry unlock`.
#[derive(Debug, Args)]
pub struct UnlockArgs {
    /// The environment to unlock.
    #[arg(value_name = "ENV")]
    pub environment: Name,
    /// Lift this service's own lock instead of the environment's.
    #[arg(long, value_name = "SERVICE")]
    pub service: Option<Name>,
    /// Why it may go ahead again.
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
    /// Server, token, output.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// Runs `ferry lock`.
pub async fn lock(args: LockArgs) -> Result<ExitCode> {
    let client = profile::resolve(&args.client)?.client()?;
    let Some(environment) = args.environment else {
        let page = client.locks(None).await.context("cannot list the locks")?;
        match args.client.output {
            OutputFormat::Json => output::json(&page)?,
            OutputFormat::Table => print_list(&page.items)?,
        }
        return Ok(ExitCode::SUCCESS);
    };
    let Some(reason) = args.reason else {
        bail!("--reason TEXT is required to lock: say why, for the people the lock stops");
    };
    let scope = scope(&environment, args.service.as_ref());
    let lock = client
        .lock(&NewLock {
            environment,
            service: args.service,
            reason,
        })
        .await
        .with_context(|| format!("cannot lock {scope}"))?;
    match args.client.output {
        OutputFormat::Json => output::json(&lock)?,
        OutputFormat::Table => writeln!(
            output::stdout(),
            "{GOOD}Locked {scope}{GOOD:#}: no promotion enters it until `ferry unlock {}{}` (rollbacks still run).",
            lock.environment,
            lock.service
                .as_ref()
                .map(|s| format!(" --service {s}"))
                .unwrap_or_default()
        )?,
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `ferry unlock`.
pub async fn unlock(args: UnlockArgs) -> Result<ExitCode> {
    let client = profile::resolve(&args.client)?.client()?;
    let scope = scope(&args.environment, args.service.as_ref());
    let lock = client
        .unlock(&Unlock {
            environment: args.environment,
            service: args.service,
            reason: args.reason,
        })
        .await
        .with_context(|| format!("cannot unlock {scope}"))?;
    match args.client.output {
        OutputFormat::Json => output::json(&lock)?,
        OutputFormat::Table => writeln!(
            output::stdout(),
            "{GOOD}Unlocked {scope}{GOOD:#} (locked by {} since {}: {}).",
            lock.locked_by,
            output::time(&lock.locked_at),
            lock.reason
        )?,
    }
    Ok(ExitCode::SUCCESS)
}

fn scope(environment: &Name, service: Option<&Name>) -> String {
    match service {
        Some(service) => format!("{service} in {environment}"),
        None => environment.to_string(),
    }
}

fn print_list(locks: &[Lock]) -> Result<()> {
    if locks.is_empty() {
        writeln!(output::stdout(), "Nothing is locked.")?;
        return Ok(());
    }
    let rows: Vec<Vec<String>> = locks
        .iter()
        .map(|lock| {
            vec![
                lock.environment.to_string(),
                lock.service
                    .as_ref()
                    .map_or_else(|| "(all)".to_owned(), ToString::to_string),
                lock.locked_by.clone(),
                output::time(&lock.locked_at),
                lock.reason.clone(),
            ]
        })
        .collect();
    output::table(
        &["ENVIRONMENT", "SERVICE", "LOCKED BY", "SINCE", "REASON"],
        rows,
    )?;
    Ok(())
}
