//! Agents: `ferry agent` processes on target machines, one environment each,
//! known by the SHA-256 of the secret the server gave them (never the secret).
//!
//! Registering is idempotent: an agent that restarts registers again with the
//! same name and secret and gets the same row (its tags updated); the same
//! name with another secret is refused, so one machine cannot take over
//! another's name (and its jobs).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use ferry_core::Name;
use serde_json::json;
use sqlx::AssertSqlSafe;
use sqlx::any::AnyRow;

use crate::audit::append;
use crate::freshness::Topic;
use crate::rows::{int, json, now, opt_time, text, time};
use crate::{Result, Store, StoreError, Tx};

/// An agent as stored, without its token hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentRecord {
    /// Row id.
    pub id: i64,
    /// Its name, unique in its environment.
    pub name: String,
    /// The environment it deploys into.
    pub environment: String,
    /// Its tags (`--tag k=v`), matched by services' target selectors.
    pub tags: BTreeMap<String, String>,
    /// When it first registered.
    pub created_at: DateTime<Utc>,
    /// When it was last heard from, to the minute.
    pub last_seen_at: Option<DateTime<Utc>>,
    /// When it was revoked; a revoked agent does not authenticate.
    pub revoked_at: Option<DateTime<Utc>>,
}

const SELECT: &str = "SELECT a.id, a.name, e.name AS environment, a.tags, a.token_hash, \
     a.created_at, a.last_seen_at, a.revoked_at \
     FROM agents a JOIN environments e ON e.id = a.environment_id";

fn agent(row: &AnyRow) -> Result<AgentRecord> {
    Ok(AgentRecord {
        id: int(row, "id")?,
        name: text(row, "name")?,
        environment: text(row, "environment")?,
        tags: json(row, "tags")?,
        created_at: time(row, "created_at")?,
        last_seen_at: opt_time(row, "last_seen_at")?,
        revoked_at: opt_time(row, "revoked_at")?,
    })
}

/// The agent named `name` in environment `environment_id`, with its token hash.
async fn by_name(
    tx: &mut Tx,
    environment_id: i64,
    name: &Name,
) -> Result<Option<(AgentRecord, String)>> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "{SELECT} WHERE a.environment_id = $1 AND a.name = $2"
    )))
    .bind(environment_id)
    .bind(name.as_str())
    .fetch_optional(&mut **tx)
    .await?;
    row.map(|row| Ok((agent(&row)?, text(&row, "token_hash")?)))
        .transpose()
}

