//! Events told to people: in a chat channel (Slack and the tools that take
//! its incoming webhooks, Microsoft Teams) or by e-mail, instead of as the
//! CloudEvents a program reads.
//!
//! A delivery keeps the CloudEvent it was queued with; the format of its
//! subscription is applied when it is sent. So every renderer here starts
//! from the CloudEvent's JSON: [`Notice::from_cloudevent`] reads what a
//! person needs from it (a sentence, the facts, a link, and for an
//! `approval.requested` event what is to be approved), and each format
//! writes that notice its own way ([`slack`], [`teams`], [`email`]). None of
//! it does I/O.

pub mod email;
pub mod slack;
pub mod teams;

use serde_json::Value;

use crate::Name;
use crate::event::EventKind;

/// How a subscription's deliveries are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Format {
    /// The CloudEvent itself, signed (Standard Webhooks).
    #[default]
    CloudEvents,
    /// A Slack incoming-webhook message: `text` and Block Kit `blocks`
    /// (Mattermost and Rocket.Chat take it too).
    Slack,
    /// A Microsoft Teams message holding an Adaptive Card.
    Teams,
    /// An e-mail, sent over SMTP to the subscription's addresses.
    Email,
}

impl Format {
    /// Every format, in the order the documentation lists them.
    pub const ALL: [Format; 4] = [
        Format::CloudEvents,
        Format::Slack,
        Format::Teams,
        Format::Email,
    ];

    /// Its name, as stored and as the API and the CLI write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::CloudEvents => "cloudevents",
            Format::Slack => "slack",
            Format::Teams => "teams",
            Format::Email => "email",
        }
    }

    /// The format `name` names; the error lists the formats there are.
    pub fn parse(name: &str) -> Result<Format, String> {
        let wanted = name.trim();
        Format::ALL
            .into_iter()
            .find(|format| format.as_str().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| {
                format!(
                    "{name:?} is not a format ferry sends: name one of {}",
                    Format::ALL.map(Format::as_str).join(", ")
                )
            })
    }

    /// Whether deliveries are posted to an HTTP address (all but e-mail).
    pub fn is_http(self) -> bool {
        self != Format::Email
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The scheme of an e-mail subscription's address: `mailto:` and the
/// recipients, comma-separated (RFC 6068).
pub const MAILTO: &str = "mailto:";

/// The recipients of a `mailto:` address, trimmed, in order; `None` when
/// the address is not a `mailto:` one.
pub fn mailto_recipients(url: &str) -> Option<Vec<String>> {
    let rest = url
        .get(..MAILTO.len())
        .filter(|scheme| scheme.eq_ignore_ascii_case(MAILTO))
        .map(|_| &url[MAILTO.len()..])?;
    Some(
        rest.split(',')
            .map(str::trim)
            .filter(|address| !address.is_empty())
            .map(str::to_owned)
            .collect(),
    )
}

/// An incoming-webhook address as it may be shown: chat services put the
/// credential in the address itself (Slack's last path segment, the `sig`
/// of a Teams workflow), so only the scheme, the host and the path before
/// its last segment are kept (`https://hooks.slack.com/services/T0/B0/…`).
pub fn redacted_url(url: &str) -> String {
    let without_query = url.split(['?', '#']).next().unwrap_or_default();
    let Some((scheme, rest)) = without_query.split_once("://") else {
        return "…".to_owned();
    };
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    // Userinfo before the host is a credential too.
    let host = host.rsplit('@').next().unwrap_or_default();
    let kept = path.rsplit_once('/').map_or("", |(kept, _)| kept);
    if kept.is_empty() {
        format!("{scheme}://{host}/…")
    } else {
        format!("{scheme}://{host}/{kept}/…")
    }
}

impl Format {
    /// A subscription's address as it may be shown, logged or kept in the
    /// audit trail: a chat service's without its credential
    /// ([`redacted_url`]), any other as it is.
    pub fn shown_url(self, url: &str) -> String {
        match self {
            Format::Slack | Format::Teams => redacted_url(url),
            Format::CloudEvents | Format::Email => url.to_owned(),
        }
    }
}

/// How an event reads: good news, bad news, something to look at, or
/// neither. Formats colour by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// Something went as hoped (a release live, an approval).
    Good,
    /// Something failed or was refused.
    Bad,
    /// Someone should look (an approval asked for, a rollback, a lock).
    Attention,
    /// News, neither good nor bad.
    Neutral,
}

