//! Operational metrics in the Prometheus text format, served at `GET
//! /metrics` (an API token that may read is needed: the labels name
//! services and environments).
//!
//! Each fact is counted once, where it happens: a deployment's end where
//! the guarded write that ends it succeeded (the orchestrator, a
//! cancellation, a decision, a report by another tool), a gate's block
//! where a promotion is refused or held, a request's latency in one layer
//! around every route. The gauges are read from the store when scraped, so
//! every replica shows the same database-wide figure.
//!
//! The figures of one process are kept by the `metrics` facade's global
//! recorder (`metrics-exporter-prometheus`, without its own listener),
//! installed the first time anything is counted or scraped. The metrics,
//! their labels and meaning are listed in `docs/operations.md`.
//!
//! Built with the `otlp` feature, the place that counts a deployment's end
//! also sends the deployment's trace over OTLP/HTTP ([`Traces`], `otlp`).

use std::collections::BTreeSet;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use ferry_core::DeploymentStatus;
use ferry_core::gates::Finding;
use ferry_store::Store;
use ferry_store::deployments::DeploymentRecord;
use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::authorize::Reader;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Deployments that ended, by service, environment and outcome.
pub const DEPLOYMENTS: &str = "ferry_deployments_total";
/// From a deployment's creation (or its scheduled time) to its end.
pub const DEPLOYMENT_DURATION: &str = "ferry_deployment_duration_seconds";
/// Promotions refused or held by a gate, by the blocker's code.
pub const GATE_BLOCKS: &str = "ferry_gate_blocks_total";
/// Deployments queued or waiting.
pub const QUEUE_DEPTH: &str = "ferry_deployment_queue_depth";
/// Agents heard from recently.
pub const AGENTS_CONNECTED: &str = "ferry_agents_connected";
/// Webhook deliveries, by outcome.
pub const WEBHOOK_DELIVERIES: &str = "ferry_webhook_deliveries_total";
/// HTTP requests' latency, by method, route template and status.
pub const HTTP_REQUEST_DURATION: &str = "ferry_http_request_duration_seconds";

/// The outcomes of a webhook delivery, shown at 0 before the first one.
pub const WEBHOOK_OUTCOMES: [&str; 2] = ["delivered", "failed"];

/// The `route` label of a request that matched no route (never its path:
/// anyone may send any path).
pub const UNMATCHED: &str = "unmatched";

/// Bucket bounds of request latencies, in seconds (an API request times
/// out at 60).
const HTTP_BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0,
];

/// Bucket bounds of deployment durations, in seconds: from a second (one
/// reported by another tool) to a day (a deployment waiting for a window or
/// a person takes that long).
const DEPLOYMENT_BUCKETS: [f64; 15] = [
    1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1_200.0, 1_800.0, 3_600.0, 7_200.0, 14_400.0,
    43_200.0, 86_400.0,
];

/// How often histogram samples are folded into their buckets when nobody
/// scrapes (they are held until then).
const UPKEEP: Duration = Duration::from_secs(5);

/// The agents counted as connected were heard from this recently: the
/// orchestrator gives work only to them.
const CONNECTED: chrono::Duration = crate::orchestrator::AGENT_GONE;

static EXPORTER: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

#[cfg(feature = "otlp")]
mod otlp;

/// The export of traces over OTLP, while the server runs: started by
/// [`Traces::start`] when `OTEL_EXPORTER_OTLP_ENDPOINT` (or
/// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, stopped (the spans still
/// held sent) by [`Traces::stop`].
#[derive(Debug)]
pub struct Traces {
    #[cfg(feature = "otlp")]
    provider: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

impl Traces {
    /// Starts exporting each deployment as a trace when the environment
    /// names an OTLP endpoint. A ferry built without the `otlp` feature says
    /// in its log that it cannot.
    pub fn start() -> Self {
        let endpoint = [
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "OTEL_EXPORTER_OTLP_ENDPOINT",
        ]
        .into_iter()
        .find_map(|name| {
            std::env::var(name)
                .ok()
                .filter(|value| !value.trim().is_empty())
        });
        #[cfg(feature = "otlp")]
        {
            Self {
                provider: endpoint.and_then(|endpoint| otlp::start(&endpoint)),
            }
        }
        #[cfg(not(feature = "otlp"))]
        {
            if let Some(endpoint) = endpoint {
                tracing::warn!(
                    %endpoint,
                    "OTEL_EXPORTER_OTLP_ENDPOINT is set, but this ferry was built without the \
                     `otlp` feature: no traces are exported (build with `--features otlp`)"
                );
            }
            Self {}
        }
    }

