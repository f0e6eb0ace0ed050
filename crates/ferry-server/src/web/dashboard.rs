//! The dashboard: the environment × service matrix, filtered by service,
//! environment and state, the filters kept in the address.

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use ferry_core::status::{Cell, CellDeployment};
use serde::Deserialize;

use super::page::{self, Frame};
use super::session::Viewer;
use crate::state::AppState;

/// The filters, as the address has them.
#[derive(Debug, Default, Deserialize)]
pub struct Filters {
    /// Part of a service's name.
    #[serde(default)]
    service: String,
    /// One environment.
    #[serde(default)]
    environment: String,
    /// Services with a cell in this state.
    #[serde(default)]
    state: String,
}

/// The states a cell may be filtered by: (as the address names them, as
/// people read them).
const STATES: &[(&str, &str)] = &[
    ("queued", "queued"),
    ("waiting", "waiting"),
    ("running", "running"),
    ("verifying", "verifying"),
    ("succeeded", "succeeded"),
    ("failed", "failed"),
    ("rolled_back", "rolled back"),
    ("cancelled", "cancelled"),
];

/// One cell as shown: the version there, and what is under way or went
/// wrong.
struct CellView {
    environment: String,
    current: Option<Shown>,
    latest: Option<Shown>,
}

struct Shown {
    version: String,
    /// The state's name (`rolled_back`), for the colour.
    state: &'static str,
    /// The state for people (`rolled back`).
    label: String,
    at: String,
    deployment: i64,
}

impl Shown {
    fn of(deployment: &CellDeployment) -> Self {
        let state = deployment.status.as_str();
        Self {
            version: deployment.version.clone(),
            state,
            label: state.replace('_', " "),
            at: deployment.at.clone(),
            deployment: deployment.deployment_id,
        }
    }
}

struct Row {
    service: String,
    cells: Vec<CellView>,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    frame: Frame,
    environments: Vec<String>,
    shown_environments: Vec<String>,
    rows: Vec<Row>,
    services: usize,
    filters: Filters,
    states: &'static [(&'static str, &'static str)],
}

/// `GET /`.
pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    filters: Result<Query<Filters>, QueryRejection>,
) -> Response {
    // Filters that cannot be read filter nothing.
    let filters = filters.map(|Query(filters)| filters).unwrap_or_default();
    let status = match crate::overview::status(&state).await {
        Ok(status) => status,
        Err(error) => return axum::response::IntoResponse::into_response(error),
    };
    let environments: Vec<String> = status
        .environments
        .iter()
        .map(|environment| environment.name.clone())
        .collect();
    let shown_environments: Vec<String> = environments
        .iter()
        .filter(|name| filters.environment.is_empty() || **name == filters.environment)
        .cloned()
        .collect();
    let needle = filters.service.trim().to_lowercase();
    let rows = status
        .cells
        .chunks(environments.len().max(1))
        .zip(&status.services)
        .filter(|(_, service)| needle.is_empty() || service.to_lowercase().contains(&needle))
        .filter(|(cells, _)| {
            filters.state.is_empty() || cells.iter().any(|cell| in_state(cell, &filters.state))
        })
        .map(|(cells, service)| Row {
            service: service.clone(),
            cells: cells
                .iter()
                .filter(|cell| {
                    shown_environments
                        .iter()
                        .any(|e| *e == cell.environment.as_str())
                })
                .map(|cell| CellView {
                    environment: cell.environment.to_string(),
                    current: cell.current.as_ref().map(Shown::of),
                    latest: cell.latest.as_ref().map(Shown::of),
                })
                .collect(),
        })
        .collect();
    page::send(
        StatusCode::OK,
        &DashboardPage {
            frame: Frame::of(&viewer),
            environments,
            shown_environments,
            rows,
            services: status.services.len(),
            filters,
            states: STATES,
        },
    )
}

/// Whether the cell's current or latest deployment is in `state`.
fn in_state(cell: &Cell, state: &str) -> bool {
    [&cell.current, &cell.latest]
        .into_iter()
        .flatten()
        .any(|deployment| deployment.status.as_str() == state)
}
