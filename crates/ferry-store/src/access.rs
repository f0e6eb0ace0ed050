//! Groups and grants: who holds which role, where. What a role allows is
//! `ferry_core::access`'s; this module only stores who holds what, and
//! audits every change in its transaction.

use chrono::{DateTime, Utc};
use ferry_core::Name;
use ferry_core::access::{Grant, Role};
use serde_json::json;
use sqlx::AssertSqlSafe;
use sqlx::any::AnyRow;

use crate::audit::append;
use crate::auth::user_by_name;
use crate::freshness::Topic;
use crate::rows::{int, now, opt_text, text, time};
use crate::{Result, Store, StoreError, Tx};

/// Who a grant is given to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder<'a> {
    /// A user, by name.
    User(&'a Name),
    /// A group, by name: every member holds its grants.
    Group(&'a Name),
}

impl Holder<'_> {
    fn object(&self) -> String {
        match self {
            Holder::User(name) => format!("user:{name}"),
            Holder::Group(name) => format!("group:{name}"),
        }
    }
}

/// A stored grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantRecord {
    /// Row id.
    pub id: i64,
    /// The user who holds it, when given to a user.
    pub user: Option<String>,
    /// The group that holds it, when given to a group.
    pub group: Option<String>,
    /// The role and its scope.
    pub grant: Grant,
    /// Who granted it.
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// A group with its members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRecord {
    /// Row id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// Its members' user names, sorted.
    pub members: Vec<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

fn scope(text: String) -> Result<Option<Name>> {
    if text.is_empty() {
        return Ok(None);
    }
    Name::parse(&text)
        .map(Some)
        .map_err(|e| StoreError::Corrupt(format!("grant scope: {e}")))
}

fn grant_of(row: &AnyRow) -> Result<Grant> {
    Ok(Grant {
        role: Role::parse(&text(row, "role")?).map_err(StoreError::Corrupt)?,
        service: scope(text(row, "service")?)?,
        environment: scope(text(row, "environment")?)?,
    })
}

fn grant_record(row: &AnyRow) -> Result<GrantRecord> {
    Ok(GrantRecord {
        id: int(row, "id")?,
        user: opt_text(row, "user_name")?,
        group: opt_text(row, "group_name")?,
        grant: grant_of(row)?,
        created_by: text(row, "created_by")?,
        created_at: time(row, "created_at")?,
    })
}

const GRANT_SELECT: &str = "SELECT g.id, u.name AS user_name, gr.name AS group_name, g.role, \
     g.service, g.environment, g.created_by, g.created_at FROM grants g \
     LEFT JOIN users u ON u.id = g.user_id LEFT JOIN groups gr ON gr.id = g.group_id";

/// The row id of a grant's holder, as `(user_id, group_id)`.
async fn holder_ids(tx: &mut Tx, holder: Holder<'_>) -> Result<(Option<i64>, Option<i64>)> {
    Ok(match holder {
        Holder::User(name) => (Some(user_by_name(tx, name.as_str()).await?.id), None),
        Holder::Group(name) => (None, Some(group_id(tx, name).await?)),
    })
}

pub(crate) async fn group_id(tx: &mut Tx, name: &Name) -> Result<i64> {
    let row = sqlx::query("SELECT id FROM groups WHERE name = $1")
        .bind(name.as_str())
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| {
            StoreError::NotFound(format!(
                "there is no group {:?}; create it with `ferry group create`",
                name.as_str()
            ))
        })?;
    int(&row, "id")
}

async fn find_grant(
    tx: &mut Tx,
    ids: (Option<i64>, Option<i64>),
    grant: &Grant,
) -> Result<Option<GrantRecord>> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "{GRANT_SELECT} WHERE COALESCE(g.user_id, 0) = $1 AND COALESCE(g.group_id, 0) = $2 \
         AND g.role = $3 AND g.service = $4 AND g.environment = $5"
    )))
    .bind(ids.0.unwrap_or(0))
    .bind(ids.1.unwrap_or(0))
    .bind(grant.role.as_str())
    .bind(grant.service.as_ref().map_or("", Name::as_str))
    .bind(grant.environment.as_ref().map_or("", Name::as_str))
    .fetch_optional(&mut **tx)
    .await?;
    row.as_ref().map(grant_record).transpose()
}

async fn group_record(tx: &mut Tx, id: i64) -> Result<GroupRecord> {
    let row = sqlx::query("SELECT id, name, created_at FROM groups WHERE id = $1")
        .bind(id)
        .fetch_one(&mut **tx)
        .await?;
    let members = sqlx::query(
        "SELECT u.name FROM group_members m JOIN users u ON u.id = m.user_id \
         WHERE m.group_id = $1 ORDER BY u.name",
    )
    .bind(id)
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(|row| text(row, "name"))
    .collect::<Result<Vec<_>>>()?;
    Ok(GroupRecord {
        id,
        name: text(&row, "name")?,
        members,
        created_at: time(&row, "created_at")?,
    })
}

