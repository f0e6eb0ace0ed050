//! `ferry login` and `ferry whoami`: who the token belongs to, on which server.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Args;
use ferry_api::Whoami;

use crate::cli::{ClientArgs, OutputFormat};
use crate::output;
use crate::profile::{self, Profile};

/// `ferry login`.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Where the server is, the token to save, how to print.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// Checks the token against the server, then saves both as the profile.
pub async fn login(args: LoginArgs) -> Result<ExitCode> {
    let args = args.client;
    let Some(token) = args.token.clone() else {
        bail!("login needs a token: pass --token TOKEN or set FERRY_TOKEN");
    };
    let server = args
        .server
        .clone()
        .unwrap_or_else(|| ferry_client::DEFAULT_SERVER.to_owned());
    let client = ferry_client::Client::new(&server, Some(token.clone()))?;
    // Save only a token the server accepts, so a typo cannot replace a
    // working profile.
    let whoami = client
        .whoami()
        .await
        .context("the server did not accept the token")?;
    let path = profile::path()?;
    profile::save(
        &path,
        &Profile {
            server: client.server().to_owned(),
            token,
        },
    )?;
    match args.output {
        OutputFormat::Json => output::json(&whoami)?,
        OutputFormat::Table => {
            let mut out = output::stdout();
            writeln!(
                out,
                "Logged in to {} as {}.",
                client.server(),
                describe(&whoami)
            )?;
            writeln!(out, "Profile saved to {}.", path.display())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints who the token belongs to.
pub async fn whoami(args: ClientArgs) -> Result<ExitCode> {
    let client = profile::resolve(&args)?.client()?;
    let whoami = client.whoami().await?;
    match args.output {
        OutputFormat::Json => output::json(&whoami)?,
        OutputFormat::Table => {
            let mut out = output::stdout();
            writeln!(
                out,
                "{} on {} (ferry {})",
                describe(&whoami),
                client.server(),
                whoami.server_version
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `alice <alice@example.com> (admin)`.
fn describe(whoami: &Whoami) -> String {
    let user = &whoami.user;
    let mut text = user.name.clone();
    if let Some(email) = &user.email {
        text.push_str(&format!(" <{email}>"));
    }
    if user.admin {
        text.push_str(" (admin)");
    }
    text
}
