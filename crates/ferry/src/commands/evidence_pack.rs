//! `ferry evidence-pack`: one archive for auditors (SOC 2, ISO 27001,
//! regulated software) that tells what changed in a release or over a
//! period, how it was tested, who approved it, where and when it was
//! deployed, with the audit events behind each fact; and `ferry
//! evidence-pack verify FILE`, which checks such an archive offline.
//!
//! The server makes the archive (the web UI downloads the same); this
//! command writes it to a file and reads it back to say what it holds.
//! Checking it needs no server: `ferry_core::evidence_pack` reads it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use ferry_client::EvidencePackQuery;
use ferry_core::ReleaseRef;
use ferry_core::evidence_pack::{Report, read_archive, verify};
use serde_json::json;

use crate::cli::{ClientArgs, OutputFormat};
use crate::output::{self, BAD, DIM, GOOD};
use crate::profile;

/// `ferry evidence-pack`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct EvidencePackArgs {
    /// Check a pack instead of writing one.
    #[command(subcommand)]
    pub command: Option<EvidencePackCommand>,
    /// The release the pack covers, such as api@1.4.0: its commits, change
    /// requests, evidence, approvals and deployments.
    #[arg(
        value_name = "SERVICE@VERSION",
        required_unless_present = "since",
        conflicts_with_all = ["since", "until", "service"]
    )]
    pub release: Option<ReleaseRef>,
    /// Only what concerns this environment.
    #[arg(long, value_name = "ENV")]
    pub env: Option<String>,
    /// Instead of a release, the deployments made from this day (2026-07-01)
    /// or time (RFC 3339), with the releases they deployed.
    #[arg(long, value_name = "DATE", requires = "until")]
    pub since: Option<String>,
    /// The period's last day (included), or a time (RFC 3339, excluded).
    #[arg(long, value_name = "DATE", requires = "since")]
    pub until: Option<String>,
    /// With --since: only this service's deployments.
    #[arg(long, value_name = "SERVICE")]
    pub service: Option<String>,
    /// Where to write the archive; `-` writes it to standard output
    /// [default: the name the server gives it, in the current directory]
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Overwrite the file if it exists.
    #[arg(long)]
    pub force: bool,
    /// Server, token, output.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// What else `ferry evidence-pack` does.
