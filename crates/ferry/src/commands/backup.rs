//! `ferry admin backup` and `ferry admin restore`: an SQLite server's data
//! directory copied while the server runs, and put back into an empty one.
//!
//! A backup is a folder: `ferry.db` (a consistent copy made online),
//! `secret.key` (without it, secret variables and webhook secrets cannot be
//! opened), `artifacts/` (the stored artifacts, which never change once
//! written) and `backup.json` (when, by which ferry, and the audit trail's
//! head at the copy). Restoring checks the copy's audit chain against that
//! head before the server is started on it. PostgreSQL is backed up with
//! `pg_dump` (docs/operations.md).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Args;
use ferry_store::Store;
use ferry_store::audit::Verification;
use serde::{Deserialize, Serialize};

use crate::cli::OutputFormat;
use crate::commands::serve::default_data_dir;
use crate::output;

/// The folder's description file.
const DESCRIPTION: &str = "backup.json";

/// What a backup says of itself.
#[derive(Debug, Serialize, Deserialize)]
pub struct BackupDescription {
    /// `ferry-backup/1`.
    pub format: String,
    /// The ferry that made it.
    pub ferry_version: String,
    /// When (RFC 3339).
    pub made_at: String,
    /// The audit trail's events at the copy.
    pub audit_events: i64,
    /// The hash of the last of them.
    pub audit_head: String,
    /// How many artifact files were copied.
    pub artifacts: u64,
    /// Whether the secret key was copied.
    pub secret_key: bool,
}

/// `ferry admin backup`.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The server's data directory [default: $XDG_DATA_HOME/ferry]
    #[arg(long, env = "FERRY_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// The folder to write the backup to; it must not exist, or be empty.
    #[arg(long, value_name = "DIR")]
    pub to: PathBuf,
    /// How to print the result.
    #[arg(long, value_enum, default_value_t, value_name = "FORMAT")]
    pub output: OutputFormat,
}

/// `ferry admin restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup folder `ferry admin backup --to` wrote.
    #[arg(long, value_name = "DIR")]
    pub from: PathBuf,
    /// The data directory to restore into; it must hold no database yet
    /// [default: $XDG_DATA_HOME/ferry]
    #[arg(long, env = "FERRY_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// How to print the result.
    #[arg(long, value_enum, default_value_t, value_name = "FORMAT")]
    pub output: OutputFormat,
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Copies the data directory's database, key and artifacts into `--to`.
pub fn backup(args: BackupArgs) -> Result<ExitCode> {
    let data_dir = match args.data_dir {
        Some(dir) => dir,
        None => default_data_dir()?,
    };
    let database = data_dir.join("ferry.db");
    if !database.is_file() {
        bail!(
            "there is no ferry database in {} ({} does not exist): pass the --data-dir the server runs with \
             (a server on PostgreSQL is backed up with pg_dump; see docs/operations.md)",
            data_dir.display(),
            database.display()
        );
    }
    if args.to.exists() {
        let empty = std::fs::read_dir(&args.to)
            .with_context(|| format!("{} exists and cannot be read", args.to.display()))?
            .next()
            .is_none();
        if !empty {
            bail!(
                "{} exists and is not empty: name a new folder for the backup",
                args.to.display()
            );
        }
    }
    std::fs::create_dir_all(&args.to)
        .with_context(|| format!("cannot make the folder {}", args.to.display()))?;
    let copied = runtime()?.block_on(async {
        let url = format!("sqlite://{}?mode=rw", database.display());
        let store = Store::connect(&url)
            .await
            .with_context(|| format!("cannot open the database {}", database.display()))?;
        let copied = store.copy_sqlite_to(&args.to.join("ferry.db")).await;
        store.close().await;
        copied.context("the database could not be copied")?;
        // The copy's own head: what the restore checks against.
        let copy = Store::connect(&format!("sqlite://{}?mode=rw", args.to.join("ferry.db").display()))
            .await
            .context("the copy cannot be opened")?;
        let verified = copy.verify_audit().await;
        copy.close().await;
        match verified.context("the copy's audit trail cannot be read")? {
            Verification::Intact { events, head_hash } => Ok::<_, anyhow::Error>((events, head_hash)),
            Verification::Broken { .. } => bail!(
                "the database's audit trail does not verify (run `ferry audit verify`): no backup was written"
            ),
        }
    });
    let (events, head) = match copied {
        Ok(copied) => copied,
        Err(error) => {
            let _ = std::fs::remove_dir_all(&args.to);
            return Err(error);
        }
    };
    let key = data_dir.join(ferry_server::secrets::KEY_FILE);
    let secret_key = key.is_file();
    if secret_key {
        copy_file(&key, &args.to.join(ferry_server::secrets::KEY_FILE))?;
    }
    let artifacts = copy_tree(&data_dir.join("artifacts"), &args.to.join("artifacts"))?;
    let description = BackupDescription {
        format: "ferry-backup/1".into(),
        ferry_version: env!("CARGO_PKG_VERSION").into(),
        made_at: ferry_core::time::format_time(chrono::Utc::now()),
        audit_events: events,
        audit_head: head,
        artifacts,
        secret_key,
    };
    std::fs::write(
        args.to.join(DESCRIPTION),
        serde_json::to_string_pretty(&description)? + "\n",
    )
    .with_context(|| format!("cannot write {}", args.to.join(DESCRIPTION).display()))?;
    report(
        args.output,
        &description,
        &format!(
            "Backed up {} to {}: the database ({} audit events, head {}), {}{} artifact file(s).",
            data_dir.display(),
            args.to.display(),
            description.audit_events,
            short(&description.audit_head),
            if secret_key { "the secret key, " } else { "" },
            artifacts
        ),
    )
}

