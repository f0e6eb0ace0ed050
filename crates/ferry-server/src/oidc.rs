//! Verifying the OIDC ID tokens of CI workloads (GitHub Actions, GitLab CI,
//! or any issuer that publishes its keys as a JWK Set) against the trust
//! policies ([`TrustSpec`]) of the configuration.
//!
//! A workload presents its token; [`Verifier::verify`] says which trust
//! accepts it, or why none does ([`OidcError`], a sentence for the API user).
//!
//! # The rules
//!
//! - The token's header must name one of RS256, RS384, RS512, ES256, ES384 or
//!   PS256. `none` and the HMAC algorithms (HS256…) are refused: a shared
//!   secret has no place between a CI service and ferry.
//! - The trust is chosen from the token's claims read *before* its signature
//!   is checked ([`find_trust`]: exact issuer, one of its audiences, subject
//!   pattern); nothing else is believed until the signature verifies with a
//!   key of that trust's issuer.
//! - The keys come from the trust's inline `jwks`, or its `jwks_url`, or the
//!   `jwks_uri` of `{issuer}/.well-known/openid-configuration`, whose
//!   `issuer` must be the trust's. A fetched key set is cached for 10
//!   minutes per URL. When the token's key id (`kid`) is not in a cached
//!   set, the set is fetched again (keys rotate), at most once every 30
//!   seconds per URL.
//! - The key must fit the algorithm (an RSA key for RS*/PS*, a P-256 key for
//!   ES256, a P-384 key for ES384), and its own `alg` and `use`, when given,
//!   must agree.
//! - The token must carry `iss`, `aud`, `sub` and `exp`; `iss` and `aud` must
//!   be the trust's; `exp` and `nbf` are compared with the `now` given, with
//!   60 seconds of leeway for clock skew.
//! - Fetches time out after 10 seconds and read at most 1 MiB.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use base64::Engine as _;
use ferry_core::trust::{TrustSpec, check_url, find_trust};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{
    AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm, PublicKeyUse,
};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

/// The seconds of clock skew allowed when checking `exp` and `nbf`.
pub const LEEWAY_SECONDS: i64 = 60;

/// The largest JWK Set or discovery document read, in bytes (1 MiB).
pub const MAX_DOCUMENT_BYTES: usize = 1 << 20;

/// How long a fetched key set (or discovered key set URL) is used before it
/// is fetched again.
const CACHE_FOR: Duration = Duration::from_secs(10 * 60);

/// The shortest time between two fetches of one key set URL caused by an
/// unknown key id.
const REFETCH_AFTER: Duration = Duration::from_secs(30);

/// How long a fetch may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest token considered, in bytes; CI tokens are a few KiB.
const MAX_TOKEN_BYTES: usize = 16 << 10;

/// The algorithms accepted, by their name in a token's header.
const ACCEPTED: [(&str, Algorithm); 6] = [
    ("RS256", Algorithm::RS256),
    ("RS384", Algorithm::RS384),
    ("RS512", Algorithm::RS512),
    ("ES256", Algorithm::ES256),
    ("ES384", Algorithm::ES384),
    ("PS256", Algorithm::PS256),
];

/// How an inline key set is named in messages.
const INLINE: &str = "the trust's inline `jwks`";

/// Verifies OIDC ID tokens; keeps the key sets it fetched. Cloning is cheap
/// and clones share the cache.
#[derive(Debug, Clone)]
pub struct Verifier {
    client: reqwest::Client,
    /// Key sets by URL, with when they were fetched.
    cache: Arc<Mutex<HashMap<String, (Instant, JwkSet)>>>,
    /// Key set URLs found by discovery, by issuer, with when.
    discovered: Arc<Mutex<HashMap<String, (Instant, String)>>>,
    cache_for: Duration,
    refetch_after: Duration,
}

/// A token that verified, and the trust that accepts it.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    /// The trust that accepts the token: its grants and token lifetime apply.
    pub trust: TrustSpec,
    /// The token's `sub`: the workload, such as
    /// `repo:acme/api:ref:refs/heads/main`.
    pub subject: String,
    /// The token's `iss`.
    pub issuer: String,
    /// When the token expires (its `exp`, Unix seconds).
    pub expires_at: i64,
}

