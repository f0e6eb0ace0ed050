//! `ferry release create|list|show|abandon`.
//!
//! Releases are named `service@version` on the command line; a malformed one
//! is refused by clap as a usage error before anything is sent.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use ferry_api::{CreateRelease, Page, Release};
use ferry_client::{Client, all_pages};
use ferry_core::{Name, ReleaseRef};

use crate::cli::{ClientArgs, OutputFormat};
use crate::{artifacts, output, profile};

mod content;
mod marks;

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
        /// Where to write it; `-` writes it to standard output once its
        /// digest is verified [default: NAME in the current directory]
        #[arg(long, short = 'o', value_name = "FILE")]
        output_file: Option<PathBuf>,
        /// Overwrite the file if it exists.
        #[arg(long)]
        force: bool,
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
    /// Show where a release was rolled back and marked bad.
    Marks {
        /// The release, such as api@1.4.0.
        #[arg(value_name = "SERVICE@VERSION")]
        release: ReleaseRef,
    },
    /// Lift a release's bad mark in an environment, so it may be promoted
    /// there again (a rollback marks the release it undoes bad there).
    Unmark(marks::UnmarkArgs),
    /// Abandon a release: it can no longer be promoted.
    Abandon {
        /// The release, such as api@1.4.0.
        #[arg(value_name = "SERVICE@VERSION")]
        release: ReleaseRef,
    },
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
    /// The go-live date (2027-03-01, or an RFC 3339 time): dates the plan
    /// the service's plan template makes for the release.
    #[arg(long, value_name = "DATE", value_parser = crate::args::parse_date_or_time)]
    pub go_live: Option<chrono::DateTime<chrono::Utc>>,
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