    /// Sends the spans still held and stops exporting.
    pub async fn stop(self) {
        #[cfg(feature = "otlp")]
        if let Some(provider) = self.provider {
            otlp::stop(provider).await;
        }
    }
}

/// The exporter, installed as the global recorder the first time; `None`
/// when another recorder was installed first (nothing is then served).
fn exporter() -> Option<&'static PrometheusHandle> {
    EXPORTER.get_or_init(install).as_ref()
}

fn install() -> Option<PrometheusHandle> {
    let built = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full(HTTP_REQUEST_DURATION.to_owned()),
            &HTTP_BUCKETS,
        )
        .and_then(|builder| {
            builder.set_buckets_for_metric(
                Matcher::Full(DEPLOYMENT_DURATION.to_owned()),
                &DEPLOYMENT_BUCKETS,
            )
        });
    let builder = match built {
        Ok(builder) => builder,
        Err(error) => {
            tracing::warn!(%error, "the metrics exporter cannot be set up; /metrics stays empty");
            return None;
        }
    };
    let recorder = builder.build_recorder();
    let handle = recorder.handle();
    if let Err(error) = metrics::set_global_recorder(recorder) {
        tracing::warn!(%error, "another metrics recorder is installed; /metrics stays empty");
        return None;
    }
    describe();
    // Series shown at 0 before their first event, so that rates and alerts
    // work from the start.
    for code in ferry_core::gates::code::BLOCKERS {
        counter!(GATE_BLOCKS, "code" => code).absolute(0);
    }
    for outcome in WEBHOOK_OUTCOMES {
        counter!(WEBHOOK_DELIVERIES, "outcome" => outcome).absolute(0);
    }
    gauge!(QUEUE_DEPTH).set(0.0);
    gauge!(AGENTS_CONNECTED).set(0.0);
    Some(handle)
}

fn describe() {
    describe_counter!(
        DEPLOYMENTS,
        "Deployments that ended, by service, environment and outcome (succeeded, failed, \
         rolled_back, cancelled); a failed deployment later restored by its rollback counts \
         again as rolled_back"
    );
    describe_histogram!(
        DEPLOYMENT_DURATION,
        metrics::Unit::Seconds,
        "Seconds from a deployment's creation (or its scheduled time, when later) to its end, \
         by environment and outcome"
    );
    describe_counter!(
        GATE_BLOCKS,
        "Promotions refused or held by a gate, by the blocker's code (each code once per \
         promotion)"
    );
    describe_gauge!(
        QUEUE_DEPTH,
        "Deployments queued or waiting (for their time, a window, a freeze, their turn, an \
         agent or a person), read from the database when scraped"
    );
    describe_gauge!(
        AGENTS_CONNECTED,
        "Agents, not revoked, heard from in the last 3 minutes, read from the database when \
         scraped"
    );
    describe_counter!(WEBHOOK_DELIVERIES, "Webhook deliveries, by outcome");
    describe_histogram!(
        HTTP_REQUEST_DURATION,
        metrics::Unit::Seconds,
        "Seconds from a request's arrival to its response's head, by method, route template \
         and status"
    );
}

/// Folds histogram samples into their buckets every few seconds, until the
/// task is dropped: the exporter holds them until then, and a server nobody
/// scrapes would hold them all.
pub async fn upkeep() {
    let Some(exporter) = exporter() else {
        return;
    };
    let mut every = tokio::time::interval(UPKEEP);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        exporter.run_upkeep();
    }
}

