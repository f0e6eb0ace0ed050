//! Properties of the risk score: it only grows with what makes a promotion
//! riskier, and it is always the capped sum of the factors it reports.

use chrono::{Duration, NaiveDate, NaiveDateTime};
use ferry_core::change::ChangeKind;
use ferry_core::risk::{MAX_SCORE, RiskInput, RiskLevel, assess};
use proptest::prelude::*;

fn arb_kind() -> impl Strategy<Value = Option<ChangeKind>> {
    prop_oneof![
        Just(None),
        Just(Some(ChangeKind::Standard)),
        Just(Some(ChangeKind::Normal)),
        Just(Some(ChangeKind::Emergency)),
    ]
}

fn arb_local_time() -> impl Strategy<Value = NaiveDateTime> {
    // Two weeks of minutes from Monday 2026-03-09.
    (0i64..14 * 24 * 60).prop_map(|minutes| {
        NaiveDate::from_ymd_opt(2026, 3, 9)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
            + Duration::minutes(minutes)
    })
}

fn arb_input() -> impl Strategy<Value = RiskInput> {
    (
        0usize..5_000,
        0usize..6,
        arb_kind(),
        prop::collection::vec(any::<bool>(), 0..15),
        0usize..4,
        0usize..4,
        prop::option::of(-60i64..3_000),
        arb_local_time(),
        any::<bool>(),
    )
        .prop_map(
            |(
                commits,
                breaking_changes,
                change_kind,
                recent_outcomes,
                required_evidence_missing,
                evidence_failing,
                soak_minutes,
                local_time,
                production,
            )| RiskInput {
                commits,
                breaking_changes,
                change_kind,
                recent_outcomes,
                required_evidence_missing,
                evidence_failing,
                soak: soak_minutes.map(Duration::minutes),
                local_time,
                production,
            },
        )
}

proptest! {
    #[test]
    fn the_score_is_the_capped_sum_of_the_factors(input in arb_input()) {
        let assessment = assess(&input);
        let sum: u32 = assessment.factors.iter().map(|factor| factor.points).sum();
        prop_assert_eq!(assessment.score, sum.min(MAX_SCORE));
        prop_assert_eq!(assessment.level, RiskLevel::from_score(assessment.score));
        prop_assert!(assessment.factors.iter().all(|factor| factor.points > 0));
        prop_assert!(assessment.factors.windows(2).all(|pair| pair[0].points >= pair[1].points));
        prop_assert_eq!(assess(&input), assessment);
    }

    #[test]
    fn more_commits_never_lower_the_score(input in arb_input(), more in 0usize..10_000) {
        let bigger = RiskInput { commits: input.commits + more, ..input.clone() };
        prop_assert!(assess(&bigger).score >= assess(&input).score);
    }

    #[test]
    fn more_breaking_changes_never_lower_the_score(input in arb_input(), more in 0usize..5) {
        let bigger = RiskInput {
            breaking_changes: input.breaking_changes + more,
            ..input.clone()
        };
        prop_assert!(assess(&bigger).score >= assess(&input).score);
    }

    #[test]
    fn one_more_failure_never_lowers_the_score(input in arb_input(), index in any::<prop::sample::Index>()) {
        prop_assume!(!input.recent_outcomes.is_empty());
        let mut worse = input.clone();
        let at = index.index(worse.recent_outcomes.len());
        worse.recent_outcomes[at] = false;
        prop_assert!(assess(&worse).score >= assess(&input).score);
    }
}
