//! Agents: their tokens (for administrators), and the endpoints an agent
//! calls with its own token: hello, the next job (long poll), heartbeats and
//! the final report. An agent sees and reports only its own jobs.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ferry_api::{
    Agent, AgentArtifact, AgentHeartbeat, AgentHello, AgentJob, AgentStep, CreateAgentToken,
    CreatedAgentToken, FinishAck, FinishJob, HeartbeatAck, Page, Problem,
};
use ferry_core::process::DeployProcess;
use ferry_store::agents::AgentRecord;
use ferry_store::jobs::{FinishOutcome, JobRecord};
use serde::Deserialize;
use serde_json::json;

use crate::agent_auth::{AgentCaller, generate_agent_secret};
use crate::auth::Caller;
use crate::authorize::Reader;
use crate::convert::{name, version};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path, Query};
use crate::routes::whole;
use crate::state::AppState;
use ferry_core::access::{Action, Target};

/// The longest a `jobs/next` request waits for a job.
const MAX_WAIT_SECONDS: u64 = 30;
/// How often the process looks for pending jobs of the agents waiting on it
/// (one read for all of them), in case a wake-up was lost; it bounds the
/// wait for a job another replica made when its notification did not come.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);

fn agent(record: AgentRecord) -> Agent {
    Agent {
        id: record.id,
        name: record.name,
        environment: record.environment,
        tags: record.tags,
        created_at: record.created_at,
        last_seen_at: record.last_seen_at,
        revoked_at: record.revoked_at,
    }
}

fn check_tags(tags: &std::collections::BTreeMap<String, String>) -> Result<(), ApiError> {
    use ferry_core::limits;
    crate::convert::within_count(&limits::TAGS, "tags", tags.len())?;
    for (key, value) in tags {
        if key.trim().is_empty() {
            return Err(ApiError::Unprocessable(format!(
                "invalid tag {key:?}={value:?}: a tag's key cannot be empty"
            )));
        }
        crate::convert::within(&limits::TAG_KEY, &format!("tags.{key}"), key)?;
        crate::convert::within(&limits::TAG_VALUE, &format!("tags.{key}"), value)?;
    }
    Ok(())
}

/// Creates an agent and its token (administrators only). The secret is in
/// this response only; an agent that registers again with it keeps its row.
/// Without a name, one is made up (`agent-` and 8 hex digits).
#[utoipa::path(post, path = "/api/v1/agent-tokens", tag = "agents", security(("bearer" = [])), request_body = CreateAgentToken, responses(
    (status = 201, body = CreatedAgentToken),
    (status = 400, body = Problem, content_type = "application/problem+json"),
    (status = 401, body = Problem, content_type = "application/problem+json"),
    (status = 403, body = Problem, content_type = "application/problem+json"),
    (status = 404, description = "No such environment", body = Problem, content_type = "application/problem+json"),
    (status = 409, description = "The name is taken in the environment", body = Problem, content_type = "application/problem+json")
))]
pub async fn create_agent_token(
    State(state): State<AppState>,
    caller: Caller,
    Json(request): Json<CreateAgentToken>,
) -> ApiResult<(StatusCode, axum::Json<CreatedAgentToken>)> {
    let environment = request.environment.clone();
    caller
        .require(
            &state,
            Action::ManageAgents,
            &Target::environment(&environment, false),
        )
        .await?;
    let agent_name = match request.name.clone() {
        Some(name) => name,
        None => generated_name()?,
    };
    check_tags(&request.tags)?;
    let secret = generate_agent_secret()?;
    let record = state
        .store
        .register_agent(
            caller.actor(),
            &environment,
            &agent_name,
            &request.tags,
            &secret.hash,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(CreatedAgentToken {
            secret: secret.secret,
            agent: agent(record),
        }),
    ))
}

/// A name for an agent created without one.
fn generated_name() -> Result<ferry_core::Name, ApiError> {
    let mut bytes = [0u8; 4];
    getrandom::fill(&mut bytes).map_err(|e| ApiError::Internal(format!("no randomness: {e}")))?;
    name("agent", &format!("agent-{}", hex::encode(bytes)))
}

/// Filters of the agent list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AgentQuery {
    /// Only the agents of this environment.
    environment: Option<ferry_core::Name>,
}

