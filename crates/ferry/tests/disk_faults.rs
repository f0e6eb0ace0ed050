//! Disk faults: `ferry serve` with its data directory on a small tmpfs that
//! fills up, and a server killed in the middle of an upload.
//!
//! On a full disk every write is refused with `507` and a sentence that says
//! so (an artifact upload too), `/readyz` answers `503`; once space is freed
//! every write succeeds again at once, without a restart, nothing
//! acknowledged before is lost, and the audit trail verifies.
//!
//! The same story runs on PostgreSQL, with the database kept in a
//! tablespace on a small tmpfs (needs `FERRY_TEST_POSTGRES_URL` naming a
//! local server and a superuser, as the machine's own PostgreSQL is): a
//! full disk there is `53100 disk_full`, refused with the same 507.
//!
//! Mounting a tmpfs needs root (CI runs these tests as root). Elsewhere a
//! failure to mount skips the test with a message; under CI (`CI` set) it
//! fails it.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};
use support::{Schema, Server, http_get, http_request, postgres_execute, postgres_url};

/// A tmpfs mounted for one test, unmounted when dropped (also when the test
/// panics).
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// A tmpfs of `size` (`4m`), or `None` (with a message) where this
    /// process may not mount one and `CI` is not set.
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output();
        let why = match mounted {
            Ok(output) if output.status.success() => return Some(Tmpfs { dir }),
            Ok(output) => String::from_utf8_lossy(&output.stderr).trim().to_owned(),
            Err(error) => error.to_string(),
        };
        assert!(
            std::env::var_os("CI").is_none(),
            "cannot mount a tmpfs, and CI must run the disk fault tests (as root): {why}"
        );
        eprintln!("skipping: cannot mount a tmpfs (it needs root): {why}");
        None
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let unmounted = Command::new("umount")
            .arg(self.dir.path())
            .status()
            .is_ok_and(|status| status.success());
        if !unmounted {
            // Still busy (a process the test started is dying): detach it.
            let _ = Command::new("umount")
                .arg("-l")
                .arg(self.dir.path())
                .status();
        }
    }
}

/// Writes to `path` until the file system refuses more.
fn fill(path: &Path) {
    let mut file = std::fs::File::create(path).unwrap();
    let chunk = vec![0x5a_u8; 64 << 10];
    loop {
        if let Err(error) = file.write_all(&chunk) {
            assert_eq!(
                error.raw_os_error(),
                Some(28),
                "the filler stops at ENOSPC: {error}"
            );
            break;
        }
    }
    // Whatever is left is less than a page: take it too.
    let _ = file.write_all(&[0x5a; 512]);
}

const CONFIG: &str = r#"
[[environment]]
name = "dev"
tier = "development"

[lifecycle.default]
phases = [["dev"]]

[[service]]
name = "api"
"#;

/// The sentence of a 507.
const DISK_FULL: &str = "the server's disk is full";

/// The outcome of one write through the CLI: acknowledged, or refused with
/// 507 and the sentence. Anything else fails the test.
#[track_caller]
fn acknowledged(server: &Server, token: &str, args: &[&str]) -> bool {
    let run = server.ferry_as(Some(token), args);
    if run.code == 0 {
        return true;
    }
    assert!(
        run.stderr.contains(DISK_FULL)
            && run
                .stderr
                .contains("problem: insufficient-storage (HTTP 507)"),
        "a write on a full disk is refused with 507 and says so: {run:#?}"
    );
    false
}

fn address(server: &Server) -> String {
    server.url.trim_start_matches("http://").to_owned()
}

/// The users who decided on `release` for dev.
fn deciders(server: &Server, version: &str) -> Vec<Value> {
    let (status, body) = http_request(
        &address(server),
        "GET",
        &format!("/api/v1/services/api/releases/{version}/decisions?environment=dev"),
        &server.token,
        "",
    )
    .expect("the server answers");
    assert_eq!(status, 200, "{body}");
    let page: Value = serde_json::from_str(&body).unwrap();
    page["items"].as_array().cloned().unwrap_or_default()
}

