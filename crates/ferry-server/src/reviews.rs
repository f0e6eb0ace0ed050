//! Post-implementation reviews as people ask for them: listed, read, and
//! completed by those allowed to complete reviews of the deployment's
//! service in its environment. The API's routes and the web UI both come
//! through here. The rules are `ferry_core::review`'s; the store opens the
//! reviews when deployments end and keeps their drafts; the orchestrator
//! reminds of overdue ones ([`remind`]).

use chrono::{DateTime, Utc};
use ferry_api::{CompleteReview, Review, ReviewCompletion};
use ferry_core::Name;
use ferry_core::access::{Action, authorize};
use ferry_core::review::{check_completion, is_overdue};
use ferry_store::StoreError;
use ferry_store::reviews::{ReviewFilter, ReviewRecord};

use crate::auth::Caller;
use crate::authorize;
use crate::error::ApiError;
use crate::state::AppState;

/// The reviews, open ones first (soonest due first), then the completed
/// ones (latest first), filtered.
pub async fn list(
    state: &AppState,
    open: bool,
    service: Option<&Name>,
    environment: Option<&Name>,
) -> Result<Vec<Review>, ApiError> {
    let filter = ReviewFilter {
        open,
        service,
        environment,
    };
    let now = Utc::now();
    Ok(state
        .store
        .reviews(filter)
        .await?
        .into_iter()
        .map(|record| wire(record, now))
        .collect())
}

/// The review of deployment `deployment` (404 when it has none, saying
/// which deployments are reviewed).
pub async fn of(state: &AppState, deployment: i64) -> Result<Review, ApiError> {
    Ok(wire(state.store.review_of(deployment).await?, Utc::now()))
}

/// Completes the review of deployment `deployment` for `caller`: refused
/// (422) when the notes are empty or a text is over its limit, (404) when
/// the deployment has no review, (403) unless `caller` may complete
/// reviews of its service there, (409) when it was completed already.
pub async fn complete(
    state: &AppState,
    caller: &Caller,
    deployment: i64,
    request: &CompleteReview,
) -> Result<Review, ApiError> {
    let (notes, actions) =
        check_completion(&request.notes, &request.actions).map_err(ApiError::Unprocessable)?;
    let review = state.store.review_of(deployment).await?;
    let target = authorize::target(state, Some(&review.service), Some(&review.environment)).await?;
    caller
        .require(state, Action::CompleteReview, &target)
        .await?;
    let record = state
        .store
        .complete_review(
            caller.actor(),
            deployment,
            request.outcome,
            &notes,
            &actions,
        )
        .await?;
    Ok(wire(record, Utc::now()))
}

/// Whether `caller` may complete the review of a deployment of `service`
/// in `environment`: what the web page asks before it shows the form (the
/// server checks again when it is posted).
pub async fn may_complete(
    state: &AppState,
    caller: &Caller,
    service: &Name,
    environment: &Name,
) -> Result<bool, ApiError> {
    let target = authorize::target(state, Some(service), Some(environment)).await?;
    Ok(authorize(
        caller.actor(),
        &caller.rights,
        Action::CompleteReview,
        &target,
    )
    .is_ok())
}

/// One orchestrator pass's reminders: every review past its due time, not
/// completed and not reminded of yet, is reminded of once (`review.remind`
/// in the audit trail, which the webhook worker tells of). Answers their ids.
pub async fn remind(state: &AppState, now: DateTime<Utc>) -> Result<Vec<i64>, StoreError> {
    let reminded = state.store.remind_overdue_reviews(now).await?;
    if !reminded.is_empty() {
        tracing::info!(reviews = ?reminded, "overdue post-implementation reviews reminded of");
    }
    Ok(reminded)
}

/// A review as the API shows it, at `now`.
pub fn wire(record: ReviewRecord, now: DateTime<Utc>) -> Review {
    Review {
        id: record.id,
        deployment: record.deployment,
        service: record.service,
        version: record.version,
        environment: record.environment,
        reason: record.reason,
        opened_at: record.opened_at,
        due_at: record.due_at,
        overdue: is_overdue(record.due_at, record.completion.is_some(), now),
        reminded_at: record.reminded_at,
        draft: record.draft,
        completion: record.completion.map(|completion| ReviewCompletion {
            by: completion.by,
            at: completion.at,
            outcome: completion.outcome,
            notes: completion.notes,
            actions: completion.actions,
        }),
    }
}
