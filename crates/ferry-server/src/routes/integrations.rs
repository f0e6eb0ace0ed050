//! Callbacks from chat services: Slack's interactivity Request URL, where
//! a click on an approval request's Approve or Reject button arrives.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use ferry_api::Problem;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::ApiResult;
use crate::state::AppState;

/// What Slack shows the person who clicked (a message only they see).
#[derive(Debug, Serialize, ToSchema)]
pub struct SlackAnswer {
    /// `ephemeral`: shown to the person who clicked only.
    pub response_type: String,
    /// `false`: the message with the buttons stays as it is.
    pub replace_original: bool,
    /// What ferry did, or why it refused (Slack's escaping applied).
    pub text: String,
}

/// A click on an approval request's Approve or Reject button, posted by
/// Slack (its interactivity Request URL). It takes no ferry token: the
/// request must carry Slack's signature (`X-Slack-Signature`, HMAC-SHA256
/// of `v0:TIMESTAMP:BODY` with the app's signing secret) and a
/// `X-Slack-Request-Timestamp` within five minutes of now. The clicker is
/// the ferry user whose e-mail Slack's `users.info` gives, and their
/// decision is held to the same rules as `ferry approve`; a refusal is
/// answered 200 with its reason, for Slack to show.
#[utoipa::path(post, path = "/api/v1/integrations/slack/interactions", tag = "integrations",
    request_body(content = String, content_type = "application/x-www-form-urlencoded",
        description = "`payload=` and Slack's `block_actions` JSON, form-encoded, as Slack sends it"),
    params(
        ("X-Slack-Request-Timestamp" = i64, Header, description = "When Slack signed the request, in Unix seconds"),
        ("X-Slack-Signature" = String, Header, description = "`v0=` and the hex HMAC-SHA256 of `v0:TIMESTAMP:BODY` keyed with the signing secret")),
    responses((status = 200, description = "What ferry did, or why it refused, for Slack to show", body = SlackAnswer),
        (status = 401, description = "Not signed by Slack, or signed more than five minutes from now (audited)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Approving from Slack is not set up on this server", body = Problem, content_type = "application/problem+json")))]
pub async fn slack_interactions(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<axum::Json<serde_json::Value>> {
    Ok(axum::Json(
        crate::slack::interaction(&state, &headers, &body).await?,
    ))
}