/// Why a token was refused; each reads as a sentence for the API user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OidcError {
    /// The token is not a well-formed JWT, or lacks a claim it needs.
    #[error("the token is not a well-formed OIDC ID token: {0}")]
    Malformed(String),
    /// The token's header names an algorithm ferry does not accept.
    #[error(
        "the token is signed with {alg:?}, which ferry does not accept; an OIDC ID token is signed with RS256, RS384, RS512, ES256, ES384 or PS256"
    )]
    UnsupportedAlgorithm {
        /// The `alg` of the token's header.
        alg: String,
    },
    /// No trust accepts the token's issuer, audience or subject; the
    /// message says which.
    #[error("{0}")]
    NoTrust(String),
    /// The token's key id is not among the issuer's keys.
    #[error(
        "the token was signed with key {kid:?}, which is not among the keys of {jwks}; if the issuer rotated its keys, retry in a minute"
    )]
    UnknownKey {
        /// The `kid` of the token's header.
        kid: String,
        /// Where the keys were read: a URL, or the trust's inline set.
        jwks: String,
    },
    /// The key named cannot verify this token's algorithm.
    #[error("key {kid:?} of {jwks} cannot verify the token: {reason}")]
    UnusableKey {
        /// The key id.
        kid: String,
        /// Where the keys were read.
        jwks: String,
        /// Why.
        reason: String,
    },
    /// The signature does not verify.
    #[error("the token's signature does not verify with key {kid:?} of {jwks}")]
    BadSignature {
        /// The key id.
        kid: String,
        /// Where the keys were read.
        jwks: String,
    },
    /// The token has expired (beyond the leeway).
    #[error("the token expired at {} ({LEEWAY_SECONDS} seconds of clock skew allowed); ask the CI service for a fresh one", rfc3339(*.expired_at))]
    Expired {
        /// Its `exp`, Unix seconds.
        expired_at: i64,
    },
    /// The token is not valid yet (beyond the leeway).
    #[error("the token is not valid before {} ({LEEWAY_SECONDS} seconds of clock skew allowed); check the clocks of the CI service and ferry", rfc3339(*.not_before))]
    NotYetValid {
        /// Its `nbf`, Unix seconds.
        not_before: i64,
    },
    /// The verified token's `iss` is not the trust's.
    #[error("the token's issuer is not {expected}, the issuer of the trust policy")]
    WrongIssuer {
        /// The issuer of the trust.
        expected: String,
    },
    /// The verified token's `aud` does not hold the trust's audience.
    #[error("the token is not for audience {expected}, the audience of the trust policy")]
    WrongAudience {
        /// The audience of the trust.
        expected: String,
    },
    /// The issuer's keys could not be fetched (or discovered).
    #[error("cannot get the issuer's signing keys from {url}: {reason}")]
    JwksUnreachable {
        /// The URL of the key set or of the discovery document.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The trust's inline key set is not a valid JWK Set.
    #[error("{INLINE} is not a valid JWK Set: {reason}")]
    InvalidJwks {
        /// What is wrong with it.
        reason: String,
    },
}

/// `at` (Unix seconds) in RFC 3339, or the number when it is out of range.
fn rfc3339(at: i64) -> String {
    chrono::DateTime::from_timestamp(at, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| format!("{at} (Unix time)"))
}

/// The token's header, as far as the choice of key goes.
#[derive(Deserialize)]
struct RawHeader {
    alg: Option<String>,
    kid: Option<String>,
}

/// `aud`: one audience or several.
#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

/// The claims that choose the trust, read before the signature is checked.
#[derive(Deserialize)]
struct UnverifiedClaims {
    iss: Option<String>,
    sub: Option<String>,
    aud: Option<Audience>,
}

/// The claims kept once the signature verified.
/// (Optional here so that a missing one is reported as such, not as a
/// parsing error.)
#[derive(Deserialize)]
struct Claims {
    iss: Option<String>,
    sub: Option<String>,
    exp: Option<serde_json::Number>,
    nbf: Option<serde_json::Number>,
}

/// A NumericDate as whole seconds (fractions dropped).
fn seconds(claim: &str, value: &serde_json::Number) -> Result<i64, OidcError> {
    value
        .as_i64()
        .or_else(|| {
            value
                .as_f64()
                .filter(|f| f.is_finite())
                .map(|f| f.floor() as i64)
        })
        .ok_or_else(|| {
            OidcError::Malformed(format!("its `{claim}` claim is not a time in seconds"))
        })
}

impl Verifier {
    /// A verifier fetching keys with `client` (whose TLS settings, proxy and
    /// redirect policy apply; for `https://` issuers, a rustls crypto
    /// provider must be installed, as `ferry serve` does), with an empty
    /// cache.
    pub fn new(client: reqwest::Client) -> Self {
        Self {
            client,
            cache: Arc::default(),
            discovered: Arc::default(),
            cache_for: CACHE_FOR,
            refetch_after: REFETCH_AFTER,
        }
    }

