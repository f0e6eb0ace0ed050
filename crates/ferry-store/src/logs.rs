//! The live log of deployments: the lines agents send while their steps run.
//!
//! Lines are kept per job attempt and numbered by the agent (`seq`), so a
//! batch sent again after a lost response is stored once. Readers follow a
//! deployment by the line id: every line has a larger id than the lines
//! stored before it, so "the lines after id N" never misses or repeats one.
//! Log lines are not audited: they are output, not changes of state (the
//! job's outcome, with the tail of its log, is).

use chrono::{DateTime, Utc};
use ferry_core::time::format_time;
use sqlx::AssertSqlSafe;
use sqlx::any::AnyRow;

use crate::group::{Write, Written};
use crate::rows::{int, opt_text, text, time};
use crate::{Result, Store, StoreError, Tx};

/// Which stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogStream {
    /// A step's standard output.
    Out,
    /// A step's standard error.
    Err,
    /// The agent itself: a step starting or ending, the health check.
    Ferry,
}

impl LogStream {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            LogStream::Out => "out",
            LogStream::Err => "err",
            LogStream::Ferry => "ferry",
        }
    }

    /// Reads the stored spelling.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "out" => Some(LogStream::Out),
            "err" => Some(LogStream::Err),
            "ferry" => Some(LogStream::Ferry),
            _ => None,
        }
    }
}

/// A line as an agent sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLogLine {
    /// Its number within the attempt, from 0.
    pub seq: i64,
    /// When the agent read it.
    pub at: DateTime<Utc>,
    /// Where from.
    pub stream: LogStream,
    /// The step that printed it, if a step did.
    pub step: Option<String>,
    /// The text (secrets already masked by the agent).
    pub line: String,
}

/// A stored line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord {
    /// Its id: larger than every line stored before it.
    pub id: i64,
    /// The job it belongs to.
    pub job_id: i64,
    /// The name of the agent that ran the job.
    pub target: String,
    /// The job's attempt.
    pub attempt: i64,
    /// When the agent read it.
    pub at: DateTime<Utc>,
    /// Where from.
    pub stream: LogStream,
    /// The step that printed it.
    pub step: Option<String>,
    /// The text.
    pub line: String,
}

/// The most lines one call stores or returns.
pub const MAX_LINES: usize = 1000;

/// Rows per INSERT: five parameters each stays far below every backend's limit.
const CHUNK: usize = 100;

pub(crate) fn record(row: &AnyRow) -> Result<LogRecord> {
    let stream = text(row, "stream")?;
    Ok(LogRecord {
        id: int(row, "id")?,
        job_id: int(row, "job_id")?,
        target: text(row, "target")?,
        attempt: int(row, "attempt")?,
        at: time(row, "at")?,
        stream: LogStream::parse(&stream)
            .ok_or_else(|| StoreError::Corrupt(format!("log stream {stream:?}")))?,
        step: opt_text(row, "step")?,
        line: text(row, "line")?,
    })
}

impl Store {
    /// Stores `lines` of attempt `attempt` of job `job_id`; a line whose
    /// number was stored already is skipped. Answers how many were new.
    pub async fn append_logs(
        &self,
        job_id: i64,
        attempt: i64,
        lines: &[NewLogLine],
    ) -> Result<u64> {
        at_most_max(lines)?;
        let write = Write::Logs {
            job_id,
            attempt,
            lines: lines.to_vec(),
        };
        match self.in_group(write).await? {
            Written::Logged(stored) => Ok(stored),
            other => Err(other.mismatch()),
        }
    }

    /// Up to `limit` lines of deployment `deployment_id` with ids above
    /// `after`, oldest first.
    pub async fn deployment_logs(
        &self,
        deployment_id: i64,
        after: i64,
        limit: usize,
    ) -> Result<Vec<LogRecord>> {
        let limit = i64::try_from(limit.min(MAX_LINES)).unwrap_or(1);
        let rows = sqlx::query(
            "SELECT l.id, l.job_id, a.name AS target, l.attempt, l.at, l.stream, l.step, l.line \
             FROM deployment_logs l JOIN jobs j ON j.id = l.job_id \
             JOIN agents a ON a.id = j.agent_id \
             WHERE l.deployment_id = $1 AND l.id > $2 ORDER BY l.id LIMIT $3",
        )
        .bind(deployment_id)
        .bind(after)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(record).collect()
    }
}

/// Refuses more than [`MAX_LINES`] lines at once.
pub(crate) fn at_most_max(lines: &[NewLogLine]) -> Result<()> {
    if lines.len() > MAX_LINES {
        return Err(StoreError::Invalid(format!(
            "at most {MAX_LINES} log lines are stored at once, not {}",
            lines.len()
        )));
    }
    Ok(())
}

/// [`Store::append_logs`] inside `tx`.
pub(crate) async fn append_in(
    tx: &mut Tx,
    job_id: i64,
    attempt: i64,
    lines: &[NewLogLine],
) -> Result<u64> {
    let job = sqlx::query("SELECT deployment_id, attempt FROM jobs WHERE id = $1")
        .bind(job_id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("there is no job {job_id}")))?;
    let deployment_id = int(&job, "deployment_id")?;
    let attempts = int(&job, "attempt")?;
    append_to(tx, deployment_id, job_id, attempts, attempt, lines).await
}

/// [`append_in`] for a job already read: job `job_id` of deployment
/// `deployment_id`, which has had `attempts` attempts.
pub(crate) async fn append_to(
    tx: &mut Tx,
    deployment_id: i64,
    job_id: i64,
    attempts: i64,
    attempt: i64,
    lines: &[NewLogLine],
) -> Result<u64> {
    if attempt < 1 || attempt > attempts {
        return Err(StoreError::Invalid(format!(
            "job {job_id} has had no attempt {attempt}"
        )));
    }
    let mut stored = 0;
    for chunk in lines.chunks(CHUNK) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                let p = 4 + i * 5;
                format!(
                    "($1, $2, $3, ${}, ${}, ${}, ${}, ${})",
                    p,
                    p + 1,
                    p + 2,
                    p + 3,
                    p + 4
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO deployment_logs (deployment_id, job_id, attempt, seq, at, stream, \
             step, line) VALUES {} ON CONFLICT (job_id, attempt, seq) DO NOTHING",
            values.join(", ")
        );
        let mut query = sqlx::query(AssertSqlSafe(sql))
            .bind(deployment_id)
            .bind(job_id)
            .bind(attempt);
        for line in chunk {
            query = query
                .bind(line.seq)
                .bind(format_time(line.at))
                .bind(line.stream.as_str())
                .bind(line.step.clone())
                .bind(line.line.clone());
        }
        stored += query.execute(&mut **tx).await?.rows_affected();
    }
    Ok(stored)
}
