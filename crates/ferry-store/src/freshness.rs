//! How the in-memory read models of a process know they are out of date.
//!
//! Reads that pages, agents and every request make (the status matrix, a
//! token's owner and rights) are kept in memory and built again only after
//! a write that could change them. Each kind of write is a [`Topic`] with a
//! generation number: a write bumps its topic's generation once its
//! transaction has committed ([`Store::commit`]), and a read model keeps,
//! with what it built, the generation it read *before* building, so a build
//! that raced a write is thrown away at the next read.
//!
//! Other replicas hear of a write through PostgreSQL's `NOTIFY` on the
//! channel [`CHANNEL`], sent inside the writing transaction (so it is
//! delivered exactly when the write commits); [`Store::watch`] turns what
//! arrives into bumps, and bumps every topic when its connection is made
//! again, since notifications sent while it was down are lost. SQLite has
//! one server process, so the bump after commit is all it needs. As a
//! safety net, the deployments' newest change is looked at every second.
//!
//! The same channel carries wake-ups for waiters ([`Heard`]): new log lines
//! (followers of a log on any replica read again) and jobs for agents (an
//! agent waiting on another replica than the one that made its job looks at
//! once). Waiters also poll, so a lost wake-up only costs time.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::{Backend, Result, Store, Tx};

/// The PostgreSQL channel replicas tell each other of writes on.
pub const CHANNEL: &str = "ferry_changes";

/// A kind of write an in-memory read model depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    /// A deployment was recorded or changed state.
    Deployments,
    /// Services or environments were added, changed or removed.
    Catalog,
    /// Users, tokens, groups or grants changed: who a token is and what
    /// it may do.
    Access,
}

impl Topic {
    const ALL: [Topic; 3] = [Topic::Deployments, Topic::Catalog, Topic::Access];

    fn index(self) -> usize {
        match self {
            Topic::Deployments => 0,
            Topic::Catalog => 1,
            Topic::Access => 2,
        }
    }

    /// Its name on the [`CHANNEL`].
    pub fn as_str(self) -> &'static str {
        match self {
            Topic::Deployments => "deployments",
            Topic::Catalog => "catalog",
            Topic::Access => "access",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|topic| topic.as_str() == text)
    }
}

/// What a replica heard of that its waiters should look at again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Heard {
    /// Log lines were stored.
    Logs,
    /// These agents have jobs waiting.
    Jobs(Vec<i64>),
}

/// The generation of each topic in this process.
#[derive(Debug, Default)]
pub struct Generations([AtomicU64; 3]);

impl Generations {
    /// The generation of `topic` now.
    pub fn of(&self, topic: Topic) -> u64 {
        self.0[topic.index()].load(Ordering::Acquire)
    }

    /// Marks what was built from `topic` before now as out of date.
    pub fn bump(&self, topic: Topic) {
        self.0[topic.index()].fetch_add(1, Ordering::AcqRel);
    }

    fn bump_all(&self) {
        for topic in Topic::ALL {
            self.bump(topic);
        }
    }
}

/// A value built from the store, with the generations it was built at.
#[derive(Debug)]
pub struct Cached<T> {
    slot: std::sync::RwLock<Option<(Vec<u64>, Arc<T>)>>,
}

impl<T> Default for Cached<T> {
    fn default() -> Self {
        Self {
            slot: std::sync::RwLock::new(None),
        }
    }
}

impl<T> Cached<T> {
    /// The value, if it was built at `stamp` (the generations of the topics
    /// it depends on, read before building).
    pub fn get(&self, stamp: &[u64]) -> Option<Arc<T>> {
        let slot = self.slot.read().ok()?;
        slot.as_ref()
            .filter(|(built_at, _)| built_at == stamp)
            .map(|(_, value)| value.clone())
    }

    /// The value kept at `stamp` (the generations of the topics it depends
    /// on, read before building), or the one `build` makes, which is kept.
    pub async fn get_or_build<E>(
        &self,
        stamp: Vec<u64>,
        build: impl Future<Output = std::result::Result<T, E>>,
    ) -> std::result::Result<Arc<T>, E> {
        if let Some(kept) = self.get(&stamp) {
            return Ok(kept);
        }
        let built = Arc::new(build.await?);
        self.put(stamp, built.clone());
        Ok(built)
    }

    /// Keeps `value`, built at `stamp`, unless a newer one is kept.
    pub fn put(&self, stamp: Vec<u64>, value: Arc<T>) {
        if let Ok(mut slot) = self.slot.write() {
            let newer = slot
                .as_ref()
                .is_some_and(|(kept, _)| kept.iter().zip(&stamp).any(|(kept, new)| kept > new));
            if !newer {
                *slot = Some((stamp, value));
            }
        }
    }
}

/// Values built from the store, each kept with the audit trail's head at the
/// time it was built (see [`Store::change_stamp`]): every change of state
/// appends an audit event in its own transaction, so a value is current
/// exactly while the head has not moved, on any replica. For reads of many
/// tables that no [`Topic`] covers (the facts a gate judges): one read of
/// the head instead of all of them. At most `capacity` values are kept;
/// past that, the oldest half of the stamps is dropped.
#[derive(Debug)]
pub struct Stamped<K, V> {
    slots: std::sync::RwLock<std::collections::HashMap<K, (i64, Arc<V>)>>,
    capacity: usize,
}

impl<K: std::hash::Hash + Eq, V> Stamped<K, V> {
    /// An empty cache of at most `capacity` values.
    pub fn new(capacity: usize) -> Self {
        Self {
            slots: std::sync::RwLock::default(),
            capacity: capacity.max(1),
        }
    }

