//! Credentials already checked, so that a request does not go to the
//! database to learn who sent it: API tokens (`crate::auth`) and agent
//! tokens (`crate::agent_auth`), by the hash of their secret.
//!
//! Whatever changes users, tokens, groups, grants or agents (a revocation,
//! here or on another replica) empties the cache at once (see
//! `ferry_store::freshness`). An entry is also dropped after
//! [`CredentialCache::TTL`], so that what is recorded about a credential's
//! use (a token's last use, an agent's last contact) is still written about
//! once a minute, and when it is no longer live (a token's expiry).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ferry_store::Store;
use ferry_store::freshness::Topic;

/// Credentials of one kind, found by the hash of their secret.
#[derive(Debug)]
pub struct CredentialCache<T>(Mutex<Known<T>>);

#[derive(Debug)]
struct Known<T> {
    /// The access generation the entries were read at.
    generation: u64,
    by_hash: HashMap<String, (Instant, T)>,
}

impl<T> Default for CredentialCache<T> {
    fn default() -> Self {
        Self(Mutex::new(Known {
            generation: 0,
            by_hash: HashMap::new(),
        }))
    }
}

impl<T: Clone> CredentialCache<T> {
    /// How long a checked credential is kept.
    pub const TTL: Duration = Duration::from_secs(60);
    /// The most credentials kept; past it the cache starts afresh.
    const CAPACITY: usize = 10_000;

    /// What the credential whose secret hashes to `hash` was found to be,
    /// if it was checked since access last changed and `live` still holds.
    fn get(&self, store: &Store, hash: &str, live: impl Fn(&T) -> bool) -> Option<T> {
        let generation = store.generations().of(Topic::Access);
        let mut known = self.0.lock().ok()?;
        if known.generation != generation {
            known.by_hash.clear();
            known.generation = generation;
            return None;
        }
        let (at, found) = known.by_hash.get(hash)?;
        if at.elapsed() < Self::TTL && live(found) {
            Some(found.clone())
        } else {
            known.by_hash.remove(hash);
            None
        }
    }

    /// What the credential whose secret hashes to `hash` is: from memory
    /// (see [`CredentialCache::get`]), or as `read` finds it in the
    /// database, which is kept when it is found.
    pub async fn get_or_read<E>(
        &self,
        store: &Store,
        hash: &str,
        live: impl Fn(&T) -> bool,
        read: impl Future<Output = Result<Option<T>, E>>,
    ) -> Result<Option<T>, E> {
        if let Some(known) = self.get(store, hash, live) {
            return Ok(Some(known));
        }
        let stamp = store.stamp(&[Topic::Access]);
        let found = read.await?;
        if let Some(found) = &found {
            self.put(&stamp, hash.to_owned(), found.clone());
        }
        Ok(found)
    }

    /// Keeps `found`, read at the access generations `stamp` (taken with
    /// `store.stamp(&[Topic::Access])` before reading).
    fn put(&self, stamp: &[u64], hash: String, found: T) {
        let Ok(mut known) = self.0.lock() else { return };
        if stamp.first() != Some(&known.generation) {
            // Read before a change this cache has already seen (or one it
            // has not seen yet): not kept.
            return;
        }
        if known.by_hash.len() >= Self::CAPACITY {
            known.by_hash.clear();
        }
        known.by_hash.insert(hash, (Instant::now(), found));
    }
}
