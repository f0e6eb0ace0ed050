//! The next version of a service, by Semantic Versioning 2.0.0, from the
//! versions it has and the Conventional Commits since its last final release.
//!
//! The functions here are pure: the caller gathers the facts (every version
//! the service has, released or pre-released, and the largest [`Bump`] among
//! the commits since its last *final* release, the highest version without a
//! pre-release) and gets a version or a [`VersionError`] saying why not.
//!
//! Rules:
//!
//! - Versions only go up: a version given or computed is greater, by SemVer
//!   precedence, than every version the service has (pre-releases
//!   included); otherwise it is refused, naming the highest existing one.
//!   Nothing is ever proposed twice.
//! - A breaking change bumps the major version, a `feat` the minor, a `fix` or
//!   `perf` the patch; a release with nothing else (chores, docs) is still a
//!   patch, as git-cliff does.
//! - The bump counts every commit since the last final release, pre-releases
//!   notwithstanding, and applies to that final release: after 1.6.0, a
//!   `feat` (1.7.0-rc.1) then a `fix` is still a minor change, 1.7.0.
//! - While the major version is 0 (initial development, SemVer §4), a breaking
//!   change bumps the minor version instead; a `feat` is still minor and a
//!   `fix` still a patch. Automatic bumps therefore never leave 0.x: the way to
//!   1.0.0 is an explicit `--bump major` ([`BumpRequest::next_version`]).
//! - With no final release yet, the first version is 0.1.0.
//! - An automatic version never goes below a pending pre-release (one above
//!   the last final release): when the commits call for less than its
//!   major.minor.patch, that is the version's major.minor.patch. So after
//!   1.7.0-rc.2, a final release is 1.7.0, unless the commits since the last
//!   final release call for more (a breaking change: 2.0.0).
//! - A pre-release (`--pre rc`) is the version with `-rc.N`, N one more than
//!   the highest `rc` number already used for that major.minor.patch (1 for
//!   the first): 1.7.0-rc.1, then 1.7.0-rc.2. It sorts before the release it
//!   leads to and after the pre-releases before it.
//! - A label that sorts before the pending pre-release's (SemVer compares
//!   labels as text: `alpha` < `beta` < `rc`), such as `--pre beta` after
//!   1.7.0-rc.1, would go backwards (1.7.0-beta.1 < 1.7.0-rc.1): it is
//!   refused, suggesting the existing label, one that sorts after it, the
//!   final release or a larger bump ([`VersionError::LabelSortsBefore`]).
//! - An explicit bump (`--bump major|minor|patch`) also applies to the last
//!   final release, but is not raised to a pending pre-release: one that does
//!   not reach above every existing version (`--bump patch` after 1.6.0 and
//!   1.7.0-rc.1 makes 1.6.1) is refused ([`VersionError::NotGreater`]).
//! - Nothing here panics: a version component that would overflow is an error.

use std::fmt;
use std::str::FromStr;

use semver::{BuildMetadata, Prerelease, Version};

use crate::conventional::Message;

/// How much a change moves the version. Ordered: the bump of a release is the
/// largest bump of its commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Bump {
    /// No effect on the version by itself (chores, docs…); a release made of
    /// such commits only is a patch.
    None,
    /// Backwards-compatible fixes.
    Patch,
    /// Backwards-compatible features.
    Minor,
    /// Breaking changes.
    Major,
}

impl Bump {
    /// The bump's name: `none`, `patch`, `minor` or `major`.
    pub fn as_str(self) -> &'static str {
        match self {
            Bump::None => "none",
            Bump::Patch => "patch",
            Bump::Minor => "minor",
            Bump::Major => "major",
        }
    }
}

impl fmt::Display for Bump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The bump one commit asks for: breaking → major, `feat` → minor,
/// `fix` | `perf` → patch, anything else → none.
pub fn bump_of(message: &Message) -> Bump {
    if message.breaking {
        return Bump::Major;
    }
    match message.kind.as_deref() {
        Some("feat") => Bump::Minor,
        Some("fix" | "perf") => Bump::Patch,
        _ => Bump::None,
    }
}

/// The bump a user asks for on the command line (`--bump`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BumpRequest {
    /// As the commits say.
    Auto,
    /// A new major version, also out of 0.x.
    Major,
    /// A new minor version.
    Minor,
    /// A new patch version.
    Patch,
}

