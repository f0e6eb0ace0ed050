//! Change requests (ITIL RFCs): types, the state machine, and conflicts between them.
//!
//! ```text
//! draft, deferred       ──submit───►  submitted    (standard: approved)
//! submitted             ──assess───►  assessed
//! submitted             ──approve──►  approved     (not normal: it must be assessed first)
//! assessed              ──approve──►  approved
//! submitted, assessed   ──reject───►  rejected
//! submitted, assessed   ──defer────►  deferred
//! approved, scheduled   ──schedule─►  scheduled    (from scheduled: a reschedule)
//! approved, scheduled   ──implement►  implemented
//! implemented           ──review───►  reviewed
//! implemented           ──close────►  closed       (not emergency: it must be reviewed first)
//! reviewed, rejected    ──close────►  closed
//! ```
//!
//! The kind of a change bends three rules:
//!
//! - a **standard** change is pre-approved: `submit` takes it straight to
//!   `approved` (from `draft`, and from `deferred` should a deferred change be
//!   reclassified as standard);
//! - a **normal** change must be assessed before it is approved; an
//!   **emergency** one (and a standard one) may be approved from `submitted`;
//! - an **emergency** change must get its post-implementation review before it
//!   closes; the others may close straight from `implemented`.
//!
//! `rejected` and `closed` are the only states that are no longer open.
//! [`next_state`] is the single source of truth; [`allowed_actions`] and the
//! error of an illegal action are derived from it.
//!
//! Two changes **conflict** when both are approved or scheduled, for the same
//! service and environment, and their windows overlap ([`conflicts`]).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

/// The type of a change, which decides how much control it goes through.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// Low risk, routine, pre-approved: submitting it approves it.
    Standard,
    /// Assessed and approved by a change board.
    Normal,
    /// Expedited: may be approved without assessment, must be reviewed after.
    Emergency,
}

impl ChangeKind {
    /// Every kind.
    pub const ALL: [ChangeKind; 3] = [
        ChangeKind::Standard,
        ChangeKind::Normal,
        ChangeKind::Emergency,
    ];

    /// The kind's name as stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Standard => "standard",
            ChangeKind::Normal => "normal",
            ChangeKind::Emergency => "emergency",
        }
    }

    /// Parses a kind name, naming the accepted ones when it is not one.
    pub fn parse(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == s)
            .ok_or_else(|| {
                format!("unknown change kind {s:?}; expected one of standard, normal, emergency")
            })
    }
}

impl fmt::Display for ChangeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a change request stands.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeState {
    /// Being written; not yet before anyone.
    Draft,
    /// Waiting for assessment (or, for an emergency, approval).
    Submitted,
    /// Its risk and impact were assessed; waiting for a decision.
    Assessed,
    /// May be implemented.
    Approved,
    /// Refused; can only be closed.
    Rejected,
    /// Put off; may be submitted again.
    Deferred,
    /// Approved, with a window planned.
    Scheduled,
    /// Carried out.
    Implemented,
    /// Its post-implementation review is recorded.
    Reviewed,
    /// Done with.
    Closed,
}

impl ChangeState {
    /// Every state, in the order of the process.
    pub const ALL: [ChangeState; 10] = [
        ChangeState::Draft,
        ChangeState::Submitted,
        ChangeState::Assessed,
        ChangeState::Approved,
        ChangeState::Rejected,
        ChangeState::Deferred,
        ChangeState::Scheduled,
        ChangeState::Implemented,
        ChangeState::Reviewed,
        ChangeState::Closed,
    ];

    /// The state's name as stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeState::Draft => "draft",
            ChangeState::Submitted => "submitted",
            ChangeState::Assessed => "assessed",
            ChangeState::Approved => "approved",
            ChangeState::Rejected => "rejected",
            ChangeState::Deferred => "deferred",
            ChangeState::Scheduled => "scheduled",
            ChangeState::Implemented => "implemented",
            ChangeState::Reviewed => "reviewed",
            ChangeState::Closed => "closed",
        }
    }

    /// Parses a state name, naming the accepted ones when it is not one.
    pub fn parse(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown change state {s:?}; expected one of draft, submitted, assessed, \
                     approved, rejected, deferred, scheduled, implemented, reviewed, closed"
                )
            })
    }

    /// Whether the change is still in progress: neither rejected nor closed.
    pub fn is_open(self) -> bool {
        !matches!(self, ChangeState::Rejected | ChangeState::Closed)
    }

    /// "a" or "an", for messages.
    fn article(self) -> &'static str {
        match self {
            ChangeState::Assessed | ChangeState::Approved | ChangeState::Implemented => "an",
            _ => "a",
        }
    }
}

