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
//! delivered exactly when the write commits); [`Store::listen`] turns what
//! arrives into bumps, and bumps every topic when its connection is made
//! again, since notifications sent while it was down are lost. SQLite has
//! one server process, so the bump after commit is all it needs.

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
    pub async fn watch(&self) {
        tokio::join!(self.listen(), self.poll_deployments());
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
    pub async fn listen(&self) {
        let Some(url) = self.postgres_url.clone() else {
            return;
        };
        loop {
            match sqlx::postgres::PgListener::connect(&url).await {
                Ok(mut listener) => {
                    if let Err(error) = listener.listen(CHANNEL).await {
                        tracing::warn!(%error, "listening for other replicas' writes failed");
                    } else {
                        // Whatever was told while nobody listened is lost.
                        self.generations.bump_all();
                        loop {
                            match listener.try_recv().await {
                                Ok(Some(notification)) => {
                                    match Topic::parse(notification.payload()) {
                                        Some(topic) => self.generations.bump(topic),
                                        None => self.generations.bump_all(),
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
