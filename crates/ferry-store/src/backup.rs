//! An online copy of an SQLite database: a consistent snapshot while the
//! server keeps running and writing (`VACUUM INTO`, which reads inside one
//! transaction and writes a compact new file).

use std::path::Path;

use crate::{Backend, Result, Store, StoreError};

impl Store {
    /// Writes a consistent copy of this SQLite database to `path`, which
    /// must not exist. PostgreSQL databases are backed up with its own
    /// tools (`pg_dump`), which this refuses to stand in for.
    pub async fn copy_sqlite_to(&self, path: &Path) -> Result<()> {
        if self.backend() != Backend::Sqlite {
            return Err(StoreError::Invalid(
                "this database is PostgreSQL: back it up with pg_dump (docs/operations.md)".into(),
            ));
        }
        let target = path.to_str().ok_or_else(|| {
            StoreError::Invalid(format!("{} is not a UTF-8 path", path.display()))
        })?;
        sqlx::query("VACUUM INTO $1")
            .bind(target)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
