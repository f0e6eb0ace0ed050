//! Slack: the message an incoming webhook posts (`text` for notifications,
//! Block Kit `blocks` for the channel; Mattermost and Rocket.Chat read the
//! same), with **Approve** and **Reject** buttons on an approval request;
//! and what comes back when someone clicks one: the request's signature
//! (Slack's request signing), the click itself, and who clicked (their
//! e-mail, from `users.info`).

use hmac::{KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::{ApprovalAsk, Notice, cut};
use crate::Name;

/// The `action_id` of the Approve button.
pub const APPROVE_ACTION: &str = "ferry.approve";
/// The `action_id` of the Reject button.
pub const REJECT_ACTION: &str = "ferry.reject";
/// The `block_id` of the buttons' block.
pub const APPROVAL_BLOCK: &str = "ferry.approval";

/// How far a request's timestamp may be from now, in seconds, either way:
/// an older request is refused, so a captured one cannot be sent again
/// later.
pub const REPLAY_WINDOW_SECONDS: i64 = 5 * 60;

/// The most facts a message shows (Slack takes ten fields in a section).
const MAX_FIELDS: usize = 10;
/// Slack's limit of a section's text, less room for markup.
const MAX_SECTION: usize = 2900;

/// Escapes text as Slack asks of `text` and `mrkdwn`: `&`, `<` and `>`
/// (which would otherwise make links and mentions).
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// The incoming-webhook message of a notice.
pub fn message(notice: &Notice) -> Value {
    let headline = escape(&notice.headline);
    let mut blocks = vec![json!({
        "type": "section",
        "text": { "type": "mrkdwn", "text": cut(&format!("*{headline}*"), MAX_SECTION) },
    })];
    if !notice.facts.is_empty() {
        let fields: Vec<Value> = notice
            .facts
            .iter()
            .take(MAX_FIELDS)
            .map(|(label, value)| {
                json!({ "type": "mrkdwn", "text": format!("*{}*\n{}", escape(label), escape(value)) })
            })
            .collect();
        blocks.push(json!({ "type": "section", "fields": fields }));
    }
    let mut context = format!("`{}`", escape(&notice.kind));
    if let Some(time) = &notice.time {
        context.push_str(&format!(" · {}", escape(time)));
    }
    if let Some(link) = &notice.link {
        context.push_str(&format!(" · <{}|Open in ferry>", escape(link)));
    }
    blocks.push(json!({
        "type": "context",
        "elements": [{ "type": "mrkdwn", "text": context }],
    }));
    if let Some(ask) = &notice.approval {
        let value = action_value(ask);
        blocks.push(json!({
            "type": "actions",
            "block_id": APPROVAL_BLOCK,
            "elements": [
                { "type": "button", "action_id": APPROVE_ACTION, "style": "primary",
                  "text": { "type": "plain_text", "text": "Approve" }, "value": value },
                { "type": "button", "action_id": REJECT_ACTION, "style": "danger",
                  "text": { "type": "plain_text", "text": "Reject" }, "value": value },
            ],
        }));
    }
    json!({ "text": headline, "blocks": blocks })
}

/// The `value` of an approval's buttons: what is to be approved, as JSON
/// (`{"service":"api","version":"1.4.2","environment":"prod"}`).
pub fn action_value(ask: &ApprovalAsk) -> String {
    json!({
        "service": ask.service,
        "version": ask.version.to_string(),
        "environment": ask.environment,
    })
    .to_string()
}

/// Reads a button's `value` back.
pub fn parse_action_value(value: &str) -> Result<ApprovalAsk, String> {
    let json: Value = serde_json::from_str(value)
        .map_err(|_| "the button's value is not one ferry wrote".to_owned())?;
    let text = |key: &str| {
        json.get(key)
            .and_then(Value::as_str)
            .ok_or_else(|| format!("the button's value names no {key}"))
    };
    Ok(ApprovalAsk {
        service: Name::parse(text("service")?).map_err(|e| format!("service: {e}"))?,
        version: crate::release::parse_version(text("version")?)?,
        environment: Name::parse(text("environment")?).map_err(|e| format!("environment: {e}"))?,
    })
}

/// Why a request is not taken as Slack's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestRefused {
    /// `X-Slack-Request-Timestamp` or `X-Slack-Signature` is missing.
    #[error("the request is not signed: it has no X-Slack-Request-Timestamp or X-Slack-Signature")]
    Unsigned,
    /// The timestamp is not a number of seconds.
    #[error("X-Slack-Request-Timestamp is not a Unix time in seconds")]
    BadTimestamp,
    /// The timestamp is too far from now.
    #[error(
        "the request was signed {0} seconds from now, more than {REPLAY_WINDOW_SECONDS} allow: a replay, or a clock that is off"
    )]
    Stale(i64),
    /// The signature is not the body's.
    #[error("the signature is not Slack's for this request (check the signing secret)")]
    BadSignature,
}