impl BumpRequest {
    /// The request's name, as accepted by [`FromStr`].
    pub fn as_str(self) -> &'static str {
        match self {
            BumpRequest::Auto => "auto",
            BumpRequest::Major => "major",
            BumpRequest::Minor => "minor",
            BumpRequest::Patch => "patch",
        }
    }

    /// The next version for this request, given every version the service
    /// has (`existing`) and the largest bump among the commits since its last
    /// final release (`computed`).
    ///
    /// `Auto` is [`next_version`]. An explicit request ignores `computed`,
    /// applies to the last final release and is not raised to a pending
    /// pre-release: what it makes must be greater than every existing
    /// version, or it is refused. An explicit `Major` leaves 0.x (0.4.2 →
    /// 1.0.0, and the first release is then 1.0.0), because that is what a
    /// person asking for a major version means.
    pub fn next_version(
        self,
        existing: &[Version],
        computed: Bump,
        pre: Option<&str>,
    ) -> Result<Version, VersionError> {
        match self {
            BumpRequest::Auto => next_version(existing, computed, pre),
            BumpRequest::Major => next(existing, Bump::Major, Mode::Explicit, pre),
            BumpRequest::Minor => next(existing, Bump::Minor, Mode::Explicit, pre),
            BumpRequest::Patch => next(existing, Bump::Patch, Mode::Explicit, pre),
        }
    }
}

impl fmt::Display for BumpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for BumpRequest {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(BumpRequest::Auto),
            "major" => Ok(BumpRequest::Major),
            "minor" => Ok(BumpRequest::Minor),
            "patch" => Ok(BumpRequest::Patch),
            _ => Err(format!(
                "unknown bump {s:?}; expected one of auto, major, minor, patch"
            )),
        }
    }
}

/// Why there is no next version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    /// The pre-release label is malformed ([`parse_pre_label`] says why).
    #[error("{0}")]
    Label(String),
    /// A version number would overflow.
    #[error("{version} cannot be bumped: a version number would overflow")]
    Overflow {
        /// The version that cannot be bumped.
        version: Version,
    },
    /// A pre-release counter would overflow.
    #[error("{version} is the last number there is")]
    LastNumber {
        /// The pre-release with the highest number.
        version: Version,
    },
    /// The version is not greater than every version the service has.
    #[error(
        "{version} is not greater than {highest}, the highest version of the service{exists}; \
         versions only go up: ask for a larger bump or a version above {highest}",
        exists = if *exists { format!(", and {version} exists already") } else { String::new() }
    )]
    NotGreater {
        /// The version given or computed.
        version: Version,
        /// The highest existing version (by SemVer precedence).
        highest: Version,
        /// Whether `version` itself exists (same precedence).
        exists: bool,
    },
    /// A pre-release that would sort before the pending pre-release of the
    /// same major.minor.patch: SemVer compares the labels as text.
    #[error(
        "{version} would sort before the existing pre-release {existing} (SemVer compares \
         pre-release labels as text: {label:?} < {existing_label:?}), and versions only go up; \
         use --pre {existing_label} (or a label that sorts after {existing_label:?}), \
         make the final release (no --pre), or ask for a larger bump",
        label = pre_label(version),
        existing_label = pre_label(existing)
    )]
    LabelSortsBefore {
        /// The pre-release computed.
        version: Version,
        /// The highest existing version, a pre-release of the same
        /// major.minor.patch with another label.
        existing: Version,
    },
}

/// The label of a pre-release: its first identifier (`rc` of `rc.2`).
fn pre_label(version: &Version) -> &str {
    version.pre.as_str().split('.').next().unwrap_or("")
}

/// Checks a pre-release label such as `rc`, `beta` or `alpha`: ASCII letters,
/// digits and `-`, not only digits (a number would sort before every word and
/// read as the counter), and returns it.
pub fn parse_pre_label(label: &str) -> Result<&str, String> {
    const EXPECTED: &str = "expected ASCII letters, digits and '-', such as rc, beta or alpha";
    if label.is_empty() {
        return Err(format!("a pre-release label cannot be empty; {EXPECTED}"));
    }
    if let Some((index, found)) = label
        .chars()
        .enumerate()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '-'))
    {
        return Err(format!(
            "pre-release label {label:?} has {found:?} at position {}; {EXPECTED}",
            index + 1
        ));
    }
    if label.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "pre-release label {label:?} is a number; it needs a letter (such as rc) so that \
             the counter after it reads as one"
        ));
    }
    Ok(label)
}

