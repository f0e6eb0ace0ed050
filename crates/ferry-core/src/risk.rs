//! The risk of a promotion: a score from factors, each with its contribution.
//!
//! [`assess`] is pure: everything it weighs (the size of the change, the
//! service's recent outcomes, the evidence, the soak time, the local time) is
//! in its [`RiskInput`], so the same input always gives the same assessment and
//! the UI and CLI can show exactly why a promotion scored what it did.
//!
//! # Factors and weights
//!
//! Each factor adds points; the score is their sum, capped at 100. Only factors
//! that add something are reported, largest first (ties in the order below).
//!
//! | code               | points                                                                 |
//! |--------------------|------------------------------------------------------------------------|
//! | `change-size`      | 4 per doubling of the commit count (1 → 4, 2–3 → 8, 4–7 → 12, …), at most 24 |
//! | `breaking-changes` | 15 per breaking change, at most 30                                     |
//! | `emergency`        | 20 for an emergency change (expedited: less review, less testing)      |
//! | `failure-rate`     | 30 × failed ÷ max(considered, 5), rounded down, over the service's last 10 deployments (fewer than 5 count as 5, so one early failure does not dominate) |
//! | `missing-evidence` | 10 per required evidence suite with no result, at most 20              |
//! | `failing-evidence` | 15 per required evidence suite whose newest result failed, at most 30  |
//! | `short-soak`       | into production only: 15 under 1 hour since success in the previous phase, 8 under 24 hours |
//! | `late-in-day`      | 10 in production (5 elsewhere) from 16:00 or before 09:00 local time   |
//! | `before-weekend`   | 15 in production (5 elsewhere) on Friday from 12:00, Saturday or Sunday |
//!
//! # Levels
//!
//! | score  | level      |
//! |--------|------------|
//! | 0–24   | `low`      |
//! | 25–49  | `medium`   |
//! | 50–74  | `high`     |
//! | 75–100 | `critical` |

use std::fmt;

use chrono::{Datelike, Duration, NaiveDateTime, Timelike, Weekday};
use serde::{Deserialize, Serialize};

use crate::change::ChangeKind;

/// The highest score; sums above it are capped.
pub const MAX_SCORE: u32 = 100;

/// How risky a promotion is, from its score.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RiskLevel {
    /// Score 0–24.
    Low,
    /// Score 25–49.
    Medium,
    /// Score 50–74.
    High,
    /// Score 75–100.
    Critical,
}

impl RiskLevel {
    /// Every level, from the least to the most risky.
    pub const ALL: [RiskLevel; 4] = [
        RiskLevel::Low,
        RiskLevel::Medium,
        RiskLevel::High,
        RiskLevel::Critical,
    ];

    /// The level of a score: below 25 low, below 50 medium, below 75 high,
    /// else critical.
    pub fn from_score(score: u32) -> Self {
        match score {
            0..25 => RiskLevel::Low,
            25..50 => RiskLevel::Medium,
            50..75 => RiskLevel::High,
            _ => RiskLevel::Critical,
        }
    }

    /// The level's name as written in configuration (`max_risk`) and on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            RiskLevel::Low => "low",
            RiskLevel::Medium => "medium",
            RiskLevel::High => "high",
            RiskLevel::Critical => "critical",
        }
    }

    /// Parses a level name, naming the accepted ones when it is not one.
    pub fn parse(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|level| level.as_str() == s)
            .ok_or_else(|| {
                format!("unknown risk level {s:?}; expected one of low, medium, high, critical")
            })
    }
}

impl fmt::Display for RiskLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for RiskLevel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// What the risk of one promotion is computed from.
#[derive(Debug, Clone, PartialEq)]
pub struct RiskInput {
    /// Commits the promotion brings (since the version running there).
    pub commits: usize,
    /// Of those, how many are breaking changes.
    pub breaking_changes: usize,
    /// The kind of the change request the promotion implements, if any.
    pub change_kind: Option<ChangeKind>,
    /// The service's last deployments (any environment), newest first;
    /// `true` for one that succeeded. Only the first 10 are weighed.
    pub recent_outcomes: Vec<bool>,
    /// Required evidence suites with no result.
    pub required_evidence_missing: usize,
    /// Required evidence suites whose newest result failed.
    pub evidence_failing: usize,
    /// Time since the release succeeded in the previous phase; `None` when the
    /// environment is in the first phase.
    pub soak: Option<Duration>,
    /// Now, in the environment's time zone.
    pub local_time: NaiveDateTime,
    /// Whether the environment is of the production tier.
    pub production: bool,
}

