//! Who may call and what they may do: the caller, users, groups, grants of
//! roles, API tokens and the permission table.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use ferry_api::{
    CreateGrant, CreateGroup, CreateToken, CreateUser, CreatedToken, CreatedUser, GrantEntry,
    Group, Page, Permission, Problem, Token, User, Whoami,
};
use ferry_core::access::{
    Action, Grant, Target, check_email, check_principal_name, permission_table,
};
use ferry_store::access::Holder;
use ferry_store::auth::NewUser;
use serde::Deserialize;

use crate::auth::{Caller, Secret};
use crate::authorize::Reader;
use crate::convert::{self, name};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path, Query};
use crate::routes::whole;
use crate::state::AppState;

/// Who the token belongs to, and what it allows.
#[utoipa::path(get, path = "/api/v1/whoami", tag = "access", security(("bearer" = [])), responses(
    (status = 200, body = Whoami),
    (status = 401, body = Problem, content_type = "application/problem+json")
))]
pub async fn whoami(caller: Caller) -> axum::Json<Whoami> {
    let user = match caller.user {
        Some(user) => convert::user(user),
        // A CI workload: named by its subject, with no user behind it.
        None => User {
            name: caller.actor,
            email: None,
            admin: false,
            created_at: Utc::now(),
            disabled_at: None,
        },
    };
    axum::Json(Whoami {
        user,
        server_version: env!("CARGO_PKG_VERSION").into(),
        grants: caller.rights.grants,
        groups: caller.groups,
        token_grants: caller.rights.narrowed_to,
    })
}

/// The permission table: each action and the roles that allow it.
#[utoipa::path(get, path = "/api/v1/permissions", tag = "access", security(("bearer" = [])), responses(
    (status = 200, body = Page<Permission>),
    (status = 401, body = Problem, content_type = "application/problem+json")
))]
pub async fn permissions(_reader: Reader) -> axum::Json<Page<Permission>> {
    let rows = permission_table()
        .into_iter()
        .map(|(action, roles)| Permission {
            action: action.as_str().to_owned(),
            description: action.describe().to_owned(),
            roles,
            guarded: action.is_guarded(),
        })
        .collect();
    axum::Json(whole(rows))
}

/// The caller's tokens (every token, for those who manage users).
#[utoipa::path(get, path = "/api/v1/tokens", tag = "access", security(("bearer" = [])), responses(
    (status = 200, body = Page<Token>),
    (status = 401, body = Problem, content_type = "application/problem+json")
))]
pub async fn list_tokens(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<axum::Json<Page<Token>>> {
    let every = caller.rights.allows(Action::ManageUsers, &Target::SERVER);
    let owner = (!every).then_some(caller.actor());
    let tokens = state.store.tokens(owner).await?;
    Ok(axum::Json(whole(
        tokens.into_iter().map(convert::token).collect(),
    )))
}

/// The longest a token may be made to last.
const LONGEST_EXPIRY_DAYS: i64 = 3650;

/// Creates a token for the caller, optionally expiring and narrowed to
/// fewer rights. Its secret is in this response only.
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
    let owner = caller
        .person(&state, "create-token", &Target::SERVER)
        .await?;
    let token_name = request.name.trim();
    convert::within(&ferry_core::limits::TOKEN_NAME, "name", token_name)?;
    if token_name.is_empty() {
        return Err(ApiError::Unprocessable("a token needs a name".into()));
    }
    let now = Utc::now();
    if let Some(expires_at) = request.expires_at
        && (expires_at <= now || expires_at > now + chrono::Duration::days(LONGEST_EXPIRY_DAYS))
    {
        return Err(ApiError::Unprocessable(format!(
            "expires_at must be in the future and at most {LONGEST_EXPIRY_DAYS} days ahead, not {expires_at}"
        )));
    }
    if let Some(grants) = &request.grants {
        check_grants(grants)?;
    }
    // A token made with a narrowed token is narrowed within it: what it
    // asks for must lie within the narrowed token's grants.
    let grants = match (request.grants, caller.rights.narrowed_to.clone()) {
        (Some(mine), Some(theirs)) => {
            let asked = mine.len();
            let within = narrow_both(mine.clone(), &theirs);
            if within.len() < asked {
                let outside: Vec<String> = mine
                    .iter()
                    .filter(|g| !within.contains(g))
                    .map(ToString::to_string)
                    .collect();
                return Err(ApiError::Unprocessable(format!(
                    "the token used is narrowed, and a token it makes may not reach beyond it: {} lie outside its grants",
                    outside.join("; ")
                )));
            }
            Some(within)
        }
        (mine, theirs) => mine.or(theirs),
    };
    let secret = Secret::generate()?;
    let mut new = secret.new_token(token_name);
    new.expires_at = request.expires_at;
    new.grants = grants;
    let token = state.store.create_token(owner, new).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(CreatedToken {
            token: convert::token(token),
            secret: secret.secret,
        }),
    ))
}

