//! The HTTP routes, one module per area, gathered into one router whose
//! OpenAPI document is generated from the handlers' annotations.

mod access;
pub(crate) mod agents;
pub(crate) mod artifacts;
mod audit;
mod calendar;
mod changes;
mod config;
mod deployments;
mod diff;
mod evidence_pack;
mod freezes;
mod gates;
mod health;
mod integrations;
mod locks;
mod logs;
mod metrics;

pub(crate) use calendar::redacted_uri;
pub(crate) use changes::wire as change_wire;
pub(crate) use logs::line as log_line;
mod passwords;
mod plans;
mod releases;
mod reviews;
mod status;
mod trains;
mod variables;
mod webhooks;
mod workload;

use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use ferry_api::Page;
use tower_http::timeout::TimeoutLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "ferry",
        description = "The API of ferry, a self-hosted release manager. Errors are RFC 9457 problem details (application/problem+json) with a stable `type`.",
        license(name = "Apache-2.0")
    ),
    tags(
        (name = "configuration", description = "Environments, lifecycles and services, applied from ferry.toml"),
        (name = "releases", description = "service@version, immutable once created"),
        (name = "deployments", description = "Releases going to environments, and where each version is"),
        (name = "webhooks", description = "Subscriptions to ferry's events, delivered signed (Standard Webhooks) as CloudEvents, as Slack or Teams messages, or by e-mail"),
        (name = "integrations", description = "Callbacks from chat services: Slack's interactivity (approving from a message), authenticated by Slack's request signature"),
        (name = "control", description = "Approvals, evidence, gates, promotion, change requests, freezes and the calendar"),
        (name = "audit", description = "The hash-chained audit trail, and evidence packs for auditors"),
        (name = "access", description = "Users, groups, grants of roles, API tokens and the permission table"),
        (name = "agents", description = "Agents and their tokens, and the endpoints agents call with them: hello, jobs, heartbeats, reports"),
        (name = "health", description = "Liveness and readiness")
    )
)]
struct ApiDoc;

/// Every documented route, listed once.
fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(access::whoami))
        .routes(routes!(access::list_tokens, access::create_token))
        .routes(routes!(access::revoke_token))
        .routes(routes!(access::list_users, access::create_user))
        .routes(routes!(access::disable_user))
        .routes(routes!(access::enable_user))
        .routes(routes!(passwords::set_password))
        .routes(routes!(passwords::invite))
        .routes(routes!(access::list_groups, access::create_group))
        .routes(routes!(access::add_member, access::remove_member))
        .routes(routes!(access::list_grants, access::create_grant))
        .routes(routes!(access::revoke_grant))
        .routes(routes!(access::permissions))
        .routes(routes!(workload::exchange))
        .routes(routes!(config::apply))
        .routes(routes!(config::list_environments))
        .routes(routes!(config::get_environment))
        .routes(routes!(variables::list_variables))
        .routes(routes!(variables::set_variable, variables::unset_variable))
        .routes(routes!(config::list_lifecycles))
        .routes(routes!(config::get_lifecycle))
        .routes(routes!(config::list_services))
        .routes(routes!(config::get_service))
        .routes(routes!(releases::list_releases, releases::create_release))
        .routes(routes!(releases::list_all_releases))
        .routes(routes!(releases::get_release))
        .routes(routes!(releases::abandon_release))
        .routes(routes!(releases::release_notes))
        .routes(routes!(diff::diff))
        .routes(routes!(gates::decide, gates::decisions))
        .routes(routes!(gates::add_evidence, gates::evidence))
        .routes(routes!(gates::check))
        .routes(routes!(gates::promote))
        .routes(routes!(gates::report))
        .routes(routes!(changes::create_change, changes::list_changes))
        .routes(routes!(changes::get_change))
        .routes(routes!(changes::act_on_change))
        .routes(routes!(freezes::list_freezes, freezes::create_freeze))
        .routes(routes!(freezes::delete_freeze))
        .routes(routes!(freezes::calendar))
        .routes(routes!(calendar::ics))
        .routes(routes!(calendar::list_feeds, calendar::create_feed))
        .routes(routes!(calendar::revoke_feed))
        .routes(routes!(locks::list_locks, locks::create_lock))
        .routes(routes!(locks::unlock))
        .routes(routes!(locks::list_marks))
        .routes(routes!(locks::unmark))
        .routes(routes!(plans::get_release_plan, plans::create_release_plan))
        .routes(routes!(plans::get_plan, plans::update_plan))
        .routes(routes!(plans::add_task))
        .routes(routes!(plans::move_task))
        .routes(routes!(plans::add_milestone))
        .routes(routes!(plans::complete_milestone))
        .routes(routes!(metrics::metrics))
        .routes(routes!(metrics::list_incidents, metrics::open_incident))
        .routes(routes!(metrics::resolve_incident))
        .routes(routes!(trains::list_trains, trains::create_train))
        .routes(routes!(trains::get_train))
        .routes(routes!(trains::check_train))
        .routes(routes!(trains::promote_train))
        .routes(routes!(trains::train_plan))
        .routes(routes!(deployments::list_deployments))
        .routes(routes!(deployments::get_deployment))
        .routes(routes!(deployments::cancel_deployment))
        .routes(routes!(deployments::decide_deployment))
        .routes(routes!(deployments::roll_back))
        .routes(routes!(reviews::list_reviews))
        .routes(routes!(reviews::get_review, reviews::complete_review))
        .routes(routes!(logs::deployment_logs))
        .routes(routes!(logs::agent_logs))
        .routes(routes!(status::status))
        .routes(routes!(audit::list_audit))
        .routes(routes!(audit::verify_audit))
        .routes(routes!(audit::export_audit))
        .routes(routes!(evidence_pack::evidence_pack))
        .routes(routes!(webhooks::list_webhooks, webhooks::create_webhook))
        .routes(routes!(webhooks::delete_webhook))
        .routes(routes!(webhooks::list_deliveries))
        .routes(routes!(webhooks::get_delivery))
        .routes(routes!(webhooks::redeliver))
        .routes(routes!(integrations::slack_interactions))
        .routes(routes!(agents::create_agent_token))
        .routes(routes!(agents::list_agents))
        .routes(routes!(agents::revoke_agent))
        .routes(routes!(agents::rotate_agent_token))
        .routes(routes!(agents::hello))
        .routes(routes!(agents::next_job))
        .routes(routes!(agents::start))
        .routes(routes!(agents::heartbeat))
        .routes(routes!(agents::finish))
}

