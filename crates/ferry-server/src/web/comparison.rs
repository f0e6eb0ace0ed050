//! Comparing a service between two environments (`ferry diff` in the
//! browser): the versions each runs, and the releases and commits promoting
//! from one to the other would bring. The page has a stable address,
//! `/services/{service}/diff?from=ENV&to=ENV`, and its form works without
//! JavaScript.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use ferry_api::Diff;
use serde::Deserialize;

use super::page::{self, Frame, refusal};
use super::session::Viewer;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "diff.html")]
struct ComparisonPage {
    frame: Frame,
    service: String,
    environments: Vec<String>,
    from: String,
    to: String,
    diff: Option<Diff>,
    /// The commits of the diff: short id, subject, authors.
    commits: Vec<(String, String, String)>,
}

/// The environments compared, when chosen.
#[derive(Debug, Default, Deserialize)]
pub struct Between {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

/// `GET /services/{service}/diff?from=ENV&to=ENV`.
pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(service): Path<String>,
    between: Result<Query<Between>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let between = between.map(|Query(b)| b).unwrap_or_default();
    match render(&state, &viewer, &service, between).await {
        Ok(response) => response,
        Err(error) => refusal(&viewer, error),
    }
}

async fn render(
    state: &AppState,
    viewer: &Viewer,
    service: &str,
    between: Between,
) -> Result<Response, ApiError> {
    let service = crate::convert::name("service", service)?;
    let environments: Vec<String> = state
        .store
        .environments()
        .await?
        .into_iter()
        .map(|stored| stored.spec.name.to_string())
        .collect();
    let diff = if between.from.is_empty() || between.to.is_empty() {
        None
    } else {
        let from = crate::convert::name("from", &between.from)?;
        let to = crate::convert::name("to", &between.to)?;
        Some(crate::comparison::diff(state, &service, &from, &to).await?)
    };
    let commits = diff
        .iter()
        .flat_map(|diff| &diff.commits)
        .map(|commit| {
            (
                commit.id.chars().take(8).collect(),
                commit.subject.clone(),
                commit.authors.join(", "),
            )
        })
        .collect();
    Ok(page::send(
        StatusCode::OK,
        &ComparisonPage {
            frame: Frame::of(viewer),
            service: service.to_string(),
            environments,
            from: between.from,
            to: between.to,
            diff,
            commits,
        },
    ))
}