#[test]
fn a_full_disk_refuses_writes_with_507_and_every_write_succeeds_once_space_is_freed() {
    let Some(tmpfs) = Tmpfs::mount("6m") else {
        return;
    };
    let data = tmpfs.path().join("data");
    let mut server = Server::builder().data_dir(&data).start();
    server.apply(CONFIG);
    let bob = server.user_with_roles("bob", &["approver"]);

    // Before the fault: releases, each approved for dev (by someone else
    // than who created it).
    let mut releases: Vec<String> = Vec::new();
    let mut approved: Vec<String> = Vec::new();
    for n in 0..5 {
        let version = format!("1.0.{n}");
        server
            .ferry(&["release", "create", "api", "--version", &version])
            .success();
        server
            .ferry_as(
                Some(&bob),
                &["approve", &format!("api@{version}"), "--env", "dev"],
            )
            .success();
        releases.push(version.clone());
        approved.push(version);
    }

    // An artifact larger than the disk: refused with 507, nothing left.
    let big = server.home.path().join("big.bin");
    std::fs::write(&big, vec![7_u8; 6 << 20]).unwrap();
    let refused = server
        .ferry(&[
            "release",
            "create",
            "api",
            "--version",
            "2.0.0",
            "--artifact",
            &format!("bin={}", big.display()),
        ])
        .code(1);
    assert!(
        refused.stderr.contains(DISK_FULL)
            && refused
                .stderr
                .contains("problem: insufficient-storage (HTTP 507)"),
        "an upload that does not fit is refused with 507 and says so: {refused:#?}"
    );
    let temporary = data.join("artifacts").join("tmp");
    let left: Vec<_> = std::fs::read_dir(&temporary)
        .map(|entries| entries.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "a refused upload leaves nothing: {left:?}");

    // The disk fills up.
    let filler = tmpfs.path().join("filler");
    fill(&filler);
    writes_until_refused(&server, &bob, "3.0", &mut releases, &mut approved);
    // A small write (an approval of a release made before) is refused too,
    // or, if it still fits, acknowledged and kept.
    if acknowledged(
        &server,
        &bob,
        &["approve", "api@1.0.1", "--env", "dev", "--comment", "again"],
    ) {
        approved.push("1.0.1".to_owned());
    }
    let small = server.home.path().join("small.bin");
    std::fs::write(&small, vec![9_u8; 256 << 10]).unwrap();
    // What the refused writes left (a removed partial upload, a rolled-back
    // journal, a checkpointed write-ahead log) comes free again, sometimes
    // after a moment: take it, so the disk is full for this upload. An
    // upload that still found room is acknowledged and kept like any other.
    let mut top_ups = Vec::new();
    let mut refused_upload = None;
    for attempt in 1..=5 {
        let top_up = tmpfs.path().join(format!("top-up-{attempt}"));
        fill(&top_up);
        top_ups.push(top_up);
        let version = format!("2.0.{attempt}");
        let upload = server.ferry(&[
            "release",
            "create",
            "api",
            "--version",
            &version,
            "--artifact",
            &format!("bin={}", small.display()),
        ]);
        if upload.code == 0 {
            releases.push(version);
            continue;
        }
        assert!(
            upload.code == 1 && upload.stderr.contains(DISK_FULL),
            "an upload on a full disk is refused with 507: {upload:#?}"
        );
        refused_upload = Some(version);
        break;
    }
    let refused_upload = refused_upload.expect("an upload on a full disk is refused");
    let (status, body) = http_get(&address(&server), "/readyz").expect("the server answers");
    assert_eq!(status, 503, "not ready while the disk is full: {body}");
    assert!(body.contains("disk"), "{body}");
    assert!(body.contains("full"), "{body}");
    // The orchestrator stays calm meanwhile.
    std::thread::sleep(Duration::from_secs(2));

    // Space is freed: ready again, and every write succeeds at once.
    std::fs::remove_file(&filler).unwrap();
    for top_up in &top_ups {
        std::fs::remove_file(top_up).unwrap();
    }
    let (status, body) = http_get(&address(&server), "/readyz").expect("the server answers");
    assert_eq!(status, 200, "ready once space is freed: {body}");
    writes_succeed(&server, &bob, "4.0", &mut releases, &mut approved);
    // The upload refused before goes through now.
    server
        .ferry(&[
            "release",
            "create",
            "api",
            "--version",
            &refused_upload,
            "--artifact",
            &format!("bin={}", small.display()),
        ])
        .success();
    releases.push(refused_upload.clone());

    // Nothing acknowledged is lost, across a restart too.
    server.stop();
    server.restart();
    all_kept(&server, &releases, &approved);
    let downloaded = server.home.path().join("downloaded.bin");
    server
        .ferry(&[
            "release",
            "download",
            &format!("api@{refused_upload}"),
            "bin",
            "-o",
            &downloaded.display().to_string(),
        ])
        .success();
    assert_eq!(std::fs::read(&downloaded).unwrap(), vec![9_u8; 256 << 10]);
    audit_verifies_and_the_log_is_calm(&server);
    server.stop();
}