/// Puts a backup into an empty data directory, after checking it.
pub fn restore(args: RestoreArgs) -> Result<ExitCode> {
    let data_dir = match args.data_dir {
        Some(dir) => dir,
        None => default_data_dir()?,
    };
    let description: BackupDescription = {
        let path = args.from.join(DESCRIPTION);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "{} is not a ferry backup: it has no readable {DESCRIPTION}",
                args.from.display()
            )
        })?;
        serde_json::from_str(&text).with_context(|| format!("{} cannot be read", path.display()))?
    };
    if description.format != "ferry-backup/1" {
        bail!(
            "{} is a backup of format {:?}, which this ferry does not know",
            args.from.display(),
            description.format
        );
    }
    if !args.from.join("ferry.db").is_file() {
        bail!(
            "{} holds no ferry.db: the backup is incomplete",
            args.from.display()
        );
    }
    if description.secret_key && !args.from.join(ferry_server::secrets::KEY_FILE).is_file() {
        bail!(
            "{} lost its {}: without it secret variables cannot be opened",
            args.from.display(),
            ferry_server::secrets::KEY_FILE
        );
    }
    let database = data_dir.join("ferry.db");
    if database.exists() {
        bail!(
            "{} holds a database already: restore into an empty data directory (stop the server and move its folder away first)",
            data_dir.display()
        );
    }
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("cannot make the data directory {}", data_dir.display()))?;
    copy_file(&args.from.join("ferry.db"), &database)?;
    let checked = runtime()?.block_on(async {
        let store = Store::connect(&format!("sqlite://{}?mode=rw", database.display()))
            .await
            .context("the restored database cannot be opened")?;
        let verified = store.verify_audit().await;
        store.close().await;
        verified.context("the restored audit trail cannot be read")
    });
    let intact = match checked {
        Ok(Verification::Intact { events, head_hash })
            if events == description.audit_events && head_hash == description.audit_head =>
        {
            Ok(())
        }
        Ok(Verification::Intact { events, head_hash }) => Err(anyhow::anyhow!(
            "the backup's database ends at audit event {events} ({}) but was made at {} ({}): it was changed after the backup",
            short(&head_hash),
            description.audit_events,
            short(&description.audit_head)
        )),
        Ok(Verification::Broken { .. }) => Err(anyhow::anyhow!(
            "the backup's audit trail does not verify: it was edited"
        )),
        Err(error) => Err(error),
    };
    if let Err(error) = intact {
        let _ = std::fs::remove_file(&database);
        return Err(error.context("nothing was restored"));
    }
    if description.secret_key {
        copy_file(
            &args.from.join(ferry_server::secrets::KEY_FILE),
            &data_dir.join(ferry_server::secrets::KEY_FILE),
        )?;
    }
    let artifacts = copy_tree(&args.from.join("artifacts"), &data_dir.join("artifacts"))?;
    report(
        args.output,
        &description,
        &format!(
            "Restored {} into {}: {} audit events verified up to {}, {}{} artifact file(s). Start the server with --data-dir {}.",
            args.from.display(),
            data_dir.display(),
            description.audit_events,
            short(&description.audit_head),
            if description.secret_key {
                "the secret key, "
            } else {
                ""
            },
            artifacts,
            data_dir.display()
        ),
    )
}

fn report(
    format: OutputFormat,
    description: &BackupDescription,
    sentence: &str,
) -> Result<ExitCode> {
    match format {
        OutputFormat::Json => output::json(description)?,
        OutputFormat::Table => writeln!(output::stdout(), "{sentence}")?,
    }
    Ok(ExitCode::SUCCESS)
}

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

/// Copies one file, keeping it private to its owner where the source is.
fn copy_file(from: &Path, to: &Path) -> Result<()> {
    std::fs::copy(from, to)
        .with_context(|| format!("cannot copy {} to {}", from.display(), to.display()))?;
    Ok(())
}

/// Copies the files under `from` (if it exists) to `to`; answers how many.
fn copy_tree(from: &Path, to: &Path) -> Result<u64> {
    if !from.is_dir() {
        return Ok(0);
    }
    let mut count = 0;
    let mut folders = vec![(from.to_owned(), to.to_owned())];
    while let Some((source, target)) = folders.pop() {
        std::fs::create_dir_all(&target)
            .with_context(|| format!("cannot make the folder {}", target.display()))?;
        for entry in std::fs::read_dir(&source)
            .with_context(|| format!("cannot read the folder {}", source.display()))?
        {
            let entry = entry.with_context(|| format!("cannot read {}", source.display()))?;
            let kind = entry.file_type()?;
            let destination = target.join(entry.file_name());
            if kind.is_dir() {
                folders.push((entry.path(), destination));
            } else if kind.is_file() {
                copy_file(&entry.path(), &destination)?;
                count += 1;
            }
        }
    }
    Ok(count)
}
