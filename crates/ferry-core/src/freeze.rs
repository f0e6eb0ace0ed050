//! Freeze periods: times when an environment takes no promotions.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::Name;
use crate::windows::Freeze;

/// A freeze as configured: one-off (`start`..`end`) or recurring (`rrule` +
/// `duration`), on some environments.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FreezeSpec {
    /// Its unique name.
    pub name: Name,
    /// Why, for the people who are blocked by it.
    #[serde(default)]
    pub reason: String,
    /// Start of a one-off freeze (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    /// End of a one-off freeze (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
    /// Recurrence rule of a recurring freeze (RFC 5545).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rrule: Option<String>,
    /// How long each occurrence of a recurring freeze lasts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    /// The IANA time zone a recurring freeze is read in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// The environments frozen.
    pub environments: Vec<Name>,
}

impl FreezeSpec {
    /// Checks that the freeze is either one-off or recurring, and well-ordered.
    pub fn validate(&self) -> Result<(), String> {
        match (&self.start, &self.end, &self.rrule, &self.duration) {
            (Some(start), Some(end), None, None) => {
                let start_at = crate::time::parse_time(start)?;
                let end_at = crate::time::parse_time(end)?;
                if end_at <= start_at {
                    return Err(format!(
                        "freeze {:?} ends ({end}) before it starts ({start})",
                        self.name.as_str()
                    ));
                }
            }
            (None, None, Some(_), Some(_)) => {}
            _ => {
                return Err(format!(
                    "freeze {:?} needs either `start` and `end` (one-off) or `rrule` and `duration` (recurring)",
                    self.name.as_str()
                ));
            }
        }
        if self.environments.is_empty() {
            return Err(format!(
                "freeze {:?} names no environments",
                self.name.as_str()
            ));
        }
        for (index, environment) in self.environments.iter().enumerate() {
            if self.environments[..index].contains(environment) {
                return Err(format!(
                    "freeze {:?} names environment {:?} twice; name each environment once",
                    self.name.as_str(),
                    environment.as_str()
                ));
            }
        }
        Ok(())
    }
}

/// A freeze beginning or ending in one environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreezeTransition {
    /// The freeze's name.
    pub freeze: String,
    /// Why it freezes.
    pub reason: String,
    /// The environment frozen or thawed.
    pub environment: Name,
    /// The period's start.
    pub start: DateTime<Utc>,
    /// The period's end.
    pub end: DateTime<Utc>,
    /// Whether it began (true) or ended (false).
    pub started: bool,
}

/// At most this many periods of one freeze are looked at in one stretch: a
/// server down for years does not tell every period it missed.
const PERIODS_AT_ONCE: usize = 64;

