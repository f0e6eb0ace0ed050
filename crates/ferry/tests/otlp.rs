//! Deployments as traces over OTLP/HTTP: a real `ferry serve` with
//! `OTEL_EXPORTER_OTLP_ENDPOINT` pointing at a small OTLP/HTTP receiver that
//! this test runs, and a real agent. Built with the `otlp` feature (`cargo
//! test -p ferry --features otlp --test otlp`), each deployment arrives as
//! one trace from its promotion to its end; built without it, the server
//! says in its log that it exports nothing, and nothing arrives.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;
#[cfg(feature = "otlp")]
use std::time::Instant;

#[cfg(feature = "otlp")]
use serde_json::Value;
use support::{Agent, Server};

const CONFIG: &str = r#"
[[environment]]
name = "dev"
tier = "development"

[lifecycle.default]
phases = [["dev"]]

[[service]]
name = "api"
deploy.rollback = "manual"
deploy.steps = [{ name = "install", run = '''case "$FERRY_VERSION" in 2.*) echo broken; exit 1;; esac''' }]
"#;

const ENDED: Duration = Duration::from_secs(90);

/// One export request the receiver got: its path, content type and body.
#[derive(Debug, Clone)]
#[cfg_attr(not(feature = "otlp"), allow(dead_code))]
struct Export {
    path: String,
    content_type: String,
    body: Vec<u8>,
}

/// An OTLP/HTTP receiver on loopback: it keeps every request and answers
/// each with an empty JSON `ExportTraceServiceResponse`.
struct Receiver {
    address: String,
    exports: Arc<Mutex<Vec<Export>>>,
}

impl Receiver {
    fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let exports = Arc::new(Mutex::new(Vec::new()));
        let kept = exports.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let kept = kept.clone();
                std::thread::spawn(move || serve(stream, &kept));
            }
        });
        Receiver { address, exports }
    }

    fn exports(&self) -> Vec<Export> {
        self.exports.lock().unwrap().clone()
    }

    /// Every span received, each with its trace and parent.
    #[cfg(feature = "otlp")]
    fn spans(&self) -> Vec<Value> {
        let mut spans = Vec::new();
        for export in self.exports() {
            let Ok(body) = serde_json::from_slice::<Value>(&export.body) else {
                continue;
            };
            for resource in body["resourceSpans"].as_array().into_iter().flatten() {
                for scope in resource["scopeSpans"].as_array().into_iter().flatten() {
                    for span in scope["spans"].as_array().into_iter().flatten() {
                        let mut span = span.clone();
                        span["resource"] = resource["resource"].clone();
                        spans.push(span);
                    }
                }
            }
        }
        spans
    }
}

/// Reads requests off one connection (kept alive) until it closes.
fn serve(stream: TcpStream, kept: &Mutex<Vec<Export>>) {
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let path = request_line
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_owned();
        let (mut length, mut content_type) = (0usize, String::new());
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                match name.trim().to_ascii_lowercase().as_str() {
                    "content-length" => length = value.trim().parse().unwrap_or(0),
                    "content-type" => value.trim().clone_into(&mut content_type),
                    _ => {}
                }
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        kept.lock().unwrap().push(Export {
            path,
            content_type,
            body,
        });
        let answer = "{}";
        let _ = write!(
            writer,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{answer}",
            answer.len()
        );
    }
}

#[cfg(feature = "otlp")]
/// A span's attribute, as text (OTLP JSON says integers as strings).
fn attribute(span: &Value, key: &str) -> Option<String> {
    let value = span["attributes"]
        .as_array()?
        .iter()
        .find(|a| a["key"] == key)?
        .get("value")?;
    ["stringValue", "intValue", "boolValue", "doubleValue"]
        .iter()
        .find_map(|kind| value.get(*kind))
        .map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
}

#[cfg(feature = "otlp")]
/// A span's time in nanoseconds since the epoch (a string or a number in
/// OTLP JSON).
fn nanos(span: &Value, field: &str) -> u128 {
    match &span[field] {
        Value::String(s) => s.parse().unwrap(),
        Value::Number(n) => u128::from(n.as_u64().unwrap()),
        other => panic!("{field} is {other}"),
    }
}

#[cfg(feature = "otlp")]
fn hex_id(span: &Value, field: &str) -> String {
    span[field].as_str().unwrap_or_default().to_owned()
}

fn server_exporting_to(receiver: &Receiver) -> Server {
    Server::builder()
        .env(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("http://{}", receiver.address),
        )
        // Sent within a moment of the end, not the default 5 s.
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .start()
}

