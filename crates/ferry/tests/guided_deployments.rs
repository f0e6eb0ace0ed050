//! Deployments that wait for a person, with the commands people use,
//! against a real server and real agents: a manual step paused, continued
//! by one of its approvers or aborted; a failure under `on_failure = "ask"`
//! retried, skipped or rolled back; a canary stage continued by hand.

mod support;

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use support::{Agent, Server};

const LONG: Duration = Duration::from_secs(60);

/// `api` installs, waits for a smoke test by ops, then switches over;
/// `worker` deploys in batches of one and asks what to do when a target
/// fails (its health check fails where a `broken-VERSION` file exists); `web` is a
/// canary that waits for a person after its first target.
const CONFIG: &str = r#"
[[environment]]
name = "dev"
tier = "development"

[lifecycle.default]
phases = [["dev"]]

[[service]]
name = "api"
deploy.steps = [
  { name = "install", run = 'echo "$FERRY_VERSION" > "$FERRY_WORK_DIR/installed"' },
  { kind = "manual", name = "smoke test", instructions = "Open the site and buy something", approvers = "group:ops" },
  { name = "switch", run = 'echo "$FERRY_VERSION" > "$FERRY_WORK_DIR/current"' },
]

[[service]]
name = "worker"
deploy.strategy = { kind = "rolling", batch = 1 }
deploy.on_failure = "ask"
deploy.steps = [{ name = "install", run = 'echo "$FERRY_VERSION" > "$FERRY_WORK_DIR/worker-version"' }]
deploy.health = { command = 'test ! -f "$FERRY_WORK_DIR/broken-$FERRY_VERSION"', retries = 0 }

[[service]]
name = "web"
deploy.strategy = { kind = "canary", stages = [{ stage = 1, pause = "manual" }, "100%"] }
deploy.steps = [{ name = "install", run = 'echo "$FERRY_VERSION" > "$FERRY_WORK_DIR/web-version"' }]
"#;

fn fleet() -> (Server, Vec<Agent>) {
    let server = Server::start();
    server.apply(CONFIG);
    let agents = (1..=3)
        .map(|n| Agent::start(&server, "dev", &format!("node-{n}"), &[]))
        .collect();
    for service in ["api", "worker", "web"] {
        for version in ["1.0.0", "1.1.0"] {
            server
                .ferry(&["release", "create", service, "--version", version])
                .success();
        }
    }
    (server, agents)
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file))
        .unwrap_or_default()
        .trim()
        .to_owned()
}

fn paused(server: &Server, id: i64) -> Value {
    server.wait_for_deployment(id, LONG, |d| {
        d["status"] == "waiting" || support::is_terminal(d)
    })
}

fn decide(server: &Server, token: Option<&str>, decision: &str, id: i64) -> support::Run {
    server.ferry_as(
        token,
        &[
            "deploy",
            decision,
            &id.to_string(),
            "--comment",
            "checked by hand",
        ],
    )
}

#[test]
fn a_manual_step_waits_for_one_of_its_approvers_and_abort_rolls_back() {
    let (server, agents) = fleet();
    let olga = server.user_with_roles("olga", &["deployer"]);
    let dave = server.user_with_roles("dave", &["deployer"]);
    server.ferry(&["group", "create", "ops"]).success();
    server.ferry(&["group", "add", "ops", "olga"]).success();

    // The agents install, then the deployment waits with the instructions.
    let id = server.promote("api@1.0.0", "dev");
    let waiting = paused(&server, id);
    assert_eq!(waiting["status"], "waiting", "{waiting:#}");
    assert_eq!(waiting["pause"]["kind"], "manual");
    assert_eq!(waiting["pause"]["step"], "smoke test");
    assert_eq!(
        waiting["pause"]["instructions"],
        "Open the site and buy something"
    );
    for agent in &agents {
        assert_eq!(read(&agent.work_dir, "installed"), "1.0.0");
        assert_eq!(read(&agent.work_dir, "current"), "", "not switched yet");
    }
    let shown = server.ferry(&["deploy", "show", &id.to_string()]).success();
    assert!(
        shown
            .stdout
            .contains("instructions Open the site and buy something")
            && shown.stdout.contains(&format!(
                "ferry deploy continue {id} | ferry deploy abort {id}"
            )),
        "{shown:#?}"
    );

    // Only ops may continue it, and only with a decision that answers it.
    let refused = decide(&server, Some(&dave), "continue", id);
    assert_eq!(refused.code, 1, "{refused:#?}");
    assert!(
        refused
            .stderr
            .contains("dave is not one of the approvers of manual step \"smoke test\""),
        "{refused:#?}"
    );
    let wrong = decide(&server, Some(&olga), "retry", id);
    assert!(
        wrong
            .stderr
            .contains("it takes continue or abort, not retry"),
        "{wrong:#?}"
    );
    assert_eq!(server.deployment(id)["status"], "waiting");

    let continued = decide(&server, Some(&olga), "continue", id).success();
    assert!(
        continued
            .stdout
            .contains(&format!("Continued deployment {id} of api@1.0.0 to dev")),
        "{continued:#?}"
    );
    assert_eq!(server.wait_until_ended(id, LONG)["status"], "succeeded");
    for agent in &agents {
        assert_eq!(read(&agent.work_dir, "current"), "1.0.0");
    }
    let audit = server.json(&["audit", "list"]);
    let decided = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "deployment.decide")
        .expect("the decision is audited");
    assert_eq!(decided["actor"], "olga");
    assert_eq!(decided["details"]["after"]["comment"], "checked by hand");

    // 1.1.0 is aborted at the step: it fails and 1.0.0 is put back.
    let second = server.promote("api@1.1.0", "dev");
    assert_eq!(paused(&server, second)["status"], "waiting");
    decide(&server, Some(&olga), "abort", second).success();
    let aborted = server.wait_until_ended(second, LONG);
    assert!(
        aborted["reason"]
            .as_str()
            .unwrap()
            .starts_with("aborted by olga at manual step \"smoke test\""),
        "{aborted:#}"
    );
    let rollback = server
        .deployments()
        .into_iter()
        .find(|d| d["rollback_of"] == second)
        .expect("a rollback after the abort");
    assert_eq!(
        server.wait_until_ended(rollback["id"].as_i64().unwrap(), LONG)["status"],
        "succeeded"
    );
    for agent in &agents {
        assert_eq!(read(&agent.work_dir, "installed"), "1.0.0");
    }
}

