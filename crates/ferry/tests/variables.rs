//! Variables and secrets of environments as a user meets them: `ferry var`
//! against a real `ferry serve`, the server's files on disk, a restart, and a
//! real `ferry agent` whose step prints a secret that reaches ferry masked.
//!
//! Commands run with a private `XDG_CONFIG_HOME`, so no test reads or writes
//! a real profile.

mod support;

use std::io::Read;
use std::process::Stdio;
use std::time::{Duration, Instant};

use support::{Server, terminate};

/// How long a deployment may take on a slow, busy machine.
const DEPLOY_TIMEOUT: Duration = Duration::from_secs(120);

const PASSWORD: &str = "hunter22-correct-horse";

/// A plain value the tests look for in the database files, to show that
/// looking for the secret there would find it if it were in clear.
const MARKER: &str = "plain-marker-7f3a";

const CONFIG: &str = r#"
[[environment]]
name = "dev"
tier = "development"
variables = { LOG_LEVEL = "info", REGION = "eu-west-1" }

[[environment]]
name = "prod"
tier = "production"

[lifecycle.default]
phases = [["dev"], ["prod"]]

[[service]]
name = "shop"
deploy.steps = [{ name = "show", run = 'echo "level=$LOG_LEVEL password=$DB_PASSWORD" && printf %s "$DB_PASSWORD" > password.txt && printf %s "$LOG_LEVEL $REGION" > level.txt' }]
"#;

impl Server {
    /// Every byte of the SQLite database: the file, its write-ahead log and
    /// its shared memory index.
    fn database_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::new();
        for name in ["ferry.db", "ferry.db-wal", "ferry.db-shm"] {
            if let Ok(mut file) = std::fs::File::open(self.data_dir.path().join(name)) {
                file.read_to_end(&mut bytes).unwrap();
            }
        }
        bytes
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

/// The row of `name` in a `ferry var list` table, split into its columns.
fn row<'a>(table: &'a str, name: &str) -> Vec<&'a str> {
    table
        .lines()
        .find(|line| line.split_whitespace().next() == Some(name))
        .unwrap_or_else(|| panic!("no row {name} in:\n{table}"))
        .split_whitespace()
        .collect()
}

