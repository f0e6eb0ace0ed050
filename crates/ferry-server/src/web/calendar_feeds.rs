//! Subscribing to the calendar from a calendar program (`/calendar/feeds`):
//! the viewer's feeds, a form to make one (its address is shown once, on the
//! page that answers the form) and a button to revoke each. Making and
//! revoking go through `crate::calendar_feeds`, as the API's routes do.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use ferry_store::calendar_feeds::CalendarFeedRecord;
use serde::Deserialize;

use super::page::{self, Frame, refusal};
use super::posted::{Button, Posted, Protected};
use super::session::Viewer;
use crate::calendar_feeds;
use crate::state::AppState;

struct FeedView {
    id: i64,
    name: String,
    user: String,
    prefix: String,
    created: String,
    last_used: String,
    revoked: Option<String>,
}

fn view(record: CalendarFeedRecord) -> FeedView {
    let shown = |at: chrono::DateTime<chrono::Utc>| at.format("%Y-%m-%d %H:%M UTC").to_string();
    FeedView {
        id: record.id,
        name: record.name,
        user: record.user,
        prefix: record.prefix,
        created: shown(record.created_at),
        last_used: record
            .last_used_at
            .map_or_else(|| "never".to_owned(), shown),
        revoked: record.revoked_at.map(shown),
    }
}

#[derive(Template)]
#[template(path = "calendar_feeds.html")]
struct FeedsPage {
    frame: Frame,
    feeds: Vec<FeedView>,
    /// The address of the feed just made, shown this once.
    created: Option<String>,
    done: Option<&'static str>,
}

/// What the address says was just done.
#[derive(Debug, Default, Deserialize)]
pub struct Done {
    #[serde(default)]
    done: String,
}

async fn render(
    state: &AppState,
    viewer: &Viewer,
    created: Option<String>,
    done: Option<&'static str>,
) -> Response {
    match calendar_feeds::feeds(state, &viewer.caller()).await {
        Ok(feeds) => page::send(
            if created.is_some() {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            },
            &FeedsPage {
                frame: Frame::of(viewer),
                feeds: feeds.into_iter().map(view).collect(),
                created,
                done,
            },
        ),
        Err(error) => refusal(viewer, error),
    }
}

/// `GET /calendar/feeds`.
pub async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    done: Result<axum::extract::Query<Done>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let done = match done.ok().map(|d| d.0.done).as_deref() {
        Some("revoked") => Some("The feed is revoked: its address is refused from now on."),
        _ => None,
    };
    render(&state, &viewer, None, done).await
}

/// The form that makes a feed.
#[derive(Debug, Deserialize)]
pub struct CreateForm {
    csrf: String,
    #[serde(default)]
    name: String,
}

impl Protected for CreateForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /calendar/feeds`: makes a feed and shows its address once.
pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    Posted { viewer, form }: Posted<CreateForm>,
) -> Response {
    let name = Some(form.name.trim()).filter(|name| !name.is_empty());
    match calendar_feeds::create(&state, &viewer.caller(), name).await {
        Ok(created) => {
            let address = format!("{}{}", base(&state, &headers), created.path);
            render(&state, &viewer, Some(address), None).await
        }
        Err(error) => refusal(&viewer, error),
    }
}

/// `POST /calendar/feeds/{id}/revoke`.
pub async fn revoke(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { viewer, form: _ }: Posted<Button>,
) -> Response {
    let revoked = async {
        let id = crate::convert::id("calendar feed", &id)?;
        calendar_feeds::revoke(&state, &viewer.caller(), id).await
    };
    match revoked.await {
        Ok(_) => Redirect::to("/calendar/feeds?done=revoked").into_response(),
        Err(error) => refusal(&viewer, error),
    }
}

/// This server's address as people reach it: the public address when one
/// is set, else the one the browser used.
fn base(state: &AppState, headers: &HeaderMap) -> String {
    let public = state.webhooks.source.trim_end_matches('/');
    if public.starts_with("http://") || public.starts_with("https://") {
        return public.to_owned();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .unwrap_or("localhost");
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|proto| proto.to_str().ok())
        .filter(|proto| *proto == "https")
        .unwrap_or("http");
    format!("{scheme}://{host}")
}
