//! Release trains: the list (`/trains`: each train's members in order and
//! its latest run) and a train's page (`/trains/{name}`): its members in
//! order; for the environment chosen (kept in the address) each member's
//! gate check and the "Promote the train" form for those who may; its runs
//! newest first, each member's deployment, status and rollback, and the
//! run's outcome and reason; and a link to its plan. Checking and promoting
//! go through `crate::trains`, as the API's routes do.

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use ferry_core::Name;
use ferry_core::train::RunStatus;
use ferry_store::trains::TrainRecord;
use serde::Deserialize;

use super::page::{self, Frame, refusal};
use super::posted::{Posted, Protected};
use super::session::{Viewer, percent_encode};
use crate::error::ApiError;
use crate::state::AppState;
use crate::trains;

/// A release of a train, linked to its page.
struct Member {
    release: String,
    href: String,
}

fn member(release: &str) -> Member {
    let href = match release.split_once('@') {
        Some((service, version)) => format!("/services/{service}/releases/{version}"),
        None => "/".to_owned(),
    };
    Member {
        release: release.to_owned(),
        href,
    }
}

/// A run in a few words.
struct Latest {
    id: i64,
    environment: String,
    status: &'static str,
    at: String,
    at_shown: String,
}

struct TrainRow {
    name: String,
    members: Vec<Member>,
    latest: Option<Latest>,
}

#[derive(Template)]
#[template(path = "trains.html")]
struct TrainsPage {
    frame: Frame,
    trains: Vec<TrainRow>,
}

/// `GET /trains`.
pub async fn list(State(state): State<AppState>, viewer: Viewer) -> Response {
    let listed = async {
        let mut rows = Vec::new();
        for record in state.store.trains().await? {
            let latest = state
                .store
                .runs(&record.name)
                .await?
                .into_iter()
                .next()
                .map(|run| Latest {
                    id: run.id,
                    environment: run.environment.to_string(),
                    status: run.status.as_str(),
                    at: run.updated_at.to_rfc3339(),
                    at_shown: run.updated_at.format("%Y-%m-%d %H:%M UTC").to_string(),
                });
            rows.push(TrainRow {
                name: record.name.to_string(),
                members: record
                    .members
                    .iter()
                    .map(|m| member(&m.release()))
                    .collect(),
                latest,
            });
        }
        Ok::<_, ApiError>(page::send(
            StatusCode::OK,
            &TrainsPage {
                frame: Frame::of(&viewer),
                trains: rows,
            },
        ))
    };
    listed.await.unwrap_or_else(|error| refusal(&viewer, error))
}

/// A member's gate check for the environment chosen.
struct Check {
    member: Member,
    allowed: bool,
    blockers: Vec<(String, String)>,
    warnings: Vec<String>,
}

