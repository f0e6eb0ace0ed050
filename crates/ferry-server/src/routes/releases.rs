//! Releases of a service.

use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use ferry_api::{CreateRelease, NewArtifact, Page, PageQuery, Problem, Release, ReleaseNotes};
use ferry_core::artifact::parse_reference;
use ferry_core::digest::Digest;
use ferry_core::limits;
use ferry_core::notes::{render_template, write_html, write_markdown};
use ferry_store::releases::{ArtifactRecord, NewRelease};
use serde::Deserialize;

use crate::auth::Caller;
use crate::authorize::Reader;
use crate::convert::{self, name, version};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path, Query};
use crate::routes::Paging;
use crate::state::AppState;
use ferry_core::access::{Action, Target};

/// Releases of every service, newest first.
#[utoipa::path(get, path = "/api/v1/releases", tag = "releases", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, body = Page<Release>), (status = 400, body = Problem, content_type = "application/problem+json")))]
pub async fn list_all_releases(
    State(state): State<AppState>,
    _reader: Reader,
    Query(query): Query<PageQuery>,
) -> ApiResult<axum::Json<Page<Release>>> {
    let paging = Paging::parse(query.limit, query.cursor.as_deref())?;
    let records = state
        .store
        .releases(None, paging.before, paging.fetch())
        .await?;
    Ok(axum::Json(paging.page(
        records.into_iter().map(convert::release).collect(),
        |r| r.id,
    )))
}

/// Releases of one service, newest first.
#[utoipa::path(get, path = "/api/v1/services/{service}/releases", tag = "releases", security(("bearer" = [])),
    params(("service" = ferry_core::Name, Path, description = "The service's name"), PageQuery),
    responses((status = 200, body = Page<Release>), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn list_releases(
    State(state): State<AppState>,
    _reader: Reader,
    Path(service): Path<String>,
    Query(query): Query<PageQuery>,
) -> ApiResult<axum::Json<Page<Release>>> {
    let service = name("service", &service)?;
    let paging = Paging::parse(query.limit, query.cursor.as_deref())?;
    if !state
        .store
        .services()
        .await?
        .iter()
        .any(|s| s.spec.name == service)
    {
        return Err(ApiError::NotFound(format!(
            "there is no service {:?}",
            service.as_str()
        )));
    }
    let records = state
        .store
        .releases(Some(&service), paging.before, paging.fetch())
        .await?;
    Ok(axum::Json(paging.page(
        records.into_iter().map(convert::release).collect(),
        |r| r.id,
    )))
}

/// Creates a release. Its version must be new for the service.
#[utoipa::path(post, path = "/api/v1/services/{service}/releases", tag = "releases", security(("bearer" = [])),
    params(("service" = ferry_core::Name, Path, description = "The service's name")),
    request_body = CreateRelease,
    responses(
        (status = 201, body = Release),
        (status = 400, description = "Malformed body or version", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown service", body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The version exists", body = Problem, content_type = "application/problem+json")
    ))]
pub async fn create_release(
    State(state): State<AppState>,
    caller: Caller,
    Path(service): Path<String>,
    Json(request): Json<CreateRelease>,
) -> ApiResult<(StatusCode, axum::Json<Release>)> {
    let created = create(&state, &caller, &service, &request).await;
    if created.is_err() && request.artifacts.iter().any(|a| a.uri.is_none()) {
        // Refused after its bytes were uploaded: they are removed once no
        // release names them and their grace period is over (see
        // `ferry_store::blobs`).
        state.blobs.sweep_soon(state.store.clone());
    }
    created
}

