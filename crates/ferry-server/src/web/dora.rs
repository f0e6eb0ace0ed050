//! The delivery metrics page (`/dora`): the four DORA figures of every
//! service in every environment over the last weeks, each with its band
//! and its definition; for one service, a chart of each figure week by
//! week in each environment, drawn on the server (`super::chart`). The
//! figures are the API's (`crate::dora`).

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{Duration, Utc};
use ferry_core::Name;
use ferry_core::dora::{Band, Distribution, Metrics};
use ferry_core::time::span;
use serde::Deserialize;

use super::chart::{self, Bar};
use super::page::{self, Frame, refusal};
use super::session::Viewer;
use crate::state::AppState;

/// Weeks shown unless the address asks for others.
const WEEKS: u32 = 12;

/// The most weeks a page shows (a year).
const MOST_WEEKS: u32 = 52;

/// What the address asks for.
#[derive(Debug, Default, Deserialize)]
pub struct Shown {
    /// One service, for its charts.
    #[serde(default)]
    service: String,
    /// One environment.
    #[serde(default)]
    env: String,
    /// How many weeks back (12 by default).
    #[serde(default)]
    weeks: String,
}

/// A figure with its band, for a cell of the table.
struct Figure {
    text: String,
    band: &'static str,
}

struct Row {
    service: String,
    environment: String,
    frequency: Figure,
    lead_time: Figure,
    failure_rate: Figure,
    restore: Figure,
    unrestored: usize,
}

/// A chart: its title, shown above it, and its SVG.
struct Chart {
    title: &'static str,
    svg: String,
}

/// A service's charts in one environment.
struct Charts {
    environment: String,
    charts: Vec<Chart>,
}

struct Definition {
    name: String,
    text: String,
}

#[derive(Template)]
#[template(path = "dora.html")]
struct DoraPage {
    frame: Frame,
    service: String,
    env: String,
    weeks: u32,
    services: Vec<String>,
    since: String,
    until: String,
    rows: Vec<Row>,
    charts: Vec<Charts>,
    definitions: Vec<Definition>,
    error: Option<String>,
}

/// `GET /dora`.
pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    shown: Result<Query<Shown>, QueryRejection>,
) -> Response {
    let shown = shown.map(|Query(shown)| shown).unwrap_or_default();
    let mut error = None;
    let weeks = match shown.weeks.trim() {
        "" => WEEKS,
        text => match text.parse::<u32>() {
            Ok(weeks) if (1..=MOST_WEEKS).contains(&weeks) => weeks,
            _ => {
                error = Some(format!(
                    "{text:?} is not a number of weeks: expected 1 to {MOST_WEEKS}; showing {WEEKS}"
                ));
                WEEKS
            }
        },
    };
    let mut named = |field: &str, text: &str| -> Option<Name> {
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        match Name::parse(text) {
            Ok(name) => Some(name),
            Err(problem) => {
                error = Some(format!("{field} {text:?} is not a name: {problem}"));
                None
            }
        }
    };
    let service = named("service", &shown.service);
    let environment = named("environment", &shown.env);
    let until = Utc::now();
    let since = until - Duration::weeks(i64::from(weeks));
    let report =
        match crate::dora::report(&state, service.as_ref(), environment.as_ref(), since, until)
            .await
        {
            Ok(report) => report,
            Err(problem) => return refusal(&viewer, problem),
        };
    let services = match state.store.services().await {
        Ok(services) => services
            .into_iter()
            .map(|s| s.spec.name.to_string())
            .collect(),
        Err(problem) => return refusal(&viewer, problem.into()),
    };
    let mut charts = Vec::new();
    if let Some(service) = &service {
        for item in &report.items {
            let periods = match crate::dora::series(
                &state,
                service,
                &item.environment,
                until,
                Duration::weeks(1),
                weeks,
            )
            .await
            {
                Ok(periods) => periods,
                Err(problem) => return refusal(&viewer, problem),
            };
            charts.push(Charts {
                environment: item.environment.to_string(),
                charts: weekly_charts(&format!("{service}-{}", item.environment), &periods),
            });
        }
    }
    let rows = report
        .items
        .iter()
        .map(|item| {
            row(
                item.service.as_str(),
                item.environment.as_str(),
                &item.metrics,
            )
        })
        .collect();
    let definitions = report
        .definitions
        .into_iter()
        .map(|d| Definition {
            name: d.name,
            text: d.definition,
        })
        .collect();
    page::send(
        StatusCode::OK,
        &DoraPage {
            frame: Frame::of(&viewer),
            service: service.map(|s| s.to_string()).unwrap_or_default(),
            env: environment.map(|e| e.to_string()).unwrap_or_default(),
            weeks,
            services,
            since: since.format("%Y-%m-%d").to_string(),
            until: until.format("%Y-%m-%d").to_string(),
            rows,
            charts,
            definitions,
            error,
        },
    )
}

