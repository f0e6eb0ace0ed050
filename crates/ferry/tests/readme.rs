//! The README's quick start, run as written: the `sh` blocks between its
//! `<!-- quick-start` marks, taken from the README itself so the two cannot
//! drift, against a real `ferry serve --demo`.
//!
//! Only what must differ from a reader's machine does: the server listens
//! on a free port rather than 8740 (the commands' `127.0.0.1:8740` is
//! replaced by it) and the demo's `hello` on another rather than 8741; the
//! home directory is a temporary one; and `cargo` lines are the test's own
//! business: `cargo run --release -- ARGS` is the `ferry ARGS` it built,
//! and `cargo build` was done before the test ran.

mod support;

use std::path::Path;
use std::process::Command;

use support::{Deployed, FERRY, Run, Server, free_port};

const README: &str = include_str!("../../../README.md");

/// The lines of each `sh` block of the quick start.
fn quick_start() -> Vec<Vec<&'static str>> {
    let start = README
        .find("<!-- quick-start:")
        .expect("the README marks its quick start");
    let end = README[start..]
        .find("<!-- quick-start: end -->")
        .expect("the README marks the end of its quick start");
    let mut blocks = Vec::new();
    let mut block: Option<Vec<&str>> = None;
    for line in README[start..start + end].lines() {
        match (&mut block, line.trim()) {
            (None, "```sh") => block = Some(Vec::new()),
            (Some(_), "```") => blocks.extend(block.take()),
            (Some(lines), _) => lines.push(line),
            (None, _) => {}
        }
    }
    blocks
}

#[test]
fn the_quick_start_runs_as_written() {
    let blocks = quick_start();
    assert_eq!(
        blocks.len(),
        2,
        "the quick start is the server's command, then the client's: {blocks:?}"
    );

    // The first block starts the server, in "one terminal".
    let [serve] = blocks[0][..] else {
        panic!("one command starts the server: {:?}", blocks[0]);
    };
    let args: Vec<&str> = serve
        .strip_prefix("cargo run --release -- serve")
        .unwrap_or_else(|| panic!("the server is started with cargo run: {serve}"))
        .split_whitespace()
        .collect();
    let home = tempfile::tempdir().unwrap();
    let data_dir = home.path().join(".local/share/ferry");
    let hello = Deployed {
        agent_dir: data_dir.join("agent"),
    };
    let server = Server::builder()
        .data_dir(&data_dir)
        .home(home.path())
        .args(&args)
        .env("FERRY_DEMO_PORT", free_port().to_string())
        .start();

    // The second runs in "another terminal", line after line, stopping at
    // the first that fails.
    let address = server.url.trim_start_matches("http://");
    let script: Vec<String> = blocks[1]
        .iter()
        .filter(|line| !line.starts_with("cargo build"))
        .map(|line| line.replace("127.0.0.1:8740", address))
        .collect();
    let binaries = Path::new(FERRY).parent().unwrap();
    let path = std::env::join_paths(
        std::iter::once(binaries.to_owned())
            .chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    let mut shell = Command::new("sh");
    shell
        .args(["-e", "-c", &script.join("\n")])
        .current_dir(home.path())
        .env("HOME", home.path())
        .env("PATH", path)
        .env("NO_COLOR", "1")
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("XDG_DATA_HOME");
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("FERRY_") {
            shell.env_remove(key);
        }
    }
    let run = Run::of(shell);
    assert_eq!(
        run.code,
        0,
        "the quick start failed:\n{}\n{run:#?}",
        script.join("\n")
    );
    for shown in ["Logged in to", "SERVICE", "hello@1.0.0", "SEQ"] {
        assert!(run.stdout.contains(shown), "{shown:?} is shown: {run:#?}");
    }
    drop(server);
    drop(hello);
}
