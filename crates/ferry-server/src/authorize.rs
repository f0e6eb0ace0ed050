//! The application layer of access control. Every route asks
//! [`Caller::require`] before it acts, naming the action and what it
//! touches; the rule itself is `ferry_core::access`'s, so routes never
//! decide who may do what, and a refusal reads the same everywhere. A
//! refusal is answered 403 and, unless the action was a read, written to
//! the audit trail.

use ferry_core::Name;
use ferry_core::access::{Action, Target, authorize};
use serde_json::json;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;
use ferry_store::auth::UserRecord;

impl Caller {
    /// Refuses (403, audited) unless the caller may `action` on `target`.
    pub async fn require(
        &self,
        state: &AppState,
        action: Action,
        target: &Target<'_>,
    ) -> Result<(), ApiError> {
        match authorize(self.actor(), &self.rights, action, target) {
            Ok(()) => Ok(()),
            Err(denied) => Err(self.refused(state, action, target, denied.0).await),
        }
    }

    /// Refuses unless some grant of the caller allows `action` somewhere:
    /// for what belongs to no service until it is named, such as artifact
    /// bytes uploaded before their release is created.
    pub async fn require_somewhere(
        &self,
        state: &AppState,
        action: Action,
    ) -> Result<(), ApiError> {
        if self.rights.allows_somewhere(action) {
            return Ok(());
        }
        let reason = format!(
            "{} may not {}: no grant of theirs allows it anywhere",
            self.actor(),
            action.describe()
        );
        Err(self.refused(state, action, &Target::SERVER, reason).await)
    }

    /// The 403 for a refusal, recorded in the audit trail first (a failure
    /// to record it is logged: the refusal stands either way). Reads are
    /// not recorded: a refused read changes nothing and reveals nothing.
    pub async fn refused(
        &self,
        state: &AppState,
        action: Action,
        target: &Target<'_>,
        reason: String,
    ) -> ApiError {
        if action == Action::Read {
            return ApiError::Forbidden(reason);
        }
        self.refusal(state, action.as_str(), target, reason).await
    }

    /// The 403 for a refusal of `what`, recorded in the audit trail.
    pub(crate) async fn refusal(
        &self,
        state: &AppState,
        what: &str,
        target: &Target<'_>,
        reason: String,
    ) -> ApiError {
        let object = match (target.service, target.environment) {
            (Some(service), Some(environment)) => format!("service:{service}@{environment}"),
            (Some(service), None) => format!("service:{service}"),
            (None, Some(environment)) => format!("environment:{environment}"),
            (None, None) => "server".to_owned(),
        };
        let details =
            json!({ "action": what, "reason": reason, "credential": self.credential.scope() });
        if let Err(error) = state
            .store
            .audit_event(self.actor(), "access.denied", &object, details)
            .await
        {
            tracing::warn!(%error, "a refusal could not be written to the audit trail");
        }
        ApiError::Forbidden(reason)
    }

    /// The user behind the token, for what only people do (`doing`, such as
    /// `create-token` or `decide-release`): a CI workload is refused (403,
    /// audited).
    pub async fn person(
        &self,
        state: &AppState,
        doing: &str,
        target: &Target<'_>,
    ) -> Result<&UserRecord, ApiError> {
        match &self.user {
            Some(user) => Ok(user),
            None => {
                let reason = format!(
                    "{} is a CI workload's token: only people may {doing}; use a user's token",
                    self.actor
                );
                Err(self.refusal(state, doing, target, reason).await)
            }
        }
    }
}

/// What an action on `service` in `environment` touches, with whether the
/// environment is protected (read from the configuration; an environment
/// that does not exist is not protected, and the action then finds it
/// missing).
pub async fn target<'a>(
    state: &AppState,
    service: Option<&'a Name>,
    environment: Option<&'a Name>,
) -> Result<Target<'a>, ApiError> {
    let protected = match environment {
        Some(environment) => state
            .store
            .environments()
            .await?
            .into_iter()
            .any(|stored| &stored.spec.name == environment && stored.spec.protected),
        None => false,
    };
    Ok(Target {
        service,
        environment,
        protected,
    })
}

/// A caller who may read: the extractor of the routes that only read. Any
/// grant, whatever its scope, allows reading (secret values are never
/// readable); a user with no grant at all is refused.
#[derive(Debug, Clone)]
pub struct Reader;

impl axum::extract::FromRequestParts<AppState> for Reader {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        caller.require(state, Action::Read, &Target::SERVER).await?;
        Ok(Reader)
    }
}