/// The highest of `versions` by SemVer precedence (build metadata ignored).
pub fn highest<'a>(versions: impl IntoIterator<Item = &'a Version>) -> Option<&'a Version> {
    versions
        .into_iter()
        .max_by(|a, b| a.cmp_precedence(b).then_with(|| a.cmp(b)))
}

/// The last final release: the highest of `versions` that is not a
/// pre-release. Its commit is where the commits that make the next bump
/// start.
pub fn latest_final<'a>(versions: impl IntoIterator<Item = &'a Version>) -> Option<&'a Version> {
    highest(versions.into_iter().filter(|v| v.pre.is_empty()))
}

/// The automatic next version, given every version the service has
/// (`existing`, pre-releases included) and `bump`, the largest bump among the
/// commits since its last final release; a pre-release labelled `pre` if
/// given. See the module documentation for the rules: the result is always
/// greater than every existing version, or an error says why not.
pub fn next_version(
    existing: &[Version],
    bump: Bump,
    pre: Option<&str>,
) -> Result<Version, VersionError> {
    next(existing, bump, Mode::Auto, pre)
}

/// Checks a version given by hand (`--version`): it must be greater than
/// every version the service has.
pub fn check_new_version(version: &Version, existing: &[Version]) -> Result<(), VersionError> {
    let Some(top) = highest(existing) else {
        return Ok(());
    };
    if version.cmp_precedence(top).is_gt() {
        return Ok(());
    }
    Err(VersionError::NotGreater {
        version: version.clone(),
        highest: top.clone(),
        exists: existing.iter().any(|v| v.cmp_precedence(version).is_eq()),
    })
}

/// How a version is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// From the commits: never below a pending pre-release.
    Auto,
    /// `--bump major|minor|patch`: exactly that bump of the last final.
    Explicit,
}

fn next(
    existing: &[Version],
    bump: Bump,
    mode: Mode,
    pre: Option<&str>,
) -> Result<Version, VersionError> {
    let label = pre
        .map(parse_pre_label)
        .transpose()
        .map_err(VersionError::Label)?;
    let top = highest(existing);
    let major_leaves_zero = mode == Mode::Explicit && bump == Bump::Major;
    let mut core = bumped(latest_final(existing), bump, major_leaves_zero)?;
    if mode == Mode::Auto
        && let Some(pending) = top.filter(|v| !v.pre.is_empty())
        && core_of(pending) > core
    {
        core = core_of(pending);
    }
    let version = match label {
        None => core,
        Some(label) => numbered(core, label, existing)?,
    };
    if let Some(top) = top
        && version.cmp_precedence(top).is_le()
    {
        if !version.pre.is_empty()
            && !top.pre.is_empty()
            && core_of(&version) == core_of(top)
            && pre_label(&version) != pre_label(top)
        {
            return Err(VersionError::LabelSortsBefore {
                version,
                existing: top.clone(),
            });
        }
        check_new_version(&version, existing)?;
    }
    Ok(version)
}

/// The major.minor.patch of `version`, without pre-release or build.
fn core_of(version: &Version) -> Version {
    Version::new(version.major, version.minor, version.patch)
}

/// `core` with the pre-release `label.N`, N one more than the highest of
/// that label already used with that core (1 for the first).
fn numbered(core: Version, label: &str, existing: &[Version]) -> Result<Version, VersionError> {
    let highest = existing
        .iter()
        .filter(|v| (v.major, v.minor, v.patch) == (core.major, core.minor, core.patch))
        .filter_map(|v| pre_number(&v.pre, label))
        .max();
    let number = match highest {
        None => 1,
        Some(n) => n.checked_add(1).ok_or_else(|| VersionError::LastNumber {
            version: Version {
                pre: Prerelease::new(&format!("{label}.{n}")).unwrap_or_default(),
                ..core.clone()
            },
        })?,
    };
    // A checked label and a number always make a valid pre-release.
    let pre = Prerelease::new(&format!("{label}.{number}"))
        .map_err(|error| VersionError::Label(format!("pre-release {label}.{number}: {error}")))?;
    Ok(Version { pre, ..core })
}

