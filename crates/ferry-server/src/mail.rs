//! E-mail notifications: the SMTP relay ferry sends through (`ferry serve
//! --smtp-url`, `--smtp-from`), and sending one notice to the recipients
//! of an e-mail subscription. The notice itself (subject, plain text,
//! HTML) is `ferry_core::chat::email`; this module only wraps it in a
//! multipart/alternative message and hands it to the relay. Each send is
//! an attempt of the webhook worker: a relay that refuses or cannot be
//! reached is a failed attempt, tried again on the webhook schedule.

use std::path::PathBuf;
use std::time::Duration;

use ferry_core::chat::email::Mail;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// How long one conversation with the relay may take.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// The most recipients one e-mail subscription may name.
pub const MAX_RECIPIENTS: usize = 20;

/// The relay, as `ferry serve` was told of it. Its `Debug` shows the relay's
/// host, never a password.
#[derive(Clone)]
pub struct SmtpSettings {
    /// `smtp://HOST[:PORT]` (no TLS), `smtp://HOST[:PORT]?tls=required`
    /// (STARTTLS, refused if the relay does not offer it),
    /// `smtp://…?tls=opportunistic` (STARTTLS when offered) or
    /// `smtps://HOST[:PORT]` (TLS from the first byte); a user and password
    /// may be in it (`smtp://user:password@host`).
    pub url: String,
    /// A file holding the password of the URL's user, instead of the URL.
    pub password_file: Option<PathBuf>,
    /// The sender, such as `ferry <ferry@example.com>`.
    pub from: String,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("relay", &relay_of(&self.url))
            .field("password_file", &self.password_file)
            .field("from", &self.from)
            .finish()
    }
}

/// The relay's scheme, host and port, for logs and errors: never its user
/// or password.
fn relay_of(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(parsed) => format!(
            "{}://{}{}",
            parsed.scheme(),
            parsed.host_str().unwrap_or("?"),
            parsed.port().map(|p| format!(":{p}")).unwrap_or_default()
        ),
        Err(_) => "an unreadable URL".to_owned(),
    }
}

/// Sends e-mail through the relay.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    relay: String,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("relay", &self.relay)
            .field("from", &self.from.to_string())
            .finish()
    }
}

impl Mailer {
    /// A mailer for the relay `settings` name; the error says what is
    /// wrong with them (the password never appears in it).
    pub fn new(settings: &SmtpSettings) -> Result<Mailer, String> {
        let relay = relay_of(&settings.url);
        let parsed = reqwest::Url::parse(&settings.url)
            .map_err(|e| format!("--smtp-url is not a URL ({e})"))?;
        if !matches!(parsed.scheme(), "smtp" | "smtps") {
            return Err(format!(
                "--smtp-url must start with smtp:// or smtps://, not {}://",
                parsed.scheme()
            ));
        }
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(&settings.url)
            .map_err(|e| format!("--smtp-url {relay} cannot be used: {e}"))?;
        if let Some(path) = &settings.password_file {
            if parsed.password().is_some() {
                return Err(
                    "the SMTP password is both in --smtp-url and in --smtp-password-file: give it once"
                        .to_owned(),
                );
            }
            if parsed.username().is_empty() {
                return Err(format!(
                    "--smtp-password-file needs a user in --smtp-url (smtp://USER@{})",
                    parsed.host_str().unwrap_or("HOST")
                ));
            }
            let password = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read --smtp-password-file {}: {e}", path.display()))?;
            let user = percent_decoded(parsed.username());
            builder = builder.credentials(Credentials::new(user, password.trim().to_owned()));
        }
        let from: Mailbox = settings.from.parse().map_err(|e| {
            format!(
                "--smtp-from {:?} is not a mailbox such as \"ferry <ferry@example.com>\" ({e})",
                settings.from
            )
        })?;
        Ok(Mailer {
            transport: builder.timeout(Some(SEND_TIMEOUT)).build(),
            from,
            relay,
        })
    }

