//! The gates of an environment: one pure evaluation of a promotion into
//! allowed, or blockers with how to clear them.
//!
//! [`evaluate`] answers "may `service@version` be promoted into environment
//! E now?" from facts gathered by the caller ([`GateInput`]): the release, the
//! environment's policy and the service's lifecycle, where the release already
//! succeeded, the approval decisions, the evidence, the linked change
//! requests, the deployment window and freeze as already computed for "now",
//! and the risk as already assessed. It does no I/O and reads no clock.
//!
//! Every finding has a stable `code`, a `message` saying why and a `clear`
//! saying what would clear it, with a concrete command where there is one.
//!
//! # Blockers, in this order
//!
//! The order goes from the release itself, through its path and its timing,
//! to people, proof, change management and risk; within one code, findings
//! follow the policy's order (evidence), time (rejections) or id (changes).
//!
//! 1. `release-abandoned` — the release was abandoned.
//! 2. `marked-bad` — the release was rolled back from this environment and
//!    is marked bad there.
//! 3. `not-in-lifecycle` — the environment is in no phase of the service's lifecycle.
//! 4. `lifecycle-order` — the release has not succeeded in any environment of
//!    the previous phase.
//! 5. `emergency-reason-missing` — an emergency promotion with an empty justification.
//! 6. `frozen` — a freeze is active (a warning on the emergency path).
//! 7. `outside-window` — no deployment window is open (a warning on the emergency path).
//! 8. `locked` — someone locked the environment, or the service in it (one
//!    finding per lock; the emergency path does not bypass a lock).
//! 9. `task-required` — a task of the release's plan must be done before
//!    this environment and is not (one finding per task).
//! 10. `approval-rejected` — someone allowed to approve rejected the release, and
//!     has not approved since (one finding per person).
//! 11. `approvals-missing` — fewer approvals count than the policy asks.
//! 12. `evidence-missing` — a required evidence suite has no result (one per suite).
//! 13. `evidence-failed` — a required suite's newest result failed (one per suite).
//! 14. `change-request-missing` — the policy asks for a change request and no
//!     linked one is approved, scheduled or implemented.
//! 15. `change-conflict` — a linked change request conflicts with another (one
//!     per change).
//! 16. `policy-invalid` — the policy's `max_risk` is not a risk level, so the
//!     risk cannot be checked (fails closed).
//! 17. `risk-too-high` — the risk level is above the policy's `max_risk`.
//!
//! # Approvals
//!
//! Each person's newest decision counts (at equal times, a rejection wins), so
//! a rejection is withdrawn by approving. An approval counts when its author
//! may approve (the policy's `approvers` is empty, or lists their user name
//! or one of their groups) and, under separation of duties, is neither the
//! release's creator nor an author of its commits — compared without regard
//! to case, on user name and e-mail. A rejection blocks when its author may
//! approve; separation of duties does not silence it, since a creator who
//! finds a problem in their own release should be able to stop it.
//!
//! # The emergency path
//!
//! With a written justification, a freeze and a closed window become
//! warnings, and a warning says a post-implementation review will be
//! required; a submitted or assessed emergency change request then satisfies
//! the change-request rule. Approvals, evidence, lifecycle order and the risk
//! limit are never bypassed.
//!
//! # Warnings, in this order
//!
//! `emergency`, `frozen`, `outside-window` (both only when bypassed),
//! `window-closing` (the window closes within 30 minutes),
//! `approval-not-counted` and `rejection-not-counted` (a decision that does
//! not count, one per person), `outside-change-window` (no qualifying change
//! request's window holds "now"), `high-risk` (risk high or critical, within
//! the limit).

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::collections::hash_map::Entry;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::Name;
use crate::change::{ChangeKind, ChangeState};
use crate::environment::EnvironmentSpec;
use crate::lifecycle::LifecycleSpec;
use crate::lock::{BadMark, LockFact};
use crate::release_plan::RequiredTask;
use crate::risk::{RiskAssessment, RiskLevel};
use crate::windows::WindowCheck;

mod duties;

pub use duties::{Decider, Duties};

