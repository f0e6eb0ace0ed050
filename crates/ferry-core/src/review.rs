//! Post-implementation reviews of deployments: which deployments get one
//! ([`reason`]), when each is due ([`due_after`]), the draft written from the
//! deployment's own timeline ([`draft`]), and how a review is completed
//! ([`ReviewOutcome`], [`check_completion`]). Pure: the store reads the facts
//! ([`ReviewFacts`]) and keeps what these functions answer.
//!
//! The rules kept:
//!
//! - **Who gets a review.** Every deployment that failed, every deployment
//!   that was rolled back (when its rollback ends, whatever the rollback's
//!   outcome), every emergency deployment once it ends, and, where the
//!   environment's policy says `review = "always"`, every deployment that
//!   ends after it started. A rollback deployment gets none of its own: it
//!   is part of the review of the deployment it undoes. A deployment has one
//!   review at most; the reason is the first that applied.
//! - **Due.** A review is due [`DEFAULT_DUE`] after it opens, or the
//!   environment's `review_due` (a duration such as `5d` or `36h`, at most
//!   [`LONGEST_DUE_DAYS`] days).
//! - **The draft** says what was promoted (service@version, and the
//!   version it replaced), who promoted it and who approved or rejected it
//!   for the environment, the targets batch by batch with their results,
//!   each failing target with why it failed and its last log lines, the
//!   rollback, and the time to restore: from the failure to the next success
//!   in the environment (a rollback's success counts), as the DORA metrics
//!   measure it. It is written as data and as Markdown.
//! - **Completing** takes an [`ReviewOutcome`], notes (never empty) and follow-up
//!   actions (each one line), within the limits of [`crate::limits`].

use std::fmt;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::DeploymentStatus;

mod draft;

pub use crate::time::span;
pub use draft::*;

/// Which deployments of an environment are reviewed (its policy's `review`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReviewPolicy {
    /// Failed, rolled-back and emergency deployments (the default).
    #[default]
    OnFailure,
    /// Every deployment that ends, after it started; failed, rolled-back and
    /// emergency ones keep their own reason.
    Always,
}

impl ReviewPolicy {
    /// The name as written in ferry.toml.
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewPolicy::OnFailure => "on-failure",
            ReviewPolicy::Always => "always",
        }
    }

    /// Whether this is the default (so ferry.toml and stored policies need
    /// not write it).
    pub fn is_default(&self) -> bool {
        *self == ReviewPolicy::OnFailure
    }
}

impl fmt::Display for ReviewPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a deployment is reviewed.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReviewReason {
    /// It failed.
    Failed,
    /// It was rolled back.
    RolledBack,
    /// It was promoted on the emergency path.
    Emergency,
    /// Its environment reviews every deployment (`review = "always"`).
    Policy,
}

impl ReviewReason {
    /// Every reason.
    pub const ALL: [ReviewReason; 4] = [
        ReviewReason::Failed,
        ReviewReason::RolledBack,
        ReviewReason::Emergency,
        ReviewReason::Policy,
    ];

    /// The name as stored, sent and audited.
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewReason::Failed => "failed",
            ReviewReason::RolledBack => "rolled-back",
            ReviewReason::Emergency => "emergency",
            ReviewReason::Policy => "policy",
        }
    }

    /// The reason named `text`; the error names every reason.
    pub fn parse(text: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|reason| reason.as_str() == text)
            .ok_or_else(|| {
                format!("{text:?} is not a review reason; expected failed, rolled-back, emergency or policy")
            })
    }

    /// Why, in words.
    pub fn describe(self) -> &'static str {
        match self {
            ReviewReason::Failed => "the deployment failed",
            ReviewReason::RolledBack => "the deployment was rolled back",
            ReviewReason::Emergency => "it was an emergency deployment",
            ReviewReason::Policy => "the environment reviews every deployment",
        }
    }
}

impl fmt::Display for ReviewReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a review ended.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReviewOutcome {
    /// The cause is understood and fixed; nothing is left to do.
    Resolved,
    /// The cause is understood; the follow-up actions remain to be done.
    FollowUp,
    /// The cause is understood and left as it is, knowingly.
    AcceptedRisk,
}

impl ReviewOutcome {
    /// Every outcome.
    pub const ALL: [ReviewOutcome; 3] = [
        ReviewOutcome::Resolved,
        ReviewOutcome::FollowUp,
        ReviewOutcome::AcceptedRisk,
    ];

