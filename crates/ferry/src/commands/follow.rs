//! Following a deployment until it ends (`promote --wait`, `rollback
//! --wait`): a progress bar per batch on a terminal, a line per change
//! otherwise, and an exit code that says how it ended.
//!
//! A deployment that fails and is rolled back automatically is followed
//! into its rollback, so the last line says what runs now.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use ferry_api::Deployment;
use ferry_client::{Client, DeploymentQuery};
use ferry_core::DeploymentStatus;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::output::{self, BAD, GOOD};

/// How often the deployment is read.
const POLL: Duration = Duration::from_millis(300);
/// How long a failed deployment is watched for its automatic rollback.
const ROLLBACK_APPEARS: Duration = Duration::from_secs(5);

/// The progress shown for one deployment.
struct View {
    bars: MultiProgress,
    batches: Vec<ProgressBar>,
    terminal: bool,
    said: Option<String>,
}

impl View {
    fn new() -> Self {
        let terminal = std::io::stderr().is_terminal();
        let target = if terminal {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        Self {
            bars: MultiProgress::with_draw_target(target),
            batches: Vec::new(),
            terminal,
            said: None,
        }
    }

    /// A line above the bars (or on stderr when there are none).
    fn say(&mut self, line: String) {
        if self.said.as_deref() == Some(line.as_str()) {
            return;
        }
        if self.terminal {
            let _ = self.bars.println(&line);
        } else {
            let _ = writeln!(anstream::stderr(), "{line}");
        }
        self.said = Some(line);
    }

    fn show(&mut self, deployment: &Deployment) {
        let status = deployment.status.as_str();
        let headline = match &deployment.reason {
            Some(reason) if deployment.status == DeploymentStatus::Waiting => {
                format!("deployment {}: waiting: {reason}", deployment.id)
            }
            _ => format!("deployment {}: {status}", deployment.id),
        };
        self.say(headline);
        let Some(progress) = &deployment.progress else {
            return;
        };
        let style = ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        let current = usize::try_from(progress.batch).unwrap_or(0);
        while self.batches.len() <= current && self.batches.len() < progress.batch_sizes.len() {
            let index = self.batches.len();
            let size = progress.batch_sizes[index];
            let bar = self.bars.add(ProgressBar::new(size as u64));
            bar.set_style(style.clone());
            bar.set_prefix(format!("batch {}/{}", index + 1, progress.batches));
            self.batches.push(bar);
        }
        for (index, bar) in self.batches.iter().enumerate() {
            let batch = i64::try_from(index).unwrap_or(i64::MAX);
            let in_batch = deployment.targets.iter().filter(|t| t.batch == batch);
            let (mut done, mut failed, mut running) = (0_u64, 0_u64, 0_u64);
            for target in in_batch {
                match target.state.as_str() {
                    "succeeded" => done += 1,
                    "failed" => {
                        done += 1;
                        failed += 1;
                    }
                    "running" => running += 1,
                    _ => {}
                }
            }
            bar.set_position(done);
            let message = match (failed, running) {
                (0, 0) => String::new(),
                (0, running) => format!("{running} running"),
                (failed, running) => format!("{failed} failed, {running} running"),
            };
            bar.set_message(message);
            if done == bar.length().unwrap_or(0) && !bar.is_finished() {
                bar.finish();
                if !self.terminal {
                    let _ = writeln!(
                        anstream::stderr(),
                        "batch {}/{}: {done} done, {failed} failed",
                        index + 1,
                        progress.batches
                    );
                }
            }
        }
    }
}

/// Follows deployment `id` to its end; the exit code says how it ended.
pub async fn follow(client: &Client, id: i64) -> Result<ExitCode> {
    let last = watch(client, id).await?;
    let mut out = output::stdout();
    match last.status {
        DeploymentStatus::Succeeded => {
            writeln!(
                out,
                "{GOOD}Deployment {} of {}@{} to {} succeeded{GOOD:#}.",
                last.id, last.service, last.version, last.environment
            )?;
            return Ok(ExitCode::SUCCESS);
        }
        DeploymentStatus::Failed | DeploymentStatus::RolledBack => {
            let reason = last.reason.clone().unwrap_or_default();
            writeln!(
                out,
                "{BAD}Deployment {} of {}@{} to {} failed{BAD:#}: {reason}",
                last.id, last.service, last.version, last.environment
            )?;
            if let Some(rollback) = rollback_of(client, &last).await? {
                writeln!(
                    out,
                    "Rolling back to {}@{}: deployment {}.",
                    rollback.service, rollback.version, rollback.id
                )?;
                out.flush()?;
                let restored = watch(client, rollback.id).await?;
                writeln!(
                    output::stdout(),
                    "Rollback {} {}.",
                    restored.id,
                    restored.status.as_str()
                )?;
            }
        }
        _ => {
            writeln!(
                out,
                "Deployment {} {}: {}",
                last.id,
                last.status.as_str(),
                last.reason.clone().unwrap_or_default()
            )?;
        }
    }
    Ok(ExitCode::FAILURE)
}

/// Shows deployment `id` until it ends; answers how it ended.
async fn watch(client: &Client, id: i64) -> Result<Deployment> {
    let mut view = View::new();
    loop {
        let deployment = client
            .deployment(id)
            .await
            .with_context(|| format!("cannot follow deployment {id}"))?;
        view.show(&deployment);
        if deployment.status.is_finished() {
            let _ = view.bars.clear();
            return Ok(deployment);
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The rollback of failed deployment `failed`, waiting a little for the
/// orchestrator to create it.
async fn rollback_of(client: &Client, failed: &Deployment) -> Result<Option<Deployment>> {
    let deadline = tokio::time::Instant::now() + ROLLBACK_APPEARS;
    loop {
        let query = DeploymentQuery {
            service: Some(failed.service.clone()),
            environment: Some(failed.environment.clone()),
            limit: Some(50),
            cursor: None,
        };
        let page = client.deployments(&query).await?;
        if let Some(found) = page
            .items
            .into_iter()
            .find(|d| d.rollback_of == Some(failed.id))
        {
            return Ok(Some(found));
        }
        if failed.status == DeploymentStatus::RolledBack || tokio::time::Instant::now() >= deadline
        {
            return Ok(None);
        }
        tokio::time::sleep(POLL).await;
    }
}