/// The stable codes of findings.
pub mod code {
    /// Blocker: the release was abandoned.
    pub const RELEASE_ABANDONED: &str = "release-abandoned";
    /// Blocker: the release was rolled back from the environment.
    pub const MARKED_BAD: &str = "marked-bad";
    /// Blocker: the environment, or the service in it, is locked.
    pub const LOCKED: &str = "locked";
    /// Blocker: a task of the release's plan is required first.
    pub const TASK_REQUIRED: &str = "task-required";
    /// Blocker: the environment is not in the service's lifecycle.
    pub const NOT_IN_LIFECYCLE: &str = "not-in-lifecycle";
    /// Blocker: the release has not succeeded in the previous phase.
    pub const LIFECYCLE_ORDER: &str = "lifecycle-order";
    /// Blocker: an emergency promotion without a justification.
    pub const EMERGENCY_REASON_MISSING: &str = "emergency-reason-missing";
    /// Blocker (warning on the emergency path): a freeze is active.
    pub const FROZEN: &str = "frozen";
    /// Blocker (warning on the emergency path): no deployment window is open.
    pub const OUTSIDE_WINDOW: &str = "outside-window";
    /// Blocker: someone allowed to approve rejected the release.
    pub const APPROVAL_REJECTED: &str = "approval-rejected";
    /// Blocker: fewer approvals count than the policy asks.
    pub const APPROVALS_MISSING: &str = "approvals-missing";
    /// Blocker: a required evidence suite has no result.
    pub const EVIDENCE_MISSING: &str = "evidence-missing";
    /// Blocker: a required evidence suite's newest result failed.
    pub const EVIDENCE_FAILED: &str = "evidence-failed";
    /// Blocker: no linked change request allows the promotion.
    pub const CHANGE_REQUEST_MISSING: &str = "change-request-missing";
    /// Blocker: a linked change request conflicts with another.
    pub const CHANGE_CONFLICT: &str = "change-conflict";
    /// Blocker: the policy cannot be read (an unknown `max_risk`).
    pub const POLICY_INVALID: &str = "policy-invalid";
    /// Blocker: the risk is above the policy's limit.
    pub const RISK_TOO_HIGH: &str = "risk-too-high";

    /// Warning: an emergency promotion; a post-implementation review follows.
    pub const EMERGENCY: &str = "emergency";
    /// Warning: the open window closes soon.
    pub const WINDOW_CLOSING: &str = "window-closing";
    /// Warning: an approval that does not count.
    pub const APPROVAL_NOT_COUNTED: &str = "approval-not-counted";
    /// Warning: a rejection that does not count.
    pub const REJECTION_NOT_COUNTED: &str = "rejection-not-counted";
    /// Warning: now is outside the windows of the qualifying change requests.
    pub const OUTSIDE_CHANGE_WINDOW: &str = "outside-change-window";
    /// Warning: the risk is high or critical, within the limit.
    pub const HIGH_RISK: &str = "high-risk";

    /// Every blocker code, in the order blockers are reported.
    pub const BLOCKERS: [&str; 17] = [
        RELEASE_ABANDONED,
        MARKED_BAD,
        NOT_IN_LIFECYCLE,
        LIFECYCLE_ORDER,
        EMERGENCY_REASON_MISSING,
        FROZEN,
        OUTSIDE_WINDOW,
        LOCKED,
        TASK_REQUIRED,
        APPROVAL_REJECTED,
        APPROVALS_MISSING,
        EVIDENCE_MISSING,
        EVIDENCE_FAILED,
        CHANGE_REQUEST_MISSING,
        CHANGE_CONFLICT,
        POLICY_INVALID,
        RISK_TOO_HIGH,
    ];
}

/// A window closing within this many minutes gets a warning.
pub const WINDOW_CLOSING_MINUTES: i64 = 30;

/// One person's approval or rejection of the release for the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Their user name.
    pub user: String,
    /// Their e-mail, when known (matched against commit authors).
    pub email: Option<String>,
    /// Their groups when they decided.
    pub groups: Vec<String>,
    /// `true` to approve, `false` to reject.
    pub approve: bool,
    /// Why, in their words.
    pub comment: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// One recorded evidence result for the release in the environment. Several
/// may share a name: the newest counts (at equal times, a failure).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceFact {
    /// The suite or check, such as `unit` or `e2e`.
    pub name: String,
    /// Whether it passed.
    pub passed: bool,
    /// A summary for people, such as `120 tests, 2 failed`.
    pub summary: String,
    /// When it was recorded.
    pub at: DateTime<Utc>,
}

/// A change request linked to the release (or to its service and the
/// environment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeFact {
    /// Its id.
    pub id: i64,
    /// Its type.
    pub kind: ChangeKind,
    /// Its state.
    pub state: ChangeState,
    /// Its scheduled window (start, end), if any.
    pub window: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// The ids of change requests it conflicts with.
    pub conflicts_with: Vec<i64>,
}

/// A freeze in force on the environment now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveFreeze {
    /// Its name.
    pub name: String,
    /// Why.
    pub reason: String,
    /// When it ends.
    pub end: DateTime<Utc>,
}

