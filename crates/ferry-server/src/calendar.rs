//! The release calendar: deployment windows, freezes, approved and
//! scheduled change windows, and deployments scheduled for later, between
//! two instants. The API's `/calendar` and the web UI's calendar page both
//! come through here.

use chrono::{DateTime, Utc};
use ferry_api::CalendarEntry;
use ferry_core::change::ChangeState;
use ferry_core::windows::{Freeze as FreezeRule, Recurrence};
use ferry_store::changes::ChangeFilter;
use ferry_store::deployments::DeploymentFilter;

use crate::error::ApiError;
use crate::state::AppState;

/// How many deployments are looked at for those scheduled later.
const SCHEDULED_LOOKED_AT: i64 = 1_000;

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
    for change in state.store.changes(ChangeFilter::default()).await? {
        let planned = matches!(change.state, ChangeState::Approved | ChangeState::Scheduled);
        if let (true, Some(window)) = (planned, change.window)
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
    let filter = DeploymentFilter {
        service: None,
        environment: None,
    };
    for deployment in state
        .store
        .deployments(filter, None, SCHEDULED_LOOKED_AT)
        .await?
    {
        if let Some(at) = deployment.scheduled_at
            && !deployment.status.is_finished()
            && at >= from
            && at < to
        {
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
