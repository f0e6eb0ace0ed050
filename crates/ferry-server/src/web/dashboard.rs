//! The dashboard: the environment × service matrix, filtered by service,
//! environment and state, the filters kept in the address.

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use std::collections::{HashMap, HashSet};

use ferry_core::Name;
use ferry_core::change::ChangeState;
use ferry_core::status::{Cell, CellDeployment, Pending, pending_promotions};
use ferry_store::changes::ChangeFilter;
use ferry_store::gate_facts::GateContext;
use futures_util::{StreamExt as _, TryStreamExt as _};

use crate::error::ApiError;
use serde::Deserialize;

use super::locks::{self, LockView};
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
    /// What a form of the page just did (`locked`, `unlocked`).
    #[serde(default)]
    done: String,
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
    /// Whether this service is locked on its own in this environment.
    locked: bool,
}

struct Shown {
    version: String,
    /// The state's name (`rolled_back`), for the colour.
    state: &'static str,
    /// The state for people (`rolled back`).
    label: String,
    at: String,
    deployment: i64,
    /// Whether this version is marked bad in the cell's environment.
    marked_bad: bool,
}

impl Shown {
    fn of(deployment: &CellDeployment, marked_bad: bool) -> Self {
        let state = deployment.status.as_str();
        Self {
            version: deployment.version.clone(),
            state,
            label: state.replace('_', " "),
            at: deployment.at.clone(),
            deployment: deployment.deployment_id,
            marked_bad,
        }
    }
}

/// A release marked bad in an environment, as the dashboard lists it.
struct Marked {
    service: String,
    version: String,
    environment: String,
    reason: String,
    marked_by: String,
    /// When, as RFC 3339 and for people.
    at: String,
    at_shown: String,
}

struct Row {
    service: String,
    cells: Vec<CellView>,
}

/// A deployment under way.
struct Moving {
    id: i64,
    service: String,
    version: String,
    environment: String,
    state: &'static str,
    label: String,
}

/// A change request waiting for a decision.
struct Waiting {
    id: i64,
    title: String,
    state: &'static str,
    service: String,
    environment: String,
}

/// How many items each list of the dashboard shows at most.
const LISTED: usize = 50;

/// How many versions waiting to move on are listed, each judged by the
/// gates for its first blocker (the rest are counted).
const WAITING_LISTED: usize = 20;

/// How many waiting versions are judged at once.
const JUDGED_AT_ONCE: usize = 8;