#[test]
fn a_failure_waits_for_a_decision_retry_skip_or_rollback() {
    let (server, agents) = fleet();
    let broken = agents[1].work_dir.join("broken-1.0.0");
    std::fs::write(&broken, "").unwrap();

    // Retried once node-2 is mended.
    let id = server.promote("worker@1.0.0", "dev");
    let waiting = paused(&server, id);
    assert_eq!(waiting["pause"]["kind"], "failure", "{waiting:#}");
    assert_eq!(waiting["pause"]["failed"], serde_json::json!(["node-2"]));
    assert!(
        waiting["reason"]
            .as_str()
            .unwrap()
            .contains(&format!("ferry deploy retry {id}")),
        "{waiting:#}"
    );
    let wrong = server.ferry(&["deploy", "continue", &id.to_string()]);
    assert!(
        wrong
            .stderr
            .contains("it takes retry or skip or rollback, not continue"),
        "{wrong:#?}"
    );
    std::fs::remove_file(&broken).unwrap();
    server
        .ferry(&["deploy", "retry", &id.to_string()])
        .success();
    assert_eq!(server.wait_until_ended(id, LONG)["status"], "succeeded");
    for agent in &agents {
        assert_eq!(read(&agent.work_dir, "worker-version"), "1.0.0");
    }

    // Skipped: the deployment goes on to node-3 without node-2.
    std::fs::write(agents[1].work_dir.join("broken-1.1.0"), "").unwrap();
    let skipped = server.promote("worker@1.1.0", "dev");
    assert_eq!(
        paused(&server, skipped)["pause"]["failed"],
        serde_json::json!(["node-2"])
    );
    server
        .ferry(&["deploy", "skip", &skipped.to_string()])
        .success();
    let done = server.wait_until_ended(skipped, LONG);
    assert_eq!(done["status"], "succeeded", "{done:#}");
    assert_eq!(
        read(&agents[2].work_dir, "worker-version"),
        "1.1.0",
        "node-3 was deployed"
    );
    let states: Vec<(&str, &str)> = done["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["target"].as_str().unwrap(), t["state"].as_str().unwrap()))
        .collect();
    assert_eq!(
        states,
        [
            ("node-1", "succeeded"),
            ("node-2", "failed"),
            ("node-3", "succeeded")
        ]
    );
}

#[test]
fn a_failure_rolled_back_by_decision_restores_the_previous_release() {
    let (server, agents) = fleet();
    let first = server.promote("worker@1.0.0", "dev");
    assert_eq!(server.wait_until_ended(first, LONG)["status"], "succeeded");
    std::fs::write(agents[1].work_dir.join("broken-1.1.0"), "").unwrap();
    let id = server.promote("worker@1.1.0", "dev");
    assert_eq!(paused(&server, id)["pause"]["kind"], "failure");
    assert_eq!(read(&agents[0].work_dir, "worker-version"), "1.1.0");
    let rolled = server
        .ferry(&[
            "deploy",
            "rollback",
            &id.to_string(),
            "--comment",
            "node-2 is sick",
        ])
        .success();
    assert!(
        rolled
            .stdout
            .contains(&format!("Rolling back deployment {id}")),
        "{rolled:#?}"
    );
    let rollback = server
        .deployments()
        .into_iter()
        .find(|d| d["rollback_of"] == id)
        .expect("a rollback deployment");
    assert_eq!(
        server.wait_until_ended(rollback["id"].as_i64().unwrap(), LONG)["status"],
        "succeeded"
    );
    assert_eq!(server.deployment(id)["status"], "rolled_back");
    assert_eq!(
        read(&agents[0].work_dir, "worker-version"),
        "1.0.0",
        "node-1 has 1.0.0 back"
    );
    let marks = server.json(&["release", "marks", "worker@1.1.0"]);
    assert_eq!(marks["items"][0]["environment"], "dev");
}

#[test]
fn a_canary_stage_waits_for_a_person_before_the_rest() {
    let (server, agents) = fleet();
    let id = server.promote("web@1.0.0", "dev");
    let waiting = paused(&server, id);
    assert_eq!(waiting["pause"]["kind"], "canary", "{waiting:#}");
    let deployed: Vec<String> = agents
        .iter()
        .map(|a| read(&a.work_dir, "web-version"))
        .collect();
    assert_eq!(deployed, ["1.0.0", "", ""], "only the canary");
    server
        .ferry(&["deploy", "continue", &id.to_string()])
        .success();
    assert_eq!(server.wait_until_ended(id, LONG)["status"], "succeeded");
    for agent in &agents {
        assert_eq!(read(&agent.work_dir, "web-version"), "1.0.0");
    }
}
