//! Users and API tokens. Tokens are stored only as a hash of their secret;
//! a token may expire and may be narrowed to grants of its own.
//!
//! Rules kept here, in the transaction of the change:
//! - a disabled user, and a revoked or expired token, do not authenticate;
//! - e-mail addresses are unique without regard to case;
//! - no change may leave the server without a working administrator
//!   credential (a live, unexpired, unnarrowed token of an enabled user who
//!   holds the admin role): revoking it, disabling its user or revoking
//!   their admin grant is refused.

use chrono::{DateTime, Utc};
use ferry_core::Name;
use ferry_core::access::{Grant, Rights, Role};
use serde_json::json;
use sqlx::AssertSqlSafe;
use sqlx::any::AnyRow;

use crate::audit::append;
use crate::freshness::Topic;
use crate::rows::{int, now, opt_text, opt_time, text, time};
use crate::{Result, Store, StoreError, Tx};

/// A user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// Row id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// E-mail address, unique without regard to case.
    pub email: Option<String>,
    /// Whether the user holds the admin role.
    pub admin: bool,
    /// When the user was disabled; a disabled user's tokens are refused.
    pub disabled_at: Option<DateTime<Utc>>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// An API token, without its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// Row id.
    pub id: i64,
    /// What it is for.
    pub name: String,
    /// Whose it is.
    pub user: String,
    /// The first characters of the secret.
    pub prefix: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last use, to the minute.
    pub last_used_at: Option<DateTime<Utc>>,
    /// Revocation time.
    pub revoked_at: Option<DateTime<Utc>>,
    /// After this it is refused.
    pub expires_at: Option<DateTime<Utc>>,
    /// The grants it is narrowed to; `None`: its owner's rights.
    pub grants: Option<Vec<Grant>>,
}

/// A token to be stored: its name, the hash of its secret and a prefix to show.
#[derive(Debug, Clone)]
pub struct NewToken<'a> {
    /// What it is for.
    pub name: &'a str,
    /// SHA-256 of the secret, hex.
    pub secret_hash: &'a str,
    /// The first characters of the secret.
    pub prefix: &'a str,
    /// When it stops working.
    pub expires_at: Option<DateTime<Utc>>,
    /// Narrower rights than its owner's.
    pub grants: Option<Vec<Grant>>,
}

/// A new user: who, and their first token.
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    /// Their name.
    pub name: &'a Name,
    /// Their e-mail.
    pub email: Option<&'a str>,
    /// Whether they get the admin role.
    pub admin: bool,
    /// Their first token.
    pub token: NewToken<'a>,
}

/// Who a live token belongs to, and what it allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    /// The name the audit trail records: the user's, or `ci:<subject>` for
    /// a CI workload's token.
    pub actor: String,
    /// The user; `None` for a CI workload's token, which belongs to no user.
    pub user: Option<UserRecord>,
    /// The token's id.
    pub token_id: i64,
    /// The user's grants (their own and their groups'), and the token's
    /// narrowing.
    pub rights: Rights,
    /// The groups the user belongs to.
    pub groups: Vec<String>,
    /// When the token stops working, if it does.
    pub expires_at: Option<DateTime<Utc>>,
}

/// A CI workload's token to store.
#[derive(Debug, Clone)]
pub struct NewWorkloadToken<'a> {
    /// The OIDC issuer that vouched for the workload.
    pub issuer: &'a str,
    /// The workload, as the ID token's `sub` named it.
    pub subject: &'a str,
    /// What it may do: its trust policy's grants.
    pub grants: &'a [Grant],
    /// The first characters of the secret.
    pub prefix: &'a str,
    /// SHA-256 of the secret, hex.
    pub secret_hash: &'a str,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// A CI workload's token as stored (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkloadTokenRecord {
    /// Row id.
    pub id: i64,
    /// The issuer that vouched for the workload.
    pub issuer: String,
    /// The workload's subject.
    pub subject: String,
    /// Its grants.
    pub grants: Vec<Grant>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// The actor the audit trail records for a CI workload.
pub fn workload_actor(subject: &str) -> String {
    format!("ci:{subject}")
}

/// The columns of a user; `admin` says whether they hold the admin role,
/// directly or through a group.
pub(crate) const USER_COLUMNS: &str = "u.id, u.name, u.email, u.disabled_at, u.created_at, \
     EXISTS (SELECT 1 FROM grants g WHERE g.role = 'admin' AND (g.user_id = u.id OR g.group_id IN \
     (SELECT m.group_id FROM group_members m WHERE m.user_id = u.id))) AS is_admin";

pub(crate) fn user(row: &AnyRow) -> Result<UserRecord> {
    Ok(UserRecord {
        id: int(row, "id")?,
        name: text(row, "name")?,
        email: opt_text(row, "email")?,
        admin: crate::rows::flag(row, "is_admin")?,
        disabled_at: opt_time(row, "disabled_at")?,
        created_at: time(row, "created_at")?,
    })
}

fn token(row: &AnyRow) -> Result<TokenRecord> {
    Ok(TokenRecord {
        id: int(row, "id")?,
        name: text(row, "name")?,
        user: text(row, "user_name")?,
        prefix: text(row, "prefix")?,
        created_at: time(row, "created_at")?,
        last_used_at: opt_time(row, "last_used_at")?,
        revoked_at: opt_time(row, "revoked_at")?,
        expires_at: opt_time(row, "expires_at")?,
        grants: narrowing(row)?,
    })
}

fn narrowing(row: &AnyRow) -> Result<Option<Vec<Grant>>> {
    opt_text(row, "grants")?
        .map(|text| {
            serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("grants: {e}")))
        })
        .transpose()
}

