//! The verifier against an issuer served on 127.0.0.1, with keys and
//! tokens made by the tests (fixtures in `tests/fixtures/oidc`).

use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Json;
use axum::extract::State;
use axum::routing::get;
use ferry_core::access::{Grant, Role};
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Value, json};

use super::*;

const KEY_A: &str = include_str!("../../tests/fixtures/oidc/key-a.pem");
const KEY_B: &str = include_str!("../../tests/fixtures/oidc/key-b.pem");
const JWKS: &str = include_str!("../../tests/fixtures/oidc/jwks.json");
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
    let b64 =
        |value: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string());
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
