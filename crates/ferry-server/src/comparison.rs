//! What promoting a service from one environment to the next would bring
//! (`ferry diff`, and the web UI's comparison): the releases above the
//! version that succeeded in the target up to the one that succeeded in the
//! source, and their commits, newest first.

use ferry_api::{Diff, DiffSide, NotesCommit};
use ferry_core::{DeploymentStatus, Name};

use crate::convert;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The difference of `service` between environments `from` and `to`.
pub async fn diff(state: &AppState, service: &Name, from: &Name, to: &Name) -> ApiResult<Diff> {
    let facts = state.store.status_facts(Some(service)).await?;
    if !facts.services.contains(service) {
        return Err(ApiError::NotFound(format!(
            "there is no service {:?}",
            service.as_str()
        )));
    }
    for environment in [from, to] {
        if !facts
            .environments
            .iter()
            .any(|(known, _)| known == environment)
        {
            return Err(ApiError::NotFound(format!(
                "there is no environment {:?}",
                environment.as_str()
            )));
        }
    }
    let current = |environment: &ferry_core::Name| {
        facts
            .deployments
            .iter()
            .filter(|d| {
                &d.service == service
                    && &d.environment == environment
                    && d.status == DeploymentStatus::Succeeded
            })
            .max_by_key(|d| d.id)
            .map(|d| d.version.clone())
    };
    let (from_version, to_version) = (current(from), current(to));
    let parse = |v: &Option<String>| v.as_deref().map(convert::version).transpose();
    let (upper, lower) = (parse(&from_version)?, parse(&to_version)?);
    let mut releases = Vec::new();
    let mut commits: Vec<NotesCommit> = Vec::new();
    if let Some(upper) = upper {
        let mut cursor = None;
        loop {
            let page = state.store.releases(Some(service), cursor, 500).await?;
            let Some(last) = page.last() else { break };
            cursor = Some(last.id);
            for release in page {
                let version = convert::version(&release.version)?;
                if version <= upper && lower.as_ref().is_none_or(|lower| &version > lower) {
                    releases.push((version, release.id));
                }
            }
        }
        releases.sort_by(|a, b| b.0.cmp(&a.0));
        for (_, id) in &releases {
            let stored: Vec<NotesCommit> =
                serde_json::from_str(&state.store.release_commits(*id).await?)
                    .map_err(|e| ApiError::Internal(format!("stored commits unreadable: {e}")))?;
            commits.extend(stored);
        }
    }
    Ok(Diff {
        service: service.to_string(),
        from: DiffSide {
            environment: from.to_string(),
            version: from_version,
        },
        to: DiffSide {
            environment: to.to_string(),
            version: to_version,
        },
        releases: releases
            .into_iter()
            .map(|(version, _)| version.to_string())
            .collect(),
        commits,
    })
}
