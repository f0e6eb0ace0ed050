//! A browser's session: the cookie that names it, who it belongs to, and
//! the token its forms carry against cross-site request forgery.
//!
//! The cookie `ferry_session` holds a random secret (the store keeps its
//! SHA-256); it is `HttpOnly`, `SameSite=Lax` and `Secure` whenever the
//! browser reached the server over HTTPS (a proxy's `X-Forwarded-Proto`)
//! or on a loopback address, where browsers keep secure cookies over plain
//! HTTP. A session ends after its [`SessionLimits::idle`] unused, after its
//! [`SessionLimits::lifetime`] whatever its use (`ferry serve
//! --session-idle`, `--session-lifetime`), or at sign-out. Every form of a signed-in page carries the
//! session's CSRF token, checked on every POST.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Duration;
use ferry_core::access::Rights;
use ferry_store::auth::UserRecord;

use crate::auth::{Caller, Credential, hash_secret};
use crate::error::ApiError;
use crate::state::AppState;

/// The cookie that names a signed-in browser's session.
pub const SESSION_COOKIE: &str = "ferry_session";
/// How long a session may stay unused, unless the server is told otherwise.
pub const DEFAULT_IDLE: Duration = Duration::hours(12);
/// How long a session lives at most, unless the server is told otherwise.
pub const DEFAULT_LIFETIME: Duration = Duration::days(7);

/// How long web sessions last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    /// A session unused this long has ended.
    pub idle: Duration,
    /// A session this old has ended, however much it is used.
    pub lifetime: Duration,
}

impl Default for SessionLimits {
    fn default() -> Self {
        Self {
            idle: DEFAULT_IDLE,
            lifetime: DEFAULT_LIFETIME,
        }
    }
}

impl SessionLimits {
    /// The shortest idle expiry accepted: a minute (a session's use is
    /// recorded at most once a minute).
    pub const MIN: Duration = Duration::minutes(1);
    /// The longest lifetime accepted: a year.
    pub const MAX: Duration = Duration::days(366);

    /// Limits of `idle` and `lifetime`, which must lie between a minute and
    /// a year, idle no longer than the lifetime. The error says which.
    pub fn new(idle: Duration, lifetime: Duration) -> Result<Self, String> {
        for (flag, value) in [("--session-idle", idle), ("--session-lifetime", lifetime)] {
            if value < Self::MIN || value > Self::MAX {
                return Err(format!(
                    "{flag} must be between 1m and 366d; {} seconds is not",
                    value.num_seconds()
                ));
            }
        }
        if idle > lifetime {
            return Err(format!(
                "--session-idle ({}s) is longer than --session-lifetime ({}s): a session would \
                 end at its lifetime before it could ever be idle that long; make the idle \
                 expiry shorter",
                idle.num_seconds(),
                lifetime.num_seconds()
            ));
        }
        Ok(Self { idle, lifetime })
    }
}

/// The signed-in person looking at a page.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// Their session's id.
    pub session_id: i64,
    /// The token the session's forms carry.
    pub csrf_token: String,
    /// Who.
    pub user: UserRecord,
    /// Their grants.
    pub rights: Rights,
    /// Their groups.
    pub groups: Vec<String>,
}

impl Viewer {
    /// The caller the application layer knows them as.
    pub fn caller(&self) -> Caller {
        Caller {
            actor: self.user.name.clone(),
            user: Some(self.user.clone()),
            groups: self.groups.clone(),
            rights: self.rights.clone(),
            credential: Credential::Session(self.session_id),
        }
    }
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let session = match cookie(&parts.headers, SESSION_COOKIE) {
            Some(secret) => state
                .store
                .session(&hash_secret(secret), state.sessions.idle)
                .await
                .map_err(|error| ApiError::from(error).into_response())?,
            None => None,
        };
        match session {
            Some(session) => Ok(Viewer {
                session_id: session.id,
                csrf_token: session.csrf_token,
                user: session.user,
                rights: session.rights,
                groups: session.groups,
            }),
            None => Err(to_sign_in(parts)),
        }
    }
}

/// The redirect to the sign-in page, coming back to this page after.
fn to_sign_in(parts: &Parts) -> Response {
    let here = parts
        .uri
        .path_and_query()
        .map_or("/", |target| target.as_str());
    let next = percent_encode(here);
    Redirect::to(&format!("/login?next={next}")).into_response()
}

