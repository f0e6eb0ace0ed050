//! The Prometheus metrics at `/metrics`, against a real server and a real
//! agent: deployments that succeed, fail, are rolled back and cancelled, a
//! promotion refused by the gates and one held by a freeze, scraped with a
//! token and read by the Prometheus client library's own parser
//! (`prometheus_parse.py`, with Python's `prometheus_client`), as
//! Prometheus itself would read them.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use support::{Agent, Server};

/// `api` is left failed when it fails (`rollback = "manual"`); `web` is
/// rolled back. Both fail for 2.x releases. `ext` is deployed by another
/// tool.
const CONFIG: &str = r#"
[[environment]]
name = "dev"
tier = "development"

[[environment]]
name = "qa"
tier = "staging"

[[environment]]
name = "prod"
tier = "production"
policy = { approvals = 1 }

[lifecycle.default]
phases = [["dev"], ["qa"], ["prod"]]

[[service]]
name = "api"
deploy.rollback = "manual"
deploy.steps = [{ name = "install", run = '''case "$FERRY_VERSION" in 2.*) echo broken; exit 1;; esac''' }]

[[service]]
name = "web"
deploy.steps = [{ name = "install", run = '''case "$FERRY_VERSION" in 2.*) echo broken; exit 1;; esac''' }]

# Deployed by another tool, which reports.
[[service]]
name = "ext"
"#;

const ENDED: Duration = Duration::from_secs(90);

/// One sample as the parser read it.
#[derive(Debug, Clone)]
struct Sample {
    name: String,
    labels: serde_json::Map<String, Value>,
    value: f64,
}

impl Sample {
    fn has(&self, labels: &[(&str, &str)]) -> bool {
        labels
            .iter()
            .all(|(key, value)| self.labels.get(*key).and_then(Value::as_str) == Some(value))
    }
}

/// What the parser read: the families (name and type) and the samples.
struct Scrape {
    families: Vec<Value>,
    samples: Vec<Sample>,
    text: String,
}

impl Scrape {
    /// The value of the one sample `name` with exactly `labels` among its
    /// labels; `None` when there is none.
    #[track_caller]
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let found: Vec<&Sample> = self
            .samples
            .iter()
            .filter(|s| s.name == name && s.has(labels) && s.labels.len() == labels.len())
            .collect();
        assert!(
            found.len() <= 1,
            "{name} {labels:?} is {} samples: {found:?}",
            found.len()
        );
        found.first().map(|s| s.value)
    }

    fn family_type(&self, name: &str) -> Option<&str> {
        self.families
            .iter()
            .find(|f| f["name"] == name)
            .and_then(|f| f["type"].as_str())
    }
}

/// `GET path` by hand with an optional bearer token: status, the head's
/// lines and the body.
fn get(server: &Server, path: &str, token: Option<&str>) -> (u16, String, String) {
    let address = server.url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).expect("the server answers");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let authorization = token.map_or_else(String::new, |token| {
        format!("Authorization: Bearer {token}\r\n")
    });
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\n{authorization}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {response:?}"));
    (status, head.to_owned(), body.to_owned())
}

/// Scrapes `/metrics` as Prometheus would (a bearer token) and reads it
/// with the reference parser.
#[track_caller]
fn scrape(server: &Server) -> Scrape {
    let (status, head, text) = get(server, "/metrics", Some(&server.token));
    assert_eq!(status, 200, "{head}\n{text}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/plain; version=0.0.4"),
        "{head}"
    );
    let parsed = parse(&text);
    let families = parsed["families"].as_array().cloned().unwrap_or_default();
    let samples = parsed["samples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| Sample {
            name: s["name"].as_str().unwrap().to_owned(),
            labels: s["labels"].as_object().cloned().unwrap_or_default(),
            value: s["value"]
                .as_f64()
                .or_else(|| s["value"].as_str().and_then(|v| v.parse().ok()))
                .unwrap_or_else(|| panic!("a sample's value: {s}")),
        })
        .collect();
    Scrape {
        families,
        samples,
        text,
    }
}

/// Runs `prometheus_parse.py` on `text`: what it printed, as JSON. A
/// missing Python or `prometheus_client` fails the test, saying so.
#[track_caller]
fn parse(text: &str) -> Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/prometheus_parse.py");
    let mut child = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| {
            panic!("python3 is needed to read the metrics as Prometheus does: {error}")
        });
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "prometheus_parse.py failed ({}): {}\n--- the text ---\n{text}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("prometheus_parse.py prints JSON")
}

