//! `ferry serve --local-agent`: agents inside the server's process, one per
//! environment, that deploy on this machine.
//!
//! They are ordinary agents: each talks HTTP to the server it runs in, with a
//! token of its own, through the same pull loop as `ferry agent`, so what
//! they do reads the same in the API, the logs and the audit trail. Each is
//! named `local`, tagged `host=local` (a service can select it with `targets
//! = { host = "local" }`) and works in `<data-dir>/agent/<environment>`.
//!
//! Rules kept:
//! - the secret of a local agent lives only in this process: at each start
//!   the agent gets a fresh token, created with the agent or replacing the
//!   token of the `local` agent registered before; none is written to disk,
//!   and a previous run's token stops working;
//! - environments configured after the start (`ferry apply`) get their
//!   agent within [`RESCAN`];
//! - an agent that stops with an error (the server refused it) is not
//!   started again until the server restarts: restarting it would replace
//!   its token, which is how two servers would take it from each other.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use ferry_agent::pull::{self, AgentSettings};
use ferry_core::Name;
use ferry_store::Store;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// The name of every local agent, in its environment.
pub const NAME: &str = "local";
/// How often the environments are read again, for those applied later.
pub const RESCAN: Duration = Duration::from_secs(5);
/// Who the audit trail says registered a local agent.
const ACTOR: &str = "system";

/// What the local agents need to know.
#[derive(Debug, Clone)]
pub struct LocalAgents {
    /// The server's database, where their tokens are recorded.
    pub store: Store,
    /// The URL of the server they run in.
    pub server: String,
    /// The server's data directory; they work in `agent/<environment>`.
    pub data_dir: PathBuf,
    /// Only these environments; empty for every one.
    pub only: Vec<Name>,
}

/// The variables this binary's agents give every step (local or not):
/// `FERRY_EXE`, the path of this ferry binary, so that a step can run
/// `"$FERRY_EXE" ...` (the demo starts its sample service so).
pub fn step_env() -> BTreeMap<String, String> {
    std::env::current_exe()
        .ok()
        .map(|exe| ("FERRY_EXE".to_owned(), exe.display().to_string()))
        .into_iter()
        .collect()
}

/// The URL at which this process reaches a server listening on `address`:
/// a wildcard address (`0.0.0.0`, `::`) is reached on the loopback.
pub fn server_url(address: SocketAddr) -> String {
    let mut address = address;
    if address.ip().is_unspecified() {
        address.set_ip(match address {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    format!("http://{address}")
}

/// Runs the local agents until `stop` is set, then waits for them to stop
/// (each finishes the step it is running, as `ferry agent` does).
pub async fn run(config: LocalAgents, mut stop: watch::Receiver<bool>) {
    let mut agents = JoinSet::new();
    let mut started = BTreeSet::new();
    // What was said about an environment, so that a pass every few seconds
    // does not repeat it.
    let mut said: BTreeMap<String, String> = BTreeMap::new();
    let mut note = |environment: &str, message: String, warn: bool| {
        if said.get(environment) != Some(&message) {
            if warn {
                tracing::warn!(environment, "{message}");
            } else {
                tracing::info!(environment, "{message}");
            }
            said.insert(environment.to_owned(), message);
        }
    };
    loop {
        if *stop.borrow() {
            break;
        }
        match config.store.environments().await {
            Ok(environments) => {
                let names: Vec<Name> = environments.into_iter().map(|e| e.spec.name).collect();
                for wanted in &config.only {
                    if !names.contains(wanted) {
                        note(
                            wanted.as_str(),
                            format!(
                                "local agent: there is no environment {wanted} (yet); it starts once one is applied"
                            ),
                            false,
                        );
                    }
                }
                for environment in names {
                    let wanted = config.only.is_empty() || config.only.contains(&environment);
                    if !wanted || started.contains(&environment) {
                        continue;
                    }
                    match start(&config, &environment, stop.clone(), &mut agents).await {
                        Ok(()) => {
                            started.insert(environment);
                        }
                        Err(error) => note(
                            environment.as_str(),
                            format!("local agent: cannot start it: {error:#}; trying again"),
                            true,
                        ),
                    }
                }
            }
            Err(error) => tracing::warn!(%error, "local agent: cannot read the environments"),
        }
        tokio::select! {
            () = tokio::time::sleep(RESCAN) => {}
            _ = stop.changed() => break,
        }
    }
    while agents.join_next().await.is_some() {}
}

async fn start(
    config: &LocalAgents,
    environment: &Name,
    stop: watch::Receiver<bool>,
    agents: &mut JoinSet<()>,
) -> Result<()> {
    let secret = issue_token(&config.store, environment).await?;
    let client = ferry_client::Client::new(&config.server, Some(secret))?;
    let work_dir = config.data_dir.join("agent").join(environment.as_str());
    tracing::info!(
        environment = environment.as_str(),
        work_dir = %work_dir.display(),
        "local agent: starting"
    );
    let settings = AgentSettings {
        environment: environment.to_string(),
        name: Some(NAME.to_owned()),
        tags: tags(),
        work_dir,
        heartbeat: Duration::from_secs(15),
        env: step_env(),
    };
    let environment = environment.to_string();
    agents.spawn(async move {
        match pull::run(client, settings, stop).await {
            Ok(()) => tracing::info!(environment, "local agent: stopped"),
            Err(error) => tracing::error!(
                environment,
                %error,
                "local agent: stopped; it starts again with the server"
            ),
        }
    });
    Ok(())
}

fn tags() -> BTreeMap<String, String> {
    BTreeMap::from([("host".to_owned(), "local".to_owned())])
}

/// A fresh token for the `local` agent of `environment`: the agent is
/// registered with it, or, registered already, gets it in place of its old
/// one. Answers the secret.
async fn issue_token(store: &Store, environment: &Name) -> Result<String> {
    let secret = ferry_server::generate_agent_secret()?;
    let name = Name::parse(NAME).expect("\"local\" is a valid name");
    let existing = store
        .agents(Some(environment))
        .await?
        .into_iter()
        .find(|agent| agent.name == NAME);
    match existing {
        Some(agent) => {
            store
                .replace_agent_token(ACTOR, agent.id, &secret.hash)
                .await?;
        }
        // Should another server on the same database register it meanwhile,
        // this fails and the next pass replaces its token.
        None => {
            store
                .register_agent(ACTOR, environment, &name, &tags(), &secret.hash)
                .await?;
        }
    }
    Ok(secret.secret)
}