/// `text` percent-encoded for a query value.
pub fn percent_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim_matches('"'))
}

/// How a cookie is sent back.
#[derive(Debug, Clone, Copy)]
pub enum SameSite {
    /// Sent with top-level navigations from other sites (links).
    Lax,
    /// Sent with requests from this site only.
    Strict,
}

/// A `Set-Cookie` value: `HttpOnly`, path `/`, living `max_age` (zero
/// removes it), `Secure` when the request came over HTTPS or loopback.
pub fn set_cookie(
    request: &HeaderMap,
    name: &str,
    value: &str,
    max_age: Duration,
    same_site: SameSite,
) -> HeaderValue {
    let same_site = match same_site {
        SameSite::Lax => "Lax",
        SameSite::Strict => "Strict",
    };
    let secure = if is_secure(request) { "; Secure" } else { "" };
    let cookie = format!(
        "{name}={value}; Path=/; Max-Age={}; HttpOnly; SameSite={same_site}{secure}",
        max_age.num_seconds().max(0)
    );
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Whether the browser reached the server over HTTPS (as a proxy in front
/// says) or on a loopback address.
fn is_secure(request: &HeaderMap) -> bool {
    let forwarded_https = request
        .get("x-forwarded-proto")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|proto| proto.eq_ignore_ascii_case("https"));
    let host = request
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let host = host
        .rsplit_once(':')
        .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
        .map_or(host, |(host, _)| host);
    let loopback = host == "localhost"
        || host == "[::1]"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback());
    forwarded_https || loopback
}

/// Whether `given` is `expected`, compared in constant time.
pub fn same_token(expected: &str, given: &str) -> bool {
    let (expected, given) = (expected.as_bytes(), given.as_bytes());
    expected.len() == given.len()
        && expected
            .iter()
            .zip(given)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// A fresh random token (64 hex digits).
pub fn random_token() -> Result<String, ApiError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| ApiError::Internal(format!("no randomness: {e}")))?;
    Ok(hex::encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn a_cookie_is_found_among_others() {
        let map = headers(&[("cookie", "a=1; ferry_session=abc"), ("cookie", "b=2")]);
        assert_eq!(cookie(&map, "ferry_session"), Some("abc"));
        assert_eq!(cookie(&map, "b"), Some("2"));
        assert_eq!(cookie(&map, "ferry"), None);
    }

    #[test]
    fn cookies_are_secure_over_https_and_on_loopback_only() {
        let cookie = |pairs| {
            set_cookie(&headers(pairs), "s", "v", DEFAULT_IDLE, SameSite::Lax)
                .to_str()
                .unwrap()
                .to_owned()
        };
        assert!(cookie(&[("host", "127.0.0.1:8740")]).ends_with("; Secure"));
        assert!(cookie(&[("host", "localhost")]).ends_with("; Secure"));
        assert!(
            cookie(&[
                ("host", "ferry.example.com"),
                ("x-forwarded-proto", "https")
            ])
            .ends_with("; Secure")
        );
        let plain = cookie(&[("host", "ferry.lan:8740")]);
        assert!(!plain.contains("Secure"), "{plain}");
        assert!(plain.contains("HttpOnly; SameSite=Lax"), "{plain}");
    }

    #[test]
    fn session_limits_lie_between_a_minute_and_a_year_idle_first() {
        let limits = SessionLimits::new(Duration::hours(1), Duration::days(1)).unwrap();
        assert_eq!(limits.idle, Duration::hours(1));
        let too_short = SessionLimits::new(Duration::seconds(30), Duration::days(1)).unwrap_err();
        assert!(too_short.contains("--session-idle"), "{too_short}");
        let too_long = SessionLimits::new(Duration::hours(1), Duration::days(400)).unwrap_err();
        assert!(too_long.contains("--session-lifetime"), "{too_long}");
        let upside_down = SessionLimits::new(Duration::days(2), Duration::days(1)).unwrap_err();
        assert!(upside_down.contains("longer than"), "{upside_down}");
    }

    #[test]
    fn tokens_are_compared_whole() {
        assert!(same_token("abc", "abc"));
        assert!(!same_token("abc", "abd"));
        assert!(!same_token("abc", "ab"));
    }

    #[test]
    fn the_page_to_come_back_to_is_encoded() {
        assert_eq!(percent_encode("/?service=a b"), "%2F%3Fservice%3Da%20b");
    }
}
