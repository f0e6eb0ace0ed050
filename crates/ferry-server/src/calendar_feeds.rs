//! Calendar feeds as people make, list and revoke them, from the API or the
//! calendar page: a feed is a secret for the URL of `/calendar.ics`, which
//! reads the calendar with its owner's rights and does nothing else.

use ferry_core::access::{Action, Target};
use ferry_store::calendar_feeds::{CalendarFeedRecord, NewCalendarFeed};

use crate::auth::{Caller, Secret};
use crate::convert;
use crate::error::ApiError;
use crate::state::AppState;

/// The prefix of a calendar feed's secret.
pub const FEED_PREFIX: &str = "ferry_cal_";

/// The name of a feed made without one.
pub const DEFAULT_FEED_NAME: &str = "calendar";

/// A feed just made, with the secret that is shown this once.
pub struct CreatedFeed {
    /// The feed.
    pub feed: CalendarFeedRecord,
    /// Its secret.
    pub secret: String,
    /// The path and query of its URL (`/calendar.ics?token=…`).
    pub path: String,
}

/// The feeds `caller` may see: their own, or everyone's for those who
/// manage users.
pub async fn feeds(state: &AppState, caller: &Caller) -> Result<Vec<CalendarFeedRecord>, ApiError> {
    let every = caller.rights.allows(Action::ManageUsers, &Target::SERVER);
    let owner = (!every).then_some(caller.actor());
    Ok(state.store.calendar_feeds(owner).await?)
}

/// Makes a feed for `caller`, named `name` (`calendar` when none): refused
/// to a CI workload and to someone who may not read.
pub async fn create(
    state: &AppState,
    caller: &Caller,
    name: Option<&str>,
) -> Result<CreatedFeed, ApiError> {
    let owner = caller
        .person(state, "create-calendar-feed", &Target::SERVER)
        .await?;
    if !caller.rights.allows(Action::Read, &Target::SERVER) {
        let reason = format!(
            "{} may not make a calendar feed: it reads the calendar, and no grant of theirs allows reading",
            caller.actor()
        );
        return Err(caller
            .refusal(state, "create-calendar-feed", &Target::SERVER, reason)
            .await);
    }
    let feed_name = name.map_or(DEFAULT_FEED_NAME, str::trim);
    convert::within(&ferry_core::limits::FEED_NAME, "name", feed_name)?;
    if feed_name.is_empty() {
        return Err(ApiError::Unprocessable(
            "a calendar feed's name may not be blank; leave it out for \"calendar\"".into(),
        ));
    }
    let secret = Secret::generate_with_prefix(FEED_PREFIX)?;
    let new = NewCalendarFeed {
        name: feed_name,
        secret_hash: &secret.hash,
        prefix: &secret.secret[..FEED_PREFIX.len() + 6],
    };
    let feed = state
        .store
        .create_calendar_feed(caller.actor(), owner, new)
        .await?;
    Ok(CreatedFeed {
        feed,
        path: format!("/calendar.ics?token={}", secret.secret),
        secret: secret.secret,
    })
}

/// Revokes a feed of `caller`'s (anyone's, for those who manage users): its
/// URL is refused from now on. Someone else's feed is "not found" to those
/// who may not manage users.
pub async fn revoke(
    state: &AppState,
    caller: &Caller,
    id: i64,
) -> Result<CalendarFeedRecord, ApiError> {
    let found = state.store.calendar_feed(id).await?;
    let theirs = found
        .as_ref()
        .is_some_and(|feed| feed.user == caller.actor());
    if !theirs {
        // Someone else's feed, or none: only those who manage users may
        // learn which.
        if !caller.rights.allows(Action::ManageUsers, &Target::SERVER) {
            return Err(ApiError::NotFound(format!(
                "no calendar feed {id} of yours"
            )));
        }
        if found.is_none() {
            return Err(ApiError::NotFound(format!(
                "there is no calendar feed {id}"
            )));
        }
    }
    Ok(state.store.revoke_calendar_feed(caller.actor(), id).await?)
}
