//! Environments, lifecycles, services and freezes: what `ferry apply` writes.

use chrono::{DateTime, Utc};
use ferry_core::Tier;
use ferry_core::config::Config;
use ferry_core::environment::EnvironmentSpec;
use ferry_core::freeze::FreezeSpec;
use ferry_core::lifecycle::LifecycleSpec;
use ferry_core::plan::{self, Action, Change, Kind};
use ferry_core::release_plan::PlanTemplateSpec;
use ferry_core::service::ServiceSpec;
use ferry_core::sso::SsoSpec;
use ferry_core::trust::TrustSpec;
use serde::Serialize;
use serde_json::json;
use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use crate::audit::append;
use crate::freshness::Topic;
use crate::rows::{json, name, now, opt_text, text, time};
use crate::{Result, Store, StoreError, Tx};

/// A configured entry with its timestamps.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored<T> {
    /// As configured.
    pub spec: T,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
}

fn stored<T>(row: &AnyRow, spec: T) -> Result<Stored<T>> {
    Ok(Stored {
        spec,
        created_at: time(row, "created_at")?,
        updated_at: time(row, "updated_at")?,
    })
}

fn environment(row: &AnyRow) -> Result<Stored<EnvironmentSpec>> {
    let tier = text(row, "tier")?;
    let spec = EnvironmentSpec {
        name: name(row, "name")?,
        tier: Tier::parse(&tier).map_err(StoreError::Corrupt)?,
        description: text(row, "description")?,
        policy: json(row, "policy")?,
        windows: json(row, "windows")?,
        variables: json(row, "variables")?,
        protected: crate::rows::int(row, "protected")? != 0,
        lock_after_rollback: crate::rows::int(row, "lock_after_rollback")? != 0,
    };
    stored(row, spec)
}

fn lifecycle(row: &AnyRow) -> Result<Stored<LifecycleSpec>> {
    let spec = LifecycleSpec {
        name: name(row, "name")?,
        phases: json(row, "phases")?,
    };
    stored(row, spec)
}

fn service(row: &AnyRow) -> Result<Stored<ServiceSpec>> {
    let spec = ServiceSpec {
        name: name(row, "name")?,
        description: text(row, "description")?,
        lifecycle: name(row, "lifecycle")?,
        repo: text(row, "repo")?,
        paths: json(row, "paths")?,
        issue_url: opt_text(row, "issue_url")?,
        notes_template: opt_text(row, "notes_template")?,
        plan_template: opt_text(row, "plan_template")?
            .map(|text| {
                ferry_core::Name::parse(&text)
                    .map_err(|e| crate::StoreError::Corrupt(format!("plan_template: {e}")))
            })
            .transpose()?,
        deploy: json(row, "deploy")?,
    };
    stored(row, spec)
}

fn freeze(row: &AnyRow) -> Result<Stored<FreezeSpec>> {
    stored(row, json(row, "spec")?)
}

async fn load<T>(
    connection: &mut AnyConnection,
    sql: &'static str,
    decode: fn(&AnyRow) -> Result<Stored<T>>,
) -> Result<Vec<Stored<T>>> {
    sqlx::query(sql)
        .fetch_all(connection)
        .await?
        .iter()
        .map(decode)
        .collect()
}

const ENVIRONMENTS: &str = "SELECT name, tier, description, policy, windows, variables, protected, lock_after_rollback, created_at, updated_at FROM environments ORDER BY name";
const LIFECYCLES: &str =
    "SELECT name, phases, created_at, updated_at FROM lifecycles ORDER BY name";
const SERVICES: &str = "SELECT name, description, lifecycle, repo, paths, issue_url, notes_template, plan_template, deploy, created_at, updated_at FROM services ORDER BY name";
const FREEZES: &str = "SELECT name, spec, created_at, updated_at FROM freezes ORDER BY name";
const PLAN_TEMPLATES: &str =
    "SELECT name, spec, created_at, updated_at FROM plan_templates ORDER BY name";

fn plan_template(row: &AnyRow) -> Result<Stored<PlanTemplateSpec>> {
    stored(row, json(row, "spec")?)
}

fn specs<T>(stored: Vec<Stored<T>>) -> Vec<T> {
    stored.into_iter().map(|s| s.spec).collect()
}

