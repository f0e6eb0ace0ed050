//! Post-implementation reviews in the web UI: the list (`/reviews`: the
//! open ones, soonest due first and those past due marked, then the
//! completed ones), the review on its deployment's page ([`panel`]), and
//! the form that completes it (`POST /reviews/{deployment}`), shown to
//! those allowed to complete reviews there. Both go through
//! `crate::reviews`, as the API's routes do, so a refusal reads the same.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use ferry_api::{CompleteReview, Deployment, Review};
use ferry_core::review::ReviewOutcome;
use serde::Deserialize;

use super::page::{self, Frame, refusal};
use super::posted::{Posted, Protected};
use super::session::Viewer;
use crate::convert::{id as parse_id, name};
use crate::error::ApiError;
use crate::state::AppState;

fn shown(at: &DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// A review as the pages show it.
pub struct ReviewView {
    /// The review.
    pub review: Review,
    /// When it opened, for people.
    pub opened_shown: String,
    /// When it is due, for people.
    pub due_shown: String,
    /// When it was completed, for people.
    pub completed_shown: Option<String>,
}

fn view(review: Review) -> ReviewView {
    ReviewView {
        opened_shown: shown(&review.opened_at),
        due_shown: shown(&review.due_at),
        completed_shown: review.completion.as_ref().map(|c| shown(&c.at)),
        review,
    }
}

/// The outcomes a form offers: (value, what it means).
fn outcomes() -> Vec<(&'static str, &'static str)> {
    ReviewOutcome::ALL
        .iter()
        .map(|outcome| (outcome.as_str(), outcome.describe()))
        .collect()
}

#[derive(Template)]
#[template(path = "reviews.html")]
struct ReviewsPage {
    frame: Frame,
    open: Vec<ReviewView>,
    completed: Vec<ReviewView>,
}

/// `GET /reviews`.
pub async fn list(State(state): State<AppState>, viewer: Viewer) -> Response {
    let reviews = match crate::reviews::list(&state, false, None, None).await {
        Ok(reviews) => reviews,
        Err(error) => return refusal(&viewer, error),
    };
    let (open, completed): (Vec<ReviewView>, Vec<ReviewView>) = reviews
        .into_iter()
        .map(view)
        .partition(|view| view.review.completion.is_none());
    page::send(
        StatusCode::OK,
        &ReviewsPage {
            frame: Frame::of(&viewer),
            open,
            completed,
        },
    )
}

/// The review of a deployment, on its page.
pub struct ReviewPanel {
    /// The review.
    pub view: ReviewView,
    /// Whether the viewer may complete it (and it is open): the form shows.
    pub may_complete: bool,
    /// The outcomes the form offers: (value, what it means).
    pub outcomes: Vec<(&'static str, &'static str)>,
}

/// The review of `deployment` for its page, if it has one.
pub async fn panel(
    state: &AppState,
    viewer: &Viewer,
    deployment: &Deployment,
) -> Result<Option<ReviewPanel>, ApiError> {
    let review = match crate::reviews::of(state, deployment.id).await {
        Ok(review) => review,
        Err(ApiError::NotFound(_)) => return Ok(None),
        Err(error) => return Err(error),
    };
    let service = name("service", &deployment.service)?;
    let environment = name("environment", &deployment.environment)?;
    let may_complete = review.completion.is_none()
        && crate::reviews::may_complete(state, &viewer.caller(), &service, &environment).await?;
    Ok(Some(ReviewPanel {
        view: view(review),
        may_complete,
        outcomes: outcomes(),
    }))
}

/// The form that completes a review: the outcome, the notes, and the
/// follow-up actions one per line.
#[derive(Debug, Deserialize)]
pub struct CompleteForm {
    csrf: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    notes: String,
    #[serde(default)]
    actions: String,
}

impl Protected for CompleteForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /reviews/{deployment}`: completes the deployment's review, then
/// back to its page.
pub async fn complete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { viewer, form }: Posted<CompleteForm>,
) -> Response {
    let completed = async {
        let id = parse_id("deployment", &id)?;
        let outcome = ReviewOutcome::parse(form.outcome.trim())
            .map_err(|why| ApiError::Unprocessable(format!("outcome: {why}")))?;
        let request = CompleteReview {
            outcome,
            notes: form.notes,
            actions: form
                .actions
                .lines()
                .map(str::trim)
                .filter(|line| !line.is_empty())
                .map(str::to_owned)
                .collect(),
        };
        crate::reviews::complete(&state, &viewer.caller(), id, &request).await?;
        Ok::<_, ApiError>(id)
    };
    match completed.await {
        Ok(id) => Redirect::to(&format!("/deployments/{id}?done=reviewed#review")).into_response(),
        Err(error) => refusal(&viewer, error),
    }
}
