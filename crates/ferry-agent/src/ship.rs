//! Shipping a job's log to the server while it runs, so people can follow
//! it live (`ferry deploy logs -f`).
//!
//! Lines are numbered in the order they are handed over and sent in
//! batches: a batch waits up to [`LINGER`] for more lines (or until it holds
//! [`BATCH`]), so a chatty step costs a request per batch, not per line.
//! What is left when the job ends goes with its report
//! ([`Shipper::finish`]): a short job sends its whole log with it, and the
//! log is whole on the server when the job is seen ended. A batch that
//! cannot be sent after a few tries is dropped (and said so on the agent's
//! own output): the job must never wait on its log. The server stores a
//! line sent twice once, so retrying is harmless.

use std::time::Duration;

use chrono::{DateTime, Utc};
use ferry_api::{AgentLogLine, AgentLogs};
use ferry_client::Client;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// The most lines in one request.
const BATCH: usize = 500;
/// How long a line waits for others to be sent with: the delay of a live
/// log.
pub const LINGER: Duration = Duration::from_millis(200);
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
    task: JoinHandle<Vec<AgentLogLine>>,
    client: Client,
    job_id: i64,
    attempt: i64,
}

impl Shipper {
    /// Starts shipping the lines of `attempt` of job `job_id`.
    pub fn start(client: Client, job_id: i64, attempt: i64) -> Self {
        let (sender, receiver) = mpsc::unbounded_channel();
        let task = tokio::spawn(ship(client.clone(), job_id, attempt, receiver));
        Self {
            sink: LogSink(sender),
            task,
            client,
            job_id,
            attempt,
        }
    }

    /// Where lines go.
    pub fn sink(&self) -> LogSink {
        self.sink.clone()
    }

    /// Stops, once a batch under way is sent (waiting at most
    /// [`FLUSH_TIMEOUT`]), and answers the lines not sent yet (fewer than
    /// [`BATCH`]), for the job's report. Every clone of the sink must be
    /// dropped first, or this waits for the timeout.
    pub async fn finish(self) -> Vec<AgentLogLine> {
        let Shipper { sink, mut task, .. } = self;
        drop(sink);
        match tokio::time::timeout(FLUSH_TIMEOUT, &mut task).await {
            Ok(rest) => rest.unwrap_or_default(),
            Err(_) => {
                task.abort();
                Vec::new()
            }
        }
    }

    /// Stops as [`Shipper::finish`] does, and sends the rest itself: for a
    /// job no report is sent for.
    pub async fn finish_and_send(self) {
        let (client, job_id, attempt) = (self.client.clone(), self.job_id, self.attempt);
        let rest = self.finish().await;
        if !rest.is_empty() {
            send(&client, job_id, attempt, rest).await;
        }
    }
}

/// Sends batches of the lines `receiver` hands over, until it is closed;
/// answers the lines it had not sent then.
async fn ship(
    client: Client,
    job_id: i64,
    attempt: i64,
    mut receiver: mpsc::UnboundedReceiver<Entry>,
) -> Vec<AgentLogLine> {
    let mut seq = 0_i64;
    loop {
        let Some(first) = receiver.recv().await else {
            return Vec::new();
        };
        let mut batch = Vec::with_capacity(BATCH);
        batch.push(first);
        let linger = tokio::time::sleep(LINGER);
        tokio::pin!(linger);
        let mut closed = false;
        while batch.len() < BATCH {
            tokio::select! {
                entry = receiver.recv() => match entry {
                    Some(entry) => batch.push(entry),
                    None => {
                        closed = true;
                        break;
                    }
                },
                () = &mut linger => break,
            }
        }
        let lines: Vec<AgentLogLine> = batch
            .into_iter()
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
        if closed {
            // The job is over: these go with its report.
            return lines;
        }
        send(&client, job_id, attempt, lines).await;
    }
}

/// Sends `lines` of `attempt` of job `job_id`, trying [`TRIES`] times.
pub async fn send(client: &Client, job_id: i64, attempt: i64, lines: Vec<AgentLogLine>) {
    let logs = AgentLogs { attempt, lines };
    let mut pause = Duration::from_millis(200);
    for tried in 1..=TRIES {
        match client.agent_logs(job_id, &logs).await {
            Ok(()) => return,
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
