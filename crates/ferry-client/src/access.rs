//! Access control: groups, grants of roles, the permission table, users'
//! states, and agents.

use ferry_api::{
    Agent, CreateGrant, CreateGroup, CreatedAgentToken, ExchangeToken, ExchangedToken, GrantEntry,
    Group, Page, Permission, User,
};
use reqwest::Method;
use serde::Serialize;

use crate::{Client, Error};

/// Filters of `GET /api/v1/grants`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct GrantQuery {
    /// Only this user's own grants.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Only this group's grants.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

#[derive(Serialize)]
struct AgentQuery<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    environment: Option<&'a str>,
}

impl Client {
    /// Exchanges a CI system's OIDC ID token for a short-lived ferry token
    /// (no API token needed).
    pub async fn exchange_oidc_token(&self, token: &str) -> Result<ExchangedToken, Error> {
        let body = ExchangeToken {
            token: token.to_owned(),
        };
        self.send_json(Method::POST, &["oidc", "exchange"], &body)
            .await
    }

    /// Disables user `name` (`enabled == false`) or enables them again.
    pub async fn set_user_enabled(&self, name: &str, enabled: bool) -> Result<User, Error> {
        let verb = if enabled { "enable" } else { "disable" };
        self.send_json(Method::POST, &["users", name, verb], &serde_json::json!({}))
            .await
    }

    /// Sets user `name`'s web password.
    pub async fn set_password(&self, name: &str, password: &str) -> Result<User, Error> {
        let body = ferry_api::SetPassword {
            password: password.to_owned(),
        };
        self.send_json(Method::PUT, &["users", name, "password"], &body)
            .await
    }

    /// Invites user `name` to set their web password, by a link that works
    /// for `valid_hours` (the server's default when `None`).
    pub async fn invite(
        &self,
        name: &str,
        valid_hours: Option<u32>,
    ) -> Result<ferry_api::Invitation, Error> {
        let body = ferry_api::CreateInvitation { valid_hours };
        self.send_json(Method::POST, &["users", name, "invitations"], &body)
            .await
    }

    /// Every group with its members.
    pub async fn groups(&self) -> Result<Page<Group>, Error> {
        self.get::<_, ()>(&["groups"], None).await
    }

    /// Creates a group.
    pub async fn create_group(&self, group: &CreateGroup) -> Result<Group, Error> {
        self.send_json(Method::POST, &["groups"], group).await
    }

    /// Adds user `user` to `group` (`member == true`) or removes them.
    pub async fn set_membership(
        &self,
        group: &str,
        user: &str,
        member: bool,
    ) -> Result<Group, Error> {
        let method = if member { Method::PUT } else { Method::DELETE };
        let response = self
            .send(self.request(method, &["groups", group, "members", user]))
            .await?;
        crate::decode(response).await
    }

    /// Grants, filtered.
    pub async fn grants(&self, query: &GrantQuery) -> Result<Page<GrantEntry>, Error> {
        self.get(&["grants"], Some(query)).await
    }

    /// Grants a role.
    pub async fn create_grant(&self, grant: &CreateGrant) -> Result<GrantEntry, Error> {
        self.send_json(Method::POST, &["grants"], grant).await
    }

    /// Revokes grant `id`.
    pub async fn revoke_grant(&self, id: i64) -> Result<GrantEntry, Error> {
        let response = self
            .send(self.request(Method::DELETE, &["grants", &id.to_string()]))
            .await?;
        crate::decode(response).await
    }

    /// The permission table.
    pub async fn permissions(&self) -> Result<Page<Permission>, Error> {
        self.get::<_, ()>(&["permissions"], None).await
    }

    /// The agents, of one environment or of all.
    pub async fn agents(&self, environment: Option<&str>) -> Result<Page<Agent>, Error> {
        self.get(&["agents"], Some(&AgentQuery { environment }))
            .await
    }

    /// Revokes agent `id`.
    pub async fn revoke_agent(&self, id: i64) -> Result<Agent, Error> {
        let response = self
            .send(self.request(Method::DELETE, &["agents", &id.to_string()]))
            .await?;
        crate::decode(response).await
    }

    /// Gives agent `id` a new secret (in this answer only).
    pub async fn rotate_agent_token(&self, id: i64) -> Result<CreatedAgentToken, Error> {
        self.send_json(
            Method::POST,
            &["agents", &id.to_string(), "token"],
            &serde_json::json!({}),
        )
        .await
    }
}
