//! The events ferry tells the world about: which facts of the audit trail
//! are worth a notification, what they are called, and how they look as
//! CloudEvents 1.0 (with the CDEvents vocabulary where one of its events
//! fits, `dev.ferry.*` otherwise).
//!
//! The audit trail is the outbox: every change writes its audit event in
//! the same transaction, so an event derived from it is never lost and
//! never told of a change that did not happen. This module decides, from
//! one audit event (and the facts of its deployment, which do not change),
//! whether it is an event and which; it does no I/O.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::Name;
use crate::deployment::DeploymentStatus;

/// An event kind, as subscriptions name it (`deployment.succeeded`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventKind {
    /// A release was created.
    ReleaseCreated,
    /// A promotion waits for approvals: someone asked to promote a release
    /// that needs approvals it does not have.
    ApprovalRequested,
    /// Someone approved a release for an environment.
    ApprovalGiven,
    /// Someone rejected a release for an environment.
    ApprovalRejected,
    /// A promotion was refused by its gates.
    PromotionBlocked,
    /// A deployment was recorded and waits for its turn.
    DeploymentQueued,
    /// A deployment began running (told once, not again after a pause).
    DeploymentStarted,
    /// A deployment succeeded: the release is live in the environment.
    DeploymentSucceeded,
    /// A deployment failed.
    DeploymentFailed,
    /// A rollback succeeded: the environment is back on the earlier release.
    DeploymentRolledBack,
    /// A deployment was cancelled.
    DeploymentCancelled,
    /// A change request was opened.
    ChangeCreated,
    /// A change request moved to another state.
    ChangeMoved,
    /// An environment, or a service in one, was locked.
    LockSet,
    /// A lock was lifted.
    LockRemoved,
    /// A freeze began in an environment.
    FreezeStarted,
    /// A freeze ended in an environment.
    FreezeEnded,
    /// An incident was opened.
    IncidentOpened,
    /// An incident was resolved.
    IncidentResolved,
    /// A post-implementation review is due: opened for a deployment, or
    /// past its due time and not yet completed.
    ReviewDue,
}

impl EventKind {
    /// Every kind, in the order the documentation lists them.
    pub const ALL: [EventKind; 20] = [
        EventKind::ReleaseCreated,
        EventKind::ApprovalRequested,
        EventKind::ApprovalGiven,
        EventKind::ApprovalRejected,
        EventKind::PromotionBlocked,
        EventKind::DeploymentQueued,
        EventKind::DeploymentStarted,
        EventKind::DeploymentSucceeded,
        EventKind::DeploymentFailed,
        EventKind::DeploymentRolledBack,
        EventKind::DeploymentCancelled,
        EventKind::ChangeCreated,
        EventKind::ChangeMoved,
        EventKind::LockSet,
        EventKind::LockRemoved,
        EventKind::FreezeStarted,
        EventKind::FreezeEnded,
        EventKind::IncidentOpened,
        EventKind::IncidentResolved,
        EventKind::ReviewDue,
    ];