impl fmt::Display for ChangeState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a person does to a change request: the verbs of `ferry change`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeAction {
    /// Put a draft (or a deferred change) before the change board.
    Submit,
    /// Record the assessment of risk and impact.
    Assess,
    /// Allow the change.
    Approve,
    /// Refuse the change.
    Reject,
    /// Put the change off.
    Defer,
    /// Plan (or re-plan) its window.
    Schedule,
    /// Record that it was carried out.
    Implement,
    /// Record its post-implementation review.
    Review,
    /// Finish with it.
    Close,
}

impl ChangeAction {
    /// Every action, in the order of the process.
    pub const ALL: [ChangeAction; 9] = [
        ChangeAction::Submit,
        ChangeAction::Assess,
        ChangeAction::Approve,
        ChangeAction::Reject,
        ChangeAction::Defer,
        ChangeAction::Schedule,
        ChangeAction::Implement,
        ChangeAction::Review,
        ChangeAction::Close,
    ];

    /// The action's name: the CLI verb, as stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeAction::Submit => "submit",
            ChangeAction::Assess => "assess",
            ChangeAction::Approve => "approve",
            ChangeAction::Reject => "reject",
            ChangeAction::Defer => "defer",
            ChangeAction::Schedule => "schedule",
            ChangeAction::Implement => "implement",
            ChangeAction::Review => "review",
            ChangeAction::Close => "close",
        }
    }

    /// Parses an action name, naming the accepted ones when it is not one.
    pub fn parse(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|action| action.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown change action {s:?}; expected one of submit, assess, approve, \
                     reject, defer, schedule, implement, review, close"
                )
            })
    }

    /// The past participle, for messages ("cannot be approved").
    fn participle(self) -> &'static str {
        match self {
            ChangeAction::Submit => "submitted",
            ChangeAction::Assess => "assessed",
            ChangeAction::Approve => "approved",
            ChangeAction::Reject => "rejected",
            ChangeAction::Defer => "deferred",
            ChangeAction::Schedule => "scheduled",
            ChangeAction::Implement => "implemented",
            ChangeAction::Review => "reviewed",
            ChangeAction::Close => "closed",
        }
    }
}

impl fmt::Display for ChangeAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An action the state machine does not allow from a change's state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{article} {from} change cannot be {participle}; from {from} you can: {allowed}",
    article = from.article(),
    participle = action.participle()
)]
pub struct IllegalChange {
    /// The change's kind, which some rules depend on.
    pub kind: ChangeKind,
    /// The current state.
    pub from: ChangeState,
    /// The requested action.
    pub action: ChangeAction,
    /// The actions allowed from `from` for this kind, for the message; when
    /// the kind is why `action` is refused, the reason follows in brackets.
    pub allowed: String,
}

/// The state a change of `kind` reaches by `action` from `from`, or `None`
/// when the action is not allowed. The whole machine is this one match.
fn step(kind: ChangeKind, from: ChangeState, action: ChangeAction) -> Option<ChangeState> {
    use ChangeAction as A;
    use ChangeKind as K;
    use ChangeState as S;
    let to = match (from, action) {
        (S::Draft | S::Deferred, A::Submit) if kind == K::Standard => S::Approved,
        (S::Draft | S::Deferred, A::Submit) => S::Submitted,
        (S::Submitted, A::Assess) => S::Assessed,
        (S::Submitted, A::Approve) if kind != K::Normal => S::Approved,
        (S::Assessed, A::Approve) => S::Approved,
        (S::Submitted | S::Assessed, A::Reject) => S::Rejected,
        (S::Submitted | S::Assessed, A::Defer) => S::Deferred,
        (S::Approved | S::Scheduled, A::Schedule) => S::Scheduled,
        (S::Approved | S::Scheduled, A::Implement) => S::Implemented,
        (S::Implemented, A::Review) => S::Reviewed,
        (S::Implemented, A::Close) if kind != K::Emergency => S::Closed,
        (S::Reviewed | S::Rejected, A::Close) => S::Closed,
        _ => return None,
    };
    Some(to)
}

