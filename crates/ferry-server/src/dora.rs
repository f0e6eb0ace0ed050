//! DORA metrics and incidents as people ask for them: the report over a
//! period for every service in every environment of its lifecycle, and
//! incidents opened and resolved. The API's routes come through here; the
//! figures are `ferry_core::dora::measure`.

use chrono::{DateTime, Utc};
use ferry_api::{Definition, MetricsReport, ServiceMetrics};
use ferry_core::Name;
use ferry_core::access::Action;
use ferry_core::dora::{DEFINITIONS, measure};
use ferry_store::incidents::IncidentRecord;

use crate::auth::Caller;
use crate::authorize;
use crate::convert;
use crate::error::ApiError;
use crate::state::AppState;

/// The longest period a report covers.
const LONGEST: chrono::Duration = chrono::Duration::days(5 * 366);

/// The metrics over `since..until` of every service (or `service`) in every
/// environment of its lifecycle (or `environment`).
pub async fn report(
    state: &AppState,
    service: Option<&Name>,
    environment: Option<&Name>,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<MetricsReport, ApiError> {
    if since >= until {
        return Err(ApiError::Unprocessable(format!(
            "since ({}) is not before until ({}): the period is empty",
            ferry_core::time::format_time(since),
            ferry_core::time::format_time(until)
        )));
    }
    if until - since > LONGEST {
        return Err(ApiError::Unprocessable(
            "the period is longer than five years; ask for a shorter one".into(),
        ));
    }
    let (services, lifecycles) =
        tokio::try_join!(state.store.services(), state.store.lifecycles())?;
    if let Some(wanted) = service
        && !services.iter().any(|s| &s.spec.name == wanted)
    {
        return Err(ApiError::NotFound(format!("there is no service {wanted}")));
    }
    let mut items = Vec::new();
    for stored in services
        .iter()
        .filter(|s| service.is_none_or(|wanted| &s.spec.name == wanted))
    {
        let Some(lifecycle) = lifecycles
            .iter()
            .find(|l| l.spec.name == stored.spec.lifecycle)
        else {
            continue;
        };
        for env in lifecycle
            .spec
            .environments()
            .filter(|e| environment.is_none_or(|wanted| *e == wanted))
        {
            let (deployments, incidents) = state.store.dora_facts(&stored.spec.name, env).await?;
            items.push(ServiceMetrics {
                service: stored.spec.name.clone(),
                environment: env.clone(),
                metrics: measure(&deployments, &incidents, since, until),
            });
        }
    }
    Ok(MetricsReport {
        since,
        until,
        definitions: DEFINITIONS
            .iter()
            .map(|(name, definition)| Definition {
                name: (*name).to_owned(),
                definition: (*definition).to_owned(),
            })
            .collect(),
        items,
    })
}

/// One period of a series and the metrics over it.
pub struct Period {
    /// Its start (it ends where the next starts).
    pub since: DateTime<Utc>,
    /// The metrics over it.
    pub metrics: ferry_core::dora::Metrics,
}

/// The metrics of `service` in `environment` over `count` consecutive
/// periods of `length`, the last ending at `until`, oldest first: one read
/// of the facts, measured period by period.
pub async fn series(
    state: &AppState,
    service: &Name,
    environment: &Name,
    until: DateTime<Utc>,
    length: chrono::Duration,
    count: u32,
) -> Result<Vec<Period>, ApiError> {
    let (deployments, incidents) = state.store.dora_facts(service, environment).await?;
    let periods = (0..count)
        .rev()
        .filter_map(|back| {
            let end = until.checked_sub_signed(length * i32::try_from(back).ok()?)?;
            let start = end.checked_sub_signed(length)?;
            Some(Period {
                since: start,
                metrics: measure(&deployments, &incidents, start, end),
            })
        })
        .collect();
    Ok(periods)
}

/// Opens an incident: refused (403) unless `caller` may manage incidents
/// of the service there.
pub async fn open_incident(
    state: &AppState,
    caller: &Caller,
    request: &ferry_api::OpenIncident,
) -> Result<IncidentRecord, ApiError> {
    let title = request.title.trim();
    if title.is_empty() {
        return Err(ApiError::Unprocessable(
            "title: must not be empty; say what went wrong".into(),
        ));
    }
    convert::within(&ferry_core::limits::TITLE, "title", title)?;
    let target =
        authorize::target(state, Some(&request.service), Some(&request.environment)).await?;
    caller
        .require(state, Action::ManageIncidents, &target)
        .await?;
    Ok(state
        .store
        .open_incident(
            caller.actor(),
            &request.service,
            &request.environment,
            request.deployment,
            title,
        )
        .await?)
}

/// Resolves an incident.
pub async fn resolve_incident(
    state: &AppState,
    caller: &Caller,
    id: i64,
    resolution: &str,
) -> Result<IncidentRecord, ApiError> {
    let resolution = resolution.trim();
    convert::within(&ferry_core::limits::REASON, "resolution", resolution)?;
    let incident = state.store.incident(id).await?;
    let target =
        authorize::target(state, Some(&incident.service), Some(&incident.environment)).await?;
    caller
        .require(state, Action::ManageIncidents, &target)
        .await?;
    Ok(state
        .store
        .resolve_incident(caller.actor(), id, resolution)
        .await?)
}

/// An incident as the API shows it.
pub fn incident(record: IncidentRecord) -> ferry_api::Incident {
    let (resolved_by, resolved_at, resolution) = match record.resolved {
        Some((by, at, how)) => (Some(by), Some(at), Some(how)),
        None => (None, None, None),
    };
    ferry_api::Incident {
        id: record.id,
        service: record.service,
        environment: record.environment,
        deployment: record.deployment,
        title: record.title,
        opened_by: record.opened_by,
        opened_at: record.opened_at,
        resolved_by,
        resolved_at,
        resolution,
    }
}
