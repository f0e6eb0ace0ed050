//! Freeze periods: times when an environment takes no promotions.

use serde::{Deserialize, Serialize};

use crate::Name;

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
}