/// The actions allowed on a change of `kind` in state `from`, in the order of
/// [`ChangeAction::ALL`].
pub fn allowed_actions(kind: ChangeKind, from: ChangeState) -> Vec<ChangeAction> {
    ChangeAction::ALL
        .into_iter()
        .filter(|&action| step(kind, from, action).is_some())
        .collect()
}

/// The state after `action`, given the change's kind.
///
/// - `draft --submit--> submitted`, but a standard change is pre-approved:
///   submit takes it straight to `approved` (also from `deferred`);
/// - `submitted --assess--> assessed`; `submitted|assessed --approve-->
///   approved`, except that a normal change must be assessed first;
///   `submitted|assessed --reject--> rejected`; `submitted|assessed --defer-->
///   deferred`; `deferred --submit--> submitted`;
/// - `approved|scheduled --schedule--> scheduled` (a reschedule from
///   `scheduled`); `approved|scheduled --implement--> implemented`;
/// - `implemented --review--> reviewed`; `reviewed|rejected --close-->
///   closed`; `implemented --close--> closed` except for an emergency change,
///   which must be reviewed before it closes.
///
/// The error names the actions that are allowed instead.
pub fn next_state(
    kind: ChangeKind,
    from: ChangeState,
    action: ChangeAction,
) -> Result<ChangeState, IllegalChange> {
    if let Some(to) = step(kind, from, action) {
        return Ok(to);
    }
    let mut allowed = match allowed_actions(kind, from).as_slice() {
        [] => "nothing: it is final".to_owned(),
        actions => actions
            .iter()
            .map(|a| a.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    };
    // Say so when the kind, not the state, is what refuses the action.
    let reason = match (kind, from, action) {
        (ChangeKind::Normal, ChangeState::Submitted, ChangeAction::Approve) => {
            Some("a normal change must be assessed before it is approved")
        }
        (ChangeKind::Emergency, ChangeState::Implemented, ChangeAction::Close) => {
            Some("an emergency change must be reviewed before it is closed")
        }
        _ => None,
    };
    if let Some(reason) = reason {
        allowed = format!("{allowed} ({reason})");
    }
    Err(IllegalChange {
        kind,
        from,
        action,
        allowed,
    })
}

/// Whether the change still needs its post-implementation review: an
/// emergency change that is implemented and not yet reviewed.
pub fn needs_review(kind: ChangeKind, state: ChangeState) -> bool {
    kind == ChangeKind::Emergency && state == ChangeState::Implemented
}

/// How a change went, as its post-implementation review judges it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewOutcome {
    /// It met its objectives.
    Successful,
    /// It met some of its objectives.
    Partially,
    /// It did not meet its objectives.
    Failed,
}

impl ReviewOutcome {
    /// Every outcome, from the best to the worst.
    pub const ALL: [ReviewOutcome; 3] = [
        ReviewOutcome::Successful,
        ReviewOutcome::Partially,
        ReviewOutcome::Failed,
    ];

    /// The outcome's name as stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewOutcome::Successful => "successful",
            ReviewOutcome::Partially => "partially",
            ReviewOutcome::Failed => "failed",
        }
    }

    /// Parses an outcome name, naming the accepted ones when it is not one.
    pub fn parse(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|outcome| outcome.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown review outcome {s:?}; expected one of successful, partially, failed"
                )
            })
    }
}

impl fmt::Display for ReviewOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A change's window, `[start, end)`: the end is not part of it, so a window
/// that ends when another starts does not overlap it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangeWindow {
    /// When the change may start.
    pub start: DateTime<Utc>,
    /// When it must be over.
    pub end: DateTime<Utc>,
}

