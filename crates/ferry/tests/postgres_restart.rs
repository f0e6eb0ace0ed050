//! PostgreSQL restarted under load: `ferry serve` on a PostgreSQL cluster of
//! the test's own, which crashes (`pg_ctl stop -m immediate`) while groups
//! are created one after the other, and starts again a moment later.
//!
//! While the database is down, `/readyz` answers `503` within seconds; a
//! write cut by the crash is refused with the problem `unavailable` (`503`,
//! `application/problem+json`, never a bare `500`), and a write sent while it
//! is down waits for it (up to the pool's acquire timeout, well within the
//! request timeout) or is refused the same way. Once it is back, writes
//! succeed again within a bounded time without restarting the server, every
//! write the server acknowledged is there, and the audit trail verifies.
//!
//! The cluster is private (a fresh `initdb` on a free port of 127.0.0.1,
//! stopped when the test ends, also on failure): the machine's own
//! PostgreSQL, which other tests share, is never touched. It needs the
//! PostgreSQL server binaries (`/usr/lib/postgresql/<version>/bin`).

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Server, free_port, wait_until};

/// The media type of problem details.
const PROBLEM_JSON: &str = "application/problem+json";

/// The problem a request gets while the database does not answer.
const UNAVAILABLE: &str = "urn:ferry:problem:unavailable";

/// How long the server's JSON API may take to answer anything (its request
/// timeout answers `408` after this).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// How long `/readyz` may take to say the database is gone.
const READY_ANSWER: Duration = Duration::from_secs(10);

/// How long after PostgreSQL is back writes must succeed again.
const RECONNECT_WITHIN: Duration = Duration::from_secs(30);

/// How many writes are acknowledged before the crash, and again after it.
const WRITES_BEFORE: usize = 5;
const WRITES_AFTER: usize = 5;

/// The highest PostgreSQL version installed the Debian way
/// (`/usr/lib/postgresql/<version>/bin` with `initdb` and `pg_ctl`).
fn postgres_bin_dir() -> Option<PathBuf> {
    let versions = std::fs::read_dir("/usr/lib/postgresql").ok()?;
    versions
        .flatten()
        .filter_map(|entry| {
            let version: Vec<u32> = entry
                .file_name()
                .to_str()?
                .split('.')
                .map(str::parse)
                .collect::<Result<_, _>>()
                .ok()?;
            let bin = entry.path().join("bin");
            let complete = ["initdb", "pg_ctl", "postgres"]
                .iter()
                .all(|tool| bin.join(tool).is_file());
            complete.then_some((version, bin))
        })
        .max()
        .map(|(_, bin)| bin)
}

/// Whether this process runs as root (initdb and pg_ctl refuse to).
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .find_map(|line| line.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().nth(1))
            == Some("0")
    })
}

/// A PostgreSQL cluster of one test: its own data directory, a free port on
/// 127.0.0.1 and its socket in its own directory, trust authentication.
/// Stopped (`-m immediate`) when dropped, also when the test panics.
struct Postgres {
    bin: PathBuf,
    /// The cluster's directory (its data, socket and log), owned by the
    /// `postgres` user when the test runs as root.
    dir: tempfile::TempDir,
    port: u16,
    /// Whether commands run as the `postgres` user (the test is root).
    as_postgres: bool,
    running: bool,
}

/// The cluster's superuser, and the database ferry uses.
const SUPERUSER: &str = "ferry";
const DATABASE: &str = "ferry";

