//! Release trains with the commands people use, against a real server and
//! real agents: three services promoted together into staging in their
//! order, then into production, where the second fails its health check and
//! the first is rolled back, leaving production as it was; and one blocked
//! member blocking the whole train.

mod support;

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use support::{Agent, Server};

const LONG: Duration = Duration::from_secs(90);

/// staging, then prod; three services whose step records what it installed
/// (in `<service>-version`, and in order in `installed.log`), and whose
/// health check fails for worker 2.x in prod.
const CONFIG: &str = r#"
[[environment]]
name = "staging"
tier = "staging"

[[environment]]
name = "prod"
tier = "production"

[lifecycle.default]
phases = [["staging"], ["prod"]]

[[service]]
name = "api"
deploy.steps = [{ name = "install", run = 'echo "$FERRY_VERSION" > "$FERRY_WORK_DIR/$FERRY_SERVICE-version"; echo "$FERRY_SERVICE $FERRY_VERSION" >> "$FERRY_WORK_DIR/installed.log"' }]

[[service]]
name = "worker"
deploy.steps = [{ name = "install", run = 'echo "$FERRY_VERSION" > "$FERRY_WORK_DIR/$FERRY_SERVICE-version"; echo "$FERRY_SERVICE $FERRY_VERSION" >> "$FERRY_WORK_DIR/installed.log"' }]
deploy.health = { command = '''case "$FERRY_ENVIRONMENT $FERRY_VERSION" in "prod 2."*) echo "queue unreachable"; exit 1;; esac''', retries = 0 }

[[service]]
name = "web"
deploy.steps = [{ name = "install", run = 'echo "$FERRY_VERSION" > "$FERRY_WORK_DIR/$FERRY_SERVICE-version"; echo "$FERRY_SERVICE $FERRY_VERSION" >> "$FERRY_WORK_DIR/installed.log"' }]
"#;

const SERVICES: [&str; 3] = ["api", "worker", "web"];

/// A server with an agent in each environment, where 1.0.0 of every
/// service runs everywhere, and 2.0.0 of each is released.
fn world() -> (Server, Agent, Agent) {
    let server = Server::start();
    server.apply(CONFIG);
    let staging = Agent::start(&server, "staging", "staging-1", &[]);
    let prod = Agent::start(&server, "prod", "prod-1", &[]);
    for service in SERVICES {
        for version in ["1.0.0", "2.0.0"] {
            server
                .ferry(&["release", "create", service, "--version", version])
                .success();
        }
        for environment in ["staging", "prod"] {
            let id = server.promote(&format!("{service}@1.0.0"), environment);
            assert_eq!(server.wait_until_ended(id, LONG)["status"], "succeeded");
        }
    }
    (server, staging, prod)
}

fn versions(dir: &Path) -> Vec<String> {
    SERVICES
        .iter()
        .map(|service| {
            std::fs::read_to_string(dir.join(format!("{service}-version")))
                .unwrap_or_default()
                .trim()
                .to_owned()
        })
        .collect()
}