    /// Verifies `token` at `now` (Unix seconds) and returns the first of
    /// `trusts` that accepts it, with the token's subject, issuer and expiry.
    pub async fn verify(
        &self,
        token: &str,
        trusts: &[TrustSpec],
        now: i64,
    ) -> Result<Verified, OidcError> {
        let token = token.trim();
        let (alg, kid) = read_header(token)?;
        let claims: UnverifiedClaims = jsonwebtoken::dangerous::insecure_decode_claims(token)
            .map_err(|e| OidcError::Malformed(format!("its claims cannot be read: {e}")))?;
        let missing = |claim: &str| OidcError::Malformed(format!("it has no `{claim}` claim"));
        let issuer = claims.iss.ok_or_else(|| missing("iss"))?;
        let subject = claims.sub.ok_or_else(|| missing("sub"))?;
        let audiences = match claims.aud.ok_or_else(|| missing("aud"))? {
            Audience::One(one) => vec![one],
            Audience::Many(many) => many,
        };
        let trust =
            find_trust(trusts, &issuer, &audiences, &subject).map_err(OidcError::NoTrust)?;

        let (jwk, jwks) = self.key(trust, kid.as_deref()).await?;
        let kid = kid.unwrap_or_else(|| jwk.common.key_id.clone().unwrap_or_default());
        let unusable = |reason: String| OidcError::UnusableKey {
            kid: kid.clone(),
            jwks: jwks.clone(),
            reason,
        };
        fits(&jwk, alg).map_err(unusable)?;
        let key = DecodingKey::from_jwk(&jwk).map_err(|e| unusable(e.to_string()))?;

        let mut validation = Validation::new(alg);
        validation.leeway = LEEWAY_SECONDS.unsigned_abs();
        // The times are compared with `now`, below, not with the clock.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.set_issuer(&[&trust.issuer]);
        validation.set_audience(&[&trust.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let verified =
            jsonwebtoken::decode::<Claims>(token, &key, &validation).map_err(|e| {
                match e.kind() {
                    ErrorKind::InvalidSignature => OidcError::BadSignature {
                        kid: kid.clone(),
                        jwks: jwks.clone(),
                    },
                    ErrorKind::InvalidIssuer => OidcError::WrongIssuer {
                        expected: trust.issuer.clone(),
                    },
                    ErrorKind::InvalidAudience => OidcError::WrongAudience {
                        expected: trust.audience.clone(),
                    },
                    ErrorKind::MissingRequiredClaim(claim) => missing(claim),
                    ErrorKind::InvalidClaimFormat(claim) => {
                        OidcError::Malformed(format!("its `{claim}` claim is not well-formed"))
                    }
                    ErrorKind::InvalidAlgorithm
                    | ErrorKind::UnsupportedAlgorithm
                    | ErrorKind::InvalidKeyFormat
                    | ErrorKind::InvalidRsaKey(_)
                    | ErrorKind::InvalidEcdsaKey => unusable(e.to_string()),
                    _ => OidcError::Malformed(e.to_string()),
                }
            })?;
        let claims = verified.claims;

        let (Some(issuer), Some(subject), Some(exp)) = (claims.iss, claims.sub, claims.exp) else {
            // `decode` required them; a token without them is refused all the same.
            return Err(OidcError::Malformed(
                "it lacks one of the claims `iss`, `sub` and `exp`".to_owned(),
            ));
        };
        let expires_at = seconds("exp", &exp)?;
        if expires_at.saturating_add(LEEWAY_SECONDS) < now {
            return Err(OidcError::Expired {
                expired_at: expires_at,
            });
        }
        if let Some(nbf) = &claims.nbf {
            let not_before = seconds("nbf", nbf)?;
            if not_before > now.saturating_add(LEEWAY_SECONDS) {
                return Err(OidcError::NotYetValid { not_before });
            }
        }
        Ok(Verified {
            trust: trust.clone(),
            subject,
            issuer,
            expires_at,
        })
    }

    /// The key of `trust`'s issuer named `kid` (the only key when the token
    /// names none), and where the keys were read.
    async fn key(&self, trust: &TrustSpec, kid: Option<&str>) -> Result<(Jwk, String), OidcError> {
        if let Some(inline) = &trust.jwks {
            let set: JwkSet =
                serde_json::from_value(inline.clone()).map_err(|e| OidcError::InvalidJwks {
                    reason: e.to_string(),
                })?;
            return pick(&set, kid, INLINE).map(|jwk| (jwk.clone(), INLINE.to_owned()));
        }
        let url = match &trust.jwks_url {
            Some(url) => url.clone(),
            None => self.discover(trust).await?,
        };
        let (set, fresh) = match self.cached(&url, self.cache_for) {
            Some(set) => (set, false),
            None => (self.fetch_jwks(&url).await?, true),
        };
        match pick(&set, kid, &url) {
            Ok(jwk) => Ok((jwk.clone(), url)),
            // Keys rotate: a key id not in a set fetched a while ago may be
            // in the set published now.
            Err(OidcError::UnknownKey { .. })
                if !fresh && self.cached(&url, self.refetch_after).is_none() =>
            {
                let set = self.fetch_jwks(&url).await?;
                pick(&set, kid, &url).map(|jwk| (jwk.clone(), url.clone()))
            }
            Err(error) => Err(error),
        }
    }

    /// The key set of `url` when it was fetched less than `within` ago.
    fn cached(&self, url: &str, within: Duration) -> Option<JwkSet> {
        let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        cache
            .get(url)
            .filter(|(fetched_at, _)| fetched_at.elapsed() < within)
            .map(|(_, set)| set.clone())
    }

    /// Fetches the key set at `url` and caches it.
    async fn fetch_jwks(&self, url: &str) -> Result<JwkSet, OidcError> {
        let unreachable = |reason: String| OidcError::JwksUnreachable {
            url: url.to_owned(),
            reason,
        };
        let body = self.fetch(url).await.map_err(unreachable)?;
        let set: JwkSet = serde_json::from_slice(&body)
            .map_err(|e| unreachable(format!("the response is not a JWK Set: {e}")))?;
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(url.to_owned(), (Instant::now(), set.clone()));
        Ok(set)
    }

    /// The `jwks_uri` of the issuer's discovery document (cached).
    async fn discover(&self, trust: &TrustSpec) -> Result<String, OidcError> {
        {
            let discovered = self
                .discovered
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if let Some((at, url)) = discovered.get(&trust.issuer)
                && at.elapsed() < self.cache_for
            {
                return Ok(url.clone());
            }
        }
        let document_url = trust.discovery_url();
        let unreachable = |reason: String| OidcError::JwksUnreachable {
            url: document_url.clone(),
            reason,
        };
        #[derive(Deserialize)]
        struct Discovery {
            issuer: Option<String>,
            jwks_uri: Option<String>,
        }
        let body = self.fetch(&document_url).await.map_err(unreachable)?;
        let document: Discovery = serde_json::from_slice(&body).map_err(|e| {
            unreachable(format!("the response is not an OpenID configuration: {e}"))
        })?;
        if document.issuer.as_deref() != Some(trust.issuer.as_str()) {
            return Err(unreachable(format!(
                "the document is for issuer {}, not {}",
                document.issuer.as_deref().unwrap_or("(none)"),
                trust.issuer
            )));
        }
        let jwks_uri = document
            .jwks_uri
            .ok_or_else(|| unreachable("the document has no `jwks_uri`".to_owned()))?;
        check_url(&jwks_uri).map_err(|e| unreachable(format!("its `jwks_uri`: {e}")))?;
        self.discovered
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(trust.issuer.clone(), (Instant::now(), jwks_uri.clone()));
        Ok(jwks_uri)
    }

    /// The body at `url`: a success, within the time and size limits.
    async fn fetch(&self, url: &str) -> Result<Vec<u8>, String> {
        let describe = |error: reqwest::Error| with_causes(&error.without_url());
        let mut response = self
            .client
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .timeout(FETCH_TIMEOUT)
            .send()
            .await
            .map_err(describe)?;
        if !response.status().is_success() {
            return Err(format!("it answered HTTP {}", response.status()));
        }
        let too_large = || {
            format!(
                "the response is larger than {} KiB",
                MAX_DOCUMENT_BYTES >> 10
            )
        };
        if response
            .content_length()
            .is_some_and(|length| length > MAX_DOCUMENT_BYTES as u64)
        {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(describe)? {
            if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

/// `error` and its causes, as one line.
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        let more = inner.to_string();
        // Some errors repeat their cause in their own message.
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = inner.source();
    }
    text
}

/// The header's algorithm, when accepted, and key id.
fn read_header(token: &str) -> Result<(Algorithm, Option<String>), OidcError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(OidcError::Malformed(format!(
            "it is {} bytes long, more than the {MAX_TOKEN_BYTES} allowed",
            token.len()
        )));
    }
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(OidcError::Malformed(
            "a JWT has three parts separated by `.` (header.claims.signature)".to_owned(),
        ));
    };
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|e| OidcError::Malformed(format!("its header is not base64url: {e}")))?;
    let header: RawHeader = serde_json::from_slice(&header)
        .map_err(|e| OidcError::Malformed(format!("its header is not a JSON object: {e}")))?;
    let alg = header
        .alg
        .ok_or_else(|| OidcError::Malformed("its header names no algorithm (`alg`)".to_owned()))?;
    let accepted = ACCEPTED
        .iter()
        .find(|(name, _)| *name == alg)
        .map(|(_, algorithm)| *algorithm)
        .ok_or(OidcError::UnsupportedAlgorithm { alg })?;
    Ok((accepted, header.kid))
}

