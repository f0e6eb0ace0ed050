//! Web passwords: a user sets their own, an administrator sets anyone's or
//! invites them to set it with a secret link.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use ferry_api::{CreateInvitation, Invitation, Problem, SetPassword, User};
use ferry_core::access::{Action, Target};

use crate::auth::Caller;
use crate::convert::{self, name};
use crate::error::ApiResult;
use crate::extract::{Json, Path};
use crate::passwords;
use crate::state::AppState;

/// Sets a user's password for signing in to the web UI (their own, or
/// anyone's for an administrator). API tokens are unaffected.
#[utoipa::path(put, path = "/api/v1/users/{name}/password", tag = "access", security(("bearer" = [])),
    params(("name" = ferry_core::Name, Path, description = "The user's name")),
    request_body = SetPassword,
    responses(
        (status = 200, body = User),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The password is too short, too long or holds a control character", body = Problem, content_type = "application/problem+json")
    ))]
pub async fn set_password(
    State(state): State<AppState>,
    caller: Caller,
    Path(user): Path<String>,
    Json(request): Json<SetPassword>,
) -> ApiResult<axum::Json<User>> {
    let user = name("user", &user)?;
    let own = caller
        .user
        .as_ref()
        .is_some_and(|me| me.name == user.as_str());
    if !own {
        caller
            .require(&state, Action::ManageUsers, &Target::SERVER)
            .await?;
    }
    passwords::check(&request.password)?;
    let hash = passwords::hash(request.password).await?;
    let record = state
        .store
        .set_password(caller.actor(), user.as_str(), &hash)
        .await?;
    Ok(axum::Json(convert::user(record)))
}

/// How long an invitation works unless asked otherwise.
const INVITATION_HOURS: u32 = 72;
/// How long an invitation may work at most: thirty days.
const MOST_INVITATION_HOURS: u32 = 720;

/// Invites a user to set their web password: a secret link (shown once)
/// that works once, until it expires (administrators only).
#[utoipa::path(post, path = "/api/v1/users/{name}/invitations", tag = "access", security(("bearer" = [])),
    params(("name" = ferry_core::Name, Path, description = "The user's name")),
    request_body = CreateInvitation,
    responses(
        (status = 201, body = Invitation),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The user is disabled", body = Problem, content_type = "application/problem+json")
    ))]
pub async fn invite(
    State(state): State<AppState>,
    caller: Caller,
    Path(user): Path<String>,
    Json(request): Json<CreateInvitation>,
) -> ApiResult<(StatusCode, axum::Json<Invitation>)> {
    caller
        .require(&state, Action::ManageUsers, &Target::SERVER)
        .await?;
    let user = name("user", &user)?;
    let hours = request.valid_hours.unwrap_or(INVITATION_HOURS);
    if !(1..=MOST_INVITATION_HOURS).contains(&hours) {
        return Err(crate::error::ApiError::Unprocessable(format!(
            "valid_hours: {hours} where 1 to {MOST_INVITATION_HOURS} (thirty days) are allowed"
        )));
    }
    let secret = crate::auth::Secret::generate_with_prefix("ferry_invite_")?;
    let expires_at = Utc::now() + chrono::Duration::hours(i64::from(hours));
    let record = state
        .store
        .create_invitation(caller.actor(), user.as_str(), &secret.hash, expires_at)
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(Invitation {
            user: record.name,
            path: format!("/invitations/{}", secret.secret),
            expires_at,
        }),
    ))
}
