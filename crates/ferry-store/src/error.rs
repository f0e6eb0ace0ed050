//! What can go wrong in the store, in terms a caller can act on.

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
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Conflict(format!("it exists already ({})", db.message()))
            }
            _ => StoreError::Database(error),
        }
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(error: serde_json::Error) -> Self {
        StoreError::Corrupt(error.to_string())
    }
}

/// A store result.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