impl ChangeWindow {
    /// Parses `START..END`, each an RFC 3339 time such as
    /// `2026-03-02T22:00:00Z..2026-03-03T02:00:00+01:00`; the end must be
    /// after the start.
    pub fn parse(text: &str) -> Result<Self, String> {
        const FORM: &str = "expected START..END, two RFC 3339 times such as \
                            2026-03-02T22:00:00Z..2026-03-03T02:00:00Z";
        let Some((start, end)) = text.split_once("..") else {
            return Err(format!("invalid change window {text:?}: {FORM}"));
        };
        let time = |part: &str, which: &str| {
            DateTime::parse_from_rfc3339(part.trim())
                .map(|time| time.with_timezone(&Utc))
                .map_err(|error| {
                    format!(
                        "invalid {which} {:?} in change window: {error}; {FORM}",
                        part.trim()
                    )
                })
        };
        let window = ChangeWindow {
            start: time(start, "start")?,
            end: time(end, "end")?,
        };
        if window.end <= window.start {
            return Err(format!(
                "invalid change window {text:?}: the end must be after the start"
            ));
        }
        Ok(window)
    }

    /// Whether the window contains no instant (its end is not after its start).
    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }

    /// Whether the two windows share an instant. Touching windows (one ends
    /// when the other starts) do not; an empty window overlaps nothing.
    pub fn overlaps(&self, other: &ChangeWindow) -> bool {
        !self.is_empty() && !other.is_empty() && self.start < other.end && other.start < self.end
    }
}

impl fmt::Display for ChangeWindow {
    /// The form [`ChangeWindow::parse`] reads, in UTC.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}..{}",
            self.start.to_rfc3339_opts(SecondsFormat::AutoSi, true),
            self.end.to_rfc3339_opts(SecondsFormat::AutoSi, true)
        )
    }
}

/// What [`conflicts`] needs to know of a change request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeSlot {
    /// The change request's id.
    pub id: i64,
    /// The service it changes.
    pub service: String,
    /// The environment it changes.
    pub environment: String,
    /// Its state.
    pub state: ChangeState,
    /// Its window, if planned.
    pub window: Option<ChangeWindow>,
}

impl ChangeSlot {
    /// The window, when the change holds it: approved or scheduled, with a
    /// non-empty window.
    fn held_window(&self) -> Option<ChangeWindow> {
        let holds = matches!(self.state, ChangeState::Approved | ChangeState::Scheduled);
        self.window.filter(|window| holds && !window.is_empty())
    }
}

/// The pairs of changes that conflict: both approved or scheduled, for the
/// same service and environment, with overlapping windows. Each pair has the
/// smaller id first; the pairs are sorted and distinct.
///
/// Runs in O(n log n + pairs): the changes are sorted by service,
/// environment and start, then swept keeping the windows still open.
pub fn conflicts(changes: &[ChangeSlot]) -> Vec<(i64, i64)> {
    let mut held: Vec<(&str, &str, ChangeWindow, i64)> = changes
        .iter()
        .filter_map(|change| {
            let window = change.held_window()?;
            Some((
                change.service.as_str(),
                change.environment.as_str(),
                window,
                change.id,
            ))
        })
        .collect();
    held.sort_unstable_by(|a, b| (a.0, a.1, a.2.start, a.3).cmp(&(b.0, b.1, b.2.start, b.3)));

    let mut pairs = Vec::new();
    for group in held.chunk_by(|a, b| a.0 == b.0 && a.1 == b.1) {
        // The windows started so far that have not ended, earliest end first.
        // Each one left after dropping those ended by `start` overlaps the
        // window starting at `start`: it started no later and ends after it.
        let mut open: BinaryHeap<Reverse<(DateTime<Utc>, i64)>> = BinaryHeap::new();
        for &(_, _, window, id) in group {
            while open
                .peek()
                .is_some_and(|Reverse((end, _))| *end <= window.start)
            {
                open.pop();
            }
            for &Reverse((_, other)) in open.iter() {
                if other != id {
                    pairs.push((other.min(id), other.max(id)));
                }
            }
            open.push(Reverse((window.end, id)));
        }
    }
    pairs.sort_unstable();
    pairs.dedup();
    pairs
}

