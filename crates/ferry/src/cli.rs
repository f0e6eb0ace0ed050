//! The command line: every command, option and environment variable of
//! `ferry`, in one clap definition (names here are a contract: see DESIGN.md).

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};
use clap_complete::Shell;
use ferry_core::change::{ChangeKind, ChangeState, ReviewOutcome};
use ferry_core::risk::RiskLevel;
use ferry_core::{DeploymentStatus, Name, ReleaseRef};

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
    /// Run the ferry server (API, web UI).
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
    /// Run an agent that deploys releases on this machine; `ferry agent
    /// token create` makes the token it needs.
    Agent(AgentArgs),
    /// Create, list and revoke API tokens.
    Token(TokenArgs),
    /// Create and list users.
    User(UserArgs),
    /// Show who the token belongs to.
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
    /// Print a shell completion script.
    Completions(CompletionsArgs),
    /// Serve a tiny web page and health check: the service `--demo` deploys.
    #[command(hide = true)]
    SampleApp(SampleAppArgs),
}

/// The formats of release notes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NotesFormat {
    /// Markdown.
    Md,
    /// An HTML fragment.
    Html,
    /// The notes as JSON (the shape `ferry changelog --format json` prints).
    Json,
}

impl NotesFormat {
    /// The name the API uses.
    pub fn as_str(self) -> &'static str {
        match self {
            NotesFormat::Md => "md",
            NotesFormat::Html => "html",
            NotesFormat::Json => "json",
        }
    }
}

/// The arguments of `ferry release create`.
#[derive(Debug, Args)]
pub struct ReleaseCreateArgs {
    /// The service released.
    #[arg(value_name = "SERVICE")]
    pub service: Name,
    /// Its semantic version, such as 1.4.0 or 2.0.0-rc.1.
    #[arg(long, value_name = "VERSION", conflicts_with = "bump")]
    pub version: Option<String>,
    /// Compute the version from the commits: auto (from Conventional
    /// Commits), or major, minor, patch.
    #[arg(long, value_name = "BUMP")]
    pub bump: Option<String>,
    /// Make a pre-release with this label: 1.4.0-rc.1, then -rc.2…
    #[arg(long, value_name = "LABEL", conflicts_with = "version")]
    pub pre: Option<String>,
    /// The git repository to read [default: the current directory, when
    /// --bump is given]
    #[arg(long, value_name = "DIR")]
    pub git: Option<PathBuf>,
    /// The commit released.
    #[arg(long, value_name = "REF", default_value = "HEAD")]
    pub to: String,
    /// Follow only the first parent of merges (the mainline).
    #[arg(long)]
    pub first_parent: bool,
    /// An artifact: NAME=PATH (uploaded, stored by digest) or
    /// NAME=oci://REGISTRY/REPO@sha256:HEX or NAME=https://HOST/PATH@sha256:HEX
    /// (recorded, not stored). Repeatable.
    #[arg(long = "artifact", value_name = "NAME=PATH|NAME=REF")]
    pub artifacts: Vec<String>,
    /// Free-text release notes (Markdown), shown before the generated ones.
    #[arg(long, value_name = "TEXT", conflicts_with = "notes_file")]
    pub notes: Option<String>,
    /// Read the free-text notes from a file (`-` for standard input).
    #[arg(long, value_name = "FILE")]
    pub notes_file: Option<PathBuf>,
}

/// The arguments of `ferry diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The service.
    #[arg(value_name = "SERVICE")]
    pub service: Name,
    /// The environment the release would come from.
    #[arg(long, value_name = "ENV")]
    pub from: Name,
    /// The environment it would go to.
    #[arg(long, value_name = "ENV")]
    pub to: Name,
    /// Server, token, output.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// The formats of `ferry changelog`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ChangelogFormat {
    /// Markdown.
    Md,
    /// JSON: an object per release (an array of them over several releases).
    Json,
}