/// How many releases marked bad are listed (the rest are counted).
const MARKED_LISTED: usize = 20;

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    /// The next deployment window and freeze of the coming month, said
    /// for people.
    coming: Vec<String>,
    moving: Vec<Moving>,
    pending: Vec<(Pending, Option<String>)>,
    pending_more: usize,
    changes: Vec<Waiting>,
    marked: Vec<Marked>,
    marked_more: usize,
    locks: Vec<LockView>,
    /// The environments the Lock form offers (none: no form).
    lockable: Vec<String>,
    message: Option<&'static str>,
    frame: Frame,
    environments: Vec<String>,
    /// The matrix's columns: each environment shown, and whether it is
    /// locked as a whole.
    shown_environments: Vec<(String, bool)>,
    rows: Vec<Row>,
    services: usize,
    /// Every service, for the Lock form.
    service_names: Vec<String>,
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
    let read = match read_all(&state, &viewer).await {
        Ok(read) => read,
        Err(error) => return axum::response::IntoResponse::into_response(error),
    };
    let Read {
        status,
        locks,
        in_force,
        moving,
        by_service,
        context,
        changes,
        coming,
    } = read;
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
    // (release, environment) of each mark in force, for the cells.
    let bad: HashSet<(String, String)> = in_force
        .iter()
        .map(|record| {
            (
                record.release.to_string(),
                record.mark.environment.to_string(),
            )
        })
        .collect();
    let is_bad = |service: &Name, environment: &Name, deployment: &CellDeployment| {
        bad.contains(&(
            format!("{service}@{}", deployment.version),
            environment.to_string(),
        ))
    };
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
                    current: cell.current.as_ref().map(|deployment| {
                        Shown::of(
                            deployment,
                            is_bad(&cell.service, &cell.environment, deployment),
                        )
                    }),
                    latest: cell.latest.as_ref().map(|deployment| {
                        Shown::of(
                            deployment,
                            is_bad(&cell.service, &cell.environment, deployment),
                        )
                    }),
                    locked: locks.services.iter().any(|(service, environment)| {
                        service == cell.service.as_str() && environment == cell.environment.as_str()
                    }),
                })
                .collect(),
        })
        .collect();
    let marked_more = in_force.len().saturating_sub(MARKED_LISTED);
    let marked = in_force
        .into_iter()
        .take(MARKED_LISTED)
        .map(|record| {
            let (service, version) = (
                record.release.service.to_string(),
                record.release.version.to_string(),
            );
            Marked {
                service,
                version,
                environment: record.mark.environment.to_string(),
                reason: record.mark.reason,
                marked_by: record.mark.marked_by,
                at: record.mark.marked_at.to_rfc3339(),
                at_shown: record
                    .mark
                    .marked_at
                    .format("%Y-%m-%d %H:%M UTC")
                    .to_string(),
            }
        })
        .collect();
    let (pending, pending_more) =
        match waiting(&state, &context, &status, &by_service, &filters).await {
            Ok(waiting) => waiting,
            Err(error) => return axum::response::IntoResponse::into_response(error),
        };
    let message = match filters.done.as_str() {
        "locked" => Some("Locked: the promotions it holds wait until it is unlocked."),
        "unlocked" => Some("Unlocked: promotions may go there again."),
        _ => None,
    };
    let shown_environments = shown_environments
        .into_iter()
        .map(|environment| {
            let locked = locks.whole.contains(&environment);
            (environment, locked)
        })
        .collect();
    // The Lock form names the services, for those who may lock.
    let service_names = if locks.lockable.is_empty() {
        Vec::new()
    } else {
        status.services.clone()
    };
    page::send(
        StatusCode::OK,
        &DashboardPage {
            coming,
            moving,
            pending,
            pending_more,
            changes,
            marked,
            marked_more,
            locks: locks.listed,
            lockable: locks.lockable,
            message,
            frame: Frame::of(&viewer),
            environments,
            shown_environments,
            rows,
            services: status.services.len(),
            service_names,
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

/// What the dashboard reads: each part on its own, all at once.
struct Read {
    status: std::sync::Arc<ferry_api::Status>,
    locks: locks::Locks,
    in_force: Vec<ferry_store::marks::MarkRecord>,
    moving: Vec<Moving>,
    /// Each service's lifecycle, as its phases' environments.
    by_service: Vec<(Name, Vec<Vec<Name>>)>,
    /// What judging the waiting versions shares.
    context: GateContext,
    changes: Vec<Waiting>,
    coming: Vec<String>,
}

/// Reads everything the dashboard shows but the judgements of the waiting
/// versions, the independent reads at once.
async fn read_all(state: &AppState, viewer: &Viewer) -> Result<Read, ApiError> {
    let status = async { crate::overview::status(state, None).await };
    let in_force = async { Ok::<_, ApiError>(state.store.marks_in_force().await?) };
    let context = async { Ok::<_, ApiError>(state.store.gate_context().await?) };
    let (status, in_force, moving, by_service, context, changes, coming) = tokio::try_join!(
        status,
        in_force,
        moving(state),
        lifecycles_by_service(state),
        context,
        waiting_changes(state),
        coming(state),
    )?;
    let environments: Vec<String> = status
        .environments
        .iter()
        .map(|environment| environment.name.clone())
        .collect();
    let locks = locks::of(&context, viewer, &environments);
    Ok(Read {
        status,
        locks,
        in_force,
        moving,
        by_service,
        context,
        changes,
        coming,
    })
}

/// The newest deployments under way.
async fn moving(state: &AppState) -> Result<Vec<Moving>, ApiError> {
    Ok(state
        .store
        .deployments_under_way(LISTED as i64)
        .await?
        .into_iter()
        .map(|deployment| Moving {
            id: deployment.id,
            service: deployment.service,
            version: deployment.version,
            environment: deployment.environment,
            state: deployment.status.as_str(),
            label: deployment.status.as_str().replace('_', " "),
        })
        .collect())
}

/// Each service's lifecycle, as the environments of its phases.
async fn lifecycles_by_service(state: &AppState) -> Result<Vec<(Name, Vec<Vec<Name>>)>, ApiError> {
    let (lifecycles, services) =
        tokio::try_join!(state.store.lifecycles(), state.store.service_lifecycles())?;
    let lifecycles: HashMap<Name, Vec<Vec<Name>>> = lifecycles
        .into_iter()
        .map(|stored| {
            let phases = stored
                .spec
                .phases
                .into_iter()
                .map(|phase| phase.environments)
                .collect();
            (stored.spec.name, phases)
        })
        .collect();
    Ok(services
        .into_iter()
        .filter_map(|(service, lifecycle)| {
            let phases = lifecycles.get(&lifecycle)?.clone();
            Some((service, phases))
        })
        .collect())
}

/// The versions waiting to move on that the matrix's filters keep, the
/// first few with the gates' first blocker, and how many more there are.
async fn waiting(
    state: &AppState,
    context: &GateContext,
    status: &ferry_api::Status,
    by_service: &[(Name, Vec<Vec<Name>>)],
    filters: &Filters,
) -> Result<(Vec<(Pending, Option<String>)>, usize), ApiError> {
    let mut pending = pending_promotions(&status.cells, by_service);
    // The filters of the matrix apply: a service's name, the environment
    // it would go to.
    let needle = filters.service.trim().to_lowercase();
    pending.retain(|next| {
        (needle.is_empty() || next.service.as_str().contains(&needle))
            && (filters.environment.is_empty() || next.to.as_str() == filters.environment)
    });
    let pending_more = pending.len().saturating_sub(WAITING_LISTED);
    pending.truncate(WAITING_LISTED);
    // What stops each from moving on: the gates' first blocker, several
    // judged at once (each is a few independent reads), in the list's order.
    let now = chrono::Utc::now();
    let pending = futures_util::stream::iter(pending)
        .map(|next| async move {
            let blocker = match semver::Version::parse(&next.version) {
                Ok(version) => {
                    let promotion = crate::control::Promotion {
                        service: &next.service,
                        version: &version,
                        environment: &next.to,
                        at: now,
                        emergency_reason: None,
                    };
                    crate::control::judge_in(state, context, &promotion)
                        .await?
                        .blockers
                        .first()
                        .map(|finding| finding.message.clone())
                }
                Err(_) => None,
            };
            Ok::<_, ApiError>((next, blocker))
        })
        .buffered(JUDGED_AT_ONCE)
        .try_collect()
        .await?;
    Ok((pending, pending_more))
}

/// The change requests waiting for a decision, oldest state first.
async fn waiting_changes(state: &AppState) -> Result<Vec<Waiting>, ApiError> {
    let mut changes = Vec::new();
    for waiting in [ChangeState::Submitted, ChangeState::Assessed] {
        let filter = ChangeFilter {
            state: Some(waiting),
            ..ChangeFilter::default()
        };
        changes.extend(
            state
                .store
                .changes(filter)
                .await?
                .into_iter()
                .map(|change| Waiting {
                    id: change.id,
                    title: change.title,
                    state: change.state.as_str(),
                    service: change.service,
                    environment: change.environment,
                }),
        );
    }
    changes.truncate(LISTED);
    Ok(changes)
}

/// How often an open dashboard's stream looks for changed deployments.
const LOOK_EVERY: std::time::Duration = std::time::Duration::from_millis(500);

/// `GET /dashboard/stream`: a `changed` event whenever a deployment is
/// recorded or changes state (looked for every half second, so a change made
/// by any replica shows), and a `ping` every 15 seconds.
pub async fn stream(
    State(state): State<AppState>,
    _viewer: Viewer,
) -> axum::response::sse::Sse<
    impl futures_util::Stream<Item = Result<axum::response::sse::Event, std::convert::Infallible>>,
> {
    use axum::response::sse::{Event, KeepAlive, Sse};
    let first = state.store.deployments_stamp().await.unwrap_or_default();
    let events = futures_util::stream::unfold((state, first), |(state, seen)| async move {
        loop {
            tokio::time::sleep(LOOK_EVERY).await;
            // A database that does not answer is tried again: the page
            // keeps what it shows meanwhile.
            let Ok(now) = state.store.deployments_stamp().await else {
                continue;
            };
            if now != seen {
                let event = Event::default().event("changed").data(now.clone());
                return Some((Ok(event), (state, now)));
            }
        }
    });
    Sse::new(events).keep_alive(
        KeepAlive::new()
            .interval(std::time::Duration::from_secs(15))
            .event(Event::default().event("ping").data("")),
    )
}

/// The next deployment window and the next freeze within thirty days.
async fn coming(state: &AppState) -> Result<Vec<String>, ApiError> {
    let now = chrono::Utc::now();
    let entries = crate::calendar::entries(state, now, now + chrono::Duration::days(30)).await?;
    let mut coming = Vec::new();
    for (kind, what) in [("freeze", "Freeze"), ("window", "Window")] {
        if let Some(entry) = entries.iter().find(|entry| entry.kind == kind) {
            let when = if entry.start <= now {
                format!("now, until {}", entry.end.format("%Y-%m-%d %H:%M UTC"))
            } else {
                format!("from {}", entry.start.format("%Y-%m-%d %H:%M UTC"))
            };
            coming.push(format!("{what}: {} ({when})", entry.title));
        }
    }
    Ok(coming)
}