/// Everything a promotion is judged on.
#[derive(Debug, Clone)]
pub struct GateInput<'a> {
    /// The service.
    pub service: &'a str,
    /// The release's version.
    pub version: &'a semver::Version,
    /// Whether the release was abandoned.
    pub release_abandoned: bool,
    /// The release's bad mark in this environment, if it has one.
    pub marked_bad: Option<&'a BadMark>,
    /// The locks in force on the environment (those of other services in
    /// it are ignored).
    pub locks: &'a [LockFact],
    /// The tasks of the release's plan (or its train's) required before
    /// this environment, settled or not.
    pub required_tasks: &'a [RequiredTask],
    /// Who created the release (user name or e-mail).
    pub release_creator: &'a str,
    /// The authors and co-authors of the release's commits, as `Name <mail>` or `Name`.
    pub commit_authors: &'a [String],
    /// The environment promoted into.
    pub environment: &'a EnvironmentSpec,
    /// The service's lifecycle.
    pub lifecycle: &'a LifecycleSpec,
    /// Environments where this release already succeeded, with when.
    pub succeeded_in: &'a [(Name, DateTime<Utc>)],
    /// Approvals and rejections of this release for this environment.
    pub decisions: &'a [Decision],
    /// Evidence recorded for this release in this environment.
    pub evidence: &'a [EvidenceFact],
    /// Linked change requests.
    pub changes: &'a [ChangeFact],
    /// The deployment windows, checked for `now`.
    pub window: WindowCheck,
    /// The freeze in force now, if any.
    pub freeze: Option<ActiveFreeze>,
    /// The promotion's risk.
    pub risk: &'a RiskAssessment,
    /// For an emergency promotion, its written justification.
    pub emergency: Option<&'a str>,
    /// Now.
    pub now: DateTime<Utc>,
}

/// One reason a promotion is blocked, or one thing to know about it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable identifier, such as `approvals-missing` (see [`code`]).
    pub code: String,
    /// Why, for people.
    pub message: String,
    /// What would clear it, with a command where there is one.
    pub clear: String,
}

impl Finding {
    fn new(code: &str, message: String, clear: String) -> Self {
        Self {
            code: code.to_owned(),
            message,
            clear,
        }
    }
}

/// The outcome of evaluating the gates.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// Whether the promotion may go ahead: exactly when there are no blockers.
    pub allowed: bool,
    /// What stops it, in the documented order.
    pub blockers: Vec<Finding>,
    /// What to know even so, in the documented order.
    pub warnings: Vec<Finding>,
    /// The promotion's risk, as assessed.
    pub risk: RiskAssessment,
}

/// What a verdict means for a promotion at the moment it is judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    /// It may go ahead.
    Go,
    /// Only time holds it back (a closed deployment window that opens
    /// again, or a freeze): it is recorded and waits, for this reason.
    Wait(String),
    /// Something only people can clear blocks it.
    Refuse,
}

impl Verdict {
    /// Whether the promotion goes, waits or is refused. `window_opens_again`
    /// says whether a deployment window opens at the promotion's time or
    /// later (a promotion waiting for a window that never opens would wait
    /// for ever). The promotion route and the orchestrator both ask this.
    pub fn disposition(&self, window_opens_again: bool) -> Disposition {
        if self.allowed {
            return Disposition::Go;
        }
        let only_time = self
            .blockers
            .iter()
            .all(|b| b.code == code::OUTSIDE_WINDOW || b.code == code::FROZEN);
        if only_time && window_opens_again {
            Disposition::Wait(self.held_reason())
        } else {
            Disposition::Refuse
        }
    }

    /// Why the gates hold a promotion back, for its deployment's `reason`.
    pub fn held_reason(&self) -> String {
        let why: Vec<String> = self
            .blockers
            .iter()
            .map(|finding| format!("{} ({})", finding.message, finding.code))
            .collect();
        format!("held by the gates: {}", why.join("; "))
    }
}

/// The outcome of counting decisions, also used to show approval progress.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalCount {
    /// Whose approvals count, in the order they were given.
    pub approved_by: Vec<String>,
    /// Decisions that do not count (approvals and rejections), with why.
    pub refused: Vec<(String, String)>,
    /// Who rejected the release and has not approved since, in order.
    pub rejected_by: Vec<String>,
    /// How many more approvals are needed.
    pub needed: u32,
}

/// Counts the decisions as the gates do (see the module documentation).
pub fn count_approvals(input: &GateInput<'_>) -> ApprovalCount {
    tally(input, &release_of(input)).count
}

/// How long the release has soaked in the phase before the environment's:
/// since its first success there. `None` when the environment is in the first
/// phase or in no phase, or the release has not succeeded there yet.
pub fn previous_phase_soak(
    lifecycle: &LifecycleSpec,
    environment: &Name,
    succeeded_in: &[(Name, DateTime<Utc>)],
    now: DateTime<Utc>,
) -> Option<Duration> {
    let previous = previous_phase(lifecycle, environment)?;
    succeeded_in
        .iter()
        .filter(|(name, _)| previous.contains(name))
        .map(|(_, at)| *at)
        .min()
        .map(|first| now - first)
}

