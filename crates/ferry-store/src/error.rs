//! What can go wrong in the store, in terms a caller can act on.

use sqlx::error::DatabaseError as _;

/// A store error. Database failures are kept whole for the log; the other
/// variants carry a sentence fit for the user.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The thing asked for does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The write would break a uniqueness rule (it exists already).
    #[error("{0}")]
    Conflict(String),
    /// The write is not allowed in the current state, or refers to something invalid.
    #[error("{0}")]
    Invalid(String),
    /// The database URL names no backend ferry has.
    #[error("unsupported database URL {0:?}: expected sqlite://PATH or postgres://USER@HOST/DB")]
    UnsupportedUrl(String),
    /// The schema could not be brought up to date.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Stored data could not be read back (a bug, or a hand-edited database).
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    /// The disk under the database (or the artifact store) is full: nothing
    /// was written. The cause, for the log, is kept apart from the sentence.
    #[error("{STORAGE_FULL}")]
    StorageFull {
        /// What the database or the file system said.
        cause: String,
    },
    /// The database answers but cannot take writes now (a read-only
    /// standby, a data directory that refuses files).
    #[error("the database cannot be written: {0}")]
    Unwritable(String),
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
}

/// What a client is told when the server's disk is full.
pub const STORAGE_FULL: &str = "the server's disk is full, so nothing was saved; \
     its operator must free space on the disk of its data directory (or of its database), \
     then the request can be tried again";

impl StoreError {
    /// Whether this is [`StoreError::StorageFull`].
    pub fn is_storage_full(&self) -> bool {
        matches!(self, StoreError::StorageFull { .. })
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        if is_storage_full(&error) {
            return StoreError::StorageFull {
                cause: error.to_string(),
            };
        }
        match &error {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Conflict(format!("it exists already ({})", db.message()))
            }
            _ => StoreError::Database(error),
        }
    }
}

/// SQLite's `SQLITE_FULL`.
const SQLITE_FULL: i32 = 13;
/// SQLite's `SQLITE_IOERR_WRITE`: a write(2) failed (SQLite reports `ENOSPC`
/// as `SQLITE_FULL`, but other write failures of a full disk, such as
/// `EDQUOT`, arrive as this).
const SQLITE_IOERR_WRITE: i32 = 10 | (3 << 8);
/// SQLite's `SQLITE_IOERR_SHMSIZE`: the WAL index could not grow.
const SQLITE_IOERR_SHMSIZE: i32 = 10 | (19 << 8);
/// PostgreSQL's `disk_full` SQLSTATE.
const POSTGRES_DISK_FULL: &str = "53100";

/// Whether `error` says the disk is full: SQLite's `SQLITE_FULL` and write
/// I/O errors, PostgreSQL's `53100 disk_full`, or an I/O error `ENOSPC`.
pub(crate) fn is_storage_full(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(db) => {
            if let Some(sqlite) = db.try_downcast_ref::<sqlx::sqlite::SqliteError>() {
                let code = sqlite
                    .code()
                    .and_then(|code| code.parse::<i32>().ok())
                    .unwrap_or_default();
                code & 0xff == SQLITE_FULL
                    || code == SQLITE_IOERR_WRITE
                    || code == SQLITE_IOERR_SHMSIZE
            } else if let Some(postgres) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
            {
                postgres.code() == POSTGRES_DISK_FULL
            } else {
                db.code().as_deref() == Some(POSTGRES_DISK_FULL)
            }
        }
        sqlx::Error::Io(io) => io_is_storage_full(io),
        _ => false,
    }
}

/// Whether an I/O error says the disk (or the quota on it) is full.
pub fn io_is_storage_full(error: &std::io::Error) -> bool {
    /// `ENOSPC` (the same number on Linux and the BSDs).
    const ENOSPC: i32 = 28;
    matches!(
        error.kind(),
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
    ) || error.raw_os_error() == Some(ENOSPC)
}

impl From<serde_json::Error> for StoreError {
    fn from(error: serde_json::Error) -> Self {
        StoreError::Corrupt(error.to_string())
    }
}

/// A store result.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