    /// The name subscriptions use.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::ReleaseCreated => "release.created",
            EventKind::ApprovalRequested => "approval.requested",
            EventKind::ApprovalGiven => "approval.given",
            EventKind::ApprovalRejected => "approval.rejected",
            EventKind::PromotionBlocked => "promotion.blocked",
            EventKind::DeploymentQueued => "deployment.queued",
            EventKind::DeploymentStarted => "deployment.started",
            EventKind::DeploymentSucceeded => "deployment.succeeded",
            EventKind::DeploymentFailed => "deployment.failed",
            EventKind::DeploymentRolledBack => "deployment.rolled_back",
            EventKind::DeploymentCancelled => "deployment.cancelled",
            EventKind::ChangeCreated => "change.created",
            EventKind::ChangeMoved => "change.moved",
            EventKind::LockSet => "lock.set",
            EventKind::LockRemoved => "lock.removed",
            EventKind::IncidentOpened => "incident.opened",
            EventKind::IncidentResolved => "incident.resolved",
            EventKind::FreezeStarted => "freeze.started",
            EventKind::FreezeEnded => "freeze.ended",
            EventKind::ReviewDue => "review.due",
        }
    }

    /// The kind a subscription names, if it is one.
    pub fn parse(name: &str) -> Option<EventKind> {
        EventKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
    }

    /// The CloudEvents `type`: CDEvents' where one of its events says the
    /// same, ferry's own otherwise.
    pub fn cloudevents_type(self) -> &'static str {
        match self {
            EventKind::DeploymentSucceeded => "dev.cdevents.service.deployed.0.2.0",
            EventKind::DeploymentRolledBack => "dev.cdevents.service.rolledback.0.2.0",
            EventKind::IncidentOpened => "dev.cdevents.incident.reported.0.2.0",
            EventKind::IncidentResolved => "dev.cdevents.incident.resolved.0.2.0",
            EventKind::ReleaseCreated => "dev.ferry.release.created.v1",
            EventKind::ApprovalRequested => "dev.ferry.approval.requested.v1",
            EventKind::ApprovalGiven => "dev.ferry.approval.given.v1",
            EventKind::PromotionBlocked => "dev.ferry.promotion.blocked.v1",
            EventKind::ApprovalRejected => "dev.ferry.approval.rejected.v1",
            EventKind::DeploymentQueued => "dev.ferry.deployment.queued.v1",
            EventKind::DeploymentStarted => "dev.ferry.deployment.started.v1",
            EventKind::DeploymentFailed => "dev.ferry.deployment.failed.v1",
            EventKind::DeploymentCancelled => "dev.ferry.deployment.cancelled.v1",
            EventKind::ChangeCreated => "dev.ferry.change.created.v1",
            EventKind::ChangeMoved => "dev.ferry.change.moved.v1",
            EventKind::LockSet => "dev.ferry.lock.set.v1",
            EventKind::LockRemoved => "dev.ferry.lock.removed.v1",
            EventKind::FreezeStarted => "dev.ferry.freeze.started.v1",
            EventKind::FreezeEnded => "dev.ferry.freeze.ended.v1",
            EventKind::ReviewDue => "dev.ferry.review.due.v1",
        }
    }

    /// Whether the event follows the CDEvents specification (its `data` is
    /// a CDEvent).
    pub fn is_cdevent(self) -> bool {
        self.cloudevents_type().starts_with("dev.cdevents.")
    }
}

/// Which events a subscription wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventSelection {
    /// Every kind (`*`).
    All,
    /// These kinds.
    Only(Vec<EventKind>),
}

impl EventSelection {
    /// Reads a list of names: `*`, or kinds such as `deployment.succeeded`.
    /// An unknown name is an error that lists the known ones.
    pub fn parse<S: AsRef<str>>(names: &[S]) -> Result<EventSelection, String> {
        if names.is_empty() {
            return Err(format!(
                "no events named: name `*` or some of {}",
                known_names()
            ));
        }
        let mut kinds = Vec::new();
        for name in names {
            let name = name.as_ref().trim();
            if name == "*" {
                return Ok(EventSelection::All);
            }
            let kind = EventKind::parse(name).ok_or_else(|| {
                format!(
                    "{name:?} is not an event ferry sends: name `*` or some of {}",
                    known_names()
                )
            })?;
            if !kinds.contains(&kind) {
                kinds.push(kind);
            }
        }
        kinds.sort();
        Ok(EventSelection::Only(kinds))
    }

    /// Whether `kind` is selected.
    pub fn wants(&self, kind: EventKind) -> bool {
        match self {
            EventSelection::All => true,
            EventSelection::Only(kinds) => kinds.contains(&kind),
        }
    }

    /// The names, as stored and shown (`["*"]` for every kind).
    pub fn names(&self) -> Vec<String> {
        match self {
            EventSelection::All => vec!["*".to_string()],
            EventSelection::Only(kinds) => kinds.iter().map(|k| k.as_str().to_string()).collect(),
        }
    }
}

