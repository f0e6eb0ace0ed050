//! Deployments end to end with real processes: a `ferry serve`, three `ferry
//! agent`s of one environment, and a service whose step installs a small
//! HTTP server (python3) on each agent's port and whose health check asks it
//! for `/healthz`. What the tests look at is what a user would: the
//! deployment's status, and what each target's port answers.

mod support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{Agent, Server, free_port, http_get, signal};

/// How long a deployment may take on a slow, busy machine.
const DEPLOY_TIMEOUT: Duration = Duration::from_secs(120);

/// The application each release ships as its artifact `app`: answers `GET /`
/// with its version and `GET /healthz` with 200, or 500 when it is broken.
const APP: &str = r#"
import http.server
import sys
import time

PORT = int(sys.argv[1])
VERSION = sys.argv[2]
HEALTHY = True


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/healthz":
            status, body = (200, "ok") if HEALTHY else (500, "broken")
        elif self.path == "/":
            status, body = 200, VERSION
        else:
            status, body = 404, "not found"
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


# The previous version may still hold the port for a moment.
deadline = time.time() + 20
while True:
    try:
        server = http.server.HTTPServer(("127.0.0.1", PORT), Handler)
        break
    except OSError:
        if time.time() > deadline:
            raise
        time.sleep(0.1)
server.serve_forever()
"#;

/// The configuration: a development environment without gates, and `web`,
/// whose step stops the version running on the target (its pid is in the
/// agent's work directory) and starts the release's app detached, on the
/// agent's `APP_PORT`, and whose health check asks that port for `/healthz`.
/// `STRATEGY` is replaced by the strategy under test.
const CONFIG: &str = r#"
[[environment]]
name = "dev"
tier = "development"

[lifecycle.default]
phases = [["dev"]]

[[service]]
name = "web"
deploy.strategy = STRATEGY
deploy.steps = [{ name = "install", timeout = "60s", run = '''
pidfile="$FERRY_WORK_DIR/app.pid"
if [ -f "$pidfile" ]; then
  old=$(cat "$pidfile")
  kill "$old" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$old" 2>/dev/null || break; sleep 0.1; done
fi
nohup python3 "$FERRY_ARTIFACT_APP" "$APP_PORT" "$FERRY_VERSION" >app.log 2>&1 &
echo $! >"$pidfile"
echo "started $FERRY_SERVICE $FERRY_VERSION on $FERRY_TARGET, port $APP_PORT"
''' }]
deploy.health = { command = '''python3 -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ['APP_PORT'] + '/healthz', timeout=5)"''', timeout = "10s", retries = 5, interval = "1s" }
"#;

fn config(strategy: &str) -> String {
    CONFIG.replace("STRATEGY", strategy)
}

/// A server with three agents `web-1`, `web-2`, `web-3` in `dev`, each with
/// a port of its own for the app; the apps are stopped when it is dropped.
struct Fleet {
    agents: Vec<Agent>,
    ports: Vec<u16>,
    server: Server,
}

impl Fleet {
    fn start(strategy: &str) -> Fleet {
        let server = Server::start();
        server.apply(&config(strategy));
        let mut agents = Vec::new();
        let mut ports = Vec::new();
        for n in 1..=3 {
            let mut port = free_port();
            while ports.contains(&port) {
                port = free_port();
            }
            let name = format!("web-{n}");
            let agent = Agent::start(&server, "dev", &name, &[("APP_PORT", &port.to_string())]);
            agents.push(agent);
            ports.push(port);
        }
        Fleet {
            agents,
            ports,
            server,
        }
    }

    /// Creates `web@version` with the app as its artifact.
    fn release(&self, version: &str, healthy: bool) {
        let file = format!("app-{version}.py");
        let app = if healthy {
            APP.to_owned()
        } else {
            APP.replace("HEALTHY = True", "HEALTHY = False")
        };
        self.server.write_file(&file, &app);
        self.server
            .ferry(&[
                "release",
                "create",
                "web",
                "--version",
                version,
                "--artifact",
                &format!("app={file}"),
            ])
            .success();
    }

    /// What `GET /` answers on each target's port, in agent order.
    fn versions(&self) -> Vec<Option<String>> {
        self.ports
            .iter()
            .map(|port| {
                http_get(&format!("127.0.0.1:{port}"), "/")
                    .filter(|(status, _)| *status == 200)
                    .map(|(_, body)| body)
            })
            .collect()
    }