#[cfg(test)]
mod tests {
    use super::ChangeAction::{self, *};
    use super::ChangeKind::{self, *};
    use super::ChangeState::{self, *};
    use super::*;

    /// Every legal move, per kind; every (kind, state, action) not listed is
    /// illegal.
    const LEGAL: &[(ChangeKind, ChangeState, ChangeAction, ChangeState)] = &[
        // Standard: pre-approved.
        (Standard, Draft, Submit, Approved),
        (Standard, Deferred, Submit, Approved),
        (Standard, Submitted, Assess, Assessed),
        (Standard, Submitted, Approve, Approved),
        (Standard, Assessed, Approve, Approved),
        (Standard, Submitted, Reject, Rejected),
        (Standard, Assessed, Reject, Rejected),
        (Standard, Submitted, Defer, Deferred),
        (Standard, Assessed, Defer, Deferred),
        (Standard, Approved, Schedule, Scheduled),
        (Standard, Scheduled, Schedule, Scheduled),
        (Standard, Approved, Implement, Implemented),
        (Standard, Scheduled, Implement, Implemented),
        (Standard, Implemented, Review, Reviewed),
        (Standard, Implemented, Close, Closed),
        (Standard, Reviewed, Close, Closed),
        (Standard, Rejected, Close, Closed),
        // Normal: assessed before approved.
        (Normal, Draft, Submit, Submitted),
        (Normal, Deferred, Submit, Submitted),
        (Normal, Submitted, Assess, Assessed),
        (Normal, Assessed, Approve, Approved),
        (Normal, Submitted, Reject, Rejected),
        (Normal, Assessed, Reject, Rejected),
        (Normal, Submitted, Defer, Deferred),
        (Normal, Assessed, Defer, Deferred),
        (Normal, Approved, Schedule, Scheduled),
        (Normal, Scheduled, Schedule, Scheduled),
        (Normal, Approved, Implement, Implemented),
        (Normal, Scheduled, Implement, Implemented),
        (Normal, Implemented, Review, Reviewed),
        (Normal, Implemented, Close, Closed),
        (Normal, Reviewed, Close, Closed),
        (Normal, Rejected, Close, Closed),
        // Emergency: approved without assessment, reviewed before closed.
        (Emergency, Draft, Submit, Submitted),
        (Emergency, Deferred, Submit, Submitted),
        (Emergency, Submitted, Assess, Assessed),
        (Emergency, Submitted, Approve, Approved),
        (Emergency, Assessed, Approve, Approved),
        (Emergency, Submitted, Reject, Rejected),
        (Emergency, Assessed, Reject, Rejected),
        (Emergency, Submitted, Defer, Deferred),
        (Emergency, Assessed, Defer, Deferred),
        (Emergency, Approved, Schedule, Scheduled),
        (Emergency, Scheduled, Schedule, Scheduled),
        (Emergency, Approved, Implement, Implemented),
        (Emergency, Scheduled, Implement, Implemented),
        (Emergency, Implemented, Review, Reviewed),
        (Emergency, Reviewed, Close, Closed),
        (Emergency, Rejected, Close, Closed),
    ];