/// Counts deployment `deployment` as ended with `outcome`, now, and (with
/// the `otlp` feature, when traces are exported) sends its trace, read
/// from `store`. Called once per deployment and outcome: where the write
/// that ended it changed the row.
pub(crate) fn deployment_ended(
    store: &Store,
    deployment: &DeploymentRecord,
    outcome: DeploymentStatus,
) {
    #[cfg(feature = "otlp")]
    otlp::deployment_ended(store, deployment, outcome);
    #[cfg(not(feature = "otlp"))]
    let _ = store;
    if exporter().is_none() {
        return;
    }
    let began = deployment
        .scheduled_at
        .map_or(deployment.created_at, |at| at.max(deployment.created_at));
    let seconds = (Utc::now() - began)
        .to_std()
        .map_or(0.0, |took| took.as_secs_f64());
    counter!(
        DEPLOYMENTS,
        "service" => deployment.service.clone(),
        "environment" => deployment.environment.clone(),
        "outcome" => outcome.as_str()
    )
    .increment(1);
    histogram!(
        DEPLOYMENT_DURATION,
        "environment" => deployment.environment.clone(),
        "outcome" => outcome.as_str()
    )
    .record(seconds);
}

/// Counts a promotion refused or held by `blockers`: each code once.
pub(crate) fn gate_blocked(blockers: &[Finding]) {
    if exporter().is_none() {
        return;
    }
    let codes: BTreeSet<&str> = blockers.iter().map(|b| b.code.as_str()).collect();
    for code in codes {
        counter!(GATE_BLOCKS, "code" => code.to_owned()).increment(1);
    }
}

/// Counts one webhook delivery with `outcome`: `delivered` or `failed`
/// (see [`WEBHOOK_OUTCOMES`]; keep to a few fixed words, never a URL or an
/// error's text, as each value is a series of its own).
pub fn webhook_delivery(outcome: &str) {
    if exporter().is_none() {
        return;
    }
    counter!(WEBHOOK_DELIVERIES, "outcome" => outcome.to_owned()).increment(1);
}

/// The middleware that times every request, labelled by its route's
/// template (`/api/v1/deployments/{id}`, never the path sent).
pub async fn measure(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| UNMATCHED.to_owned(), |path| path.as_str().to_owned());
    let response = next.run(request).await;
    if exporter().is_some() {
        histogram!(
            HTTP_REQUEST_DURATION,
            "method" => method,
            "route" => route,
            "status" => response.status().as_str().to_owned()
        )
        .record(started.elapsed().as_secs_f64());
    }
    response
}

/// The standard methods by name; any other is `other` (a client may send
/// any token as a method).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// `GET /metrics`: the metrics in the Prometheus text format (0.0.4), the
/// gauges read from the store now. Needs a token that may read.
pub async fn scrape(State(state): State<AppState>, _reader: Reader) -> ApiResult<Response> {
    let exporter = exporter().ok_or_else(|| {
        ApiError::Internal(
            "the metrics exporter could not be installed (see the server's log)".to_owned(),
        )
    })?;
    let since = Utc::now() - CONNECTED;
    let (queued, connected) = tokio::try_join!(
        state.store.deployments_queued(),
        state.store.agents_seen_since(since)
    )?;
    gauge!(QUEUE_DEPTH).set(queued as f64);
    gauge!(AGENTS_CONNECTED).set(connected as f64);
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        exporter.render(),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(code: &str) -> Finding {
        Finding {
            code: code.to_owned(),
            message: String::new(),
            clear: String::new(),
        }
    }

    fn sample(rendered: &str, series: &str) -> Option<f64> {
        rendered
            .lines()
            .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
    }

    #[test]
    fn series_start_at_zero_and_a_code_counts_once_per_promotion() {
        let rendered = exporter().expect("installed").render();
        assert_eq!(
            sample(&rendered, "ferry_gate_blocks_total{code=\"locked\"}"),
            Some(0.0),
            "{rendered}"
        );
        assert_eq!(
            sample(
                &rendered,
                "ferry_webhook_deliveries_total{outcome=\"delivered\"}"
            ),
            Some(0.0)
        );
        gate_blocked(&[
            finding("evidence-missing"),
            finding("evidence-missing"),
            finding("frozen"),
        ]);
        let rendered = exporter().expect("installed").render();
        assert_eq!(
            sample(
                &rendered,
                "ferry_gate_blocks_total{code=\"evidence-missing\"}"
            ),
            Some(1.0),
            "{rendered}"
        );
        assert_eq!(
            sample(&rendered, "ferry_gate_blocks_total{code=\"frozen\"}"),
            Some(1.0)
        );
    }

    #[test]
    fn unusual_methods_are_one_label() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(
            method_label(&Method::from_bytes(b"BREW").expect("a method")),
            "other"
        );
    }
}
