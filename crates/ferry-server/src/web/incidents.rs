//! Incidents (`/incidents`): those still open, then those resolved, newest
//! first, each with the deployment it counts against; the forms to open
//! one and to resolve one go through `crate::dora`, as the API's routes do,
//! so a refusal reads the same.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use ferry_core::access::Action;
use ferry_store::incidents::IncidentRecord;
use serde::Deserialize;

use super::page::{self, Frame, refusal};
use super::posted::{Posted, Protected};
use super::session::Viewer;
use crate::error::ApiError;
use crate::state::AppState;

struct IncidentView {
    id: i64,
    service: String,
    environment: String,
    deployment: Option<i64>,
    title: String,
    opened_by: String,
    opened_at: String,
    opened_shown: String,
    /// Who resolved it, when (for people) and how.
    resolved: Option<(String, String, String)>,
}

fn view(record: IncidentRecord) -> IncidentView {
    IncidentView {
        id: record.id,
        service: record.service.to_string(),
        environment: record.environment.to_string(),
        deployment: record.deployment,
        title: record.title,
        opened_by: record.opened_by,
        opened_at: record.opened_at.to_rfc3339(),
        opened_shown: record.opened_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        resolved: record
            .resolved
            .map(|(by, at, how)| (by, at.format("%Y-%m-%d %H:%M UTC").to_string(), how)),
    }
}

#[derive(Template)]
#[template(path = "incidents.html")]
struct IncidentsPage {
    frame: Frame,
    open: Vec<IncidentView>,
    resolved: Vec<IncidentView>,
    services: Vec<String>,
    /// Whether the viewer may open and resolve incidents somewhere (the
    /// forms are shown; each is checked for its place when posted).
    may_manage: bool,
    done: Option<&'static str>,
}

/// What the address says was just done.
#[derive(Debug, Default, Deserialize)]
pub struct Done {
    #[serde(default)]
    done: String,
}

/// `GET /incidents`.
pub async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    done: Result<axum::extract::Query<Done>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let listed = async {
        let (incidents, services) =
            tokio::try_join!(state.store.incidents(false), state.store.services())?;
        Ok::<_, ApiError>((incidents, services))
    };
    let (incidents, services) = match listed.await {
        Ok(found) => found,
        Err(error) => return refusal(&viewer, error),
    };
    let (open, resolved): (Vec<_>, Vec<_>) = incidents
        .into_iter()
        .map(view)
        .partition(|incident| incident.resolved.is_none());
    let done = match done.ok().map(|d| d.0.done).as_deref() {
        Some("opened") => Some("The incident is open."),
        Some("resolved") => Some("The incident is resolved."),
        _ => None,
    };
    page::send(
        StatusCode::OK,
        &IncidentsPage {
            frame: Frame::of(&viewer),
            may_manage: viewer
                .caller()
                .rights
                .allows_somewhere(Action::ManageIncidents),
            open,
            resolved,
            services: services
                .into_iter()
                .map(|s| s.spec.name.to_string())
                .collect(),
            done,
        },
    )
}

/// The form that opens an incident.
#[derive(Debug, Deserialize)]
pub struct OpenForm {
    csrf: String,
    #[serde(default)]
    service: String,
    #[serde(default)]
    environment: String,
    #[serde(default)]
    deployment: String,
    #[serde(default)]
    title: String,
}

impl Protected for OpenForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /incidents`.
pub async fn open(
    State(state): State<AppState>,
    Posted { viewer, form }: Posted<OpenForm>,
) -> Response {
    let opened = async {
        let deployment = match form.deployment.trim() {
            "" => None,
            text => Some(crate::convert::id("deployment", text)?),
        };
        let request = ferry_api::OpenIncident {
            service: crate::convert::name("service", form.service.trim())?,
            environment: crate::convert::name("environment", form.environment.trim())?,
            deployment,
            title: form.title,
        };
        crate::dora::open_incident(&state, &viewer.caller(), &request).await
    };
    match opened.await {
        Ok(_) => Redirect::to("/incidents?done=opened").into_response(),
        Err(error) => refusal(&viewer, error),
    }
}

/// The form that resolves an incident.
#[derive(Debug, Deserialize)]
pub struct ResolveForm {
    csrf: String,
    #[serde(default)]
    resolution: String,
}

impl Protected for ResolveForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /incidents/{id}/resolve`.
pub async fn resolve(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { viewer, form }: Posted<ResolveForm>,
) -> Response {
    let resolved = async {
        let id = crate::convert::id("incident", &id)?;
        crate::dora::resolve_incident(&state, &viewer.caller(), id, &form.resolution).await
    };
    match resolved.await {
        Ok(_) => Redirect::to("/incidents?done=resolved").into_response(),
        Err(error) => refusal(&viewer, error),
    }
}
