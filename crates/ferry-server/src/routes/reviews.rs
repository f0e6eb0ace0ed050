//! Post-implementation reviews of deployments.

use axum::extract::State;
use ferry_api::{CompleteReview, Page, Problem, Review};
use serde::Deserialize;

use crate::auth::Caller;
use crate::authorize::Reader;
use crate::convert;
use crate::error::ApiResult;
use crate::extract::{Json, Path, Query};
use crate::reviews;
use crate::routes::whole;
use crate::state::AppState;

/// The query of `GET /api/v1/reviews`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReviewQuery {
    /// Only those not completed yet.
    #[serde(default)]
    pub open: bool,
    /// Only this service's.
    pub service: Option<ferry_core::Name>,
    /// Only in this environment.
    pub environment: Option<ferry_core::Name>,
}

/// The post-implementation reviews of deployments (at most 1,000): open
/// ones first, the soonest due first, then completed ones, the latest
/// first.
#[utoipa::path(get, path = "/api/v1/reviews", tag = "deployments", security(("bearer" = [])), params(ReviewQuery),
    responses((status = 200, body = Page<Review>), (status = 400, body = Problem, content_type = "application/problem+json")))]
pub async fn list_reviews(
    State(state): State<AppState>,
    _reader: Reader,
    Query(query): Query<ReviewQuery>,
) -> ApiResult<axum::Json<Page<Review>>> {
    let items = reviews::list(
        &state,
        query.open,
        query.service.as_ref(),
        query.environment.as_ref(),
    )
    .await?;
    Ok(axum::Json(whole(items)))
}

/// The review of a deployment: its draft, written from the deployment's
/// timeline, and its completion once completed.
#[utoipa::path(get, path = "/api/v1/reviews/{deployment}", tag = "deployments", security(("bearer" = [])),
    params(("deployment" = crate::openapi::Id, Path, description = "The deployment's id")),
    responses((status = 200, body = Review),
        (status = 404, description = "No such deployment, or it has no review", body = Problem, content_type = "application/problem+json")))]
pub async fn get_review(
    State(state): State<AppState>,
    _reader: Reader,
    Path(deployment): Path<String>,
) -> ApiResult<axum::Json<Review>> {
    let deployment = convert::id("deployment", &deployment)?;
    Ok(axum::Json(reviews::of(&state, deployment).await?))
}

/// Completes the review of a deployment, once: its outcome, notes and
/// follow-up actions.
#[utoipa::path(post, path = "/api/v1/reviews/{deployment}", tag = "deployments", security(("bearer" = [])),
    params(("deployment" = crate::openapi::Id, Path, description = "The deployment's id")), request_body = CompleteReview,
    responses((status = 200, body = Review),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such deployment, or it has no review", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Completed already", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn complete_review(
    State(state): State<AppState>,
    caller: Caller,
    Path(deployment): Path<String>,
    Json(request): Json<CompleteReview>,
) -> ApiResult<axum::Json<Review>> {
    let deployment = convert::id("deployment", &deployment)?;
    Ok(axum::Json(
        reviews::complete(&state, &caller, deployment, &request).await?,
    ))
}
