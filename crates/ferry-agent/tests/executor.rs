//! Steps run as real processes.

use std::collections::BTreeMap;
use std::time::Duration;

use ferry_agent::executor::{LogLine, Outcome, StepRun, Stream, run_step};
use ferry_agent::mask::Masker;
use tokio::sync::mpsc;

async fn run(
    command: &str,
    env: &[(&str, &str)],
    timeout: Option<Duration>,
    secrets: &[&str],
) -> (Outcome, Vec<LogLine>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let env: BTreeMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let work_dir = dir.path().join("api").join("1.0.0");
    let step = StepRun {
        run: command,
        work_dir: &work_dir,
        env: &env,
        timeout,
    };
    let (sender, mut receiver) = mpsc::unbounded_channel();
    let masker = Masker::new(secrets.iter().map(|s| s.to_string()));
    let result = run_step(&step, &masker, sender).await.unwrap();
    let mut lines = Vec::new();
    while let Some(line) = receiver.recv().await {
        lines.push(line);
    }
    (result.outcome, lines, dir)
}

#[tokio::test]
async fn a_step_runs_in_its_directory_with_its_environment() {
    let (outcome, lines, dir) = run(
        "echo \"$FERRY_VERSION\" > version.txt; pwd; echo oops >&2",
        &[("FERRY_VERSION", "1.0.0")],
        None,
        &[],
    )
    .await;
    assert!(outcome.succeeded());
    let written = std::fs::read_to_string(dir.path().join("api/1.0.0/version.txt")).unwrap();
    assert_eq!(written, "1.0.0\n");
    let stdout: Vec<_> = lines
        .iter()
        .filter(|l| l.stream == Stream::Stdout)
        .map(|l| l.text.as_str())
        .collect();
    assert!(stdout[0].ends_with("api/1.0.0"), "{stdout:?}");
    assert!(
        lines
            .iter()
            .any(|l| l.stream == Stream::Stderr && l.text == "oops")
    );
}

#[tokio::test]
async fn a_failing_step_reports_its_exit_code() {
    let (outcome, _, _dir) = run("exit 3", &[], None, &[]).await;
    assert_eq!(outcome, Outcome::Exited(Some(3)));
    assert!(!outcome.succeeded());
}

#[tokio::test]
async fn a_step_past_its_timeout_is_stopped_with_what_it_started() {
    let started = std::time::Instant::now();
    let (outcome, _, dir) = run(
        "(sleep 30; touch late) & sleep 30",
        &[],
        Some(Duration::from_millis(300)),
        &[],
    )
    .await;
    assert_eq!(outcome, Outcome::TimedOut);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the step was not stopped"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!dir.path().join("api/1.0.0/late").exists());
}

#[tokio::test]
async fn secrets_never_leave_the_agent() {
    let (_, lines, _dir) = run(
        "echo \"token is $TOKEN\"",
        &[("TOKEN", "s3cr3t-value")],
        None,
        &["s3cr3t-value"],
    )
    .await;
    assert_eq!(lines[0].text, "token is ***");
}
