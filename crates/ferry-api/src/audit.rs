//! The audit trail, the query that lists it, and the check of its hash
//! chain.

use ferry_core::audit_filter::{ActionMatch, Actor, AuditFilter, AuditOrder, ObjectMatch};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::PageQuery;

/// An event of the audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AuditEvent {
    /// Position in the trail, from 1.
    pub seq: i64,
    /// When it happened (RFC 3339 UTC, microseconds).
    pub time: String,
    /// Who did it.
    pub actor: String,
    /// What was done, such as `release.create`.
    pub action: String,
    /// What it was done to, such as `release:api@1.2.0`.
    pub object: String,
    /// Details: the state before and after.
    pub details: serde_json::Value,
    /// The hash of the previous event.
    pub prev_hash: String,
    /// This event's hash (SHA-256, hex).
    pub hash: String,
}

impl AuditEvent {
    /// The event as the chain hashes it: its details back to the text they
    /// were stored as (the export writes them as JSON; details that were
    /// not JSON are written as a string holding their text).
    pub fn record(&self) -> ferry_core::audit::AuditRecord {
        let details = match &self.details {
            serde_json::Value::String(text)
                if serde_json::from_str::<serde_json::Value>(text).is_err() =>
            {
                text.clone()
            }
            other => other.to_string(),
        };
        ferry_core::audit::AuditRecord {
            seq: self.seq,
            time: self.time.clone(),
            actor: self.actor.clone(),
            action: self.action.clone(),
            object: self.object.clone(),
            details,
            prev_hash: self.prev_hash.clone(),
            hash: self.hash.clone(),
        }
    }
}

/// The result of checking the audit trail's hash chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AuditVerification {
    /// Whether every event is as written and none is missing.
    pub intact: bool,
    /// How many events were checked and found good.
    pub events: i64,
    /// The first event that failed, when not intact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_bad_seq: Option<i64>,
    /// What is wrong with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The hash of the last event when intact: keep it to prove later that
    /// nothing before it changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_hash: Option<String>,
}

/// Query parameters of `GET /api/v1/audit`: a page of events, filtered, in
/// one order. The values travel as text; [`AuditQuery::read`] reads them
/// into typed values, naming the parameter that is wrong.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// At most this many events (1 to 1000, default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page (of the same order and filters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// `oldest` (the default: the chain's order, from event 1) or `newest`
    /// (the latest event first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[param(pattern = "^(oldest|newest)$")]
    pub order: Option<String>,
    /// Only the events of this actor, exactly (`admin`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// Only this action (`release.create`), or with `KIND.*` every action on
    /// that kind of object (`release.*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// Only events about this object, as recorded (`release:api@1.0.0`,
    /// `environment:prod`) or by its name without the kind (`api@1.0.0`,
    /// `prod`: every kind of object of that name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// Only events at or after this instant (RFC 3339, such as
    /// `2026-12-04T10:15:00Z`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
}

/// A parameter of [`AuditQuery`] whose value is not of the expected form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidParameter {
    /// The parameter's name, as in the URL.
    pub parameter: &'static str,
    /// What is wrong and what is expected.
    pub reason: String,
}

impl std::fmt::Display for InvalidParameter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "query parameter `{}`: {}", self.parameter, self.reason)
    }
}

impl std::error::Error for InvalidParameter {}

impl AuditQuery {
    /// The query for one page of events that `filter` lets through, in
    /// `order`.
    pub fn new(filter: &AuditFilter, order: AuditOrder, page: PageQuery) -> Self {
        Self {
            limit: page.limit,
            cursor: page.cursor,
            order: Some(order.as_str().to_owned()),
            actor: filter.actor.as_ref().map(ToString::to_string),
            action: filter.action.as_ref().map(ToString::to_string),
            object: filter.object.as_ref().map(ToString::to_string),
            since: filter.since.map(ferry_core::time::format_time),
        }
    }

    /// The filter and the order, read from the parameters.
    pub fn read(&self) -> Result<(AuditFilter, AuditOrder), InvalidParameter> {
        fn read<T>(
            parameter: &'static str,
            value: Option<&str>,
            parse: impl Fn(&str) -> Result<T, String>,
        ) -> Result<Option<T>, InvalidParameter> {
            value
                .map(|text| parse(text).map_err(|reason| InvalidParameter { parameter, reason }))
                .transpose()
        }
        let filter = AuditFilter {
            actor: read("actor", self.actor.as_deref(), Actor::parse)?,
            action: read("action", self.action.as_deref(), ActionMatch::parse)?,
            object: read("object", self.object.as_deref(), ObjectMatch::parse)?,
            since: read("since", self.since.as_deref(), |text| {
                ferry_core::time::parse_time(text).map_err(|reason| {
                    format!("{reason}; expected one such as 2026-12-04T10:15:00Z")
                })
            })?,
        };
        let order = read("order", self.order.as_deref(), AuditOrder::parse)?.unwrap_or_default();
        Ok((filter, order))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_carries_its_filter_and_order_both_ways() {
        let filter = AuditFilter {
            actor: Some(Actor::parse("admin").unwrap()),
            action: Some(ActionMatch::parse("release.*").unwrap()),
            object: Some(ObjectMatch::parse("api@1.0.0").unwrap()),
            since: Some(ferry_core::time::parse_time("2026-12-04T10:15:00Z").unwrap()),
        };
        let page = PageQuery {
            limit: Some(5),
            cursor: Some("9".into()),
        };
        let query = AuditQuery::new(&filter, AuditOrder::NewestFirst, page);
        assert_eq!(query.action.as_deref(), Some("release.*"));
        assert_eq!(query.order.as_deref(), Some("newest"));
        assert_eq!(query.read(), Ok((filter, AuditOrder::NewestFirst)));
        assert_eq!(
            AuditQuery::default().read(),
            Ok((AuditFilter::default(), AuditOrder::OldestFirst))
        );
    }

    #[test]
    fn a_bad_value_names_its_parameter() {
        let bad = |query: AuditQuery| query.read().unwrap_err();
        let action = bad(AuditQuery {
            action: Some("release".into()),
            ..Default::default()
        });
        assert_eq!(action.parameter, "action");
        assert!(
            action
                .to_string()
                .starts_with("query parameter `action`: expected")
        );
        let since = bad(AuditQuery {
            since: Some("yesterday".into()),
            ..Default::default()
        });
        assert_eq!(since.parameter, "since");
        assert!(since.reason.contains("RFC 3339"), "{since}");
        let order = bad(AuditQuery {
            order: Some("up".into()),
            ..Default::default()
        });
        assert_eq!(order.parameter, "order");
        let actor = bad(AuditQuery {
            actor: Some(String::new()),
            ..Default::default()
        });
        assert_eq!(actor.parameter, "actor");
    }
}
