//! Recovery on the server's machine (`ferry admin token`): when no working
//! administrator token is left, whoever may open the server's database gives
//! a user the admin role and a new token, audited as `admin.recover` by
//! `recovery`. No token is needed: access to the database is the proof.

use ferry_api::{CreatedToken, CreatedUser};
use ferry_core::Name;
use ferry_core::access::check_principal_name;
use ferry_store::Store;

use crate::auth::Secret;
use crate::convert;
use crate::error::ApiError;

/// Makes `user` (created if missing) an enabled administrator with a new
/// token named `token_name`, whose secret is in the answer only. A reserved
/// name (`system`, `recovery`...) stands for the server itself in the audit
/// trail: it is recovered only if it is a user already, as the first
/// administrator `admin` is.
pub async fn recover_admin(
    store: &Store,
    user: &Name,
    token_name: &str,
) -> Result<CreatedUser, ApiError> {
    let token_name = token_name.trim();
    if token_name.is_empty() || token_name.len() > 100 {
        return Err(ApiError::BadRequest(format!(
            "a token's name must have 1 to 100 characters, not {token_name:?}"
        )));
    }
    let exists = store
        .users()
        .await?
        .iter()
        .any(|record| record.name == user.as_str());
    if !exists && user.as_str() != "admin" {
        check_principal_name(user).map_err(|error| ApiError::BadRequest(error.to_string()))?;
    }
    let secret = Secret::generate()?;
    let (user, token) = store
        .recover_admin(user, secret.new_token(token_name))
        .await?;
    Ok(CreatedUser {
        user: convert::user(user),
        token: CreatedToken {
            token: convert::token(token),
            secret: secret.secret,
        },
    })
}
