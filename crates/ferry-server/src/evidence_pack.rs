//! Evidence packs for auditors: what a request asks for, the facts a pack
//! tells (from the records the store reads in one snapshot), and the
//! archive. The API's route and the release page's download both come
//! through here, so a pack reads the same from either; reading it is a
//! read, allowed to whoever may read the audit trail.
//!
//! Facts are told release by release: the release, its commits, its
//! change requests with each of their moves, its evidence, the approvals
//! and rejections given, what else was done to it, then each deployment
//! with each step of its history and its log. Every fact names the audit
//! events behind it; a fact read from a record (a release, a change
//! request, a deployment) names every event about that record.

use std::collections::HashMap;

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use ferry_core::audit::AuditRecord;
use ferry_core::evidence_pack::{self, AuditHead, Fact, FactKind, PackInput, Period, Scope};
use ferry_core::time::format_time;
use ferry_core::{Name, ReleaseRef};
use ferry_store::evidence_pack::{PackDeployment, PackRecords, PackRelease, PackScope};
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::state::AppState;

/// What a pack is asked to cover, checked.
#[derive(Debug, Clone)]
pub enum Request {
    /// One release, in one environment or all.
    Release {
        /// The release.
        release: ReleaseRef,
        /// Only this environment.
        environment: Option<Name>,
    },
    /// The deployments of a period.
    Period {
        /// The period.
        period: Period,
        /// Only this service's.
        service: Option<Name>,
        /// Only into this environment.
        environment: Option<Name>,
    },
}

/// The parameters of a pack's request, as given.
#[derive(Debug, Clone, Copy, Default)]
pub struct Asked<'a> {
    /// `SERVICE@VERSION`.
    pub release: Option<&'a str>,
    /// An environment's name.
    pub environment: Option<&'a str>,
    /// A period's start: a date or an RFC 3339 time.
    pub since: Option<&'a str>,
    /// A period's end: a date (included) or an RFC 3339 time (excluded).
    pub until: Option<&'a str>,
    /// A service's name.
    pub service: Option<&'a str>,
}

impl Request {
    /// Reads a request: a release, or a period (`since` and `until`), never
    /// both; a malformed value, or a period that ends before it starts, is a
    /// 422 that names it.
    pub fn parse(asked: Asked<'_>) -> Result<Request, ApiError> {
        let name = |what: &str, text: Option<&str>| {
            text.map(|text| {
                Name::parse(text.trim()).map_err(|error| {
                    ApiError::Unprocessable(format!("invalid {what} name: {error}"))
                })
            })
            .transpose()
        };
        let environment = name("environment", asked.environment)?;
        match (asked.release, asked.since, asked.until) {
            (Some(release), None, None) => {
                if asked.service.is_some() {
                    return Err(ApiError::Unprocessable(
                        "service narrows a period's pack; a release's pack is of its own service"
                            .into(),
                    ));
                }
                let release = release
                    .trim()
                    .parse::<ReleaseRef>()
                    .map_err(|error| ApiError::Unprocessable(format!("release: {error}")))?;
                Ok(Request::Release {
                    release,
                    environment,
                })
            }
            (Some(_), _, _) => Err(ApiError::Unprocessable(
                "ask for a release (release=SERVICE@VERSION) or a period (since= and until=), not both"
                    .into(),
            )),
            (None, Some(since), Some(until)) => {
                let period = Period::parse(since, until).map_err(|error| match error {
                    ferry_core::evidence_pack::ScopeError::BadTime { .. } => {
                        ApiError::Unprocessable(error.to_string())
                    }
                    ferry_core::evidence_pack::ScopeError::Empty { .. } => {
                        ApiError::Unprocessable(error.to_string())
                    }
                })?;
                Ok(Request::Period {
                    period,
                    service: name("service", asked.service)?,
                    environment,
                })
            }
            (None, None, None) => Err(ApiError::Unprocessable(
                "name what the pack covers: a release (release=SERVICE@VERSION), or a period (since= and until=)"
                    .into(),
            )),
            (None, _, _) => Err(ApiError::Unprocessable(
                "a period needs both since and until (each a date such as 2026-07-01, or an RFC 3339 time)"
                    .into(),
            )),
        }
    }

