//! Running one deployment step: `sh -c RUN` with a timeout, its output
//! streamed line by line.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use tokio::sync::mpsc;

use crate::mask::Masker;

/// Which stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// One line a step printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// When the agent read it.
    pub at: DateTime<Utc>,
    /// Where from.
    pub stream: Stream,
    /// The text, without its line end, secrets masked.
    pub text: String,
}

/// A step to run.
#[derive(Debug, Clone)]
pub struct StepRun<'a> {
    /// The shell command.
    pub run: &'a str,
    /// Where it runs (created if missing).
    pub work_dir: &'a Path,
    /// Its environment: the agent's own, plus these.
    pub env: &'a BTreeMap<String, String>,
    /// How long it may take.
    pub timeout: Option<Duration>,
}

/// How a step ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It exited with this code (a signal-killed step has none).
    Exited(Option<i32>),
    /// It ran past its timeout and was stopped.
    TimedOut,
}

impl Outcome {
    /// Whether the step succeeded.
    pub fn succeeded(&self) -> bool {
        matches!(self, Outcome::Exited(Some(0)))
    }
}

/// Why a step could not be run at all.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The working directory could not be made.
    #[error("cannot create the working directory {path}: {source}")]
    WorkDir {
        /// The directory.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The shell could not be started.
    #[error("cannot start `sh -c`: {0}")]
    Spawn(std::io::Error),
}

/// The result of a step: how it ended and how long it took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepResult {
    /// How it ended.
    pub outcome: Outcome,
    /// How long it ran.
    pub duration: Duration,
}

/// Runs `step`, handing each printed line (masked) to `lines` as it comes.
pub async fn run_step(
    step: &StepRun<'_>,
    masker: &Masker,
    lines: mpsc::UnboundedSender<LogLine>,
) -> Result<StepResult, RunError> {
    tokio::fs::create_dir_all(step.work_dir)
        .await
        .map_err(|source| RunError::WorkDir {
            path: step.work_dir.display().to_string(),
            source,
        })?;
    let started = Instant::now();
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(step.run)
        .current_dir(step.work_dir)
        .envs(step.env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // A group of its own, so a timeout can stop everything the step started.
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(RunError::Spawn)?;
    let group = child.id().map(|id| Pid::from_raw(id as i32));
    // Dropped before the step ends (its job was taken away: a lost lease),
    // the whole group is stopped, not only the shell.
    let mut guard = GroupGuard(group);
    let stdout = child
        .stdout
        .take()
        .map(|out| forward(out, Stream::Stdout, masker.clone(), lines.clone()));
    let stderr = child
        .stderr
        .take()
        .map(|err| forward(err, Stream::Stderr, masker.clone(), lines));
    let waited = match step.timeout {
        Some(limit) => tokio::time::timeout(limit, child.wait()).await.ok(),
        None => Some(child.wait().await),
    };
    // The shell has ended (or is stopped below): what it left running in
    // the background, such as a service it started, is its own business.
    guard.0 = None;
    let outcome = match waited {
        Some(Ok(status)) => Outcome::Exited(status.code()),
        Some(Err(error)) => return Err(RunError::Spawn(error)),
        None => {
            if let Some(group) = group {
                // The group may be gone already; either way it is stopped.
                let _ = killpg(group, Signal::SIGKILL);
            }
            let _ = child.wait().await;
            Outcome::TimedOut
        }
    };
    // The readers end when every process holding the pipes has exited.
    for reader in [stdout, stderr].into_iter().flatten() {
        let _ = reader.await;
    }
    Ok(StepResult {
        outcome,
        duration: started.elapsed(),
    })
}

/// Stops a step's process group when dropped while armed.
struct GroupGuard(Option<Pid>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(group) = self.0 {
            let _ = killpg(group, Signal::SIGKILL);
        }
    }
}

fn forward<R>(
    reader: R,
    stream: Stream,
    masker: Masker,
    lines: mpsc::UnboundedSender<LogLine>,
) -> tokio::task::JoinHandle<()>
where
    R: tokio::io::AsyncRead + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        let mut reader = BufReader::new(reader);
        let mut buffer = Vec::new();
        loop {
            buffer.clear();
            match reader.read_until(b'\n', &mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let text = String::from_utf8_lossy(&buffer);
                    let text = text.trim_end_matches(['\n', '\r']);
                    let line = LogLine {
                        at: Utc::now(),
                        stream,
                        text: masker.mask(text),
                    };
                    if lines.send(line).is_err() {
                        break;
                    }
                }
            }
        }
    })
}
