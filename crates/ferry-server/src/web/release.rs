//! A release's page: its notes, commits and artifacts, and for each
//! environment of its lifecycle the gates' verdict (every blocker with how
//! to clear it), the risk, the evidence and the decisions, with the
//! Approve, Reject and Promote buttons of those whose roles allow them.
//! Its bad marks (where it was rolled back, and whether each was lifted),
//! with the Unmark form of those allowed.
//! The buttons post forms that go through the same application layer as
//! the API (`crate::promotion`, `crate::locking`), so a refusal reads the
//! same.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use ferry_core::Name;
use ferry_core::access::{Action, authorize};
use ferry_core::gates::{Decider, Duties};
use ferry_core::notes::write_html;
use ferry_store::deployments::DeploymentFilter;
use serde::Deserialize;

use super::page::{self, Frame, refusal};
use super::posted::{Posted, Protected};
use super::session::Viewer;
use crate::authorize;
use crate::control::{Promotion, commit_authors, judge};
use crate::error::ApiError;
use crate::promotion::{self, Decide, Promote, Promoted};
use crate::state::AppState;

/// One environment of the release's lifecycle, as the page shows it.
struct Stage {
    environment: String,
    allowed: bool,
    blockers: Vec<(String, String)>,
    warnings: Vec<String>,
    risk: String,
    risk_factors: Vec<String>,
    deployed: Option<String>,
    /// A deployment of this release there that has not ended: (id, state).
    under_way: Option<(i64, String)>,
    evidence: Vec<(String, bool, String)>,
    decisions: Vec<(String, bool, String)>,
    may_decide: bool,
    may_promote: bool,
}

/// An artifact as the page lists it.
struct Artifact {
    name: String,
    digest: String,
    /// Its size for people, when known.
    size: Option<String>,
    /// Where to download it: this server for a stored artifact, the
    /// reference itself for an `https://` one; `None` for an `oci://` one.
    href: Option<String>,
    /// The reference, for an artifact ferry does not store.
    reference: Option<String>,
}

/// A bad mark of the release, in force or lifted.
struct MarkRow {
    environment: String,
    reason: String,
    marked_by: String,
    /// When, as RFC 3339 and for people.
    at: String,
    at_shown: String,
    /// The deployment rolled back, if it is known.
    deployment: Option<i64>,
    /// Who lifted it, when (as RFC 3339 and for people) and why.
    lifted: Option<(String, String, String, String)>,
    /// Whether the viewer may lift it (it is in force).
    may_unmark: bool,
}

struct Commit {
    short: String,
    /// The commit's page at its repository, when the service names one.
    url: Option<String>,
    subject: String,
    authors: String,
}

#[derive(Template)]
#[template(path = "release.html")]
struct ReleasePage {
    frame: Frame,
    service: String,
    version: String,
    state: String,
    created_by: String,
    created_at: String,
    notes: String,
    /// The notes ferry writes from the commits, as an escaped HTML fragment.
    rendered: String,
    commits: Vec<Commit>,
    artifacts: Vec<Artifact>,
    stages: Vec<Stage>,
    marks: Vec<MarkRow>,
    /// How many of `marks` are in force.
    marks_in_force: usize,
    /// Its plan in a few words, when it has one.
    plan: Option<String>,
    message: Option<String>,
}

/// What the page says after a button did its work.
#[derive(Debug, Default, Deserialize)]
pub struct Done {
    #[serde(default)]
    done: String,
}

/// `GET /services/{service}/releases/{version}`.
pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((service, version)): Path<(String, String)>,
    done: Result<Query<Done>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let done = done.map(|Query(done)| done).unwrap_or_default();
    match render(&state, &viewer, &service, &version, &done.done).await {
        Ok(response) => response,
        Err(error) => refusal(&viewer, error),
    }
}

