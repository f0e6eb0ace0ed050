//! Backing up a running SQLite server and restoring it into an empty data
//! directory: what was there at the backup comes back, what came after
//! does not, the audit trail verifies, and a backup that was changed, or a
//! data directory that holds a database already, is refused with nothing
//! written.

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

fn versions(server: &Server) -> Vec<String> {
    let listed = server.json(&["release", "list", "api"]);
    let mut versions: Vec<String> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|release| release["version"].as_str().unwrap().to_owned())
        .collect();
    versions.sort();
    versions
}

#[test]
fn a_running_server_is_backed_up_and_restored_as_it_was() {
    let server = Server::start();
    server.apply(CONFIG);
    server
        .ferry(&["release", "create", "api", "--version", "1.0.0"])
        .success();
    let place = tempfile::tempdir().unwrap();
    let backup = place.path().join("backup");
    let data = server.data_dir.path().to_str().unwrap().to_owned();
    let made = server
        .ferry(&[
            "admin",
            "backup",
            "--data-dir",
            &data,
            "--to",
            backup.to_str().unwrap(),
        ])
        .success();
    assert!(
        made.stdout.starts_with("Backed up ") && made.stdout.contains("the secret key"),
        "{}",
        made.stdout
    );
    // The server kept running; what comes after is not in the backup.
    server
        .ferry(&["release", "create", "api", "--version", "2.0.0"])
        .success();
    assert_eq!(versions(&server), ["1.0.0", "2.0.0"]);

    let restored = place.path().join("restored");
    let run = server
        .ferry(&[
            "admin",
            "restore",
            "--from",
            backup.to_str().unwrap(),
            "--data-dir",
            restored.to_str().unwrap(),
        ])
        .success();
    assert!(
        run.stdout.contains("audit events verified"),
        "{}",
        run.stdout
    );
    assert_eq!(
        std::fs::read(restored.join("secret.key")).unwrap(),
        std::fs::read(server.data_dir.path().join("secret.key")).unwrap(),
        "the key that opens its secrets comes back"
    );
    // Restoring over it is refused: a database is there already.
    let again = server.ferry(&[
        "admin",
        "restore",
        "--from",
        backup.to_str().unwrap(),
        "--data-dir",
        restored.to_str().unwrap(),
    ]);
    assert_ne!(again.code, 0);
    assert!(
        again.stderr.contains("holds a database already"),
        "{}",
        again.stderr
    );

    // A server on the restored folder has what the backup had.
    std::fs::copy(
        server.data_dir.path().join("bootstrap-token"),
        restored.join("bootstrap-token"),
    )
    .unwrap();
    let back = Server::builder().data_dir(&restored).start();
    assert_eq!(versions(&back), ["1.0.0"]);
    back.ferry(&["audit", "verify"]).success();
}

#[test]
fn a_changed_backup_or_a_missing_one_restores_nothing() {
    let server = Server::start();
    server.apply(CONFIG);
    let place = tempfile::tempdir().unwrap();
    let backup = place.path().join("backup");
    let data = server.data_dir.path().to_str().unwrap().to_owned();
    server
        .ferry(&[
            "admin",
            "backup",
            "--data-dir",
            &data,
            "--to",
            backup.to_str().unwrap(),
        ])
        .success();
    // Into a folder that is not empty: refused.
    let refused = server.ferry(&[
        "admin",
        "backup",
        "--data-dir",
        &data,
        "--to",
        backup.to_str().unwrap(),
    ]);
    assert_ne!(refused.code, 0);
    assert!(
        refused.stderr.contains("is not empty"),
        "{}",
        refused.stderr
    );

    // Its description says another head than its database has.
    let description = backup.join("backup.json");
    let text = std::fs::read_to_string(&description).unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["audit_events"] = serde_json::json!(json["audit_events"].as_i64().unwrap() + 1);
    std::fs::write(&description, json.to_string()).unwrap();
    let target = place.path().join("target");
    let run = server.ferry(&[
        "admin",
        "restore",
        "--from",
        backup.to_str().unwrap(),
        "--data-dir",
        target.to_str().unwrap(),
    ]);
    assert_ne!(run.code, 0);
    assert!(
        run.stderr.contains("changed after the backup")
            && run.stderr.contains("nothing was restored"),
        "{}",
        run.stderr
    );
    assert!(!target.join("ferry.db").exists(), "nothing was left behind");

    // Not a backup at all.
    let run = server.ferry(&[
        "admin",
        "restore",
        "--from",
        place.path().to_str().unwrap(),
        "--data-dir",
        target.to_str().unwrap(),
    ]);
    assert_ne!(run.code, 0);
    assert!(
        run.stderr.contains("is not a ferry backup"),
        "{}",
        run.stderr
    );
}