/// The grants of a token asked for from a token that is itself narrowed:
/// those the narrowed token allows in full (a role it allows every action
/// of, over a scope it covers), so the new token never gets more.
fn narrow_both(asked: Vec<Grant>, narrowed: &[Grant]) -> Vec<Grant> {
    asked
        .into_iter()
        .filter(|wanted| narrowed.iter().any(|held| wanted.is_within(held)))
        .collect()
}

fn check_grants(grants: &[Grant]) -> Result<(), ApiError> {
    if grants.is_empty() {
        return Err(ApiError::Unprocessable(
            "a narrowed token needs at least one grant; leave `grants` out for the owner's rights"
                .into(),
        ));
    }
    for grant in grants {
        grant
            .validate()
            .map_err(|e| ApiError::Unprocessable(e.to_string()))?;
    }
    Ok(())
}

/// Revokes a token of the caller's (any token, for those who manage
/// users). Revoking the last working administrator token is refused (409).
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "access", security(("bearer" = [])),
    params(("id" = crate::openapi::Id, Path, description = "The token's id")),
    responses(
        (status = 200, body = Token),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "It is the last working administrator credential", body = Problem, content_type = "application/problem+json")
    ))]
pub async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Token>> {
    let id = convert::id("token", &id)?;
    let found = state.store.token(id).await?;
    let theirs = found.as_ref().is_some_and(|t| t.user == caller.actor());
    if !theirs {
        // Someone else's token, or none: only those who manage users may
        // learn which.
        if !caller.rights.allows(Action::ManageUsers, &Target::SERVER) {
            return Err(ApiError::NotFound(format!("no token {id} of yours")));
        }
        if found.is_none() {
            return Err(ApiError::NotFound(format!("there is no token {id}")));
        }
    }
    let token = state.store.revoke_token(caller.actor(), id).await?;
    Ok(axum::Json(convert::token(token)))
}

/// Every user.
#[utoipa::path(get, path = "/api/v1/users", tag = "access", security(("bearer" = [])), responses(
    (status = 200, body = Page<User>),
    (status = 401, body = Problem, content_type = "application/problem+json"),
    (status = 403, body = Problem, content_type = "application/problem+json")
))]
pub async fn list_users(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<axum::Json<Page<User>>> {
    caller
        .require(&state, Action::Read, &Target::SERVER)
        .await?;
    let users = state.store.users().await?;
    Ok(axum::Json(whole(
        users.into_iter().map(convert::user).collect(),
    )))
}

/// Creates a user and their first token.
#[utoipa::path(post, path = "/api/v1/users", tag = "access", security(("bearer" = [])), request_body = CreateUser, responses(
    (status = 201, body = CreatedUser),
    (status = 400, body = Problem, content_type = "application/problem+json"),
    (status = 403, body = Problem, content_type = "application/problem+json"),
    (status = 409, description = "The name or the e-mail is taken", body = Problem, content_type = "application/problem+json")
))]
pub async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    Json(request): Json<CreateUser>,
) -> ApiResult<(StatusCode, axum::Json<CreatedUser>)> {
    caller
        .require(&state, Action::ManageUsers, &Target::SERVER)
        .await?;
    let user_name = request.name.clone();
    check_principal_name(&user_name).map_err(|e| ApiError::Unprocessable(e.to_string()))?;
    let email = request
        .email
        .as_deref()
        .map(check_email)
        .transpose()
        .map_err(|e| ApiError::Unprocessable(e.to_string()))?;
    let secret = Secret::generate()?;
    let new = NewUser {
        name: &user_name,
        email: email.as_deref(),
        admin: request.admin,
        token: secret.new_token("first"),
    };
    let (user, token) = state.store.create_user(caller.actor(), new).await?;
    let created = CreatedUser {
        user: convert::user(user),
        token: CreatedToken {
            token: convert::token(token),
            secret: secret.secret,
        },
    };
    Ok((StatusCode::CREATED, axum::Json(created)))
}