fn known_names() -> String {
    EventKind::ALL
        .iter()
        .map(|kind| kind.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// One event of the audit trail, as the outbox reads it.
#[derive(Debug, Clone)]
pub struct AuditFact<'a> {
    /// Its place in the trail.
    pub seq: i64,
    /// When it happened.
    pub time: DateTime<Utc>,
    /// Who did it.
    pub actor: &'a str,
    /// What was done (`deployment.status`).
    pub action: &'a str,
    /// What it was done to (`deployment:42`).
    pub object: &'a str,
    /// Its details, as recorded.
    pub details: &'a Value,
}

/// What does not change about a deployment, for the events of its object.
#[derive(Debug, Clone)]
pub struct DeploymentFacts {
    /// Its id.
    pub id: i64,
    /// The service.
    pub service: Name,
    /// The version deployed.
    pub version: String,
    /// The environment.
    pub environment: Name,
    /// The deployment it rolls back, when it is a rollback.
    pub rollback_of: Option<i64>,
}

/// An event worth telling.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Its kind.
    pub kind: EventKind,
    /// Its identity, the same on every delivery and every retry: the
    /// audit event it comes from, or for the steps of a deployment the
    /// deployment and the step (so that a deployment that pauses and runs
    /// again starts once).
    pub id: String,
    /// The audit event it comes from.
    pub seq: i64,
    /// When it happened.
    pub time: DateTime<Utc>,
    /// What it is about, for people (`billing-api@1.4.2 in prod`).
    pub subject: String,
    /// The service it concerns, if one.
    pub service: Option<Name>,
    /// The environment it concerns, if one.
    pub environment: Option<Name>,
    /// Its facts.
    pub data: Value,
}