async fn create(
    state: &AppState,
    caller: &Caller,
    service: &str,
    request: &CreateRelease,
) -> ApiResult<(StatusCode, axum::Json<Release>)> {
    let service = name("service", service)?;
    caller
        .require(state, Action::CreateRelease, &Target::service(&service))
        .await?;
    let version = version(&request.version)?;
    convert::within(&limits::NOTES, "notes", &request.notes)?;
    convert::within_count(&limits::ARTIFACTS, "artifacts", request.artifacts.len())?;
    convert::within_count(&limits::AUTHORS, "authors", request.authors.len())?;
    let previous_version = request
        .previous_version
        .as_deref()
        .map(convert::version)
        .transpose()?
        .map(|v| v.to_string());
    if let Some(commit) = &request.commit
        && (commit.len() < 4 || commit.len() > 64 || !commit.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return Err(ApiError::Unprocessable(format!(
            "commit {commit:?} is not a git commit id (hex)"
        )));
    }
    // No artifact is swept from finding its bytes to the commit.
    let _pin = state.blobs.pin().await;
    let mut artifacts = Vec::with_capacity(request.artifacts.len());
    for artifact in &request.artifacts {
        artifacts.push(checked_artifact(state, artifact).await?);
    }
    let commits_json =
        serde_json::to_string(&request.commits).map_err(|e| ApiError::Internal(e.to_string()))?;
    let people = people(request)?;
    let new = NewRelease {
        people: &people,
        notes: &request.notes,
        commit: request.commit.as_deref(),
        previous_version: previous_version.as_deref(),
        commits_json: &commits_json,
        artifacts: &artifacts,
        go_live: request.go_live,
    };
    let record = state
        .store
        .create_release(caller.actor(), &service, &version, new)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(convert::release(record))))
}

/// The longest `Name <mail>` of an author.
const AUTHOR_CHARACTERS: usize = 320;

/// The people of a release, for separation of duties: the `authors` sent
/// (`Name <mail>`), or, from a client that sends none, the commits' author
/// names and their `Co-authored-by` footers.
fn people(request: &CreateRelease) -> Result<Vec<String>, ApiError> {
    let mut people: Vec<String> = if request.authors.is_empty() {
        request
            .commits
            .iter()
            .flat_map(|commit| {
                let co_authors = commit
                    .footers
                    .iter()
                    .filter(|f| f.token.eq_ignore_ascii_case("Co-authored-by"))
                    .map(|f| f.value.clone());
                commit.authors.iter().cloned().chain(co_authors)
            })
            .collect()
    } else {
        request.authors.clone()
    };
    convert::within_count(&limits::AUTHORS, "authors", people.len())?;
    for (index, person) in people.iter().enumerate() {
        let size = person.chars().count();
        if person.trim().is_empty()
            || size > AUTHOR_CHARACTERS
            || person.chars().any(char::is_control)
        {
            return Err(ApiError::Unprocessable(format!(
                "authors[{index}]: each author is `Name <mail>` of 1 to {AUTHOR_CHARACTERS} \
                 characters without control characters ({size} characters here)"
            )));
        }
    }
    people.sort();
    people.dedup();
    Ok(people)
}

/// Checks an artifact named in a release: a valid name and digest; for a
/// reference a supported URI that agrees with the digest; for a stored one,
/// bytes uploaded under that digest.
async fn checked_artifact(state: &AppState, artifact: &NewArtifact) -> ApiResult<ArtifactRecord> {
    let artifact_name = artifact.name.clone();
    let digest = Digest::parse(&artifact.digest)
        .map_err(|e| ApiError::Unprocessable(format!("artifact {:?}: {e}", artifact.name)))?;
    let invalid =
        |reason: String| ApiError::Unprocessable(format!("artifact {:?}: {reason}", artifact.name));
    match &artifact.uri {
        Some(uri) => {
            let written = if uri.starts_with("oci://") {
                uri.clone()
            } else {
                format!("{uri}@{digest}")
            };
            let reference = parse_reference(&written).map_err(invalid)?;
            ferry_core::artifact::check_transport(&reference, &state.allow_http_hosts)
                .map_err(invalid)?;
            if reference.digest != digest {
                return Err(invalid(format!(
                    "the reference names {}, not {digest}",
                    reference.digest
                )));
            }
            Ok(ArtifactRecord {
                name: artifact_name.to_string(),
                digest: digest.to_string(),
                size: None,
                uri: Some(reference.uri),
            })
        }
        None => {
            let size = state.blobs.size(&digest).await.ok_or_else(|| {
                invalid(format!("no bytes with digest {digest} were uploaded; PUT them to /api/v1/blobs/{digest} first"))
            })?;
            let size = i64::try_from(size).map_err(|e| ApiError::Internal(e.to_string()))?;
            Ok(ArtifactRecord {
                name: artifact_name.to_string(),
                digest: digest.to_string(),
                size: Some(size),
                uri: None,
            })
        }
    }
}

