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

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

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
    fn overdue_means_past_its_date_and_unsettled() {
        let now = DateTime::UNIX_EPOCH + chrono::Duration::days(10);
        let past = Some(now - chrono::Duration::hours(1));
        assert!(overdue(past, false, now));
        assert!(!overdue(past, true, now));
        assert!(!overdue(Some(now + chrono::Duration::hours(1)), false, now));
        assert!(!overdue(None, false, now));
    }
}
