//! Post-implementation reviews with the commands people use, against a real
//! server and a real agent: a release whose step fails is rolled back; its
//! review is drafted from what happened (the failing target and its last
//! log lines, who approved it, the rollback and the time to restore), is
//! listed open, is reminded of once past its due time, is completed with
//! `ferry review`, and cannot be completed twice. Where the policy says
//! `review = "always"`, a deployment that succeeds gets a review too.

mod support;

use std::time::{Duration, Instant};

use serde_json::Value;
use support::{Agent, Server};

/// How long a deployment and its rollback may take on a busy machine.
const TIMEOUT: Duration = Duration::from_secs(120);

/// `web`, whose step fails for 1.1.0 with the error a user would look for;
/// reviews in dev are due 3 seconds after they open, so the test sees the
/// reminder. `POLICY` is replaced by the review policy under test.
const CONFIG: &str = r#"
[[environment]]
name = "dev"
tier = "development"
policy = { review_due = "3s"POLICY }

[lifecycle.default]
phases = [["dev"]]

[[service]]
name = "web"
deploy.steps = [{ name = "install", timeout = "30s", run = '''
echo "installing $FERRY_SERVICE $FERRY_VERSION on $FERRY_TARGET"
if [ "$FERRY_VERSION" = "1.1.0" ]; then
  echo "running migration 42"
  echo "error: migration 42 failed: column already exists" >&2
  exit 3
fi
echo "installed $FERRY_VERSION"
''' }]
"#;

fn config(policy: &str) -> String {
    CONFIG.replace("POLICY", policy)
}

fn status(deployment: &Value) -> &str {
    deployment["status"].as_str().unwrap_or_default()
}

/// Creates `web@version` and promotes it to dev; answers the deployment's id.
fn ship(server: &Server, version: &str) -> i64 {
    server
        .ferry(&["release", "create", "web", "--version", version])
        .success();
    server.promote(&format!("web@{version}"), "dev")
}

