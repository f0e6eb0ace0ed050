//! Health checks after a deployment: an HTTP GET that must answer 2xx, or a
//! command that must exit 0, tried again after a pause until the retries
//! are spent.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use ferry_core::process::HealthCheck;
use tokio::sync::mpsc;

use crate::executor::{StepRun, run_step};
use crate::mask::Masker;

/// The verdict of a health check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    /// Whether an attempt passed.
    pub healthy: bool,
    /// How many attempts were made.
    pub attempts: u32,
    /// What the last attempt saw, for the log.
    pub last: String,
}

/// Where a command check runs and with what environment.
#[derive(Debug, Clone)]
pub struct CheckContext<'a> {
    /// The release's working directory.
    pub work_dir: &'a Path,
    /// The step environment.
    pub env: &'a BTreeMap<String, String>,
    /// Secrets to mask in what the check prints.
    pub masker: &'a Masker,
}

fn std_duration(duration: chrono::Duration) -> Duration {
    duration.to_std().unwrap_or_default()
}

/// Runs `check` until it passes or its retries are spent.
pub async fn run_check(
    check: &HealthCheck,
    http: &reqwest::Client,
    context: &CheckContext<'_>,
) -> Health {
    let attempts = check.retries() + 1;
    let mut last = String::new();
    for attempt in 1..=attempts {
        let (passed, seen) = match check {
            HealthCheck::Http { url, timeout, .. } => {
                probe_http(http, url, std_duration(*timeout)).await
            }
            HealthCheck::Command { run, timeout, .. } => {
                probe_command(run, std_duration(*timeout), context).await
            }
        };
        last = seen;
        if passed {
            return Health {
                healthy: true,
                attempts: attempt,
                last,
            };
        }
        if attempt < attempts {
            tokio::time::sleep(std_duration(check.interval())).await;
        }
    }
    Health {
        healthy: false,
        attempts,
        last,
    }
}

async fn probe_http(http: &reqwest::Client, url: &str, timeout: Duration) -> (bool, String) {
    match http.get(url).timeout(timeout).send().await {
        Ok(response) => {
            let status = response.status();
            (status.is_success(), format!("GET {url} answered {status}"))
        }
        Err(error) => (false, format!("GET {url} failed: {error}")),
    }
}

async fn probe_command(run: &str, timeout: Duration, context: &CheckContext<'_>) -> (bool, String) {
    let (lines, mut received) = mpsc::unbounded_channel();
    let step = StepRun {
        run,
        work_dir: context.work_dir,
        env: context.env,
        timeout: Some(timeout),
    };
    let result = run_step(&step, context.masker, lines).await;
    let mut output = Vec::new();
    while let Some(line) = received.recv().await {
        output.push(line.text);
    }
    let tail = output.last().cloned().unwrap_or_default();
    match result {
        Ok(result) if result.outcome.succeeded() => (true, format!("`{run}` passed")),
        Ok(result) => (
            false,
            format!("`{run}` ended with {:?}: {tail}", result.outcome),
        ),
        Err(error) => (false, error.to_string()),
    }
}
