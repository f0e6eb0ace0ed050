//! `ferry user create|list|disable|enable|password`. A new user comes with
//! a first API token, shown once, to hand to them; a disabled user's tokens
//! are refused until they are enabled again; a password signs them in to
//! the web UI.

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
    /// Invite a user to set their web password: prints a link, once, that
    /// works once until it expires (administrators only).
    Invite {
        /// The user's name.
        #[arg(value_name = "NAME")]
        name: Name,
        /// How long the link works: 30m, 12h, 3d, 2w (at most 30 days)
        /// [default: 3d]
        #[arg(long, value_name = "DURATION", value_parser = crate::args::parse_lifetime)]
        valid_for: Option<chrono::Duration>,
    },
    /// Set a user's password for the web UI: your own, or anyone's as an
    /// administrator. Asked twice at a terminal (not shown); otherwise read
    /// from the first line of standard input (`ferry user password rosa <
    /// file`). 12 to 1000 printable characters.
    Password {
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
        UserCommand::Invite { name, valid_for } => {
            // Whole hours, rounded up: the server counts in hours.
            let hours = valid_for.map(|duration| {
                let minutes = duration.num_minutes();
                u32::try_from((minutes + 59) / 60).unwrap_or(u32::MAX)
            });
            let invitation = client
                .invite(name.as_str(), hours)
                .await
                .with_context(|| format!("cannot invite user {name}"))?;
            let link = format!(
                "{}{}",
                client.server().trim_end_matches('/'),
                invitation.path
            );
            match format {
                OutputFormat::Json => output::json(&serde_json::json!({
                    "user": invitation.user,
                    "url": link,
                    "expires_at": invitation.expires_at,
                }))?,
                OutputFormat::Table => writeln!(
                    output::stdout(),
                    "Invitation for {} to set their web password, shown once; it works once, until {}:\n{link}",
                    invitation.user,
                    output::time(&invitation.expires_at)
                )?,
            }
        }
        UserCommand::Password { name } => {
            let password = read_password(&name)?;
            let user = client
                .set_password(name.as_str(), &password)
                .await
                .with_context(|| format!("cannot set the password of user {name}"))?;
            match format {
                OutputFormat::Json => output::json(&user)?,
                OutputFormat::Table => writeln!(
                    output::stdout(),
                    "Set the web password of user {}.",
                    user.name
                )?,
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The new password: asked twice at a terminal, without echo; otherwise
/// the first line of standard input.
fn read_password(name: &Name) -> Result<String> {
    use std::io::{BufRead, IsTerminal};
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        let first = rpassword::prompt_password(format!("New web password for {name}: "))
            .context("cannot read the password")?;
        let again =
            rpassword::prompt_password("The same again: ").context("cannot read the password")?;
        anyhow::ensure!(
            first == again,
            "the two passwords differ: nothing was changed"
        );
        return Ok(first);
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let password = line.trim_end_matches(['\n', '\r']).to_owned();
    anyhow::ensure!(
        !password.is_empty(),
        "no password on standard input: send it as its first line"
    );
    Ok(password)
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
