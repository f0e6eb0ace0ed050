//! Trying a request again when the answer was lost on the way, and the
//! `Idempotency-Key` that makes a POST safe to try again.
//!
//! Rules kept here:
//! - only a request that cannot do its work twice is sent again: an
//!   idempotent method (GET, HEAD, PUT, DELETE, OPTIONS), or a POST that
//!   carries an `Idempotency-Key` (the server answers its retry with the
//!   first answer instead of doing the work again);
//! - every POST of one call gets a fresh key, and its retries keep it;
//! - it is sent again only when no answer came (the connection failed, was
//!   reset, or timed out before an answer), when a proxy or the server says
//!   it is away for now (502, 503, 504), or when the server says the first
//!   attempt is still being processed; never after any other answer;
//! - [`ATTEMPTS`] attempts at most, waiting [`DELAYS`] in between.

use std::time::Duration;

use reqwest::Method;
use reqwest::header::HeaderMap;

use crate::Error;

/// The request header that carries the key.
pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

/// How many times a request is sent at most.
pub const ATTEMPTS: usize = DELAYS.len() + 1;

/// The waits before the second and the third attempt.
pub const DELAYS: [Duration; 2] = [Duration::from_millis(200), Duration::from_secs(1)];

/// The problem type of a request whose first attempt is still processed.
const IN_PROGRESS: &str = "idempotency-key-in-progress";

/// A fresh key: 128 random bits in hex, quoted as the draft's Structured
/// Field string. `None` when the operating system gives no randomness (the
/// request is then sent once, without a key).
pub fn new_key() -> Option<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).ok()?;
    let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    Some(format!("\"{hex}\""))
}

/// Whether a request with `method` and `headers` may be sent again.
pub fn may_resend(method: &Method, headers: &HeaderMap) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS
    ) || (*method == Method::POST && headers.contains_key(IDEMPOTENCY_KEY))
}

/// Whether `error` says the request may succeed if sent again as it was.
pub fn worth_resending(error: &Error) -> bool {
    match error {
        Error::Unreachable { .. } => true,
        Error::Transport { source, .. } => {
            !source.is_builder() && !source.is_redirect() && !source.is_body()
                || source.is_timeout()
        }
        Error::Api(problem) => {
            matches!(problem.status, 502..=504)
                || (problem.status == 409 && problem.kind.ends_with(IN_PROGRESS))
        }
        Error::UnexpectedStatus { status, .. } => matches!(status, 502..=504),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_fresh_quoted_hex() {
        let a = new_key().unwrap();
        let b = new_key().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 2 + 32);
        assert!(a.starts_with('"') && a.ends_with('"'));
        assert!(a[1..33].chars().all(|c| c.is_ascii_hexdigit()), "{a}");
    }

    #[test]
    fn only_what_cannot_be_done_twice_is_sent_again() {
        let none = HeaderMap::new();
        let mut keyed = HeaderMap::new();
        keyed.insert(IDEMPOTENCY_KEY, "\"k\"".parse().unwrap());
        for method in [Method::GET, Method::HEAD, Method::PUT, Method::DELETE] {
            assert!(may_resend(&method, &none), "{method}");
        }
        assert!(may_resend(&Method::POST, &keyed));
        assert!(!may_resend(&Method::POST, &none));
        assert!(!may_resend(&Method::PATCH, &keyed));
    }

    #[test]
    fn only_lost_answers_and_passing_troubles_are_worth_another_try() {
        let problem = |status: u16, slug: &str| {
            Error::Api(Box::new(ferry_api::Problem {
                kind: format!("{}{slug}", ferry_api::PROBLEM_TYPE_PREFIX),
                title: "t".into(),
                status,
                detail: "d".into(),
                request_id: None,
                blockers: Vec::new(),
            }))
        };
        assert!(worth_resending(&problem(503, "unavailable")));
        assert!(worth_resending(&problem(409, IN_PROGRESS)));
        assert!(!worth_resending(&problem(409, "conflict")));
        assert!(!worth_resending(&problem(422, "idempotency-key-reused")));
        assert!(!worth_resending(&problem(500, "internal")));
        let status = |status: u16| Error::UnexpectedStatus {
            url: "u".into(),
            status,
            body: "b".into(),
        };
        assert!(worth_resending(&status(502)));
        assert!(worth_resending(&status(504)));
        assert!(!worth_resending(&status(404)));
    }
}
