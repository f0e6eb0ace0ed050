//! The users that signing in with the organisation's OpenID Connect
//! provider makes and keeps.
//!
//! Rules kept here (the claims were read by `ferry_core::sso`):
//! - the first sign-in of a name makes the user (no password, no token),
//!   audited as `user.create` by `oidc`; an e-mail address that another
//!   user has is a conflict, and nobody is made;
//! - a user who exists is that person; their e-mail is left as it is;
//! - each sign-in sets the user's membership of every group the provider
//!   manages to what the provider says, audited as `group.add` and
//!   `group.remove` by `oidc`; other groups are not touched;
//! - all of it is one transaction.

use ferry_core::Name;
use ferry_core::sso::SsoIdentity;
use serde_json::json;

use crate::access::group_id;
use crate::audit::append;
use crate::auth::{UserRecord, user_by_name};
use crate::rows::{int, now, text};
use crate::{Result, Store, StoreError};

/// The actor of what a sign-in with the provider changes.
pub const ACTOR: &str = "oidc";

impl Store {
    /// The user `identity` names, made if new, with their membership of
    /// the `managed` groups set to `identity.groups`. A disabled user is
    /// returned as such (the caller refuses them).
    pub async fn provider_user(
        &self,
        identity: &SsoIdentity,
        managed: &[Name],
    ) -> Result<UserRecord> {
        let mut tx = self.write().await?;
        let name = identity.name.as_str();
        let exists = sqlx::query("SELECT id FROM users WHERE name = $1")
            .bind(name)
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        if !exists {
            if let Some(email) = &identity.email {
                let taken = sqlx::query("SELECT name FROM users WHERE lower(email) = lower($1)")
                    .bind(email)
                    .fetch_optional(&mut *tx)
                    .await?;
                if let Some(row) = taken {
                    let conflict = format!(
                        "the e-mail {email:?} belongs to user {:?} already, so no user {name:?} \
                         can be made with it; an administrator must resolve it",
                        text(&row, "name")?
                    );
                    return Store::abandon(tx, Err(StoreError::Conflict(conflict))).await;
                }
            }
            let id = int(
                &sqlx::query(
                    "INSERT INTO users (name, email, admin, created_at) VALUES ($1, $2, 0, $3) \
                     RETURNING id",
                )
                .bind(name)
                .bind(identity.email.as_deref())
                .bind(now())
                .fetch_one(&mut *tx)
                .await?,
                "id",
            )?;
            let details = json!({
                "after": { "name": name, "email": identity.email, "admin": false },
                "via": "oidc",
                "id": id,
            });
            append(
                &mut tx,
                self.backend(),
                ACTOR,
                "user.create",
                &format!("user:{name}"),
                details,
            )
            .await?;
        }
        let user = user_by_name(&mut tx, name).await?;
        for group in managed {
            let Ok(group_id) = group_id(&mut tx, group).await else {
                // Removed since the settings were applied: nothing to join.
                continue;
            };
            let member = sqlx::query(
                "SELECT group_id FROM group_members WHERE group_id = $1 AND user_id = $2",
            )
            .bind(group_id)
            .bind(user.id)
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
            let wanted = identity.groups.contains(group);
            if member == wanted {
                continue;
            }
            let (sql, action) = if wanted {
                (
                    "INSERT INTO group_members (group_id, user_id) VALUES ($1, $2)",
                    "group.add",
                )
            } else {
                (
                    "DELETE FROM group_members WHERE group_id = $1 AND user_id = $2",
                    "group.remove",
                )
            };
            sqlx::query(sql)
                .bind(group_id)
                .bind(user.id)
                .execute(&mut *tx)
                .await?;
            append(
                &mut tx,
                self.backend(),
                ACTOR,
                action,
                &format!("group:{group}"),
                json!({ "user": name, "via": "oidc" }),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(user)
    }
}
