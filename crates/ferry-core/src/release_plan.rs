//! Release plans: the milestones and tasks that take a release (or a
//! release train) to its go-live, who owns each, and which tasks must be
//! done before the release may enter an environment.
//!
//! The rules kept here, pure:
//!
//! - A task moves `todo → in_progress → done`, or to `skipped` from `todo`
//!   or `in_progress` with a reason; `done` and `skipped` are final, and a
//!   task may be reopened to `todo` from either with a reason (a mistake is
//!   corrected, not hidden). See [`TaskState::may_become`].
//! - A task **required before** an environment is a gate of it until it is
//!   done or skipped (blocker `task-required`).
//! - A milestone or task is **overdue** when its date has passed and it is
//!   not done (or skipped).
//! - A **template** (`[[plan_template]]` in `ferry.toml`) lists milestones
//!   and tasks with dates relative to the go-live date ([`Offset`]: `-7d`,
//!   `-1d`, `0d`, `+4h`); a service names its template, and each new release
//!   gets a plan made from it ([`PlanTemplateSpec::instantiate`]). The plan
//!   keeps the offsets, so setting the go-live date later dates them; a
//!   template changed later never changes a plan made from it.
//! - Who may change a plan: those whose role allows managing plans; the
//!   assignee of a task may move that task ([`may_move_task`]).

use std::collections::HashSet;
use std::fmt;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Name;

/// A time relative to a plan's go-live date: a sign, a whole number and a
/// unit (`w` weeks, `d` days, `h` hours, `m` minutes), such as `-7d`, `0d`
/// or `+4h`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Offset(Duration);

impl Offset {
    /// The offset written `text`, or what is wrong with it.
    pub fn parse(text: &str) -> Result<Self, String> {
        let form = || {
            format!(
                "{text:?} is not an offset from the go-live date; expected a sign, a whole number and a unit (w, d, h or m), such as \"-7d\", \"0d\" or \"+4h\""
            )
        };
        let trimmed = text.trim();
        let (negative, rest) = match trimmed.as_bytes().first() {
            Some(b'-') => (true, &trimmed[1..]),
            Some(b'+') => (false, &trimmed[1..]),
            _ => (false, trimmed),
        };
        let unit = rest.chars().last().ok_or_else(form)?;
        let digits = &rest[..rest.len() - unit.len_utf8()];
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 6 {
            return Err(form());
        }
        let count: i64 = digits.parse().map_err(|_| form())?;
        let duration = match unit {
            'w' => Duration::weeks(count),
            'd' => Duration::days(count),
            'h' => Duration::hours(count),
            'm' => Duration::minutes(count),
            _ => return Err(form()),
        };
        Ok(Self(if negative { -duration } else { duration }))
    }

    /// The date this offset names from `go_live`.
    pub fn from(self, go_live: DateTime<Utc>) -> DateTime<Utc> {
        go_live + self.0
    }
}

impl fmt::Display for Offset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let minutes = self.0.num_minutes();
        let sign = if minutes < 0 {
            "-"
        } else if minutes > 0 {
            "+"
        } else {
            ""
        };
        let minutes = minutes.abs();
        let (count, unit) = if minutes % (24 * 60) == 0 {
            (minutes / (24 * 60), "d")
        } else if minutes % 60 == 0 {
            (minutes / 60, "h")
        } else {
            (minutes, "m")
        };
        write!(f, "{sign}{count}{unit}")
    }
}

impl Serialize for Offset {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Offset {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Offset::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Offset {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some("^[+-]?[0-9]{1,6}[wdhm]$"))
            .description(Some(
                "A time relative to the go-live date, such as -7d, 0d or +4h",
            ))
            .examples(["-7d"])
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Offset {}

/// A milestone of a template.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MilestoneTemplate {
    /// Its name, such as `code freeze`.
    pub name: String,
    /// When, from the go-live date, such as `-7d`.
    pub at: Offset,
}

/// A task of a template.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskTemplate {
    /// What is to be done.
    pub title: String,
    /// More about it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Who does it: a user name, or `group:NAME`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    /// When it is due, from the go-live date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<Offset>,
    /// The environment it must be done before: a gate of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_before: Option<Name>,
    /// A link (a runbook, a ticket).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

/// A plan template as configured (`[[plan_template]]`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanTemplateSpec {
    /// Its unique name.
    pub name: Name,
    /// Its milestones.
    #[serde(default)]
    pub milestones: Vec<MilestoneTemplate>,
    /// Its tasks.
    #[serde(default)]
    pub tasks: Vec<TaskTemplate>,
}

/// A milestone to add to a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMilestone {
    /// Its name.
    pub name: String,
    /// Its date, when known.
    pub due: Option<DateTime<Utc>>,
    /// Its offset from the go-live date, when it came from a template.
    pub offset: Option<Offset>,
}

