//! `ferry admin token`: recovery, on the server's machine, when no working
//! administrator token is left. It needs no server: it opens the database
//! itself (the server may keep running on it), makes sure the user exists,
//! is enabled and holds the admin role, and gives them a new token. The
//! audit trail records it as `admin.recover` by `recovery`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use ferry_core::Name;
use ferry_store::Store;

use crate::cli::OutputFormat;
use crate::commands::serve::default_data_dir;
use crate::commands::token::print_secret;
use crate::output;

/// `ferry admin`.
#[derive(Debug, Args)]
pub struct AdminArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: AdminCommand,
}

/// The administration commands run on the server's machine.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Recovery: give a user (admin by default) the admin role and a new
    /// token, straight in the server's database; no server or token needed.
    ///
    /// Run it on the server's machine, with the data directory or the
    /// database the server uses (it may keep running). The user is created
    /// if missing and enabled if disabled; the audit trail records it as
    /// `admin.recover` by `recovery`. The token's secret is printed this
    /// once, alone on the last line.
    Token(AdminTokenArgs),
    /// Copy an SQLite server's data directory (its database, secret key and
    /// artifacts) into a new folder, while the server keeps running.
    ///
    /// The database is copied as one consistent snapshot; the folder's
    /// backup.json records the audit trail's head at that moment, which
    /// `ferry admin restore` checks. A server on PostgreSQL is backed up
    /// with pg_dump instead (docs/operations.md).
    Backup(crate::commands::backup::BackupArgs),
    /// Put a backup into an empty data directory, after checking its audit
    /// trail; then start the server on it.
    Restore(crate::commands::backup::RestoreArgs),
}

/// `ferry admin token`.
#[derive(Debug, Args)]
pub struct AdminTokenArgs {
    /// The server's data directory; its database is <DIR>/ferry.db
    /// [default: $XDG_DATA_HOME/ferry]
    #[arg(long, env = "FERRY_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// The server's database, sqlite://PATH or postgres://...; when given,
    /// it is used rather than the data directory's, as by `ferry serve`.
    #[arg(
        long,
        env = "FERRY_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub database: Option<String>,
    /// The user who gets the admin role and the token.
    #[arg(long, value_name = "NAME", default_value = "admin")]
    pub user: Name,
    /// The token's name.
    #[arg(long, value_name = "TOKEN-NAME", default_value = "recovery")]
    pub name: String,
    /// How to print the result.
    #[arg(long, value_enum, default_value_t, value_name = "FORMAT")]
    pub output: OutputFormat,
}

/// Runs one administration command.
pub fn run(args: AdminArgs) -> Result<ExitCode> {
    match args.command {
        AdminCommand::Token(token) => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("cannot start the async runtime")?;
            runtime.block_on(recover(token))
        }
        AdminCommand::Backup(backup) => crate::commands::backup::backup(backup),
        AdminCommand::Restore(restore) => crate::commands::backup::restore(restore),
    }
}

async fn recover(args: AdminTokenArgs) -> Result<ExitCode> {
    let url = database_url(args.database.as_deref(), args.data_dir)?;
    let store = Store::connect(&url)
        .await
        .with_context(|| format!("cannot open the database {}", ferry_store::redact(&url)))?;
    let recovered = ferry_server::recover_admin(&store, &args.user, &args.name).await;
    // SQLite checkpoints its log when the last connection closes.
    store.close().await;
    let created = recovered.with_context(|| format!("cannot recover user {}", args.user))?;
    match args.output {
        OutputFormat::Json => output::json(&created)?,
        OutputFormat::Table => {
            writeln!(
                output::stdout(),
                "Recovered user {}: enabled, with the admin role everywhere \
                 (recorded in the audit trail as admin.recover by recovery).",
                created.user.name
            )?;
            print_secret(&created.token, "")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The database `ferry serve` uses with these settings: `--database`, else
/// `ferry.db` in the data directory. An SQLite file must exist already:
/// recovery never makes an empty database.
fn database_url(database: Option<&str>, data_dir: Option<PathBuf>) -> Result<String> {
    if let Some(url) = database {
        if let Some(path) = sqlite_path(url)
            && !Path::new(path).exists()
        {
            bail!("there is no database at {path}: pass the --database URL the server runs with");
        }
        return Ok(read_write(url));
    }
    let data_dir = match data_dir {
        Some(dir) => dir,
        None => default_data_dir()?,
    };
    let file = data_dir.join("ferry.db");
    if !file.is_file() {
        bail!(
            "there is no ferry database in {} ({} does not exist): pass the --data-dir DIR \
             or the --database URL the server runs with",
            data_dir.display(),
            file.display()
        );
    }
    Ok(read_write(&format!("sqlite://{}", file.display())))
}

/// The file of an `sqlite:` URL, unless it is an in-memory database.
fn sqlite_path(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && path != ":memory:").then_some(path)
}

/// An SQLite URL that opens the file only if it exists (`mode=rw`, where
/// the store would otherwise create it); other URLs as they are.
fn read_write(url: &str) -> String {
    if sqlite_path(url).is_none() || url.contains("mode=") {
        return url.to_owned();
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}mode=rw")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_open_only_existing_files() {
        assert_eq!(
            read_write("sqlite:///var/lib/ferry/ferry.db"),
            "sqlite:///var/lib/ferry/ferry.db?mode=rw"
        );
        assert_eq!(
            read_write("sqlite://ferry.db?cache=shared"),
            "sqlite://ferry.db?cache=shared&mode=rw"
        );
        assert_eq!(read_write("sqlite://x.db?mode=ro"), "sqlite://x.db?mode=ro");
        assert_eq!(read_write("postgres://h/db"), "postgres://h/db");
        assert_eq!(sqlite_path("sqlite:ferry.db?x=1"), Some("ferry.db"));
        assert_eq!(sqlite_path("sqlite::memory:"), None);
    }

    #[test]
    fn a_missing_database_is_named_and_never_created() {
        let dir = tempfile::tempdir().unwrap();
        let error = database_url(None, Some(dir.path().to_owned()))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("there is no ferry database in") && error.contains("--data-dir"),
            "{error}"
        );
        let url = format!("sqlite://{}", dir.path().join("nothing.db").display());
        let error = database_url(Some(&url), None).unwrap_err().to_string();
        assert!(error.contains("there is no database at"), "{error}");
        assert!(!dir.path().join("ferry.db").exists());
        std::fs::write(dir.path().join("ferry.db"), "").unwrap();
        let url = database_url(None, Some(dir.path().to_owned())).unwrap();
        assert!(url.starts_with("sqlite://") && url.ends_with("ferry.db?mode=rw"));
    }
}
