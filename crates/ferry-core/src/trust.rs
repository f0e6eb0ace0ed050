//! Trust policies for CI workloads: which OIDC ID tokens (GitHub Actions,
//! GitLab CI, or any issuer that publishes a JWK Set) ferry accepts in
//! exchange for a ferry token, and the grants that token carries.
//!
//! This module only holds the rules; fetching keys and checking signatures
//! is the server's work.
//!
//! # The rules
//!
//! - A trust names one **issuer** (the token's `iss`, compared exactly), one
//!   **audience** (one of the token's `aud`; `ferry` unless set) and a
//!   **subject** pattern (the token's `sub`): the subject is exact, or a glob
//!   where `*` matches any run of characters, `/` and `:` included. No other
//!   character is special. A pattern made only of `*` is refused: it would
//!   trust every workload the issuer signs for, which for a public CI
//!   service means everyone's.
//! - The issuer is an `https://` URL; `http://` is allowed only on the
//!   loopback interface (`127.0.0.1`, `localhost`, `[::1]`), for tests.
//! - The keys that sign tokens come from `jwks` (a JWK Set written inline,
//!   for sites without network access to the issuer), or from `jwks_url`,
//!   or, when neither is set, from OIDC discovery: the `jwks_uri` of
//!   `{issuer}/.well-known/openid-configuration` (a trailing `/` of the
//!   issuer is dropped first).
//! - A token accepted hands out a ferry token with the trust's **grants**
//!   (at least one, each valid) for `ttl_minutes` (60 unless set, at most
//!   720).
//! - The first trust, in order, that accepts the token's issuer, audience
//!   and subject is the one used ([`find_trust`]); a refusal says which of
//!   the three failed.

use serde::{Deserialize, Serialize};

use crate::access::Grant;

/// The audience a trust expects when it names none.
pub const DEFAULT_AUDIENCE: &str = "ferry";

/// The lifetime, in minutes, of a ferry token handed out when the trust sets
/// none.
pub const DEFAULT_TTL_MINUTES: u32 = 60;

/// The longest lifetime, in minutes, a trust may give the ferry tokens it
/// hands out (12 hours).
pub const MAX_TTL_MINUTES: u32 = 720;

/// A trust policy: CI workloads whose OIDC ID tokens ferry accepts, and what
/// they may do.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustSpec {
    /// The issuer, compared exactly with the token's `iss`, such as
    /// `https://token.actions.githubusercontent.com`. An `https://` URL
    /// (`http://` only on the loopback interface).
    pub issuer: String,
    /// The audience the token must be for (one of its `aud`).
    #[serde(default = "default_audience")]
    pub audience: String,
    /// The token's `sub`, exactly, or a glob where `*` matches any run of
    /// characters (`/` and `:` included), such as
    /// `repo:acme/api:ref:refs/heads/main` or `repo:acme/*`.
    pub subject: String,
    /// The grants of the ferry token handed out (at least one).
    pub grants: Vec<Grant>,
    /// Where the issuer's signing keys (a JWK Set) are published. When
    /// neither this nor `jwks` is set, they are discovered: the `jwks_uri`
    /// of `{issuer}/.well-known/openid-configuration`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_url: Option<String>,
    /// The issuer's signing keys, as a JWK Set (`{"keys": [...]}`) written
    /// here, for sites that cannot reach the issuer. Excludes `jwks_url`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<serde_json::Value>,
    /// How long the ferry token handed out lasts, in minutes (default 60,
    /// at most 720).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_minutes: Option<u32>,
}

fn default_audience() -> String {
    DEFAULT_AUDIENCE.to_owned()
}