async fn render(
    state: &AppState,
    viewer: &Viewer,
    service: &str,
    version: &str,
    done: &str,
) -> Result<Response, ApiError> {
    let (service, version) = parse(service, version)?;
    let record = state.store.release(&service, &version).await?;
    let (notes, options, spec) = crate::release_notes::assemble(state, &service, &record).await?;
    let mut rendered = String::new();
    write_html(&mut rendered, &notes, &options)
        .map_err(|e| ApiError::Internal(format!("rendering the notes failed: {e}")))?;
    let repo = spec
        .as_ref()
        .map(|spec| spec.repo.clone())
        .filter(|repo| !repo.is_empty());
    let listed: Vec<Commit> = notes
        .commits
        .iter()
        .map(|commit| Commit {
            short: commit.id.chars().take(8).collect(),
            url: crate::release_notes::commit_url(repo.as_deref(), &commit.id),
            subject: commit.subject.clone(),
            authors: commit.authors.join(", "),
        })
        .collect();
    let lifecycle = spec.map(|spec| spec.lifecycle);
    let lifecycle = match lifecycle {
        Some(name) => state
            .store
            .lifecycles()
            .await?
            .into_iter()
            .find(|stored| stored.spec.name == name)
            .map(|stored| stored.spec),
        None => None,
    };
    let environments: Vec<Name> = lifecycle
        .map(|lifecycle| {
            lifecycle
                .phases
                .into_iter()
                .flat_map(|phase| phase.environments)
                .collect()
        })
        .unwrap_or_default();
    let caller = viewer.caller();
    let mut stages = Vec::with_capacity(environments.len());
    for environment in &environments {
        let promotion = Promotion {
            service: &service,
            version: &version,
            environment,
            at: Utc::now(),
            emergency_reason: None,
        };
        let (verdict, facts) = judge(state, &promotion).await?;
        let target = authorize::target(state, Some(&service), Some(environment)).await?;
        let may = |action| authorize(caller.actor(), &caller.rights, action, &target).is_ok();
        // Buttons only where they can work: deciding where the policy
        // counts decisions and separation of duties lets this person;
        // promoting where this release is neither there nor on its way.
        let name = format!("{service}@{version}");
        let authors = commit_authors(&facts.people, &notes.commits);
        let duties = Duties::new(
            &facts.environment,
            &name,
            &facts.release.created_by,
            &authors,
        );
        let decider = Decider {
            user: caller.actor(),
            email: viewer.user.email.as_deref(),
            groups: &caller.groups,
        };
        let counts_decisions = facts.environment.policy.approvals > 0;
        let may_decide = counts_decisions
            && may(Action::DecideRelease)
            && duties.refusal(decider, true).is_none();
        let filter = DeploymentFilter {
            service: Some(&service),
            environment: Some(environment),
        };
        let under_way = state
            .store
            .deployments(filter, None, 20)
            .await?
            .into_iter()
            .find(|d| d.version == version.to_string() && !d.status.is_finished())
            .map(|d| (d.id, d.status.as_str().replace('_', " ")));
        let deployed_here = facts
            .succeeded_in
            .iter()
            .any(|(name, _)| name == environment);
        stages.push(Stage {
            environment: environment.to_string(),
            allowed: verdict.allowed,
            blockers: verdict
                .blockers
                .iter()
                .map(|finding| (finding.message.clone(), finding.clear.clone()))
                .collect(),
            warnings: verdict
                .warnings
                .iter()
                .map(|finding| finding.message.clone())
                .collect(),
            risk: format!("{} ({})", verdict.risk.level, verdict.risk.score),
            risk_factors: verdict
                .risk
                .factors
                .iter()
                .map(|factor| format!("{} (+{})", factor.description, factor.points))
                .collect(),
            deployed: facts
                .succeeded_in
                .iter()
                .find(|(name, _)| name == environment)
                .map(|(_, at)| at.format("%Y-%m-%d %H:%M UTC").to_string()),
            under_way: under_way.clone(),
            evidence: facts
                .evidence
                .iter()
                .map(|e| (e.name.clone(), e.passed, e.summary.clone()))
                .collect(),
            decisions: facts
                .decisions
                .iter()
                .map(|d| (d.user.clone(), d.approve, d.comment.clone()))
                .collect(),
            may_decide,
            may_promote: may(Action::Promote) && under_way.is_none() && !deployed_here,
        });
    }
    let mut marks = Vec::new();
    for record in state.store.marks(&service, &version).await? {
        let mark = record.mark;
        let may_unmark = record.unmarked.is_none() && {
            let target = authorize::target(state, Some(&service), Some(&mark.environment)).await?;
            authorize(
                caller.actor(),
                &caller.rights,
                Action::UnmarkRelease,
                &target,
            )
            .is_ok()
        };
        marks.push(MarkRow {
            environment: mark.environment.to_string(),
            reason: mark.reason,
            marked_by: mark.marked_by,
            at: mark.marked_at.to_rfc3339(),
            at_shown: mark.marked_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            deployment: mark.deployment,
            lifted: record.unmarked.map(|lifted| {
                (
                    lifted.by,
                    lifted.at.to_rfc3339(),
                    lifted.at.format("%Y-%m-%d %H:%M UTC").to_string(),
                    lifted.reason,
                )
            }),
            may_unmark,
        });
    }
    let marks_in_force = marks.iter().filter(|mark| mark.lifted.is_none()).count();
    let plan = state
        .store
        .release_plan(&service, &version)
        .await?
        .map(super::plan::summary);
    let message = match done {
        "unmarked" => Some("Unmarked: it may be promoted there again.".to_owned()),
        "approved" => Some("Approved.".to_owned()),
        "rejected" => Some("Rejected.".to_owned()),
        "promoted" => Some("Promoted: the deployment is on its way.".to_owned()),
        "underway" => Some("It was on its way there already.".to_owned()),
        _ => None,
    };
    Ok(page::send(
        StatusCode::OK,
        &ReleasePage {
            frame: Frame::of(viewer),
            service: service.to_string(),
            version: version.to_string(),
            state: record.state.as_str().to_owned(),
            created_by: record.created_by,
            created_at: record.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            notes: record.notes,
            commits: listed,
            rendered,
            artifacts: record
                .artifacts
                .iter()
                .map(|artifact| Artifact {
                    name: artifact.name.clone(),
                    digest: artifact.digest.clone(),
                    size: artifact.size.map(human_size),
                    href: match &artifact.uri {
                        None => Some(format!(
                            "/services/{service}/releases/{version}/artifacts/{}",
                            super::percent_encode(&artifact.name)
                        )),
                        Some(uri) if uri.starts_with("https://") => Some(uri.clone()),
                        Some(_) => None,
                    },
                    reference: artifact.uri.clone(),
                })
                .collect(),
            stages,
            marks,
            marks_in_force,
            plan,
            message,
        },
    ))
}

