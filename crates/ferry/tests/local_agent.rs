//! `ferry serve --local-agent` and `--demo`, driven through the real binary:
//! the server deploys on this machine with agents of its own, and the demo
//! deploys its `hello` service for real, checks its health and rolls back
//! its broken release.
//!
//! The services these tests deploy run detached from the server (as a
//! deployed service does): [`Deployed`] stops them by their pid files. Each
//! test gets free ports, so tests (and a demo a developer runs) never share
//! one.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{Deployed, Server, free_port, http_get};

/// How long the deployments of a test may take, all told.
const DEPLOY_TIMEOUT: Duration = Duration::from_secs(120);

/// `ferry serve ARGS` on a free port, with `data_dir` (its bootstrap token is
/// read from there) and `home` for the commands; what it prints after it
/// listens (the demo's lines) is read too.
fn start(data_dir: &Path, home: &Path, args: &[&str], env: &[(&str, String)]) -> Server {
    let mut server = Server::builder()
        .data_dir(data_dir)
        .home(home)
        .args(args)
        .read_stdout_until_quiet(Duration::from_millis(300));
    for (key, value) in env {
        server = server.env(key, value.clone());
    }
    server.start()
}

impl Server {
    /// The deployments of `service`, oldest first.
    fn deployments_of(&self, service: &str) -> Vec<Value> {
        let list = self.json(&["deploy", "list", "--service", service]);
        let mut items = list["items"].as_array().cloned().unwrap_or_default();
        items.reverse();
        items
    }