/// The event an audit event is, if it is one. `deployment` holds the facts
/// of the deployment an audit event on `deployment:ID` is about.
pub fn event_of(fact: &AuditFact<'_>, deployment: Option<&DeploymentFacts>) -> Option<Event> {
    let after = fact.details.get("after").unwrap_or(&Value::Null);
    let before = fact.details.get("before").unwrap_or(&Value::Null);
    let text =
        |value: &Value, key: &str| value.get(key).and_then(Value::as_str).map(str::to_string);
    let name = |value: &Value, key: &str| text(value, key).and_then(|s| Name::parse(&s).ok());
    let (kind, id, service, environment, subject, data) = match fact.action {
        "release.create" => {
            let service = name(after, "service")?;
            let version = text(after, "version")?;
            let data = json!({ "service": service, "version": version, "by": fact.actor });
            (
                EventKind::ReleaseCreated,
                None,
                Some(service.clone()),
                None,
                format!("{service}@{version}"),
                data,
            )
        }
        "approval.approve" | "approval.reject" => {
            let release = text(after, "release")?;
            let environment = name(after, "environment")?;
            let service = release.split('@').next().and_then(|s| Name::parse(s).ok());
            let kind = if fact.action == "approval.approve" {
                EventKind::ApprovalGiven
            } else {
                EventKind::ApprovalRejected
            };
            let data = json!({ "release": release, "environment": environment,
                "by": fact.actor, "comment": after.get("comment").cloned().unwrap_or(Value::Null) });
            (
                kind,
                None,
                service,
                Some(environment.clone()),
                format!("{release} for {environment}"),
                data,
            )
        }
        "approval.request" => {
            let (release, service, environment) = release_in(after)?;
            let data = json!({ "release": release, "service": service,
                "version": text(after, "version"), "environment": environment,
                "requested_by": fact.actor, "needed": after.get("needed").cloned().unwrap_or(Value::Null) });
            (
                EventKind::ApprovalRequested,
                // Asked again, it is the same request: told once.
                Some(format!("approval-requested-{release}-{environment}")),
                Some(service),
                Some(environment.clone()),
                format!("{release} for {environment}"),
                data,
            )
        }
        "promotion.block" => {
            let (release, service, environment) = release_in(after)?;
            let blockers = after.get("blockers").cloned().unwrap_or(Value::Null);
            let codes: Vec<&str> = blockers
                .as_array()
                .map(|all| {
                    all.iter()
                        .filter_map(|b| b.get("code").and_then(Value::as_str))
                        .collect()
                })
                .unwrap_or_default();
            let data = json!({ "release": release, "service": service,
                "version": text(after, "version"), "environment": environment,
                "by": fact.actor, "blockers": blockers });
            (
                EventKind::PromotionBlocked,
                // A promotion tried again and refused for the same reasons
                // is told once; a new reason is news.
                Some(format!(
                    "promotion-blocked-{release}-{environment}-{}",
                    codes.join("+")
                )),
                Some(service),
                Some(environment.clone()),
                format!("{release} to {environment}"),
                data,
            )
        }
        "freeze.start" | "freeze.end" => {
            let freeze = text(after, "freeze")?;
            let environment = name(after, "environment")?;
            let start = text(after, "start")?;
            let (kind, step) = if fact.action == "freeze.start" {
                (EventKind::FreezeStarted, "started")
            } else {
                (EventKind::FreezeEnded, "ended")
            };
            let data = json!({ "freeze": freeze, "environment": environment,
                "start": start, "end": text(after, "end"), "reason": text(after, "reason") });
            (
                kind,
                Some(format!("freeze-{freeze}-{environment}-{start}-{step}")),
                None,
                Some(environment.clone()),
                format!("freeze {freeze} in {environment}"),
                data,
            )
        }
        "review.open" | "review.remind" => {
            let review = object_id(fact.object)?;
            let service = name(after, "service");
            let environment = name(after, "environment");
            let step = if fact.action == "review.open" {
                "due"
            } else {
                "overdue"
            };
            let mut data = after.clone();
            if let Value::Object(map) = &mut data {
                map.insert("review".into(), json!(review));
                map.insert("overdue".into(), json!(fact.action == "review.remind"));
            }
            let deployment = after.get("deployment").and_then(Value::as_i64);
            let subject = match deployment {
                Some(deployment) => format!("review of deployment {deployment}"),
                None => format!("review {review}"),
            };
            (
                EventKind::ReviewDue,
                Some(format!("review-{review}-{step}")),
                service,
                environment,
                subject,
                data,
            )
        }
        // Every change of a deployment's state, whichever action made it
        // (`deployment.start`, `deployment.status`, a decision …).
        action if action.starts_with("deployment.") => {
            let deployment = deployment?;
            let to = if fact.action == "deployment.create" {
                Some(DeploymentStatus::Queued)
            } else {
                text(after, "status").and_then(|s| DeploymentStatus::parse(&s))
            }?;
            let from = text(before, "status").and_then(|s| DeploymentStatus::parse(&s));
            let (kind, step) = match (to, deployment.rollback_of) {
                // A rollback being queued and started is part of what the
                // failure already told; its success is the rollback.
                (DeploymentStatus::Queued, None) if fact.action == "deployment.create" => {
                    (EventKind::DeploymentQueued, "queued")
                }
                (DeploymentStatus::Running, None)
                    if matches!(
                        from,
                        Some(DeploymentStatus::Queued | DeploymentStatus::Waiting)
                    ) =>
                {
                    (EventKind::DeploymentStarted, "started")
                }
                (DeploymentStatus::Succeeded, None) => {
                    (EventKind::DeploymentSucceeded, "succeeded")
                }
                (DeploymentStatus::Succeeded, Some(_)) => {
                    (EventKind::DeploymentRolledBack, "rolled-back")
                }
                (DeploymentStatus::Failed, _) => (EventKind::DeploymentFailed, "failed"),
                (DeploymentStatus::Cancelled, _) => (EventKind::DeploymentCancelled, "cancelled"),
                _ => return None,
            };
            let data = json!({
                "deployment": deployment.id,
                "service": deployment.service,
                "version": deployment.version,
                "environment": deployment.environment,
                "status": to.as_str(),
                "rollback_of": deployment.rollback_of,
                "by": fact.actor,
            });
            (
                kind,
                Some(format!("deployment-{}-{step}", deployment.id)),
                Some(deployment.service.clone()),
                Some(deployment.environment.clone()),
                format!(
                    "deployment {} of {}@{} to {}",
                    deployment.id, deployment.service, deployment.version, deployment.environment
                ),
                data,
            )
        }
        "change.create" => {
            let service = name(after, "service");
            let environment = name(after, "environment");
            let data = json!({ "change": object_id(fact.object), "title": text(after, "title"),
                "type": text(after, "type"), "state": text(after, "state"),
                "service": service, "environment": environment, "by": fact.actor });
            (
                EventKind::ChangeCreated,
                None,
                service,
                environment,
                format!("change {}", object_id(fact.object)?),
                data,
            )
        }
        action if action.starts_with("change.") => {
            let to = text(after, "state")?;
            let service = name(after, "service").or_else(|| name(before, "service"));
            let environment = name(after, "environment").or_else(|| name(before, "environment"));
            let data = json!({ "change": object_id(fact.object), "from": text(before, "state"),
                "to": to, "service": service, "environment": environment, "by": fact.actor });
            (
                EventKind::ChangeMoved,
                None,
                service,
                environment,
                format!("change {} to {to}", object_id(fact.object)?),
                data,
            )
        }
        "lock.create" | "lock.remove" => {
            let scope = if fact.action == "lock.create" {
                after
            } else {
                before
            };
            let environment = name(scope, "environment").or_else(|| name(after, "environment"));
            let service = name(scope, "service").or_else(|| name(after, "service"));
            let kind = if fact.action == "lock.create" {
                EventKind::LockSet
            } else {
                EventKind::LockRemoved
            };
            let data = json!({ "lock": object_id(fact.object), "environment": environment,
                "service": service, "reason": text(after, "reason"), "by": fact.actor });
            let what = match (&service, &environment) {
                (Some(service), Some(environment)) => format!("{service} in {environment}"),
                (None, Some(environment)) => environment.to_string(),
                _ => format!("lock {}", object_id(fact.object)?),
            };
            (kind, None, service, environment, what, data)
        }
        "incident.open" | "incident.resolve" => {
            let service = name(after, "service").or_else(|| name(before, "service"));
            let environment = name(after, "environment").or_else(|| name(before, "environment"));
            let kind = if fact.action == "incident.open" {
                EventKind::IncidentOpened
            } else {
                EventKind::IncidentResolved
            };
            let mut data = after.clone();
            if let Value::Object(map) = &mut data {
                map.insert("incident".into(), json!(object_id(fact.object)));
                map.insert("by".into(), json!(fact.actor));
            }
            (
                kind,
                None,
                service,
                environment,
                format!("incident {}", object_id(fact.object)?),
                data,
            )
        }
        _ => return None,
    };
    Some(Event {
        kind,
        id: id.unwrap_or_else(|| format!("audit-{}", fact.seq)),
        seq: fact.seq,
        time: fact.time,
        subject,
        service,
        environment,
        data,
    })
}

