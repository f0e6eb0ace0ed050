//! Each deployment as one trace, exported over OTLP/HTTP (JSON) when the
//! environment names an endpoint (the `otlp` feature).
//!
//! A deployment is driven by many orchestrator passes, requests and agents,
//! perhaps by several replicas, so its trace is not assembled as it runs:
//! when the deployment ends, the process whose write ended it sends the
//! whole trace at once, each span with the times the store kept. The root
//! span runs from the promotion (the deployment's creation) to its end;
//! its children are the promotion itself, the wait before the first job
//! (a window, a freeze, its turn, an agent) and each target's job.
//!
//! Spans are sent as OTLP/HTTP with JSON bodies (`/v1/traces`). The
//! standard variables apply: `OTEL_EXPORTER_OTLP_ENDPOINT` (or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`), `OTEL_EXPORTER_OTLP_HEADERS`,
//! `OTEL_SERVICE_NAME` (default `ferry`), `OTEL_RESOURCE_ATTRIBUTES`,
//! `OTEL_BSP_SCHEDULE_DELAY`.

use std::future::Future;
use std::pin::Pin;
use std::sync::RwLock;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use ferry_core::DeploymentStatus;
use ferry_store::Store;
use ferry_store::deployments::DeploymentRecord;
use ferry_store::jobs::{JobRecord, JobState};
use opentelemetry::trace::{Span, SpanKind, Status, TraceContextExt, Tracer, TracerProvider};
use opentelemetry::{Context, KeyValue};
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{Protocol, SpanExporter, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};

/// The tracer while traces are exported.
static TRACER: RwLock<Option<SdkTracer>> = RwLock::new(None);

/// How long one export may take.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// Starts exporting to `endpoint` (as given, for the log; the exporter
/// reads the variables itself). `None`, logged, when it cannot.
pub(super) fn start(endpoint: &str) -> Option<SdkTracerProvider> {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        tracing::warn!("traces need the server's runtime; none are exported");
        return None;
    };
    let client = match reqwest::Client::builder().timeout(EXPORT_TIMEOUT).build() {
        Ok(client) => client,
        Err(error) => {
            tracing::warn!(%error, "no HTTP client for OTLP; no traces are exported");
            return None;
        }
    };
    // HTTP with JSON bodies, whatever OTEL_EXPORTER_OTLP_PROTOCOL says
    // (protobuf and gRPC are not built in).
    let exporter = SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpJson)
        .with_timeout(EXPORT_TIMEOUT)
        .with_http_client(Sender { client, runtime })
        .build();
    let exporter = match exporter {
        Ok(exporter) => exporter,
        Err(error) => {
            tracing::warn!(%endpoint, %error, "the OTLP exporter cannot be set up; no traces are exported");
            return None;
        }
    };
    let mut resource = Resource::builder();
    if std::env::var_os("OTEL_SERVICE_NAME").is_none() {
        resource = resource.with_service_name("ferry");
    }
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource.build())
        .build();
    let tracer = provider.tracer("ferry");
    if let Ok(mut slot) = TRACER.write() {
        *slot = Some(tracer);
    }
    tracing::info!(%endpoint, "deployments are exported as traces over OTLP/HTTP (JSON)");
    Some(provider)
}

/// Stops exporting: the spans still held are sent first.
pub(super) async fn stop(provider: SdkTracerProvider) {
    if let Ok(mut slot) = TRACER.write() {
        *slot = None;
    }
    // Shutting down waits for the exporter's thread, which may need this
    // runtime to send: never on one of its workers.
    let stopped = tokio::task::spawn_blocking(move || provider.shutdown()).await;
    match stopped {
        Ok(Ok(())) => {}
        Ok(Err(error)) => tracing::warn!(%error, "the last traces may not have been sent"),
        Err(error) => tracing::warn!(%error, "stopping the export of traces failed"),
    }
}

/// Sends the trace of `deployment`, which just ended with `outcome`, when
/// traces are exported. A failed deployment that its rollback restores
/// later is not sent again: the rollback's own trace names it.
pub(super) fn deployment_ended(
    store: &Store,
    deployment: &DeploymentRecord,
    outcome: DeploymentStatus,
) {
    if outcome == DeploymentStatus::RolledBack {
        return;
    }
    let Some(tracer) = TRACER.read().ok().and_then(|tracer| tracer.clone()) else {
        return;
    };
    let ended = Utc::now();
    let (store, deployment) = (store.clone(), deployment.clone());
    tokio::spawn(async move {
        // The jobs say what ran where; without them the trace is the
        // deployment alone.
        let jobs = match store.jobs_with_targets(deployment.id).await {
            Ok(jobs) => jobs,
            Err(error) => {
                tracing::debug!(deployment = deployment.id, %error, "the trace has no jobs");
                Vec::new()
            }
        };
        let named: Vec<(String, &JobRecord)> = jobs
            .iter()
            .map(|(job, target)| (target.clone(), job))
            .collect();
        send(&tracer, &deployment, outcome, ended, &named);
    });
}