/// The environments of the nearest non-empty phase before `environment`'s.
fn previous_phase<'l>(lifecycle: &'l LifecycleSpec, environment: &Name) -> Option<&'l [Name]> {
    let phase = lifecycle.phase_of(environment)?;
    lifecycle.phases[..phase]
        .iter()
        .rev()
        .map(|phase| phase.environments.as_slice())
        .find(|environments| !environments.is_empty())
}

/// Evaluates every gate of `input.environment` for the promotion.
pub fn evaluate(input: &GateInput<'_>) -> Verdict {
    let release = release_of(input);
    let env = input.environment.name.as_str();
    let policy = &input.environment.policy;
    let promote = format!("ferry promote {release} --to {env}");
    let mut blockers = Vec::new();
    let mut warnings = Vec::new();

    // 1. The release itself.
    if input.release_abandoned {
        blockers.push(Finding::new(
            code::RELEASE_ABANDONED,
            format!("{release} was abandoned and may not be promoted"),
            format!(
                "create a new release: ferry release create {} --bump auto",
                input.service
            ),
        ));
    }

    // 2. Rolled back from here before.
    if let Some(mark) = input.marked_bad {
        blockers.push(Finding::new(
            code::MARKED_BAD,
            format!(
                "{release} was rolled back from {env} and marked bad there by {} at {}: {}",
                mark.marked_by,
                time(mark.marked_at),
                mark.reason
            ),
            format!(
                "once it is known to be good again: ferry release unmark {release} --env {env} --reason TEXT"
            ),
        ));
    }

    // 3–4. The lifecycle.
    match input.lifecycle.phase_of(&input.environment.name) {
        None => {
            let known: Vec<&str> = input.lifecycle.environments().map(Name::as_str).collect();
            blockers.push(Finding::new(
                code::NOT_IN_LIFECYCLE,
                format!(
                    "{env} is not in lifecycle {} of {} (its environments: {})",
                    input.lifecycle.name,
                    input.service,
                    list_or_none(&known)
                ),
                format!(
                    "promote into an environment of the lifecycle, or add {env} to a phase of lifecycle {} (ferry.toml, then ferry apply)",
                    input.lifecycle.name
                ),
            ));
        }
        Some(_) => {
            if let Some(previous) = previous_phase(input.lifecycle, &input.environment.name) {
                let done = previous
                    .iter()
                    .any(|name| input.succeeded_in.iter().any(|(ok, _)| ok == name));
                if !done {
                    let names: Vec<&str> = previous.iter().map(Name::as_str).collect();
                    let (message, clear) = if let [only] = names.as_slice() {
                        (
                            format!(
                                "{release} has not yet succeeded in {only}, the phase before {env}"
                            ),
                            format!("promote it there first: ferry promote {release} --to {only}"),
                        )
                    } else {
                        (
                            format!(
                                "{release} has not yet succeeded in any of {}, the phase before {env}",
                                names.join(", ")
                            ),
                            format!(
                                "promote it into one of them first: ferry promote {release} --to {}",
                                names[0]
                            ),
                        )
                    };
                    blockers.push(Finding::new(code::LIFECYCLE_ORDER, message, clear));
                }
            }
        }
    }

    // 5–7. Timing: the emergency path, freezes and windows.
    let justification = input
        .emergency
        .map(str::trim)
        .filter(|reason| !reason.is_empty());
    if input.emergency.is_some() && justification.is_none() {
        blockers.push(Finding::new(
            code::EMERGENCY_REASON_MISSING,
            "an emergency promotion needs a written justification".to_owned(),
            format!("{promote} --emergency --reason \"why it cannot wait\""),
        ));
    }
    if let Some(reason) = justification {
        warnings.push(Finding::new(
            code::EMERGENCY,
            format!(
                "emergency promotion of {release} into {env}: \"{reason}\"; a post-implementation review will be required"
            ),
            "after the deployment, review it: ferry review DEPLOYMENT".to_owned(),
        ));
    }
    let bypassed = |finding: Finding| -> Finding {
        Finding {
            message: format!("{} (bypassed by the emergency path)", finding.message),
            ..finding
        }
    };
    if let Some(freeze) = &input.freeze {
        let end = time(freeze.end);
        let reason = if freeze.reason.trim().is_empty() {
            String::new()
        } else {
            format!(": {}", freeze.reason.trim())
        };
        let finding = Finding::new(
            code::FROZEN,
            format!("{env} is frozen by {} until {end}{reason}", freeze.name),
            format!(
                "wait until the freeze ends: {promote} --at {end}; or, if it cannot wait: {promote} --emergency --reason TEXT"
            ),
        );
        match justification {
            Some(_) => warnings.push(bypassed(finding)),
            None => blockers.push(finding),
        }
    }
    match &input.window {
        WindowCheck::NoWindows => {}
        WindowCheck::Open { until } => {
            let left = *until - input.now;
            if left <= Duration::minutes(WINDOW_CLOSING_MINUTES) {
                warnings.push(Finding::new(
                    code::WINDOW_CLOSING,
                    format!(
                        "the deployment window of {env} closes at {}, in {} minutes; a deployment may still run then",
                        time(*until),
                        left.num_minutes().max(0)
                    ),
                    format!("promote now, or in a later window: {promote} --at TIME"),
                ));
            }
        }
        WindowCheck::Closed { next_open } => {
            let now = time(input.now);
            let finding = match *next_open {
                Some(next) => Finding::new(
                    code::OUTSIDE_WINDOW,
                    format!("no deployment window of {env} is open now ({now})"),
                    format!(
                        "the next window opens at {}: {promote} --at {}",
                        time(next),
                        time(next)
                    ),
                ),
                None => Finding::new(
                    code::OUTSIDE_WINDOW,
                    format!(
                        "no deployment window of {env} is open now ({now}), and none opens again"
                    ),
                    format!(
                        "change the windows of {env} (ferry.toml, then ferry apply) and promote with --at TIME; or, if it cannot wait: {promote} --emergency --reason TEXT"
                    ),
                ),
            };
            match justification {
                Some(_) => warnings.push(bypassed(finding)),
                None => blockers.push(finding),
            }
        }
    }

    // 8. Locks: a person's deliberate stop, never bypassed.
    let service = Name::parse(input.service).ok();
    for lock in input.locks.iter().filter(|lock| {
        service
            .as_ref()
            .is_some_and(|s| lock.holds(s, &input.environment.name))
    }) {
        blockers.push(Finding::new(
            code::LOCKED,
            format!(
                "{} is locked by {} since {}: {}",
                lock.scope(),
                lock.locked_by,
                time(lock.locked_at),
                lock.reason
            ),
            format!("once the reason is gone: {}", lock.unlock_command()),
        ));
    }

    // 9. The plan's tasks required first.
    for task in input
        .required_tasks
        .iter()
        .filter(|t| !t.state.is_settled())
    {
        let owner = task
            .assignee
            .as_deref()
            .map(|who| format!(", assigned to {who}"))
            .unwrap_or_default();
        let due = match task.due {
            Some(due) if due < input.now => format!(", overdue since {}", time(due)),
            Some(due) => format!(", due {}", time(due)),
            None => String::new(),
        };
        blockers.push(Finding::new(
            code::TASK_REQUIRED,
            format!(
                "task {} \"{}\" of the plan must be done before {env}; it is {}{owner}{due}",
                task.id, task.title, task.state
            ),
            format!(
                "ferry plan task done {} (or, if it is not needed: ferry plan task skip {} --reason TEXT)",
                task.id, task.id
            ),
        ));
    }

    // 10–11. People.
    let Tally {
        count,
        rejections,
        refusals,
    } = tally(input, &release);
    let approve = format!("ferry approve {release} --env {env}");
    let allowed_list = allowed_approvers(policy);
    for rejection in rejections {
        let comment = if rejection.comment.trim().is_empty() {
            String::new()
        } else {
            format!(": \"{}\"", rejection.comment.trim())
        };
        blockers.push(Finding::new(
            code::APPROVAL_REJECTED,
            format!(
                "{} rejected {release} for {env} at {}{comment}",
                rejection.user,
                time(rejection.at)
            ),
            format!(
                "{} can withdraw the rejection by approving: {approve}",
                rejection.user
            ),
        ));
    }
    if count.needed > 0 {
        let counted = count.approved_by.len();
        let who = if counted == 0 {
            String::new()
        } else {
            format!(" ({})", count.approved_by.join(", "))
        };
        let not_counted = match refusals.iter().filter(|refusal| refusal.approve).count() {
            0 => String::new(),
            n => format!("; {} not counted", plural(n, "approval")),
        };
        blockers.push(Finding::new(
            code::APPROVALS_MISSING,
            format!(
                "{env} needs {} of {release}; {counted} counted{who}{not_counted}",
                plural(policy.approvals as usize, "approval")
            ),
            format!(
                "{approve} ({} more {} needed; allowed: {allowed_list})",
                count.needed,
                if count.needed == 1 {
                    "approval"
                } else {
                    "approvals"
                }
            ),
        ));
    }
    for refusal in &refusals {
        warnings.push(if refusal.approve {
            Finding::new(
                code::APPROVAL_NOT_COUNTED,
                refusal.why.clone(),
                if count.needed > 0 {
                    format!("ask someone allowed: {approve} (allowed: {allowed_list})")
                } else {
                    "nothing to do: enough other approvals count".to_owned()
                },
            )
        } else {
            Finding::new(
                code::REJECTION_NOT_COUNTED,
                refusal.why.clone(),
                format!(
                    "read their comment; to make such rejections count, add {} to the approvers of {env}",
                    refusal.user
                ),
            )
        });
    }

    // 12–13. Evidence: the newest fact per required name.
    let newest = newest_required(&policy.evidence, input.evidence);
    let add_evidence = format!("ferry evidence add {release} --env {env}");
    let mut failed = Vec::new();
    for (name, fact) in policy.evidence.iter().zip(newest) {
        match fact {
            None => blockers.push(Finding::new(
                code::EVIDENCE_MISSING,
                format!("{env} requires evidence \"{name}\" of {release}; none was recorded"),
                format!("{add_evidence} --check {name}=pass (or --junit FILE)"),
            )),
            Some(fact) if !fact.passed => failed.push(fact),
            Some(_) => {}
        }
    }
    for fact in failed {
        let summary = if fact.summary.trim().is_empty() {
            String::new()
        } else {
            format!(" ({})", fact.summary.trim())
        };
        blockers.push(Finding::new(
            code::EVIDENCE_FAILED,
            format!(
                "the newest result of evidence \"{}\" of {release}, at {}, failed{summary}",
                fact.name,
                time(fact.at)
            ),
            format!(
                "fix the failures and record a passing result: {add_evidence} --check {}=pass (or --junit FILE)",
                fact.name
            ),
        ));
    }

    // 14–15. Change requests, by id so the order of the facts does not matter.
    let mut changes: Vec<&ChangeFact> = input.changes.iter().collect();
    changes.sort_by_key(|change| change.id);
    changes.dedup_by_key(|change| change.id);
    if policy.change_request {
        let qualifying: Vec<&ChangeFact> = changes
            .iter()
            .copied()
            .filter(|change| allows_promotion(change, justification.is_some()))
            .collect();
        if qualifying.is_empty() {
            blockers.push(change_request_missing(
                &release,
                env,
                &changes,
                justification.is_some(),
            ));
        } else if qualifying.iter().all(|change| change.window.is_some())
            && !qualifying.iter().any(|change| {
                change
                    .window
                    .is_some_and(|(start, end)| start <= input.now && input.now < end)
            })
        {
            let windows: Vec<String> = qualifying
                .iter()
                .filter_map(|change| {
                    change
                        .window
                        .map(|(start, end)| format!("#{} {}–{}", change.id, time(start), time(end)))
                })
                .collect();
            warnings.push(Finding::new(
                code::OUTSIDE_CHANGE_WINDOW,
                format!(
                    "now ({}) is outside the scheduled window of the change requests: {}",
                    time(input.now),
                    windows.join(", ")
                ),
                format!(
                    "promote within the change's window: {promote} --at TIME, or reschedule the change: ferry change schedule {}",
                    qualifying[0].id
                ),
            ));
        }
    }
    for change in &changes {
        if is_live(change.state) && !change.conflicts_with.is_empty() {
            let mut others = change.conflicts_with.clone();
            others.sort_unstable();
            others.dedup();
            let others: Vec<String> = others.iter().map(|id| format!("#{id}")).collect();
            blockers.push(Finding::new(
                code::CHANGE_CONFLICT,
                format!(
                    "change request #{} conflicts with {}: their windows overlap on the same service and environment",
                    change.id,
                    others.join(", ")
                ),
                format!(
                    "reschedule one of them so the windows no longer overlap: ferry change schedule {}",
                    change.id
                ),
            ));
        }
    }

    // 16–17. Risk.
    let risk = input.risk;
    let mut risk_blocked = false;
    if let Some(max) = &policy.max_risk {
        match RiskLevel::parse(max.trim()) {
            Err(error) => {
                risk_blocked = true;
                blockers.push(Finding::new(
                    code::POLICY_INVALID,
                    format!("the policy of {env} cannot be checked: max_risk: {error}"),
                    format!(
                        "set max_risk of {env} to low, medium, high or critical (ferry.toml, then ferry apply)"
                    ),
                ));
            }
            Ok(max) if risk.level > max => {
                risk_blocked = true;
                blockers.push(Finding::new(
                    code::RISK_TOO_HIGH,
                    format!(
                        "the risk of {release} into {env} is {} ({}/100), above the maximum {max}; {}",
                        risk.level,
                        risk.score,
                        largest_factors(risk)
                    ),
                    format!(
                        "{}, or have max_risk of {env} raised",
                        risk_remedies(risk, &promote)
                    ),
                ));
            }
            Ok(_) => {}
        }
    }
    if !risk_blocked && risk.level >= RiskLevel::High {
        warnings.push(Finding::new(
            code::HIGH_RISK,
            format!(
                "the risk of {release} into {env} is {} ({}/100); {}",
                risk.level,
                risk.score,
                largest_factors(risk)
            ),
            risk_remedies(risk, &promote),
        ));
    }

    Verdict {
        allowed: blockers.is_empty(),
        blockers,
        warnings,
        risk: risk.clone(),
    }
}