impl Postgres {
    /// A new cluster, started, with an empty database [`DATABASE`]; `None`
    /// (after a notice) when the PostgreSQL server binaries are missing and
    /// `CI` is not set.
    fn start_new() -> Option<Postgres> {
        let Some(bin) = postgres_bin_dir() else {
            // The rule: CI (`CI` set) must run this test, so there the
            // missing binaries fail it; elsewhere the test says why and
            // passes without running.
            assert!(
                std::env::var_os("CI").is_none(),
                "the PostgreSQL server binaries (initdb, pg_ctl, postgres under \
                 /usr/lib/postgresql/<version>/bin) are missing, and CI must run the \
                 PostgreSQL restart test: install the `postgresql` package"
            );
            eprintln!(
                "skipping: no PostgreSQL server binaries under /usr/lib/postgresql/*/bin \
                 (install the `postgresql` package to run this test)"
            );
            return None;
        };
        let as_postgres = is_root();
        // The `postgres` user must reach the cluster's directory: under
        // /tmp, whatever TMPDIR says.
        let dir = if as_postgres {
            tempfile::Builder::new()
                .prefix("ferry-postgres-")
                .tempdir_in("/tmp")
        } else {
            tempfile::tempdir()
        }
        .unwrap();
        if as_postgres {
            let chown = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .output()
                .expect("chown runs");
            assert!(
                chown.status.success(),
                "the cluster's directory cannot be given to the `postgres` user: {}",
                String::from_utf8_lossy(&chown.stderr)
            );
        }
        let mut postgres = Postgres {
            bin,
            dir,
            port: 0,
            as_postgres,
            running: false,
        };
        let data = postgres.data();
        let initdb = postgres.run(
            "initdb",
            &[
                "-D",
                path_str(&data),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ],
        );
        assert!(initdb.status.success(), "initdb failed: {}", show(&initdb));
        // A port found free may be taken by someone else before the cluster
        // binds it: then another one.
        for attempt in 1..=3 {
            postgres.port = free_port();
            // `fsync = off`: only PostgreSQL's processes crash, not the
            // machine, so what a commit wrote is in the kernel's cache and
            // crash recovery replays it (a commit still waits for its WAL to
            // be written: `synchronous_commit` stays on). With fsync, recovery
            // first syncs every file of the cluster: seconds on a busy disk.
            let mut conf = std::fs::OpenOptions::new()
                .append(true)
                .open(data.join("postgresql.conf"))
                .unwrap();
            writeln!(
                conf,
                "\n# ferry's PostgreSQL restart test\n\
                 listen_addresses = '127.0.0.1'\n\
                 port = {}\n\
                 unix_socket_directories = '{}'\n\
                 max_connections = 50\n\
                 shared_buffers = 16MB\n\
                 fsync = off\n",
                postgres.port,
                postgres.dir.path().display()
            )
            .unwrap();
            match postgres.try_start() {
                Ok(()) => break,
                Err(why) if attempt < 3 && why.contains("already in use") => continue,
                Err(why) => panic!("the private PostgreSQL does not start: {why}"),
            }
        }
        execute(
            &postgres.url("postgres"),
            &format!("CREATE DATABASE {DATABASE}"),
        );
        Some(postgres)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn log_file(&self) -> PathBuf {
        self.dir.path().join("postgres.log")
    }

    /// The URL of database `database` as the superuser.
    fn url(&self, database: &str) -> String {
        format!("postgres://{SUPERUSER}@127.0.0.1:{}/{database}", self.port)
    }

    /// `<bin>/<tool> ARGS`, as the `postgres` user when the test is root.
    fn run(&self, tool: &str, args: &[&str]) -> Output {
        let program = self.bin.join(tool);
        let mut command = if self.as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        };
        command
            .args(args)
            // The test's own directory may be closed to the `postgres` user.
            .current_dir(self.dir.path())
            .output()
            .unwrap_or_else(|error| panic!("{tool} cannot be run: {error}"))
    }

    /// `pg_ctl start`, waiting until the cluster takes connections.
    fn try_start(&mut self) -> Result<(), String> {
        let data = self.data();
        let log = self.log_file();
        let started = self.run(
            "pg_ctl",
            &[
                "-D",
                path_str(&data),
                "-l",
                path_str(&log),
                "-w",
                "-t",
                "60",
                "start",
            ],
        );
        if started.status.success() {
            self.running = true;
            Ok(())
        } else {
            Err(format!(
                "{}\nPostgreSQL's log:\n{}",
                show(&started),
                std::fs::read_to_string(&log).unwrap_or_default()
            ))
        }
    }