#[test]
fn a_failed_deployment_is_reviewed_from_its_timeline() {
    let server = Server::start();
    server.apply(&config(""));
    let _agent = Agent::start(&server, "dev", "web-1", &[]);

    // 1.0.0 succeeds: on failure only, so no review.
    let good = ship(&server, "1.0.0");
    let ended = server.wait_until_ended(good, TIMEOUT);
    assert_eq!(status(&ended), "succeeded", "{ended:#}");
    let none = server.ferry(&["review", "show", &good.to_string()]);
    assert!(
        none.stderr.contains("has no review"),
        "a success is not reviewed here: {none:#?}"
    );

    // 1.1.0, approved by bob, fails on web-1 and is rolled back.
    let bob = server.user_with_roles("bob", &["approver"]);
    server
        .ferry(&["release", "create", "web", "--version", "1.1.0"])
        .success();
    server
        .ferry_as(
            Some(&bob),
            &[
                "approve",
                "web@1.1.0",
                "--env",
                "dev",
                "--comment",
                "migration checked",
            ],
        )
        .success();
    let bad = server.promote("web@1.1.0", "dev");
    server.wait_for_deployment(bad, TIMEOUT, |d| status(d) == "rolled_back");
    let rollback = server
        .deployments()
        .iter()
        .find(|d| d["rollback_of"] == bad)
        .and_then(|d| d["id"].as_i64())
        .expect("a rollback undoes the failed deployment");

    // Listed open, with its due time.
    let open = server.json(&["review", "list", "--open"]);
    let items = open["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{open:#}");
    let listed = &items[0];
    assert_eq!(listed["deployment"], bad);
    assert_eq!(listed["reason"], "failed");
    assert_eq!(
        (listed["service"].as_str(), listed["version"].as_str()),
        (Some("web"), Some("1.1.0"))
    );
    assert!(listed["due_at"].is_string() && listed.get("completion").is_none());
    let table = server.ferry(&["review", "list"]).success();
    assert!(
        table.stdout.contains("web@1.1.0") && table.stdout.contains("open"),
        "{table:#?}"
    );

    // The draft says what a person looks for first.
    let shown = server
        .ferry(&["review", "show", &bad.to_string()])
        .success();
    let draft = &shown.stdout;
    for expected in [
        "Post-implementation review of deployment",
        "web@1.1.0 failed in dev on web-1",
        "Release: web@1.1.0 to dev, replacing 1.0.0",
        "Approved by bob",
        "migration checked",
        "web-1 (deploy job, batch 1): step \"install\" exited with 3",
        "error: migration 42 failed: column already exists",
        "running migration 42",
        &format!("Rolled back automatically: deployment {rollback} put 1.0.0 back (succeeded)"),
        "Time to restore: ",
    ] {
        assert!(draft.contains(expected), "{expected:?} in:\n{draft}");
    }
    let review = server.json(&["review", "show", &bad.to_string()]);
    assert_eq!(review["draft"]["restored"]["deployment"], rollback);
    assert!(review["draft"]["restored"]["seconds"].as_i64().unwrap() >= 0);
    assert_eq!(review["draft"]["decisions"][0]["user"], "bob");
    // The rollback is part of this review, not one of its own.
    let rollback_review = server.ferry(&["review", "show", &rollback.to_string()]);
    assert!(
        rollback_review.stderr.contains("has no review"),
        "{rollback_review:#?}"
    );

    // Past its due time (3 s), it is reminded of, once.
    let deadline = Instant::now() + Duration::from_secs(60);
    let reminded = loop {
        let review = server.json(&["review", "show", &bad.to_string()]);
        if review["reminded_at"].is_string() {
            break review;
        }
        assert!(
            Instant::now() < deadline,
            "the review was never reminded of: {review:#}\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(300));
    };
    assert_eq!(reminded["overdue"], true);
    let shown = server
        .ferry(&["review", "show", &bad.to_string()])
        .success();
    assert!(shown.stdout.contains("Open, overdue"), "{shown:#?}");

    // A deployer may not complete it; a release manager (the admin) may.
    let carol = server.user_with_roles("carol", &["deployer"]);
    let refused = server.ferry_as(
        Some(&carol),
        &[
            "review",
            &bad.to_string(),
            "--outcome",
            "resolved",
            "--notes",
            "x",
        ],
    );
    assert!(
        refused.stderr.contains("release-manager"),
        "the refusal names who may: {refused:#?}"
    );
    let completed = server
        .ferry(&[
            "review",
            &bad.to_string(),
            "--outcome",
            "follow-up",
            "--notes",
            "migration 42 was not idempotent",
            "--action",
            "make migration 42 idempotent",
            "--action",
            "run migrations in staging first",
        ])
        .success();
    assert!(
        completed
            .stdout
            .contains(&format!("Completed the review of deployment {bad}"))
            && completed.stdout.contains("2 follow-up actions"),
        "{completed:#?}"
    );
    let twice = server.ferry(&[
        "review",
        &bad.to_string(),
        "--outcome",
        "resolved",
        "--notes",
        "again",
    ]);
    assert!(
        twice.stderr.contains("was completed already, by admin"),
        "{twice:#?}"
    );
    let empty = server.ferry(&["review", "list", "--open"]).success();
    assert!(empty.stdout.contains("No reviews."), "{empty:#?}");
    let shown = server
        .ferry(&["review", "show", &bad.to_string()])
        .success();
    assert!(
        shown.stdout.contains("Completed by admin")
            && shown.stdout.contains("follow-up")
            && shown.stdout.contains("- make migration 42 idempotent"),
        "{shown:#?}"
    );

    // The trail: opened, reminded of once, completed.
    let count = |action: &str| {
        server.json(&["audit", "list", "--action", action])["items"]
            .as_array()
            .map_or(0, Vec::len)
    };
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        (
            count("review.open"),
            count("review.remind"),
            count("review.complete")
        ),
        (1, 1, 1)
    );

    // Where every deployment is reviewed, a success is too.
    server.apply(&config(", review = \"always\""));
    let fine = ship(&server, "1.2.0");
    let ended = server.wait_until_ended(fine, TIMEOUT);
    assert_eq!(status(&ended), "succeeded", "{ended:#}");
    let review = server.json(&["review", "show", &fine.to_string()]);
    assert_eq!(review["reason"], "policy");
    assert_eq!(review["draft"]["status"], "succeeded");
    assert!(
        review["draft"]["markdown"]
            .as_str()
            .unwrap()
            .contains("Release: web@1.2.0 to dev, replacing 1.0.0"),
        "{review:#}"
    );
    let listed = server.json(&["review", "list", "--service", "web", "--env", "dev"]);
    let order: Vec<i64> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["deployment"].as_i64().unwrap())
        .collect();
    assert_eq!(order, [fine, bad], "the open review first");
}
