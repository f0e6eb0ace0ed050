//! The DORA metrics and incidents with the commands people use, against a
//! real server: deployments reported by another tool, an incident against
//! one of them, and the figures `ferry metrics` gives. (The figures
//! themselves are asserted exactly on a seeded history in ferry-core.)

mod support;

use support::Server;

const CONFIG: &str = r#"
[[environment]]
name = "dev"
tier = "development"

[lifecycle.default]
phases = [["dev"]]

[[service]]
name = "api"
"#;

#[test]
fn deployments_and_incidents_make_the_figures() {
    let server = Server::start();
    server.apply(CONFIG);
    let none = server.json(&["metrics", "--service", "api", "--env", "dev"]);
    assert_eq!(none["items"][0]["deployments"], 0);
    assert_eq!(
        none["items"][0]["change_failure_rate"],
        serde_json::Value::Null
    );
    assert_eq!(none["definitions"].as_array().unwrap().len(), 4);

    // 1.0.0 succeeds, 1.1.0 fails, 1.2.0 succeeds (and restores).
    for (version, status) in [
        ("1.0.0", "succeeded"),
        ("1.1.0", "failed"),
        ("1.2.0", "succeeded"),
    ] {
        server
            .ferry(&["release", "create", "api", "--version", version])
            .success();
        let id = server.promote(&format!("api@{version}"), "dev");
        server
            .ferry(&["deploy", "report", &id.to_string(), "--status", status])
            .success();
    }
    // 1.2.0 then causes an incident, resolved.
    let third = server.deployments()[0]["id"].as_i64().unwrap().to_string();
    let opened = server.json(&[
        "incident",
        "open",
        "--service",
        "api",
        "--env",
        "dev",
        "--deployment",
        &third,
        "--title",
        "checkout errors",
    ]);
    let incident = opened["id"].as_i64().unwrap().to_string();
    assert_eq!(
        server.json(&["incident", "list", "--open"])["items"][0]["id"],
        opened["id"]
    );
    server
        .ferry(&[
            "incident",
            "resolve",
            &incident,
            "--resolution",
            "config reverted",
        ])
        .success();
    let twice = server.ferry(&["incident", "resolve", &incident]);
    assert!(twice.stderr.contains("was resolved already"), "{twice:#?}");
    let wrong = server.ferry(&[
        "incident",
        "open",
        "--service",
        "api",
        "--env",
        "dev",
        "--deployment",
        "999",
        "--title",
        "x",
    ]);
    assert!(
        wrong
            .stderr
            .contains("deployment 999 is not a deployment of api to dev"),
        "{wrong:#?}"
    );

    let report = server.json(&["metrics", "--service", "api", "--env", "dev"]);
    let api = &report["items"][0];
    assert_eq!(api["service"], "api");
    assert_eq!(api["deployments"], 2);
    assert_eq!(
        (api["finished"].as_i64(), api["failed"].as_i64()),
        (Some(3), Some(2))
    );
    assert!((api["change_failure_rate"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-9);
    assert_eq!(api["change_failure_band"], "low");
    assert_eq!(
        api["time_to_restore"]["count"], 2,
        "1.1.0's failure, and the incident"
    );
    assert_eq!(api["unrestored"], 0);
    assert_eq!(
        api["lead_time"]["count"], 0,
        "releases without commits have no lead time"
    );

    let table = server.ferry(&["metrics"]).success();
    assert!(
        table
            .stdout
            .contains("change failure rate: of the deployments finished"),
        "{table:#?}"
    );
    let bad = server.ferry(&["metrics", "--since", "2027-01-02", "--until", "2027-01-01"]);
    assert!(bad.stderr.contains("the period is empty"), "{bad:#?}");
}