    /// Starts the cluster again after [`Postgres::crash`].
    #[track_caller]
    fn start(&mut self) {
        if let Err(why) = self.try_start() {
            panic!("the private PostgreSQL does not start again: {why}");
        }
    }

    /// `pg_ctl stop -m immediate`: every server process quits at once,
    /// without a checkpoint, as after a crash (the next start recovers).
    #[track_caller]
    fn crash(&mut self) {
        let stopped = self.stop("immediate");
        assert!(
            stopped.status.success(),
            "pg_ctl stop failed: {}",
            show(&stopped)
        );
    }

    fn stop(&mut self, mode: &str) -> Output {
        let data = self.data();
        let stopped = self.run("pg_ctl", &["-D", path_str(&data), "-m", mode, "-w", "stop"]);
        if stopped.status.success() {
            self.running = false;
        }
        stopped
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.log_file()).unwrap_or_default()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if self.running {
            let stopped = self.stop("immediate");
            if !stopped.status.success() {
                eprintln!("the private PostgreSQL did not stop: {}", show(&stopped));
            }
        }
        if std::thread::panicking() {
            eprintln!("--- PostgreSQL's log ---\n{}", self.log());
        }
    }
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 temporary path")
}

fn show(output: &Output) -> String {
    format!(
        "{}\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Runs one statement on the database at `url`.
fn execute(url: &str, statement: &str) {
    use sqlx::Connection;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut connection = sqlx::PgConnection::connect(url)
            .await
            .unwrap_or_else(|error| panic!("{url}: {error}"));
        sqlx::query(sqlx::AssertSqlSafe(statement.to_owned()))
            .execute(&mut connection)
            .await
            .unwrap_or_else(|error| panic!("{statement}: {error}"));
        connection.close().await.unwrap();
    });
}

/// One answer of the server.
#[derive(Debug, Clone)]
struct Answer {
    status: u16,
    content_type: String,
    body: String,
    /// How long it took to come.
    took: Duration,
}

impl Answer {
    fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|error| panic!("not JSON ({error}): {self:#?}"))
    }

    /// Whether this is the problem of a database that does not answer.
    fn unavailable(&self) -> bool {
        self.status == 503
            && self.content_type == PROBLEM_JSON
            && serde_json::from_str::<Value>(&self.body)
                .is_ok_and(|problem| problem["type"] == UNAVAILABLE && problem["status"] == 503)
    }
}

/// `METHOD path` on `address` by hand, with the admin's `token`, a JSON
/// `body` (none when empty) and an `Idempotency-Key` when given. Fails the
/// test when nothing answers within longer than the server's request timeout.
#[track_caller]
fn request(
    address: &str,
    method: &str,
    path: &str,
    token: &str,
    body: &str,
    key: Option<&str>,
) -> Answer {
    let started = Instant::now();
    let mut stream = TcpStream::connect(address)
        .unwrap_or_else(|error| panic!("{method} {path}: the server does not listen: {error}"));
    stream
        .set_read_timeout(Some(REQUEST_TIMEOUT + Duration::from_secs(5)))
        .unwrap();
    let key = key.map_or_else(String::new, |key| format!("Idempotency-Key: {key}\r\n"));
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n\
         {key}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = Vec::new();
    if let Err(error) = stream.read_to_end(&mut response) {
        panic!(
            "{method} {path}: no answer after {:?}: {error}",
            started.elapsed()
        );
    }
    let took = started.elapsed();
    let response = String::from_utf8_lossy(&response);
    let (head, body) = response
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("{method} {path}: not an HTTP answer: {response:?}"));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|status| status.parse().ok())
        .unwrap_or_else(|| panic!("{method} {path}: no status: {head:?}"));
    let content_type = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-type")
                .then(|| value.trim().to_owned())
        })
        .unwrap_or_default();
    Answer {
        status,
        content_type,
        body: body.to_owned(),
        took,
    }
}

/// One group the writer asked for, and what the server answered.
#[derive(Debug, Clone)]
struct Attempt {
    name: String,
    /// When it was sent, from the start of the writer.
    sent: Duration,
    /// When its answer came, from the start of the writer.
    answered: Duration,
    answer: Answer,
}

