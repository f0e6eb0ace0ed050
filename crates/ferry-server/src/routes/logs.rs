//! Deployment logs: agents send the lines their steps print; people read
//! them as pages or follow them live as server-sent events.

use std::convert::Infallible;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use ferry_api::{AgentLogLine, AgentLogs, LogLine, LogPage, Problem};
use ferry_store::logs::{LogRecord, LogStream, MAX_LINES, NewLogLine};
use futures_util::stream::Stream;
use serde::Deserialize;

use crate::agent_auth::AgentCaller;
use crate::authorize::Reader;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path, Query};
use crate::state::AppState;

/// Where to start reading a log.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LogQuery {
    /// Only lines with a larger id (default 0: from the start).
    after: Option<i64>,
    /// At most this many lines (1 to 1000, default 1000).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

impl LogQuery {
    /// The most lines a page holds: `limit`, checked, or all the server sends at once.
    fn limit(&self) -> Result<usize, ApiError> {
        match self.limit {
            None => Ok(MAX_LINES),
            Some(limit @ 1..=1000) => Ok(limit as usize),
            Some(other) => Err(ApiError::BadRequest(format!(
                "limit {other} is out of range: expected 1 to 1000"
            ))),
        }
    }
}

pub(crate) fn line(record: LogRecord) -> LogLine {
    LogLine {
        id: record.id,
        target: record.target,
        attempt: record.attempt,
        at: record.at,
        stream: record.stream.as_str().to_owned(),
        step: record.step,
        line: record.line,
    }
}

/// A page of a deployment's log, oldest lines first.
#[utoipa::path(get, path = "/api/v1/deployments/{id}/logs", tag = "deployments", security(("bearer" = [])),
    params(("id" = crate::openapi::Id, Path, description = "The deployment's id"), LogQuery),
    responses((status = 200, body = LogPage), (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn deployment_logs(
    State(state): State<AppState>,
    _reader: Reader,
    Path(id): Path<String>,
    Query(query): Query<LogQuery>,
) -> ApiResult<axum::Json<LogPage>> {
    let id = crate::convert::id("deployment", &id)?;
    let limit = query.limit()?;
    let after = query.after.unwrap_or(0);
    // The status is read first: a deployment seen ended has sent every line.
    let status = state.store.deployment(id).await?.status;
    let lines = state.store.deployment_logs(id, after, limit).await?;
    let last_id = lines.last().map_or(after, |l| l.id);
    Ok(axum::Json(LogPage {
        ended: status.is_finished() && lines.len() < limit,
        status,
        last_id,
        lines: lines.into_iter().map(line).collect(),
    }))
}

/// Follows a deployment's log as server-sent events: `log` events (data: a
/// `LogLine`, id: the line's id, so a reconnecting client resumes with
/// `Last-Event-ID`), a `status` event whenever the status changes, and one
/// `end` event once the deployment has ended and every line was sent.
#[utoipa::path(get, path = "/api/v1/deployments/{id}/logs/stream", tag = "deployments", security(("bearer" = [])),
    params(("id" = crate::openapi::Id, Path, description = "The deployment's id"), LogQuery),
    responses((status = 200, description = "Server-sent events: log, status, end", content_type = "text/event-stream"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn follow_logs(
    State(state): State<AppState>,
    _reader: Reader,
    Path(id): Path<String>,
    Query(query): Query<LogQuery>,
    headers: axum::http::HeaderMap,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let id = crate::convert::id("deployment", &id)?;
    query.limit()?;
    state.store.deployment(id).await?;
    let resume = headers
        .get("last-event-id")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<i64>().ok());
    let after = resume.or(query.after).unwrap_or(0);
    Ok(Sse::new(crate::log_follow::events(state, id, after)).keep_alive(KeepAlive::default()))
}

/// The lines an agent sent, checked: at most [`MAX_LINES`], each of a
/// known stream.
pub(crate) fn new_lines(lines: Vec<AgentLogLine>) -> Result<Vec<NewLogLine>, ApiError> {
    if lines.len() > MAX_LINES {
        return Err(ApiError::Unprocessable(format!(
            "at most {MAX_LINES} lines at once, not {}",
            lines.len()
        )));
    }
    lines
        .into_iter()
        .map(|l| {
            let stream = LogStream::parse(&l.stream).ok_or_else(|| {
                ApiError::Unprocessable(format!(
                    "line {}: stream {:?} is not one of out, err, ferry",
                    l.seq, l.stream
                ))
            })?;
            Ok(NewLogLine {
                seq: l.seq,
                at: l.at,
                stream,
                step: l.step,
                line: l.line,
            })
        })
        .collect()
}

/// Stores lines a job's steps printed. Lines are numbered by the agent
/// within the attempt; a line sent again is stored once.
#[utoipa::path(post, path = "/api/v1/agent/jobs/{id}/logs", tag = "agents", security(("bearer" = [])),
    params(("id" = crate::openapi::Id, Path, description = "The job's id")),
    request_body = AgentLogs,
    responses((status = 204, description = "Stored"), (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn agent_logs(
    State(state): State<AppState>,
    AgentCaller { agent: record, .. }: AgentCaller,
    Path(id): Path<String>,
    Json(request): Json<AgentLogs>,
) -> ApiResult<axum::http::StatusCode> {
    let id = crate::convert::id("job", &id)?;
    let lines = new_lines(request.lines)?;
    super::agents::owns_job(&state, &record, id).await?;
    state.store.append_logs(id, request.attempt, &lines).await?;
    state.wake.logs();
    Ok(axum::http::StatusCode::NO_CONTENT)
}