/// A task to add to a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTask {
    /// What is to be done.
    pub title: String,
    /// More about it.
    pub description: String,
    /// Who does it.
    pub assignee: Option<String>,
    /// When it is due, when known.
    pub due: Option<DateTime<Utc>>,
    /// Its offset from the go-live date, when it came from a template.
    pub offset: Option<Offset>,
    /// The environment it must be done before.
    pub required_before: Option<Name>,
    /// A link.
    pub link: Option<String>,
}

impl PlanTemplateSpec {
    /// Checks the template on its own: named milestones (each once),
    /// titled tasks, assignees that are names, links that are http(s).
    /// Environments are checked by the configuration, which knows them.
    pub fn validate(&self) -> Result<(), String> {
        let name = self.name.as_str();
        let mut seen = HashSet::new();
        for (index, milestone) in self.milestones.iter().enumerate() {
            let label = milestone.name.trim();
            if label.is_empty() {
                return Err(format!(
                    "plan template {name:?}: milestone {} has no name",
                    index + 1
                ));
            }
            crate::limits::TITLE
                .check("name", label)
                .map_err(|e| format!("plan template {name:?}, milestone {}: {e}", index + 1))?;
            if !seen.insert(label) {
                return Err(format!(
                    "plan template {name:?}: milestone {label:?} is listed twice"
                ));
            }
        }
        for (index, task) in self.tasks.iter().enumerate() {
            let at = format!("plan template {name:?}, task {}", index + 1);
            check_task(
                &task.title,
                &task.description,
                task.assignee.as_deref(),
                task.link.as_deref(),
            )
            .map_err(|e| format!("{at}: {e}"))?;
        }
        Ok(())
    }

    /// The milestones and tasks of a new plan made from this template, dated
    /// from `go_live` when it is known (undated until then).
    pub fn instantiate(&self, go_live: Option<DateTime<Utc>>) -> (Vec<NewMilestone>, Vec<NewTask>) {
        let date = |offset: Offset| go_live.map(|go_live| offset.from(go_live));
        let milestones = self
            .milestones
            .iter()
            .map(|m| NewMilestone {
                name: m.name.trim().to_owned(),
                due: date(m.at),
                offset: Some(m.at),
            })
            .collect();
        let tasks = self
            .tasks
            .iter()
            .map(|t| NewTask {
                title: t.title.trim().to_owned(),
                description: t.description.clone(),
                assignee: t.assignee.clone(),
                due: t.due.and_then(date),
                offset: t.due,
                required_before: t.required_before.clone(),
                link: t.link.clone(),
            })
            .collect();
        (milestones, tasks)
    }
}

/// Checks a task's texts: a title, within the limits; an assignee that is
/// a user name or `group:NAME`; an http(s) link.
pub fn check_task(
    title: &str,
    description: &str,
    assignee: Option<&str>,
    link: Option<&str>,
) -> Result<(), String> {
    if title.trim().is_empty() {
        return Err("title: must not be empty; say what is to be done".into());
    }
    crate::limits::TITLE
        .check("title", title.trim())
        .map_err(|e| e.to_string())?;
    crate::limits::DESCRIPTION
        .check("description", description)
        .map_err(|e| e.to_string())?;
    if let Some(assignee) = assignee {
        check_assignee(assignee)?;
    }
    if let Some(link) = link {
        crate::limits::URL
            .check("link", link)
            .map_err(|e| e.to_string())?;
        if !(link.starts_with("https://") || link.starts_with("http://")) {
            return Err(format!(
                "link: {link:?} is not an http:// or https:// URL; expected one such as \"https://wiki.example.com/runbook\""
            ));
        }
    }
    Ok(())
}

/// Checks an assignee: a user name, or `group:NAME`.
pub fn check_assignee(assignee: &str) -> Result<(), String> {
    let bare = assignee.strip_prefix("group:").unwrap_or(assignee);
    Name::parse(bare)
        .map(|_| ())
        .map_err(|e| format!("assignee: {assignee:?} is not a user name or \"group:NAME\": {e}"))
}

/// Whether a person may move a task: those who may manage plans, and the
/// task's assignee (the user it names, or a member of the group it names).
pub fn may_move_task(
    manages_plans: bool,
    user: &str,
    groups: &[String],
    assignee: Option<&str>,
) -> bool {
    manages_plans
        || assignee.is_some_and(|assignee| match assignee.strip_prefix("group:") {
            Some(group) => groups.iter().any(|g| g == group),
            None => assignee == user,
        })
}

/// Where a task stands.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskState {
    /// Not started.
    Todo,
    /// Someone is on it.
    InProgress,
    /// Finished.
    Done,
    /// Not needed this time, with a reason.
    Skipped,
}