/// `last_final` bumped by `bump` (a patch at least), before any pre-release
/// label; the first release without one.
fn bumped(
    last_final: Option<&Version>,
    bump: Bump,
    major_leaves_zero: bool,
) -> Result<Version, VersionError> {
    let Some(last_final) = last_final else {
        let first = if major_leaves_zero {
            Version::new(1, 0, 0)
        } else {
            Version::new(0, 1, 0)
        };
        return Ok(first);
    };
    let bump = match bump {
        Bump::Major if last_final.major == 0 && !major_leaves_zero => Bump::Minor,
        Bump::None => Bump::Patch,
        other => other,
    };
    let overflow = || VersionError::Overflow {
        version: last_final.clone(),
    };
    let (major, minor, patch) = (last_final.major, last_final.minor, last_final.patch);
    let (major, minor, patch) = match bump {
        Bump::Major => (major.checked_add(1).ok_or_else(overflow)?, 0, 0),
        Bump::Minor => (major, minor.checked_add(1).ok_or_else(overflow)?, 0),
        Bump::Patch | Bump::None => (major, minor, patch.checked_add(1).ok_or_else(overflow)?),
    };
    Ok(Version {
        major,
        minor,
        patch,
        pre: Prerelease::EMPTY,
        build: BuildMetadata::EMPTY,
    })
}

