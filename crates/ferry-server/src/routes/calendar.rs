//! The calendar as an iCalendar feed (`/calendar.ics`), and the feed tokens
//! that let calendar programs, which cannot send an `Authorization` header,
//! fetch it with a secret in its URL.
//!
//! A feed token reads the calendar and nothing else, with its owner's
//! rights at the time of each fetch; an unknown or revoked one (or one whose
//! owner is disabled) is refused with one and the same 401, which does not
//! say which.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{SubsecRound, Utc};
use ferry_api::{CalendarFeed, CreateCalendarFeed, CreatedCalendarFeed, Page, Problem};
use ferry_core::access::{Action, Target};
use ferry_store::calendar_feeds::CalendarFeedRecord;
use serde::Deserialize;

use crate::auth::{Caller, hash_secret};
use crate::calendar::Filter;
use crate::calendar_feeds;
use crate::convert;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path, Query};
use crate::routes::whole;
use crate::state::AppState;

fn wire(record: CalendarFeedRecord) -> CalendarFeed {
    CalendarFeed {
        id: record.id,
        name: record.name,
        user: record.user,
        prefix: record.prefix,
        created_at: record.created_at,
        last_used_at: record.last_used_at,
        revoked_at: record.revoked_at,
    }
}

/// The query of `GET /calendar.ics`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FeedQuery {
    /// A calendar feed's secret (`ferry_cal_…`, see `POST
    /// /api/v1/calendar/feeds`), for calendar programs; without it, an API
    /// token in the `Authorization` header. When both are sent, this one
    /// counts.
    token: Option<String>,
    /// Only what concerns this service: its change windows and deployments,
    /// and the windows and freezes of the environments of its lifecycle.
    service: Option<ferry_core::Name>,
    /// Only what concerns this environment.
    env: Option<ferry_core::Name>,
}

/// The release calendar as iCalendar (RFC 5545), for calendar programs.
///
/// Deployment windows and recurring freezes are recurring
/// events in their time zones (with a `VTIMEZONE` for each), one-off
/// freezes, approved and scheduled change windows, and deployments
/// scheduled for later. Each event's `UID` stays the same from one fetch to
/// the next. Authenticated by a calendar feed's secret in `token` (a revoked
/// or unknown one is 401), or else by an API token.
#[utoipa::path(get, path = "/calendar.ics", tag = "control", security((), ("bearer" = [])), params(FeedQuery),
    responses(
        (status = 200, description = "The calendar, iCalendar text", content_type = "text/calendar", body = String),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No token, or the feed's token is unknown or revoked (or its owner is disabled)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The feed's owner, or the API token's user, may not read", body = Problem, content_type = "application/problem+json")
    ))]
pub async fn ics(
    State(state): State<AppState>,
    Query(query): Query<FeedQuery>,
    request: Request,
) -> ApiResult<Response> {
    match query.token.as_deref() {
        Some(secret) => {
            let Some(owner) = state
                .store
                .authenticate_calendar_feed(&hash_secret(secret.trim()))
                .await?
            else {
                return Err(ApiError::Unauthorized(
                    "this calendar feed's token is unknown or revoked, or its owner is disabled; \
                     make a new feed with `ferry calendar feed create`"
                        .into(),
                ));
            };
            if !owner.rights.allows(Action::Read, &Target::SERVER) {
                return Err(ApiError::Forbidden(format!(
                    "{} may not read, so neither may their calendar feed: no grant of theirs allows it",
                    owner.user.name
                )));
            }
        }
        None => {
            let (mut parts, _) = request.into_parts();
            let caller = Caller::from_request_parts(&mut parts, &state)
                .await
                .map_err(|error| match error {
                    ApiError::Unauthorized(_) => ApiError::Unauthorized(
                        "the calendar feed needs a token: subscribe to the URL `ferry calendar feed create` prints \
                         (/calendar.ics?token=…), or send `Authorization: Bearer <API token>`"
                            .into(),
                    ),
                    other => other,
                })?;
            caller
                .require(&state, Action::Read, &Target::SERVER)
                .await?;
        }
    }
    let filter = Filter {
        service: query.service,
        environment: query.env,
    };
    let text = crate::calendar::feed(&state, &filter, Utc::now().trunc_subsecs(0)).await?;
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
            (header::CACHE_CONTROL, "private, no-store"),
            (
                header::CONTENT_DISPOSITION,
                "inline; filename=\"ferry.ics\"",
            ),
        ],
        text,
    )
        .into_response())
}

