//! `ferry evidence add|list`: proof that a release was tested in an
//! environment, which policies require by name.
//!
//! JUnit XML is parsed here, before anything is sent: a report that cannot
//! be read is an error naming the file and what is wrong in it, and nothing
//! is recorded. The server receives the parsed totals and failing cases,
//! never the XML.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow};
use clap::{ArgGroup, Args, Subcommand};
use ferry_api::{AddEvidence, Evidence, TestReport};
use ferry_core::Name;
use ferry_core::ReleaseRef;
use ferry_core::junit::parse_junit;

use crate::cli::{ClientArgs, OutputFormat};
use crate::output::{self, BAD, GOOD};
use crate::profile;

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

/// The most failing cases printed after recording a report.
const SHOWN_FAILED_CASES: usize = 10;

/// Runs one evidence command.
pub async fn run(args: EvidenceArgs) -> Result<ExitCode> {
    let format = args.client.output;
    match args.command {
        EvidenceCommand::Add(add) => {
            // Read the reports before connecting: a bad file needs no server.
            let body = request(&add)?;
            let client = profile::resolve(&args.client)?.client()?;
            let release = &add.release;
            let evidence = client
                .add_evidence(
                    release.service.as_str(),
                    &release.version.to_string(),
                    &body,
                )
                .await
                .with_context(|| {
                    format!(
                        "cannot record evidence {} for {release} in {}",
                        body.name, add.env
                    )
                })?;
            match format {
                OutputFormat::Json => output::json(&evidence)?,
                OutputFormat::Table => print_recorded(&evidence, release, add.env.as_str())?,
            }
        }
        EvidenceCommand::List { release, env } => {
            let client = profile::resolve(&args.client)?.client()?;
            let page = client
                .evidence(
                    release.service.as_str(),
                    &release.version.to_string(),
                    env.as_str(),
                )
                .await
                .with_context(|| format!("cannot list the evidence of {release} in {env}"))?;
            match format {
                OutputFormat::Json => output::json(&page)?,
                OutputFormat::Table => print_list(&page.items, &release, env.as_str())?,
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The request body: the JUnit files parsed and merged, or the named check.
fn request(args: &EvidenceAddArgs) -> Result<AddEvidence> {
    let environment = args.env.clone();
    if let Some((name, passed)) = &args.check {
        return Ok(AddEvidence {
            environment,
            name: name.clone(),
            report: None,
            passed: Some(*passed),
            url: args.url.clone(),
        });
    }
    let report = read_reports(&args.junit)?;
    let name = match &args.suite {
        Some(suite) => suite.clone(),
        None => suite_name(&args.junit[0])?,
    };
    Ok(AddEvidence {
        environment,
        name,
        report: Some(report),
        passed: None,
        url: args.url.clone(),
    })
}

/// Parses every file and merges them into one report.
fn read_reports(paths: &[PathBuf]) -> Result<TestReport> {
    let mut merged: Option<TestReport> = None;
    for path in paths {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let report = parse_junit(&text).map_err(|error| anyhow!("{}: {error}", path.display()))?;
        match &mut merged {
            Some(merged) => merged.merge(report),
            None => merged = Some(report),
        }
    }
    merged.context("no JUnit report given (--junit FILE)")
}

/// `unit` for `reports/unit.xml`.
fn suite_name(path: &Path) -> Result<String> {
    path.file_stem()
        .and_then(|stem| stem.to_str())
        .filter(|stem| !stem.is_empty())
        .map(str::to_owned)
        .with_context(|| {
            format!(
                "cannot name the evidence after {}: give its name with --suite NAME",
                path.display()
            )
        })
}

fn print_recorded(evidence: &Evidence, release: &ReleaseRef, environment: &str) -> Result<()> {
    let mut out = output::stdout();
    let result = if evidence.passed {
        format!("{GOOD}passed{GOOD:#}")
    } else {
        format!("{BAD}failed{BAD:#}")
    };
    write!(
        out,
        "Recorded evidence {} for {release} in {environment}: ",
        evidence.name
    )?;
    match &evidence.report {
        Some(report) => {
            writeln!(out, "{} ({result}).", evidence.summary)?;
            for case in report.failed_cases.iter().take(SHOWN_FAILED_CASES) {
                let mut name = case.name.clone();
                if let Some(class) = case.class.as_deref().filter(|c| !c.is_empty()) {
                    name = format!("{class}::{name}");
                }
                let message = case
                    .message
                    .as_deref()
                    .and_then(|m| m.lines().map(str::trim).find(|l| !l.is_empty()))
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default();
                writeln!(out, "  {BAD}✗{BAD:#} {name} ({}){message}", case.kind)?;
            }
            let failing = report.failures.saturating_add(report.errors) as usize;
            let shown = report.failed_cases.len().min(SHOWN_FAILED_CASES);
            if failing > shown {
                writeln!(out, "  … and {} more failing", failing - shown)?;
            }
        }
        None => writeln!(out, "{result}.")?,
    }
    out.flush()?;
    Ok(())
}

fn print_list(items: &[Evidence], release: &ReleaseRef, environment: &str) -> std::io::Result<()> {
    if items.is_empty() {
        return writeln!(
            output::stdout(),
            "No evidence for {release} in {environment} yet: record some with \
             `ferry evidence add {release} --env {environment} --junit FILE`."
        );
    }
    let rows = items.iter().map(|e| {
        vec![
            e.name.clone(),
            if e.passed { "passed" } else { "failed" }.to_owned(),
            e.summary.clone(),
            e.created_by.clone(),
            output::time(&e.created_at),
        ]
    });
    output::table(&["NAME", "RESULT", "SUMMARY", "BY", "AT"], rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_is_named_after_the_first_file() {
        assert_eq!(suite_name(Path::new("reports/unit.xml")).unwrap(), "unit");
        assert_eq!(suite_name(Path::new("e2e")).unwrap(), "e2e");
    }
}
