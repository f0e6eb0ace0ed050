//! The draft of a review, written from the deployment's own timeline: the
//! facts the store reads ([`ReviewFacts`]) become what was promoted and
//! approved, the targets batch by batch, each failing target with why it
//! failed and its last log lines, the rollback and the time to restore, as
//! data ([`ReviewDraft`]) and as Markdown.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::DeploymentStatus;
use crate::time::span;

/// A person's decision on the release for the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionFact {
    /// Who.
    pub user: String,
    /// Approved (or rejected).
    pub approve: bool,
    /// Their comment.
    pub comment: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// One target's part in the deployment (one job).
#[derive(Debug, Clone, PartialEq)]
pub struct TargetFact {
    /// The agent's name.
    pub target: String,
    /// The batch, from 0.
    pub batch: i64,
    /// `deploy`, or `rollback` for a rollback's job.
    pub kind: String,
    /// `pending`, `running`, `succeeded` or `failed`.
    pub state: String,
    /// What its agent reported (steps, health, the tail of its log), or why
    /// it failed without a report.
    pub result: Option<Value>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// The last lines of its log (its latest attempt), oldest first.
    pub log: Vec<String>,
}

/// A deployment that put another release back (the rollback of the one
/// reviewed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollbackFact {
    /// Its id.
    pub deployment: i64,
    /// The version it put back.
    pub version: String,
    /// Where it stands.
    pub status: DeploymentStatus,
    /// Who asked for it (`system` for an automatic rollback).
    pub created_by: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it ended, if it did.
    pub ended_at: Option<DateTime<Utc>>,
}

/// The first success in the environment after the failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreFact {
    /// The deployment that succeeded.
    pub deployment: i64,
    /// Its version.
    pub version: String,
    /// When it succeeded.
    pub at: DateTime<Utc>,
}

/// What the store knows of a deployment, for its draft.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewFacts {
    /// Its id.
    pub deployment: i64,
    /// The service.
    pub service: String,
    /// The version promoted.
    pub version: String,
    /// The environment.
    pub environment: String,
    /// The version of the service that last succeeded there before it.
    pub previous_version: Option<String>,
    /// Its status now.
    pub status: DeploymentStatus,
    /// Who promoted it.
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
    /// When its last status change happened.
    pub updated_at: DateTime<Utc>,
    /// When it failed, or was judged bad (its rollback was created): where
    /// the time to restore starts. `None` for a deployment that did neither.
    pub failed_at: Option<DateTime<Utc>>,
    /// Why it halted, failed or was cancelled.
    pub reason: Option<String>,
    /// The justification of an emergency promotion.
    pub emergency_reason: Option<String>,
    /// The decisions on the release for the environment, oldest first.
    pub decisions: Vec<DecisionFact>,
    /// Its targets, one per job, in batch order.
    pub targets: Vec<TargetFact>,
    /// Its rollback, if it has one.
    pub rollback: Option<RollbackFact>,
    /// The first success there after `failed_at`, if any yet.
    pub restored: Option<RestoreFact>,
}

/// A decision, as the draft shows it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DraftDecision {
    /// Who decided.
    pub user: String,
    /// Approved (else rejected).
    pub approve: bool,
    /// Their comment.
    #[serde(default)]
    pub comment: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// A target, as the draft shows it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DraftTarget {
    /// The agent's name.
    pub target: String,
    /// The batch, from 1.
    pub batch: i64,
    /// `deploy` or `rollback`.
    pub kind: String,
    /// How its job ended (or where it stands).
    pub state: String,
    /// Why it failed.
    #[serde(default)]
    pub error: Option<String>,
    /// The last lines of its log, for a target that failed.
    #[serde(default)]
    pub log: Vec<String>,
}

/// The rollback, as the draft shows it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DraftRollback {
    /// The rollback deployment.
    pub deployment: i64,
    /// The version it put back.
    pub version: String,
    /// Where it stands.
    pub status: DeploymentStatus,
    /// Who asked for it (`system`: automatically).
    pub by: String,
}

/// What restored the environment, as the draft shows it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DraftRestore {
    /// The deployment that succeeded.
    pub deployment: i64,
    /// Its version.
    pub version: String,
    /// When.
    pub at: DateTime<Utc>,
    /// From the failure to then, in seconds.
    pub seconds: i64,
}