/// The trace of one deployment, as spans with the store's times.
fn send(
    tracer: &SdkTracer,
    deployment: &DeploymentRecord,
    outcome: DeploymentStatus,
    ended: DateTime<Utc>,
    jobs: &[(String, &JobRecord)],
) {
    let promoted = deployment.created_at;
    let mut attributes = vec![
        KeyValue::new("ferry.deployment.id", deployment.id),
        KeyValue::new("ferry.service", deployment.service.clone()),
        KeyValue::new("ferry.version", deployment.version.clone()),
        KeyValue::new("ferry.environment", deployment.environment.clone()),
        KeyValue::new("ferry.outcome", outcome.as_str()),
        KeyValue::new("ferry.created_by", deployment.created_by.clone()),
    ];
    if let Some(original) = deployment.rollback_of {
        attributes.push(KeyValue::new("ferry.rollback_of", original));
    }
    if let Some(reason) = &deployment.emergency_reason {
        attributes.push(KeyValue::new("ferry.emergency_reason", reason.clone()));
    }
    let name = format!(
        "deploy {}@{} to {}",
        deployment.service, deployment.version, deployment.environment
    );
    let mut root = tracer
        .span_builder(name)
        .with_kind(SpanKind::Internal)
        .with_start_time(promoted)
        .with_attributes(attributes)
        .start_with_context(tracer, &Context::new());
    match outcome {
        DeploymentStatus::Succeeded => root.set_status(Status::Ok),
        DeploymentStatus::Failed => root.set_status(Status::error(
            deployment
                .reason
                .clone()
                .unwrap_or_else(|| "failed".to_owned()),
        )),
        _ => {}
    }
    let trace = Context::new().with_span(root);

    let mut promotion = tracer
        .span_builder("promotion")
        .with_start_time(promoted)
        .with_attributes([KeyValue::new(
            "ferry.created_by",
            deployment.created_by.clone(),
        )])
        .start_with_context(tracer, &trace);
    promotion.end_with_timestamp(SystemTime::from(promoted));

    let first_job = jobs.iter().map(|(_, job)| job.created_at).min();
    let waited_until = first_job.unwrap_or(ended);
    if waited_until > promoted {
        let mut wait = tracer
            .span_builder("wait")
            .with_start_time(promoted)
            .start_with_context(tracer, &trace);
        if let Some(at) = deployment.scheduled_at {
            wait.set_attribute(KeyValue::new("ferry.scheduled_at", at.to_rfc3339()));
        }
        wait.end_with_timestamp(SystemTime::from(waited_until));
    }

    for (target, job) in jobs {
        let started = job.started_at.unwrap_or(job.created_at).max(job.created_at);
        let mut span = tracer
            .span_builder(format!("{} on {target}", job.kind.as_str()))
            .with_start_time(started)
            .with_attributes([
                KeyValue::new("ferry.target", target.clone()),
                KeyValue::new("ferry.batch", job.batch),
                KeyValue::new("ferry.attempt", job.attempt),
                KeyValue::new("ferry.job.state", job.state.as_str()),
            ])
            .start_with_context(tracer, &trace);
        match job.state {
            JobState::Succeeded => span.set_status(Status::Ok),
            JobState::Failed => span.set_status(Status::error("the job failed")),
            _ => {}
        }
        span.end_with_timestamp(SystemTime::from(job.updated_at.max(started)));
    }
    trace.span().end_with_timestamp(SystemTime::from(ended));
}

/// Sends the exporter's requests with the server's HTTP client, on the
/// server's runtime (the exporter runs on a thread of its own).
#[derive(Debug)]
struct Sender {
    client: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

type Sent<'a> = Pin<Box<dyn Future<Output = Result<Response<Bytes>, HttpError>> + Send + 'a>>;

impl HttpClient for Sender {
    fn send_bytes<'a, 'b>(&'a self, request: Request<Bytes>) -> Sent<'b>
    where
        'a: 'b,
        Self: 'b,
    {
        let client = self.client.clone();
        let sent = self.runtime.spawn(async move {
            let request = reqwest::Request::try_from(request)?;
            let response = client.execute(request).await?;
            let status = response.status();
            let body = response.bytes().await?;
            Ok::<_, HttpError>(Response::builder().status(status).body(body)?)
        });
        Box::pin(async move { sent.await? })
    }
}