/// Disables a user: their tokens are refused at once. Disabling the last
/// administrator with a working token is refused (409).
#[utoipa::path(post, path = "/api/v1/users/{name}/disable", tag = "access", security(("bearer" = [])),
    params(("name" = ferry_core::Name, Path, description = "The user's name")),
    responses(
        (status = 200, body = User),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "It would leave no working administrator credential", body = Problem, content_type = "application/problem+json")
    ))]
pub async fn disable_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(user): Path<String>,
) -> ApiResult<axum::Json<User>> {
    set_enabled(state, caller, user, false).await
}

/// Enables a disabled user again.
#[utoipa::path(post, path = "/api/v1/users/{name}/enable", tag = "access", security(("bearer" = [])),
    params(("name" = ferry_core::Name, Path, description = "The user's name")),
    responses(
        (status = 200, body = User),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")
    ))]
pub async fn enable_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(user): Path<String>,
) -> ApiResult<axum::Json<User>> {
    set_enabled(state, caller, user, true).await
}

async fn set_enabled(
    state: AppState,
    caller: Caller,
    user: String,
    enabled: bool,
) -> ApiResult<axum::Json<User>> {
    caller
        .require(&state, Action::ManageUsers, &Target::SERVER)
        .await?;
    let user = name("user", &user)?;
    let record = state
        .store
        .set_user_enabled(caller.actor(), user.as_str(), enabled)
        .await?;
    Ok(axum::Json(convert::user(record)))
}

/// Every group with its members.
#[utoipa::path(get, path = "/api/v1/groups", tag = "access", security(("bearer" = [])), responses(
    (status = 200, body = Page<Group>),
    (status = 403, body = Problem, content_type = "application/problem+json")
))]
pub async fn list_groups(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<axum::Json<Page<Group>>> {
    caller
        .require(&state, Action::Read, &Target::SERVER)
        .await?;
    let groups = state.store.groups().await?;
    Ok(axum::Json(whole(
        groups.into_iter().map(convert::group).collect(),
    )))
}

/// Creates an empty group.
#[utoipa::path(post, path = "/api/v1/groups", tag = "access", security(("bearer" = [])), request_body = CreateGroup, responses(
    (status = 201, body = Group),
    (status = 400, body = Problem, content_type = "application/problem+json"),
    (status = 403, body = Problem, content_type = "application/problem+json"),
    (status = 409, body = Problem, content_type = "application/problem+json")
))]
pub async fn create_group(
    State(state): State<AppState>,
    caller: Caller,
    Json(request): Json<CreateGroup>,
) -> ApiResult<(StatusCode, axum::Json<Group>)> {
    caller
        .require(&state, Action::ManageGroups, &Target::SERVER)
        .await?;
    let group = request.name.clone();
    check_principal_name(&group).map_err(|e| ApiError::Unprocessable(e.to_string()))?;
    let created = state.store.create_group(caller.actor(), &group).await?;
    Ok((StatusCode::CREATED, axum::Json(convert::group(created))))
}

/// Adds a user to a group.
#[utoipa::path(put, path = "/api/v1/groups/{group}/members/{user}", tag = "access", security(("bearer" = [])),
    params(("group" = ferry_core::Name, Path, description = "The group"), ("user" = ferry_core::Name, Path, description = "The user")),
    responses(
        (status = 200, body = Group),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")
    ))]
pub async fn add_member(
    State(state): State<AppState>,
    caller: Caller,
    Path((group, user)): Path<(String, String)>,
) -> ApiResult<axum::Json<Group>> {
    membership(state, caller, group, user, true).await
}

/// Removes a user from a group.
#[utoipa::path(delete, path = "/api/v1/groups/{group}/members/{user}", tag = "access", security(("bearer" = [])),
    params(("group" = ferry_core::Name, Path, description = "The group"), ("user" = ferry_core::Name, Path, description = "The user")),
    responses(
        (status = 200, body = Group),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "It would leave no working administrator credential", body = Problem, content_type = "application/problem+json")
    ))]
pub async fn remove_member(
    State(state): State<AppState>,
    caller: Caller,
    Path((group, user)): Path<(String, String)>,
) -> ApiResult<axum::Json<Group>> {
    membership(state, caller, group, user, false).await
}

