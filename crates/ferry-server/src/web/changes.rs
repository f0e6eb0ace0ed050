//! Change requests: the list, filtered by state and service (kept in the
//! address), and a change's page with its state machine drawn and its
//! current state marked, its conflicts with other changes highlighted, and a
//! form for each step it may take next that the viewer's roles allow.

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use ferry_api::{ChangeActionBody, ChangeRequest};
use ferry_core::access::{Action, authorize};
use ferry_core::change::{ChangeAction, ChangeState, allowed_actions};
use ferry_store::changes::ChangeFilter;
use serde::Deserialize;

use super::page::{self, Frame, refusal};
use super::posted::{Posted, Protected};
use super::session::Viewer;
use crate::error::ApiError;
use crate::routes::change_wire;
use crate::state::AppState;

/// The list's filters, as the address has them.
#[derive(Debug, Default, Deserialize)]
pub struct Filters {
    #[serde(default)]
    state: String,
    #[serde(default)]
    service: String,
}

#[derive(Template)]
#[template(path = "changes.html")]
struct ChangesPage {
    frame: Frame,
    filters: Filters,
    states: Vec<&'static str>,
    changes: Vec<ChangeRequest>,
    error: Option<String>,
}

/// `GET /changes`.
pub async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    filters: Result<Query<Filters>, QueryRejection>,
) -> Response {
    let filters = filters.map(|Query(filters)| filters).unwrap_or_default();
    let wanted = match filters.state.as_str() {
        "" => Ok(None),
        text => ChangeState::parse(text).map(Some),
    };
    let (status, error, state_filter) = match wanted {
        Ok(wanted) => (StatusCode::OK, None, wanted),
        Err(error) => (StatusCode::UNPROCESSABLE_ENTITY, Some(error), None),
    };
    let all = match state.store.changes(ChangeFilter::default()).await {
        Ok(all) => all,
        Err(error) => return refusal(&viewer, error.into()),
    };
    let needle = filters.service.trim().to_lowercase();
    let changes = all
        .iter()
        .filter(|change| state_filter.is_none_or(|wanted| change.state == wanted))
        .filter(|change| needle.is_empty() || change.service.to_lowercase().contains(&needle))
        .rev()
        .map(|change| change_wire(change.clone(), &all))
        .collect();
    page::send(
        status,
        &ChangesPage {
            frame: Frame::of(&viewer),
            filters,
            states: ChangeState::ALL
                .iter()
                .map(|state| state.as_str())
                .collect(),
            changes,
            error,
        },
    )
}

/// A step the viewer may take next, as its form shows it.
struct Step {
    action: &'static str,
    label: String,
}

#[derive(Template)]
#[template(path = "change.html")]
struct ChangePage {
    frame: Frame,
    change: ChangeRequest,
    states: Vec<(&'static str, bool)>,
    steps: Vec<Step>,
    message: Option<String>,
}

/// What the page says after a step was taken.
#[derive(Debug, Default, Deserialize)]
pub struct Done {
    #[serde(default)]
    done: String,
}

/// `GET /changes/{id}`.
pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    done: Result<Query<Done>, QueryRejection>,
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
    let id = crate::convert::id("change request", id)?;
    let record = state.store.change(id).await?;
    let all = state.store.changes(ChangeFilter::default()).await?;
    let service = crate::convert::name("service", &record.service)?;
    let environment = crate::convert::name("environment", &record.environment)?;
    let target = crate::authorize::target(state, Some(&service), Some(&environment)).await?;
    let caller = viewer.caller();
    let raised_it = record.created_by == caller.actor();
    let steps = allowed_actions(record.kind, record.state)
        .into_iter()
        .filter(|action| {
            authorize(
                caller.actor(),
                &caller.rights,
                Action::for_change(*action),
                &target,
            )
            .is_ok()
                && !(raised_it && Action::refuses_raiser(*action))
        })
        .map(|action| Step {
            action: action.as_str(),
            label: label(action).to_owned(),
        })
        .collect();
    let states = ChangeState::ALL
        .iter()
        .map(|candidate| (candidate.as_str(), *candidate == record.state))
        .collect();
    let message = ChangeAction::parse(done)
        .ok()
        .map(|action| format!("Done: {}.", label(action).to_lowercase()));
    Ok(page::send(
        StatusCode::OK,
        &ChangePage {
            frame: Frame::of(viewer),
            change: change_wire(record, &all),
            states,
            steps,
            message,
        },
    ))
}

/// A step's name on its button.
fn label(action: ChangeAction) -> &'static str {
    match action {
        ChangeAction::Submit => "Submit",
        ChangeAction::Assess => "Assess",
        ChangeAction::Approve => "Approve",
        ChangeAction::Reject => "Reject",
        ChangeAction::Defer => "Defer",
        ChangeAction::Schedule => "Schedule",
        ChangeAction::Implement => "Mark implemented",
        ChangeAction::Review => "Review",
        ChangeAction::Close => "Close",
    }
}

/// A step's form: its CSRF token and what the step needs.
#[derive(Debug, Deserialize)]
pub struct StepForm {
    csrf: String,
    #[serde(default)]
    risk: String,
    #[serde(default)]
    impact: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    window: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    notes: String,
}

impl Protected for StepForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

fn given(text: String) -> Option<String> {
    (!text.trim().is_empty()).then_some(text)
}

/// `POST /changes/{id}/{action}`.
pub async fn act(
    State(state): State<AppState>,
    Path((id, action)): Path<(String, String)>,
    Posted { viewer, form }: Posted<StepForm>,
) -> Response {
    let acted = async {
        let id = crate::convert::id("change request", &id)?;
        let action = ChangeAction::parse(&action).map_err(ApiError::NotFound)?;
        let body = ChangeActionBody {
            risk: given(form.risk),
            impact: given(form.impact),
            reason: given(form.reason),
            window: given(form.window),
            outcome: given(form.outcome),
            notes: given(form.notes),
        };
        crate::change_control::act(&state, &viewer.caller(), id, action, &body).await?;
        Ok::<_, ApiError>((id, action))
    };
    match acted.await {
        Ok((id, action)) => {
            Redirect::to(&format!("/changes/{id}?done={}", action.as_str())).into_response()
        }
        Err(error) => refusal(&viewer, error),
    }
}
