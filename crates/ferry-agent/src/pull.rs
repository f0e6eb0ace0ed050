//! The agent's main loop: say hello, long-poll the server for the next job,
//! run it (artifacts checked by sha256 first, then the steps in order, then
//! the health check), heartbeat while it runs, and report how it ended.
//!
//! Rules it keeps:
//! - nothing runs before every artifact is downloaded and has the digest the
//!   release recorded; a mismatch fails the job;
//! - the first failing step ends the job; a lease the server says is gone
//!   stops it at once (another attempt may hold it now) and is not reported;
//! - a report is retried with backoff: the server takes the same report
//!   twice as one;
//! - a server that is away is waited for, with backoff from 1 to 30 seconds;
//! - SIGINT or SIGTERM stops the agent after the step it is running.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferry_api::{AgentHello, AgentJob, FinishJob, HealthReport, StepReport};
use ferry_client::{Client, Error as ClientError};
use ferry_core::process::DeployProcess;
use sha2::{Digest as _, Sha256};
use tokio::io::AsyncWriteExt;
use tokio::sync::{mpsc, watch};

use crate::executor::{LogLine, Outcome, StepRun, Stream, run_step};
use crate::health::{CheckContext, run_check};
use crate::mask::Masker;
use crate::ship::{self, LogSink, Shipper};

/// How many log lines a report carries.
const LOG_TAIL_LINES: usize = 200;
/// The longest pause between two tries to reach the server.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How long one long poll waits for a job.
const POLL_SECONDS: u64 = 30;

/// What `ferry agent` was told.
#[derive(Debug, Clone)]
pub struct AgentSettings {
    /// The environment it expects its token to be for.
    pub environment: String,
    /// The name it expects its token to be for, when given.
    pub name: Option<String>,
    /// Its tags, sent with its hello.
    pub tags: BTreeMap<String, String>,
    /// Where releases are unpacked: `<work_dir>/<service>/<version>`.
    pub work_dir: PathBuf,
    /// How often a running job is heartbeated.
    pub heartbeat: Duration,
    /// Variables every step and health check command of this agent gets,
    /// beside its own environment (`FERRY_EXE`, say). The job's variables
    /// and the `FERRY_*` variables of the job win over them.
    pub env: BTreeMap<String, String>,
}

/// Why the agent stopped other than by a signal.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The server refused the agent (a revoked or unknown token, say).
    #[error("the server refused the agent: {0}")]
    Refused(ClientError),
    /// The token is for another environment or name than the one given.
    #[error("{0}")]
    Mismatch(String),
}

/// A flag set when SIGINT or SIGTERM arrives.
pub fn stop_on_signals() -> std::io::Result<watch::Receiver<bool>> {
    use tokio::signal::unix::{SignalKind, signal};
    let (sender, receiver) = watch::channel(false);
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    tokio::spawn(async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
        say("stopping: the current step, if any, is finished first");
        let _ = sender.send(true);
    });
    Ok(receiver)
}

fn say(message: &str) {
    eprintln!(
        "{} ferry agent: {message}",
        chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ")
    );
}

/// Whether the error means the server is away (or overloaded) rather than
/// that it refused the request.
pub fn transient(error: &ClientError) -> bool {
    match error {
        ClientError::Unreachable { .. } | ClientError::Transport { .. } => true,
        ClientError::Api(problem) => problem.status >= 500 || problem.status == 408,
        ClientError::UnexpectedStatus { status, .. } => *status >= 500 || *status == 408,
        _ => false,
    }
}

/// The pause after `backoff`: twice as long, at most [`MAX_BACKOFF`].
pub fn next_backoff(backoff: Duration) -> Duration {
    (backoff * 2).min(MAX_BACKOFF)
}

/// Sleeps `duration` unless `stop` is set first; answers whether it was.
pub async fn pause(duration: Duration, stop: &mut watch::Receiver<bool>) -> bool {
    if *stop.borrow() {
        return true;
    }
    tokio::select! {
        _ = tokio::time::sleep(duration) => *stop.borrow(),
        _ = stop.changed() => true,
    }
}

