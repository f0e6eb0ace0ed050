//! `ferry var set|list|unset`: the variables and secrets of environments,
//! which deployment steps see as environment variables.
//!
//! A secret is read from standard input with `--from-stdin`, so it never
//! lands in the shell's history or the process list; once set, it is never
//! shown again.

use std::io::{IsTerminal, Read, Write};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{ArgGroup, Args, Subcommand};
use ferry_api::{SetVariable, Variable, VariableSource};
use ferry_core::Name;

use crate::cli::{ClientArgs, OutputFormat};
use crate::{output, profile};

/// `ferry var`.
#[derive(Debug, Args)]
pub struct VarArgs {
    /// What to do with variables.
    #[command(subcommand)]
    pub command: VarCommand,
    /// Server, token, output.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// The variable commands.
#[derive(Debug, Subcommand)]
pub enum VarCommand {
    /// Set a variable of an environment; it wins over ferry.toml's of the same name.
    ///
    /// A value given on the command line stays in the shell's history and
    /// shows in the process list: give a secret on standard input instead,
    /// as in `ferry var set prod DB_PASSWORD --secret --from-stdin <
    /// password.txt` or `pass show db | ferry var set prod DB_PASSWORD
    /// --secret --from-stdin`.
    Set(VarSetArgs),
    /// List an environment's variables as its steps see them (secrets as ***).
    List {
        /// The environment.
        #[arg(value_name = "ENV")]
        environment: Name,
    },
    /// Remove a variable set with `ferry var set` (ferry.toml's value, if
    /// any, applies again).
    Unset {
        /// The environment.
        #[arg(value_name = "ENV")]
        environment: Name,
        /// The variable.
        #[arg(value_name = "NAME", value_parser = parse_variable_name)]
        name: String,
    },
}

/// `ferry var set`.
#[derive(Args)]
#[command(
    group(ArgGroup::new("given").required(true).args(["value", "from_stdin"])),
    override_usage = "ferry var set [OPTIONS] <ENV> <NAME> <VALUE|--from-stdin>"
)]
pub struct VarSetArgs {
    /// The environment.
    #[arg(value_name = "ENV")]
    pub environment: Name,
    /// The variable: letters, digits and underscores, not starting with a
    /// digit or FERRY_ (ferry's own variables).
    #[arg(value_name = "NAME", value_parser = parse_variable_name)]
    pub name: String,
    /// The value (prefer --from-stdin for a secret).
    #[arg(value_name = "VALUE")]
    pub value: Option<String>,
    /// Keep it secret: encrypted at rest, never shown again (listed as ***),
    /// masked in deployment logs.
    #[arg(long)]
    pub secret: bool,
    /// Read the value from standard input, up to its end; one final newline
    /// is dropped.
    #[arg(long)]
    pub from_stdin: bool,
}

impl std::fmt::Debug for VarSetArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VarSetArgs")
            .field("environment", &self.environment)
            .field("name", &self.name)
            .field("value", &self.value.as_ref().map(|_| "***"))
            .field("secret", &self.secret)
            .field("from_stdin", &self.from_stdin)
            .finish()
    }
}

/// Checks a variable's name before anything is sent.
fn parse_variable_name(text: &str) -> Result<String, String> {
    ferry_core::variables::check_name(text)?;
    Ok(text.to_owned())
}

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
