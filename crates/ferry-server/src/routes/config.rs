//! Configuration as code: apply, and read environments, lifecycles, services.

use axum::extract::State;
use ferry_api::{ApplyRequest, ApplyResult, Environment, Lifecycle, Page, Problem, Service};
use ferry_core::access::{Action, Target};
use ferry_core::plan::changes_anything;

use crate::auth::Caller;
use crate::authorize::Reader;
use crate::convert::{self, name};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path};
use crate::routes::whole;
use crate::state::AppState;

/// Makes the server's configuration match the one sent (creates and updates;
/// never deletes): administrators only. With `dry_run`, only returns the
/// plan, which anyone who may read may ask for.
#[utoipa::path(post, path = "/api/v1/apply", tag = "configuration", security(("bearer" = [])), request_body = ApplyRequest, responses(
    (status = 200, body = ApplyResult),
    (status = 400, body = Problem, content_type = "application/problem+json"),
    (status = 403, body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "The configuration breaks a rule (an unknown reference, a duplicate)", body = Problem, content_type = "application/problem+json")
))]
pub async fn apply(
    State(state): State<AppState>,
    caller: Caller,
    Json(request): Json<ApplyRequest>,
) -> ApiResult<axum::Json<ApplyResult>> {
    let action = if request.dry_run {
        Action::Read
    } else {
        Action::ApplyConfig
    };
    caller.require(&state, action, &Target::SERVER).await?;
    request
        .config
        .validate()
        .map_err(|invalid| ApiError::Unprocessable(invalid.message))?;
    let users = state.store.users().await?;
    let groups = state.store.groups().await?;
    let groups = groups.iter().map(|g| g.name.as_str()).collect();
    request
        .config
        .check_approvers(&users.iter().map(|u| u.name.as_str()).collect(), &groups)
        .and_then(|()| request.config.check_sign_in_groups(&groups))
        .map_err(|invalid| ApiError::Unprocessable(invalid.message))?;
    crate::webhooks::check_declared(&state, &request.config.webhooks)?;
    let changes = state
        .store
        .apply(caller.actor(), &request.config, request.dry_run)
        .await?;
    let applied = !request.dry_run && changes_anything(&changes);
    Ok(axum::Json(ApplyResult { changes, applied }))
}

/// Every environment.
#[utoipa::path(get, path = "/api/v1/environments", tag = "configuration", security(("bearer" = [])), responses((status = 200, body = Page<Environment>)))]
pub async fn list_environments(
    State(state): State<AppState>,
    _reader: Reader,
) -> ApiResult<axum::Json<Page<Environment>>> {
    let items = state
        .store
        .environments()
        .await?
        .into_iter()
        .map(convert::environment)
        .collect();
    Ok(axum::Json(whole(items)))
}

/// One environment.
#[utoipa::path(get, path = "/api/v1/environments/{name}", tag = "configuration", security(("bearer" = [])),
    params(("name" = ferry_core::Name, Path, description = "The environment's name")),
    responses((status = 200, body = Environment), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get_environment(
    State(state): State<AppState>,
    _reader: Reader,
    Path(text): Path<String>,
) -> ApiResult<axum::Json<Environment>> {
    let wanted = name("environment", &text)?;
    let found = state
        .store
        .environments()
        .await?
        .into_iter()
        .find(|e| e.spec.name == wanted);
    found
        .map(|e| axum::Json(convert::environment(e)))
        .ok_or_else(|| ApiError::NotFound(format!("there is no environment {text:?}")))
}

/// Every lifecycle.
#[utoipa::path(get, path = "/api/v1/lifecycles", tag = "configuration", security(("bearer" = [])), responses((status = 200, body = Page<Lifecycle>)))]
pub async fn list_lifecycles(
    State(state): State<AppState>,
    _reader: Reader,
) -> ApiResult<axum::Json<Page<Lifecycle>>> {
    let items = state
        .store
        .lifecycles()
        .await?
        .into_iter()
        .map(convert::lifecycle)
        .collect();
    Ok(axum::Json(whole(items)))
}

/// One lifecycle.
#[utoipa::path(get, path = "/api/v1/lifecycles/{name}", tag = "configuration", security(("bearer" = [])),
    params(("name" = ferry_core::Name, Path, description = "The lifecycle's name")),
    responses((status = 200, body = Lifecycle), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get_lifecycle(
    State(state): State<AppState>,
    _reader: Reader,
    Path(text): Path<String>,
) -> ApiResult<axum::Json<Lifecycle>> {
    let wanted = name("lifecycle", &text)?;
    let found = state
        .store
        .lifecycles()
        .await?
        .into_iter()
        .find(|l| l.spec.name == wanted);
    found
        .map(|l| axum::Json(convert::lifecycle(l)))
        .ok_or_else(|| ApiError::NotFound(format!("there is no lifecycle {text:?}")))
}

/// Every service.
#[utoipa::path(get, path = "/api/v1/services", tag = "configuration", security(("bearer" = [])), responses((status = 200, body = Page<Service>)))]
pub async fn list_services(
    State(state): State<AppState>,
    _reader: Reader,
) -> ApiResult<axum::Json<Page<Service>>> {
    let items = state
        .store
        .services()
        .await?
        .into_iter()
        .map(convert::service)
        .collect();
    Ok(axum::Json(whole(items)))
}

/// One service.
#[utoipa::path(get, path = "/api/v1/services/{name}", tag = "configuration", security(("bearer" = [])),
    params(("name" = ferry_core::Name, Path, description = "The service's name")),
    responses((status = 200, body = Service), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get_service(
    State(state): State<AppState>,
    _reader: Reader,
    Path(text): Path<String>,
) -> ApiResult<axum::Json<Service>> {
    let wanted = name("service", &text)?;
    let found = state
        .store
        .services()
        .await?
        .into_iter()
        .find(|s| s.spec.name == wanted);
    found
        .map(|s| axum::Json(convert::service(s)))
        .ok_or_else(|| ApiError::NotFound(format!("there is no service {text:?}")))
}