/// The `X-Slack-Signature` of a request: `v0=` and the hex HMAC-SHA256,
/// keyed with the signing secret, of `v0:TIMESTAMP:BODY`.
pub fn sign(signing_secret: &[u8], timestamp: &str, body: &[u8]) -> String {
    format!(
        "v0={}",
        hex::encode(mac(signing_secret, timestamp, body).finalize().into_bytes())
    )
}

fn mac(signing_secret: &[u8], timestamp: &str, body: &[u8]) -> hmac::Hmac<Sha256> {
    let mut mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(signing_secret)
        .expect("HMAC takes a key of any length");
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    mac
}

/// Checks that a request comes from Slack: its signature is the body's
/// under the signing secret (compared in constant time), and its timestamp
/// is within [`REPLAY_WINDOW_SECONDS`] of `now` (Unix seconds).
pub fn verify(
    signing_secret: &[u8],
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<(), RequestRefused> {
    let (Some(timestamp), Some(signature)) = (timestamp, signature) else {
        return Err(RequestRefused::Unsigned);
    };
    let seconds: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| RequestRefused::BadTimestamp)?;
    let off = seconds.saturating_sub(now);
    if off.saturating_abs() > REPLAY_WINDOW_SECONDS {
        return Err(RequestRefused::Stale(off));
    }
    let given = signature
        .trim()
        .strip_prefix("v0=")
        .and_then(|hex_digits| hex::decode(hex_digits).ok())
        .ok_or(RequestRefused::BadSignature)?;
    mac(signing_secret, timestamp.trim(), body)
        .verify_slice(&given)
        .map_err(|_| RequestRefused::BadSignature)
}

/// The value of field `name` of a form-encoded body
/// (`application/x-www-form-urlencoded`), decoded; `None` when absent or
/// not UTF-8.
pub fn form_field(body: &[u8], name: &str) -> Option<String> {
    body.split(|b| *b == b'&').find_map(|pair| {
        let (key, value) = match pair.iter().position(|b| *b == b'=') {
            Some(at) => (&pair[..at], &pair[at + 1..]),
            None => (pair, &[][..]),
        };
        (form_decode(key)? == name)
            .then(|| form_decode(value))
            .flatten()
    })
}

/// `+` as a space and `%XX` as its byte; `None` for a bad escape or bytes
/// that are not UTF-8.
fn form_decode(encoded: &[u8]) -> Option<String> {
    let mut bytes = Vec::with_capacity(encoded.len());
    let mut at = 0;
    while at < encoded.len() {
        match encoded[at] {
            b'+' => bytes.push(b' '),
            b'%' => {
                let hex_digits = encoded.get(at + 1..at + 3)?;
                bytes.push(u8::from_str_radix(std::str::from_utf8(hex_digits).ok()?, 16).ok()?);
                at += 2;
            }
            byte => bytes.push(byte),
        }
        at += 1;
    }
    String::from_utf8(bytes).ok()
}

/// A click on one of ferry's buttons, as Slack posts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Click {
    /// The Slack user who clicked (`U…`).
    pub user: String,
    /// Approve (true) or reject (false).
    pub approve: bool,
    /// What.
    pub ask: ApprovalAsk,
    /// Where Slack takes messages about the click, if it gave one.
    pub response_url: Option<String>,
}

