//! The release calendar: deployment windows, freezes, approved and
//! scheduled change windows, and deployments scheduled for later. The API's
//! `/calendar` and the web UI's calendar page list its occurrences between
//! two instants ([`entries`]); the iCalendar feed (`/calendar.ics`) writes the
//! same entries as events ([`feed`]), each recurring window and freeze once,
//! with its rule, so a calendar program expands it as ferry does.
//!
//! Both read the same sources through [`Filter`]: what concerns one service
//! (its changes and deployments, and the windows and freezes of the
//! environments of its lifecycle) and one environment.

use chrono::{DateTime, Duration, Utc};
use ferry_api::CalendarEntry;
use ferry_core::Name;
use ferry_core::change::ChangeState;
use ferry_core::freeze::FreezeSpec;
use ferry_core::ical::{Calendar, Event};
use ferry_core::windows::{Freeze as FreezeRule, Recurrence};
use ferry_store::changes::{ChangeFilter, ChangeRecord};
use ferry_store::deployments::DeploymentRecord;

use crate::error::ApiError;
use crate::state::AppState;

/// What part of the calendar is asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Only what concerns this service: its changes and deployments, and the
    /// windows and freezes of the environments of its lifecycle (none, for a
    /// service there is not).
    pub service: Option<Name>,
    /// Only what concerns this environment.
    pub environment: Option<Name>,
}

/// How long a subscriber should wait before fetching the feed again.
const FEED_REFRESH_MINUTES: i64 = 60;

/// Deployments scheduled up to this long ago and not yet finished are still
/// in the feed.
const FEED_DEPLOYMENTS_BACK_DAYS: i64 = 30;

/// The most occurrences of one rule listed between two instants.
const MAX_OCCURRENCES: usize = 500;

/// A deployment window of an environment: its place among the
/// environment's windows (from 1) and its rule.
struct Window {
    environment: Name,
    number: usize,
    recurrence: Recurrence,
}

/// Everything the calendar shows, filtered.
struct Sources {
    windows: Vec<Window>,
    freezes: Vec<(FreezeSpec, FreezeRule)>,
    /// Approved and scheduled change requests with a window.
    changes: Vec<ChangeRecord>,
}

impl Filter {
    /// The environments in scope: `None` for every one.
    async fn environments(&self, state: &AppState) -> Result<Option<Vec<Name>>, ApiError> {
        let Some(service) = &self.service else {
            return Ok(self
                .environment
                .clone()
                .map(|environment| vec![environment]));
        };
        let Some(spec) = state.store.service_spec(service).await? else {
            return Ok(Some(Vec::new()));
        };
        let lifecycle = state
            .store
            .lifecycles()
            .await?
            .into_iter()
            .find(|stored| stored.spec.name == spec.spec.lifecycle);
        let mut environments: Vec<Name> = lifecycle
            .map(|stored| stored.spec.environments().cloned().collect())
            .unwrap_or_default();
        if let Some(environment) = &self.environment {
            environments.retain(|name| name == environment);
        }
        Ok(Some(environments))
    }

    fn concerns(&self, service: &str, environment: &str) -> bool {
        self.service
            .as_ref()
            .is_none_or(|wanted| wanted.as_str() == service)
            && self
                .environment
                .as_ref()
                .is_none_or(|wanted| wanted.as_str() == environment)
    }
}

async fn sources(state: &AppState, filter: &Filter) -> Result<Sources, ApiError> {
    let scope = filter.environments(state).await?;
    let in_scope = |environment: &Name| {
        scope
            .as_ref()
            .is_none_or(|names| names.contains(environment))
    };
    let mut windows = Vec::new();
    for environment in state.store.environments().await? {
        if !in_scope(&environment.spec.name) {
            continue;
        }
        for (index, window) in environment.spec.windows.iter().enumerate() {
            windows.push(Window {
                environment: environment.spec.name.clone(),
                number: index + 1,
                recurrence: Recurrence::from_window(window).map_err(ApiError::Unprocessable)?,
            });
        }
    }
    let mut freezes = Vec::new();
    for freeze in state.store.freezes().await? {
        if !freeze.spec.environments.iter().any(&in_scope) {
            continue;
        }
        let rule = FreezeRule::from_spec(&freeze.spec).map_err(ApiError::Unprocessable)?;
        freezes.push((freeze.spec, rule));
    }
    let mut changes = Vec::new();
    for wanted in [ChangeState::Approved, ChangeState::Scheduled] {
        let query = ChangeFilter {
            state: Some(wanted),
            service: filter.service.as_ref(),
            environment: filter.environment.as_ref(),
            ..ChangeFilter::default()
        };
        changes.extend(
            state
                .store
                .changes(query)
                .await?
                .into_iter()
                .filter(|change| change.window.is_some()),
        );
    }
    changes.sort_by_key(|change| change.id);
    Ok(Sources {
        windows,
        freezes,
        changes,
    })
}