async fn load_config(connection: &mut AnyConnection) -> Result<Config> {
    Ok(Config {
        environments: specs(load(connection, ENVIRONMENTS, environment).await?),
        lifecycles: specs(load(connection, LIFECYCLES, lifecycle).await?),
        services: specs(load(connection, SERVICES, service).await?),
        freezes: specs(load(connection, FREEZES, freeze).await?),
        plan_templates: specs(load(connection, PLAN_TEMPLATES, plan_template).await?),
        trusts: load_trusts(connection).await?,
        oidc: load_oidc(connection).await?,
        webhooks: crate::webhook_config::load_webhook_specs(connection).await?,
    })
}

async fn load_oidc(connection: &mut AnyConnection) -> Result<Option<SsoSpec>> {
    let row = sqlx::query("SELECT spec FROM oidc_sign_in WHERE id = 1")
        .fetch_optional(connection)
        .await?;
    row.map(|row| json(&row, "spec")).transpose()
}

async fn load_trusts(connection: &mut AnyConnection) -> Result<Vec<TrustSpec>> {
    let row = sqlx::query("SELECT policies FROM trust_policies WHERE id = 1")
        .fetch_optional(connection)
        .await?;
    row.map_or(Ok(Vec::new()), |row| json(&row, "policies"))
}

impl Store {
    /// Every environment, by name.
    pub async fn environments(&self) -> Result<Vec<Stored<EnvironmentSpec>>> {
        load(
            &mut *self.pool().acquire().await?,
            ENVIRONMENTS,
            environment,
        )
        .await
    }

    /// Every lifecycle, by name.
    pub async fn lifecycles(&self) -> Result<Vec<Stored<LifecycleSpec>>> {
        load(&mut *self.pool().acquire().await?, LIFECYCLES, lifecycle).await
    }

    /// Every service, by name.
    pub async fn services(&self) -> Result<Vec<Stored<ServiceSpec>>> {
        load(&mut *self.pool().acquire().await?, SERVICES, service).await
    }

    /// Each service with the lifecycle it follows, by name: what the
    /// dashboard needs of every service, without the rest of their specs.
    pub async fn service_lifecycles(&self) -> Result<Vec<(ferry_core::Name, ferry_core::Name)>> {
        sqlx::query("SELECT name, lifecycle FROM services ORDER BY name")
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(|row| Ok((name(row, "name")?, name(row, "lifecycle")?)))
            .collect()
    }

    /// Service `name`, when there is one.
    pub async fn service_spec(
        &self,
        name: &ferry_core::Name,
    ) -> Result<Option<Stored<ServiceSpec>>> {
        sqlx::query(
            "SELECT name, description, lifecycle, repo, paths, issue_url, notes_template, \
             plan_template, deploy, created_at, updated_at FROM services WHERE name = $1",
        )
        .bind(name.as_str())
        .fetch_optional(self.pool())
        .await?
        .as_ref()
        .map(service)
        .transpose()
    }

    /// Every freeze, by name.
    pub async fn freezes(&self) -> Result<Vec<Stored<FreezeSpec>>> {
        load(&mut *self.pool().acquire().await?, FREEZES, freeze).await
    }

    /// The configuration as stored.
    pub async fn config(&self) -> Result<Config> {
        load_config(&mut *self.pool().acquire().await?).await
    }

