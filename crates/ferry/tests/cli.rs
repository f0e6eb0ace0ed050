//! The `ferry` binary as a user runs it, against a real `ferry serve` started
//! for each test on a free port with its own data directory.
//!
//! Each test states one behaviour a user would notice. Commands run with a
//! private `XDG_CONFIG_HOME`, so no test reads or writes a real profile.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{FERRY, Repo, Run, START_TIMEOUT, Server};

const CONFIG: &str = r#"
[[environment]]
name = "dev"
tier = "development"

[[environment]]
name = "staging"
tier = "staging"

[[environment]]
name = "prod"
tier = "production"
policy = { approvals = 1 }

[lifecycle.default]
phases = [["dev"], ["staging"], ["prod"]]

[[service]]
name = "api"
repo = "."
paths = ["services/api/**"]

[[service]]
name = "web"
"#;

impl Server {
    /// Writes `ferry.toml` in the working directory.
    fn write_config(&self, text: &str) {
        std::fs::write(self.home.path().join("ferry.toml"), text).unwrap();
    }

    fn database(&self) -> PathBuf {
        self.data_dir.path().join("ferry.db")
    }
}

fn names(values: &Value) -> Vec<&str> {
    values
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap_or_else(|| v.as_str().unwrap()))
        .collect()
}

/// Runs one SQL statement on the server's SQLite file while it runs, as an
/// intruder with access to the disk would.
fn tamper(database: &Path, sql: &'static str) {
    use sqlx::Connection;
    let runtime = tokio_runtime();
    runtime.block_on(async {
        let options = sqlx::sqlite::SqliteConnectOptions::new().filename(database);
        let mut connection = sqlx::SqliteConnection::connect_with(&options)
            .await
            .unwrap();
        let done = sqlx::query(sql).execute(&mut connection).await.unwrap();
        assert_eq!(done.rows_affected(), 1, "{sql}");
        connection.close().await.unwrap();
    });
}

fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn apply_creates_what_status_then_shows() {
    let server = Server::start();
    server.write_config(CONFIG);
    let applied = server.ferry(&["apply"]).success();
    assert!(
        applied.stdout.contains("+ create environment prod"),
        "{applied:#?}"
    );
    assert!(
        applied.stdout.contains("+ create service api"),
        "{applied:#?}"
    );
    assert!(
        applied.stdout.contains("6 created, 0 updated, 0 unchanged"),
        "{applied:#?}"
    );

    let status = server.json(&["status"]);
    assert_eq!(names(&status["environments"]), ["dev", "staging", "prod"]);
    assert_eq!(names(&status["services"]), ["api", "web"]);
    assert_eq!(status["cells"].as_array().unwrap().len(), 6);

    let table = server.ferry(&["status"]).success();
    let lines: Vec<_> = table.stdout.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["SERVICE", "dev", "staging", "prod"]
    );
    assert_eq!(
        lines[1].split_whitespace().collect::<Vec<_>>(),
        ["api", "-", "-", "-"]
    );
}

#[test]
fn applying_the_same_file_again_changes_nothing() {
    let server = Server::start();
    server.write_config(CONFIG);
    server.ferry(&["apply"]).success();
    let again = server.ferry(&["apply"]).success();
    assert!(
        again
            .stdout
            .contains("No changes: the server already matches ferry.toml."),
        "{again:#?}"
    );
    assert!(
        again.stdout.contains("  unchanged lifecycle default"),
        "{again:#?}"
    );

    let changed = CONFIG.replace("paths = [\"services/api/**\"]", "paths = [\"api/**\"]");
    server.write_config(&changed);
    let update = server.ferry(&["apply"]).success();
    assert!(
        update.stdout.contains("~ update service api (paths)"),
        "{update:#?}"
    );
    assert!(
        update.stdout.contains("0 created, 1 updated, 5 unchanged"),
        "{update:#?}"
    );
}

#[test]
fn an_update_shows_each_value_from_what_to_what() {
    let server = Server::start();
    server.write_config(CONFIG);
    server.ferry(&["apply"]).success();
    server.write_config(&CONFIG.replace(
        "policy = { approvals = 1 }",
        "protected = true\npolicy = { approvals = 2 }",
    ));
    let plan = server.ferry(&["apply", "--dry-run"]).success();
    assert!(
        plan.stdout.contains(
            "~ update environment prod (policy, protected)\n    \
             policy.approvals: 1 → 2\n    protected: false → true\n"
        ),
        "{plan:#?}"
    );
    let json = server.json(&["apply", "--dry-run"]);
    let prod = json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "prod")
        .unwrap();
    assert_eq!(prod["fields"], serde_json::json!(["policy", "protected"]));
    assert_eq!(
        prod["values"],
        serde_json::json!([
            { "field": "policy.approvals", "from": 1, "to": 2 },
            { "field": "protected", "from": false, "to": true },
        ])
    );
}

#[test]
fn dry_run_shows_the_plan_and_writes_nothing() {
    let server = Server::start();
    server.write_config(CONFIG);
    let plan = server.ferry(&["apply", "--dry-run"]).success();
    assert!(
        plan.stdout.contains("+ create environment dev"),
        "{plan:#?}"
    );
    assert!(
        plan.stdout
            .contains("6 to create, 0 to update, 0 unchanged"),
        "{plan:#?}"
    );
    assert!(plan.stdout.contains("nothing was written"), "{plan:#?}");

    let result = server.json(&["apply", "--dry-run"]);
    assert_eq!(result["applied"], false);

    let status = server.json(&["status"]);
    assert_eq!(status["environments"], Value::Array(vec![]));
    assert_eq!(status["services"], Value::Array(vec![]));
    // The real apply still has everything to create.
    let applied = server.ferry(&["apply"]).success();
    assert!(applied.stdout.contains("6 created"), "{applied:#?}");
}

#[test]
fn an_invalid_file_is_reported_with_its_line_and_column_and_nothing_changes() {
    let server = Server::start();
    let events_before = server.json(&["audit", "list"])["items"]
        .as_array()
        .unwrap()
        .len();
    server.write_config(&CONFIG.replace("tier = \"staging\"", "tier = \"stage\""));
    let refused = server.ferry(&["apply"]).code(1);
    assert!(
        refused.stderr.starts_with("error: ferry.toml:8:8: "),
        "{refused:#?}"
    );
    assert!(
        refused.stderr.contains("production"),
        "the expected values are named: {refused:#?}"
    );
    assert!(
        refused.stderr.contains("^"),
        "a caret points at the place: {refused:#?}"
    );

    server.write_config(&CONFIG.replace(
        "[[\"dev\"], [\"staging\"], [\"prod\"]]",
        "[[\"dev\"], [\"qa\"]]",
    ));
    let unknown = server.ferry(&["apply"]).code(1);
    assert!(
        unknown.stderr.starts_with("error: ferry.toml:16:20: "),
        "the phase that names it: {unknown:#?}"
    );
    assert!(unknown.stderr.contains("\"qa\""), "{unknown:#?}");

    // A bad value inside an entry is pointed at, not the entry's first line.
    let health = format!(
        "{CONFIG}deploy.steps = [{{ name = \"up\", run = \"true\" }}]\n\
         deploy.health = {{ http = \"localhost:8080\" }}\n"
    );
    server.write_config(&health);
    let line = health
        .lines()
        .position(|line| line.starts_with("deploy.health"))
        .unwrap()
        + 1;
    let refused = server.ferry(&["apply"]).code(1);
    assert!(
        refused.stderr.starts_with(&format!(
            "error: ferry.toml:{line}:19: service \"web\": deploy.health.http: "
        )),
        "{refused:#?}"
    );
    assert!(
        refused
            .stderr
            .ends_with(&format!("| {}^\n", " ".repeat(18))),
        "the caret is under `http`: {refused:#?}"
    );

    let status = server.json(&["status"]);
    assert_eq!(status["environments"], Value::Array(vec![]));
    let events_after = server.json(&["audit", "list"])["items"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(events_after, events_before);
}

#[test]
fn a_file_is_checked_without_a_server() {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join("broken.toml"),
        "[[service]]\nname = \"API\"\n",
    )
    .unwrap();
    let output = Command::new(FERRY)
        .args([
            "apply",
            "-f",
            "broken.toml",
            "--server",
            "http://127.0.0.1:9",
        ])
        .current_dir(home.path())
        .env("XDG_CONFIG_HOME", home.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr.starts_with("error: broken.toml:2:8: "), "{stderr}");
}

