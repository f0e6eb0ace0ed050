//! The commands people use to follow and steer deployments, against a real
//! server and a real agent: `promote --wait`, `deploy logs [-f]`, `deploy
//! show`, `rollback`, and a promotion held by a freeze that starts by itself.

mod support;

use std::time::Duration;

use support::{Agent, Server};

/// A development environment and `api`, whose step prints the version and
/// a secret variable, and whose health check fails for 2.x releases.
const CONFIG: &str = r#"
[[environment]]
name = "dev"
tier = "development"

[lifecycle.default]
phases = [["dev"]]

[[service]]
name = "api"
deploy.strategy = { kind = "rolling", batch = 1 }
deploy.steps = [{ name = "install", run = '''
echo "installing $FERRY_VERSION on $FERRY_TARGET with $DB_PASSWORD"
echo "a warning" >&2
echo "$FERRY_VERSION" > "$FERRY_WORK_DIR/current"
''' }]
deploy.health = { command = '''case "$FERRY_VERSION" in 2.*) echo unhealthy; exit 1;; esac''', retries = 1 }
"#;

const SECRET: &str = "hunter2-very-secret";

fn fleet() -> (Server, Vec<Agent>) {
    let server = Server::start();
    server.apply(CONFIG);
    server
        .ferry(&["var", "set", "dev", "DB_PASSWORD", SECRET, "--secret"])
        .success();
    let agents = vec![
        Agent::start(&server, "dev", "node-1", &[]),
        Agent::start(&server, "dev", "node-2", &[]),
    ];
    for version in ["1.0.0", "1.1.0", "2.0.0"] {
        server
            .ferry(&["release", "create", "api", "--version", version])
            .success();
    }
    (server, agents)
}

fn current(agent: &Agent) -> String {
    std::fs::read_to_string(agent.work_dir.join("current"))
        .unwrap_or_default()
        .trim()
        .to_owned()
}

#[test]
fn promote_wait_follows_to_the_end_and_the_log_is_masked() {
    let (server, agents) = fleet();
    let run = server
        .ferry(&["promote", "api@1.0.0", "--to", "dev", "--wait"])
        .success();
    assert!(
        run.stdout
            .contains("Deployment 1 of api@1.0.0 to dev succeeded"),
        "{run:#?}"
    );
    assert!(agents.iter().all(|a| current(a) == "1.0.0"));

    // The whole log, each line with its target, stream and step.
    let logs = server.ferry(&["deploy", "logs", "1"]).success();
    for agent in &agents {
        let line = format!(
            "{} out [install] installing 1.0.0 on {} with ***",
            agent.name, agent.name
        );
        assert!(logs.stdout.contains(&line), "{line:?} in {}", logs.stdout);
        assert!(
            logs.stdout
                .contains(&format!("{} err [install] a warning", agent.name)),
            "{}",
            logs.stdout
        );
    }
    assert!(!logs.stdout.contains(SECRET), "the secret is masked");
    // Following an ended deployment prints the same lines and returns.
    let followed = server.ferry(&["deploy", "logs", "1", "-f"]).success();
    assert_eq!(followed.stdout, logs.stdout);
    // As JSON, a line of JSON per log line (JSON Lines), followed or not.
    let lines = server
        .ferry(&["deploy", "logs", "1", "--output", "json"])
        .success();
    let records: Vec<serde_json::Value> = lines
        .stdout
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is a JSON object"))
        .collect();
    assert_eq!(records.len(), logs.stdout.lines().count());
    assert!(
        records
            .iter()
            .all(|r| r["target"].is_string() && r["line"].is_string())
    );
    let followed = server
        .ferry(&["deploy", "logs", "1", "-f", "--output", "json"])
        .success();
    assert_eq!(followed.stdout, lines.stdout);

    let shown = server.json(&["deploy", "show", "1"]);
    let targets = shown["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 2);
    for (batch, target) in targets.iter().enumerate() {
        assert_eq!(target["batch"], batch as i64);
        assert_eq!(target["state"], "succeeded");
        assert_eq!(target["steps"][0]["exit_code"], 0);
        assert_eq!(target["health"]["healthy"], true);
    }
    assert_eq!(shown["progress"]["batches"], 2);
    let table = server.ferry(&["deploy", "show", "1"]).success();
    assert!(
        table.stdout.contains("TARGET") && table.stdout.contains("install=0"),
        "{}",
        table.stdout
    );
}

#[test]
fn a_failed_promotion_exits_1_after_its_rollback_and_rollback_by_hand_restores() {
    let (server, agents) = fleet();
    server
        .ferry(&["promote", "api@1.0.0", "--to", "dev", "--wait"])
        .success();
    server
        .ferry(&["promote", "api@1.1.0", "--to", "dev", "--wait"])
        .success();

    // 2.0.0's health check fails on the first target: halted, rolled back.
    let failed = server
        .ferry(&["promote", "api@2.0.0", "--to", "dev", "--wait"])
        .code(1);
    assert!(
        failed
            .stdout
            .contains("Deployment 3 of api@2.0.0 to dev failed")
            && failed.stdout.contains("Rolling back to api@1.1.0"),
        "{failed:#?}"
    );
    let shown = server.json(&["deploy", "show", "3"]);
    assert_eq!(shown["status"], "rolled_back");
    let target = &shown["targets"][0];
    assert_eq!(target["state"], "failed");
    assert!(
        target["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("health check failed")),
        "{shown:#}"
    );
    assert!(agents.iter().all(|a| current(a) == "1.1.0"));

    // By hand: back from 1.1.0 (the latest success) to 1.0.0.
    let rolled = server
        .ferry(&["rollback", "api", "--env", "dev", "--to", "1.0.0", "--wait"])
        .success();
    assert!(
        rolled.stdout.contains("Rolling back api in dev to 1.0.0"),
        "{rolled:#?}"
    );
    assert!(agents.iter().all(|a| current(a) == "1.0.0"));
    let refused = server
        .ferry(&["rollback", "api", "--env", "dev", "--to", "2.0.0"])
        .code(1);
    assert!(
        refused.stderr.contains("api@2.0.0 never succeeded in dev"),
        "{refused:#?}"
    );
}

#[test]
fn a_promotion_during_a_freeze_waits_and_starts_when_it_ends() {
    let (server, agents) = fleet();
    let end = chrono::Utc::now() + chrono::Duration::seconds(4);
    let start = chrono::Utc::now() - chrono::Duration::minutes(1);
    server
        .ferry(&[
            "freeze",
            "create",
            "short",
            "--env",
            "dev",
            "--start",
            &start.to_rfc3339(),
            "--end",
            &end.to_rfc3339(),
            "--reason",
            "a short pause",
        ])
        .success();
    let promoted = server
        .ferry(&["promote", "api@1.0.0", "--to", "dev"])
        .success();
    assert!(
        promoted.stdout.contains("It waits: held by the gates")
            && promoted.stdout.contains("frozen by short"),
        "{promoted:#?}"
    );
    assert_eq!(server.deployment(1)["status"], "waiting");
    let ended = server.wait_until_ended(1, Duration::from_secs(60));
    assert_eq!(ended["status"], "succeeded", "{ended:#}");
    assert!(agents.iter().all(|a| current(a) == "1.0.0"));
}
