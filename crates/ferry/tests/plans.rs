//! Release plans with the commands people use, against a real server: a
//! plan made from the service's template with dates from the go-live date,
//! a task required before an environment holding promotions there until it
//! is done, and who may move which task.

mod support;

use serde_json::Value;
use support::Server;

/// dev then staging; `api` gets its plans from the `standard` template,
/// whose QA sign-off must be done before staging. `api` is deployed by
/// another tool, which reports back.
const CONFIG: &str = r#"
[[environment]]
name = "dev"
tier = "development"

[[environment]]
name = "staging"
tier = "staging"

[lifecycle.default]
phases = [["dev"], ["staging"]]

[[plan_template]]
name = "standard"
milestones = [
  { name = "code freeze", at = "-7d" },
  { name = "QA sign-off", at = "-1d" },
  { name = "go-live", at = "0d" },
]
tasks = [
  { title = "QA sign-off", assignee = "group:qa", due = "-1d", required_before = "staging" },
  { title = "Announce the release", assignee = "rosa", due = "0d", link = "https://wiki.example.com/announce" },
]

[[service]]
name = "api"
plan_template = "standard"
"#;

fn dates(items: &Value, key: &str) -> Vec<(String, String)> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            (
                item[key].as_str().unwrap().to_owned(),
                item["due"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

#[test]
fn a_new_release_gets_its_plan_from_the_template_dated_from_its_go_live() {
    let server = Server::start();
    server.apply(CONFIG);
    server
        .ferry(&[
            "release",
            "create",
            "api",
            "--version",
            "1.0.0",
            "--go-live",
            "2027-03-10",
        ])
        .success();

    let plan = server.json(&["plan", "show", "api@1.0.0"]);
    assert_eq!(plan["template"], "standard");
    assert_eq!(plan["owner"], "admin");
    assert_eq!(plan["go_live"], "2027-03-10T00:00:00Z");
    assert_eq!(
        dates(&plan["milestones"], "name"),
        pairs(&[
            ("code freeze", "2027-03-03T00:00:00Z"),
            ("QA sign-off", "2027-03-09T00:00:00Z"),
            ("go-live", "2027-03-10T00:00:00Z"),
        ])
    );
    assert_eq!(
        dates(&plan["tasks"], "title"),
        pairs(&[
            ("QA sign-off", "2027-03-09T00:00:00Z"),
            ("Announce the release", "2027-03-10T00:00:00Z"),
        ])
    );
    assert_eq!(plan["tasks"][0]["assignee"], "group:qa");
    assert_eq!(plan["tasks"][0]["required_before"], "staging");
    assert_eq!(plan["tasks"][0]["state"], "todo");
    assert_eq!(plan["overdue"], 0);

    // A new go-live date moves every date that came from the template.
    let moved = server.json(&[
        "plan",
        "set",
        "api@1.0.0",
        "--go-live",
        "2027-04-01T09:00:00Z",
    ]);
    assert_eq!(moved["milestones"][0]["due"], "2027-03-25T09:00:00Z");
    assert_eq!(moved["tasks"][0]["due"], "2027-03-31T09:00:00Z");

    // A template changed later changes no plan made from it.
    server.apply(&CONFIG.replace("\"-7d\"", "\"-14d\""));
    let kept = server.json(&["plan", "show", "api@1.0.0"]);
    assert_eq!(kept["milestones"][0]["due"], "2027-03-25T09:00:00Z");
    server
        .ferry(&[
            "release",
            "create",
            "api",
            "--version",
            "1.1.0",
            "--go-live",
            "2027-05-01",
        ])
        .success();
    let next = server.json(&["plan", "show", "api@1.1.0"]);
    assert_eq!(next["milestones"][0]["due"], "2027-04-17T00:00:00Z");

    // Without a go-live date the plan is made undated; the table says so.
    server
        .ferry(&["release", "create", "api", "--version", "1.2.0"])
        .success();
    let undated = server.ferry(&["plan", "show", "api@1.2.0"]).success();
    assert!(
        undated.stdout.contains("go-live    not set") && undated.stdout.contains("code freeze"),
        "{undated:#?}"
    );
}

#[test]
fn a_required_task_holds_the_promotion_until_its_assignee_has_done_it() {
    let server = Server::start();
    server.apply(CONFIG);
    let quinn = server.user_with_roles("quinn", &["viewer"]);
    let vic = server.user_with_roles("vic", &["viewer"]);
    server.ferry(&["group", "create", "qa"]).success();
    server.ferry(&["group", "add", "qa", "quinn"]).success();
    server
        .ferry(&[
            "release",
            "create",
            "api",
            "--version",
            "1.0.0",
            "--go-live",
            "2020-01-10",
        ])
        .success();
    let id = server.promote("api@1.0.0", "dev");
    server
        .ferry(&["deploy", "report", &id.to_string(), "--status", "succeeded"])
        .success();

    // The task due long ago is overdue, and it holds staging.
    let plan = server.json(&["plan", "show", "api@1.0.0"]);
    assert_eq!(plan["tasks"][0]["overdue"], true);
    assert_eq!(plan["overdue"], 5, "three milestones and two tasks");
    let task = plan["tasks"][0]["id"].as_i64().unwrap().to_string();
    let shown = server.ferry(&["plan", "show", "api@1.0.0"]).success();
    assert!(shown.stdout.contains("OVERDUE"), "{shown:#?}");
    let refused = server
        .ferry(&["promote", "api@1.0.0", "--to", "staging"])
        .code(3);
    assert!(
        refused.stderr.contains(&format!(
            "task-required: task {task} \"QA sign-off\" of the plan must be done before staging; it is todo, assigned to group:qa, overdue since 2020-01-09T00:00:00Z"
        )) && refused.stderr.contains(&format!("ferry plan task done {task}")),
        "{refused:#?}"
    );

    // Only the assignee (a member of qa), or someone who manages plans, moves it.
    let denied = server.ferry_as(Some(&vic), &["plan", "task", "start", &task]);
    assert_eq!(denied.code, 1, "{denied:#?}");
    assert!(
        denied.stderr.contains("vic may not move task"),
        "{denied:#?}"
    );
    let no_reason = server.ferry_as(
        Some(&quinn),
        &["plan", "task", "skip", &task, "--reason", " "],
    );
    assert!(
        no_reason.stderr.contains("reason: required to skip a task"),
        "{no_reason:#?}"
    );
    server
        .ferry_as(Some(&quinn), &["plan", "task", "start", &task])
        .success();
    let again = server.ferry_as(Some(&quinn), &["plan", "task", "start", &task]);
    assert!(
        again.stderr.contains("the task is in progress already"),
        "{again:#?}"
    );
    server
        .ferry(&["promote", "api@1.0.0", "--to", "staging"])
        .code(3);
    let done = server
        .ferry_as(Some(&quinn), &["plan", "task", "done", &task])
        .success();
    assert!(done.stdout.contains("Finished task"), "{done:#?}");

    // Done: the gate is clear.
    server
        .ferry(&["check", "api@1.0.0", "--to", "staging"])
        .success();
    server.promote("api@1.0.0", "staging");

    // A task added by hand, and a milestone reached; all of it audited.
    let added = server.json(&[
        "plan",
        "task",
        "add",
        "api@1.0.0",
        "--title",
        "Rotate the keys",
        "--assignee",
        "vic",
        "--due",
        "2030-01-01",
    ]);
    assert_eq!(added["state"], "todo");
    assert_eq!(added["overdue"], false);
    let milestone = plan["milestones"][0]["id"].as_i64().unwrap().to_string();
    server
        .ferry(&["plan", "milestone", "done", &milestone])
        .success();
    let twice = server.ferry(&["plan", "milestone", "done", &milestone]);
    assert!(twice.stderr.contains("was reached already"), "{twice:#?}");
    let audit = server.json(&["audit", "list"]);
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .filter(|a| a.starts_with("plan."))
        .collect();
    assert_eq!(
        actions,
        [
            "plan.milestone.done",
            "plan.task.create",
            "plan.task.move",
            "plan.task.move",
            "plan.create"
        ]
    );
}

#[test]
fn a_release_without_a_template_gets_a_plan_when_asked() {
    let server = Server::start();
    server.apply(&CONFIG.replace("plan_template = \"standard\"\n", ""));
    server
        .ferry(&["release", "create", "api", "--version", "1.0.0"])
        .success();
    let none = server.ferry(&["plan", "show", "api@1.0.0"]);
    assert!(
        none.stderr
            .contains("api@1.0.0 has no plan; make one with `ferry plan create api@1.0.0`"),
        "{none:#?}"
    );
    let made = server.json(&[
        "plan",
        "create",
        "api@1.0.0",
        "--template",
        "standard",
        "--go-live",
        "2027-03-10",
    ]);
    assert_eq!(made["tasks"].as_array().unwrap().len(), 2);
    let twice = server.ferry(&["plan", "create", "api@1.0.0"]);
    assert!(twice.stderr.contains("has a plan already"), "{twice:#?}");
    let bad = server.ferry(&[
        "plan",
        "task",
        "add",
        "api@1.0.0",
        "--title",
        "x",
        "--link",
        "javascript:alert(1)",
    ]);
    assert!(
        bad.stderr.contains("is not an http:// or https:// URL"),
        "{bad:#?}"
    );
    let bad = server.ferry(&[
        "plan",
        "task",
        "add",
        "api@1.0.0",
        "--title",
        "x",
        "--required-before",
        "prod",
    ]);
    assert!(
        bad.stderr
            .contains("required_before: there is no environment prod"),
        "{bad:#?}"
    );
}