impl TrustSpec {
    /// Checks every field; the message names the field and what is expected.
    pub fn validate(&self) -> Result<(), String> {
        check_url(&self.issuer).map_err(|e| format!("trust `issuer`: {e}"))?;
        if self.audience.trim().is_empty() {
            return Err(format!(
                "trust of issuer {}: `audience` is empty; name the audience its tokens are for (`{DEFAULT_AUDIENCE}` when left out)",
                self.issuer
            ));
        }
        if self.audience.trim() != self.audience {
            return Err(format!(
                "trust of issuer {}: `audience` {:?} has spaces around it",
                self.issuer, self.audience
            ));
        }
        if self.subject.is_empty() {
            return Err(format!(
                "trust of issuer {}: `subject` is empty; give the token's `sub` exactly, or a glob such as `repo:acme/api:*`",
                self.issuer
            ));
        }
        if self.subject.chars().all(|c| c == '*') {
            return Err(format!(
                "trust of issuer {}: `subject` {:?} would accept every workload of the issuer; name at least part of it, such as `repo:acme/*`",
                self.issuer, self.subject
            ));
        }
        if self.grants.is_empty() {
            return Err(format!(
                "trust of issuer {} for subject {}: `grants` is empty; give at least one, such as `{{ role = \"deployer\", environment = \"dev\" }}`",
                self.issuer, self.subject
            ));
        }
        for (index, grant) in self.grants.iter().enumerate() {
            grant.validate().map_err(|e| {
                format!(
                    "trust of issuer {} for subject {}: `grants[{index}]`: {e}",
                    self.issuer, self.subject
                )
            })?;
        }
        match (&self.jwks_url, &self.jwks) {
            (Some(_), Some(_)) => {
                return Err(format!(
                    "trust of issuer {}: `jwks_url` and `jwks` exclude each other; give the keys' URL or the keys themselves, not both",
                    self.issuer
                ));
            }
            (Some(url), None) => {
                check_url(url)
                    .map_err(|e| format!("trust of issuer {}: `jwks_url`: {e}", self.issuer))?;
            }
            (None, Some(jwks)) => {
                check_jwks(jwks)
                    .map_err(|e| format!("trust of issuer {}: `jwks`: {e}", self.issuer))?;
            }
            (None, None) => {}
        }
        if let Some(ttl) = self.ttl_minutes
            && !(1..=MAX_TTL_MINUTES).contains(&ttl)
        {
            return Err(format!(
                "trust of issuer {}: `ttl_minutes` is {ttl}; expected 1 to {MAX_TTL_MINUTES} (the default is {DEFAULT_TTL_MINUTES})",
                self.issuer
            ));
        }
        Ok(())
    }

    /// The lifetime, in minutes, of the ferry tokens handed out.
    pub fn ttl(&self) -> u32 {
        self.ttl_minutes.unwrap_or(DEFAULT_TTL_MINUTES)
    }

    /// The OIDC discovery document of the issuer,
    /// `{issuer}/.well-known/openid-configuration`, where the `jwks_uri` is
    /// read when the trust names neither `jwks_url` nor `jwks`.
    pub fn discovery_url(&self) -> String {
        format!(
            "{}/.well-known/openid-configuration",
            self.issuer.trim_end_matches('/')
        )
    }
}

/// Checks that `url` is an `https://` URL with a host, or an `http://` URL on
/// the loopback interface (`127.0.0.1`, `localhost`, `[::1]`).
pub fn check_url(url: &str) -> Result<(), String> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| format!("{url:?} is not a URL; expected https://HOST[/PATH]"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() {
        return Err(format!(
            "{url:?} names no host; expected https://HOST[/PATH]"
        ));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("{url:?} contains spaces"));
    }
    if authority.contains('@') {
        return Err(format!(
            "{url:?} contains credentials; they are not allowed"
        ));
    }
    if rest.contains(['?', '#']) {
        return Err(format!(
            "{url:?} has a query or fragment; expected https://HOST[/PATH]"
        ));
    }
    match scheme {
        "https" => Ok(()),
        "http" if is_loopback(authority) => Ok(()),
        "http" => Err(format!(
            "{url:?} is plain http; use https (http is allowed only on 127.0.0.1, localhost and [::1])"
        )),
        _ => Err(format!("{url:?} is not an https URL")),
    }
}

/// Whether `authority` (`host[:port]`) is on the loopback interface.
fn is_loopback(authority: &str) -> bool {
    let host = if let Some(bracketed) = authority.strip_prefix('[') {
        match bracketed.split_once(']') {
            Some((host, port)) if port.is_empty() || port.starts_with(':') => host,
            _ => return false,
        }
    } else {
        authority.split(':').next().unwrap_or_default()
    };
    matches!(host, "127.0.0.1" | "::1") || host.eq_ignore_ascii_case("localhost")
}

/// Checks the outline of an inline JWK Set: an object with a non-empty
/// `keys` array of objects.
fn check_jwks(jwks: &serde_json::Value) -> Result<(), String> {
    let keys = jwks
        .get("keys")
        .and_then(serde_json::Value::as_array)
        .ok_or("expected a JWK Set, an object with a `keys` array")?;
    if keys.is_empty() {
        return Err("the JWK Set has no keys".to_owned());
    }
    if let Some(index) = keys.iter().position(|key| !key.is_object()) {
        return Err(format!("`keys[{index}]` is not a JSON object (a JWK)"));
    }
    Ok(())
}

