//! Web passwords: hashed with argon2id (its default parameters, which
//! follow OWASP's advice: 19 MiB, two passes, one lane) to PHC strings, and
//! checked against them. Hashing takes tens of milliseconds on purpose, so
//! it runs on the blocking pool, never on the threads that serve requests.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

use crate::error::ApiError;

/// The fewest characters a password may have.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// The most characters a password may have (hashing reads all of it).
pub const MAX_PASSWORD_CHARS: usize = 1_000;

/// Checks that `password` may be a password: long enough, not too long,
/// without control characters; the error says what is expected.
pub fn check(password: &str) -> Result<(), ApiError> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(ApiError::Unprocessable(format!(
            "password: {chars} characters where at least {MIN_PASSWORD_CHARS} are needed"
        )));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(ApiError::Unprocessable(format!(
            "password: {chars} characters where at most {MAX_PASSWORD_CHARS} are allowed"
        )));
    }
    if password.chars().any(char::is_control) {
        return Err(ApiError::Unprocessable(
            "password: holds a control character; use printable characters only".to_owned(),
        ));
    }
    Ok(())
}

/// The PHC string of `password`, with a fresh random salt.
pub async fn hash(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|error| ApiError::Internal(format!("hashing a password failed: {error}")))
    })
    .await
    .map_err(|error| ApiError::Internal(format!("hashing a password failed: {error}")))?
}

/// Whether `password` is the one `phc` was made from. With no hash (a user
/// without a password, or no such user) a hash is still checked, so that
/// the answer takes as long either way.
pub async fn verify(password: String, phc: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        let known = phc.is_some();
        let phc = phc.unwrap_or_else(|| UNUSABLE.to_owned());
        let Ok(parsed) = PasswordHash::new(&phc) else {
            return false;
        };
        let matches = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        known && matches
    })
    .await
    .unwrap_or(false)
}

/// The hash of a random password nobody knows, checked in place of a
/// missing one.
const UNUSABLE: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$ktDIlqMSTn0XyW1yzvuxwf5CEVXPTp0AjySkq+E7ibE";

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_password_matches_its_own_hash_only() {
        let hash = super::hash("correct horse battery".to_owned())
            .await
            .unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify("correct horse battery".to_owned(), Some(hash.clone())).await);
        assert!(!verify("correct horse battery!".to_owned(), Some(hash)).await);
        assert!(!verify("anything at all".to_owned(), None).await);
    }

    #[test]
    fn short_long_and_unprintable_passwords_are_refused_with_the_reason() {
        let short = check("short").unwrap_err().to_string();
        assert!(short.contains("at least 12"), "{short}");
        let long = check(&"p".repeat(1_001)).unwrap_err().to_string();
        assert!(long.contains("at most 1000"), "{long}");
        let control = check("twelve chars\u{7}!").unwrap_err().to_string();
        assert!(control.contains("control character"), "{control}");
        assert!(check("twelve chars!").is_ok());
    }
}