/// One factor's contribution to a score.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskFactor {
    /// Stable identifier: `change-size`, `breaking-changes`, `emergency`,
    /// `failure-rate`, `missing-evidence`, `failing-evidence`, `short-soak`,
    /// `late-in-day` or `before-weekend`.
    pub code: String,
    /// A sentence for people, with the numbers behind the points.
    pub description: String,
    /// Points added to the score.
    pub points: u32,
}

/// The risk of a promotion, explained.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskAssessment {
    /// 0–100: the sum of the factors' points, capped at 100.
    pub score: u32,
    /// The level of the score.
    pub level: RiskLevel,
    /// The factors that added points, largest first.
    pub factors: Vec<RiskFactor>,
}

/// How many of the newest deployments the failure rate looks at.
pub const FAILURE_WINDOW: usize = 10;

/// Scores a promotion. See the module documentation for the weights.
pub fn assess(input: &RiskInput) -> RiskAssessment {
    let mut factors = Vec::new();
    let mut add = |code: &str, points: u32, description: String| {
        if points > 0 {
            factors.push(RiskFactor {
                code: code.to_owned(),
                description,
                points,
            });
        }
    };

    if input.commits > 0 {
        // Bit length = floor(log2(n)) + 1: one step per doubling, exactly
        // monotone and without floating point.
        let doublings = usize::BITS - input.commits.leading_zeros();
        add(
            "change-size",
            (4 * doublings).min(24),
            format!("{} in the change", plural(input.commits, "commit")),
        );
    }

    add(
        "breaking-changes",
        saturating_points(input.breaking_changes, 15, 30),
        format!(
            "{} in the change",
            plural(input.breaking_changes, "breaking change")
        ),
    );

    if input.change_kind == Some(ChangeKind::Emergency) {
        add(
            "emergency",
            20,
            "an emergency change: expedited, with less review and testing".to_owned(),
        );
    }

    let considered = input.recent_outcomes.len().min(FAILURE_WINDOW);
    let failed = input.recent_outcomes[..considered]
        .iter()
        .filter(|succeeded| !**succeeded)
        .count();
    if failed > 0 {
        // Both are at most 10, so the arithmetic cannot overflow.
        let points = (30 * failed / considered.max(5)) as u32;
        add(
            "failure-rate",
            points,
            format!(
                "{failed} of the service's last {} failed ({}%)",
                plural(considered, "deployment"),
                100 * failed / considered
            ),
        );
    }

    add(
        "missing-evidence",
        saturating_points(input.required_evidence_missing, 10, 20),
        format!(
            "{} without a result",
            plural(input.required_evidence_missing, "required evidence suite")
        ),
    );

    add(
        "failing-evidence",
        saturating_points(input.evidence_failing, 15, 30),
        format!(
            "{} failing",
            plural(input.evidence_failing, "required evidence suite")
        ),
    );

    if let (true, Some(soak)) = (input.production, input.soak) {
        let soak = soak.max(Duration::zero());
        let (points, limit) = if soak < Duration::hours(1) {
            (15, "1 hour")
        } else if soak < Duration::hours(24) {
            (8, "24 hours")
        } else {
            (0, "")
        };
        add(
            "short-soak",
            points,
            format!(
                "only {} since success in the previous phase (under {limit})",
                describe_duration(soak)
            ),
        );
    }

    let time = input.local_time;
    let hour = time.hour();
    if !(9..16).contains(&hour) {
        add(
            "late-in-day",
            if input.production { 10 } else { 5 },
            format!(
                "local time {} is outside 09:00–16:00, when fewer people are around to help",
                time.format("%H:%M")
            ),
        );
    }

    let weekday = time.weekday();
    let weekend = match weekday {
        Weekday::Sat | Weekday::Sun => Some("on the weekend"),
        Weekday::Fri if hour >= 12 => Some("on Friday afternoon, before the weekend"),
        _ => None,
    };
    if let Some(when) = weekend {
        add(
            "before-weekend",
            if input.production { 15 } else { 5 },
            format!(
                "{} {} is {when}",
                weekday_name(weekday),
                time.format("%H:%M")
            ),
        );
    }

    // A stable sort keeps the documented order among equal contributions.
    factors.sort_by_key(|factor| std::cmp::Reverse(factor.points));
    let total: u32 = factors.iter().map(|factor| factor.points).sum();
    let score = total.min(MAX_SCORE);
    RiskAssessment {
        score,
        level: RiskLevel::from_score(score),
        factors,
    }
}

