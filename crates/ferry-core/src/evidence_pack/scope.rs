//! What a pack covers: one release (in one environment or all), or the
//! deployments made over a period (of one service, into one environment,
//! or all).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::time::{format_time, parse_time};

/// What a pack covers, as its manifest says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Scope {
    /// One release: its commits, change requests, evidence, approvals and
    /// deployments.
    Release {
        /// `service@version`.
        release: String,
        /// Only what concerns this environment; every one when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        environment: Option<String>,
    },
    /// The deployments made from `since` to before `until`, with the
    /// releases they deployed.
    Period {
        /// The period's start (included), RFC 3339.
        since: String,
        /// The period's end (excluded), RFC 3339.
        until: String,
        /// Only this service's deployments.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        service: Option<String>,
        /// Only the deployments into this environment.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        environment: Option<String>,
    },
}

impl Scope {
    /// What it covers, for people: `api@1.4.0 in prod`, `api@1.4.0 in
    /// every environment`, `the deployments of api into prod from … to …`.
    pub fn describe(&self) -> String {
        match self {
            Scope::Release {
                release,
                environment,
            } => match environment {
                Some(environment) => format!("{release} in {environment}"),
                None => format!("{release} in every environment"),
            },
            Scope::Period {
                since,
                until,
                service,
                environment,
            } => {
                let of = service
                    .as_ref()
                    .map(|service| format!(" of {service}"))
                    .unwrap_or_default();
                let into = environment
                    .as_ref()
                    .map(|environment| format!(" into {environment}"))
                    .unwrap_or_default();
                format!("the deployments{of}{into} from {since} to {until}")
            }
        }
    }

    /// The archive's name without `.tar.gz` (also its folder):
    /// `evidence-pack-api-1.4.0-prod`, `evidence-pack-20260701T000000Z-20261001T000000Z-api`.
    pub fn file_stem(&self) -> String {
        let parts: Vec<String> = match self {
            Scope::Release {
                release,
                environment,
            } => std::iter::once(release.replacen('@', "-", 1))
                .chain(environment.clone())
                .collect(),
            Scope::Period {
                since,
                until,
                service,
                environment,
            } => [compact(since), compact(until)]
                .into_iter()
                .chain(service.clone())
                .chain(environment.clone())
                .collect(),
        };
        let stem = format!("evidence-pack-{}", parts.join("-"));
        stem.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                    c
                } else {
                    '-'
                }
            })
            .collect()
    }
}

/// A time of the manifest as a file name takes it: `20260701T000000Z`.
fn compact(text: &str) -> String {
    parse_time(text).map_or_else(
        |_| text.to_owned(),
        |at| at.format("%Y%m%dT%H%M%SZ").to_string(),
    )
}

/// Why a period could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    /// A bound is neither a date nor an RFC 3339 time.
    #[error(
        "{field} {text:?} is neither a date (2026-07-01) nor an RFC 3339 time (2026-07-01T00:00:00Z)"
    )]
    BadTime {
        /// `since` or `until`.
        field: &'static str,
        /// As given.
        text: String,
    },
    /// The period ends before it starts, or when it starts.
    #[error(
        "since ({since}) is not before until ({until}): the period is empty; give the earlier time as since"
    )]
    Empty {
        /// The start, RFC 3339.
        since: String,
        /// The end, RFC 3339.
        until: String,
    },
}

/// A period of time: from `since` (included) to `until` (excluded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    /// The first instant in it.
    pub since: DateTime<Utc>,
    /// The first instant after it.
    pub until: DateTime<Utc>,
}

impl Period {
    /// Reads a period from its bounds, each a date (a day in UTC, both
    /// days included: `2026-07-01` to `2026-09-30` is the third quarter)
    /// or an RFC 3339 time (`until` then excluded).
    pub fn parse(since: &str, until: &str) -> Result<Period, ScopeError> {
        let period = Period {
            since: bound("since", since, false)?,
            until: bound("until", until, true)?,
        };
        if period.since >= period.until {
            return Err(ScopeError::Empty {
                since: format_time(period.since),
                until: format_time(period.until),
            });
        }
        Ok(period)
    }
}

/// A bound of a period: a date's first instant, or for the end of a period
/// the first instant of the next day; or an RFC 3339 time.
fn bound(field: &'static str, text: &str, end: bool) -> Result<DateTime<Utc>, ScopeError> {
    let text = text.trim();
    let bad = || ScopeError::BadTime {
        field,
        text: text.to_owned(),
    };
    if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        let day = if end {
            day.succ_opt().ok_or_else(bad)?
        } else {
            day
        };
        return Ok(day.and_time(chrono::NaiveTime::MIN).and_utc());
    }
    parse_time(text).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_whole_days_and_times_are_exact() {
        let quarter = Period::parse("2026-07-01", "2026-09-30").unwrap();
        assert_eq!(format_time(quarter.since), "2026-07-01T00:00:00.000000Z");
        assert_eq!(format_time(quarter.until), "2026-10-01T00:00:00.000000Z");
        let hour = Period::parse("2026-07-01T10:00:00+02:00", "2026-07-01T09:00:00Z").unwrap();
        assert_eq!(format_time(hour.since), "2026-07-01T08:00:00.000000Z");
        assert_eq!(format_time(hour.until), "2026-07-01T09:00:00.000000Z");
        // One day, given as the same date twice.
        assert!(Period::parse("2026-07-01", "2026-07-01").is_ok());
    }

    #[test]
    fn bad_and_empty_periods_say_why() {
        let error = Period::parse("2026-13-01", "2026-12-31").unwrap_err();
        assert_eq!(
            error.to_string(),
            "since \"2026-13-01\" is neither a date (2026-07-01) nor an RFC 3339 time (2026-07-01T00:00:00Z)"
        );
        let error = Period::parse("2026-01-01", "yesterday").unwrap_err();
        assert!(
            error.to_string().starts_with("until \"yesterday\""),
            "{error}"
        );
        let error = Period::parse("2026-09-30", "2026-07-01").unwrap_err();
        assert!(matches!(error, ScopeError::Empty { .. }), "{error}");
        assert!(error.to_string().contains("is not before until"), "{error}");
        assert!(Period::parse("2026-07-01T00:00:00Z", "2026-07-01T00:00:00Z").is_err());
    }

    #[test]
    fn scopes_name_their_archives() {
        let release = Scope::Release {
            release: "api@1.4.0".into(),
            environment: Some("prod".into()),
        };
        assert_eq!(release.file_stem(), "evidence-pack-api-1.4.0-prod");
        assert_eq!(release.describe(), "api@1.4.0 in prod");
        let build = Scope::Release {
            release: "api@1.4.0+build.7".into(),
            environment: None,
        };
        assert_eq!(build.file_stem(), "evidence-pack-api-1.4.0-build.7");
        let period = Scope::Period {
            since: "2026-07-01T00:00:00.000000Z".into(),
            until: "2026-10-01T00:00:00.000000Z".into(),
            service: Some("api".into()),
            environment: None,
        };
        assert_eq!(
            period.file_stem(),
            "evidence-pack-20260701T000000Z-20261001T000000Z-api"
        );
        assert!(period.describe().starts_with("the deployments of api from"));
        let json = serde_json::to_value(&period).unwrap();
        assert_eq!(json["kind"], "period");
        assert_eq!(serde_json::from_value::<Scope>(json).unwrap(), period);
    }
}
