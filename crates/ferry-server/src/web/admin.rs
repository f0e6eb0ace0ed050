//! Administration, for administrators: the users with their groups and
//! grants, the agents with when each was last seen (and a Revoke button),
//! and every API token.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use ferry_core::access::{Action, Target, authorize};

use super::page::{self, Frame, error_page, refusal};
use super::posted::{Button, Posted};
use super::session::Viewer;
use crate::error::ApiError;
use crate::state::AppState;

struct User {
    name: String,
    email: String,
    admin: bool,
    disabled: bool,
    groups: String,
    grants: String,
}

struct Agent {
    id: i64,
    name: String,
    environment: String,
    tags: String,
    last_seen: String,
    revoked: bool,
}

struct Token {
    id: i64,
    name: String,
    user: String,
    prefix: String,
    last_used: String,
    expires: String,
    revoked: bool,
}

#[derive(Template)]
#[template(path = "admin.html")]
struct AdminPage {
    frame: Frame,
    users: Vec<User>,
    groups: Vec<(String, String)>,
    agents: Vec<Agent>,
    tokens: Vec<Token>,
}

fn when(time: Option<DateTime<Utc>>, never: &str) -> String {
    time.map_or_else(
        || never.to_owned(),
        |time| time.format("%Y-%m-%d %H:%M UTC").to_string(),
    )
}

/// `GET /admin`.
pub async fn page(State(state): State<AppState>, viewer: Viewer) -> Response {
    let caller = viewer.caller();
    if authorize(
        caller.actor(),
        &caller.rights,
        Action::ManageUsers,
        &Target::SERVER,
    )
    .is_err()
    {
        return error_page(
            StatusCode::FORBIDDEN,
            Frame::of(&viewer),
            "Administration is for administrators (the admin role).",
        );
    }
    match render(&state, &viewer).await {
        Ok(response) => response,
        Err(error) => refusal(&viewer, error),
    }
}

async fn render(state: &AppState, viewer: &Viewer) -> Result<Response, ApiError> {
    let groups = state.store.groups().await?;
    let grants = state.store.grants(None).await?;
    let describe = |grant: &ferry_core::access::Grant| {
        let mut text = grant.role.to_string();
        if let Some(service) = &grant.service {
            text.push_str(&format!(" for {service}"));
        }
        if let Some(environment) = &grant.environment {
            text.push_str(&format!(" in {environment}"));
        }
        text
    };
    let users = state
        .store
        .users()
        .await?
        .into_iter()
        .map(|user| User {
            groups: groups
                .iter()
                .filter(|group| group.members.contains(&user.name))
                .map(|group| group.name.clone())
                .collect::<Vec<_>>()
                .join(", "),
            // Their own grants, then those their groups give them.
            grants: grants
                .iter()
                .filter_map(|grant| {
                    if grant.user.as_deref() == Some(user.name.as_str()) {
                        return Some(describe(&grant.grant));
                    }
                    let group = grant.group.as_deref()?;
                    groups
                        .iter()
                        .any(|g| g.name == group && g.members.contains(&user.name))
                        .then(|| format!("{} (group {group})", describe(&grant.grant)))
                })
                .collect::<Vec<_>>()
                .join("; "),
            email: user.email.unwrap_or_default(),
            admin: user.admin,
            disabled: user.disabled_at.is_some(),
            name: user.name,
        })
        .collect();
    let groups = groups
        .iter()
        .map(|group| {
            let held: Vec<String> = grants
                .iter()
                .filter(|grant| grant.group.as_deref() == Some(group.name.as_str()))
                .map(|grant| describe(&grant.grant))
                .collect();
            (
                group.name.clone(),
                format!(
                    "members: {}; grants: {}",
                    group.members.join(", "),
                    held.join("; ")
                ),
            )
        })
        .collect();
    let agents = state
        .store
        .agents(None)
        .await?
        .into_iter()
        .map(|agent| Agent {
            id: agent.id,
            name: agent.name,
            environment: agent.environment,
            tags: agent
                .tags
                .iter()
                .map(|(key, value)| format!("{key}={value}"))
                .collect::<Vec<_>>()
                .join(", "),
            last_seen: when(agent.last_seen_at, "never"),
            revoked: agent.revoked_at.is_some(),
        })
        .collect();
    let tokens = state
        .store
        .tokens(None)
        .await?
        .into_iter()
        .map(|token| Token {
            id: token.id,
            name: token.name,
            user: token.user,
            prefix: token.prefix,
            last_used: when(token.last_used_at, "never"),
            expires: when(token.expires_at, "never"),
            revoked: token.revoked_at.is_some(),
        })
        .collect();
    Ok(page::send(
        StatusCode::OK,
        &AdminPage {
            frame: Frame::of(viewer),
            users,
            groups,
            agents,
            tokens,
        },
    ))
}

/// `POST /admin/agents/{id}/revoke`.
pub async fn revoke_agent(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { viewer, .. }: Posted<Button>,
) -> Response {
    let revoked = async {
        let id = crate::convert::id("agent", &id)?;
        crate::agent_admin::revoke(&state, &viewer.caller(), id).await
    };
    match revoked.await {
        Ok(_) => Redirect::to("/admin#agents-heading").into_response(),
        Err(error) => refusal(&viewer, error),
    }
}