/// Runs the agent until `stop` is set, or until the server refuses it.
pub async fn run(
    client: Client,
    settings: AgentSettings,
    mut stop: watch::Receiver<bool>,
) -> Result<(), AgentError> {
    let http = reqwest::Client::new();
    let mut backoff = Duration::from_secs(1);
    let mut target: Option<String> = None;
    loop {
        if *stop.borrow() {
            return Ok(());
        }
        if target.is_none() {
            let hello = AgentHello {
                tags: Some(settings.tags.clone()),
            };
            match client.agent_hello(&hello).await {
                Ok(agent) => {
                    if agent.environment != settings.environment {
                        return Err(AgentError::Mismatch(format!(
                            "this token is for an agent of environment {:?}, not {:?}",
                            agent.environment, settings.environment
                        )));
                    }
                    if let Some(name) = &settings.name
                        && name != &agent.name
                    {
                        return Err(AgentError::Mismatch(format!(
                            "this token is for agent {:?}, not {name:?}",
                            agent.name
                        )));
                    }
                    say(&format!(
                        "hello from agent {:?} of environment {:?} to {}; waiting for jobs",
                        agent.name,
                        agent.environment,
                        client.server()
                    ));
                    target = Some(agent.name);
                    backoff = Duration::from_secs(1);
                }
                Err(error) if transient(&error) => {
                    say(&format!("{error}; trying again in {}s", backoff.as_secs()));
                    if pause(backoff, &mut stop).await {
                        return Ok(());
                    }
                    backoff = next_backoff(backoff);
                    continue;
                }
                Err(error) => return Err(AgentError::Refused(error)),
            }
        }
        let next = tokio::select! {
            next = client.agent_next_job(POLL_SECONDS) => next,
            _ = stop.changed() => return Ok(()),
        };
        match next {
            Ok(None) => backoff = Duration::from_secs(1),
            Ok(Some(job)) => {
                backoff = Duration::from_secs(1);
                let name = target.clone().unwrap_or_default();
                run_job(&client, &http, &settings, &name, job, &mut stop).await;
            }
            Err(error) if transient(&error) => {
                say(&format!("{error}; trying again in {}s", backoff.as_secs()));
                // Say hello again once the server is back.
                target = None;
                if pause(backoff, &mut stop).await {
                    return Ok(());
                }
                backoff = next_backoff(backoff);
            }
            Err(error) => return Err(AgentError::Refused(error)),
        }
    }
}

/// Tells the server the job starts, trying again while it is away (for up
/// to half the lease). `false`: the job must not run.
async fn confirm_start(client: &Client, job: &AgentJob, stop: &watch::Receiver<bool>) -> bool {
    let give_up = tokio::time::Instant::now() + Duration::from_secs(job.lease_seconds / 2);
    let mut backoff = Duration::from_millis(250);
    loop {
        match client.agent_start(job.job_id, job.attempt).await {
            Ok(true) => return true,
            Ok(false) => {
                say(&format!(
                    "job {}: the server gave it to another attempt; not running it",
                    job.job_id
                ));
                return false;
            }
            Err(error) if transient(&error) && tokio::time::Instant::now() + backoff < give_up => {
                if *stop.borrow() {
                    return false;
                }
                tokio::time::sleep(backoff).await;
                backoff = next_backoff(backoff);
            }
            Err(error) => {
                say(&format!(
                    "job {}: cannot tell the server it starts ({error}); not running it",
                    job.job_id
                ));
                return false;
            }
        }
    }
}

/// `FERRY_ARTIFACT_<NAME>`: upper-cased, non-alphanumerics as `_`.
pub fn artifact_variable(name: &str) -> String {
    let suffix: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("FERRY_ARTIFACT_{suffix}")
}

/// A file name for an artifact: never a path out of the release directory.
fn file_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| if c == '/' || c == '\\' { '_' } else { c })
        .collect();
    if cleaned.is_empty() || cleaned.starts_with('.') {
        format!("_{cleaned}")
    } else {
        cleaned
    }
}

/// The last lines of a job's log, shared by the line printers.
#[derive(Debug, Clone, Default)]
struct Tail(Arc<Mutex<VecDeque<String>>>);

impl Tail {
    fn push(&self, line: String) {
        if let Ok(mut lines) = self.0.lock() {
            if lines.len() == LOG_TAIL_LINES {
                lines.pop_front();
            }
            lines.push_back(line);
        }
    }

    fn lines(&self) -> Vec<String> {
        self.0
            .lock()
            .map(|lines| lines.iter().cloned().collect())
            .unwrap_or_default()
    }
}

