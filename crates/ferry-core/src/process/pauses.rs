//! Where a deployment waits for a person: manual steps, canary stages with
//! `pause = "manual"`, and failures under `on_failure = "ask"`.
//!
//! - A **manual step** `{ kind = "manual", name = "smoke test", instructions
//!   = "…", approvers = "group:ops" }` splits the steps around it into
//!   segments. On each batch, the agents run the segment before it, then the
//!   deployment waits (`waiting`, with the instructions) until an allowed
//!   person continues it (`ferry deploy continue ID`), and the agents run the
//!   next segment; or until someone aborts it (`ferry deploy abort ID`),
//!   which halts it with the usual rollback policy. The health check runs
//!   after the last segment. `approvers` (user names and `group:NAME`, one
//!   or a list) narrows who may continue; empty means whoever may decide on
//!   paused deployments there.
//! - A **canary stage** written `{ stage = "25%", pause = "manual" }` waits,
//!   once its targets are deployed, for a person to continue before the next
//!   stage (instead of, or after, the `verify` wait).
//! - **`on_failure = "ask"`** makes a deployment that would halt wait for a
//!   decision instead: retry the failed targets (`ferry deploy retry ID`),
//!   go on without them (`ferry deploy skip ID`), or roll back
//!   (`ferry deploy rollback ID`). `"halt"` (the default) halts at once.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Table, describe};
use crate::Name;
use crate::field_path::{FieldError, FieldPath};

/// A step a person does: the deployment waits for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManualStep {
    /// Its name, unique among the process's steps.
    pub name: String,
    /// What to do, for the person.
    pub instructions: String,
    /// Who may continue: user names and `group:NAME`; empty for whoever
    /// may decide on paused deployments there.
    pub approvers: Vec<String>,
    /// How many command steps come before it.
    pub after: usize,
}

impl ManualStep {
    /// Reads a manual step at `path`, the `index`-th of the steps, after
    /// `after` command steps.
    pub(super) fn from_value(
        path: &FieldPath,
        value: &Value,
        after: usize,
        index: usize,
    ) -> Result<Self, FieldError> {
        const FORM: &str = "expected a table such as { kind = \"manual\", instructions = \"check the dashboards\", approvers = \"group:ops\" }";
        let Value::Object(map) = value else {
            return Err(FieldError::new(
                path.clone(),
                format!("{FORM}, got {}", describe(value)),
            ));
        };
        let table = Table::new(path, map);
        table.only(&["kind", "name", "instructions", "approvers"])?;
        let name = match table.get("name") {
            None => format!("manual step {}", index + 1),
            Some(_) => table.text("name", "the step's name")?,
        };
        let instructions = table.text("instructions", "what the person is to do")?;
        let approvers = match table.get("approvers") {
            None => Vec::new(),
            Some(Value::String(one)) => vec![one.clone()],
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    item.as_str().map(str::to_owned).ok_or_else(|| {
                        FieldError::new(
                            table.field("approvers").index(i),
                            format!(
                                "expected a user name or \"group:NAME\", got {}",
                                describe(item)
                            ),
                        )
                    })
                })
                .collect::<Result<_, _>>()?,
            Some(other) => {
                return Err(FieldError::new(
                    table.field("approvers"),
                    format!(
                        "expected a user name or \"group:NAME\", or a list of them, got {}",
                        describe(other)
                    ),
                ));
            }
        };
        for approver in &approvers {
            let bare = approver.strip_prefix("group:").unwrap_or(approver);
            Name::parse(bare).map_err(|error| {
                FieldError::new(
                    table.field("approvers"),
                    format!("{approver:?} is not a user name or \"group:NAME\": {error}"),
                )
            })?;
        }
        Ok(Self {
            name,
            instructions,
            approvers,
            after,
        })
    }

    /// The table form of this step.
    pub(super) fn to_value(&self) -> Value {
        json!({
            "kind": "manual",
            "name": self.name,
            "instructions": self.instructions,
            "approvers": self.approvers,
        })
    }
}

/// What a deployment does when more targets failed than it tolerates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum OnFailure {
    /// Halt at once, then the rollback policy (`"halt"`).
    #[default]
    Halt,
    /// Wait for a person to retry, skip or roll back (`"ask"`).
    Ask,
}

impl OnFailure {
    /// The name written in `ferry.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            OnFailure::Halt => "halt",
            OnFailure::Ask => "ask",
        }
    }
}

/// Why a paused deployment waits.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PauseKind {
    /// At a manual step: continue or abort.
    Manual,
    /// After a canary stage with `pause = "manual"`: continue or abort.
    Canary,
    /// More targets failed than tolerated: retry, skip or roll back.
    Failure,
}

/// What a paused deployment waits for, as it is kept and shown.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pause {
    /// Why it waits.
    pub kind: PauseKind,
    /// The manual step it waits at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// What the person is to do (a manual step's instructions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    /// Who may continue (empty: whoever may decide there).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approvers: Vec<String>,
    /// The targets that failed (a failure).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed: Vec<String>,
    /// The batch it paused after or in, counted from 0.
    pub batch: i64,
    /// The decisions that answer it, by name.
    pub decisions: Vec<Decision>,
}

