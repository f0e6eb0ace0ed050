//! A deployment's page: its state, batches and targets with each step's
//! exit code and time and the health check, the rollback it caused or
//! undid, the log (live while it runs), and the Cancel and Roll back buttons
//! of those whose roles allow them. A deployment that waits for a person
//! (a manual step, a canary stage, a failure) says what it waits for, with
//! a button per decision that answers it for those who may decide
//! (`crate::deployments::decide`). A deployment with a post-implementation
//! review shows it, with the form that completes it for those allowed
//! (`super::reviews`).
//!
//! The log is in the page as it was when the page was made; while the
//! deployment runs, a small script follows it by server-sent events
//! (`/deployments/{id}/log/stream`: the events of the API's stream, with a
//! `ping` every 15 seconds), resuming where it stopped, and falls back to
//! asking `/deployments/{id}/log?after=N` every two seconds when the events
//! do not arrive (a proxy that buffers them). Without JavaScript, reloading
//! the page shows the new lines.

use std::convert::Infallible;
use std::time::Duration;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use ferry_api::{Deployment, LogLine};
use ferry_core::access::{Action, authorize};
use ferry_core::process::{Decision, PauseKind, is_approver};
use ferry_store::logs::MAX_LINES;
use futures_util::stream::Stream;
use serde::Deserialize;

use super::page::{self, Frame, refusal};
use super::posted::{Button, Posted, Protected};
use super::session::Viewer;
use crate::convert::{id as parse_id, name};
use crate::error::ApiError;
use crate::routes::log_line;
use crate::state::AppState;

/// How often the live log says it is still there, so that the page can
/// tell a quiet deployment from a proxy that holds the events back.
const PING: Duration = Duration::from_secs(15);

struct Step {
    name: String,
    outcome: String,
    failed: bool,
    seconds: String,
}

struct Target {
    target: String,
    batch: i64,
    state: String,
    steps: Vec<Step>,
    health: Option<(bool, String)>,
    error: Option<String>,
}

/// What a paused deployment waits for, as the page shows it.
struct Paused {
    /// `manual`, `canary` or `failure`.
    kind: &'static str,
    /// What it waits for, in a sentence.
    what: String,
    /// The manual step's instructions.
    instructions: Option<String>,
    /// Who may continue a manual step (empty: whoever may decide).
    approvers: Vec<String>,
    /// The targets that failed.
    failed: Vec<String>,
    /// The decisions the viewer may take: (name, button label).
    decisions: Vec<(&'static str, &'static str)>,
    /// Whether the viewer may decide on deployments there but, at a
    /// manual step, is not one of its approvers (so has no button).
    not_an_approver: bool,
}

#[derive(Template)]
#[template(path = "deployment.html")]
struct DeploymentPage {
    frame: Frame,
    deployment: Deployment,
    status: &'static str,
    label: String,
    finished: bool,
    progress: Option<String>,
    targets: Vec<Target>,
    lines: Vec<LogLine>,
    last_id: i64,
    more_lines: bool,
    may_cancel: bool,
    /// Who asked for it to stop after its current batch, while it runs on.
    cancel_asked_by: Option<String>,
    may_roll_back: bool,
    paused: Option<Paused>,
    message: Option<String>,
    /// Its post-implementation review, if it has one.
    review: Option<super::reviews::ReviewPanel>,
}

/// What the page says after a button did its work.
#[derive(Debug, Default, Deserialize)]
pub struct Done {
    #[serde(default)]
    done: String,
}

/// `GET /deployments/{id}`.
pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    done: Result<Query<Done>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let done = done.map(|Query(done)| done).unwrap_or_default();
    match render(&state, &viewer, &id, &done.done).await {
        Ok(response) => response,
        Err(error) => refusal(&viewer, error),
    }
}

