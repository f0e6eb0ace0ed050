//! Making a webhook subscription, from the API or the CLI: who may, which
//! format fits its address, the events it names, and its signing secret,
//! sealed with the server's key and shown once.

use ferry_api::NewWebhook;
use ferry_core::access::{Action, Target};
use ferry_core::chat::Format;
use ferry_core::event::EventSelection;
use ferry_core::webhook::SigningSecret;
use ferry_store::webhooks::WebhookRecord;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;
use crate::webhooks::SECRET_CONTEXT;

/// Makes the subscription `request` asks for: refused (403) unless
/// `caller` manages webhooks, (422) for an address its format cannot use,
/// unknown events, a malformed secret, or e-mail on a server without an
/// SMTP relay. Answers it with its signing secret.
pub async fn create(
    state: &AppState,
    caller: &Caller,
    request: &NewWebhook,
) -> Result<(WebhookRecord, SigningSecret), ApiError> {
    caller
        .require(state, Action::ManageWebhooks, &Target::SERVER)
        .await?;
    let format = match request.format.as_deref() {
        Some(name) => Format::parse(name)
            .map_err(|error| ApiError::Unprocessable(format!("format: {error}")))?,
        None if ferry_core::chat::mailto_recipients(&request.url).is_some() => Format::Email,
        None => Format::CloudEvents,
    };
    let url = if format == Format::Email {
        if state.webhooks.mail.is_none() {
            return Err(ApiError::Unprocessable(
                "this server sends no e-mail: its operator must start it with --smtp-url and \
                 --smtp-from before e-mail subscriptions can be made"
                    .into(),
            ));
        }
        let to = crate::mail::recipients(&request.url)
            .map_err(|error| ApiError::Unprocessable(format!("url: {error}")))?;
        let url = format!(
            "{}{}",
            ferry_core::chat::MAILTO,
            to.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(",")
        );
        ferry_core::limits::URL
            .check("url", &url)
            .map_err(|error| ApiError::Unprocessable(error.to_string()))?;
        url
    } else {
        if ferry_core::chat::mailto_recipients(&request.url).is_some() {
            return Err(ApiError::Unprocessable(format!(
                "url: a mailto: address takes format email, not {format}"
            )));
        }
        ferry_core::limits::check_link("url", &request.url).map_err(ApiError::Unprocessable)?;
        request.url.clone()
    };
    let events = EventSelection::parse(&request.events)
        .map_err(|error| ApiError::Unprocessable(format!("events: {error}")))?;
    let secret = match &request.secret {
        Some(text) => SigningSecret::parse(text)
            .map_err(|error| ApiError::Unprocessable(format!("secret: {error}")))?,
        None => {
            let mut key = vec![0u8; 32];
            getrandom::fill(&mut key).map_err(|error| {
                ApiError::Internal(format!("no random bytes for a signing secret: {error}"))
            })?;
            SigningSecret::from_key(key).map_err(ApiError::Internal)?
        }
    };
    let key = state
        .secret_key
        .as_ref()
        .ok_or_else(|| ApiError::Internal("the server has no key to seal secrets with".into()))?;
    let sealed = key
        .seal_with(SECRET_CONTEXT, secret.key())
        .map_err(|error| ApiError::Internal(format!("sealing the secret failed: {error}")))?;
    let record = state
        .store
        .create_webhook(
            caller.actor(),
            ferry_store::webhooks::NewWebhook {
                url: &url,
                format,
                events: &events,
                service: request.service.as_ref(),
                environment: request.environment.as_ref(),
                secret_sealed: &sealed,
            },
        )
        .await?;
    Ok((record, secret))
}
