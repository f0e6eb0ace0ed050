//! Releases, their artifacts and the body that creates one.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use ferry_core::Name;

use crate::{NotesCommit, ReleaseState};

/// A release: `service@version`, immutable once created.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Release {
    /// Its id.
    pub id: i64,
    /// The service released.
    pub service: String,
    /// Its semantic version.
    pub version: String,
    /// Active, or abandoned.
    pub state: ReleaseState,
    /// Free-text release notes (Markdown) given at creation; the notes
    /// generated from its commits are at `.../notes`.
    pub notes: String,
    /// The git commit released, when it was created from git.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The version this release follows, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_version: Option<String>,
    /// Its artifacts, by name.
    #[serde(default)]
    pub artifacts: Vec<Artifact>,
    /// Who created it.
    pub created_by: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// An artifact of a release.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Artifact {
    /// Its name within the release.
    pub name: String,
    /// `sha256:<hex>` of its bytes.
    pub digest: String,
    /// Its size in bytes, when known (always for stored artifacts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<i64>,
    /// Where it lives, for a reference (`oci://…@sha256:…`, or a URL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// Whether ferry stores its bytes (downloadable from the release).
    pub stored: bool,
}

/// An artifact named when creating a release: stored (upload its bytes to
/// `PUT /api/v1/blobs/{digest}` first) or a reference (`uri` given).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewArtifact {
    /// Its name within the release (lower-case letters, digits, `-`, `_`, `.`).
    pub name: Name,
    /// `sha256:<hex>` of its bytes.
    pub digest: String,
    /// For a reference: where it lives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
}

/// An upload's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BlobUploaded {
    /// `sha256:<hex>` of the bytes.
    pub digest: String,
    /// Their size in bytes.
    pub size: u64,
}

/// The body of `POST /api/v1/services/{service}/releases`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRelease {
    /// The version, Semantic Versioning 2.0.0 (a leading `v` is dropped).
    pub version: String,
    /// Free-text release notes (Markdown).
    #[serde(default)]
    pub notes: String,
    /// The git commit released.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The version this release follows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_version: Option<String>,
    /// The commits it contains, newest first.
    #[serde(default)]
    pub commits: Vec<NotesCommit>,
    /// Its artifacts.
    #[serde(default)]
    pub artifacts: Vec<NewArtifact>,
    /// The authors and co-authors of its commits, as `Name <mail>`: matched
    /// against users (by e-mail first, then by name) for separation of
    /// duties.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authors: Vec<String>,
    /// The go-live date, which dates the plan the service's plan template
    /// makes for the release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub go_live: Option<chrono::DateTime<chrono::Utc>>,
}