    /// Makes the stored configuration match `desired` (which must have passed
    /// [`Config::validate`]): creates and updates, never deletes. With
    /// `dry_run` nothing is written. Returns the plan either way.
    pub async fn apply(&self, actor: &str, desired: &Config, dry_run: bool) -> Result<Vec<Change>> {
        desired
            .validate()
            .map_err(|invalid| StoreError::Invalid(invalid.message))?;
        // Subscriptions compare as the store keeps them.
        let normalized;
        let desired = if desired.webhooks.is_empty() {
            desired
        } else {
            let mut copy = desired.clone();
            copy.webhooks = copy.webhooks.iter().map(|w| w.normalized()).collect();
            normalized = copy;
            &normalized
        };
        let mut tx = self.write().await?;
        let current = load_config(&mut tx).await?;
        let changes = plan::plan(&current, desired);
        if dry_run || !plan::changes_anything(&changes) {
            tx.rollback().await?;
            return Ok(changes);
        }
        for change in changes.iter().filter(|c| c.action != Action::Unchanged) {
            let name = change.name.as_str();
            match change.kind {
                Kind::Environment => {
                    let spec = desired.environments.iter().find(|e| e.name == change.name);
                    let before = current.environments.iter().find(|e| e.name == change.name);
                    self.write_environment(
                        &mut tx,
                        actor,
                        spec.expect("planned from desired"),
                        before,
                    )
                    .await?;
                }
                Kind::Lifecycle => {
                    let spec = desired.lifecycles.iter().find(|l| l.name == change.name);
                    let before = current.lifecycles.iter().find(|l| l.name == change.name);
                    self.write_lifecycle(
                        &mut tx,
                        actor,
                        spec.expect("planned from desired"),
                        before,
                    )
                    .await?;
                }
                Kind::Service => {
                    let spec = desired.services.iter().find(|s| s.name == change.name);
                    let before = current.services.iter().find(|s| s.name == change.name);
                    self.write_service(&mut tx, actor, spec.expect("planned from desired"), before)
                        .await?;
                }
                Kind::Trust => {
                    self.write_trusts(&mut tx, actor, &desired.trusts, &current.trusts)
                        .await?;
                }
                Kind::Oidc => {
                    if let Some(spec) = &desired.oidc {
                        self.write_oidc(&mut tx, actor, spec, current.oidc.as_ref())
                            .await?;
                    }
                }
                Kind::PlanTemplate => {
                    let spec = desired
                        .plan_templates
                        .iter()
                        .find(|t| t.name == change.name);
                    let before = current
                        .plan_templates
                        .iter()
                        .find(|t| t.name == change.name);
                    self.write_plan_template(
                        &mut tx,
                        actor,
                        spec.expect("planned from desired"),
                        before,
                    )
                    .await?;
                }
                Kind::Webhook => {
                    let spec = desired.webhooks.iter().find(|w| w.name == change.name);
                    let before = current.webhooks.iter().find(|w| w.name == change.name);
                    self.write_webhook(&mut tx, actor, spec.expect("planned from desired"), before)
                        .await?;
                }
                Kind::Freeze => {
                    let spec = desired.freezes.iter().find(|f| f.name == change.name);
                    let before = current.freezes.iter().find(|f| f.name == change.name);
                    self.write_freeze(&mut tx, actor, spec.expect("planned from desired"), before)
                        .await?;
                }
            }
            tracing::debug!(kind = ?change.kind, name, action = ?change.action, "applied");
        }
        self.commit(tx, &[Topic::Catalog, Topic::Access]).await?;
        Ok(changes)
    }

    async fn write_environment(
        &self,
        tx: &mut Tx,
        actor: &str,
        spec: &EnvironmentSpec,
        before: Option<&EnvironmentSpec>,
    ) -> Result<()> {
        let sql = if before.is_some() {
            "UPDATE environments SET tier = $2, description = $3, policy = $4, windows = $5, updated_at = $6, variables = $7, protected = $8, lock_after_rollback = $9 WHERE name = $1"
        } else {
            "INSERT INTO environments (name, tier, description, policy, windows, created_at, updated_at, variables, protected, lock_after_rollback) VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8, $9)"
        };
        sqlx::query(sql)
            .bind(spec.name.as_str())
            .bind(spec.tier.as_str())
            .bind(&spec.description)
            .bind(serde_json::to_string(&spec.policy)?)
            .bind(serde_json::to_string(&spec.windows)?)
            .bind(now())
            .bind(serde_json::to_string(&spec.variables)?)
            .bind(i64::from(spec.protected))
            .bind(i64::from(spec.lock_after_rollback))
            .execute(&mut **tx)
            .await?;
        self.audit_change(tx, actor, "environment", spec.name.as_str(), before, spec)
            .await
    }