/// Downloads the artifact into `dir`, checking its sha256; answers its path.
async fn download(
    client: &Client,
    job: &AgentJob,
    artifact: &ferry_api::AgentArtifact,
    dir: &Path,
) -> Result<PathBuf, String> {
    let mut download = client
        .agent_download_artifact(job.job_id, &artifact.name)
        .await
        .map_err(|e| format!("cannot download artifact {:?}: {e}", artifact.name))?;
    if let Some(header) = download.header("ferry-digest")
        && header != artifact.digest
    {
        return Err(format!(
            "artifact {:?}: the server sent {header}, the release recorded {}; refusing it",
            artifact.name, artifact.digest
        ));
    }
    let path = dir.join(file_name(&artifact.name));
    let partial = dir.join(format!(".{}.partial", file_name(&artifact.name)));
    let mut file = tokio::fs::File::create(&partial)
        .await
        .map_err(|e| format!("cannot write {}: {e}", partial.display()))?;
    let mut hasher = Sha256::new();
    while let Some(chunk) = download
        .chunk()
        .await
        .map_err(|e| format!("cannot download artifact {:?}: {e}", artifact.name))?
    {
        hasher.update(chunk.as_ref());
        file.write_all(chunk.as_ref())
            .await
            .map_err(|e| format!("cannot write {}: {e}", partial.display()))?;
    }
    file.flush()
        .await
        .map_err(|e| format!("cannot write {}: {e}", partial.display()))?;
    drop(file);
    let got = format!("sha256:{}", hex::encode(hasher.finalize()));
    if got != artifact.digest {
        let _ = tokio::fs::remove_file(&partial).await;
        return Err(format!(
            "artifact {:?} has digest {got}, not {} as recorded: refusing to deploy it",
            artifact.name, artifact.digest
        ));
    }
    tokio::fs::rename(&partial, &path)
        .await
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}

/// How a job ended on this agent.
enum Ended {
    /// Report this.
    Report(FinishJob),
    /// The lease is gone: report nothing.
    LeaseLost,
}

async fn run_job(
    client: &Client,
    http: &reqwest::Client,
    settings: &AgentSettings,
    target: &str,
    job: AgentJob,
    stop: &mut watch::Receiver<bool>,
) {
    say(&format!(
        "job {} (attempt {}): {} {}@{} in {}",
        job.job_id, job.attempt, job.kind, job.service, job.version, job.environment
    ));
    // Nothing runs before the server knows the job started: a job whose
    // claim was answered into the void is then given out again, not failed.
    if !confirm_start(client, &job, stop).await {
        return;
    }
    // Heartbeats run beside the job; a lease the server says is gone ends it.
    let (lost_sender, mut lost) = watch::channel(false);
    let heartbeat = {
        let client = client.clone();
        // Four heartbeats fit in a lease, so one lost request loses nothing.
        let quarter = Duration::from_secs(job.lease_seconds.max(4) / 4);
        let (id, attempt, every) = (job.job_id, job.attempt, settings.heartbeat.min(quarter));
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                match client.agent_heartbeat(id, attempt).await {
                    Ok(true) => {}
                    Ok(false) => {
                        say(&format!(
                            "job {id}: the server says the lease is gone; stopping it"
                        ));
                        let _ = lost_sender.send(true);
                        return;
                    }
                    Err(error) => say(&format!("job {id}: heartbeat failed: {error}")),
                }
            }
        })
    };
    let shipper = Shipper::start(client.clone(), job.job_id, job.attempt);
    let log = shipper.sink();
    let runner = Runner {
        client,
        http,
        settings,
        target,
    };
    let ended = execute(&runner, &job, stop, &mut lost, &log).await;
    drop(log);
    // The log is complete on the server when the job is seen ended: the
    // lines not sent yet go with the report.
    let mut report = match ended {
        Ended::Report(report) => report,
        Ended::LeaseLost => {
            shipper.finish_and_send().await;
            heartbeat.abort();
            return;
        }
    };
    report.lines = shipper.finish().await;
    heartbeat.abort();
    let verdict = if report.succeeded {
        "succeeded"
    } else {
        "failed"
    };
    let mut backoff = Duration::from_secs(1);
    for attempt in 1.. {
        match client.agent_finish(job.job_id, &report).await {
            Ok(ack) => {
                say(&format!(
                    "job {} {verdict}; reported ({})",
                    job.job_id, ack.outcome
                ));
                return;
            }
            Err(ferry_client::Error::Api(problem))
                if !report.lines.is_empty() && matches!(problem.status, 400 | 422) =>
            {
                // A server older than this agent takes no log lines in a
                // report: they are sent on their own, before it.
                let lines = std::mem::take(&mut report.lines);
                say(&format!(
                    "job {}: the server refused log lines with the report ({}); sending them apart",
                    job.job_id, problem.detail
                ));
                ship::send(client, job.job_id, job.attempt, lines).await;
            }
            Err(error) if transient(&error) && attempt < 20 => {
                say(&format!(
                    "job {}: cannot report yet ({error}); trying again in {}s",
                    job.job_id,
                    backoff.as_secs()
                ));
                // A stopping agent still reports, but does not wait long.
                if *stop.borrow() && attempt >= 3 {
                    return;
                }
                tokio::time::sleep(backoff).await;
                backoff = next_backoff(backoff);
            }
            Err(error) => {
                say(&format!("job {}: cannot report: {error}", job.job_id));
                return;
            }
        }
    }
}