/// Creates groups one after the other until told to stop, counting each
/// as it is sent and keeping every attempt once answered; every other one carries an `Idempotency-Key`, as the CLI sends.
fn writer(
    address: String,
    token: String,
    attempts: Arc<Mutex<Vec<Attempt>>>,
    sent_count: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    epoch: Instant,
) {
    let mut n = 0u32;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let name = format!("restart-{n}");
        let key = format!("\"restart-{}-{n}\"", std::process::id());
        let sent = epoch.elapsed();
        sent_count.fetch_add(1, Ordering::Relaxed);
        let answer = request(
            &address,
            "POST",
            "/api/v1/groups",
            &token,
            &json!({ "name": name }).to_string(),
            n.is_multiple_of(2).then_some(key.as_str()),
        );
        let answered = epoch.elapsed();
        attempts.lock().unwrap().push(Attempt {
            name,
            sent,
            answered,
            answer,
        });
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// How many attempts sent after `after` were acknowledged.
fn acknowledged_since(attempts: &Mutex<Vec<Attempt>>, after: Duration) -> usize {
    attempts
        .lock()
        .unwrap()
        .iter()
        .filter(|attempt| attempt.sent >= after && attempt.answer.ok())
        .count()
}

/// When the first acknowledgement that came after `after` came.
fn first_acknowledged_after(attempts: &Mutex<Vec<Attempt>>, after: Duration) -> Option<Duration> {
    attempts
        .lock()
        .unwrap()
        .iter()
        .filter(|attempt| attempt.answered >= after && attempt.answer.ok())
        .map(|attempt| attempt.answered)
        .min()
}

#[test]
fn the_server_reconnects_after_postgres_restarts_and_loses_no_acknowledged_write() {
    let began = Instant::now();
    let Some(mut postgres) = Postgres::start_new() else {
        return;
    };
    let server = Server::builder()
        .database(Some(&postgres.url(DATABASE)))
        .start();
    eprintln!(
        "the private PostgreSQL and ferry serve on it were ready after {:?}",
        began.elapsed()
    );
    let address = server.url.trim_start_matches("http://").to_owned();
    let token = server.token.clone();

    let epoch = Instant::now();
    let attempts = Arc::new(Mutex::new(Vec::<Attempt>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicUsize::new(0));
    let writing = std::thread::spawn({
        let (address, token) = (address.clone(), token.clone());
        let (attempts, stop, sent) = (Arc::clone(&attempts), Arc::clone(&stop), Arc::clone(&sent));
        move || writer(address, token, attempts, sent, stop, epoch)
    });

    // The writer panics only when the server stops answering: its panic
    // says why, and waiting longer is pointless.
    let writer_alive = || {
        assert!(
            !writing.is_finished(),
            "the writer stopped (see its message above)"
        );
    };

    // Some writes go through, then PostgreSQL crashes while they keep coming.
    wait_until(Duration::from_secs(20), "the first writes", || {
        writer_alive();
        acknowledged_since(&attempts, Duration::ZERO) >= WRITES_BEFORE
    });
    let crashing = epoch.elapsed();
    postgres.crash();
    let crashed = epoch.elapsed();

    // While it is down, the server is not ready, and says so within seconds.
    let ready = request(&address, "GET", "/readyz", &token, "", None);
    assert!(
        ready.unavailable(),
        "/readyz answers 503 `unavailable` while PostgreSQL is down: {ready:#?}"
    );
    assert!(
        ready.took < READY_ANSWER,
        "/readyz took {:?} to say PostgreSQL is down",
        ready.took
    );
    eprintln!(
        "while PostgreSQL was down, /readyz answered {} in {:?}: {}",
        ready.status, ready.took, ready.body
    );
    // A write is on its way while PostgreSQL is down: the one in flight at
    // the crash, held until it is back, or the next one once that one was
    // refused (the writer sends one after the other).
    wait_until(
        Duration::from_secs(10),
        "a write sent while PostgreSQL is down",
        || {
            writer_alive();
            sent.load(Ordering::Relaxed) > attempts.lock().unwrap().len()
        },
    );

    // PostgreSQL comes back; the server finds it again on its own.
    let starting = epoch.elapsed();
    postgres.start();
    let restarted = epoch.elapsed();
    let ready_again = wait_until(RECONNECT_WITHIN, "/readyz answers 200 again", || {
        request(&address, "GET", "/readyz", &token, "", None).status == 200
    });
    wait_until(RECONNECT_WITHIN, "writes succeed again", || {
        writer_alive();
        acknowledged_since(&attempts, restarted) >= WRITES_AFTER
    });
    let first_write = first_acknowledged_after(&attempts, restarted).unwrap() - restarted;
    eprintln!(
        "PostgreSQL was down for {:?} (its restart took {:?}); once it took connections \
         again, the first write was acknowledged after {first_write:?} and /readyz was ready \
         after {ready_again:?}",
        restarted - crashed,
        restarted - starting
    );
    assert!(
        first_write < RECONNECT_WITHIN,
        "the first write after the restart took {first_write:?}"
    );
    stop.store(true, Ordering::Relaxed);
    writing.join().expect("the writer does not panic");
    let attempts = attempts.lock().unwrap().clone();

    // Every answer is an acknowledgement or a problem, in time.
    for attempt in &attempts {
        let answer = &attempt.answer;
        assert!(
            answer.took < REQUEST_TIMEOUT,
            "{} was answered only after {:?}: {answer:#?}",
            attempt.name,
            answer.took
        );
        assert!(
            answer.status == 201 || answer.unavailable(),
            "{} was answered neither 201 nor 503 `unavailable` (PostgreSQL crashed at \
             {crashing:?}, was back at {restarted:?}): {attempt:#?}",
            attempt.name
        );
        assert!(
            answer.ok() || attempt.answered > crashing,
            "{} was refused before PostgreSQL crashed (at {crashing:?}): {attempt:#?}",
            attempt.name
        );
    }
    let refused: Vec<&Attempt> = attempts.iter().filter(|a| !a.answer.ok()).collect();
    let held = attempts
        .iter()
        .filter(|a| a.answer.ok() && a.sent < restarted && a.answered > restarted)
        .count();
    eprintln!(
        "{} writes: {} acknowledged, {} refused with 503 (answered {:?} after the crash \
         began: {:?}), {held} held across the outage and acknowledged once it was back; \
         the slowest answer took {:?}",
        attempts.len(),
        attempts.len() - refused.len(),
        refused.len(),
        refused
            .iter()
            .map(|a| a.answered.saturating_sub(crashing))
            .collect::<Vec<_>>(),
        refused
            .iter()
            .map(|a| a.answer.body.as_str())
            .collect::<Vec<_>>(),
        attempts
            .iter()
            .map(|a| a.answer.took)
            .max()
            .unwrap_or_default()
    );

    // Nothing acknowledged is lost: every group is listed.
    let listed = request(&address, "GET", "/api/v1/groups", &token, "", None);
    assert_eq!(listed.status, 200, "{listed:#?}");
    let listed = listed.json();
    let names: std::collections::BTreeSet<&str> = listed["items"]
        .as_array()
        .expect("a page of groups")
        .iter()
        .filter_map(|group| group["name"].as_str())
        .collect();
    let lost: Vec<&str> = attempts
        .iter()
        .filter(|a| a.answer.ok() && !names.contains(a.name.as_str()))
        .map(|a| a.name.as_str())
        .collect();
    assert!(
        lost.is_empty(),
        "acknowledged groups are missing after the restart: {lost:?}"
    );

    // The audit trail verifies, with an event for every group at least.
    let verified = request(&address, "GET", "/api/v1/audit/verify", &token, "", None);
    assert_eq!(verified.status, 200, "{verified:#?}");
    let verified = verified.json();
    assert_eq!(
        verified["intact"], true,
        "the audit trail verifies: {verified:#}"
    );
    assert!(
        verified["events"].as_u64().unwrap_or_default() >= names.len() as u64,
        "an audit event for each group: {verified:#}"
    );
}
