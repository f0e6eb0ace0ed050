//! Shipping a job's log to the server while it runs, so people can follow
//! it live (`ferry deploy logs -f`).
//!
//! Lines are numbered in the order they are handed over and sent in
//! batches: whatever arrived while the previous batch was on its way goes in
//! the next one, so a chatty step costs a request per batch, not per line.
//! A batch that cannot be sent after a few tries is dropped (and said so on
//! the agent's own output): the job must never wait on its log. The server
//! stores a line sent twice once, so retrying is harmless.

use std::time::Duration;

use chrono::{DateTime, Utc};
use ferry_api::{AgentLogLine, AgentLogs};
use ferry_client::Client;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// The most lines in one request.
const BATCH: usize = 500;
/// How many times a batch is tried.
const TRIES: u32 = 3;
/// How long the end of a job waits for its last lines to be sent.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(10);

/// One line to ship.
#[derive(Debug, Clone)]
struct Entry {
    at: DateTime<Utc>,
    stream: &'static str,
    step: Option<String>,
    text: String,
}

/// Hands lines to the shipper; cheap to clone.
#[derive(Debug, Clone)]
pub struct LogSink(mpsc::UnboundedSender<Entry>);

impl LogSink {
    /// Ships `text` from `stream` (`out`, `err` or `ferry`) of `step`.
    pub fn send(&self, at: DateTime<Utc>, stream: &'static str, step: Option<&str>, text: String) {
        // A closed shipper means the job is over: the line has nowhere to go.
        let _ = self.0.send(Entry {
            at,
            stream,
            step: step.map(str::to_owned),
            text,
        });
    }

    /// Ships a line of the agent's own, now.
    pub fn note(&self, step: Option<&str>, text: String) {
        self.send(Utc::now(), "ferry", step, text);
    }
}

/// The task that sends a job's lines.
pub struct Shipper {
    sink: LogSink,
    task: JoinHandle<()>,
}

impl Shipper {
    /// Starts shipping the lines of `attempt` of job `job_id`.
    pub fn start(client: Client, job_id: i64, attempt: i64) -> Self {
        let (sender, receiver) = mpsc::unbounded_channel();
        let task = tokio::spawn(ship(client, job_id, attempt, receiver));
        Self {
            sink: LogSink(sender),
            task,
        }
    }

    /// Where lines go.
    pub fn sink(&self) -> LogSink {
        self.sink.clone()
    }

    /// Sends what is left (waiting at most [`FLUSH_TIMEOUT`]) and stops.
    /// Every clone of the sink must be dropped first, or this waits for the
    /// timeout.
    pub async fn finish(self) {
        let Shipper { sink, mut task } = self;
        drop(sink);
        if tokio::time::timeout(FLUSH_TIMEOUT, &mut task)
            .await
            .is_err()
        {
            task.abort();
        }
    }
}

async fn ship(
    client: Client,
    job_id: i64,
    attempt: i64,
    mut receiver: mpsc::UnboundedReceiver<Entry>,
) {
    let mut seq = 0_i64;
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        let Some(first) = receiver.recv().await else {
            return;
        };
        batch.push(first);
        while batch.len() < BATCH {
            match receiver.try_recv() {
                Ok(entry) => batch.push(entry),
                Err(_) => break,
            }
        }
        let lines: Vec<AgentLogLine> = batch
            .drain(..)
            .map(|entry| {
                let line = AgentLogLine {
                    seq,
                    at: entry.at,
                    stream: entry.stream.to_owned(),
                    step: entry.step,
                    line: entry.text,
                };
                seq += 1;
                line
            })
            .collect();
        let logs = AgentLogs { attempt, lines };
        let mut pause = Duration::from_millis(200);
        for tried in 1..=TRIES {
            match client.agent_logs(job_id, &logs).await {
                Ok(()) => break,
                Err(error) if tried == TRIES => {
                    eprintln!(
                        "{} ferry agent: job {job_id}: {} log line(s) could not be sent: {error}",
                        Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ"),
                        logs.lines.len()
                    );
                }
                Err(_) => {
                    tokio::time::sleep(pause).await;
                    pause *= 2;
                }
            }
        }
    }
}