/// What is to be approved, for an `approval.requested` event: its buttons
/// carry it, and a click names it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalAsk {
    /// The service.
    pub service: Name,
    /// The release's version.
    pub version: semver::Version,
    /// The environment the approval is for.
    pub environment: Name,
}

impl ApprovalAsk {
    /// `service@version`.
    pub fn release(&self) -> String {
        format!("{}@{}", self.service, self.version)
    }
}

/// One event, as a person is told of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    /// The event's kind (`deployment.failed`).
    pub kind: String,
    /// The event's id.
    pub id: String,
    /// One sentence saying what happened
    /// (`Deployment 42 of api@1.4.2 to prod failed`).
    pub headline: String,
    /// What it concerns, short (`api@1.4.2 in prod`), for subjects.
    pub about: String,
    /// How it reads.
    pub tone: Tone,
    /// The facts, labelled, in a fixed order (`Service`: `api`).
    pub facts: Vec<(String, String)>,
    /// When it happened (RFC 3339), if said.
    pub time: Option<String>,
    /// Where ferry's web UI shows it, when ferry has a public `http(s)`
    /// address (the CloudEvent's `source`).
    pub link: Option<String>,
    /// What to approve, for an `approval.requested` event.
    pub approval: Option<ApprovalAsk>,
}

/// The CloudEvents type of the `approval.requested` kind, matched by name so
/// that a renderer reads it whichever event kinds this build knows.
pub const APPROVAL_REQUESTED_TYPE: &str = "dev.ferry.approval.requested.v1";

/// The longest a fact's value is shown (longer ones are cut with `…`).
const MAX_FACT: usize = 500;

/// The facts shown, by the key of the event's data, with their labels.
const FACTS: &[(&str, &str)] = &[
    ("release", "Release"),
    ("service", "Service"),
    ("version", "Version"),
    ("environment", "Environment"),
    ("deployment", "Deployment"),
    ("rollback_of", "Rolls back deployment"),
    ("status", "Status"),
    ("change", "Change request"),
    ("incident", "Incident"),
    ("review", "Review"),
    ("freeze", "Freeze"),
    ("title", "Title"),
    ("type", "Type"),
    ("from", "From"),
    ("to", "To"),
    ("start", "Starts"),
    ("end", "Ends"),
    ("due", "Due"),
    ("blockers", "Blocked by"),
    ("reason", "Reason"),
    ("comment", "Comment"),
    ("requested_by", "Requested by"),
    ("needed", "Needs"),
    ("by", "By"),
];