impl Store {
    /// The grants a user holds (their own, then their groups'), and the
    /// names of their groups.
    pub async fn grants_and_groups_of(&self, user_id: i64) -> Result<(Vec<Grant>, Vec<String>)> {
        let rows = sqlx::query(
            "SELECT 'grant' AS kind, role, service, environment FROM grants \
             WHERE user_id = $1 OR group_id IN (SELECT group_id FROM group_members WHERE user_id = $1) \
             UNION ALL SELECT 'group' AS kind, g.name AS role, '' AS service, '' AS environment \
             FROM groups g JOIN group_members m ON m.group_id = g.id WHERE m.user_id = $1",
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await?;
        let mut grants = Vec::new();
        let mut groups = Vec::new();
        for row in &rows {
            if text(row, "kind")? == "group" {
                groups.push(text(row, "role")?);
            } else {
                grants.push(grant_of(row)?);
            }
        }
        Ok((grants, groups))
    }

    /// Gives `grant` to `holder`. Granting what is held already changes
    /// nothing and returns the grant held.
    pub async fn grant(
        &self,
        actor: &str,
        holder: Holder<'_>,
        grant: &Grant,
    ) -> Result<GrantRecord> {
        grant
            .validate()
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        let mut tx = self.write().await?;
        let ids = match holder_ids(&mut tx, holder).await {
            Ok(ids) => ids,
            Err(error) => return Store::abandon(tx, Err(error)).await,
        };
        if let Some(found) = find_grant(&mut tx, ids, grant).await? {
            return Store::abandon(tx, Ok(found)).await;
        }
        sqlx::query(
            "INSERT INTO grants (user_id, group_id, role, service, environment, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(ids.0)
        .bind(ids.1)
        .bind(grant.role.as_str())
        .bind(grant.service.as_ref().map_or("", Name::as_str))
        .bind(grant.environment.as_ref().map_or("", Name::as_str))
        .bind(actor)
        .bind(now())
        .execute(&mut *tx)
        .await?;
        append(
            &mut tx,
            self.backend(),
            actor,
            "grant.create",
            &holder.object(),
            json!({ "after": grant }),
        )
        .await?;
        let created = find_grant(&mut tx, ids, grant)
            .await?
            .ok_or_else(|| StoreError::Corrupt("a grant vanished while created".into()))?;
        self.commit(tx, &[Topic::Access]).await?;
        Ok(created)
    }

    /// Takes `grant` from `holder`. Revoking the admin role from the last
    /// administrator with a working token is refused.
    pub async fn revoke_grant(
        &self,
        actor: &str,
        holder: Holder<'_>,
        grant: &Grant,
    ) -> Result<GrantRecord> {
        let mut tx = self.write().await?;
        let ids = match holder_ids(&mut tx, holder).await {
            Ok(ids) => ids,
            Err(error) => return Store::abandon(tx, Err(error)).await,
        };
        let Some(found) = find_grant(&mut tx, ids, grant).await? else {
            let missing = format!("{} does not hold {grant}", holder.object());
            return Store::abandon(tx, Err(StoreError::NotFound(missing))).await;
        };
        sqlx::query("DELETE FROM grants WHERE id = $1")
            .bind(found.id)
            .execute(&mut *tx)
            .await?;
        if let Err(refused) = self
            .ensure_admin_remains(
                &mut tx,
                &format!("revoking {grant} from {}", holder.object()),
            )
            .await
        {
            return Store::abandon(tx, Err(refused)).await;
        }
        append(
            &mut tx,
            self.backend(),
            actor,
            "grant.revoke",
            &holder.object(),
            json!({ "before": grant }),
        )
        .await?;
        self.commit(tx, &[Topic::Access]).await?;
        Ok(found)
    }

    /// Grant `id`, if it exists.
    pub async fn grant_by_id(&self, id: i64) -> Result<Option<GrantRecord>> {
        let row = sqlx::query(AssertSqlSafe(format!("{GRANT_SELECT} WHERE g.id = $1")))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(grant_record).transpose()
    }

    /// Every grant, by holder, or those of one holder.
    pub async fn grants(&self, holder: Option<Holder<'_>>) -> Result<Vec<GrantRecord>> {
        let (user, group) = match holder {
            None => ("", ""),
            Some(Holder::User(name)) => (name.as_str(), ""),
            Some(Holder::Group(name)) => ("", name.as_str()),
        };
        let rows = sqlx::query(AssertSqlSafe(format!(
            "{GRANT_SELECT} WHERE ($1 = '' OR u.name = $1) AND ($2 = '' OR gr.name = $2) \
             AND ($1 = '' OR $2 = '' OR 1 = 0) \
             ORDER BY COALESCE(u.name, ''), COALESCE(gr.name, ''), g.role, g.service, g.environment"
        )))
        .bind(user)
        .bind(group)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(grant_record).collect()
    }

    /// Creates an empty group.
    pub async fn create_group(&self, actor: &str, name: &Name) -> Result<GroupRecord> {
        let mut tx = self.write().await?;
        let exists = sqlx::query("SELECT id FROM groups WHERE name = $1")
            .bind(name.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_some() {
            let taken = format!("group {:?} exists already", name.as_str());
            return Store::abandon(tx, Err(StoreError::Conflict(taken))).await;
        }
        let id = int(
            &sqlx::query("INSERT INTO groups (name, created_at) VALUES ($1, $2) RETURNING id")
                .bind(name.as_str())
                .bind(now())
                .fetch_one(&mut *tx)
                .await?,
            "id",
        )?;
        append(
            &mut tx,
            self.backend(),
            actor,
            "group.create",
            &format!("group:{name}"),
            json!({}),
        )
        .await?;
        let created = group_record(&mut tx, id).await?;
        self.commit(tx, &[Topic::Access]).await?;
        Ok(created)
    }

    /// Adds (`member == true`) or removes user `user` to or from `group`.
    /// Doing what is done already changes nothing; removing the last
    /// administrator with a working token from the group that makes them one
    /// is refused.
    pub async fn set_membership(
        &self,
        actor: &str,
        group: &Name,
        user: &Name,
        member: bool,
    ) -> Result<GroupRecord> {
        let mut tx = self.write().await?;
        let ids = match group_id(&mut tx, group).await {
            Ok(group_id) => user_by_name(&mut tx, user.as_str())
                .await
                .map(|user| (group_id, user.id)),
            Err(error) => Err(error),
        };
        let (group_id, user_id) = match ids {
            Ok(ids) => ids,
            Err(error) => return Store::abandon(tx, Err(error)).await,
        };
        let is_member =
            sqlx::query("SELECT group_id FROM group_members WHERE group_id = $1 AND user_id = $2")
                .bind(group_id)
                .bind(user_id)
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
        if is_member == member {
            let found = group_record(&mut tx, group_id).await;
            return Store::abandon(tx, found).await;
        }
        let sql = if member {
            "INSERT INTO group_members (group_id, user_id) VALUES ($1, $2)"
        } else {
            "DELETE FROM group_members WHERE group_id = $1 AND user_id = $2"
        };
        sqlx::query(sql)
            .bind(group_id)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        if !member
            && let Err(refused) = self
                .ensure_admin_remains(&mut tx, &format!("removing {user} from group {group}"))
                .await
        {
            return Store::abandon(tx, Err(refused)).await;
        }
        let action = if member { "group.add" } else { "group.remove" };
        append(
            &mut tx,
            self.backend(),
            actor,
            action,
            &format!("group:{group}"),
            json!({ "user": user }),
        )
        .await?;
        let updated = group_record(&mut tx, group_id).await?;
        self.commit(tx, &[Topic::Access]).await?;
        Ok(updated)
    }

    /// The groups of every user who belongs to one, by user name.
    pub async fn memberships(&self) -> Result<std::collections::HashMap<String, Vec<String>>> {
        let rows = sqlx::query(
            "SELECT u.name AS user_name, g.name AS group_name FROM group_members m \
             JOIN users u ON u.id = m.user_id JOIN groups g ON g.id = m.group_id ORDER BY g.name",
        )
        .fetch_all(self.pool())
        .await?;
        let mut memberships: std::collections::HashMap<String, Vec<String>> =
            std::collections::HashMap::new();
        for row in &rows {
            memberships
                .entry(text(row, "user_name")?)
                .or_default()
                .push(text(row, "group_name")?);
        }
        Ok(memberships)
    }

    /// Every group with its members, by name.
    pub async fn groups(&self) -> Result<Vec<GroupRecord>> {
        let mut tx = self.pool().begin().await?;
        let ids = sqlx::query("SELECT id FROM groups ORDER BY name")
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|row| int(row, "id"))
            .collect::<Result<Vec<_>>>()?;
        let mut groups = Vec::with_capacity(ids.len());
        for id in ids {
            groups.push(group_record(&mut tx, id).await?);
        }
        tx.rollback().await?;
        Ok(groups)
    }
}
