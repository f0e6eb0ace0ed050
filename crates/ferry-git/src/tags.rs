//! Which tags mark releases, and of which service.

use crate::{GitError, Repository, VersionTag};

/// How strongly a tag name claims a version: a service's own tag beats a
/// plain one for the same version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Claim {
    Service,
    Plain,
}

/// The version a tag name carries for `service` (or for the whole repository
/// when `service` is `None`), and how it claims it.
fn parse_tag_name(name: &str, service: Option<&str>) -> Option<(semver::Version, Claim)> {
    if let Some(rest) = service.and_then(|service| name.strip_prefix(service)) {
        let version = rest
            .strip_prefix("-v")
            .or_else(|| rest.strip_prefix('-'))
            .or_else(|| rest.strip_prefix('@'));
        if let Some(Ok(version)) = version.map(semver::Version::parse) {
            return Some((version, Claim::Service));
        }
    }
    let version = name.strip_prefix('v').unwrap_or(name);
    semver::Version::parse(version)
        .ok()
        .map(|version| (version, Claim::Plain))
}

pub(crate) fn version_tags(
    repo: &Repository,
    service: Option<&str>,
) -> Result<Vec<VersionTag>, GitError> {
    let service = service.filter(|service| !service.is_empty());
    let tags_error = |tag: Option<&str>, source| GitError::Tags {
        repo: repo.location.clone(),
        tag: tag.map(str::to_owned),
        source,
    };
    let platform = repo.inner.references().map_err(|e| tags_error(None, e))?;
    // Names first: only the tags that look like versions are peeled, which
    // costs an object read for each annotated one.
    let mut candidates = Vec::new();
    for reference in platform.tags().map_err(|e| tags_error(None, e))? {
        let reference = reference.map_err(|e| tags_error(None, e))?;
        let Ok(name) = std::str::from_utf8(reference.name().shorten()) else {
            continue;
        };
        if let Some((version, claim)) = parse_tag_name(name, service) {
            candidates.push((version, claim, name.to_owned(), reference));
        }
    }
    // One tag per version: the highest claim, then the first name.
    candidates.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then(a.1.cmp(&b.1))
            .then_with(|| a.2.cmp(&b.2))
    });
    candidates.dedup_by(|later, earlier| later.0 == earlier.0);

    let mut tags = Vec::with_capacity(candidates.len());
    for (version, _, name, mut reference) in candidates {
        let id = reference
            .peel_to_id()
            .map_err(|e| tags_error(Some(&name), e))?
            .detach();
        // A tag of a tree or a blob is no release. The header is enough to
        // tell, without inflating the commit.
        if repo.kind(&id)? != gix::objs::Kind::Commit {
            continue;
        }
        tags.push(VersionTag {
            name,
            version,
            commit: id.to_string(),
        });
    }
    Ok(tags)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(name: &str, service: Option<&str>) -> Option<(String, Claim)> {
        parse_tag_name(name, service).map(|(v, c)| (v.to_string(), c))
    }

    #[test]
    fn plain_tags_with_or_without_v() {
        assert_eq!(parse("v1.2.3", None), Some(("1.2.3".into(), Claim::Plain)));
        assert_eq!(parse("1.2.3", None), Some(("1.2.3".into(), Claim::Plain)));
        assert_eq!(
            parse("v2.0.0-rc.1+build.5", None),
            Some(("2.0.0-rc.1+build.5".into(), Claim::Plain))
        );
    }

    #[test]
    fn names_that_are_not_whole_versions_do_not_match() {
        for name in [
            "v1.2",
            "release-1.2.3",
            "vv1.2.3",
            "V1.2.3",
            "v1.2.3 ",
            "latest",
        ] {
            assert_eq!(parse(name, None), None, "{name}");
        }
    }

    #[test]
    fn service_prefixes() {
        for name in ["api-v1.2.0", "api-1.2.0", "api@1.2.0"] {
            assert_eq!(
                parse(name, Some("api")),
                Some(("1.2.0".into(), Claim::Service)),
                "{name}"
            );
        }
        assert_eq!(
            parse("v1.2.0", Some("api")),
            Some(("1.2.0".into(), Claim::Plain))
        );
        assert_eq!(parse("web-v9.0.0", Some("api")), None);
        assert_eq!(parse("api-gateway-v1.0.0", Some("api")), None);
        assert_eq!(parse("api-v1.2.0", None), None);
    }
}
