//! The release calendar: deployment windows, freezes, approved and
//! scheduled change windows, and deployments scheduled for later, between
//! two instants. The API's `/calendar` and the web UI's calendar page both
//! come through here.

use chrono::{DateTime, Utc};
use ferry_api::CalendarEntry;
use ferry_core::change::ChangeState;
use ferry_core::windows::{Freeze as FreezeRule, Recurrence};
use ferry_store::changes::ChangeFilter;

use crate::error::ApiError;
use crate::state::AppState;

/// Every entry that overlaps `from`..`to`, by start.
pub async fn entries(
    state: &AppState,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<CalendarEntry>, ApiError> {
    let mut entries = Vec::new();
    for environment in state.store.environments().await? {
        for window in &environment.spec.windows {
            let rule = Recurrence::from_window(window).map_err(ApiError::Unprocessable)?;
            for (start, end) in rule.occurrences(from, to, 500) {
                entries.push(CalendarEntry {
                    kind: "window".into(),
                    title: format!("deployment window of {}", environment.spec.name),
                    environments: vec![environment.spec.name.to_string()],
                    start,
                    end,
                });
            }
        }
    }
    for freeze in state.store.freezes().await? {
        let rule = FreezeRule::from_spec(&freeze.spec).map_err(ApiError::Unprocessable)?;
        for (start, end) in rule.occurrences(from, to, 500) {
            let reason = if freeze.spec.reason.is_empty() {
                String::new()
            } else {
                format!(": {}", freeze.spec.reason)
            };
            entries.push(CalendarEntry {
                kind: "freeze".into(),
                title: format!("freeze {}{reason}", freeze.spec.name),
                environments: freeze
                    .spec
                    .environments
                    .iter()
                    .map(ToString::to_string)
                    .collect(),
                start,
                end,
            });
        }
    }
    let mut planned = Vec::new();
    for state_planned in [ChangeState::Approved, ChangeState::Scheduled] {
        let filter = ChangeFilter {
            state: Some(state_planned),
            ..ChangeFilter::default()
        };
        planned.extend(state.store.changes(filter).await?);
    }
    for change in planned {
        if let Some(window) = change.window
            && window.end > from
            && window.start < to
        {
            entries.push(CalendarEntry {
                kind: "change".into(),
                title: format!(
                    "change {} ({}, {}): {} — {}",
                    change.id,
                    change.kind.as_str(),
                    change.state.as_str(),
                    change.service,
                    change.title
                ),
                environments: vec![change.environment],
                start: window.start,
                end: window.end,
            });
        }
    }
    for deployment in state.store.scheduled_deployments(from, to).await? {
        if let Some(at) = deployment.scheduled_at {
            entries.push(CalendarEntry {
                kind: "deployment".into(),
                title: format!(
                    "deployment {}: {}@{} to {}",
                    deployment.id, deployment.service, deployment.version, deployment.environment
                ),
                environments: vec![deployment.environment],
                start: at,
                end: at,
            });
        }
    }
    entries.sort_by(|a, b| (a.start, &a.kind).cmp(&(b.start, &b.kind)));
    Ok(entries)
}