/// Whether a token is live at `at`: not revoked, not expired.
const LIVE: &str = "t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > $1)";

impl Store {
    /// Creates the first administrator, only if there is no user at all.
    /// Returns `None` when users exist (a restart, or another replica won).
    pub async fn bootstrap_admin(
        &self,
        new: NewUser<'_>,
    ) -> Result<Option<(UserRecord, TokenRecord)>> {
        let mut tx = self.write().await?;
        let users = int(
            &sqlx::query("SELECT COUNT(*) AS n FROM users")
                .fetch_one(&mut *tx)
                .await?,
            "n",
        )?;
        if users > 0 {
            return Ok(None);
        }
        let created = self.insert_user(&mut tx, "system", new).await?;
        self.commit(tx, &[Topic::Access]).await?;
        Ok(Some(created))
    }

    /// Creates a user with their first token. A name or e-mail (without
    /// regard to case) that another user has is a [`StoreError::Conflict`].
    pub async fn create_user(
        &self,
        actor: &str,
        new: NewUser<'_>,
    ) -> Result<(UserRecord, TokenRecord)> {
        let mut tx = self.write().await?;
        let exists = sqlx::query("SELECT id FROM users WHERE name = $1")
            .bind(new.name.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_some() {
            let taken = format!("user {:?} exists already", new.name.as_str());
            return Store::abandon(tx, Err(StoreError::Conflict(taken))).await;
        }
        if let Some(email) = new.email {
            let taken = sqlx::query("SELECT name FROM users WHERE lower(email) = lower($1)")
                .bind(email)
                .fetch_optional(&mut *tx)
                .await?;
            if let Some(row) = taken {
                let taken = format!(
                    "the e-mail {email:?} belongs to user {:?} already; e-mails are unique",
                    text(&row, "name")?
                );
                return Store::abandon(tx, Err(StoreError::Conflict(taken))).await;
            }
        }
        let created = self.insert_user(&mut tx, actor, new).await?;
        self.commit(tx, &[Topic::Access]).await?;
        Ok(created)
    }

    async fn insert_user(
        &self,
        tx: &mut Tx,
        actor: &str,
        new: NewUser<'_>,
    ) -> Result<(UserRecord, TokenRecord)> {
        let id = int(
            &sqlx::query(
                "INSERT INTO users (name, email, admin, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
            )
            .bind(new.name.as_str())
            .bind(new.email)
            .bind(i64::from(new.admin))
            .bind(now())
            .fetch_one(&mut **tx)
            .await?,
            "id",
        )?;
        if new.admin {
            sqlx::query(
                "INSERT INTO grants (user_id, role, created_by, created_at) VALUES ($1, 'admin', $2, $3)",
            )
            .bind(id)
            .bind(actor)
            .bind(now())
            .execute(&mut **tx)
            .await?;
        }
        let user = user_by_id(tx, id).await?;
        let details =
            json!({ "after": { "name": user.name, "email": user.email, "admin": user.admin } });
        append(
            tx,
            self.backend(),
            actor,
            "user.create",
            &format!("user:{}", user.name),
            details,
        )
        .await?;
        let token = self.insert_token(tx, actor, &user, new.token).await?;
        Ok((user, token))
    }

    pub(crate) async fn insert_token(
        &self,
        tx: &mut Tx,
        actor: &str,
        owner: &UserRecord,
        new: NewToken<'_>,
    ) -> Result<TokenRecord> {
        let grants = new.grants.as_ref().map(serde_json::to_string).transpose()?;
        let id = int(
            &sqlx::query(
                "INSERT INTO api_tokens (user_id, name, prefix, secret_hash, created_at, expires_at, grants) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            )
            .bind(owner.id)
            .bind(new.name)
            .bind(new.prefix)
            .bind(new.secret_hash)
            .bind(now())
            .bind(new.expires_at.map(ferry_core::time::format_time))
            .bind(grants)
            .fetch_one(&mut **tx)
            .await?,
            "id",
        )?;
        let details = json!({ "after": {
            "user": owner.name, "name": new.name, "prefix": new.prefix,
            "expires_at": new.expires_at, "grants": new.grants,
        } });
        append(
            tx,
            self.backend(),
            actor,
            "token.create",
            &format!("token:{id}"),
            details,
        )
        .await?;
        let row = sqlx::query(AssertSqlSafe(format!("{TOKEN_SELECT} WHERE t.id = $1")))
            .bind(id)
            .fetch_one(&mut **tx)
            .await?;
        token(&row)
    }

    /// Creates a further token for `owner`.
    pub async fn create_token(&self, owner: &UserRecord, new: NewToken<'_>) -> Result<TokenRecord> {
        let mut tx = self.write().await?;
        let created = self.insert_token(&mut tx, &owner.name, owner, new).await?;
        self.commit(tx, &[Topic::Access]).await?;
        Ok(created)
    }

    /// The enabled user whose live token has this secret hash, with their
    /// rights.
    pub async fn authenticate(&self, secret_hash: &str) -> Result<Option<Authenticated>> {
        let at = now();
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS}, t.id AS token_id, t.last_used_at, t.grants, t.expires_at AS token_expires_at \
             FROM api_tokens t JOIN users u ON u.id = t.user_id \
             WHERE t.secret_hash = $2 AND {LIVE} AND u.disabled_at IS NULL"
        )))
        .bind(&at)
        .bind(secret_hash)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let token_id = int(&row, "token_id")?;
        // Record use at most once a minute, so reads stay reads.
        let stale = opt_time(&row, "last_used_at")?
            .is_none_or(|last| Utc::now() - last > chrono::Duration::minutes(1));
        if stale {
            sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                .bind(&at)
                .bind(token_id)
                .execute(self.pool())
                .await?;
        }
        let user = user(&row)?;
        let (grants, groups) = self.grants_and_groups_of(user.id).await?;
        Ok(Some(Authenticated {
            actor: user.name.clone(),
            token_id,
            rights: Rights {
                grants,
                narrowed_to: narrowing(&row)?,
            },
            groups,
            user: Some(user),
            expires_at: opt_time(&row, "token_expires_at")?,
        }))
    }

    /// Stores a CI workload's token, handed out in exchange for an OIDC ID
    /// token a trust policy accepted, and audits the exchange with the
    /// workload's subject.
    pub async fn create_workload_token(
        &self,
        workload: &NewWorkloadToken<'_>,
    ) -> Result<WorkloadTokenRecord> {
        let mut tx = self.write().await?;
        let grants = serde_json::to_string(workload.grants)?;
        let id = int(
            &sqlx::query(
                "INSERT INTO workload_tokens (issuer, subject, grants, prefix, secret_hash, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            )
            .bind(workload.issuer)
            .bind(workload.subject)
            .bind(&grants)
            .bind(workload.prefix)
            .bind(workload.secret_hash)
            .bind(now())
            .bind(ferry_core::time::format_time(workload.expires_at))
            .fetch_one(&mut *tx)
            .await?,
            "id",
        )?;
        let details = json!({
            "issuer": workload.issuer, "subject": workload.subject,
            "grants": workload.grants, "expires_at": workload.expires_at, "prefix": workload.prefix,
        });
        append(
            &mut tx,
            self.backend(),
            &workload_actor(workload.subject),
            "token.exchange",
            &format!("ci-token:{id}"),
            details,
        )
        .await?;
        self.commit(tx, &[Topic::Access]).await?;
        Ok(WorkloadTokenRecord {
            id,
            issuer: workload.issuer.to_owned(),
            subject: workload.subject.to_owned(),
            grants: workload.grants.to_vec(),
            expires_at: workload.expires_at,
        })
    }

    /// The CI workload whose live token has this secret hash.
    pub async fn authenticate_workload(&self, secret_hash: &str) -> Result<Option<Authenticated>> {
        let row = sqlx::query(
            "SELECT id, subject, grants, expires_at FROM workload_tokens WHERE secret_hash = $1 AND expires_at > $2",
        )
        .bind(secret_hash)
        .bind(now())
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let grants: Vec<Grant> = crate::rows::json(&row, "grants")?;
        Ok(Some(Authenticated {
            actor: workload_actor(&text(&row, "subject")?),
            user: None,
            token_id: int(&row, "id")?,
            rights: Rights::of(grants),
            groups: Vec::new(),
            expires_at: Some(time(&row, "expires_at")?),
        }))
    }

    /// The tokens of `owner`, or every token when `owner` is `None`.
    pub async fn tokens(&self, owner: Option<&str>) -> Result<Vec<TokenRecord>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "{TOKEN_SELECT} WHERE $1 = '' OR u.name = $1 ORDER BY t.id"
        )))
        .bind(owner.unwrap_or(""))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(token).collect()
    }

    /// Token `id`, if it exists.
    pub async fn token(&self, id: i64) -> Result<Option<TokenRecord>> {
        let row = sqlx::query(AssertSqlSafe(format!("{TOKEN_SELECT} WHERE t.id = $1")))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(token).transpose()
    }

    /// Revokes token `id` (who may is the caller's to decide). Revoking the
    /// last working administrator credential is refused.
    pub async fn revoke_token(&self, actor: &str, id: i64) -> Result<TokenRecord> {
        let mut tx = self.write().await?;
        let row = sqlx::query(AssertSqlSafe(format!("{TOKEN_SELECT} WHERE t.id = $1")))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(found) = row.as_ref().map(token).transpose()? else {
            let missing = StoreError::NotFound(format!("there is no token {id}"));
            return Store::abandon(tx, Err(missing)).await;
        };
        if found.revoked_at.is_some() {
            return Store::abandon(tx, Ok(found)).await;
        }
        sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2")
            .bind(now())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if let Err(refused) = self
            .ensure_admin_remains(&mut tx, &format!("revoking token {id}"))
            .await
        {
            return Store::abandon(tx, Err(refused)).await;
        }
        let details = json!({ "user": found.user, "name": found.name, "prefix": found.prefix });
        append(
            &mut tx,
            self.backend(),
            actor,
            "token.revoke",
            &format!("token:{id}"),
            details,
        )
        .await?;
        let row = sqlx::query(AssertSqlSafe(format!("{TOKEN_SELECT} WHERE t.id = $1")))
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        self.commit(tx, &[Topic::Access]).await?;
        token(&row)
    }

    /// Every user, by name.
    pub async fn users(&self) -> Result<Vec<UserRecord>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users u ORDER BY u.name"
        )))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(user).collect()
    }

    /// The user named `name`.
    pub async fn user_by_name(&self, name: &str) -> Result<UserRecord> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users u WHERE u.name = $1"
        )))
        .bind(name)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("there is no user {name:?}")))?;
        user(&row)
    }

    /// The enabled user whose e-mail is `email` (without regard to case,
    /// as e-mails are unique), with their grants and groups: for those who
    /// prove who they are by an e-mail another service vouches for (a
    /// click in Slack). `None` when nobody enabled has it.
    pub async fn enabled_user_by_email(
        &self,
        email: &str,
    ) -> Result<Option<(UserRecord, Rights, Vec<String>)>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users u \
             WHERE lower(u.email) = lower($1) AND u.disabled_at IS NULL"
        )))
        .bind(email.trim())
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let user = user(&row)?;
        let (grants, groups) = self.grants_and_groups_of(user.id).await?;
        let rights = Rights {
            grants,
            narrowed_to: None,
        };
        Ok(Some((user, rights, groups)))
    }

    /// Disables (`enabled == false`) or enables user `name`. A disabled user's
    /// tokens are refused at once; disabling the last administrator who has a
    /// working token is refused.
    pub async fn set_user_enabled(
        &self,
        actor: &str,
        name: &str,
        enabled: bool,
    ) -> Result<UserRecord> {
        let mut tx = self.write().await?;
        let found = match user_by_name(&mut tx, name).await {
            Ok(found) => found,
            Err(error) => return Store::abandon(tx, Err(error)).await,
        };
        if found.disabled_at.is_none() == enabled {
            return Store::abandon(tx, Ok(found)).await;
        }
        sqlx::query("UPDATE users SET disabled_at = $1 WHERE id = $2")
            .bind((!enabled).then(now))
            .bind(found.id)
            .execute(&mut *tx)
            .await?;
        if !enabled
            && let Err(refused) = self
                .ensure_admin_remains(&mut tx, &format!("disabling user {name:?}"))
                .await
        {
            return Store::abandon(tx, Err(refused)).await;
        }
        let action = if enabled {
            "user.enable"
        } else {
            "user.disable"
        };
        append(
            &mut tx,
            self.backend(),
            actor,
            action,
            &format!("user:{name}"),
            json!({}),
        )
        .await?;
        let updated = user_by_id(&mut tx, found.id).await?;
        self.commit(tx, &[Topic::Access]).await?;
        Ok(updated)
    }

    /// Refuses (rolling back the transaction's change) when no working
    /// administrator credential would remain: a live token of an enabled user
    /// who holds the admin role, not narrowed below it. `doing` names the
    /// change for the message.
    pub(crate) async fn ensure_admin_remains(&self, tx: &mut Tx, doing: &str) -> Result<()> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT t.grants FROM api_tokens t JOIN users u ON u.id = t.user_id \
             WHERE {LIVE} AND u.disabled_at IS NULL AND EXISTS (SELECT 1 FROM grants g \
             WHERE g.role = 'admin' AND (g.user_id = u.id OR g.group_id IN \
             (SELECT m.group_id FROM group_members m WHERE m.user_id = u.id)))"
        )))
        .bind(now())
        .fetch_all(&mut **tx)
        .await?;
        for row in &rows {
            let working = match narrowing(row)? {
                None => true,
                Some(grants) => Rights::of(grants).is_admin(),
            };
            if working {
                return Ok(());
            }
        }
        Err(StoreError::Conflict(format!(
            "{doing} would leave no working administrator credential (a live token of an enabled user with the admin role); \
             create another first (ferry token create, or ferry admin token on the server's machine)"
        )))
    }

    /// Recovery from the server's machine: gives user `name` (created when
    /// missing) the admin role, enables them, and creates `token` for them;
    /// audited as `recovery`.
    pub async fn recover_admin(
        &self,
        name: &Name,
        token: NewToken<'_>,
    ) -> Result<(UserRecord, TokenRecord)> {
        let mut tx = self.write().await?;
        let existing = sqlx::query("SELECT id FROM users WHERE name = $1")
            .bind(name.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        let id = match existing {
            Some(row) => int(&row, "id")?,
            None => int(
                &sqlx::query(
                    "INSERT INTO users (name, admin, created_at) VALUES ($1, 1, $2) RETURNING id",
                )
                .bind(name.as_str())
                .bind(now())
                .fetch_one(&mut *tx)
                .await?,
                "id",
            )?,
        };
        sqlx::query("UPDATE users SET disabled_at = NULL WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let has_admin = sqlx::query(
            "SELECT id FROM grants WHERE user_id = $1 AND role = 'admin' AND service = '' AND environment = ''",
        )
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        if has_admin.is_none() {
            sqlx::query(
                "INSERT INTO grants (user_id, role, created_by, created_at) VALUES ($1, 'admin', 'recovery', $2)",
            )
            .bind(id)
            .bind(now())
            .execute(&mut *tx)
            .await?;
        }
        let user = user_by_id(&mut tx, id).await?;
        append(
            &mut tx,
            self.backend(),
            "recovery",
            "admin.recover",
            &format!("user:{}", user.name),
            json!({ "after": { "user": user.name, "role": Role::Admin, "enabled": true } }),
        )
        .await?;
        let created = self.insert_token(&mut tx, "recovery", &user, token).await?;
        self.commit(tx, &[Topic::Access]).await?;
        Ok((user, created))
    }
}

async fn user_by_id(tx: &mut Tx, id: i64) -> Result<UserRecord> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1"
    )))
    .bind(id)
    .fetch_one(&mut **tx)
    .await?;
    user(&row)
}

pub(crate) async fn user_by_name(tx: &mut Tx, name: &str) -> Result<UserRecord> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT {USER_COLUMNS} FROM users u WHERE u.name = $1"
    )))
    .bind(name)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("there is no user {name:?}")))?;
    user(&row)
}

const TOKEN_SELECT: &str = "SELECT t.id, t.name, u.name AS user_name, t.prefix, t.created_at, \
     t.last_used_at, t.revoked_at, t.expires_at, t.grants \
     FROM api_tokens t JOIN users u ON u.id = t.user_id";