async fn render(
    state: &AppState,
    viewer: &Viewer,
    id: &str,
    done: &str,
) -> Result<Response, ApiError> {
    let id = parse_id("deployment", id)?;
    let deployment = crate::deployments::full(state, id).await?;
    let lines = state.store.deployment_logs(id, 0, MAX_LINES).await?;
    let more_lines = lines.len() == MAX_LINES;
    let last_id = lines.last().map_or(0, |line| line.id);
    let service = name("service", &deployment.service)?;
    let environment = name("environment", &deployment.environment)?;
    let target = crate::authorize::target(state, Some(&service), Some(&environment)).await?;
    let caller = viewer.caller();
    let may = |action| authorize(caller.actor(), &caller.rights, action, &target).is_ok();
    let finished = deployment.status.is_finished();
    let status = deployment.status.as_str();
    let cancel_asked_by = deployment
        .progress
        .as_ref()
        .and_then(|progress| progress.cancel_requested_by.clone())
        .filter(|_| !finished);
    let progress = deployment.progress.as_ref().map(|progress| {
        format!(
            "batch {} of {} (sizes {})",
            progress.batch + 1,
            progress.batches,
            progress
                .batch_sizes
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )
    });
    let targets = deployment
        .targets
        .iter()
        .map(|target| Target {
            target: target.target.clone(),
            batch: target.batch + 1,
            state: target.state.clone(),
            steps: target
                .steps
                .iter()
                .map(|step| Step {
                    name: step.name.clone(),
                    outcome: match (step.timed_out, step.exit_code) {
                        (true, _) => "timed out".to_owned(),
                        (false, Some(code)) => format!("exit {code}"),
                        (false, None) => "killed".to_owned(),
                    },
                    failed: step.timed_out || step.exit_code != Some(0),
                    seconds: format!("{:.1} s", step.seconds),
                })
                .collect(),
            health: target
                .health
                .as_ref()
                .map(|health| (health.healthy, health.last.clone())),
            error: target.error.clone(),
        })
        .collect();
    let paused = deployment.pause.as_ref().map(|pause| {
        let approver = is_approver(&pause.approvers, caller.actor(), &caller.groups);
        let may_decide = may(Action::ContinueDeployment);
        // At a manual step, only its approvers decide (either way).
        let answers = may_decide && (pause.kind != PauseKind::Manual || approver);
        let step = pause.step.as_deref().unwrap_or_default();
        Paused {
            kind: match pause.kind {
                PauseKind::Manual => "manual",
                PauseKind::Canary => "canary",
                PauseKind::Failure => "failure",
            },
            what: match pause.kind {
                PauseKind::Manual => format!(
                    "It waits at the manual step “{step}” of batch {}: once it is done, continue; or abort.",
                    pause.batch + 1
                ),
                PauseKind::Canary => format!(
                    "It waits after canary stage {} for a person to continue to the next stage, or to abort.",
                    pause.batch + 1
                ),
                PauseKind::Failure => format!(
                    "More targets failed in batch {} than it tolerates: retry them, go on without them, or roll back.",
                    pause.batch + 1
                ),
            },
            instructions: pause.instructions.clone(),
            approvers: pause.approvers.clone(),
            failed: pause.failed.clone(),
            decisions: if answers {
                pause
                    .decisions
                    .iter()
                    .map(|decision| (decision.as_str(), decision_label(*decision)))
                    .collect()
            } else {
                Vec::new()
            },
            not_an_approver: may_decide && !answers,
        }
    });
    let review = super::reviews::panel(state, viewer, &deployment).await?;
    let message = match done {
        "cancelled" if finished => Some("Cancelled.".to_owned()),
        "reviewed" => Some("Review completed.".to_owned()),
        done => parse_decision(done).ok().map(|decision| {
            match decision {
                Decision::Continue => "Continued: the deployment goes on.",
                Decision::Abort => {
                    "Aborted: the deployment failed, and its rollback policy applies."
                }
                Decision::Retry => "Retrying the failed targets.",
                Decision::Skip => "Going on without the failed targets.",
                Decision::Rollback => {
                    "Rolling back: the previous release goes back on the targets changed."
                }
            }
            .to_owned()
        }),
    };
    Ok(page::send(
        StatusCode::OK,
        &DeploymentPage {
            frame: Frame::of(viewer),
            status,
            label: status.replace('_', " "),
            finished,
            progress,
            targets,
            lines: lines.into_iter().map(log_line).collect(),
            last_id,
            more_lines,
            may_cancel: !finished && cancel_asked_by.is_none() && may(Action::CancelDeployment),
            cancel_asked_by,
            // A rollback is not offered for rolling back: that would put back
            // the release it just took away.
            may_roll_back: may(Action::Rollback) && deployment.rollback_of.is_none(),
            paused,
            message,
            review,
            deployment,
        },
    ))
}

/// Where the live log resumes.
#[derive(Debug, Default, Deserialize)]
pub struct After {
    #[serde(default)]
    after: i64,
}

