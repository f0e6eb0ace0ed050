//! Approvals, evidence, `check`, `promote`, and reports of deployments run
//! by other tools.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use ferry_api::{
    AddEvidence, Check, Decide, Decision, Deployment, Evidence, Page, Problem, Promote,
    ReportDeployment,
};
use ferry_store::evidence::NewEvidence;
use serde::Deserialize;

use crate::auth::Caller;
use crate::authorize;
use crate::authorize::Reader;
use crate::control::{self, Promotion, judge};
use crate::convert::{self, name, version};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path, Query};
use crate::promotion::{self, Promoted};
use crate::routes::whole;
use crate::state::AppState;
use ferry_core::access::Action;
use ferry_core::limits;

/// Which environment.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EnvironmentQuery {
    /// The environment.
    environment: ferry_core::Name,
    /// For `check`: judge as an emergency promotion with this justification.
    #[serde(default)]
    emergency_reason: Option<String>,
}

/// Approves or rejects a release for an environment. A user's new decision
/// replaces their earlier one. Refused for the release's creator and its
/// commits' authors when the policy keeps separation of duties, and for
/// users the policy does not list as approvers.
#[utoipa::path(post, path = "/api/v1/services/{service}/releases/{version}/decisions", tag = "control", security(("bearer" = [])),
    params(("service" = ferry_core::Name, Path, description = "The service's name"), ("version" = crate::openapi::Version, Path, description = "The version")),
    request_body = Decide,
    responses(
        (status = 201, body = Decision),
        (status = 403, description = "Self-approval, or not an approver", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")
    ))]
pub async fn decide(
    State(state): State<AppState>,
    caller: Caller,
    Path((service, text)): Path<(String, String)>,
    Json(request): Json<Decide>,
) -> ApiResult<(StatusCode, axum::Json<Decision>)> {
    let service = name("service", &service)?;
    let version = version(&text)?;
    let decision = promotion::Decide {
        service: &service,
        version: &version,
        environment: &request.environment,
        approve: request.approve,
        comment: &request.comment,
    };
    let record = promotion::decide(&state, &caller, decision).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(Decision {
            user: record.user,
            approve: record.approve,
            comment: record.comment,
            at: record.at,
        }),
    ))
}

/// The decisions on a release for an environment.
#[utoipa::path(get, path = "/api/v1/services/{service}/releases/{version}/decisions", tag = "control", security(("bearer" = [])),
    params(("service" = ferry_core::Name, Path, description = "The service's name"), ("version" = crate::openapi::Version, Path, description = "The version"), EnvironmentQuery),
    responses((status = 200, body = Page<Decision>), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn decisions(
    State(state): State<AppState>,
    _reader: Reader,
    Path((service, text)): Path<(String, String)>,
    Query(query): Query<EnvironmentQuery>,
) -> ApiResult<axum::Json<Page<Decision>>> {
    let (release_id, environment_id) = state
        .store
        .release_environment_ids(
            &name("service", &service)?,
            &version(&text)?,
            &query.environment,
        )
        .await?;
    let items = state
        .store
        .decisions(release_id, environment_id)
        .await?
        .into_iter()
        .map(|d| Decision {
            user: d.user,
            approve: d.approve,
            comment: d.comment,
            at: d.at,
        })
        .collect();
    Ok(axum::Json(whole(items)))
}

/// Records evidence: a parsed JUnit report, or a named check that passed or failed.
#[utoipa::path(post, path = "/api/v1/services/{service}/releases/{version}/evidence", tag = "control", security(("bearer" = [])),
    params(("service" = ferry_core::Name, Path, description = "The service's name"), ("version" = crate::openapi::Version, Path, description = "The version")),
    request_body = AddEvidence,
    responses((status = 201, body = Evidence), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn add_evidence(
    State(state): State<AppState>,
    caller: Caller,
    Path((service, text)): Path<(String, String)>,
    Json(mut request): Json<AddEvidence>,
) -> ApiResult<(StatusCode, axum::Json<Evidence>)> {
    let service = name("service", &service)?;
    let version = version(&text)?;
    if let Some(report) = &mut request.report {
        report.keep_what_is_kept();
    }
    let environment = request.environment.clone();
    let target = authorize::target(&state, Some(&service), Some(&environment)).await?;
    caller.require(&state, Action::AddEvidence, &target).await?;
    control::may_go_there(&state, &service, &version, &environment).await?;
    let evidence_name = request.name.trim();
    convert::within(&limits::EVIDENCE_NAME, "name", evidence_name)?;
    if let Some(url) = &request.url {
        limits::check_link("url", url).map_err(ApiError::Unprocessable)?;
    }
    if evidence_name.is_empty() {
        return Err(ApiError::Unprocessable(
            "an evidence name must have 1 to 100 characters".into(),
        ));
    }
    let (passed, summary, report) = match (&request.report, request.passed) {
        (Some(report), _) => {
            let summary = report.summary();
            let json =
                serde_json::to_string(report).map_err(|e| ApiError::Internal(e.to_string()))?;
            (report.passed(), summary, Some(json))
        }
        (None, Some(passed)) => (
            passed,
            if passed {
                "passed".to_owned()
            } else {
                "failed".to_owned()
            },
            None,
        ),
        (None, None) => {
            return Err(ApiError::Unprocessable(
                "evidence needs a JUnit `report` or `passed` for a named check".into(),
            ));
        }
    };
    let new = NewEvidence {
        name: evidence_name,
        passed,
        summary: &summary,
        report: report.as_deref(),
        url: request.url.as_deref(),
    };
    let record = state
        .store
        .add_evidence(caller.actor(), &service, &version, &environment, new)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(convert::evidence(record)?)))
}

