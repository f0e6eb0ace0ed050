//! Two `ferry serve` replicas on one PostgreSQL database: what one writes,
//! the other's answers show at once, though it keeps the status matrix and
//! the tokens it checked in memory; a token revoked on one is refused by
//! the other; and a deployment promoted on one is driven to its end while
//! the replica driving it is killed (the other takes its lease over).

mod support;

use std::time::Duration;

use support::{Agent, Schema, Server, postgres_url, wait_until};

const CONFIG: &str = r#"
[[environment]]
name = "dev"
tier = "development"

[lifecycle.default]
phases = [["dev"]]

[[service]]
name = "api"
deploy.steps = [{ name = "work", run = "sleep 2" }]

[[service]]
name = "web"
"#;

#[test]
fn replicas_see_each_others_writes_and_take_over_each_others_deployments() {
    let Some(base) = postgres_url("the replicas test") else {
        return;
    };
    let schema = Schema::create(&base);
    let mut a = Server::builder().database(Some(&schema.url)).start();
    let mut b = Server::builder()
        .database(Some(&schema.url))
        .data_dir(a.data_dir.path())
        .start();
    a.apply(CONFIG).success();
    for service in ["api", "web"] {
        a.ferry(&["release", "create", service, "--version", "1.0.0"])
            .success();
    }
    let web_in_dev = |status: &serde_json::Value| {
        status["cells"]
            .as_array()
            .unwrap()
            .iter()
            .find(|cell| cell["service"] == "web")
            .unwrap()["latest"]["deployment_id"]
            .clone()
    };

    // B has the matrix in memory, with nothing in dev.
    let before = b.json(&["status"]);
    assert!(web_in_dev(&before).is_null(), "{before:#}");

    // A token made and used on A works on B; revoked on A, B refuses it.
    let created = a.json(&["user", "create", "alice"]);
    let secret = created["token"]["secret"].as_str().unwrap().to_owned();
    let token_id = created["token"]["id"].as_i64().unwrap().to_string();
    b.ferry_as(Some(&secret), &["whoami"]).success();
    a.ferry(&["token", "revoke", &token_id]).success();
    wait_until(
        Duration::from_secs(2),
        "B refuses the revoked token",
        || b.ferry_as(Some(&secret), &["whoami"]).code != 0,
    );

    // A deployment promoted on A shows on B's matrix at once.
    let web = a.promote("web@1.0.0", "dev");
    wait_until(
        Duration::from_secs(2),
        "B's matrix shows the deployment",
        || web_in_dev(&b.json(&["status"])) == web,
    );

    // A deployment A drives (B is stopped when it is promoted, so A holds
    // its lease) goes on when A is killed: B takes it over once the lease
    // runs out, and ends it, with the agent talking to B all along.
    b.stop();
    let api = a.promote("api@1.0.0", "dev");
    std::thread::sleep(Duration::from_secs(1));
    b.restart();
    let agent = Agent::start(&b, "dev", "web-1", &[]);
    wait_until(Duration::from_secs(20), "the deployment runs", || {
        b.deployment(api)["status"] == "running"
    });
    a.kill();
    let ended = b.wait_until_ended(api, Duration::from_secs(60));
    assert_eq!(ended["status"], "succeeded", "{ended:#}");
    drop(agent);
}
