//! `ferry user create|list`. A new user comes with a first API token, shown
//! once, to hand to them.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use ferry_api::{CreateUser, Page, User};
use ferry_client::all_pages;

use crate::cli::{OutputFormat, UserArgs, UserCommand};
use crate::commands::token::print_secret;
use crate::{output, profile};

/// Runs one user command.
pub async fn run(args: UserArgs) -> Result<ExitCode> {
    let client = profile::resolve(&args.client)?.client()?;
    let format = args.client.output;
    match args.command {
        UserCommand::Create { name, email } => {
            let body = CreateUser {
                name: name.as_str().to_owned(),
                email,
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
        ]
    });
    output::table(&["NAME", "EMAIL", "ADMIN", "CREATED"], rows)
}
