//! A service's page: its lifecycle drawn as phases with the version in
//! each environment, its releases newest first with the furthest
//! environment each reached, and its deployments with their outcomes,
//! newest first, a page at a time: "Older deployments" goes on from the
//! last one shown (`?before=ID`, kept in the address), so the whole
//! history can be walked.

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use ferry_core::Name;
use ferry_store::deployments::DeploymentFilter;
use serde::Deserialize;

use super::page::{self, Frame, refusal};
use super::session::Viewer;
use crate::error::ApiError;
use crate::state::AppState;

/// How many releases the page lists, and deployments on one page.
const LISTED: i64 = 50;

struct Phase {
    environments: Vec<(String, Option<String>)>,
}

struct Release {
    version: String,
    state: &'static str,
    created_at: String,
    furthest: Option<String>,
}

struct Deployment {
    id: i64,
    version: String,
    environment: String,
    state: &'static str,
    label: String,
    at: String,
}

#[derive(Template)]
#[template(path = "service.html")]
struct ServicePage {
    frame: Frame,
    service: String,
    description: String,
    lifecycle: String,
    phases: Vec<Phase>,
    releases: Vec<Release>,
    deployments: Vec<Deployment>,
    /// Whether this page of deployments is an older one (`?before=`).
    older: bool,
    /// The address of the next, older page of deployments, if there is one.
    next: Option<String>,
}

/// Where the list of deployments starts, as the address has it.
#[derive(Debug, Default, Deserialize)]
pub struct Paging {
    #[serde(default)]
    before: String,
}

/// `GET /services/{service}`.
pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(service): Path<String>,
    paging: Result<Query<Paging>, QueryRejection>,
) -> Response {
    let paging = paging.map(|Query(paging)| paging).unwrap_or_default();
    match render(&state, &viewer, &service, &paging).await {
        Ok(response) => response,
        Err(error) => refusal(&viewer, error),
    }
}

async fn render(
    state: &AppState,
    viewer: &Viewer,
    service: &str,
    paging: &Paging,
) -> Result<Response, ApiError> {
    let service = crate::convert::name("service", service)?;
    let before = match paging.before.trim() {
        "" => None,
        text => Some(crate::convert::id("deployment", text)?),
    };
    let spec = state
        .store
        .service_spec(&service)
        .await?
        .map(|stored| stored.spec)
        .ok_or_else(|| ApiError::NotFound(format!("there is no service {service:?}")))?;
    let lifecycle = state
        .store
        .lifecycles()
        .await?
        .into_iter()
        .find(|stored| stored.spec.name == spec.lifecycle)
        .map(|stored| stored.spec);
    let status = crate::overview::status(state, Some(&service)).await?;
    let current = |environment: &Name| {
        status
            .cells
            .iter()
            .find(|cell| cell.service == service && &cell.environment == environment)
            .and_then(|cell| cell.current.as_ref())
            .map(|deployment| deployment.version.clone())
    };
    let phases: Vec<Phase> = lifecycle
        .as_ref()
        .map(|lifecycle| {
            lifecycle
                .phases
                .iter()
                .map(|phase| Phase {
                    environments: phase
                        .environments
                        .iter()
                        .map(|environment| (environment.to_string(), current(environment)))
                        .collect(),
                })
                .collect()
        })
        .unwrap_or_default();
    let order: Vec<Name> = lifecycle
        .map(|lifecycle| {
            lifecycle
                .phases
                .into_iter()
                .flat_map(|phase| phase.environments)
                .collect()
        })
        .unwrap_or_default();
    let mut releases = Vec::new();
    for release in state.store.releases(Some(&service), None, LISTED).await? {
        let reached = state.store.successes(release.id).await?;
        let furthest = order
            .iter()
            .rev()
            .find(|environment| reached.iter().any(|(name, _)| name == *environment))
            .map(ToString::to_string);
        releases.push(Release {
            version: release.version,
            state: release.state.as_str(),
            created_at: release.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            furthest,
        });
    }
    let filter = DeploymentFilter {
        service: Some(&service),
        environment: None,
    };
    let mut page_of = state.store.deployments(filter, before, LISTED + 1).await?;
    let more = page_of.len() as i64 > LISTED;
    page_of.truncate(LISTED as usize);
    let next = if more {
        page_of.last().map(|oldest| {
            format!(
                "/services/{service}?before={}#deployments-heading",
                oldest.id
            )
        })
    } else {
        None
    };
    let deployments = page_of
        .into_iter()
        .map(|deployment| Deployment {
            id: deployment.id,
            version: deployment.version,
            environment: deployment.environment,
            state: deployment.status.as_str(),
            label: deployment.status.as_str().replace('_', " "),
            at: deployment
                .updated_at
                .format("%Y-%m-%d %H:%M UTC")
                .to_string(),
        })
        .collect();
    Ok(page::send(
        StatusCode::OK,
        &ServicePage {
            frame: Frame::of(viewer),
            service: service.to_string(),
            description: spec.description,
            lifecycle: spec.lifecycle.to_string(),
            phases,
            releases,
            deployments,
            older: before.is_some(),
            next,
        },
    ))
}
