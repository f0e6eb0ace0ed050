//! The calendar: deployment windows, freezes, change windows and scheduled
//! deployments by month or by week, in the viewer's time zone. The zone is
//! chosen in the page and remembered in a cookie; until then it is UTC.

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use chrono::{Datelike, Days, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Deserialize;

use super::page::{self, Frame, refusal};
use super::session::{self, SameSite, Viewer, cookie};
use crate::state::AppState;

/// The cookie that remembers the viewer's time zone.
const ZONE_COOKIE: &str = "ferry_time_zone";

/// What the address asks for.
#[derive(Debug, Default, Deserialize)]
pub struct Shown {
    /// `month` (the default) or `week`.
    #[serde(default)]
    view: String,
    /// A day of the period to show (`2026-12-04`); today by default.
    #[serde(default)]
    day: String,
    /// An IANA time zone (`Europe/Berlin`).
    #[serde(default)]
    tz: String,
}

struct Entry {
    kind: String,
    title: String,
    time: String,
}

struct Day {
    date: String,
    label: String,
    today: bool,
    outside: bool,
    entries: Vec<Entry>,
}

#[derive(Template)]
#[template(path = "calendar.html")]
struct CalendarPage {
    frame: Frame,
    week: bool,
    title: String,
    zone: String,
    zones: &'static [Tz],
    weeks: Vec<Vec<Day>>,
    previous: String,
    next: String,
    error: Option<String>,
}

/// `GET /calendar`.
pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    shown: Result<Query<Shown>, QueryRejection>,
) -> Response {
    let shown = shown.map(|Query(shown)| shown).unwrap_or_default();
    let mut error = None;
    let asked_zone = shown.tz.trim();
    let zone: Tz = if asked_zone.is_empty() {
        cookie(&headers, ZONE_COOKIE)
            .and_then(|name| name.replace("%2F", "/").parse().ok())
            .unwrap_or(Tz::UTC)
    } else {
        asked_zone.parse().unwrap_or_else(|_| {
            error = Some(format!(
                "{asked_zone:?} is not a time zone: expected an IANA name such as Europe/Berlin or America/New_York"
            ));
            Tz::UTC
        })
    };
    let week = shown.view == "week";
    let today = Utc::now().with_timezone(&zone).date_naive();
    let day = if shown.day.is_empty() {
        today
    } else {
        NaiveDate::parse_from_str(&shown.day, "%Y-%m-%d").unwrap_or_else(|_| {
            error = Some(format!(
                "{:?} is not a day: expected a date such as 2026-12-04",
                shown.day
            ));
            today
        })
    };
    // The period, and the whole weeks (from Monday) that show it.
    let (first, last) = if week {
        let monday = day - Days::new(u64::from(day.weekday().num_days_from_monday()));
        (monday, monday + Days::new(6))
    } else {
        let first = day.with_day(1).unwrap_or(day);
        let next_month = first
            .checked_add_months(chrono::Months::new(1))
            .unwrap_or(first);
        (first, next_month - Days::new(1))
    };
    let grid_start = first - Days::new(u64::from(first.weekday().num_days_from_monday()));
    let grid_end = last + Days::new(u64::from(6 - last.weekday().num_days_from_monday()));
    let start_of = |date: NaiveDate| {
        zone.from_local_datetime(&date.and_hms_opt(0, 0, 0).unwrap_or_default())
            .earliest()
            .map_or_else(Utc::now, |at| at.with_timezone(&Utc))
    };
    let from = start_of(grid_start);
    let to = start_of(grid_end + Days::new(1));
    let entries = match crate::calendar::entries(&state, from, to).await {
        Ok(entries) => entries,
        Err(error) => return refusal(&viewer, error),
    };
    let mut weeks = Vec::new();
    let mut date = grid_start;
    while date <= grid_end {
        let mut days = Vec::with_capacity(7);
        for _ in 0..7 {
            let (day_start, day_end) = (start_of(date), start_of(date + Days::new(1)));
            days.push(Day {
                date: date.format("%Y-%m-%d").to_string(),
                label: if week {
                    date.format("%a %e %b").to_string()
                } else {
                    date.format("%e").to_string()
                },
                today: date == today,
                outside: date < first || date > last,
                entries: entries
                    .iter()
                    .filter(|entry| {
                        entry.start < day_end
                            && (entry.end > day_start
                                || (entry.start == entry.end && entry.start >= day_start))
                    })
                    .map(|entry| Entry {
                        kind: entry.kind.clone(),
                        title: entry.title.clone(),
                        time: format!(
                            "{}–{}",
                            entry.start.with_timezone(&zone).format("%H:%M"),
                            entry.end.with_timezone(&zone).format("%H:%M")
                        ),
                    })
                    .collect(),
            });
            date = date + Days::new(1);
        }
        weeks.push(days);
    }
    let view = if week { "week" } else { "month" };
    let (previous, next) = if week {
        (first - Duration::days(7), first + Duration::days(7))
    } else {
        (
            first
                .checked_sub_months(chrono::Months::new(1))
                .unwrap_or(first),
            first
                .checked_add_months(chrono::Months::new(1))
                .unwrap_or(first),
        )
    };
    let link = |date: NaiveDate| format!("/calendar?view={view}&day={}", date.format("%Y-%m-%d"));
    let title = if week {
        format!("Week of {}", first.format("%e %B %Y"))
    } else {
        first.format("%B %Y").to_string()
    };
    let mut response = page::send(
        if error.is_some() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        },
        &CalendarPage {
            frame: Frame::of(&viewer),
            week,
            title,
            zone: zone.name().to_owned(),
            zones: &chrono_tz::TZ_VARIANTS,
            weeks,
            previous: link(previous),
            next: link(next),
            error: error.clone(),
        },
    );
    if !asked_zone.is_empty() && error.is_none() {
        response.headers_mut().append(
            header::SET_COOKIE,
            session::set_cookie(
                &headers,
                ZONE_COOKIE,
                &zone.name().replace('/', "%2F"),
                Duration::days(365),
                SameSite::Lax,
            ),
        );
    }
    response
}