/// The agents, by environment and name, revoked ones included.
#[utoipa::path(get, path = "/api/v1/agents", tag = "agents", security(("bearer" = [])), params(AgentQuery), responses(
    (status = 200, body = Page<Agent>),
    (status = 400, body = Problem, content_type = "application/problem+json"),
    (status = 403, body = Problem, content_type = "application/problem+json")
))]
pub async fn list_agents(
    State(state): State<AppState>,
    _reader: Reader,
    Query(query): Query<AgentQuery>,
) -> ApiResult<axum::Json<Page<Agent>>> {
    let environment = query.environment;
    let agents = state.store.agents(environment.as_ref()).await?;
    Ok(axum::Json(whole(agents.into_iter().map(agent).collect())))
}

/// Revokes an agent: its token is refused at once, and a job it holds is
/// treated as lost.
#[utoipa::path(delete, path = "/api/v1/agents/{id}", tag = "agents", security(("bearer" = [])),
    params(("id" = crate::openapi::Id, Path, description = "The agent's id")),
    responses(
        (status = 200, body = Agent),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")
    ))]
pub async fn revoke_agent(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Agent>> {
    let id = crate::convert::id("agent", &id)?;
    let revoked = crate::agent_admin::revoke(&state, &caller, id).await?;
    Ok(axum::Json(agent(revoked)))
}

/// Gives an agent a new secret: the old one stops working at once; the
/// agent keeps its name, tags and jobs. The secret is in this response only.
#[utoipa::path(post, path = "/api/v1/agents/{id}/token", tag = "agents", security(("bearer" = [])),
    params(("id" = crate::openapi::Id, Path, description = "The agent's id")),
    responses(
        (status = 201, body = CreatedAgentToken),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The agent was revoked", body = Problem, content_type = "application/problem+json")
    ))]
pub async fn rotate_agent_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, axum::Json<CreatedAgentToken>)> {
    let id = crate::convert::id("agent", &id)?;
    let found = crate::agent_admin::managed(&state, &caller, id).await?;
    let secret = generate_agent_secret()?;
    let record = state
        .store
        .replace_agent_token(caller.actor(), found.id, &secret.hash)
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(CreatedAgentToken {
            secret: secret.secret,
            agent: agent(record),
        }),
    ))
}

/// An agent says it is there (at start and after reconnecting), optionally
/// with new tags; answers its record.
#[utoipa::path(post, path = "/api/v1/agent/hello", tag = "agents", security(("bearer" = [])), request_body = AgentHello, responses(
    (status = 200, body = Agent),
    (status = 400, body = Problem, content_type = "application/problem+json"),
    (status = 401, body = Problem, content_type = "application/problem+json")
))]
pub async fn hello(
    State(state): State<AppState>,
    caller: AgentCaller,
    Json(request): Json<AgentHello>,
) -> ApiResult<axum::Json<Agent>> {
    let AgentCaller {
        agent: mut record,
        token_hash: hash,
    } = caller;
    if let Some(tags) = request.tags
        && tags != record.tags
    {
        check_tags(&tags)?;
        // The token proves who it is; registering again with its hash
        // updates the tags (and audits the change).
        let environment = name("environment", &record.environment)?;
        let agent_name = name("agent", &record.name)?;
        record = state
            .store
            .register_agent(
                &format!("agent:{}", record.name),
                &environment,
                &agent_name,
                &tags,
                &hash,
            )
            .await?;
    }
    let now = chrono::Utc::now();
    state.store.touch_agent(record.id, now).await?;
    if record
        .last_seen_at
        .is_none_or(|seen| now - seen > chrono::Duration::minutes(1))
    {
        record.last_seen_at = Some(now);
    }
    Ok(axum::Json(agent(record)))
}

/// Parameters of `GET /api/v1/agent/jobs/next`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct NextQuery {
    /// How long to wait for a job, in seconds (at most 30; default 0: answer at once).
    #[param(maximum = 30)]
    wait: Option<u64>,
}