impl Notice {
    /// Reads a CloudEvent as ferry sends it (`Event::cloudevent`). Kinds
    /// it does not know are told by their subject; missing facts are left
    /// out, never invented.
    pub fn from_cloudevent(event: &Value) -> Notice {
        let type_ = event.get("type").and_then(Value::as_str).unwrap_or("");
        let kind = kind_of(type_);
        let data = ferry_data(event, type_);
        let text = |key: &str| -> Option<String> {
            match data.get(key)? {
                Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            }
        };
        let subject = event
            .get("subject")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| kind.clone());
        let release = text("release").or_else(|| match (text("service"), text("version")) {
            (Some(service), Some(version)) => Some(format!("{service}@{version}")),
            _ => None,
        });
        let environment = text("environment");
        let by = text("by");
        let fact = |key: &str| text(key).unwrap_or_else(|| "?".to_owned());
        let about = match (&release, &environment, text("service")) {
            (Some(release), Some(environment), _) => format!("{release} in {environment}"),
            (Some(release), None, _) => release.clone(),
            (None, Some(environment), Some(service)) => format!("{service} in {environment}"),
            (None, Some(environment), None) => environment.clone(),
            (None, None, _) => subject.clone(),
        };
        let (release_named, env_named) = (
            release.clone().unwrap_or_else(|| subject.clone()),
            environment.clone().unwrap_or_else(|| "?".to_owned()),
        );
        let deployment = |done: &str| {
            format!(
                "Deployment {} of {release_named} to {env_named} {done}",
                fact("deployment")
            )
        };
        let (headline, tone) = match kind.as_str() {
            "release.created" => (format!("{release_named} was created"), Tone::Neutral),
            "approval.requested" => (
                format!("{release_named} waits for approval in {env_named}"),
                Tone::Attention,
            ),
            "approval.given" => (
                format!(
                    "{} approved {release_named} for {env_named}",
                    by.as_deref().unwrap_or("someone")
                ),
                Tone::Good,
            ),
            "approval.rejected" => (
                format!(
                    "{} rejected {release_named} for {env_named}",
                    by.as_deref().unwrap_or("someone")
                ),
                Tone::Bad,
            ),
            "promotion.blocked" => (
                format!("{release_named} may not enter {env_named}: its gates block it"),
                Tone::Bad,
            ),
            "freeze.started" => (format!("{env_named} is frozen"), Tone::Attention),
            "freeze.ended" => (format!("The freeze of {env_named} ended"), Tone::Neutral),
            "review.due" => {
                let what = match text("deployment") {
                    Some(id) => format!("deployment {id}"),
                    None => format!("review {}", fact("review")),
                };
                if data.get("overdue").and_then(Value::as_bool) == Some(true) {
                    (format!("The review of {what} is overdue"), Tone::Attention)
                } else {
                    (format!("A review of {what} is due"), Tone::Attention)
                }
            }
            "deployment.queued" => (deployment("is queued"), Tone::Neutral),
            "deployment.started" => (deployment("started"), Tone::Neutral),
            "deployment.succeeded" => (
                format!("{release_named} is live in {env_named}"),
                Tone::Good,
            ),
            "deployment.failed" => (deployment("failed"), Tone::Bad),
            "deployment.cancelled" => (deployment("was cancelled"), Tone::Attention),
            "deployment.rolled_back" => (
                format!("{env_named} was rolled back to {release_named}"),
                Tone::Attention,
            ),
            "change.created" => (
                match text("title") {
                    Some(title) => format!("Change request {} opened: {title}", fact("change")),
                    None => format!("Change request {} opened", fact("change")),
                },
                Tone::Neutral,
            ),
            "change.moved" => (
                match text("from") {
                    Some(from) => format!(
                        "Change request {} moved from {from} to {}",
                        fact("change"),
                        fact("to")
                    ),
                    None => format!("Change request {} moved to {}", fact("change"), fact("to")),
                },
                Tone::Neutral,
            ),
            "lock.set" => (format!("{about} was locked"), Tone::Attention),
            "lock.removed" => (format!("{about} was unlocked"), Tone::Neutral),
            "incident.opened" => (
                format!("Incident {} opened for {about}", fact("incident")),
                Tone::Bad,
            ),
            "incident.resolved" => (
                format!("Incident {} of {about} was resolved", fact("incident")),
                Tone::Good,
            ),
            _ => (subject.clone(), Tone::Neutral),
        };
        let facts = FACTS
            .iter()
            .filter(|(key, _)| {
                // A release names its service and version already.
                !(data.get("release").is_some() && matches!(*key, "service" | "version"))
            })
            .filter_map(|(key, label)| {
                let value = data.get(*key)?;
                // Blockers are told by their codes.
                let codes;
                let value = if *key == "blockers" {
                    codes = blocker_codes(value);
                    &codes
                } else {
                    value
                };
                let shown = shown(value)?;
                Some(((*label).to_owned(), cut(&shown, MAX_FACT)))
            })
            .collect();
        let approval = (kind == "approval.requested")
            .then(|| {
                let (service, environment) = (text("service"), environment.as_deref());
                let (service, version) = match (service, text("version")) {
                    (Some(service), Some(version)) => (service, version),
                    _ => {
                        let release = release.as_deref()?;
                        let (service, version) = release.split_once('@')?;
                        (service.to_owned(), version.to_owned())
                    }
                };
                Some(ApprovalAsk {
                    service: Name::parse(&service).ok()?,
                    version: crate::release::parse_version(&version).ok()?,
                    environment: Name::parse(environment?).ok()?,
                })
            })
            .flatten();
        let source = event.get("source").and_then(Value::as_str).unwrap_or("");
        Notice {
            link: link(source, &kind, data),
            kind,
            id: event
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            headline,
            about,
            tone,
            facts,
            time: event.get("time").and_then(Value::as_str).map(str::to_owned),
            approval,
        }
    }
}

/// The kind a CloudEvents type is: ferry's own kinds by their table, and
/// any `dev.ferry.NAME.v1` as NAME (so a kind added later reads as itself).
fn kind_of(type_: &str) -> String {
    EventKind::ALL
        .iter()
        .find(|kind| kind.cloudevents_type() == type_)
        .map(|kind| kind.as_str().to_owned())
        .or_else(|| {
            type_
                .strip_prefix("dev.ferry.")
                .and_then(|rest| rest.rsplit_once('.'))
                .map(|(name, _)| name.to_owned())
        })
        .unwrap_or_else(|| type_.to_owned())
}