/// The key named `kid` in `set` (the only key when `kid` is absent).
fn pick<'s>(set: &'s JwkSet, kid: Option<&str>, jwks: &str) -> Result<&'s Jwk, OidcError> {
    match kid {
        Some(kid) => set.find(kid).ok_or_else(|| OidcError::UnknownKey {
            kid: kid.to_owned(),
            jwks: jwks.to_owned(),
        }),
        None => match set.keys.as_slice() {
            [only] => Ok(only),
            keys => Err(OidcError::Malformed(format!(
                "its header names no key id (`kid`), and {jwks} holds {} keys, not one",
                keys.len()
            ))),
        },
    }
}

/// Whether `jwk` may verify a signature made with `alg`.
fn fits(jwk: &Jwk, alg: Algorithm) -> Result<(), String> {
    if let Some(usage) = &jwk.common.public_key_use
        && *usage != PublicKeyUse::Signature
    {
        return Err("the key is not for signatures (its `use` is not `sig`)".to_owned());
    }
    if let Some(key_alg) = jwk.common.key_algorithm
        && key_alg != KeyAlgorithm::from(alg)
    {
        return Err(format!(
            "the key is for {key_alg}, the token is signed with {alg:?}"
        ));
    }
    let fits = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => matches!(
            alg,
            Algorithm::RS256 | Algorithm::RS384 | Algorithm::RS512 | Algorithm::PS256
        ),
        AlgorithmParameters::EllipticCurve(ec) => matches!(
            (&ec.curve, alg),
            (EllipticCurve::P256, Algorithm::ES256) | (EllipticCurve::P384, Algorithm::ES384)
        ),
        _ => false,
    };
    if fits {
        Ok(())
    } else {
        Err(format!("the key's type cannot verify {alg:?} signatures"))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::Json;
    use axum::extract::State;
    use axum::routing::get;
    use ferry_core::access::{Grant, Role};
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::{Value, json};

    use super::*;

    const KEY_A: &str = include_str!("../tests/fixtures/oidc/key-a.pem");
    const KEY_B: &str = include_str!("../tests/fixtures/oidc/key-b.pem");
    const JWKS: &str = include_str!("../tests/fixtures/oidc/jwks.json");
    const KID_A: &str = "ferry-test-a";
    const KID_B: &str = "ferry-test-b";
    const SUBJECT: &str = "repo:acme/api:ref:refs/heads/main";

    /// The DER inside a PKCS#1 PEM file.
    fn der(pem: &str) -> Vec<u8> {
        let body: String = pem
            .lines()
            .filter(|line| !line.starts_with("-----"))
            .collect();
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap()
    }

    fn key(pem: &str) -> EncodingKey {
        EncodingKey::from_rsa_der(&der(pem))
    }

    /// The fixture's JWK Set, with only the keys named.
    fn jwks(kids: &[&str]) -> Value {
        let mut set: Value = serde_json::from_str(JWKS).unwrap();
        set["keys"]
            .as_array_mut()
            .unwrap()
            .retain(|jwk| kids.contains(&jwk["kid"].as_str().unwrap()));
        set
    }

    fn now() -> i64 {
        chrono::Utc::now().timestamp()
    }

    fn claims(issuer: &str) -> Value {
        json!({
            "iss": issuer,
            "aud": "ferry",
            "sub": SUBJECT,
            "iat": now(),
            "exp": now() + 300,
            "repository": "acme/api",
        })
    }

    fn sign_with(alg: Algorithm, key: &EncodingKey, kid: Option<&str>, claims: &Value) -> String {
        let mut header = Header::new(alg);
        header.kid = kid.map(str::to_owned);
        jsonwebtoken::encode(&header, claims, key).unwrap()
    }

    fn sign(pem: &str, kid: &str, claims: &Value) -> String {
        sign_with(Algorithm::RS256, &key(pem), Some(kid), claims)
    }

    fn trust(issuer: &str, subject: &str) -> TrustSpec {
        TrustSpec {
            issuer: issuer.to_owned(),
            audience: "ferry".to_owned(),
            subject: subject.to_owned(),
            grants: vec![Grant::global(Role::Developer)],
            jwks_url: None,
            jwks: None,
            ttl_minutes: None,
        }
    }

    fn verifier() -> Verifier {
        let _ = rustls::crypto::ring::default_provider().install_default();
        Verifier::new(reqwest::Client::new())
    }

    /// An issuer on 127.0.0.1: its discovery document, its keys (which a
    /// test may change) and how often each was fetched.
    #[derive(Clone)]
    struct Issuer {
        url: String,
        keys: Arc<Mutex<Value>>,
        jwks_fetches: Arc<AtomicUsize>,
        discovery_fetches: Arc<AtomicUsize>,
    }

    impl Issuer {
        async fn start(keys: Value) -> Self {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("http://{}", listener.local_addr().unwrap());
            let issuer = Issuer {
                url,
                keys: Arc::new(Mutex::new(keys)),
                jwks_fetches: Arc::default(),
                discovery_fetches: Arc::default(),
            };
            let app = axum::Router::new()
                .route(
                    "/.well-known/openid-configuration",
                    get(|State(issuer): State<Issuer>| async move {
                        issuer.discovery_fetches.fetch_add(1, Ordering::SeqCst);
                        Json(json!({
                            "issuer": issuer.url,
                            "jwks_uri": format!("{}/keys", issuer.url),
                            "id_token_signing_alg_values_supported": ["RS256"],
                        }))
                    }),
                )
                .route(
                    "/keys",
                    get(|State(issuer): State<Issuer>| async move {
                        issuer.jwks_fetches.fetch_add(1, Ordering::SeqCst);
                        Json(issuer.keys.lock().unwrap().clone())
                    }),
                )
                .route(
                    "/huge",
                    get(|| async { "x".repeat(MAX_DOCUMENT_BYTES + 1) }),
                )
                .with_state(issuer.clone());
            tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
            issuer
        }

        fn jwks_fetches(&self) -> usize {
            self.jwks_fetches.load(Ordering::SeqCst)
        }

        fn set_keys(&self, keys: Value) {
            *self.keys.lock().unwrap() = keys;
        }
    }

    #[test]
    fn verifying_can_run_on_any_thread() {
        fn assert_send<T: Send + Sync + 'static>(_: &T) {}
        let verifier = verifier();
        assert_send(&verifier);
        let future = async move { verifier.verify("", &[], 0).await };
        fn assert_send_future<F: Future + Send>(_: &F) {}
        assert_send_future(&future);
    }

    #[test]
    fn the_fixture_jwks_holds_the_public_halves_of_the_keys() {
        for (pem, kid) in [(KEY_A, KID_A), (KEY_B, KID_B)] {
            let derived = Jwk::from_encoding_key(&key(pem), Algorithm::RS256).unwrap();
            let fixture: JwkSet = serde_json::from_value(jwks(&[kid])).unwrap();
            assert_eq!(fixture.keys[0].algorithm, derived.algorithm, "{kid}");
        }
    }

    #[tokio::test]
    async fn a_good_token_is_accepted_by_the_first_trust_that_matches() {
        let issuer = Issuer::start(jwks(&[KID_A, KID_B])).await;
        let trusts = vec![
            trust(&issuer.url, "repo:acme/web:*"),
            TrustSpec {
                ttl_minutes: Some(15),
                ..trust(&issuer.url, "repo:acme/api:*")
            },
            trust(&issuer.url, "repo:acme/*"),
        ];
        let claims = claims(&issuer.url);
        let verifier = verifier();
        let verified = verifier
            .verify(&sign(KEY_A, KID_A, &claims), &trusts, now())
            .await
            .unwrap();
        assert_eq!(verified.trust, trusts[1]);
        assert_eq!(verified.subject, SUBJECT);
        assert_eq!(verified.issuer, issuer.url);
        assert_eq!(verified.expires_at, claims["exp"].as_i64().unwrap());
        // Found by discovery, then cached: one fetch of each for many tokens.
        let other_key = sign(KEY_B, KID_B, &claims);
        assert!(verifier.verify(&other_key, &trusts, now()).await.is_ok());
        assert!(
            verifier
                .clone()
                .verify(&other_key, &trusts, now())
                .await
                .is_ok()
        );
        assert_eq!(issuer.discovery_fetches.load(Ordering::SeqCst), 1);
        assert_eq!(issuer.jwks_fetches(), 1);
        // An audience among several, and a fractional `exp`.
        let mut several = claims.clone();
        several["aud"] = json!(["sts.amazonaws.com", "ferry"]);
        several["exp"] = json!(now() as f64 + 60.5);
        let verified = verifier
            .verify(&sign(KEY_A, KID_A, &several), &trusts, now())
            .await
            .unwrap();
        assert_eq!(verified.trust, trusts[1]);
        // The other accepted algorithms of RSA keys.
        for alg in [Algorithm::RS384, Algorithm::RS512, Algorithm::PS256] {
            let token = sign_with(alg, &key(KEY_A), Some(KID_A), &claims);
            let mut trusts = trusts.clone();
            // The fixture's keys say `alg: RS256`; an inline set without it.
            let mut set = jwks(&[KID_A]);
            set["keys"][0].as_object_mut().unwrap().remove("alg");
            for trust in &mut trusts {
                trust.jwks = Some(set.clone());
            }
            assert!(
                verifier.verify(&token, &trusts, now()).await.is_ok(),
                "{alg:?}"
            );
            // Where the key names its algorithm, another is refused.
            let fixed = trust(&issuer.url, "repo:acme/*");
            let fixed = TrustSpec {
                jwks: Some(jwks(&[KID_A])),
                ..fixed
            };
            let error = verifier.verify(&token, &[fixed], now()).await.unwrap_err();
            assert!(matches!(error, OidcError::UnusableKey { .. }), "{error}");
        }
    }

    #[tokio::test]
    async fn a_trust_with_a_jwks_url_uses_it_without_discovery() {
        let issuer = Issuer::start(jwks(&[KID_A])).await;
        let trusts = [TrustSpec {
            jwks_url: Some(format!("{}/keys", issuer.url)),
            ..trust(&issuer.url, "repo:acme/*")
        }];
        let token = sign(KEY_A, KID_A, &claims(&issuer.url));
        assert!(verifier().verify(&token, &trusts, now()).await.is_ok());
        assert_eq!(issuer.discovery_fetches.load(Ordering::SeqCst), 0);
        assert_eq!(issuer.jwks_fetches(), 1);
    }

    #[tokio::test]
    async fn tokens_that_no_trust_accepts_are_refused_saying_why() {
        let issuer = Issuer::start(jwks(&[KID_A])).await;
        let trusts = [trust(&issuer.url, "repo:acme/api:*")];
        let verifier = verifier();
        let refuse = async |claims: Value| {
            let token = sign(KEY_A, KID_A, &claims);
            match verifier.verify(&token, &trusts, now()).await {
                Err(OidcError::NoTrust(message)) => message,
                other => panic!("{other:?}"),
            }
        };
        let mut wrong_audience = claims(&issuer.url);
        wrong_audience["aud"] = json!("sts.amazonaws.com");
        assert_eq!(
            refuse(wrong_audience).await,
            format!(
                "trust policies of issuer {} expect audience ferry; the token is for [sts.amazonaws.com]",
                issuer.url
            )
        );
        let wrong_issuer = claims("https://token.actions.githubusercontent.com");
        assert_eq!(
            refuse(wrong_issuer).await,
            "no trust policy names issuer https://token.actions.githubusercontent.com"
        );
        let mut other_subject = claims(&issuer.url);
        other_subject["sub"] = json!("repo:evil/api:ref:refs/heads/main");
        assert_eq!(
            refuse(other_subject).await,
            format!(
                "no trust policy of issuer {} accepts subject repo:evil/api:ref:refs/heads/main",
                issuer.url
            )
        );
        // None of this needed the issuer's keys.
        assert_eq!(issuer.jwks_fetches(), 0);
    }

    #[tokio::test]
    async fn forged_and_stale_tokens_are_refused() {
        let issuer = Issuer::start(jwks(&[KID_A])).await;
        let keys_url = format!("{}/keys", issuer.url);
        let trusts = [trust(&issuer.url, "repo:acme/*")];
        let verifier = verifier();
        let verify = async |token: String| verifier.verify(&token, &trusts, now()).await;

        // Signed by another key under the known key id.
        let error = verify(sign(KEY_B, KID_A, &claims(&issuer.url)))
            .await
            .unwrap_err();
        assert_eq!(
            error,
            OidcError::BadSignature {
                kid: KID_A.into(),
                jwks: keys_url.clone()
            }
        );
        assert_eq!(
            error.to_string(),
            format!("the token's signature does not verify with key \"{KID_A}\" of {keys_url}")
        );
        // A claim changed after signing.
        let token = sign(KEY_A, KID_A, &claims(&issuer.url));
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let mut forged = claims(&issuer.url);
        forged["sub"] = json!("repo:acme/other:ref:refs/heads/main");
        parts[1] = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(forged.to_string());
        let error = verify(parts.join(".")).await.unwrap_err();
        assert!(matches!(error, OidcError::BadSignature { .. }), "{error}");

        // A key id the issuer does not publish.
        let error = verify(sign(KEY_A, "nope", &claims(&issuer.url)))
            .await
            .unwrap_err();
        assert_eq!(
            error,
            OidcError::UnknownKey {
                kid: "nope".into(),
                jwks: keys_url.clone()
            }
        );
        assert!(error.to_string().contains(&keys_url), "{error}");

        // Expired beyond the leeway, and within it.
        let mut expired = claims(&issuer.url);
        expired["exp"] = json!(1_700_000_000);
        let error = verify(sign(KEY_A, KID_A, &expired)).await.unwrap_err();
        assert_eq!(
            error,
            OidcError::Expired {
                expired_at: 1_700_000_000
            }
        );
        assert!(
            error
                .to_string()
                .contains("expired at 2023-11-14T22:13:20Z"),
            "{error}"
        );
        expired["exp"] = json!(now() - 30);
        assert!(verify(sign(KEY_A, KID_A, &expired)).await.is_ok());

        // Not valid yet beyond the leeway, and within it.
        let mut early = claims(&issuer.url);
        let not_before = now() + 3600;
        early["nbf"] = json!(not_before);
        let error = verify(sign(KEY_A, KID_A, &early)).await.unwrap_err();
        assert_eq!(error, OidcError::NotYetValid { not_before });
        early["nbf"] = json!(now() + 30);
        assert!(verify(sign(KEY_A, KID_A, &early)).await.is_ok());

        // `now` is the caller's: the same token, an hour later.
        let token = sign(KEY_A, KID_A, &claims(&issuer.url));
        let later = verifier.verify(&token, &trusts, now() + 3600).await;
        assert!(matches!(later, Err(OidcError::Expired { .. })), "{later:?}");
    }

    #[tokio::test]
    async fn only_asymmetric_algorithms_are_accepted() {
        let issuer = Issuer::start(jwks(&[KID_A])).await;
        let trusts = [trust(&issuer.url, "repo:acme/*")];
        let verifier = verifier();
        let b64 = |value: &Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
        };
        let claims = claims(&issuer.url);

        let none = format!(
            "{}.{}.",
            b64(&json!({ "alg": "none", "typ": "JWT" })),
            b64(&claims)
        );
        let error = verifier.verify(&none, &trusts, now()).await.unwrap_err();
        assert_eq!(
            error,
            OidcError::UnsupportedAlgorithm { alg: "none".into() }
        );
        assert!(error.to_string().contains("RS256"), "{error}");

        let secret = EncodingKey::from_secret(b"a shared secret").unwrap();
        let hs256 = sign_with(Algorithm::HS256, &secret, Some(KID_A), &claims);
        let error = verifier.verify(&hs256, &trusts, now()).await.unwrap_err();
        assert_eq!(
            error,
            OidcError::UnsupportedAlgorithm {
                alg: "HS256".into()
            }
        );

        // An RSA key's JWK presented as an HMAC secret does not help either.
        let jwk_text = jwks(&[KID_A])["keys"][0].to_string();
        let confused = sign_with(
            Algorithm::HS256,
            &EncodingKey::from_secret(jwk_text.as_bytes()).unwrap(),
            Some(KID_A),
            &claims,
        );
        assert!(matches!(
            verifier.verify(&confused, &trusts, now()).await,
            Err(OidcError::UnsupportedAlgorithm { .. })
        ));

        // An algorithm that an RSA key cannot verify.
        let es256 = format!(
            "{}.{}.{}",
            b64(&json!({ "alg": "ES256", "kid": KID_A })),
            b64(&claims),
            "c2lnbmF0dXJl"
        );
        let error = verifier.verify(&es256, &trusts, now()).await.unwrap_err();
        assert!(matches!(error, OidcError::UnusableKey { .. }), "{error}");
        assert_eq!(issuer.jwks_fetches(), 1);
    }

    #[tokio::test]
    async fn malformed_tokens_are_refused() {
        let trusts = [TrustSpec {
            jwks: Some(jwks(&[KID_A])),
            ..trust("https://ci.example.com", "repo:acme/*")
        }];
        let verifier = verifier();
        for token in ["", "abc", "a.b", "a.b.c.d", "!!.e30.c2ln", "e30.e30.c2ln"] {
            let error = verifier.verify(token, &trusts, now()).await.unwrap_err();
            assert!(matches!(error, OidcError::Malformed(_)), "{token}: {error}");
        }
        let mut no_sub = claims("https://ci.example.com");
        no_sub.as_object_mut().unwrap().remove("sub");
        let error = verifier
            .verify(&sign(KEY_A, KID_A, &no_sub), &trusts, now())
            .await
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "the token is not a well-formed OIDC ID token: it has no `sub` claim"
        );
        let mut no_exp = claims("https://ci.example.com");
        no_exp.as_object_mut().unwrap().remove("exp");
        let error = verifier
            .verify(&sign(KEY_A, KID_A, &no_exp), &trusts, now())
            .await
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "the token is not a well-formed OIDC ID token: it has no `exp` claim"
        );
        let huge = "a".repeat(MAX_TOKEN_BYTES + 1);
        assert!(matches!(
            verifier.verify(&huge, &trusts, now()).await,
            Err(OidcError::Malformed(_))
        ));
    }

    #[tokio::test]
    async fn rotated_keys_are_refetched_at_most_every_thirty_seconds() {
        let issuer = Issuer::start(jwks(&[KID_A])).await;
        let trusts = [trust(&issuer.url, "repo:acme/*")];
        let verifier = verifier();
        let token_a = sign(KEY_A, KID_A, &claims(&issuer.url));
        let token_b = sign(KEY_B, KID_B, &claims(&issuer.url));
        assert!(verifier.verify(&token_a, &trusts, now()).await.is_ok());
        assert_eq!(issuer.jwks_fetches(), 1);

        // The issuer rotates its keys: B replaces A.
        issuer.set_keys(jwks(&[KID_B]));
        // The set was fetched less than 30 seconds ago: no refetch yet.
        let error = verifier.verify(&token_b, &trusts, now()).await.unwrap_err();
        assert!(matches!(error, OidcError::UnknownKey { .. }), "{error}");
        assert_eq!(issuer.jwks_fetches(), 1);
        // Once that time has passed (clones share the cache), an unknown key
        // id is looked up again, once, and found.
        let mut later = verifier.clone();
        later.refetch_after = Duration::ZERO;
        let verified = later.verify(&token_b, &trusts, now()).await.unwrap();
        assert_eq!(verified.subject, SUBJECT);
        assert_eq!(issuer.jwks_fetches(), 2);
        assert!(verifier.verify(&token_b, &trusts, now()).await.is_ok());
        assert_eq!(issuer.jwks_fetches(), 2);
        // The retired key is gone, and asking again so soon fetches nothing.
        let error = verifier.verify(&token_a, &trusts, now()).await.unwrap_err();
        assert!(matches!(error, OidcError::UnknownKey { .. }), "{error}");
        assert_eq!(issuer.jwks_fetches(), 2);

        // A set older than the cache lifetime is fetched again.
        let mut expiring = verifier.clone();
        expiring.cache_for = Duration::ZERO;
        issuer.set_keys(jwks(&[KID_A, KID_B]));
        assert!(expiring.verify(&token_a, &trusts, now()).await.is_ok());
        assert_eq!(issuer.jwks_fetches(), 3);
    }

    #[tokio::test]
    async fn an_inline_jwks_needs_no_network() {
        // Nothing listens at this issuer: any fetch would fail.
        let issuer = "https://ci.invalid";
        let trusts = [TrustSpec {
            jwks: Some(jwks(&[KID_A, KID_B])),
            ..trust(issuer, "repo:acme/*")
        }];
        let verifier = verifier();
        let verified = verifier
            .verify(&sign(KEY_B, KID_B, &claims(issuer)), &trusts, now())
            .await
            .unwrap();
        assert_eq!(verified.issuer, issuer);
        let error = verifier
            .verify(&sign(KEY_A, "gone", &claims(issuer)), &trusts, now())
            .await
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "the token was signed with key \"gone\", which is not among the keys of the trust's inline `jwks`; if the issuer rotated its keys, retry in a minute"
        );
        // A token without a key id is verified with the only key there is.
        let one = [TrustSpec {
            jwks: Some(jwks(&[KID_A])),
            ..trust(issuer, "repo:acme/*")
        }];
        let token = sign_with(Algorithm::RS256, &key(KEY_A), None, &claims(issuer));
        assert!(verifier.verify(&token, &one, now()).await.is_ok());
        let error = verifier.verify(&token, &trusts, now()).await.unwrap_err();
        assert!(error.to_string().contains("names no key id"), "{error}");
        // An inline set that is no JWK Set.
        let broken = [TrustSpec {
            jwks: Some(json!({ "keys": 3 })),
            ..trust(issuer, "repo:acme/*")
        }];
        let error = verifier.verify(&token, &broken, now()).await.unwrap_err();
        assert!(matches!(error, OidcError::InvalidJwks { .. }), "{error}");
    }

    #[tokio::test]
    async fn unreachable_keys_name_the_url_and_the_cause() {
        let issuer = Issuer::start(jwks(&[KID_A])).await;
        let token = sign(KEY_A, KID_A, &claims(&issuer.url));
        let verifier = verifier();
        let with_url = |url: String| {
            [TrustSpec {
                jwks_url: Some(url),
                ..trust(&issuer.url, "repo:acme/*")
            }]
        };
        let unreachable =
            async |trusts: &[TrustSpec]| match verifier.verify(&token, trusts, now()).await {
                Err(OidcError::JwksUnreachable { url, reason }) => (url, reason),
                other => panic!("{other:?}"),
            };

        let missing = format!("{}/missing", issuer.url);
        let (url, reason) = unreachable(&with_url(missing.clone())).await;
        assert_eq!(
            (url, reason.as_str()),
            (missing, "it answered HTTP 404 Not Found")
        );

        let huge = format!("{}/huge", issuer.url);
        let (_, reason) = unreachable(&with_url(huge)).await;
        assert_eq!(reason, "the response is larger than 1024 KiB");

        let (_, reason) = unreachable(&with_url(format!(
            "{}/.well-known/openid-configuration",
            issuer.url
        )))
        .await;
        assert!(
            reason.starts_with("the response is not a JWK Set"),
            "{reason}"
        );

        // Nothing listens on a port just freed.
        let closed = {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            listener.local_addr().unwrap()
        };
        let closed_url = format!("http://{closed}/keys");
        let (url, reason) = unreachable(&with_url(closed_url.clone())).await;
        assert_eq!(url, closed_url);
        let error = OidcError::JwksUnreachable { url, reason };
        assert!(
            error.to_string().starts_with(&format!(
                "cannot get the issuer's signing keys from {closed_url}: "
            )),
            "{error}"
        );

        // Discovery whose document names another issuer.
        let elsewhere = format!(
            "http://localhost:{}",
            issuer.url.rsplit(':').next().unwrap()
        );
        let mut claims = claims(&elsewhere);
        claims["iss"] = json!(elsewhere);
        let token = sign(KEY_A, KID_A, &claims);
        let error = verifier
            .verify(&token, &[trust(&elsewhere, "repo:acme/*")], now())
            .await
            .unwrap_err();
        assert!(
            error.to_string().contains(&format!(
                "the document is for issuer {}, not {elsewhere}",
                issuer.url
            )),
            "{error}"
        );
    }
}