/// The arguments of `ferry changelog`: offline, no server.
#[derive(Debug, Args)]
pub struct ChangelogArgs {
    /// The git repository to read.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub git: PathBuf,
    /// The newest commit.
    #[arg(long, value_name = "REF", default_value = "HEAD")]
    pub to: String,
    /// Only commits after this one (a tag, a branch, a commit).
    #[arg(long, value_name = "REF", conflicts_with = "unreleased")]
    pub since: Option<String>,
    /// Only the commits after the last version tag.
    #[arg(long)]
    pub unreleased: bool,
    /// Print only the next version computed from the unreleased commits.
    #[arg(long, conflicts_with_all = ["format", "template", "output_file"])]
    pub next_version: bool,
    /// Leave the unreleased commits without a computed version (`null`).
    #[arg(long, conflicts_with = "next_version")]
    pub no_bump: bool,
    /// Compute a pre-release as the next version (1.4.0-rc.1…).
    #[arg(long, value_name = "LABEL")]
    pub pre: Option<String>,
    /// md or json.
    #[arg(long, value_enum, default_value_t = ChangelogFormat::Md)]
    pub format: ChangelogFormat,
    /// Render with this minijinja template instead (its context: `releases`,
    /// the JSON shape, newest first).
    #[arg(long, value_name = "FILE", conflicts_with = "format")]
    pub template: Option<PathBuf>,
    /// Write to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub output_file: Option<PathBuf>,
    /// Read this service's tags too (SERVICE-vX.Y.Z, SERVICE@X.Y.Z).
    #[arg(long, value_name = "NAME")]
    pub service: Option<String>,
    /// Keep only commits touching these paths (globs; repeatable).
    #[arg(long = "path", value_name = "GLOB")]
    pub paths: Vec<String>,
    /// Follow only the first parent of merges.
    #[arg(long)]
    pub first_parent: bool,
    /// Link issue references (#123) with this template, such as
    /// https://github.com/acme/api/issues/{}
    #[arg(long, value_name = "URL")]
    pub issue_url: Option<String>,
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

/// The format of the server's log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Lines for people.
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// `ferry serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address to listen on (port 0 picks a free port).
    #[arg(
        long,
        env = "FERRY_LISTEN",
        default_value = "127.0.0.1:8740",
        value_name = "ADDR"
    )]
    pub listen: String,
    /// The database: sqlite://PATH or postgres://... [default: SQLite in the data dir]
    #[arg(
        long,
        env = "FERRY_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub database: Option<String>,
    /// Where the server keeps its data [default: $XDG_DATA_HOME/ferry]
    ///
    /// It holds secret.key, the key that encrypts secret variables, made on
    /// the first start: back it up, and give every server of one database
    /// the same file.
    #[arg(long, env = "FERRY_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Fill an empty server with demonstration data, and deploy its `hello`
    /// service for real, on this machine, with a local agent (implies
    /// --local-agent).
    #[arg(long)]
    pub demo: bool,
    /// The port on 127.0.0.1 where the demo deploys its `hello` service.
    #[arg(
        long,
        env = "FERRY_DEMO_PORT",
        value_name = "PORT",
        default_value_t = ferry_server::DEFAULT_DEMO_PORT
    )]
    pub demo_port: u16,
    /// Run an agent inside the server for every environment, so that
    /// releases deploy on this machine: one agent named `local`, tagged
    /// host=local, per environment (those applied later too), working in
    /// <data-dir>/agent/<env>.
    #[arg(
        long,
        env = "FERRY_LOCAL_AGENT",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub local_agent: bool,
    /// Run the local agent only for this environment (repeatable, or
    /// comma-separated; implies --local-agent).
    #[arg(
        long = "local-agent-env",
        env = "FERRY_LOCAL_AGENT_ENV",
        value_name = "ENV",
        value_delimiter = ','
    )]
    pub local_agent_envs: Vec<Name>,
    /// The largest artifact an upload may have, in bytes [default: 4 GiB]
    #[arg(
        long,
        env = "FERRY_MAX_ARTIFACT_BYTES",
        value_name = "BYTES",
        default_value_t = ferry_server::DEFAULT_MAX_ARTIFACT_BYTES,
        hide_default_value = true
    )]
    pub max_artifact_bytes: u64,
    /// How long an agent keeps a job without a heartbeat, in seconds: an
    /// agent that dies mid-step loses its job this long after its last
    /// heartbeat (agents heartbeat four times per lease).
    #[arg(
        long,
        env = "FERRY_JOB_LEASE",
        value_name = "SECONDS",
        default_value_t = 60,
        value_parser = clap::value_parser!(u32).range(4..=3600)
    )]
    pub job_lease: u32,
    /// The format of the log (written to stderr; RUST_LOG filters it).
    #[arg(
        long,
        env = "FERRY_LOG_FORMAT",
        value_enum,
        default_value_t,
        value_name = "FORMAT"
    )]
    pub log_format: LogFormat,
}

