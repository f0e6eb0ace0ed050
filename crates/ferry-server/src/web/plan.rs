//! A plan's page, for a release (`/services/{service}/releases/{version}/plan`)
//! or a train (`/trains/{name}/plan`): its owner and go-live date, its
//! milestones on a time line with today's place among them, and its tasks
//! (assignee, due date, state, the environment each must be done before,
//! link, reason), overdue ones flagged in words. Forms move a task (for
//! those who manage the plan and the task's assignee), add a task or a
//! milestone, record a milestone reached and set the go-live date (for
//! those who manage the plan). Every form goes through `crate::planning`,
//! which decides and refuses exactly as the API does.

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use ferry_core::release_plan::{TaskAction, TaskState};
use ferry_store::plans::PlanRecord;
use serde::Deserialize;

use super::page::{self, Frame, refusal};
use super::posted::{Posted, Protected};
use super::session::Viewer;
use crate::error::ApiError;
use crate::planning;
use crate::state::AppState;

/// A point of the time line: a milestone, or today.
struct Point {
    /// The milestone's id; `None` for today.
    milestone: Option<i64>,
    name: String,
    /// Its date as RFC 3339, and for people; `None` when it has none yet.
    at: Option<(String, String)>,
    /// How far from today, in words ("in 6 days", "2 days ago", "today").
    from_today: String,
    /// When it was reached (RFC 3339, for people) and by whom.
    reached: Option<(String, String, String)>,
    overdue: bool,
}

/// A move of a task, as its button shows it.
struct Move {
    action: &'static str,
    label: &'static str,
}

/// A task as the page lists it.
struct TaskRow {
    id: i64,
    title: String,
    description: String,
    assignee: Option<String>,
    due: Option<(String, String)>,
    /// The state as stored (for its class) and for people.
    state: &'static str,
    state_label: String,
    required_before: Option<String>,
    link: Option<String>,
    reason: Option<String>,
    overdue: bool,
    updated_by: String,
    updated_at: String,
    updated_at_shown: String,
    /// The moves the viewer may make: without a reason, and with one.
    moves: Vec<Move>,
    reasoned_moves: Vec<Move>,
}

#[derive(Template)]
#[template(path = "plan.html")]
struct PlanPage {
    frame: Frame,
    /// What the plan is of, for people: `api@1.0.0`, `train spring`.
    of: String,
    /// The crumbs above the title: (address, text).
    crumbs: Vec<(String, String)>,
    id: i64,
    owner: String,
    go_live: Option<(String, String)>,
    /// The go-live day for the date field (`2027-03-10`), or nothing.
    go_live_day: String,
    template: Option<String>,
    overdue: usize,
    timeline: Vec<Point>,
    tasks: Vec<TaskRow>,
    manages: bool,
    environments: Vec<String>,
    message: Option<String>,
}

/// What the page says after a form did its work.
#[derive(Debug, Default, Deserialize)]
pub struct Done {
    #[serde(default)]
    done: String,
}

/// `GET /services/{service}/releases/{version}/plan`.
pub async fn release_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((service, version)): Path<(String, String)>,
    done: Result<Query<Done>, QueryRejection>,
) -> Response {
    let done = done.map(|Query(done)| done).unwrap_or_default();
    let found = async {
        let service = crate::convert::name("service", &service)?;
        let version = crate::convert::version(&version)?;
        planning::release_plan(&state, &service, &version).await
    };
    match found.await {
        Ok(plan) => render(&state, &viewer, plan, &done.done).await,
        Err(error) => Err(error),
    }
    .unwrap_or_else(|error| refusal(&viewer, error))
}

/// `GET /trains/{name}/plan`.
pub async fn train_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(train): Path<String>,
    done: Result<Query<Done>, QueryRejection>,
) -> Response {
    let done = done.map(|Query(done)| done).unwrap_or_default();
    let found = async {
        let train = crate::convert::name("train", &train)?;
        planning::train_plan(&state, &train).await
    };
    match found.await {
        Ok(plan) => render(&state, &viewer, plan, &done.done).await,
        Err(error) => Err(error),
    }
    .unwrap_or_else(|error| refusal(&viewer, error))
}

