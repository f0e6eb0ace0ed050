//! Locks on the dashboard: the locks in force as it lists them, who may
//! lock where (so the form offers only what can work), and the Lock and
//! Unlock forms, which go through the application layer
//! (`crate::locking`) like the API's routes, so a refusal reads the same.

use std::collections::HashMap;

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use ferry_core::Name;
use ferry_core::access::{Action, Target, authorize};
use ferry_store::gate_facts::GateContext;
use serde::Deserialize;

use super::page::refusal;
use super::posted::{Posted, Protected};
use super::session::Viewer;
use crate::error::ApiError;
use crate::state::AppState;

/// A lock in force, as the dashboard lists it.
pub struct LockView {
    /// The environment.
    pub environment: String,
    /// The one service locked; empty when the whole environment is.
    pub service: String,
    /// What is locked, for people: `prod` or `api in prod`.
    pub scope: String,
    /// Who locked it.
    pub locked_by: String,
    /// When, as RFC 3339 (for `<time datetime>`).
    pub since: String,
    /// When, for people.
    pub since_shown: String,
    /// Why.
    pub reason: String,
    /// Whether the viewer may unlock it (the Unlock form is shown).
    pub may_unlock: bool,
}

/// What the dashboard knows of locks: each in force, and which
/// environments the viewer may lock (all services, or one of them there).
pub struct Locks {
    /// The locks in force, by environment and then service.
    pub listed: Vec<LockView>,
    /// The environments locked as a whole.
    pub whole: Vec<String>,
    /// `(service, environment)` of each service locked on its own.
    pub services: Vec<(String, String)>,
    /// The environments the Lock form offers; empty for no form.
    pub lockable: Vec<String>,
}

/// The locks in force and what `viewer` may do with them, for
/// `environments` (the dashboard's, in its order), from the facts the
/// gates read (`context`): no read of its own.
pub fn of(context: &GateContext, viewer: &Viewer, environments: &[String]) -> Locks {
    let protected: HashMap<&Name, bool> = context
        .environments
        .iter()
        .map(|spec| (&spec.name, spec.protected))
        .collect();
    let caller = viewer.caller();
    let may_lock = |environment: &Name, service: Option<&Name>| {
        let target = Target {
            service,
            environment: Some(environment),
            protected: protected.get(environment).copied().unwrap_or(false),
        };
        authorize(caller.actor(), &caller.rights, Action::ManageLocks, &target).is_ok()
    };
    // A grant for one service lets its holder lock that service alone: the
    // form is offered where the viewer may lock something.
    let granted_services: Vec<&Name> = caller
        .rights
        .grants
        .iter()
        .filter_map(|grant| grant.service.as_ref())
        .collect();
    let lockable = environments
        .iter()
        .filter(|environment| {
            Name::parse(environment).is_ok_and(|environment| {
                may_lock(&environment, None)
                    || granted_services
                        .iter()
                        .any(|service| may_lock(&environment, Some(service)))
            })
        })
        .cloned()
        .collect();
    let whole = context
        .locks
        .iter()
        .filter(|lock| lock.service.is_none())
        .map(|lock| lock.environment.to_string())
        .collect();
    let services = context
        .locks
        .iter()
        .filter_map(|lock| {
            let service = lock.service.as_ref()?;
            Some((service.to_string(), lock.environment.to_string()))
        })
        .collect();
    let listed = context
        .locks
        .iter()
        .cloned()
        .map(|lock| LockView {
            may_unlock: may_lock(&lock.environment, lock.service.as_ref()),
            scope: lock.scope(),
            environment: lock.environment.to_string(),
            service: lock
                .service
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            locked_by: lock.locked_by,
            since: lock.locked_at.to_rfc3339(),
            since_shown: lock.locked_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            reason: lock.reason,
        })
        .collect();
    Locks {
        listed,
        whole,
        services,
        lockable,
    }
}

/// The Lock and Unlock forms: the environment, the service (empty for
/// the whole environment) and why.
#[derive(Debug, Deserialize)]
pub struct LockForm {
    csrf: String,
    #[serde(default)]
    environment: String,
    #[serde(default)]
    service: String,
    #[serde(default)]
    reason: String,
}

impl Protected for LockForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

impl LockForm {
    /// The environment and the service (if one is named) the form names.
    fn scope(&self) -> Result<(Name, Option<Name>), ApiError> {
        let environment = crate::convert::name("environment", self.environment.trim())?;
        let service = match self.service.trim() {
            "" => None,
            text => Some(crate::convert::name("service", text)?),
        };
        Ok((environment, service))
    }
}

/// `POST /locks`: locks an environment, or one service in it.
pub async fn lock(
    State(state): State<AppState>,
    Posted { viewer, form }: Posted<LockForm>,
) -> Response {
    let locked = async {
        let (environment, service) = form.scope()?;
        crate::locking::lock(
            &state,
            &viewer.caller(),
            &environment,
            service.as_ref(),
            &form.reason,
        )
        .await
    };
    match locked.await {
        Ok(_) => Redirect::to("/?done=locked").into_response(),
        Err(error) => refusal(&viewer, error),
    }
}

/// `POST /locks/unlock`: lifts the lock of an environment, or of one
/// service in it.
pub async fn unlock(
    State(state): State<AppState>,
    Posted { viewer, form }: Posted<LockForm>,
) -> Response {
    let unlocked = async {
        let (environment, service) = form.scope()?;
        crate::locking::unlock(
            &state,
            &viewer.caller(),
            &environment,
            service.as_ref(),
            &form.reason,
        )
        .await
    };
    match unlocked.await {
        Ok(_) => Redirect::to("/?done=unlocked").into_response(),
        Err(error) => refusal(&viewer, error),
    }
}
