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
    /// Exchange this OIDC ID token of a CI system (GitHub Actions, GitLab
    /// CI…) for a short-lived ferry token, under the server's trust
    /// policies, and save that instead of a token of yours.
    #[arg(
        long,
        env = "FERRY_OIDC_TOKEN",
        value_name = "JWT",
        hide_env_values = true,
        conflicts_with = "token"
    )]
    pub oidc_token: Option<String>,
    /// Where the server is, the token to save, how to print.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// Checks the token against the server (or gets one for a CI workload's
/// ID token), then saves both as the profile.
pub async fn login(args: LoginArgs) -> Result<ExitCode> {
    let oidc_token = args.oidc_token;
    let args = args.client;
    let server = args
        .server
        .clone()
        .unwrap_or_else(|| ferry_client::DEFAULT_SERVER.to_owned());
    let token = match (oidc_token, args.token.clone()) {
        (Some(id_token), _) => {
            let exchanged = ferry_client::Client::new(&server, None)?
                .exchange_oidc_token(&id_token)
                .await
                .context("the server did not exchange the OIDC token")?;
            if args.output == OutputFormat::Table {
                writeln!(
                    output::stdout(),
                    "Exchanged the OIDC token of {} for a ferry token valid until {}.",
                    exchanged.subject,
                    output::time(&exchanged.expires_at)
                )?;
            }
            exchanged.secret
        }
        (None, Some(token)) => token,
        (None, None) => bail!(
            "login needs a token: pass --token TOKEN or set FERRY_TOKEN (or, in CI, --oidc-token JWT)"
        ),
    };
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

/// Prints who the token belongs to, and what it allows: the user's grants
/// (their own and their groups'), their groups, and the grants the token
/// is narrowed to, if it is.
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
            if whoami.grants.is_empty() {
                writeln!(out, "Grants: none")?;
            } else {
                writeln!(out, "Grants:")?;
                for grant in &whoami.grants {
                    writeln!(out, "  {grant}")?;
                }
            }
            if whoami.groups.is_empty() {
                writeln!(out, "Groups: none")?;
            } else {
                writeln!(out, "Groups: {}", whoami.groups.join(", "))?;
            }
            if whoami.token_grants.as_ref().is_some_and(Vec::is_empty) {
                writeln!(
                    out,
                    "This token is narrowed to no grant at all: it allows nothing."
                )?;
            } else if let Some(narrowed) = &whoami.token_grants {
                writeln!(
                    out,
                    "This token is narrowed to (it allows only what these and the grants above both allow):"
                )?;
                for grant in narrowed {
                    writeln!(out, "  {grant}")?;
                }
            }
            out.flush()?;
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
