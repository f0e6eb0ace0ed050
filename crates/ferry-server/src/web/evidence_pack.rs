//! The release page's download of its evidence pack, in one environment or
//! all: the same archive as `GET /api/v1/evidence-pack`, for the signed-in
//! person who may read.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use ferry_core::access::{Action, Target};
use serde::Deserialize;

use super::page::refusal;
use super::session::Viewer;
use crate::evidence_pack::{self, Asked, Request};
use crate::state::AppState;

/// Which environment, if one.
#[derive(Debug, Default, Deserialize)]
pub struct Environment {
    #[serde(default)]
    env: Option<String>,
}

/// `GET /services/{service}/releases/{version}/evidence-pack[?env=ENV]`.
pub async fn download(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((service, version)): Path<(String, String)>,
    query: Result<Query<Environment>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Query(query) = query.unwrap_or_default();
    let made = async {
        viewer
            .caller()
            .require(&state, Action::Read, &Target::SERVER)
            .await?;
        let release = format!("{service}@{version}");
        let request = Request::parse(Asked {
            release: Some(&release),
            environment: query.env.as_deref().filter(|env| !env.is_empty()),
            ..Asked::default()
        })?;
        evidence_pack::make(&state, &request).await
    };
    match made.await {
        Ok(archive) => archive.into_response(),
        Err(error) => refusal(&viewer, error),
    }
}
