//! ferry's storage: one [`Store`] over SQLite (the embedded default) or
//! PostgreSQL (for replicas), chosen strictly by the URL's scheme.
//!
//! Rules it keeps:
//! - every change of state appends an audit event in the same transaction
//!   ([`audit`]), so the trail and the data cannot disagree;
//! - writes on SQLite begin `IMMEDIATE` (one writer at a time, no upgrade
//!   deadlocks); on PostgreSQL the audit head row is locked `FOR UPDATE`, which
//!   orders concurrent writers the same way;
//! - SQL is written once for both backends; the few places that differ ask
//!   [`Backend`];
//! - "not found" and uniqueness violations become [`StoreError`] variants with
//!   a sentence for the user, never SQL text.
//!
//! The migrations are embedded and run at [`Store::connect`]. A landed
//! migration is never edited: add a new one.

pub mod access;
pub mod agents;
pub mod approvals;
pub mod audit;
pub mod auth;
pub mod blobs;
pub mod changes;
pub mod config;
pub mod deployments;
mod error;
pub mod evidence;
pub mod gate_facts;
pub mod jobs;
pub mod logs;
mod migrations;
pub mod progress;
pub mod releases;
mod rows;
pub mod status;
pub mod variables;

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

pub use error::{Result, StoreError};

/// The database behind a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// The handle to ferry's database. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

/// An open write transaction.
pub(crate) type Tx = sqlx::Transaction<'static, sqlx::Any>;

impl Store {
    /// Opens the database at `url` (`sqlite://PATH` or `postgres://…`),
    /// creating an SQLite file if missing, and brings its schema up to date.
    pub async fn connect(url: &str) -> Result<Self> {
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl(redact(url)));
        };
        sqlx::any::install_default_drivers();
        let url = match backend {
            Backend::Sqlite if !url.contains("mode=") => {
                let separator = if url.contains('?') { '&' } else { '?' };
                format!("{url}{separator}mode=rwc")
            }
            _ => url.to_owned(),
        };
        let options = AnyConnectOptions::from_str(&url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 8 } else { 16 })
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(move |connection, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers work while one writer writes; FULL makes
                        // every committed audit event durable; the timeout makes a
                        // second writer wait instead of failing.
                        connection
                            .execute(
                                "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                                 PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
                            )
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        let store = Self { pool, backend };
        migrations::run(&store).await?;
        Ok(store)
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Closes every connection (at shutdown, so SQLite checkpoints its WAL).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Begins a write transaction (see the crate's rules).
    pub(crate) async fn write(&self) -> Result<Tx> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    /// Ends `tx` without changing anything and answers `result`. Dropping a
    /// transaction rolls it back too, but only once the pool gets round to
    /// the connection: until then its locks are held, and a claim with SKIP
    /// LOCKED (or SQLite's single writer) would pass over the rows for nothing.
    pub(crate) async fn abandon<T>(tx: Tx, result: Result<T>) -> Result<T> {
        tx.rollback().await?;
        result
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }
}

/// The URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_not_repeated() {
        assert_eq!(redact("postgres://u:secret@db/x"), "postgres://u:***@db/x");
        assert_eq!(redact("mysql://db/x"), "mysql://db/x");
    }
}