/// `ferry sample-app`: the small web server the demo deploys.
#[derive(Debug, Args)]
pub struct SampleAppArgs {
    /// The port to listen on, on 127.0.0.1.
    #[arg(long, value_name = "PORT")]
    pub port: u16,
    /// The version the page names.
    #[arg(long, value_name = "VERSION")]
    pub version: String,
    /// Answer /healthz with 500, as a broken release would.
    #[arg(long)]
    pub unhealthy: bool,
    /// Write the process id here once listening.
    #[arg(long, value_name = "FILE")]
    pub pid_file: Option<PathBuf>,
    /// Run in the background: start the server as a process of its own,
    /// wait until it listens (its pid file is written) and exit; exit 1
    /// with its log when it cannot start.
    #[arg(long, requires = "pid_file")]
    pub detach: bool,
    /// Where the detached server writes its output [default: sample-app.log]
    #[arg(long, value_name = "FILE", requires = "detach")]
    pub log_file: Option<PathBuf>,
}

/// `ferry login`.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Where the server is, the token to save, how to print.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// `ferry apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The configuration file.
    #[arg(
        short = 'f',
        long = "file",
        default_value = "ferry.toml",
        value_name = "FILE"
    )]
    pub file: PathBuf,
    /// Only show what would change; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Server, token, output.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// `ferry release`.
#[derive(Debug, Args)]
pub struct ReleaseArgs {
    /// What to do with releases.
    #[command(subcommand)]
    pub command: ReleaseCommand,
    /// Server, token, output.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// The release commands.
#[derive(Debug, Subcommand)]
pub enum ReleaseCommand {
    /// Create a release of a service, from git or with a given version.
    ///
    /// With --bump or --git, ferry reads the commits since the service's
    /// previous release (its recorded commit, or its latest version tag),
    /// records them with the release, and computes the version from their
    /// Conventional Commits unless --version is given. With only --version, the
    /// release is recorded without git content.
    Create(ReleaseCreateArgs),
    /// Print the notes of a release, generated from its commits.
    Notes {
        /// The release, such as api@1.4.0.
        #[arg(value_name = "SERVICE@VERSION")]
        release: ReleaseRef,
        /// md (the service's notes template when it has one), html or json.
        #[arg(long, value_enum, default_value_t = NotesFormat::Md)]
        format: NotesFormat,
    },
    /// Download an artifact of a release, checking its digest.
    Download {
        /// The release, such as api@1.4.0.
        #[arg(value_name = "SERVICE@VERSION")]
        release: ReleaseRef,
        /// The artifact's name.
        #[arg(value_name = "NAME")]
        name: String,
        /// Where to write it [default: NAME in the current directory]
        #[arg(long, short = 'o', value_name = "FILE")]
        output_file: Option<PathBuf>,
    },
    /// List the releases of a service, or of every service.
    List {
        /// Only this service's releases.
        #[arg(value_name = "SERVICE")]
        service: Option<Name>,
    },
    /// Show one release.
    Show {
        /// The release, such as api@1.4.0.
        #[arg(value_name = "SERVICE@VERSION")]
        release: ReleaseRef,
    },
    /// Abandon a release: it can no longer be promoted.
    Abandon {
        /// The release, such as api@1.4.0.
        #[arg(value_name = "SERVICE@VERSION")]
        release: ReleaseRef,
    },
}

/// `ferry audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// What to do with the audit trail.
    #[command(subcommand)]
    pub command: AuditCommand,
    /// Server, token, output.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// The audit commands.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// List audit events, oldest first.
    List {
        /// At most this many events [default: all]
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
        limit: Option<u32>,
    },
    /// Check the hash chain: exit 0 when intact, 1 when an event was altered or removed.
    Verify,
    /// Print the whole trail as JSON Lines, one event per line.
    Export,
}

