//! Evidence packs for auditors, against a real server with real history: a
//! release made from a git repository, its change request moved to
//! approved, its test evidence, an approval, and a deployment by a real
//! agent with its log. The pack verifies offline as exported; each single
//! edit, deletion or reordering of a fact, and each edit of an audit event,
//! is named by `ferry evidence-pack verify`. The release page's download
//! gives the same pack.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use support::{Agent, Repo, Run, Server};

const CONFIG: &str = r#"
[[environment]]
name = "prod"
tier = "production"
policy = { approvals = 1, evidence = ["unit"], change_request = true }

[lifecycle.default]
phases = [["prod"]]

[[service]]
name = "api"
deploy.steps = [{ name = "install", run = 'echo "installing $FERRY_VERSION on $FERRY_TARGET"' }]
"#;

const PASSING_JUNIT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites>
  <testsuite name="unit" tests="2">
    <testcase classname="cart" name="adds_items" time="0.01"/>
    <testcase classname="cart" name="rounds_totals" time="0.02"/>
  </testsuite>
</testsuites>
"#;

const PASSWORD: &str = "a pass phrase for alice";

/// A server where api@1.4.0, made from git, has a change request approved,
/// passing unit tests, alice's approval and a deployment to prod that
/// succeeded on node-1, with its log.
fn history() -> (Server, Agent) {
    let server = Server::start();
    server.apply(CONFIG);
    let repo = Repo::new(server.home.path().join("repo"));
    repo.commit("src/a.txt", "feat(api): first endpoint");
    repo.git(&["tag", "-a", "api-v1.3.0", "-m", "api 1.3.0"]);
    repo.commit("src/b.txt", "feat(api): refunds");
    repo.commit("src/c.txt", "fix(api): round totals (#12)");
    let created = server.json(&["release", "create", "api", "--git", "repo"]);
    assert_eq!(created["version"], "1.4.0", "{created:#}");

    let alice = server.user_with_roles("alice", &["approver"]);
    server
        .ferry_with_stdin(&["user", "password", "alice"], &format!("{PASSWORD}\n"))
        .success();
    let change = server.json(&[
        "change",
        "create",
        "--title",
        "Ship api 1.4.0",
        "--type",
        "normal",
        "--service",
        "api",
        "--env",
        "prod",
        "--release",
        "api@1.4.0",
    ]);
    let id = change["id"].as_i64().unwrap().to_string();
    server.ferry(&["change", "submit", &id]).success();
    server
        .ferry_as(
            Some(&alice),
            &["change", "assess", &id, "--risk", "low", "--impact", "api"],
        )
        .success();
    server
        .ferry_as(Some(&alice), &["change", "approve", &id])
        .success();
    std::fs::write(server.home.path().join("unit.xml"), PASSING_JUNIT).unwrap();
    server
        .ferry(&[
            "evidence",
            "add",
            "api@1.4.0",
            "--env",
            "prod",
            "--junit",
            "unit.xml",
        ])
        .success();
    server
        .ferry_as(
            Some(&alice),
            &[
                "approve",
                "api@1.4.0",
                "--env",
                "prod",
                "--comment",
                "ship it",
            ],
        )
        .success();
    let agent = Agent::start(&server, "prod", "node-1", &[]);
    let id = server.promote("api@1.4.0", "prod");
    let deployment = server.wait_until_ended(id, Duration::from_secs(60));
    assert_eq!(deployment["status"], "succeeded", "{deployment:#}");
    (server, agent)
}

/// `ferry evidence-pack ARGS` as the admin, writing to `name` in the home.
fn export(server: &Server, name: &str, args: &[&str]) -> PathBuf {
    let path = server.home.path().join(name);
    let mut all = vec!["evidence-pack"];
    all.extend_from_slice(args);
    all.extend(["--out", path.to_str().unwrap()]);
    let run = server.ferry(&all).success();
    assert!(run.stdout.starts_with("Wrote "), "{run:#?}");
    assert!(run.stdout.contains("manifest sha256:"), "{run:#?}");
    path
}

fn verify(server: &Server, pack: &Path) -> Run {
    server.ferry(&["evidence-pack", "verify", pack.to_str().unwrap()])
}

/// A pack unpacked with the system's tar, to be changed and packed again.
struct Unpacked {
    dir: tempfile::TempDir,
    folder: String,
}

impl Unpacked {
    fn of(pack: &Path) -> Unpacked {
        let dir = tempfile::tempdir().unwrap();
        let status = Command::new("tar")
            .arg("xzf")
            .arg(pack)
            .arg("-C")
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(status.success());
        let folder = std::fs::read_dir(dir.path())
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .file_name()
            .into_string()
            .unwrap();
        Unpacked { dir, folder }
    }

