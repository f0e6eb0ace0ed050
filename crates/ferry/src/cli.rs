//! The command line: `ferry` and its commands, with the options every
//! command that talks to a server shares. Each command's own arguments live
//! in its module under `commands` (names there and here are a contract that
//! scripts rely on: the README documents them).

use clap::error::ErrorKind;
use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

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
use crate::commands::evidence_pack::EvidencePackArgs;
use crate::commands::freeze::FreezeArgs;
use crate::commands::group::GroupArgs;
use crate::commands::lock::{LockArgs, UnlockArgs};
use crate::commands::login::LoginArgs;
use crate::commands::metrics::{IncidentArgs, MetricsArgs};
use crate::commands::plan::PlanArgs;
use crate::commands::promote::PromoteArgs;
use crate::commands::release::ReleaseArgs;
use crate::commands::review::ReviewArgs;
use crate::commands::role::RoleArgs;
use crate::commands::rollback::RollbackArgs;
use crate::commands::sample_app::SampleAppArgs;
use crate::commands::serve::ServeArgs;
use crate::commands::token::TokenArgs;
use crate::commands::train::TrainArgs;
use crate::commands::user::UserArgs;
use crate::commands::var::VarArgs;
use crate::commands::webhook::WebhookArgs;

/// ferry: plan, gate, deploy and audit software releases.
#[derive(Debug, Parser)]
#[command(name = "ferry", version, max_term_width = 100)]
pub struct Cli {
    /// `--server`, `--token` and `--output` given before the command's name.
    #[command(flatten)]
    pub before: ClientOptionsFirst,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// `--server`, `--token` and `--output` written before the command's name
/// (`ferry --output json release list`).
///
/// They share their ids with [`ClientArgs`], whose options are `global`:
/// clap hands a value given here down to the command's [`ClientArgs`], where
/// a value written after the command's name wins, and a value given here
/// wins over an environment variable or a default. So every command still
/// reads one typed [`ClientArgs`] (and only that: for such a command, clap
/// leaves here whichever value won). They are not `global` themselves, so the
/// commands that talk to no server do not list them; given before one of
/// those, they are refused ([`Cli::misplaced_client_option`]).
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Options for commands that talk to a server")]
pub struct ClientOptionsFirst {
    /// The server's URL (FERRY_SERVER) [default: the saved profile's, else http://127.0.0.1:8740]
    #[arg(long, value_name = "URL")]
    pub server: Option<String>,
    /// The API token (FERRY_TOKEN) [default: the saved profile's]
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,
    /// How to print results [default: table]
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub output: Option<OutputFormat>,
}

impl Cli {
    /// Reads the command line; a usage error ends the process with exit 2.
    pub fn from_command_line() -> Cli {
        Cli::checked(Cli::parse()).unwrap_or_else(|error| error.exit())
    }

    /// `cli`, or a usage error when an option before the command's name is
    /// one the command does not take.
    pub fn checked(cli: Cli) -> Result<Cli, clap::Error> {
        match cli.misplaced_client_option() {
            None => Ok(cli),
            Some(option) => Err(Cli::command().error(
                ErrorKind::ArgumentConflict,
                format!(
                    "{option} before the command's name is for commands that talk to a \
                     server, and this one does not; give it the options of its own \
                     (see its --help)"
                ),
            )),
        }
    }