impl TaskState {
    /// Every state, in the order a task goes through them.
    pub const ALL: [TaskState; 4] = [
        TaskState::Todo,
        TaskState::InProgress,
        TaskState::Done,
        TaskState::Skipped,
    ];

    /// The state's name, as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::Todo => "todo",
            TaskState::InProgress => "in_progress",
            TaskState::Done => "done",
            TaskState::Skipped => "skipped",
        }
    }

    /// The state named `text`; the error names every state.
    pub fn parse(text: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|state| state.as_str() == text)
            .ok_or_else(|| {
                format!("{text:?} is not a task state; expected todo, in_progress, done or skipped")
            })
    }

    /// Whether the task is settled: done, or skipped.
    pub fn is_settled(self) -> bool {
        matches!(self, TaskState::Done | TaskState::Skipped)
    }

    /// Whether a task in this state may move to `next`, and if not, why.
    pub fn may_become(self, next: TaskState) -> Result<(), String> {
        use TaskState as S;
        let allowed = matches!(
            (self, next),
            (S::Todo, S::InProgress)
                | (S::Todo | S::InProgress, S::Done | S::Skipped)
                | (S::Done | S::Skipped | S::InProgress, S::Todo)
        );
        if allowed {
            Ok(())
        } else if self == next {
            Err(format!("the task is {self} already"))
        } else {
            Err(format!(
                "a task that is {self} cannot become {next}; {}",
                match self {
                    S::Done | S::Skipped =>
                        "reopen it first (ferry plan task reopen ID --reason TEXT)",
                    S::Todo | S::InProgress =>
                        "a task goes todo → in_progress → done, or is skipped",
                }
            ))
        }
    }
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TaskState::InProgress => "in progress",
            other => other.as_str(),
        })
    }
}

/// A move of a task, as the API's path and the CLI name it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskAction {
    /// To `in_progress`.
    Start,
    /// To `done`.
    Done,
    /// To `skipped`, with a reason.
    Skip,
    /// Back to `todo`, with a reason.
    Reopen,
}

impl TaskAction {
    /// Every move.
    pub const ALL: [TaskAction; 4] = [
        TaskAction::Start,
        TaskAction::Done,
        TaskAction::Skip,
        TaskAction::Reopen,
    ];

    /// The move's name, as in the API's path.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskAction::Start => "start",
            TaskAction::Done => "done",
            TaskAction::Skip => "skip",
            TaskAction::Reopen => "reopen",
        }
    }

    /// The move named `text`; the error names every move.
    pub fn parse(text: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|action| action.as_str() == text)
            .ok_or_else(|| {
                format!("{text:?} is not a move of a task; expected start, done, skip or reopen")
            })
    }

    /// The state the move leads to.
    pub fn state(self) -> TaskState {
        match self {
            TaskAction::Start => TaskState::InProgress,
            TaskAction::Done => TaskState::Done,
            TaskAction::Skip => TaskState::Skipped,
            TaskAction::Reopen => TaskState::Todo,
        }
    }
}

/// A task that must be settled before a release enters an environment, as
/// the gates see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequiredTask {
    /// Its id (`ferry plan task done ID`).
    pub id: i64,
    /// Its title.
    pub title: String,
    /// Who it is assigned to (a user name, or `group:NAME`), if anyone.
    pub assignee: Option<String>,
    /// Where it stands.
    pub state: TaskState,
    /// When it is due, if it has a date.
    pub due: Option<DateTime<Utc>>,
}

