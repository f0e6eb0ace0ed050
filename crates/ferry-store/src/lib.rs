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
pub mod backup;
pub mod blobs;
pub mod calendar_feeds;
pub mod changes;
pub mod config;
pub mod deployments;
pub mod drivers;
mod error;
pub mod evidence;
pub mod evidence_pack;
pub mod freeze_watch;
pub mod freshness;
pub mod gate_facts;
mod group;
pub mod idempotency;
pub mod incidents;
pub mod jobs;
pub mod locks;
pub mod logs;
pub mod marks;
mod migrations;
pub mod passwords;
pub mod pauses;
pub mod plans;
pub mod progress;
pub mod refusals;
pub mod releases;
pub mod reviews;
mod rows;
pub mod sessions;
pub mod single_sign_on;
pub mod status;
pub mod trains;
pub mod variables;
mod webhook_config;
pub mod webhooks;

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Connection as _, Executor, Row as _};

pub use error::{Result, STORAGE_FULL, StoreError, io_is_storage_full};

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
    /// The SQLite file, for the readiness probe (`None` on PostgreSQL and for
    /// an in-memory database).
    sqlite_file: Option<PathBuf>,
    /// The PostgreSQL server's URL, to listen for other replicas' writes.
    postgres_url: Option<String>,
    /// What this process's read models were built from (see [`freshness`]).
    generations: std::sync::Arc<freshness::Generations>,
    /// The read model of the status matrix (see [`status`]).
    status_model: std::sync::Arc<freshness::Cached<status::StatusFacts>>,
    /// Agents' job writes waiting to be written together (see [`group`]).
    group: std::sync::Arc<group::Group>,
    /// The facts gates judged, by promotion (see [`gate_facts`]).
    gate_facts_kept: std::sync::Arc<gate_facts::KeptFacts>,
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
        let sqlite_file = match backend {
            Backend::Sqlite => sqlite_file(&url),
            Backend::Postgres => None,
        };
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 8 } else { 16 })
            .acquire_timeout(Duration::from_secs(30))
            // A connection whose COMMIT or ROLLBACK failed (a full disk makes
            // SQLite end the transaction itself, so the ROLLBACK that follows
            // fails too) still counts itself inside a transaction: given out
            // again, its next `BEGIN IMMEDIATE` would fail ("begin_with at
            // non-zero transaction depth") until a restart. Such a connection
            // is closed instead, and the pool opens a fresh one.
            .after_release(|connection, _| {
                Box::pin(async move {
                    if connection.is_in_transaction() {
                        // A dropped transaction queued its rollback: run it.
                        connection.ping().await?;
                    }
                    Ok(keep(connection))
                })
            })
            .before_acquire(|connection, _| Box::pin(async move { Ok(keep(connection)) }))
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
        let store = Self {
            pool,
            backend,
            sqlite_file,
            postgres_url: (backend == Backend::Postgres).then(|| url.clone()),
            generations: std::sync::Arc::default(),
            status_model: std::sync::Arc::default(),
            group: std::sync::Arc::default(),
            gate_facts_kept: std::sync::Arc::default(),
        };
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

    /// Whether the database answers and can take writes now: on SQLite, the
    /// disk of its file takes a small file ([`StoreError::StorageFull`] when
    /// it is full); on PostgreSQL, the server is not a read-only standby and
    /// a temporary table, written in a transaction rolled back, finds room.
    /// Fast enough to be asked often (a query and, on SQLite, one small file
    /// written and removed, not synced). Answers within [`READY_TIMEOUT`]:
    /// a database that cannot be reached is not ready, and a request waiting
    /// for a connection would wait up to the pool's acquire timeout.
    pub async fn ready(&self) -> Result<()> {
        tokio::time::timeout(READY_TIMEOUT, self.ready_now())
            .await
            .unwrap_or(Err(StoreError::Database(sqlx::Error::PoolTimedOut)))
    }

    async fn ready_now(&self) -> Result<()> {
        match self.backend {
            Backend::Sqlite => {
                self.ping().await?;
                if let Some(file) = &self.sqlite_file {
                    let mut probe = file.clone().into_os_string();
                    probe.push("-probe");
                    write_probe(PathBuf::from(probe)).await.map_err(|error| {
                        if io_is_storage_full(&error) {
                            StoreError::StorageFull {
                                cause: format!("writing beside {}: {error}", file.display()),
                            }
                        } else {
                            StoreError::Unwritable(format!(
                                "a file cannot be written beside {}: {error}",
                                file.display()
                            ))
                        }
                    })?;
                }
            }
            Backend::Postgres => {
                let row = sqlx::query("SELECT pg_is_in_recovery() AS standby")
                    .fetch_one(&self.pool)
                    .await?;
                if row.try_get::<bool, _>("standby")? {
                    return Err(StoreError::Unwritable(
                        "the PostgreSQL server is a read-only standby (in recovery)".to_owned(),
                    ));
                }
                // A table written and thrown away: it takes a new page of the
                // database's tablespace, which a full disk refuses
                // (`53100 disk_full`); nothing of it outlives the rollback.
                let mut probe = self.pool.begin().await?;
                sqlx::query("CREATE TEMPORARY TABLE ferry_ready_probe (x integer)")
                    .execute(&mut *probe)
                    .await?;
                sqlx::query("INSERT INTO ferry_ready_probe VALUES (1)")
                    .execute(&mut *probe)
                    .await?;
                probe.rollback().await?;
            }
        }
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

/// How long the readiness probe waits for the database to answer.
pub const READY_TIMEOUT: Duration = Duration::from_secs(5);

impl StoreError {
    /// Whether the database cannot be reached now: its connection broke, no
    /// connection could be had in time (the server is down or every
    /// connection is busy), or PostgreSQL is shutting down or starting up
    /// (SQLSTATE class 08, 57P01 to 57P03). The same request may succeed
    /// when it is tried again later.
    pub fn is_unavailable(&self) -> bool {
        let StoreError::Database(error) = self else {
            return false;
        };
        match error {
            sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => true,
            sqlx::Error::Database(db) => db
                .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                .is_some_and(|postgres| {
                    let code = postgres.code();
                    code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03")
                }),
            _ => false,
        }
    }
}

/// Whether a connection may be given out (again): not when it still counts
/// itself inside a transaction (see [`Store::connect`]).
fn keep(connection: &sqlx::AnyConnection) -> bool {
    let clean = !connection.is_in_transaction();
    if !clean {
        tracing::warn!(
            "a database connection is still inside a transaction whose commit or rollback \
             failed; it is closed and replaced"
        );
    }
    clean
}

/// The file of an SQLite URL; `None` for an in-memory database.
fn sqlite_file(url: &str) -> Option<PathBuf> {
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(url).ok()?;
    let file = options.get_filename();
    let in_memory =
        file.as_os_str().is_empty() || url.contains(":memory:") || url.contains("mode=memory");
    (!in_memory).then(|| file.to_owned())
}

/// How much the readiness probe writes: a few pages of the database, about
/// what one write transaction adds to the WAL.
pub(crate) const PROBE_BYTES: usize = 64 << 10;

/// Writes [`PROBE_BYTES`] to `path` and removes it again: whether the file
/// system takes writes (not synced: a full disk refuses the write itself).
pub(crate) async fn write_probe(path: PathBuf) -> std::io::Result<()> {
    static ZEROS: [u8; PROBE_BYTES] = [0; PROBE_BYTES];
    tokio::task::spawn_blocking(move || {
        use std::io::Write as _;
        let written = std::fs::File::create(&path).and_then(|mut file| file.write_all(&ZEROS));
        // Probes at the same moment share the name: another may have removed it.
        let removed = match std::fs::remove_file(&path) {
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
            other => other,
        };
        written?;
        removed
    })
    .await
    .map_err(std::io::Error::other)?
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

    async fn sqlite_store() -> (Store, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("ferry.db").display());
        (Store::connect(&url).await.unwrap(), dir)
    }

    /// What a full disk does to a write: SQLite ends the transaction itself,
    /// so sqlx's COMMIT and then its ROLLBACK fail, and the connection still
    /// counts itself inside the transaction. It must not be given out again.
    #[tokio::test]
    async fn a_connection_left_inside_a_transaction_is_never_given_out_again() {
        let (store, _dir) = sqlite_store().await;
        for _ in 0..16 {
            let mut tx = store.write().await.unwrap();
            sqlx::query("ROLLBACK").execute(&mut *tx).await.unwrap();
            assert!(tx.commit().await.is_err(), "no transaction is active");
        }
        for n in 0..100 {
            let tx = store
                .write()
                .await
                .unwrap_or_else(|error| panic!("write {n} after the failures: {error}"));
            tx.commit().await.unwrap();
        }
    }

    #[tokio::test]
    async fn a_full_database_is_storage_full() {
        let (store, _dir) = sqlite_store().await;
        let mut connection = store.pool().acquire().await.unwrap();
        sqlx::query("CREATE TABLE filler (bytes BLOB)")
            .execute(&mut *connection)
            .await
            .unwrap();
        // SQLite answers SQLITE_FULL once the file would pass this size, as
        // on a full disk.
        sqlx::query("PRAGMA max_page_count = 64")
            .execute(&mut *connection)
            .await
            .unwrap();
        let error = sqlx::query("INSERT INTO filler VALUES (zeroblob(1048576))")
            .execute(&mut *connection)
            .await
            .unwrap_err();
        let error = StoreError::from(error);
        assert!(error.is_storage_full(), "{error:?}");
        assert_eq!(error.to_string(), STORAGE_FULL);
        connection.close().await.unwrap();
        store.ready().await.unwrap();
    }

    #[tokio::test]
    async fn a_full_data_directory_is_not_ready_and_a_standby_neither() {
        let (store, dir) = sqlite_store().await;
        store.ready().await.unwrap();
        // Beside the database no file can be written (a directory is in
        // the probe's way: this works as root too).
        let path = dir.path().join("ferry.db-probe");
        std::fs::create_dir(&path).unwrap();
        let error = store.ready().await.unwrap_err();
        assert!(matches!(error, StoreError::Unwritable(_)), "{error:?}");
        std::fs::remove_dir(&path).unwrap();
        store.ready().await.unwrap();
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(
            sqlite_file("sqlite:///srv/ferry/ferry.db?mode=rwc"),
            Some(PathBuf::from("/srv/ferry/ferry.db"))
        );

        // PostgreSQL: a primary is ready (only a query: no schema is touched).
        let Ok(url) = std::env::var("FERRY_TEST_POSTGRES_URL") else {
            eprintln!("FERRY_TEST_POSTGRES_URL is not set: skipping the PostgreSQL part");
            return;
        };
        sqlx::any::install_default_drivers();
        let postgres = Store {
            pool: AnyPool::connect(&url).await.unwrap(),
            backend: Backend::Postgres,
            sqlite_file: None,
            postgres_url: Some(url.clone()),
            generations: std::sync::Arc::default(),
            status_model: std::sync::Arc::default(),
            group: std::sync::Arc::default(),
            gate_facts_kept: std::sync::Arc::default(),
        };
        postgres.ready().await.unwrap();
        postgres.close().await;
    }

    #[test]
    fn a_full_disk_is_storage_full() {
        let enospc = std::io::Error::from_raw_os_error(28);
        assert!(io_is_storage_full(&enospc));
        assert!(StoreError::from(sqlx::Error::Io(enospc)).is_storage_full());
        let other = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        assert!(!io_is_storage_full(&other));
        assert!(!StoreError::from(sqlx::Error::Io(other)).is_storage_full());
    }

    #[test]
    fn an_unreachable_database_is_unavailable() {
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        assert!(StoreError::from(sqlx::Error::Io(reset)).is_unavailable());
        assert!(StoreError::from(sqlx::Error::PoolTimedOut).is_unavailable());
        assert!(StoreError::from(sqlx::Error::PoolClosed).is_unavailable());
        let enospc = std::io::Error::from_raw_os_error(28);
        assert!(!StoreError::from(sqlx::Error::Io(enospc)).is_unavailable());
        assert!(!StoreError::from(sqlx::Error::RowNotFound).is_unavailable());
        assert!(!StoreError::NotFound("no such group".to_owned()).is_unavailable());
    }

    #[test]
    fn passwords_are_not_repeated() {
        assert_eq!(redact("postgres://u:secret@db/x"), "postgres://u:***@db/x");
        assert_eq!(redact("mysql://db/x"), "mysql://db/x");
    }
}
