//! Moving a change request through its states: who may take each step
//! (never the one who raised it, for the steps of an approver), what each
//! step needs (a risk, a reason, an outcome), and the limits of what is
//! written. The API's routes and the web UI's forms both come through here.

use ferry_api::ChangeActionBody;
use ferry_core::access::Action;
use ferry_core::change::{ChangeAction, ChangeWindow, ReviewOutcome};
use ferry_core::limits;
use ferry_store::changes::{ChangeRecord, ChangeUpdate};

use crate::auth::Caller;
use crate::authorize;
use crate::convert::name;
use crate::error::ApiError;
use crate::state::AppState;

/// A change window, which must not be over already.
pub fn window(text: Option<&str>) -> Result<Option<ChangeWindow>, ApiError> {
    let Some(text) = text else { return Ok(None) };
    let window = ChangeWindow::parse(text).map_err(ApiError::Unprocessable)?;
    let now = chrono::Utc::now();
    if window.end <= now {
        return Err(ApiError::Unprocessable(format!(
            "the window {text} is over already (now is {}); plan a window to come",
            ferry_core::time::format_time(now)
        )));
    }
    Ok(Some(window))
}

/// Takes step `action` of change request `id` as `caller`, with what the
/// step needs in `body`.
pub async fn act(
    state: &AppState,
    caller: &Caller,
    id: i64,
    action: ChangeAction,
    body: &ChangeActionBody,
) -> Result<ChangeRecord, ApiError> {
    let change = state.store.change(id).await?;
    let service = name("service", &change.service)?;
    let environment = name("environment", &change.environment)?;
    let target = authorize::target(state, Some(&service), Some(&environment)).await?;
    caller
        .require(state, Action::for_change(action), &target)
        .await?;
    if Action::refuses_raiser(action) && change.created_by == caller.actor() {
        let reason = format!(
            "{} raised change request {id}; whoever raises a change may not {} it: ask another approver",
            caller.actor(),
            action.as_str()
        );
        return Err(caller
            .refused(state, Action::for_change(action), &target, reason)
            .await);
    }
    if let Some(risk) = body.risk.as_deref() {
        ferry_core::risk::RiskLevel::parse(risk).map_err(ApiError::Unprocessable)?;
    }
    if let Some(outcome) = body.outcome.as_deref() {
        ReviewOutcome::parse(outcome).map_err(ApiError::Unprocessable)?;
    }
    let needs = |present: bool, what: &str| {
        if present {
            Ok(())
        } else {
            Err(ApiError::Unprocessable(format!(
                "`{}` needs {what}",
                action.as_str()
            )))
        }
    };
    match action {
        ChangeAction::Assess => needs(
            body.risk.is_some(),
            "a risk (--risk low|medium|high|critical)",
        )?,
        ChangeAction::Reject => needs(
            body.reason.as_deref().is_some_and(|r| !r.trim().is_empty()),
            "a reason (--reason TEXT)",
        )?,
        ChangeAction::Review => needs(
            body.outcome.is_some(),
            "an outcome (--outcome successful|partially|failed)",
        )?,
        _ => {}
    }
    for (field, value) in [
        ("impact", &body.impact),
        ("reason", &body.reason),
        ("notes", &body.notes),
    ] {
        if let Some(value) = value {
            crate::convert::within(&limits::DESCRIPTION, field, value)?;
        }
    }
    let update = ChangeUpdate {
        risk: body.risk.as_deref(),
        impact: body.impact.as_deref(),
        reason: body.reason.as_deref(),
        window: window(body.window.as_deref())?,
        outcome: body.outcome.as_deref(),
        notes: body.notes.as_deref(),
    };
    Ok(state
        .store
        .act_on_change(caller.actor(), id, action, update)
        .await?)
}