/// Whether `subject` matches `pattern`: exactly, where `*` matches any run of
/// characters (none included, `/` and `:` included). Linear in the lengths of
/// both.
pub fn subject_matches(pattern: &str, subject: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(last) = parts.next_back() else {
        // No `*`: the subject exactly.
        return pattern == subject;
    };
    let Some(rest) = subject.strip_prefix(first) else {
        return false;
    };
    // The prefix and the suffix must not overlap: the suffix is taken from
    // what the prefix left.
    let Some(mut middle) = rest.strip_suffix(last) else {
        return false;
    };
    // Each literal between two stars is matched as early as possible: with
    // `*` the only wildcard, the leftmost match never loses a match.
    for part in parts.filter(|part| !part.is_empty()) {
        match middle.find(part) {
            Some(at) => middle = &middle[at + part.len()..],
            None => return false,
        }
    }
    true
}

/// The trust that accepts a token of `issuer` for `audience_list` about
/// `subject`: the first whose issuer is the token's exactly, whose audience
/// is among the token's, and whose subject pattern matches. A refusal says
/// which of the three failed.
pub fn find_trust<'a>(
    trusts: &'a [TrustSpec],
    issuer: &str,
    audience_list: &[String],
    subject: &str,
) -> Result<&'a TrustSpec, String> {
    let of_issuer: Vec<&TrustSpec> = trusts.iter().filter(|t| t.issuer == issuer).collect();
    if of_issuer.is_empty() {
        return Err(format!("no trust policy names issuer {issuer}"));
    }
    let for_audience: Vec<&TrustSpec> = of_issuer
        .iter()
        .copied()
        .filter(|t| audience_list.contains(&t.audience))
        .collect();
    if for_audience.is_empty() {
        let mut expected: Vec<&str> = of_issuer.iter().map(|t| t.audience.as_str()).collect();
        expected.sort_unstable();
        expected.dedup();
        let for_whom = if audience_list.is_empty() {
            "the token names no audience".to_owned()
        } else {
            format!("the token is for [{}]", audience_list.join(", "))
        };
        return Err(format!(
            "trust policies of issuer {issuer} expect audience {}; {for_whom}",
            expected.join(" or ")
        ));
    }
    for_audience
        .into_iter()
        .find(|t| subject_matches(&t.subject, subject))
        .ok_or_else(|| format!("no trust policy of issuer {issuer} accepts subject {subject}"))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::Name;
    use crate::access::Role;

    const GITHUB: &str = "https://token.actions.githubusercontent.com";

    fn trust(issuer: &str, audience: &str, subject: &str) -> TrustSpec {
        TrustSpec {
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            subject: subject.to_owned(),
            grants: vec![Grant::global(Role::Developer)],
            jwks_url: None,
            jwks: None,
            ttl_minutes: None,
        }
    }

    fn auds(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn parses_with_defaults_and_refuses_unknown_fields() {
        let spec: TrustSpec = serde_json::from_value(serde_json::json!({
            "issuer": GITHUB,
            "subject": "repo:acme/api:*",
            "grants": [{ "role": "deployer", "environment": "dev" }],
        }))
        .unwrap();
        assert_eq!(spec.audience, "ferry");
        assert_eq!(spec.ttl(), 60);
        assert_eq!(
            spec.discovery_url(),
            "https://token.actions.githubusercontent.com/.well-known/openid-configuration"
        );
        assert_eq!(spec.validate(), Ok(()));
        let error = serde_json::from_value::<TrustSpec>(serde_json::json!({
            "issuer": GITHUB, "subject": "x", "grants": [], "audiences": ["ferry"],
        }))
        .unwrap_err();
        assert!(error.to_string().contains("unknown field"), "{error}");
    }

    #[test]
    fn validation_names_the_field_and_what_is_expected() {
        let good = trust(GITHUB, "ferry", "repo:acme/api:*");
        assert_eq!(good.validate(), Ok(()));
        let cases: Vec<(TrustSpec, &str)> = vec![
            (
                trust("http://issuer.example.com", "ferry", "x"),
                "`issuer`: \"http://issuer.example.com\" is plain http",
            ),
            (
                trust("issuer.example.com", "ferry", "x"),
                "`issuer`: \"issuer.example.com\" is not a URL",
            ),
            (trust("https://", "ferry", "x"), "names no host"),
            (
                trust("https://user:pw@issuer.example.com", "ferry", "x"),
                "credentials",
            ),
            (
                trust("https://issuer.example.com?x=1", "ferry", "x"),
                "query or fragment",
            ),
            (
                trust("ftp://issuer.example.com", "ferry", "x"),
                "not an https URL",
            ),
            (trust(GITHUB, "", "x"), "`audience` is empty"),
            (
                trust(GITHUB, " ferry", "x"),
                "`audience` \" ferry\" has spaces",
            ),
            (trust(GITHUB, "ferry", ""), "`subject` is empty"),
            (trust(GITHUB, "ferry", "**"), "would accept every workload"),
            (
                TrustSpec {
                    grants: vec![],
                    ..good.clone()
                },
                "`grants` is empty",
            ),
            (
                TrustSpec {
                    grants: vec![
                        Grant::global(Role::Viewer),
                        Grant {
                            service: Some(Name::parse("api").unwrap()),
                            ..Grant::global(Role::Admin)
                        },
                    ],
                    ..good.clone()
                },
                "`grants[1]`: the admin role cannot be scoped",
            ),
            (
                TrustSpec {
                    jwks_url: Some("https://keys.example.com/jwks".into()),
                    jwks: Some(serde_json::json!({ "keys": [{}] })),
                    ..good.clone()
                },
                "`jwks_url` and `jwks` exclude each other",
            ),
            (
                TrustSpec {
                    jwks_url: Some("http://keys.example.com/jwks".into()),
                    ..good.clone()
                },
                "`jwks_url`: \"http://keys.example.com/jwks\" is plain http",
            ),
            (
                TrustSpec {
                    jwks: Some(serde_json::json!([])),
                    ..good.clone()
                },
                "`jwks`: expected a JWK Set",
            ),
            (
                TrustSpec {
                    jwks: Some(serde_json::json!({ "keys": [] })),
                    ..good.clone()
                },
                "`jwks`: the JWK Set has no keys",
            ),
            (
                TrustSpec {
                    jwks: Some(serde_json::json!({ "keys": ["k"] })),
                    ..good.clone()
                },
                "`keys[0]` is not a JSON object",
            ),
            (
                TrustSpec {
                    ttl_minutes: Some(0),
                    ..good.clone()
                },
                "`ttl_minutes` is 0; expected 1 to 720",
            ),
            (
                TrustSpec {
                    ttl_minutes: Some(721),
                    ..good.clone()
                },
                "`ttl_minutes` is 721",
            ),
        ];
        for (spec, expected) in cases {
            let error = spec.validate().expect_err(expected);
            assert!(
                error.contains(expected),
                "{error:?} should contain {expected:?}"
            );
        }
        let loopback = [
            "http://127.0.0.1:8080",
            "http://localhost/issuer",
            "http://[::1]:9/x",
            "https://gitlab.example.com",
        ];
        for issuer in loopback {
            assert_eq!(trust(issuer, "ferry", "x").validate(), Ok(()), "{issuer}");
        }
        for issuer in [
            "http://127.0.0.1.example.com",
            "http://localhost.evil.com",
            "http://[::1]x",
        ] {
            assert!(trust(issuer, "ferry", "x").validate().is_err(), "{issuer}");
        }
        let inline = TrustSpec {
            jwks: Some(
                serde_json::json!({ "keys": [{ "kty": "RSA", "kid": "1", "n": "AQAB", "e": "AQAB" }] }),
            ),
            ttl_minutes: Some(720),
            ..good
        };
        assert_eq!(inline.validate(), Ok(()));
        assert_eq!(inline.ttl(), 720);
    }

    #[test]
    fn subject_globs() {
        let table = [
            (
                "repo:acme/api:ref:refs/heads/main",
                "repo:acme/api:ref:refs/heads/main",
                true,
            ),
            (
                "repo:acme/api:ref:refs/heads/main",
                "repo:acme/api:ref:refs/heads/mainx",
                false,
            ),
            ("repo:acme/*", "repo:acme/api:ref:refs/heads/main", true),
            (
                "repo:acme/*",
                "repo:acme-evil/api:ref:refs/heads/main",
                false,
            ),
            ("repo:acme/api:*", "repo:acme/api:environment:prod", true),
            (
                "repo:acme/*:ref:refs/heads/main",
                "repo:acme/api:ref:refs/heads/main",
                true,
            ),
            (
                "repo:acme/*:ref:refs/heads/main",
                "repo:acme/api:ref:refs/heads/dev",
                false,
            ),
            ("repo:*/api:*", "repo:acme/api:pull_request", true),
            (
                "*:ref:refs/tags/v*",
                "repo:acme/api:ref:refs/tags/v1.2.3",
                true,
            ),
            ("a*a", "a", false),
            ("a*a", "aa", true),
            ("a**b", "ab", true),
            ("a*b*c", "acb", false),
            ("a*b*c", "abbbc", true),
            (
                "project_path:group/*:ref_type:branch:ref:main",
                "project_path:group/app:ref_type:branch:ref:main",
                true,
            ),
            ("x?", "xy", false),
            ("x[ab]", "xa", false),
            ("", "", true),
            ("", "x", false),
        ];
        for (pattern, subject, expected) in table {
            assert_eq!(
                subject_matches(pattern, subject),
                expected,
                "{pattern} ~ {subject}"
            );
        }
    }

    /// The plain definition, by backtracking: what the linear matcher must
    /// agree with.
    fn reference(pattern: &[u8], subject: &[u8]) -> bool {
        match pattern.split_first() {
            None => subject.is_empty(),
            Some((b'*', rest)) => (0..=subject.len()).any(|i| reference(rest, &subject[i..])),
            Some((c, rest)) => subject.first() == Some(c) && reference(rest, &subject[1..]),
        }
    }

    proptest! {
        #[test]
        fn agrees_with_the_definition(pattern in "[ab*:/]{0,8}", subject in "[ab:/]{0,10}") {
            prop_assert_eq!(
                subject_matches(&pattern, &subject),
                reference(pattern.as_bytes(), subject.as_bytes())
            );
        }
    }

    #[test]
    fn long_inputs_stay_fast() {
        let subject = "a".repeat(200_000);
        let pattern = format!("{}b", "a*".repeat(5_000));
        assert!(!subject_matches(&pattern, &subject));
    }

    #[test]
    fn find_trust_picks_the_first_that_accepts_and_says_what_failed() {
        let trusts = vec![
            trust(GITHUB, "ferry", "repo:acme/api:ref:refs/heads/main"),
            trust(GITHUB, "ferry", "repo:acme/*"),
            trust(GITHUB, "ferry-staging", "repo:acme/web:*"),
            trust(
                "https://gitlab.example.com",
                "ferry",
                "project_path:group/*",
            ),
        ];
        let found = find_trust(
            &trusts,
            GITHUB,
            &auds(&["ferry"]),
            "repo:acme/api:ref:refs/heads/main",
        )
        .unwrap();
        assert!(std::ptr::eq(found, &trusts[0]));
        let found = find_trust(
            &trusts,
            GITHUB,
            &auds(&["x", "ferry"]),
            "repo:acme/web:ref:refs/heads/dev",
        )
        .unwrap();
        assert!(std::ptr::eq(found, &trusts[1]));
        let found = find_trust(
            &trusts,
            GITHUB,
            &auds(&["ferry-staging"]),
            "repo:acme/web:pull_request",
        )
        .unwrap();
        assert!(std::ptr::eq(found, &trusts[2]));

        assert_eq!(
            find_trust(
                &trusts,
                "https://token.actions.githubusercontent.com/",
                &auds(&["ferry"]),
                "x"
            )
            .unwrap_err(),
            "no trust policy names issuer https://token.actions.githubusercontent.com/"
        );
        assert_eq!(
            find_trust(
                &trusts,
                GITHUB,
                &auds(&["sts.amazonaws.com", "other"]),
                "repo:acme/api:x"
            )
            .unwrap_err(),
            format!(
                "trust policies of issuer {GITHUB} expect audience ferry or ferry-staging; the token is for [sts.amazonaws.com, other]"
            )
        );
        assert_eq!(
            find_trust(&trusts, GITHUB, &[], "repo:acme/api:x").unwrap_err(),
            format!(
                "trust policies of issuer {GITHUB} expect audience ferry or ferry-staging; the token names no audience"
            )
        );
        assert_eq!(
            find_trust(
                &trusts,
                GITHUB,
                &auds(&["ferry"]),
                "repo:evil/api:ref:refs/heads/main"
            )
            .unwrap_err(),
            format!(
                "no trust policy of issuer {GITHUB} accepts subject repo:evil/api:ref:refs/heads/main"
            )
        );
        // The audience matched selects among the issuer's trusts.
        assert!(
            find_trust(
                &trusts,
                GITHUB,
                &auds(&["ferry-staging"]),
                "repo:acme/api:ref:refs/heads/main"
            )
            .is_err()
        );
    }
}
