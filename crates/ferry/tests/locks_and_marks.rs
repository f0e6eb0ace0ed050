//! Locks and rollbacks that are remembered, with the commands people use,
//! against a real server and real agents: a lock blocks promotions until it
//! is lifted, and a release rolled back from an environment is marked bad
//! there, so that neither the automatic phase nor a person promotes it again
//! until someone unmarks it.

mod support;

use std::time::Duration;

use support::{Agent, Server};

/// dev, then staging promoted automatically after dev (and locked by ferry
/// after any rollback there); `api`'s health check fails for 2.x in staging.
const CONFIG: &str = r#"
[[environment]]
name = "dev"
tier = "development"

[[environment]]
name = "staging"
tier = "staging"
lock_after_rollback = true

[lifecycle.default]
phases = [["dev"], { environments = ["staging"], auto = true }]

[[service]]
name = "api"
deploy.steps = [{ name = "install", run = 'echo "$FERRY_VERSION" > "$FERRY_WORK_DIR/current"' }]
deploy.health = { command = '''case "$FERRY_ENVIRONMENT $FERRY_VERSION" in "staging 2."*) echo unhealthy; exit 1;; esac''', retries = 1, interval = "1s" }

[[service]]
name = "web"
"#;

const LONG: Duration = Duration::from_secs(60);

fn fleet() -> (Server, Vec<Agent>) {
    let server = Server::start();
    server.apply(CONFIG);
    let agents = vec![
        Agent::start(&server, "dev", "dev-1", &[]),
        Agent::start(&server, "staging", "staging-1", &[]),
    ];
    for version in ["1.0.0", "2.0.0"] {
        server
            .ferry(&["release", "create", "api", "--version", version])
            .success();
    }
    server
        .ferry(&["release", "create", "web", "--version", "1.0.0"])
        .success();
    (server, agents)
}

/// The deployment of `release` into `environment`, newest first, once there is one.
fn deployment_of(server: &Server, release: &str, environment: &str) -> Option<serde_json::Value> {
    let (service, version) = release.split_once('@').unwrap();
    server.deployments().into_iter().find(|d| {
        d["service"] == service && d["version"] == version && d["environment"] == environment
    })
}

