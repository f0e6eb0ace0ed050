//! `ferry agent`: runs an agent (long-polls the server for jobs and runs
//! them here); `ferry agent token create|rotate`, which make its token;
//! `ferry agent list|revoke`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use etcetera::BaseStrategy;
use ferry_agent::pull::{self, AgentSettings};
use ferry_api::{Agent, CreateAgentToken, CreatedAgentToken};
use ferry_core::Name;

use crate::cli::{ClientArgs, OutputFormat};
use crate::{output, profile};

/// `ferry agent`: run an agent, or manage agents and their tokens.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct AgentArgs {
    /// Manage agents and their tokens instead of running an agent.
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
    /// Create and rotate agent tokens (administrators only).
    Token(AgentTokenArgs),
    /// List the agents, revoked ones included.
    List(AgentListArgs),
    /// Revoke an agent: its token is refused at once, and a job it holds is
    /// treated as lost (administrators only).
    Revoke(AgentRevokeArgs),
}

/// `ferry agent list`.
#[derive(Debug, Args)]
pub struct AgentListArgs {
    /// Only the agents of this environment.
    #[arg(long = "env", value_name = "ENV")]
    pub environment: Option<Name>,
    /// Server, token, output.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// `ferry agent revoke`.
#[derive(Debug, Args)]
pub struct AgentRevokeArgs {
    /// The agent's name.
    #[arg(value_name = "NAME")]
    pub name: Name,
    /// The agent's environment (needed when agents of several environments
    /// have this name).
    #[arg(long = "env", value_name = "ENV")]
    pub environment: Option<Name>,
    /// Server, token, output.
    #[command(flatten)]
    pub client: ClientArgs,
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
        /// The agent's name, unique in its environment (such as its host
        /// name) [default: one made up by the server, agent-<8 hex digits>]
        #[arg(long, value_name = "NAME")]
        name: Option<Name>,
        /// A tag, matched by services' target selectors (repeatable).
        #[arg(long = "tag", value_name = "KEY=VALUE", value_parser = parse_tag)]
        tags: Vec<(String, String)>,
    },
    /// Give an agent a new token, printed this once: the old one is refused
    /// at once; the agent keeps its name, tags and jobs.
    Rotate {
        /// The agent's name.
        #[arg(value_name = "NAME")]
        name: Name,
        /// The agent's environment (needed when agents of several
        /// environments have this name).
        #[arg(long = "env", value_name = "ENV")]
        environment: Option<Name>,
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
            let format = token.client.output;
            match token.command {
                AgentTokenCommand::Create {
                    environment,
                    name,
                    tags,
                } => {
                    let created = client
                        .create_agent_token(&CreateAgentToken {
                            environment: environment.clone(),
                            name,
                            tags: tags.into_iter().collect(),
                        })
                        .await
                        .context("cannot create the agent token")?;
                    match format {
                        OutputFormat::Json => output::json(&created)?,
                        OutputFormat::Table => print_secret(&created, false)?,
                    }
                }
                AgentTokenCommand::Rotate { name, environment } => {
                    let agent = find_agent(&client, &name, environment.as_ref()).await?;
                    let rotated = client.rotate_agent_token(agent.id).await.with_context(|| {
                        format!(
                            "cannot give agent {} in {} a new token",
                            agent.name, agent.environment
                        )
                    })?;
                    match format {
                        OutputFormat::Json => output::json(&rotated)?,
                        OutputFormat::Table => print_secret(&rotated, true)?,
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(AgentCommand::List(list)) => {
            let client = profile::resolve(&list.client)?.client()?;
            let environment = list.environment.as_ref().map(Name::as_str);
            let agents = client
                .agents(environment)
                .await
                .context("cannot list the agents")?;
            match list.client.output {
                OutputFormat::Json => output::json(&agents)?,
                OutputFormat::Table => print_agents(&agents.items)?,
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(AgentCommand::Revoke(revoke)) => {
            let client = profile::resolve(&revoke.client)?.client()?;
            let agent = find_agent(&client, &revoke.name, revoke.environment.as_ref()).await?;
            let revoked = client.revoke_agent(agent.id).await.with_context(|| {
                format!(
                    "cannot revoke agent {} in {}",
                    agent.name, agent.environment
                )
            })?;
            match revoke.client.output {
                OutputFormat::Json => output::json(&revoked)?,
                OutputFormat::Table => match &agent.revoked_at {
                    Some(at) => writeln!(
                        output::stdout(),
                        "Agent {} in {} was revoked already, at {}.",
                        revoked.name,
                        revoked.environment,
                        output::time(at)
                    )?,
                    None => writeln!(
                        output::stdout(),
                        "Revoked agent {} in {}: its token is refused from now on.",
                        revoked.name,
                        revoked.environment
                    )?,
                },
            }
            Ok(ExitCode::SUCCESS)
        }
        None => run_agent(args).await,
    }
}

/// The agent named `name` (in `environment`, when given): a name that
/// agents of several environments have needs the environment.
async fn find_agent(
    client: &ferry_client::Client,
    name: &Name,
    environment: Option<&Name>,
) -> Result<Agent> {
    let agents = client
        .agents(environment.map(Name::as_str))
        .await
        .context("cannot list the agents")?;
    let mut named: Vec<Agent> = agents
        .items
        .into_iter()
        .filter(|agent| agent.name == name.as_str())
        .collect();
    match named.len() {
        0 => match environment {
            Some(environment) => {
                bail!("there is no agent {name} in {environment}; see `ferry agent list`")
            }
            None => bail!("there is no agent {name}; see `ferry agent list`"),
        },
        1 => Ok(named.remove(0)),
        _ => {
            let environments: Vec<&str> = named.iter().map(|a| a.environment.as_str()).collect();
            bail!(
                "agents of several environments are named {name}: {}; name one with --env ENV",
                environments.join(", ")
            )
        }
    }
}

async fn run_agent(args: AgentArgs) -> Result<ExitCode> {
    let Some(server) = args.server else {
        bail!("the agent needs its server: pass --server URL or set FERRY_SERVER");
    };
    let Some(token) = args.token else {
        bail!(
            "the agent needs its token: pass --token or set FERRY_AGENT_TOKEN (create one with `ferry agent token create --env ENV [--name NAME]`)"
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

/// Says what was done (a new agent, or a new token for one), then the
/// secret alone on the last line.
fn print_secret(created: &CreatedAgentToken, rotated: bool) -> std::io::Result<()> {
    let agent = &created.agent;
    let mut out = output::stdout();
    if rotated {
        writeln!(
            out,
            "Replaced the token of agent {:?} (id {}) in {}: the old one is refused from now on. \
             The new one is shown this once; run the agent with it:",
            agent.name, agent.id, agent.environment
        )?;
    } else {
        writeln!(
            out,
            "Created agent {:?} (id {}) in {}. Its token is shown this once; run the agent with it:",
            agent.name, agent.id, agent.environment
        )?;
    }
    writeln!(out, "{}", created.secret)?;
    out.flush()
}

fn print_agents(agents: &[Agent]) -> std::io::Result<()> {
    if agents.is_empty() {
        return writeln!(output::stdout(), "No agents.");
    }
    let never = || "-".to_owned();
    let rows = agents.iter().map(|agent| {
        let tags: Vec<String> = agent.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
        vec![
            agent.name.clone(),
            agent.environment.clone(),
            if tags.is_empty() {
                never()
            } else {
                tags.join(",")
            },
            agent.last_seen_at.as_ref().map_or_else(never, output::time),
            agent.revoked_at.as_ref().map_or_else(never, output::time),
        ]
    });
    output::table(
        &["NAME", "ENVIRONMENT", "TAGS", "LAST SEEN", "REVOKED"],
        rows,
    )
}