    /// Sends `mail` to `to`; the relay's reply code when it took it, or
    /// why it did not. `key` names the message for good (the delivery and
    /// its event): every attempt sends the same `Message-ID`, so a message
    /// the relay took although ferry did not hear it is one message to its
    /// readers, not two.
    pub async fn send(&self, to: &[Address], mail: &Mail, key: &str) -> Result<u16, String> {
        if to.is_empty() {
            return Err("the subscription names no recipient".to_owned());
        }
        let left: String = key
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-._".contains(c) {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        let mut message = Message::builder()
            .from(self.from.clone())
            .message_id(Some(format!("<ferry.{left}@{}>", self.from.email.domain())))
            .subject(mail.subject.clone());
        for address in to {
            message = message.to(Mailbox::new(None, address.clone()));
        }
        let message = message
            .multipart(MultiPart::alternative_plain_html(
                mail.text.clone(),
                mail.html.clone(),
            ))
            .map_err(|e| format!("the e-mail could not be written: {e}"))?;
        let response = self
            .transport
            .send(message)
            .await
            .map_err(|e| format!("the SMTP relay {} did not take it: {e}", self.relay))?;
        Ok(response.code().to_string().parse().unwrap_or(250))
    }
}

/// `%XX` escapes of a URL's user name decoded (as the relay expects it).
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] == b'%'
            && let Some(byte) = bytes
                .get(at + 1..at + 3)
                .and_then(|hex| std::str::from_utf8(hex).ok())
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            decoded.push(byte);
            at += 3;
            continue;
        }
        decoded.push(bytes[at]);
        at += 1;
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

/// The recipients of an e-mail subscription's `mailto:` address, each a
/// valid address, one to [`MAX_RECIPIENTS`] of them.
pub fn recipients(url: &str) -> Result<Vec<Address>, String> {
    let names = ferry_core::chat::mailto_recipients(url).ok_or_else(|| {
        format!(
            "an e-mail subscription's url is mailto: and its recipients, not {:?}",
            ferry_core::chat::redacted_url(url)
        )
    })?;
    if names.is_empty() || names.len() > MAX_RECIPIENTS {
        return Err(format!(
            "an e-mail subscription names 1 to {MAX_RECIPIENTS} recipients, not {}",
            names.len()
        ));
    }
    names
        .iter()
        .map(|name| {
            name.parse::<Address>()
                .map_err(|e| format!("{name:?} is not an e-mail address ({e})"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(url: &str) -> SmtpSettings {
        SmtpSettings {
            url: url.to_owned(),
            password_file: None,
            from: "ferry <ferry@example.com>".to_owned(),
        }
    }

    #[test]
    fn the_relay_is_read_from_its_url_and_never_shows_its_password() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        for url in [
            "smtp://127.0.0.1:2525",
            "smtp://mail.example.com:587?tls=required",
            "smtps://user:hunter2@mail.example.com",
        ] {
            let mailer = Mailer::new(&settings(url)).unwrap();
            assert!(!format!("{mailer:?}").contains("hunter2"));
        }
        let shown = format!("{:?}", settings("smtps://user:hunter2@mail.example.com"));
        assert!(shown.contains("smtps://mail.example.com"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
        let error = Mailer::new(&settings("http://mail.example.com")).unwrap_err();
        assert!(error.contains("smtp://"), "{error}");
        let mut bad_from = settings("smtp://127.0.0.1:2525");
        bad_from.from = "not an address".to_owned();
        assert!(Mailer::new(&bad_from).unwrap_err().contains("--smtp-from"));
        let mut file_without_user = settings("smtp://127.0.0.1:2525");
        file_without_user.password_file = Some("/nonexistent".into());
        assert!(
            Mailer::new(&file_without_user)
                .unwrap_err()
                .contains("needs a user")
        );
    }

    #[test]
    fn recipients_are_checked_addresses() {
        let to = recipients("mailto:ops@example.com,Dev@Example.com").unwrap();
        assert_eq!(to.len(), 2);
        assert!(recipients("mailto:").is_err());
        assert!(
            recipients("mailto:ops@example.com,nobody")
                .unwrap_err()
                .contains("\"nobody\"")
        );
        assert!(recipients("https://example.com").is_err());
        let many = format!(
            "mailto:{}",
            (0..21)
                .map(|i| format!("u{i}@example.com"))
                .collect::<Vec<_>>()
                .join(",")
        );
        assert!(recipients(&many).is_err());
        assert_eq!(percent_decoded("ops%40example.com"), "ops@example.com");
    }
}
