//! The command line: `ferry` and its commands, with the options every
//! command that talks to a server shares. Each command's own arguments live
//! in its module under `commands` (names there and here are a contract that
//! scripts rely on: the README documents them).

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::commands::admin::AdminArgs;
use crate::commands::agent::AgentArgs;
use crate::commands::apply::ApplyArgs;
use crate::commands::audit::AuditArgs;
use crate::commands::calendar::CalendarArgs;
use crate::commands::change::ChangeArgs;
use crate::commands::changelog::ChangelogArgs;
use crate::commands::check::CheckArgs;
use crate::commands::completions::CompletionsArgs;
use crate::commands::decide::DecideArgs;
use crate::commands::deploy::DeployArgs;
use crate::commands::diff::DiffArgs;
use crate::commands::evidence::EvidenceArgs;
use crate::commands::freeze::FreezeArgs;
use crate::commands::group::GroupArgs;
use crate::commands::login::LoginArgs;
use crate::commands::promote::PromoteArgs;
use crate::commands::release::ReleaseArgs;
use crate::commands::role::RoleArgs;
use crate::commands::rollback::RollbackArgs;
use crate::commands::sample_app::SampleAppArgs;
use crate::commands::serve::ServeArgs;
use crate::commands::token::TokenArgs;
use crate::commands::user::UserArgs;
use crate::commands::var::VarArgs;

/// ferry: plan, gate, deploy and audit software releases.
#[derive(Debug, Parser)]
#[command(name = "ferry", version, max_term_width = 100)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the ferry server: the JSON API under /api/v1 (with its OpenAPI
    /// document), the agents' endpoints and the orchestrator.
    Serve(ServeArgs),
    /// Check a token against a server and save both as the default profile.
    Login(LoginArgs),
    /// Make the server match a configuration file (ferry.toml).
    Apply(ApplyArgs),
    /// Show which version of each service runs in each environment.
    Status(ClientArgs),
    /// Create, list, show and abandon releases.
    Release(ReleaseArgs),
    /// List, verify and export the audit trail.
    Audit(AuditArgs),
    /// Run an agent that deploys releases on this machine; list, revoke
    /// and make tokens for agents (`ferry agent token create` makes the
    /// token an agent needs).
    Agent(AgentArgs),
    /// Create (optionally expiring or narrowed to some roles), list and
    /// revoke API tokens.
    Token(TokenArgs),
    /// Create, list, disable and enable users.
    User(UserArgs),
    /// Grant and revoke roles, list the grants and what each role allows.
    Role(RoleArgs),
    /// Create groups of users and change their members.
    Group(GroupArgs),
    /// Show who the token belongs to, and what it allows.
    Whoami(ClientArgs),
    /// Show what promoting a service from one environment to another brings.
    Diff(DiffArgs),
    /// Evaluate every gate of a promotion and explain each blocker.
    ///
    /// Exits 0 when the release may enter the environment, 3 when a gate
    /// blocks it (also with --output json).
    Check(CheckArgs),
    /// Promote a release into an environment: the gates are evaluated, and
    /// when they allow it a deployment is queued.
    ///
    /// Exits 3, with every blocker and how to clear it, when a gate refuses.
    Promote(PromoteArgs),
    /// Approve a release for an environment (replaces your earlier decision).
    Approve(DecideArgs),
    /// Reject a release for an environment (replaces your earlier decision).
    Reject(DecideArgs),
    /// Record and list evidence that a release was tested (JUnit XML, named checks).
    Evidence(EvidenceArgs),
    /// List, show, follow and cancel deployments; report those run by
    /// another tool.
    Deploy(DeployArgs),
    /// Put an earlier release of a service back into an environment.
    ///
    /// The rollback is a deployment of its own, linked to the one it undoes;
    /// by default it restores the release that succeeded there before the
    /// latest deployment.
    Rollback(RollbackArgs),
    /// Raise change requests and move them through their states.
    Change(ChangeArgs),
    /// Create, list and delete freeze periods.
    Freeze(FreezeArgs),
    /// Show the coming deployment windows, freezes and scheduled changes.
    Calendar(CalendarArgs),
    /// Set, list and unset the variables and secrets of environments
    /// (administrators only).
    ///
    /// Deployment steps see their environment's variables as environment
    /// variables: those of ferry.toml (`variables = { ... }` of an
    /// `[[environment]]`), replaced by those set here under the same name.
    /// Secrets are encrypted at rest, never shown again, and masked in
    /// deployment logs.
    Var(VarArgs),
    /// Write a changelog from a git repository's history (offline, no server).
    Changelog(ChangelogArgs),
    /// Recover administrator access on the server's machine (no server
    /// needed).
    Admin(AdminArgs),
    /// Print a shell completion script.
    Completions(CompletionsArgs),
    /// Serve a tiny web page and health check: the service `--demo` deploys.
    #[command(hide = true)]
    SampleApp(SampleAppArgs),
}

/// How results are printed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// For people: tables and sentences.
    #[default]
    Table,
    /// The API's JSON, pretty-printed: the stable format for scripts.
    Json,
}

/// Where the server is, who is asking, and how to print: taken by every
/// command that talks to a server. `global` lets the options follow the
/// command group's name as well as the subcommand's.
#[derive(Debug, Clone, Args)]
pub struct ClientArgs {
    /// The server's URL [default: the saved profile's, else http://127.0.0.1:8740]
    #[arg(long, env = "FERRY_SERVER", value_name = "URL", global = true)]
    pub server: Option<String>,
    /// The API token [default: the saved profile's]
    #[arg(
        long,
        env = "FERRY_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true,
        global = true
    )]
    pub token: Option<String>,
    /// How to print results.
    #[arg(
        long,
        value_enum,
        default_value_t,
        value_name = "FORMAT",
        global = true
    )]
    pub output: OutputFormat,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn client_options_may_follow_the_group_or_the_subcommand() {
        for args in [
            ["ferry", "release", "--server", "http://x:1", "list"],
            ["ferry", "release", "list", "--server", "http://x:1"],
        ] {
            let cli = Cli::try_parse_from(args).unwrap();
            let Command::Release(release) = cli.command else {
                panic!()
            };
            assert_eq!(release.client.server.as_deref(), Some("http://x:1"));
        }
    }

    #[test]
    fn a_malformed_release_is_a_usage_error() {
        let error = Cli::try_parse_from(["ferry", "release", "show", "api-1.0"]).unwrap_err();
        assert_eq!(error.exit_code(), 2);
        assert!(error.to_string().contains("SERVICE@VERSION"), "{error}");
    }
}