/// The routes that move artifact bytes or stream: no request timeout
/// (uploads of large files take as long as they take, a log is followed
/// until its deployment ends) and their own size limit.
fn artifact_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(artifacts::put_blob, artifacts::head_blob))
        .routes(routes!(artifacts::download_artifact))
        .routes(routes!(agents::download_artifact))
        .routes(routes!(logs::follow_logs))
}

/// The whole application.
pub fn router(state: AppState) -> Router {
    let (router, mut openapi) = api_router().split_for_parts();
    let (artifact_routes, artifact_openapi) = artifact_router().split_for_parts();
    openapi.merge(artifact_openapi);
    crate::openapi::complete(&mut openapi);
    utoipa::Modify::modify(&crate::idempotency::Documentation, &mut openapi);
    let router = router
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .merge(artifact_routes);
    // Shared bytes: the router's handlers are cloned for every connection,
    // and a document owned as a String would be copied each time.
    let document = axum::body::Bytes::from(openapi.to_pretty_json().unwrap_or_default());
    router
        .route(
            "/api/v1/openapi.json",
            axum::routing::get(move |_: crate::auth::Caller| async move {
                (
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    document.clone(),
                )
            }),
        )
        // Prometheus metrics: beside the API, outside its document.
        .route("/metrics", axum::routing::get(crate::telemetry::scrape))
        .merge(crate::web::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::idempotency::layer,
        ))
        .layer(axum::middleware::from_fn(refuse_long_uris))
        // Outermost: times every answer, by its route's template.
        .layer(axum::middleware::from_fn(crate::telemetry::measure))
        .with_state(state)
}

/// The longest request target (path and query) the server reads, in bytes.
/// Longer ones are answered 414 with a problem; past 64 KiB the HTTP layer
/// itself answers 414 before any of this runs (made a problem as it is
/// written: see `connection`).
pub const MAX_URI_BYTES: usize = 8 * 1024;

async fn refuse_long_uris(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let length = request
        .uri()
        .path_and_query()
        .map_or(0, |target| target.as_str().len());
    if length > MAX_URI_BYTES {
        return ApiError::UriTooLong(format!(
            "the request's path and query have {length} bytes where at most {MAX_URI_BYTES} are read; \
             send long values in a JSON body"
        ))
        .into_response();
    }
    next.run(request).await
}

/// The OpenAPI document, for tests and tools.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    let mut openapi = api_router().split_for_parts().1;
    openapi.merge(artifact_router().split_for_parts().1);
    crate::openapi::complete(&mut openapi);
    utoipa::Modify::modify(&crate::idempotency::Documentation, &mut openapi);
    openapi
}

/// The longest a JSON API request may take before it is answered 408.
pub(crate) const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

async fn not_found(uri: axum::http::Uri) -> impl IntoResponse {
    ApiError::NotFound(format!(
        "there is nothing at {}; the API lives under /api/v1 (see /api/v1/openapi.json)",
        uri.path()
    ))
}

async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> impl IntoResponse {
    ApiError::MethodNotAllowed(format!("{} does not accept {method}", uri.path()))
}

/// The limit and cursor of a list request, checked.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Paging {
    pub limit: i64,
    pub before: Option<i64>,
}

impl Paging {
    pub(crate) fn parse(limit: Option<u32>, cursor: Option<&str>) -> Result<Self, ApiError> {
        let limit = match limit {
            None => 100,
            Some(n @ 1..=1000) => i64::from(n),
            Some(n) => {
                return Err(ApiError::BadRequest(format!(
                    "limit must be between 1 and 1000, not {n}"
                )));
            }
        };
        let before = cursor
            .map(|c| {
                c.parse::<i64>().map_err(|_| {
                    ApiError::Unprocessable(format!(
                        "invalid cursor {c:?}: pass the next_cursor of the previous page"
                    ))
                })
            })
            .transpose()?;
        Ok(Self { limit, before })
    }

    /// One more than the limit is fetched, to know whether a next page exists.
    pub(crate) fn fetch(&self) -> i64 {
        self.limit + 1
    }

    /// Cuts the extra item and sets the cursor from the last kept one.
    pub(crate) fn page<T>(&self, mut items: Vec<T>, cursor: impl Fn(&T) -> i64) -> Page<T> {
        let more = items.len() as i64 > self.limit;
        items.truncate(self.limit as usize);
        let next_cursor = if more {
            items.last().map(|item| cursor(item).to_string())
        } else {
            None
        };
        Page { items, next_cursor }
    }
}

/// A list that is not paginated (it is small), as a single page.
pub(crate) fn whole<T>(items: Vec<T>) -> Page<T> {
    Page {
        items,
        next_cursor: None,
    }
}