    async fn write_lifecycle(
        &self,
        tx: &mut Tx,
        actor: &str,
        spec: &LifecycleSpec,
        before: Option<&LifecycleSpec>,
    ) -> Result<()> {
        let sql = if before.is_some() {
            "UPDATE lifecycles SET phases = $2, updated_at = $3 WHERE name = $1"
        } else {
            "INSERT INTO lifecycles (name, phases, created_at, updated_at) VALUES ($1, $2, $3, $3)"
        };
        sqlx::query(sql)
            .bind(spec.name.as_str())
            .bind(serde_json::to_string(&spec.phases)?)
            .bind(now())
            .execute(&mut **tx)
            .await?;
        self.audit_change(tx, actor, "lifecycle", spec.name.as_str(), before, spec)
            .await
    }

    async fn write_service(
        &self,
        tx: &mut Tx,
        actor: &str,
        spec: &ServiceSpec,
        before: Option<&ServiceSpec>,
    ) -> Result<()> {
        let sql = if before.is_some() {
            "UPDATE services SET description = $2, lifecycle = $3, repo = $4, paths = $5, deploy = $6, updated_at = $7, issue_url = $8, notes_template = $9, plan_template = $10 WHERE name = $1"
        } else {
            "INSERT INTO services (name, description, lifecycle, repo, paths, deploy, created_at, updated_at, issue_url, notes_template, plan_template) VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9, $10)"
        };
        sqlx::query(sql)
            .bind(spec.name.as_str())
            .bind(&spec.description)
            .bind(spec.lifecycle.as_str())
            .bind(&spec.repo)
            .bind(serde_json::to_string(&spec.paths)?)
            .bind(spec.deploy.to_string())
            .bind(now())
            .bind(spec.issue_url.as_deref())
            .bind(spec.notes_template.as_deref())
            .bind(spec.plan_template.as_ref().map(ferry_core::Name::as_str))
            .execute(&mut **tx)
            .await?;
        self.audit_change(tx, actor, "service", spec.name.as_str(), before, spec)
            .await
    }

    async fn write_freeze(
        &self,
        tx: &mut Tx,
        actor: &str,
        spec: &FreezeSpec,
        before: Option<&FreezeSpec>,
    ) -> Result<()> {
        let sql = if before.is_some() {
            "UPDATE freezes SET spec = $2, updated_at = $3 WHERE name = $1"
        } else {
            "INSERT INTO freezes (name, spec, created_at, updated_at) VALUES ($1, $2, $3, $3)"
        };
        sqlx::query(sql)
            .bind(spec.name.as_str())
            .bind(serde_json::to_string(spec)?)
            .bind(now())
            .execute(&mut **tx)
            .await?;
        self.audit_change(tx, actor, "freeze", spec.name.as_str(), before, spec)
            .await
    }

    async fn write_plan_template(
        &self,
        tx: &mut Tx,
        actor: &str,
        spec: &PlanTemplateSpec,
        before: Option<&PlanTemplateSpec>,
    ) -> Result<()> {
        let sql = if before.is_some() {
            "UPDATE plan_templates SET spec = $2, updated_at = $3 WHERE name = $1"
        } else {
            "INSERT INTO plan_templates (name, spec, created_at, updated_at) VALUES ($1, $2, $3, $3)"
        };
        sqlx::query(sql)
            .bind(spec.name.as_str())
            .bind(serde_json::to_string(spec)?)
            .bind(now())
            .execute(&mut **tx)
            .await?;
        self.audit_change(tx, actor, "plan_template", spec.name.as_str(), before, spec)
            .await
    }

    /// Plan template `name`, when there is one.
    pub async fn plan_template(&self, name: &ferry_core::Name) -> Result<Option<PlanTemplateSpec>> {
        sqlx::query("SELECT name, spec, created_at, updated_at FROM plan_templates WHERE name = $1")
            .bind(name.as_str())
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(|row| plan_template(row).map(|stored| stored.spec))
            .transpose()
    }

    async fn write_trusts(
        &self,
        tx: &mut Tx,
        actor: &str,
        trusts: &[TrustSpec],
        before: &[TrustSpec],
    ) -> Result<()> {
        let sql = if before.is_empty() {
            "INSERT INTO trust_policies (id, policies, updated_at) VALUES (1, $1, $2)"
        } else {
            "UPDATE trust_policies SET policies = $1, updated_at = $2 WHERE id = 1"
        };
        sqlx::query(sql)
            .bind(serde_json::to_string(trusts)?)
            .bind(now())
            .execute(&mut **tx)
            .await?;
        let before = (!before.is_empty()).then_some(before);
        self.audit_change(tx, actor, "trust", plan::TRUST, before.as_ref(), &trusts)
            .await
    }

