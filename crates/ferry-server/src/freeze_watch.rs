//! Telling when freezes begin and end: a look every few seconds writes the
//! beginnings and ends since the last look into the audit trail
//! (`Store::watch_freezes`), from where the webhook worker sends them.

use std::time::{Duration, Instant};

use chrono::Utc;
use ferry_core::windows::Freeze;

use crate::error::ApiError;
use crate::state::AppState;

/// How often freezes are looked at: a freeze begins or ends within this of
/// its time in the trail.
pub const LOOK_EVERY: Duration = Duration::from_secs(2);

/// When the last look was, so that the worker's faster passes do not look
/// every time.
#[derive(Debug, Default)]
pub struct FreezeWatch {
    last: Option<Instant>,
}

impl FreezeWatch {
    /// Looks, if the last look was long enough ago.
    pub async fn look(&mut self, state: &AppState) -> Result<(), ApiError> {
        if self.last.is_some_and(|last| last.elapsed() < LOOK_EVERY) {
            return Ok(());
        }
        self.last = Some(Instant::now());
        let freezes: Vec<Freeze> = state
            .store
            .freezes()
            .await?
            .iter()
            // A freeze that cannot be read was refused when applied; one
            // stored before a rule changed is left out rather than stopping
            // every other.
            .filter_map(|stored| Freeze::from_spec(&stored.spec).ok())
            .collect();
        let told = state.store.watch_freezes(&freezes, Utc::now()).await?;
        for transition in told {
            tracing::info!(
                freeze = %transition.freeze,
                environment = %transition.environment,
                started = transition.started,
                "freeze {}",
                if transition.started { "began" } else { "ended" }
            );
        }
        Ok(())
    }
}