/// How many required evidence suites have no result, and how many have a
/// newest result that failed — counted as the gates count them, for the
/// risk's `required_evidence_missing` and `evidence_failing`.
pub fn count_evidence(required: &[String], evidence: &[EvidenceFact]) -> (usize, usize) {
    newest_required(required, evidence)
        .into_iter()
        .fold((0, 0), |(missing, failing), fact| match fact {
            None => (missing + 1, failing),
            Some(fact) if !fact.passed => (missing, failing + 1),
            Some(_) => (missing, failing),
        })
}

/// The newest fact for each required name, in the order of `required`, in
/// one pass over the facts.
fn newest_required<'e>(
    required: &[String],
    evidence: &'e [EvidenceFact],
) -> Vec<Option<&'e EvidenceFact>> {
    let mut newest: HashMap<&str, Option<&EvidenceFact>> =
        required.iter().map(|name| (name.as_str(), None)).collect();
    for fact in evidence {
        if let Some(slot) = newest.get_mut(fact.name.as_str())
            && slot.is_none_or(|current| evidence_key(fact) > evidence_key(current))
        {
            *slot = Some(fact);
        }
    }
    required
        .iter()
        .map(|name| newest.get(name.as_str()).copied().flatten())
        .collect()
}

fn release_of(input: &GateInput<'_>) -> String {
    format!("{}@{}", input.service, input.version)
}

