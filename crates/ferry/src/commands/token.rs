//! `ferry token create|list|revoke`: API tokens. A token's secret is shown
//! once, when it is created; the server keeps only its hash. A token may
//! expire, and may be narrowed to grants of its own: it then allows only
//! what both they and its owner's grants allow.
//!
//! `--role`, `--service` and `--env` of `ferry token create` are read in
//! the order given: each `--role` starts a grant, scoped by the `--service`
//! and `--env` that follow it. clap's derive keeps each flag's values apart,
//! so the order is recovered from clap's own indices of the command line.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use chrono::Utc;
use clap::error::ErrorKind;
use clap::{ArgMatches, Args, CommandFactory, Subcommand};
use ferry_api::{CreateToken, CreatedToken, Page, Token};
use ferry_client::all_pages;
use ferry_core::Name;
use ferry_core::access::{Grant, Role};

use crate::args::parse_lifetime;
use crate::cli::{Cli, ClientArgs, OutputFormat};
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
    ///
    /// Without --role the token has your rights. Each --role starts a grant
    /// the token is narrowed to, and the --service and --env that follow it
    /// (before the next --role) scope that grant: `--role developer
    /// --service api --role viewer` allows developing api and reading the
    /// rest. A narrowed token never allows more than your own grants do.
    Create {
        /// What the token is for, such as ci or laptop.
        #[arg(value_name = "NAME")]
        name: String,
        /// Stop working after this long: 30m, 12h, 90d, 2w [default: never]
        #[arg(long, value_name = "DURATION", value_parser = parse_lifetime)]
        expires: Option<chrono::Duration>,
        /// Narrow the token to this role (repeatable; each starts a grant):
        /// viewer, developer, deployer, approver, release-manager or admin.
        #[arg(long, value_name = "ROLE")]
        role: Vec<Role>,
        /// Only for this service: scopes the --role before it.
        #[arg(long, value_name = "SERVICE")]
        service: Vec<Name>,
        /// Only in this environment: scopes the --role before it.
        #[arg(long = "env", value_name = "ENV")]
        env: Vec<Name>,
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
    // A misplaced --service or --env is a usage error, found before anything
    // is sent.
    let narrowed = match &args.command {
        TokenCommand::Create { role, .. } => match narrowed_grants(role) {
            Ok(grants) => grants,
            Err(usage) => {
                usage.print()?;
                return Ok(ExitCode::from(2));
            }
        },
        _ => None,
    };
    let client = profile::resolve(&args.client)?.client()?;
    let format = args.client.output;
    match args.command {
        TokenCommand::Create { name, expires, .. } => {
            let expires_at = expires
                .map(|lifetime| {
                    Utc::now()
                        .checked_add_signed(lifetime)
                        .context("--expires is too far in the future")
                })
                .transpose()?;
            let created = client
                .create_token(&CreateToken {
                    name,
                    expires_at,
                    grants: narrowed,
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
            let revoked = client
                .revoke_token(id)
                .await
                .with_context(|| format!("cannot revoke token {id}"))?;
            match format {
                OutputFormat::Json => output::json(&revoked)?,
                OutputFormat::Table => writeln!(
                    output::stdout(),
                    "Revoked token {id}: it is refused from now on."
                )?,
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The grants `ferry token create` was given, from this process's command
/// line (`None`: no --role, the owner's rights); a clap usage error for a
/// misplaced --service or --env. `roles` are the roles clap parsed: a
/// command line that does not hold them in this order is refused rather
/// than read as the owner's rights.
fn narrowed_grants(roles: &[Role]) -> Result<Option<Vec<Grant>>, clap::Error> {
    let mut command = Cli::command();
    let matches = command.try_get_matches_from_mut(std::env::args_os())?;
    let create = matches
        .subcommand_matches("token")
        .and_then(|token| token.subcommand_matches("create"));
    let read = match create {
        Some(create) => grants_in_order(create),
        None => Err("cannot find `token create` on the command line".to_owned()),
    };
    let read = read.and_then(|grants| {
        if grants.iter().map(|g| g.role).eq(roles.iter().copied()) {
            Ok(grants)
        } else {
            Err("cannot read the order of --role, --service and --env".to_owned())
        }
    });
    match read {
        Ok(grants) if grants.is_empty() => Ok(None),
        Ok(grants) => Ok(Some(grants)),
        Err(message) => {
            command.build();
            let create = command
                .find_subcommand_mut("token")
                .and_then(|token| token.find_subcommand_mut("create"));
            Err(match create {
                Some(create) => create.error(ErrorKind::ArgumentConflict, message),
                None => clap::Error::raw(ErrorKind::ArgumentConflict, message),
            })
        }
    }
}

/// The grants of `ferry token create`'s `--role`, `--service` and `--env`,
/// in the order they were given.
fn grants_in_order(create: &ArgMatches) -> Result<Vec<Grant>, String> {
    fn placed<T: Clone + Send + Sync + 'static>(matches: &ArgMatches, id: &str) -> Vec<(usize, T)> {
        match (matches.indices_of(id), matches.get_many::<T>(id)) {
            (Some(indices), Some(values)) => indices.zip(values.cloned()).collect(),
            _ => Vec::new(),
        }
    }
    associate(
        placed(create, "role"),
        placed(create, "service"),
        placed(create, "env"),
    )
}

/// Attaches each service and environment to the nearest role before it
/// (by position on the command line): a grant per role. A service or an
/// environment before every role, or two of a kind for one role, is refused.
fn associate(
    mut roles: Vec<(usize, Role)>,
    services: Vec<(usize, Name)>,
    environments: Vec<(usize, Name)>,
) -> Result<Vec<Grant>, String> {
    roles.sort_by_key(|(index, _)| *index);
    let mut grants: Vec<(usize, Grant)> = roles
        .into_iter()
        .map(|(index, role)| (index, Grant::global(role)))
        .collect();
    let mut scope = |flag: &str, index: usize, name: Name, service: bool| {
        let Some((_, grant)) = grants.iter_mut().rev().find(|(at, _)| *at < index) else {
            return Err(format!(
                "--{flag} {name} comes before any --role: each --service and --env \
                 scopes the --role before it, as in `--role developer --{flag} {name}`"
            ));
        };
        let slot = if service {
            &mut grant.service
        } else {
            &mut grant.environment
        };
        if let Some(earlier) = slot {
            return Err(format!(
                "--role {} has two --{flag} ({earlier} and {name}): give each its own --role",
                grant.role
            ));
        }
        *slot = Some(name);
        Ok(())
    };
    let mut scopes: Vec<(usize, Name, bool)> = services
        .into_iter()
        .map(|(index, name)| (index, name, true))
        .chain(
            environments
                .into_iter()
                .map(|(index, name)| (index, name, false)),
        )
        .collect();
    scopes.sort_by_key(|(index, _, _)| *index);
    for (index, name, service) in scopes {
        let flag = if service { "service" } else { "env" };
        scope(flag, index, name, service)?;
    }
    Ok(grants.into_iter().map(|(_, grant)| grant).collect())
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
            t.expires_at
                .as_ref()
                .map_or_else(|| "-".to_owned(), output::time),
            rights(t.grants.as_deref()),
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
            "EXPIRES",
            "RIGHTS",
        ],
        rows,
    )
}

/// `owner's`, or the grants a token is narrowed to.
fn rights(grants: Option<&[Grant]>) -> String {
    match grants {
        None => "owner's".to_owned(),
        Some(grants) => grants
            .iter()
            .map(Grant::to_string)
            .collect::<Vec<_>>()
            .join("; "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> Name {
        Name::parse(text).unwrap()
    }

    fn grant(role: Role, service: Option<&str>, environment: Option<&str>) -> Grant {
        Grant {
            role,
            service: service.map(name),
            environment: environment.map(name),
        }
    }

    #[test]
    fn services_and_environments_scope_the_role_before_them() {
        let grants = associate(
            vec![(2, Role::Developer), (8, Role::Viewer), (4, Role::Deployer)],
            vec![(6, name("api")), (10, name("web"))],
            vec![(12, name("dev"))],
        )
        .unwrap();
        assert_eq!(
            grants,
            [
                grant(Role::Developer, None, None),
                grant(Role::Deployer, Some("api"), None),
                grant(Role::Viewer, Some("web"), Some("dev")),
            ]
        );
        assert_eq!(associate(vec![], vec![], vec![]).unwrap(), []);
    }

    #[test]
    fn a_scope_before_every_role_or_twice_for_one_is_refused() {
        let early = associate(vec![(4, Role::Developer)], vec![(2, name("api"))], vec![]);
        assert!(
            early
                .unwrap_err()
                .contains("--service api comes before any --role"),
        );
        let alone = associate(vec![], vec![], vec![(2, name("dev"))]);
        assert!(
            alone
                .unwrap_err()
                .contains("--env dev comes before any --role")
        );
        let twice = associate(
            vec![(2, Role::Developer)],
            vec![(4, name("api")), (6, name("web"))],
            vec![],
        );
        let error = twice.unwrap_err();
        assert!(
            error.contains("--role developer has two --service (api and web)"),
            "{error}"
        );
    }

    fn create_matches(args: &[&str]) -> ArgMatches {
        let matches = Cli::command()
            .try_get_matches_from(["ferry", "token", "create"].iter().chain(args))
            .unwrap();
        matches
            .subcommand_matches("token")
            .and_then(|token| token.subcommand_matches("create"))
            .unwrap()
            .clone()
    }

    #[test]
    fn the_command_line_order_is_read_from_clap() {
        let matches = create_matches(&[
            "ci",
            "--role",
            "developer",
            "--env=dev",
            "--service",
            "api",
            "--expires",
            "1d",
            "--role",
            "viewer",
            "--service",
            "web",
        ]);
        assert_eq!(
            grants_in_order(&matches).unwrap(),
            [
                grant(Role::Developer, Some("api"), Some("dev")),
                grant(Role::Viewer, Some("web"), None),
            ]
        );
        let misplaced = create_matches(&["ci", "--service", "api", "--role", "developer"]);
        assert!(grants_in_order(&misplaced).is_err());
        assert_eq!(grants_in_order(&create_matches(&["ci"])).unwrap(), []);
    }

    #[test]
    fn tokens_show_their_rights() {
        assert_eq!(rights(None), "owner's");
        assert_eq!(
            rights(Some(&[
                grant(Role::Developer, Some("api"), None),
                grant(Role::Viewer, None, None)
            ])),
            "developer for service api; viewer everywhere"
        );
    }
}
