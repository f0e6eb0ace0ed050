//! Users, groups, grants of roles, API tokens and the permission table.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use ferry_core::Name;

pub use ferry_core::access::{Grant, Role};

/// A user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct User {
    /// The user's name.
    pub name: String,
    /// Their e-mail address, if given (unique without regard to case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Whether they hold the admin role (directly or through a group).
    pub admin: bool,
    /// When the user was created.
    pub created_at: DateTime<Utc>,
    /// When the user was disabled; a disabled user's tokens are refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_at: Option<DateTime<Utc>>,
}

/// The body of `POST /api/v1/users`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    /// The new user's name (lower-case letters, digits, `-`, `_`, `.`; not
    /// a name the server reserves, such as `system` or `demo`).
    pub name: Name,
    /// Their e-mail address, unique without regard to case.
    #[serde(default)]
    pub email: Option<String>,
    /// Give them the admin role.
    #[serde(default)]
    pub admin: bool,
}

/// The body of `PUT /api/v1/users/{name}/password`.
#[derive(Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPassword {
    /// The new password for the web UI: 12 to 1000 printable characters.
    #[schema(min_length = 12, max_length = 1000)]
    pub password: String,
}

impl std::fmt::Debug for SetPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SetPassword")
            .field("password", &"<hidden>")
            .finish()
    }
}

/// The body of `POST /api/v1/users/{name}/invitations`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateInvitation {
    /// How long the link works, in hours (1 to 720; default 72).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 720)]
    pub valid_hours: Option<u32>,
}

/// An invitation to set a web password: a secret link, shown once, that
/// works once until it expires.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Invitation {
    /// Whom it is for.
    pub user: String,
    /// The link's path on the server (`/invitations/<secret>`).
    pub path: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// A user just created, with the first token to hand them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CreatedUser {
    /// The user.
    pub user: User,
    /// Their first API token, shown this once.
    pub token: CreatedToken,
}

/// An API token (never its secret).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Token {
    /// Its id, to revoke it.
    pub id: i64,
    /// What it is for.
    pub name: String,
    /// Whose it is.
    pub user: String,
    /// The first characters of the secret, to recognise it.
    pub prefix: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked; a revoked token is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<DateTime<Utc>>,
    /// When it stops working.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    /// The grants it is narrowed to; absent: its owner's rights.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grants: Option<Vec<Grant>>,
}

/// The body of `POST /api/v1/tokens`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// What the token is for, such as `ci` or `laptop`.
    pub name: String,
    /// When it stops working (in the future; at most ten years ahead).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    /// Narrower rights than the caller's: the token then allows only what
    /// both these grants and the caller's allow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grants: Option<Vec<Grant>>,
}

/// A token just created: the secret is shown this once and stored only hashed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CreatedToken {
    /// The token.
    #[serde(flatten)]
    pub token: Token,
    /// The secret to send as `Authorization: Bearer <secret>`.
    pub secret: String,
}

/// Who the caller is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Whoami {
    /// The user the token belongs to.
    pub user: User,
    /// The ferry server's version.
    pub server_version: String,
    /// The grants the user holds, their own and their groups'.
    #[serde(default)]
    pub grants: Vec<Grant>,
    /// The groups the user belongs to.
    #[serde(default)]
    pub groups: Vec<String>,
    /// The grants the token used is narrowed to; absent: the user's rights.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_grants: Option<Vec<Grant>>,
}

/// A grant as stored: a role, its scope, and who holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct GrantEntry {
    /// Its id, to revoke it.
    pub id: i64,
    /// The user who holds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The group that holds it (every member does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// The role and its scope.
    #[serde(flatten)]
    pub grant: Grant,
    /// Who granted it.
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// The body of `POST /api/v1/grants`: a role for a user or a group,
/// everywhere or for one service and/or environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateGrant {
    /// The user to grant the role to (or `group`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<Name>,
    /// The group to grant the role to (or `user`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<Name>,
    /// The role and its scope.
    #[serde(flatten)]
    pub grant: Grant,
}

/// A group of users; grants given to it hold for every member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Group {
    /// Its name.
    pub name: String,
    /// Its members' user names.
    pub members: Vec<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// The body of `POST /api/v1/groups`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateGroup {
    /// The group's name.
    pub name: Name,
}

/// One row of the permission table: an action and the roles that allow it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Permission {
    /// The action's stable name, such as `promote`.
    pub action: String,
    /// What it is, for people.
    pub description: String,
    /// The roles that allow it.
    pub roles: Vec<Role>,
    /// Whether a protected environment asks a grant naming it for this action.
    pub guarded: bool,
}

/// The body of `POST /api/v1/oidc/exchange`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExchangeToken {
    /// The OIDC ID token the CI system issued (a JWT).
    pub token: String,
}

/// A short-lived ferry token for a CI workload: the secret is shown this
/// once and carries exactly its trust policy's grants.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ExchangedToken {
    /// The secret to send as `Authorization: Bearer <secret>` (`ferry_ci_…`).
    pub secret: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// The issuer that vouched for the workload.
    pub issuer: String,
    /// The workload, as the ID token's `sub` names it.
    pub subject: String,
    /// What the token may do.
    pub grants: Vec<Grant>,
}