#[test]
fn releases_are_created_listed_shown_and_abandoned() {
    let server = Server::start();
    server.write_config(CONFIG);
    server.ferry(&["apply"]).success();

    let created = server
        .ferry(&[
            "release",
            "create",
            "api",
            "--version",
            "1.4.0",
            "--notes",
            "First cut.",
        ])
        .success();
    assert!(created.stdout.contains("api@1.4.0"), "{created:#?}");
    let json = server.json(&["release", "create", "web", "--version", "v2.0.0-rc.1"]);
    assert_eq!(json["version"], "2.0.0-rc.1", "a leading v is dropped");
    assert_eq!(json["created_by"], "admin");

    let list = server.ferry(&["release", "list", "api"]).success();
    assert!(
        list.stdout
            .lines()
            .any(|l| l.starts_with("api@1.4.0") && l.contains("active")),
        "{list:#?}"
    );
    assert!(!list.stdout.contains("web@"), "{list:#?}");
    let all = server.json(&["release", "list"]);
    let releases: Vec<_> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{}@{}",
                r["service"].as_str().unwrap(),
                r["version"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(releases, ["api@1.4.0", "web@2.0.0-rc.1"]);

    let shown = server.ferry(&["release", "show", "api@1.4.0"]).success();
    assert!(
        shown.stdout.contains("api@1.4.0") && shown.stdout.contains("First cut."),
        "{shown:#?}"
    );
    let shown = server.json(&["release", "show", "api@1.4.0"]);
    assert_eq!(shown["notes"], "First cut.");
    assert_eq!(shown["state"], "active");

    let abandoned = server.json(&["release", "abandon", "api@1.4.0"]);
    assert_eq!(abandoned["state"], "abandoned");
    let missing = server.ferry(&["release", "show", "api@9.9.9"]).code(1);
    assert!(missing.stderr.starts_with("error: "), "{missing:#?}");
    assert!(missing.stderr.contains("not-found"), "{missing:#?}");
}

#[test]
fn an_invalid_version_is_refused_with_the_reason() {
    let server = Server::start();
    server.write_config(CONFIG);
    server.ferry(&["apply"]).success();
    let refused = server
        .ferry(&["release", "create", "api", "--version", "1.2"])
        .code(1);
    assert!(refused.stderr.starts_with("error: "), "{refused:#?}");
    assert!(
        refused.stderr.contains("not a semantic version"),
        "{refused:#?}"
    );
    assert!(refused.stdout.is_empty(), "{refused:#?}");
    let list = server.json(&["release", "list", "api"]);
    assert_eq!(list["items"], Value::Array(vec![]));
}

#[test]
fn a_malformed_release_name_is_a_usage_error() {
    let server = Server::start();
    let usage = server.ferry(&["release", "show", "api-1.4.0"]).code(2);
    assert!(usage.stderr.contains("SERVICE@VERSION"), "{usage:#?}");
}

#[test]
fn a_release_cannot_be_created_twice() {
    let server = Server::start();
    server.write_config(CONFIG);
    server.ferry(&["apply"]).success();
    server
        .ferry(&["release", "create", "api", "--version", "1.0.0"])
        .success();
    let duplicate = server
        .ferry(&[
            "release",
            "create",
            "api",
            "--version",
            "1.0.0",
            "--notes",
            "again",
        ])
        .code(1);
    assert!(duplicate.stderr.starts_with("error: "), "{duplicate:#?}");
    assert!(duplicate.stderr.contains("1.0.0"), "{duplicate:#?}");
    assert!(duplicate.stderr.contains("conflict"), "{duplicate:#?}");
    let shown = server.json(&["release", "show", "api@1.0.0"]);
    assert_eq!(shown["notes"], "", "the first release is unchanged");
}

#[test]
fn a_command_without_a_token_asks_for_authentication() {
    let server = Server::start();
    let refused = server.ferry_as(None, &["status"]).code(1);
    assert!(refused.stderr.starts_with("error: "), "{refused:#?}");
    assert!(refused.stderr.contains("authentication"), "{refused:#?}");
    let wrong = server
        .ferry_as(Some("ferry_not-a-token"), &["whoami"])
        .code(1);
    assert!(wrong.stderr.contains("authentication"), "{wrong:#?}");
}

#[test]
fn an_unreachable_server_is_named_with_a_way_out() {
    let server = Server::start();
    let mut command = server.command(&["status", "--server", "http://127.0.0.1:9"]);
    command.env("FERRY_TOKEN", &server.token);
    let down = Run::of(command).code(1);
    assert!(
        down.stderr
            .starts_with("error: cannot reach the ferry server at http://127.0.0.1:9"),
        "{down:#?}"
    );
    assert!(
        down.stderr.contains("ferry serve") && down.stderr.contains("--server"),
        "{down:#?}"
    );
}

#[test]
fn client_options_may_come_before_the_command() {
    let server = Server::start();
    server.write_config(CONFIG);
    server.ferry(&["apply"]).success();
    let listed = server
        .ferry(&["--output", "json", "release", "list"])
        .success()
        .json();
    assert!(listed["items"].is_array(), "{listed:#}");

    // Before the command, a flag still beats the environment...
    let mut command = server.command(&["--server", &server.url, "status"]);
    command
        .env("FERRY_SERVER", "http://127.0.0.1:9")
        .env("FERRY_TOKEN", &server.token);
    let status = Run::of(command).success();
    assert!(status.stdout.starts_with("SERVICE"), "{status:#?}");
    // ...and one after the command beats one before it.
    let mut command = server.command(&[
        "--server",
        "http://127.0.0.1:9",
        "--output",
        "json",
        "status",
        "--server",
        &server.url,
    ]);
    command.env("FERRY_TOKEN", &server.token);
    let status = Run::of(command).success().json();
    assert!(status["services"].is_array(), "{status:#}");

    // A command that talks to no server does not take them.
    let refused = server.ferry(&["--output", "json", "changelog"]).code(2);
    assert!(refused.stderr.contains("talk to a server"), "{refused:#?}");
}

#[test]
fn the_bootstrap_token_is_shown_once_the_server_listens() {
    let server = Server::start();
    let at = |prefix: &str| {
        server
            .printed
            .iter()
            .position(|line| line.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix:?} line: {:?}", server.printed))
    };
    assert!(
        at("listening on ") < at("bootstrap token: "),
        "{:?}",
        server.printed
    );
    assert!(server.printed[at("bootstrap token: ")].ends_with(&server.token));

    // A start that cannot listen makes no token; the next start makes it
    // and shows it (the builder checks that it does).
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let data = tempfile::tempdir().unwrap();
    let mut serve = server.command(&["serve", "--listen", &address, "--data-dir"]);
    serve.arg(data.path()).env_remove("FERRY_DATA_DIR");
    let failed = Run::of(serve).code(1);
    assert!(failed.stderr.contains(&address), "{failed:#?}");
    assert!(!failed.stdout.contains("bootstrap token"), "{failed:#?}");
    assert!(!data.path().join("bootstrap-token").exists());
    drop(taken);
    Server::builder().data_dir(data.path()).start();
}

#[test]
fn login_saves_a_profile_that_later_commands_use() {
    let server = Server::start();
    let bad =
        Run::of(server.command(&["login", "--server", &server.url, "--token", "ferry_wrong"]))
            .code(1);
    assert!(bad.stderr.contains("authentication"), "{bad:#?}");
    let profile = server.home.path().join("config/ferry/config.toml");
    assert!(!profile.exists(), "a refused token is not saved");

    let login =
        Run::of(server.command(&["login", "--server", &server.url, "--token", &server.token]))
            .success();
    assert!(login.stdout.contains("admin"), "{login:#?}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&profile).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the profile holds a secret");
    }
    let whoami = Run::of(server.command(&["whoami", "--output", "json"]))
        .success()
        .json();
    assert_eq!(whoami["user"]["name"], "admin");
    assert_eq!(whoami["user"]["admin"], true);
}

