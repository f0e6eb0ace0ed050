//! Versions only go up: the examples of the issue (1.7.0-rc.1, a fix, then
//! `--pre rc` and `--bump auto`), and a property over random histories of
//! commits and release commands, checked against a small model written
//! independently of `ferry_core::versioning`.

use ferry_core::versioning::{Bump, BumpRequest, VersionError, check_new_version, next_version};
use proptest::prelude::*;
use semver::Version;

fn v(s: &str) -> Version {
    Version::parse(s).unwrap()
}

/// A release command, as on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Command {
    /// `--bump auto`
    Auto,
    /// `--pre rc` (auto bump)
    PreRc,
    /// `--pre beta` (auto bump)
    PreBeta,
    /// `--bump patch|minor|major`
    Explicit(BumpRequest),
}

impl Command {
    fn run(self, existing: &[Version], since_final: Bump) -> Result<Version, VersionError> {
        match self {
            Command::Auto => next_version(existing, since_final, None),
            Command::PreRc => next_version(existing, since_final, Some("rc")),
            Command::PreBeta => next_version(existing, since_final, Some("beta")),
            Command::Explicit(request) => request.next_version(existing, since_final, None),
        }
    }
}

/// A service's history as the CLI sees it: its versions, and the largest bump
/// among the commits since its last final release.
#[derive(Debug)]
struct Service {
    versions: Vec<Version>,
    since_final: Bump,
}

impl Service {
    fn new(versions: &[&str]) -> Service {
        Service {
            versions: versions.iter().map(|s| v(s)).collect(),
            since_final: Bump::None,
        }
    }

    fn commit(&mut self, bump: Bump) -> &mut Self {
        self.since_final = self.since_final.max(bump);
        self
    }

    fn release(&mut self, command: Command) -> Result<Version, VersionError> {
        let version = command.run(&self.versions, self.since_final)?;
        if version.pre.is_empty() {
            self.since_final = Bump::None;
        }
        self.versions.push(version.clone());
        Ok(version)
    }
}

#[test]
fn a_fix_after_a_feature_candidate_is_the_next_candidate_then_the_release() {
    let mut api = Service::new(&["1.6.0"]);
    let rc1 = api.commit(Bump::Minor).release(Command::PreRc).unwrap();
    assert_eq!(rc1, v("1.7.0-rc.1"));
    let rc2 = api.commit(Bump::Patch).release(Command::PreRc).unwrap();
    assert_eq!(
        rc2,
        v("1.7.0-rc.2"),
        "not 1.6.1-rc.1: the feature still counts"
    );
    let release = api.release(Command::Auto).unwrap();
    assert_eq!(
        release,
        v("1.7.0"),
        "not 1.6.1: the candidates are finalised"
    );
    let fix = api.commit(Bump::Patch).release(Command::Auto).unwrap();
    assert_eq!(
        fix,
        v("1.7.1"),
        "after the final release, bumps start afresh"
    );
}

#[test]
fn a_fix_after_a_candidate_can_be_released_at_once() {
    let mut api = Service::new(&["1.6.0"]);
    api.commit(Bump::Minor).release(Command::PreRc).unwrap();
    let release = api.commit(Bump::Patch).release(Command::Auto).unwrap();
    assert_eq!(release, v("1.7.0"));
}

#[test]
fn the_issue_numbers_given_to_the_functions_directly() {
    let existing = [v("1.6.0"), v("1.7.0-rc.1")];
    // The commits since 1.6.0 hold the feature: minor.
    assert_eq!(
        next_version(&existing, Bump::Minor, Some("rc")),
        Ok(v("1.7.0-rc.2"))
    );
    assert_eq!(next_version(&existing, Bump::Minor, None), Ok(v("1.7.0")));
    // Even told only of the fix, it never goes below the candidate.
    assert_eq!(
        next_version(&existing, Bump::Patch, Some("rc")),
        Ok(v("1.7.0-rc.2"))
    );
    assert_eq!(next_version(&existing, Bump::Patch, None), Ok(v("1.7.0")));
    let existing = [v("1.6.0"), v("1.7.0-rc.1"), v("1.7.0-rc.2")];
    assert_eq!(next_version(&existing, Bump::Minor, None), Ok(v("1.7.0")));
}

#[test]
fn a_larger_bump_after_a_candidate_moves_on() {
    let mut api = Service::new(&["1.6.0"]);
    api.commit(Bump::Minor).release(Command::PreRc).unwrap();
    let major = api.commit(Bump::Major).release(Command::PreRc).unwrap();
    assert_eq!(major, v("2.0.0-rc.1"));
    let release = api.commit(Bump::Patch).release(Command::Auto).unwrap();
    assert_eq!(release, v("2.0.0"));
}