    /// The scope the manifest records.
    fn scope(&self) -> Scope {
        match self {
            Request::Release {
                release,
                environment,
            } => Scope::Release {
                release: release.to_string(),
                environment: environment.as_ref().map(Name::to_string),
            },
            Request::Period {
                period,
                service,
                environment,
            } => Scope::Period {
                since: format_time(period.since),
                until: format_time(period.until),
                service: service.as_ref().map(Name::to_string),
                environment: environment.as_ref().map(Name::to_string),
            },
        }
    }

    fn environment(&self) -> Option<&Name> {
        match self {
            Request::Release { environment, .. } | Request::Period { environment, .. } => {
                environment.as_ref()
            }
        }
    }
}

/// A pack, archived.
#[derive(Debug, Clone)]
pub struct Archive {
    /// `evidence-pack-api-1.4.0-prod.tar.gz`.
    pub file_name: String,
    /// The `.tar.gz`.
    pub bytes: Vec<u8>,
}

impl IntoResponse for Archive {
    fn into_response(self) -> Response {
        let disposition = format!("attachment; filename=\"{}\"", self.file_name);
        (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, "application/gzip".to_owned()),
                (header::CONTENT_DISPOSITION, disposition),
                (header::CACHE_CONTROL, "private, no-store".to_owned()),
            ],
            self.bytes,
        )
            .into_response()
    }
}

/// Makes the pack `request` asks for: 404 when what it names does not exist.
pub async fn make(state: &AppState, request: &Request) -> Result<Archive, ApiError> {
    let scope = match request {
        Request::Release {
            release,
            environment,
        } => PackScope::Release {
            service: &release.service,
            version: &release.version,
            environment: environment.as_ref(),
        },
        Request::Period {
            period,
            service,
            environment,
        } => PackScope::Period {
            since: period.since,
            until: period.until,
            service: service.as_ref(),
            environment: environment.as_ref(),
        },
    };
    let records = state.store.evidence_pack(scope).await?;
    let input = assemble(request.scope(), request.environment(), records);
    let pack = evidence_pack::build(input)
        .map_err(|error| ApiError::Internal(format!("the evidence pack: {error}")))?;
    let bytes = pack
        .archive()
        .map_err(|error| ApiError::Internal(format!("the evidence pack's archive: {error}")))?;
    Ok(Archive {
        file_name: pack.file_name(),
        bytes,
    })
}

/// The facts of `records`, in the pack's order, with the events and logs.
fn assemble(scope: Scope, environment: Option<&Name>, records: PackRecords) -> PackInput {
    let mut about: HashMap<&str, Vec<&AuditRecord>> = HashMap::new();
    for event in &records.events {
        about.entry(event.object.as_str()).or_default().push(event);
    }
    let mut facts = Vec::new();
    let mut logs = Vec::new();
    for release in &records.releases {
        release_facts(&mut facts, release, &about, environment);
        for deployment in &release.deployments {
            deployment_facts(&mut facts, &mut logs, release, deployment, &about);
        }
    }
    PackInput {
        scope,
        created_at: Utc::now(),
        head: AuditHead {
            seq: records.head_seq,
            hash: records.head_hash,
        },
        facts,
        events: records.events,
        logs,
    }
}

/// An event's details as JSON (`null` when unreadable, which a stored
/// event never is).
fn details(event: &AuditRecord) -> Value {
    serde_json::from_str(&event.details).unwrap_or(Value::Null)
}

/// What an event's details say was done to (`after.environment`).
fn environment_of(event: &AuditRecord) -> Option<String> {
    details(event)["after"]["environment"]
        .as_str()
        .map(str::to_owned)
}

fn seqs<'a>(events: impl IntoIterator<Item = &'a &'a AuditRecord>) -> Vec<i64> {
    let mut seqs: Vec<i64> = events.into_iter().map(|event| event.seq).collect();
    seqs.sort_unstable();
    seqs
}

/// What an action's verb (`approve`, `claim`) says was done.
fn done(verb: &str) -> &str {
    match verb {
        "create" => "created",
        "submit" => "submitted",
        "assess" => "assessed",
        "approve" => "approved",
        "reject" => "rejected",
        "defer" => "deferred",
        "schedule" => "scheduled",
        "implement" => "implemented",
        "review" => "reviewed",
        "close" => "closed",
        "start" => "started",
        "claim" => "claimed",
        "requeue" => "put back in the queue",
        "retry" => "retried",
        "batch" => "moved to its next batch",
        "wait" => "held",
        "pause" => "paused",
        "decide" => "decided on",
        "cancel" => "asked to cancel",
        other => other,
    }
}