    #[test]
    fn every_triple_is_legal_exactly_when_listed() {
        let mut checked = 0;
        for kind in ChangeKind::ALL {
            for from in ChangeState::ALL {
                for action in ChangeAction::ALL {
                    let expected = LEGAL
                        .iter()
                        .find(|(k, f, a, _)| (*k, *f, *a) == (kind, from, action))
                        .map(|&(_, _, _, to)| to);
                    assert_eq!(
                        next_state(kind, from, action).ok(),
                        expected,
                        "{kind} change, {from} --{action}-->"
                    );
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, 3 * 10 * 9);
    }

    #[test]
    fn allowed_actions_agree_with_next_state() {
        for kind in ChangeKind::ALL {
            for from in ChangeState::ALL {
                let listed: Vec<_> = LEGAL
                    .iter()
                    .filter(|(k, f, _, _)| (*k, *f) == (kind, from))
                    .map(|&(_, _, action, _)| action)
                    .collect();
                let mut allowed = allowed_actions(kind, from);
                allowed.sort_by_key(|a| listed.iter().position(|l| l == a));
                assert_eq!(allowed, listed, "{kind} change in {from}");
            }
        }
    }

    #[test]
    fn an_illegal_action_names_the_allowed_ones() {
        let error = next_state(Emergency, Submitted, Implement).unwrap_err();
        assert_eq!(
            error.to_string(),
            "a submitted change cannot be implemented; from submitted you can: assess, approve, reject, defer"
        );
        assert_eq!(
            (error.kind, error.from, error.action),
            (Emergency, Submitted, Implement)
        );

        let error = next_state(Normal, Approved, Close).unwrap_err();
        assert_eq!(
            error.to_string(),
            "an approved change cannot be closed; from approved you can: schedule, implement"
        );

        let error = next_state(Standard, Closed, Review).unwrap_err();
        assert_eq!(
            error.to_string(),
            "a closed change cannot be reviewed; from closed you can: nothing: it is final"
        );
    }

    #[test]
    fn an_action_refused_because_of_the_kind_says_why() {
        let error = next_state(Normal, Submitted, Approve).unwrap_err();
        assert_eq!(
            error.to_string(),
            "a submitted change cannot be approved; from submitted you can: assess, reject, defer \
             (a normal change must be assessed before it is approved)"
        );
        let error = next_state(Emergency, Implemented, Close).unwrap_err();
        assert_eq!(
            error.to_string(),
            "an implemented change cannot be closed; from implemented you can: review \
             (an emergency change must be reviewed before it is closed)"
        );
    }

    #[test]
    fn a_standard_change_is_approved_on_submission() {
        assert_eq!(next_state(Standard, Draft, Submit), Ok(Approved));
        assert_eq!(next_state(Normal, Draft, Submit), Ok(Submitted));
        assert_eq!(next_state(Emergency, Draft, Submit), Ok(Submitted));
    }

    #[test]
    fn only_an_implemented_unreviewed_emergency_needs_review() {
        for kind in ChangeKind::ALL {
            for state in ChangeState::ALL {
                assert_eq!(
                    needs_review(kind, state),
                    kind == Emergency && state == Implemented,
                    "{kind} {state}"
                );
            }
        }
    }

    #[test]
    fn open_states() {
        let closed: Vec<_> = ChangeState::ALL
            .into_iter()
            .filter(|s| !s.is_open())
            .collect();
        assert_eq!(closed, [Rejected, Closed]);
    }

    #[test]
    fn names_round_trip_and_unknown_ones_are_named() {
        for kind in ChangeKind::ALL {
            assert_eq!(ChangeKind::parse(kind.as_str()), Ok(kind));
        }
        for state in ChangeState::ALL {
            assert_eq!(ChangeState::parse(state.as_str()), Ok(state));
        }
        for action in ChangeAction::ALL {
            assert_eq!(ChangeAction::parse(action.as_str()), Ok(action));
        }
        for outcome in ReviewOutcome::ALL {
            assert_eq!(ReviewOutcome::parse(outcome.as_str()), Ok(outcome));
        }
        let error = ChangeKind::parse("urgent").unwrap_err();
        assert!(error.contains("\"urgent\"") && error.contains("standard, normal, emergency"));
        let error = ChangeState::parse("open").unwrap_err();
        assert!(error.contains("\"open\"") && error.contains("draft, submitted"));
        let error = ChangeAction::parse("cancel").unwrap_err();
        assert!(error.contains("\"cancel\"") && error.contains("submit, assess"));
        let error = ReviewOutcome::parse("ok").unwrap_err();
        assert!(error.contains("successful, partially, failed"));
    }

    #[test]
    fn serde_names_are_the_stored_names() {
        for state in ChangeState::ALL {
            let json = serde_json::to_string(&state).unwrap();
            assert_eq!(json, format!("\"{}\"", state.as_str()));
        }
        for kind in ChangeKind::ALL {
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
        for action in ChangeAction::ALL {
            let json = serde_json::to_string(&action).unwrap();
            assert_eq!(json, format!("\"{}\"", action.as_str()));
        }
        for outcome in ReviewOutcome::ALL {
            let json = serde_json::to_string(&outcome).unwrap();
            assert_eq!(json, format!("\"{}\"", outcome.as_str()));
        }
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn window(start: &str, end: &str) -> ChangeWindow {
        ChangeWindow {
            start: at(start),
            end: at(end),
        }
    }

    #[test]
    fn windows_parse_in_any_offset_and_print_in_utc() {
        let parsed =
            ChangeWindow::parse("2026-03-02T22:00:00Z..2026-03-03T02:00:00+01:00").unwrap();
        assert_eq!(
            parsed,
            window("2026-03-02T22:00:00Z", "2026-03-03T01:00:00Z")
        );
        assert_eq!(
            parsed.to_string(),
            "2026-03-02T22:00:00Z..2026-03-03T01:00:00Z"
        );
        assert_eq!(ChangeWindow::parse(&parsed.to_string()), Ok(parsed));
        assert_eq!(
            ChangeWindow::parse(" 2026-03-02T22:00:00.5Z .. 2026-03-02T23:00:00Z ")
                .unwrap()
                .to_string(),
            "2026-03-02T22:00:00.500Z..2026-03-02T23:00:00Z"
        );
    }

    #[test]
    fn bad_windows_say_the_expected_form() {
        for (text, says) in [
            ("2026-03-02T22:00:00Z", "expected START..END"),
            ("", "expected START..END"),
            ("2026-03-02..2026-03-03", "invalid start \"2026-03-02\""),
            ("2026-03-02T22:00:00Z..tomorrow", "invalid end \"tomorrow\""),
            (
                "2026-03-02T22:00:00Z..2026-03-02T22:00:00Z",
                "the end must be after the start",
            ),
            (
                "2026-03-02T22:00:00Z..2026-03-02T21:00:00Z",
                "the end must be after the start",
            ),
        ] {
            let error = ChangeWindow::parse(text).unwrap_err();
            assert!(error.contains(says), "{text:?}: {error}");
        }
        let error = ChangeWindow::parse("2026-03-02..2026-03-03").unwrap_err();
        assert!(error.contains("RFC 3339"), "{error}");
    }

    #[test]
    fn touching_windows_do_not_overlap() {
        let a = window("2026-03-02T22:00:00Z", "2026-03-02T23:00:00Z");
        let b = window("2026-03-02T23:00:00Z", "2026-03-03T00:00:00Z");
        let c = window("2026-03-02T22:30:00Z", "2026-03-02T23:30:00Z");
        let inside = window("2026-03-02T22:10:00Z", "2026-03-02T22:20:00Z");
        let empty = window("2026-03-02T22:30:00Z", "2026-03-02T22:30:00Z");
        assert!(!a.overlaps(&b) && !b.overlaps(&a));
        assert!(a.overlaps(&c) && c.overlaps(&a));
        assert!(b.overlaps(&c));
        assert!(a.overlaps(&inside) && inside.overlaps(&a));
        assert!(a.overlaps(&a));
        assert!(!a.overlaps(&empty) && !empty.overlaps(&a));
    }

    fn slot(
        id: i64,
        service: &str,
        environment: &str,
        state: ChangeState,
        w: Option<&str>,
    ) -> ChangeSlot {
        ChangeSlot {
            id,
            service: service.to_owned(),
            environment: environment.to_owned(),
            state,
            window: w.map(|w| ChangeWindow::parse(w).unwrap()),
        }
    }

    const NINE_TO_ELEVEN: &str = "2026-03-02T09:00:00Z..2026-03-02T11:00:00Z";
    const TEN_TO_NOON: &str = "2026-03-02T10:00:00Z..2026-03-02T12:00:00Z";
    const ELEVEN_TO_ONE: &str = "2026-03-02T11:00:00Z..2026-03-02T13:00:00Z";

    #[test]
    fn overlapping_approved_or_scheduled_changes_conflict() {
        let changes = [
            slot(7, "api", "prod", Scheduled, Some(TEN_TO_NOON)),
            slot(3, "api", "prod", Approved, Some(NINE_TO_ELEVEN)),
            slot(5, "api", "prod", Approved, Some(ELEVEN_TO_ONE)),
        ];
        // 3 and 5 only touch; 7 overlaps both.
        assert_eq!(conflicts(&changes), [(3, 7), (5, 7)]);
    }

    #[test]
    fn other_services_environments_states_and_missing_windows_do_not_conflict() {
        let changes = [
            slot(1, "api", "prod", Approved, Some(NINE_TO_ELEVEN)),
            slot(2, "api", "staging", Approved, Some(NINE_TO_ELEVEN)),
            slot(3, "web", "prod", Scheduled, Some(NINE_TO_ELEVEN)),
            slot(4, "api", "prod", Approved, None),
        ];
        assert_eq!(conflicts(&changes), []);
        for state in ChangeState::ALL {
            let changes = [
                slot(1, "api", "prod", Approved, Some(NINE_TO_ELEVEN)),
                slot(2, "api", "prod", state, Some(TEN_TO_NOON)),
            ];
            let expected: &[(i64, i64)] = if matches!(state, Approved | Scheduled) {
                &[(1, 2)]
            } else {
                &[]
            };
            assert_eq!(conflicts(&changes), expected, "{state}");
        }
    }

    #[test]
    fn identical_windows_conflict_and_pairs_are_sorted() {
        let changes = [
            slot(30, "api", "prod", Approved, Some(NINE_TO_ELEVEN)),
            slot(20, "api", "prod", Approved, Some(NINE_TO_ELEVEN)),
            slot(10, "api", "prod", Approved, Some(NINE_TO_ELEVEN)),
            slot(15, "web", "prod", Approved, Some(NINE_TO_ELEVEN)),
            slot(12, "web", "prod", Scheduled, Some(TEN_TO_NOON)),
        ];
        assert_eq!(
            conflicts(&changes),
            [(10, 20), (10, 30), (12, 15), (20, 30)]
        );
    }

    mod properties {
        use proptest::prelude::*;

        use super::super::*;

        /// The definition, pair by pair.
        fn naive(changes: &[ChangeSlot]) -> Vec<(i64, i64)> {
            let mut pairs = Vec::new();
            for a in changes {
                for b in changes {
                    let held = |c: &ChangeSlot| {
                        matches!(c.state, ChangeState::Approved | ChangeState::Scheduled)
                    };
                    if a.id < b.id
                        && held(a)
                        && held(b)
                        && a.service == b.service
                        && a.environment == b.environment
                        && matches!((a.window, b.window), (Some(x), Some(y)) if x.overlaps(&y))
                    {
                        pairs.push((a.id, b.id));
                    }
                }
            }
            pairs.sort_unstable();
            pairs.dedup();
            pairs
        }

        fn slot() -> impl Strategy<Value = ChangeSlot> {
            let base = DateTime::parse_from_rfc3339("2026-03-02T00:00:00Z")
                .unwrap()
                .with_timezone(&Utc);
            (
                0i64..40,
                prop::sample::select(vec!["api", "web"]),
                prop::sample::select(vec!["staging", "prod"]),
                prop::sample::select(ChangeState::ALL.to_vec()),
                // Small ranges so that touching, equal and empty windows are common.
                prop::option::weighted(0.9, (0i64..24, -2i64..8)),
            )
                .prop_map(move |(id, service, environment, state, window)| {
                    ChangeSlot {
                        id,
                        service: service.to_owned(),
                        environment: environment.to_owned(),
                        state,
                        window: window.map(|(start, length)| ChangeWindow {
                            start: base + chrono::Duration::hours(start),
                            end: base + chrono::Duration::hours(start + length),
                        }),
                    }
                })
        }

        proptest! {
            #[test]
            fn conflicts_are_the_overlapping_pairs(changes in prop::collection::vec(slot(), 0..40)) {
                prop_assert_eq!(conflicts(&changes), naive(&changes));
            }
        }
    }
}
