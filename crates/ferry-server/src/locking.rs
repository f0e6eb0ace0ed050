//! Locking and unlocking environments (or one service in them), and
//! lifting a release's bad mark: what the API's routes and the web UI's
//! buttons both do. Who may is asked of the permission table; the gates
//! read the locks and marks (`ferry_core::lock`).

use ferry_core::Name;
use ferry_core::access::Action;
use ferry_core::limits;
use ferry_store::locks::LockRecord;
use ferry_store::marks::MarkRecord;

use crate::auth::Caller;
use crate::authorize;
use crate::convert;
use crate::error::ApiError;
use crate::state::AppState;

/// A reason within its limit and not empty, or a 422 naming the field.
fn reason(text: &str) -> Result<&str, ApiError> {
    let text = text.trim();
    convert::within(&limits::REASON, "reason", text)?;
    if text.is_empty() {
        return Err(ApiError::Unprocessable(
            "reason: must not be empty; say why, for the people it stops".into(),
        ));
    }
    Ok(text)
}

/// Locks `environment`, or `service` in it: refused (403) unless `caller`
/// may lock there, (409) when it is locked already.
pub async fn lock(
    state: &AppState,
    caller: &Caller,
    environment: &Name,
    service: Option<&Name>,
    why: &str,
) -> Result<LockRecord, ApiError> {
    let why = reason(why)?;
    let target = authorize::target(state, service, Some(environment)).await?;
    caller.require(state, Action::ManageLocks, &target).await?;
    let record = state
        .store
        .lock(caller.actor(), environment, service, why)
        .await?;
    state.wake.orchestrator();
    Ok(record)
}

/// Lifts the lock of `environment` (or of `service` in it): refused
/// (403) unless `caller` may unlock there, (404) when it is not locked.
pub async fn unlock(
    state: &AppState,
    caller: &Caller,
    environment: &Name,
    service: Option<&Name>,
    why: &str,
) -> Result<LockRecord, ApiError> {
    let why = reason(why)?;
    let target = authorize::target(state, service, Some(environment)).await?;
    caller.require(state, Action::ManageLocks, &target).await?;
    let record = state
        .store
        .unlock(caller.actor(), environment, service, why)
        .await?;
    // Promotions the lock held may start now.
    state.wake.orchestrator();
    Ok(record)
}

/// Lifts the bad mark of `service@version` in `environment`: refused
/// (403) unless `caller` may unmark there, (404) when it is not marked.
pub async fn unmark(
    state: &AppState,
    caller: &Caller,
    service: &Name,
    version: &semver::Version,
    environment: &Name,
    why: &str,
) -> Result<MarkRecord, ApiError> {
    let why = reason(why)?;
    let target = authorize::target(state, Some(service), Some(environment)).await?;
    caller
        .require(state, Action::UnmarkRelease, &target)
        .await?;
    Ok(state
        .store
        .unmark(caller.actor(), service, version, environment, why)
        .await?)
}
