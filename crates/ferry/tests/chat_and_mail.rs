//! Events told to people, against a real server, real agents and real
//! receivers: Slack and Teams messages posted to the webhook receiver
//! (`tests/webhooks/receiver.py`), e-mails sent to an SMTP server made with
//! Python's `aiosmtpd` and read back with Python's `email` package
//! (`tests/chat/smtp_sink.py`), and approving from Slack: button clicks
//! signed as Slack signs them, the clicker found through a stand-in for
//! Slack's Web API (`tests/chat/slack_api.py`), and held to the same rules
//! as `ferry approve`.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use support::{Agent, Server, free_port};

const LONG: Duration = Duration::from_secs(60);

/// The receivers' signing secret (`whsec_` and 32 bytes in base64).
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwAAAAAAAAAAA=";

/// The Slack app's signing secret and bot token in these tests.
const SLACK_SIGNING_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
const SLACK_BOT_TOKEN: &str = "xoxb-test-token-not-a-real-one";

/// A Python helper process, killed when dropped.
struct Helper {
    child: Child,
    port: u16,
}

impl Helper {
    /// Runs `script` (under `tests/`) with `args`, and waits for its
    /// `listening` line.
    fn start(script: &str, port: u16, args: &[&Path]) -> Helper {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests")
            .join(script);
        let mut child = Command::new("python3")
            .arg(&path)
            .arg(port.to_string())
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs the test's helpers (install Python 3)");
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        assert_eq!(first.trim(), "listening", "{script} did not start: {first}");
        Helper { child, port }
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The webhook receiver and what it logged.
struct Receiver {
    _helper: Helper,
    log: PathBuf,
}

impl Receiver {
    fn start(dir: &Path) -> Receiver {
        let secret = dir.join("secret");
        std::fs::write(&secret, SECRET).unwrap();
        let log = dir.join("deliveries.jsonl");
        let helper = Helper::start("webhooks/receiver.py", free_port(), &[&secret, &log]);
        Receiver {
            _helper: helper,
            log,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self._helper.port)
    }

    /// Waits for a request whose body `wanted` accepts; answers it.
    #[track_caller]
    fn wait_for(&self, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + LONG;
        loop {
            let requests = json_lines(&self.log);
            if let Some(found) = requests.iter().find(|r| wanted(&r["body"])) {
                return found.clone();
            }
            assert!(
                Instant::now() < deadline,
                "{what} never arrived; received: {requests:#?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn json_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// `ferry webhook create` with the receivers' secret: the new webhook.
fn subscribe(server: &Server, dir: &Path, args: &[&str]) -> Value {
    let secret = dir.join("secret");
    std::fs::write(&secret, SECRET).unwrap();
    let mut all = vec![
        "webhook",
        "create",
        "--secret-file",
        secret.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    server.json(&all)["webhook"].clone()
}

/// The texts of a Slack message's section fields.
fn slack_fields(message: &Value) -> Vec<String> {
    message["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|block| block["fields"].as_array())
        .flatten()
        .map(|field| field["text"].as_str().unwrap().to_owned())
        .collect()
}

const DEPLOY_CONFIG: &str = r#"
[[environment]]
name = "dev"
tier = "development"

[lifecycle.default]
phases = [["dev"]]

[[service]]
name = "api"
deploy.steps = [{ name = "install", run = "true" }]

[[service]]
name = "broken"
deploy.steps = [{ name = "install", run = "false" }]
"#;

#[test]
fn slack_and_teams_subscriptions_get_the_messages_people_read() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::builder()
        .args(&["--public-url", "https://ferry.example.com"])
        .start();
    server.apply(DEPLOY_CONFIG);
    let _agent = Agent::start(&server, "dev", "dev-1", &[]);
    let (slack_dir, teams_dir) = (dir.path().join("slack"), dir.path().join("teams"));
    std::fs::create_dir_all(&slack_dir).unwrap();
    std::fs::create_dir_all(&teams_dir).unwrap();
    let slack = Receiver::start(&slack_dir);
    let teams = Receiver::start(&teams_dir);
    let events = ["--events", "deployment.succeeded,deployment.failed"];
    let slack_hook = subscribe(
        &server,
        &slack_dir,
        &[&["--url", &slack.url(), "--format", "slack"], &events[..]].concat(),
    );
    let teams_hook = subscribe(
        &server,
        &teams_dir,
        &[&["--url", &teams.url(), "--format", "teams"], &events[..]].concat(),
    );
    assert_eq!(slack_hook["format"], "slack");
    assert_eq!(teams_hook["format"], "teams");
    // An incoming webhook's address holds its credential: never shown whole.
    assert_eq!(
        slack_hook["url"],
        format!("http://127.0.0.1:{}/…", slack._helper.port)
    );
    let listed = server.ferry(&["webhook", "list"]).success();
    assert!(listed.stdout.contains("slack"), "{listed:#?}");
    assert!(!listed.stdout.contains("/hook"), "{listed:#?}");

    server
        .ferry(&["release", "create", "api", "--version", "1.4.2"])
        .success();
    let live = server.promote("api@1.4.2", "dev");
    assert_eq!(server.wait_until_ended(live, LONG)["status"], "succeeded");
    server
        .ferry(&["release", "create", "broken", "--version", "2.0.0"])
        .success();
    let broken = server.promote("broken@2.0.0", "dev");
    assert_eq!(server.wait_until_ended(broken, LONG)["status"], "failed");

    // Slack: the sentence as the notification, and blocks for the channel.
    let posted = slack.wait_for("the Slack message of the success", |body| {
        body["text"] == "api@1.4.2 is live in dev"
    });
    assert_eq!(posted["verified"], true, "signed like every delivery");
    assert_eq!(posted["content_type"], "application/json");
    let message = &posted["body"];
    assert_eq!(message["blocks"][0]["type"], "section");
    assert_eq!(
        message["blocks"][0]["text"]["text"],
        "*api@1.4.2 is live in dev*"
    );
    let fields = slack_fields(message);
    for expected in ["*Service*\napi", "*Version*\n1.4.2", "*Environment*\ndev"] {
        assert!(fields.contains(&expected.to_owned()), "{fields:?}");
    }
    let context = message["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["type"] == "context")
        .expect("a context block");
    let context = context["elements"][0]["text"].as_str().unwrap();
    assert!(context.starts_with("`deployment.succeeded`"), "{context}");
    assert!(
        context.ends_with(&format!(
            "<https://ferry.example.com/deployments/{live}|Open in ferry>"
        )),
        "{context}"
    );
    let failed = slack.wait_for("the Slack message of the failure", |body| {
        body["text"] == format!("Deployment {broken} of broken@2.0.0 to dev failed")
    });
    assert!(
        slack_fields(&failed["body"]).contains(&"*Status*\nfailed".to_owned()),
        "{failed:#}"
    );

    // Teams: one Adaptive Card.
    let posted = teams.wait_for("the Teams message of the failure", |body| {
        body["attachments"][0]["content"]["body"][0]["text"]
            == format!("Deployment {broken} of broken@2.0.0 to dev failed")
    });
    assert_eq!(posted["verified"], true);
    let message = &posted["body"];
    assert_eq!(message["type"], "message");
    let attachment = &message["attachments"][0];
    assert_eq!(
        attachment["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    let card = &attachment["content"];
    assert_eq!(card["type"], "AdaptiveCard");
    assert_eq!(card["version"], "1.4");
    assert_eq!(card["body"][0]["color"], "Attention");
    let facts = card["body"][1]["facts"].as_array().unwrap();
    assert!(
        facts.contains(&json!({ "title": "Environment", "value": "dev" })),
        "{facts:#?}"
    );
    assert_eq!(
        card["actions"][0]["url"],
        format!("https://ferry.example.com/deployments/{broken}")
    );
    teams.wait_for("the Teams message of the success", |body| {
        body["summary"] == "api@1.4.2 is live in dev"
    });

    // Delivered like any webhook: each once, recorded.
    let deliveries = server.json(&["webhook", "deliveries", &slack_hook["id"].to_string()]);
    let states: Vec<&str> = deliveries
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["delivered", "delivered"], "{deliveries:#}");

    // This server has no SMTP relay: an e-mail subscription is refused.
    let refused = server
        .ferry(&[
            "webhook",
            "create",
            "--email",
            "ops@example.com",
            "--events",
            "*",
        ])
        .code(1);
    assert!(
        refused.stderr.contains("this server sends no e-mail")
            && refused.stderr.contains("--smtp-url"),
        "{refused:#?}"
    );
    // Nor is Slack set up: its callback route says so to a request that
    // looks like Slack's, and refuses an unsigned one as ever.
    let (status, body) = post(
        &server,
        "/api/v1/integrations/slack/interactions",
        &[
            ("X-Slack-Request-Timestamp", "1700000000".to_owned()),
            ("X-Slack-Signature", "v0=00".to_owned()),
        ],
        "payload=%7B%7D",
    );
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("not set up"), "{body}");
    let (status, body) = post(
        &server,
        "/api/v1/integrations/slack/interactions",
        &[],
        "payload=%7B%7D",
    );
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("no X-Slack-Signature header"), "{body}");
}

/// The messages the SMTP sink received, as Python's `email` read them.
fn received_mail(dir: &Path) -> Vec<Value> {
    let mut mails: Vec<(u64, Value)> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
                .map(|e| {
                    let n = e
                        .path()
                        .file_stem()
                        .and_then(|s| s.to_str()?.parse().ok())
                        .unwrap_or(0);
                    let text = std::fs::read_to_string(e.path()).unwrap();
                    (n, serde_json::from_str(&text).unwrap())
                })
                .collect()
        })
        .unwrap_or_default();
    mails.sort_by_key(|(n, _)| *n);
    mails.into_iter().map(|(_, mail)| mail).collect()
}

#[track_caller]
fn wait_for_mail(dir: &Path, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + LONG;
    loop {
        let mails = received_mail(dir);
        if let Some(found) = mails.iter().find(|m| wanted(m)) {
            return found.clone();
        }
        assert!(
            Instant::now() < deadline,
            "{what} never arrived; received: {mails:#?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn e_mail_subscriptions_are_sent_through_smtp_and_retried_like_webhooks() {
    let dir = tempfile::tempdir().unwrap();
    let mailbox = dir.path().join("mail");
    let smtp_port = free_port();
    let smtp_url = format!("smtp://127.0.0.1:{smtp_port}");
    let server = Server::builder()
        .args(&[
            "--public-url",
            "https://ferry.example.com",
            "--smtp-url",
            &smtp_url,
            "--smtp-from",
            "ferry <ferry@example.com>",
            // 10 ms, 0.6 s, 3.6 s …
            "--webhook-retry-scale",
            "0.002",
        ])
        .start();
    server.apply(DEPLOY_CONFIG);
    let _agent = Agent::start(&server, "dev", "dev-1", &[]);
    let created = server.json(&[
        "webhook",
        "create",
        "--email",
        "ops@example.com, Dev@Example.com",
        "--events",
        "deployment.failed,lock.set",
    ]);
    let hook = created["webhook"]["id"].to_string();
    assert_eq!(created["webhook"]["format"], "email");
    assert_eq!(
        created["webhook"]["url"],
        "mailto:ops@example.com,Dev@Example.com"
    );
    let refused = server
        .ferry(&[
            "webhook",
            "create",
            "--email",
            "ops@example.com,not-an-address",
            "--events",
            "*",
        ])
        .code(1);
    assert!(
        refused
            .stderr
            .contains("\"not-an-address\" is not an e-mail address"),
        "{refused:#?}"
    );

    // The relay is down: the attempt fails, and is tried again.
    server
        .ferry(&["release", "create", "broken", "--version", "2.0.0"])
        .success();
    let broken = server.promote("broken@2.0.0", "dev");
    assert_eq!(server.wait_until_ended(broken, LONG)["status"], "failed");
    let deadline = Instant::now() + LONG;
    loop {
        let deliveries = server.json(&["webhook", "deliveries", &hook]);
        let failed = deliveries.as_array().unwrap().iter().find(|d| {
            d["state"] == "pending"
                && d["attempts"].as_i64() >= Some(1)
                && !d["last_error"].is_null()
        });
        if let Some(failed) = failed {
            let error = failed["last_error"].as_str().unwrap();
            assert!(
                error.contains(&format!("the SMTP relay smtp://127.0.0.1:{smtp_port}")),
                "{failed:#}"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no failed attempt: {deliveries:#}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // The relay comes up: the retry delivers it.
    let _smtp = Helper::start("chat/smtp_sink.py", smtp_port, &[&mailbox]);
    let mail = wait_for_mail(&mailbox, "the failure's e-mail", |mail| {
        mail["subject"] == "[ferry] deployment.failed: broken@2.0.0 in dev"
    });
    assert_eq!(mail["mail_from"], "ferry@example.com");
    assert_eq!(
        mail["rcpt_tos"],
        json!(["ops@example.com", "Dev@Example.com"])
    );
    assert_eq!(mail["from"], "ferry <ferry@example.com>");
    assert_eq!(mail["content_type"], "multipart/alternative");
    let id = mail["message_id"].as_str().unwrap();
    assert!(
        id.starts_with("<ferry.")
            && id.ends_with(&format!("deployment-{broken}-failed@example.com>")),
        "{id}"
    );
    // Lines end in CRLF on the wire, as RFC 5322 wants.
    let text = mail["text"]
        .as_str()
        .expect("a plain-text part")
        .replace("\r\n", "\n");
    assert!(
        text.starts_with(&format!(
            "Deployment {broken} of broken@2.0.0 to dev failed\n"
        )),
        "{text}"
    );
    assert!(text.contains("Environment"), "{text}");
    assert!(
        text.contains(&format!(
            "Open in ferry: https://ferry.example.com/deployments/{broken}"
        )),
        "{text}"
    );
    assert!(text.contains("\nEnvironment  dev\n"), "{text}");
    let html = mail["html"].as_str().expect("an HTML part");
    assert!(
        html.contains(&format!(
            "<a href=\"https://ferry.example.com/deployments/{broken}\">Open in ferry</a>"
        )),
        "{html}"
    );
    let deliveries = server.json(&["webhook", "deliveries", &hook]);
    let delivery = &deliveries[0];
    assert_eq!(delivery["state"], "delivered", "{deliveries:#}");
    assert_eq!(delivery["last_status"], 250, "the relay's reply code");
    let shown = server.json(&["webhook", "delivery", &delivery["id"].to_string()]);
    let history = shown["history"].as_array().unwrap();
    assert!(history.len() >= 2, "failed, then delivered: {shown:#}");
    assert!(history[0]["error"].is_string());
    assert_eq!(history.last().unwrap()["status"], 250);

    // What people typed is escaped in the HTML part.
    server
        .ferry(&[
            "lock",
            "dev",
            "--reason",
            "<script>alert('x')</script> & friends",
        ])
        .success();
    let locked = wait_for_mail(&mailbox, "the lock's e-mail", |mail| {
        mail["subject"] == "[ferry] lock.set: dev"
    });
    let html = locked["html"].as_str().unwrap();
    assert!(!html.contains("<script>"), "{html}");
    assert!(
        html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; friends"),
        "{html}"
    );
    assert!(
        locked["text"]
            .as_str()
            .unwrap()
            .contains("<script>alert('x')</script> & friends"),
        "plain text is plain: {locked:#}"
    );
}

const APPROVAL_CONFIG: &str = r#"
[[environment]]
name = "prod"
tier = "production"
policy = { approvals = 1 }

[lifecycle.default]
phases = [["prod"]]

[[service]]
name = "api"
"#;

/// `application/x-www-form-urlencoded` of one value.
fn form_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                (b as char).to_string()
            }
            b' ' => "+".to_owned(),
            b => format!("%{b:02X}"),
        })
        .collect()
}

/// Slack's `X-Slack-Signature` of a request: HMAC-SHA256 (RFC 2104,
/// written out here apart from ferry's) of `v0:TIMESTAMP:BODY`.
fn slack_signature(secret: &str, timestamp: i64, body: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut key = [0u8; 64];
    if secret.len() > 64 {
        key[..32].copy_from_slice(&Sha256::digest(secret.as_bytes()));
    } else {
        key[..secret.len()].copy_from_slice(secret.as_bytes());
    }
    let pad = |byte: u8| key.iter().map(|k| k ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(format!("v0:{timestamp}:{body}"))
        .finalize();
    let outer = Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize();
    format!("v0={}", hex::encode(outer))
}

/// `POST path` on the server with a form body and `headers`: the status
/// and the body.
fn post(server: &Server, path: &str, headers: &[(&str, String)], body: &str) -> (u16, String) {
    let address = server.url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let response = String::from_utf8_lossy(&response);
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap();
    let body = response
        .split_once("\r\n\r\n")
        .map_or("", |(_, body)| body)
        .to_owned();
    (status, body)
}

fn now() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

/// A click on one of ferry's buttons by Slack user `user`, as Slack would
/// post it (signed at `timestamp` with `secret`).
fn click(
    server: &Server,
    api_port: u16,
    user: &str,
    action: &str,
    value: &str,
    timestamp: i64,
    secret: &str,
) -> (u16, String) {
    let payload = json!({
        "type": "block_actions",
        "user": { "id": user, "username": user.to_lowercase(), "team_id": "T1" },
        "api_app_id": "A1",
        "response_url": format!("http://127.0.0.1:{api_port}/response/{user}"),
        "actions": [{ "type": "button", "action_id": action, "block_id": "ferry.approval",
            "value": value, "action_ts": "1700000000.000100" }],
    });
    let body = format!("payload={}", form_encode(&payload.to_string()));
    let headers = [
        ("X-Slack-Request-Timestamp", timestamp.to_string()),
        (
            "X-Slack-Signature",
            slack_signature(secret, timestamp, &body),
        ),
    ];
    post(
        server,
        "/api/v1/integrations/slack/interactions",
        &headers,
        &body,
    )
}

/// A user with an e-mail and roles everywhere: their token.
fn person(server: &Server, name: &str, email: &str, roles: &[&str]) -> String {
    let created = server.json(&["user", "create", name, "--email", email]);
    for role in roles {
        server
            .ferry(&["role", "grant", role, "--user", name])
            .success();
    }
    created["token"]["secret"].as_str().unwrap().to_owned()
}

/// The codes of what blocks api@1.0.0 from prod.
fn blockers(server: &Server) -> Vec<String> {
    let run = server.ferry(&["check", "api@1.0.0", "--to", "prod", "--output", "json"]);
    run.json()["blockers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["code"].as_str().unwrap().to_owned())
        .collect()
}

/// The access.denied events of the trail.
fn refusals(server: &Server) -> Vec<Value> {
    let listed = server.json(&["audit", "list", "--action", "access.denied"]);
    listed
        .get("items")
        .unwrap_or(&listed)
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[test]
fn a_signed_slack_click_approves_as_the_user_slack_names_and_is_refused_as_the_cli_would() {
    let dir = tempfile::tempdir().unwrap();
    let (secret_file, token_file) = (dir.path().join("signing"), dir.path().join("token"));
    std::fs::write(&secret_file, format!("{SLACK_SIGNING_SECRET}\n")).unwrap();
    std::fs::write(&token_file, SLACK_BOT_TOKEN).unwrap();
    let users = dir.path().join("slack-users.json");
    std::fs::write(
        &users,
        json!({
            "U_ALICE": "alice@example.com",
            "U_BOB": "BOB@Example.COM",
            "U_DORA": "dora@example.com",
            "U_NOBODY": "nobody@example.com",
            "U_HIDDEN": null,
        })
        .to_string(),
    )
    .unwrap();
    let slack_log = dir.path().join("slack-api.jsonl");
    let api_port = free_port();
    let _slack_api = Helper::start("chat/slack_api.py", api_port, &[&users, &slack_log]);
    let api_url = format!("http://127.0.0.1:{api_port}/api");
    let server = Server::builder()
        .args(&["--slack-signing-secret-file", secret_file.to_str().unwrap()])
        .args(&["--slack-bot-token-file", token_file.to_str().unwrap()])
        .args(&["--slack-api-url", &api_url])
        .start();
    server.apply(APPROVAL_CONFIG);
    let alice = person(
        &server,
        "alice",
        "alice@example.com",
        &["developer", "approver"],
    );
    person(&server, "bob", "bob@example.com", &["approver"]);
    let dora_token = person(&server, "dora", "dora@example.com", &["viewer"]);
    let receiver_dir = dir.path().join("receiver");
    std::fs::create_dir_all(&receiver_dir).unwrap();
    let channel = Receiver::start(&receiver_dir);
    subscribe(
        &server,
        &receiver_dir,
        &[
            "--url",
            &channel.url(),
            "--format",
            "slack",
            "--events",
            "approval.requested",
        ],
    );

    // Alice made the release; a promotion to prod waits for an approval,
    // which Slack is asked for, with buttons.
    server
        .ferry_as(
            Some(&alice),
            &["release", "create", "api", "--version", "1.0.0"],
        )
        .success();
    server
        .ferry(&["promote", "api@1.0.0", "--to", "prod"])
        .code(3);
    let asked = channel.wait_for("the approval request", |body| {
        body["text"] == "api@1.0.0 waits for approval in prod"
    });
    let actions = asked["body"]["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["type"] == "actions")
        .cloned()
        .expect("Approve and Reject buttons");
    let approve = &actions["elements"][0];
    assert_eq!(approve["action_id"], "ferry.approve");
    assert_eq!(approve["text"]["text"], "Approve");
    assert_eq!(actions["elements"][1]["action_id"], "ferry.reject");
    let value = approve["value"].as_str().unwrap().to_owned();
    assert_eq!(blockers(&server), ["approvals-missing"]);

    // Not Slack's: a wrong signature, or a signature five minutes old.
    let denied_before = refusals(&server).len();
    let (status, body) = click(
        &server,
        api_port,
        "U_BOB",
        "ferry.approve",
        &value,
        now(),
        "not the signing secret",
    );
    assert_eq!(status, 401, "{body}");
    assert!(
        body.contains("not Slack's") && body.contains("signature"),
        "{body}"
    );
    let (status, body) = click(
        &server,
        api_port,
        "U_BOB",
        "ferry.approve",
        &value,
        now() - 6 * 60,
        SLACK_SIGNING_SECRET,
    );
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("seconds from now"), "{body}");
    let (status, body) = post(
        &server,
        "/api/v1/integrations/slack/interactions",
        &[],
        "payload=%7B%7D",
    );
    assert_eq!(status, 401, "unsigned: {body}");
    assert_eq!(
        refusals(&server).len(),
        denied_before + 3,
        "each refusal is audited"
    );
    assert_eq!(blockers(&server), ["approvals-missing"], "nothing decided");

    // Slack vouches for who clicked; ferry's rules decide, as for the CLI.
    let answer = |user: &str| -> Value {
        let (status, body) = click(
            &server,
            api_port,
            user,
            "ferry.approve",
            &value,
            now(),
            SLACK_SIGNING_SECRET,
        );
        assert_eq!(status, 200, "{body}");
        let answer: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(answer["response_type"], "ephemeral", "{answer:#}");
        answer
    };
    let text = |answer: &Value| answer["text"].as_str().unwrap().to_owned();
    // The reason Slack shows is the one `ferry approve` gives.
    let same_as_the_cli = |slack: &str, token: &str| {
        let reason = slack
            .split_once("for prod: ")
            .map(|(_, reason)| reason.to_owned())
            .unwrap_or_default();
        let cli = server
            .ferry_as(Some(token), &["approve", "api@1.0.0", "--env", "prod"])
            .code(1);
        assert!(
            !reason.is_empty() && cli.stderr.contains(&reason),
            "Slack said {slack:?}; the CLI {cli:#?}"
        );
    };
    let dora = text(&answer("U_DORA"));
    assert!(
        dora.starts_with("ferry refused to let dora approve api@1.0.0 for prod: "),
        "{dora}"
    );
    same_as_the_cli(&dora, &dora_token);
    let alice_answer = text(&answer("U_ALICE"));
    assert!(
        alice_answer.contains(
            "alice created the release api@1.0.0; separation of duties does not count their approval"
        ),
        "{alice_answer}"
    );
    same_as_the_cli(&alice_answer, &alice);
    let nobody = text(&answer("U_NOBODY"));
    assert!(
        nobody.contains("no enabled ferry user has the e-mail nobody@example.com"),
        "{nobody}"
    );
    let hidden = text(&answer("U_HIDDEN"));
    assert!(hidden.contains("users:read.email"), "{hidden}");
    assert_eq!(blockers(&server), ["approvals-missing"], "nobody approved");
    let actors: Vec<String> = refusals(&server)
        .iter()
        .map(|e| e["actor"].as_str().unwrap_or_default().to_owned())
        .collect();
    for actor in ["dora", "alice", "slack:U_NOBODY", "slack:U_HIDDEN"] {
        assert!(actors.contains(&actor.to_owned()), "{actor}: {actors:?}");
    }

    // Bob may: his approval is recorded, and the gate is clear.
    let bob = answer("U_BOB");
    assert_eq!(bob["text"], "bob approved api@1.0.0 for prod.");
    assert!(blockers(&server).is_empty(), "{:?}", blockers(&server));
    let decided = server.json(&["audit", "list", "--action", "approval.approve"]);
    let decided = decided.get("items").unwrap_or(&decided).clone();
    assert_eq!(decided[0]["actor"], "bob", "{decided:#}");

    // Slack was asked who clicked with the bot token, and was told the
    // answers at each click's response_url.
    let requests = json_lines(&slack_log);
    let asked: Vec<&Value> = requests
        .iter()
        .filter(|r| r["path"] == "/api/users.info")
        .collect();
    assert!(
        asked
            .iter()
            .all(|r| r["authorization"] == format!("Bearer {SLACK_BOT_TOKEN}")),
        "{asked:#?}"
    );
    assert!(
        asked.iter().any(|r| r["query"]["user"] == json!(["U_BOB"])),
        "{asked:#?}"
    );
    let deadline = Instant::now() + LONG;
    loop {
        let told = json_lines(&slack_log);
        if told
            .iter()
            .any(|r| r["path"] == "/response/U_BOB" && r["body"] == bob)
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no answer at response_url: {told:#?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // Neither secret is in the server's log.
    let log = server.log();
    assert!(!log.contains(SLACK_SIGNING_SECRET) && !log.contains(SLACK_BOT_TOKEN));
}
