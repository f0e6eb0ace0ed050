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
    /// Print a shell completion script.
    Completions(CompletionsArgs),
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
    /// Create a release of a service.
    Create {
        /// The service released.
        #[arg(value_name = "SERVICE")]
        service: Name,
        /// Its semantic version, such as 1.4.0 or 2.0.0-rc.1.
        #[arg(long, value_name = "VERSION")]
        version: String,
        /// Release notes (Markdown).
        #[arg(long, value_name = "TEXT", conflicts_with = "notes_file")]
        notes: Option<String>,
        /// Read the release notes from a file (`-` for standard input).
        #[arg(long, value_name = "FILE")]
        notes_file: Option<PathBuf>,
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