/// An instant as people and `--at` read it: RFC 3339 in UTC, to the second.
fn time(instant: DateTime<Utc>) -> String {
    instant.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

fn list_or_none(items: &[&str]) -> String {
    if items.is_empty() {
        "none".to_owned()
    } else {
        items.join(", ")
    }
}

/// Lower-cases for comparison, allocating only when something changes.
fn fold(s: &str) -> Cow<'_, str> {
    let s = s.trim();
    if s.chars().any(char::is_uppercase) {
        Cow::Owned(s.to_lowercase())
    } else {
        Cow::Borrowed(s)
    }
}

fn allowed_approvers(policy: &crate::environment::Policy) -> String {
    match (policy.approvers.is_empty(), policy.separation_of_duties) {
        (false, _) => policy.approvers.join(", "),
        (true, true) => "anyone but the release's creator and commit authors".to_owned(),
        (true, false) => "anyone".to_owned(),
    }
}

/// Orders facts of one name: the newest wins, and at equal times a failure.
/// The rest only makes the order total, so the input's order never matters.
fn evidence_key(fact: &EvidenceFact) -> (DateTime<Utc>, bool, &str) {
    (fact.at, !fact.passed, &fact.summary)
}

/// Orders one person's decisions: the newest wins, and at equal times a
/// rejection. The rest only makes the order total, so the input's order
/// never matters.
fn decision_order(a: &Decision, b: &Decision) -> Ordering {
    a.at.cmp(&b.at)
        .then((!a.approve).cmp(&!b.approve))
        .then_with(|| a.user.cmp(&b.user))
        .then_with(|| a.email.cmp(&b.email))
        .then_with(|| a.groups.cmp(&b.groups))
        .then_with(|| a.comment.cmp(&b.comment))
}