fn wait_for_deployment_of(server: &Server, release: &str, environment: &str) -> serde_json::Value {
    let deadline = std::time::Instant::now() + LONG;
    loop {
        if let Some(found) = deployment_of(server, release, environment) {
            return server.wait_until_ended(found["id"].as_i64().unwrap(), LONG);
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{release} never went to {environment}: {:#?}",
            server.deployments()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_lock_blocks_promotions_until_it_is_lifted() {
    let (server, _agents) = fleet();

    let locked = server
        .ferry(&["lock", "dev", "--reason", "incident 42: database failover"])
        .success();
    assert!(locked.stdout.contains("Locked dev"), "{}", locked.stdout);
    let listed = server.json(&["lock"]);
    assert_eq!(listed["items"][0]["environment"], "dev");
    assert_eq!(listed["items"][0]["service"], serde_json::Value::Null);
    assert_eq!(listed["items"][0]["locked_by"], "admin");
    // Locking again is refused and says who holds it.
    let again = server.ferry(&["lock", "dev", "--reason", "twice"]);
    assert_ne!(again.code, 0);
    assert!(
        again.stderr.contains("dev is locked already, by admin"),
        "{again:#?}"
    );

    // Every service is held, with who, since when and why, and how to clear it.
    for release in ["api@1.0.0", "web@1.0.0"] {
        let refused = server.ferry(&["promote", release, "--to", "dev"]).code(3);
        assert!(
            refused
                .stderr
                .contains("locked: dev is locked by admin since")
                && refused.stderr.contains("incident 42: database failover")
                && refused.stderr.contains("ferry unlock dev --reason TEXT"),
            "{refused:#?}"
        );
    }
    let check = server
        .ferry(&["check", "api@1.0.0", "--to", "dev", "--output", "json"])
        .code(3);
    let codes: Vec<String> = check.json()["blockers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["code"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes, ["locked"]);
    // The emergency path does not bypass a lock.
    server
        .ferry(&[
            "promote",
            "api@1.0.0",
            "--to",
            "dev",
            "--emergency",
            "--reason",
            "it is urgent",
        ])
        .code(3);
    assert!(server.deployments().is_empty(), "nothing was promoted");

    // A release manager's lock of one service holds that service alone.
    let rosa = server.user_with_roles("rosa", &["release-manager"]);
    server
        .ferry(&["unlock", "dev", "--reason", "failover done"])
        .success();
    server
        .ferry_as(
            Some(&rosa),
            &[
                "lock",
                "dev",
                "--service",
                "api",
                "--reason",
                "api schema migration",
            ],
        )
        .success();
    server
        .ferry(&["promote", "web@1.0.0", "--to", "dev"])
        .success();
    let refused = server
        .ferry(&["promote", "api@1.0.0", "--to", "dev"])
        .code(3);
    assert!(
        refused.stderr.contains("api in dev is locked by rosa")
            && refused
                .stderr
                .contains("ferry unlock dev --service api --reason TEXT"),
        "{refused:#?}"
    );
    // Someone who may only promote may not lift it.
    let dev = server.user_with_roles("devon", &["deployer"]);
    let denied = server.ferry_as(
        Some(&dev),
        &[
            "unlock",
            "dev",
            "--service",
            "api",
            "--reason",
            "in a hurry",
        ],
    );
    assert_eq!(denied.code, 1, "{denied:#?}");
    assert!(
        denied
            .stderr
            .contains("may not lock and unlock environments and services"),
        "{denied:#?}"
    );
    // The environment's lock is not the service's.
    let wrong = server.ferry(&["unlock", "dev", "--reason", "which one?"]);
    assert!(
        wrong
            .stderr
            .contains("dev is not locked (locked there: api in dev)"),
        "{wrong:#?}"
    );
    server
        .ferry_as(
            Some(&rosa),
            &[
                "unlock",
                "dev",
                "--service",
                "api",
                "--reason",
                "migration done",
            ],
        )
        .success();
    let id = server.promote("api@1.0.0", "dev");
    assert_eq!(server.wait_until_ended(id, LONG)["status"], "succeeded");
    assert_eq!(server.json(&["lock"])["items"], serde_json::json!([]));

    // Each step is in the audit trail.
    let audit = server.json(&["audit", "list"]);
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .filter(|a| a.starts_with("lock."))
        .collect();
    assert_eq!(
        actions,
        ["lock.remove", "lock.create", "lock.remove", "lock.create"]
    );
}

#[test]
fn a_rolled_back_release_is_refused_by_the_automatic_phase_and_by_people_until_unmarked() {
    let (server, agents) = fleet();

    // 1.0.0 goes through dev and on to staging by itself.
    let first = server.promote("api@1.0.0", "dev");
    assert_eq!(server.wait_until_ended(first, LONG)["status"], "succeeded");
    assert_eq!(
        wait_for_deployment_of(&server, "api@1.0.0", "staging")["status"],
        "succeeded"
    );

    // 2.0.0 does too, fails its health check in staging and is rolled back.
    let second = server.promote("api@2.0.0", "dev");
    assert_eq!(server.wait_until_ended(second, LONG)["status"], "succeeded");
    let failed = wait_for_deployment_of(&server, "api@2.0.0", "staging");
    assert_eq!(failed["status"], "rolled_back", "{failed:#}");
    let rollback = server
        .deployments()
        .into_iter()
        .find(|d| d["rollback_of"] == failed["id"])
        .expect("an automatic rollback");
    assert_eq!(
        server.wait_until_ended(rollback["id"].as_i64().unwrap(), LONG)["status"],
        "succeeded"
    );
    let staging = agents.iter().find(|a| a.name == "staging-1").unwrap();
    assert_eq!(
        std::fs::read_to_string(staging.work_dir.join("current"))
            .unwrap()
            .trim(),
        "1.0.0"
    );

    // It is marked bad in staging, with why, and staging is locked by ferry.
    let marks = server.json(&["release", "marks", "api@2.0.0"]);
    let mark = &marks["items"][0];
    assert_eq!(mark["environment"], "staging");
    assert_eq!(mark["marked_by"], "ferry");
    assert_eq!(mark["deployment"], failed["id"]);
    assert!(
        mark["reason"]
            .as_str()
            .unwrap()
            .contains("rolled back automatically"),
        "{mark:#}"
    );
    let locks = server.json(&["lock"]);
    assert_eq!(locks["items"][0]["environment"], "staging");
    assert_eq!(locks["items"][0]["locked_by"], "ferry");
    assert!(
        locks["items"][0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("locked after the rollback of api@2.0.0"),
        "{locks:#}"
    );

    // Deployed to dev again, it is not promoted into staging by itself.
    let again = server.promote("api@2.0.0", "dev");
    assert_eq!(server.wait_until_ended(again, LONG)["status"], "succeeded");
    std::thread::sleep(Duration::from_secs(3));
    let into_staging: Vec<_> = server
        .deployments()
        .into_iter()
        .filter(|d| d["version"] == "2.0.0" && d["environment"] == "staging")
        .collect();
    assert_eq!(
        into_staging.len(),
        1,
        "only the one rolled back: {into_staging:#?}"
    );

    // A person's promotion is blocked by the mark and the lock.
    server
        .ferry(&["unlock", "staging", "--reason", "looked at it"])
        .success();
    let refused = server
        .ferry(&["promote", "api@2.0.0", "--to", "staging"])
        .code(3);
    assert!(
        refused.stderr.contains(
            "marked-bad: api@2.0.0 was rolled back from staging and marked bad there by ferry"
        ) && refused
            .stderr
            .contains("ferry release unmark api@2.0.0 --env staging --reason TEXT"),
        "{refused:#?}"
    );

    // Unmarked, it may go: the mark's history stays.
    let unmarked = server
        .ferry(&[
            "release",
            "unmark",
            "api@2.0.0",
            "--env",
            "staging",
            "--reason",
            "the health check was fixed",
        ])
        .success();
    assert!(
        unmarked.stdout.contains("Unmarked api@2.0.0 in staging"),
        "{unmarked:#?}"
    );
    server
        .ferry(&["check", "api@2.0.0", "--to", "staging"])
        .success();
    let marks = server.json(&["release", "marks", "api@2.0.0"]);
    assert_eq!(marks["items"][0]["unmarked_by"], "admin");
    assert_eq!(
        marks["items"][0]["unmark_reason"],
        "the health check was fixed"
    );
    let again = server.ferry(&[
        "release",
        "unmark",
        "api@2.0.0",
        "--env",
        "staging",
        "--reason",
        "twice",
    ]);
    assert!(
        again
            .stderr
            .contains("api@2.0.0 is not marked bad in staging"),
        "{again:#?}"
    );
}

#[test]
fn a_rollback_by_hand_marks_the_release_with_its_reason() {
    let (server, _agents) = fleet();
    for release in ["api@1.0.0", "api@2.0.0"] {
        let id = server.promote(release, "dev");
        assert_eq!(server.wait_until_ended(id, LONG)["status"], "succeeded");
    }
    let rolled = server
        .ferry(&[
            "rollback",
            "api",
            "--env",
            "dev",
            "--reason",
            "checkout is slow",
            "--wait",
        ])
        .success();
    assert!(rolled.stdout.contains("to 1.0.0"), "{rolled:#?}");
    let marks = server.json(&["release", "marks", "api@2.0.0"]);
    assert_eq!(marks["items"][0]["environment"], "dev");
    assert_eq!(marks["items"][0]["marked_by"], "admin");
    assert_eq!(marks["items"][0]["reason"], "checkout is slow");
    // dev has no lock_after_rollback: nothing is locked.
    assert_eq!(server.json(&["lock"])["items"], serde_json::json!([]));
    let refused = server
        .ferry(&["promote", "api@2.0.0", "--to", "dev"])
        .code(3);
    assert!(refused.stderr.contains("checkout is slow"), "{refused:#?}");
    server.ferry(&["release", "marks", "api@1.0.0"]).success();
}