    fn path(&self, file: &str) -> PathBuf {
        self.dir.path().join(&self.folder).join(file)
    }

    fn lines(&self, file: &str) -> Vec<String> {
        std::fs::read_to_string(self.path(file))
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn write_lines(&self, file: &str, lines: &[String]) {
        std::fs::write(self.path(file), lines.join("\n") + "\n").unwrap();
    }

    fn manifest(&self) -> Value {
        serde_json::from_str(&std::fs::read_to_string(self.path("manifest.json")).unwrap()).unwrap()
    }

    /// Packs the folder again as `name` beside it.
    fn pack(&self, name: &str) -> PathBuf {
        let out = self.dir.path().join(name);
        let status = Command::new("tar")
            .arg("czf")
            .arg(&out)
            .arg("-C")
            .arg(self.dir.path())
            .arg(&self.folder)
            .status()
            .unwrap();
        assert!(status.success());
        out
    }
}

/// The manifest's fact of `kind` whose `about` starts with `about`: its
/// number, its name as problems say it, and its audit events.
fn fact(manifest: &Value, kind: &str, about: &str) -> (usize, String, Vec<i64>) {
    let entry = manifest["facts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == kind && f["about"].as_str().unwrap().starts_with(about))
        .unwrap_or_else(|| panic!("no {kind} fact {about:?} in {manifest:#}"));
    let seqs: Vec<i64> = entry["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|link| link["seq"].as_i64().unwrap())
        .collect();
    let n = entry["n"].as_u64().unwrap() as usize;
    let audit = match seqs.as_slice() {
        [one] => format!(", audit seq {one}"),
        _ => panic!("a fact of one event expected: {entry:#}"),
    };
    let name = format!("{n} ({}{audit})", entry["about"].as_str().unwrap());
    (n, name, seqs)
}

#[test]
fn a_pack_verifies_as_exported_and_every_change_to_it_is_named() {
    let (server, _agent) = history();
    let pack = export(&server, "pack.tar.gz", &["api@1.4.0", "--env", "prod"]);
    let intact = verify(&server, &pack).success();
    assert!(
        intact
            .stdout
            .starts_with("evidence pack intact: api@1.4.0 in prod\n"),
        "{intact:#?}"
    );

    // What it holds: every kind of fact, the log, the audit events.
    let unpacked = Unpacked::of(&pack);
    assert_eq!(unpacked.folder, "evidence-pack-api-1.4.0-prod");
    let manifest = unpacked.manifest();
    let kinds: Vec<&str> = manifest["facts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    for kind in [
        "release",
        "commit",
        "change",
        "change-step",
        "evidence",
        "approval",
        "deployment",
        "deployment-step",
        "log",
    ] {
        assert!(kinds.contains(&kind), "no {kind} fact: {kinds:?}");
    }
    assert_eq!(kinds.iter().filter(|k| **k == "commit").count(), 2);
    assert_eq!(kinds[0], "release");
    let log = std::fs::read_to_string(unpacked.path("logs/deployment-1.log")).unwrap();
    assert!(
        log.contains("node-1 out [install] installing 1.4.0 on node-1"),
        "{log}"
    );
    let files: Vec<&str> = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        files,
        [
            "README.txt",
            "facts.jsonl",
            "audit-events.jsonl",
            "logs/deployment-1.log"
        ]
    );
    let head = server.json(&["audit", "verify"]);
    assert!(
        manifest["audit_head"]["seq"].as_i64().unwrap() <= head["events"].as_i64().unwrap(),
        "{manifest:#}"
    );
    let readme = std::fs::read_to_string(unpacked.path("README.txt")).unwrap();
    assert!(readme.contains("ferry evidence-pack verify"), "{readme}");
    // Packed again unchanged, it is still intact.
    verify(&server, &unpacked.pack("same.tar.gz")).success();

    let (approval_n, approval, approval_seqs) = fact(
        &manifest,
        "approval",
        "approval of api@1.4.0 for prod by alice",
    );
    let (_, evidence, _) = fact(
        &manifest,
        "evidence",
        "evidence unit (passed) of api@1.4.0 in prod",
    );

    // (a) One fact edited: alice's comment.
    let edited = Unpacked::of(&pack);
    let mut facts = edited.lines("facts.jsonl");
    let line = approval_n - 1;
    assert!(
        facts[line].contains("\"comment\":\"ship it\""),
        "{}",
        facts[line]
    );
    facts[line] = facts[line].replace("\"comment\":\"ship it\"", "\"comment\":\"ship it now\"");
    edited.write_lines("facts.jsonl", &facts);
    let run = verify(&server, &edited.pack("edited.tar.gz")).code(1);
    assert!(
        run.stdout
            .starts_with("evidence pack BROKEN: api@1.4.0 in prod: 1 problem\n"),
        "{run:#?}"
    );
    assert!(
        run.stdout.contains(&format!(
            "fact {approval} was edited: its digest does not match the manifest (line {approval_n} of facts.jsonl)"
        )),
        "{run:#?}"
    );

    // (b) One fact deleted: the unit tests' evidence.
    let deleted = Unpacked::of(&pack);
    let mut facts = deleted.lines("facts.jsonl");
    let index = facts
        .iter()
        .position(|l| l.contains("\"kind\":\"evidence\""))
        .unwrap();
    facts.remove(index);
    deleted.write_lines("facts.jsonl", &facts);
    let run = verify(&server, &deleted.pack("deleted.tar.gz")).code(1);
    assert!(
        run.stdout.contains(&format!("fact {evidence} is missing")),
        "{run:#?}"
    );
    assert!(run.stdout.contains(": 1 problem\n"), "{run:#?}");

    // (c) Two facts swapped: the evidence and the approval.
    let swapped = Unpacked::of(&pack);
    let mut facts = swapped.lines("facts.jsonl");
    let evidence_line = facts
        .iter()
        .position(|l| l.contains("\"kind\":\"evidence\""))
        .unwrap();
    facts.swap(evidence_line, approval_n - 1);
    swapped.write_lines("facts.jsonl", &facts);
    let run = verify(&server, &swapped.pack("swapped.tar.gz")).code(1);
    let (first, second) = if evidence_line < approval_n - 1 {
        (&evidence, &approval)
    } else {
        (&approval, &evidence)
    };
    assert!(
        run.stdout
            .contains(&format!("facts {first} and {second} are out of order")),
        "{run:#?}"
    );

    // (d) An audit event edited: the approval's, now by mallory.
    let forged = Unpacked::of(&pack);
    let mut events = forged.lines("audit-events.jsonl");
    let seq = approval_seqs[0];
    let index = events
        .iter()
        .position(|l| l.starts_with(&format!("{{\"seq\":{seq},")))
        .unwrap();
    assert!(
        events[index].contains("\"actor\":\"alice\""),
        "{}",
        events[index]
    );
    events[index] = events[index].replace("\"actor\":\"alice\"", "\"actor\":\"mallory\"");
    forged.write_lines("audit-events.jsonl", &events);
    let run = verify(&server, &forged.pack("forged.tar.gz")).code(1);
    assert!(
        run.stdout.contains(&format!(
            "audit event {seq}'s hash does not match its fields: it was edited; it is behind fact {approval}"
        )),
        "{run:#?}"
    );

    // A log edited is named with the fact that names it.
    let log_edited = Unpacked::of(&pack);
    std::fs::write(
        log_edited.path("logs/deployment-1.log"),
        "nothing happened\n",
    )
    .unwrap();
    let run = verify(&server, &log_edited.pack("log.tar.gz")).code(1);
    assert!(
        run.stdout.contains("file logs/deployment-1.log (fact ")
            && run
                .stdout
                .contains("was edited: its digest does not match the manifest"),
        "{run:#?}"
    );

    // As JSON, the same verdicts.
    let json = server
        .ferry(&[
            "evidence-pack",
            "verify",
            forged.dir.path().join("forged.tar.gz").to_str().unwrap(),
            "--output",
            "json",
        ])
        .code(1)
        .json();
    assert_eq!(json["intact"], false);
    assert_eq!(json["problems"].as_array().unwrap().len(), 1, "{json:#}");
    let json = server
        .ferry(&[
            "evidence-pack",
            "verify",
            pack.to_str().unwrap(),
            "--output",
            "json",
        ])
        .success()
        .json();
    assert_eq!(json["intact"], true);
    assert_eq!(json["scope"]["release"], "api@1.4.0");

    // Not a pack at all.
    let junk = server.home.path().join("junk.tar.gz");
    std::fs::write(&junk, "not an archive").unwrap();
    let run = verify(&server, &junk).code(1);
    assert!(
        run.stderr.contains("junk.tar.gz is not an evidence pack"),
        "{run:#?}"
    );
}

#[test]
fn a_period_pack_and_bad_requests() {
    let (server, _agent) = history();
    let day = |days: i64| {
        (chrono::Utc::now() + chrono::Duration::days(days))
            .format("%Y-%m-%d")
            .to_string()
    };
    let (yesterday, tomorrow) = (day(-1), day(1));
    let pack = export(
        &server,
        "period.tar.gz",
        &[
            "--since",
            &yesterday,
            "--until",
            &tomorrow,
            "--service",
            "api",
        ],
    );
    let run = verify(&server, &pack).success();
    assert!(
        run.stdout
            .contains("evidence pack intact: the deployments of api from"),
        "{run:#?}"
    );
    let manifest = Unpacked::of(&pack).manifest();
    assert!(
        manifest["facts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["key"] == "deployment:1"),
        "{manifest:#}"
    );
    // Written where the server says when no --out is given; not overwritten.
    let default = server.ferry(&["evidence-pack", "api@1.4.0"]).success();
    assert!(
        default
            .stdout
            .starts_with("Wrote evidence-pack-api-1.4.0.tar.gz: the evidence pack of api@1.4.0 in every environment"),
        "{default:#?}"
    );
    let again = server.ferry(&["evidence-pack", "api@1.4.0"]).code(1);
    assert!(again.stderr.contains("--force"), "{again:#?}");

    for (args, says) in [
        (&["api@9.9.9"][..], "there is no release api@9.9.9"),
        (
            &["api@1.4.0", "--env", "nowhere"],
            "there is no environment \"nowhere\"",
        ),
        (
            &["--since", "2026-09-30", "--until", "2026-07-01"],
            "is not before until",
        ),
        (
            &["--since", "last tuesday", "--until", "2026-07-01"],
            "since \"last tuesday\" is neither a date",
        ),
        (
            &[
                "--since",
                "2026-07-01",
                "--until",
                "2026-09-30",
                "--service",
                "nope",
            ],
            "there is no service \"nope\"",
        ),
    ] {
        let mut all = vec!["evidence-pack"];
        all.extend_from_slice(args);
        let run = server.ferry(&all).code(1);
        assert!(run.stderr.starts_with("error: "), "{args:?}: {run:#?}");
        assert!(run.stderr.contains(says), "{args:?}: {run:#?}");
        assert!(run.stderr.contains("problem: "), "{args:?}: {run:#?}");
    }
    let malformed = server.ferry(&["evidence-pack", "api-1.4.0"]).code(2);
    assert!(
        malformed.stderr.contains("SERVICE@VERSION"),
        "{malformed:#?}"
    );
}

#[test]
fn the_release_page_downloads_the_pack() {
    let (server, _agent) = history();
    let address = server.url.trim_start_matches("http://").to_owned();
    let session = support::web_session(&address, "alice", PASSWORD);
    let cookie = format!("Cookie: ferry_session={session}");
    let page = support::http_raw(
        &address,
        "GET",
        "/services/api/releases/1.4.0",
        &[&cookie],
        b"",
    )
    .unwrap();
    assert_eq!(page.status, 200);
    let html = String::from_utf8_lossy(&page.body);
    let link = "/services/api/releases/1.4.0/evidence-pack?env=prod";
    assert!(html.contains(&format!("href=\"{link}\"")), "{html}");
    assert!(
        html.contains("Download the evidence pack for prod"),
        "{html}"
    );

    let answer = support::http_raw(&address, "GET", link, &[&cookie], b"").unwrap();
    assert_eq!(
        answer.status,
        200,
        "{:?}",
        String::from_utf8_lossy(&answer.body)
    );
    assert_eq!(answer.header("content-type"), Some("application/gzip"));
    assert_eq!(
        answer.header("content-disposition"),
        Some("attachment; filename=\"evidence-pack-api-1.4.0-prod.tar.gz\"")
    );
    let pack = server.home.path().join("downloaded.tar.gz");
    std::fs::write(&pack, &answer.body).unwrap();
    let run = verify(&server, &pack).success();
    assert!(run.stdout.contains("api@1.4.0 in prod"), "{run:#?}");

    // The API gives the same with a token; without one, nothing.
    let token = format!("Authorization: Bearer {}", server.token);
    let api = support::http_raw(
        &address,
        "GET",
        "/api/v1/evidence-pack?release=api@1.4.0&env=prod",
        &[&token],
        b"",
    )
    .unwrap();
    assert_eq!(api.status, 200);
    let anonymous = support::http_raw(&address, "GET", link, &[], b"").unwrap();
    assert_eq!(anonymous.status, 303, "to the sign-in page");
    let anonymous = support::http_raw(
        &address,
        "GET",
        "/api/v1/evidence-pack?release=api@1.4.0",
        &[],
        b"",
    )
    .unwrap();
    assert_eq!(anonymous.status, 401);
}