fn band(band: Option<Band>) -> &'static str {
    band.map_or("none", Band::as_str)
}

fn distribution(d: &Distribution) -> String {
    match (d.p50_seconds, d.p90_seconds) {
        (Some(p50), Some(p90)) => format!(
            "{} (p90 {})",
            span(Duration::seconds(p50)),
            span(Duration::seconds(p90))
        ),
        _ => "—".to_owned(),
    }
}

fn row(service: &str, environment: &str, metrics: &Metrics) -> Row {
    Row {
        service: service.to_owned(),
        environment: environment.to_owned(),
        frequency: Figure {
            text: format!(
                "{} ({:.2} a day)",
                metrics.deployments, metrics.deployments_per_day
            ),
            band: metrics.frequency_band.as_str(),
        },
        lead_time: Figure {
            text: distribution(&metrics.lead_time),
            band: band(metrics.lead_time_band),
        },
        failure_rate: Figure {
            text: match metrics.change_failure_rate {
                Some(rate) => format!(
                    "{:.0} % ({} of {})",
                    rate * 100.0,
                    metrics.failed,
                    metrics.finished
                ),
                None => "—".to_owned(),
            },
            band: band(metrics.change_failure_band),
        },
        restore: Figure {
            text: distribution(&metrics.time_to_restore),
            band: band(metrics.time_to_restore_band),
        },
        unrestored: metrics.unrestored,
    }
}

/// The four charts of one service in one environment, a bar a week.
fn weekly_charts(id: &str, periods: &[crate::dora::Period]) -> Vec<Chart> {
    let label = |period: &crate::dora::Period| period.since.format("%b %d").to_string();
    let hours = |seconds: Option<i64>| seconds.map(|s| s as f64 / 3_600.0);
    let deployments: Vec<Bar> = periods
        .iter()
        .map(|p| Bar {
            label: label(p),
            value: Some(p.metrics.deployments as f64),
            shown: p.metrics.deployments.to_string(),
        })
        .collect();
    let lead: Vec<Bar> = periods
        .iter()
        .map(|p| Bar {
            label: label(p),
            value: hours(p.metrics.lead_time.p50_seconds),
            shown: p
                .metrics
                .lead_time
                .p50_seconds
                .map_or_else(|| "no changes".to_owned(), |s| span(Duration::seconds(s))),
        })
        .collect();
    let failures: Vec<Bar> = periods
        .iter()
        .map(|p| Bar {
            label: label(p),
            value: p.metrics.change_failure_rate.map(|r| r * 100.0),
            shown: p.metrics.change_failure_rate.map_or_else(
                || "none finished".to_owned(),
                |r| format!("{:.0}%", r * 100.0),
            ),
        })
        .collect();
    let restore: Vec<Bar> = periods
        .iter()
        .map(|p| Bar {
            label: label(p),
            value: hours(p.metrics.time_to_restore.p50_seconds),
            shown: p
                .metrics
                .time_to_restore
                .p50_seconds
                .map_or_else(|| "no failures".to_owned(), |s| span(Duration::seconds(s))),
        })
        .collect();
    let chart = |name: &str, title: &'static str, bars: &[Bar]| Chart {
        title,
        svg: chart::bars(&format!("{id}-{name}"), title, bars),
    };
    vec![
        chart(
            "frequency",
            "Successful deployments, week by week",
            &deployments,
        ),
        chart(
            "lead-time",
            "Lead time for changes (median), week by week",
            &lead,
        ),
        chart(
            "failure-rate",
            "Change failure rate, week by week",
            &failures,
        ),
        chart(
            "restore",
            "Time to restore (median), week by week",
            &restore,
        ),
    ]
}