struct Refusal {
    user: String,
    why: String,
    approve: bool,
}

struct Tally<'a> {
    count: ApprovalCount,
    /// The counted rejections, in time order.
    rejections: Vec<&'a Decision>,
    /// The decisions that do not count, in time order.
    refusals: Vec<Refusal>,
}

/// Counts the decisions in one pass over them, then one over the people.
fn tally<'a>(input: &GateInput<'a>, release: &str) -> Tally<'a> {
    let policy = &input.environment.policy;

    let mut latest: HashMap<Cow<'a, str>, &'a Decision> =
        HashMap::with_capacity(input.decisions.len());
    for decision in input.decisions {
        match latest.entry(fold(&decision.user)) {
            Entry::Vacant(slot) => {
                slot.insert(decision);
            }
            Entry::Occupied(mut slot) => {
                if decision_order(decision, slot.get()) == Ordering::Greater {
                    slot.insert(decision);
                }
            }
        }
    }
    let mut people: Vec<(Cow<'a, str>, &'a Decision)> = latest.into_iter().collect();
    people.sort_by(|a, b| (a.1.at, &a.0).cmp(&(b.1.at, &b.0)));

    let duties = Duties::new(
        input.environment,
        release,
        input.release_creator,
        input.commit_authors,
    );
    let mut count = ApprovalCount {
        approved_by: Vec::new(),
        refused: Vec::new(),
        rejected_by: Vec::new(),
        needed: 0,
    };
    let mut rejections = Vec::new();
    let mut refusals = Vec::new();
    for (_, decision) in people {
        let user = decision.user.clone();
        let decider = Decider {
            user: &decision.user,
            email: decision.email.as_deref(),
            groups: &decision.groups,
        };
        match (duties.refusal(decider, decision.approve), decision.approve) {
            (Some(why), approve) => {
                count.refused.push((user.clone(), why.clone()));
                refusals.push(Refusal { user, why, approve });
            }
            (None, true) => count.approved_by.push(user),
            (None, false) => {
                count.rejected_by.push(user);
                rejections.push(decision);
            }
        }
    }
    let counted = u32::try_from(count.approved_by.len()).unwrap_or(u32::MAX);
    count.needed = policy.approvals.saturating_sub(counted);
    Tally {
        count,
        rejections,
        refusals,
    }
}