/// `bytes` for people: `512 B`, `4.0 KiB`, `1.5 MiB`, `2.0 GiB`.
fn human_size(bytes: i64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut size = bytes as f64 / 1024.0;
    let mut unit = 0;
    while size >= 1024.0 && unit + 1 < UNITS.len() {
        size /= 1024.0;
        unit += 1;
    }
    format!("{size:.1} {}", UNITS[unit])
}

/// `GET /services/{service}/releases/{version}/artifacts/{name}`: the
/// bytes of a stored artifact, with their digest in the headers.
pub async fn download(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((service, version, artifact)): Path<(String, String, String)>,
) -> Response {
    let release = match parse(&service, &version) {
        Ok((service, version)) => state.store.release(&service, &version).await,
        Err(error) => return refusal(&viewer, error),
    };
    let response = match release {
        Ok(release) => {
            crate::routes::artifacts::artifact_response(&state, &release, &artifact).await
        }
        Err(error) => Err(error.into()),
    };
    response.unwrap_or_else(|error| refusal(&viewer, error))
}

/// The service and version of a page's address.
fn parse(service: &str, version: &str) -> Result<(Name, semver::Version), ApiError> {
    let service = crate::convert::name("service", service)?;
    let version = crate::convert::version(version)?;
    Ok((service, version))
}