    #[track_caller]
    fn assert_serving(&self, expected: &[&str]) {
        let expected: Vec<Option<String>> =
            expected.iter().map(|v| Some((*v).to_owned())).collect();
        assert_eq!(
            self.versions(),
            expected,
            "what web-1, web-2 and web-3 serve"
        );
    }

    /// Whether agent `index` ever unpacked `web@version`.
    fn unpacked(&self, index: usize, version: &str) -> bool {
        self.agents[index]
            .work_dir
            .join("web")
            .join(version)
            .exists()
    }

    fn pid_files(&self) -> Vec<PathBuf> {
        self.agents
            .iter()
            .map(|agent| agent.work_dir.join("app.pid"))
            .collect()
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        // The apps run detached from the agents: stop them here.
        for agent in &mut self.agents {
            agent.kill();
        }
        for file in self.pid_files() {
            if let Some(pid) = std::fs::read_to_string(&file)
                .ok()
                .and_then(|text| text.trim().parse::<u32>().ok())
            {
                signal("KILL", pid, false);
            }
        }
    }
}

/// When `agent` logged that it began its job of `web@version`, and that the
/// job's health check passed (just before it reports the job), as the
/// agent's log says (`2026-…Z ferry agent: …`).
fn job_times(agent: &Agent, version: &str) -> (String, String) {
    let log = agent.log();
    let started = format!("deploy web@{version} in dev");
    let mut lines = log.lines().skip_while(|line| !line.contains(&started));
    let begin = lines
        .next()
        .unwrap_or_else(|| panic!("{} never ran web@{version}:\n{log}", agent.name));
    let end = lines
        .find(|line| line.contains("health check passed"))
        .unwrap_or_else(|| panic!("{} never passed web@{version}:\n{log}", agent.name));
    let stamp = |line: &str| {
        line.split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned()
    };
    (stamp(begin), stamp(end))
}

fn status(deployment: &Value) -> &str {
    deployment["status"].as_str().unwrap_or_default()
}

