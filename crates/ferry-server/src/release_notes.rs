//! A release's notes as ferry assembles them from what it recorded: its
//! commits grouped by kind, with the links its service's settings allow,
//! for the API's `notes` and the release's page alike.

use ferry_core::Name;
use ferry_core::notes::{NotesCommit, ReleaseNotes, RenderOptions};
use ferry_core::service::ServiceSpec;
use ferry_store::releases::ReleaseRecord;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The notes of `record`, a release of `service`, with the service's
/// settings (`None` when the service is gone) and the options they give.
pub async fn assemble(
    state: &AppState,
    service: &Name,
    record: &ReleaseRecord,
) -> ApiResult<(ReleaseNotes, RenderOptions, Option<ServiceSpec>)> {
    let commits: Vec<NotesCommit> =
        serde_json::from_str(&state.store.release_commits(record.id).await?)
            .map_err(|e| ApiError::Internal(format!("stored commits unreadable: {e}")))?;
    let date = record.created_at.format("%Y-%m-%d").to_string();
    let notes = ReleaseNotes::new(
        Some(record.version.clone()),
        record.previous_version.clone(),
        Some(date),
        commits,
    );
    let spec = state
        .store
        .services()
        .await?
        .into_iter()
        .find(|stored| &stored.spec.name == service)
        .map(|stored| stored.spec);
    let options = RenderOptions {
        issue_url: spec.as_ref().and_then(|s| s.issue_url.clone()),
    };
    Ok((notes, options, spec))
}

/// Where a commit of a service whose repository is `repo` is shown: an
/// `https://` repository's `/commit/ID` page (GitHub, GitLab, Gitea and
/// Forgejo all answer it); nothing for another kind of address.
pub fn commit_url(repo: Option<&str>, id: &str) -> Option<String> {
    let repo = repo?.trim_end_matches('/').trim_end_matches(".git");
    let plain_id = !id.is_empty() && id.bytes().all(|b| b.is_ascii_hexdigit());
    (repo.starts_with("https://") && plain_id).then(|| format!("{repo}/commit/{id}"))
}

#[cfg(test)]
mod tests {
    use super::commit_url;

    #[test]
    fn commits_link_to_an_https_repository_only() {
        assert_eq!(
            commit_url(Some("https://github.com/acme/api.git"), "0a1b2c").as_deref(),
            Some("https://github.com/acme/api/commit/0a1b2c")
        );
        assert_eq!(
            commit_url(Some("git@github.com:acme/api.git"), "0a1b2c"),
            None
        );
        assert_eq!(
            commit_url(Some("https://github.com/acme/api"), "x\"y"),
            None
        );
        assert_eq!(commit_url(None, "0a1b2c"), None);
    }
}