/// The caller's calendar feeds (everyone's, for those who manage users).
#[utoipa::path(get, path = "/api/v1/calendar/feeds", tag = "control", security(("bearer" = [])), responses(
    (status = 200, body = Page<CalendarFeed>),
    (status = 401, body = Problem, content_type = "application/problem+json")
))]
pub async fn list_feeds(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<axum::Json<Page<CalendarFeed>>> {
    let feeds = calendar_feeds::feeds(&state, &caller).await?;
    Ok(axum::Json(whole(feeds.into_iter().map(wire).collect())))
}

/// Makes a calendar feed for the caller.
///
/// A feed is a secret for the URL of
/// `/calendar.ics`, which reads the calendar with the caller's rights and
/// does nothing else. Its secret and its URL's path are in this answer
/// only.
#[utoipa::path(post, path = "/api/v1/calendar/feeds", tag = "control", security(("bearer" = [])), request_body = CreateCalendarFeed, responses(
    (status = 201, body = CreatedCalendarFeed),
    (status = 400, body = Problem, content_type = "application/problem+json"),
    (status = 401, body = Problem, content_type = "application/problem+json"),
    (status = 403, description = "A CI workload, or someone who may not read", body = Problem, content_type = "application/problem+json")
))]
pub async fn create_feed(
    State(state): State<AppState>,
    caller: Caller,
    Json(request): Json<CreateCalendarFeed>,
) -> ApiResult<(StatusCode, axum::Json<CreatedCalendarFeed>)> {
    let created = calendar_feeds::create(&state, &caller, request.name.as_deref()).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(CreatedCalendarFeed {
            feed: wire(created.feed),
            path: created.path,
            secret: created.secret,
        }),
    ))
}

/// Revokes a calendar feed of the caller's (anyone's, for those who manage
/// users): its URL is refused from now on.
#[utoipa::path(delete, path = "/api/v1/calendar/feeds/{id}", tag = "control", security(("bearer" = [])),
    params(("id" = crate::openapi::Id, Path, description = "The feed's id")),
    responses(
        (status = 200, body = CalendarFeed),
        (status = 404, body = Problem, content_type = "application/problem+json")
    ))]
pub async fn revoke_feed(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<CalendarFeed>> {
    let id = convert::id("calendar feed", &id)?;
    let feed = calendar_feeds::revoke(&state, &caller, id).await?;
    Ok(axum::Json(wire(feed)))
}

/// `uri` as it may be logged: the value of a `token` query parameter (a
/// calendar feed's secret) replaced by `REDACTED`.
pub(crate) fn redacted_uri(uri: &axum::http::Uri) -> String {
    let Some(query) = uri.query() else {
        return uri.to_string();
    };
    let secret = |pair: &str| pair.split('=').next() == Some("token");
    if !query.split('&').any(secret) {
        return uri.to_string();
    }
    let pairs: Vec<&str> = query
        .split('&')
        .map(|pair| if secret(pair) { "token=REDACTED" } else { pair })
        .collect();
    format!("{}?{}", uri.path(), pairs.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feed_secrets_are_redacted_from_logged_uris() {
        let uri = |text: &str| text.parse::<axum::http::Uri>().unwrap();
        assert_eq!(
            redacted_uri(&uri("/calendar.ics?token=ferry_cal_abc&env=prod")),
            "/calendar.ics?token=REDACTED&env=prod"
        );
        assert_eq!(
            redacted_uri(&uri("/calendar.ics?service=api&token")),
            "/calendar.ics?service=api&token=REDACTED"
        );
        assert_eq!(
            redacted_uri(&uri("/api/v1/calendar?days=3")),
            "/api/v1/calendar?days=3"
        );
        assert_eq!(redacted_uri(&uri("/healthz")), "/healthz");
    }
}