    /// The name as written in commands, stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewOutcome::Resolved => "resolved",
            ReviewOutcome::FollowUp => "follow-up",
            ReviewOutcome::AcceptedRisk => "accepted-risk",
        }
    }

    /// The outcome named `text`; the error names every outcome.
    pub fn parse(text: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|outcome| outcome.as_str() == text)
            .ok_or_else(|| {
                format!(
                    "{text:?} is not a review outcome; expected resolved, follow-up or accepted-risk"
                )
            })
    }

    /// What it means, for people.
    pub fn describe(self) -> &'static str {
        match self {
            ReviewOutcome::Resolved => "the cause is understood and fixed",
            ReviewOutcome::FollowUp => "the cause is understood; follow-up actions remain",
            ReviewOutcome::AcceptedRisk => "the cause is understood and knowingly left as it is",
        }
    }
}

impl fmt::Display for ReviewOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How long after it opens a review is due, unless the environment says
/// otherwise (`review_due`).
pub const DEFAULT_DUE: &str = "7d";

/// The longest `review_due`, in days.
pub const LONGEST_DUE_DAYS: i64 = 366;

/// How long after it opens a review is due, given the environment's
/// `review_due` (`None`: [`DEFAULT_DUE`]). The error says what is expected.
pub fn due_after(setting: Option<&str>) -> Result<Duration, String> {
    let text = setting.unwrap_or(DEFAULT_DUE);
    let due = crate::windows::parse_duration(text)?;
    if due <= Duration::zero() {
        return Err(format!(
            "{text:?} is no time at all; expected a duration such as \"7d\" or \"36h\""
        ));
    }
    if due > Duration::days(LONGEST_DUE_DAYS) {
        return Err(format!(
            "{text:?} is longer than {LONGEST_DUE_DAYS} days; a review is due within a year"
        ));
    }
    Ok(due)
}

/// How a deployment ended, as [`reason`] reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ending {
    /// Its status now.
    pub status: DeploymentStatus,
    /// Whether it is a rollback of another deployment.
    pub rollback: bool,
    /// Whether it was promoted on the emergency path.
    pub emergency: bool,
    /// Whether it ever ran (a deployment cancelled before it started did not).
    pub started: bool,
    /// Its environment's policy.
    pub policy: ReviewPolicy,
}

/// Why the deployment that ended as `ending` says gets a review, if it does
/// (see the module's rules). A deployment that is not finished gets none yet.
pub fn reason(ending: &Ending) -> Option<ReviewReason> {
    if ending.rollback || !ending.status.is_finished() {
        return None;
    }
    match ending.status {
        DeploymentStatus::Failed => Some(ReviewReason::Failed),
        DeploymentStatus::RolledBack => Some(ReviewReason::RolledBack),
        _ if !ending.started => None,
        _ if ending.emergency => Some(ReviewReason::Emergency),
        _ if ending.policy == ReviewPolicy::Always => Some(ReviewReason::Policy),
        _ => None,
    }
}

/// Checks what completes a review: notes that say something, within
/// [`crate::limits::REVIEW_NOTES`], and at most
/// [`crate::limits::REVIEW_ACTIONS`] follow-up actions, each one non-empty
/// line within [`crate::limits::REVIEW_ACTION`]. Answers the notes and
/// actions trimmed; the error names the field.
pub fn check_completion(notes: &str, actions: &[String]) -> Result<(String, Vec<String>), String> {
    let notes = notes.trim();
    if notes.is_empty() {
        return Err(
            "notes: must not be empty; say what happened, why, and what was learnt".to_owned(),
        );
    }
    crate::limits::REVIEW_NOTES
        .check("notes", notes)
        .map_err(|error| error.to_string())?;
    crate::limits::REVIEW_ACTIONS
        .check_count("actions", actions.len())
        .map_err(|error| error.to_string())?;
    let mut kept = Vec::with_capacity(actions.len());
    for (index, action) in actions.iter().enumerate() {
        let field = format!("actions[{index}]");
        let action = action.trim();
        if action.is_empty() {
            return Err(format!(
                "{field}: must not be empty; say what is to be done"
            ));
        }
        crate::limits::REVIEW_ACTION
            .check(&field, action)
            .map_err(|error| error.to_string())?;
        kept.push(action.to_owned());
    }
    Ok((notes.to_owned(), kept))
}