fn installed(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("installed.log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn latest_run(server: &Server) -> Value {
    server.json(&["train", "show", "spring"])["runs"][0].clone()
}

#[test]
fn a_train_goes_in_order_and_a_failure_in_production_puts_everything_back() {
    let (server, staging, prod) = world();
    let made = server
        .ferry(&[
            "train",
            "create",
            "spring",
            "--release",
            "web@2.0.0",
            "--release",
            "api@2.0.0",
            "--release",
            "worker@2.0.0",
            "--order",
            "api,worker,web",
        ])
        .success();
    assert!(
        made.stdout
            .contains("Made train spring: api@2.0.0 → worker@2.0.0 → web@2.0.0"),
        "{made:#?}"
    );

    // Into staging: each member once the one before it succeeded.
    let into_staging = server
        .ferry(&["promote", "--train", "spring", "--to", "staging", "--wait"])
        .success();
    assert!(
        into_staging
            .stdout
            .contains("Train spring is in staging: every member succeeded"),
        "{into_staging:#?}"
    );
    assert_eq!(versions(&staging.work_dir), ["2.0.0", "2.0.0", "2.0.0"]);
    assert_eq!(
        installed(&staging.work_dir)[3..],
        ["api 2.0.0", "worker 2.0.0", "web 2.0.0"]
    );
    let shown = server.ferry(&["status"]).success();
    assert!(
        shown.stdout.contains("spring")
            && shown
                .stdout
                .contains("api@2.0.0 → worker@2.0.0 → web@2.0.0")
            && shown.stdout.contains("staging: succeeded"),
        "{shown:#?}"
    );

    // Into production: worker fails its health check; api is put back.
    let into_prod = server.ferry(&["promote", "--train", "spring", "--to", "prod", "--wait"]);
    assert_eq!(into_prod.code, 1, "{into_prod:#?}");
    assert!(
        into_prod
            .stdout
            .contains("Train spring failed in prod: worker@2.0.0 failed"),
        "{into_prod:#?}"
    );
    assert_eq!(
        versions(&prod.work_dir),
        ["1.0.0", "1.0.0", "1.0.0"],
        "prod as before"
    );
    let order = installed(&prod.work_dir);
    assert_eq!(
        order[3..],
        ["api 2.0.0", "worker 2.0.0", "worker 1.0.0", "api 1.0.0"],
        "the members changed, then back in reverse order; web never went"
    );
    let run = latest_run(&server);
    assert_eq!(run["status"], "failed");
    assert_eq!(run["environment"], "prod");
    let statuses: Vec<(&str, &str, &str)> = run["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["release"].as_str().unwrap(),
                m["status"].as_str().unwrap_or("-"),
                m["rollback_status"].as_str().unwrap_or("-"),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            ("api@2.0.0", "succeeded", "succeeded"),
            ("worker@2.0.0", "rolled_back", "succeeded"),
            ("web@2.0.0", "-", "-"),
        ]
    );
    // The member at fault is marked bad there; the one put back with it is not.
    let worker = server.json(&["release", "marks", "worker@2.0.0"]);
    assert_eq!(worker["items"][0]["environment"], "prod");
    let api = server.json(&["release", "marks", "api@2.0.0"]);
    assert_eq!(api["items"], serde_json::json!([]));
}

#[test]
fn one_blocked_member_blocks_the_whole_train() {
    let (server, _staging, _prod) = world();
    server
        .ferry(&[
            "train",
            "create",
            "spring",
            "--release",
            "api@2.0.0",
            "--release",
            "web@2.0.0",
        ])
        .success();
    let before = server.deployments().len();
    // web has not been in staging yet: the train may not enter prod.
    let check = server
        .ferry(&["check", "--train", "spring", "--to", "prod"])
        .code(3);
    assert!(
        check.stdout.contains("api@2.0.0: blocked")
            && check.stdout.contains("web@2.0.0: blocked")
            && check.stdout.contains("lifecycle-order"),
        "{check:#?}"
    );
    let refused = server
        .ferry(&["promote", "--train", "spring", "--to", "prod"])
        .code(3);
    assert!(
        refused.stderr.contains("train spring may not enter prod")
            && refused
                .stderr
                .contains("web@2.0.0: web@2.0.0 has not yet succeeded in staging"),
        "{refused:#?}"
    );
    // One member locked in staging holds the others back too.
    server
        .ferry(&[
            "lock",
            "staging",
            "--service",
            "web",
            "--reason",
            "web's database is moving",
        ])
        .success();
    let refused = server
        .ferry(&["promote", "--train", "spring", "--to", "staging"])
        .code(3);
    assert!(
        refused
            .stderr
            .contains("web@2.0.0: web in staging is locked by admin"),
        "{refused:#?}"
    );
    let json = server
        .ferry(&[
            "check", "--train", "spring", "--to", "staging", "--output", "json",
        ])
        .code(3)
        .json();
    assert_eq!(json["allowed"], false);
    assert_eq!(json["members"][0]["verdict"]["allowed"], true);
    assert_eq!(
        json["members"][1]["verdict"]["blockers"][0]["code"],
        "locked"
    );
    assert_eq!(server.deployments().len(), before, "nothing was deployed");

    // The train's notes hold each member's.
    let notes = server.ferry(&["train", "notes", "spring"]).success();
    assert!(
        notes.stdout.starts_with("# Train spring")
            && notes.stdout.contains("## api@2.0.0\n\n### 2.0.0")
            && notes.stdout.contains("## web@2.0.0"),
        "{notes:#?}"
    );
}