#[test]
fn variables_are_set_listed_and_unset_and_a_secret_is_never_shown_again() {
    let server = Server::start();
    server.apply(CONFIG);

    let set = server
        .ferry(&["var", "set", "dev", "LOG_LEVEL", "debug"])
        .success();
    assert!(
        set.stdout.contains("Set LOG_LEVEL of dev.")
            && set.stdout.contains("replaces the value of ferry.toml"),
        "{set:#?}"
    );
    let secret = server
        .ferry_with_stdin(
            &[
                "var",
                "set",
                "dev",
                "DB_PASSWORD",
                "--secret",
                "--from-stdin",
            ],
            &format!("{PASSWORD}\n"),
        )
        .success();
    assert!(
        secret.stdout.contains("Set secret DB_PASSWORD of dev"),
        "{secret:#?}"
    );
    server
        .ferry(&["var", "set", "dev", "NOTE", MARKER])
        .success();

    let listed = server.ferry(&["var", "list", "dev"]).success();
    assert!(!listed.stdout.contains(PASSWORD), "{}", listed.stdout);
    let header: Vec<_> = listed
        .stdout
        .lines()
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(header, ["NAME", "VALUE", "SECRET", "SOURCE"]);
    assert_eq!(
        row(&listed.stdout, "DB_PASSWORD"),
        ["DB_PASSWORD", "***", "yes", "set"]
    );
    assert_eq!(
        row(&listed.stdout, "LOG_LEVEL"),
        ["LOG_LEVEL", "debug", "no", "set", "(over", "ferry.toml)"]
    );
    assert_eq!(
        row(&listed.stdout, "REGION"),
        ["REGION", "eu-west-1", "no", "ferry.toml"]
    );

    // No answer of the API holds the secret: not the list, not the
    // environment, not the audit trail.
    let json = server.json(&["var", "list", "dev"]);
    let password = json["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "DB_PASSWORD")
        .unwrap();
    assert_eq!(password["secret"], true);
    assert!(password.get("value").is_none(), "{password}");
    for args in [&["var", "list", "dev"][..], &["audit", "list"], &["status"]] {
        let mut args = args.to_vec();
        args.extend(["--output", "json"]);
        let run = server.ferry(&args).success();
        assert!(!run.stdout.contains(PASSWORD), "{args:?}: {}", run.stdout);
    }
    let audit = server
        .ferry(&["audit", "list", "--output", "json"])
        .success();
    assert!(audit.stdout.contains("variable.set"), "{}", audit.stdout);

    let unset = server
        .ferry(&["var", "unset", "dev", "LOG_LEVEL"])
        .success();
    assert!(
        unset
            .stdout
            .contains("The value of ferry.toml applies again"),
        "{unset:#?}"
    );
    let listed = server.ferry(&["var", "list", "dev"]).success();
    assert_eq!(
        row(&listed.stdout, "LOG_LEVEL"),
        ["LOG_LEVEL", "info", "no", "ferry.toml"]
    );
    let from_file = server.ferry(&["var", "unset", "dev", "REGION"]).code(1);
    assert!(from_file.stderr.contains("ferry.toml"), "{from_file:#?}");
    let empty = server.ferry(&["var", "list", "prod"]).success();
    assert_eq!(empty.stdout.trim(), "No variables in prod.");
}

#[test]
fn a_secret_is_encrypted_on_disk_and_still_readable_after_a_restart() {
    let mut server = Server::start();
    server.apply(CONFIG);
    server
        .ferry_with_stdin(
            &[
                "var",
                "set",
                "dev",
                "DB_PASSWORD",
                "--secret",
                "--from-stdin",
            ],
            PASSWORD,
        )
        .success();
    server
        .ferry(&["var", "set", "dev", "NOTE", MARKER])
        .success();

    let on_disk = server.database_bytes();
    assert!(
        contains(&on_disk, MARKER),
        "a plain value is found in the database files"
    );
    assert!(
        !contains(&on_disk, PASSWORD),
        "the secret is not in the database files in clear"
    );
    let key = server.data_dir.path().join("secret.key");
    assert_eq!(std::fs::read(&key).unwrap().len(), 32);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the key file is private");
    }
    let key_before = std::fs::read(&key).unwrap();

    server.stop();
    server.restart();
    assert_eq!(
        std::fs::read(&key).unwrap(),
        key_before,
        "a restart reads the key, never makes another"
    );
    let listed = server.ferry(&["var", "list", "dev"]).success();
    assert_eq!(
        row(&listed.stdout, "DB_PASSWORD"),
        ["DB_PASSWORD", "***", "yes", "set"]
    );

    // The step of a real agent sees the secret decrypted by the restarted
    // server; what it prints reaches ferry masked.
    let agent_token = server
        .ferry(&[
            "agent", "token", "create", "--env", "dev", "--name", "web-1",
        ])
        .success();
    let agent_secret = agent_token.stdout.lines().last().unwrap().to_owned();
    assert!(agent_secret.starts_with("ferry_agent_"), "{agent_token:#?}");
    let work = server.home.path().join("work");
    let agent_log = server.home.path().join("agent.log");
    let mut agent = server
        .command(&["agent", "--environment", "dev", "--work-dir"])
        .arg(&work)
        .env("FERRY_SERVER", &server.url)
        .env("FERRY_AGENT_TOKEN", &agent_secret)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&agent_log).unwrap())
        .spawn()
        .expect("ferry agent starts");

    server
        .ferry(&["release", "create", "shop", "--version", "1.0.0"])
        .success();
    let promoted = server.json(&["promote", "shop@1.0.0", "--to", "dev"]);
    let id = promoted["id"].as_i64().unwrap();
    let deadline = Instant::now() + DEPLOY_TIMEOUT;
    let deployment = loop {
        let deployment = server.json(&["deploy", "show", &id.to_string()]);
        let status = deployment["status"].as_str().unwrap_or_default().to_owned();
        if ["succeeded", "failed", "rolled_back", "cancelled"].contains(&status.as_str()) {
            break deployment;
        }
        assert!(
            Instant::now() < deadline,
            "deployment {id} did not finish: {deployment:#}\nagent log:\n{}",
            std::fs::read_to_string(&agent_log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let agent_output = std::fs::read_to_string(&agent_log).unwrap_or_default();
    assert_eq!(
        deployment["status"], "succeeded",
        "{deployment:#}\nagent log:\n{agent_output}"
    );

    let release_dir = work.join("shop").join("1.0.0");
    assert_eq!(
        std::fs::read_to_string(release_dir.join("password.txt")).unwrap(),
        PASSWORD,
        "the step saw the secret"
    );
    assert_eq!(
        std::fs::read_to_string(release_dir.join("level.txt")).unwrap(),
        "info eu-west-1",
        "the step saw ferry.toml's variables"
    );
    assert!(
        agent_output.contains("password=***") && !agent_output.contains(PASSWORD),
        "the agent prints the secret masked:\n{agent_output}"
    );

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let url = format!(
        "sqlite://{}",
        server.data_dir.path().join("ferry.db").display()
    );
    let jobs = runtime.block_on(async {
        let store = ferry_store::Store::connect(&url).await.unwrap();
        let jobs = store.jobs(id).await.unwrap();
        store.close().await;
        jobs
    });
    let result = jobs[0].result.clone().expect("the job has a result");
    let tail = result["log_tail"].to_string();
    assert!(
        tail.contains("level=info password=***"),
        "the reported log masks the secret: {tail}"
    );
    assert!(!tail.contains(PASSWORD), "{tail}");
    let shown = server.ferry(&["deploy", "show", &id.to_string(), "--output", "json"]);
    assert!(!shown.stdout.contains(PASSWORD), "{}", shown.stdout);

    terminate(&mut agent, "ferry agent");
}

#[test]
fn only_administrators_change_variables_and_mistakes_are_explained() {
    let server = Server::start();
    server.apply(CONFIG);
    let bob = server.user_with_roles("bob", &["deployer"]);
    // Anyone who may read sees the variables (never a secret's value) ...
    let listed = server
        .ferry_as(Some(&bob), &["var", "list", "dev"])
        .success();
    assert!(listed.stdout.contains("LOG_LEVEL"), "{listed:#?}");
    // ... and only administrators change them.
    for args in [
        &["var", "set", "dev", "A", "1"][..],
        &["var", "unset", "dev", "LOG_LEVEL"],
    ] {
        let refused = server.ferry_as(Some(&bob), args).code(1);
        assert!(
            refused.stderr.contains("the admin role"),
            "{args:?}: {refused:#?}"
        );
    }

    let usage = |args: &[&str], expected: &str| {
        let run = server.ferry(args).code(2);
        assert!(run.stderr.contains(expected), "{args:?}: {run:#?}");
    };
    usage(&["var", "set", "dev", "FERRY_VERSION", "1"], "FERRY_");
    usage(&["var", "set", "dev", "LOG-LEVEL", "1"], "underscores");
    usage(&["var", "set", "dev", "A"], "--from-stdin");
    usage(
        &["var", "set", "dev", "A", "1", "--from-stdin"],
        "cannot be used",
    );

    let short = server
        .ferry(&["var", "set", "dev", "PIN", "123", "--secret"])
        .code(1);
    assert!(short.stderr.contains("mask"), "{short:#?}");
    let nowhere = server.ferry(&["var", "set", "qa", "A", "1"]).code(1);
    assert!(nowhere.stderr.contains("\"qa\""), "{nowhere:#?}");
}

#[test]
fn apply_stores_the_variables_of_ferry_toml_once_and_plans_their_changes() {
    let server = Server::start();
    let applied = server.apply(CONFIG);
    assert!(
        applied.stdout.contains("+ create environment dev"),
        "{applied:#?}"
    );
    let again = server.ferry(&["apply"]).success();
    assert!(again.stdout.contains("No changes"), "{again:#?}");

    std::fs::write(
        server.home.path().join("ferry.toml"),
        CONFIG.replace("LOG_LEVEL = \"info\"", "LOG_LEVEL = \"warn\""),
    )
    .unwrap();
    let planned = server.ferry(&["apply", "--dry-run"]).success();
    assert!(
        planned.stdout.contains("environment dev (variables)"),
        "{planned:#?}"
    );
    let listed = server.ferry(&["var", "list", "dev"]).success();
    assert_eq!(row(&listed.stdout, "LOG_LEVEL")[1], "info", "a dry run");
    server.ferry(&["apply"]).success();
    let listed = server.ferry(&["var", "list", "dev"]).success();
    assert_eq!(row(&listed.stdout, "LOG_LEVEL")[1], "warn");

    std::fs::write(
        server.home.path().join("ferry.toml"),
        CONFIG.replace("LOG_LEVEL = \"info\"", "\"LOG LEVEL\" = \"warn\""),
    )
    .unwrap();
    let invalid = server.ferry(&["apply"]).code(1);
    assert!(
        invalid.stderr.contains("ferry.toml:5:")
            && invalid
                .stderr
                .contains("invalid variable name \"LOG LEVEL\""),
        "{invalid:#?}"
    );
}

#[test]
fn a_server_with_another_key_refuses_to_start_and_says_why() {
    let mut server = Server::start();
    server.apply(CONFIG);
    server
        .ferry(&["var", "set", "dev", "DB_PASSWORD", PASSWORD, "--secret"])
        .success();
    server.stop();
    let key = server.data_dir.path().join("secret.key");
    let original = std::fs::read(&key).unwrap();

    std::fs::write(&key, b"short").unwrap();
    let (code, stderr) = server.refused_start();
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("secret.key") && stderr.contains("holds 5 bytes instead of 32"),
        "{stderr}"
    );

    std::fs::write(&key, [42u8; 32]).unwrap();
    let (code, stderr) = server.refused_start();
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("encrypted with key") && stderr.contains("same secret.key"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");

    std::fs::write(&key, original).unwrap();
    server.restart();
    server.ferry(&["var", "list", "dev"]).success();
}