/// The page of `plan`: its release's or its train's.
pub(super) fn address(plan: &PlanRecord) -> String {
    match (&plan.release, &plan.train) {
        (Some(release), _) => format!(
            "/services/{}/releases/{}/plan",
            release.service, release.version
        ),
        (None, Some(train)) => format!("/trains/{train}/plan"),
        (None, None) => "/".to_owned(),
    }
}

/// A plan in a few words, for the pages that link to it: its go-live date,
/// how many tasks are open, how many things are overdue.
pub(super) fn summary(plan: PlanRecord) -> String {
    let plan = planning::plan(plan);
    let open = plan
        .tasks
        .iter()
        .filter(|task| !task.state.is_settled())
        .count();
    let mut words = vec![match plan.go_live {
        Some(at) => format!("go-live {}", day_or_minute(at)),
        None => "no go-live date yet".to_owned(),
    }];
    words.push(format!(
        "{open} of {} task{} open",
        plan.tasks.len(),
        if plan.tasks.len() == 1 { "" } else { "s" }
    ));
    if plan.overdue > 0 {
        words.push(format!("{} overdue", plan.overdue));
    }
    words.join(" · ")
}

/// A date for people: the day alone at midnight UTC, else to the minute.
fn day_or_minute(at: DateTime<Utc>) -> String {
    if at.time() == NaiveTime::MIN {
        at.format("%Y-%m-%d").to_string()
    } else {
        at.format("%Y-%m-%d %H:%M UTC").to_string()
    }
}

fn dated(at: DateTime<Utc>) -> (String, String) {
    (at.to_rfc3339(), day_or_minute(at))
}

/// How far `at` is from `now`, in whole days, in words.
fn from_today(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let days = (at.date_naive() - now.date_naive()).num_days();
    match days {
        0 => "today".to_owned(),
        1 => "tomorrow".to_owned(),
        -1 => "yesterday".to_owned(),
        d if d > 1 => format!("in {d} days"),
        d => format!("{} days ago", -d),
    }
}

/// The moves of a task in `state`, by the task's own rule
/// (`TaskState::may_become`): those that need no reason, and those that do.
fn moves(state: TaskState) -> (Vec<Move>, Vec<Move>) {
    let may = |to: TaskState| state.may_become(to).is_ok();
    let mut plain = Vec::new();
    let mut reasoned = Vec::new();
    if may(TaskState::InProgress) {
        plain.push(Move {
            action: "start",
            label: "Start",
        });
    }
    if may(TaskState::Done) {
        plain.push(Move {
            action: "done",
            label: "Mark done",
        });
    }
    if may(TaskState::Skipped) {
        reasoned.push(Move {
            action: "skip",
            label: "Skip",
        });
    }
    if may(TaskState::Todo) {
        reasoned.push(Move {
            action: "reopen",
            label: "Reopen",
        });
    }
    (plain, reasoned)
}