/// Whether something due at `due` and not settled is overdue at `now`.
pub fn overdue(due: Option<DateTime<Utc>>, settled: bool, now: DateTime<Utc>) -> bool {
    !settled && due.is_some_and(|due| due < now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use TaskState as S;

    #[test]
    fn a_task_goes_todo_in_progress_done_or_is_skipped() {
        assert!(S::Todo.may_become(S::InProgress).is_ok());
        assert!(S::InProgress.may_become(S::Done).is_ok());
        assert!(S::Todo.may_become(S::Done).is_ok());
        assert!(S::Todo.may_become(S::Skipped).is_ok());
        assert!(S::InProgress.may_become(S::Skipped).is_ok());
        assert!(S::Done.may_become(S::Todo).is_ok(), "reopened");
    }

    #[test]
    fn settled_tasks_do_not_move_on_and_nothing_moves_to_itself() {
        let error = S::Done.may_become(S::InProgress).unwrap_err();
        assert!(error.contains("reopen it first"), "{error}");
        assert!(S::Skipped.may_become(S::Done).is_err());
        assert!(S::InProgress.may_become(S::InProgress).is_err());
        assert_eq!(
            S::Done.may_become(S::Done).unwrap_err(),
            "the task is done already"
        );
    }

    #[test]
    fn states_round_trip_and_unknown_ones_are_named() {
        for state in S::ALL {
            assert_eq!(S::parse(state.as_str()), Ok(state));
        }
        assert!(S::parse("finished").unwrap_err().contains("in_progress"));
    }

    #[test]
    fn offsets_read_and_write_as_written() {
        for text in ["-7d", "-1d", "0d", "+4h", "+90m"] {
            assert_eq!(Offset::parse(text).unwrap().to_string(), text);
        }
        assert_eq!(Offset::parse("-2w").unwrap().to_string(), "-14d");
        assert_eq!(Offset::parse("7d").unwrap().to_string(), "+7d");
        let go_live = DateTime::UNIX_EPOCH + Duration::days(30);
        assert_eq!(
            Offset::parse("-7d").unwrap().from(go_live),
            go_live - Duration::days(7)
        );
        for bad in ["", "-", "7", "d", "-7x", "1.5d", "- 7d", "-9999999d"] {
            let error = Offset::parse(bad).unwrap_err();
            assert!(error.contains("expected a sign"), "{bad:?}: {error}");
        }
    }

    #[test]
    fn a_template_instantiates_with_dates_from_the_go_live() {
        let template: PlanTemplateSpec = serde_json::from_value(serde_json::json!({
            "name": "standard",
            "milestones": [
                { "name": "code freeze", "at": "-7d" },
                { "name": "go-live", "at": "0d" },
            ],
            "tasks": [
                { "title": "QA sign-off", "assignee": "group:qa", "due": "-1d", "required_before": "prod" },
                { "title": "Announce", "link": "https://wiki.example.com/announce" },
            ],
        }))
        .unwrap();
        template.validate().unwrap();
        let go_live = DateTime::UNIX_EPOCH + Duration::days(100);
        let (milestones, tasks) = template.instantiate(Some(go_live));
        assert_eq!(milestones[0].due, Some(go_live - Duration::days(7)));
        assert_eq!(milestones[1].due, Some(go_live));
        assert_eq!(tasks[0].due, Some(go_live - Duration::days(1)));
        assert_eq!(
            tasks[0].required_before.as_ref().map(Name::as_str),
            Some("prod")
        );
        assert_eq!(tasks[1].due, None, "a task without a date stays undated");
        // Without a go-live date, nothing is dated but the offsets are kept.
        let (milestones, _) = template.instantiate(None);
        assert_eq!(milestones[0].due, None);
        assert_eq!(milestones[0].offset, Offset::parse("-7d").ok());
    }

    #[test]
    fn a_template_says_what_is_wrong() {
        let bad = |value: serde_json::Value| -> String {
            let template: PlanTemplateSpec = serde_json::from_value(value).unwrap();
            template.validate().unwrap_err()
        };
        let error = bad(serde_json::json!({ "name": "t", "milestones": [
            { "name": "go-live", "at": "0d" }, { "name": "go-live", "at": "1d" }] }));
        assert!(
            error.contains("milestone \"go-live\" is listed twice"),
            "{error}"
        );
        let error = bad(
            serde_json::json!({ "name": "t", "tasks": [{ "title": "x", "assignee": "QA Team" }] }),
        );
        assert!(
            error.contains("task 1: assignee: \"QA Team\" is not a user name"),
            "{error}"
        );
        let error = bad(
            serde_json::json!({ "name": "t", "tasks": [{ "title": "x", "link": "javascript:alert(1)" }] }),
        );
        assert!(
            error.contains("is not an http:// or https:// URL"),
            "{error}"
        );
        let error = bad(serde_json::json!({ "name": "t", "tasks": [{ "title": "  " }] }));
        assert!(error.contains("title: must not be empty"), "{error}");
    }

    #[test]
    fn release_managers_and_assignees_move_tasks() {
        let qa = vec!["qa".to_owned()];
        assert!(may_move_task(true, "rosa", &[], None));
        assert!(may_move_task(false, "vic", &qa, Some("group:qa")));
        assert!(may_move_task(false, "vic", &[], Some("vic")));
        assert!(!may_move_task(false, "vic", &[], Some("group:qa")));
        assert!(!may_move_task(false, "vic", &qa, None));
    }

    #[test]
    fn overdue_means_past_its_date_and_unsettled() {
        let now = DateTime::UNIX_EPOCH + chrono::Duration::days(10);
        let past = Some(now - chrono::Duration::hours(1));
        assert!(overdue(past, false, now));
        assert!(!overdue(past, true, now));
        assert!(!overdue(Some(now + chrono::Duration::hours(1)), false, now));
        assert!(!overdue(None, false, now));
    }
}
