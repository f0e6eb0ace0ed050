//! `ferry var set|list|unset`: the variables and secrets of environments,
//! which deployment steps see as environment variables.
//!
//! A secret is read from standard input with `--from-stdin`, so it never
//! lands in the shell's history or the process list; once set, it is never
//! shown again.

use std::io::{IsTerminal, Read, Write};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use ferry_api::{SetVariable, Variable, VariableSource};

use crate::cli::{OutputFormat, VarArgs, VarCommand, VarSetArgs};
use crate::{output, profile};

/// Runs one variable command.
pub async fn run(args: VarArgs) -> Result<ExitCode> {
    let format = args.client.output;
    match args.command {
        VarCommand::Set(set) => {
            let environment = set.environment.to_string();
            let name = set.name.clone();
            let request = SetVariable {
                secret: set.secret,
                value: value(set)?,
            };
            let client = profile::resolve(&args.client)?.client()?;
            let variable = client
                .set_variable(&environment, &name, &request)
                .await
                .with_context(|| format!("cannot set {name} of {environment}"))?;
            match format {
                OutputFormat::Json => output::json(&variable)?,
                OutputFormat::Table => {
                    let mut out = output::stdout();
                    if variable.secret {
                        write!(
                            out,
                            "Set secret {name} of {environment}: encrypted, it will not be shown again."
                        )?;
                    } else {
                        write!(out, "Set {name} of {environment}.")?;
                    }
                    if variable.overrides_config {
                        write!(out, " It replaces the value of ferry.toml.")?;
                    }
                    writeln!(out, " Deployments from now on see it.")?;
                }
            }
        }
        VarCommand::List { environment } => {
            let client = profile::resolve(&args.client)?.client()?;
            let page = client
                .variables(environment.as_str())
                .await
                .with_context(|| format!("cannot list the variables of {environment}"))?;
            match format {
                OutputFormat::Json => output::json(&page)?,
                OutputFormat::Table => print_list(environment.as_str(), &page.items)?,
            }
        }
        VarCommand::Unset { environment, name } => {
            let client = profile::resolve(&args.client)?.client()?;
            let removed = client
                .unset_variable(environment.as_str(), &name)
                .await
                .with_context(|| format!("cannot unset {name} of {environment}"))?;
            match format {
                OutputFormat::Json => output::json(&removed)?,
                OutputFormat::Table => {
                    let mut out = output::stdout();
                    write!(out, "Unset {name} of {environment}.")?;
                    if removed.overrides_config {
                        write!(out, " The value of ferry.toml applies again.")?;
                    }
                    writeln!(out)?;
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The value from the command line, or from standard input without its
/// final newline (the one `echo` and editors add).
fn value(args: VarSetArgs) -> Result<String> {
    if let Some(value) = args.value {
        return Ok(value);
    }
    let mut stdin = std::io::stdin().lock();
    if stdin.is_terminal() {
        eprintln!(
            "Type the value of {}, then Ctrl-D on a new line:",
            args.name
        );
    }
    let mut bytes = Vec::new();
    stdin
        .read_to_end(&mut bytes)
        .context("cannot read the value from standard input")?;
    let Ok(mut text) = String::from_utf8(bytes) else {
        bail!("the value on standard input is not UTF-8 text");
    };
    if text.ends_with("\r\n") {
        text.truncate(text.len() - 2);
    } else if text.ends_with('\n') {
        text.truncate(text.len() - 1);
    }
    Ok(text)
}

fn print_list(environment: &str, variables: &[Variable]) -> std::io::Result<()> {
    if variables.is_empty() {
        return writeln!(output::stdout(), "No variables in {environment}.");
    }
    let rows = variables.iter().map(|v| {
        let value = match (&v.value, v.secret) {
            (_, true) => "***".to_owned(),
            (Some(value), false) => value.clone(),
            (None, false) => String::new(),
        };
        let source = match (v.source, v.overrides_config) {
            (VariableSource::Config, _) => "ferry.toml",
            (VariableSource::Set, false) => "set",
            (VariableSource::Set, true) => "set (over ferry.toml)",
        };
        vec![
            v.name.clone(),
            value,
            if v.secret { "yes" } else { "no" }.to_owned(),
            source.to_owned(),
        ]
    });
    output::table(&["NAME", "VALUE", "SECRET", "SOURCE"], rows)
}