/// Releases of `api` made (each with big notes) and approved by `bob` one
/// after the other until three writes are refused: each write is
/// acknowledged or refused with 507, and what was acknowledged is noted.
fn writes_until_refused(
    server: &Server,
    bob: &str,
    prefix: &str,
    releases: &mut Vec<String>,
    approved: &mut Vec<String>,
) {
    let notes = server.home.path().join("notes.md");
    std::fs::write(&notes, "big release notes\n".repeat(14_000)).unwrap();
    let notes = notes.display().to_string();
    let mut refusals = 0;
    for n in 0..20 {
        let version = format!("{prefix}.{n}");
        let created = acknowledged(
            server,
            &server.token,
            &[
                "release",
                "create",
                "api",
                "--version",
                &version,
                "--notes-file",
                &notes,
            ],
        );
        if created {
            releases.push(version.clone());
            if acknowledged(
                server,
                bob,
                &["approve", &format!("api@{version}"), "--env", "dev"],
            ) {
                approved.push(version);
            } else {
                refusals += 1;
            }
        } else {
            refusals += 1;
        }
        if refusals >= 3 {
            break;
        }
    }
    assert!(
        refusals >= 3,
        "writes on a full disk are refused\n{}",
        server.log()
    );
}

/// Twenty-five releases made and approved, every one of them at once.
fn writes_succeed(
    server: &Server,
    bob: &str,
    prefix: &str,
    releases: &mut Vec<String>,
    approved: &mut Vec<String>,
) {
    for n in 0..25 {
        let version = format!("{prefix}.{n}");
        server
            .ferry(&["release", "create", "api", "--version", &version])
            .success();
        server
            .ferry_as(
                Some(bob),
                &["approve", &format!("api@{version}"), "--env", "dev"],
            )
            .success();
        releases.push(version.clone());
        approved.push(version);
    }
}

/// Every release and approval acknowledged is there.
fn all_kept(server: &Server, releases: &[String], approved: &[String]) {
    let listed = server.json(&["release", "list", "api"]);
    let versions: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|release| release["version"].as_str())
        .collect();
    for version in releases {
        assert!(
            versions.contains(&version.as_str()),
            "release {version} was acknowledged and is kept: {versions:?}"
        );
    }
    for version in approved {
        let decisions = deciders(server, version);
        assert!(
            decisions
                .iter()
                .any(|d| d["user"] == "bob" && d["approve"] == json!(true)),
            "the approval of {version} was acknowledged and is kept: {decisions:?}"
        );
    }
}

/// The audit trail verifies, no connection was given out inside a
/// transaction, and the orchestrator backed off while writes failed.
fn audit_verifies_and_the_log_is_calm(server: &Server) {
    let verified = server.ferry(&["audit", "verify"]);
    assert_eq!(verified.code, 0, "the audit trail verifies: {verified:#?}");
    let log = server.log();
    assert!(
        !log.contains("non-zero transaction depth"),
        "no connection is given out inside a transaction:\n{log}"
    );
    let failed_passes = log.matches("orchestrator pass failed").count();
    assert!(
        failed_passes <= 8,
        "failing orchestrator passes back off ({failed_passes} warnings):\n{log}"
    );
}

/// A PostgreSQL database of its own for one test, kept in a tablespace on
/// `tmpfs` (its write-ahead log stays on the server's own disk, as on a
/// server whose data disk fills up): dropped, with its tablespace, when
/// the test ends.
struct TablespaceDatabase {
    base: String,
    name: String,
    url: String,
}

