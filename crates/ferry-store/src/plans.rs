//! Release plans: one per release or per train, with milestones and tasks.
//! A plan made from a template copies it (a template changed later changes
//! no plan) and keeps each date's offset from the go-live date, so that
//! setting the go-live date dates them. Every change is audited.

use chrono::{DateTime, Utc};
use ferry_core::Name;
use ferry_core::release_plan::{
    NewMilestone, NewTask, Offset, PlanTemplateSpec, RequiredTask, TaskState,
};
use ferry_core::time::format_time;
use serde_json::json;
use sqlx::AssertSqlSafe;
use sqlx::any::AnyRow;

use crate::audit::append;
use crate::rows::{int, now, opt_text, opt_time, text, time};
use crate::{Backend, Result, Store, StoreError, Tx};

/// What a plan belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanOf {
    /// The release with this id.
    Release(i64),
    /// The train with this id.
    Train(i64),
}

/// A plan with its milestones and tasks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanRecord {
    /// Its id.
    pub id: i64,
    /// The release it belongs to.
    pub release: Option<ferry_core::ReleaseRef>,
    /// The train it belongs to.
    pub train: Option<Name>,
    /// Who owns it.
    pub owner: String,
    /// The go-live date, once set.
    pub go_live: Option<DateTime<Utc>>,
    /// The template it was made from.
    pub template: Option<String>,
    /// Who made it, and when.
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
    /// Its milestones, by date (undated last), then as added.
    pub milestones: Vec<MilestoneRecord>,
    /// Its tasks, by date (undated last), then as added.
    pub tasks: Vec<TaskRecord>,
}

/// A milestone of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MilestoneRecord {
    /// Its id.
    pub id: i64,
    /// The plan.
    pub plan_id: i64,
    /// Its name.
    pub name: String,
    /// Its date, once known.
    pub due: Option<DateTime<Utc>>,
    /// Its offset from the go-live date, when it came from a template.
    pub offset: Option<Offset>,
    /// When it was reached, and by whom.
    pub done: Option<(DateTime<Utc>, String)>,
}

/// A task of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRecord {
    /// Its id.
    pub id: i64,
    /// The plan.
    pub plan_id: i64,
    /// What is to be done.
    pub title: String,
    /// More about it.
    pub description: String,
    /// Who does it: a user name or `group:NAME`.
    pub assignee: Option<String>,
    /// When it is due, once known.
    pub due: Option<DateTime<Utc>>,
    /// Its offset from the go-live date, when it came from a template.
    pub offset: Option<Offset>,
    /// The environment it must be done before.
    pub required_before: Option<Name>,
    /// A link.
    pub link: Option<String>,
    /// Where it stands.
    pub state: TaskState,
    /// Why it was skipped or reopened.
    pub reason: Option<String>,
    /// Who changed it last, and when.
    pub updated_by: String,
    /// When.
    pub updated_at: DateTime<Utc>,
}

fn offset(row: &AnyRow) -> Result<Option<Offset>> {
    opt_text(row, "due_offset")?
        .map(|text| {
            Offset::parse(&text).map_err(|e| StoreError::Corrupt(format!("due_offset: {e}")))
        })
        .transpose()
}

fn milestone(row: &AnyRow) -> Result<MilestoneRecord> {
    let done = match opt_time(row, "done_at")? {
        Some(at) => Some((at, opt_text(row, "done_by")?.unwrap_or_default())),
        None => None,
    };
    Ok(MilestoneRecord {
        id: int(row, "id")?,
        plan_id: int(row, "plan_id")?,
        name: text(row, "name")?,
        due: opt_time(row, "due_at")?,
        offset: offset(row)?,
        done,
    })
}

fn task(row: &AnyRow) -> Result<TaskRecord> {
    let state = text(row, "state")?;
    Ok(TaskRecord {
        id: int(row, "id")?,
        plan_id: int(row, "plan_id")?,
        title: text(row, "title")?,
        description: text(row, "description")?,
        assignee: opt_text(row, "assignee")?,
        due: opt_time(row, "due_at")?,
        offset: offset(row)?,
        required_before: opt_text(row, "required_before")?
            .map(|text| {
                Name::parse(&text).map_err(|e| StoreError::Corrupt(format!("required_before: {e}")))
            })
            .transpose()?,
        link: opt_text(row, "link")?,
        state: TaskState::parse(&state).map_err(StoreError::Corrupt)?,
        reason: opt_text(row, "reason")?,
        updated_by: text(row, "updated_by")?,
        updated_at: time(row, "updated_at")?,
    })
}

