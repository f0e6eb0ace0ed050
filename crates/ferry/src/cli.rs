//! The command line: every command, option and environment variable of
//! `ferry`, in one clap definition (names here are a contract: see DESIGN.md).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use clap_complete::Shell;
use ferry_core::{Name, ReleaseRef};

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
    /// Create, list and revoke API tokens.
    Token(TokenArgs),
    /// Create and list users.
    User(UserArgs),
    /// Show who the token belongs to.
    Whoami(ClientArgs),
    /// Show what promoting a service from one environment to another brings.
    Diff(DiffArgs),
    /// Write a changelog from a git repository's history (offline, no server).
    Changelog(ChangelogArgs),
    /// Print a shell completion script.
    Completions(CompletionsArgs),
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
    #[arg(long, env = "FERRY_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Fill an empty server with demonstration data.
    #[arg(long)]
    pub demo: bool,
    /// The largest artifact an upload may have, in bytes [default: 4 GiB]
    #[arg(
        long,
        env = "FERRY_MAX_ARTIFACT_BYTES",
        value_name = "BYTES",
        default_value_t = ferry_server::DEFAULT_MAX_ARTIFACT_BYTES,
        hide_default_value = true
    )]
    pub max_artifact_bytes: u64,
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
