//! Who may call: the caller, users, API tokens.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use ferry_api::{
    CreateToken, CreateUser, CreatedToken, CreatedUser, Page, Problem, Token, User, Whoami,
};
use ferry_store::auth::NewUser;

use crate::auth::{Caller, Secret};
use crate::convert::{self, name};
use crate::error::{ApiError, ApiResult};
use crate::extract::Json;
use crate::routes::whole;
use crate::state::AppState;

/// Who the token belongs to.
#[utoipa::path(get, path = "/api/v1/whoami", tag = "access", security(("bearer" = [])), responses(
    (status = 200, body = Whoami),
    (status = 401, body = Problem, content_type = "application/problem+json")
))]
pub async fn whoami(caller: Caller) -> axum::Json<Whoami> {
    axum::Json(Whoami {
        user: convert::user(caller.0),
        server_version: env!("CARGO_PKG_VERSION").into(),
    })
}

/// The caller's tokens (every token, for administrators).
#[utoipa::path(get, path = "/api/v1/tokens", tag = "access", security(("bearer" = [])), responses(
    (status = 200, body = Page<Token>),
    (status = 401, body = Problem, content_type = "application/problem+json")
))]
pub async fn list_tokens(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<axum::Json<Page<Token>>> {
    let owner = (!caller.0.admin).then_some(caller.0.name.as_str());
    let tokens = state.store.tokens(owner).await?;
    Ok(axum::Json(whole(
        tokens.into_iter().map(convert::token).collect(),
    )))
}

/// Creates a token for the caller. Its secret is in this response only.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "access", security(("bearer" = [])), request_body = CreateToken, responses(
    (status = 201, body = CreatedToken),
    (status = 400, body = Problem, content_type = "application/problem+json"),
    (status = 401, body = Problem, content_type = "application/problem+json")
))]
pub async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    Json(request): Json<CreateToken>,
) -> ApiResult<(StatusCode, axum::Json<CreatedToken>)> {
    let token_name = request.name.trim();
    if token_name.is_empty() || token_name.len() > 100 {
        return Err(ApiError::BadRequest(
            "a token's name must have 1 to 100 characters".into(),
        ));
    }
    let secret = Secret::generate()?;
    let token = state
        .store
        .create_token(&caller.0, secret.new_token(token_name))
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(CreatedToken {
            token: convert::token(token),
            secret: secret.secret,
        }),
    ))
}

/// Revokes a token of the caller's (any token, for administrators).
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "access", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The token's id")),
    responses(
        (status = 200, body = Token),
        (status = 404, body = Problem, content_type = "application/problem+json")
    ))]
pub async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Token>> {
    let id = convert::id("token", &id)?;
    let token = state.store.revoke_token(&caller.0, id).await?;
    Ok(axum::Json(convert::token(token)))
}

/// Every user.
#[utoipa::path(get, path = "/api/v1/users", tag = "access", security(("bearer" = [])), responses(
    (status = 200, body = Page<User>),
    (status = 401, body = Problem, content_type = "application/problem+json")
))]
pub async fn list_users(
    State(state): State<AppState>,
    _caller: Caller,
) -> ApiResult<axum::Json<Page<User>>> {
    let users = state.store.users().await?;
    Ok(axum::Json(whole(
        users.into_iter().map(convert::user).collect(),
    )))
}

/// Creates a user and their first token (administrators only).
#[utoipa::path(post, path = "/api/v1/users", tag = "access", security(("bearer" = [])), request_body = CreateUser, responses(
    (status = 201, body = CreatedUser),
    (status = 400, body = Problem, content_type = "application/problem+json"),
    (status = 403, body = Problem, content_type = "application/problem+json"),
    (status = 409, body = Problem, content_type = "application/problem+json")
))]
pub async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    Json(request): Json<CreateUser>,
) -> ApiResult<(StatusCode, axum::Json<CreatedUser>)> {
    caller.require_admin("create users")?;
    let user_name = name("user", &request.name)?;
    if let Some(email) = &request.email
        && !email.contains('@')
    {
        return Err(ApiError::BadRequest(format!(
            "{email:?} is not an e-mail address"
        )));
    }
    let secret = Secret::generate()?;
    let new = NewUser {
        name: &user_name,
        email: request.email.as_deref(),
        admin: false,
        token: secret.new_token("first"),
    };
    let (user, token) = state.store.create_user(&caller.0.name, new).await?;
    let created = CreatedUser {
        user: convert::user(user),
        token: CreatedToken {
            token: convert::token(token),
            secret: secret.secret,
        },
    };
    Ok((StatusCode::CREATED, axum::Json(created)))
}