/// Whether a review still open at `now` is past its due time.
pub fn is_overdue(due_at: DateTime<Utc>, completed: bool, now: DateTime<Utc>) -> bool {
    !completed && now >= due_at
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn at(minute: u32, second: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2027, 3, 4, 10, minute, second)
            .unwrap()
    }

    /// api@1.1.0 to prod, approved by bob and carol, failing on web-2 in
    /// batch 2 after web-1 succeeded in batch 1, rolled back automatically,
    /// restored by the rollback 90 seconds after the failure.
    fn failed() -> ReviewFacts {
        ReviewFacts {
            deployment: 42,
            service: "api".into(),
            version: "1.1.0".into(),
            environment: "prod".into(),
            previous_version: Some("1.0.0".into()),
            status: DeploymentStatus::RolledBack,
            created_by: "alice".into(),
            created_at: at(0, 0),
            updated_at: at(6, 30),
            failed_at: Some(at(5, 0)),
            reason: Some("halted: failed on web-2 (tolerated: 0)".into()),
            emergency_reason: None,
            decisions: vec![
                DecisionFact {
                    user: "bob".into(),
                    approve: true,
                    comment: "looks fine".into(),
                    at: at(1, 0),
                },
                DecisionFact {
                    user: "carol".into(),
                    approve: true,
                    comment: String::new(),
                    at: at(1, 30),
                },
            ],
            targets: vec![
                TargetFact {
                    target: "web-2".into(),
                    batch: 1,
                    kind: "deploy".into(),
                    state: "failed".into(),
                    result: Some(json!({
                        "steps": [{ "name": "migrate", "exit_code": 3, "timed_out": false, "seconds": 1.0 }],
                        "health": null,
                        "log_tail": ["tail only"],
                    })),
                    updated_at: at(4, 50),
                    log: (1..=25)
                        .map(|n| format!("line {n}"))
                        .chain(["error: migration 0042 failed: column exists".to_owned()])
                        .collect(),
                },
                TargetFact {
                    target: "web-1".into(),
                    batch: 0,
                    kind: "deploy".into(),
                    state: "succeeded".into(),
                    result: Some(
                        json!({ "steps": [{ "name": "migrate", "exit_code": 0, "seconds": 1.0 }] }),
                    ),
                    updated_at: at(3, 0),
                    log: vec!["fine".into()],
                },
            ],
            rollback: Some(RollbackFact {
                deployment: 43,
                version: "1.0.0".into(),
                status: DeploymentStatus::Succeeded,
                created_by: "system".into(),
                created_at: at(5, 1),
                ended_at: Some(at(6, 30)),
            }),
            restored: Some(RestoreFact {
                deployment: 43,
                version: "1.0.0".into(),
                at: at(6, 30),
            }),
        }
    }

    #[test]
    fn the_draft_names_the_failing_target_and_its_last_log_lines() {
        let draft = draft(&failed());
        let web2 = draft.targets.iter().find(|t| t.target == "web-2").unwrap();
        assert_eq!(
            web2.error.as_deref(),
            Some("step \"migrate\" exited with 3")
        );
        assert_eq!(web2.batch, 2);
        assert_eq!(web2.log.len(), LOG_LINES, "only the last lines");
        assert_eq!(
            web2.log.last().map(String::as_str),
            Some("error: migration 0042 failed: column exists")
        );
        assert_eq!(web2.log.first().map(String::as_str), Some("line 7"));
        let web1 = draft.targets.iter().find(|t| t.target == "web-1").unwrap();
        assert!(web1.error.is_none() && web1.log.is_empty());
        assert_eq!(draft.targets[0].target, "web-1", "batch order");
        assert!(
            draft.summary.contains("api@1.1.0 failed in prod on web-2"),
            "{}",
            draft.summary
        );
        assert!(
            draft
                .markdown
                .contains("web-2 (deploy job, batch 2): step \"migrate\" exited with 3"),
            "{}",
            draft.markdown
        );
        assert!(
            draft.markdown.contains("```text\nline 7\n"),
            "{}",
            draft.markdown
        );
        assert!(
            draft
                .markdown
                .contains("error: migration 0042 failed: column exists\n```"),
            "{}",
            draft.markdown
        );
    }

    #[test]
    fn the_draft_names_what_was_promoted_and_who_approved_it() {
        let draft = draft(&failed());
        assert_eq!(draft.release, "api@1.1.0");
        assert_eq!(draft.previous_version.as_deref(), Some("1.0.0"));
        assert_eq!(draft.promoted_by, "alice");
        let approvers: Vec<&str> = draft.decisions.iter().map(|d| d.user.as_str()).collect();
        assert_eq!(approvers, ["bob", "carol"]);
        assert!(
            draft
                .markdown
                .contains("- Release: api@1.1.0 to prod, replacing 1.0.0"),
            "{}",
            draft.markdown
        );
        assert!(
            draft
                .markdown
                .contains("- Approved by bob at 2027-03-04 10:01:00 UTC: looks fine"),
            "{}",
            draft.markdown
        );
        assert!(
            draft.markdown.contains("- Approved by carol at"),
            "{}",
            draft.markdown
        );

        let mut unapproved = failed();
        unapproved.decisions.clear();
        assert!(
            super::draft(&unapproved)
                .markdown
                .contains("Nobody approved or rejected it")
        );
    }

    #[test]
    fn the_draft_names_the_rollback_and_the_time_to_restore() {
        let draft = draft(&failed());
        let rollback = draft.rollback.as_ref().unwrap();
        assert_eq!(
            (rollback.deployment, rollback.version.as_str()),
            (43, "1.0.0")
        );
        assert_eq!(rollback.by, "system");
        let restored = draft.restored.as_ref().unwrap();
        assert_eq!((restored.deployment, restored.seconds), (43, 90));
        assert!(
            draft
                .summary
                .contains("deployment 43 rolled back to 1.0.0 (succeeded)"),
            "{}",
            draft.summary
        );
        assert!(
            draft
                .summary
                .contains("restored by deployment 43 in 1m 30s"),
            "{}",
            draft.summary
        );
        assert!(
            draft
                .markdown
                .contains("- Rolled back automatically: deployment 43 put 1.0.0 back (succeeded)"),
            "{}",
            draft.markdown
        );
        assert!(
            draft
                .markdown
                .contains("- Time to restore: 1m 30s (from the failure at 2027-03-04 10:05:00 UTC"),
            "{}",
            draft.markdown
        );

        // Not restored yet: said so, without a time.
        let mut pending = failed();
        pending.restored = None;
        pending.rollback.as_mut().unwrap().status = DeploymentStatus::Running;
        pending.rollback.as_mut().unwrap().ended_at = None;
        let draft = super::draft(&pending);
        assert!(draft.restored.is_none());
        assert!(
            draft.summary.ends_with("not restored yet."),
            "{}",
            draft.summary
        );
        assert!(
            draft.markdown.contains("- Not restored yet"),
            "{}",
            draft.markdown
        );
    }

    #[test]
    fn the_timeline_tells_the_story_in_order() {
        let draft = draft(&failed());
        let times: Vec<DateTime<Utc>> = draft.timeline.iter().map(|e| e.at).collect();
        let mut sorted = times.clone();
        sorted.sort();
        assert_eq!(times, sorted);
        let story: Vec<&str> = draft.timeline.iter().map(|e| e.what.as_str()).collect();
        assert_eq!(story[0], "alice promoted api@1.1.0 to prod");
        assert!(story.contains(&"bob approved api@1.1.0 for prod: looks fine"));
        assert!(story.iter().any(|s| {
            s.starts_with("web-2 failed (deploy job, batch 2): step \"migrate\" exited with 3")
        }));
        assert!(story.contains(&"deployment 43 began rolling back to 1.0.0 (automatically)"));
        assert_eq!(
            story.last().copied(),
            Some("prod was restored: deployment 43 of 1.0.0 succeeded, 1m 30s after the failure")
        );
    }

    #[test]
    fn an_emergency_success_is_drafted_without_a_restore() {
        let facts = ReviewFacts {
            status: DeploymentStatus::Succeeded,
            failed_at: None,
            reason: None,
            emergency_reason: Some("checkout is down".into()),
            targets: vec![],
            rollback: None,
            restored: None,
            ..failed()
        };
        let draft = draft(&facts);
        assert_eq!(
            draft.summary,
            "api@1.1.0 succeeded in prod (an emergency deployment)."
        );
        assert!(draft.markdown.contains("- Emergency: checkout is down"));
        assert!(draft.markdown.contains("Nothing to restore"));
        assert!(draft.markdown.contains("No agent ran it."));
    }

    #[test]
    fn a_fleet_failing_alike_is_told_of_briefly() {
        let mut facts = failed();
        let template = facts.targets[0].clone();
        facts.targets = (0..40)
            .map(|n| TargetFact {
                target: format!("web-{n:02}"),
                ..template.clone()
            })
            .collect();
        let draft = draft(&facts);
        assert_eq!(draft.targets.len(), 40, "every target is listed");
        let quoted = draft.targets.iter().filter(|t| !t.log.is_empty()).count();
        assert_eq!(quoted, QUOTED_TARGETS, "the first ones' logs only");
        assert!(draft.targets[0].log.len() == LOG_LINES && draft.targets[39].log.is_empty());
        let failures = draft
            .timeline
            .iter()
            .filter(|e| e.what.contains(" failed (deploy job"))
            .count();
        assert_eq!(failures, TIMELINE_TARGETS);
        assert!(
            draft.summary.starts_with(
                "api@1.1.0 failed in prod on web-00, web-01, web-02, web-03, web-04 and 35 more;"
            ),
            "{}",
            draft.summary
        );
        assert!(
            draft
                .timeline
                .iter()
                .any(|e| e.what == "30 more target(s) failed (see the targets)")
        );
    }

    #[test]
    fn a_log_with_backticks_keeps_its_fence() {
        let mut facts = failed();
        facts.targets[0].log = vec!["```".into(), "`````oops".into()];
        let draft = draft(&facts);
        assert!(
            draft
                .markdown
                .contains("``````text\n```\n`````oops\n``````\n"),
            "{}",
            draft.markdown
        );
    }

    #[test]
    fn why_a_target_failed() {
        assert_eq!(why_failed(None), "no report: the agent stopped answering");
        assert_eq!(
            why_failed(Some(&json!({ "reason": "lease expired" }))),
            "lease expired"
        );
        assert_eq!(
            why_failed(Some(
                &json!({ "steps": [{ "name": "a", "exit_code": 0 }, { "name": "b", "timed_out": true }] })
            )),
            "step \"b\" timed out"
        );
        assert_eq!(
            why_failed(Some(
                &json!({ "steps": [{ "name": "a", "exit_code": 0 }], "health": { "healthy": false, "attempts": 3, "last": "HTTP 500" } })
            )),
            "health check failed: HTTP 500"
        );
        assert_eq!(why_failed(Some(&json!({ "log_tail": ["a", "b"] }))), "b");
    }

    #[test]
    fn which_deployments_are_reviewed() {
        let ending = |status, policy| Ending {
            status,
            rollback: false,
            emergency: false,
            started: true,
            policy,
        };
        use DeploymentStatus as S;
        use ReviewPolicy as P;
        assert_eq!(
            reason(&ending(S::Failed, P::OnFailure)),
            Some(ReviewReason::Failed)
        );
        assert_eq!(
            reason(&ending(S::RolledBack, P::OnFailure)),
            Some(ReviewReason::RolledBack)
        );
        assert_eq!(reason(&ending(S::Succeeded, P::OnFailure)), None);
        assert_eq!(reason(&ending(S::Cancelled, P::OnFailure)), None);
        assert_eq!(
            reason(&ending(S::Succeeded, P::Always)),
            Some(ReviewReason::Policy)
        );
        assert_eq!(
            reason(&ending(S::Cancelled, P::Always)),
            Some(ReviewReason::Policy)
        );
        assert_eq!(
            reason(&ending(S::Failed, P::Always)),
            Some(ReviewReason::Failed)
        );
        // Not ended yet: nothing.
        assert_eq!(reason(&ending(S::Running, P::Always)), None);
        // Emergency: once it ends, whatever the policy; a failure says so.
        let emergency = |status| Ending {
            emergency: true,
            ..ending(status, P::OnFailure)
        };
        assert_eq!(
            reason(&emergency(S::Succeeded)),
            Some(ReviewReason::Emergency)
        );
        assert_eq!(reason(&emergency(S::Failed)), Some(ReviewReason::Failed));
        // Cancelled before it started: nothing ran, nothing to review.
        let unstarted = Ending {
            started: false,
            ..emergency(S::Cancelled)
        };
        assert_eq!(reason(&unstarted), None);
        // A rollback is reviewed with the deployment it undoes.
        let rollback = Ending {
            rollback: true,
            ..ending(S::Failed, P::Always)
        };
        assert_eq!(reason(&rollback), None);
    }

    #[test]
    fn due_times() {
        assert_eq!(due_after(None), Ok(Duration::days(7)));
        assert_eq!(due_after(Some("36h")), Ok(Duration::hours(36)));
        assert_eq!(due_after(Some("2s")), Ok(Duration::seconds(2)));
        assert!(
            due_after(Some("0s"))
                .unwrap_err()
                .contains("no time at all")
        );
        assert!(due_after(Some("400d")).unwrap_err().contains("366 days"));
        assert!(
            due_after(Some("a week"))
                .unwrap_err()
                .contains("not a duration")
        );
        let due = at(0, 0);
        assert!(!is_overdue(due, false, at(0, 0) - Duration::seconds(1)));
        assert!(is_overdue(due, false, due));
        assert!(!is_overdue(due, true, at(30, 0)));
    }

    #[test]
    fn completions_are_checked() {
        assert_eq!(
            check_completion("  fixed the migration ", &[" add a test ".into()]),
            Ok(("fixed the migration".into(), vec!["add a test".into()]))
        );
        assert!(
            check_completion(" ", &[])
                .unwrap_err()
                .starts_with("notes: must not be empty")
        );
        let long = "x".repeat(crate::limits::REVIEW_NOTES.max + 1);
        assert!(
            check_completion(&long, &[])
                .unwrap_err()
                .starts_with("notes: ")
        );
        assert!(
            check_completion("ok", &["".into()])
                .unwrap_err()
                .starts_with("actions[0]: must not be empty")
        );
        assert!(
            check_completion("ok", &["two\nlines".into()])
                .unwrap_err()
                .starts_with("actions[0]: holds the control character")
        );
        let many = vec!["a".to_owned(); crate::limits::REVIEW_ACTIONS.max + 1];
        assert!(
            check_completion("ok", &many)
                .unwrap_err()
                .starts_with("actions: ")
        );
    }

    #[test]
    fn names_round_trip() {
        for outcome in ReviewOutcome::ALL {
            assert_eq!(ReviewOutcome::parse(outcome.as_str()), Ok(outcome));
            assert_eq!(
                serde_json::to_value(outcome).unwrap(),
                json!(outcome.as_str())
            );
        }
        assert!(
            ReviewOutcome::parse("done")
                .unwrap_err()
                .contains("accepted-risk")
        );
        for reason in ReviewReason::ALL {
            assert_eq!(ReviewReason::parse(reason.as_str()), Ok(reason));
            assert_eq!(
                serde_json::to_value(reason).unwrap(),
                json!(reason.as_str())
            );
        }
        assert_eq!(
            serde_json::to_value(ReviewPolicy::OnFailure).unwrap(),
            json!("on-failure")
        );
    }

    #[test]
    fn the_policy_is_read_from_ferry_toml_and_checked_where_written() {
        let source = |policy: &str| {
            format!(
                "[[environment]]\nname = \"prod\"\ntier = \"production\"\npolicy = {{ {policy} }}\n"
            )
        };
        let config =
            crate::config::parse(&source("review = \"always\", review_due = \"2d\"")).unwrap();
        let policy = &config.environments[0].policy;
        assert_eq!(policy.review, ReviewPolicy::Always);
        assert_eq!(policy.review_due.as_deref(), Some("2d"));
        let default = crate::config::parse(&source("approvals = 1")).unwrap();
        assert_eq!(
            default.environments[0].policy.review,
            ReviewPolicy::OnFailure
        );
        // The defaults are not written, so stored policies stay as they were.
        let written = serde_json::to_value(&default.environments[0].policy).unwrap();
        assert!(written.get("review").is_none() && written.get("review_due").is_none());

        let text = source("review = \"sometimes\"");
        let error = crate::config::parse(&text).unwrap_err();
        assert!(
            error.message.contains("always") && error.message.contains("on-failure"),
            "{}",
            error.message
        );
        assert_eq!(error.line_column(&text).map(|(line, _)| line), Some(4));
        let text = source("review_due = \"a week\"");
        let error = crate::config::parse(&text).unwrap_err();
        assert!(
            error.message.contains("policy review_due") && error.message.contains("not a duration"),
            "{}",
            error.message
        );
        assert_eq!(error.line_column(&text), Some((4, 12)), "the key");
    }

    #[test]
    fn spans_for_people() {
        assert_eq!(span(Duration::seconds(45)), "45s");
        assert_eq!(span(Duration::seconds(200)), "3m 20s");
        assert_eq!(span(Duration::seconds(7_500)), "2h 5m");
        assert_eq!(span(Duration::seconds(3 * 86_400 + 4 * 3_600)), "3d 4h");
    }
}