const PLAN: &str = "SELECT p.id, p.owner, p.go_live, p.template, p.created_by, p.created_at, \
     s.name AS service, r.version, t.name AS train FROM release_plans p \
     LEFT JOIN releases r ON r.id = p.release_id LEFT JOIN services s ON s.id = r.service_id \
     LEFT JOIN trains t ON t.id = p.train_id";
const MILESTONES: &str = "SELECT id, plan_id, name, due_at, due_offset, done_at, done_by \
     FROM plan_milestones";
const TASKS: &str = "SELECT id, plan_id, title, description, assignee, due_at, due_offset, \
     required_before, link, state, reason, updated_by, updated_at FROM plan_tasks";

/// Orders dated items first, by date, then by id.
fn by_date<T>(items: &mut [T], key: impl Fn(&T) -> (Option<DateTime<Utc>>, i64)) {
    items.sort_by_key(|item| {
        let (due, id) = key(item);
        (due.is_none(), due, id)
    });
}

async fn insert_milestone(tx: &mut Tx, plan_id: i64, milestone: &NewMilestone) -> Result<i64> {
    let row = sqlx::query(
        "INSERT INTO plan_milestones (plan_id, name, due_at, due_offset, created_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(plan_id)
    .bind(&milestone.name)
    .bind(milestone.due.map(format_time))
    .bind(milestone.offset.map(|o| o.to_string()))
    .bind(now())
    .fetch_one(&mut **tx)
    .await?;
    int(&row, "id")
}

async fn insert_task(tx: &mut Tx, actor: &str, plan_id: i64, task: &NewTask) -> Result<i64> {
    let stamp = now();
    let row = sqlx::query(
        "INSERT INTO plan_tasks (plan_id, title, description, assignee, due_at, due_offset, \
         required_before, link, state, created_at, updated_by, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'todo', $9, $10, $9) RETURNING id",
    )
    .bind(plan_id)
    .bind(&task.title)
    .bind(&task.description)
    .bind(task.assignee.as_deref())
    .bind(task.due.map(format_time))
    .bind(task.offset.map(|o| o.to_string()))
    .bind(task.required_before.as_ref().map(Name::as_str))
    .bind(task.link.as_deref())
    .bind(&stamp)
    .bind(actor)
    .fetch_one(&mut **tx)
    .await?;
    int(&row, "id")
}

/// Makes a plan for `of` inside `tx`, from `template` when given, audited as
/// `plan.create` on `object`. The plan of a release or train that has one
/// already is a [`StoreError::Conflict`].
#[allow(clippy::too_many_arguments)]
pub(crate) async fn create_plan_in(
    tx: &mut Tx,
    backend: Backend,
    actor: &str,
    of: PlanOf,
    object: &str,
    owner: &str,
    go_live: Option<DateTime<Utc>>,
    template: Option<&PlanTemplateSpec>,
) -> Result<i64> {
    let (release_id, train_id) = match of {
        PlanOf::Release(id) => (Some(id), None),
        PlanOf::Train(id) => (None, Some(id)),
    };
    let stamp = now();
    let row = sqlx::query(
        "INSERT INTO release_plans (release_id, train_id, owner, go_live, template, created_by, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
    )
    .bind(release_id)
    .bind(train_id)
    .bind(owner)
    .bind(go_live.map(format_time))
    .bind(template.map(|t| t.name.as_str()))
    .bind(actor)
    .bind(&stamp)
    .fetch_one(&mut **tx)
    .await
    .map_err(|error| match StoreError::from(error) {
        StoreError::Conflict(_) => StoreError::Conflict(format!("{object} has a plan already")),
        other => other,
    })?;
    let id = int(&row, "id")?;
    if let Some(template) = template {
        let (milestones, tasks) = template.instantiate(go_live);
        for milestone in &milestones {
            insert_milestone(tx, id, milestone).await?;
        }
        for task in &tasks {
            insert_task(tx, actor, id, task).await?;
        }
    }
    let details = json!({ "after": { "plan": id, "owner": owner, "go_live": go_live,
        "template": template.map(|t| t.name.as_str()) } });
    append(tx, backend, actor, "plan.create", object, details).await?;
    Ok(id)
}

/// The plan of the release with id `release_id` inside `tx`, made from the
/// template its service names, if it names one.
pub(crate) async fn plan_from_service_template(
    tx: &mut Tx,
    backend: Backend,
    actor: &str,
    release_id: i64,
    object: &str,
    go_live: Option<DateTime<Utc>>,
) -> Result<Option<i64>> {
    let row = sqlx::query(
        "SELECT t.spec FROM releases r JOIN services s ON s.id = r.service_id \
         JOIN plan_templates t ON t.name = s.plan_template WHERE r.id = $1",
    )
    .bind(release_id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let template: PlanTemplateSpec = crate::rows::json(&row, "spec")?;
    let id = create_plan_in(
        tx,
        backend,
        actor,
        PlanOf::Release(release_id),
        object,
        actor,
        go_live,
        Some(&template),
    )
    .await?;
    Ok(Some(id))
}

impl Store {
    /// Makes the plan of `service@version` for `actor`, owned by `owner`,
    /// from `template` when given.
    pub async fn create_release_plan(
        &self,
        actor: &str,
        service: &Name,
        version: &semver::Version,
        owner: &str,
        go_live: Option<DateTime<Utc>>,
        template: Option<&PlanTemplateSpec>,
    ) -> Result<PlanRecord> {
        let mut tx = self.write().await?;
        let release_id = int(
            &sqlx::query(
                "SELECT r.id FROM releases r JOIN services s ON s.id = r.service_id \
                 WHERE s.name = $1 AND r.version = $2",
            )
            .bind(service.as_str())
            .bind(version.to_string())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| {
                StoreError::NotFound(format!("there is no release {service}@{version}"))
            })?,
            "id",
        )?;
        let object = format!("release:{service}@{version}");
        let id = create_plan_in(
            &mut tx,
            self.backend(),
            actor,
            PlanOf::Release(release_id),
            &object,
            owner,
            go_live,
            template,
        )
        .await?;
        tx.commit().await?;
        self.plan(id).await
    }

    /// Plan `id`, whole.
    pub async fn plan(&self, id: i64) -> Result<PlanRecord> {
        let row = sqlx::query(AssertSqlSafe(format!("{PLAN} WHERE p.id = $1")))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("there is no plan {id}")))?;
        let mut milestones: Vec<MilestoneRecord> =
            sqlx::query(AssertSqlSafe(format!("{MILESTONES} WHERE plan_id = $1")))
                .bind(id)
                .fetch_all(self.pool())
                .await?
                .iter()
                .map(milestone)
                .collect::<Result<_>>()?;
        by_date(&mut milestones, |m| (m.due, m.id));
        let mut tasks: Vec<TaskRecord> =
            sqlx::query(AssertSqlSafe(format!("{TASKS} WHERE plan_id = $1")))
                .bind(id)
                .fetch_all(self.pool())
                .await?
                .iter()
                .map(task)
                .collect::<Result<_>>()?;
        by_date(&mut tasks, |t| (t.due, t.id));
        let release = match opt_text(&row, "service")? {
            Some(_) => Some(crate::rows::release_ref(&row)?),
            None => None,
        };
        Ok(PlanRecord {
            id,
            release,
            train: opt_text(&row, "train")?
                .map(|text| {
                    Name::parse(&text).map_err(|e| StoreError::Corrupt(format!("train: {e}")))
                })
                .transpose()?,
            owner: text(&row, "owner")?,
            go_live: opt_time(&row, "go_live")?,
            template: opt_text(&row, "template")?,
            created_by: text(&row, "created_by")?,
            created_at: time(&row, "created_at")?,
            milestones,
            tasks,
        })
    }

    /// The plan of `service@version`, if it has one.
    pub async fn release_plan(
        &self,
        service: &Name,
        version: &semver::Version,
    ) -> Result<Option<PlanRecord>> {
        let row = sqlx::query(
            "SELECT p.id FROM release_plans p JOIN releases r ON r.id = p.release_id \
             JOIN services s ON s.id = r.service_id WHERE s.name = $1 AND r.version = $2",
        )
        .bind(service.as_str())
        .bind(version.to_string())
        .fetch_optional(self.pool())
        .await?;
        match row {
            Some(row) => Ok(Some(self.plan(int(&row, "id")?).await?)),
            None => Ok(None),
        }
    }

    /// The plan of train `train`, if it has one.
    pub async fn train_plan(&self, train: &Name) -> Result<Option<PlanRecord>> {
        let row = sqlx::query(
            "SELECT p.id FROM release_plans p JOIN trains t ON t.id = p.train_id WHERE t.name = $1",
        )
        .bind(train.as_str())
        .fetch_optional(self.pool())
        .await?;
        match row {
            Some(row) => Ok(Some(self.plan(int(&row, "id")?).await?)),
            None => Ok(None),
        }
    }

    /// Sets plan `id`'s owner and go-live date (each when given), and
    /// dates every milestone and task that came with an offset from the
    /// new go-live date.
    pub async fn update_plan(
        &self,
        actor: &str,
        id: i64,
        owner: Option<&str>,
        go_live: Option<DateTime<Utc>>,
    ) -> Result<PlanRecord> {
        let before = self.plan(id).await?;
        let mut tx = self.write().await?;
        let stamp = now();
        sqlx::query(
            "UPDATE release_plans SET owner = COALESCE($1, owner), go_live = COALESCE($2, go_live), \
             updated_at = $3 WHERE id = $4",
        )
        .bind(owner)
        .bind(go_live.map(format_time))
        .bind(&stamp)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if let Some(go_live) = go_live {
            for milestone in before.milestones.iter().filter(|m| m.offset.is_some()) {
                let due = milestone.offset.map(|o| format_time(o.from(go_live)));
                sqlx::query("UPDATE plan_milestones SET due_at = $1 WHERE id = $2")
                    .bind(due)
                    .bind(milestone.id)
                    .execute(&mut *tx)
                    .await?;
            }
            for task in before.tasks.iter().filter(|t| t.offset.is_some()) {
                let due = task.offset.map(|o| format_time(o.from(go_live)));
                sqlx::query("UPDATE plan_tasks SET due_at = $1 WHERE id = $2")
                    .bind(due)
                    .bind(task.id)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        let details = json!({ "before": { "owner": before.owner, "go_live": before.go_live },
            "after": { "owner": owner.unwrap_or(&before.owner), "go_live": go_live.or(before.go_live) } });
        append(
            &mut tx,
            self.backend(),
            actor,
            "plan.update",
            &format!("plan:{id}"),
            details,
        )
        .await?;
        tx.commit().await?;
        self.plan(id).await
    }

    /// Adds a task to plan `id`.
    pub async fn add_task(&self, actor: &str, id: i64, new: &NewTask) -> Result<TaskRecord> {
        let mut tx = self.write().await?;
        plan_exists(&mut tx, id).await?;
        let task_id = insert_task(&mut tx, actor, id, new).await?;
        let details = json!({ "after": { "plan": id, "title": new.title, "assignee": new.assignee,
            "due": new.due, "required_before": new.required_before, "link": new.link } });
        append(
            &mut tx,
            self.backend(),
            actor,
            "plan.task.create",
            &format!("task:{task_id}"),
            details,
        )
        .await?;
        tx.commit().await?;
        self.task(task_id).await
    }

    /// Task `id`.
    pub async fn task(&self, id: i64) -> Result<TaskRecord> {
        let row = sqlx::query(AssertSqlSafe(format!("{TASKS} WHERE id = $1")))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("there is no task {id}")))?;
        task(&row)
    }

    /// Moves task `id` to `to` for `actor`, with `reason` (kept for a skip
    /// or a reopening), when its state allows it; otherwise a
    /// [`StoreError::Conflict`] saying why, and nothing changes.
    pub async fn move_task(
        &self,
        actor: &str,
        id: i64,
        to: TaskState,
        reason: Option<&str>,
    ) -> Result<TaskRecord> {
        let mut tx = self.write().await?;
        let row = sqlx::query(AssertSqlSafe(format!("{TASKS} WHERE id = $1")))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("there is no task {id}")))?;
        let current = task(&row)?;
        if let Err(why) = current.state.may_become(to) {
            return Store::abandon(tx, Err(StoreError::Conflict(format!("task {id}: {why}"))))
                .await;
        }
        let done = sqlx::query(
            "UPDATE plan_tasks SET state = $1, reason = $2, updated_by = $3, updated_at = $4 \
             WHERE id = $5 AND state = $6",
        )
        .bind(to.as_str())
        .bind(reason)
        .bind(actor)
        .bind(now())
        .bind(id)
        .bind(current.state.as_str())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Store::abandon(
                tx,
                Err(StoreError::Conflict(format!(
                    "task {id} changed meanwhile; try again"
                ))),
            )
            .await;
        }
        let details = json!({ "before": { "state": current.state }, "after": { "state": to, "reason": reason } });
        append(
            &mut tx,
            self.backend(),
            actor,
            "plan.task.move",
            &format!("task:{id}"),
            details,
        )
        .await?;
        tx.commit().await?;
        self.task(id).await
    }

    /// Adds a milestone to plan `id`.
    pub async fn add_milestone(
        &self,
        actor: &str,
        id: i64,
        new: &NewMilestone,
    ) -> Result<MilestoneRecord> {
        let mut tx = self.write().await?;
        plan_exists(&mut tx, id).await?;
        let milestone_id = insert_milestone(&mut tx, id, new).await?;
        let details = json!({ "after": { "plan": id, "name": new.name, "due": new.due } });
        append(
            &mut tx,
            self.backend(),
            actor,
            "plan.milestone.create",
            &format!("milestone:{milestone_id}"),
            details,
        )
        .await?;
        tx.commit().await?;
        self.milestone(milestone_id).await
    }

    /// Milestone `id`.
    pub async fn milestone(&self, id: i64) -> Result<MilestoneRecord> {
        let row = sqlx::query(AssertSqlSafe(format!("{MILESTONES} WHERE id = $1")))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("there is no milestone {id}")))?;
        milestone(&row)
    }

    /// Records that milestone `id` was reached; reaching it twice is a
    /// [`StoreError::Conflict`].
    pub async fn complete_milestone(&self, actor: &str, id: i64) -> Result<MilestoneRecord> {
        let mut tx = self.write().await?;
        let done = sqlx::query(
            "UPDATE plan_milestones SET done_at = $1, done_by = $2 WHERE id = $3 AND done_at IS NULL",
        )
        .bind(now())
        .bind(actor)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            tx.rollback().await?;
            let existing = self.milestone(id).await?;
            let (at, by) = existing.done.unwrap_or_default();
            return Err(StoreError::Conflict(format!(
                "milestone {id} ({}) was reached already, at {} by {by}",
                existing.name,
                format_time(at)
            )));
        }
        append(
            &mut tx,
            self.backend(),
            actor,
            "plan.milestone.done",
            &format!("milestone:{id}"),
            json!({}),
        )
        .await?;
        tx.commit().await?;
        self.milestone(id).await
    }

    /// The tasks required before `environment` of the plans of release
    /// `release_id` and of the trains it is in.
    pub async fn required_tasks(
        &self,
        release_id: i64,
        environment: &Name,
    ) -> Result<Vec<RequiredTask>> {
        sqlx::query(AssertSqlSafe(format!(
            "{TASKS} WHERE required_before = $2 AND plan_id IN ( \
             SELECT id FROM release_plans WHERE release_id = $1 \
             UNION SELECT p.id FROM release_plans p JOIN train_members m ON m.train_id = p.train_id \
             WHERE m.release_id = $1) ORDER BY id"
        )))
        .bind(release_id)
        .bind(environment.as_str())
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|row| {
            let task = task(row)?;
            Ok(RequiredTask {
                id: task.id,
                title: task.title,
                assignee: task.assignee,
                state: task.state,
                due: task.due,
            })
        })
        .collect()
    }
}

async fn plan_exists(tx: &mut Tx, id: i64) -> Result<()> {
    sqlx::query("SELECT id FROM release_plans WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .map(|_| ())
        .ok_or_else(|| StoreError::NotFound(format!("there is no plan {id}")))
}
