//! The four DORA metrics of one service in one environment over a period,
//! computed from ferry's own records. Pure: the caller reads the facts.
//!
//! Definitions (each figure carries its own, for people):
//!
//! - **Deployment frequency**: the successful deployments finished in the
//!   period (rollbacks not counted), per day of the period.
//! - **Lead time for changes**: for every commit of a release whose first
//!   success in the environment falls in the period, the time from the
//!   commit to that first success. Every commit is one sample: no median of
//!   daily medians.
//! - **Change failure rate**: of the deployments finished in the period
//!   (rollbacks not counted), the share that failed, were rolled back, or
//!   have an incident counted against them.
//! - **Time to restore**: for every failed or rolled-back deployment
//!   finished in the period, the time from its end to the next success in
//!   the environment (a rollback's success counts); for every incident
//!   opened in the period that is not against such a deployment, the time
//!   from its opening to its resolution. Failures not restored yet are
//!   counted apart.
//!
//! Distributions give the count, the median (p50) and the 90th percentile
//! (p90), by the nearest-rank method over every sample. Each figure gets a
//! performance band after the DORA research's clusters: see [`Band`].

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// A finished deployment, as the metrics see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentFact {
    /// Its id.
    pub id: i64,
    /// The release it deployed.
    pub release_id: i64,
    /// Whether it succeeded (else it failed or was rolled back).
    pub succeeded: bool,
    /// Whether it is a rollback (it restores; it is not counted as a
    /// deployment of its own).
    pub rollback: bool,
    /// When it ended.
    pub finished_at: DateTime<Utc>,
    /// When each commit of its release was made.
    pub commits: Vec<DateTime<Utc>>,
}

/// An incident, as the metrics see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentFact {
    /// When it was opened.
    pub opened_at: DateTime<Utc>,
    /// When it was resolved, if it was.
    pub resolved_at: Option<DateTime<Utc>>,
    /// The deployment it counts against, if one.
    pub deployment: Option<i64>,
}

/// A performance band, after the DORA research's clusters.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Band {
    /// Deploys at least daily; lead time and restore under a day and an
    /// hour; at most 5 % of changes fail.
    Elite,
    /// At least weekly; under a week and a day; at most 10 %.
    High,
    /// At least monthly; under a month and a week; at most 15 %.
    Medium,
    /// Below that.
    Low,
}

/// How many samples, and their median and 90th percentile.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Distribution {
    /// How many samples.
    pub count: usize,
    /// The median, in seconds; `None` without samples.
    pub p50_seconds: Option<i64>,
    /// The 90th percentile, in seconds; `None` without samples.
    pub p90_seconds: Option<i64>,
}

impl Distribution {
    /// The distribution of `samples` (in any order), by nearest rank.
    pub fn of(mut samples: Vec<Duration>) -> Self {
        samples.sort();
        let rank = |percent: usize| -> Option<i64> {
            if samples.is_empty() {
                return None;
            }
            // Nearest rank: the smallest sample with at least `percent` %
            // of the samples at or below it.
            let index = (percent * samples.len()).div_ceil(100).max(1) - 1;
            samples.get(index).map(Duration::num_seconds)
        };
        Self {
            count: samples.len(),
            p50_seconds: rank(50),
            p90_seconds: rank(90),
        }
    }
}

impl Band {
    /// Its name, as the report shows it (`elite`).
    pub fn as_str(self) -> &'static str {
        match self {
            Band::Elite => "elite",
            Band::High => "high",
            Band::Medium => "medium",
            Band::Low => "low",
        }
    }
}

/// The four metrics of one service in one environment over a period.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Successful deployments in the period.
    pub deployments: usize,
    /// Of them, per day of the period.
    pub deployments_per_day: f64,
    /// Its band.
    pub frequency_band: Band,
    /// From each commit to its release's first success there.
    pub lead_time: Distribution,
    /// The lead time's band (by its median); `None` without samples.
    pub lead_time_band: Option<Band>,
    /// Deployments finished in the period (rollbacks not counted).
    pub finished: usize,
    /// Of them, those that failed, were rolled back, or have an incident.
    pub failed: usize,
    /// `failed / finished`; `None` when nothing finished.
    pub change_failure_rate: Option<f64>,
    /// The change failure rate's band; `None` when nothing finished.
    pub change_failure_band: Option<Band>,
    /// From each failure to the next success (or an incident's resolution).
    pub time_to_restore: Distribution,
    /// The time to restore's band (by its median); `None` without samples.
    pub time_to_restore_band: Option<Band>,
    /// Failures not restored yet.
    pub unrestored: usize,
}

