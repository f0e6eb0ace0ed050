//! Many simulated agents in one process, to load a ferry server with more
//! agents than fit on one machine as `ferry agent` processes (the fan-out
//! benchmark's `--simulated`).
//!
//! Each simulated agent has a token and a [`ferry_client::Client`] of its own
//! and makes the requests `ferry agent` makes, in the same order and with the
//! same bodies: a hello (no tags), long polls of 30 s, and for a job: `start`
//! (if the attempt no longer holds the job, it is neither run nor reported),
//! and the finish report, which carries the log lines `ferry agent` ships
//! for a step that prints nothing and for a passing health check (as it does
//! for any job shorter than `ferry_agent::ship::LINGER`). A server
//! that is away is waited for with backoff from 1 to 30 s, as `ferry agent`
//! does. What it does not do: it spawns no process and downloads no artifact.
//! Every step exits 0 at once (taking 0 s), with one log line besides its
//! "started" line; the health check passes at its first attempt, with one log
//! line. No heartbeat is sent: a job ends before the first is due.
//!
//! `swarm --server URL (--tokens FILE | --create N --admin-token TOKEN
//! --environment ENV) [--ready-file PATH] [--stagger SECONDS]`: the tokens
//! are in FILE, one a line, or N agents named `sim-00001`… are created in ENV
//! first. PATH is written, with the number of agents, once every agent has
//! said hello. The first hellos are spread over SECONDS (default: one per
//! 2,000 agents). It runs until SIGTERM or SIGINT, and prints a line per job
//! claimed and per job reported:
//!
//! ```text
//! 2025-01-02T03:04:05.123456Z ferry swarm: agent sim-00001: job 7 (attempt 1, deployment 3): deploy noop@1.0.0 in fleet
//! 2025-01-02T03:04:05.129871Z ferry swarm: agent sim-00001: job 7 succeeded; reported (finished)
//! ```

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ferry_agent::pull::{next_backoff, pause, stop_on_signals, transient};
use ferry_api::{AgentHello, AgentJob, AgentLogLine, CreateAgentToken, FinishJob};
use ferry_api::{HealthReport, StepReport};
use ferry_client::{Client, Error as ClientError};
use ferry_core::Name;
use nix::sys::resource::{Resource, getrlimit, setrlimit};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// How long one long poll waits for a job.
const POLL_SECONDS: u64 = 30;

const USAGE: &str = "usage: swarm --server URL (--tokens FILE | --create N --admin-token TOKEN \
                     --environment ENV) [--ready-file PATH] [--stagger SECONDS]";

/// The flags given (`--server` and so on), each with its value.
type Flags = HashMap<String, String>;

fn parse(args: impl Iterator<Item = String>) -> Option<Flags> {
    let known = "--server --tokens --create --admin-token --environment --ready-file --stagger";
    let args: Vec<String> = args.collect();
    let mut flags = Flags::new();
    for pair in args.chunks(2) {
        match pair {
            [flag, value] if known.split(' ').any(|known| known == flag) => {
                flags.insert(flag.clone(), value.clone())
            }
            _ => return None,
        };
    }
    let has = |flag: &str| flags.contains_key(flag);
    let creating = has("--create");
    let complete = has("--server")
        && has("--tokens") != creating
        && has("--admin-token") == creating
        && has("--environment") == creating;
    complete.then_some(flags)
}

fn say(message: &str) {
    let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.6fZ");
    eprintln!("{now} ferry swarm: {message}");
}

fn main() -> ExitCode {
    let Some(flags) = parse(std::env::args().skip(1)) else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    // Every agent holds a connection open: take all the open files allowed.
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE)
        && soft < hard
        && let Err(error) = setrlimit(Resource::RLIMIT_NOFILE, hard, hard)
    {
        say(&format!(
            "cannot raise the open-files limit to {hard}: {error}"
        ));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    match runtime.block_on(swarm(flags)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            say(&message);
            ExitCode::FAILURE
        }
    }
}

/// What the agents share: how many said hello, and what to do once all did.
struct Swarm {
    total: usize,
    greeted: AtomicUsize,
    began: Instant,
    ready_file: Option<PathBuf>,
}

impl Swarm {
    /// Counts an agent's first hello; the last one writes the ready file.
    fn said_hello(&self) {
        if self.greeted.fetch_add(1, Ordering::SeqCst) + 1 != self.total {
            return;
        }
        let (total, seconds) = (self.total, self.began.elapsed().as_secs_f64());
        say(&format!("all {total} agents said hello in {seconds:.1}s"));
        if let Some(path) = &self.ready_file {
            // Written aside and renamed, so it is never read half-written.
            let partial = path.with_extension("partial");
            let written = std::fs::write(&partial, format!("{total}\n"))
                .and_then(|()| std::fs::rename(&partial, path));
            if let Err(error) = written {
                say(&format!("cannot write {}: {error}", path.display()));
            }
        }
    }
}

