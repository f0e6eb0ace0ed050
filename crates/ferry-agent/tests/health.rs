//! Health checks against a real HTTP server and real commands.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use ferry_agent::health::{CheckContext, run_check};
use ferry_agent::mask::Masker;
use ferry_core::process::DeployProcess;
use serde_json::json;

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// An HTTP server that answers 503 `failures` times, then 200.
fn flaky_server(failures: u32) -> (String, Arc<AtomicU32>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let served = Arc::new(AtomicU32::new(0));
    let count = served.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            let mut buffer = [0u8; 1024];
            let _ = stream.read(&mut buffer);
            let n = count.fetch_add(1, Ordering::SeqCst);
            let status = if n < failures {
                "503 Service Unavailable"
            } else {
                "200 OK"
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
    });
    (format!("http://{address}/healthz"), served)
}

fn check(spec: serde_json::Value) -> ferry_core::process::HealthCheck {
    DeployProcess::from_value(&json!({ "health": spec }))
        .unwrap()
        .health
        .unwrap()
}

#[tokio::test]
async fn an_http_check_retries_until_the_service_answers() {
    let (url, served) = flaky_server(2);
    let dir = tempfile::tempdir().unwrap();
    let env = BTreeMap::new();
    let masker = Masker::default();
    let context = CheckContext {
        work_dir: dir.path(),
        env: &env,
        masker: &masker,
    };
    let health = run_check(
        &check(json!({ "http": url, "retries": 3, "interval": "1s", "timeout": "2s" })),
        &client(),
        &context,
    )
    .await;
    assert!(health.healthy, "{health:?}");
    assert_eq!((health.attempts, served.load(Ordering::SeqCst)), (3, 3));
}

#[tokio::test]
async fn a_check_that_never_passes_spends_its_retries() {
    let dir = tempfile::tempdir().unwrap();
    let env = BTreeMap::new();
    let masker = Masker::default();
    let context = CheckContext {
        work_dir: dir.path(),
        env: &env,
        masker: &masker,
    };
    let health = run_check(
        &check(json!({ "command": "echo not yet; exit 1", "retries": 1, "interval": "1s" })),
        &client(),
        &context,
    )
    .await;
    assert!(!health.healthy);
    assert_eq!(health.attempts, 2);
    assert!(health.last.contains("not yet"), "{health:?}");
    let refused = run_check(
        &check(json!({ "http": "http://127.0.0.1:9/nothing", "retries": 0, "timeout": "1s" })),
        &client(),
        &context,
    )
    .await;
    assert!(
        !refused.healthy && refused.last.contains("failed"),
        "{refused:?}"
    );
}