    /// The trust policies for CI workloads, in order.
    pub async fn trusts(&self) -> Result<Vec<TrustSpec>> {
        load_trusts(&mut *self.pool().acquire().await?).await
    }

    async fn write_oidc(
        &self,
        tx: &mut Tx,
        actor: &str,
        spec: &SsoSpec,
        before: Option<&SsoSpec>,
    ) -> Result<()> {
        let sql = if before.is_none() {
            "INSERT INTO oidc_sign_in (id, spec, updated_at) VALUES (1, $1, $2)"
        } else {
            "UPDATE oidc_sign_in SET spec = $1, updated_at = $2 WHERE id = 1"
        };
        sqlx::query(sql)
            .bind(serde_json::to_string(spec)?)
            .bind(now())
            .execute(&mut **tx)
            .await?;
        self.audit_change(tx, actor, "oidc", plan::OIDC, before, spec)
            .await
    }

    /// The OpenID Connect sign-in settings, when `[oidc]` was applied.
    pub async fn oidc_sign_in(&self) -> Result<Option<SsoSpec>> {
        load_oidc(&mut *self.pool().acquire().await?).await
    }

    async fn audit_change<T: Serialize>(
        &self,
        tx: &mut Tx,
        actor: &str,
        kind: &str,
        name: &str,
        before: Option<&T>,
        after: &T,
    ) -> Result<()> {
        let verb = if before.is_some() { "update" } else { "create" };
        let details = json!({ "before": before, "after": after });
        append(
            tx,
            self.backend(),
            actor,
            &format!("{kind}.{verb}"),
            &format!("{kind}:{name}"),
            details,
        )
        .await?;
        Ok(())
    }
}

impl Store {
    /// Adds a freeze (refused when one of that name exists).
    pub async fn create_freeze(
        &self,
        actor: &str,
        spec: &FreezeSpec,
    ) -> Result<Stored<FreezeSpec>> {
        spec.validate().map_err(StoreError::Invalid)?;
        let mut tx = self.write().await?;
        for environment in &spec.environments {
            let known = sqlx::query("SELECT id FROM environments WHERE name = $1")
                .bind(environment.as_str())
                .fetch_optional(&mut *tx)
                .await?;
            if known.is_none() {
                return Err(StoreError::NotFound(format!(
                    "there is no environment {:?}",
                    environment.as_str()
                )));
            }
        }
        let exists = sqlx::query("SELECT id FROM freezes WHERE name = $1")
            .bind(spec.name.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_some() {
            return Err(StoreError::Conflict(format!(
                "freeze {:?} exists already",
                spec.name.as_str()
            )));
        }
        self.write_freeze(&mut tx, actor, spec, None).await?;
        let row =
            sqlx::query("SELECT name, spec, created_at, updated_at FROM freezes WHERE name = $1")
                .bind(spec.name.as_str())
                .fetch_one(&mut *tx)
                .await?;
        let created = freeze(&row)?;
        self.commit(tx, &[Topic::Catalog, Topic::Access]).await?;
        Ok(created)
    }

    /// Removes a freeze.
    pub async fn delete_freeze(&self, actor: &str, name: &ferry_core::Name) -> Result<FreezeSpec> {
        let mut tx = self.write().await?;
        let row =
            sqlx::query("SELECT name, spec, created_at, updated_at FROM freezes WHERE name = $1")
                .bind(name.as_str())
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| {
                    StoreError::NotFound(format!("there is no freeze {:?}", name.as_str()))
                })?;
        let before = freeze(&row)?.spec;
        sqlx::query("DELETE FROM freezes WHERE name = $1")
            .bind(name.as_str())
            .execute(&mut *tx)
            .await?;
        append(
            &mut tx,
            self.backend(),
            actor,
            "freeze.delete",
            &format!("freeze:{name}"),
            json!({ "before": before }),
        )
        .await?;
        self.commit(tx, &[Topic::Catalog, Topic::Access]).await?;
        Ok(before)
    }
}