/// `GET /deployments/{id}/log/stream`: the live log, as server-sent events.
pub async fn stream(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    after: Result<Query<After>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, Response> {
    let id = parse_id("deployment", &id).map_err(|error| refusal(&viewer, error))?;
    state
        .store
        .deployment(id)
        .await
        .map_err(|error| refusal(&viewer, error.into()))?;
    let resume = headers
        .get("last-event-id")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<i64>().ok());
    let after = resume
        .or(after.ok().map(|Query(after)| after.after))
        .unwrap_or(0);
    Ok(
        Sse::new(crate::log_follow::events(state, id, after)).keep_alive(
            KeepAlive::new()
                .interval(PING)
                .event(Event::default().event("ping").data("")),
        ),
    )
}

/// `GET /deployments/{id}/log?after=N`: the lines after `N` and the status,
/// for a page whose events do not arrive.
pub async fn lines(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    after: Result<Query<After>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let after = after.map(|Query(after)| after.after).unwrap_or(0);
    let read = async {
        let id = parse_id("deployment", &id)?;
        let status = state.store.deployment(id).await?.status;
        let lines = state.store.deployment_logs(id, after, MAX_LINES).await?;
        Ok::<_, ApiError>(ferry_api::LogPage {
            ended: status.is_finished() && lines.len() < MAX_LINES,
            status,
            last_id: lines.last().map_or(after, |line| line.id),
            lines: lines.into_iter().map(log_line).collect(),
        })
    };
    match read.await {
        Ok(page) => axum::Json(page).into_response(),
        Err(error) => refusal(&viewer, error),
    }
}

/// `POST /deployments/{id}/cancel`.
pub async fn cancel(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { viewer, .. }: Posted<Button>,
) -> Response {
    let cancelled = async {
        let id = parse_id("deployment", &id)?;
        crate::deployments::cancel(&state, &viewer.caller(), id).await
    };
    match cancelled.await {
        Ok((outcome, deployment)) => {
            let done = match outcome {
                ferry_store::progress::CancelOutcome::Cancelled => "cancelled",
                _ => "cancelling",
            };
            Redirect::to(&format!("/deployments/{}?done={done}", deployment.id)).into_response()
        }
        Err(error) => refusal(&viewer, error),
    }
}

/// `POST /deployments/{id}/rollback`: puts back the release that succeeded
/// in the deployment's environment before it.
pub async fn roll_back(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { viewer, .. }: Posted<Button>,
) -> Response {
    let rolled_back = async {
        let id = parse_id("deployment", &id)?;
        let deployment = state.store.deployment(id).await?;
        let service = name("service", &deployment.service)?;
        let environment = name("environment", &deployment.environment)?;
        crate::deployments::roll_back(&state, &viewer.caller(), &service, &environment, None, None)
            .await
    };
    match rolled_back.await {
        Ok(rollback) => Redirect::to(&format!("/deployments/{}", rollback.id)).into_response(),
        Err(error) => refusal(&viewer, error),
    }
}

/// A decision's name on its button.
fn decision_label(decision: Decision) -> &'static str {
    match decision {
        Decision::Continue => "Continue",
        Decision::Abort => "Abort",
        Decision::Retry => "Retry",
        Decision::Skip => "Skip",
        Decision::Rollback => "Roll back",
    }
}

/// The decision a button names, or a 422 naming those there are.
fn parse_decision(text: &str) -> Result<Decision, ApiError> {
    Decision::parse(text).map_err(|why| ApiError::Unprocessable(format!("decision: {why}")))
}

/// The decision form: the button pressed and an optional comment.
#[derive(Debug, Deserialize)]
pub struct DecisionForm {
    csrf: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    comment: String,
}

impl Protected for DecisionForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /deployments/{id}/decide`: a person's decision on a paused
/// deployment (continue, abort, retry, skip, roll back).
pub async fn decide(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { viewer, form }: Posted<DecisionForm>,
) -> Response {
    let decided = async {
        let id = parse_id("deployment", &id)?;
        let decision = parse_decision(form.decision.trim())?;
        crate::deployments::decide(&state, &viewer.caller(), id, decision, &form.comment).await?;
        Ok::<_, ApiError>((id, decision))
    };
    match decided.await {
        Ok((id, decision)) => {
            Redirect::to(&format!("/deployments/{id}?done={decision}")).into_response()
        }
        Err(error) => refusal(&viewer, error),
    }
}