impl Pause {
    /// A pause of `kind` in `batch`, with the decisions that answer it.
    pub fn new(kind: PauseKind, batch: i64) -> Self {
        Self {
            kind,
            step: None,
            instructions: None,
            approvers: Vec::new(),
            failed: Vec::new(),
            batch,
            decisions: Decision::allowed(kind).to_vec(),
        }
    }

    /// Why the deployment waits, for its `reason`, with the commands that
    /// answer it.
    pub fn reason(&self, deployment: i64) -> String {
        let commands: Vec<String> = self
            .decisions
            .iter()
            .map(|decision| format!("ferry deploy {decision} {deployment}"))
            .collect();
        let why = match self.kind {
            PauseKind::Manual => format!(
                "waiting at manual step {:?}: {}",
                self.step.as_deref().unwrap_or_default(),
                self.instructions.as_deref().unwrap_or_default()
            ),
            PauseKind::Canary => format!(
                "waiting after canary stage {} for a person to continue",
                self.batch + 1
            ),
            PauseKind::Failure => format!(
                "waiting for a decision: failed on {}",
                self.failed.join(", ")
            ),
        };
        format!("{why} ({})", commands.join(", or "))
    }
}

/// A decision on a paused deployment.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Go on: after a manual step or a canary stage.
    Continue,
    /// Stop: halts the deployment with the usual rollback policy.
    Abort,
    /// Run the failed targets again.
    Retry,
    /// Go on without the failed targets.
    Skip,
    /// Put the previous release back on the targets changed.
    Rollback,
}

impl Decision {
    /// Every decision.
    pub const ALL: [Decision; 5] = [
        Decision::Continue,
        Decision::Abort,
        Decision::Retry,
        Decision::Skip,
        Decision::Rollback,
    ];

    /// The decision's name, as in `ferry deploy NAME ID`.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Continue => "continue",
            Decision::Abort => "abort",
            Decision::Retry => "retry",
            Decision::Skip => "skip",
            Decision::Rollback => "rollback",
        }
    }

    /// The decision named `text`; the error names every decision.
    pub fn parse(text: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|decision| decision.as_str() == text)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|d| d.as_str()).collect();
                format!(
                    "{text:?} is not a decision; expected one of {}",
                    names.join(", ")
                )
            })
    }

    /// The decisions a pause of `kind` takes.
    pub fn allowed(kind: PauseKind) -> &'static [Decision] {
        match kind {
            PauseKind::Manual | PauseKind::Canary => &[Decision::Continue, Decision::Abort],
            PauseKind::Failure => &[Decision::Retry, Decision::Skip, Decision::Rollback],
        }
    }

    /// Whether this decision answers a pause of `kind`; if not, why, with
    /// the decisions that do.
    pub fn answers(self, kind: PauseKind) -> Result<(), String> {
        let allowed = Self::allowed(kind);
        if allowed.contains(&self) {
            return Ok(());
        }
        let names: Vec<&str> = allowed.iter().map(|d| d.as_str()).collect();
        let waits = match kind {
            PauseKind::Manual => "at a manual step",
            PauseKind::Canary => "after a canary stage",
            PauseKind::Failure => "after a failure",
        };
        Err(format!(
            "the deployment waits {waits}: it takes {}, not {}",
            names.join(" or "),
            self.as_str()
        ))
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a person named `user`, in `groups`, is one of `approvers`
/// (empty: everyone who may decide).
pub fn is_approver(approvers: &[String], user: &str, groups: &[String]) -> bool {
    approvers.is_empty()
        || approvers
            .iter()
            .any(|approver| match approver.strip_prefix("group:") {
                Some(group) => groups.iter().any(|g| g == group),
                None => approver == user,
            })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_pause_takes_its_own_decisions() {
        assert!(Decision::Continue.answers(PauseKind::Manual).is_ok());
        assert!(Decision::Abort.answers(PauseKind::Canary).is_ok());
        assert!(Decision::Retry.answers(PauseKind::Failure).is_ok());
        let error = Decision::Retry.answers(PauseKind::Manual).unwrap_err();
        assert_eq!(
            error,
            "the deployment waits at a manual step: it takes continue or abort, not retry"
        );
        let error = Decision::Continue.answers(PauseKind::Failure).unwrap_err();
        assert!(error.contains("retry or skip or rollback"), "{error}");
    }

    #[test]
    fn approvers_name_people_and_groups() {
        let ops = vec!["group:ops".to_owned(), "rosa".to_owned()];
        assert!(is_approver(&ops, "rosa", &[]));
        assert!(is_approver(&ops, "vic", &["ops".to_owned()]));
        assert!(!is_approver(&ops, "vic", &["dev".to_owned()]));
        assert!(is_approver(&[], "anyone", &[]));
    }
}
