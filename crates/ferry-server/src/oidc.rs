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
    /// Discovery documents, by issuer, with when they were fetched.
    discovered: Arc<Mutex<HashMap<String, (Instant, Discovery)>>>,
    cache_for: Duration,
    refetch_after: Duration,
}

/// What an issuer's discovery document says, as far as ferry goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovery {
    /// The issuer, as the document says it (the one asked for).
    pub issuer: String,
    /// Where its signing keys are published.
    pub jwks_uri: String,
    /// Where people sign in (for the web UI's sign-in).
    pub authorization_endpoint: Option<String>,
    /// Where an authorization code is exchanged for tokens.
    pub token_endpoint: Option<String>,
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

    /// The HTTP client it fetches with (bounded in time, no redirects).
    pub fn client(&self) -> &reqwest::Client {
        &self.client
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

        let key = self.key(trust, kid.as_deref()).await?;
        let verified: Claims = decode(token, alg, kid, key, &trust.issuer, &trust.audience)?;
        let claims = verified;

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
        self.key_at(url, kid).await
    }

    /// The key named `kid` of the key set at `url` (the only key when the
    /// token names none), fetched again once when the key id is unknown.
    async fn key_at(&self, url: String, kid: Option<&str>) -> Result<(Jwk, String), OidcError> {
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

    /// The `jwks_uri` of the trust's issuer's discovery document.
    async fn discover(&self, trust: &TrustSpec) -> Result<String, OidcError> {
        Ok(self.discovery(&trust.issuer).await?.jwks_uri)
    }

    /// The discovery document of `issuer` (cached): its `issuer` must be
    /// `issuer`, and its `jwks_uri` a URL ferry fetches from.
    pub async fn discovery(&self, issuer: &str) -> Result<Discovery, OidcError> {
        {
            let discovered = self
                .discovered
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if let Some((at, document)) = discovered.get(issuer)
                && at.elapsed() < self.cache_for
            {
                return Ok(document.clone());
            }
        }
        let document_url = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        let unreachable = |reason: String| OidcError::JwksUnreachable {
            url: document_url.clone(),
            reason,
        };
        #[derive(Deserialize)]
        struct Document {
            issuer: Option<String>,
            jwks_uri: Option<String>,
            authorization_endpoint: Option<String>,
            token_endpoint: Option<String>,
        }
        let body = self.fetch(&document_url).await.map_err(unreachable)?;
        let document: Document = serde_json::from_slice(&body).map_err(|e| {
            unreachable(format!("the response is not an OpenID configuration: {e}"))
        })?;
        if document.issuer.as_deref() != Some(issuer) {
            return Err(unreachable(format!(
                "the document is for issuer {}, not {issuer}",
                document.issuer.as_deref().unwrap_or("(none)"),
            )));
        }
        let jwks_uri = document
            .jwks_uri
            .ok_or_else(|| unreachable("the document has no `jwks_uri`".to_owned()))?;
        check_url(&jwks_uri).map_err(|e| unreachable(format!("its `jwks_uri`: {e}")))?;
        let discovery = Discovery {
            issuer: issuer.to_owned(),
            jwks_uri,
            authorization_endpoint: document.authorization_endpoint,
            token_endpoint: document.token_endpoint,
        };
        self.discovered
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(issuer.to_owned(), (Instant::now(), discovery.clone()));
        Ok(discovery)
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

/// The claims of `token`, signed with `alg` by key `kid` (`key`: the key
/// and where it was read), once its signature, its `iss` (`issuer`) and
/// its `aud` (holding `audience`) verify and it has `exp`, `iss`, `aud` and
/// `sub`. Its times are left to the caller, who compares them with its
/// `now`.
fn decode<T: serde::de::DeserializeOwned>(
    token: &str,
    alg: Algorithm,
    kid: Option<String>,
    (jwk, jwks): (Jwk, String),
    issuer: &str,
    audience: &str,
) -> Result<T, OidcError> {
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
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    jsonwebtoken::decode::<T>(token, &key, &validation)
        .map(|data| data.claims)
        .map_err(|e| refusal(&e, &kid, &jwks, issuer, audience))
}

/// Why `jsonwebtoken` refused a token verified with key `kid` of `jwks`
/// for `issuer` and `audience`.
fn refusal(
    error: &jsonwebtoken::errors::Error,
    kid: &str,
    jwks: &str,
    issuer: &str,
    audience: &str,
) -> OidcError {
    let unusable = || OidcError::UnusableKey {
        kid: kid.to_owned(),
        jwks: jwks.to_owned(),
        reason: error.to_string(),
    };
    match error.kind() {
        ErrorKind::InvalidSignature => OidcError::BadSignature {
            kid: kid.to_owned(),
            jwks: jwks.to_owned(),
        },
        ErrorKind::InvalidIssuer => OidcError::WrongIssuer {
            expected: issuer.to_owned(),
        },
        ErrorKind::InvalidAudience => OidcError::WrongAudience {
            expected: audience.to_owned(),
        },
        ErrorKind::MissingRequiredClaim(claim) => {
            OidcError::Malformed(format!("it has no `{claim}` claim"))
        }
        ErrorKind::InvalidClaimFormat(claim) => {
            OidcError::Malformed(format!("its `{claim}` claim is not well-formed"))
        }
        ErrorKind::InvalidAlgorithm
        | ErrorKind::UnsupportedAlgorithm
        | ErrorKind::InvalidKeyFormat
        | ErrorKind::InvalidRsaKey(_)
        | ErrorKind::InvalidEcdsaKey => unusable(),
        _ => OidcError::Malformed(error.to_string()),
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

mod sign_in;

#[cfg(test)]
mod tests;
