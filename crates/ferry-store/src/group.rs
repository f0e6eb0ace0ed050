//! Group commit of the writes agents make for their jobs: claims, starts,
//! reports and log lines.
//!
//! A deployment to many agents brings many of these at the same moment, each
//! small. Made one transaction each, they queue for the database's write
//! lock and pay a commit (an `fsync` on SQLite), a lock of the audit head and
//! three audit statements apiece. Here they are put in a queue instead; one
//! caller at a time takes its turn, and on its turn writes everything queued
//! so far in one transaction, its audit events appended together
//! ([`Events`]). Every other caller finds its answer waiting when its turn
//! comes.
//!
//! Rules it keeps:
//! - each write's answer is what it would have been alone: the writes run
//!   in the order they were queued, each on the data the previous ones left;
//! - when a grouped transaction fails, nothing of it stays and each write is
//!   tried again alone, so one bad write cannot fail its neighbours;
//! - a group is written by a task of its own: a caller that goes away (its
//!   client hung up) does not abandon the others' writes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio::sync::oneshot;

use crate::audit::Events;
use crate::jobs::{self, FinishOutcome, JobKind, JobRecord};
use crate::logs::{self, NewLogLine};
use crate::{Backend, Result, Store, StoreError, Tx};

/// A write that can share a transaction with others.
#[derive(Debug, Clone)]
pub(crate) enum Write {
    /// [`Store::claim_job`].
    Claim {
        agent_id: i64,
        lease: chrono::Duration,
        now: DateTime<Utc>,
    },
    /// [`Store::start_job`].
    Start {
        id: i64,
        attempt: i64,
        now: DateTime<Utc>,
    },
    /// [`Store::finish_job_logged`]: the report, then its lines.
    Finish {
        id: i64,
        attempt: i64,
        succeeded: bool,
        result: Value,
        lines: Vec<NewLogLine>,
        now: DateTime<Utc>,
    },
    /// [`Store::append_logs`].
    Logs {
        job_id: i64,
        attempt: i64,
        lines: Vec<NewLogLine>,
    },
}

/// What a [`Write`] answers.
#[derive(Debug)]
pub(crate) enum Written {
    Claimed(Option<JobRecord>),
    Started(bool),
    Finished(FinishOutcome),
    Logged(u64),
}

impl Write {
    /// Whether it stores log lines (which followers of live logs are told of).
    fn logs(&self) -> bool {
        match self {
            Write::Logs { .. } => true,
            Write::Finish { lines, .. } => !lines.is_empty(),
            Write::Claim { .. } | Write::Start { .. } => false,
        }
    }
}

impl Written {
    /// The error for an answer of another kind than its write's, which the
    /// group never gives.
    pub(crate) fn mismatch(self) -> StoreError {
        StoreError::Corrupt(format!(
            "a grouped write got the answer of another: {self:?}"
        ))
    }
}

/// A write waiting for its group, and where its answer goes.
struct Queued {
    write: Write,
    answer: oneshot::Sender<Result<Written>>,
}

/// The queue of writes and the turn to write them.
#[derive(Default)]
pub(crate) struct Group {
    queue: Mutex<Vec<Queued>>,
    turn: Arc<tokio::sync::Mutex<()>>,
}

impl std::fmt::Debug for Group {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Group").finish_non_exhaustive()
    }
}

/// The error of a write whose group stopped without answering it.
fn unanswered() -> StoreError {
    StoreError::Database(sqlx::Error::WorkerCrashed)
}

impl Store {
    /// Writes `write` with whatever else is queued, and answers it.
    pub(crate) async fn in_group(&self, write: Write) -> Result<Written> {
        let (answer, mut answered) = oneshot::channel();
        self.group
            .queue
            .lock()
            .map_err(|_| unanswered())?
            .push(Queued { write, answer });
        let turn = self.group.turn.clone().lock_owned().await;
        match answered.try_recv() {
            Ok(written) => return written,
            Err(oneshot::error::TryRecvError::Closed) => return Err(unanswered()),
            Err(oneshot::error::TryRecvError::Empty) => {}
        }
        let queued = std::mem::take(&mut *self.group.queue.lock().map_err(|_| unanswered())?);
        let store = self.clone();
        tokio::spawn(async move {
            let _turn = turn;
            store.write_group(queued).await;
        });
        answered.await.unwrap_or_else(|_| Err(unanswered()))
    }