/// `each` points per item, at most `max`.
fn saturating_points(count: usize, each: u32, max: u32) -> u32 {
    u32::try_from(count)
        .unwrap_or(u32::MAX)
        .saturating_mul(each)
        .min(max)
}

fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

fn describe_duration(duration: Duration) -> String {
    let minutes = duration.num_minutes();
    if minutes < 1 {
        "less than a minute".to_owned()
    } else if minutes < 60 {
        plural(minutes as usize, "minute")
    } else {
        let hours = duration.num_hours();
        match minutes % 60 {
            0 => plural(hours as usize, "hour"),
            rest => format!("{hours} h {rest} min"),
        }
    }
}

fn weekday_name(weekday: Weekday) -> &'static str {
    match weekday {
        Weekday::Mon => "Monday",
        Weekday::Tue => "Tuesday",
        Weekday::Wed => "Wednesday",
        Weekday::Thu => "Thursday",
        Weekday::Fri => "Friday",
        Weekday::Sat => "Saturday",
        Weekday::Sun => "Sunday",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    /// Tuesday 2026-03-10 at `hour`:`minute`.
    fn tuesday(hour: u32, minute: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 3, 10)
            .unwrap()
            .and_hms_opt(hour, minute, 0)
            .unwrap()
    }

    /// A promotion that scores nothing: no commits, all well, Tuesday 10:00.
    fn quiet() -> RiskInput {
        RiskInput {
            commits: 0,
            breaking_changes: 0,
            change_kind: None,
            recent_outcomes: vec![true; 10],
            required_evidence_missing: 0,
            evidence_failing: 0,
            soak: Some(Duration::days(3)),
            local_time: tuesday(10, 0),
            production: true,
        }
    }

    fn only(input: &RiskInput) -> RiskFactor {
        let assessment = assess(input);
        assert_eq!(assessment.factors.len(), 1, "{assessment:?}");
        assert_eq!(assessment.score, assessment.factors[0].points);
        assessment.factors[0].clone()
    }

    #[test]
    fn a_quiet_promotion_scores_nothing() {
        let assessment = assess(&quiet());
        assert_eq!(assessment.score, 0);
        assert_eq!(assessment.level, RiskLevel::Low);
        assert!(assessment.factors.is_empty());
    }

    #[test]
    fn change_size_grows_with_each_doubling() {
        let points = |commits| assess(&RiskInput { commits, ..quiet() }).score;
        assert_eq!(points(1), 4);
        assert_eq!(points(2), 8);
        assert_eq!(points(3), 8);
        assert_eq!(points(4), 12);
        assert_eq!(points(31), 20);
        assert_eq!(points(32), 24);
        assert_eq!(points(10_000), 24);
        let factor = only(&RiskInput {
            commits: 12,
            ..quiet()
        });
        assert_eq!(factor.code, "change-size");
        assert_eq!(factor.description, "12 commits in the change");
    }

    #[test]
    fn breaking_changes_weigh_heavily() {
        let factor = only(&RiskInput {
            breaking_changes: 1,
            ..quiet()
        });
        assert_eq!(
            (factor.code.as_str(), factor.points),
            ("breaking-changes", 15)
        );
        assert_eq!(factor.description, "1 breaking change in the change");
        let factor = only(&RiskInput {
            breaking_changes: 7,
            ..quiet()
        });
        assert_eq!(factor.points, 30);
    }

    #[test]
    fn only_emergency_changes_add_risk() {
        let factor = only(&RiskInput {
            change_kind: Some(ChangeKind::Emergency),
            ..quiet()
        });
        assert_eq!((factor.code.as_str(), factor.points), ("emergency", 20));
        for kind in [ChangeKind::Standard, ChangeKind::Normal] {
            let input = RiskInput {
                change_kind: Some(kind),
                ..quiet()
            };
            assert_eq!(assess(&input).score, 0);
        }
    }

    #[test]
    fn failure_rate_over_the_last_ten() {
        let mut outcomes = vec![true; 10];
        outcomes[0] = false;
        outcomes[4] = false;
        outcomes[9] = false;
        let factor = only(&RiskInput {
            recent_outcomes: outcomes.clone(),
            ..quiet()
        });
        assert_eq!((factor.code.as_str(), factor.points), ("failure-rate", 9));
        assert_eq!(
            factor.description,
            "3 of the service's last 10 deployments failed (30%)"
        );
        // Older deployments than the tenth are not weighed.
        outcomes.extend([false; 5]);
        assert_eq!(
            only(&RiskInput {
                recent_outcomes: outcomes,
                ..quiet()
            })
            .points,
            9
        );
        // Every one of them failed: the whole 30.
        assert_eq!(
            only(&RiskInput {
                recent_outcomes: vec![false; 10],
                ..quiet()
            })
            .points,
            30
        );
        // A young service: one failure in two counts as one in five.
        let factor = only(&RiskInput {
            recent_outcomes: vec![false, true],
            ..quiet()
        });
        assert_eq!(factor.points, 6);
        assert_eq!(
            factor.description,
            "1 of the service's last 2 deployments failed (50%)"
        );
        // No history at all is no evidence of failure.
        assert_eq!(
            assess(&RiskInput {
                recent_outcomes: vec![],
                ..quiet()
            })
            .score,
            0
        );
    }

    #[test]
    fn missing_and_failing_evidence() {
        let factor = only(&RiskInput {
            required_evidence_missing: 1,
            ..quiet()
        });
        assert_eq!(
            (factor.code.as_str(), factor.points),
            ("missing-evidence", 10)
        );
        assert_eq!(
            factor.description,
            "1 required evidence suite without a result"
        );
        assert_eq!(
            only(&RiskInput {
                required_evidence_missing: 5,
                ..quiet()
            })
            .points,
            20
        );
        let factor = only(&RiskInput {
            evidence_failing: 2,
            ..quiet()
        });
        assert_eq!(
            (factor.code.as_str(), factor.points),
            ("failing-evidence", 30)
        );
        assert_eq!(factor.description, "2 required evidence suites failing");
    }

    #[test]
    fn short_soak_counts_in_production() {
        let factor = only(&RiskInput {
            soak: Some(Duration::minutes(35)),
            ..quiet()
        });
        assert_eq!((factor.code.as_str(), factor.points), ("short-soak", 15));
        assert_eq!(
            factor.description,
            "only 35 minutes since success in the previous phase (under 1 hour)"
        );
        let factor = only(&RiskInput {
            soak: Some(Duration::minutes(5 * 60 + 30)),
            ..quiet()
        });
        assert_eq!(factor.points, 8);
        assert_eq!(
            factor.description,
            "only 5 h 30 min since success in the previous phase (under 24 hours)"
        );
        let at_once = only(&RiskInput {
            soak: Some(Duration::seconds(20)),
            ..quiet()
        });
        assert_eq!(
            at_once.description,
            "only less than a minute since success in the previous phase (under 1 hour)"
        );
        for soak in [None, Some(Duration::hours(24))] {
            assert_eq!(assess(&RiskInput { soak, ..quiet() }).score, 0);
        }
        let staging = RiskInput {
            soak: Some(Duration::minutes(1)),
            production: false,
            ..quiet()
        };
        assert_eq!(assess(&staging).score, 0);
    }

    #[test]
    fn late_in_the_day_and_early_in_the_morning() {
        for (hour, minute) in [(16, 0), (23, 59), (0, 0), (8, 59)] {
            let factor = only(&RiskInput {
                local_time: tuesday(hour, minute),
                ..quiet()
            });
            assert_eq!((factor.code.as_str(), factor.points), ("late-in-day", 10));
        }
        for (hour, minute) in [(9, 0), (15, 59)] {
            let input = RiskInput {
                local_time: tuesday(hour, minute),
                ..quiet()
            };
            assert_eq!(assess(&input).score, 0, "{hour}:{minute}");
        }
        let factor = only(&RiskInput {
            local_time: tuesday(17, 30),
            production: false,
            ..quiet()
        });
        assert_eq!(factor.points, 5);
        assert!(factor.description.starts_with("local time 17:30"));
    }

    #[test]
    fn before_the_weekend() {
        let at = |day, hour| {
            NaiveDate::from_ymd_opt(2026, 3, day)
                .unwrap()
                .and_hms_opt(hour, 0, 0)
                .unwrap()
        };
        // 2026-03-13 is a Friday.
        let factor = only(&RiskInput {
            local_time: at(13, 12),
            ..quiet()
        });
        assert_eq!(
            (factor.code.as_str(), factor.points),
            ("before-weekend", 15)
        );
        assert_eq!(
            factor.description,
            "Friday 12:00 is on Friday afternoon, before the weekend"
        );
        assert_eq!(
            assess(&RiskInput {
                local_time: at(13, 11),
                ..quiet()
            })
            .score,
            0
        );
        for day in [14, 15] {
            let factor = only(&RiskInput {
                local_time: at(day, 10),
                production: false,
                ..quiet()
            });
            assert_eq!((factor.code.as_str(), factor.points), ("before-weekend", 5));
        }
        // Friday evening is both late and before the weekend.
        let codes: Vec<String> = assess(&RiskInput {
            local_time: at(13, 18),
            ..quiet()
        })
        .factors
        .into_iter()
        .map(|factor| factor.code)
        .collect();
        assert_eq!(codes, ["before-weekend", "late-in-day"]);
    }

    #[test]
    fn the_score_is_capped_and_factors_come_largest_first() {
        let input = RiskInput {
            commits: 1_000,
            breaking_changes: 3,
            change_kind: Some(ChangeKind::Emergency),
            recent_outcomes: vec![false; 10],
            required_evidence_missing: 2,
            evidence_failing: 2,
            soak: Some(Duration::minutes(1)),
            local_time: NaiveDate::from_ymd_opt(2026, 3, 13)
                .unwrap()
                .and_hms_opt(17, 0, 0)
                .unwrap(),
            production: true,
        };
        let assessment = assess(&input);
        assert_eq!(assessment.score, 100);
        assert_eq!(assessment.level, RiskLevel::Critical);
        assert_eq!(assessment.factors.len(), 9);
        let points: Vec<u32> = assessment.factors.iter().map(|f| f.points).collect();
        let mut sorted = points.clone();
        sorted.sort_by(|a, b| b.cmp(a));
        assert_eq!(points, sorted);
        assert_eq!(points.iter().sum::<u32>(), 194);
    }

    #[test]
    fn level_thresholds() {
        for (score, level) in [
            (0, RiskLevel::Low),
            (24, RiskLevel::Low),
            (25, RiskLevel::Medium),
            (49, RiskLevel::Medium),
            (50, RiskLevel::High),
            (74, RiskLevel::High),
            (75, RiskLevel::Critical),
            (100, RiskLevel::Critical),
        ] {
            assert_eq!(RiskLevel::from_score(score), level, "{score}");
        }
        assert!(RiskLevel::Low < RiskLevel::Medium);
        assert!(RiskLevel::High < RiskLevel::Critical);
    }

    #[test]
    fn levels_round_trip_and_unknown_ones_are_named() {
        for level in RiskLevel::ALL {
            assert_eq!(RiskLevel::parse(level.as_str()), Ok(level));
            assert_eq!(
                serde_json::to_string(&level).unwrap(),
                format!("\"{level}\"")
            );
        }
        let error = RiskLevel::parse("severe").unwrap_err();
        assert!(
            error.contains("\"severe\"") && error.contains("low, medium, high, critical"),
            "{error}"
        );
    }
}