impl Store {
    /// Registers agent `name` in `environment` with `tags`, known by
    /// `token_hash` (SHA-256 hex of its secret). Registering again with the
    /// same hash returns the same agent, updating its tags (and writing
    /// nothing when they are unchanged); the same name with another hash, or
    /// a hash another agent has, is a [`StoreError::Conflict`].
    pub async fn register_agent(
        &self,
        actor: &str,
        environment: &Name,
        name: &Name,
        tags: &BTreeMap<String, String>,
        token_hash: &str,
    ) -> Result<AgentRecord> {
        let mut tx = self.write().await?;
        let environment_id = int(
            &sqlx::query("SELECT id FROM environments WHERE name = $1")
                .bind(environment.as_str())
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| {
                    StoreError::NotFound(format!(
                        "there is no environment {:?}",
                        environment.as_str()
                    ))
                })?,
            "id",
        )?;
        let tags_json = serde_json::to_string(tags)?;
        let mut existing = by_name(&mut tx, environment_id, name).await?;
        if existing.is_none() {
            // Two replicas may register the same agent at once: the unique
            // key decides, and the loser goes on as a re-registration.
            let inserted = sqlx::query(
                "INSERT INTO agents (name, environment_id, tags, token_hash, created_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (environment_id, name) DO NOTHING \
                 RETURNING id",
            )
            .bind(name.as_str())
            .bind(environment_id)
            .bind(&tags_json)
            .bind(token_hash)
            .bind(now())
            .fetch_optional(&mut *tx)
            .await
            .map_err(|error| match StoreError::from(error) {
                StoreError::Conflict(_) => StoreError::Conflict(
                    "another agent is registered with this token: create a token per agent"
                        .to_owned(),
                ),
                other => other,
            })?;
            if let Some(inserted) = inserted {
                let id = int(&inserted, "id")?;
                let details =
                    json!({ "after": { "name": name, "environment": environment, "tags": tags } });
                append(
                    &mut tx,
                    self.backend(),
                    actor,
                    "agent.register",
                    &format!("agent:{id}"),
                    details,
                )
                .await?;
                let created = agent(
                    &sqlx::query(AssertSqlSafe(format!("{SELECT} WHERE a.id = $1")))
                        .bind(id)
                        .fetch_one(&mut *tx)
                        .await?,
                )?;
                self.commit(tx, &[Topic::Access]).await?;
                return Ok(created);
            }
            existing = by_name(&mut tx, environment_id, name).await?;
        }
        let Some((found, found_hash)) = existing else {
            return Err(StoreError::Corrupt(format!(
                "agent {:?} vanished while registering",
                name.as_str()
            )));
        };
        if found_hash != token_hash {
            return Err(StoreError::Conflict(format!(
                "agent {:?} is already registered in {:?} with another token",
                name.as_str(),
                environment.as_str()
            )));
        }
        if found.revoked_at.is_some() {
            return Err(StoreError::Conflict(format!(
                "agent {:?} in {:?} was revoked: register it with a new token and name",
                name.as_str(),
                environment.as_str()
            )));
        }
        if &found.tags == tags {
            return Ok(found);
        }
        sqlx::query("UPDATE agents SET tags = $1 WHERE id = $2")
            .bind(&tags_json)
            .bind(found.id)
            .execute(&mut *tx)
            .await?;
        let details = json!({ "before": { "tags": found.tags }, "after": { "tags": tags } });
        append(
            &mut tx,
            self.backend(),
            actor,
            "agent.register",
            &format!("agent:{}", found.id),
            details,
        )
        .await?;
        self.commit(tx, &[Topic::Access]).await?;
        Ok(AgentRecord {
            tags: tags.clone(),
            ..found
        })
    }

    /// Gives agent `id` the token whose hash is `token_hash`: the old token
    /// stops authenticating at once, and the agent keeps its row, tags and
    /// jobs. For an agent whose secret is kept nowhere, such as the server's
    /// local agents, which get a fresh one at every start. A revoked agent
    /// stays revoked, and a hash another agent has is refused: both are a
    /// [`StoreError::Conflict`].
    pub async fn replace_agent_token(
        &self,
        actor: &str,
        id: i64,
        token_hash: &str,
    ) -> Result<AgentRecord> {
        let mut tx = self.write().await?;
        let found = agent(
            &sqlx::query(AssertSqlSafe(format!("{SELECT} WHERE a.id = $1")))
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("there is no agent {id}")))?,
        )?;
        if found.revoked_at.is_some() {
            return Err(StoreError::Conflict(format!(
                "agent {:?} in {:?} was revoked: it gets no new token",
                found.name, found.environment
            )));
        }
        sqlx::query("UPDATE agents SET token_hash = $1 WHERE id = $2")
            .bind(token_hash)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(|error| match StoreError::from(error) {
                StoreError::Conflict(_) => StoreError::Conflict(
                    "another agent is registered with this token: create a token per agent"
                        .to_owned(),
                ),
                other => other,
            })?;
        // The audit trail says that the token changed, never what it is.
        let details = json!({ "after": { "token": "replaced" } });
        append(
            &mut tx,
            self.backend(),
            actor,
            "agent.rotate",
            &format!("agent:{id}"),
            details,
        )
        .await?;
        self.commit(tx, &[Topic::Access]).await?;
        Ok(found)
    }

    /// The live (not revoked) agent whose token has this hash.
    pub async fn agent_by_token(&self, token_hash: &str) -> Result<Option<AgentRecord>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "{SELECT} WHERE a.token_hash = $1 AND a.revoked_at IS NULL"
        )))
        .bind(token_hash)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(agent).transpose()
    }

    /// The agents of `environment`, or of every environment, by environment
    /// and name.
    pub async fn agents(&self, environment: Option<&Name>) -> Result<Vec<AgentRecord>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "{SELECT} WHERE $1 = '' OR e.name = $1 ORDER BY e.name, a.name"
        )))
        .bind(environment.map_or("", Name::as_str))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(agent).collect()
    }

    /// Records that agent `id` was heard from at `now`, at most once a
    /// minute, so polling agents do not turn reads into writes.
    pub async fn touch_agent(&self, id: i64, now: DateTime<Utc>) -> Result<()> {
        let row = sqlx::query("SELECT last_seen_at FROM agents WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("there is no agent {id}")))?;
        let stale = opt_time(&row, "last_seen_at")?
            .is_none_or(|last| now - last > chrono::Duration::minutes(1));
        if stale {
            // The guard keeps a concurrent touch from moving the time back.
            sqlx::query(
                "UPDATE agents SET last_seen_at = $1 \
                 WHERE id = $2 AND (last_seen_at IS NULL OR last_seen_at < $1)",
            )
            .bind(ferry_core::time::format_time(now))
            .bind(id)
            .execute(self.pool())
            .await?;
        }
        Ok(())
    }

    /// How many agents, not revoked, were heard from at `since` or later
    /// (`last_seen_at` is kept to the minute: see [`Store::touch_agent`]).
    pub async fn agents_seen_since(&self, since: DateTime<Utc>) -> Result<i64> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM agents \
             WHERE revoked_at IS NULL AND last_seen_at >= $1",
        )
        .bind(ferry_core::time::format_time(since))
        .fetch_one(self.pool())
        .await?;
        int(&row, "n")
    }
}