async fn render(
    state: &AppState,
    viewer: &Viewer,
    record: PlanRecord,
    done: &str,
) -> Result<Response, ApiError> {
    let caller = viewer.caller();
    let permissions = planning::permissions(state, &caller, &record).await?;
    let (of, crumbs) = match (&record.release, &record.train) {
        (Some(release), _) => {
            let (service, version) = (&release.service, &release.version);
            (
                release.to_string(),
                vec![
                    ("/".to_owned(), "Dashboard".to_owned()),
                    (format!("/services/{service}"), service.to_string()),
                    (
                        format!("/services/{service}/releases/{version}"),
                        release.to_string(),
                    ),
                ],
            )
        }
        (None, Some(train)) => (
            format!("train {train}"),
            vec![
                ("/trains".to_owned(), "Trains".to_owned()),
                (format!("/trains/{train}"), train.to_string()),
            ],
        ),
        (None, None) => (format!("plan {}", record.id), Vec::new()),
    };
    let plan = planning::plan(record);
    let now = Utc::now();

    // The time line: the milestones by date (undated last), and today
    // among them, before the first milestone still to come.
    let mut timeline: Vec<Point> = plan
        .milestones
        .iter()
        .map(|milestone| Point {
            milestone: Some(milestone.id),
            name: milestone.name.clone(),
            at: milestone.due.map(dated),
            from_today: milestone
                .due
                .map(|due| from_today(due, now))
                .unwrap_or_default(),
            reached: milestone.done_at.map(|at| {
                let (at, shown) = dated(at);
                (at, shown, milestone.done_by.clone().unwrap_or_default())
            }),
            overdue: milestone.overdue,
        })
        .collect();
    let place = plan
        .milestones
        .iter()
        .position(|milestone| milestone.due.is_none_or(|due| due > now))
        .unwrap_or(plan.milestones.len());
    timeline.insert(
        place,
        Point {
            milestone: None,
            name: "Today".to_owned(),
            at: Some((now.to_rfc3339(), now.format("%Y-%m-%d").to_string())),
            from_today: String::new(),
            reached: None,
            overdue: false,
        },
    );

    let tasks = plan
        .tasks
        .iter()
        .map(|task| {
            let (moves, reasoned_moves) = if permissions.movable.contains(&task.id) {
                moves(task.state)
            } else {
                (Vec::new(), Vec::new())
            };
            TaskRow {
                id: task.id,
                title: task.title.clone(),
                description: task.description.clone(),
                assignee: task.assignee.clone(),
                due: task.due.map(dated),
                state: task.state.as_str(),
                state_label: task.state.to_string(),
                required_before: task.required_before.as_ref().map(ToString::to_string),
                link: task.link.clone(),
                reason: task.reason.clone(),
                overdue: task.overdue,
                updated_by: task.updated_by.clone(),
                updated_at: task.updated_at.to_rfc3339(),
                updated_at_shown: task.updated_at.format("%Y-%m-%d %H:%M UTC").to_string(),
                moves,
                reasoned_moves,
            }
        })
        .collect();
    let environments = if permissions.manages {
        state
            .store
            .environments()
            .await?
            .into_iter()
            .map(|stored| stored.spec.name.to_string())
            .collect()
    } else {
        Vec::new()
    };
    let message = match done {
        "started" => Some("Task started."),
        "done" => Some("Task done."),
        "skipped" => Some("Task skipped."),
        "reopened" => Some("Task reopened."),
        "task" => Some("Task added."),
        "milestone" => Some("Milestone added."),
        "reached" => Some("Milestone reached."),
        "go-live" => Some("Go-live date set: the dates that come from the template follow it."),
        _ => None,
    }
    .map(str::to_owned);
    Ok(page::send(
        StatusCode::OK,
        &PlanPage {
            frame: Frame::of(viewer),
            of,
            crumbs,
            id: plan.id,
            owner: plan.owner,
            go_live: plan.go_live.map(dated),
            go_live_day: plan
                .go_live
                .map(|at| at.format("%Y-%m-%d").to_string())
                .unwrap_or_default(),
            template: plan.template,
            overdue: plan.overdue,
            timeline,
            tasks,
            manages: permissions.manages,
            environments,
            message,
        },
    ))
}

/// A date field: empty is none; a day (`2027-03-10`, midnight UTC) or an
/// RFC 3339 time; anything else a 422 naming the field.
fn date(field: &str, text: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(Some(day.and_time(NaiveTime::MIN).and_utc()));
    }
    DateTime::parse_from_rfc3339(text)
        .map(|at| Some(at.with_timezone(&Utc)))
        .map_err(|_| {
            ApiError::Unprocessable(format!(
                "{field}: {text:?} is not a date; expected one such as 2027-03-10"
            ))
        })
}