/// Who runs a job, and with what.
struct Runner<'a> {
    client: &'a Client,
    http: &'a reqwest::Client,
    settings: &'a AgentSettings,
    /// The agent's name.
    target: &'a str,
}

async fn execute(
    runner: &Runner<'_>,
    job: &AgentJob,
    stop: &mut watch::Receiver<bool>,
    lost: &mut watch::Receiver<bool>,
    log: &LogSink,
) -> Ended {
    let Runner {
        client,
        http,
        settings,
        target,
    } = *runner;
    let tail = Tail::default();
    let fail = |message: String, steps: Vec<StepReport>, tail: &Tail| {
        say(&format!("job {}: {message}", job.job_id));
        log.note(None, message.clone());
        tail.push(message);
        Ended::Report(FinishJob {
            attempt: job.attempt,
            succeeded: false,
            steps,
            health: None,
            log_tail: tail.lines(),
            lines: Vec::new(),
        })
    };
    let dir = settings
        .work_dir
        .join(file_name(&job.service))
        .join(file_name(&job.version));
    if let Err(error) = tokio::fs::create_dir_all(&dir).await {
        return fail(
            format!("cannot create {}: {error}", dir.display()),
            Vec::new(),
            &tail,
        );
    }
    let mut env = settings.env.clone();
    env.extend(job.variables.clone());
    for (key, value) in [
        ("FERRY_SERVICE", job.service.clone()),
        ("FERRY_VERSION", job.version.clone()),
        ("FERRY_ENVIRONMENT", job.environment.clone()),
        (
            "FERRY_PREVIOUS_VERSION",
            job.previous_version.clone().unwrap_or_default(),
        ),
        ("FERRY_DEPLOYMENT_ID", job.deployment_id.to_string()),
        ("FERRY_TARGET", target.to_owned()),
        ("FERRY_WORK_DIR", settings.work_dir.display().to_string()),
    ] {
        env.insert(key.to_owned(), value);
    }
    for artifact in &job.artifacts {
        match download(client, job, artifact, &dir).await {
            Ok(path) => {
                env.insert(
                    artifact_variable(&artifact.name),
                    path.display().to_string(),
                );
            }
            Err(message) => return fail(message, Vec::new(), &tail),
        }
    }
    let masker = Masker::new(
        job.secrets
            .iter()
            .filter_map(|name| job.variables.get(name).cloned()),
    );
    let mut steps = Vec::new();
    for step in &job.steps {
        if *stop.borrow() {
            return fail(
                format!("the agent was stopped before step {:?}", step.name),
                steps,
                &tail,
            );
        }
        say(&format!("job {}: step {:?}", job.job_id, step.name));
        log.note(Some(&step.name), format!("step {:?} started", step.name));
        let (lines, mut received) = mpsc::unbounded_channel::<LogLine>();
        let printer = {
            let tail = tail.clone();
            let prefix = format!("[{}] ", step.name);
            let log = log.clone();
            let name = step.name.clone();
            tokio::spawn(async move {
                while let Some(line) = received.recv().await {
                    let stream = match line.stream {
                        Stream::Stdout => "out",
                        Stream::Stderr => "err",
                    };
                    eprintln!(
                        "{} {stream} {prefix}{}",
                        line.at.format("%Y-%m-%dT%H:%M:%S%.3fZ"),
                        line.text
                    );
                    tail.push(format!("{prefix}{}", line.text));
                    log.send(line.at, stream, Some(&name), line.text);
                }
            })
        };
        let run = StepRun {
            run: &step.run,
            work_dir: &dir,
            env: &env,
            timeout: step.timeout_seconds.map(Duration::from_secs),
        };
        let result = tokio::select! {
            result = run_step(&run, &masker, lines) => result,
            _ = lost.wait_for(|lost| *lost) => {
                printer.abort();
                return Ended::LeaseLost;
            }
        };
        let _ = printer.await;
        let report = match &result {
            Ok(result) => StepReport {
                name: step.name.clone(),
                exit_code: match result.outcome {
                    Outcome::Exited(code) => code,
                    Outcome::TimedOut => None,
                },
                timed_out: result.outcome == Outcome::TimedOut,
                seconds: result.duration.as_secs_f64(),
            },
            Err(_) => StepReport {
                name: step.name.clone(),
                exit_code: None,
                timed_out: false,
                seconds: 0.0,
            },
        };
        steps.push(report);
        match result {
            Ok(result) if result.outcome.succeeded() => log.note(
                Some(&step.name),
                format!(
                    "step {:?} succeeded in {:.3}s",
                    step.name,
                    result.duration.as_secs_f64()
                ),
            ),
            Ok(result) => {
                let why = match result.outcome {
                    Outcome::TimedOut => "timed out".to_owned(),
                    Outcome::Exited(Some(code)) => format!("exited with {code}"),
                    Outcome::Exited(None) => "was killed by a signal".to_owned(),
                };
                return fail(format!("step {:?} {why}", step.name), steps, &tail);
            }
            Err(error) => return fail(format!("step {:?}: {error}", step.name), steps, &tail),
        }
    }
    let mut health = None;
    if let Some(value) = &job.health {
        let check = DeployProcess::from_value(&serde_json::json!({ "health": value }))
            .map_err(|e| format!("the health check is invalid: {e}"))
            .and_then(|p| {
                p.health
                    .ok_or_else(|| "the health check is missing".to_owned())
            });
        let check = match check {
            Ok(check) => check,
            Err(message) => return fail(message, steps, &tail),
        };
        let context = CheckContext {
            work_dir: &dir,
            env: &env,
            masker: &masker,
        };
        let verdict = tokio::select! {
            verdict = run_check(&check, http, &context) => verdict,
            _ = lost.wait_for(|lost| *lost) => return Ended::LeaseLost,
        };
        say(&format!(
            "job {}: health check {} after {} attempt(s): {}",
            job.job_id,
            if verdict.healthy { "passed" } else { "failed" },
            verdict.attempts,
            verdict.last
        ));
        tail.push(format!("health: {}", verdict.last));
        log.note(
            None,
            format!(
                "health check {} after {} attempt(s): {}",
                if verdict.healthy { "passed" } else { "failed" },
                verdict.attempts,
                verdict.last
            ),
        );
        health = Some(HealthReport {
            healthy: verdict.healthy,
            attempts: verdict.attempts,
            last: verdict.last,
        });
    }
    let succeeded = health.as_ref().is_none_or(|h| h.healthy);
    Ended::Report(FinishJob {
        attempt: job.attempt,
        succeeded,
        steps,
        health,
        log_tail: tail.lines(),
        lines: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifact_variables_are_upper_case_with_underscores() {
        assert_eq!(artifact_variable("app.tar-gz"), "FERRY_ARTIFACT_APP_TAR_GZ");
        assert_eq!(artifact_variable("bin"), "FERRY_ARTIFACT_BIN");
    }

    #[test]
    fn artifact_files_stay_in_the_release_directory() {
        assert_eq!(file_name("../etc/passwd"), "_.._etc_passwd");
        assert_eq!(file_name("app.tgz"), "app.tgz");
    }

    #[test]
    fn backoff_doubles_up_to_thirty_seconds() {
        let mut backoff = Duration::from_secs(1);
        let mut seen = Vec::new();
        for _ in 0..7 {
            seen.push(backoff.as_secs());
            backoff = next_backoff(backoff);
        }
        assert_eq!(seen, [1, 2, 4, 8, 16, 30, 30]);
    }
}
