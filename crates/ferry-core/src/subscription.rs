//! Webhook subscriptions as `ferry.toml` declares them (`[[webhook]]`):
//! each named, so that applying the file again finds it; its signing secret
//! is never in the file but in a file or an environment variable of the
//! server's machine, read when a delivery is signed.

use serde::{Deserialize, Serialize};

use crate::Name;
use crate::chat::{Format, MAILTO, mailto_recipients};
use crate::event::EventSelection;

/// A subscription declared in `ferry.toml`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSpec {
    /// Its name: the file's handle on it (`ferry webhook list` shows it).
    pub name: Name,
    /// Where deliveries go: an `https://` (or `http://`) address, or for
    /// e-mail `mailto:` and the recipients (`mailto:ops@example.com,…`).
    pub url: String,
    /// How deliveries are written: `cloudevents` (the default), `slack`,
    /// `teams` or `email` (the default for a `mailto:` url).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// The events it wants: `*`, or some of those `ferry webhook events`
    /// lists.
    pub events: Vec<String>,
    /// Only events of this service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<Name>,
    /// Only events of this environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<Name>,
    /// A file of the server's machine holding the signing secret
    /// (`whsec_…`), read when a delivery is signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_file: Option<String>,
    /// An environment variable of the server holding the signing secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_env: Option<String>,
}

/// Where a subscription's signing secret is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// Sealed with the server's key, in the database (subscriptions made
    /// with `ferry webhook create`).
    Sealed(String),
    /// In this file of the server's machine.
    File(String),
    /// In this environment variable of the server.
    Env(String),
}

impl SecretSource {
    const FILE: &'static str = "file:";
    const ENV: &'static str = "env:";

    /// As stored: the sealed text, or `file:PATH`, or `env:NAME` (sealed
    /// text begins with its version, never with either).
    pub fn stored(&self) -> String {
        match self {
            SecretSource::Sealed(sealed) => sealed.clone(),
            SecretSource::File(path) => format!("{}{path}", Self::FILE),
            SecretSource::Env(name) => format!("{}{name}", Self::ENV),
        }
    }

    /// Reads what [`SecretSource::stored`] wrote.
    pub fn from_stored(text: &str) -> SecretSource {
        if let Some(path) = text.strip_prefix(Self::FILE) {
            SecretSource::File(path.to_owned())
        } else if let Some(name) = text.strip_prefix(Self::ENV) {
            SecretSource::Env(name.to_owned())
        } else {
            SecretSource::Sealed(text.to_owned())
        }
    }
}

impl WebhookSpec {
    /// The format it names, or the one its url implies.
    pub fn format(&self) -> Result<Format, String> {
        match &self.format {
            Some(name) => Format::parse(name),
            None if mailto_recipients(&self.url).is_some() => Ok(Format::Email),
            None => Ok(Format::CloudEvents),
        }
    }

    /// The events it wants.
    pub fn selection(&self) -> Result<EventSelection, String> {
        EventSelection::parse(&self.events)
    }

    /// Where its secret is, when the file says: `None` for chat and e-mail
    /// subscriptions that name none (nothing checks their signature).
    pub fn secret_source(&self) -> Option<SecretSource> {
        match (&self.secret_file, &self.secret_env) {
            (Some(path), _) => Some(SecretSource::File(path.trim().to_owned())),
            (None, Some(name)) => Some(SecretSource::Env(name.trim().to_owned())),
            (None, None) => None,
        }
    }

    /// The same subscription written one way, so that what the file says
    /// and what is stored compare equal when they mean the same: the
    /// format left out where it is the one the url implies, the events in
    /// their documented order, each once.
    pub fn normalized(&self) -> WebhookSpec {
        let mut spec = self.clone();
        let implied = if mailto_recipients(&self.url).is_some() {
            Format::Email
        } else {
            Format::CloudEvents
        };
        if let Ok(format) = self.format() {
            spec.format = (format != implied).then(|| format.as_str().to_owned());
        }
        if let Ok(selection) = self.selection() {
            spec.events = selection.names();
        }
        spec
    }