async fn swarm(flags: Flags) -> Result<(), String> {
    let stop = stop_on_signals().map_err(|e| format!("cannot catch signals: {e}"))?;
    let flag = |name: &str| flags.get(name).cloned();
    let server = flag("--server").unwrap_or_default();
    let tokens = match (flag("--tokens"), flag("--create")) {
        (Some(path), _) => std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {path}: {e}"))?
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| line.trim().to_owned())
            .collect(),
        (None, count) => {
            let count = count.unwrap_or_default();
            let count = count
                .parse()
                .map_err(|_| format!("--create {count:?}: not a number"))?;
            let admin = Client::new(&server, flag("--admin-token")).map_err(|e| e.to_string())?;
            create_agents(admin, flag("--environment").unwrap_or_default(), count).await?
        }
    };
    let stagger = match flag("--stagger") {
        Some(seconds) => seconds
            .parse()
            .ok()
            .and_then(|seconds| Duration::try_from_secs_f64(seconds).ok())
            .ok_or_else(|| format!("--stagger {seconds:?}: not a number of seconds"))?,
        None => Duration::from_secs_f64(tokens.len() as f64 / 2000.0),
    };
    let began = Instant::now();
    let clients = tokens
        .into_iter()
        .map(|token| Client::new(&server, Some(token)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    let total = clients.len();
    if total == 0 {
        return Err("no agent tokens".to_owned());
    }
    let made = began.elapsed().as_secs_f64();
    let spread = stagger.as_secs_f64();
    say(&format!(
        "{total} simulated agents, their clients made in {made:.1}s; first hellos spread over {spread:.1}s"
    ));
    let swarm = Arc::new(Swarm {
        total,
        greeted: AtomicUsize::new(0),
        began: Instant::now(),
        ready_file: flag("--ready-file").map(PathBuf::from),
    });
    let mut agents = JoinSet::new();
    for (index, client) in clients.into_iter().enumerate() {
        let delay = stagger.mul_f64(jitter(index as u64));
        agents.spawn(agent(client, index + 1, delay, swarm.clone(), stop.clone()));
    }
    let mut stopping = stop.clone();
    loop {
        tokio::select! {
            ended = agents.join_next() => if ended.is_none() {
                return Err("every agent has stopped".to_owned());
            },
            _ = stopping.wait_for(|stop| *stop) => break,
        }
    }
    let ending = async { while agents.join_next().await.is_some() {} };
    let _ = tokio::time::timeout(Duration::from_secs(5), ending).await;
    Ok(())
}

/// Where in [0, 1) of the stagger agent `index` starts: the fractional
/// parts of multiples of the golden ratio, so any run of agents is spread
/// evenly and neighbours are far apart.
fn jitter(index: u64) -> f64 {
    (index as f64 * 0.618_033_988_749_895).fract()
}

/// Creates `count` agents named `sim-00001`… in `environment`; answers
/// their tokens.
async fn create_agents(
    admin: Client,
    environment: String,
    count: usize,
) -> Result<Vec<String>, String> {
    let environment = Name::try_from(environment).map_err(|e| e.to_string())?;
    let mut tokens = Vec::with_capacity(count);
    for number in 1..=count {
        let request = CreateAgentToken {
            environment: environment.clone(),
            name: Some(Name::try_from(format!("sim-{number:05}")).map_err(|e| e.to_string())?),
            tags: BTreeMap::new(),
        };
        let created = admin.create_agent_token(&request).await;
        let created = created.map_err(|e| format!("cannot create an agent: {e}"))?;
        tokens.push(created.secret);
    }
    Ok(tokens)
}

/// One simulated agent (number `number`): the loop of `ferry agent`, until
/// `stop` is set or the server refuses it.
async fn agent(
    client: Client,
    number: usize,
    delay: Duration,
    swarm: Arc<Swarm>,
    mut stop: watch::Receiver<bool>,
) {
    let mut backoff = Duration::from_secs(1);
    let mut name: Option<String> = None;
    let mut greeted = false;
    if pause(delay, &mut stop).await {
        return;
    }
    while !*stop.borrow() {
        let label = name.clone().unwrap_or_else(|| format!("#{number}"));
        let error = if name.is_none() {
            let hello = AgentHello {
                tags: Some(BTreeMap::new()),
            };
            match client.agent_hello(&hello).await {
                Ok(agent) => {
                    name = Some(agent.name);
                    backoff = Duration::from_secs(1);
                    if !greeted {
                        greeted = true;
                        swarm.said_hello();
                    }
                    continue;
                }
                Err(error) => error,
            }
        } else {
            let next = tokio::select! {
                next = client.agent_next_job(POLL_SECONDS) => next,
                _ = stop.wait_for(|stop| *stop) => return,
            };
            match next {
                Ok(job) => {
                    backoff = Duration::from_secs(1);
                    if let Some(job) = job {
                        run_job(&client, &label, job, &stop).await;
                    }
                    continue;
                }
                Err(error) => error,
            }
        };
        if !transient(&error) {
            say(&format!("agent {label}: the server refused it: {error}"));
            return;
        }
        let wait = backoff.as_secs();
        say(&format!("agent {label}: {error}; trying again in {wait}s"));
        // Say hello again once the server is back.
        name = None;
        if pause(backoff, &mut stop).await {
            return;
        }
        backoff = next_backoff(backoff);
    }
}

/// Tells the server the job starts, trying again while it is away (for up
/// to half the lease, unless stopping). Anything but `Ok(true)`: the job
/// must not run (`Ok(false)`: the attempt no longer holds it).
async fn confirm_start(
    client: &Client,
    job: &AgentJob,
    stop: &watch::Receiver<bool>,
) -> Result<bool, ClientError> {
    let give_up = tokio::time::Instant::now() + Duration::from_secs(job.lease_seconds / 2);
    let mut backoff = Duration::from_millis(250);
    loop {
        match client.agent_start(job.job_id, job.attempt).await {
            Err(error)
                if transient(&error)
                    && !*stop.borrow()
                    && tokio::time::Instant::now() + backoff < give_up =>
            {
                tokio::time::sleep(backoff).await;
                backoff = next_backoff(backoff);
            }
            answer => return answer,
        }
    }
}

/// A line of the agent's own, numbered `seq`.
fn own_line(seq: usize, step: Option<&str>, line: String) -> AgentLogLine {
    AgentLogLine {
        seq: i64::try_from(seq).unwrap_or(i64::MAX),
        at: chrono::Utc::now(),
        stream: "ferry".to_owned(),
        step: step.map(str::to_owned),
        line,
    }
}

/// Claims, "runs" and reports one job, with the requests `ferry agent` makes.
async fn run_job(client: &Client, name: &str, job: AgentJob, stop: &watch::Receiver<bool>) {
    let (id, attempt, deployment) = (job.job_id, job.attempt, job.deployment_id);
    let what = format!(
        "{} {}@{} in {}",
        job.kind, job.service, job.version, job.environment
    );
    say(&format!(
        "agent {name}: job {id} (attempt {attempt}, deployment {deployment}): {what}"
    ));
    let why = match confirm_start(client, &job, stop).await {
        Ok(true) => None,
        Ok(false) => Some("the server gave it to another attempt".to_owned()),
        Err(error) => Some(format!("cannot tell the server it starts ({error})")),
    };
    if let Some(why) = why {
        return say(&format!("agent {name}: job {id}: {why}; not running it"));
    }
    let mut lines = Vec::new();
    let mut steps = Vec::new();
    for step in &job.steps {
        for line in [
            format!("step {:?} started", step.name),
            format!("step {:?} succeeded in 0.000s", step.name),
        ] {
            lines.push(own_line(lines.len(), Some(&step.name), line));
        }
        steps.push(StepReport {
            name: step.name.clone(),
            exit_code: Some(0),
            timed_out: false,
            seconds: 0.0,
        });
    }
    // What a passing check says: `RUN` passed, or GET URL answered 200 OK.
    let health = job.health.as_ref().map(|check| {
        let text = |key: &str| check.get(key).and_then(|v| v.as_str()).map(str::to_owned);
        let last = match (text("command"), text("http")) {
            (Some(run), _) => format!("`{run}` passed"),
            (_, Some(url)) => format!("GET {url} answered 200 OK"),
            _ => "passed".to_owned(),
        };
        HealthReport {
            healthy: true,
            attempts: 1,
            last,
        }
    });
    let mut log_tail = Vec::new();
    if let Some(health) = &health {
        let line = format!("health check passed after 1 attempt(s): {}", health.last);
        lines.push(own_line(lines.len(), None, line));
        log_tail.push(format!("health: {}", health.last));
    }
    let report = FinishJob {
        attempt,
        succeeded: true,
        steps,
        health,
        log_tail,
        lines,
    };
    let mut backoff = Duration::from_secs(1);
    for tried in 1.. {
        let error = match client.agent_finish(id, &report).await {
            Ok(ack) => {
                let outcome = ack.outcome;
                say(&format!(
                    "agent {name}: job {id} succeeded; reported ({outcome})"
                ));
                return;
            }
            Err(error) => error,
        };
        // A stopping agent still reports, but does not wait long.
        if !transient(&error) || tried >= 20 || (*stop.borrow() && tried >= 3) {
            say(&format!("agent {name}: job {id}: cannot report: {error}"));
            return;
        }
        let wait = backoff.as_secs();
        say(&format!(
            "agent {name}: job {id}: cannot report yet ({error}); trying again in {wait}s"
        ));
        tokio::time::sleep(backoff).await;
        backoff = next_backoff(backoff);
    }
}