/// Which rendering of the notes.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct NotesQuery {
    /// `md` (default; the service's notes template when it has one), `html` or `json`.
    format: Option<String>,
}

/// The release notes generated from the release's commits.
#[utoipa::path(get, path = "/api/v1/services/{service}/releases/{version}/notes", tag = "releases", security(("bearer" = [])),
    params(("service" = ferry_core::Name, Path, description = "The service's name"), ("version" = crate::openapi::Version, Path, description = "The version"), NotesQuery),
    responses(
        (status = 200, description = "Markdown, HTML, or the notes as JSON", content(
            (ReleaseNotes = "application/json"),
            (String = "text/markdown; charset=utf-8"),
            (String = "text/html; charset=utf-8")
        )),
        (status = 404, body = Problem, content_type = "application/problem+json")
    ))]
pub async fn release_notes(
    State(state): State<AppState>,
    _reader: Reader,
    Path((service, text)): Path<(String, String)>,
    Query(query): Query<NotesQuery>,
) -> ApiResult<Response> {
    let service = name("service", &service)?;
    let record = state.store.release(&service, &version(&text)?).await?;
    let (notes, options, spec) = crate::release_notes::assemble(&state, &service, &record).await?;
    let template = spec.and_then(|s| s.notes_template);
    let failed =
        |e: std::fmt::Error| ApiError::Internal(format!("rendering the notes failed: {e}"));
    match query.format.as_deref().unwrap_or("md") {
        "json" => Ok(axum::Json(notes).into_response()),
        "md" => {
            let mut out = match template {
                Some(template) => render_template(
                    &template,
                    std::slice::from_ref(&notes),
                    &options,
                )
                .map_err(|e| {
                    ApiError::Unprocessable(format!("the service's notes template failed: {e}"))
                })?,
                None => {
                    let mut out = String::new();
                    write_markdown(&mut out, &notes, &options).map_err(failed)?;
                    out
                }
            };
            if !record.notes.trim().is_empty() {
                out = format!("{}\n\n{out}", record.notes.trim_end());
            }
            Ok((
                [(header::CONTENT_TYPE, "text/markdown; charset=utf-8")],
                out,
            )
                .into_response())
        }
        "html" => {
            let mut out = String::new();
            write_html(&mut out, &notes, &options).map_err(failed)?;
            Ok(([(header::CONTENT_TYPE, "text/html; charset=utf-8")], out).into_response())
        }
        other => Err(ApiError::Unprocessable(format!(
            "unknown notes format {other:?}; expected md, html or json"
        ))),
    }
}

/// One release.
#[utoipa::path(get, path = "/api/v1/services/{service}/releases/{version}", tag = "releases", security(("bearer" = [])),
    params(("service" = ferry_core::Name, Path, description = "The service's name"), ("version" = crate::openapi::Version, Path, description = "The version")),
    responses((status = 200, body = Release), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get_release(
    State(state): State<AppState>,
    _reader: Reader,
    Path((service, text)): Path<(String, String)>,
) -> ApiResult<axum::Json<Release>> {
    let record = state
        .store
        .release(&name("service", &service)?, &version(&text)?)
        .await?;
    Ok(axum::Json(convert::release(record)))
}

/// Abandons a release: it can no longer be promoted. Final.
#[utoipa::path(post, path = "/api/v1/services/{service}/releases/{version}/abandon", tag = "releases", security(("bearer" = [])),
    params(("service" = ferry_core::Name, Path, description = "The service's name"), ("version" = crate::openapi::Version, Path, description = "The version")),
    responses(
        (status = 200, body = Release),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Abandoned already", body = Problem, content_type = "application/problem+json")
    ))]
pub async fn abandon_release(
    State(state): State<AppState>,
    caller: Caller,
    Path((service, text)): Path<(String, String)>,
) -> ApiResult<axum::Json<Release>> {
    let service = name("service", &service)?;
    caller
        .require(&state, Action::AbandonRelease, &Target::service(&service))
        .await?;
    let record = state
        .store
        .abandon_release(caller.actor(), &service, &version(&text)?)
        .await?;
    Ok(axum::Json(convert::release(record)))
}