    /// Checks it on its own: a known format that fits the url, known
    /// events, one place for the secret, and a secret for a CloudEvents
    /// subscription (its receiver checks the signature).
    pub fn validate(&self) -> Result<(), String> {
        let format = self.format()?;
        if format == Format::Email {
            let recipients = mailto_recipients(&self.url).ok_or_else(|| {
                format!(
                    "url: an e-mail subscription's url is {MAILTO} and its recipients (mailto:ops@example.com), not {:?}",
                    crate::chat::redacted_url(&self.url)
                )
            })?;
            if recipients.is_empty() {
                return Err("url: name at least one recipient after mailto:".into());
            }
            for recipient in &recipients {
                crate::access::check_email(recipient).map_err(|error| format!("url: {error}"))?;
            }
            crate::limits::URL
                .check("url", &self.url)
                .map_err(|error| error.to_string())?;
        } else {
            if mailto_recipients(&self.url).is_some() {
                return Err(format!(
                    "url: a mailto: address takes format \"email\", not {format:?}",
                    format = format.as_str()
                ));
            }
            crate::limits::check_link("url", &self.url)?;
        }
        self.selection()
            .map_err(|error| format!("events: {error}"))?;
        match (&self.secret_file, &self.secret_env) {
            (Some(_), Some(_)) => {
                return Err(
                    "name the signing secret's place once: secret_file or secret_env, not both"
                        .into(),
                );
            }
            (Some(path), None) if !path.trim().starts_with('/') => {
                return Err(format!(
                    "secret_file: {path:?} is not an absolute path; the server reads it, so name it from / (\"/etc/ferry/webhook-secret\")"
                ));
            }
            (None, Some(name))
                if name.trim().is_empty()
                    || !name
                        .trim()
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_') =>
            {
                return Err(format!(
                    "secret_env: {name:?} is not an environment variable's name; expected letters, digits and _ (FERRY_WEBHOOK_SECRET)"
                ));
            }
            (None, None) if format == Format::CloudEvents => {
                return Err(
                    "a CloudEvents subscription's receiver checks its signature: name where the server finds the signing secret, with secret_file = \"/etc/ferry/…\" or secret_env = \"NAME\" (the secret itself never belongs in this file)"
                        .into(),
                );
            }
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(url: &str) -> WebhookSpec {
        WebhookSpec {
            name: Name::parse("ops").unwrap(),
            url: url.into(),
            format: None,
            events: vec!["deployment.failed".into()],
            service: None,
            environment: None,
            secret_file: None,
            secret_env: Some("OPS_SECRET".into()),
        }
    }

    #[test]
    fn a_subscription_names_its_format_events_and_secret() {
        assert_eq!(spec("https://hooks.example.com/x").validate(), Ok(()));
        let email = WebhookSpec {
            secret_env: None,
            ..spec("mailto:ops@example.com,dev@example.com")
        };
        assert_eq!(email.format(), Ok(Format::Email));
        assert_eq!(email.validate(), Ok(()));
        let slack = WebhookSpec {
            format: Some("slack".into()),
            secret_env: None,
            ..spec("https://hooks.slack.com/services/T/B/X")
        };
        assert_eq!(slack.validate(), Ok(()), "chat needs no signing secret");
    }

    #[test]
    fn what_cannot_work_is_refused_with_the_reason() {
        let unsigned = WebhookSpec {
            secret_env: None,
            ..spec("https://hooks.example.com/x")
        };
        assert!(unsigned.validate().unwrap_err().contains("secret_file"));
        let both = WebhookSpec {
            secret_file: Some("/etc/ferry/s".into()),
            ..spec("https://hooks.example.com/x")
        };
        assert!(both.validate().unwrap_err().contains("not both"));
        let relative = WebhookSpec {
            secret_env: None,
            secret_file: Some("secret.txt".into()),
            ..spec("https://hooks.example.com/x")
        };
        assert!(relative.validate().unwrap_err().contains("absolute path"));
        let unknown = WebhookSpec {
            events: vec!["deployment.deployed".into()],
            ..spec("https://hooks.example.com/x")
        };
        assert!(unknown.validate().unwrap_err().starts_with("events: "));
        let mail_as_slack = WebhookSpec {
            format: Some("slack".into()),
            ..spec("mailto:ops@example.com")
        };
        assert!(
            mail_as_slack
                .validate()
                .unwrap_err()
                .contains("takes format \"email\"")
        );
        let not_an_address = spec("mailto:ops");
        assert!(not_an_address.validate().unwrap_err().starts_with("url: "));
        assert!(spec("ftp://x.example.com").validate().is_err());
    }

    #[test]
    fn the_same_subscription_written_two_ways_is_one() {
        let written = WebhookSpec {
            format: Some("CloudEvents".into()),
            events: vec![
                "release.created".into(),
                "deployment.failed".into(),
                "release.created".into(),
            ],
            ..spec("https://hooks.example.com/x")
        };
        let stored = WebhookSpec {
            events: vec!["release.created".into(), "deployment.failed".into()],
            ..spec("https://hooks.example.com/x")
        };
        assert_eq!(written.normalized(), stored.normalized());
        assert_eq!(written.normalized().format, None);
        let teams = WebhookSpec {
            format: Some("teams".into()),
            ..stored.clone()
        };
        assert_eq!(teams.normalized().format.as_deref(), Some("teams"));
    }

    #[test]
    fn secret_sources_are_stored_and_read_back() {
        for source in [
            SecretSource::Sealed("v1.abcdef".into()),
            SecretSource::File("/etc/ferry/hook".into()),
            SecretSource::Env("OPS_SECRET".into()),
        ] {
            assert_eq!(SecretSource::from_stored(&source.stored()), source);
        }
    }
}