/// `ferry agent`: run an agent, or manage agent tokens.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct AgentArgs {
    /// Manage agent tokens instead of running an agent.
    #[command(subcommand)]
    pub command: Option<AgentCommand>,
    /// The server's URL.
    #[arg(long, env = "FERRY_SERVER", value_name = "URL")]
    pub server: Option<String>,
    /// The agent's token (`ferry agent token create` prints it).
    #[arg(
        long,
        env = "FERRY_AGENT_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,
    /// The environment the agent deploys into (its token's).
    #[arg(long, env = "FERRY_ENVIRONMENT", value_name = "ENV")]
    pub environment: Option<Name>,
    /// The agent's name, checked against its token's [default: the token's]
    #[arg(long, value_name = "NAME")]
    pub name: Option<Name>,
    /// A tag, matched by services' target selectors (repeatable).
    #[arg(long = "tag", value_name = "KEY=VALUE", value_parser = parse_tag)]
    pub tags: Vec<(String, String)>,
    /// Where releases are unpacked, in <DIR>/<service>/<version>
    /// [default: $XDG_DATA_HOME/ferry/agent]
    #[arg(long, value_name = "DIR")]
    pub work_dir: Option<PathBuf>,
}

/// The agent commands.
#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// Create agent tokens (administrators only).
    Token(AgentTokenArgs),
}

/// `ferry agent token`.
#[derive(Debug, Args)]
pub struct AgentTokenArgs {
    /// What to do with agent tokens.
    #[command(subcommand)]
    pub command: AgentTokenCommand,
    /// Server, token, output.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// The agent token commands.
#[derive(Debug, Subcommand)]
pub enum AgentTokenCommand {
    /// Create an agent and its token; the secret is printed this once.
    Create {
        /// The environment the agent deploys into.
        #[arg(long = "env", value_name = "ENV")]
        environment: Name,
        /// The agent's name, unique in its environment (such as its host name).
        #[arg(long, value_name = "NAME")]
        name: Name,
        /// A tag, matched by services' target selectors (repeatable).
        #[arg(long = "tag", value_name = "KEY=VALUE", value_parser = parse_tag)]
        tags: Vec<(String, String)>,
    },
}

/// Reads `KEY=VALUE`.
fn parse_tag(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => {
            Ok((key.trim().to_owned(), value.trim().to_owned()))
        }
        _ => Err(format!(
            "expected KEY=VALUE, such as region=eu, not {text:?}"
        )),
    }
}

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
    /// Create a user; their first token is printed this once.
    Create {
        /// The user's name (lower-case letters, digits, -, _, .).
        #[arg(value_name = "NAME")]
        name: Name,
        /// Their e-mail address.
        #[arg(long, value_name = "EMAIL")]
        email: Option<String>,
    },
    /// List users.
    List,
}

/// `ferry check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The release, such as api@1.4.0.
    #[arg(value_name = "SERVICE@VERSION")]
    pub release: ReleaseRef,
    /// The environment it would enter.
    #[arg(long, value_name = "ENV")]
    pub to: Name,
    /// Judge it as an emergency promotion (windows and freezes do not block
    /// it); needs --reason.
    #[arg(long, requires = "reason")]
    pub emergency: bool,
    /// The written justification of the emergency.
    #[arg(long, value_name = "TEXT", requires = "emergency")]
    pub reason: Option<String>,
    /// Server, token, output.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// `ferry rollback`.
#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The service.
    #[arg(value_name = "SERVICE")]
    pub service: Name,
    /// The environment.
    #[arg(long, value_name = "ENV")]
    pub env: Name,
    /// The version to put back (one that succeeded there before)
    /// [default: the one before the latest deployment]
    #[arg(long, value_name = "VERSION")]
    pub to: Option<semver::Version>,
    /// Follow the rollback until it ends, as `promote --wait` does.
    #[arg(long)]
    pub wait: bool,
    /// Server, token, output.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// `ferry promote`.
