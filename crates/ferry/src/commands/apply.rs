//! `ferry apply`: reads ferry.toml, checks it locally, and makes the server
//! match it (or, with `--dry-run`, shows what that would change).
//!
//! The file is parsed here first so a mistake is reported with its line and
//! column without a round trip, and without a server at all.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use ferry_api::{Action, ApplyRequest, ApplyResult, Change, Kind};

use crate::cli::{ClientArgs, OutputFormat};
use crate::output::{self, CHANGE, GOOD};
use crate::profile;

/// `ferry apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The configuration file; `-` reads it from standard input (files it
    /// names are then looked for in the current directory).
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

/// Applies (or plans) the configuration file.
pub async fn run(args: ApplyArgs) -> Result<ExitCode> {
    let from_stdin = args.file.as_os_str() == "-";
    let (file, source) = if from_stdin {
        let mut source = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut source)
            .context("cannot read the configuration from standard input")?;
        ("<stdin>".to_owned(), source)
    } else {
        let file = args.file.display().to_string();
        let source = std::fs::read_to_string(&args.file)
            .with_context(|| format!("cannot read {file} (name another file with -f FILE)"))?;
        (file, source)
    };
    let mut config = match ferry_core::config::parse(&source) {
        Ok(config) => config,
        Err(error) => {
            let mut err = anstream::stderr();
            let _ = writeln!(
                err,
                "{}error:{:#} {}",
                output::BAD,
                output::BAD,
                error.render(&file, &source)
            );
            return Ok(ExitCode::FAILURE);
        }
    };
    // Files named by a configuration on standard input are looked for in the
    // current directory, as if it were ./ferry.toml.
    let place = if from_stdin {
        PathBuf::from("./ferry.toml")
    } else {
        args.file.clone()
    };
    load_notes_templates(&mut config, &place)?;
    let client = profile::resolve(&args.client)?.client()?;
    let request = ApplyRequest {
        config,
        dry_run: args.dry_run,
    };
    let result = client.apply(&request).await?;
    match args.client.output {
        OutputFormat::Json => output::json(&result)?,
        OutputFormat::Table => print_plan(&result, &file, args.dry_run)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// A service's `notes_template` names a file relative to the configuration
/// file; the server keeps its text (it has no access to the file), so read it
/// here and check that it compiles.
fn load_notes_templates(
    config: &mut ferry_core::config::Config,
    file: &std::path::Path,
) -> Result<()> {
    let base = file.parent().unwrap_or(std::path::Path::new("."));
    for service in &mut config.services {
        let Some(path) = service.notes_template.take() else {
            continue;
        };
        let full = inside(base, std::path::Path::new(&path)).with_context(|| {
            format!(
                "{}: service {:?}: notes_template {path:?}",
                file.display(),
                service.name.as_str()
            )
        })?;
        let text = std::fs::read_to_string(&full).with_context(|| {
            format!(
                "{}: service {:?}: cannot read its notes template {}",
                file.display(),
                service.name.as_str(),
                full.display()
            )
        })?;
        ferry_core::notes::render_template(&text, &[], &Default::default()).map_err(|error| {
            anyhow::anyhow!(
                "{}: service {:?}: {error}",
                full.display(),
                service.name.as_str()
            )
        })?;
        service.notes_template = Some(text);
    }
    Ok(())
}

/// `path`, relative to the configuration's directory `base`, once it is
/// known to stay inside it with every symbolic link resolved: a
/// configuration names files beside it or below it, never elsewhere on the
/// machine that applies it (where CI may apply a file it did not write).
fn inside(base: &std::path::Path, path: &std::path::Path) -> Result<std::path::PathBuf> {
    let base = if base.as_os_str().is_empty() {
        std::path::Path::new(".")
    } else {
        base
    };
    let root = base.canonicalize().with_context(|| {
        format!(
            "cannot resolve the configuration's directory {}",
            base.display()
        )
    })?;
    let full = base.join(path);
    let resolved = full
        .canonicalize()
        .with_context(|| format!("cannot read {}", full.display()))?;
    if !resolved.starts_with(&root) {
        anyhow::bail!(
            "{} lies outside the configuration's directory {} (it resolves to {}): name a file beside ferry.toml or below it",
            path.display(),
            root.display(),
            resolved.display()
        );
    }
    Ok(resolved)
}

fn print_plan(result: &ApplyResult, file: &str, dry_run: bool) -> std::io::Result<()> {
    let mut out = output::stdout();
    for change in &result.changes {
        writeln!(out, "{}", plan_line(change))?;
    }
    let count = |action| result.changes.iter().filter(|c| c.action == action).count();
    let (create, update, unchanged) = (
        count(Action::Create),
        count(Action::Update),
        count(Action::Unchanged),
    );
    if create + update == 0 {
        writeln!(out, "No changes: the server already matches {file}.")?;
    } else if dry_run || !result.applied {
        writeln!(
            out,
            "Plan: {create} to create, {update} to update, {unchanged} unchanged."
        )?;
        writeln!(out, "Dry run: nothing was written.")?;
    } else {
        writeln!(
            out,
            "Applied: {create} created, {update} updated, {unchanged} unchanged."
        )?;
    }
    out.flush()
}

/// `+ create environment prod`, `~ update service api (deploy, paths)`,
/// `  unchanged lifecycle default`.
fn plan_line(change: &Change) -> String {
    // The trust policies are one entry with no name of their own.
    let entry = match change.kind {
        Kind::Trust => "trust policies".to_owned(),
        kind => format!("{} {}", kind_name(kind), change.name),
    };
    match change.action {
        Action::Create => format!("{GOOD}+ create {entry}{GOOD:#}"),
        Action::Update if change.fields.is_empty() => {
            format!("{CHANGE}~ update {entry}{CHANGE:#}")
        }
        Action::Update => {
            format!(
                "{CHANGE}~ update {entry} ({}){CHANGE:#}",
                change.fields.join(", ")
            )
        }
        Action::Unchanged => format!("  unchanged {entry}"),
    }
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Environment => "environment",
        Kind::Lifecycle => "lifecycle",
        Kind::Service => "service",
        Kind::Freeze => "freeze",
        Kind::Trust => "trust",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_lines_say_what_happens() {
        let change = |kind, action, fields: &[&str]| Change {
            kind,
            name: ferry_core::Name::parse("api").unwrap(),
            action,
            fields: fields.iter().map(|f| f.to_string()).collect(),
        };
        let strip = |s: String| anstream::adapter::strip_str(&s).to_string();
        assert_eq!(
            strip(plan_line(&change(Kind::Environment, Action::Create, &[]))),
            "+ create environment api"
        );
        assert_eq!(
            strip(plan_line(&change(
                Kind::Service,
                Action::Update,
                &["deploy", "paths"]
            ))),
            "~ update service api (deploy, paths)"
        );
        assert_eq!(
            strip(plan_line(&change(Kind::Lifecycle, Action::Unchanged, &[]))),
            "  unchanged lifecycle api"
        );
    }
}
