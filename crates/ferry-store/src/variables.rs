//! Variables set with `ferry var set`: per environment, plain or secret.
//!
//! The store keeps what it is given. A secret's value arrives sealed by the
//! server (which holds the key) and is never opened here; the audit trail
//! records that a secret was set or unset, never its value, sealed or not.
//! The plain variables of `ferry.toml` live with their environment
//! ([`crate::config`]).

use chrono::{DateTime, Utc};
use ferry_core::Name;
use serde_json::{Value, json};
use sqlx::AssertSqlSafe;
use sqlx::any::AnyRow;

use crate::audit::append;
use crate::rows::{int, now, text, time};
use crate::{Result, Store, StoreError, Tx};

/// A variable as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct VariableRecord {
    /// The environment it belongs to.
    pub environment: String,
    /// Its name.
    pub name: String,
    /// Its value; for a secret, the value as the server sealed it.
    pub value: String,
    /// Whether it is secret.
    pub secret: bool,
    /// Who set it last.
    pub updated_by: String,
    /// When it was first set.
    pub created_at: DateTime<Utc>,
    /// When it was last set.
    pub updated_at: DateTime<Utc>,
}

impl std::fmt::Debug for VariableRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let value = if self.secret { "***" } else { &self.value };
        f.debug_struct("VariableRecord")
            .field("environment", &self.environment)
            .field("name", &self.name)
            .field("value", &value)
            .field("secret", &self.secret)
            .field("updated_by", &self.updated_by)
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .finish()
    }
}

/// A value to set: the server seals a secret before it gets here.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum NewValue<'a> {
    /// A plain value, stored and audited as it is.
    Plain(&'a str),
    /// A secret, sealed: stored as it is, never audited.
    Sealed(&'a str),
}

impl std::fmt::Debug for NewValue<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NewValue::Plain(value) => f.debug_tuple("Plain").field(value).finish(),
            NewValue::Sealed(_) => f.write_str("Sealed(..)"),
        }
    }
}

const SELECT: &str = "SELECT e.name AS environment, v.name, v.value, v.secret, v.updated_by, \
     v.created_at, v.updated_at \
     FROM variables v JOIN environments e ON e.id = v.environment_id";

fn variable(row: &AnyRow) -> Result<VariableRecord> {
    Ok(VariableRecord {
        environment: text(row, "environment")?,
        name: text(row, "name")?,
        value: text(row, "value")?,
        secret: int(row, "secret")? != 0,
        updated_by: text(row, "updated_by")?,
        created_at: time(row, "created_at")?,
        updated_at: time(row, "updated_at")?,
    })
}

/// What the audit trail says of a variable: its value only when plain.
fn audited(secret: bool, value: &str) -> Value {
    if secret {
        json!({ "secret": true })
    } else {
        json!({ "secret": false, "value": value })
    }
}

async fn environment_id(tx: &mut Tx, environment: &Name) -> Result<i64> {
    let row = sqlx::query("SELECT id FROM environments WHERE name = $1")
        .bind(environment.as_str())
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| {
            StoreError::NotFound(format!(
                "there is no environment {:?}",
                environment.as_str()
            ))
        })?;
    int(&row, "id")
}

async fn find(tx: &mut Tx, environment_id: i64, name: &str) -> Result<Option<VariableRecord>> {
    sqlx::query(AssertSqlSafe(format!(
        "{SELECT} WHERE v.environment_id = $1 AND v.name = $2"
    )))
    .bind(environment_id)
    .bind(name)
    .fetch_optional(&mut **tx)
    .await?
    .as_ref()
    .map(variable)
    .transpose()
}