/// Reads the `payload` of an interaction: a `block_actions` click on
/// ferry's Approve or Reject button. Anything else is an error saying what
/// it is.
pub fn click(payload: &str) -> Result<Click, String> {
    let payload: Value =
        serde_json::from_str(payload).map_err(|e| format!("the payload is not JSON: {e}"))?;
    let kind = payload.get("type").and_then(Value::as_str).unwrap_or("");
    if kind != "block_actions" {
        return Err(format!(
            "ferry answers clicks on its buttons (block_actions), not {kind:?}"
        ));
    }
    let user = payload
        .pointer("/user/id")
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
        .ok_or("the payload names no user")?
        .to_owned();
    let action = payload
        .get("actions")
        .and_then(Value::as_array)
        .and_then(|actions| actions.first())
        .ok_or("the payload holds no action")?;
    let approve = match action.get("action_id").and_then(Value::as_str) {
        Some(APPROVE_ACTION) => true,
        Some(REJECT_ACTION) => false,
        other => return Err(format!("{other:?} is not one of ferry's buttons")),
    };
    let ask = parse_action_value(action.get("value").and_then(Value::as_str).unwrap_or(""))?;
    Ok(Click {
        user,
        approve,
        ask,
        response_url: payload
            .get("response_url")
            .and_then(Value::as_str)
            .map(str::to_owned),
    })
}

/// The e-mail of a user from Slack's `users.info` answer
/// (`{"ok":true,"user":{"profile":{"email":"…"}}}`); the error says what
/// Slack said instead.
pub fn email_of(users_info: &Value) -> Result<String, String> {
    if users_info.get("ok").and_then(Value::as_bool) != Some(true) {
        let error = users_info
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or("no reason given");
        return Err(format!("Slack's users.info refused: {error}"));
    }
    users_info
        .pointer("/user/profile/email")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|email| !email.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| {
            "Slack shows no e-mail for this user (the app needs the users:read.email scope)"
                .to_owned()
        })
}