/// One moment of the deployment's story.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEntry {
    /// When.
    pub at: DateTime<Utc>,
    /// What happened.
    pub what: String,
}

/// A review's draft, written from the deployment's timeline: to be read,
/// corrected in the notes, and completed.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewDraft {
    /// What happened, in a sentence.
    pub summary: String,
    /// `service@version`.
    pub release: String,
    /// The version it replaced.
    #[serde(default)]
    pub previous_version: Option<String>,
    /// The deployment's status when drafted.
    pub status: DeploymentStatus,
    /// Who promoted it.
    pub promoted_by: String,
    /// The emergency justification.
    #[serde(default)]
    pub emergency_reason: Option<String>,
    /// Why it halted, failed or was cancelled.
    #[serde(default)]
    pub halted: Option<String>,
    /// The decisions on the release for the environment.
    #[serde(default)]
    pub decisions: Vec<DraftDecision>,
    /// The targets, batch by batch.
    #[serde(default)]
    pub targets: Vec<DraftTarget>,
    /// The rollback.
    #[serde(default)]
    pub rollback: Option<DraftRollback>,
    /// What restored the environment, and when.
    #[serde(default)]
    pub restored: Option<DraftRestore>,
    /// The story, in order.
    #[serde(default)]
    pub timeline: Vec<TimelineEntry>,
    /// All of it as Markdown.
    pub markdown: String,
}

/// How many log lines of a failing target the draft quotes.
pub const LOG_LINES: usize = 20;

/// How many failing targets the draft quotes the log lines of (the first,
/// in batch order): a whole fleet failing the same way says it once.
pub const QUOTED_TARGETS: usize = 5;

/// Up to how many targets the timeline tells of each target's end; a larger
/// deployment's timeline tells of the failing ones only.
pub const TIMELINE_TARGETS: usize = 10;

/// Why a target failed, from what its agent reported (`result`), in a
/// sentence: a reason recorded without a report (a lost lease), the first
/// step that failed, an unhealthy check, or the last line of its log.
pub fn why_failed(result: Option<&Value>) -> String {
    let Some(result) = result else {
        return "no report: the agent stopped answering".to_owned();
    };
    if let Some(reason) = result.get("reason").and_then(Value::as_str) {
        return reason.to_owned();
    }
    let steps = result
        .get("steps")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for step in steps {
        let name = step.get("name").and_then(Value::as_str).unwrap_or("?");
        let timed_out = step
            .get("timed_out")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let code = step.get("exit_code").and_then(Value::as_i64);
        match (timed_out, code) {
            (true, _) => return format!("step {name:?} timed out"),
            (false, Some(0)) => {}
            (false, Some(code)) => return format!("step {name:?} exited with {code}"),
            (false, None) => return format!("step {name:?} was killed or could not start"),
        }
    }
    if let Some(health) = result.get("health").filter(|h| !h.is_null())
        && health.get("healthy").and_then(Value::as_bool) == Some(false)
    {
        let last = health.get("last").and_then(Value::as_str).unwrap_or("");
        return format!("health check failed: {last}");
    }
    result
        .get("log_tail")
        .and_then(Value::as_array)
        .and_then(|tail| tail.last())
        .and_then(Value::as_str)
        .map_or_else(|| "failed without saying why".to_owned(), str::to_owned)
}