#[test]
fn metrics_count_deployments_gate_blocks_and_requests_as_prometheus_reads_them() {
    let server = Server::start();
    server.apply(CONFIG);
    let _agent = Agent::start(&server, "dev", "node-1", &[]);
    for service in ["api", "web"] {
        for version in ["1.0.0", "2.0.0"] {
            server
                .ferry(&["release", "create", service, "--version", version])
                .success();
        }
    }
    server
        .ferry(&["release", "create", "ext", "--version", "1.0.0"])
        .success();

    // Without a token, or with a wrong one: a 401 problem, and nothing shown.
    for token in [None, Some("ferry_not-a-token")] {
        let (status, head, body) = get(&server, "/metrics", token);
        assert_eq!(status, 401, "{head}\n{body}");
        assert!(
            head.to_ascii_lowercase()
                .contains("content-type: application/problem+json"),
            "{head}"
        );
        let problem: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(problem["type"], "urn:ferry:problem:unauthorized", "{body}");
        assert!(!body.contains("ferry_"), "{body}");
    }

    // api: 1.0.0 succeeds in dev, 2.0.0 fails there and stays failed.
    let first = server.promote("api@1.0.0", "dev");
    assert_eq!(server.wait_until_ended(first, ENDED)["status"], "succeeded");
    let broken = server.promote("api@2.0.0", "dev");
    assert_eq!(server.wait_until_ended(broken, ENDED)["status"], "failed");
    // web: 2.0.0 fails and its automatic rollback restores 1.0.0.
    let web = server.promote("web@1.0.0", "dev");
    assert_eq!(server.wait_until_ended(web, ENDED)["status"], "succeeded");
    let web_broken = server.promote("web@2.0.0", "dev");
    server.wait_for_deployment(web_broken, ENDED, |d| d["status"] == "rolled_back");

    // ext: reported running, then succeeded, and succeeded again (a retried
    // report, which changes nothing).
    let reported = server.promote("ext@1.0.0", "dev").to_string();
    for status in ["running", "succeeded", "succeeded"] {
        server
            .ferry(&["deploy", "report", &reported, "--status", status])
            .success();
    }

    // Refused by the gates: prod needs an approval, and qa first.
    let refused = server
        .ferry(&["promote", "api@1.0.0", "--to", "prod"])
        .code(3);
    assert!(refused.stderr.contains("approval"), "{refused:#?}");
    // Held by a freeze of qa: it waits (queued, for the gauge), then is
    // cancelled.
    let now = chrono::Utc::now();
    server
        .ferry(&[
            "freeze",
            "create",
            "audit-week",
            "--env",
            "qa",
            "--start",
            &(now - chrono::Duration::minutes(1)).to_rfc3339(),
            "--end",
            &(now + chrono::Duration::hours(1)).to_rfc3339(),
            "--reason",
            "the auditors are in",
        ])
        .success();
    let held = server.promote("api@1.0.0", "qa");
    assert_eq!(server.deployment(held)["status"], "waiting");
    // Let the orchestrator judge the held deployment a few times: each pass
    // holds it again, and must not count it again.
    std::thread::sleep(Duration::from_secs(2));
    let waiting = scrape(&server);
    assert_eq!(
        waiting.value("ferry_deployment_queue_depth", &[]),
        Some(1.0),
        "{}",
        waiting.text
    );
    server
        .ferry(&["deploy", "cancel", &held.to_string()])
        .success();

    let (status, _, _) = get(&server, "/api/v1/releases", Some(&server.token));
    assert_eq!(status, 200);
    // A path that is no route: counted without its path.
    let (status, _, _) = get(&server, "/api/v1/nothing-here-4711", Some(&server.token));
    assert_eq!(status, 404);
    // A web page by its template.
    let (status, _, _) = get(&server, "/services/web", None);
    assert!(status < 500, "{status}");

    let metrics = scrape(&server);
    let text = &metrics.text;
    let deployments = |service: &str, environment: &str, outcome: &str| {
        metrics.value(
            "ferry_deployments_total",
            &[
                ("service", service),
                ("environment", environment),
                ("outcome", outcome),
            ],
        )
    };
    assert_eq!(metrics.family_type("ferry_deployments"), Some("counter"));
    assert_eq!(deployments("api", "dev", "succeeded"), Some(1.0), "{text}");
    assert_eq!(deployments("api", "dev", "failed"), Some(1.0), "{text}");
    assert_eq!(deployments("api", "dev", "rolled_back"), None, "{text}");
    assert_eq!(deployments("api", "dev", "cancelled"), None, "{text}");
    // web: 1.0.0 and the rollback succeeded; 2.0.0 failed, then was
    // restored.
    assert_eq!(deployments("web", "dev", "succeeded"), Some(2.0), "{text}");
    assert_eq!(deployments("web", "dev", "failed"), Some(1.0), "{text}");
    assert_eq!(
        deployments("web", "dev", "rolled_back"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(deployments("api", "qa", "cancelled"), Some(1.0), "{text}");
    assert_eq!(deployments("ext", "dev", "succeeded"), Some(1.0), "{text}");
    assert_eq!(deployments("api", "prod", "failed"), None, "{text}");

    assert_eq!(
        metrics.family_type("ferry_deployment_duration_seconds"),
        Some("histogram")
    );
    let durations = |outcome: &str| {
        metrics.value(
            "ferry_deployment_duration_seconds_count",
            &[("environment", "dev"), ("outcome", outcome)],
        )
    };
    assert_eq!(durations("succeeded"), Some(4.0), "{text}");
    assert_eq!(durations("failed"), Some(2.0), "{text}");
    assert_eq!(durations("rolled_back"), Some(1.0), "{text}");
    let longest = metrics
        .value(
            "ferry_deployment_duration_seconds_sum",
            &[("environment", "dev"), ("outcome", "succeeded")],
        )
        .unwrap();
    assert!(
        longest > 0.0 && longest < 4.0 * ENDED.as_secs_f64(),
        "{longest}"
    );
    assert_eq!(
        metrics.value(
            "ferry_deployment_duration_seconds_bucket",
            &[
                ("environment", "dev"),
                ("outcome", "succeeded"),
                ("le", "+Inf")
            ],
        ),
        Some(4.0),
        "{text}"
    );

    // Each blocker's code once per promotion, however often the
    // orchestrator held the frozen one again.
    let blocks = |code: &str| metrics.value("ferry_gate_blocks_total", &[("code", code)]);
    assert_eq!(blocks("approvals-missing"), Some(1.0), "{text}");
    assert_eq!(blocks("lifecycle-order"), Some(1.0), "{text}");
    assert_eq!(blocks("frozen"), Some(1.0), "{text}");
    assert_eq!(blocks("locked"), Some(0.0), "every code from the start");

    assert_eq!(
        metrics.family_type("ferry_deployment_queue_depth"),
        Some("gauge")
    );
    assert_eq!(
        metrics.value("ferry_deployment_queue_depth", &[]),
        Some(0.0)
    );
    assert_eq!(
        metrics.value("ferry_agents_connected", &[]),
        Some(1.0),
        "{text}"
    );
    for outcome in ["delivered", "failed"] {
        assert_eq!(
            metrics.value("ferry_webhook_deliveries_total", &[("outcome", outcome)]),
            Some(0.0),
            "{text}"
        );
    }

    // Requests by their route's template: never an id, a name or a path sent.
    assert_eq!(
        metrics.family_type("ferry_http_request_duration_seconds"),
        Some("histogram")
    );
    let requests: Vec<&Sample> = metrics
        .samples
        .iter()
        .filter(|s| s.name == "ferry_http_request_duration_seconds_count")
        .collect();
    assert_eq!(
        metrics.value(
            "ferry_http_request_duration_seconds_count",
            &[
                ("method", "POST"),
                ("route", "/api/v1/services/{service}/releases"),
                ("status", "201")
            ]
        ),
        Some(5.0),
        "five releases were created: {text}"
    );
    assert_eq!(
        metrics.value(
            "ferry_http_request_duration_seconds_count",
            &[
                ("method", "GET"),
                ("route", "/api/v1/releases"),
                ("status", "200")
            ]
        ),
        Some(1.0),
        "{text}"
    );
    assert!(
        requests.iter().any(|s| s.has(&[
            ("method", "GET"),
            ("route", "/api/v1/deployments/{id}"),
            ("status", "200")
        ])),
        "{text}"
    );
    assert!(
        requests.iter().any(|s| s.has(&[
            ("method", "GET"),
            ("route", "unmatched"),
            ("status", "404")
        ])),
        "{text}"
    );
    assert!(
        requests
            .iter()
            .any(|s| s.has(&[("method", "GET"), ("route", "/services/{service}")])),
        "{text}"
    );
    assert!(
        requests.iter().any(|s| s.has(&[
            ("method", "GET"),
            ("route", "/metrics"),
            ("status", "401")
        ])),
        "{text}"
    );
    assert!(
        metrics.samples.iter().any(|s| {
            s.name == "ferry_http_request_duration_seconds_bucket"
                && s.has(&[
                    ("route", "/api/v1/releases"),
                    ("status", "200"),
                    ("le", "+Inf"),
                ])
        }),
        "{text}"
    );
    for sample in &requests {
        let route = sample.labels["route"].as_str().unwrap();
        assert!(
            route == "unmatched" || route.starts_with('/'),
            "route label {route:?}"
        );
        let id = route
            .split('/')
            .any(|segment| !segment.is_empty() && segment.chars().all(|c| c.is_ascii_digit()));
        assert!(
            !id && !route.contains("nothing-here")
                && !route.contains("/services/web")
                && !route.contains("1.0.0"),
            "route label {route:?} holds a raw path, not its template"
        );
    }
    assert!(!text.contains("nothing-here"), "{text}");
}