/// The deployments not yet finished scheduled from `from` to before `to`,
/// filtered.
async fn deployments(
    state: &AppState,
    filter: &Filter,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<DeploymentRecord>, ApiError> {
    let mut found = state.store.scheduled_deployments(from, to).await?;
    found.retain(|deployment| filter.concerns(&deployment.service, &deployment.environment));
    Ok(found)
}

/// A duration as `ferry.toml` writes it, such as `8h` or `1h30m`.
fn for_people(length: Duration) -> String {
    let seconds = length.num_seconds().max(0);
    let mut text = String::new();
    for (amount, unit) in [
        (seconds / 3600, "h"),
        (seconds / 60 % 60, "m"),
        (seconds % 60, "s"),
    ] {
        if amount > 0 {
            text.push_str(&format!("{amount}{unit}"));
        }
    }
    if text.is_empty() {
        "0s".to_owned()
    } else {
        text
    }
}

fn window_title(environment: &Name) -> String {
    format!("deployment window of {environment}")
}

fn freeze_title(spec: &FreezeSpec) -> String {
    let reason = if spec.reason.is_empty() {
        String::new()
    } else {
        format!(": {}", spec.reason)
    };
    format!("freeze {}{reason}", spec.name)
}

fn change_title(change: &ChangeRecord) -> String {
    format!(
        "change {} ({}, {}): {} — {}",
        change.id,
        change.kind.as_str(),
        change.state.as_str(),
        change.service,
        change.title
    )
}

fn deployment_title(deployment: &DeploymentRecord) -> String {
    format!(
        "deployment {}: {}@{} to {}",
        deployment.id, deployment.service, deployment.version, deployment.environment
    )
}

/// Every entry that overlaps `from`..`to`, by start.
pub async fn entries(
    state: &AppState,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<CalendarEntry>, ApiError> {
    filtered_entries(state, from, to, &Filter::default()).await
}

/// Every entry `filter` lets through that overlaps `from`..`to`, by start.
pub async fn filtered_entries(
    state: &AppState,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    filter: &Filter,
) -> Result<Vec<CalendarEntry>, ApiError> {
    let sources = sources(state, filter).await?;
    let mut entries = Vec::new();
    for window in &sources.windows {
        for (start, end) in window.recurrence.occurrences(from, to, MAX_OCCURRENCES) {
            entries.push(CalendarEntry {
                kind: "window".into(),
                title: window_title(&window.environment),
                environments: vec![window.environment.to_string()],
                start,
                end,
            });
        }
    }
    for (spec, rule) in &sources.freezes {
        for (start, end) in rule.occurrences(from, to, MAX_OCCURRENCES) {
            entries.push(CalendarEntry {
                kind: "freeze".into(),
                title: freeze_title(spec),
                environments: spec.environments.iter().map(ToString::to_string).collect(),
                start,
                end,
            });
        }
    }
    for change in &sources.changes {
        if let Some(window) = &change.window
            && window.end > from
            && window.start < to
        {
            entries.push(CalendarEntry {
                kind: "change".into(),
                title: change_title(change),
                environments: vec![change.environment.clone()],
                start: window.start,
                end: window.end,
            });
        }
    }
    for deployment in deployments(state, filter, from, to).await? {
        if let Some(at) = deployment.scheduled_at {
            entries.push(CalendarEntry {
                kind: "deployment".into(),
                title: deployment_title(&deployment),
                environments: vec![deployment.environment],
                start: at,
                end: at,
            });
        }
    }
    entries.sort_by(|a, b| (a.start, &a.kind).cmp(&(b.start, &b.kind)));
    Ok(entries)
}

/// The calendar `filter` lets through as iCalendar text (RFC 5545), made at
/// `now`: a recurring window or freeze is one event with its rule, in its
/// time zone; a one-off freeze, a change's window and a scheduled deployment
/// one event each. Each event's `UID` names what it is
/// (`window-<env>-<n>@ferry`, `freeze-<name>@ferry`, `change-<id>@ferry`,
/// `deployment-<id>@ferry`), so it is the same on every fetch.
pub async fn feed(
    state: &AppState,
    filter: &Filter,
    now: DateTime<Utc>,
) -> Result<String, ApiError> {
    let sources = sources(state, filter).await?;
    let mut events = Vec::new();
    for window in &sources.windows {
        let Some(rule) = window.recurrence.to_ical() else {
            continue;
        };
        let mut event = Event::recurring(
            format!("window-{}-{}@ferry", window.environment, window.number),
            &rule,
            window_title(&window.environment),
        );
        event.description = format!(
            "Promotions into {} may run in this window: {} from each start of {} in {}.",
            window.environment,
            for_people(rule.duration),
            rule.rrule,
            rule.timezone.name()
        );
        event.categories = vec!["window".into()];
        event.transparent = true;
        events.push(event);
    }
    for (spec, rule) in &sources.freezes {
        let uid = format!("freeze-{}@ferry", spec.name);
        let mut event = match (rule.once(), rule.recurrence().and_then(Recurrence::to_ical)) {
            (Some((start, end)), _) => Event::once(uid, start, end, freeze_title(spec)),
            (None, Some(recurring)) => Event::recurring(uid, &recurring, freeze_title(spec)),
            (None, None) => continue,
        };
        let environments: Vec<&str> = spec.environments.iter().map(Name::as_str).collect();
        event.description = format!(
            "No promotions into {} during this freeze (emergency promotions aside).",
            environments.join(", ")
        );
        if !spec.reason.is_empty() {
            event.description.push_str("\n\n");
            event.description.push_str(&spec.reason);
        }
        event.categories = vec!["freeze".into()];
        events.push(event);
    }
    for change in &sources.changes {
        let Some(window) = &change.window else {
            continue;
        };
        let mut event = Event::once(
            format!("change-{}@ferry", change.id),
            window.start,
            window.end,
            change_title(change),
        );
        let mut description = format!(
            "Change request {} ({}), {}: {} in {}, raised by {}.",
            change.id,
            change.kind.as_str(),
            change.state.as_str(),
            change.service,
            change.environment,
            change.created_by
        );
        if let Some(release) = &change.release {
            description.push_str(&format!(" Release {}@{release}.", change.service));
        }
        if let Some(risk) = &change.risk {
            description.push_str(&format!(" Risk: {risk}."));
        }
        if !change.description.is_empty() {
            description.push_str("\n\n");
            description.push_str(&change.description);
        }
        event.description = description;
        event.categories = vec!["change".into()];
        events.push(event);
    }
    let from = now - Duration::days(FEED_DEPLOYMENTS_BACK_DAYS);
    let to = now + Duration::days(ferry_core::time::SCHEDULE_HORIZON_DAYS + 1);
    for deployment in deployments(state, filter, from, to).await? {
        let Some(at) = deployment.scheduled_at else {
            continue;
        };
        let mut event = Event::once(
            format!("deployment-{}@ferry", deployment.id),
            at,
            at,
            deployment_title(&deployment),
        );
        event.description = format!(
            "{}@{} to {}, scheduled by {}; {}.",
            deployment.service,
            deployment.version,
            deployment.environment,
            deployment.created_by,
            deployment.status.as_str()
        );
        event.categories = vec!["deployment".into()];
        events.push(event);
    }
    let scope = match (&filter.service, &filter.environment) {
        (Some(service), Some(environment)) => format!(" ({service} in {environment})"),
        (Some(service), None) => format!(" ({service})"),
        (None, Some(environment)) => format!(" ({environment})"),
        (None, None) => String::new(),
    };
    let calendar = Calendar {
        product: format!("-//ferry//ferry {}//EN", env!("CARGO_PKG_VERSION")),
        name: format!("ferry releases{scope}"),
        description:
            "Deployment windows, freezes, change windows and scheduled deployments of ferry".into(),
        refresh: Some(Duration::minutes(FEED_REFRESH_MINUTES)),
        stamp: now,
        events,
    };
    Ok(calendar.render())
}
