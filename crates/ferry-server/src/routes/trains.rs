//! Release trains: made, listed, shown, checked and promoted; their plans
//! and combined notes.

use axum::extract::State;
use axum::http::StatusCode;
use ferry_api::{NewTrain, Page, Plan, Problem, Train, TrainCheck, TrainPromotion, TrainRun};
use serde::Deserialize;

use crate::auth::Caller;
use crate::authorize::Reader;
use crate::convert::name;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path, Query};
use crate::routes::whole;
use crate::state::AppState;
use crate::{planning, trains};

/// Every train, by name, with its members in order.
#[utoipa::path(get, path = "/api/v1/trains", tag = "trains", security(("bearer" = [])),
    responses((status = 200, body = Page<Train>)))]
pub async fn list_trains(
    State(state): State<AppState>,
    _reader: Reader,
) -> ApiResult<axum::Json<Page<Train>>> {
    let mut items = Vec::new();
    for record in state.store.trains().await? {
        items.push(trains::view(&state, record, false).await?);
    }
    Ok(axum::Json(whole(items)))
}

/// Makes a train of releases of several services, in the order they deploy
/// (`order`, else as listed), with a plan from `template` when named.
#[utoipa::path(post, path = "/api/v1/trains", tag = "trains", security(("bearer" = [])), request_body = NewTrain,
    responses((status = 201, body = Train),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The name is taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn create_train(
    State(state): State<AppState>,
    caller: Caller,
    Json(request): Json<NewTrain>,
) -> ApiResult<(StatusCode, axum::Json<Train>)> {
    let record = trains::create(&state, &caller, &request).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(trains::view(&state, record, false).await?),
    ))
}

/// One train, with its runs (newest first) and each member's deployment
/// and rollback in them.
#[utoipa::path(get, path = "/api/v1/trains/{name}", tag = "trains", security(("bearer" = [])),
    params(("name" = ferry_core::Name, Path, description = "The train's name")),
    responses((status = 200, body = Train), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get_train(
    State(state): State<AppState>,
    _reader: Reader,
    Path(text): Path<String>,
) -> ApiResult<axum::Json<Train>> {
    let train = name("train", &text)?;
    let record = state.store.train(&train).await?;
    Ok(axum::Json(trains::view(&state, record, true).await?))
}

/// The query of the train check.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CheckQuery {
    /// The environment the train would enter.
    pub environment: ferry_core::Name,
}

/// Every member's gates for promoting the train into an environment now.
#[utoipa::path(get, path = "/api/v1/trains/{name}/check", tag = "trains", security(("bearer" = [])),
    params(("name" = ferry_core::Name, Path, description = "The train's name"), CheckQuery),
    responses((status = 200, body = TrainCheck), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn check_train(
    State(state): State<AppState>,
    _reader: Reader,
    Path(text): Path<String>,
    Query(query): Query<CheckQuery>,
) -> ApiResult<axum::Json<TrainCheck>> {
    let train = name("train", &text)?;
    Ok(axum::Json(
        trains::check(&state, &train, &query.environment).await?,
    ))
}

/// Promotes the train into an environment: every member's gates first (one
/// blocked member blocks the train, 409 with every blocker); then the
/// members deploy one after the other, and when one fails those changed are
/// rolled back in reverse order.
#[utoipa::path(post, path = "/api/v1/trains/{name}/promotions", tag = "trains", security(("bearer" = [])),
    params(("name" = ferry_core::Name, Path, description = "The train's name")), request_body = TrainPromotion,
    responses((status = 201, body = TrainRun),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A gate blocks a member, or the train is on its way already", body = Problem, content_type = "application/problem+json")))]
pub async fn promote_train(
    State(state): State<AppState>,
    caller: Caller,
    Path(text): Path<String>,
    Json(request): Json<TrainPromotion>,
) -> ApiResult<(StatusCode, axum::Json<TrainRun>)> {
    let train = name("train", &text)?;
    let run = trains::promote(&state, &caller, &train, &request.environment).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(trains::run_view(&state, run).await?),
    ))
}

/// The train's plan.
#[utoipa::path(get, path = "/api/v1/trains/{name}/plan", tag = "plans", security(("bearer" = [])),
    params(("name" = ferry_core::Name, Path, description = "The train's name")),
    responses((status = 200, body = Plan), (status = 404, description = "No such train, or it has no plan", body = Problem, content_type = "application/problem+json")))]
pub async fn train_plan(
    State(state): State<AppState>,
    _reader: Reader,
    Path(text): Path<String>,
) -> ApiResult<axum::Json<Plan>> {
    let train = name("train", &text)?;
    state.store.train(&train).await?;
    let plan = state.store.train_plan(&train).await?.ok_or_else(|| {
        ApiError::NotFound(format!(
            "train {train} has no plan; give it one with `ferry train create {train} … --template NAME`"
        ))
    })?;
    Ok(axum::Json(planning::plan(plan)))
}