impl TablespaceDatabase {
    /// `None` (with a message) where `FERRY_TEST_POSTGRES_URL` is not set
    /// and `CI` is not set.
    fn on(tmpfs: &Tmpfs) -> Option<TablespaceDatabase> {
        let base = postgres_url("the disk fault test")?;
        // The tablespace's directory belongs to the server's own user.
        let location = tmpfs.path().join("tablespace");
        std::fs::create_dir(&location).unwrap();
        let owned = Command::new("chown")
            .arg("postgres:postgres")
            .arg(&location)
            .status()
            .is_ok_and(|status| status.success());
        assert!(owned, "the tablespace directory is given to `postgres`");
        let name = format!("ferry_full_{}", std::process::id());
        let (without_query, query) = base.split_once('?').unwrap_or((&base, ""));
        let (server, _) = without_query.rsplit_once('/').unwrap();
        let url = if query.is_empty() {
            format!("{server}/{name}")
        } else {
            format!("{server}/{name}?{query}")
        };
        postgres_execute(
            &base,
            &format!("CREATE TABLESPACE {name} LOCATION '{}'", location.display()),
        );
        postgres_execute(&base, &format!("CREATE DATABASE {name} TABLESPACE {name}"));
        Some(TablespaceDatabase { base, name, url })
    }
}

impl Drop for TablespaceDatabase {
    fn drop(&mut self) {
        let name = &self.name;
        postgres_execute(&self.base, &format!("DROP DATABASE {name} WITH (FORCE)"));
        postgres_execute(&self.base, &format!("DROP TABLESPACE {name}"));
    }
}

#[test]
fn a_full_postgresql_disk_refuses_writes_with_507_and_every_write_succeeds_once_space_is_freed() {
    let Some(tmpfs) = Tmpfs::mount("32m") else {
        return;
    };
    let Some(database) = TablespaceDatabase::on(&tmpfs) else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let mut server = Server::builder()
        .data_dir(data.path())
        .database(Some(&database.url))
        .start();
    server.apply(CONFIG);
    let bob = server.user_with_roles("bob", &["approver"]);
    let mut releases: Vec<String> = Vec::new();
    let mut approved: Vec<String> = Vec::new();
    writes_succeed(&server, &bob, "1.0", &mut releases, &mut approved);

    // The disk of the database fills up: writes are refused with 507, and
    // the server is not ready.
    let filler = tmpfs.path().join("filler");
    fill(&filler);
    writes_until_refused(&server, &bob, "3.0", &mut releases, &mut approved);
    let (status, body) = http_get(&address(&server), "/readyz").expect("the server answers");
    assert_eq!(status, 503, "not ready while the disk is full: {body}");
    assert!(body.contains("disk") && body.contains("full"), "{body}");
    std::thread::sleep(Duration::from_secs(2));

    // Space is freed: ready again, and every write succeeds at once.
    std::fs::remove_file(&filler).unwrap();
    let (status, body) = http_get(&address(&server), "/readyz").expect("the server answers");
    assert_eq!(status, 200, "ready once space is freed: {body}");
    writes_succeed(&server, &bob, "4.0", &mut releases, &mut approved);

    // Nothing acknowledged is lost, across a restart too.
    server.stop();
    server.restart();
    all_kept(&server, &releases, &approved);
    audit_verifies_and_the_log_is_calm(&server);
    server.stop();
}

/// Sends the start of an upload of `size` bytes and leaves it open.
fn start_upload(server: &Server, size: usize, sent: usize) -> TcpStream {
    let digest = format!("sha256:{}", "ab".repeat(32));
    let address = address(server);
    let mut stream = TcpStream::connect(&address).unwrap();
    write!(
        stream,
        "PUT /api/v1/blobs/{digest} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/octet-stream\r\nContent-Length: {size}\r\n\r\n",
        server.token
    )
    .unwrap();
    stream.write_all(&vec![1_u8; sent]).unwrap();
    stream.flush().unwrap();
    stream
}

/// The files in `dir` (none when it is missing).
fn files_in(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| entries.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}

/// Uploads `bytes` with the CLI's digest; answers `sha256:<hex>`.
fn upload(server: &Server, bytes: &[u8]) -> String {
    use sha2::Digest as _;
    let digest = format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)));
    let address = address(server);
    let mut stream = TcpStream::connect(&address).unwrap();
    write!(
        stream,
        "PUT /api/v1/blobs/{digest} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        server.token,
        bytes.len()
    )
    .unwrap();
    stream.write_all(bytes).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");
    digest
}