impl Store {
    /// The agent named `name`, in `environment` when given; a name that
    /// agents of several environments have needs the environment.
    pub async fn agent_named(
        &self,
        environment: Option<&Name>,
        name: &Name,
    ) -> Result<AgentRecord> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "{SELECT} WHERE a.name = $1 AND ($2 = '' OR e.name = $2) ORDER BY e.name"
        )))
        .bind(name.as_str())
        .bind(environment.map_or("", Name::as_str))
        .fetch_all(self.pool())
        .await?;
        let mut found: Vec<AgentRecord> = rows.iter().map(agent).collect::<Result<_>>()?;
        match found.len() {
            0 => Err(StoreError::NotFound(match environment {
                Some(environment) => format!("there is no agent {name} in {environment}"),
                None => format!("there is no agent {name}"),
            })),
            1 => Ok(found.remove(0)),
            _ => {
                let environments: Vec<String> =
                    found.into_iter().map(|agent| agent.environment).collect();
                Err(StoreError::Invalid(format!(
                    "agents named {name} deploy into {}: say which with --env",
                    environments.join(", ")
                )))
            }
        }
    }

    /// Revokes agent `id`: its token is refused from now on, and a job it
    /// holds is treated as lost (its lease ends now, so the orchestrator
    /// fails it, or retries it where its steps allow).
    pub async fn revoke_agent(&self, actor: &str, id: i64) -> Result<AgentRecord> {
        let mut tx = self.write().await?;
        let row = sqlx::query(AssertSqlSafe(format!("{SELECT} WHERE a.id = $1")))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(found) = row.as_ref().map(agent).transpose()? else {
            let missing = StoreError::NotFound(format!("there is no agent {id}"));
            return Store::abandon(tx, Err(missing)).await;
        };
        if found.revoked_at.is_some() {
            return Store::abandon(tx, Ok(found)).await;
        }
        let at = now();
        sqlx::query("UPDATE agents SET revoked_at = $1 WHERE id = $2")
            .bind(&at)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let lost = sqlx::query(
            "UPDATE jobs SET lease_expires_at = $1 WHERE agent_id = $2 AND state = 'running'",
        )
        .bind(&at)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let details =
            json!({ "agent": found.name, "environment": found.environment, "jobs_lost": lost });
        append(
            &mut tx,
            self.backend(),
            actor,
            "agent.revoke",
            &format!("agent:{id}"),
            details,
        )
        .await?;
        let row = sqlx::query(AssertSqlSafe(format!("{SELECT} WHERE a.id = $1")))
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        self.commit(tx, &[Topic::Access]).await?;
        agent(&row)
    }
}