    /// Waits until `done` holds for the deployments of `service`.
    #[track_caller]
    fn wait_for_deployments(&self, service: &str, what: &str, done: impl Fn(&[Value]) -> bool) {
        let deadline = Instant::now() + DEPLOY_TIMEOUT;
        loop {
            let deployments = self.deployments_of(service);
            if done(&deployments) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{what} did not happen within {DEPLOY_TIMEOUT:?}; the deployments of {service}: {deployments:#?}\nserver log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

/// `GET path` on 127.0.0.1:`port`, by hand: its status and body.
fn get(port: u16, path: &str) -> Option<(u16, String)> {
    http_get(&format!("127.0.0.1:{port}"), path)
}

fn field<'a>(deployment: &'a Value, name: &str) -> &'a str {
    deployment[name].as_str().unwrap_or_default()
}

/// `(version, status)` of each deployment, and whether it is a rollback.
fn summary(deployments: &[Value]) -> Vec<(String, String, bool)> {
    deployments
        .iter()
        .map(|d| {
            (
                field(d, "version").to_owned(),
                field(d, "status").to_owned(),
                d["rollback_of"].is_i64(),
            )
        })
        .collect()
}

#[test]
fn the_demo_deploys_hello_checks_its_health_and_rolls_back_the_broken_release() {
    let (data, home) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let deployed = Deployed {
        agent_dir: data.path().join("agent"),
    };
    let port = free_port();
    let server = start(
        data.path(),
        home.path(),
        &["--demo"],
        &[("FERRY_DEMO_PORT", port.to_string())],
    );
    assert!(
        server
            .printed
            .iter()
            .any(|line| line.contains(&format!("http://127.0.0.1:{port}/"))),
        "the demo says where hello serves: {:?}",
        server.printed
    );

    // 1.0.0 first, then 1.1.0, which fails its health check and is rolled
    // back by a deployment of 1.0.0 linked to it.
    server.wait_for_deployments("hello", "the rollback of hello 1.1.0", |deployments| {
        summary(deployments)
            == [
                ("1.0.0".into(), "succeeded".into(), false),
                ("1.1.0".into(), "rolled_back".into(), false),
                ("1.0.0".into(), "succeeded".into(), true),
            ]
    });
    let deployments = server.deployments_of("hello");
    assert_eq!(deployments[2]["rollback_of"], deployments[1]["id"]);
    assert!(
        deployments.iter().all(|d| field(d, "environment") == "dev"),
        "{deployments:#?}"
    );

    // What the local agent saw: 1.0.0 answered its health check, 1.1.0 did not.
    let health = |deployment: &Value| {
        let shown = server.json(&["deploy", "show", &deployment["id"].to_string()]);
        let text = shown["targets"].to_string();
        assert!(
            text.contains("\"local\""),
            "a local agent ran it: {shown:#}"
        );
        text
    };
    let first = health(&deployments[0]);
    assert!(first.contains("/healthz answered 200"), "{first}");
    let broken = health(&deployments[1]);
    assert!(broken.contains("answered 500"), "{broken}");

    // hello 1.0.0 serves on the demo's port again, healthy.
    let (status, page) = get(port, "/").expect("hello serves its page");
    assert_eq!(status, 200);
    assert!(page.contains("hello 1.0.0"), "{page}");
    assert_eq!(get(port, "/healthz").map(|(status, _)| status), Some(200));
    assert_eq!(deployed.pids().len(), 1, "one instance of hello runs");
    drop(server);
}

/// A service deployed by the local agent: the sample app on `port`.
fn config(port: u16) -> String {
    format!(
        r#"
[[environment]]
name = "dev"
tier = "development"

[[environment]]
name = "staging"
tier = "staging"

[lifecycle.default]
phases = [["dev"], ["staging"]]

[[service]]
name = "web"

[service.deploy]
targets = {{ host = "local" }}
health = {{ http = "http://127.0.0.1:{port}/healthz", timeout = "2s", retries = 10, interval = "1s" }}

[[service.deploy.steps]]
name = "stop"
run = '''
if [ -f "$FERRY_WORK_DIR/web.pid" ]; then
  kill "$(cat "$FERRY_WORK_DIR/web.pid")" 2>/dev/null || true
  rm -f "$FERRY_WORK_DIR/web.pid"
fi
'''

[[service.deploy.steps]]
name = "start"
run = '"$FERRY_EXE" sample-app --detach --port {port} --version "$FERRY_VERSION" --pid-file "$FERRY_WORK_DIR/web.pid"'
"#
    )
}

#[test]
fn local_agents_deploy_an_applied_service_and_get_a_new_token_on_restart() {
    let (data, home) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let deployed = Deployed {
        agent_dir: data.path().join("agent"),
    };
    let port = free_port();
    let mut server = start(data.path(), home.path(), &["--local-agent"], &[]);
    // The environments come after the start: their agents follow.
    std::fs::write(home.path().join("ferry.toml"), config(port)).unwrap();
    server.ferry(&["apply"]).success();
    server
        .ferry(&["release", "create", "web", "--version", "1.0.0"])
        .success();
    server
        .ferry(&["promote", "web@1.0.0", "--to", "dev"])
        .success();
    server.wait_for_deployments("web", "the deployment of web 1.0.0", |deployments| {
        summary(deployments) == [("1.0.0".into(), "succeeded".into(), false)]
    });
    let (status, page) = get(port, "/").expect("web serves its page");
    assert_eq!(status, 200);
    assert!(page.contains("web 1.0.0"), "{page}");
    assert!(
        data.path().join("agent/dev/web.pid").is_file(),
        "the local agent of dev works in <data-dir>/agent/dev"
    );
    assert!(server.log().contains("environment=\"staging\""));
    server.stop();

    // Restarted for dev only: the local agent of dev gets a new token (the
    // old one is not kept anywhere) and deploys again.
    let server = start(data.path(), home.path(), &["--local-agent-env", "dev"], &[]);
    server
        .ferry(&["release", "create", "web", "--version", "1.1.0"])
        .success();
    server
        .ferry(&["promote", "web@1.1.0", "--to", "dev"])
        .success();
    server.wait_for_deployments("web", "the deployment of web 1.1.0", |deployments| {
        summary(deployments)
            == [
                ("1.0.0".into(), "succeeded".into(), false),
                ("1.1.0".into(), "succeeded".into(), false),
            ]
    });
    let (_, page) = get(port, "/").expect("web serves its page");
    assert!(page.contains("web 1.1.0"), "{page}");
    assert!(
        !server.log().contains("environment=\"staging\""),
        "no local agent for staging: {}",
        server.log()
    );
    let audit = server.json(&["audit", "list"]);
    assert!(
        audit.to_string().contains("agent.rotate"),
        "the new token is in the audit trail: {audit:#}"
    );
    assert_eq!(deployed.pids().len(), 1);
    drop(server);
}