/// The definitions, for people, in the order of the figures.
pub const DEFINITIONS: [(&str, &str); 4] = [
    (
        "deployment frequency",
        "successful deployments finished in the period (rollbacks not counted), per day",
    ),
    (
        "lead time for changes",
        "for every commit of a release first succeeding in the environment in the period, the time from the commit to that success; p50 and p90 over every commit",
    ),
    (
        "change failure rate",
        "of the deployments finished in the period (rollbacks not counted), the share that failed, were rolled back or have an incident counted against them",
    ),
    (
        "time to restore",
        "from each failed or rolled-back deployment's end to the next success there (a rollback counts), and from each other incident's opening to its resolution; p50 and p90",
    ),
];

/// The metrics over `start..end` of one service in one environment, from
/// every deployment of it there (earlier ones too: they say which success
/// was a release's first, and restore failures) and its incidents.
pub fn measure(
    deployments: &[DeploymentFact],
    incidents: &[IncidentFact],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Metrics {
    let mut ordered: Vec<&DeploymentFact> = deployments.iter().collect();
    ordered.sort_by_key(|d| (d.finished_at, d.id));
    let within = |at: DateTime<Utc>| start <= at && at < end;

    // Frequency.
    let successes: Vec<&&DeploymentFact> = ordered
        .iter()
        .filter(|d| d.succeeded && !d.rollback && within(d.finished_at))
        .collect();
    let days = ((end - start).num_seconds() as f64 / 86_400.0).max(f64::MIN_POSITIVE);
    let per_day = successes.len() as f64 / days;
    let frequency_band = if per_day >= 1.0 {
        Band::Elite
    } else if per_day >= 1.0 / 7.0 {
        Band::High
    } else if per_day >= 1.0 / 30.0 {
        Band::Medium
    } else {
        Band::Low
    };

    // Lead time: each release's first success.
    let mut seen = std::collections::HashSet::new();
    let mut lead = Vec::new();
    for deployment in &ordered {
        if !deployment.succeeded || deployment.rollback {
            continue;
        }
        if !seen.insert(deployment.release_id) {
            continue;
        }
        if within(deployment.finished_at) {
            lead.extend(
                deployment
                    .commits
                    .iter()
                    .map(|commit| (deployment.finished_at - *commit).max(Duration::zero())),
            );
        }
    }
    let lead_time = Distribution::of(lead);
    let lead_time_band = lead_time.p50_seconds.map(|p50| {
        band_by(
            p50,
            &[Duration::days(1), Duration::weeks(1), Duration::days(30)],
        )
    });

    // Change failure rate.
    let against: std::collections::HashSet<i64> =
        incidents.iter().filter_map(|i| i.deployment).collect();
    let finished: Vec<&&DeploymentFact> = ordered
        .iter()
        .filter(|d| !d.rollback && within(d.finished_at))
        .collect();
    let failed = finished
        .iter()
        .filter(|d| !d.succeeded || against.contains(&d.id))
        .count();
    let change_failure_rate = (!finished.is_empty()).then(|| failed as f64 / finished.len() as f64);
    let change_failure_band = change_failure_rate.map(|rate| {
        if rate <= 0.05 {
            Band::Elite
        } else if rate <= 0.10 {
            Band::High
        } else if rate <= 0.15 {
            Band::Medium
        } else {
            Band::Low
        }
    });

    // Time to restore.
    let mut restore = Vec::new();
    let mut unrestored = 0;
    for failure in ordered
        .iter()
        .filter(|d| !d.succeeded && !d.rollback && within(d.finished_at))
    {
        match ordered
            .iter()
            .find(|d| d.succeeded && d.finished_at >= failure.finished_at && d.id != failure.id)
        {
            Some(next) => restore.push(next.finished_at - failure.finished_at),
            None => unrestored += 1,
        }
    }
    let failed_ids: std::collections::HashSet<i64> = ordered
        .iter()
        .filter(|d| !d.succeeded)
        .map(|d| d.id)
        .collect();
    for incident in incidents
        .iter()
        .filter(|i| within(i.opened_at))
        .filter(|i| i.deployment.is_none_or(|d| !failed_ids.contains(&d)))
    {
        match incident.resolved_at {
            Some(resolved) => restore.push((resolved - incident.opened_at).max(Duration::zero())),
            None => unrestored += 1,
        }
    }
    let time_to_restore = Distribution::of(restore);
    let time_to_restore_band = time_to_restore.p50_seconds.map(|p50| {
        band_by(
            p50,
            &[Duration::hours(1), Duration::days(1), Duration::weeks(1)],
        )
    });

    Metrics {
        deployments: successes.len(),
        deployments_per_day: per_day,
        frequency_band,
        lead_time,
        lead_time_band,
        finished: finished.len(),
        failed,
        change_failure_rate,
        change_failure_band,
        time_to_restore,
        time_to_restore_band,
        unrestored,
    }
}

/// The band of a time under the elite, high and medium limits.
fn band_by(seconds: i64, limits: &[Duration; 3]) -> Band {
    let time = Duration::seconds(seconds);
    if time < limits[0] {
        Band::Elite
    } else if time < limits[1] {
        Band::High
    } else if time < limits[2] {
        Band::Medium
    } else {
        Band::Low
    }
}
