//! Following a deployment's log as it is written: the events the API's
//! stream and the web UI's deployment page both send. `log` events carry a
//! line (their id is the line's, so a client that reconnects resumes with
//! `Last-Event-ID`), a `status` event comes whenever the status changes, and
//! one `end` event once the deployment has ended and every line was sent.

use std::convert::Infallible;
use std::time::Duration;

use axum::response::sse::Event;
use ferry_core::DeploymentStatus;
use ferry_store::logs::MAX_LINES;
use futures_util::stream::{self, Stream, StreamExt as _};

use crate::routes::log_line;
use crate::state::AppState;

/// How often a follower looks for new lines when nothing woke it.
const FOLLOW_POLL: Duration = Duration::from_secs(1);

/// What one step of a follower sends.
enum Follow {
    /// More to come: the next state.
    Going {
        after: i64,
        status: Option<DeploymentStatus>,
    },
    /// Done.
    Ended,
}

/// The events of deployment `id`'s log after line `after`.
pub fn events(
    state: AppState,
    id: i64,
    after: i64,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let start = Follow::Going {
        after,
        status: None,
    };
    stream::unfold(
        (state, start, true),
        move |(state, follow, first)| async move {
            let Follow::Going { after, status } = follow else {
                return None;
            };
            // Listen before reading, so lines stored meanwhile wake us.
            let logs = state.wake.logs.clone();
            let woken = logs.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            if !first {
                tokio::select! {
                    () = woken => {}
                    () = tokio::time::sleep(FOLLOW_POLL) => {}
                }
            }
            let mut events = Vec::new();
            let now = match state.store.deployment(id).await {
                Ok(deployment) => deployment.status,
                Err(error) => {
                    let event = Event::default().event("error").data(error.to_string());
                    return Some((stream::iter(vec![Ok(event)]), (state, Follow::Ended, false)));
                }
            };
            let mut after = after;
            loop {
                let lines = match state.store.deployment_logs(id, after, MAX_LINES).await {
                    Ok(lines) => lines,
                    Err(error) => {
                        tracing::warn!(deployment = id, %error, "reading a deployment's log failed");
                        break;
                    }
                };
                let full = lines.len() == MAX_LINES;
                for record in lines {
                    after = record.id;
                    let data = serde_json::to_string(&log_line(record)).unwrap_or_default();
                    events.push(Ok(Event::default()
                        .event("log")
                        .id(after.to_string())
                        .data(data)));
                }
                if !full {
                    break;
                }
            }
            if status != Some(now) {
                events.push(Ok(Event::default().event("status").data(now.as_str())));
            }
            let next = if now.is_finished() {
                events.push(Ok(Event::default().event("end").data(now.as_str())));
                Follow::Ended
            } else {
                Follow::Going {
                    after,
                    status: Some(now),
                }
            };
            Some((stream::iter(events), (state, next, false)))
        },
    )
    .flatten()
}