/// The evidence of a release in an environment.
#[utoipa::path(get, path = "/api/v1/services/{service}/releases/{version}/evidence", tag = "control", security(("bearer" = [])),
    params(("service" = ferry_core::Name, Path, description = "The service's name"), ("version" = crate::openapi::Version, Path, description = "The version"), EnvironmentQuery),
    responses((status = 200, body = Page<Evidence>), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn evidence(
    State(state): State<AppState>,
    _reader: Reader,
    Path((service, text)): Path<(String, String)>,
    Query(query): Query<EnvironmentQuery>,
) -> ApiResult<axum::Json<Page<Evidence>>> {
    let (release_id, environment_id) = state
        .store
        .release_environment_ids(
            &name("service", &service)?,
            &version(&text)?,
            &query.environment,
        )
        .await?;
    let items = state
        .store
        .evidence(release_id, environment_id)
        .await?
        .into_iter()
        .map(convert::evidence)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(axum::Json(whole(items)))
}

/// Evaluates every gate of a promotion and explains each blocker.
#[utoipa::path(get, path = "/api/v1/services/{service}/releases/{version}/check", tag = "control", security(("bearer" = [])),
    params(("service" = ferry_core::Name, Path, description = "The service's name"), ("version" = crate::openapi::Version, Path, description = "The version"), EnvironmentQuery),
    responses((status = 200, body = Check), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn check(
    State(state): State<AppState>,
    _reader: Reader,
    Path((service, text)): Path<(String, String)>,
    Query(query): Query<EnvironmentQuery>,
) -> ApiResult<axum::Json<Check>> {
    let service = name("service", &service)?;
    let version = version(&text)?;
    let environment = query.environment.clone();
    let promotion = Promotion {
        service: &service,
        version: &version,
        environment: &environment,
        at: Utc::now(),
        emergency_reason: query.emergency_reason.as_deref(),
    };
    let (verdict, _) = judge(&state, &promotion).await?;
    Ok(axum::Json(Check {
        service: service.to_string(),
        version: version.to_string(),
        environment: environment.to_string(),
        verdict,
    }))
}

/// Promotes a release into an environment: the gates are evaluated as it
/// acts; when they allow it, a deployment is recorded (queued, or waiting
/// for `at`). When only time holds it back (no deployment window is open,
/// or a freeze), it is recorded `waiting`, with the reason, and starts when
/// the gates open. Otherwise 409 with every blocker. When the same release
/// is already queued, waiting or running in the environment, that
/// deployment is the answer (200), not another.
#[utoipa::path(post, path = "/api/v1/promotions", tag = "control", security(("bearer" = [])),
    request_body = Promote,
    responses(
        (status = 201, body = Deployment),
        (status = 200, description = "The release is already on its way there: that deployment", body = Deployment),
        (status = 403, description = "The caller may not promote there (or not on the emergency path)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Refused by a gate: `blockers` lists why and how to clear each", body = Problem, content_type = "application/problem+json")
    ))]
pub async fn promote(
    State(state): State<AppState>,
    caller: Caller,
    Json(request): Json<Promote>,
) -> ApiResult<(StatusCode, axum::Json<Deployment>)> {
    let version = version(&request.version)?;
    let promoted = promotion::promote(
        &state,
        &caller,
        promotion::Promote {
            service: &request.service,
            version: &version,
            environment: &request.environment,
            at: request.at,
            emergency_reason: request.emergency_reason.as_deref(),
        },
    )
    .await?;
    Ok(match promoted {
        Promoted::Created(deployment) => (
            StatusCode::CREATED,
            axum::Json(convert::deployment(deployment)),
        ),
        Promoted::AlreadyUnderWay(deployment) => {
            (StatusCode::OK, axum::Json(convert::deployment(deployment)))
        }
    })
}

/// Reports the progress of a deployment run by another tool (a CI job,
/// another CD system). Reporting the status it has is harmless.
#[utoipa::path(post, path = "/api/v1/deployments/{id}/report", tag = "deployments", security(("bearer" = [])),
    params(("id" = crate::openapi::Id, Path, description = "The deployment's id")),
    request_body = ReportDeployment,
    responses((status = 200, body = Deployment), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 409, description = "ferry's agents run this deployment: only they report it", body = Problem, content_type = "application/problem+json"), (status = 422, description = "Not a move its state allows", body = Problem, content_type = "application/problem+json")))]
pub async fn report(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(request): Json<ReportDeployment>,
) -> ApiResult<axum::Json<Deployment>> {
    let id = convert::id("deployment", &id)?;
    if let Some(url) = &request.url {
        limits::check_link("url", url).map_err(ApiError::Unprocessable)?;
    }
    let deployment = state.store.deployment(id).await?;
    let service = name("service", &deployment.service)?;
    let environment = name("environment", &deployment.environment)?;
    let target = authorize::target(&state, Some(&service), Some(&environment)).await?;
    caller
        .require(&state, Action::ReportDeployment, &target)
        .await?;
    control::reportable(&state, &deployment).await?;
    let record = state
        .store
        .report_deployment(caller.actor(), id, request.status, request.url.as_deref())
        .await?;
    if record.status.is_finished() && !deployment.status.is_finished() {
        crate::telemetry::deployment_ended(&state.store, &deployment, record.status);
    }
    Ok(axum::Json(convert::deployment(record)))
}