    /// The value of `key` kept at `stamp`, or the one `build` makes, which
    /// is kept. `stamp` must be read before building.
    pub async fn get_or_build<E>(
        &self,
        key: K,
        stamp: i64,
        build: impl Future<Output = std::result::Result<V, E>>,
    ) -> std::result::Result<Arc<V>, E> {
        let kept = self.slots.read().ok().and_then(|slots| {
            slots
                .get(&key)
                .filter(|(built_at, _)| *built_at == stamp)
                .map(|(_, value)| value.clone())
        });
        if let Some(kept) = kept {
            return Ok(kept);
        }
        let built = Arc::new(build.await?);
        if let Ok(mut slots) = self.slots.write() {
            if slots.len() >= self.capacity && !slots.contains_key(&key) {
                let mut stamps: Vec<i64> = slots.values().map(|(at, _)| *at).collect();
                stamps.sort_unstable();
                let median = stamps[stamps.len() / 2];
                slots.retain(|_, (at, _)| *at > median);
            }
            let newer = slots.get(&key).is_some_and(|(at, _)| *at > stamp);
            if !newer {
                slots.insert(key, (stamp, built.clone()));
            }
        }
        Ok(built)
    }
}

impl Store {
    /// The generations of this process's read models.
    pub fn generations(&self) -> &Generations {
        &self.generations
    }

    /// The generations of `topics` now, to build a cached value at.
    pub fn stamp(&self, topics: &[Topic]) -> Vec<u64> {
        topics
            .iter()
            .map(|topic| self.generations.of(*topic))
            .collect()
    }

    /// Commits `tx`, which wrote what `topics` name: other replicas are told
    /// within the transaction, and this process's read models learn of it
    /// once it is committed.
    pub(crate) async fn commit(&self, mut tx: Tx, topics: &[Topic]) -> Result<()> {
        if self.backend == Backend::Postgres {
            for topic in topics {
                sqlx::query("SELECT pg_notify($1, $2)")
                    .bind(CHANNEL)
                    .bind(topic.as_str())
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        for topic in topics {
            self.generations.bump(*topic);
        }
        Ok(())
    }

    /// Keeps this process's read models up to date until the process ends:
    /// listens for other replicas' writes, and, as a safety net for a write
    /// that was not announced, looks at the newest deployment and the newest
    /// change of one every second.
    ///
    /// `heard` is told of what waiters on this replica should look at again
    /// because another replica (or this one) wrote it: new log lines, or
    /// jobs for some agents.
    pub async fn watch(&self, heard: impl Fn(Heard) + Send + Sync) {
        tokio::join!(self.listen(&heard), self.poll_deployments());
    }

    /// Tells every replica (this one too) that log lines were stored, so
    /// followers of a log read again (PostgreSQL only).
    pub(crate) async fn announce_logs(&self, tx: &mut Tx) -> Result<()> {
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_notify($1, 'logs')")
                .bind(CHANNEL)
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    /// Tells every replica that `agents` have jobs waiting, so that those
    /// waiting for one on any replica look at once (PostgreSQL only; on
    /// SQLite the one server wakes its own waiters).
    pub async fn announce_jobs(&self, agents: &[i64]) -> Result<()> {
        if self.backend != Backend::Postgres || agents.is_empty() {
            return Ok(());
        }
        // A notification carries at most 8,000 bytes.
        for chunk in agents.chunks(500) {
            let list: Vec<String> = chunk.iter().map(i64::to_string).collect();
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(CHANNEL)
                .bind(format!("agents:{}", list.join(",")))
                .execute(self.pool())
                .await?;
        }
        Ok(())
    }

    async fn poll_deployments(&self) {
        let mut last = None;
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            if let Ok(stamp) = self.deployments_stamp().await {
                if last.as_ref().is_some_and(|last| *last != stamp) {
                    self.generations.bump(Topic::Deployments);
                }
                last = Some(stamp);
            }
        }
    }

    /// Listens for other replicas' writes until the process ends (PostgreSQL
    /// only; on SQLite it returns at once). A lost connection is made again
    /// after a second, and every read model is marked out of date.
    async fn listen(&self, heard: &(impl Fn(Heard) + Send + Sync)) {
        let Some(url) = self.postgres_url.clone() else {
            return;
        };
        loop {
            match sqlx::postgres::PgListener::connect(&url).await {
                Ok(mut listener) => {
                    if let Err(error) = listener.listen(CHANNEL).await {
                        tracing::warn!(%error, "listening for other replicas' writes failed");
                    } else {
                        // Whatever was told while nobody listened is lost;
                        // waiters poll, and read models are built again.
                        self.generations.bump_all();
                        heard(Heard::Logs);
                        loop {
                            match listener.try_recv().await {
                                Ok(Some(notification)) => {
                                    let payload = notification.payload();
                                    if payload == "logs" {
                                        heard(Heard::Logs);
                                    } else if let Some(list) = payload.strip_prefix("agents:") {
                                        let agents =
                                            list.split(',').filter_map(|id| id.parse().ok());
                                        heard(Heard::Jobs(agents.collect()));
                                    } else {
                                        match Topic::parse(payload) {
                                            Some(topic) => self.generations.bump(topic),
                                            None => self.generations.bump_all(),
                                        }
                                    }
                                }
                                // The connection was lost: it is made
                                // again below, and listening again marks
                                // everything out of date.
                                Ok(None) => break,
                                Err(error) => {
                                    tracing::warn!(%error, "the listening connection failed");
                                    break;
                                }
                            }
                        }
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "cannot listen for other replicas' writes");
                }
            }
            self.generations.bump_all();
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    }
}