fn blob_path(data: &Path, digest: &str) -> PathBuf {
    let hex = digest.trim_start_matches("sha256:");
    data.join("artifacts")
        .join("sha256")
        .join(&hex[..2])
        .join(hex)
}

/// Makes a blob look as if it was last touched two hours ago.
fn age(path: &Path) {
    let file = std::fs::File::options().write(true).open(path).unwrap();
    file.set_modified(SystemTime::now() - Duration::from_secs(2 * 60 * 60))
        .unwrap();
}

#[test]
fn leftovers_of_a_killed_upload_and_of_refused_releases_are_removed_on_sqlite() {
    leftovers_are_removed(None);
}

#[test]
fn leftovers_of_a_killed_upload_and_of_refused_releases_are_removed_on_postgres() {
    let Some(base) = postgres_url("the leftovers test") else {
        return;
    };
    let schema = Schema::create(&base);
    leftovers_are_removed(Some(&schema.url));
}

/// The story of the leftovers, on SQLite (`None`) or the database at
/// `database`.
fn leftovers_are_removed(database: Option<&str>) {
    let data = tempfile::tempdir().unwrap();
    let mut server = Server::builder()
        .data_dir(data.path())
        .database(database)
        .start();
    server.apply(CONFIG);

    // Bytes a release names, bytes none names, both old; bytes none names
    // that were just uploaded.
    let named = upload(&server, b"named bytes");
    let orphan = upload(&server, b"orphan bytes");
    let fresh = upload(&server, b"fresh bytes");
    let created = http_request(
        &address(&server),
        "POST",
        "/api/v1/services/api/releases",
        &server.token,
        &json!({ "version": "1.0.0", "artifacts": [{ "name": "bin", "digest": named }] })
            .to_string(),
    )
    .unwrap();
    assert_eq!(created.0, 201, "{}", created.1);
    age(&blob_path(data.path(), &named));
    age(&blob_path(data.path(), &orphan));

    // Killed in the middle of an upload: its temporary file stays.
    let temporary = data.path().join("artifacts").join("tmp");
    let _upload = start_upload(&server, 64 << 20, 1 << 20);
    let deadline = Instant::now() + Duration::from_secs(30);
    while files_in(&temporary).is_empty() {
        assert!(
            Instant::now() < deadline,
            "the upload never reached the disk"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    server.kill();
    let left = files_in(&temporary);
    assert_eq!(left.len(), 1, "the killed upload left its file: {left:?}");

    // The next start removes it, and the old bytes no release names.
    server.restart();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !files_in(&temporary).is_empty() || blob_path(data.path(), &orphan).exists() {
        assert!(
            Instant::now() < deadline,
            "the start removes leftovers: temporary {:?}, orphan kept: {}\n{}",
            files_in(&temporary),
            blob_path(data.path(), &orphan).exists(),
            server.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        blob_path(data.path(), &named).exists(),
        "bytes a release names are kept however old"
    );
    assert!(
        blob_path(data.path(), &fresh).exists(),
        "bytes uploaded within the grace period are kept (a release may be about to name them)"
    );
    server
        .ferry(&[
            "release",
            "download",
            "api@1.0.0",
            "bin",
            "-o",
            &server.home.path().join("bin").display().to_string(),
        ])
        .success();

    // A refused release (its version exists) leaves its bytes; once they
    // are past the grace period they are removed after the next refusal.
    age(&blob_path(data.path(), &fresh));
    let refused = http_request(
        &address(&server),
        "POST",
        "/api/v1/services/api/releases",
        &server.token,
        &json!({ "version": "1.0.0", "artifacts": [{ "name": "bin", "digest": fresh }] })
            .to_string(),
    )
    .unwrap();
    assert_eq!(refused.0, 409, "{}", refused.1);
    let deadline = Instant::now() + Duration::from_secs(30);
    while blob_path(data.path(), &fresh).exists() {
        assert!(
            Instant::now() < deadline,
            "the bytes of the refused release are removed\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(blob_path(data.path(), &named).exists());
    server.stop();
}