/// Runs one release command.
pub async fn run(args: ReleaseArgs) -> Result<ExitCode> {
    let client = profile::resolve(&args.client)?.client()?;
    let format = args.client.output;
    match args.command {
        ReleaseCommand::Create(create) => {
            let release = create_release(&client, create).await?;
            match format {
                OutputFormat::Json => output::json(&release)?,
                OutputFormat::Table => {
                    let mut out = output::stdout();
                    write!(
                        out,
                        "Created release {}@{}",
                        release.service, release.version
                    )?;
                    if let Some(previous) = &release.previous_version {
                        write!(out, " (after {previous})")?;
                    }
                    writeln!(out, ".")?;
                    for artifact in &release.artifacts {
                        let place = artifact.uri.as_deref().unwrap_or("stored");
                        writeln!(
                            out,
                            "  artifact {}  {}  {place}",
                            artifact.name, artifact.digest
                        )?;
                    }
                }
            }
        }
        ReleaseCommand::Notes { release, format } => {
            let text = client
                .release_notes(
                    release.service.as_str(),
                    &release.version.to_string(),
                    format.as_str(),
                )
                .await
                .with_context(|| format!("cannot read the notes of {release}"))?;
            let mut out = output::stdout();
            out.write_all(text.as_bytes())?;
            if !text.ends_with('\n') {
                writeln!(out)?;
            }
        }
        ReleaseCommand::Download {
            release,
            name,
            output_file,
            force,
        } => {
            let path = output_file.unwrap_or_else(|| PathBuf::from(&name));
            if path.as_os_str() == "-" {
                // Verified first, in a file of its own, then written out:
                // nothing unverified reaches standard output.
                let scratch = std::env::temp_dir().join(format!(
                    "ferry-download-{}-{}",
                    std::process::id(),
                    name.replace(['/', '\\'], "_")
                ));
                let downloaded = artifacts::download(&client, &release, &name, &scratch).await;
                let copied = downloaded.and_then(|_| {
                    let mut file = std::fs::File::open(&scratch)?;
                    std::io::copy(&mut file, &mut std::io::stdout().lock())?;
                    Ok(())
                });
                let _ = std::fs::remove_file(&scratch);
                copied?;
                return Ok(ExitCode::SUCCESS);
            }
            if path.exists() && !force {
                anyhow::bail!(
                    "{} exists; pass --force to overwrite it, or -o FILE to write elsewhere",
                    path.display()
                );
            }
            let (digest, size) = artifacts::download(&client, &release, &name, &path).await?;
            match format {
                OutputFormat::Json => output::json(&serde_json::json!({
                    "name": name, "digest": digest, "size": size, "path": path,
                }))?,
                OutputFormat::Table => writeln!(
                    output::stdout(),
                    "Downloaded {name} of {release} to {} ({size} bytes, {digest}, verified).",
                    path.display()
                )?,
            }
        }
        ReleaseCommand::List { service } => {
            let releases = list(&client, service.as_ref()).await?;
            match format {
                OutputFormat::Json => output::json(&Page {
                    items: releases,
                    next_cursor: None,
                })?,
                OutputFormat::Table => print_list(&releases)?,
            }
        }
        ReleaseCommand::Show { release } => {
            let found = fetch(&client, &release).await?;
            match format {
                OutputFormat::Json => output::json(&found)?,
                OutputFormat::Table => print_release(&found)?,
            }
        }
        ReleaseCommand::Marks { release } => marks::list(&client, &release, format).await?,
        ReleaseCommand::Unmark(unmark) => marks::unmark(&client, unmark, format).await?,
        ReleaseCommand::Abandon { release } => {
            let abandoned = client
                .abandon_release(release.service.as_str(), &release.version.to_string())
                .await
                .with_context(|| format!("cannot abandon {release}"))?;
            match format {
                OutputFormat::Json => output::json(&abandoned)?,
                OutputFormat::Table => writeln!(
                    output::stdout(),
                    "Abandoned release {}@{}: it can no longer be promoted.",
                    abandoned.service,
                    abandoned.version
                )?,
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The releases of one service, or of every service in the server's order.
async fn list(client: &Client, service: Option<&Name>) -> Result<Vec<Release>> {
    let services = match service {
        Some(service) => vec![service.as_str().to_owned()],
        None => all_pages(|page| async move { client.services(&page).await })
            .await?
            .into_iter()
            .map(|service| service.spec.name.as_str().to_owned())
            .collect(),
    };
    let mut releases = Vec::new();
    for service in &services {
        let page = all_pages(|page| async move { client.releases(service, &page).await }).await?;
        releases.extend(page);
    }
    Ok(releases)
}

async fn fetch(client: &Client, release: &ReleaseRef) -> Result<Release> {
    Ok(client
        .release(release.service.as_str(), &release.version.to_string())
        .await?)
}

/// Creates a release: from git when asked (commits, computed version), with
/// its artifacts uploaded first.
async fn create_release(client: &Client, args: ReleaseCreateArgs) -> Result<Release> {
    let notes = match (&args.notes, &args.notes_file) {
        (Some(notes), _) => notes.clone(),
        (None, Some(path)) => read_notes(path)?,
        (None, None) => String::new(),
    };
    let service = args.service.as_str();
    let from_git = args.git.is_some() || args.bump.is_some() || args.version.is_none();
    let mut body = CreateRelease {
        version: args.version.clone().unwrap_or_default(),
        notes,
        commit: None,
        previous_version: None,
        commits: Vec::new(),
        artifacts: Vec::new(),
        authors: Vec::new(),
        go_live: args.go_live,
    };
    if from_git {
        let content = content::from_git(client, &args).await?;
        body.version = content.version;
        body.commit = Some(content.commit);
        body.previous_version = content.previous_version;
        body.commits = content.commits;
        body.authors = content.authors;
    }
    for spec in &args.artifacts {
        body.artifacts.push(artifacts::prepare(client, spec).await?);
    }
    // The server checks the version and says why it refuses one, so the
    // rule lives in one place.
    client
        .create_release(service, &body)
        .await
        .with_context(|| format!("cannot create {service}@{}", body.version))
}

fn read_notes(path: &Path) -> Result<String> {
    if path == Path::new("-") {
        let mut notes = String::new();
        std::io::stdin()
            .read_to_string(&mut notes)
            .context("cannot read the notes from standard input")?;
        return Ok(notes);
    }
    std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the notes from {}", path.display()))
}

fn print_list(releases: &[Release]) -> std::io::Result<()> {
    if releases.is_empty() {
        return writeln!(
            output::stdout(),
            "No releases yet: create one with `ferry release create SERVICE --version V`."
        );
    }
    let rows = releases.iter().map(|r| {
        vec![
            format!("{}@{}", r.service, r.version),
            r.state.as_str().to_owned(),
            output::time(&r.created_at),
            r.created_by.clone(),
        ]
    });
    output::table(&["RELEASE", "STATE", "CREATED", "BY"], rows)
}

fn print_release(release: &Release) -> std::io::Result<()> {
    let mut out = output::stdout();
    writeln!(out, "release  {}@{}", release.service, release.version)?;
    writeln!(out, "state    {}", release.state.as_str())?;
    writeln!(
        out,
        "created  {} by {}",
        output::time(&release.created_at),
        release.created_by
    )?;
    if release.notes.trim().is_empty() {
        writeln!(out, "notes    (none)")?;
    } else {
        writeln!(out, "notes")?;
        for line in release.notes.trim_end().lines() {
            writeln!(out, "  {line}")?;
        }
    }
    out.flush()
}