#[test]
fn beta_after_rc_is_refused_and_says_what_to_do() {
    let mut api = Service::new(&["1.6.0"]);
    api.commit(Bump::Minor).release(Command::PreRc).unwrap();
    let error = api
        .commit(Bump::Patch)
        .release(Command::PreBeta)
        .unwrap_err();
    let message = error.to_string();
    assert!(message.contains("1.7.0-beta.1"), "{message}");
    assert!(message.contains("1.7.0-rc.1"), "{message}");
    assert!(message.contains("--pre rc"), "{message}");
    assert_eq!(api.versions.len(), 2, "nothing was made");
    // A breaking change makes a new major.minor.patch, where beta is fine.
    let beta = api.commit(Bump::Major).release(Command::PreBeta).unwrap();
    assert_eq!(beta, v("2.0.0-beta.1"));
}

#[test]
fn an_explicit_bump_below_a_candidate_is_refused_naming_it() {
    let mut api = Service::new(&["1.6.0"]);
    api.commit(Bump::Minor).release(Command::PreRc).unwrap();
    let error = api
        .commit(Bump::Patch)
        .release(Command::Explicit(BumpRequest::Patch))
        .unwrap_err();
    assert_eq!(
        error,
        VersionError::NotGreater {
            version: v("1.6.1"),
            highest: v("1.7.0-rc.1"),
            exists: false,
        }
    );
    assert!(error.to_string().contains("1.7.0-rc.1"), "{error}");
    let minor = api.release(Command::Explicit(BumpRequest::Minor)).unwrap();
    assert_eq!(minor, v("1.7.0"));
    let error = check_new_version(&v("1.6.5"), &api.versions).unwrap_err();
    assert!(
        error.to_string().contains("not greater than 1.7.0"),
        "{error}"
    );
}

// --- The property ------------------------------------------------------------

fn bump() -> impl Strategy<Value = Bump> {
    prop_oneof![
        Just(Bump::None),
        Just(Bump::Patch),
        Just(Bump::Minor),
        Just(Bump::Major)
    ]
}

fn command() -> impl Strategy<Value = Command> {
    prop_oneof![
        3 => Just(Command::Auto),
        3 => Just(Command::PreRc),
        2 => Just(Command::PreBeta),
        1 => Just(Command::Explicit(BumpRequest::Patch)),
        1 => Just(Command::Explicit(BumpRequest::Minor)),
        1 => Just(Command::Explicit(BumpRequest::Major)),
    ]
}

/// A batch of commits (maybe none), then a release command.
fn steps() -> impl Strategy<Value = Vec<(Vec<Bump>, Command)>> {
    proptest::collection::vec((proptest::collection::vec(bump(), 0..4), command()), 1..16)
}

/// Histories that start empty, at 0.x or at 1.x and beyond.
fn start() -> impl Strategy<Value = Vec<Version>> {
    prop_oneof![
        Just(vec![]),
        Just(vec![v("0.3.1")]),
        Just(vec![v("1.6.0")]),
        Just(vec![v("1.6.0"), v("1.7.0-beta.2")]),
    ]
}

type Core = (u64, u64, u64);

fn core(version: &Version) -> Core {
    (version.major, version.minor, version.patch)
}

