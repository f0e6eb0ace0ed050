//! `ferry group create|add|remove|list`: groups of users. A role granted to
//! a group (`ferry role grant ROLE --group G`) holds for every member.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use ferry_api::{CreateGroup, Group};
use ferry_core::Name;

use crate::cli::{ClientArgs, OutputFormat};
use crate::{output, profile};

/// `ferry group`.
#[derive(Debug, Args)]
pub struct GroupArgs {
    /// What to do with groups.
    #[command(subcommand)]
    pub command: GroupCommand,
    /// Server, token, output.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// The group commands.
#[derive(Debug, Subcommand)]
pub enum GroupCommand {
    /// Create an empty group (administrators only).
    Create {
        /// The group's name (lower-case letters, digits, -, _, .).
        #[arg(value_name = "NAME")]
        name: Name,
    },
    /// Add a user to a group (administrators only).
    Add {
        /// The group.
        #[arg(value_name = "GROUP")]
        group: Name,
        /// The user.
        #[arg(value_name = "USER")]
        user: Name,
    },
    /// Remove a user from a group (administrators only).
    Remove {
        /// The group.
        #[arg(value_name = "GROUP")]
        group: Name,
        /// The user.
        #[arg(value_name = "USER")]
        user: Name,
    },
    /// List the groups and their members.
    List,
}

/// Runs one group command.
pub async fn run(args: GroupArgs) -> Result<ExitCode> {
    let client = profile::resolve(&args.client)?.client()?;
    let format = args.client.output;
    match args.command {
        GroupCommand::Create { name } => {
            let created = client
                .create_group(&CreateGroup { name: name.clone() })
                .await
                .with_context(|| format!("cannot create group {name}"))?;
            match format {
                OutputFormat::Json => output::json(&created)?,
                OutputFormat::Table => writeln!(
                    output::stdout(),
                    "Created group {}; add members with `ferry group add {} USER`.",
                    created.name,
                    created.name
                )?,
            }
        }
        GroupCommand::Add { group, user } => {
            let changed = client
                .set_membership(group.as_str(), user.as_str(), true)
                .await
                .with_context(|| format!("cannot add {user} to group {group}"))?;
            match format {
                OutputFormat::Json => output::json(&changed)?,
                OutputFormat::Table => {
                    writeln!(output::stdout(), "Added {user} to group {group}.")?;
                }
            }
        }
        GroupCommand::Remove { group, user } => {
            let changed = client
                .set_membership(group.as_str(), user.as_str(), false)
                .await
                .with_context(|| format!("cannot remove {user} from group {group}"))?;
            match format {
                OutputFormat::Json => output::json(&changed)?,
                OutputFormat::Table => {
                    writeln!(output::stdout(), "Removed {user} from group {group}.")?;
                }
            }
        }
        GroupCommand::List => {
            let groups = client.groups().await.context("cannot list the groups")?;
            match format {
                OutputFormat::Json => output::json(&groups)?,
                OutputFormat::Table => print_groups(&groups.items)?,
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_groups(groups: &[Group]) -> std::io::Result<()> {
    if groups.is_empty() {
        return writeln!(output::stdout(), "No groups.");
    }
    let rows = groups.iter().map(|group| {
        vec![
            group.name.clone(),
            if group.members.is_empty() {
                "-".to_owned()
            } else {
                group.members.join(",")
            },
            output::time(&group.created_at),
        ]
    });
    output::table(&["NAME", "MEMBERS", "CREATED"], rows)
}
