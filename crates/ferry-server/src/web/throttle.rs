//! Slowing password guessing: after a few failed sign-ins of one user in a
//! short time, that user's sign-ins are refused until the time is over,
//! whatever the password (so a guess cannot be confirmed meanwhile).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How many failed sign-ins of one user are let through in [`WINDOW`].
pub const FAILURES_ALLOWED: u32 = 5;
/// How long failures count, and how long a throttled user waits.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);

/// The failed sign-ins of each user (by lower-cased name) of this process.
#[derive(Debug, Default)]
pub struct Throttle {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl Throttle {
    /// `None` when `user` may try to sign in now; else how long to wait.
    pub fn wait_for(&self, user: &str) -> Option<Duration> {
        let failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let (count, since) = failures.get(&user.to_lowercase())?;
        let elapsed = since.elapsed();
        (*count >= FAILURES_ALLOWED && elapsed < WINDOW).then(|| WINDOW - elapsed)
    }

    /// Counts a failed sign-in of `user`.
    pub fn failed(&self, user: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        // Forget what is over, so the map holds only users under way.
        failures.retain(|_, (_, since)| since.elapsed() < WINDOW);
        let entry = failures
            .entry(user.to_lowercase())
            .or_insert((0, Instant::now()));
        entry.0 += 1;
    }

    /// Forgets `user`'s failures (they signed in).
    pub fn succeeded(&self, user: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.remove(&user.to_lowercase());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_who_failed_too_often_waits_and_others_do_not() {
        let throttle = Throttle::default();
        for _ in 0..FAILURES_ALLOWED - 1 {
            throttle.failed("Rosa");
        }
        assert_eq!(
            throttle.wait_for("rosa"),
            None,
            "four failures are let through"
        );
        throttle.failed("rosa");
        let wait = throttle
            .wait_for("ROSA")
            .expect("the fifth failure throttles");
        assert!(wait > WINDOW - Duration::from_secs(5) && wait <= WINDOW);
        assert_eq!(throttle.wait_for("omar"), None, "only rosa waits");
        throttle.succeeded("rosa");
        assert_eq!(throttle.wait_for("rosa"), None);
    }
}