    /// Writes `queued` in one transaction, or each alone when that fails,
    /// and sends every answer.
    async fn write_group(&self, queued: Vec<Queued>) {
        let began = std::time::Instant::now();
        let writes = queued.len();
        self.write_group_now(queued).await;
        tracing::debug!(
            writes,
            micros = u64::try_from(began.elapsed().as_micros()).unwrap_or(u64::MAX),
            "a group of writes committed"
        );
    }

    async fn write_group_now(&self, queued: Vec<Queued>) {
        if queued.len() > 1 {
            let writes: Vec<&Write> = queued.iter().map(|q| &q.write).collect();
            if let Ok(answers) = self.write_together(&writes).await {
                for (queued, answer) in queued.into_iter().zip(answers) {
                    // A caller that went away no longer wants its answer.
                    let _ = queued.answer.send(Ok(answer));
                }
                return;
            }
        }
        for queued in queued {
            let answer = self
                .write_together(&[&queued.write])
                .await
                .and_then(|mut answers| answers.pop().ok_or_else(unanswered));
            let _ = queued.answer.send(answer);
        }
    }

    /// Writes `writes` in order in one transaction.
    async fn write_together(&self, writes: &[&Write]) -> Result<Vec<Written>> {
        let mut tx = self.write().await?;
        let mut events = Events::default();
        let mut answers = Vec::with_capacity(writes.len());
        for write in writes {
            match write_in(&mut tx, self.backend(), &mut events, write).await {
                Ok(answer) => answers.push(answer),
                Err(error) => return Store::abandon(tx, Err(error)).await,
            }
        }
        if let Err(error) = tell_batches_over(&mut tx, &mut answers).await {
            return Store::abandon(tx, Err(error)).await;
        }
        let mut ended = events.append(&mut tx, self.backend()).await.map(|_| ());
        if ended.is_ok() && writes.iter().any(|write| write.logs()) {
            ended = self.announce_logs(&mut tx).await;
        }
        if let Err(error) = ended {
            return Store::abandon(tx, Err(error)).await;
        }
        tx.commit().await?;
        Ok(answers)
    }
}

/// One write inside `tx`, its audit events added to `events`.
async fn write_in(
    tx: &mut Tx,
    backend: Backend,
    events: &mut Events,
    write: &Write,
) -> Result<Written> {
    match write {
        Write::Claim {
            agent_id,
            lease,
            now,
        } => jobs::claim_in(tx, backend, events, *agent_id, *lease, *now)
            .await
            .map(Written::Claimed),
        Write::Start { id, attempt, now } => {
            jobs::start_in(tx, backend, events, *id, *attempt, *now)
                .await
                .map(Written::Started)
        }
        Write::Finish {
            id,
            attempt,
            succeeded,
            result,
            lines,
            now,
        } => {
            let outcome =
                jobs::finish_in(tx, backend, events, *id, *attempt, *succeeded, result, *now)
                    .await?;
            if !lines.is_empty() {
                // The report read the job: its lines need no read of their own.
                let job = outcome.job();
                logs::append_to(tx, job.deployment_id, job.id, job.attempt, *attempt, lines)
                    .await?;
            }
            Ok(Written::Finished(outcome))
        }
        Write::Logs {
            job_id,
            attempt,
            lines,
        } => logs::append_in(tx, *job_id, *attempt, lines)
            .await
            .map(Written::Logged),
    }
}

/// Marks the last report of each batch the group finished jobs of with
/// whether that batch is over: one read a batch, not one a report.
async fn tell_batches_over(tx: &mut Tx, answers: &mut [Written]) -> Result<()> {
    let mut last: HashMap<(i64, i64, JobKind), usize> = HashMap::new();
    for (index, answer) in answers.iter().enumerate() {
        if let Written::Finished(FinishOutcome::Finished { job, .. }) = answer {
            last.insert((job.deployment_id, job.batch, job.kind), index);
        }
    }
    for ((deployment_id, batch, kind), index) in last {
        let over = jobs::batch_over_in(tx, deployment_id, batch, kind).await?;
        if let Some(Written::Finished(FinishOutcome::Finished { batch_over, .. })) =
            answers.get_mut(index)
        {
            *batch_over = over;
        }
    }
    Ok(())
}