#[derive(Debug, Subcommand)]
pub enum EvidencePackCommand {
    /// Check a pack offline, without a server: exit 0 when every file,
    /// fact and audit event is as it was made, 1 naming each that was
    /// edited, removed, added or reordered.
    Verify {
        /// The pack (`.tar.gz`).
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
}

/// Runs `ferry evidence-pack`.
pub async fn run(args: EvidencePackArgs) -> Result<ExitCode> {
    let format = args.client.output;
    if let Some(EvidencePackCommand::Verify { file }) = &args.command {
        return verify_file(file, format);
    }
    let client = profile::resolve(&args.client)?.client()?;
    let query = EvidencePackQuery {
        release: args.release.as_ref().map(ToString::to_string),
        env: args.env.clone(),
        since: args.since.clone(),
        until: args.until.clone(),
        service: args.service.clone(),
    };
    let what = match &args.release {
        Some(release) => format!("the evidence pack of {release}"),
        None => "the evidence pack".to_owned(),
    };
    let mut download = client
        .evidence_pack(&query)
        .await
        .with_context(|| format!("cannot make {what}"))?;
    if args.out.as_deref() == Some(Path::new("-")) {
        let mut out = std::io::stdout().lock();
        while let Some(chunk) = download.chunk().await? {
            out.write_all(chunk.as_ref())
                .context("cannot write the pack")?;
        }
        out.flush().context("cannot write the pack")?;
        return Ok(ExitCode::SUCCESS);
    }
    let path = match &args.out {
        Some(path) => path.clone(),
        None => PathBuf::from(
            download
                .header("content-disposition")
                .and_then(file_name)
                .unwrap_or_else(|| "evidence-pack.tar.gz".to_owned()),
        ),
    };
    if path.exists() && !args.force {
        anyhow::bail!(
            "{} exists; pass --force to overwrite it, or --out FILE to write elsewhere",
            path.display()
        );
    }
    // Written beside the file first, so a broken download leaves no
    // half pack under the pack's name.
    let mut partial = path.clone().into_os_string();
    partial.push(".part");
    let partial = PathBuf::from(partial);
    let mut bytes = Vec::new();
    while let Some(chunk) = download.chunk().await? {
        bytes.extend_from_slice(chunk.as_ref());
    }
    std::fs::write(&partial, &bytes)
        .with_context(|| format!("cannot write {}", partial.display()))?;
    std::fs::rename(&partial, &path).with_context(|| format!("cannot write {}", path.display()))?;
    let files = read_archive(&bytes)
        .with_context(|| format!("the server's answer is not an evidence pack ({what})"))?;
    let report = verify(&files);
    match format {
        OutputFormat::Json => output::json(&summary(&report, Some(&path)))?,
        OutputFormat::Table => {
            let mut out = output::stdout();
            let scope = report
                .manifest
                .as_ref()
                .map(|manifest| manifest.scope.describe())
                .unwrap_or_default();
            writeln!(
                out,
                "{GOOD}Wrote{GOOD:#} {}: the evidence pack of {scope}, {} facts, {} audit events, {} files ({} bytes).",
                path.display(),
                report.facts,
                report.events,
                report.files,
                bytes.len()
            )?;
            if let Some(digest) = &report.manifest_sha256 {
                writeln!(out, "manifest {digest}")?;
                writeln!(
                    out,
                    "{DIM}Keep this digest apart from the pack: `ferry evidence-pack verify {}` prints it again.{DIM:#}",
                    path.display()
                )?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The file name of a `Content-Disposition` header, without any folder.
fn file_name(disposition: &str) -> Option<String> {
    let (_, rest) = disposition.split_once("filename=")?;
    let name = rest.split(';').next()?.trim().trim_matches('"');
    let name = name.rsplit(['/', '\\']).next()?;
    (!name.is_empty() && name != "." && name != "..").then(|| name.to_owned())
}

/// Checks a pack offline and prints what was found.
fn verify_file(path: &Path, format: OutputFormat) -> Result<ExitCode> {
    let bytes =
        std::fs::read(path).with_context(|| format!("cannot read the pack {}", path.display()))?;
    let files = read_archive(&bytes)
        .with_context(|| format!("{} is not an evidence pack", path.display()))?;
    let report = verify(&files);
    match format {
        OutputFormat::Json => output::json(&summary(&report, None))?,
        OutputFormat::Table => print_verdict(&report)?,
    }
    Ok(if report.intact() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// What a pack holds and whether it is intact, as JSON.
fn summary(report: &Report, path: Option<&Path>) -> serde_json::Value {
    let manifest = report.manifest.as_ref();
    let mut summary = json!({
        "intact": report.intact(),
        "scope": manifest.map(|manifest| &manifest.scope),
        "created_at": manifest.map(|manifest| &manifest.created_at),
        "audit_head": manifest.map(|manifest| &manifest.audit_head),
        "facts": report.facts,
        "audit_events": report.events,
        "files": report.files,
        "manifest_sha256": report.manifest_sha256,
        "problems": report.problems.iter().map(ToString::to_string).collect::<Vec<_>>(),
    });
    if let Some(path) = path {
        summary["path"] = json!(path);
    }
    summary
}

/// `evidence pack intact: …` with what it holds, or `evidence pack BROKEN`
/// with every problem, one a line.
fn print_verdict(report: &Report) -> std::io::Result<()> {
    let mut out = output::stdout();
    let scope = report
        .manifest
        .as_ref()
        .map(|manifest| format!(": {}", manifest.scope.describe()))
        .unwrap_or_default();
    if report.intact() {
        writeln!(out, "{GOOD}evidence pack intact{GOOD:#}{scope}")?;
        writeln!(
            out,
            "  {} facts, {} audit events, {} files, each as the manifest lists it",
            report.facts, report.events, report.files
        )?;
        if let Some(manifest) = &report.manifest {
            writeln!(
                out,
                "  made {}, when the audit trail's head was event {} ({})",
                output::time_text(&manifest.created_at),
                manifest.audit_head.seq,
                manifest.audit_head.hash
            )?;
        }
    } else {
        let count = report.problems.len();
        let plural = if count == 1 { "" } else { "s" };
        writeln!(
            out,
            "{BAD}evidence pack BROKEN{BAD:#}{scope}: {count} problem{plural}"
        )?;
        for problem in &report.problems {
            writeln!(out, "  {problem}")?;
        }
    }
    if let Some(digest) = &report.manifest_sha256 {
        writeln!(out, "  manifest {digest}")?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_name_comes_from_the_disposition_without_folders() {
        assert_eq!(
            file_name("attachment; filename=\"evidence-pack-api-1.4.0.tar.gz\"").as_deref(),
            Some("evidence-pack-api-1.4.0.tar.gz")
        );
        assert_eq!(
            file_name("attachment; filename=\"../../etc/x.tar.gz\"").as_deref(),
            Some("x.tar.gz")
        );
        assert_eq!(file_name("attachment; filename=\"..\""), None);
        assert_eq!(file_name("attachment"), None);
    }
}