/// The freezes that began or ended in `(after, until]`, in order of time
/// (an end before a start at the same instant), one per environment.
pub fn transitions(
    freezes: &[Freeze],
    after: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Vec<FreezeTransition> {
    if until <= after {
        return Vec::new();
    }
    let mut found = Vec::new();
    for freeze in freezes {
        // A period ending just after `after` began before it: look from the
        // instant after `after`, so that a period ending exactly then is
        // left out (it was told before).
        let from = after + chrono::Duration::nanoseconds(1);
        let to = until + chrono::Duration::nanoseconds(1);
        for (start, end) in freeze.occurrences(from, to, PERIODS_AT_ONCE) {
            for (at, started) in [(start, true), (end, false)] {
                if after < at && at <= until {
                    for environment in &freeze.environments {
                        found.push(FreezeTransition {
                            freeze: freeze.name.clone(),
                            reason: freeze.reason.clone(),
                            environment: environment.clone(),
                            start,
                            end,
                            started,
                        });
                    }
                }
            }
        }
    }
    found.sort_by(|a, b| {
        let at = |t: &FreezeTransition| if t.started { t.start } else { t.end };
        (at(a), a.started, &a.freeze, &a.environment).cmp(&(
            at(b),
            b.started,
            &b.freeze,
            &b.environment,
        ))
    });
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn freeze() -> FreezeSpec {
        FreezeSpec {
            name: Name::parse("year-end").unwrap(),
            reason: String::new(),
            start: Some("2026-12-20T00:00:00Z".into()),
            end: Some("2027-01-04T00:00:00Z".into()),
            rrule: None,
            duration: None,
            timezone: None,
            environments: vec![Name::parse("prod").unwrap()],
        }
    }

    #[test]
    fn one_off_and_recurring_freezes_are_valid() {
        assert_eq!(freeze().validate(), Ok(()));
        let recurring = FreezeSpec {
            start: None,
            end: None,
            rrule: Some("FREQ=WEEKLY;BYDAY=FR;BYHOUR=15".into()),
            duration: Some("66h".into()),
            ..freeze()
        };
        assert_eq!(recurring.validate(), Ok(()));
    }

    #[test]
    fn bad_freezes_say_why() {
        let backwards = FreezeSpec {
            end: Some("2026-12-01T00:00:00Z".into()),
            ..freeze()
        };
        assert!(
            backwards
                .validate()
                .unwrap_err()
                .contains("before it starts")
        );
        let half = FreezeSpec {
            end: None,
            ..freeze()
        };
        assert!(
            half.validate()
                .unwrap_err()
                .contains("either `start` and `end`")
        );
        let nowhere = FreezeSpec {
            environments: vec![],
            ..freeze()
        };
        assert!(nowhere.validate().unwrap_err().contains("no environments"));
        let twice = FreezeSpec {
            environments: vec![Name::parse("prod").unwrap(), Name::parse("prod").unwrap()],
            ..freeze()
        };
        assert_eq!(
            twice.validate().unwrap_err(),
            "freeze \"year-end\" names environment \"prod\" twice; name each environment once"
        );
    }

    fn frozen(spec: FreezeSpec) -> Freeze {
        Freeze::from_spec(&spec).expect("a valid freeze")
    }

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().expect("an instant")
    }

    #[test]
    fn a_one_off_freeze_starts_and_ends_once_in_each_environment() {
        let year_end = frozen(FreezeSpec {
            environments: vec![
                Name::parse("prod").unwrap(),
                Name::parse("staging").unwrap(),
            ],
            ..freeze()
        });
        let (start, end) = year_end.once().expect("one-off");
        let found = transitions(
            std::slice::from_ref(&year_end),
            start - chrono::Duration::hours(1),
            start,
        );
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(
            found
                .iter()
                .all(|t| t.started && t.start == start && t.end == end)
        );
        // Looked at again from where the last look ended: nothing new.
        assert!(
            transitions(
                std::slice::from_ref(&year_end),
                start,
                end - chrono::Duration::seconds(1)
            )
            .is_empty()
        );
        let ended = transitions(std::slice::from_ref(&year_end), start, end);
        assert_eq!(ended.len(), 2);
        assert!(ended.iter().all(|t| !t.started));
    }

    #[test]
    fn a_recurring_freeze_tells_each_period() {
        let weekends = frozen(FreezeSpec {
            start: None,
            end: None,
            rrule: Some("FREQ=WEEKLY;BYDAY=SA;BYHOUR=0;BYMINUTE=0;BYSECOND=0".into()),
            duration: Some("48h".into()),
            timezone: Some("UTC".into()),
            ..freeze()
        });
        // Two weeks from a Wednesday: two starts and two ends, in order.
        let found = transitions(
            &[weekends],
            at("2026-12-02T12:00:00Z"),
            at("2026-12-16T12:00:00Z"),
        );
        let told: Vec<(String, bool)> = found
            .iter()
            .map(|t| {
                let when = if t.started { t.start } else { t.end };
                (when.to_rfc3339(), t.started)
            })
            .collect();
        assert_eq!(
            told,
            [
                ("2026-12-05T00:00:00+00:00".to_string(), true),
                ("2026-12-07T00:00:00+00:00".to_string(), false),
                ("2026-12-12T00:00:00+00:00".to_string(), true),
                ("2026-12-14T00:00:00+00:00".to_string(), false),
            ]
        );
    }
}