/// The model: `last` bumped by `bump`, with the 0.x and first-release rules.
fn bumped(last: Option<Core>, bump: Bump, explicit_major: bool) -> Core {
    match (last, bump) {
        (None, _) if explicit_major => (1, 0, 0),
        (None, _) => (0, 1, 0),
        (Some((0, minor, _)), Bump::Major) if !explicit_major => (0, minor + 1, 0),
        (Some((major, _, _)), Bump::Major) => (major + 1, 0, 0),
        (Some((major, minor, _)), Bump::Minor) => (major, minor + 1, 0),
        (Some((major, minor, patch)), Bump::Patch | Bump::None) => (major, minor, patch + 1),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn versions_only_go_up(start in start(), steps in steps()) {
        let mut api = Service { versions: start, since_final: Bump::None };
        for (commits, command) in steps {
            for bump in commits {
                api.commit(bump);
            }
            let highest = api.versions.iter().max().cloned();
            let last_final = api.versions.iter().filter(|v| v.pre.is_empty()).max().map(core);
            let pending = highest.as_ref().filter(|v| !v.pre.is_empty()).map(core);
            let by_commits = bumped(last_final, api.since_final, false);
            let auto_core = by_commits.max(pending.unwrap_or((0, 0, 0)));
            let since_final = api.since_final;

            match api.release(command) {
                Ok(version) => {
                    for earlier in &api.versions[..api.versions.len() - 1] {
                        prop_assert!(
                            version.cmp_precedence(earlier).is_gt(),
                            "{:?} made {} after {}", command, version, earlier
                        );
                    }
                    match command {
                        Command::Auto => {
                            prop_assert!(version.pre.is_empty());
                            prop_assert_eq!(core(&version), auto_core);
                            // A final release after candidates is their
                            // version unless a larger bump came since.
                            if let Some(pending) = pending
                                && by_commits <= pending
                            {
                                prop_assert_eq!(core(&version), pending);
                            }
                        }
                        Command::PreRc | Command::PreBeta => {
                            let label = if command == Command::PreRc { "rc" } else { "beta" };
                            let used = api.versions[..api.versions.len() - 1]
                                .iter()
                                .filter(|v| core(v) == auto_core)
                                .filter_map(|v| v.pre.as_str().strip_prefix(label)?.strip_prefix('.')?.parse::<u64>().ok())
                                .max()
                                .unwrap_or(0);
                            prop_assert_eq!(core(&version), auto_core);
                            prop_assert_eq!(version.pre.as_str(), format!("{label}.{}", used + 1));
                        }
                        Command::Explicit(request) => {
                            let bump = match request {
                                BumpRequest::Major => Bump::Major,
                                BumpRequest::Minor => Bump::Minor,
                                _ => Bump::Patch,
                            };
                            let expected = bumped(last_final, bump, request == BumpRequest::Major);
                            prop_assert_eq!(core(&version), expected);
                            prop_assert!(version.pre.is_empty());
                        }
                    }
                }
                Err(error) => match (command, &error) {
                    // Refused only when it would not go up, and then naming
                    // the highest existing version.
                    (Command::PreBeta, VersionError::LabelSortsBefore { existing, .. }) => {
                        prop_assert_eq!(Some(existing), highest.as_ref());
                        prop_assert_eq!(Some(auto_core), pending);
                        prop_assert!(existing.pre.as_str() > "beta");
                    }
                    (Command::Explicit(_), VersionError::NotGreater { version, highest: named, .. }) => {
                        prop_assert_eq!(Some(named), highest.as_ref());
                        prop_assert!(version <= named);
                    }
                    _ => prop_assert!(
                        false,
                        "{:?} with {:?} since the last final release of {:?}: {}",
                        command, since_final, api.versions, error
                    ),
                },
            }
        }
    }
}

/// Any set of versions, as tags and releases made by hand can leave them:
/// pre-releases with odd labels and numbers, build metadata, no order.
fn any_versions() -> impl Strategy<Value = Vec<Version>> {
    let pre = prop_oneof![
        3 => Just(String::new()),
        4 => (prop_oneof![Just("rc"), Just("beta"), Just("alpha")], 0..4u64)
            .prop_map(|(label, n)| format!("{label}.{n}")),
        1 => Just("rc".to_owned()),
        1 => Just("rc.2.1".to_owned()),
        1 => Just("rc.x".to_owned()),
        1 => Just("7".to_owned()),
    ];
    let build = prop_oneof![Just(""), Just("+b.1")];
    proptest::collection::vec(
        (0..3u64, 0..3u64, 0..3u64, pre, build).prop_map(|(a, b, c, pre, build)| {
            let pre = if pre.is_empty() {
                pre
            } else {
                format!("-{pre}")
            };
            v(&format!("{a}.{b}.{c}{pre}{build}"))
        }),
        0..7,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn any_history_only_goes_up(
        existing in any_versions(),
        bump in bump(),
        request in prop_oneof![
            Just(BumpRequest::Auto),
            Just(BumpRequest::Patch),
            Just(BumpRequest::Minor),
            Just(BumpRequest::Major)
        ],
        pre in proptest::option::of(prop_oneof![Just("rc"), Just("beta"), Just("alpha")]),
    ) {
        match request.next_version(&existing, bump, pre) {
            Ok(next) => {
                for old in &existing {
                    prop_assert!(next.cmp_precedence(old).is_gt(), "{} !> {}", next, old);
                }
                prop_assert_eq!(next.pre.is_empty(), pre.is_none());
                prop_assert!(next.build.is_empty());
            }
            Err(VersionError::NotGreater { highest, .. }) => {
                // Only an explicit bump, or a label's counter stuck behind
                // an odd pre-release of the same label (`rc.x`).
                let top = existing.iter().max_by(|a, b| a.cmp_precedence(b)).unwrap();
                prop_assert!(highest.cmp_precedence(top).is_eq());
                prop_assert!(
                    request != BumpRequest::Auto || pre.is_some(),
                    "auto final refused over {:?}", existing
                );
            }
            Err(VersionError::LabelSortsBefore { existing: pending, version }) => {
                prop_assert!(pre.is_some());
                prop_assert!(version < pending);
            }
            Err(error) => prop_assert!(false, "{:?} over {:?}: {}", request, existing, error),
        }
    }
}
