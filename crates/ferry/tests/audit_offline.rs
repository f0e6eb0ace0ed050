//! An exported audit trail checked offline (`ferry audit verify --file`):
//! intact as exported, and each single edit, deletion, reordering or
//! truncation named at the event where it is.

mod support;

use support::Server;

fn export(server: &Server) -> Vec<String> {
    let run = server.ferry(&["audit", "export"]).success();
    run.stdout.lines().map(str::to_owned).collect()
}

fn verify(server: &Server, lines: &[String], head: Option<&str>) -> support::Run {
    let path = server.home.path().join("trail.jsonl");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let path = path.to_string_lossy().into_owned();
    let mut args = vec!["audit", "verify", "--file", path.as_str()];
    if let Some(head) = head {
        args.extend(["--head", head]);
    }
    server.ferry(&args)
}

#[test]
fn an_export_verifies_offline_and_every_change_to_it_is_named() {
    let server = Server::start();
    server.apply(
        r#"
[[environment]]
name = "dev"
tier = "development"

[lifecycle.default]
phases = [["dev"]]

[[service]]
name = "api"
"#,
    );
    for version in ["1.0.0", "1.1.0", "1.2.0"] {
        server
            .ferry(&["release", "create", "api", "--version", version])
            .success();
    }
    let lines = export(&server);
    assert!(lines.len() >= 6, "{lines:#?}");
    let count = lines.len();
    let last: serde_json::Value = serde_json::from_str(lines.last().unwrap()).unwrap();
    let head = last["hash"].as_str().unwrap().to_owned();

    // As exported: intact, with the head the server reports.
    let intact = verify(&server, &lines, Some(&head)).success();
    assert!(
        intact
            .stdout
            .contains(&format!("audit trail intact: {count} events, head {head}")),
        "{intact:#?}"
    );
    let online = server.json(&["audit", "verify"]);
    assert_eq!(
        online["head_hash"],
        head.as_str(),
        "the same head as the server's"
    );

    // One fact edited: the third event made dev a production environment.
    let mut edited = lines.clone();
    edited[2] = edited[2].replace("\"tier\":\"development\"", "\"tier\":\"production\"");
    assert_ne!(edited[2], lines[2], "the third event creates dev");
    let run = verify(&server, &edited, None);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stdout.contains("audit trail BROKEN at event 3: its content does not match its hash: the event was edited"),
        "{run:#?}"
    );

    // One removed.
    let mut removed = lines.clone();
    removed.remove(3);
    let run = verify(&server, &removed, None);
    assert!(
        run.stdout
            .contains("BROKEN at event 4: expected event 4 next, found 5: events were removed"),
        "{run:#?}"
    );

    // Two swapped.
    let mut swapped = lines.clone();
    swapped.swap(1, 2);
    let run = verify(&server, &swapped, None);
    assert!(
        run.stdout
            .contains("BROKEN at event 2: expected event 2 next, found 3"),
        "{run:#?}"
    );

    // The last one cut off: the chain holds, the head does not.
    let cut = &lines[..count - 1];
    verify(&server, cut, None).success();
    let run = verify(&server, cut, Some(&head));
    assert!(
        run.stdout.contains(&format!(
            "BROKEN at event {count}: the trail should end at head {head}, but ends at event {}",
            count - 1
        )),
        "{run:#?}"
    );

    // Not an export at all.
    let run = verify(&server, &["not json".to_owned()], None);
    assert!(
        run.stderr
            .contains("trail.jsonl:1: not an audit event as `ferry audit export` writes them"),
        "{run:#?}"
    );
}