/// A member's part in a run: its deployment and rollback, each with its
/// status (as stored, and for people).
struct RunMember {
    member: Member,
    deployment: Option<(i64, &'static str, String)>,
    rollback: Option<(i64, &'static str, String)>,
}

struct Run {
    id: i64,
    environment: String,
    status: &'static str,
    reason: Option<String>,
    created_by: String,
    at: String,
    at_shown: String,
    members: Vec<RunMember>,
}

#[derive(Template)]
#[template(path = "train.html")]
struct TrainPage {
    frame: Frame,
    name: String,
    created_by: String,
    created_at: String,
    members: Vec<Member>,
    environments: Vec<String>,
    environment: String,
    checks: Vec<Check>,
    allowed: bool,
    may_promote: bool,
    /// The run under way, if one is: (id, environment).
    running: Option<(i64, String)>,
    runs: Vec<Run>,
    plan: bool,
    message: Option<String>,
    /// A promotion the gates refused: its sentence and every blocker
    /// (named with its member) with how to clear it.
    refused: Option<(String, Vec<(String, String)>)>,
}

/// The page's address: the environment chosen, and what was done.
#[derive(Debug, Default, Deserialize)]
pub struct Shown {
    #[serde(default)]
    environment: String,
    #[serde(default)]
    done: String,
}

/// `GET /trains/{name}`.
pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(name): Path<String>,
    shown: Result<Query<Shown>, QueryRejection>,
) -> Response {
    let shown = shown.map(|Query(shown)| shown).unwrap_or_default();
    let rendered = async {
        let name = crate::convert::name("train", &name)?;
        let environment = given(&shown.environment)
            .map(|text| crate::convert::name("environment", &text))
            .transpose()?;
        render(
            &state,
            &viewer,
            &name,
            environment,
            &shown.done,
            None,
            StatusCode::OK,
        )
        .await
    };
    rendered
        .await
        .unwrap_or_else(|error| refusal(&viewer, error))
}

fn given(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// The environments a train may be shown for: those of its members'
/// lifecycles, in the order of their phases, then any other.
async fn environments(state: &AppState, train: &TrainRecord) -> Result<Vec<Name>, ApiError> {
    let lifecycles = state.store.lifecycles().await?;
    let mut ordered: Vec<Name> = Vec::new();
    for member in &train.members {
        let Some(spec) = state.store.service_spec(&member.service).await? else {
            continue;
        };
        let phases = lifecycles
            .iter()
            .find(|stored| stored.spec.name == spec.spec.lifecycle)
            .map(|stored| stored.spec.phases.clone())
            .unwrap_or_default();
        for environment in phases.into_iter().flat_map(|phase| phase.environments) {
            if !ordered.contains(&environment) {
                ordered.push(environment);
            }
        }
    }
    for stored in state.store.environments().await? {
        if !ordered.contains(&stored.spec.name) {
            ordered.push(stored.spec.name);
        }
    }
    Ok(ordered)
}

fn status_of(status: ferry_core::DeploymentStatus) -> (&'static str, String) {
    (status.as_str(), status.as_str().replace('_', " "))
}

async fn render(
    state: &AppState,
    viewer: &Viewer,
    name: &Name,
    environment: Option<Name>,
    done: &str,
    refused: Option<(String, Vec<(String, String)>)>,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let record = state.store.train(name).await?;
    let environments = environments(state, &record).await?;
    let environment = match environment {
        Some(environment) if environments.contains(&environment) => environment,
        Some(environment) => {
            return Err(ApiError::NotFound(format!(
                "there is no environment {environment}"
            )));
        }
        None => environments
            .first()
            .cloned()
            .ok_or_else(|| ApiError::NotFound("there are no environments yet".into()))?,
    };
    let check = trains::check(state, name, &environment).await?;
    let checks = check
        .members
        .iter()
        .map(|checked| Check {
            member: member(&checked.release),
            allowed: checked.verdict.allowed,
            blockers: checked
                .verdict
                .blockers
                .iter()
                .map(|finding| (finding.message.clone(), finding.clear.clone()))
                .collect(),
            warnings: checked
                .verdict
                .warnings
                .iter()
                .map(|finding| finding.message.clone())
                .collect(),
        })
        .collect();
    let view = trains::view(state, record.clone(), true).await?;
    let running = view
        .runs
        .iter()
        .find(|run| run.status == RunStatus::Running)
        .map(|run| (run.id, run.environment.to_string()));
    let may_promote = running.is_none()
        && trains::may_promote(state, &viewer.caller(), &record, &environment).await?;
    let runs = view
        .runs
        .iter()
        .map(|run| Run {
            id: run.id,
            environment: run.environment.to_string(),
            status: run.status.as_str(),
            reason: run.reason.clone(),
            created_by: run.created_by.clone(),
            at: run.created_at.to_rfc3339(),
            at_shown: run.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            members: run
                .members
                .iter()
                .map(|part| RunMember {
                    member: member(&part.release),
                    deployment: part.deployment.zip(part.status).map(|(id, status)| {
                        let (class, label) = status_of(status);
                        (id, class, label)
                    }),
                    rollback: part.rollback.zip(part.rollback_status).map(|(id, status)| {
                        let (class, label) = status_of(status);
                        (id, class, label)
                    }),
                })
                .collect(),
        })
        .collect();
    let message = match done {
        "promoted" => Some(format!(
            "Promoted: the train is on its way into {environment}, one member after the other."
        )),
        _ => None,
    };
    Ok(page::send(
        status,
        &TrainPage {
            frame: Frame::of(viewer),
            name: view.name.to_string(),
            created_by: view.created_by,
            created_at: view.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            members: view.members.iter().map(|release| member(release)).collect(),
            environments: environments.iter().map(ToString::to_string).collect(),
            environment: environment.to_string(),
            checks,
            allowed: check.allowed,
            may_promote,
            running,
            runs,
            plan: view.plan.is_some(),
            message,
            refused,
        },
    ))
}

/// The Promote form: its CSRF token and the environment.
#[derive(Debug, Deserialize)]
pub struct PromoteForm {
    csrf: String,
    #[serde(default)]
    environment: String,
}

impl Protected for PromoteForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /trains/{name}/promote`: promotes the train into the environment.
/// A refusal by the gates shows the train's page again (409), every
/// blocker named with its member.
pub async fn promote(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Posted { viewer, form }: Posted<PromoteForm>,
) -> Response {
    let promoted = async {
        let name = crate::convert::name("train", &name)?;
        let environment = crate::convert::name("environment", form.environment.trim())?;
        match trains::promote(&state, &viewer.caller(), &name, &environment).await {
            Ok(_) => Ok(Redirect::to(&format!(
                "/trains/{name}?environment={}&done=promoted",
                percent_encode(environment.as_str())
            ))
            .into_response()),
            Err(ApiError::GateBlocked { detail, blockers }) => {
                let blockers = blockers
                    .into_iter()
                    .map(|finding| (finding.message, finding.clear))
                    .collect();
                render(
                    &state,
                    &viewer,
                    &name,
                    Some(environment),
                    "",
                    Some((detail, blockers)),
                    StatusCode::CONFLICT,
                )
                .await
            }
            Err(error) => Err(error),
        }
    };
    promoted
        .await
        .unwrap_or_else(|error| refusal(&viewer, error))
}
