//! Webhooks against a real server, real agents and a real receiver: a
//! Python HTTP server that checks every signature with the `standardwebhooks`
//! package (an implementation of the specification independent of ferry's).
//! Events arrive once each, signed, as CloudEvents; a receiver that fails is
//! tried again with growing waits; a server killed with deliveries waiting
//! sends them after its restart.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{Agent, Server, free_port};

const CONFIG: &str = r#"
[[environment]]
name = "dev"
tier = "development"

[lifecycle.default]
phases = [["dev"]]

[[service]]
name = "api"
deploy.steps = [{ name = "install", run = "true" }]

[[service]]
name = "web"
"#;

/// The test's signing secret (`whsec_` and 32 bytes in base64).
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwAAAAAAAAAAA=";

const LONG: Duration = Duration::from_secs(60);

/// A receiver process and the JSON lines it logged.
struct Receiver {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Receiver {
    fn start(dir: &Path, port: u16, fail_first: u32) -> Receiver {
        let secret = dir.join("secret");
        std::fs::write(&secret, SECRET).unwrap();
        let log = dir.join("deliveries.jsonl");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/webhooks/receiver.py");
        let mut child = Command::new("python3")
            .arg(&script)
            .arg(port.to_string())
            .arg(&secret)
            .arg(&log)
            .args(["--fail-first", &fail_first.to_string()])
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs the receiver (install Python 3)");
        let mut first = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().unwrap()),
            &mut first,
        )
        .unwrap();
        assert_eq!(
            first.trim(),
            "listening",
            "the receiver did not start: {first}"
        );
        Receiver { child, port, log }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    fn requests(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    /// Waits until `done` holds for what was received.
    #[track_caller]
    fn wait_for(&self, what: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + LONG;
        loop {
            let requests = self.requests();
            if done(&requests) {
                return requests;
            }
            assert!(
                Instant::now() < deadline,
                "{what} never arrived; received: {requests:#?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The CloudEvents types of the accepted requests, in the order of their
/// events' times (deliveries are sent at once, so they may arrive in
/// another order).
fn accepted_types(requests: &[Value]) -> Vec<String> {
    let mut accepted: Vec<&Value> = requests.iter().filter(|r| r["status"] == 204).collect();
    accepted.sort_by_key(|r| r["body"]["time"].as_str().unwrap().to_owned());
    accepted
        .iter()
        .map(|r| r["body"]["type"].as_str().unwrap().to_owned())
        .collect()
}

fn server(scale: &str) -> Server {
    let server = Server::builder()
        .args(&["--webhook-retry-scale", scale])
        .start();
    server.apply(CONFIG);
    server
}

fn subscribe(server: &Server, dir: &Path, url: &str, extra: &[&str]) -> i64 {
    let secret = dir.join("secret");
    std::fs::write(&secret, SECRET).unwrap();
    let mut args = vec![
        "webhook",
        "create",
        "--url",
        url,
        "--secret-file",
        secret.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let created = server.json(&args);
    assert_eq!(
        created["secret"], SECRET,
        "the secret given is the one kept"
    );
    created["webhook"]["id"].as_i64().unwrap()
}

#[test]
fn a_deployments_events_arrive_signed_as_cloudevents_once_each() {
    let dir = tempfile::tempdir().unwrap();
    let server = server("1");
    let _agent = Agent::start(&server, "dev", "dev-1", &[]);
    let receiver = Receiver::start(dir.path(), free_port(), 0);
    subscribe(&server, dir.path(), &receiver.url(), &["--events", "*"]);
    // A second subscription wants only `web`'s events: it gets none of api's.
    let other_dir = tempfile::tempdir().unwrap();
    let other = Receiver::start(other_dir.path(), free_port(), 0);
    subscribe(
        &server,
        other_dir.path(),
        &other.url(),
        &[
            "--events",
            "deployment.succeeded,release.created",
            "--service",
            "web",
        ],
    );

    server
        .ferry(&["release", "create", "api", "--version", "1.0.0"])
        .success();
    let id = server.promote("api@1.0.0", "dev");
    let ended = server.wait_until_ended(id, LONG);
    assert_eq!(ended["status"], "succeeded");

    receiver.wait_for("the deployed event", |requests| {
        accepted_types(requests).contains(&"dev.cdevents.service.deployed.0.2.0".to_owned())
    });
    // Give a duplicate time to come, were one sent.
    std::thread::sleep(Duration::from_secs(2));
    let requests = receiver.requests();
    assert!(requests.len() >= 4, "{requests:#?}");
    for request in &requests {
        assert_eq!(request["verified"], true, "signature refused: {request:#?}");
        assert_eq!(request["content_type"], "application/cloudevents+json");
        let event = &request["body"];
        assert_eq!(event["specversion"], "1.0");
        assert_eq!(event["source"], "/ferry");
        assert_eq!(event["id"], request["id"], "webhook-id is the event's id");
    }
    assert_eq!(
        accepted_types(&requests),
        [
            "dev.ferry.release.created.v1",
            "dev.ferry.deployment.queued.v1",
            "dev.ferry.deployment.started.v1",
            "dev.cdevents.service.deployed.0.2.0",
        ],
        "each of the deployment's events once: {requests:#?}"
    );
    let mut ids: Vec<&str> = requests.iter().map(|r| r["id"].as_str().unwrap()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), requests.len(), "no event twice: {requests:#?}");
    let deployed = &requests
        .iter()
        .find(|r| r["body"]["type"] == "dev.cdevents.service.deployed.0.2.0")
        .unwrap()["body"];
    assert_eq!(deployed["id"], format!("deployment-{id}-succeeded"));
    assert_eq!(
        deployed["subject"],
        format!("deployment {id} of api@1.0.0 to dev")
    );
    let cdevent = &deployed["data"];
    assert_eq!(
        cdevent["context"]["type"],
        "dev.cdevents.service.deployed.0.2.0"
    );
    assert_eq!(cdevent["subject"]["id"], "api");
    assert_eq!(cdevent["subject"]["content"]["environment"]["id"], "dev");
    assert_eq!(
        cdevent["subject"]["content"]["artifactId"],
        "pkg:generic/api@1.0.0"
    );

    // The filtered subscription saw nothing of api's; it sees web's release.
    assert!(other.requests().is_empty(), "{:#?}", other.requests());
    server
        .ferry(&["release", "create", "web", "--version", "1.0.0"])
        .success();
    let got = other.wait_for("web's release", |requests| !requests.is_empty());
    assert_eq!(accepted_types(&got), ["dev.ferry.release.created.v1"]);
}

#[test]
fn a_failing_receiver_is_tried_again_with_growing_waits_even_across_a_server_kill() {
    let dir = tempfile::tempdir().unwrap();
    // The schedule shortened 500 times: 10 ms, 0.6 s, 3.6 s, 14.4 s …
    let mut server = server("0.002");
    let port = free_port();
    let mut receiver = Receiver::start(dir.path(), port, 3);
    let hook = subscribe(
        &server,
        dir.path(),
        &receiver.url(),
        &["--events", "release.created"],
    );

    server
        .ferry(&["release", "create", "api", "--version", "1.0.0"])
        .success();
    let requests = receiver.wait_for("the fourth attempt", |requests| {
        requests.iter().any(|r| r["status"] == 204)
    });
    assert_eq!(
        requests.len(),
        4,
        "three refusals, then taken: {requests:#?}"
    );
    assert!(requests.iter().all(|r| r["id"] == requests[0]["id"]));
    let at: Vec<f64> = requests.iter().map(|r| r["at"].as_f64().unwrap()).collect();
    let waits: Vec<f64> = at.windows(2).map(|pair| pair[1] - pair[0]).collect();
    assert!(
        waits[0] < waits[1] && waits[1] < waits[2] && waits[2] > 2.0,
        "the waits between attempts grow: {waits:?}"
    );
    let deliveries = server.json(&["webhook", "deliveries", &hook.to_string()]);
    assert_eq!(deliveries.as_array().unwrap().len(), 1, "{deliveries:#}");
    let delivery = &deliveries[0];
    assert_eq!(delivery["state"], "delivered");
    assert_eq!(delivery["attempts"], 4);
    let shown = server.json(&["webhook", "delivery", &delivery["id"].to_string()]);
    let statuses: Vec<i64> = shown["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status"].as_i64().unwrap())
        .collect();
    assert_eq!(statuses, [503, 503, 503, 204]);

    // The receiver goes away; an event waits; the server is killed.
    receiver.stop();
    server
        .ferry(&["release", "create", "api", "--version", "1.1.0"])
        .success();
    let deadline = Instant::now() + LONG;
    loop {
        let deliveries = server.json(&["webhook", "deliveries", &hook.to_string()]);
        let waiting = deliveries
            .as_array()
            .unwrap()
            .iter()
            // An attempt under way counts once it has failed (its error
            // is recorded when the receiver does not answer).
            .find(|d| {
                d["state"] == "pending"
                    && d["attempts"].as_i64() >= Some(1)
                    && d["last_error"].is_string()
            });
        if let Some(waiting) = waiting {
            assert!(
                waiting["last_error"]
                    .as_str()
                    .unwrap()
                    .contains("cannot connect"),
                "{waiting:#}"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no failed attempt: {deliveries:#}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    server.kill();
    let back = Receiver::start(dir.path(), port, 0);
    server.restart();
    let requests = back.wait_for("the event that waited", |requests| {
        requests
            .iter()
            .any(|r| r["status"] == 204 && r["body"]["subject"] == "api@1.1.0")
    });
    assert!(requests.iter().all(|r| r["verified"] == true));

    // Sent again by hand, it arrives again with the same id.
    let first = &server.json(&["webhook", "deliveries", &hook.to_string()])[0];
    assert_eq!(first["state"], "delivered");
    server
        .ferry(&["webhook", "redeliver", &first["id"].to_string()])
        .success();
    back.wait_for("the delivery sent again", |requests| {
        requests
            .iter()
            .filter(|r| r["status"] == 204 && r["body"]["subject"] == "api@1.1.0")
            .count()
            == 2
    });
}

#[test]
fn subscriptions_name_known_events_and_reachable_addresses() {
    let dir = tempfile::tempdir().unwrap();
    let server = server("1");
    let secret = dir.path().join("secret");
    std::fs::write(&secret, SECRET).unwrap();
    let refused = server
        .ferry(&[
            "webhook",
            "create",
            "--url",
            "http://127.0.0.1:9/hook",
            "--events",
            "deployment.deployed",
        ])
        .code(1);
    assert!(
        refused
            .stderr
            .contains("\"deployment.deployed\" is not an event"),
        "{}",
        refused.stderr
    );
    let refused = server
        .ferry(&[
            "webhook",
            "create",
            "--url",
            "javascript:alert(1)",
            "--events",
            "*",
        ])
        .code(1);
    assert!(refused.stderr.contains("url"), "{}", refused.stderr);
    let listed = server.json(&["webhook", "list"]);
    assert_eq!(listed, serde_json::json!([]), "nothing was made");
    let deployer = server.user_with_roles("dora", &["deployer"]);
    let refused = server
        .ferry_as(
            Some(&deployer),
            &[
                "webhook",
                "create",
                "--url",
                "https://example.com/h",
                "--events",
                "*",
            ],
        )
        .code(1);
    assert!(
        refused
            .stderr
            .contains("may not create and delete webhooks"),
        "{}",
        refused.stderr
    );
}

#[test]
fn a_refused_promotion_asks_for_approval_once_and_a_freeze_is_told_as_it_begins_and_ends() {
    let dir = tempfile::tempdir().unwrap();
    let server = server("1");
    // Whole seconds, as the configuration writes them.
    let now = chrono::SubsecRound::trunc_subsecs(chrono::Utc::now(), 0);
    let start = now + chrono::Duration::seconds(6);
    let end = start + chrono::Duration::seconds(4);
    let at =
        |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    server.apply(&format!(
        r#"{CONFIG}
[[environment]]
name = "prod"
tier = "production"
policy = {{ approvals = 1 }}

[lifecycle.direct]
phases = [["prod"]]

[[service]]
name = "pay"
lifecycle = "direct"

[[freeze]]
name = "drill"
reason = "a fire drill"
start = "{}"
end = "{}"
environments = ["prod", "dev"]
"#,
        at(start),
        at(end)
    ));
    let receiver = Receiver::start(dir.path(), free_port(), 0);
    subscribe(
        &server,
        dir.path(),
        &receiver.url(),
        &[
            "--events",
            "approval.requested,promotion.blocked,freeze.started,freeze.ended",
            "--env",
            "prod",
        ],
    );
    server
        .ferry(&["release", "create", "pay", "--version", "1.0.0"])
        .success();
    // Asked three times, refused three times for the same reason.
    for _ in 0..3 {
        let refused = server.ferry(&["promote", "pay@1.0.0", "--to", "prod"]);
        assert_ne!(refused.code, 0, "approvals are missing: {}", refused.stdout);
    }
    receiver.wait_for("the freeze's end", |requests| {
        accepted_types(requests).contains(&"dev.ferry.freeze.ended.v1".to_owned())
    });
    std::thread::sleep(Duration::from_secs(2));
    let requests = receiver.requests();
    for request in &requests {
        assert_eq!(request["verified"], true, "signature refused: {request:#?}");
    }
    assert_eq!(
        accepted_types(&requests),
        [
            "dev.ferry.promotion.blocked.v1",
            "dev.ferry.approval.requested.v1",
            "dev.ferry.freeze.started.v1",
            "dev.ferry.freeze.ended.v1",
        ],
        "each once, and only prod's: {requests:#?}"
    );
    let body = |kind: &str| &requests.iter().find(|r| r["body"]["type"] == kind).unwrap()["body"];
    let asked = body("dev.ferry.approval.requested.v1");
    assert_eq!(asked["subject"], "pay@1.0.0 for prod");
    assert_eq!(asked["data"]["requested_by"], "admin");
    assert_eq!(asked["data"]["version"], "1.0.0");
    let blocked = body("dev.ferry.promotion.blocked.v1");
    assert_eq!(blocked["data"]["blockers"][0]["code"], "approvals-missing");
    let started = body("dev.ferry.freeze.started.v1");
    assert_eq!(started["subject"], "freeze drill in prod");
    assert_eq!(started["data"]["reason"], "a fire drill");
    let told_at: chrono::DateTime<chrono::Utc> = started["time"].as_str().unwrap().parse().unwrap();
    assert!(
        told_at >= start && told_at < start + chrono::Duration::seconds(4),
        "told within seconds of its start ({start}): {told_at}"
    );
    // The audit trail has each refusal, and the freeze in both environments.
    let trail = server.json(&["audit", "list", "--action", "promotion.block"]);
    assert_eq!(trail["items"].as_array().unwrap().len(), 3, "{trail:#}");
    for action in ["freeze.start", "freeze.end"] {
        let told = server.json(&["audit", "list", "--action", action]);
        let mut environments: Vec<&str> = told["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|event| event["details"]["after"]["environment"].as_str().unwrap())
            .collect();
        environments.sort_unstable();
        assert_eq!(environments, ["dev", "prod"], "{action}: {told:#}");
    }
}

#[test]
fn a_webhook_declared_in_ferry_toml_signs_with_the_secret_the_server_holds() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start(dir.path(), free_port(), 0);
    let server = Server::builder().env("OPS_HOOK_SECRET", SECRET).start();
    let declared = |events: &str| {
        format!(
            r#"{CONFIG}
[[webhook]]
name = "ops"
url = "{}"
events = [{events}]
service = "api"
secret_env = "OPS_HOOK_SECRET"
"#,
            receiver.url()
        )
    };
    server.apply(&declared(r#""release.created""#));
    server
        .ferry(&["release", "create", "api", "--version", "1.0.0"])
        .success();
    server
        .ferry(&["release", "create", "web", "--version", "1.0.0"])
        .success();
    let got = receiver.wait_for("api's release", |requests| !requests.is_empty());
    assert_eq!(
        got[0]["verified"], true,
        "signed with the server's secret: {got:#?}"
    );
    assert_eq!(got[0]["body"]["subject"], "api@1.0.0");

    // Applied again as it is: nothing changes. Another event: updated in
    // place, the same subscription.
    let again = server.ferry(&["apply", "--dry-run"]);
    assert!(
        again.stdout.contains("unchanged webhook ops"),
        "{}",
        again.stdout
    );
    let listed = server.json(&["webhook", "list"]);
    let id = listed[0]["id"].clone();
    let changed = server.apply(&declared(r#""release.created", "deployment.queued""#));
    assert!(
        changed.stdout.contains("update webhook ops"),
        "{}",
        changed.stdout
    );
    let listed = server.json(&["webhook", "list"]);
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed:#}");
    assert_eq!(listed[0]["id"], id, "the same subscription");
    assert_eq!(
        listed[0]["events"],
        serde_json::json!(["release.created", "deployment.queued"])
    );
    let trail = server.json(&["audit", "list", "--action", "webhook.update"]);
    assert_eq!(trail["items"].as_array().unwrap().len(), 1, "{trail:#}");

    // A secret the server does not hold, or none for CloudEvents: refused
    // with the reason, nothing changed.
    std::fs::write(
        server.home.path().join("ferry.toml"),
        declared(r#""*""#).replace("OPS_HOOK_SECRET", "NOT_SET_ANYWHERE"),
    )
    .unwrap();
    let refused = server.ferry(&["apply"]);
    assert_ne!(refused.code, 0);
    assert!(
        refused
            .stderr
            .contains("secret_env NOT_SET_ANYWHERE is not set in this server's environment"),
        "{}",
        refused.stderr
    );
    std::fs::write(
        server.home.path().join("ferry.toml"),
        declared(r#""*""#).replace("secret_env = \"OPS_HOOK_SECRET\"\n", ""),
    )
    .unwrap();
    let refused = server.ferry(&["apply"]);
    assert_ne!(refused.code, 0);
    assert!(
        refused.stderr.contains("ferry.toml:") && refused.stderr.contains("secret_file"),
        "the file's line and what to write: {}",
        refused.stderr
    );
    let listed = server.json(&["webhook", "list"]);
    assert_eq!(
        listed[0]["events"],
        serde_json::json!(["release.created", "deployment.queued"]),
        "unchanged"
    );
}
