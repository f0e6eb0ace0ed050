//! Freeze periods, and the release calendar of windows, freezes and
//! scheduled changes.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Datelike, Duration, Utc};
use ferry_api::{CalendarEntry, Freeze, FreezeSpec, Page, Problem};
use ferry_core::windows::Freeze as FreezeRule;
use serde::Deserialize;

use crate::auth::Caller;
use crate::authorize::Reader;
use crate::convert::name;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path, Query};
use crate::routes::whole;
use crate::state::AppState;
use ferry_core::access::{Action, Target};

/// Every freeze.
#[utoipa::path(get, path = "/api/v1/freezes", tag = "control", security(("bearer" = [])), responses((status = 200, body = Page<Freeze>)))]
pub async fn list_freezes(
    State(state): State<AppState>,
    _reader: Reader,
) -> ApiResult<axum::Json<Page<Freeze>>> {
    let items = state
        .store
        .freezes()
        .await?
        .into_iter()
        .map(|f| Freeze {
            spec: f.spec,
            created_at: f.created_at,
        })
        .collect();
    Ok(axum::Json(whole(items)))
}

/// Adds a freeze: one-off (`start`, `end`) or recurring (`rrule`, `duration`).
#[utoipa::path(post, path = "/api/v1/freezes", tag = "control", security(("bearer" = [])), request_body = FreezeSpec,
    responses((status = 201, body = Freeze), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json")))]
pub async fn create_freeze(
    State(state): State<AppState>,
    caller: Caller,
    Json(spec): Json<FreezeSpec>,
) -> ApiResult<(StatusCode, axum::Json<Freeze>)> {
    spec.validate().map_err(ApiError::Unprocessable)?;
    crate::convert::within(&ferry_core::limits::FREEZE_REASON, "reason", &spec.reason)?;
    FreezeRule::from_spec(&spec).map_err(ApiError::Unprocessable)?;
    require_freezes(&state, &caller, &spec).await?;
    let created = state.store.create_freeze(caller.actor(), &spec).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(Freeze {
            spec: created.spec,
            created_at: created.created_at,
        }),
    ))
}

/// Removes a freeze.
#[utoipa::path(delete, path = "/api/v1/freezes/{name}", tag = "control", security(("bearer" = [])),
    params(("name" = ferry_core::Name, Path, description = "The freeze's name")),
    responses((status = 200, body = FreezeSpec), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn delete_freeze(
    State(state): State<AppState>,
    caller: Caller,
    Path(text): Path<String>,
) -> ApiResult<axum::Json<FreezeSpec>> {
    let freeze = name("freeze", &text)?;
    let found = state
        .store
        .freezes()
        .await?
        .into_iter()
        .find(|f| f.spec.name == freeze)
        .ok_or_else(|| ApiError::NotFound(format!("there is no freeze {freeze}")))?;
    require_freezes(&state, &caller, &found.spec).await?;
    let removed = state.store.delete_freeze(caller.actor(), &freeze).await?;
    Ok(axum::Json(removed))
}

/// Refuses unless the caller may manage freezes in every environment the
/// freeze holds (everywhere, for a freeze of every environment).
async fn require_freezes(state: &AppState, caller: &Caller, spec: &FreezeSpec) -> ApiResult<()> {
    if spec.environments.is_empty() {
        return caller
            .require(state, Action::ManageFreezes, &Target::SERVER)
            .await;
    }
    for environment in &spec.environments {
        caller
            .require(
                state,
                Action::ManageFreezes,
                &Target::environment(environment, false),
            )
            .await?;
    }
    Ok(())
}

/// The period and part of the calendar asked for.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CalendarQuery {
    /// Days after the start (1 to 366, default 14); not with `to`.
    #[param(minimum = 1, maximum = 366)]
    days: Option<u32>,
    /// The period's start, RFC 3339 [default: now].
    from: Option<String>,
    /// The period's end, RFC 3339, at most 366 days after the start
    /// [default: `days` after it].
    to: Option<String>,
    /// Only what concerns this service: its change windows and deployments,
    /// and the windows and freezes of the environments of its lifecycle.
    service: Option<ferry_core::Name>,
    /// Only what concerns this environment.
    environment: Option<ferry_core::Name>,
}

/// The longest period the calendar lists.
const MAX_CALENDAR_DAYS: i64 = 366;

fn calendar_time(field: &str, text: Option<&str>) -> ApiResult<Option<DateTime<Utc>>> {
    text.map(|text| {
        ferry_core::time::parse_time(text).map_err(|error| {
            ApiError::Unprocessable(format!(
                "{field}: {error}; expected an RFC 3339 time such as 2027-01-01T00:00:00Z"
            ))
        })
    })
    .transpose()
}

/// The deployment windows, freezes, approved and scheduled change windows
/// and deployments scheduled for later that overlap a period (the next 14
/// days unless asked otherwise), by start.
#[utoipa::path(get, path = "/api/v1/calendar", tag = "control", security(("bearer" = [])), params(CalendarQuery),
    responses((status = 200, body = Page<CalendarEntry>), (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn calendar(
    State(state): State<AppState>,
    _reader: Reader,
    Query(query): Query<CalendarQuery>,
) -> ApiResult<axum::Json<Page<CalendarEntry>>> {
    let days = match query.days {
        None => 14,
        Some(days @ 1..=366) => days,
        Some(days) => {
            return Err(ApiError::BadRequest(format!(
                "days must be between 1 and 366, not {days}"
            )));
        }
    };
    let from = calendar_time("from", query.from.as_deref())?.unwrap_or_else(Utc::now);
    let to = match (calendar_time("to", query.to.as_deref())?, query.days) {
        (Some(_), Some(_)) => {
            return Err(ApiError::BadRequest("give days or to, not both".to_owned()));
        }
        (Some(to), None) => to,
        (None, _) => from
            .checked_add_signed(Duration::days(i64::from(days)))
            .ok_or_else(|| {
                ApiError::Unprocessable(format!(
                    "from ({}) is too far ahead to count {days} days from",
                    ferry_core::time::format_time(from)
                ))
            })?,
    };
    // Times are written in RFC 3339, which has four-digit years.
    if to.year() > 9999 {
        return Err(ApiError::Unprocessable(format!(
            "the period must end within the year 9999, not at {}",
            ferry_core::time::format_time(to)
        )));
    }
    if to <= from {
        return Err(ApiError::Unprocessable(format!(
            "to ({}) must be after from ({})",
            ferry_core::time::format_time(to),
            ferry_core::time::format_time(from)
        )));
    }
    if to - from > Duration::days(MAX_CALENDAR_DAYS) {
        return Err(ApiError::Unprocessable(format!(
            "the period lasts at most {MAX_CALENDAR_DAYS} days; from {} to {} is longer",
            ferry_core::time::format_time(from),
            ferry_core::time::format_time(to)
        )));
    }
    let filter = crate::calendar::Filter {
        service: query.service,
        environment: query.environment,
    };
    let entries = crate::calendar::filtered_entries(&state, from, to, &filter).await?;
    Ok(axum::Json(whole(entries)))
}
