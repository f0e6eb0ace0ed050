//! Files a configuration names stay inside its directory: `ferry apply`
//! reads a service's `notes_template` beside ferry.toml or below it, and
//! refuses one that lies elsewhere on the machine, by `..` or by a symbolic
//! link, before anything reaches the server.

mod support;

use support::Server;

fn config(template: &str) -> String {
    format!(
        r#"
[[environment]]
name = "dev"
tier = "development"

[lifecycle.default]
phases = [["dev"]]

[[service]]
name = "api"
notes_template = "{template}"
"#
    )
}

#[test]
fn a_notes_template_outside_the_configuration_is_refused() {
    let server = Server::start();
    let home = server.home.path();
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("hostname");
    std::fs::write(&secret, "a file of the applying machine").unwrap();
    std::fs::create_dir_all(home.join("templates")).unwrap();
    std::fs::write(
        home.join("templates/notes.md.j2"),
        "{{ releases | length }} release(s)\n",
    )
    .unwrap();
    std::os::unix::fs::symlink(&secret, home.join("templates/link.md.j2")).unwrap();
    // `..` up to the root, then down to the file.
    let traversal = format!(
        "{}/hostname",
        std::iter::repeat_n("..", home.components().count())
            .collect::<Vec<_>>()
            .join("/")
            + outside.path().to_str().unwrap()
    );

    for template in [traversal.as_str(), "templates/link.md.j2"] {
        std::fs::write(home.join("ferry.toml"), config(template)).unwrap();
        let refused = server.ferry(&["apply"]).code(1);
        assert!(
            refused
                .stderr
                .contains("lies outside the configuration's directory"),
            "{template}: {refused:#?}"
        );
        assert!(!refused.stderr.contains("a file of the applying machine"));
    }
    // Nothing was applied.
    let services = server.json(&["release", "list"]);
    assert_eq!(services["items"], serde_json::json!([]));
    let listed = server.ferry(&["status", "--output", "json"]).success();
    assert!(!listed.stdout.contains("\"api\""), "{listed:#?}");

    // A template beside ferry.toml is read as before.
    std::fs::write(home.join("ferry.toml"), config("templates/notes.md.j2")).unwrap();
    server.ferry(&["apply"]).success();
}

#[test]
fn apply_reads_the_configuration_from_standard_input() {
    let server = Server::start();
    let config = config_without_template();
    let planned = server
        .ferry_with_stdin(&["apply", "-f", "-", "--dry-run"], &config)
        .success();
    assert!(
        planned.stdout.contains("+ create service api"),
        "{planned:#?}"
    );
    server
        .ferry_with_stdin(&["apply", "-f", "-"], &config)
        .success();
    let again = server
        .ferry_with_stdin(&["apply", "-f", "-"], &config)
        .success();
    assert!(again.stdout.contains("No changes"), "{again:#?}");
    // A mistake is reported against <stdin>, with its line.
    let broken = server
        .ferry_with_stdin(&["apply", "-f", "-"], "[[environment]]\nname = 3\n")
        .code(1);
    assert!(broken.stderr.contains("<stdin>:2"), "{broken:#?}");
}

fn config_without_template() -> String {
    config("x").replace("notes_template = \"x\"\n", "")
}
