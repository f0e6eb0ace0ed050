//! Release trains: releases of several services, in deployment order, and
//! the runs that promote them into an environment. A run's member
//! deployments point at it (`deployments.train_run_id`); what a run does
//! next is decided by `ferry_core::train::next_step` from the facts read
//! here ([`Store::run_facts`]).

use chrono::{DateTime, Utc};
use ferry_core::train::{MemberFacts, RunStatus};
use ferry_core::{DeploymentStatus, Name};
use serde_json::json;
use sqlx::AssertSqlSafe;

use crate::audit::append;
use crate::freshness::Topic;
use crate::rows::{int, name, now, opt_text, text, time};
use crate::{Result, Store, StoreError};

/// A train and its members, in deployment order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrainRecord {
    /// Its id.
    pub id: i64,
    /// Its name.
    pub name: Name,
    /// Who made it.
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
    /// Its releases, in the order they deploy.
    pub members: Vec<MemberRecord>,
}

/// A release of a train.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRecord {
    /// The release's id.
    pub release_id: i64,
    /// Its service.
    pub service: Name,
    /// Its version.
    pub version: semver::Version,
}

impl MemberRecord {
    /// `service@version`.
    pub fn release(&self) -> String {
        format!("{}@{}", self.service, self.version)
    }
}

/// A run: a train's promotion into an environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRecord {
    /// Its id.
    pub id: i64,
    /// The train.
    pub train: Name,
    /// The environment.
    pub environment: Name,
    /// How it stands.
    pub status: RunStatus,
    /// Why it failed.
    pub reason: Option<String>,
    /// Who promoted the train.
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// A member's part in a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunMember {
    /// The member.
    pub member: MemberRecord,
    /// Its deployment in the run, and that deployment's status.
    pub deployment: Option<(i64, DeploymentStatus)>,
    /// The rollback of that deployment, and its status.
    pub rollback: Option<(i64, DeploymentStatus)>,
    /// What the run's rule needs to know of it.
    pub facts: MemberFacts,
}

fn status(text: &str) -> Result<DeploymentStatus> {
    DeploymentStatus::parse(text)
        .ok_or_else(|| StoreError::Corrupt(format!("deployment status {text:?}")))
}

const RUNS: &str = "SELECT x.id, t.name AS train, e.name AS environment, x.status, x.reason, \
     x.created_by, x.created_at, x.updated_at FROM train_runs x JOIN trains t ON t.id = x.train_id \
     JOIN environments e ON e.id = x.environment_id";

fn run(row: &sqlx::any::AnyRow) -> Result<RunRecord> {
    let status = text(row, "status")?;
    Ok(RunRecord {
        id: int(row, "id")?,
        train: name(row, "train")?,
        environment: name(row, "environment")?,
        status: RunStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("train run status {status:?}")))?,
        reason: opt_text(row, "reason")?,
        created_by: text(row, "created_by")?,
        created_at: time(row, "created_at")?,
        updated_at: time(row, "updated_at")?,
    })
}