/// The agent's next job: claimed (a new attempt, leased for 60 seconds) and
/// answered 200, or 204 when none came within `wait` seconds.
#[utoipa::path(get, path = "/api/v1/agent/jobs/next", tag = "agents", security(("bearer" = [])), params(NextQuery), responses(
    (status = 200, body = AgentJob),
    (status = 204, description = "No job within the wait"),
    (status = 401, body = Problem, content_type = "application/problem+json")
))]
pub async fn next_job(
    State(state): State<AppState>,
    AgentCaller { agent: record, .. }: AgentCaller,
    Query(query): Query<NextQuery>,
) -> ApiResult<Response> {
    let wait = match query.wait.unwrap_or(0) {
        seconds @ 0..=MAX_WAIT_SECONDS => Duration::from_secs(seconds),
        seconds => {
            return Err(ApiError::BadRequest(format!(
                "wait must be at most {MAX_WAIT_SECONDS} seconds, not {seconds}"
            )));
        }
    };
    let deadline = tokio::time::Instant::now() + wait;
    heard_from(&state, record.id, chrono::Utc::now()).await?;
    let bell = state.wake.agent_bell(record.id);
    // Rung: a job was made for this agent, so no read need look for it first.
    let mut rung = false;
    loop {
        // Listen before looking, so a job created while we look still wakes us.
        let woken = bell.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        // Reading first keeps idle agents from taking SQLite's write lock.
        if (rung || state.store.has_pending_job(record.id).await?)
            && let Some(job) = state
                .store
                .claim_job(record.id, state.lease, chrono::Utc::now())
                .await?
        {
            let claimed = job;
            remember_owner(&state, claimed.id, record.id);
            let job = match agent_job(&state, &claimed).await {
                Ok(job) => job,
                Err(error) => {
                    // A job that cannot be prepared (its service removed, a
                    // secret sealed under another key) fails with the
                    // reason rather than going round claim after claim.
                    let reason =
                        json!({ "reason": format!("the job could not be prepared: {error}") });
                    state
                        .store
                        .finish_job(
                            claimed.id,
                            claimed.attempt,
                            false,
                            &reason,
                            chrono::Utc::now(),
                        )
                        .await?;
                    state.wake.orchestrator();
                    return Err(error);
                }
            };
            return Ok(axum::Json(job).into_response());
        }
        let now = tokio::time::Instant::now();
        if now >= deadline {
            return Ok(StatusCode::NO_CONTENT.into_response());
        }
        // Woken by a job made here, by another replica's notification, or
        // by the process's poll ([`POLL_INTERVAL`]).
        rung = tokio::select! {
            () = woken => true,
            () = tokio::time::sleep(deadline - now) => false,
        };
    }
}

/// Records that agent `id` was heard from, when this process has not done
/// so for a minute (the store keeps the time to the minute anyway): an
/// agent's requests do not each read the database for it.
async fn heard_from(
    state: &AppState,
    id: i64,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), ApiError> {
    let due = match state.agents_heard.lock() {
        Ok(mut heard) => {
            let due = heard
                .get(&id)
                .is_none_or(|at| at.elapsed() >= std::time::Duration::from_secs(60));
            if due {
                heard.insert(id, std::time::Instant::now());
            }
            due
        }
        Err(_) => true,
    };
    if due {
        state.store.touch_agent(id, now).await?;
    }
    Ok(())
}

/// The job as the agent runs it.
async fn agent_job(state: &AppState, job: &JobRecord) -> Result<AgentJob, ApiError> {
    let template = match state.job_templates.get(job.deployment_id) {
        Some(template) => template,
        None => {
            let template = std::sync::Arc::new(job_template(state, job.deployment_id).await?);
            state.job_templates.put(job.deployment_id, template.clone());
            template
        }
    };
    let mut agent_job = template.job.clone();
    // A deployment runs one segment of the steps at a time (they are split
    // by manual steps), the health check after the last; a rollback runs
    // them all.
    let last = template.segments.len().saturating_sub(1);
    let segment = usize::try_from(job.segment).unwrap_or(0).min(last);
    if job.kind == ferry_store::jobs::JobKind::Deploy
        && let Some(range) = template.segments.get(segment)
    {
        agent_job.steps = agent_job.steps[range.clone()].to_vec();
        if segment < last {
            agent_job.health = None;
        }
    }
    agent_job.job_id = job.id;
    agent_job.attempt = job.attempt;
    agent_job.kind = job.kind.as_str().to_owned();
    for artifact in &mut agent_job.artifacts {
        artifact.url = format!("/api/v1/agent/jobs/{}/artifacts/{}", job.id, artifact.name);
    }
    Ok(agent_job)
}

