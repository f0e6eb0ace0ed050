//! Reading typed values out of rows, with "unreadable" errors that name the column.

use chrono::{DateTime, Utc};
use ferry_core::Name;
use serde::de::DeserializeOwned;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Result, StoreError};

pub(crate) fn text(row: &AnyRow, column: &str) -> Result<String> {
    Ok(row.try_get::<String, _>(column)?)
}

pub(crate) fn opt_text(row: &AnyRow, column: &str) -> Result<Option<String>> {
    Ok(row.try_get::<Option<String>, _>(column)?)
}

pub(crate) fn int(row: &AnyRow, column: &str) -> Result<i64> {
    Ok(row.try_get::<i64, _>(column)?)
}

/// A truth value: a boolean on PostgreSQL, 0 or 1 on SQLite.
pub(crate) fn flag(row: &AnyRow, column: &str) -> Result<bool> {
    match row.try_get::<bool, _>(column) {
        Ok(value) => Ok(value),
        Err(_) => Ok(int(row, column)? != 0),
    }
}

pub(crate) fn time(row: &AnyRow, column: &str) -> Result<DateTime<Utc>> {
    let text = text(row, column)?;
    ferry_core::time::parse_time(&text).map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

pub(crate) fn opt_time(row: &AnyRow, column: &str) -> Result<Option<DateTime<Utc>>> {
    opt_text(row, column)?
        .map(|text| {
            ferry_core::time::parse_time(&text)
                .map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
        })
        .transpose()
}

pub(crate) fn json<T: DeserializeOwned>(row: &AnyRow, column: &str) -> Result<T> {
    let text = text(row, column)?;
    serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

pub(crate) fn name(row: &AnyRow, column: &str) -> Result<Name> {
    let text = text(row, column)?;
    Name::parse(&text).map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

/// `service@version` from a row's `service` and `version` columns.
pub(crate) fn release_ref(row: &AnyRow) -> Result<ferry_core::ReleaseRef> {
    let version = text(row, "version")?;
    Ok(ferry_core::ReleaseRef {
        service: name(row, "service")?,
        version: semver::Version::parse(&version)
            .map_err(|e| StoreError::Corrupt(format!("version {version:?}: {e}")))?,
    })
}

/// Now, as stored.
pub(crate) fn now() -> String {
    ferry_core::time::format_time(Utc::now())
}
