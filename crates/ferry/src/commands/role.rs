//! `ferry role grant|revoke|list`: who holds which role, where. A grant
//! gives a role to a user or a group, everywhere or only for one service,
//! one environment, or both; `ferry role list --permissions` prints what
//! each role allows.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use ferry_api::{CreateGrant, GrantEntry, Permission};
use ferry_client::GrantQuery;
use ferry_core::Name;
use ferry_core::access::{Grant, Role};

use crate::cli::{ClientArgs, OutputFormat};
use crate::{output, profile};

/// `ferry role`.
#[derive(Debug, Args)]
pub struct RoleArgs {
    /// What to do with roles.
    #[command(subcommand)]
    pub command: RoleCommand,
    /// Server, token, output.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// The role commands.
#[derive(Debug, Subcommand)]
pub enum RoleCommand {
    /// Grant a role to a user or a group, everywhere or for one service
    /// and/or environment (administrators only).
    Grant(RoleGrantArgs),
    /// Revoke a role granted with exactly this scope (administrators only).
    Revoke(RoleGrantArgs),
    /// List the grants, or with --permissions what each role allows.
    List {
        /// Only this user's own grants (not those of their groups).
        #[arg(long, value_name = "USER", conflicts_with = "group")]
        user: Option<Name>,
        /// Only this group's grants.
        #[arg(long, value_name = "GROUP")]
        group: Option<Name>,
        /// Print the permission table instead: each action, the roles that
        /// allow it, and whether it is guarded (in a protected environment
        /// only a grant that names the environment allows it).
        #[arg(long, conflicts_with_all = ["user", "group"])]
        permissions: bool,
    },
}

/// A role, who holds it, and where: `ferry role grant` and `ferry role revoke`.
#[derive(Debug, Args)]
pub struct RoleGrantArgs {
    /// The role: viewer, developer, deployer, approver, release-manager or
    /// admin.
    #[arg(value_name = "ROLE")]
    pub role: Role,
    /// Who holds it.
    #[command(flatten)]
    pub holder: Holder,
    /// Only for this service [default: every service]
    #[arg(long, value_name = "SERVICE")]
    pub service: Option<Name>,
    /// Only in this environment [default: every environment]
    #[arg(long = "env", value_name = "ENV")]
    pub environment: Option<Name>,
}

/// A user or a group.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct Holder {
    /// The user who holds the role.
    #[arg(long, value_name = "USER")]
    pub user: Option<Name>,
    /// The group that holds the role (every member does).
    #[arg(long, value_name = "GROUP")]
    pub group: Option<Name>,
}

impl Holder {
    /// `user bob` or `group ops`.
    fn describe(&self) -> String {
        match (&self.user, &self.group) {
            (Some(user), _) => format!("user {user}"),
            (None, Some(group)) => format!("group {group}"),
            (None, None) => "nobody".to_owned(),
        }
    }

    fn query(&self) -> GrantQuery {
        GrantQuery {
            user: self.user.as_ref().map(|u| u.as_str().to_owned()),
            group: self.group.as_ref().map(|g| g.as_str().to_owned()),
        }
    }
}

impl RoleGrantArgs {
    fn grant(&self) -> Grant {
        Grant {
            role: self.role,
            service: self.service.clone(),
            environment: self.environment.clone(),
        }
    }
}

/// Runs one role command.
pub async fn run(args: RoleArgs) -> Result<ExitCode> {
    let client = profile::resolve(&args.client)?.client()?;
    let format = args.client.output;
    match args.command {
        RoleCommand::Grant(grant) => {
            let body = CreateGrant {
                user: grant.holder.user.clone(),
                group: grant.holder.group.clone(),
                grant: grant.grant(),
            };
            let created = client.create_grant(&body).await.with_context(|| {
                format!(
                    "cannot grant {} to {}",
                    grant.grant(),
                    grant.holder.describe()
                )
            })?;
            match format {
                OutputFormat::Json => output::json(&created)?,
                OutputFormat::Table => writeln!(
                    output::stdout(),
                    "Granted {} to {}.",
                    created.grant,
                    grant.holder.describe()
                )?,
            }
        }
        RoleCommand::Revoke(grant) => {
            let wanted = grant.grant();
            let holder = grant.holder.describe();
            let held = client
                .grants(&grant.holder.query())
                .await
                .with_context(|| format!("cannot list the grants of {holder}"))?;
            let Some(found) = held.items.iter().find(|entry| entry.grant == wanted) else {
                let filter = match (&grant.holder.user, &grant.holder.group) {
                    (Some(user), _) => format!("--user {user}"),
                    (None, Some(group)) => format!("--group {group}"),
                    (None, None) => String::new(),
                };
                bail!(
                    "{holder} holds no grant of {wanted} (with exactly this scope); \
                     see `ferry role list {filter}`"
                );
            };
            let revoked = client
                .revoke_grant(found.id)
                .await
                .with_context(|| format!("cannot revoke {wanted} from {holder}"))?;
            match format {
                OutputFormat::Json => output::json(&revoked)?,
                OutputFormat::Table => {
                    writeln!(output::stdout(), "Revoked {} from {holder}.", revoked.grant)?
                }
            }
        }
        RoleCommand::List {
            permissions: true, ..
        } => {
            let table = client
                .permissions()
                .await
                .context("cannot read the permission table")?;
            match format {
                OutputFormat::Json => output::json(&table)?,
                OutputFormat::Table => print_permissions(&table.items)?,
            }
        }
        RoleCommand::List { user, group, .. } => {
            let query = GrantQuery {
                user: user.map(|u| u.as_str().to_owned()),
                group: group.map(|g| g.as_str().to_owned()),
            };
            let grants = client
                .grants(&query)
                .await
                .context("cannot list the grants")?;
            match format {
                OutputFormat::Json => output::json(&grants)?,
                OutputFormat::Table => print_grants(&grants.items)?,
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `user:bob` or `group:ops`, as the audit trail names them.
fn holder(entry: &GrantEntry) -> String {
    match (&entry.user, &entry.group) {
        (Some(user), _) => format!("user:{user}"),
        (None, Some(group)) => format!("group:{group}"),
        (None, None) => "-".to_owned(),
    }
}

fn print_grants(grants: &[GrantEntry]) -> std::io::Result<()> {
    if grants.is_empty() {
        return writeln!(output::stdout(), "No grants.");
    }
    let every = |name: &Option<Name>| name.as_ref().map_or("*".to_owned(), Name::to_string);
    let rows = grants.iter().map(|entry| {
        vec![
            holder(entry),
            entry.grant.role.to_string(),
            every(&entry.grant.service),
            every(&entry.grant.environment),
            entry.created_by.clone(),
            output::time(&entry.created_at),
        ]
    });
    output::table(
        &[
            "USER/GROUP",
            "ROLE",
            "SERVICE",
            "ENVIRONMENT",
            "GRANTED BY",
            "GRANTED",
        ],
        rows,
    )
}

fn print_permissions(permissions: &[Permission]) -> std::io::Result<()> {
    let rows = permissions.iter().map(|permission| {
        let roles: Vec<&str> = permission.roles.iter().map(|r| r.as_str()).collect();
        vec![
            permission.action.clone(),
            permission.description.clone(),
            roles.join(","),
            if permission.guarded { "yes" } else { "no" }.to_owned(),
        ]
    });
    output::table(&["ACTION", "WHAT", "ROLES", "GUARDED"], rows)
}
