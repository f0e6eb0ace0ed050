//! Environments: where releases are deployed, each of a tier and with a policy.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The tier of an environment: how close it is to the users. Risk, metrics and
/// defaults depend on it (DORA metrics count production tiers only).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    /// Developers' integration environments.
    Development,
    /// Test and QA environments.
    Testing,
    /// Pre-production, as close to production as can be.
    Staging,
    /// Where users are served.
    Production,
}

impl Tier {
    /// Every tier, from the least to the most critical.
    pub const ALL: [Tier; 4] = [
        Tier::Development,
        Tier::Testing,
        Tier::Staging,
        Tier::Production,
    ];

    /// The tier's name as written in configuration and on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Development => "development",
            Tier::Testing => "testing",
            Tier::Staging => "staging",
            Tier::Production => "production",
        }
    }

    /// Parses a tier name, naming the accepted ones when it is not one.
    pub fn parse(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|tier| tier.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown tier {s:?}; expected one of development, testing, staging, production"
                )
            })
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The rules an environment puts on promotions into it, evaluated by the
/// gates; every field's default means "no rule", except separation of
/// duties, which is on unless turned off.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    /// How many approvals a release needs before it may enter.
    pub approvals: u32,
    /// Who may approve: user names, and `group:NAME` for the members of a
    /// group; empty means anyone allowed to approve.
    pub approvers: Vec<String>,
    /// Named evidence suites that must have passed.
    pub evidence: Vec<String>,
    /// Whether an approved change request is required.
    pub change_request: bool,
    /// The highest risk level allowed (`low`, `medium`, `high`, `critical`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_risk: Option<String>,
    /// Whether the release's creator and its commits' authors are refused as
    /// approvers.
    pub separation_of_duties: bool,
    /// Which deployments here get a post-implementation review
    /// (`"on-failure"`, the default, or `"always"`; see [`crate::review`]).
    #[serde(skip_serializing_if = "crate::review::ReviewPolicy::is_default")]
    pub review: crate::review::ReviewPolicy,
    /// How long after it opens a review is due, such as `"5d"` or `"36h"`
    /// (default [`crate::review::DEFAULT_DUE`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub review_due: Option<String>,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            approvals: 0,
            approvers: Vec::new(),
            evidence: Vec::new(),
            change_request: false,
            max_risk: None,
            separation_of_duties: true,
            review: crate::review::ReviewPolicy::OnFailure,
            review_due: None,
        }
    }
}

/// A recurring period in which deployments are allowed.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Window {
    /// An RFC 5545 recurrence rule giving the window's starts.
    pub rrule: String,
    /// How long each window lasts, such as `8h` or `90m`.
    pub duration: String,
    /// The IANA time zone the rule is read in; UTC when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
}

/// An environment as configured.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvironmentSpec {
    /// Its unique name.
    pub name: crate::Name,
    /// Its tier.
    pub tier: Tier,
    /// Free text for people.
    pub description: String,
    /// Its policy.
    pub policy: Policy,
    /// Its deployment windows; none means always open.
    pub windows: Vec<Window>,
    /// Plain variables its deployment steps see (see [`crate::variables`]);
    /// `ferry var set` values of the same name win over these.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub variables: std::collections::BTreeMap<String, String>,
    /// Whether promotions, rollbacks, approvals and cancellations here need a
    /// grant that names this environment (see [`crate::access`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub protected: bool,
    /// Whether ferry locks the environment after any rollback there, so
    /// nothing is promoted until a person has looked (see [`crate::lock`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub lock_after_rollback: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_round_trip_and_unknown_ones_are_named() {
        for tier in Tier::ALL {
            assert_eq!(Tier::parse(tier.as_str()), Ok(tier));
        }
        let error = Tier::parse("prod").unwrap_err();
        assert!(
            error.contains("\"prod\"") && error.contains("production"),
            "{error}"
        );
    }

    #[test]
    fn tiers_are_ordered_by_criticality() {
        assert!(Tier::Development < Tier::Testing);
        assert!(Tier::Staging < Tier::Production);
    }
}
