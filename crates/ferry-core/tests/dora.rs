//! The DORA metrics on a seeded history, asserted exactly, and their edge
//! cases: no deployments, only failures, an incident opened before its fix.

use chrono::{DateTime, Duration, TimeZone, Utc};
use ferry_core::dora::{Band, DeploymentFact, Distribution, IncidentFact, measure};

fn at(day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, day, hour, minute, 0).unwrap()
}

fn deployment(
    id: i64,
    release: i64,
    succeeded: bool,
    finished: DateTime<Utc>,
    commits: &[DateTime<Utc>],
) -> DeploymentFact {
    DeploymentFact {
        id,
        release_id: release,
        succeeded,
        rollback: false,
        finished_at: finished,
        commits: commits.to_vec(),
    }
}

/// Ten days, from 2026-01-01 to 2026-01-11.
fn period() -> (DateTime<Utc>, DateTime<Utc>) {
    (at(1, 0, 0), at(11, 0, 0))
}

const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;

#[test]
fn a_seeded_history_gives_exactly_these_figures() {
    let before = Utc.with_ymd_and_hms(2025, 12, 30, 0, 0, 0).unwrap();
    let deployments = vec![
        // Before the period: release 1's first success.
        deployment(1, 1, true, before, &[before - Duration::days(1)]),
        // Release 2, first success: commits 24 h and 6 h before.
        deployment(2, 2, true, at(2, 12, 0), &[at(1, 12, 0), at(2, 6, 0)]),
        // Release 3 fails; the rollback restores it 30 minutes later.
        deployment(3, 3, false, at(3, 10, 0), &[at(3, 0, 0)]),
        DeploymentFact {
            rollback: true,
            ..deployment(4, 2, true, at(3, 10, 30), &[])
        },
        // Release 4, first success 24 h after its commit.
        deployment(5, 4, true, at(5, 0, 0), &[at(4, 0, 0)]),
        // Release 2 again: not its first success, no lead time.
        deployment(6, 2, true, at(6, 0, 0), &[at(1, 12, 0), at(2, 6, 0)]),
    ];
    let incidents = vec![
        // Against deployment 6, resolved in two hours.
        IncidentFact {
            opened_at: at(7, 0, 0),
            resolved_at: Some(at(7, 2, 0)),
            deployment: Some(6),
        },
        // Open still.
        IncidentFact {
            opened_at: at(8, 0, 0),
            resolved_at: None,
            deployment: None,
        },
    ];
    let (start, end) = period();
    let metrics = measure(&deployments, &incidents, start, end);

    assert_eq!(metrics.deployments, 3, "2, 5 and 6; not the rollback");
    assert!((metrics.deployments_per_day - 0.3).abs() < 1e-9);
    assert_eq!(metrics.frequency_band, Band::High);

    assert_eq!(
        metrics.lead_time,
        Distribution {
            count: 3,
            p50_seconds: Some(DAY),
            p90_seconds: Some(DAY)
        }
    );
    assert_eq!(
        metrics.lead_time_band,
        Some(Band::High),
        "a median of exactly a day is not under a day"
    );

    assert_eq!(
        (metrics.finished, metrics.failed),
        (4, 2),
        "3 failed, 6 has an incident"
    );
    assert_eq!(metrics.change_failure_rate, Some(0.5));
    assert_eq!(metrics.change_failure_band, Some(Band::Low));

    assert_eq!(
        metrics.time_to_restore,
        Distribution {
            count: 2,
            p50_seconds: Some(30 * 60),
            p90_seconds: Some(2 * HOUR)
        }
    );
    assert_eq!(metrics.time_to_restore_band, Some(Band::Elite));
    assert_eq!(metrics.unrestored, 1, "the incident still open");
}

#[test]
fn no_deployments_gives_nothing_to_measure() {
    let (start, end) = period();
    let metrics = measure(&[], &[], start, end);
    assert_eq!(metrics.deployments, 0);
    assert_eq!(metrics.deployments_per_day, 0.0);
    assert_eq!(metrics.frequency_band, Band::Low);
    assert_eq!(
        metrics.lead_time,
        Distribution {
            count: 0,
            p50_seconds: None,
            p90_seconds: None
        }
    );
    assert_eq!(metrics.lead_time_band, None);
    assert_eq!(metrics.change_failure_rate, None, "no denominator, no rate");
    assert_eq!(metrics.change_failure_band, None);
    assert_eq!(metrics.time_to_restore.count, 0);
    assert_eq!(metrics.unrestored, 0);
}

#[test]
fn only_failures_fail_every_change_and_restore_nothing() {
    let (start, end) = period();
    let deployments = vec![
        deployment(1, 1, false, at(2, 0, 0), &[at(1, 0, 0)]),
        deployment(2, 2, false, at(3, 0, 0), &[at(2, 0, 0)]),
    ];
    let metrics = measure(&deployments, &[], start, end);
    assert_eq!(metrics.deployments, 0);
    assert_eq!(
        metrics.lead_time.count, 0,
        "nothing reached the environment"
    );
    assert_eq!(metrics.change_failure_rate, Some(1.0));
    assert_eq!(metrics.change_failure_band, Some(Band::Low));
    assert_eq!(metrics.time_to_restore.count, 0);
    assert_eq!(metrics.time_to_restore_band, None);
    assert_eq!(metrics.unrestored, 2);
}

#[test]
fn an_incident_opened_before_its_fix_restores_when_it_is_resolved() {
    let (start, end) = period();
    // The incident is opened at midnight; the fix is deployed at 05:00 and
    // the incident resolved with it.
    let deployments = vec![deployment(1, 1, true, at(2, 5, 0), &[at(2, 4, 0)])];
    let incidents = vec![IncidentFact {
        opened_at: at(2, 0, 0),
        resolved_at: Some(at(2, 5, 0)),
        deployment: None,
    }];
    let metrics = measure(&deployments, &incidents, start, end);
    assert_eq!(
        metrics.time_to_restore,
        Distribution {
            count: 1,
            p50_seconds: Some(5 * HOUR),
            p90_seconds: Some(5 * HOUR)
        }
    );
    assert_eq!(metrics.time_to_restore_band, Some(Band::High));
    assert_eq!(
        metrics.change_failure_rate,
        Some(0.0),
        "the fix itself did not fail"
    );
    assert_eq!(metrics.lead_time.p50_seconds, Some(HOUR));
    assert_eq!(metrics.lead_time_band, Some(Band::Elite));
}

#[test]
fn percentiles_are_nearest_rank_over_every_sample() {
    let samples: Vec<Duration> = (1..=10).map(Duration::seconds).collect();
    assert_eq!(
        Distribution::of(samples),
        Distribution {
            count: 10,
            p50_seconds: Some(5),
            p90_seconds: Some(9)
        }
    );
    assert_eq!(
        Distribution::of(vec![Duration::seconds(7)]),
        Distribution {
            count: 1,
            p50_seconds: Some(7),
            p90_seconds: Some(7)
        }
    );
}