/// Whether a change request in this state still takes part in planning
/// (and so in conflicts): not a draft, not decided against, not finished.
fn is_live(state: ChangeState) -> bool {
    matches!(
        state,
        ChangeState::Submitted
            | ChangeState::Assessed
            | ChangeState::Approved
            | ChangeState::Scheduled
            | ChangeState::Implemented
    )
}

/// Whether a linked change request satisfies the change-request rule.
fn allows_promotion(change: &ChangeFact, emergency: bool) -> bool {
    match change.state {
        ChangeState::Approved | ChangeState::Scheduled | ChangeState::Implemented => true,
        // The emergency path: the change is expedited, its approval may follow.
        ChangeState::Submitted | ChangeState::Assessed => {
            emergency && change.kind == ChangeKind::Emergency
        }
        _ => false,
    }
}

fn change_request_missing(
    release: &str,
    env: &str,
    changes: &[&ChangeFact],
    emergency: bool,
) -> Finding {
    const SHOWN: usize = 5;
    let mut linked: Vec<String> = changes
        .iter()
        .take(SHOWN)
        .map(|change| format!("#{} is {}", change.id, change.state.as_str()))
        .collect();
    if changes.len() > SHOWN {
        linked.push(format!("{} more", changes.len() - SHOWN));
    }
    let linked = if linked.is_empty() {
        "none is linked".to_owned()
    } else {
        linked.join(", ")
    };
    let also = if emergency {
        "; on the emergency path, a submitted emergency change also counts"
    } else {
        ""
    };
    // Point at the change closest to counting.
    let pending = changes.iter().find(|change| {
        matches!(
            change.state,
            ChangeState::Submitted | ChangeState::Assessed | ChangeState::Draft
        )
    });
    let clear = match pending {
        Some(change) if change.state == ChangeState::Draft => format!(
            "submit change request #{0} and have it approved: ferry change submit {0}",
            change.id
        ),
        Some(change) => format!(
            "have change request #{0} approved: ferry change approve {0}",
            change.id
        ),
        None => format!(
            "create a change request for {release}, then submit it and have it approved: \
             ferry change create --title TEXT --type normal --service {} --env {env} --release {release}",
            release.split('@').next().unwrap_or(release)
        ),
    };
    Finding::new(
        code::CHANGE_REQUEST_MISSING,
        format!(
            "{env} requires an approved, scheduled or implemented change request for {release} ({linked}){also}"
        ),
        clear,
    )
}

/// The three largest factors, as "largest factors: code +points, …".
fn largest_factors(risk: &RiskAssessment) -> String {
    if risk.factors.is_empty() {
        return "no factor contributed".to_owned();
    }
    let shown: Vec<String> = risk
        .factors
        .iter()
        .take(3)
        .map(|factor| format!("{} +{}", factor.code, factor.points))
        .collect();
    format!("largest factors: {}", shown.join(", "))
}

/// What the user can do about the factors that can be acted on.
fn risk_remedies(risk: &RiskAssessment, promote: &str) -> String {
    let mut remedies: Vec<String> = Vec::new();
    for factor in &risk.factors {
        let remedy = match factor.code.as_str() {
            "missing-evidence" => "record the missing evidence".to_owned(),
            "failing-evidence" => "fix the failing evidence".to_owned(),
            "short-soak" => "let it soak longer in the previous phase".to_owned(),
            "late-in-day" | "before-weekend" => {
                format!("promote in working hours: {promote} --at TIME")
            }
            "change-size" | "breaking-changes" => "release smaller changes".to_owned(),
            _ => continue,
        };
        if !remedies.contains(&remedy) {
            remedies.push(remedy);
        }
    }
    if remedies.is_empty() {
        "review the factors before promoting".to_owned()
    } else {
        remedies.join("; ")
    }
}