/// The release (`api@1.2.0`), its service and the environment named in an
/// event's details.
fn release_in(after: &Value) -> Option<(String, Name, Name)> {
    let release = after.get("release").and_then(Value::as_str)?.to_string();
    let service = Name::parse(release.split('@').next()?).ok()?;
    let environment = Name::parse(after.get("environment").and_then(Value::as_str)?).ok()?;
    Some((release, service, environment))
}

/// The number after the colon of an audit object (`change:12` → 12).
fn object_id(object: &str) -> Option<i64> {
    object.split_once(':')?.1.parse().ok()
}

impl Event {
    /// The event as a CloudEvents 1.0 JSON document (structured mode).
    /// `source` names this ferry (its public address, or `/ferry`). A
    /// CDEvents kind carries a CDEvent as its data.
    pub fn cloudevent(&self, source: &str) -> Value {
        let time = crate::time::format_time(self.time);
        let data = if self.kind.is_cdevent() {
            self.cdevent(source, &time)
        } else {
            self.data.clone()
        };
        json!({
            "specversion": "1.0",
            "id": self.id,
            "source": source,
            "type": self.kind.cloudevents_type(),
            "subject": self.subject,
            "time": time,
            "datacontenttype": "application/json",
            "data": data,
        })
    }

    /// The CDEvent of a kind that CDEvents names.
    fn cdevent(&self, source: &str, time: &str) -> Value {
        let context = json!({
            "version": "0.4.1",
            "id": self.id,
            "source": source,
            "type": self.kind.cloudevents_type(),
            "timestamp": time,
        });
        let environment = json!({ "id": self.environment, "source": source });
        let subject = match self.kind {
            EventKind::DeploymentSucceeded | EventKind::DeploymentRolledBack => {
                let version = self
                    .data
                    .get("version")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                json!({
                    "id": self.service,
                    "source": source,
                    "type": "service",
                    "content": {
                        "environment": environment,
                        "artifactId": format!("pkg:generic/{}@{version}", self.service.as_ref().map_or("", |s| s.as_str())),
                        "ferry": self.data,
                    },
                })
            }
            _ => json!({
                "id": self.id,
                "source": source,
                "type": "incident",
                "content": {
                    "description": self.data.get("title").cloned().unwrap_or(Value::Null),
                    "environment": environment,
                    "service": { "id": self.service, "source": source },
                    "ferry": self.data,
                },
            }),
        };
        json!({ "context": context, "subject": subject })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fact<'a>(action: &'a str, object: &'a str, details: &'a Value) -> AuditFact<'a> {
        AuditFact {
            seq: 7,
            time: "2026-12-01T10:00:00Z".parse().unwrap(),
            actor: "ana",
            action,
            object,
            details,
        }
    }

    fn deployment(rollback_of: Option<i64>) -> DeploymentFacts {
        DeploymentFacts {
            id: 42,
            service: Name::parse("api").unwrap(),
            version: "1.2.0".into(),
            environment: Name::parse("prod").unwrap(),
            rollback_of,
        }
    }

    fn status(before: &str, after: &str) -> Value {
        json!({ "before": { "status": before }, "after": { "status": after } })
    }

    #[test]
    fn a_deployment_starts_once_though_it_runs_again_after_a_pause() {
        let d = deployment(None);
        let first = status("queued", "running");
        let paused = status("running", "waiting");
        let resumed = status("waiting", "running");
        let started = event_of(
            &fact("deployment.status", "deployment:42", &first),
            Some(&d),
        )
        .expect("an event");
        assert_eq!(started.kind, EventKind::DeploymentStarted);
        assert_eq!(started.id, "deployment-42-started");
        assert!(
            event_of(
                &fact("deployment.status", "deployment:42", &paused),
                Some(&d)
            )
            .is_none()
        );
        // Resuming is told with the same identity: one notification.
        let again = event_of(
            &fact("deployment.status", "deployment:42", &resumed),
            Some(&d),
        )
        .expect("same event");
        assert_eq!(again.id, started.id);
    }

    #[test]
    fn a_rollback_that_succeeds_is_the_cdevents_rolledback_event() {
        let rollback = deployment(Some(41));
        let done = status("running", "succeeded");
        let event = event_of(
            &fact("deployment.status", "deployment:42", &done),
            Some(&rollback),
        )
        .unwrap();
        assert_eq!(event.kind, EventKind::DeploymentRolledBack);
        let cloud = event.cloudevent("https://ferry.example");
        assert_eq!(cloud["type"], "dev.cdevents.service.rolledback.0.2.0");
        assert_eq!(
            cloud["data"]["subject"]["content"]["environment"]["id"],
            "prod"
        );
        assert_eq!(
            cloud["data"]["subject"]["content"]["artifactId"],
            "pkg:generic/api@1.2.0"
        );
        // Queuing the rollback is not told apart from the failure.
        let queued = json!({ "after": { "status": "queued" } });
        assert!(
            event_of(
                &fact("deployment.create", "deployment:42", &queued),
                Some(&rollback)
            )
            .is_none()
        );
    }

    #[test]
    fn a_success_is_a_cloudevent_with_the_cdevents_deployed_type() {
        let d = deployment(None);
        let done = status("verifying", "succeeded");
        let event = event_of(&fact("deployment.status", "deployment:42", &done), Some(&d)).unwrap();
        let cloud = event.cloudevent("/ferry");
        assert_eq!(cloud["specversion"], "1.0");
        assert_eq!(cloud["id"], "deployment-42-succeeded");
        assert_eq!(cloud["type"], "dev.cdevents.service.deployed.0.2.0");
        assert_eq!(cloud["time"], "2026-12-01T10:00:00.000000Z");
        assert_eq!(cloud["data"]["context"]["id"], "deployment-42-succeeded");
        assert_eq!(cloud["data"]["subject"]["id"], "api");
    }

    #[test]
    fn audit_events_that_are_not_events_are_none() {
        let details = json!({ "after": { "name": "x" } });
        assert!(event_of(&fact("token.create", "token:1", &details), None).is_none());
        assert!(event_of(&fact("deployment.batch", "deployment:42", &details), None).is_none());
    }

    #[test]
    fn a_release_and_an_approval_name_their_service_and_environment() {
        let created = json!({ "after": { "service": "api", "version": "1.2.0" } });
        let event = event_of(&fact("release.create", "release:api@1.2.0", &created), None).unwrap();
        assert_eq!(event.kind, EventKind::ReleaseCreated);
        assert_eq!(event.id, "audit-7");
        assert_eq!(event.service.as_ref().map(Name::as_str), Some("api"));
        let approved = json!({ "after": { "release": "api@1.2.0", "environment": "prod", "approve": true, "comment": "ok" } });
        let event = event_of(
            &fact("approval.approve", "release:api@1.2.0", &approved),
            None,
        )
        .unwrap();
        assert_eq!(event.kind, EventKind::ApprovalGiven);
        assert_eq!(event.environment.as_ref().map(Name::as_str), Some("prod"));
        assert_eq!(event.subject, "api@1.2.0 for prod");
    }

    #[test]
    fn an_approval_asked_for_again_is_one_request() {
        let asked = json!({ "after": { "release": "api@1.2.0", "version": "1.2.0",
            "environment": "prod", "needed": 2 } });
        let first = event_of(&fact("approval.request", "release:api@1.2.0", &asked), None).unwrap();
        assert_eq!(first.kind, EventKind::ApprovalRequested);
        assert_eq!(first.id, "approval-requested-api@1.2.0-prod");
        assert_eq!(first.data["requested_by"], "ana");
        assert_eq!(first.data["service"], "api");
        assert_eq!(
            first.cloudevent("/ferry")["type"],
            "dev.ferry.approval.requested.v1"
        );
    }

    #[test]
    fn a_promotion_blocked_again_for_the_same_reasons_is_told_once() {
        let blocked = |codes: &[&str]| {
            let blockers: Vec<Value> = codes.iter().map(|c| json!({ "code": c })).collect();
            json!({ "after": { "release": "api@1.2.0", "environment": "prod", "blockers": blockers } })
        };
        let one = blocked(&["approvals-missing"]);
        let two = blocked(&["approvals-missing", "evidence-missing"]);
        let first = event_of(&fact("promotion.block", "release:api@1.2.0", &one), None).unwrap();
        let again = event_of(&fact("promotion.block", "release:api@1.2.0", &one), None).unwrap();
        let other = event_of(&fact("promotion.block", "release:api@1.2.0", &two), None).unwrap();
        assert_eq!(first.kind, EventKind::PromotionBlocked);
        assert_eq!(first.id, again.id);
        assert_ne!(first.id, other.id);
        assert_eq!(other.data["blockers"][1]["code"], "evidence-missing");
    }

    #[test]
    fn a_freeze_starts_and_ends_once_per_environment_and_period() {
        let period = json!({ "after": { "freeze": "year-end", "environment": "prod",
            "start": "2026-12-20T00:00:00Z", "end": "2027-01-02T00:00:00Z", "reason": "holidays" } });
        let started = event_of(&fact("freeze.start", "freeze:year-end", &period), None).unwrap();
        let ended = event_of(&fact("freeze.end", "freeze:year-end", &period), None).unwrap();
        assert_eq!(started.kind, EventKind::FreezeStarted);
        assert_eq!(ended.kind, EventKind::FreezeEnded);
        assert_eq!(
            started.id,
            "freeze-year-end-prod-2026-12-20T00:00:00Z-started"
        );
        assert_eq!(started.environment.as_ref().map(Name::as_str), Some("prod"));
        assert_eq!(started.data["reason"], "holidays");
    }

    #[test]
    fn a_review_is_due_when_opened_and_again_when_overdue() {
        let opened = json!({ "after": { "deployment": 42, "service": "api",
            "environment": "prod", "reason": "failed", "due": "2026-12-08T10:00:00Z" } });
        let due = event_of(&fact("review.open", "review:3", &opened), None).unwrap();
        let overdue = event_of(&fact("review.remind", "review:3", &opened), None).unwrap();
        assert_eq!(due.kind, EventKind::ReviewDue);
        assert_eq!(due.id, "review-3-due");
        assert_eq!(overdue.id, "review-3-overdue");
        assert_eq!(due.subject, "review of deployment 42");
        assert_eq!(overdue.data["overdue"], true);
        assert_eq!(due.data["overdue"], false);
    }

    #[test]
    fn selections_name_known_kinds_or_every_kind() {
        assert_eq!(EventSelection::parse(&["*"]).unwrap(), EventSelection::All);
        let some = EventSelection::parse(&["deployment.failed", "release.created"]).unwrap();
        assert!(some.wants(EventKind::DeploymentFailed));
        assert!(!some.wants(EventKind::DeploymentSucceeded));
        assert_eq!(some.names(), ["release.created", "deployment.failed"]);
        let error = EventSelection::parse(&["deployment.deployed"]).unwrap_err();
        assert!(
            error.contains("\"deployment.deployed\" is not an event"),
            "{error}"
        );
        assert!(error.contains("deployment.succeeded"), "{error}");
        assert!(EventSelection::parse::<&str>(&[]).is_err());
    }
}