async fn membership(
    state: AppState,
    caller: Caller,
    group: String,
    user: String,
    member: bool,
) -> ApiResult<axum::Json<Group>> {
    caller
        .require(&state, Action::ManageGroups, &Target::SERVER)
        .await?;
    let group = name("group", &group)?;
    let user = name("user", &user)?;
    let record = state
        .store
        .set_membership(caller.actor(), &group, &user, member)
        .await?;
    Ok(axum::Json(convert::group(record)))
}

/// Filters of the grant list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct GrantQuery {
    /// Only this user's own grants.
    user: Option<ferry_core::Name>,
    /// Only this group's grants.
    group: Option<ferry_core::Name>,
}

/// Every grant, or those of one user or group.
#[utoipa::path(get, path = "/api/v1/grants", tag = "access", security(("bearer" = [])), params(GrantQuery), responses(
    (status = 200, body = Page<GrantEntry>),
    (status = 400, body = Problem, content_type = "application/problem+json"),
    (status = 403, body = Problem, content_type = "application/problem+json")
))]
pub async fn list_grants(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<GrantQuery>,
) -> ApiResult<axum::Json<Page<GrantEntry>>> {
    caller
        .require(&state, Action::Read, &Target::SERVER)
        .await?;
    let user = query.user;
    let group = query.group;
    let holder = holder(user.as_ref(), group.as_ref(), false)?;
    let grants = state.store.grants(holder).await?;
    Ok(axum::Json(whole(
        grants.into_iter().map(convert::grant).collect(),
    )))
}

fn holder<'a>(
    user: Option<&'a ferry_core::Name>,
    group: Option<&'a ferry_core::Name>,
    required: bool,
) -> Result<Option<Holder<'a>>, ApiError> {
    match (user, group) {
        (Some(user), None) => Ok(Some(Holder::User(user))),
        (None, Some(group)) => Ok(Some(Holder::Group(group))),
        (None, None) if !required => Ok(None),
        _ => Err(ApiError::Unprocessable(
            "name either a `user` or a `group`, not both".into(),
        )),
    }
}

/// Grants a role to a user or a group, everywhere or for one service and/or
/// environment. Granting what is held already changes nothing.
#[utoipa::path(post, path = "/api/v1/grants", tag = "access", security(("bearer" = [])), request_body = CreateGrant, responses(
    (status = 201, body = GrantEntry),
    (status = 400, body = Problem, content_type = "application/problem+json"),
    (status = 403, body = Problem, content_type = "application/problem+json"),
    (status = 404, body = Problem, content_type = "application/problem+json")
))]
pub async fn create_grant(
    State(state): State<AppState>,
    caller: Caller,
    Json(request): Json<CreateGrant>,
) -> ApiResult<(StatusCode, axum::Json<GrantEntry>)> {
    caller
        .require(&state, Action::ManageGrants, &Target::SERVER)
        .await?;
    request
        .grant
        .validate()
        .map_err(|e| ApiError::Unprocessable(e.to_string()))?;
    let user = request.user.clone();
    let group = request.group.clone();
    let holder = holder(user.as_ref(), group.as_ref(), true)?.ok_or_else(|| {
        ApiError::Unprocessable("a grant needs a `user` or a `group` to hold it".into())
    })?;
    let record = state
        .store
        .grant(caller.actor(), holder, &request.grant)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(convert::grant(record))))
}

/// Revokes a grant. Revoking the admin role from the last administrator
/// with a working token is refused (409).
#[utoipa::path(delete, path = "/api/v1/grants/{id}", tag = "access", security(("bearer" = [])),
    params(("id" = crate::openapi::Id, Path, description = "The grant's id")),
    responses(
        (status = 200, body = GrantEntry),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "It would leave no working administrator credential", body = Problem, content_type = "application/problem+json")
    ))]
pub async fn revoke_grant(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<GrantEntry>> {
    caller
        .require(&state, Action::ManageGrants, &Target::SERVER)
        .await?;
    let id = convert::id("grant", &id)?;
    let found = state
        .store
        .grant_by_id(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("there is no grant {id}")))?;
    let (user, group) = (
        found.user.as_deref().map(|u| name("user", u)).transpose()?,
        found
            .group
            .as_deref()
            .map(|g| name("group", g))
            .transpose()?,
    );
    let holder = holder(user.as_ref(), group.as_ref(), true)?
        .ok_or_else(|| ApiError::Internal(format!("grant {id} has no holder")))?;
    let record = state
        .store
        .revoke_grant(caller.actor(), holder, &found.grant)
        .await?;
    Ok(axum::Json(convert::grant(record)))
}