#[test]
fn a_rolling_deployment_reaches_every_target_and_a_broken_release_is_rolled_back() {
    let fleet = Fleet::start(r#"{ kind = "rolling", batch = 1 }"#);
    let server = &fleet.server;

    // 1.0.0 rolls out one target at a time and every target serves it.
    fleet.release("1.0.0", true);
    let first = server.promote("web@1.0.0", "dev");
    let done = server.wait_until_ended(first, DEPLOY_TIMEOUT);
    assert_eq!(status(&done), "succeeded", "{done:#}");
    fleet.assert_serving(&["1.0.0", "1.0.0", "1.0.0"]);
    assert_eq!(
        targets(&done),
        [
            ("web-1".to_owned(), 0, "succeeded".to_owned()),
            ("web-2".to_owned(), 1, "succeeded".to_owned()),
            ("web-3".to_owned(), 2, "succeeded".to_owned()),
        ],
        "one batch per target: {done:#}"
    );
    // Batch by batch: each target began only after the one before passed.
    let times: Vec<(String, String)> = fleet
        .agents
        .iter()
        .map(|agent| job_times(agent, "1.0.0"))
        .collect();
    for pair in times.windows(2) {
        assert!(
            pair[0].1 <= pair[1].0,
            "a rolling deployment of batch 1 waits for the batch before: {times:?}"
        );
    }

    // 1.1.0 fails its health check on the first target: the deployment
    // halts there and is rolled back to 1.0.0 on its own.
    fleet.release("1.1.0", false);
    let broken = server.promote("web@1.1.0", "dev");
    // It is `failed` until its rollback succeeds, then `rolled_back`.
    let halted = server.wait_for_deployment(broken, DEPLOY_TIMEOUT, |d| {
        support::is_terminal(d) && status(d) != "failed"
    });
    assert_eq!(status(&halted), "rolled_back", "{halted:#}");
    assert!(
        halted["reason"]
            .as_str()
            .is_some_and(|r| r.contains("web-1")),
        "the reason names the target that failed: {halted:#}"
    );
    assert_eq!(
        targets(&halted),
        [("web-1".to_owned(), 0, "failed".to_owned())],
        "the later batches never started: {halted:#}"
    );
    let error = halted["targets"][0]["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("health check failed"),
        "web-1 says why 1.1.0 failed: {halted:#}"
    );
    let rollback = server
        .deployments()
        .into_iter()
        .find(|d| d["rollback_of"] == broken)
        .and_then(|d| d["id"].as_i64())
        .unwrap_or_else(|| panic!("a rollback deployment undoes deployment {broken}"));
    let rollback = server.deployment(rollback);
    assert_eq!(rollback["version"], "1.0.0", "{rollback:#}");
    assert_eq!(rollback["environment"], "dev", "{rollback:#}");
    assert_eq!(status(&rollback), "succeeded", "{rollback:#}");
    assert_eq!(
        targets(&rollback),
        [("web-1".to_owned(), 0, "succeeded".to_owned())],
        "only the target that was changed is rolled back: {rollback:#}"
    );
    fleet.assert_serving(&["1.0.0", "1.0.0", "1.0.0"]);
    assert!(fleet.unpacked(0, "1.1.0"), "web-1 got 1.1.0 first");
    assert!(
        !fleet.unpacked(1, "1.1.0") && !fleet.unpacked(2, "1.1.0"),
        "the batches after the failed one never got 1.1.0"
    );
}

/// Each target's name, batch and job state, as `ferry deploy show` lists them.
fn targets(deployment: &Value) -> Vec<(String, i64, String)> {
    deployment["targets"]
        .as_array()
        .map(|targets| {
            targets
                .iter()
                .map(|t| {
                    (
                        t["target"].as_str().unwrap_or_default().to_owned(),
                        t["batch"].as_i64().unwrap_or(-1),
                        t["state"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_deployment_cancelled_between_batches_leaves_the_later_targets_alone() {
    let fleet = Fleet::start(r#"{ kind = "all" }"#);
    let server = &fleet.server;
    fleet.release("1.0.0", true);
    let first = server.promote("web@1.0.0", "dev");
    let done = server.wait_until_ended(first, DEPLOY_TIMEOUT);
    assert_eq!(status(&done), "succeeded", "{done:#}");
    fleet.assert_serving(&["1.0.0", "1.0.0", "1.0.0"]);

    // From now on the service rolls out one target at a time, with a pause
    // after each batch to watch it.
    let pause = Duration::from_secs(8);
    server.apply(&config(&format!(
        r#"{{ kind = "rolling", batch = 1, pause = "{}s" }}"#,
        pause.as_secs()
    )));
    fleet.release("1.1.0", true);
    let second = server.promote("web@1.1.0", "dev");
    // web-1's batch is done and the pause has begun.
    let pausing = server.wait_for_deployment(second, DEPLOY_TIMEOUT, |d| {
        d["progress"]["next_batch_at"].is_string() || support::is_terminal(d)
    });
    assert_eq!(status(&pausing), "running", "{pausing:#}");
    assert_eq!(
        targets(&pausing),
        [("web-1".to_owned(), 0, "succeeded".to_owned())],
        "{pausing:#}"
    );
    let cancelled_at = Instant::now();
    server
        .ferry(&["deploy", "cancel", &second.to_string()])
        .success();
    let ended = server.wait_until_ended(second, DEPLOY_TIMEOUT);
    assert_eq!(status(&ended), "cancelled", "{ended:#}");
    assert!(
        ended["reason"]
            .as_str()
            .is_some_and(|r| r.contains("after 1 of 3 batch")),
        "the reason says where it stopped: {ended:#}"
    );

    // Past the end of the pause, the later batches have still not begun.
    let after_pause = cancelled_at + pause + Duration::from_secs(3);
    while Instant::now() < after_pause {
        std::thread::sleep(Duration::from_millis(200));
    }
    let still = server.deployment(second);
    assert_eq!(status(&still), "cancelled", "{still:#}");
    assert_eq!(
        targets(&still),
        [("web-1".to_owned(), 0, "succeeded".to_owned())],
        "{still:#}"
    );
    let versions = fleet.versions();
    assert_eq!(
        versions[0].as_deref(),
        Some("1.1.0"),
        "web-1 keeps the batch it finished: {versions:?}"
    );
    assert_eq!(
        versions[1..],
        [Some("1.0.0".to_owned()), Some("1.0.0".to_owned())],
        "web-2 and web-3 still serve the old version"
    );
    assert!(!fleet.unpacked(1, "1.1.0") && !fleet.unpacked(2, "1.1.0"));
}