/// ferry's facts of an event: its `data`, or for a CDEvent the `ferry`
/// part of its subject's content.
fn ferry_data<'a>(event: &'a Value, type_: &str) -> &'a Value {
    let data = event.get("data").unwrap_or(&Value::Null);
    if type_.starts_with("dev.cdevents.") {
        data.pointer("/subject/content/ferry").unwrap_or(data)
    } else {
        data
    }
}

/// The codes of a list of gate blockers (`approvals-missing`), or the
/// list as it is when it holds none.
fn blocker_codes(blockers: &Value) -> Value {
    match blockers.as_array() {
        Some(all) if all.iter().all(|b| b.get("code").is_some()) => {
            Value::Array(all.iter().filter_map(|b| b.get("code").cloned()).collect())
        }
        _ => blockers.clone(),
    }
}

/// A value of the data as people read it; `None` for nothing to show.
fn shown(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) if s.trim().is_empty() => None,
        Value::String(s) => Some(s.trim().to_owned()),
        Value::Bool(b) => Some(if *b { "yes" } else { "no" }.to_owned()),
        Value::Number(n) => Some(n.to_string()),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().filter_map(shown).collect();
            (!items.is_empty()).then(|| items.join(", "))
        }
        Value::Object(map) => {
            let parts: Vec<String> = map
                .iter()
                .filter_map(|(key, value)| Some(format!("{key}: {}", shown(value)?)))
                .collect();
            (!parts.is_empty()).then(|| parts.join(", "))
        }
    }
}

/// `text` cut to at most `max` characters, `…` marking the cut.
pub(crate) fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut kept: String = text.chars().take(max.saturating_sub(1)).collect();
    kept.push('…');
    kept
}