#[derive(Debug, Args)]
pub struct PromoteArgs {
    /// The release, such as api@1.4.0.
    #[arg(value_name = "SERVICE@VERSION")]
    pub release: ReleaseRef,
    /// The environment to promote it into.
    #[arg(long, value_name = "ENV")]
    pub to: Name,
    /// Start no earlier than this RFC 3339 time, such as
    /// 2026-12-01T09:00:00Z (windows and freezes are judged then).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub at: Option<DateTime<Utc>>,
    /// An emergency promotion: windows and freezes do not block it
    /// (approvals, evidence and the lifecycle still do); needs --reason.
    #[arg(long, requires = "reason")]
    pub emergency: bool,
    /// The written justification of the emergency.
    #[arg(long, value_name = "TEXT", requires = "emergency")]
    pub reason: Option<String>,
    /// Follow the deployment with a progress bar per batch until it ends;
    /// exit 0 when it succeeded, 1 when it failed, was rolled back or cancelled.
    #[arg(long)]
    pub wait: bool,
    /// Server, token, output.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// `ferry approve` and `ferry reject`.
#[derive(Debug, Args)]
pub struct DecideArgs {
    /// The release, such as api@1.4.0.
    #[arg(value_name = "SERVICE@VERSION")]
    pub release: ReleaseRef,
    /// The environment the decision is for.
    #[arg(long, value_name = "ENV")]
    pub env: Name,
    /// Why.
    #[arg(long, value_name = "TEXT", default_value = "")]
    pub comment: String,
    /// Server, token, output.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// `ferry evidence`.
#[derive(Debug, Args)]
pub struct EvidenceArgs {
    /// What to do with evidence.
    #[command(subcommand)]
    pub command: EvidenceCommand,
    /// Server, token, output.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// The evidence commands.
#[derive(Debug, Subcommand)]
pub enum EvidenceCommand {
    /// Record test results (JUnit XML, parsed here) or a named check.
    ///
    /// The JUnit files are read and parsed before anything is sent: a file
    /// that is not valid JUnit XML is an error and nothing is recorded.
    /// Several files make one report. The evidence's name is --suite, else
    /// the first file's name without its extension (unit.xml gives unit).
    Add(EvidenceAddArgs),
    /// List the evidence of a release in an environment.
    List {
        /// The release, such as api@1.4.0.
        #[arg(value_name = "SERVICE@VERSION")]
        release: ReleaseRef,
        /// The environment.
        #[arg(long, value_name = "ENV")]
        env: Name,
    },
}

/// `ferry evidence add`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("result").required(true).args(["junit", "check"])))]
pub struct EvidenceAddArgs {
    /// The release, such as api@1.4.0.
    #[arg(value_name = "SERVICE@VERSION")]
    pub release: ReleaseRef,
    /// The environment the evidence was gathered in.
    #[arg(long, value_name = "ENV")]
    pub env: Name,
    /// A JUnit XML report. Repeatable: the files are merged into one report.
    #[arg(long, value_name = "FILE", conflicts_with = "check")]
    pub junit: Vec<PathBuf>,
    /// The evidence's name for the JUnit reports [default: the first file's stem]
    #[arg(long, value_name = "NAME", requires = "junit")]
    pub suite: Option<String>,
    /// A named check and its result, such as e2e=pass or smoke=fail.
    #[arg(long, value_name = "NAME=pass|fail", value_parser = parse_check)]
    pub check: Option<(String, bool)>,
    /// A link to the run.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
}

/// `ferry deploy`.
#[derive(Debug, Args)]
pub struct DeployArgs {
    /// What to do with deployments.
    #[command(subcommand)]
    pub command: DeployCommand,
    /// Server, token, output.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// What another tool may report of a deployment it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportedStatus {
    /// It started.
    Running,
    /// It finished and works.
    Succeeded,
    /// It failed.
    Failed,
}

impl From<ReportedStatus> for DeploymentStatus {
    fn from(status: ReportedStatus) -> Self {
        match status {
            ReportedStatus::Running => DeploymentStatus::Running,
            ReportedStatus::Succeeded => DeploymentStatus::Succeeded,
            ReportedStatus::Failed => DeploymentStatus::Failed,
        }
    }
}

/// The deployment commands.
#[derive(Debug, Subcommand)]
pub enum DeployCommand {
    /// List deployments, newest first.
    List {
        /// Only deployments of this service.
        #[arg(long, value_name = "SERVICE")]
        service: Option<Name>,
        /// Only deployments to this environment.
        #[arg(long, value_name = "ENV")]
        env: Option<Name>,
    },
    /// Show one deployment: its batches and each target's state, steps,
    /// exit codes and health check.
    Show {
        /// The deployment's id.
        #[arg(value_name = "ID")]
        id: i64,
    },
    /// Print the log of a deployment's steps (secrets masked).
    Logs {
        /// The deployment's id.
        #[arg(value_name = "ID")]
        id: i64,
        /// Keep following it live until the deployment ends.
        #[arg(short, long)]
        follow: bool,
    },
    /// Cancel a deployment: at once when it has not started, after its
    /// current batch when it runs.
    Cancel {
        /// The deployment's id.
        #[arg(value_name = "ID")]
        id: i64,
    },
    /// Report the progress of a deployment run by another tool (a CI job,
    /// another CD system), for services without deployment steps.
    Report {
        /// The deployment's id.
        #[arg(value_name = "ID")]
        id: i64,
        /// Where it stands.
        #[arg(long, value_enum, value_name = "STATUS")]
        status: ReportedStatus,
        /// A link to the run.
        #[arg(long, value_name = "URL")]
        url: Option<String>,
    },
}

/// `ferry change`.
#[derive(Debug, Args)]
pub struct ChangeArgs {
    /// What to do with change requests.
    #[command(subcommand)]
    pub command: ChangeCommand,
    /// Server, token, output.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// The change request commands. A change moves draft → submitted →
/// assessed → approved | rejected | deferred → scheduled → implemented →
/// reviewed → closed; a move its state does not allow is refused with the
/// moves that are.
#[derive(Debug, Subcommand)]
pub enum ChangeCommand {
    /// Raise a change request (in draft).
    Create(ChangeCreateArgs),
    /// Put a draft (or deferred) change before the change board; a
    /// standard change is approved by this.
    Submit {
        /// The change request's number.
        #[arg(value_name = "ID")]
        id: i64,
    },
    /// Record the assessment of a submitted change's risk and impact.
    Assess {
        /// The change request's number.
        #[arg(value_name = "ID")]
        id: i64,
        /// low, medium, high or critical.
        #[arg(long, value_name = "LEVEL", value_parser = RiskLevel::parse)]
        risk: RiskLevel,
        /// What the change affects.
        #[arg(long, value_name = "TEXT")]
        impact: Option<String>,
    },
    /// Approve a change (a normal change must be assessed first).
    Approve {
        /// The change request's number.
        #[arg(value_name = "ID")]
        id: i64,
    },
    /// Reject a change.
    Reject {
        /// The change request's number.
        #[arg(value_name = "ID")]
        id: i64,
        /// Why.
        #[arg(long, value_name = "TEXT")]
        reason: String,
    },
    /// Put a change off; it may be submitted again.
    Defer {
        /// The change request's number.
        #[arg(value_name = "ID")]
        id: i64,
        /// Why.
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
    },
    /// Plan (or re-plan) an approved change's window.
    Schedule {
        /// The change request's number.
        #[arg(value_name = "ID")]
        id: i64,
        /// START..END, two RFC 3339 times, such as
        /// 2026-03-02T22:00:00Z..2026-03-03T02:00:00Z.
        #[arg(long, value_name = "START..END")]
        window: String,
    },
    /// Record that a change was carried out.
    Implement {
        /// The change request's number.
        #[arg(value_name = "ID")]
        id: i64,
    },
    /// Record the post-implementation review (required for an emergency change).
    Review {
        /// The change request's number.
        #[arg(value_name = "ID")]
        id: i64,
        /// successful, partially or failed.
        #[arg(long, value_name = "OUTCOME", value_parser = ReviewOutcome::parse)]
        outcome: ReviewOutcome,
        /// What was learnt.
        #[arg(long, value_name = "TEXT")]
        notes: Option<String>,
    },
    /// Finish with a change.
    Close {
        /// The change request's number.
        #[arg(value_name = "ID")]
        id: i64,
    },
    /// List change requests, newest first, with their conflicts.
    List {
        /// Only in this state (draft, submitted, assessed, approved, rejected,
        /// deferred, scheduled, implemented, reviewed, closed).
        #[arg(long, value_name = "STATE", value_parser = ChangeState::parse)]
        state: Option<ChangeState>,
        /// Only of this type (standard, normal, emergency).
        #[arg(long = "type", value_name = "TYPE", value_parser = ChangeKind::parse)]
        kind: Option<ChangeKind>,
        /// Only of this service.
        #[arg(long, value_name = "SERVICE")]
        service: Option<Name>,
        /// Only in this environment.
        #[arg(long, value_name = "ENV")]
        env: Option<Name>,
        /// Only emergency changes implemented and not yet reviewed.
        #[arg(long)]
        needs_review: bool,
    },
    /// Show one change request, with its conflicts.
    Show {
        /// The change request's number.
        #[arg(value_name = "ID")]
        id: i64,
    },
}

/// `ferry change create`.
#[derive(Debug, Args)]
pub struct ChangeCreateArgs {
    /// What it changes.
    #[arg(long, value_name = "TEXT")]
    pub title: String,
    /// standard (pre-approved), normal (assessed and approved by a change
    /// board) or emergency (expedited, reviewed afterwards).
    #[arg(long = "type", value_name = "TYPE", value_parser = ChangeKind::parse)]
    pub kind: ChangeKind,
    /// The service changed.
    #[arg(long, value_name = "SERVICE")]
    pub service: Name,
    /// The environment changed.
    #[arg(long, value_name = "ENV")]
    pub env: Name,
    /// The release it implements: SERVICE@VERSION or VERSION.
    #[arg(long, value_name = "RELEASE")]
    pub release: Option<String>,
    /// When it may be carried out: START..END, two RFC 3339 times.
    #[arg(long, value_name = "START..END")]
    pub window: Option<String>,
    /// More about it.
    #[arg(long, value_name = "TEXT", default_value = "")]
    pub description: String,
}

/// `ferry freeze`.
#[derive(Debug, Args)]
pub struct FreezeArgs {
    /// What to do with freezes.
    #[command(subcommand)]
    pub command: FreezeCommand,
    /// Server, token, output.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// The freeze commands.
#[derive(Debug, Subcommand)]
pub enum FreezeCommand {
    /// Freeze environments: no promotion enters them while it lasts (an
    /// emergency promotion excepted). One-off (--start, --end) or recurring
    /// (--rrule, --duration).
    Create(FreezeCreateArgs),
    /// List freezes.
    List,
    /// Delete a freeze.
    Delete {
        /// The freeze's name.
        #[arg(value_name = "NAME")]
        name: Name,
    },
}

/// `ferry freeze create`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("when").required(true).args(["start", "rrule"])))]
pub struct FreezeCreateArgs {
    /// Its unique name.
    #[arg(value_name = "NAME")]
    pub name: Name,
    /// An environment frozen. Repeatable.
    #[arg(long = "env", value_name = "ENV", required = true)]
    pub environments: Vec<Name>,
    /// When a one-off freeze starts (RFC 3339).
    #[arg(long, value_name = "TIME", value_parser = parse_time, requires = "end")]
    pub start: Option<DateTime<Utc>>,
    /// When a one-off freeze ends (RFC 3339).
    #[arg(long, value_name = "TIME", value_parser = parse_time, requires = "start")]
    pub end: Option<DateTime<Utc>>,
    /// The recurrence of a recurring freeze (RFC 5545), such as
    /// FREQ=WEEKLY;BYDAY=FR;BYHOUR=15.
    #[arg(
        long,
        value_name = "RULE",
        requires = "duration",
        conflicts_with_all = ["start", "end"]
    )]
    pub rrule: Option<String>,
    /// How long each occurrence lasts, such as 66h.
    #[arg(long, value_name = "DURATION", requires = "rrule")]
    pub duration: Option<String>,
    /// The IANA time zone the rule is read in [default: UTC]
    #[arg(long, value_name = "TZ", requires = "rrule")]
    pub timezone: Option<String>,
    /// Why, for the people it blocks.
    #[arg(long, value_name = "TEXT", default_value = "")]
    pub reason: String,
}

/// `ferry var`.
#[derive(Debug, Args)]
pub struct VarArgs {
    /// What to do with variables.
    #[command(subcommand)]
    pub command: VarCommand,
    /// Server, token, output.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// The variable commands.
#[derive(Debug, Subcommand)]
pub enum VarCommand {
    /// Set a variable of an environment; it wins over ferry.toml's of the same name.
    ///
    /// A value given on the command line stays in the shell's history and
    /// shows in the process list: give a secret on standard input instead,
    /// as in `ferry var set prod DB_PASSWORD --secret --from-stdin <
    /// password.txt` or `pass show db | ferry var set prod DB_PASSWORD
    /// --secret --from-stdin`.
    Set(VarSetArgs),
    /// List an environment's variables as its steps see them (secrets as ***).
    List {
        /// The environment.
        #[arg(value_name = "ENV")]
        environment: Name,
    },
    /// Remove a variable set with `ferry var set` (ferry.toml's value, if
    /// any, applies again).
    Unset {
        /// The environment.
        #[arg(value_name = "ENV")]
        environment: Name,
        /// The variable.
        #[arg(value_name = "NAME", value_parser = parse_variable_name)]
        name: String,
    },
}

/// `ferry var set`.
#[derive(Args)]
#[command(
    group(ArgGroup::new("given").required(true).args(["value", "from_stdin"])),
    override_usage = "ferry var set [OPTIONS] <ENV> <NAME> <VALUE|--from-stdin>"
)]
pub struct VarSetArgs {
    /// The environment.
    #[arg(value_name = "ENV")]
    pub environment: Name,
    /// The variable: letters, digits and underscores, not starting with a
    /// digit or FERRY_ (ferry's own variables).
    #[arg(value_name = "NAME", value_parser = parse_variable_name)]
    pub name: String,
    /// The value (prefer --from-stdin for a secret).
    #[arg(value_name = "VALUE")]
    pub value: Option<String>,
    /// Keep it secret: encrypted at rest, never shown again (listed as ***),
    /// masked in deployment logs.
    #[arg(long)]
    pub secret: bool,
    /// Read the value from standard input, up to its end; one final newline
    /// is dropped.
    #[arg(long)]
    pub from_stdin: bool,
}

impl std::fmt::Debug for VarSetArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VarSetArgs")
            .field("environment", &self.environment)
            .field("name", &self.name)
            .field("value", &self.value.as_ref().map(|_| "***"))
            .field("secret", &self.secret)
            .field("from_stdin", &self.from_stdin)
            .finish()
    }
}