    /// The first of `--server`, `--token` and `--output` given before a
    /// command that talks to no server (which would ignore it), if any.
    pub fn misplaced_client_option(&self) -> Option<&'static str> {
        if self.command.talks_to_a_server() {
            return None;
        }
        let before = &self.before;
        [
            (before.server.is_some(), "--server"),
            (before.token.is_some(), "--token"),
            (before.output.is_some(), "--output"),
        ]
        .into_iter()
        .find_map(|(given, option)| given.then_some(option))
    }
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the ferry server: the web UI at / (sign in with a password set by
    /// `ferry user password`), the JSON API under /api/v1 (with its OpenAPI
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
    /// Write one archive for auditors: what changed in a release (or over a
    /// period), how it was tested, who approved it, where and when it was
    /// deployed, with the audit events behind each fact; `verify` checks
    /// one offline.
    EvidencePack(EvidencePackArgs),
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
    /// Show the DORA metrics of each service in each environment: deployment
    /// frequency, lead time for changes, change failure rate, time to
    /// restore.
    Metrics(MetricsArgs),
    /// Open, resolve and list incidents (they count in the DORA metrics).
    Incident(IncidentArgs),
    /// Complete a deployment's post-implementation review (`ferry review 42
    /// --outcome resolved --notes TEXT`), or list and show reviews.
    ///
    /// Failed, rolled-back and emergency deployments get a review drafted
    /// from their timeline, as do all deployments of an environment whose
    /// policy says `review = "always"`. Outcomes: resolved (the cause is
    /// fixed), follow-up (actions remain), accepted-risk (the cause is
    /// knowingly left as it is).
    Review(ReviewArgs),
    /// Make, list and show release trains: releases of several services
    /// that go together (`ferry promote --train`, `ferry check --train`).
    Train(TrainArgs),
    /// Show and change release plans: milestones, tasks, owners, the
    /// go-live date; a task required before an environment is a gate there.
    Plan(PlanArgs),
    /// Lock an environment, or one service in it, to promotions until it is
    /// unlocked; without ENV, list the locks in force.
    ///
    /// A lock is a gate (`locked`) that names who locked it and why; the
    /// emergency path does not bypass it, and rollbacks still run.
    Lock(LockArgs),
    /// Lift the lock of an environment, or of one service in it.
    Unlock(UnlockArgs),
    /// Subscribe addresses to ferry's events (CloudEvents, signed as
    /// Standard Webhooks say), list and resend their deliveries.
    Webhook(WebhookArgs),
    /// Show the coming deployment windows, freezes and scheduled changes,
    /// print the calendar as iCalendar (--ics), or manage the calendar
    /// feeds that calendar programs subscribe to (`calendar feed`).
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

impl Command {
    /// Whether the command talks to a server through [`ClientArgs`].
    pub fn talks_to_a_server(&self) -> bool {
        match self {
            Command::Serve(_)
            | Command::Changelog(_)
            | Command::Admin(_)
            | Command::Completions(_)
            | Command::SampleApp(_) => false,
            // `ferry agent` alone runs an agent, with options of its own.
            Command::Agent(agent) => agent.command.is_some(),
            _ => true,
        }
    }
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
/// command group's name as well as the subcommand's; [`ClientOptionsFirst`]
/// lets them come before the command's name too.
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

    /// The client options of `args`' command, as the command reads them.
    fn client_of(args: &[&str]) -> ClientArgs {
        let cli = Cli::checked(Cli::try_parse_from(args).unwrap()).unwrap();
        match cli.command {
            Command::Status(client) => client,
            Command::Release(release) => release.client,
            Command::Audit(audit) => audit.client,
            other => panic!("not a command of these tests: {other:?}"),
        }
    }

    #[test]
    fn client_options_may_come_before_the_command() {
        let client = client_of(&["ferry", "--output", "json", "release", "list"]);
        assert_eq!(client.output, OutputFormat::Json);
        let client = client_of(&["ferry", "--server", "http://x:1", "--token", "t", "status"]);
        assert_eq!(client.server.as_deref(), Some("http://x:1"));
        assert_eq!(client.token.as_deref(), Some("t"));
        assert_eq!(client.output, OutputFormat::Table);
        let client = client_of(&["ferry", "--output", "json", "audit", "verify"]);
        assert_eq!(client.output, OutputFormat::Json);
    }

    #[test]
    fn an_option_after_the_command_wins_over_one_before_it() {
        let client = client_of(&[
            "ferry",
            "--server",
            "http://before:1",
            "--output",
            "json",
            "release",
            "list",
            "--server",
            "http://after:1",
        ]);
        assert_eq!(client.server.as_deref(), Some("http://after:1"));
        assert_eq!(client.output, OutputFormat::Json);
        let client = client_of(&["ferry", "--output", "json", "status", "--output", "table"]);
        assert_eq!(client.output, OutputFormat::Table);
    }

    #[test]
    fn client_options_before_a_command_without_a_server_are_refused() {
        for args in [
            &["ferry", "--server", "http://x:1", "serve"][..],
            &["ferry", "--output", "json", "changelog"],
            &["ferry", "--token", "t", "agent", "--environment", "dev"],
        ] {
            let error = Cli::checked(Cli::try_parse_from(args).unwrap()).unwrap_err();
            assert_eq!(error.exit_code(), 2, "{args:?}");
            assert!(
                error.to_string().contains("talk to a server"),
                "{args:?}: {error}"
            );
        }
        // Those commands do not list them either.
        let mut serve = Cli::command();
        let help = serve
            .find_subcommand_mut("serve")
            .unwrap()
            .render_long_help()
            .to_string();
        assert!(!help.contains("--server"), "{help}");
        assert!(!help.contains("--output"), "{help}");
    }

    #[test]
    fn serve_says_what_the_server_offers() {
        let mut cli = Cli::command();
        let overview = cli.render_help().to_string();
        let serve = cli
            .find_subcommand_mut("serve")
            .unwrap()
            .render_long_help()
            .to_string();
        for help in [&overview, &serve] {
            // Wrapped to the terminal: read as one line.
            let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
            assert!(
                help.contains("JSON API under /api/v1") && help.contains("OpenAPI"),
                "{help}"
            );
            // The web UI, and how to sign in to it.
            assert!(
                help.contains("web UI at /") && help.contains("ferry user password"),
                "{help}"
            );
        }
    }

    #[test]
    fn a_malformed_release_is_a_usage_error() {
        let error = Cli::try_parse_from(["ferry", "release", "show", "api-1.0"]).unwrap_err();
        assert_eq!(error.exit_code(), 2);
        assert!(error.to_string().contains("SERVICE@VERSION"), "{error}");
    }
}
