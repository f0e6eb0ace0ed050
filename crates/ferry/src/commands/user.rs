//! `ferry user create|list|disable|enable`. A new user comes with a first
//! API token, shown once, to hand to them; a disabled user's tokens are
//! refused until they are enabled again.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use ferry_api::{CreateUser, Page, User};
use ferry_client::all_pages;
use ferry_core::Name;

use crate::cli::{ClientArgs, OutputFormat};
use crate::commands::token::print_secret;
use crate::{output, profile};

/// `ferry user`.
#[derive(Debug, Args)]
pub struct UserArgs {
    /// What to do with users.
    #[command(subcommand)]
    pub command: UserCommand,
    /// Server, token, output.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// The user commands.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; their first token is printed this once
    /// (administrators only).
    Create {
        /// The user's name (lower-case letters, digits, -, _, .).
        #[arg(value_name = "NAME")]
        name: Name,
        /// Their e-mail address.
        #[arg(long, value_name = "EMAIL")]
        email: Option<String>,
        /// Give them the admin role (everything, everywhere).
        #[arg(long)]
        admin: bool,
    },
    /// List users.
    List,
    /// Disable a user: their tokens are refused until they are enabled
    /// again (administrators only).
    Disable {
        /// The user's name.
        #[arg(value_name = "NAME")]
        name: Name,
    },
    /// Enable a disabled user again (administrators only).
    Enable {
        /// The user's name.
        #[arg(value_name = "NAME")]
        name: Name,
    },
}

/// Runs one user command.
pub async fn run(args: UserArgs) -> Result<ExitCode> {
    let client = profile::resolve(&args.client)?.client()?;
    let format = args.client.output;
    match args.command {
        UserCommand::Create { name, email, admin } => {
            let body = CreateUser {
                name: name.clone(),
                email,
                admin,
            };
            let created = client
                .create_user(&body)
                .await
                .with_context(|| format!("cannot create user {name}"))?;
            match format {
                OutputFormat::Json => output::json(&created)?,
                OutputFormat::Table => {
                    writeln!(output::stdout(), "Created user {}.", created.user.name)?;
                    print_secret(&created.token, ", to hand to them")?;
                }
            }
        }
        UserCommand::List => {
            let users = all_pages(|page| {
                let client = &client;
                async move { client.users(&page).await }
            })
            .await?;
            match format {
                OutputFormat::Json => output::json(&Page {
                    items: users,
                    next_cursor: None,
                })?,
                OutputFormat::Table => print_users(&users)?,
            }
        }
        UserCommand::Disable { name } => {
            let user = client
                .set_user_enabled(name.as_str(), false)
                .await
                .with_context(|| format!("cannot disable user {name}"))?;
            match format {
                OutputFormat::Json => output::json(&user)?,
                OutputFormat::Table => writeln!(
                    output::stdout(),
                    "Disabled user {}: their tokens are refused until `ferry user enable {}`.",
                    user.name,
                    user.name
                )?,
            }
        }
        UserCommand::Enable { name } => {
            let user = client
                .set_user_enabled(name.as_str(), true)
                .await
                .with_context(|| format!("cannot enable user {name}"))?;
            match format {
                OutputFormat::Json => output::json(&user)?,
                OutputFormat::Table => writeln!(
                    output::stdout(),
                    "Enabled user {}: their tokens that are neither revoked nor expired work again.",
                    user.name
                )?,
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_users(users: &[User]) -> std::io::Result<()> {
    let rows = users.iter().map(|u| {
        vec![
            u.name.clone(),
            u.email.clone().unwrap_or_else(|| "-".to_owned()),
            if u.admin { "yes" } else { "no" }.to_owned(),
            output::time(&u.created_at),
            u.disabled_at
                .as_ref()
                .map_or_else(|| "-".to_owned(), output::time),
        ]
    });
    output::table(&["NAME", "EMAIL", "ADMIN", "CREATED", "DISABLED"], rows)
}
