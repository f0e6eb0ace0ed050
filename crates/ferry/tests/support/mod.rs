//! What the end-to-end and fault tests share: a real `ferry serve` that can be
//! killed and started again on the same address and data, real `ferry agent`
//! processes, and the commands a user runs against them.
//!
//! Every command runs with a private `XDG_CONFIG_HOME` and without the
//! caller's `FERRY_*` variables, so no test reads or writes a real profile.
// Each test file uses a different part of this module (`#[expect]` would
// be unfulfilled in one of them).
#![allow(dead_code)]

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

pub const FERRY: &str = env!("CARGO_BIN_EXE_ferry");

/// How long a server or an agent may take to start (a cold SQLite file,
/// migrations, a busy machine).
pub const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The statuses a deployment ends in.
pub const TERMINAL: [&str; 4] = ["succeeded", "failed", "rolled_back", "cancelled"];

/// Whether a deployment (as JSON) has ended.
pub fn is_terminal(deployment: &Value) -> bool {
    TERMINAL.contains(&deployment["status"].as_str().unwrap_or_default())
}

/// A port no one listens on now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// A running (or killed) `ferry serve`: the same address, data directory and
/// database across restarts. Stopped when dropped.
pub struct Server {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT`, the same after a restart.
    pub url: String,
    /// The bootstrap token of the first start.
    pub token: String,
    /// The address a restart listens on again.
    listen: String,
    database: Option<String>,
    pub data_dir: TempDir,
    /// The working directory and `XDG_CONFIG_HOME` of the commands run.
    pub home: TempDir,
    log: PathBuf,
    starts: u32,
}

impl Server {
    /// A server on a free port with SQLite in a fresh data directory.
    pub fn start() -> Server {
        Server::start_with("127.0.0.1:0", None)
    }

    /// A server listening on `listen`, on `database` (SQLite in the data
    /// directory when `None`).
    pub fn start_with(listen: &str, database: Option<&str>) -> Server {
        let data_dir = tempfile::tempdir().unwrap();
        let home = tempfile::tempdir().unwrap();
        let log = home.path().join("server.log");
        let mut server = Server {
            child: None,
            url: String::new(),
            token: String::new(),
            listen: listen.to_owned(),
            database: database.map(str::to_owned),
            data_dir,
            home,
            log,
            starts: 0,
        };
        let printed = server.spawn();
        assert!(
            printed
                .iter()
                .any(|line| line.starts_with("bootstrap token: ferry_")),
            "a first start prints the bootstrap token: {printed:?}"
        );
        server.token = std::fs::read_to_string(server.data_dir.path().join("bootstrap-token"))
            .expect("the bootstrap token is written to the data dir")
            .trim()
            .to_owned();
        // Restarts listen where the first start did, so agents find it again.
        server.listen = server.url.trim_start_matches("http://").to_owned();
        server
    }

    /// Starts the process and waits until it listens and is ready; answers
    /// what it printed up to its `listening on` line.
    fn spawn(&mut self) -> Vec<String> {
        self.starts += 1;
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        writeln!(log, "--- ferry serve, start {} ---", self.starts).unwrap();
        let mut command = Command::new(FERRY);
        command
            .args(["serve", "--listen", &self.listen, "--data-dir"])
            .arg(self.data_dir.path())
            // A lost agent's job ends in seconds, not the default minute;
            // still far longer than a restart of the server takes.
            .args(["--job-lease", "15"]);
        if let Some(database) = &self.database {
            command.args(["--database", database]);
        }
        let mut child = command
            .env_remove("FERRY_LISTEN")
            .env_remove("FERRY_DATABASE_URL")
            .env_remove("FERRY_DATA_DIR")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("ferry serve starts");
        // Read stdout on a thread until it closes: the server must never
        // block on a full pipe, and the test must not block on a silent one.
        let stdout = child.stdout.take().unwrap();
        let (lines, received) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + START_TIMEOUT;
        let mut url = None;
        let mut printed = Vec::new();
        while url.is_none() {
            let left = deadline.saturating_duration_since(Instant::now());
            match received.recv_timeout(left) {
                Ok(line) => {
                    if let Some(rest) = line.strip_prefix("listening on ") {
                        url = Some(rest.trim().to_owned());
                    }
                    printed.push(line);
                }
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "no `listening on` line from ferry serve; stdout: {printed:?}\nlog:\n{}",
                        self.log()
                    );
                }
            }
        }
        self.url = url.unwrap();
        self.child = Some(child);
        self.wait_ready(deadline);
        printed
    }

    fn wait_ready(&self, deadline: Instant) {
        let address = self.url.trim_start_matches("http://").to_owned();
        loop {
            if http_get(&address, "/readyz").is_some_and(|(status, _)| status == 200) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{}/readyz never answered 200; log:\n{}",
                self.url,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL: no shutdown, no flushing, as a crash or an OOM kill would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same address, data and database; a
    /// restart prints no new bootstrap token.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "kill the server before restarting it");
        let printed = self.spawn();
        assert!(
            !printed
                .iter()
                .any(|line| line.starts_with("bootstrap token")),
            "a restart prints no new bootstrap token: {printed:?}"
        );
        assert_eq!(
            self.url,
            format!("http://{}", self.listen),
            "a restart listens where the first start did"
        );
    }

    /// Everything the server logged, over all its starts.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `ferry ARGS` as the admin, in this server's home.
    pub fn ferry(&self, args: &[&str]) -> Run {
        let mut command = self.command(args);
        command
            .env("FERRY_SERVER", &self.url)
            .env("FERRY_TOKEN", &self.token);
        Run::of(command)
    }

    /// `ferry ARGS --output json` as the admin; it must succeed.
    #[track_caller]
    pub fn json(&self, args: &[&str]) -> Value {
        let mut args = args.to_vec();
        args.extend(["--output", "json"]);
        self.ferry(&args).success().json()
    }

    /// `ferry ARGS` with neither server nor token in the environment.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(FERRY);
        command
            .args(args)
            .current_dir(self.home.path())
            .env("XDG_CONFIG_HOME", self.home.path().join("config"))
            .env("HOME", self.home.path())
            .env("NO_COLOR", "1")
            .env_remove("FERRY_SERVER")
            .env_remove("FERRY_TOKEN")
            .env_remove("FERRY_AGENT_TOKEN")
            .env_remove("FERRY_ENVIRONMENT")
            .stdin(Stdio::null());
        command
    }

    /// Writes `ferry.toml` in the working directory and applies it.
    #[track_caller]
    pub fn apply(&self, config: &str) {
        std::fs::write(self.home.path().join("ferry.toml"), config).unwrap();
        self.ferry(&["apply"]).success();
    }

    /// A file in the working directory, for `--artifact NAME=PATH`.
    pub fn write_file(&self, name: &str, contents: &str) {
        std::fs::write(self.home.path().join(name), contents).unwrap();
    }

    /// `ferry promote SERVICE@VERSION --to ENV`: the new deployment's id.
    #[track_caller]
    pub fn promote(&self, release: &str, environment: &str) -> i64 {
        let deployment = self.json(&["promote", release, "--to", environment]);
        deployment["id"]
            .as_i64()
            .unwrap_or_else(|| panic!("promote answers a deployment: {deployment:#}"))
    }

    /// `ferry deploy show ID` as JSON.
    #[track_caller]
    pub fn deployment(&self, id: i64) -> Value {
        self.json(&["deploy", "show", &id.to_string()])
    }

    /// Every deployment, newest first.
    #[track_caller]
    pub fn deployments(&self) -> Vec<Value> {
        let listed = self.json(&["deploy", "list"]);
        listed["items"].as_array().cloned().unwrap_or_default()
    }

    /// Polls deployment `id` until `done` holds (or `timeout` passes, which
    /// fails the test with what it last saw and the server's log).
    #[track_caller]
    pub fn wait_for_deployment(
        &self,
        id: i64,
        timeout: Duration,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let deployment = self.deployment(id);
            if done(&deployment) {
                return deployment;
            }
            assert!(
                Instant::now() < deadline,
                "deployment {id} never got there in {timeout:?}; last seen: {deployment:#}\nserver log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Polls deployment `id` until it ends; answers it as last shown.
    #[track_caller]
    pub fn wait_until_ended(&self, id: i64, timeout: Duration) -> Value {
        self.wait_for_deployment(id, timeout, is_terminal)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!("--- ferry serve log ---\n{}", self.log());
        }
    }
}

/// A `ferry agent` process with its own token, name and work directory; its
/// stderr (the agent's log) goes to a file. Killed when dropped.
pub struct Agent {
    child: Option<Child>,
    pub name: String,
    environment: String,
    secret: String,
    url: String,
    /// Where the agent unpacks releases and runs steps (`FERRY_WORK_DIR`).
    pub work_dir: PathBuf,
    log: PathBuf,
    env: Vec<(String, String)>,
    config_home: PathBuf,
}

impl Agent {
    /// Creates agent `name` of `environment` with `ferry agent token create`
    /// and starts `ferry agent` with its token, `env` added to the agent's
    /// own environment (which its steps inherit). Waits for its hello.
    #[track_caller]
    pub fn start(server: &Server, environment: &str, name: &str, env: &[(&str, &str)]) -> Agent {
        let created = server
            .ferry(&[
                "agent",
                "token",
                "create",
                "--env",
                environment,
                "--name",
                name,
            ])
            .success();
        let secret = created.stdout.lines().last().unwrap_or_default().to_owned();
        assert!(secret.starts_with("ferry_agent_"), "{created:#?}");
        let agents = server.home.path().join("agents");
        let work_dir = agents.join(name);
        std::fs::create_dir_all(&work_dir).unwrap();
        let mut agent = Agent {
            child: None,
            name: name.to_owned(),
            environment: environment.to_owned(),
            secret,
            url: server.url.clone(),
            work_dir,
            log: agents.join(format!("{name}.log")),
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            config_home: server.home.path().join("config"),
        };
        agent.spawn();
        agent
    }

    #[track_caller]
    fn spawn(&mut self) {
        let hellos = self.log().matches("hello from agent").count();
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = Command::new(FERRY)
            .args([
                "agent",
                "--server",
                &self.url,
                "--token",
                &self.secret,
                "--environment",
                &self.environment,
                "--name",
                &self.name,
                "--work-dir",
            ])
            .arg(&self.work_dir)
            .current_dir(&self.work_dir)
            .env("XDG_CONFIG_HOME", &self.config_home)
            .env("NO_COLOR", "1")
            .env_remove("FERRY_SERVER")
            .env_remove("FERRY_TOKEN")
            .env_remove("FERRY_AGENT_TOKEN")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("ferry agent starts");
        self.child = Some(child);
        let deadline = Instant::now() + START_TIMEOUT;
        while self.log().matches("hello from agent").count() <= hellos {
            assert!(
                Instant::now() < deadline,
                "agent {} never said hello; log:\n{}",
                self.name,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL, as a machine that loses power would: the agent reports
    /// nothing more. (Processes its steps started are not touched.)
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the agent again with the same token, name and work directory.
    #[track_caller]
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "kill the agent before restarting it");
        self.spawn();
    }

    /// Everything the agent logged, over all its starts.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!("--- ferry agent {} log ---\n{}", self.name, self.log());
        }
    }
}

/// The outcome of one command.
#[derive(Debug)]
pub struct Run {
    pub command: String,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn of(mut command: Command) -> Run {
        let description = format!("{:?}", command.get_args().collect::<Vec<_>>());
        let output = command.output().expect("ferry runs");
        Run {
            command: description,
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    #[track_caller]
    pub fn code(self, expected: i32) -> Run {
        assert_eq!(
            self.code, expected,
            "exit code of ferry {}: {self:#?}",
            self.command
        );
        self
    }

    #[track_caller]
    pub fn success(self) -> Run {
        self.code(0)
    }

    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|error| {
            panic!(
                "stdout of ferry {} is not JSON ({error}): {self:#?}",
                self.command
            )
        })
    }
}

/// `GET path` on `address` by hand (the tests need no HTTP client of their
/// own): the status and the body, or `None` when nothing answers.
pub fn http_get(address: &str, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(address).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split_whitespace().nth(1)?.parse().ok()?;
    let body = response
        .split_once("\r\n\r\n")
        .map_or("", |(_, body)| body)
        .to_owned();
    Some((status, body))
}

/// Sends `signal` to process `pid`, or to process group `-pid` when
/// `group`; whether it was delivered.
pub fn signal(signal: &str, pid: u32, group: bool) -> bool {
    let target = if group {
        format!("-{pid}")
    } else {
        pid.to_string()
    };
    Command::new("kill")
        .args([&format!("-{signal}"), "--", &target])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}