/// A button's form: its CSRF token, the environment, and for a decision
/// its comment.
#[derive(Debug, Deserialize)]
pub struct ActionForm {
    csrf: String,
    environment: String,
    #[serde(default)]
    comment: String,
}

impl Protected for ActionForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /services/{service}/releases/{version}/approve`.
pub async fn approve(
    state: State<AppState>,
    path: Path<(String, String)>,
    posted: Posted<ActionForm>,
) -> Response {
    decide(state, path, posted, true).await
}

/// `POST /services/{service}/releases/{version}/reject`.
pub async fn reject(
    state: State<AppState>,
    path: Path<(String, String)>,
    posted: Posted<ActionForm>,
) -> Response {
    decide(state, path, posted, false).await
}

async fn decide(
    State(state): State<AppState>,
    Path((service, version)): Path<(String, String)>,
    Posted { viewer, form }: Posted<ActionForm>,
    approve: bool,
) -> Response {
    let decided = async {
        let (service, version) = parse(&service, &version)?;
        let environment = crate::convert::name("environment", &form.environment)?;
        let decision = Decide {
            service: &service,
            version: &version,
            environment: &environment,
            approve,
            comment: &form.comment,
        };
        promotion::decide(&state, &viewer.caller(), decision).await
    };
    match decided.await {
        Ok(_) => {
            let done = if approve { "approved" } else { "rejected" };
            Redirect::to(&format!(
                "/services/{service}/releases/{version}?done={done}"
            ))
            .into_response()
        }
        Err(error) => refusal(&viewer, error),
    }
}

/// `POST /services/{service}/releases/{version}/promote`.
pub async fn promote(
    State(state): State<AppState>,
    Path((service, version)): Path<(String, String)>,
    Posted { viewer, form }: Posted<ActionForm>,
) -> Response {
    let promoted = async {
        let (service, version) = parse(&service, &version)?;
        let environment = crate::convert::name("environment", &form.environment)?;
        let request = Promote {
            service: &service,
            version: &version,
            environment: &environment,
            at: None,
            emergency_reason: None,
        };
        promotion::promote(&state, &viewer.caller(), request).await
    };
    match promoted.await {
        Ok(promoted) => {
            let done = match promoted {
                Promoted::Created(_) => "promoted",
                Promoted::AlreadyUnderWay(_) => "underway",
            };
            Redirect::to(&format!(
                "/services/{service}/releases/{version}?done={done}"
            ))
            .into_response()
        }
        Err(error) => refusal(&viewer, error),
    }
}

/// The Unmark form: the environment whose mark is lifted, and why.
#[derive(Debug, Deserialize)]
pub struct UnmarkForm {
    csrf: String,
    #[serde(default)]
    environment: String,
    #[serde(default)]
    reason: String,
}

impl Protected for UnmarkForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /services/{service}/releases/{version}/unmark`: lifts the
/// release's bad mark in an environment.
pub async fn unmark(
    State(state): State<AppState>,
    Path((service, version)): Path<(String, String)>,
    Posted { viewer, form }: Posted<UnmarkForm>,
) -> Response {
    let unmarked = async {
        let (service, version) = parse(&service, &version)?;
        let environment = crate::convert::name("environment", form.environment.trim())?;
        crate::locking::unmark(
            &state,
            &viewer.caller(),
            &service,
            &version,
            &environment,
            &form.reason,
        )
        .await
    };
    match unmarked.await {
        Ok(_) => Redirect::to(&format!(
            "/services/{service}/releases/{version}?done=unmarked"
        ))
        .into_response(),
        Err(error) => refusal(&viewer, error),
    }
}
