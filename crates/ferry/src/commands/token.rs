//! `ferry token create|list|revoke`: API tokens. A token's secret is shown
//! once, when it is created; the server keeps only its hash.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use ferry_api::{CreateToken, CreatedToken, Page, Token};
use ferry_client::all_pages;

use crate::cli::{ClientArgs, OutputFormat};
use crate::{output, profile};

/// `ferry token`.
#[derive(Debug, Args)]
pub struct TokenArgs {
    /// What to do with tokens.
    #[command(subcommand)]
    pub command: TokenCommand,
    /// Server, token, output.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// The token commands.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token for yourself; its secret is printed this once.
    Create {
        /// What the token is for, such as ci or laptop.
        #[arg(value_name = "NAME")]
        name: String,
    },
    /// List tokens.
    List,
    /// Revoke a token: it is refused from now on.
    Revoke {
        /// The token's id (see `ferry token list`).
        #[arg(value_name = "ID")]
        id: i64,
    },
}

/// Runs one token command.
pub async fn run(args: TokenArgs) -> Result<ExitCode> {
    let client = profile::resolve(&args.client)?.client()?;
    let format = args.client.output;
    match args.command {
        TokenCommand::Create { name } => {
            let created = client
                .create_token(&CreateToken {
                    name,
                    expires_at: None,
                    grants: None,
                })
                .await
                .context("cannot create the token")?;
            match format {
                OutputFormat::Json => output::json(&created)?,
                OutputFormat::Table => print_secret(&created, "")?,
            }
        }
        TokenCommand::List => {
            let tokens = all_pages(|page| {
                let client = &client;
                async move { client.tokens(&page).await }
            })
            .await?;
            match format {
                OutputFormat::Json => output::json(&Page {
                    items: tokens,
                    next_cursor: None,
                })?,
                OutputFormat::Table => print_tokens(&tokens)?,
            }
        }
        TokenCommand::Revoke { id } => {
            client
                .revoke_token(id)
                .await
                .with_context(|| format!("cannot revoke token {id}"))?;
            match format {
                // DELETE answers 204 with no body: there is nothing to print.
                OutputFormat::Json => {}
                OutputFormat::Table => writeln!(
                    output::stdout(),
                    "Revoked token {id}: it is refused from now on."
                )?,
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Says what was created, then the secret alone on the last line, so a
/// script can take it with `tail -n 1`.
pub fn print_secret(created: &CreatedToken, owner_note: &str) -> std::io::Result<()> {
    let token = &created.token;
    let mut out = output::stdout();
    writeln!(
        out,
        "Created token {:?} (id {}) for {}{owner_note}. Its secret is shown this once; store it now:",
        token.name, token.id, token.user
    )?;
    writeln!(out, "{}", created.secret)?;
    out.flush()
}

fn print_tokens(tokens: &[Token]) -> std::io::Result<()> {
    if tokens.is_empty() {
        return writeln!(output::stdout(), "No tokens.");
    }
    let rows = tokens.iter().map(|t| {
        vec![
            t.id.to_string(),
            t.name.clone(),
            t.user.clone(),
            format!("{}…", t.prefix),
            output::time(&t.created_at),
            t.last_used_at
                .as_ref()
                .map_or_else(|| "-".to_owned(), output::time),
            t.revoked_at
                .as_ref()
                .map_or_else(|| "-".to_owned(), output::time),
        ]
    });
    output::table(
        &[
            "ID",
            "NAME",
            "USER",
            "PREFIX",
            "CREATED",
            "LAST USED",
            "REVOKED",
        ],
        rows,
    )
}