/// An event as a step's data says it.
fn step(event: &AuditRecord) -> Value {
    json!({ "action": event.action, "actor": event.actor, "at": event.time, "details": details(event) })
}

fn release_facts(
    facts: &mut Vec<Fact>,
    pack: &PackRelease,
    about: &HashMap<&str, Vec<&AuditRecord>>,
    environment: Option<&Name>,
) {
    let record = &pack.release;
    let name = format!("{}@{}", record.service, record.version);
    let none = Vec::new();
    // Events about the release that concern another environment are not
    // this pack's.
    let events: Vec<&AuditRecord> = about
        .get(format!("release:{name}").as_str())
        .unwrap_or(&none)
        .iter()
        .copied()
        .filter(|event| match (environment, environment_of(event)) {
            (Some(wanted), Some(there)) => wanted.as_str() == there,
            _ => true,
        })
        .collect();
    let created: Vec<&AuditRecord> = events
        .iter()
        .copied()
        .filter(|event| event.action == "release.create")
        .collect();
    facts.push(Fact {
        kind: FactKind::Release,
        key: format!("release:{name}"),
        about: format!("release {name}"),
        audit: seqs(&created),
        data: json!({
            "service": record.service,
            "version": record.version,
            "state": record.state.as_str(),
            "commit": record.commit,
            "previous_version": record.previous_version,
            "notes": record.notes,
            "artifacts": record.artifacts.iter().map(|artifact| json!({
                "name": artifact.name, "digest": artifact.digest, "size": artifact.size, "uri": artifact.uri,
            })).collect::<Vec<_>>(),
            "created_by": record.created_by,
            "created_at": format_time(record.created_at),
        }),
    });
    let commits: Vec<Value> = serde_json::from_str(&pack.commits).unwrap_or_default();
    for (index, commit) in commits.into_iter().enumerate() {
        let id = commit["id"].as_str().unwrap_or_default().to_owned();
        let short: String = id.chars().take(8).collect();
        let subject = commit["subject"].as_str().unwrap_or_default();
        facts.push(Fact {
            kind: FactKind::Commit,
            key: format!("commit:{name}:{}:{id}", index + 1),
            about: format!("commit {short} of {name}: {subject}"),
            audit: seqs(&created),
            data: commit,
        });
    }
    for change in &pack.changes {
        let object = format!("change:{}", change.id);
        let moves = about.get(object.as_str()).unwrap_or(&none);
        let title = format!(
            "change request {} for {} in {}",
            change.id, change.service, change.environment
        );
        facts.push(Fact {
            kind: FactKind::Change,
            key: object.clone(),
            about: format!("{title}: {}", change.title),
            audit: seqs(moves),
            data: json!({
                "id": change.id,
                "title": change.title,
                "description": change.description,
                "kind": change.kind.as_str(),
                "state": change.state.as_str(),
                "service": change.service,
                "environment": change.environment,
                "release": change.release,
                "window": change.window.map(|window| json!({
                    "start": format_time(window.start), "end": format_time(window.end),
                })),
                "risk": change.risk,
                "impact": change.impact,
                "reason": change.reason,
                "review_outcome": change.review_outcome,
                "review_notes": change.review_notes,
                "created_by": change.created_by,
                "created_at": format_time(change.created_at),
                "updated_at": format_time(change.updated_at),
            }),
        });
        for event in moves {
            let verb = event
                .action
                .strip_prefix("change.")
                .unwrap_or(&event.action);
            let done = match verb {
                "create" => "raised",
                other => done(other),
            };
            let mut data = step(event);
            data["change"] = json!(change.id);
            facts.push(Fact {
                kind: FactKind::ChangeStep,
                key: format!("change-step:{}", event.seq),
                about: format!("change request {} {done} by {}", change.id, event.actor),
                audit: vec![event.seq],
                data,
            });
        }
    }
    // Evidence and its events pair in order, name by name in each
    // environment: both are written in one transaction.
    let mut added: HashMap<(String, String), Vec<i64>> = HashMap::new();
    for event in events.iter().rev().filter(|e| e.action == "evidence.add") {
        let details = details(event);
        let key = (
            details["after"]["environment"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            details["after"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
        added.entry(key).or_default().push(event.seq);
    }
    for evidence in &pack.evidence {
        let record = &evidence.record;
        let audit: Vec<i64> = added
            .get_mut(&(evidence.environment.clone(), record.name.clone()))
            .and_then(Vec::pop)
            .into_iter()
            .collect();
        let outcome = if record.passed { "passed" } else { "failed" };
        let report: Value = record
            .report
            .as_deref()
            .and_then(|report| serde_json::from_str(report).ok())
            .unwrap_or(Value::Null);
        facts.push(Fact {
            kind: FactKind::Evidence,
            key: format!("evidence:{}", record.id),
            about: format!(
                "evidence {} ({outcome}) of {name} in {}",
                record.name, evidence.environment
            ),
            audit,
            data: json!({
                "id": record.id,
                "release": name,
                "environment": evidence.environment,
                "name": record.name,
                "passed": record.passed,
                "summary": record.summary,
                "report": report,
                "url": record.url,
                "created_by": record.created_by,
                "created_at": format_time(record.created_at),
            }),
        });
    }
    // A person's latest decision in an environment is the one in force.
    let decisions: Vec<&AuditRecord> = events
        .iter()
        .copied()
        .filter(|event| {
            matches!(
                event.action.as_str(),
                "approval.approve" | "approval.reject"
            )
        })
        .collect();
    for (index, event) in decisions.iter().enumerate() {
        let there = environment_of(event).unwrap_or_default();
        let in_force = !decisions[index + 1..].iter().any(|later| {
            later.actor == event.actor && environment_of(later).as_deref() == Some(there.as_str())
        });
        let approve = event.action == "approval.approve";
        let what = if approve { "approval" } else { "rejection" };
        facts.push(Fact {
            kind: FactKind::Approval,
            key: format!("approval:{name}:{there}:{}:{}", event.actor, event.seq),
            about: format!("{what} of {name} for {there} by {}", event.actor),
            audit: vec![event.seq],
            data: json!({
                "release": name,
                "environment": there,
                "user": event.actor,
                "decision": if approve { "approve" } else { "reject" },
                "comment": details(event)["after"]["comment"],
                "at": event.time,
                "in_force": in_force,
            }),
        });
    }
    for event in events.iter().filter(|event| {
        !matches!(
            event.action.as_str(),
            "release.create" | "evidence.add" | "approval.approve" | "approval.reject"
        )
    }) {
        let mut data = step(event);
        data["release"] = json!(name);
        facts.push(Fact {
            kind: FactKind::ReleaseEvent,
            key: format!("release-event:{}", event.seq),
            about: format!("{name}: {} by {}", event.action, event.actor),
            audit: vec![event.seq],
            data,
        });
    }
}

fn deployment_facts(
    facts: &mut Vec<Fact>,
    logs: &mut Vec<(String, Vec<u8>)>,
    release: &PackRelease,
    pack: &PackDeployment,
    about: &HashMap<&str, Vec<&AuditRecord>>,
) {
    let record = &pack.deployment;
    let name = format!(
        "deployment {} of {}@{} to {}",
        record.id, release.release.service, release.release.version, record.environment
    );
    let none = Vec::new();
    let own = about
        .get(format!("deployment:{}", record.id).as_str())
        .unwrap_or(&none);
    facts.push(Fact {
        kind: FactKind::Deployment,
        key: format!("deployment:{}", record.id),
        about: name.clone(),
        audit: seqs(own),
        data: json!({
            "id": record.id,
            "service": record.service,
            "version": record.version,
            "environment": record.environment,
            "status": record.status.as_str(),
            "created_by": record.created_by,
            "created_at": format_time(record.created_at),
            "updated_at": format_time(record.updated_at),
            "scheduled_at": record.scheduled_at.map(format_time),
            "emergency_reason": record.emergency_reason,
            "url": record.url,
            "reason": record.reason,
            "rollback_of": record.rollback_of,
            "targets": pack.jobs.iter().map(|job| json!({
                "job": job.id, "target": job.agent, "batch": job.batch, "kind": job.kind,
                "state": job.state, "attempt": job.attempt,
            })).collect::<Vec<_>>(),
        }),
    });
    // The deployment's history: its own events and its jobs', in order.
    let mut history: Vec<(&AuditRecord, Option<&ferry_store::evidence_pack::PackJob>)> =
        own.iter().map(|event| (*event, None)).collect();
    let mut reports = Vec::new();
    for job in &pack.jobs {
        for event in about
            .get(format!("job:{}", job.id).as_str())
            .unwrap_or(&none)
        {
            history.push((event, Some(job)));
            if matches!(event.action.as_str(), "job.succeeded" | "job.failed") {
                reports.push(event.seq);
            }
        }
    }
    history.sort_by_key(|(event, _)| event.seq);
    for (event, job) in history {
        let details = details(event);
        let what = match (job, event.action.as_str()) {
            (Some(job), action) => format!(
                "job {} on {}: {} by {}",
                job.id,
                job.agent,
                done(action.strip_prefix("job.").unwrap_or(action)),
                event.actor
            ),
            (None, "deployment.status") => format!(
                "{} to {} ({})",
                details["before"]["status"].as_str().unwrap_or("?"),
                details["after"]["status"].as_str().unwrap_or("?"),
                event.actor
            ),
            (None, action) => format!(
                "{} by {}",
                done(action.strip_prefix("deployment.").unwrap_or(action)),
                event.actor
            ),
        };
        let mut data = step(event);
        data["deployment"] = json!(record.id);
        if let Some(job) = job {
            data["job"] = json!(job.id);
            data["target"] = json!(job.agent);
        }
        facts.push(Fact {
            kind: FactKind::DeploymentStep,
            key: format!("deployment-step:{}", event.seq),
            about: format!("{name}: {what}"),
            audit: vec![event.seq],
            data,
        });
    }
    if pack.logs.is_empty() {
        return;
    }
    let mut text = String::new();
    for line in &pack.logs {
        let step = line
            .step
            .as_deref()
            .map(|step| format!(" [{step}]"))
            .unwrap_or_default();
        text.push_str(&format!(
            "{} {} {}{step} {}\n",
            format_time(line.at),
            line.target,
            line.stream.as_str(),
            line.line
        ));
    }
    let path = format!("{}/deployment-{}.log", evidence_pack::LOGS, record.id);
    reports.sort_unstable();
    facts.push(Fact {
        kind: FactKind::Log,
        // `verify` finds the log's file by this key.
        key: format!("log:deployment:{}", record.id),
        about: format!("log of {name} ({} lines)", pack.logs.len()),
        audit: reports,
        data: json!({
            "deployment": record.id,
            "file": path,
            "lines": pack.logs.len(),
            "sha256": evidence_pack::sha256(text.as_bytes()),
        }),
    });
    logs.push((path, text.into_bytes()));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(asked: Asked<'_>) -> Result<Request, (u16, String)> {
        Request::parse(asked).map_err(|error| {
            let (status, problem) = error.into_problem();
            (status.as_u16(), problem.detail)
        })
    }

    #[test]
    fn a_request_names_a_release_or_a_period() {
        let release = parse(Asked {
            release: Some("api@1.4.0"),
            environment: Some("prod"),
            ..Asked::default()
        })
        .unwrap();
        assert_eq!(release.scope().file_stem(), "evidence-pack-api-1.4.0-prod");
        let period = parse(Asked {
            since: Some("2026-07-01"),
            until: Some("2026-09-30"),
            service: Some("api"),
            ..Asked::default()
        })
        .unwrap();
        assert!(matches!(period, Request::Period { .. }));
    }

    #[test]
    fn bad_requests_say_what_is_wrong() {
        let cases = [
            (
                Asked {
                    release: Some("api-1.4.0"),
                    ..Asked::default()
                },
                422,
                "SERVICE@VERSION",
            ),
            (Asked::default(), 422, "name what the pack covers"),
            (
                Asked {
                    since: Some("2026-07-01"),
                    ..Asked::default()
                },
                422,
                "both since and until",
            ),
            (
                Asked {
                    release: Some("api@1.4.0"),
                    since: Some("2026-07-01"),
                    until: Some("2026-07-02"),
                    ..Asked::default()
                },
                422,
                "not both",
            ),
            (
                Asked {
                    since: Some("2026-07-32"),
                    until: Some("2026-08-01"),
                    ..Asked::default()
                },
                422,
                "neither a date",
            ),
            (
                Asked {
                    since: Some("2026-09-01"),
                    until: Some("2026-08-01"),
                    ..Asked::default()
                },
                422,
                "is not before until",
            ),
            (
                Asked {
                    release: Some("api@1.4.0"),
                    environment: Some("Prod!"),
                    ..Asked::default()
                },
                422,
                "environment",
            ),
        ];
        for (asked, status, words) in cases {
            let (got, detail) = parse(asked).unwrap_err();
            assert_eq!(got, status, "{asked:?}: {detail}");
            assert!(detail.contains(words), "{asked:?}: {detail}");
        }
    }
}