/// Checks a variable's name before anything is sent.
fn parse_variable_name(text: &str) -> Result<String, String> {
    ferry_core::variables::check_name(text)?;
    Ok(text.to_owned())
}

/// `ferry calendar`.
#[derive(Debug, Args)]
pub struct CalendarArgs {
    /// How many days ahead (1 to 366) [default: the server's, 14]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=366))]
    pub days: Option<u32>,
    /// Server, token, output.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// Reads an RFC 3339 time, such as 2026-12-01T09:00:00Z.
fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text.trim())
        .map(|time| time.with_timezone(&Utc))
        .map_err(|error| format!("{error}; expected an RFC 3339 time such as 2026-12-01T09:00:00Z"))
}

/// Reads `NAME=pass` or `NAME=fail`.
fn parse_check(text: &str) -> Result<(String, bool), String> {
    let (name, result) = text
        .split_once('=')
        .ok_or_else(|| "expected NAME=pass or NAME=fail, such as e2e=pass".to_owned())?;
    let name = name.trim();
    if name.is_empty() {
        return Err("the check has no name; expected NAME=pass or NAME=fail".to_owned());
    }
    let passed = match result.trim() {
        "pass" | "passed" => true,
        "fail" | "failed" => false,
        other => {
            return Err(format!(
                "the result {other:?} is neither pass nor fail; expected NAME=pass or NAME=fail"
            ));
        }
    };
    Ok((name.to_owned(), passed))
}

/// `ferry completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: Shell,
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
