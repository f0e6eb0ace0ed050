//! Services: what is released and deployed.

use serde::{Deserialize, Serialize};

use crate::Name;

/// A service as configured.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceSpec {
    /// Its unique name.
    pub name: Name,
    /// Free text for people.
    pub description: String,
    /// The lifecycle its releases follow.
    pub lifecycle: Name,
    /// Its git repository (a path or URL); empty when none is known.
    pub repo: String,
    /// Globs selecting the paths of a monorepo that belong to it; empty means all.
    pub paths: Vec<String>,
    /// A link template for issue references in release notes, such as
    /// `https://github.com/acme/api/issues/{}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue_url: Option<String>,
    /// A minijinja template for release notes, replacing the built-in
    /// Markdown: its text (`ferry apply` reads the file the configuration names).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes_template: Option<String>,
    /// How it is deployed (strategy, steps, health checks), kept as given.
    /// Empty (`null`) for a service deployed by another tool.
    pub deploy: serde_json::Value,
}