#[cfg(feature = "otlp")]
/// The spans of the trace whose root is deployment `id`'s, once they all
/// arrived (the root and the children `expected` names).
#[track_caller]
fn trace_of(receiver: &Receiver, id: i64, expected: &[&str]) -> (Value, Vec<Value>) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let spans = receiver.spans();
        let root = spans.iter().find(|span| {
            attribute(span, "ferry.deployment.id").as_deref() == Some(&id.to_string())
                && hex_id(span, "parentSpanId").is_empty()
        });
        if let Some(root) = root {
            let trace = hex_id(root, "traceId");
            let children: Vec<Value> = spans
                .iter()
                .filter(|span| {
                    hex_id(span, "traceId") == trace && !hex_id(span, "parentSpanId").is_empty()
                })
                .cloned()
                .collect();
            let names: Vec<&str> = children
                .iter()
                .map(|span| span["name"].as_str().unwrap_or_default())
                .collect();
            if expected.iter().all(|name| names.contains(name)) {
                return (root.clone(), children);
            }
        }
        assert!(
            Instant::now() < deadline,
            "no whole trace of deployment {id} arrived; spans: {spans:#?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[cfg(feature = "otlp")]
#[test]
fn each_deployment_is_one_trace_from_its_promotion_to_its_end() {
    let receiver = Receiver::start();
    let server = server_exporting_to(&receiver);
    server.apply(CONFIG);
    let _agent = Agent::start(&server, "dev", "node-1", &[]);
    for version in ["1.0.0", "2.0.0"] {
        server
            .ferry(&["release", "create", "api", "--version", version])
            .success();
    }
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let good = server.promote("api@1.0.0", "dev");
    assert_eq!(server.wait_until_ended(good, ENDED)["status"], "succeeded");
    let bad = server.promote("api@2.0.0", "dev");
    assert_eq!(server.wait_until_ended(bad, ENDED)["status"], "failed");

    let (root, children) = trace_of(&receiver, good, &["promotion", "deploy on node-1"]);
    assert_eq!(root["name"], "deploy api@1.0.0 to dev", "{root:#}");
    assert_eq!(
        attribute(&root, "ferry.outcome").as_deref(),
        Some("succeeded")
    );
    assert_eq!(attribute(&root, "ferry.service").as_deref(), Some("api"));
    assert_eq!(
        attribute(&root, "ferry.environment").as_deref(),
        Some("dev")
    );
    assert_eq!(attribute(&root, "ferry.version").as_deref(), Some("1.0.0"));
    assert_eq!(
        attribute(&root, "ferry.created_by").as_deref(),
        Some("admin")
    );
    let resource = root["resource"]["attributes"].as_array().unwrap();
    assert!(
        resource
            .iter()
            .any(|a| a["key"] == "service.name" && a["value"]["stringValue"] == "ferry"),
        "{resource:#?}"
    );
    // From the promotion (the deployment's creation, after the test began
    // it; stored to the second or finer) to the end, around every child.
    let (start, end) = (
        nanos(&root, "startTimeUnixNano"),
        nanos(&root, "endTimeUnixNano"),
    );
    assert!(start + 1_000_000_000 >= before, "{start} vs {before}");
    assert!(end >= start, "{root:#}");
    for child in &children {
        assert_eq!(child["parentSpanId"], root["spanId"], "{child:#}");
        assert!(nanos(child, "startTimeUnixNano") >= start, "{child:#}");
        assert!(nanos(child, "endTimeUnixNano") <= end, "{child:#}");
    }
    let job = children
        .iter()
        .find(|span| span["name"] == "deploy on node-1")
        .unwrap();
    assert_eq!(attribute(job, "ferry.target").as_deref(), Some("node-1"));
    assert_eq!(
        attribute(job, "ferry.job.state").as_deref(),
        Some("succeeded")
    );

    // The failed one is a trace of its own, marked as an error.
    let (failed, _) = trace_of(&receiver, bad, &["promotion", "deploy on node-1"]);
    assert_ne!(failed["traceId"], root["traceId"]);
    assert_eq!(
        attribute(&failed, "ferry.outcome").as_deref(),
        Some("failed")
    );
    assert_eq!(failed["status"]["code"], 2, "STATUS_CODE_ERROR: {failed:#}");

    // OTLP/HTTP with JSON bodies, to the traces path.
    let exports = receiver.exports();
    assert!(!exports.is_empty());
    for export in &exports {
        assert_eq!(export.path, "/v1/traces", "{export:?}");
        assert!(
            export.content_type.starts_with("application/json"),
            "{export:?}"
        );
    }
}

#[cfg(not(feature = "otlp"))]
#[test]
fn without_the_feature_the_server_says_it_exports_no_traces() {
    let receiver = Receiver::start();
    let server = server_exporting_to(&receiver);
    server.apply(CONFIG);
    let _agent = Agent::start(&server, "dev", "node-1", &[]);
    server
        .ferry(&["release", "create", "api", "--version", "1.0.0"])
        .success();
    let id = server.promote("api@1.0.0", "dev");
    assert_eq!(server.wait_until_ended(id, ENDED)["status"], "succeeded");
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        server.log().contains("built without the `otlp` feature"),
        "{}",
        server.log()
    );
    assert!(receiver.exports().is_empty());
}