/// The page of ferry's web UI that shows the event, when `source` is
/// ferry's public `http(s)` address.
fn link(source: &str, kind: &str, data: &Value) -> Option<String> {
    let base = source.trim_end_matches('/');
    if !(base.starts_with("https://") || base.starts_with("http://")) {
        return None;
    }
    let text = |key: &str| match data.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    let release = || -> Option<(String, String)> {
        match (text("service"), text("version")) {
            (Some(service), Some(version)) => Some((service, version)),
            _ => text("release")?
                .split_once('@')
                .map(|(s, v)| (s.to_owned(), v.to_owned())),
        }
    };
    let path = if kind.starts_with("deployment.") {
        text("deployment").map(|id| format!("/deployments/{id}"))
    } else if kind.starts_with("release.") || kind.starts_with("approval.") {
        release().map(|(service, version)| format!("/services/{service}/releases/{version}"))
    } else if kind.starts_with("change.") {
        text("change").map(|id| format!("/changes/{id}"))
    } else {
        None
    };
    // Names and versions are safe in a path; anything else is not linked.
    let path = path.filter(|path| {
        path.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/-._+".contains(c))
    });
    Some(format!("{base}{}", path.unwrap_or_else(|| "/".to_owned())))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A deployment that failed, as the outbox queues it.
    pub(crate) fn failed() -> Value {
        json!({
            "specversion": "1.0",
            "id": "deployment-42-failed",
            "source": "https://ferry.example.com/",
            "type": "dev.ferry.deployment.failed.v1",
            "subject": "deployment 42 of api@1.4.2 to prod",
            "time": "2026-12-01T10:00:00.000000Z",
            "datacontenttype": "application/json",
            "data": { "deployment": 42, "service": "api", "version": "1.4.2",
                "environment": "prod", "status": "failed", "rollback_of": null, "by": "alice" },
        })
    }

    /// An approval asked for, by the contract of `approval.requested`.
    pub(crate) fn approval_requested() -> Value {
        json!({
            "specversion": "1.0",
            "id": "audit-9",
            "source": "/ferry",
            "type": APPROVAL_REQUESTED_TYPE,
            "subject": "api@1.4.2 for prod",
            "time": "2026-12-01T10:00:00.000000Z",
            "data": { "release": "api@1.4.2", "service": "api", "version": "1.4.2",
                "environment": "prod", "requested_by": "alice", "needed": 2 },
        })
    }

    #[test]
    fn a_failure_reads_as_a_sentence_with_its_facts_and_link() {
        let notice = Notice::from_cloudevent(&failed());
        assert_eq!(notice.kind, "deployment.failed");
        assert_eq!(notice.headline, "Deployment 42 of api@1.4.2 to prod failed");
        assert_eq!(notice.about, "api@1.4.2 in prod");
        assert_eq!(notice.tone, Tone::Bad);
        assert_eq!(
            notice.link.as_deref(),
            Some("https://ferry.example.com/deployments/42")
        );
        let labels: Vec<&str> = notice.facts.iter().map(|(l, _)| l.as_str()).collect();
        assert_eq!(
            labels,
            [
                "Service",
                "Version",
                "Environment",
                "Deployment",
                "Status",
                "By"
            ]
        );
        assert!(notice.approval.is_none());
    }

    #[test]
    fn a_cdevent_is_read_from_its_ferry_content() {
        let event = crate::event::Event {
            kind: EventKind::DeploymentSucceeded,
            id: "deployment-7-succeeded".into(),
            seq: 3,
            time: "2026-12-01T10:00:00Z".parse().unwrap(),
            subject: "deployment 7 of web@2.0.0 to staging".into(),
            service: Name::parse("web").ok(),
            environment: Name::parse("staging").ok(),
            data: json!({ "deployment": 7, "service": "web", "version": "2.0.0",
                "environment": "staging", "status": "succeeded", "by": "bob" }),
        };
        let notice = Notice::from_cloudevent(&event.cloudevent("/ferry"));
        assert_eq!(notice.kind, "deployment.succeeded");
        assert_eq!(notice.headline, "web@2.0.0 is live in staging");
        assert_eq!(notice.tone, Tone::Good);
        assert_eq!(notice.link, None, "no public address, no link");
    }

    #[test]
    fn an_approval_request_names_what_to_approve() {
        let notice = Notice::from_cloudevent(&approval_requested());
        assert_eq!(notice.kind, "approval.requested");
        assert_eq!(notice.headline, "api@1.4.2 waits for approval in prod");
        let ask = notice.approval.expect("an ask");
        assert_eq!(ask.release(), "api@1.4.2");
        assert_eq!(ask.environment.as_str(), "prod");
        assert!(
            notice
                .facts
                .contains(&("Requested by".to_owned(), "alice".to_owned()))
        );
        assert!(notice.facts.contains(&("Needs".to_owned(), "2".to_owned())));
    }

    #[test]
    fn a_blocked_promotion_names_its_blockers_by_code() {
        let notice = Notice::from_cloudevent(&json!({
            "type": "dev.ferry.promotion.blocked.v1", "subject": "api@1.4.2 to prod",
            "data": { "release": "api@1.4.2", "service": "api", "version": "1.4.2",
                "environment": "prod", "by": "bob",
                "blockers": [{ "code": "approvals-missing", "message": "needs 2" },
                    { "code": "frozen", "message": "year end" }] } }));
        assert_eq!(
            notice.headline,
            "api@1.4.2 may not enter prod: its gates block it"
        );
        assert!(
            notice.facts.contains(&(
                "Blocked by".to_owned(),
                "approvals-missing, frozen".to_owned()
            )),
            "{:?}",
            notice.facts
        );
    }

    #[test]
    fn unknown_kinds_and_missing_facts_fall_back_to_the_subject() {
        let notice = Notice::from_cloudevent(&json!({
            "type": "dev.ferry.train.departed.v1", "subject": "train t", "data": null }));
        assert_eq!(notice.kind, "train.departed");
        assert_eq!(notice.headline, "train t");
        assert!(notice.facts.is_empty());
        let notice = Notice::from_cloudevent(&json!({}));
        assert_eq!(notice.headline, "");
    }

    #[test]
    fn formats_are_named_and_mailto_addresses_read() {
        assert_eq!(Format::parse("Slack").unwrap(), Format::Slack);
        let error = Format::parse("discord").unwrap_err();
        assert!(
            error.contains("cloudevents, slack, teams, email"),
            "{error}"
        );
        assert_eq!(
            mailto_recipients("mailto:ops@example.com, dev@example.com"),
            Some(vec!["ops@example.com".into(), "dev@example.com".into()])
        );
        assert_eq!(mailto_recipients("https://example.com"), None);
    }

    #[test]
    fn incoming_webhook_addresses_are_shown_without_their_credential() {
        assert_eq!(
            redacted_url("https://hooks.slack.com/services/T000/B000/XXXXSECRET"),
            "https://hooks.slack.com/services/T000/B000/…"
        );
        assert_eq!(
            redacted_url("https://x.logic.azure.com/workflows/1/triggers?sig=SECRET"),
            "https://x.logic.azure.com/workflows/1/…"
        );
        assert_eq!(
            redacted_url("https://user:pw@chat.example.com/hooks/SECRET"),
            "https://chat.example.com/hooks/…"
        );
        assert_eq!(redacted_url("nonsense"), "…");
    }

    #[test]
    fn long_values_are_cut() {
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cut("abc", 4), "abc");
    }
}