/// A text field: empty (or blank) is none.
fn given(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// Back to the page of plan `id`, saying what was `done`.
async fn back(state: &AppState, id: i64, done: &str) -> Result<Response, ApiError> {
    let plan = state.store.plan(id).await?;
    Ok(Redirect::to(&format!("{}?done={done}", address(&plan))).into_response())
}

/// The go-live form.
#[derive(Debug, Deserialize)]
pub struct GoLiveForm {
    csrf: String,
    #[serde(default)]
    go_live: String,
}

impl Protected for GoLiveForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /plans/{id}/go-live`: sets the plan's go-live date.
pub async fn set_go_live(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { viewer, form }: Posted<GoLiveForm>,
) -> Response {
    let set = async {
        let id = crate::convert::id("plan", &id)?;
        let go_live = date("go-live date", &form.go_live)?.ok_or_else(|| {
            ApiError::Unprocessable("go-live date: give a date, such as 2027-03-10".into())
        })?;
        let request = ferry_api::PlanUpdate {
            owner: None,
            go_live: Some(go_live),
        };
        let plan = planning::update_plan(&state, &viewer.caller(), id, &request).await?;
        back(&state, plan.id, "go-live").await
    };
    set.await.unwrap_or_else(|error| refusal(&viewer, error))
}

/// The form that adds a task.
#[derive(Debug, Deserialize)]
pub struct TaskForm {
    csrf: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    assignee: String,
    #[serde(default)]
    due: String,
    #[serde(default)]
    required_before: String,
    #[serde(default)]
    link: String,
}

impl Protected for TaskForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /plans/{id}/tasks`: adds a task.
pub async fn add_task(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { viewer, form }: Posted<TaskForm>,
) -> Response {
    let added = async {
        let id = crate::convert::id("plan", &id)?;
        let request = ferry_api::NewPlanTask {
            title: form.title.trim().to_owned(),
            description: form.description.trim().to_owned(),
            assignee: given(&form.assignee),
            due: date("due date", &form.due)?,
            required_before: given(&form.required_before)
                .map(|name| crate::convert::name("environment", &name))
                .transpose()?,
            link: given(&form.link),
        };
        let task = planning::add_task(&state, &viewer.caller(), id, &request).await?;
        back(&state, task.plan_id, "task").await
    };
    added.await.unwrap_or_else(|error| refusal(&viewer, error))
}

/// The form that adds a milestone.
#[derive(Debug, Deserialize)]
pub struct MilestoneForm {
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    due: String,
}

impl Protected for MilestoneForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /plans/{id}/milestones`: adds a milestone.
pub async fn add_milestone(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { viewer, form }: Posted<MilestoneForm>,
) -> Response {
    let added = async {
        let id = crate::convert::id("plan", &id)?;
        let request = ferry_api::NewPlanMilestone {
            name: form.name.trim().to_owned(),
            due: date("date", &form.due)?,
        };
        let milestone = planning::add_milestone(&state, &viewer.caller(), id, &request).await?;
        back(&state, milestone.plan_id, "milestone").await
    };
    added.await.unwrap_or_else(|error| refusal(&viewer, error))
}

/// `POST /milestones/{id}/done`: records a milestone reached.
pub async fn complete_milestone(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { viewer, .. }: Posted<super::posted::Button>,
) -> Response {
    let reached = async {
        let id = crate::convert::id("milestone", &id)?;
        let milestone = planning::complete_milestone(&state, &viewer.caller(), id).await?;
        back(&state, milestone.plan_id, "reached").await
    };
    reached
        .await
        .unwrap_or_else(|error| refusal(&viewer, error))
}

/// A task's move form: with a reason, to skip or reopen it.
#[derive(Debug, Deserialize)]
pub struct MoveForm {
    csrf: String,
    #[serde(default)]
    reason: String,
}

impl Protected for MoveForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /tasks/{id}/{action}`: starts, finishes, skips or reopens a task.
pub async fn move_task(
    State(state): State<AppState>,
    Path((id, action)): Path<(String, String)>,
    Posted { viewer, form }: Posted<MoveForm>,
) -> Response {
    let moved = async {
        let id = crate::convert::id("task", &id)?;
        let action = TaskAction::parse(&action).map_err(ApiError::NotFound)?;
        let done = match action {
            TaskAction::Start => "started",
            TaskAction::Done => "done",
            TaskAction::Skip => "skipped",
            TaskAction::Reopen => "reopened",
        };
        let to = action.state();
        let reason = given(&form.reason);
        let task = planning::move_task(&state, &viewer.caller(), id, to, reason.as_deref()).await?;
        back(&state, task.plan_id, done).await
    };
    moved.await.unwrap_or_else(|error| refusal(&viewer, error))
}
