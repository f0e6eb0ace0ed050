//! The next version of a service, by Semantic Versioning 2.0.0, from the
//! Conventional Commits since its last release.
//!
//! Rules:
//!
//! - A breaking change bumps the major version, a `feat` the minor, a `fix` or
//!   `perf` the patch; a release with nothing else (chores, docs) is still a
//!   patch, as git-cliff does: a release is never the same version twice.
//! - While the major version is 0 (initial development, SemVer §4), a breaking
//!   change bumps the minor version instead; a `feat` is still minor and a
//!   `fix` still a patch. Automatic bumps therefore never leave 0.x: the way to
//!   1.0.0 is an explicit `--bump major` ([`BumpRequest::next_version`]).
//! - With no release yet, the first version is 0.1.0.
//! - A pre-release (`--pre rc`) is the next version with `-rc.N`, N one more
//!   than the highest `rc` number already used for that version, so it sorts
//!   before the release it leads to and after the pre-releases before it.
//! - A version that exists already is never proposed.
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

    /// The next version for this request. `Auto` is [`next_version`] with the
    /// bump the commits ask for (`computed`); an explicit request ignores
    /// `computed`, and an explicit `Major` leaves 0.x (0.4.2 → 1.0.0, and the
    /// first release is then 1.0.0), because that is what a person asking for
    /// a major version means.
    pub fn next_version(
        self,
        previous: Option<&Version>,
        computed: Bump,
        pre: Option<&str>,
        existing: &[Version],
    ) -> Result<Version, String> {
        match self {
            BumpRequest::Auto => next_version(previous, computed, pre, existing),
            BumpRequest::Major => next(previous, Bump::Major, true, pre, existing),
            BumpRequest::Minor => next(previous, Bump::Minor, false, pre, existing),
            BumpRequest::Patch => next(previous, Bump::Patch, false, pre, existing),
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

/// The next version after `previous` — the latest release that is not a
/// pre-release, `None` when there is none — for a change of size `bump`, as a
/// pre-release labelled `pre` if given. `existing` are all the versions the
/// service has (pre-releases included): they number the pre-release and keep a
/// version from being proposed twice. See the module documentation for the
/// rules; errors say why (a bad label, a pre-release as `previous`, a version
/// that exists, an overflow).
pub fn next_version(
    previous: Option<&Version>,
    bump: Bump,
    pre: Option<&str>,
    existing: &[Version],
) -> Result<Version, String> {
    next(previous, bump, false, pre, existing)
}

fn next(
    previous: Option<&Version>,
    bump: Bump,
    major_leaves_zero: bool,
    pre: Option<&str>,
    existing: &[Version],
) -> Result<Version, String> {
    let label = pre.map(parse_pre_label).transpose()?;
    let base = base_version(previous, bump, major_leaves_zero)?;
    let version = match label {
        None => base,
        Some(label) => {
            let highest = existing
                .iter()
                .filter(|v| (v.major, v.minor, v.patch) == (base.major, base.minor, base.patch))
                .filter_map(|v| pre_number(&v.pre, label))
                .max();
            let number = match highest {
                None => 1,
                Some(n) => n
                    .checked_add(1)
                    .ok_or_else(|| format!("{base}-{label}.{n} is the last number there is"))?,
            };
            Version {
                pre: Prerelease::new(&format!("{label}.{number}"))
                    .map_err(|error| format!("pre-release {label}.{number}: {error}"))?,
                ..base
            }
        }
    };
    if let Some(taken) = existing.iter().find(|v| v.cmp_precedence(&version).is_eq()) {
        return Err(format!(
            "the next version would be {version}, but {taken} exists already; \
             give the version explicitly"
        ));
    }
    Ok(version)
}

/// The next release version, before any pre-release label.
fn base_version(
    previous: Option<&Version>,
    bump: Bump,
    major_leaves_zero: bool,
) -> Result<Version, String> {
    let Some(previous) = previous else {
        let first = if major_leaves_zero && bump == Bump::Major {
            Version::new(1, 0, 0)
        } else {
            Version::new(0, 1, 0)
        };
        return Ok(first);
    };
    if !previous.pre.is_empty() {
        return Err(format!(
            "the previous version {previous} is a pre-release; the next version is counted \
             from the latest release that is not"
        ));
    }
    let bump = match bump {
        Bump::Major if previous.major == 0 && !major_leaves_zero => Bump::Minor,
        Bump::None => Bump::Patch,
        other => other,
    };
    let overflow = || format!("{previous} cannot be bumped: a version number would overflow");
    let (major, minor, patch) = (previous.major, previous.minor, previous.patch);
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

    fn next_of(previous: &str, bump: Bump) -> String {
        next_version(Some(&v(previous)), bump, None, &[])
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
            assert_eq!(next_version(None, bump, None, &[]).unwrap(), v("0.1.0"));
        }
        assert_eq!(
            next_version(None, Bump::Major, Some("rc"), &[]).unwrap(),
            v("0.1.0-rc.1")
        );
    }

    #[test]
    fn pre_releases_count_per_version_and_label() {
        let existing = [
            v("1.3.0"),
            v("1.4.0-rc.1"),
            v("1.4.0-rc.2"),
            v("1.4.0-beta.7"),
            v("1.5.0-rc.9"),
            v("1.4.0-rc.2.1"),
        ];
        let previous = v("1.3.0");
        let rc = next_version(Some(&previous), Bump::Minor, Some("rc"), &existing).unwrap();
        assert_eq!(rc, v("1.4.0-rc.3"));
        let beta = next_version(Some(&previous), Bump::Minor, Some("beta"), &existing).unwrap();
        assert_eq!(beta, v("1.4.0-beta.8"));
        let alpha = next_version(Some(&previous), Bump::Minor, Some("alpha"), &existing).unwrap();
        assert_eq!(alpha, v("1.4.0-alpha.1"));
        let patch_rc = next_version(Some(&previous), Bump::Patch, Some("rc"), &existing).unwrap();
        assert_eq!(patch_rc, v("1.3.1-rc.1"));
        // A bare label counts as number 0.
        let bare = next_version(Some(&previous), Bump::Patch, Some("rc"), &[v("1.3.1-rc")]);
        assert_eq!(bare.unwrap(), v("1.3.1-rc.1"));
        // And the final release after its candidates.
        let final_release = next_version(Some(&previous), Bump::Minor, None, &existing).unwrap();
        assert_eq!(final_release, v("1.4.0"));
        assert!(rc < final_release);
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
        let error = next_version(None, Bump::Patch, Some("r_c"), &[]).unwrap_err();
        assert!(error.contains("'_'"), "{error}");
    }

    #[test]
    fn refuses_what_it_cannot_do() {
        let error = next_version(Some(&v("1.0.0-rc.1")), Bump::Patch, None, &[]).unwrap_err();
        assert!(error.contains("is a pre-release"), "{error}");
        let error = next_version(
            Some(&v("1.3.0")),
            Bump::Minor,
            None,
            &[v("1.3.0"), v("1.4.0")],
        )
        .unwrap_err();
        assert!(error.contains("1.4.0 exists already"), "{error}");
        let max = u64::MAX;
        let error =
            next_version(Some(&Version::new(max, 0, 0)), Bump::Major, None, &[]).unwrap_err();
        assert!(error.contains("overflow"), "{error}");
        let error = next_version(
            Some(&v("1.0.0")),
            Bump::Patch,
            Some("rc"),
            &[Version::parse(&format!("1.0.1-rc.{max}")).unwrap()],
        )
        .unwrap_err();
        assert!(error.contains("last number"), "{error}");
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

        let zero = v("0.4.2");
        let at = |request: BumpRequest, computed| {
            request
                .next_version(Some(&zero), computed, None, &[])
                .unwrap()
                .to_string()
        };
        assert_eq!(at(BumpRequest::Auto, Bump::Major), "0.5.0");
        assert_eq!(at(BumpRequest::Major, Bump::None), "1.0.0");
        assert_eq!(at(BumpRequest::Minor, Bump::Major), "0.5.0");
        assert_eq!(at(BumpRequest::Patch, Bump::Major), "0.4.3");
        let first = BumpRequest::Major.next_version(None, Bump::None, None, &[]);
        assert_eq!(first.unwrap(), v("1.0.0"));
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        fn bump() -> impl Strategy<Value = Bump> {
            prop_oneof![
                Just(Bump::None),
                Just(Bump::Patch),
                Just(Bump::Minor),
                Just(Bump::Major)
            ]
        }

        fn version() -> impl Strategy<Value = Version> {
            let component = prop_oneof![0..4u64, any::<u64>()];
            (component.clone(), component.clone(), component)
                .prop_map(|(major, minor, patch)| Version::new(major, minor, patch))
        }

        fn existing() -> impl Strategy<Value = Vec<Version>> {
            let pre = prop_oneof![
                Just(String::new()),
                (prop_oneof![Just("rc"), Just("beta")], 0..5u64)
                    .prop_map(|(label, n)| format!("{label}.{n}")),
            ];
            proptest::collection::vec(
                (0..3u64, 0..3u64, 0..3u64, pre).prop_map(|(a, b, c, pre)| Version {
                    pre: Prerelease::new(&pre).unwrap(),
                    ..Version::new(a, b, c)
                }),
                0..6,
            )
        }

        proptest! {
            #[test]
            fn next_is_always_greater(
                previous in version(),
                bump in bump(),
                pre in proptest::option::of(prop_oneof![Just("rc"), Just("beta")]),
                existing in existing(),
            ) {
                match next_version(Some(&previous), bump, pre, &existing) {
                    Ok(next) => {
                        prop_assert!(next > previous, "{} !> {}", next, previous);
                        prop_assert!(!existing.contains(&next));
                    }
                    Err(error) => prop_assert!(
                        error.contains("overflow") || error.contains("exists already"),
                        "{}", error
                    ),
                }
            }

            #[test]
            fn pre_release_sorts_before_its_release(
                previous in proptest::option::of(version()),
                bump in bump(),
                existing in existing(),
            ) {
                let released = next_version(previous.as_ref(), bump, None, &[]);
                let candidate = next_version(previous.as_ref(), bump, Some("rc"), &existing);
                if let (Ok(released), Ok(candidate)) = (released, candidate) {
                    prop_assert!(candidate < released);
                    prop_assert_eq!(
                        (candidate.major, candidate.minor, candidate.patch),
                        (released.major, released.minor, released.patch)
                    );
                    for other in existing.iter().filter(|o| o.pre.as_str().starts_with("rc.")) {
                        if (other.major, other.minor, other.patch) == (released.major, released.minor, released.patch) {
                            prop_assert!(&candidate > other);
                        }
                    }
                }
            }
        }
    }
}