/// The lines a failing target's draft quotes: its log's last lines, or the
/// tail its agent reported when the log holds none.
fn quoted_log(target: &TargetFact) -> Vec<String> {
    let lines: Vec<String> = if target.log.is_empty() {
        target
            .result
            .as_ref()
            .and_then(|result| result.get("log_tail"))
            .and_then(Value::as_array)
            .map(|tail| {
                tail.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    } else {
        target.log.clone()
    };
    let skip = lines.len().saturating_sub(LOG_LINES);
    lines.into_iter().skip(skip).collect()
}

/// An instant for people, to the second in UTC.
fn when(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// Writes the draft of a review from `facts` (see the module's rules).
pub fn draft(facts: &ReviewFacts) -> ReviewDraft {
    let release = format!("{}@{}", facts.service, facts.version);
    let decisions: Vec<DraftDecision> = facts
        .decisions
        .iter()
        .map(|decision| DraftDecision {
            user: decision.user.clone(),
            approve: decision.approve,
            comment: decision.comment.clone(),
            at: decision.at,
        })
        .collect();
    let mut ordered: Vec<&TargetFact> = facts.targets.iter().collect();
    ordered.sort_by(|a, b| (a.batch, &a.target).cmp(&(b.batch, &b.target)));
    let mut quoted = 0;
    let targets: Vec<DraftTarget> = ordered
        .into_iter()
        .map(|target| {
            let failed = target.state == "failed";
            let log = if failed && quoted < QUOTED_TARGETS {
                quoted += 1;
                quoted_log(target)
            } else {
                Vec::new()
            };
            DraftTarget {
                target: target.target.clone(),
                batch: target.batch + 1,
                kind: target.kind.clone(),
                state: target.state.clone(),
                error: failed.then(|| why_failed(target.result.as_ref())),
                log,
            }
        })
        .collect();
    let rollback = facts.rollback.as_ref().map(|rollback| DraftRollback {
        deployment: rollback.deployment,
        version: rollback.version.clone(),
        status: rollback.status,
        by: rollback.created_by.clone(),
    });
    let restored = match (facts.failed_at, &facts.restored) {
        (Some(failed_at), Some(restore)) => Some(DraftRestore {
            deployment: restore.deployment,
            version: restore.version.clone(),
            at: restore.at,
            seconds: (restore.at - failed_at).num_seconds().max(0),
        }),
        _ => None,
    };
    let timeline = timeline(facts, &release);
    let summary = summary(
        facts,
        &release,
        &targets,
        rollback.as_ref(),
        restored.as_ref(),
    );
    let mut draft = ReviewDraft {
        summary,
        release,
        previous_version: facts.previous_version.clone(),
        status: facts.status,
        promoted_by: facts.created_by.clone(),
        emergency_reason: facts.emergency_reason.clone(),
        halted: facts.reason.clone(),
        decisions,
        targets,
        rollback,
        restored,
        timeline,
        markdown: String::new(),
    };
    draft.markdown = markdown(facts, &draft);
    draft
}

fn summary(
    facts: &ReviewFacts,
    release: &str,
    targets: &[DraftTarget],
    rollback: Option<&DraftRollback>,
    restored: Option<&DraftRestore>,
) -> String {
    let environment = &facts.environment;
    let mut out = match facts.status {
        DeploymentStatus::Failed | DeploymentStatus::RolledBack => {
            let failing: Vec<&str> = targets
                .iter()
                .filter(|t| t.error.is_some() && t.kind == "deploy")
                .map(|t| t.target.as_str())
                .collect();
            match failing.len() {
                0 => format!("{release} failed in {environment}"),
                n if n > QUOTED_TARGETS => format!(
                    "{release} failed in {environment} on {} and {} more",
                    failing[..QUOTED_TARGETS].join(", "),
                    n - QUOTED_TARGETS
                ),
                _ => format!(
                    "{release} failed in {environment} on {}",
                    failing.join(", ")
                ),
            }
        }
        DeploymentStatus::Succeeded if rollback.is_some() => {
            format!("{release} succeeded in {environment}, then was rolled back")
        }
        status => format!(
            "{release} {} in {environment}",
            status.as_str().replace('_', " ")
        ),
    };
    if facts.emergency_reason.is_some() {
        out.push_str(" (an emergency deployment)");
    }
    if let Some(rollback) = rollback {
        out.push_str(&format!(
            "; deployment {} rolled back to {} ({})",
            rollback.deployment,
            rollback.version,
            rollback.status.as_str().replace('_', " ")
        ));
    }
    match restored {
        Some(restore) => out.push_str(&format!(
            "; restored by deployment {} in {}",
            restore.deployment,
            span(Duration::seconds(restore.seconds))
        )),
        None if facts.failed_at.is_some() => out.push_str("; not restored yet"),
        None => {}
    }
    out.push('.');
    out
}

fn timeline(facts: &ReviewFacts, release: &str) -> Vec<TimelineEntry> {
    let mut entries = vec![TimelineEntry {
        at: facts.created_at,
        what: match &facts.emergency_reason {
            Some(why) => format!(
                "{} promoted {release} to {} on the emergency path: {why}",
                facts.created_by, facts.environment
            ),
            None => format!(
                "{} promoted {release} to {}",
                facts.created_by, facts.environment
            ),
        },
    }];
    for decision in &facts.decisions {
        let verb = if decision.approve {
            "approved"
        } else {
            "rejected"
        };
        let said = if decision.comment.is_empty() {
            String::new()
        } else {
            format!(": {}", decision.comment)
        };
        entries.push(TimelineEntry {
            at: decision.at,
            what: format!(
                "{} {verb} {release} for {}{said}",
                decision.user, facts.environment
            ),
        });
    }
    let each = facts.targets.len() <= TIMELINE_TARGETS;
    let mut failures = 0;
    let mut untold: Option<(usize, DateTime<Utc>)> = None;
    for target in &facts.targets {
        let what = match target.state.as_str() {
            "failed" if failures >= TIMELINE_TARGETS => {
                let (count, last) = untold.get_or_insert((0, target.updated_at));
                *count += 1;
                *last = (*last).max(target.updated_at);
                continue;
            }
            "failed" => format!(
                "{} failed ({} job, batch {}): {}",
                target.target,
                target.kind,
                target.batch + 1,
                why_failed(target.result.as_ref())
            ),
            "succeeded" if each => format!(
                "{} succeeded ({} job, batch {})",
                target.target,
                target.kind,
                target.batch + 1
            ),
            _ => continue,
        };
        if target.state == "failed" {
            failures += 1;
        }
        entries.push(TimelineEntry {
            at: target.updated_at,
            what,
        });
    }
    if let Some((count, last)) = untold {
        entries.push(TimelineEntry {
            at: last,
            what: format!("{count} more target(s) failed (see the targets)"),
        });
    }
    if let Some(failed_at) = facts.failed_at
        && matches!(
            facts.status,
            DeploymentStatus::Failed | DeploymentStatus::RolledBack
        )
    {
        let why = facts
            .reason
            .as_deref()
            .map_or_else(String::new, |why| format!(": {why}"));
        entries.push(TimelineEntry {
            at: failed_at,
            what: format!("the deployment failed{why}"),
        });
    } else if facts.status.is_finished() {
        let why = facts
            .reason
            .as_deref()
            .map_or_else(String::new, |why| format!(": {why}"));
        entries.push(TimelineEntry {
            at: facts.updated_at,
            what: format!(
                "the deployment {}{why}",
                facts.status.as_str().replace('_', " ")
            ),
        });
    }
    if let Some(rollback) = &facts.rollback {
        let by = if rollback.created_by == "system" {
            "automatically".to_owned()
        } else {
            format!("by {}", rollback.created_by)
        };
        entries.push(TimelineEntry {
            at: rollback.created_at,
            what: format!(
                "deployment {} began rolling back to {} ({by})",
                rollback.deployment, rollback.version
            ),
        });
        if let Some(ended) = rollback.ended_at {
            entries.push(TimelineEntry {
                at: ended,
                what: format!(
                    "the rollback (deployment {}) {}",
                    rollback.deployment,
                    rollback.status.as_str().replace('_', " ")
                ),
            });
        }
    }
    if let (Some(failed_at), Some(restore)) = (facts.failed_at, &facts.restored) {
        entries.push(TimelineEntry {
            at: restore.at,
            what: format!(
                "{} was restored: deployment {} of {} succeeded, {} after the failure",
                facts.environment,
                restore.deployment,
                restore.version,
                span(restore.at - failed_at)
            ),
        });
    }
    // Stable: what happened at the same instant keeps the order above.
    entries.sort_by_key(|entry| entry.at);
    entries
}

/// A fence for a code block that no run of backticks in `lines` closes.
fn fence(lines: &[String]) -> String {
    let longest = lines
        .iter()
        .map(|line| {
            let mut longest = 0;
            let mut run = 0;
            for c in line.chars() {
                if c == '`' {
                    run += 1;
                    longest = longest.max(run);
                } else {
                    run = 0;
                }
            }
            longest
        })
        .max()
        .unwrap_or(0);
    "`".repeat(longest.max(2) + 1)
}

fn markdown(facts: &ReviewFacts, draft: &ReviewDraft) -> String {
    let mut out = format!(
        "## Post-implementation review of deployment {}\n\n{}\n\n### What was promoted\n\n",
        facts.deployment, draft.summary
    );
    out.push_str(&format!(
        "- Release: {} to {}{}\n",
        draft.release,
        facts.environment,
        match &draft.previous_version {
            Some(previous) => format!(", replacing {previous}"),
            None => ", the first release to succeed there".to_owned(),
        }
    ));
    out.push_str(&format!(
        "- Promoted by {} at {}\n",
        draft.promoted_by,
        when(facts.created_at)
    ));
    if let Some(why) = &draft.emergency_reason {
        out.push_str(&format!("- Emergency: {why}\n"));
    }
    out.push_str(&format!(
        "- Status: {}\n",
        draft.status.as_str().replace('_', " ")
    ));
    if let Some(halted) = &draft.halted {
        out.push_str(&format!("- Why: {halted}\n"));
    }
    out.push_str("\n### Gates and approvals\n\n");
    if draft.decisions.is_empty() {
        out.push_str("Nobody approved or rejected it for this environment.\n");
    } else {
        for decision in &draft.decisions {
            let verb = if decision.approve {
                "Approved"
            } else {
                "Rejected"
            };
            let said = if decision.comment.is_empty() {
                String::new()
            } else {
                format!(": {}", decision.comment)
            };
            out.push_str(&format!(
                "- {verb} by {} at {}{said}\n",
                decision.user,
                when(decision.at)
            ));
        }
    }
    out.push_str("\n### Targets\n\n");
    if draft.targets.is_empty() {
        out.push_str("No agent ran it.\n");
    } else {
        out.push_str("| target | batch | job | result |\n|---|---:|---|---|\n");
        for target in &draft.targets {
            let result = match &target.error {
                Some(error) => format!("{}: {error}", target.state),
                None => target.state.clone(),
            };
            out.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                target.target,
                target.batch,
                target.kind,
                result.replace('|', "\\|")
            ));
        }
    }
    let failing: Vec<&DraftTarget> = draft.targets.iter().filter(|t| t.error.is_some()).collect();
    if !failing.is_empty() {
        out.push_str("\n### Where it failed\n");
        for target in failing {
            out.push_str(&format!(
                "\n{} ({} job, batch {}): {}\n",
                target.target,
                target.kind,
                target.batch,
                target.error.as_deref().unwrap_or_default()
            ));
            if !target.log.is_empty() {
                let fence = fence(&target.log);
                out.push_str(&format!("\nIts last log lines:\n\n{fence}text\n"));
                for line in &target.log {
                    out.push_str(line);
                    out.push('\n');
                }
                out.push_str(&fence);
                out.push('\n');
            }
        }
    }
    out.push_str("\n### Rollback and time to restore\n\n");
    match &draft.rollback {
        Some(rollback) => {
            let by = if rollback.by == "system" {
                "automatically".to_owned()
            } else {
                format!("by {}", rollback.by)
            };
            out.push_str(&format!(
                "- Rolled back {by}: deployment {} put {} back ({})\n",
                rollback.deployment,
                rollback.version,
                rollback.status.as_str().replace('_', " ")
            ));
        }
        None => out.push_str("- Not rolled back\n"),
    }
    match (&draft.restored, facts.failed_at) {
        (Some(restore), Some(failed_at)) => out.push_str(&format!(
            "- Time to restore: {} (from the failure at {} to the success of deployment {} ({}) at {})\n",
            span(Duration::seconds(restore.seconds)),
            when(failed_at),
            restore.deployment,
            restore.version,
            when(restore.at)
        )),
        (None, Some(failed_at)) => out.push_str(&format!(
            "- Not restored yet: no deployment has succeeded in {} since the failure at {}\n",
            facts.environment,
            when(failed_at)
        )),
        _ => out.push_str("- Nothing to restore: it did not fail\n"),
    }
    out.push_str("\n### Timeline\n\n");
    for entry in &draft.timeline {
        out.push_str(&format!("- {}: {}\n", when(entry.at), entry.what));
    }
    out
}