/// N of a `label.N` pre-release (a bare `label` counts as 0), else `None`.
fn pre_number(pre: &Prerelease, label: &str) -> Option<u64> {
    let rest = pre.as_str().strip_prefix(label)?;
    if rest.is_empty() {
        return Some(0);
    }
    let digits = rest.strip_prefix('.')?;
    // Only a plain numeric identifier: `rc.1.2` or `rc.01` are not ours.
    if digits.is_empty()
        || !digits.bytes().all(|b| b.is_ascii_digit())
        || (digits.len() > 1 && digits.starts_with('0'))
    {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conventional::parse;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    fn vs(list: &[&str]) -> Vec<Version> {
        list.iter().map(|s| v(s)).collect()
    }

    fn next_of(previous: &str, bump: Bump) -> String {
        next_version(&[v(previous)], bump, None)
            .unwrap()
            .to_string()
    }

    #[test]
    fn bumps_of_commits() {
        assert_eq!(bump_of(&parse("feat!: x")), Bump::Major);
        assert_eq!(
            bump_of(&parse("chore: x\n\nBREAKING CHANGE: y")),
            Bump::Major
        );
        assert_eq!(bump_of(&parse("feat(api): x")), Bump::Minor);
        assert_eq!(bump_of(&parse("FIX: x")), Bump::Patch);
        assert_eq!(bump_of(&parse("perf: x")), Bump::Patch);
        for none in [
            "docs: x",
            "chore: x",
            "revert: x",
            "Update README",
            "refactor: x",
        ] {
            assert_eq!(bump_of(&parse(none)), Bump::None, "{none}");
        }
        assert!(Bump::Major > Bump::Minor && Bump::Minor > Bump::Patch && Bump::Patch > Bump::None);
    }

    #[test]
    fn stable_versions_bump_by_semver() {
        assert_eq!(next_of("1.4.2", Bump::Major), "2.0.0");
        assert_eq!(next_of("1.4.2", Bump::Minor), "1.5.0");
        assert_eq!(next_of("1.4.2", Bump::Patch), "1.4.3");
        assert_eq!(next_of("1.4.2+build.5", Bump::Patch), "1.4.3");
    }

    #[test]
    fn only_chores_is_a_patch() {
        assert_eq!(next_of("1.4.2", Bump::None), "1.4.3");
        assert_eq!(next_of("0.3.0", Bump::None), "0.3.1");
    }

    #[test]
    fn breaking_is_minor_while_zero() {
        assert_eq!(next_of("0.3.2", Bump::Major), "0.4.0");
        assert_eq!(next_of("0.3.2", Bump::Minor), "0.4.0");
        assert_eq!(next_of("0.3.2", Bump::Patch), "0.3.3");
        assert_eq!(next_of("0.0.7", Bump::Major), "0.1.0");
    }

    #[test]
    fn first_release_is_0_1_0() {
        for bump in [Bump::None, Bump::Patch, Bump::Minor, Bump::Major] {
            assert_eq!(next_version(&[], bump, None).unwrap(), v("0.1.0"));
        }
        assert_eq!(
            next_version(&[], Bump::Major, Some("rc")).unwrap(),
            v("0.1.0-rc.1")
        );
        // Pre-releases before any final release count too.
        let existing = vs(&["0.1.0-rc.1"]);
        assert_eq!(
            next_version(&existing, Bump::Patch, Some("rc")).unwrap(),
            v("0.1.0-rc.2")
        );
        assert_eq!(
            next_version(&existing, Bump::Patch, None).unwrap(),
            v("0.1.0")
        );
    }

    #[test]
    fn the_highest_and_the_latest_final() {
        let existing = vs(&["1.6.0", "1.7.0-rc.1", "1.5.9", "1.6.0-rc.3", "1.6.0+b"]);
        assert_eq!(highest(&existing), Some(&v("1.7.0-rc.1")));
        assert_eq!(
            latest_final(&existing).map(|v| (v.major, v.minor, v.patch)),
            Some((1, 6, 0))
        );
        assert_eq!(highest(&[]), None);
        assert_eq!(latest_final(&vs(&["1.0.0-rc.1"])), None);
    }

    #[test]
    fn pre_releases_count_per_version_and_label() {
        let existing = vs(&[
            "1.3.0",
            "1.4.0-rc.1",
            "1.4.0-rc.2",
            "1.4.0-beta.7",
            "1.4.0-rc.2.1",
        ]);
        let rc = next_version(&existing, Bump::Minor, Some("rc")).unwrap();
        assert_eq!(rc, v("1.4.0-rc.3"));
        // Less than the pending 1.4.0 is still 1.4.0.
        let patch_rc = next_version(&existing, Bump::Patch, Some("rc")).unwrap();
        assert_eq!(patch_rc, v("1.4.0-rc.3"));
        // A bare label counts as number 0.
        let bare = next_version(&vs(&["1.3.0", "1.3.1-rc"]), Bump::Patch, Some("rc"));
        assert_eq!(bare.unwrap(), v("1.3.1-rc.1"));
        // And the final release after its candidates.
        let final_release = next_version(&existing, Bump::Patch, None).unwrap();
        assert_eq!(final_release, v("1.4.0"));
        assert!(rc < final_release);
        // A larger bump moves on to a new major.minor.patch.
        let major = next_version(&existing, Bump::Major, Some("beta")).unwrap();
        assert_eq!(major, v("2.0.0-beta.1"));
        let major = next_version(&existing, Bump::Major, None).unwrap();
        assert_eq!(major, v("2.0.0"));
    }

    #[test]
    fn a_label_that_sorts_before_the_pending_one_is_refused() {
        let existing = vs(&["1.6.0", "1.7.0-rc.1"]);
        let error = next_version(&existing, Bump::Patch, Some("beta")).unwrap_err();
        assert!(
            matches!(&error, VersionError::LabelSortsBefore { version, existing, .. }
                if *version == v("1.7.0-beta.1") && *existing == v("1.7.0-rc.1")),
            "{error:?}"
        );
        let message = error.to_string();
        assert!(message.contains("1.7.0-rc.1"), "{message}");
        assert!(message.contains("--pre rc"), "{message}");
        // A label that sorts after rc is fine, and so is beta on a new core.
        let next = next_version(&existing, Bump::Patch, Some("rc2")).unwrap();
        assert_eq!(next, v("1.7.0-rc2.1"));
        let next = next_version(&existing, Bump::Major, Some("beta")).unwrap();
        assert_eq!(next, v("2.0.0-beta.1"));
        // rc after beta goes up.
        let existing = vs(&["1.6.0", "1.7.0-beta.3"]);
        let next = next_version(&existing, Bump::Minor, Some("rc")).unwrap();
        assert_eq!(next, v("1.7.0-rc.1"));
    }

    #[test]
    fn pre_labels_are_checked() {
        assert_eq!(parse_pre_label("rc"), Ok("rc"));
        assert_eq!(parse_pre_label("pre-2"), Ok("pre-2"));
        assert!(parse_pre_label("").unwrap_err().contains("cannot be empty"));
        let error = parse_pre_label("rc.1").unwrap_err();
        assert!(error.contains("'.' at position 3"), "{error}");
        assert!(parse_pre_label("beta 2").unwrap_err().contains("' '"));
        assert!(parse_pre_label("é").unwrap_err().contains("ASCII letters"));
        assert!(parse_pre_label("12").unwrap_err().contains("is a number"));
        let error = next_version(&[], Bump::Patch, Some("r_c"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("'_'"), "{error}");
    }

    #[test]
    fn refuses_what_it_cannot_do() {
        let max = u64::MAX;
        let error = next_version(&[Version::new(max, 0, 0)], Bump::Major, None).unwrap_err();
        assert!(error.to_string().contains("overflow"), "{error}");
        let error = next_version(
            &[
                v("1.0.0"),
                Version::parse(&format!("1.0.1-rc.{max}")).unwrap(),
            ],
            Bump::Patch,
            Some("rc"),
        )
        .unwrap_err();
        assert!(error.to_string().contains("last number"), "{error}");
    }

    #[test]
    fn a_given_version_must_be_greater_than_every_existing_one() {
        let existing = vs(&["1.6.0", "1.7.0-rc.1"]);
        assert_eq!(check_new_version(&v("1.7.0"), &existing), Ok(()));
        assert_eq!(check_new_version(&v("1.7.0-rc.2"), &existing), Ok(()));
        assert_eq!(check_new_version(&v("0.1.0"), &[]), Ok(()));
        let error = check_new_version(&v("1.6.1"), &existing).unwrap_err();
        assert_eq!(
            error,
            VersionError::NotGreater {
                version: v("1.6.1"),
                highest: v("1.7.0-rc.1"),
                exists: false
            }
        );
        let message = error.to_string();
        assert!(
            message.contains("1.6.1 is not greater than 1.7.0-rc.1"),
            "{message}"
        );
        let error = check_new_version(&v("1.7.0-rc.1+again"), &existing).unwrap_err();
        assert!(error.to_string().contains("exists already"), "{error}");
    }

    #[test]
    fn bump_requests() {
        for (text, request) in [
            ("auto", BumpRequest::Auto),
            ("major", BumpRequest::Major),
            ("minor", BumpRequest::Minor),
            ("patch", BumpRequest::Patch),
        ] {
            assert_eq!(text.parse::<BumpRequest>(), Ok(request));
            assert_eq!(request.to_string(), text);
        }
        let error = "huge".parse::<BumpRequest>().unwrap_err();
        assert!(error.contains("auto, major, minor, patch"), "{error}");

        let zero = [v("0.4.2")];
        let at = |request: BumpRequest, computed| {
            request
                .next_version(&zero, computed, None)
                .unwrap()
                .to_string()
        };
        assert_eq!(at(BumpRequest::Auto, Bump::Major), "0.5.0");
        assert_eq!(at(BumpRequest::Major, Bump::None), "1.0.0");
        assert_eq!(at(BumpRequest::Minor, Bump::Major), "0.5.0");
        assert_eq!(at(BumpRequest::Patch, Bump::Major), "0.4.3");
        let first = BumpRequest::Major.next_version(&[], Bump::None, None);
        assert_eq!(first.unwrap(), v("1.0.0"));
    }

    #[test]
    fn explicit_bumps_apply_to_the_last_final_release() {
        let existing = vs(&["1.6.0", "1.7.0-rc.1"]);
        let at = |request: BumpRequest, pre| request.next_version(&existing, Bump::None, pre);
        assert_eq!(at(BumpRequest::Minor, None), Ok(v("1.7.0")));
        assert_eq!(at(BumpRequest::Minor, Some("rc")), Ok(v("1.7.0-rc.2")));
        assert_eq!(at(BumpRequest::Major, Some("rc")), Ok(v("2.0.0-rc.1")));
        let error = at(BumpRequest::Patch, None).unwrap_err();
        assert_eq!(
            error,
            VersionError::NotGreater {
                version: v("1.6.1"),
                highest: v("1.7.0-rc.1"),
                exists: false
            }
        );
        let error = at(BumpRequest::Patch, Some("rc")).unwrap_err().to_string();
        assert!(
            error.contains("1.6.1-rc.1 is not greater than 1.7.0-rc.1"),
            "{error}"
        );
    }
}
