//! Evidence packs: one archive for auditors (see `crate::evidence_pack`).

use axum::extract::State;
use ferry_api::Problem;
use serde::Deserialize;

use crate::authorize::Reader;
use crate::error::ApiResult;
use crate::evidence_pack::{self, Archive, Asked, Request};
use crate::extract::Query;
use crate::state::AppState;

/// The query of `GET /api/v1/evidence-pack`: a release, or a period.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EvidencePackQuery {
    /// The release the pack covers, `SERVICE@VERSION` (such as
    /// `api@1.4.0`); or else `since` and `until`.
    release: Option<String>,
    /// Only what concerns this environment: the release's evidence,
    /// approvals, change requests and deployments there, or the period's
    /// deployments into it.
    env: Option<String>,
    /// The start of the period whose deployments the pack covers: a date
    /// (`2026-07-01`, from its first instant, UTC) or an RFC 3339 time.
    since: Option<String>,
    /// The end of the period: a date (`2026-09-30`, included) or an RFC
    /// 3339 time (excluded).
    until: Option<String>,
    /// Only the period's deployments of this service.
    service: Option<String>,
}

/// An evidence pack for auditors: a `.tar.gz` holding what changed in a
/// release (its commits and change requests), how it was tested (its
/// evidence), who approved it and when, where and when it was deployed
/// (each deployment with its history and log), and the audit events
/// behind each of these facts with their hash-chain links, with a manifest
/// of the digest of every file and fact and the audit trail's head.
/// `ferry evidence-pack verify FILE` checks it offline.
///
/// Ask for a release (`release`, and `env` for one environment) or for the
/// deployments of a period (`since` and `until`, narrowed by `service` and
/// `env`). Reading a pack is a read: whoever may read the audit trail may
/// read it.
#[utoipa::path(get, path = "/api/v1/evidence-pack", tag = "audit", security(("bearer" = [])), params(EvidencePackQuery),
    responses(
        (status = 200, description = "The pack, a .tar.gz named in Content-Disposition", content_type = "application/gzip", body = Vec<u8>),
        (status = 400, description = "A query that cannot be read (an unknown parameter)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The release, service or environment does not exist", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Neither a release nor a period, both, a malformed release, name or time, or a period that ends before it starts", body = Problem, content_type = "application/problem+json")
    ))]
pub async fn evidence_pack(
    State(state): State<AppState>,
    _reader: Reader,
    Query(query): Query<EvidencePackQuery>,
) -> ApiResult<Archive> {
    let request = Request::parse(Asked {
        release: query.release.as_deref(),
        environment: query.env.as_deref(),
        since: query.since.as_deref(),
        until: query.until.as_deref(),
        service: query.service.as_deref(),
    })?;
    evidence_pack::make(&state, &request).await
}
