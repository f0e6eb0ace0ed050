//! Releases: `service@version`, immutable once created.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{Name, NameError};

/// The state of a release. A release is never edited: it can only be abandoned.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReleaseState {
    /// May be promoted.
    Active,
    /// Withdrawn: may not be promoted any more. Final.
    Abandoned,
}

impl ReleaseState {
    /// The state's name as stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            ReleaseState::Active => "active",
            ReleaseState::Abandoned => "abandoned",
        }
    }

    /// Parses a stored state.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(ReleaseState::Active),
            "abandoned" => Some(ReleaseState::Abandoned),
            _ => None,
        }
    }

    /// Whether a release may go from `self` to `next`.
    pub fn can_become(self, next: ReleaseState) -> bool {
        matches!(
            (self, next),
            (ReleaseState::Active, ReleaseState::Abandoned)
        )
    }
}

/// The form of a version as a regular expression (Semantic Versioning
/// 2.0.0's own, with an optional leading `v`), for the OpenAPI document.
pub const VERSION_PATTERN: &str = r"^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$";

/// Parses a release version: Semantic Versioning 2.0.0, without a leading `v`
/// (which is accepted and dropped, as tags are often written so).
pub fn parse_version(s: &str) -> Result<semver::Version, String> {
    crate::limits::VERSION
        .check("version", s)
        .map_err(|error| error.to_string())?;
    let trimmed = s.strip_prefix('v').unwrap_or(s);
    semver::Version::parse(trimmed).map_err(|error| {
        format!("{s:?} is not a semantic version ({error}); expected MAJOR.MINOR.PATCH such as 1.4.0 or 2.0.0-rc.1")
    })
}

/// `service@version`, the way a release is named on the command line.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReleaseRef {
    /// The service.
    pub service: Name,
    /// The version.
    pub version: semver::Version,
}

/// Why a `service@version` string could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReleaseRefError {
    /// There is no `@`.
    #[error("{0:?} is not SERVICE@VERSION (such as api@1.4.0)")]
    MissingAt(String),
    /// The service part is not a valid name.
    #[error("in {input:?}: {source}")]
    Service {
        /// The whole input.
        input: String,
        /// What is wrong with the name.
        source: NameError,
    },
    /// The version part is not semver.
    #[error("in {input:?}: {reason}")]
    Version {
        /// The whole input.
        input: String,
        /// What is wrong with the version.
        reason: String,
    },
}

impl std::str::FromStr for ReleaseRef {
    type Err = ReleaseRefError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (service, version) = s
            .split_once('@')
            .ok_or_else(|| ReleaseRefError::MissingAt(s.to_owned()))?;
        let service = Name::parse(service).map_err(|source| ReleaseRefError::Service {
            input: s.to_owned(),
            source,
        })?;
        let version = parse_version(version).map_err(|reason| ReleaseRefError::Version {
            input: s.to_owned(),
            reason,
        })?;
        Ok(Self { service, version })
    }
}

impl fmt::Display for ReleaseRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.service, self.version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_state_transitions() {
        use ReleaseState::*;
        assert!(Active.can_become(Abandoned));
        assert!(!Abandoned.can_become(Active));
        assert!(!Abandoned.can_become(Abandoned));
        assert!(!Active.can_become(Active));
        for state in [Active, Abandoned] {
            assert_eq!(ReleaseState::parse(state.as_str()), Some(state));
        }
        assert_eq!(ReleaseState::parse("deleted"), None);
    }

    #[test]
    fn versions_follow_semver() {
        assert_eq!(parse_version("1.2.3").unwrap().to_string(), "1.2.3");
        assert_eq!(
            parse_version("v2.0.0-rc.1").unwrap().to_string(),
            "2.0.0-rc.1"
        );
        assert_eq!(
            parse_version("1.0.0+build.7").unwrap().to_string(),
            "1.0.0+build.7"
        );
        for bad in ["1.2", "1.02.3", "latest", "", "1.2.3-"] {
            let error = parse_version(bad).unwrap_err();
            assert!(error.contains("not a semantic version"), "{bad}: {error}");
        }
    }

    #[test]
    fn release_refs_parse_and_display() {
        let parsed: ReleaseRef = "api@1.4.0".parse().unwrap();
        assert_eq!(parsed.service.as_str(), "api");
        assert_eq!(parsed.to_string(), "api@1.4.0");
        assert!(matches!(
            "api".parse::<ReleaseRef>(),
            Err(ReleaseRefError::MissingAt(_))
        ));
        assert!(matches!(
            "API@1.0.0".parse::<ReleaseRef>(),
            Err(ReleaseRefError::Service { .. })
        ));
        assert!(matches!(
            "api@one".parse::<ReleaseRef>(),
            Err(ReleaseRefError::Version { .. })
        ));
    }
}