/// The answer to a click: a message only the clicker sees, leaving the
/// original message as it is.
pub fn answer(text: &str) -> Value {
    json!({
        "response_type": "ephemeral",
        "replace_original": false,
        "text": escape(text),
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::{approval_requested, failed};
    use super::*;

    const SECRET: &[u8] = b"8f742231b10e8888abcd99yyyzzz85a5";

    #[test]
    fn a_notice_is_text_and_blocks_with_slacks_escaping() {
        let mut event = failed();
        event["data"]["by"] = json!("<!channel> & co");
        let message = message(&Notice::from_cloudevent(&event));
        assert_eq!(message["text"], "Deployment 42 of api@1.4.2 to prod failed");
        let blocks = message["blocks"].as_array().unwrap();
        assert_eq!(
            blocks[0]["text"]["text"],
            "*Deployment 42 of api@1.4.2 to prod failed*"
        );
        let fields: Vec<&str> = blocks[1]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["text"].as_str().unwrap())
            .collect();
        assert!(fields.contains(&"*Service*\napi"), "{fields:?}");
        assert!(
            fields.contains(&"*By*\n&lt;!channel&gt; &amp; co"),
            "no mention can be made: {fields:?}"
        );
        let context = blocks[2]["elements"][0]["text"].as_str().unwrap();
        assert!(
            context.ends_with("<https://ferry.example.com/deployments/42|Open in ferry>"),
            "{context}"
        );
        assert!(blocks.iter().all(|b| b["type"] != "actions"));
    }

    #[test]
    fn an_approval_request_has_approve_and_reject_buttons() {
        let message = message(&Notice::from_cloudevent(&approval_requested()));
        let actions = message["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["type"] == "actions")
            .expect("an actions block");
        let buttons = actions["elements"].as_array().unwrap();
        assert_eq!(buttons[0]["action_id"], APPROVE_ACTION);
        assert_eq!(buttons[0]["text"]["text"], "Approve");
        assert_eq!(buttons[1]["action_id"], REJECT_ACTION);
        let ask = parse_action_value(buttons[1]["value"].as_str().unwrap()).unwrap();
        assert_eq!(ask.release(), "api@1.4.2");
        assert_eq!(ask.environment.as_str(), "prod");
    }

    #[test]
    fn a_signed_request_verifies_and_a_changed_one_does_not() {
        // Slack's own example (its documentation of request signing).
        let body = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
        let signature = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";
        let at = 1_531_420_618;
        assert_eq!(sign(SECRET, "1531420618", body), signature);
        assert_eq!(
            verify(SECRET, Some("1531420618"), Some(signature), body, at + 10),
            Ok(())
        );
        let mut changed = body.to_vec();
        changed[0] = b'T';
        assert_eq!(
            verify(SECRET, Some("1531420618"), Some(signature), &changed, at),
            Err(RequestRefused::BadSignature)
        );
        assert_eq!(
            verify(
                b"another secret",
                Some("1531420618"),
                Some(signature),
                body,
                at
            ),
            Err(RequestRefused::BadSignature)
        );
        assert_eq!(
            verify(SECRET, Some("1531420618"), Some("v0=zz"), body, at),
            Err(RequestRefused::BadSignature)
        );
        assert_eq!(
            verify(SECRET, None, Some(signature), body, at),
            Err(RequestRefused::Unsigned)
        );
        assert_eq!(
            verify(SECRET, Some("soon"), Some(signature), body, at),
            Err(RequestRefused::BadTimestamp)
        );
    }

    #[test]
    fn requests_older_or_newer_than_five_minutes_are_refused() {
        let body = b"payload=%7B%7D";
        let signed = sign(SECRET, "1000000", body);
        let check = |now| verify(SECRET, Some("1000000"), Some(&signed), body, now);
        assert_eq!(check(1_000_000 + 300), Ok(()));
        assert_eq!(check(1_000_000 - 300), Ok(()));
        assert_eq!(check(1_000_000 + 301), Err(RequestRefused::Stale(-301)));
        assert_eq!(check(1_000_000 - 301), Err(RequestRefused::Stale(301)));
        assert!(
            RequestRefused::Stale(-301)
                .to_string()
                .contains("-301 seconds from now")
        );
    }

    #[test]
    fn a_click_is_read_from_the_form_encoded_payload() {
        let payload = json!({
            "type": "block_actions",
            "user": { "id": "U123", "username": "bob" },
            "response_url": "https://hooks.slack.com/actions/T/1/x",
            "actions": [{ "action_id": REJECT_ACTION, "block_id": APPROVAL_BLOCK,
                "value": r#"{"service":"api","version":"1.4.2","environment":"prod"}"# }],
        })
        .to_string();
        let body = format!(
            "payload={}",
            payload
                .bytes()
                .map(|b| if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                })
                .collect::<String>()
        );
        let read = form_field(body.as_bytes(), "payload").unwrap();
        assert_eq!(read, payload);
        let click = click(&read).unwrap();
        assert_eq!(click.user, "U123");
        assert!(!click.approve);
        assert_eq!(click.ask.release(), "api@1.4.2");
        assert_eq!(
            click.response_url.as_deref(),
            Some("https://hooks.slack.com/actions/T/1/x")
        );
        assert_eq!(form_field(b"a=1&b=x+y%21", "b").as_deref(), Some("x y!"));
        assert_eq!(form_field(b"a=%zz", "a"), None);
        assert_eq!(form_field(b"a=1", "payload"), None);
    }

    #[test]
    fn clicks_on_anything_else_are_errors() {
        assert!(click("{").is_err());
        let other = json!({ "type": "view_submission", "user": { "id": "U1" } }).to_string();
        assert!(click(&other).unwrap_err().contains("view_submission"));
        let foreign = json!({ "type": "block_actions", "user": { "id": "U1" },
            "actions": [{ "action_id": "other.app", "value": "x" }] })
        .to_string();
        assert!(click(&foreign).unwrap_err().contains("other.app"));
        let tampered = json!({ "type": "block_actions", "user": { "id": "U1" },
            "actions": [{ "action_id": APPROVE_ACTION, "value": "{\"service\":\"../x\"}" }] })
        .to_string();
        assert!(click(&tampered).is_err());
    }

    #[test]
    fn the_email_comes_from_users_info() {
        let ok = json!({ "ok": true, "user": { "id": "U1", "profile": { "email": " Bob@Example.com " } } });
        assert_eq!(email_of(&ok).unwrap(), "Bob@Example.com");
        let scope = json!({ "ok": false, "error": "missing_scope" });
        assert!(email_of(&scope).unwrap_err().contains("missing_scope"));
        let hidden = json!({ "ok": true, "user": { "profile": {} } });
        assert!(email_of(&hidden).unwrap_err().contains("users:read.email"));
    }

    #[test]
    fn answers_are_ephemeral_and_escaped() {
        let answer = answer("refused: a <b>");
        assert_eq!(answer["response_type"], "ephemeral");
        assert_eq!(answer["replace_original"], false);
        assert_eq!(answer["text"], "refused: a &lt;b&gt;");
    }
}
