//! Webhook deliveries as the Standard Webhooks specification says: the
//! signature of a message, the secret's form, and when a failed delivery is
//! tried again.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{KeyInit, Mac};
use sha2::Sha256;

/// A signing secret's prefix (`whsec_` and the key in base64).
pub const SECRET_PREFIX: &str = "whsec_";

/// A signing secret.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningSecret {
    key: Vec<u8>,
}

impl std::fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningSecret(…)")
    }
}

impl SigningSecret {
    /// A secret of these key bytes (24 to 64 of them).
    pub fn from_key(key: Vec<u8>) -> Result<SigningSecret, String> {
        if !(24..=64).contains(&key.len()) {
            return Err(format!(
                "a signing key has 24 to 64 bytes, this one {}",
                key.len()
            ));
        }
        Ok(SigningSecret { key })
    }

    /// Reads `whsec_` followed by the key in base64.
    pub fn parse(text: &str) -> Result<SigningSecret, String> {
        let encoded = text.trim().strip_prefix(SECRET_PREFIX).ok_or_else(|| {
            format!("a signing secret starts with {SECRET_PREFIX:?} and the key in base64")
        })?;
        let key = STANDARD
            .decode(encoded)
            .map_err(|e| format!("the key after {SECRET_PREFIX:?} is not base64: {e}"))?;
        SigningSecret::from_key(key)
    }

    /// The key's bytes (to keep it sealed).
    pub fn key(&self) -> &[u8] {
        &self.key
    }

    /// The secret as it is shared with the receiver.
    pub fn reveal(&self) -> String {
        format!("{SECRET_PREFIX}{}", STANDARD.encode(&self.key))
    }

    /// The `webhook-signature` header of a message: `v1,` and the base64
    /// HMAC-SHA256 of `id.timestamp.body`.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(&self.key)
            .expect("HMAC takes a key of any length");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

/// How long after each failed attempt the next is made: the schedule the
/// Standard Webhooks specification suggests, 27 hours and a half in all.
/// After the last, the delivery has failed for good (it can be sent again
/// by hand).
pub const RETRY_SCHEDULE: [Duration; 7] = [
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(10 * 3600),
];

/// When to try again after `attempts` failed attempts: `None` once the
/// schedule is spent. `jitter` (from 0 to 1) spreads retries by ±20% so
/// that deliveries failed together are not tried again together; `scale`
/// shortens the schedule (1 in production).
pub fn retry_after(attempts: u32, jitter: f64, scale: f64) -> Option<Duration> {
    let index = usize::try_from(attempts).ok()?.checked_sub(1)?;
    let base = RETRY_SCHEDULE.get(index)?;
    let factor = 0.8 + 0.4 * jitter.clamp(0.0, 1.0);
    Some(base.mul_f64(factor * scale.max(0.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test vector of the Standard Webhooks specification.
    #[test]
    fn the_specifications_test_vector_signs_alike() {
        let secret = SigningSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            secret.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn a_secret_is_read_back_as_it_was_revealed() {
        let secret = SigningSecret::from_key(vec![7; 32]).unwrap();
        assert_eq!(SigningSecret::parse(&secret.reveal()).unwrap(), secret);
        assert!(SigningSecret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_err());
        assert!(SigningSecret::parse("whsec_!!").is_err());
        assert!(SigningSecret::from_key(vec![1; 8]).is_err());
        assert_eq!(format!("{secret:?}"), "SigningSecret(…)");
    }

    #[test]
    fn retries_back_off_for_more_than_a_day_then_stop() {
        let waits: Vec<Duration> = (1..=7)
            .map(|attempt| retry_after(attempt, 0.5, 1.0).unwrap())
            .collect();
        assert!(waits.windows(2).all(|pair| pair[0] <= pair[1]));
        let total: Duration = waits.iter().sum();
        assert!(total >= Duration::from_secs(24 * 3600), "{total:?}");
        assert_eq!(retry_after(8, 0.5, 1.0), None);
        assert_eq!(retry_after(0, 0.5, 1.0), None);
        // Jitter stays within a fifth either way.
        assert_eq!(retry_after(1, 0.0, 1.0), Some(Duration::from_secs(4)));
        assert_eq!(retry_after(1, 1.0, 1.0), Some(Duration::from_secs(6)));
        assert_eq!(retry_after(2, 0.5, 0.01), Some(Duration::from_secs(3)));
    }
}
