//! Commit messages: [`ferry_core::conventional::parse`], and the next version
//! computed from what it reads ([`ferry_core::versioning`]).

use ferry_core::conventional::{self, Message};
use ferry_core::versioning::{self, BumpRequest};
use semver::Version;

/// The most versions taken from one message, to keep each run short.
const MAX_FOUND_VERSIONS: usize = 8;

/// Versions a service may have, including numbers at their limits.
const HISTORIES: [&[&str]; 6] = [
    &[],
    &["0.4.2"],
    &["1.6.0", "1.7.0-rc.1"],
    &["1.6.0", "1.7.0-rc.2", "1.7.0-beta.1", "2.0.0-alpha"],
    &["18446744073709551615.18446744073709551615.18446744073709551615"],
    &["1.0.0", "1.0.1-rc.18446744073709551615"],
];

/// Reads `data` as a commit message (invalid UTF-8 replaced), then computes
/// the next version from it against several histories: fixed ones, and one
/// made of the words of the message that are versions.
///
/// Promises checked: parsing never fails; the type is lower-case; the
/// subject is one line; a breaking-change footer makes the message breaking;
/// a version computed or accepted is greater than every version the service
/// has, and one with a pre-release label carries that label.
pub fn conventional(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let message = conventional::parse(&text);
    check_message(&message);

    let found: Vec<Version> = text
        .split_whitespace()
        .filter_map(|word| Version::parse(word).ok())
        .take(MAX_FOUND_VERSIONS)
        .collect();
    let mut histories: Vec<Vec<Version>> = HISTORIES
        .iter()
        .map(|history| {
            history
                .iter()
                .filter_map(|version| Version::parse(version).ok())
                .collect()
        })
        .collect();
    histories.push(found.clone());

    let bump = versioning::bump_of(&message);
    let labels = [None, Some("rc"), message.scope.as_deref()];
    for existing in &histories {
        for request in [
            BumpRequest::Auto,
            BumpRequest::Major,
            BumpRequest::Minor,
            BumpRequest::Patch,
        ] {
            for label in labels {
                match request.next_version(existing, bump, label) {
                    Ok(version) => {
                        assert_above(&version, existing);
                        if let Some(label) = label {
                            assert!(
                                version.pre.as_str().starts_with(label),
                                "{version} does not carry the label {label:?}"
                            );
                        }
                    }
                    Err(error) => assert!(!error.to_string().is_empty()),
                }
            }
        }
        for version in &found {
            match versioning::check_new_version(version, existing) {
                Ok(()) => assert_above(version, existing),
                Err(error) => assert!(!error.to_string().is_empty()),
            }
        }
    }
}

fn check_message(message: &Message) {
    if let Some(kind) = &message.kind {
        assert!(
            !kind.is_empty()
                && kind
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_".contains(&b)),
            "type {kind:?}"
        );
    }
    assert!(
        !message.subject.contains('\n'),
        "the subject is more than one line: {:?}",
        message.subject
    );
    if message.breaking_description().is_some() {
        assert!(message.breaking, "a breaking-change footer is not breaking");
    }
    for footer in &message.footers {
        assert!(
            !footer.token.is_empty() && !footer.token.contains('\n'),
            "footer token {:?}",
            footer.token
        );
    }
}

/// Versions only go up.
fn assert_above(version: &Version, existing: &[Version]) {
    if let Some(same_or_above) = existing
        .iter()
        .find(|other| version.cmp_precedence(other).is_le())
    {
        panic!("{version} is not above {same_or_above}, which the service has");
    }
}
