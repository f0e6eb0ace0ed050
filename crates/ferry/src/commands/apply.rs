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
use ferry_api::{Action, ApplyRequest, ApplyResult, Change, Kind, ValueChange};

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
        for value in &change.values {
            writeln!(out, "    {}", value_line(value))?;
        }
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
        Kind::Oidc => "OpenID Connect sign-in".to_owned(),
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

/// `policy.approvals: 1 → 2`; a side the field is missing on is `(none)`.
fn value_line(value: &ValueChange) -> String {
    let (from, to) = shown(value.from.as_ref(), value.to.as_ref());
    format!("{}: {from} → {to}", value.field)
}

/// The most characters of one value a plan line shows.
const VALUE_CHARS: usize = 60;

/// How many characters before the first difference a cut value keeps.
const CONTEXT_CHARS: usize = 12;

/// Two values as the plan shows them: text quoted, anything else as compact
/// JSON. A value longer than [`VALUE_CHARS`] (a notes template, a list of
/// steps) is cut to show where the two first differ, `…` marking what is
/// left out; `--output json` has them whole.
fn shown(from: Option<&serde_json::Value>, to: Option<&serde_json::Value>) -> (String, String) {
    let text = |value: Option<&serde_json::Value>| match value {
        None | Some(serde_json::Value::Null) => "(none)".to_owned(),
        Some(serde_json::Value::String(text)) => format!("{text:?}"),
        Some(other) => other.to_string(),
    };
    let (from, to) = (text(from), text(to));
    let same = from
        .chars()
        .zip(to.chars())
        .take_while(|(a, b)| a == b)
        .count();
    let start = same.saturating_sub(CONTEXT_CHARS);
    (cut(&from, start), cut(&to, start))
}

/// `text` from its `start`th character on, at most [`VALUE_CHARS`] of it.
fn cut(text: &str, start: usize) -> String {
    let length = text.chars().count();
    if length <= VALUE_CHARS {
        return text.to_owned();
    }
    let start = start.min(length.saturating_sub(VALUE_CHARS));
    let mut shown = String::new();
    if start > 0 {
        shown.push('…');
    }
    let room = VALUE_CHARS - usize::from(start > 0);
    let kept: String = text.chars().skip(start).take(room).collect();
    shown.push_str(&kept);
    if start + room < length {
        shown.pop();
        shown.push('…');
    }
    shown
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Environment => "environment",
        Kind::Lifecycle => "lifecycle",
        Kind::Service => "service",
        Kind::Freeze => "freeze",
        Kind::PlanTemplate => "plan template",
        Kind::Trust => "trust",
        Kind::Oidc => "oidc",
        Kind::Webhook => "webhook",
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
            values: Vec::new(),
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

    #[test]
    fn value_lines_say_from_what_to_what() {
        use serde_json::json;
        let line = |field: &str, from, to| {
            value_line(&ValueChange {
                field: field.into(),
                from,
                to,
            })
        };
        assert_eq!(
            line("protected", Some(json!(false)), Some(json!(true))),
            "protected: false → true"
        );
        assert_eq!(
            line("policy.approvals", Some(json!(1)), Some(json!(2))),
            "policy.approvals: 1 → 2"
        );
        assert_eq!(
            line("description", Some(json!("")), Some(json!("live"))),
            "description: \"\" → \"live\""
        );
        assert_eq!(
            line("policy.evidence", None, Some(json!(["unit", "e2e"]))),
            "policy.evidence: (none) → [\"unit\",\"e2e\"]"
        );
        let long = line("notes_template", None, Some(json!("x".repeat(100))));
        assert!(long.ends_with('…'), "{long}");
        assert_eq!(
            long.chars().count(),
            "notes_template: (none) → ".chars().count() + VALUE_CHARS
        );
        // Two long values are cut where they differ.
        let before = json!(format!("{}dev{}", "a".repeat(80), "z".repeat(80)));
        let after = json!(format!("{}prod{}", "a".repeat(80), "z".repeat(80)));
        let cut = line("notes_template", Some(before), Some(after));
        let (from, to) = cut
            .trim_start_matches("notes_template: ")
            .split_once(" → ")
            .unwrap();
        assert!(from.starts_with('…') && from.ends_with('…'), "{cut}");
        assert!(from.contains("adev") && to.contains("aprod"), "{cut}");
        assert_eq!(from.chars().count(), VALUE_CHARS, "{cut}");
    }
}