impl Store {
    /// Makes train `train` of `members` (service and version), in the order
    /// given, for `actor`; with a plan made from `plan_template` dated from
    /// `go_live` when a template is given. A name taken is a
    /// [`StoreError::Conflict`]; a release that does not exist, a
    /// [`StoreError::NotFound`].
    pub async fn create_train(
        &self,
        actor: &str,
        train: &Name,
        members: &[(Name, semver::Version)],
        plan_template: Option<&ferry_core::release_plan::PlanTemplateSpec>,
        go_live: Option<DateTime<Utc>>,
    ) -> Result<TrainRecord> {
        let mut tx = self.write().await?;
        let row = sqlx::query(
            "INSERT INTO trains (name, created_by, created_at) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(train.as_str())
        .bind(actor)
        .bind(now())
        .fetch_one(&mut *tx)
        .await
        .map_err(|error| match StoreError::from(error) {
            StoreError::Conflict(_) => {
                StoreError::Conflict(format!("there is a train {train} already"))
            }
            other => other,
        })?;
        let id = int(&row, "id")?;
        for (position, (service, version)) in members.iter().enumerate() {
            let release = sqlx::query(
                "SELECT r.id, r.service_id FROM releases r JOIN services s ON s.id = r.service_id \
                 WHERE s.name = $1 AND r.version = $2",
            )
            .bind(service.as_str())
            .bind(version.to_string())
            .fetch_optional(&mut *tx)
            .await?;
            let Some(release) = release else {
                let error =
                    StoreError::NotFound(format!("there is no release {service}@{version}"));
                return Store::abandon(tx, Err(error)).await;
            };
            sqlx::query(
                "INSERT INTO train_members (train_id, release_id, service_id, position) VALUES ($1, $2, $3, $4)",
            )
            .bind(id)
            .bind(int(&release, "id")?)
            .bind(int(&release, "service_id")?)
            .bind(i64::try_from(position).unwrap_or(i64::MAX))
            .execute(&mut *tx)
            .await?;
        }
        let releases: Vec<String> = members.iter().map(|(s, v)| format!("{s}@{v}")).collect();
        let details = json!({ "after": { "name": train, "members": releases } });
        let object = format!("train:{train}");
        append(
            &mut tx,
            self.backend(),
            actor,
            "train.create",
            &object,
            details,
        )
        .await?;
        if let Some(template) = plan_template {
            crate::plans::create_plan_in(
                &mut tx,
                self.backend(),
                actor,
                crate::plans::PlanOf::Train(id),
                &object,
                actor,
                go_live,
                Some(template),
            )
            .await?;
        }
        self.commit(tx, &[Topic::Deployments]).await?;
        self.train(train).await
    }

    /// Train `train`, with its members in order.
    pub async fn train(&self, train: &Name) -> Result<TrainRecord> {
        let row =
            sqlx::query("SELECT id, name, created_by, created_at FROM trains WHERE name = $1")
                .bind(train.as_str())
                .fetch_optional(self.pool())
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("there is no train {train}")))?;
        let id = int(&row, "id")?;
        let members = sqlx::query(
            "SELECT m.release_id, s.name AS service, r.version FROM train_members m \
             JOIN releases r ON r.id = m.release_id JOIN services s ON s.id = m.service_id \
             WHERE m.train_id = $1 ORDER BY m.position",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|row| {
            let version = text(row, "version")?;
            Ok(MemberRecord {
                release_id: int(row, "release_id")?,
                service: name(row, "service")?,
                version: semver::Version::parse(&version)
                    .map_err(|e| StoreError::Corrupt(format!("version {version:?}: {e}")))?,
            })
        })
        .collect::<Result<_>>()?;
        Ok(TrainRecord {
            id,
            name: name(&row, "name")?,
            created_by: text(&row, "created_by")?,
            created_at: time(&row, "created_at")?,
            members,
        })
    }

    /// Every train, by name.
    pub async fn trains(&self) -> Result<Vec<TrainRecord>> {
        let names: Vec<Name> = sqlx::query("SELECT name FROM trains ORDER BY name")
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(|row| name(row, "name"))
            .collect::<Result<_>>()?;
        let mut trains = Vec::with_capacity(names.len());
        for train in &names {
            trains.push(self.train(train).await?);
        }
        Ok(trains)
    }

    /// The trains release `release_id` is in, by name.
    pub async fn trains_of_release(&self, release_id: i64) -> Result<Vec<Name>> {
        sqlx::query(
            "SELECT t.name FROM trains t JOIN train_members m ON m.train_id = t.id \
             WHERE m.release_id = $1 ORDER BY t.name",
        )
        .bind(release_id)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|row| name(row, "name"))
        .collect()
    }

    /// Starts a run of `train` into `environment` for `actor`. A train that
    /// is running already (anywhere) is a [`StoreError::Conflict`].
    pub async fn start_run(
        &self,
        actor: &str,
        train: &Name,
        environment: &Name,
    ) -> Result<RunRecord> {
        let mut tx = self.write().await?;
        let train_row = sqlx::query("SELECT id FROM trains WHERE name = $1")
            .bind(train.as_str())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("there is no train {train}")))?;
        let train_id = int(&train_row, "id")?;
        let environment_id = sqlx::query("SELECT id FROM environments WHERE name = $1")
            .bind(environment.as_str())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| {
                StoreError::NotFound(format!("there is no environment {environment}"))
            })?;
        if let Some(running) = sqlx::query(AssertSqlSafe(format!(
            "{RUNS} WHERE x.train_id = $1 AND x.status = 'running'"
        )))
        .bind(train_id)
        .fetch_optional(&mut *tx)
        .await?
        {
            let running = run(&running)?;
            let error = StoreError::Conflict(format!(
                "train {train} is on its way into {} already (run {}); wait for it to end",
                running.environment, running.id
            ));
            return Store::abandon(tx, Err(error)).await;
        }
        let stamp = now();
        let row = sqlx::query(
            "INSERT INTO train_runs (train_id, environment_id, status, created_by, created_at, updated_at) \
             VALUES ($1, $2, 'running', $3, $4, $4) RETURNING id",
        )
        .bind(train_id)
        .bind(int(&environment_id, "id")?)
        .bind(actor)
        .bind(&stamp)
        .fetch_one(&mut *tx)
        .await?;
        let id = int(&row, "id")?;
        let details = json!({ "after": { "run": id, "environment": environment, "status": RunStatus::Running } });
        append(
            &mut tx,
            self.backend(),
            actor,
            "train.promote",
            &format!("train:{train}"),
            details,
        )
        .await?;
        self.commit(tx, &[Topic::Deployments]).await?;
        self.run(id).await
    }

    /// Run `id`.
    pub async fn run(&self, id: i64) -> Result<RunRecord> {
        let row = sqlx::query(AssertSqlSafe(format!("{RUNS} WHERE x.id = $1")))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("there is no train run {id}")))?;
        run(&row)
    }

    /// The runs of `train`, newest first.
    pub async fn runs(&self, train: &Name) -> Result<Vec<RunRecord>> {
        sqlx::query(AssertSqlSafe(format!(
            "{RUNS} WHERE t.name = $1 ORDER BY x.id DESC"
        )))
        .bind(train.as_str())
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(run)
        .collect()
    }

    /// The runs that are running, oldest first.
    pub async fn running_runs(&self) -> Result<Vec<RunRecord>> {
        sqlx::query(AssertSqlSafe(format!(
            "{RUNS} WHERE x.status = 'running' ORDER BY x.id"
        )))
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(run)
        .collect()
    }

    /// Each member of run `id`'s train with its deployment and rollback in
    /// the run, in order.
    pub async fn run_members(&self, id: i64) -> Result<Vec<RunMember>> {
        let run = self.run(id).await?;
        let train = self.train(&run.train).await?;
        let mut members = Vec::with_capacity(train.members.len());
        for member in train.members {
            let deployment = sqlx::query(
                "SELECT id, status FROM deployments WHERE train_run_id = $1 AND release_id = $2 \
                 AND rollback_of IS NULL ORDER BY id DESC LIMIT 1",
            )
            .bind(id)
            .bind(member.release_id)
            .fetch_optional(self.pool())
            .await?
            .map(|row| Ok::<_, StoreError>((int(&row, "id")?, status(&text(&row, "status")?)?)))
            .transpose()?;
            let mut rollback = None;
            let mut restorable = false;
            if let Some((deployment_id, deployment_status)) = deployment {
                rollback = sqlx::query(
                    "SELECT id, status FROM deployments WHERE rollback_of = $1 ORDER BY id LIMIT 1",
                )
                .bind(deployment_id)
                .fetch_optional(self.pool())
                .await?
                .map(|row| Ok::<_, StoreError>((int(&row, "id")?, status(&text(&row, "status")?)?)))
                .transpose()?;
                let before = self.last_success_before(deployment_id).await?.is_some();
                let changed = deployment_status == DeploymentStatus::Succeeded
                    || self
                        .jobs(deployment_id)
                        .await?
                        .iter()
                        .any(|job| job.attempt > 0);
                restorable = before && changed;
            }
            members.push(RunMember {
                facts: MemberFacts {
                    deployment: deployment.map(|(_, s)| s),
                    rollback: rollback.map(|(_, s)| s),
                    restorable,
                },
                member,
                deployment,
                rollback,
            });
        }
        Ok(members)
    }

    /// Ends running run `id` with `status` and `reason`; `false` when it
    /// ended already.
    pub async fn finish_run(
        &self,
        id: i64,
        status: RunStatus,
        reason: Option<&str>,
    ) -> Result<bool> {
        let mut tx = self.write().await?;
        let done = sqlx::query(
            "UPDATE train_runs SET status = $1, reason = $2, updated_at = $3 WHERE id = $4 AND status = 'running'",
        )
        .bind(status.as_str())
        .bind(reason)
        .bind(now())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Store::abandon(tx, Ok(false)).await;
        }
        let details = json!({ "before": { "status": RunStatus::Running },
            "after": { "status": status, "reason": reason } });
        append(
            &mut tx,
            self.backend(),
            "system",
            "train.run",
            &format!("train_run:{id}"),
            details,
        )
        .await?;
        self.commit(tx, &[Topic::Deployments]).await?;
        Ok(true)
    }
}
