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
    /// The plan template each new release gets its plan from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_template: Option<Name>,
    /// How it is deployed (strategy, steps, health checks), kept as given.
    /// Empty (`null`) for a service deployed by another tool.
    pub deploy: serde_json::Value,
}

/// Checks a glob of [`ServiceSpec::paths`] and returns its pattern, relative
/// to the repository root (without a leading `./` or `/` or a trailing `/`),
/// or says what is wrong and what is expected.
pub fn check_path_glob(glob: &str) -> Result<&str, &'static str> {
    let mut pattern = glob;
    while let Some(rest) = pattern.strip_prefix("./") {
        pattern = rest;
    }
    let pattern = pattern.trim_start_matches('/').trim_end_matches('/');
    if pattern.is_empty() {
        return Err(
            "it names no path; expected a path relative to the repository root, like 'services/api/**'",
        );
    }
    if pattern.starts_with('!') {
        return Err("negation is not supported; list the paths to keep instead");
    }
    if pattern.split('/').any(|part| part == "..") {
        return Err(
            "'..' cannot leave the repository; expected a path relative to the repository root",
        );
    }
    if pattern.chars().any(char::is_control) {
        return Err("it holds a control character; expected a path");
    }
    if !brackets_close(pattern) {
        return Err("a '[' is not closed by a ']'; write '\\[' for the character itself");
    }
    Ok(pattern)
}

/// Whether every `[` of a glob (not escaped) is closed by a `]`.
fn brackets_close(pattern: &str) -> bool {
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '[' => {
                // A ']' right after '[' (or '[!') belongs to the set.
                let mut first = true;
                loop {
                    match chars.next() {
                        None => return false,
                        Some('!' | '^') if first => {}
                        Some(']') if !first => break,
                        Some(_) => {}
                    }
                    first = false;
                }
            }
            _ => {}
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_are_paths_of_the_repository() {
        assert_eq!(check_path_glob("./services/api/**/"), Ok("services/api/**"));
        assert_eq!(check_path_glob("docs/[a-z]*.md"), Ok("docs/[a-z]*.md"));
        assert_eq!(check_path_glob("a/[]]b"), Ok("a/[]]b"));
        for bad in ["", "/", "!docs", "../x", "a/[bc", "a/[!", "a\u{0}b"] {
            assert!(check_path_glob(bad).is_err(), "{bad:?}");
        }
    }
}