/// What every job of deployment `id` shares; the job's own fields (id,
/// attempt, kind, artifact URLs) are left for [`agent_job`] to fill in.
async fn job_template(state: &AppState, id: i64) -> Result<crate::state::JobTemplate, ApiError> {
    let deployment = state.store.deployment(id).await?;
    let service = name("service", &deployment.service)?;
    let spec = state
        .store
        .services()
        .await?
        .into_iter()
        .find(|s| s.spec.name == service)
        .ok_or_else(|| {
            ApiError::Internal(format!(
                "deployment {} is of service {:?}, which is no longer configured",
                deployment.id, deployment.service
            ))
        })?;
    let process = DeployProcess::from_value(&spec.spec.deploy).map_err(|error| {
        ApiError::Internal(format!(
            "the deploy process of {:?} is invalid: {error}",
            deployment.service
        ))
    })?;
    let release = state
        .store
        .release(&service, &version(&deployment.version)?)
        .await?;
    let previous_version = state
        .store
        .last_success_before(deployment.id)
        .await?
        .map(|version| version.to_string());
    let (variables, secrets) = super::variables::for_job(state, &deployment.environment).await?;
    let health = process
        .to_value()
        .get("health")
        .cloned()
        .filter(|h| !h.is_null());
    let mut segments = Vec::with_capacity(process.segments());
    let mut start = 0;
    for segment in 0..process.segments() {
        let end = start + process.segment_steps(segment).len();
        segments.push(start..end);
        start = end;
    }
    let job = AgentJob {
        job_id: 0,
        attempt: 0,
        deployment_id: deployment.id,
        kind: String::new(),
        service: deployment.service.clone(),
        version: deployment.version.clone(),
        previous_version,
        environment: deployment.environment.clone(),
        steps: process
            .steps
            .iter()
            .map(|step| AgentStep {
                name: step.name.clone(),
                run: step.run.clone(),
                timeout_seconds: step
                    .timeout
                    .map(|t| u64::try_from(t.num_seconds()).unwrap_or(0)),
                idempotent: step.idempotent,
            })
            .collect(),
        health,
        artifacts: release
            .artifacts
            .iter()
            .map(|a| AgentArtifact {
                name: a.name.clone(),
                digest: a.digest.clone(),
                url: String::new(),
            })
            .collect(),
        variables,
        secrets,
        lease_seconds: u64::try_from(state.lease.num_seconds()).unwrap_or(60),
    };
    Ok(crate::state::JobTemplate { job, segments })
}

fn job_id(text: &str) -> Result<i64, ApiError> {
    crate::convert::id("job", text)
}

/// Job `id` when it is the agent's own; 404 otherwise (another agent's job
/// is not shown to exist).
async fn own_job(state: &AppState, record: &AgentRecord, id: i64) -> Result<JobRecord, ApiError> {
    let job = state
        .store
        .agent_job(record.id, id)
        .await?
        .ok_or_else(|| not_its_job(record, id))?;
    remember_owner(state, id, record.id);
    Ok(job)
}

/// Checks that job `id` is agent `record`'s, from memory when this process
/// has seen the job already (a job's agent never changes).
pub(super) async fn owns_job(
    state: &AppState,
    record: &AgentRecord,
    id: i64,
) -> Result<(), ApiError> {
    let known = state
        .job_owners
        .lock()
        .ok()
        .and_then(|owners| owners.get(&id).copied());
    match known {
        Some(owner) if owner == record.id => Ok(()),
        Some(_) => Err(not_its_job(record, id)),
        None => own_job(state, record, id).await.map(|_| ()),
    }
}

fn not_its_job(record: &AgentRecord, id: i64) -> ApiError {
    ApiError::NotFound(format!("agent {:?} has no job {id}", record.name))
}

/// Keeps in memory that job `id` is agent `agent`'s.
fn remember_owner(state: &AppState, id: i64, agent: i64) {
    if let Ok(mut owners) = state.job_owners.lock() {
        // Jobs end within minutes: past this many the map starts afresh.
        if owners.len() >= 100_000 {
            owners.clear();
        }
        owners.insert(id, agent);
    }
}

/// Says the agent starts running a job it claimed, before it runs
/// anything. `ok: false` means the attempt no longer holds the job: the
/// agent must not run it. A job claimed but never started (the answer to
/// the claim was lost) is put back to pending when its lease runs out,
/// instead of failed.
#[utoipa::path(post, path = "/api/v1/agent/jobs/{id}/start", tag = "agents", security(("bearer" = [])),
    params(("id" = crate::openapi::Id, Path, description = "The job's id")),
    request_body = AgentHeartbeat,
    responses(
        (status = 200, body = HeartbeatAck),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")
    ))]
pub async fn start(
    State(state): State<AppState>,
    AgentCaller { agent: record, .. }: AgentCaller,
    Path(id): Path<String>,
    Json(request): Json<AgentHeartbeat>,
) -> ApiResult<axum::Json<HeartbeatAck>> {
    let id = job_id(&id)?;
    owns_job(&state, &record, id).await?;
    let ok = state
        .store
        .start_job(id, request.attempt, chrono::Utc::now())
        .await?;
    Ok(axum::Json(HeartbeatAck { ok }))
}