impl Store {
    /// The variables set in `environment` (every environment when `None`),
    /// by environment and name. Refuses an environment that does not exist.
    pub async fn variables(&self, environment: Option<&Name>) -> Result<Vec<VariableRecord>> {
        let mut connection = self.pool().acquire().await?;
        let rows = match environment {
            Some(environment) => {
                let known = sqlx::query("SELECT id FROM environments WHERE name = $1")
                    .bind(environment.as_str())
                    .fetch_optional(&mut *connection)
                    .await?;
                if known.is_none() {
                    return Err(StoreError::NotFound(format!(
                        "there is no environment {:?}",
                        environment.as_str()
                    )));
                }
                sqlx::query(AssertSqlSafe(format!(
                    "{SELECT} WHERE e.name = $1 ORDER BY v.name"
                )))
                .bind(environment.as_str())
                .fetch_all(&mut *connection)
                .await?
            }
            None => {
                sqlx::query(AssertSqlSafe(format!("{SELECT} ORDER BY e.name, v.name")))
                    .fetch_all(&mut *connection)
                    .await?
            }
        };
        rows.iter().map(variable).collect()
    }

    /// Sets variable `name` of `environment` to `value`, replacing what was
    /// set before (a secret may become plain and the reverse). Returns the
    /// variable and whether it is new.
    pub async fn set_variable(
        &self,
        actor: &str,
        environment: &Name,
        name: &str,
        value: NewValue<'_>,
    ) -> Result<(VariableRecord, bool)> {
        ferry_core::variables::check_name(name).map_err(StoreError::Invalid)?;
        let (stored, secret) = match value {
            NewValue::Plain(plain) => {
                ferry_core::variables::check_value(name, plain).map_err(StoreError::Invalid)?;
                (plain, false)
            }
            NewValue::Sealed(sealed) => (sealed, true),
        };
        let mut tx = self.write().await?;
        let environment_id = environment_id(&mut tx, environment).await?;
        let before = find(&mut tx, environment_id, name).await?;
        let at = now();
        let sql = if before.is_some() {
            "UPDATE variables SET value = $3, secret = $4, updated_by = $5, updated_at = $6 \
             WHERE environment_id = $1 AND name = $2"
        } else {
            "INSERT INTO variables (environment_id, name, value, secret, updated_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6)"
        };
        sqlx::query(sql)
            .bind(environment_id)
            .bind(name)
            .bind(stored)
            .bind(i64::from(secret))
            .bind(actor)
            .bind(&at)
            .execute(&mut *tx)
            .await?;
        let mut details = audited(secret, stored);
        details["environment"] = json!(environment.as_str());
        details["name"] = json!(name);
        details["before"] = before
            .as_ref()
            .map_or(Value::Null, |b| audited(b.secret, &b.value));
        append(
            &mut tx,
            self.backend(),
            actor,
            "variable.set",
            &format!("variable:{environment}/{name}"),
            details,
        )
        .await?;
        let record = find(&mut tx, environment_id, name)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("variable {name} vanished")))?;
        tx.commit().await?;
        Ok((record, before.is_none()))
    }

    /// Removes variable `name` of `environment`; returns it as it was.
    pub async fn unset_variable(
        &self,
        actor: &str,
        environment: &Name,
        name: &str,
    ) -> Result<VariableRecord> {
        let mut tx = self.write().await?;
        let environment_id = environment_id(&mut tx, environment).await?;
        let before = find(&mut tx, environment_id, name).await?.ok_or_else(|| {
            StoreError::NotFound(format!(
                "environment {:?} has no variable {name} set",
                environment.as_str()
            ))
        })?;
        sqlx::query("DELETE FROM variables WHERE environment_id = $1 AND name = $2")
            .bind(environment_id)
            .bind(name)
            .execute(&mut *tx)
            .await?;
        append(
            &mut tx,
            self.backend(),
            actor,
            "variable.unset",
            &format!("variable:{environment}/{name}"),
            json!({
                "environment": environment.as_str(),
                "name": name,
                "before": audited(before.secret, &before.value),
            }),
        )
        .await?;
        tx.commit().await?;
        Ok(before)
    }
}
