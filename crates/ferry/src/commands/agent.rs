//! `ferry agent`: runs an agent (long-polls the server for jobs and runs
//! them here), and `ferry agent token create`, which makes its token.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use etcetera::BaseStrategy;
use ferry_agent::pull::{self, AgentSettings};
use ferry_api::{CreateAgentToken, CreatedAgentToken};
use ferry_core::Name;

use crate::cli::{ClientArgs, OutputFormat};
use crate::{output, profile};

/// `ferry agent`: run an agent, or manage agent tokens.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct AgentArgs {
    /// Manage agent tokens instead of running an agent.
    #[command(subcommand)]
    pub command: Option<AgentCommand>,
    /// The server's URL.
    #[arg(long, env = "FERRY_SERVER", value_name = "URL")]
    pub server: Option<String>,
    /// The agent's token (`ferry agent token create` prints it).
    #[arg(
        long,
        env = "FERRY_AGENT_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,
    /// The environment the agent deploys into (its token's).
    #[arg(long, env = "FERRY_ENVIRONMENT", value_name = "ENV")]
    pub environment: Option<Name>,
    /// The agent's name, checked against its token's [default: the token's]
    #[arg(long, value_name = "NAME")]
    pub name: Option<Name>,
    /// A tag, matched by services' target selectors (repeatable).
    #[arg(long = "tag", value_name = "KEY=VALUE", value_parser = parse_tag)]
    pub tags: Vec<(String, String)>,
    /// Where releases are unpacked, in <DIR>/<service>/<version>
    /// [default: $XDG_DATA_HOME/ferry/agent]
    #[arg(long, value_name = "DIR")]
    pub work_dir: Option<PathBuf>,
}

/// The agent commands.
#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// Create agent tokens (administrators only).
    Token(AgentTokenArgs),
}

/// `ferry agent token`.
#[derive(Debug, Args)]
pub struct AgentTokenArgs {
    /// What to do with agent tokens.
    #[command(subcommand)]
    pub command: AgentTokenCommand,
    /// Server, token, output.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// The agent token commands.
#[derive(Debug, Subcommand)]
pub enum AgentTokenCommand {
    /// Create an agent and its token; the secret is printed this once.
    Create {
        /// The environment the agent deploys into.
        #[arg(long = "env", value_name = "ENV")]
        environment: Name,
        /// The agent's name, unique in its environment (such as its host name).
        #[arg(long, value_name = "NAME")]
        name: Name,
        /// A tag, matched by services' target selectors (repeatable).
        #[arg(long = "tag", value_name = "KEY=VALUE", value_parser = parse_tag)]
        tags: Vec<(String, String)>,
    },
}

/// Reads `KEY=VALUE`.
fn parse_tag(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => {
            Ok((key.trim().to_owned(), value.trim().to_owned()))
        }
        _ => Err(format!(
            "expected KEY=VALUE, such as region=eu, not {text:?}"
        )),
    }
}

/// Runs `ferry agent` or one of its commands.
pub async fn run(args: AgentArgs) -> Result<ExitCode> {
    match args.command {
        Some(AgentCommand::Token(token)) => {
            let client = profile::resolve(&token.client)?.client()?;
            match token.command {
                AgentTokenCommand::Create {
                    environment,
                    name,
                    tags,
                } => {
                    let created = client
                        .create_agent_token(&CreateAgentToken {
                            environment: environment.to_string(),
                            name: Some(name.to_string()),
                            tags: tags.into_iter().collect(),
                        })
                        .await
                        .context("cannot create the agent token")?;
                    match token.client.output {
                        OutputFormat::Json => output::json(&created)?,
                        OutputFormat::Table => print_secret(&created)?,
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        None => run_agent(args).await,
    }
}

async fn run_agent(args: AgentArgs) -> Result<ExitCode> {
    let Some(server) = args.server else {
        bail!("the agent needs its server: pass --server URL or set FERRY_SERVER");
    };
    let Some(token) = args.token else {
        bail!(
            "the agent needs its token: pass --token or set FERRY_AGENT_TOKEN (create one with `ferry agent token create --env ENV --name NAME`)"
        );
    };
    let Some(environment) = args.environment else {
        bail!("the agent needs its environment: pass --environment ENV or set FERRY_ENVIRONMENT");
    };
    let work_dir = match args.work_dir {
        Some(dir) => dir,
        None => default_work_dir()?,
    };
    let client = ferry_client::Client::new(&server, Some(token))?;
    let settings = AgentSettings {
        environment: environment.to_string(),
        name: args.name.map(|n| n.to_string()),
        tags: args.tags.into_iter().collect(),
        work_dir,
        heartbeat: Duration::from_secs(15),
        env: crate::local_agent::step_env(),
    };
    let stop = pull::stop_on_signals().context("cannot listen for SIGINT and SIGTERM")?;
    pull::run(client, settings, stop).await?;
    Ok(ExitCode::SUCCESS)
}

fn default_work_dir() -> Result<PathBuf> {
    let base = etcetera::choose_base_strategy()
        .context("cannot find the data directory; pass --work-dir DIR")?;
    Ok(base.data_dir().join("ferry").join("agent"))
}

/// Says what was created, then the secret alone on the last line.
fn print_secret(created: &CreatedAgentToken) -> std::io::Result<()> {
    let agent = &created.agent;
    let mut out = output::stdout();
    writeln!(
        out,
        "Created agent {:?} (id {}) in {}. Its token is shown this once; run the agent with it:",
        agent.name, agent.id, agent.environment
    )?;
    writeln!(out, "{}", created.secret)?;
    out.flush()
}
