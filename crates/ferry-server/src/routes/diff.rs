//! `ferry diff`: what promoting a service between two environments would bring.

use axum::extract::State;
use ferry_api::{Diff, DiffSide, NotesCommit, Problem};
use ferry_core::DeploymentStatus;
use serde::Deserialize;

use crate::authorize::Reader;
use crate::convert::{self, name};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Path, Query};
use crate::state::AppState;

/// The two environments compared.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DiffQuery {
    /// The environment the release comes from.
    from: ferry_core::Name,
    /// The environment it would go to.
    to: ferry_core::Name,
}

/// The releases and commits between the version in `to` and the one in `from`.
#[utoipa::path(get, path = "/api/v1/services/{service}/diff", tag = "releases", security(("bearer" = [])),
    params(("service" = ferry_core::Name, Path, description = "The service's name"), DiffQuery),
    responses((status = 200, body = Diff), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn diff(
    State(state): State<AppState>,
    _reader: Reader,
    Path(service): Path<String>,
    Query(query): Query<DiffQuery>,
) -> ApiResult<axum::Json<Diff>> {
    let service = name("service", &service)?;
    let from = query.from;
    let to = query.to;
    let facts = state.store.status_facts().await?;
    if !facts.services.contains(&service) {
        return Err(ApiError::NotFound(format!(
            "there is no service {:?}",
            service.as_str()
        )));
    }
    for environment in [&from, &to] {
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
                d.service == service
                    && &d.environment == environment
                    && d.status == DeploymentStatus::Succeeded
            })
            .max_by_key(|d| d.id)
            .map(|d| d.version.clone())
    };
    let (from_version, to_version) = (current(&from), current(&to));
    let parse = |v: &Option<String>| v.as_deref().map(convert::version).transpose();
    let (upper, lower) = (parse(&from_version)?, parse(&to_version)?);
    let mut releases = Vec::new();
    let mut commits: Vec<NotesCommit> = Vec::new();
    if let Some(upper) = upper {
        let mut cursor = None;
        loop {
            let page = state.store.releases(Some(&service), cursor, 500).await?;
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
    Ok(axum::Json(Diff {
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
    }))
}