/// Extends the lease of a job the agent is running. `ok: false` means the
/// lease is gone (expired, or a newer attempt holds it): the agent must stop.
#[utoipa::path(post, path = "/api/v1/agent/jobs/{id}/heartbeat", tag = "agents", security(("bearer" = [])),
    params(("id" = crate::openapi::Id, Path, description = "The job's id")),
    request_body = AgentHeartbeat,
    responses(
        (status = 200, body = HeartbeatAck),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")
    ))]
pub async fn heartbeat(
    State(state): State<AppState>,
    AgentCaller { agent: record, .. }: AgentCaller,
    Path(id): Path<String>,
    Json(request): Json<AgentHeartbeat>,
) -> ApiResult<axum::Json<HeartbeatAck>> {
    let id = job_id(&id)?;
    owns_job(&state, &record, id).await?;
    let now = chrono::Utc::now();
    let ok = state
        .store
        .heartbeat_job(id, request.attempt, state.lease, now)
        .await?;
    heard_from(&state, record.id, now).await?;
    Ok(axum::Json(HeartbeatAck { ok }))
}

/// Reports how a job ended. Idempotent: the same report again answers
/// `already_done`; a report of an attempt that lost the job, `stale`.
#[utoipa::path(post, path = "/api/v1/agent/jobs/{id}/finish", tag = "agents", security(("bearer" = [])),
    params(("id" = crate::openapi::Id, Path, description = "The job's id")),
    request_body = FinishJob,
    responses(
        (status = 200, body = FinishAck),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")
    ))]
pub async fn finish(
    State(state): State<AppState>,
    AgentCaller { agent: record, .. }: AgentCaller,
    Path(id): Path<String>,
    Json(request): Json<FinishJob>,
) -> ApiResult<axum::Json<FinishAck>> {
    let id = job_id(&id)?;
    if request.log_tail.len() > 1000 || request.steps.len() > 1000 {
        return Err(ApiError::Unprocessable(
            "a report has at most 1000 steps and 1000 log lines".into(),
        ));
    }
    let lines = super::logs::new_lines(request.lines)?;
    owns_job(&state, &record, id).await?;
    let result = json!({
        "steps": request.steps,
        "health": request.health,
        "log_tail": request.log_tail,
    });
    let now = chrono::Utc::now();
    let outcome = state
        .store
        .finish_job_logged(id, request.attempt, request.succeeded, &result, &lines, now)
        .await?;
    heard_from(&state, record.id, now).await?;
    if !lines.is_empty() {
        state.wake.logs();
    }
    // The orchestrator has something to judge once the batch is over; until
    // then its passes would find jobs still running.
    if let FinishOutcome::Finished {
        batch_over: true, ..
    } = outcome
    {
        state.wake.orchestrator();
    }
    let outcome = match outcome {
        FinishOutcome::Finished { .. } => "finished",
        FinishOutcome::AlreadyDone(_) => "already_done",
        FinishOutcome::Stale(_) => "stale",
    };
    Ok(axum::Json(FinishAck {
        outcome: outcome.to_owned(),
    }))
}

/// Downloads an artifact of the release of one of the agent's jobs, with its
/// digest in `Ferry-Digest` (`sha256:<hex>`).
#[utoipa::path(get, path = "/api/v1/agent/jobs/{id}/artifacts/{name}", tag = "agents", security(("bearer" = [])),
    params(
        ("id" = crate::openapi::Id, Path, description = "The job's id"),
        ("name" = String, Path, description = "The artifact's name")
    ),
    responses(
        (status = 200, description = "The artifact's bytes", content_type = "application/octet-stream"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A reference: ferry records it but does not store it", body = Problem, content_type = "application/problem+json")
    ))]
pub async fn download_artifact(
    State(state): State<AppState>,
    AgentCaller { agent: record, .. }: AgentCaller,
    Path((id, artifact)): Path<(String, String)>,
) -> ApiResult<Response> {
    let job = own_job(&state, &record, job_id(&id)?).await?;
    let deployment = state.store.deployment(job.deployment_id).await?;
    let release = state
        .store
        .release(
            &name("service", &deployment.service)?,
            &version(&deployment.version)?,
        )
        .await?;
    super::artifacts::artifact_response(&state, &release, &artifact).await
}
