//! Web passwords: a user sets their own, an administrator sets anyone's.

use axum::extract::State;
use ferry_api::{Problem, SetPassword, User};
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