#[test]
fn a_new_users_token_works_until_it_is_revoked() {
    let server = Server::start();
    let created = server.json(&["user", "create", "alice", "--email", "alice@example.test"]);
    assert_eq!(created["user"]["name"], "alice");
    let secret = created["token"]["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("ferry_"), "{created:#}");
    let token_id = created["token"]["id"].as_i64().unwrap();

    let whoami = server.ferry_as(Some(&secret), &["whoami"]).success();
    assert!(
        whoami.stdout.starts_with("alice <alice@example.test>"),
        "{whoami:#?}"
    );
    let users = server.ferry(&["user", "list"]).success();
    assert!(
        users.stdout.lines().any(|l| l.starts_with("alice ")),
        "{users:#?}"
    );

    let table = server.ferry(&["user", "create", "bob"]).success();
    let bob_secret = table.stdout.lines().last().unwrap();
    assert!(
        bob_secret.starts_with("ferry_"),
        "the secret is the last line: {table:#?}"
    );
    server.ferry_as(Some(bob_secret), &["whoami"]).success();

    let revoked = server
        .ferry(&["token", "revoke", &token_id.to_string()])
        .success();
    assert!(
        revoked
            .stdout
            .contains(&format!("Revoked token {token_id}")),
        "{revoked:#?}"
    );
    let refused = server.ferry_as(Some(&secret), &["whoami"]).code(1);
    assert!(refused.stderr.contains("authentication"), "{refused:#?}");
    let tokens = server.json(&["token", "list"]);
    let revoked = tokens["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == token_id)
        .unwrap();
    assert!(revoked["revoked_at"].is_string(), "{tokens:#}");
}

#[test]
fn tokens_are_created_for_yourself_and_listed_without_their_secret() {
    let server = Server::start();
    let created = server.ferry(&["token", "create", "ci"]).success();
    let secret = created.stdout.lines().last().unwrap().to_owned();
    assert!(secret.starts_with("ferry_"), "{created:#?}");
    let whoami = server
        .ferry_as(Some(&secret), &["whoami", "--output", "json"])
        .success()
        .json();
    assert_eq!(whoami["user"]["name"], "admin");
    let list = server.ferry(&["token", "list"]).success();
    assert!(list.stdout.lines().any(|l| l.contains(" ci ")), "{list:#?}");
    assert!(!list.stdout.contains(&secret), "{list:#?}");
}

#[test]
fn audit_verify_detects_an_altered_event() {
    let server = Server::start();
    server.write_config(CONFIG);
    server.ferry(&["apply"]).success();
    server
        .ferry(&["release", "create", "api", "--version", "1.0.0"])
        .success();

    let intact = server.ferry(&["audit", "verify"]).success();
    assert!(
        intact.stdout.starts_with("audit trail intact: "),
        "{intact:#?}"
    );
    assert!(intact.stdout.contains(" events, head "), "{intact:#?}");

    tamper(
        &server.database(),
        "UPDATE audit_events SET actor = 'mallory' WHERE seq = 2",
    );
    let broken = server.ferry(&["audit", "verify"]).code(1);
    assert!(
        broken.stdout.starts_with("audit trail BROKEN at event 2: "),
        "{broken:#?}"
    );
    let json = server
        .ferry(&["audit", "verify", "--output", "json"])
        .code(1)
        .json();
    assert_eq!(json["intact"], false);
    assert_eq!(json["first_bad_seq"], 2);
}

#[test]
fn audit_export_prints_one_event_per_line_in_order() {
    let server = Server::start();
    server.write_config(CONFIG);
    server.ferry(&["apply"]).success();
    server
        .ferry(&["release", "create", "api", "--version", "1.0.0"])
        .success();
    server.ferry(&["release", "abandon", "api@1.0.0"]).success();

    let export = server.ferry(&["audit", "export"]).success();
    let events: Vec<Value> = export
        .stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert!(events.len() >= 3, "{export:#?}");
    let seqs: Vec<i64> = events.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, (1..=events.len() as i64).collect::<Vec<_>>());
    assert!(
        events
            .iter()
            .any(|e| e["action"].as_str().unwrap().starts_with("release.")),
        "{export:#?}"
    );

    let list = server.json(&["audit", "list"]);
    assert_eq!(list["items"].as_array().unwrap().len(), events.len());
    let table = server.ferry(&["audit", "list"]).success();
    assert!(table.stdout.starts_with("SEQ"), "{table:#?}");
    assert_eq!(table.stdout.lines().count(), events.len() + 1);
}

/// The `field` of each event of `ferry audit list ARGS --output json`.
fn audit_fields(server: &Server, args: &[&str], field: &str) -> Vec<Value> {
    let mut args = [&["audit", "list"][..], args].concat();
    args.extend(["--output", "json"]);
    let list = server.ferry(&args).success().json();
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event[field].clone())
        .collect()
}

#[test]
fn audit_list_shows_the_newest_first_filtered_by_the_server() {
    let server = Server::start();
    server.write_config(CONFIG);
    server.ferry(&["apply"]).success();
    for service in ["api", "web"] {
        server
            .ferry(&["release", "create", service, "--version", "1.0.0"])
            .success();
    }
    server.ferry(&["release", "abandon", "api@1.0.0"]).success();

    let seqs: Vec<i64> = audit_fields(&server, &[], "seq")
        .iter()
        .map(|seq| seq.as_i64().unwrap())
        .collect();
    assert!(
        seqs.windows(2).all(|w| w[0] > w[1]),
        "newest first: {seqs:?}"
    );
    let latest = audit_fields(&server, &["--limit", "2"], "seq");
    assert_eq!(latest, [seqs[0], seqs[1]]);
    let table = server.ferry(&["audit", "list", "--limit", "1"]).success();
    let newest = table.stdout.lines().nth(1).unwrap();
    assert!(
        newest.contains(" UTC ") && newest.contains("release.abandon"),
        "times show their zone: {table:#?}"
    );

    let actions = |args: &[&str]| audit_fields(&server, args, "action");
    let objects = |args: &[&str]| audit_fields(&server, args, "object");
    assert_eq!(
        objects(&["--action", "release.create"]),
        ["release:web@1.0.0", "release:api@1.0.0"]
    );
    assert_eq!(
        actions(&["--action", "release.*"]),
        ["release.abandon", "release.create", "release.create"]
    );
    assert_eq!(
        actions(&["--object", "api@1.0.0"]),
        ["release.abandon", "release.create"]
    );
    assert_eq!(objects(&["--object", "prod"]), ["environment:prod"]);
    assert_eq!(
        actions(&["--actor", "system"]),
        ["token.create", "user.create"],
        "the bootstrap's events"
    );
    assert_eq!(
        actions(&["--actor", "admin", "--object", "web@1.0.0", "--since", "1h"]),
        ["release.create"]
    );
    let later = hours_from_now(1);
    assert!(audit_fields(&server, &["--since", &later], "seq").is_empty());
    let none = server
        .ferry(&["audit", "list", "--since", &later])
        .success();
    assert_eq!(none.stdout, "No audit events match these filters.\n");

    let refused = server
        .ferry(&["audit", "list", "--action", "release"])
        .code(2);
    assert!(refused.stderr.contains("release.*"), "{refused:#?}");
    let refused = server
        .ferry(&["audit", "list", "--since", "yesterday"])
        .code(2);
    assert!(refused.stderr.contains("24h"), "{refused:#?}");
}

#[test]
fn completions_print_a_shell_script() {
    let output = Command::new(FERRY)
        .args(["completions", "bash"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let script = String::from_utf8(output.stdout).unwrap();
    assert!(script.contains("complete -F _ferry"), "{script}");
    assert!(script.contains("release"), "{script}");
    for shell in ["zsh", "fish"] {
        let output = Command::new(FERRY)
            .args(["completions", shell])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0), "{shell}");
        assert!(!output.stdout.is_empty(), "{shell}");
    }
}

// --- Releases from git -----------------------------------------------------

#[test]
fn a_release_from_git_records_its_commits_version_and_artifact() {
    let server = Server::start();
    server.write_config(CONFIG);
    server.ferry(&["apply"]).success();
    let repo = Repo::new(server.home.path().join("repo"));
    repo.commit("services/api/a.txt", "feat(api): first endpoint");
    repo.git(&["tag", "-a", "api-v1.0.0", "-m", "api 1.0.0"]);
    repo.commit("services/api/b.txt", "fix(api): round totals (#12)");
    repo.commit("README.md", "docs: explain the web app");
    let head = repo.commit(
        "services/api/c.txt",
        "feat(api)!: drop the v1 endpoints\n\nBREAKING CHANGE: /v1 is gone",
    );
    let artifact = server.home.path().join("api.tgz");
    std::fs::write(&artifact, b"the api build").unwrap();

    let created = server.json(&[
        "release",
        "create",
        "api",
        "--git",
        "repo",
        "--artifact",
        "bin=api.tgz",
    ]);
    assert_eq!(
        created["version"], "2.0.0",
        "a breaking change after 1.0.0 makes 2.0.0: {created}"
    );
    assert_eq!(created["previous_version"], "1.0.0");
    assert_eq!(created["commit"], head);
    assert_eq!(created["artifacts"][0]["name"], "bin");
    assert_eq!(created["artifacts"][0]["size"], 13);

    let notes = server.json(&["release", "notes", "api@2.0.0", "--format", "json"]);
    let subjects: Vec<&str> = notes["commits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["subject"].as_str().unwrap())
        .collect();
    assert_eq!(
        subjects,
        ["drop the v1 endpoints", "round totals (#12)"],
        "only commits touching services/api/**, newest first"
    );
    assert_eq!(notes["commits"][0]["breaking"], true);
    let markdown = server
        .ferry(&["release", "notes", "api@2.0.0"])
        .success()
        .stdout;
    assert!(markdown.contains("## 2.0.0"), "{markdown}");
    assert!(markdown.contains("drop the v1 endpoints"), "{markdown}");

    let downloaded = server
        .ferry(&[
            "release",
            "download",
            "api@2.0.0",
            "bin",
            "-o",
            "fetched.tgz",
        ])
        .success();
    assert!(downloaded.stdout.contains("verified"), "{downloaded:?}");
    assert_eq!(
        std::fs::read(server.home.path().join("fetched.tgz")).unwrap(),
        b"the api build"
    );
    let expected = created["artifacts"][0]["digest"].as_str().unwrap();
    assert!(downloaded.stdout.contains(expected), "{downloaded:?}");
    // A file that exists is not overwritten unless asked; `-o -` writes the
    // verified bytes to standard output.
    let again = server
        .ferry(&[
            "release",
            "download",
            "api@2.0.0",
            "bin",
            "-o",
            "fetched.tgz",
        ])
        .code(1);
    assert!(again.stderr.contains("--force"), "{again:?}");
    server
        .ferry(&[
            "release",
            "download",
            "api@2.0.0",
            "bin",
            "-o",
            "fetched.tgz",
            "--force",
        ])
        .success();
    let piped = server
        .ferry(&["release", "download", "api@2.0.0", "bin", "-o", "-"])
        .success();
    assert_eq!(piped.stdout, "the api build");

    repo.commit("services/api/d.txt", "fix(api): handle empty carts");
    let next = server.json(&[
        "release", "create", "api", "--bump", "auto", "--git", "repo",
    ]);
    assert_eq!(
        (next["version"].as_str(), next["previous_version"].as_str()),
        (Some("2.0.1"), Some("2.0.0"))
    );
    repo.commit("services/api/e.txt", "feat(api): refunds");
    let candidate = server.json(&["release", "create", "api", "--git", "repo", "--pre", "rc"]);
    assert_eq!(candidate["version"], "2.1.0-rc.1");
    let nothing = server
        .ferry(&["release", "create", "api", "--git", "repo"])
        .code(1);
    assert!(nothing.stderr.contains("already released"), "{nothing:?}");
}

#[test]
fn an_artifact_reference_is_recorded_not_stored() {
    let server = Server::start();
    server.write_config(CONFIG);
    server.ferry(&["apply"]).success();
    let digest = "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
    let image = format!("image=oci://ghcr.io/acme/web@{digest}");
    let created = server.json(&[
        "release",
        "create",
        "web",
        "--version",
        "1.0.0",
        "--artifact",
        &image,
    ]);
    assert_eq!(created["artifacts"][0]["stored"], false);
    let refused = server
        .ferry(&["release", "download", "web@1.0.0", "image"])
        .code(1);
    assert!(refused.stderr.contains("does not store"), "{refused:?}");
    let bad = server
        .ferry(&[
            "release",
            "create",
            "web",
            "--version",
            "1.0.1",
            "--artifact",
            "image=oci://ghcr.io/acme/web",
        ])
        .code(1);
    assert!(bad.stderr.contains("@sha256"), "{bad:?}");
}

#[test]
fn changelog_works_offline_from_the_history() {
    let server = Server::start();
    let repo = Repo::new(server.home.path().join("repo"));
    repo.commit("a.txt", "feat: first");
    repo.git(&["tag", "v0.1.0"]);
    repo.commit("b.txt", "fix: second");
    repo.commit("c.txt", "Merge something old-style");
    repo.git(&["tag", "v0.1.1"]);
    repo.commit("d.txt", "feat: third");
    repo.commit("e.txt", "fix: fourth");
    repo.git(&["revert", "--no-edit", "HEAD"]);

    let json = server.command(&["changelog", "--git", "repo", "--format", "json"]);
    let run = Run::of(json).success();
    let releases = run.json();
    let versions: Vec<&str> = releases
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["version"].as_str().unwrap())
        .collect();
    assert_eq!(
        versions,
        ["0.2.0", "0.1.1", "0.1.0"],
        "unreleased first, with its computed version"
    );
    assert_eq!(releases[1]["previous_version"], "0.1.0");
    assert_eq!(
        releases[1]["commits"][0]["type"],
        Value::Null,
        "a non-conventional commit is kept"
    );
    let next = Run::of(server.command(&["changelog", "--git", "repo", "--next-version"])).success();
    assert_eq!(next.stdout, "0.2.0\n");
    let unreleased = Run::of(server.command(&[
        "changelog",
        "--git",
        "repo",
        "--unreleased",
        "--format",
        "json",
    ]))
    .success();
    assert_eq!(unreleased.json()["commits"].as_array().unwrap().len(), 3);
    let markdown = Run::of(server.command(&[
        "changelog",
        "--git",
        "repo",
        "--output-file",
        "CHANGELOG.md",
    ]))
    .success();
    assert!(markdown.stdout.is_empty());
    let written = std::fs::read_to_string(server.home.path().join("CHANGELOG.md")).unwrap();
    assert!(written.starts_with("# Changelog\n"), "{written}");
    assert!(written.contains("## 0.1.1"), "{written}");
    let outside = Run::of(server.command(&["changelog", "--git", "/"])).code(1);
    assert!(outside.stderr.contains("git"), "{outside:?}");
}

#[test]
fn a_services_notes_template_shapes_its_notes() {
    let server = Server::start();
    let config = r#"
[[environment]]
name = "dev"
tier = "development"
[lifecycle.default]
phases = [["dev"]]
[[service]]
name = "api"
notes_template = "notes.md.j2"
"#;
    server.write_config(config);
    let template = server.home.path().join("notes.md.j2");
    std::fs::write(&template, "{% for r in releases %}Release {{ r.version }} has {{ r.commits | length }} change(s).{% endfor %}\n").unwrap();
    server.ferry(&["apply"]).success();
    let repo = Repo::new(server.home.path().join("repo"));
    repo.commit("a.txt", "feat: one");
    repo.commit("b.txt", "fix: two");
    server
        .ferry(&["release", "create", "api", "--git", "repo"])
        .success();
    let notes = server.ferry(&["release", "notes", "api@0.1.0"]).success();
    assert_eq!(notes.stdout, "Release 0.1.0 has 2 change(s).\n");

    std::fs::write(&template, "{% for r in releases %}unclosed").unwrap();
    let broken = server.ferry(&["apply"]).code(1);
    assert!(broken.stderr.contains("notes.md.j2"), "{broken:?}");
}

// --- Gates: approvals, evidence, change requests, freezes, promotion --------

/// dev takes anything; staging wants an approval and the e2e check; prod
/// wants two approvals, the unit suite and an approved change request.
const GATED: &str = r#"
[[environment]]
name = "dev"
tier = "development"

[[environment]]
name = "staging"
tier = "staging"
policy = { approvals = 1, evidence = ["e2e"] }

[[environment]]
name = "prod"
tier = "production"
policy = { approvals = 2, evidence = ["unit"], change_request = true }

[lifecycle.default]
phases = [["dev"], ["staging"], ["prod"]]

[[service]]
name = "api"
"#;

const PASSING_JUNIT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites>
  <testsuite name="unit" tests="2">
    <testcase classname="cart" name="adds_items" time="0.01"/>
    <testcase classname="cart" name="rounds_totals" time="0.02"/>
  </testsuite>
</testsuites>
"#;

/// An RFC 3339 time `hours` from now, to the second.
fn hours_from_now(hours: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::hours(hours))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

impl Server {
    /// A server with `config` applied and api@1.0.0 created by the admin.
    fn with_release(config: &str) -> Server {
        let server = Server::start();
        server.write_config(config);
        server.ferry(&["apply"]).success();
        server
            .ferry(&["release", "create", "api", "--version", "1.0.0"])
            .success();
        server
    }

    /// The codes of the blockers `ferry check api@1.0.0 --to ENV` names,
    /// checking that the exit code agrees with them.
    fn blockers(&self, environment: &str) -> Vec<String> {
        let run = self.ferry(&[
            "check",
            "api@1.0.0",
            "--to",
            environment,
            "--output",
            "json",
        ]);
        let check = run.json();
        let codes: Vec<String> = check["blockers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["code"].as_str().unwrap().to_owned())
            .collect();
        let expected = if codes.is_empty() { 0 } else { 3 };
        assert_eq!(run.code, expected, "exit code of a check: {run:#?}");
        assert_eq!(check["allowed"], codes.is_empty(), "{check:#}");
        codes
    }

    /// Promotes api@1.0.0 and reports the deployment succeeded, as the CI
    /// job that deploys it would.
    fn promote_and_succeed(&self, environment: &str) {
        let promoted = self
            .ferry(&["promote", "api@1.0.0", "--to", environment])
            .success();
        let prefix = format!("Promoted api@1.0.0 to {environment}: deployment ");
        let rest = promoted
            .stdout
            .strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("{promoted:#?}"));
        let id = rest.split_whitespace().next().unwrap();
        assert!(rest.contains("queued"), "{promoted:#?}");
        let reported = self
            .ferry(&["deploy", "report", id, "--status", "succeeded"])
            .success();
        assert!(reported.stdout.contains("succeeded"), "{reported:#?}");
        let shown = self.json(&["deploy", "show", id]);
        assert_eq!(shown["status"], "succeeded", "{shown:#}");
        assert_eq!(shown["environment"], environment);
    }
}

#[track_caller]
fn assert_codes(codes: &[String], expected: &[&str]) {
    assert_eq!(codes, expected, "blockers");
}

#[test]
fn a_release_walks_through_every_gate_into_prod() {
    let server = Server::with_release(GATED);
    server
        .ferry(&[
            "freeze",
            "create",
            "now-frozen",
            "--env",
            "prod",
            "--start",
            &hours_from_now(-1),
            "--end",
            &hours_from_now(1),
            "--reason",
            "launch week",
        ])
        .success();

    // Every blocker is named, with how to clear it.
    let blocked = server
        .ferry(&["check", "api@1.0.0", "--to", "prod"])
        .code(3);
    assert!(
        blocked
            .stdout
            .starts_with("api@1.0.0 may not enter prod:\n"),
        "{blocked:#?}"
    );
    for code in [
        "lifecycle-order",
        "approvals-missing",
        "evidence-missing",
        "change-request-missing",
        "frozen",
    ] {
        assert!(
            blocked.stdout.contains(&format!("✗ {code}: ")),
            "{code}: {blocked:#?}"
        );
    }
    assert!(blocked.stdout.contains("    → "), "{blocked:#?}");
    assert!(blocked.stdout.contains("\nrisk: "), "{blocked:#?}");
    let mut prod = server.blockers("prod");
    prod.sort();
    assert_codes(
        &prod,
        &[
            "approvals-missing",
            "change-request-missing",
            "evidence-missing",
            "frozen",
            "lifecycle-order",
        ],
    );
    // A promotion is refused for the same reasons, and nothing is deployed.
    let refused = server
        .ferry(&["promote", "api@1.0.0", "--to", "prod"])
        .code(3);
    assert!(refused.stderr.starts_with("error: "), "{refused:#?}");
    assert!(
        refused.stderr.contains("✗ lifecycle-order: "),
        "{refused:#?}"
    );
    assert!(refused.stderr.contains("✗ frozen: "), "{refused:#?}");
    let problem = server
        .ferry(&["promote", "api@1.0.0", "--to", "prod", "--output", "json"])
        .code(3)
        .json();
    assert_eq!(problem["type"], "urn:ferry:problem:gate-blocked");
    assert_eq!(problem["blockers"].as_array().unwrap().len(), 5);
    assert_eq!(
        server.json(&["deploy", "list"])["items"],
        Value::Array(vec![])
    );

    // dev has no gates.
    assert!(server.blockers("dev").is_empty());
    server.promote_and_succeed("dev");

    // staging: its own approval and the e2e check.
    assert_codes(
        &server.blockers("staging"),
        &["approvals-missing", "evidence-missing"],
    );
    let bob = server.user_with_roles("bob", &["approver"]);
    let carol = server.user_with_roles("carol", &["approver"]);
    let approved = server
        .ferry_as(Some(&bob), &["approve", "api@1.0.0", "--env", "staging"])
        .success();
    assert_eq!(approved.stdout, "bob approved api@1.0.0 for staging.\n");
    assert_codes(&server.blockers("staging"), &["evidence-missing"]);
    let recorded = server
        .ferry(&[
            "evidence",
            "add",
            "api@1.0.0",
            "--env",
            "staging",
            "--check",
            "e2e=pass",
        ])
        .success();
    assert!(
        recorded
            .stdout
            .starts_with("Recorded evidence e2e for api@1.0.0 in staging: passed"),
        "{recorded:#?}"
    );
    let allowed = server
        .ferry(&["check", "api@1.0.0", "--to", "staging"])
        .success();
    assert!(
        allowed.stdout.starts_with("api@1.0.0 may enter staging.\n"),
        "{allowed:#?}"
    );
    server.promote_and_succeed("staging");

    // prod: the lifecycle is satisfied; the rest still blocks.
    assert_codes(
        &server.blockers("prod"),
        &[
            "frozen",
            "approvals-missing",
            "evidence-missing",
            "change-request-missing",
        ],
    );
    server
        .ferry_as(Some(&bob), &["approve", "api@1.0.0", "--env", "prod"])
        .success();
    assert!(
        server
            .blockers("prod")
            .contains(&"approvals-missing".to_owned()),
        "one approval of two is not enough"
    );
    server
        .ferry_as(
            Some(&carol),
            &["approve", "api@1.0.0", "--env", "prod", "--comment", "lgtm"],
        )
        .success();
    assert_codes(
        &server.blockers("prod"),
        &["frozen", "evidence-missing", "change-request-missing"],
    );

    std::fs::write(server.home.path().join("unit.xml"), PASSING_JUNIT).unwrap();
    let unit = server
        .ferry(&[
            "evidence",
            "add",
            "api@1.0.0",
            "--env",
            "prod",
            "--junit",
            "unit.xml",
        ])
        .success();
    assert!(
        unit.stdout
            .starts_with("Recorded evidence unit for api@1.0.0 in prod: 2 tests"),
        "{unit:#?}"
    );
    assert!(unit.stdout.contains("(passed)"), "{unit:#?}");
    assert_codes(
        &server.blockers("prod"),
        &["frozen", "change-request-missing"],
    );

    let change = server.json(&[
        "change",
        "create",
        "--title",
        "Ship api 1.0.0",
        "--type",
        "normal",
        "--service",
        "api",
        "--env",
        "prod",
        "--release",
        "api@1.0.0",
    ]);
    assert_eq!(change["state"], "draft");
    let id = change["id"].as_i64().unwrap().to_string();
    server.ferry(&["change", "submit", &id]).success();
    // The change board is someone other than whoever raised the change.
    server
        .ferry_as(
            Some(&carol),
            &[
                "change", "assess", &id, "--risk", "low", "--impact", "api only",
            ],
        )
        .success();
    let approved = server
        .ferry_as(Some(&carol), &["change", "approve", &id])
        .success();
    assert!(
        approved
            .stdout
            .starts_with(&format!("Change {id} is now approved")),
        "{approved:#?}"
    );
    assert_codes(&server.blockers("prod"), &["frozen"]);

    let deleted = server.ferry(&["freeze", "delete", "now-frozen"]).success();
    assert!(
        deleted.stdout.starts_with("Deleted freeze now-frozen"),
        "{deleted:#?}"
    );
    assert!(server.blockers("prod").is_empty());

    server.promote_and_succeed("prod");
    let status = server.json(&["status"]);
    let cell = status["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["service"] == "api" && c["environment"] == "prod")
        .unwrap();
    assert_eq!(cell["current"]["version"], "1.0.0", "{status:#}");
}

#[test]
fn the_author_of_a_release_cannot_approve_it() {
    let server = Server::with_release(GATED);
    let refused = server
        .ferry(&["approve", "api@1.0.0", "--env", "prod"])
        .code(1);
    assert!(refused.stderr.starts_with("error: "), "{refused:#?}");
    assert!(
        refused.stderr.contains("separation of duties"),
        "{refused:#?}"
    );
    assert!(refused.stdout.is_empty(), "{refused:#?}");
}

#[test]
fn fifty_concurrent_approvals_all_count() {
    const APPROVERS: usize = 50;
    let server = Server::with_release(
        r#"
[[environment]]
name = "prod"
tier = "production"
policy = { approvals = 50 }

[lifecycle.default]
phases = [["prod"]]

[[service]]
name = "api"
"#,
    );
    assert_codes(&server.blockers("prod"), &["approvals-missing"]);
    let tokens: Vec<String> = (0..APPROVERS)
        .map(|n| server.user_with_roles(&format!("approver-{n}"), &["approver"]))
        .collect();

    let runs: Vec<Run> = std::thread::scope(|scope| {
        let handles: Vec<_> = tokens
            .iter()
            .map(|token| {
                let server = &server;
                scope.spawn(move || {
                    server.ferry_as(Some(token), &["approve", "api@1.0.0", "--env", "prod"])
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for run in runs {
        run.success();
    }

    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = ferry_client::Client::new(&server.url, Some(server.token.clone())).unwrap();
    let decisions = tokio_runtime()
        .block_on(client.decisions("api", "1.0.0", "prod"))
        .unwrap();
    assert_eq!(decisions.items.len(), APPROVERS);
    assert!(decisions.items.iter().all(|d| d.approve));
    assert!(server.blockers("prod").is_empty(), "all 50 approvals count");
}

#[test]
fn a_malformed_junit_report_is_refused_and_nothing_is_recorded() {
    let server = Server::with_release(GATED);
    std::fs::write(
        server.home.path().join("broken.xml"),
        "<testsuite name=\"unit\">\n  <testcase name=\"a\">\n",
    )
    .unwrap();
    let refused = server
        .ferry(&[
            "evidence",
            "add",
            "api@1.0.0",
            "--env",
            "staging",
            "--junit",
            "broken.xml",
        ])
        .code(1);
    assert!(
        refused.stderr.starts_with("error: broken.xml: "),
        "{refused:#?}"
    );
    assert!(refused.stderr.contains("line "), "{refused:#?}");
    let listed = server.json(&["evidence", "list", "api@1.0.0", "--env", "staging"]);
    assert_eq!(listed["items"], Value::Array(vec![]));
    let table = server
        .ferry(&["evidence", "list", "api@1.0.0", "--env", "staging"])
        .success();
    assert!(table.stdout.starts_with("No evidence"), "{table:#?}");

    // A report with failures is recorded as failed, its failing cases shown.
    std::fs::write(
        server.home.path().join("e2e.xml"),
        r#"<testsuite name="e2e">
  <testcase classname="checkout" name="pays"/>
  <testcase classname="checkout" name="refunds"><failure message="expected 200, got 500"/></testcase>
</testsuite>"#,
    )
    .unwrap();
    let failed = server
        .ferry(&[
            "evidence",
            "add",
            "api@1.0.0",
            "--env",
            "staging",
            "--junit",
            "e2e.xml",
        ])
        .success();
    assert!(failed.stdout.contains("(failed)"), "{failed:#?}");
    assert!(
        failed
            .stdout
            .contains("✗ checkout::refunds (failure): expected 200, got 500"),
        "{failed:#?}"
    );
    assert_codes(
        &server.blockers("staging"),
        &["lifecycle-order", "approvals-missing", "evidence-failed"],
    );
}

#[test]
fn change_requests_refuse_illegal_moves_and_emergencies_wait_for_review() {
    let server = Server::with_release(GATED);
    let create = |kind: &str, title: &str| {
        let created = server.json(&[
            "change",
            "create",
            "--title",
            title,
            "--type",
            kind,
            "--service",
            "api",
            "--env",
            "prod",
        ]);
        created["id"].as_i64().unwrap().to_string()
    };
    let normal = create("normal", "Resize the pool");
    server.ferry(&["change", "submit", &normal]).success();
    let carol = server.user_with_roles("carol", &["approver"]);
    let refused = server
        .ferry_as(Some(&carol), &["change", "approve", &normal])
        .code(1);
    assert!(
        refused
            .stderr
            .starts_with(&format!("error: cannot approve change {normal}: ")),
        "{refused:#?}"
    );
    assert!(
        refused.stderr.contains("from submitted you can: assess"),
        "the allowed moves are named: {refused:#?}"
    );
    let shown = server.json(&["change", "show", &normal]);
    assert_eq!(shown["state"], "submitted", "nothing changed");

    let emergency = create("emergency", "Hotfix the login outage");
    server.ferry(&["change", "submit", &emergency]).success();
    // Whoever raised a change may not approve it: another approver does.
    let own = server.ferry(&["change", "approve", &emergency]).code(1);
    assert!(own.stderr.contains("raised change request"), "{own:#?}");
    server
        .ferry_as(Some(&carol), &["change", "approve", &emergency])
        .success();
    server.ferry(&["change", "implement", &emergency]).success();
    let listed = server
        .ferry(&["change", "list", "--needs-review"])
        .success();
    let rows: Vec<&str> = listed.stdout.lines().skip(1).collect();
    assert_eq!(rows.len(), 1, "{listed:#?}");
    assert!(
        rows[0].starts_with(&format!("{emergency} ")) && rows[0].contains("emergency"),
        "{listed:#?}"
    );
    let shown = server.ferry(&["change", "show", &emergency]).success();
    assert!(shown.stdout.contains("needs review"), "{shown:#?}");
    let unreviewed = server.ferry(&["change", "close", &emergency]).code(1);
    assert!(
        unreviewed.stderr.contains("review"),
        "an emergency change is reviewed before it closes: {unreviewed:#?}"
    );

    server
        .ferry(&[
            "change",
            "review",
            &emergency,
            "--outcome",
            "successful",
            "--notes",
            "pool sized right",
        ])
        .success();
    let after = server.json(&["change", "list", "--needs-review"]);
    assert_eq!(after["items"], Value::Array(vec![]));
    server.ferry(&["change", "close", &emergency]).success();
}

#[test]
fn overlapping_approved_changes_are_shown_as_conflicts() {
    let server = Server::with_release(GATED);
    let create = |environment: &str, window: &str| {
        let created = server.json(&[
            "change",
            "create",
            "--title",
            "Migrate the database",
            "--type",
            "standard",
            "--service",
            "api",
            "--env",
            environment,
            "--window",
            window,
        ]);
        let id = created["id"].as_i64().unwrap().to_string();
        // A standard change is pre-approved: submitting it approves it.
        let submitted = server.json(&["change", "submit", &id]);
        assert_eq!(submitted["state"], "approved");
        id
    };
    let first = create("prod", "2030-03-02T22:00:00Z..2030-03-03T02:00:00Z");
    let second = create("prod", "2030-03-03T01:00:00Z..2030-03-03T03:00:00Z");
    let elsewhere = create("staging", "2030-03-02T22:00:00Z..2030-03-03T02:00:00Z");

    let shown = server.ferry(&["change", "show", &first]).success();
    assert!(
        shown.stdout.contains(&format!(
            "conflicts with change {second} (overlapping window)"
        )),
        "{shown:#?}"
    );
    let shown = server.json(&["change", "show", &second]);
    assert_eq!(
        shown["conflicts_with"],
        serde_json::json!([first.parse::<i64>().unwrap()])
    );
    let other = server.json(&["change", "show", &elsewhere]);
    assert_eq!(other["conflicts_with"], Value::Array(vec![]));

    let listed = server.ferry(&["change", "list", "--env", "prod"]).success();
    let header: Vec<&str> = listed
        .stdout
        .lines()
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(
        header,
        [
            "ID",
            "TYPE",
            "STATE",
            "SERVICE",
            "ENV",
            "WINDOW",
            "CONFLICTS",
            "TITLE"
        ]
    );
    assert!(
        listed
            .stdout
            .lines()
            .any(|l| l.starts_with(&format!("{first} ")) && l.contains(&format!(" {second} "))),
        "{listed:#?}"
    );
    assert!(
        listed
            .stdout
            .contains("2030-03-02 22:00 UTC..2030-03-03 02:00 UTC"),
        "{listed:#?}"
    );
}

#[test]
fn freezes_and_scheduled_changes_are_on_the_calendar() {
    let server = Server::with_release(GATED);
    server
        .ferry(&[
            "freeze",
            "create",
            "fridays",
            "--env",
            "prod",
            "--env",
            "staging",
            "--rrule",
            "FREQ=WEEKLY;BYDAY=FR;BYHOUR=15",
            "--duration",
            "66h",
            "--timezone",
            "Europe/Berlin",
            "--reason",
            "weekend",
        ])
        .success();
    let start = hours_from_now(24);
    let end = hours_from_now(26);
    server
        .ferry(&[
            "freeze", "create", "tomorrow", "--env", "prod", "--start", &start, "--end", &end,
        ])
        .success();
    let list = server.ferry(&["freeze", "list"]).success();
    assert!(
        list.stdout.lines().any(|l| l.starts_with("fridays ")
            && l.contains("prod,staging")
            && l.contains("FREQ=WEEKLY")),
        "{list:#?}"
    );
    assert!(
        list.stdout.lines().any(|l| l.starts_with("tomorrow ")),
        "{list:#?}"
    );

    let calendar = server.ferry(&["calendar", "--days", "8"]).success();
    let lines: Vec<&str> = calendar.stdout.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["START", "END", "KIND", "ENVIRONMENTS", "TITLE"]
    );
    let tomorrow = chrono::DateTime::parse_from_rfc3339(&start).unwrap();
    let expected = tomorrow.format("%Y-%m-%d %H:%M").to_string();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&expected) && l.contains("freeze tomorrow")),
        "{calendar:#?}"
    );
    assert!(
        lines.iter().any(|l| l.contains("freeze fridays: weekend")),
        "a weekly freeze occurs within 8 days: {calendar:#?}"
    );
    let json = server.json(&["calendar", "--days", "8"]);
    assert!(
        json["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["kind"] == "freeze"),
        "{json:#}"
    );

    let refused = server
        .ferry(&[
            "freeze",
            "create",
            "backwards",
            "--env",
            "prod",
            "--start",
            &end,
            "--end",
            &start,
        ])
        .code(1);
    assert!(refused.stderr.contains("before it starts"), "{refused:#?}");
}

#[test]
fn gate_commands_check_their_arguments_before_sending() {
    let server = Server::start();
    let usage = |args: &[&str], needle: &str| {
        let run = server.ferry(args).code(2);
        assert!(run.stderr.contains(needle), "{needle}: {run:#?}");
    };
    usage(
        &["check", "api@1.0.0", "--to", "prod", "--emergency"],
        "--reason",
    );
    usage(
        &["promote", "api@1.0.0", "--to", "prod", "--at", "tomorrow"],
        "RFC 3339",
    );
    usage(
        &[
            "evidence",
            "add",
            "api@1.0.0",
            "--env",
            "prod",
            "--check",
            "e2e=maybe",
        ],
        "neither pass nor fail",
    );
    usage(
        &["evidence", "add", "api@1.0.0", "--env", "prod"],
        "--junit",
    );
    usage(
        &["change", "assess", "1", "--risk", "extreme"],
        "low, medium, high, critical",
    );
    usage(&["deploy", "report", "1", "--status", "done"], "succeeded");
}

/// A running `ferry agent`, its stderr in a file, stopped when dropped.
struct AgentProcess {
    child: Child,
    log: PathBuf,
}

impl AgentProcess {
    fn start(server: &Server, secret: &str, work_dir: &Path) -> AgentProcess {
        let log = server.home.path().join(format!(
            "agent-{}.log",
            secret.len() + work_dir.as_os_str().len()
        ));
        let child = server
            .command(&[
                "agent",
                "--environment",
                "dev",
                "--tag",
                "region=eu",
                "--work-dir",
            ])
            .arg(work_dir)
            .env("FERRY_SERVER", &server.url)
            .env("FERRY_AGENT_TOKEN", secret)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("ferry agent starts");
        AgentProcess { child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the log has `text`.
    #[track_caller]
    fn wait_for(&self, text: &str) {
        let deadline = Instant::now() + START_TIMEOUT;
        while !self.log().contains(text) {
            assert!(
                Instant::now() < deadline,
                "the agent never logged {text:?}; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Sends SIGTERM and waits for a clean exit.
    #[track_caller]
    fn terminate(mut self) {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "{status}; log:\n{}", self.log());
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the agent did not stop on SIGTERM; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for AgentProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `ferry agent token create` for agent `name` in dev: its secret.
fn agent_token(server: &Server, name: &str) -> String {
    let created = server
        .ferry(&[
            "agent",
            "token",
            "create",
            "--env",
            "dev",
            "--name",
            name,
            "--tag",
            "region=eu",
        ])
        .success();
    assert!(
        created
            .stdout
            .contains(&format!("Created agent \"{name}\"")),
        "{created:#?}"
    );
    let secret = created.stdout.lines().last().unwrap().to_owned();
    assert!(secret.starts_with("ferry_agent_"), "{created:#?}");
    secret
}

#[test]
fn an_agent_says_hello_with_its_token_and_stops_on_sigterm() {
    let server = Server::start();
    server.write_config(CONFIG);
    server.ferry(&["apply"]).success();
    let secret = agent_token(&server, "web-1");
    // The agent's token is not an API token.
    let refused = server.ferry_as(Some(&secret), &["whoami"]).code(1);
    assert!(refused.stderr.starts_with("error:"), "{refused:#?}");
    // Another name than the token's is refused.
    let work = server.home.path().join("work");
    let wrong = server
        .command(&[
            "agent",
            "--environment",
            "dev",
            "--name",
            "web-2",
            "--work-dir",
        ])
        .arg(&work)
        .env("FERRY_SERVER", &server.url)
        .env("FERRY_AGENT_TOKEN", &secret)
        .output()
        .unwrap();
    assert_eq!(wrong.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("not \"web-2\""));

    let agent = AgentProcess::start(&server, &secret, &work);
    agent.wait_for("hello from agent \"web-1\" of environment \"dev\"");
    agent.terminate();
}

#[test]
fn an_agent_downloads_checks_and_deploys_a_release() {
    let server = Server::start();
    server.write_config(&format!(
        "{CONFIG}\n[[service]]\nname = \"shop\"\ndeploy.steps = [{{ name = \"install\", run = \"cp \\\"$FERRY_ARTIFACT_APP_BIN\\\" installed && echo \\\"$FERRY_SERVICE $FERRY_VERSION $FERRY_ENVIRONMENT $FERRY_TARGET $FERRY_DEPLOYMENT_ID\\\" > env.txt\" }}]\ndeploy.health = {{ command = \"test -f installed\", retries = 0 }}\n"
    ));
    server.ferry(&["apply"]).success();
    std::fs::write(server.home.path().join("app.bin"), b"shop build 1").unwrap();
    server
        .ferry(&[
            "release",
            "create",
            "shop",
            "--version",
            "1.0.0",
            "--artifact",
            "app.bin=app.bin",
        ])
        .success();
    let secret = agent_token(&server, "web-1");

    // The job is made as the orchestrator will: through the store.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let url = format!("sqlite://{}", server.database().display());
    let (store, deployment, job) = runtime.block_on(async {
        let store = ferry_store::Store::connect(&url).await.unwrap();
        let agent = store
            .agents(None)
            .await
            .unwrap()
            .into_iter()
            .find(|a| a.name == "web-1")
            .unwrap();
        let deployment = store
            .create_deployment(
                "admin",
                &ferry_core::Name::parse("shop").unwrap(),
                &semver::Version::parse("1.0.0").unwrap(),
                &ferry_core::Name::parse("dev").unwrap(),
                ferry_store::deployments::NewDeployment::default(),
            )
            .await
            .unwrap();
        let jobs = store
            .create_jobs(
                deployment.id,
                0,
                &[agent.id],
                ferry_store::jobs::JobKind::Deploy,
            )
            .await
            .unwrap();
        (store, deployment.id, jobs[0].id)
    });

    let work = server.home.path().join("work");
    let agent = AgentProcess::start(&server, &secret, &work);
    agent.wait_for(&format!("job {job} succeeded; reported (finished)"));
    let release_dir = work.join("shop").join("1.0.0");
    assert_eq!(
        std::fs::read(release_dir.join("installed")).unwrap(),
        b"shop build 1"
    );
    assert_eq!(
        std::fs::read_to_string(release_dir.join("env.txt")).unwrap(),
        format!("shop 1.0.0 dev web-1 {deployment}\n")
    );
    let jobs = runtime.block_on(store.jobs(deployment)).unwrap();
    assert_eq!(jobs[0].state, ferry_store::jobs::JobState::Succeeded);
    let result = jobs[0].result.clone().unwrap();
    assert_eq!(result["steps"][0]["exit_code"], 0, "{result}");
    assert_eq!(result["health"]["healthy"], true, "{result}");
    runtime.block_on(store.close());
    agent.terminate();
}

#[test]
fn release_candidates_go_up_and_the_release_keeps_their_feature() {
    let server = Server::start();
    server.write_config(CONFIG);
    server.ferry(&["apply"]).success();
    let repo = Repo::new(server.home.path().join("repo"));
    repo.commit("services/api/a.txt", "feat(api): first endpoint");
    repo.git(&["tag", "-a", "api-v1.6.0", "-m", "api 1.6.0"]);
    let create = |extra: &[&str]| {
        let mut args = vec!["release", "create", "api", "--git", "repo"];
        args.extend_from_slice(extra);
        server.json(&args)["version"].as_str().unwrap().to_owned()
    };
    let next_version = || {
        let run = Run::of(server.command(&[
            "changelog",
            "--git",
            "repo",
            "--service",
            "api",
            "--path",
            "services/api/**",
            "--next-version",
        ]))
        .success();
        run.stdout.trim().to_owned()
    };

    repo.commit("services/api/b.txt", "feat(api): refunds");
    assert_eq!(create(&["--bump", "auto", "--pre", "rc"]), "1.7.0-rc.1");
    repo.git(&["tag", "api-v1.7.0-rc.1"]);

    repo.commit("services/api/c.txt", "fix(api): round refunds");
    assert_eq!(
        create(&["--bump", "auto", "--pre", "rc"]),
        "1.7.0-rc.2",
        "the feature of rc.1 still counts: not 1.6.1-rc.1"
    );
    repo.git(&["tag", "api-v1.7.0-rc.2"]);

    repo.commit("services/api/d.txt", "docs(api): explain refunds");
    // Nothing may go below the candidates.
    let beta = server
        .ferry(&["release", "create", "api", "--git", "repo", "--pre", "beta"])
        .code(1);
    assert!(
        beta.stderr.contains("1.7.0-beta.1") && beta.stderr.contains("1.7.0-rc.2"),
        "{beta:?}"
    );
    assert!(beta.stderr.contains("--pre rc"), "{beta:?}");
    let patch = server
        .ferry(&[
            "release", "create", "api", "--git", "repo", "--bump", "patch",
        ])
        .code(1);
    assert!(
        patch
            .stderr
            .contains("1.6.1 is not greater than 1.7.0-rc.2"),
        "{patch:?}"
    );
    let lower = server
        .ferry(&[
            "release",
            "create",
            "api",
            "--git",
            "repo",
            "--version",
            "1.6.5",
        ])
        .code(1);
    assert!(
        lower
            .stderr
            .contains("1.6.5 is not greater than 1.7.0-rc.2"),
        "{lower:?}"
    );

    // The changelog computes what `release create --bump auto` makes.
    assert_eq!(next_version(), "1.7.0");
    assert_eq!(
        create(&["--bump", "auto"]),
        "1.7.0",
        "the final release finalises the candidates: not 1.6.1"
    );
    repo.git(&["tag", "api-v1.7.0"]);
    let versions: Vec<String> = server.json(&["release", "list", "api"])["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["version"].as_str().unwrap().to_owned())
        .collect();
    for version in ["1.7.0-rc.1", "1.7.0-rc.2", "1.7.0"] {
        assert!(versions.iter().any(|v| v == version), "{versions:?}");
    }
    assert_eq!(
        versions.len(),
        3,
        "nothing refused was created: {versions:?}"
    );

    repo.commit("services/api/e.txt", "fix(api): refunds of refunds");
    assert_eq!(next_version(), "1.7.1");
    assert_eq!(create(&["--bump", "auto"]), "1.7.1");
}

#[test]
fn a_promotion_at_a_time_long_past_or_far_ahead_is_refused() {
    let server = Server::start();
    server.write_config(CONFIG);
    server.ferry(&["apply"]).success();
    server
        .ferry(&["release", "create", "api", "--version", "1.0.0"])
        .success();
    for (at, says) in [
        ("1970-01-01T00:00:00Z", "in the past"),
        ("9999-12-31T23:59:59Z", "366 days ahead"),
    ] {
        let refused = server
            .ferry(&["promote", "api@1.0.0", "--to", "dev", "--at", at])
            .code(1);
        assert!(refused.stderr.contains(says), "{at}: {refused:#?}");
    }
    let listed = server.json(&["deploy", "list"]);
    assert_eq!(listed["items"], serde_json::json!([]), "nothing was queued");
}

#[test]
fn a_closed_standard_output_ends_the_command_quietly() {
    // `ferry completions bash | head -c 1`: the reader stops early.
    let mut child = Command::new(FERRY)
        .args(["completions", "bash"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert!(output.stderr.is_empty(), "{output:?}");
}

#[test]
fn an_upload_refused_before_its_body_is_read_fails_and_says_so() {
    // A server that answers an upload from its head and closes the
    // connection without reading the body: the client, still sending, must
    // report the refusal, never take its broken connection for a closed
    // standard output.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            if head.starts_with(b"HEAD ") {
                let _ = stream.write_all(
                    b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                );
            }
            // A PUT is answered at once, and the connection closed, its
            // body unread (as a server does that refuses it early).
            let _ = stream.write_all(
                b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            );
            let _ = stream.shutdown(std::net::Shutdown::Write);
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    let home = tempfile::tempdir().unwrap();
    let artifact = home.path().join("big.bin");
    std::fs::write(&artifact, vec![1_u8; 32 << 20]).unwrap();
    let mut command = Command::new(FERRY);
    command
        .args([
            "release",
            "create",
            "api",
            "--version",
            "1.0.0",
            "--artifact",
        ])
        .arg(format!("bin={}", artifact.display()))
        .env("FERRY_SERVER", &url)
        .env("FERRY_TOKEN", "ferry_test")
        .env("XDG_CONFIG_HOME", home.path());
    let failed = Run::of(command).code(1);
    assert!(
        failed.stderr.contains("cannot upload") && failed.stderr.contains("500"),
        "the refused upload is reported: {failed:#?}"
    );
}

#[test]
fn session_limits_that_mean_nothing_stop_the_server_from_starting() {
    let data = tempfile::tempdir().unwrap();
    for (idle, lifetime, said) in [
        ("2d", "1d", "longer than --session-lifetime"),
        ("10s", "1d", "--session-idle must be between 1m and 366d"),
        ("1h", "1y", "is not a duration"),
    ] {
        let mut serve = Command::new(FERRY);
        serve
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data.path())
            .args(["--session-idle", idle, "--session-lifetime", lifetime])
            .env("XDG_CONFIG_HOME", data.path());
        let refused = Run::of(serve);
        assert_ne!(refused.code, 0, "{refused:#?}");
        assert!(
            refused.stderr.contains(said),
            "{idle} {lifetime}: {refused:#?}"
        );
    }
}
