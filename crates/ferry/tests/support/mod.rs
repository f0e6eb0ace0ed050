//! What the tests of the binary share: a real `ferry serve` (with the flags
//! and environment a test asks for) that can be killed or stopped and started
//! again on the same address and data, real `ferry agent` processes, and the
//! commands a user runs against them.
//!
//! Every command runs with a private `XDG_CONFIG_HOME` and without the
//! caller's `FERRY_*` variables, so no test reads or writes a real profile.
// Each test file uses a different part of this module (`#[expect]` would
// be unfulfilled in one of them).
#![allow(dead_code)]

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
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

/// Where a server keeps its data, or where its commands run: a temporary
/// directory of its own, or one the test owns (to start another server on the
/// same data, or to look at it after the server is gone).
pub enum Dir {
    Temp(TempDir),
    Given(PathBuf),
}

impl Dir {
    pub fn path(&self) -> &Path {
        match self {
            Dir::Temp(dir) => dir.path(),
            Dir::Given(path) => path,
        }
    }
}

/// How to start a `ferry serve`: [`Server::builder`], then [`ServerBuilder::start`].
pub struct ServerBuilder {
    listen: String,
    database: Option<String>,
    job_lease: Option<u32>,
    args: Vec<String>,
    env: Vec<(String, String)>,
    data_dir: Option<PathBuf>,
    home: Option<PathBuf>,
    quiet: Option<Duration>,
}

impl ServerBuilder {
    /// The address to listen on (`127.0.0.1:0` unless told).
    pub fn listen(mut self, listen: &str) -> ServerBuilder {
        listen.clone_into(&mut self.listen);
        self
    }

    /// The database URL (SQLite in the data directory unless told).
    pub fn database(mut self, database: Option<&str>) -> ServerBuilder {
        self.database = database.map(str::to_owned);
        self
    }

    /// `--job-lease SECONDS` (the server's default unless told).
    pub fn job_lease(mut self, seconds: u32) -> ServerBuilder {
        self.job_lease = Some(seconds);
        self
    }

    /// One more argument of `ferry serve`, such as `--demo`.
    pub fn arg(mut self, arg: &str) -> ServerBuilder {
        self.args.push(arg.to_owned());
        self
    }

    /// More arguments of `ferry serve`.
    pub fn args(mut self, args: &[&str]) -> ServerBuilder {
        self.args.extend(args.iter().map(|arg| (*arg).to_owned()));
        self
    }

    /// A variable of the server's environment (the caller's `FERRY_*`
    /// variables never reach it).
    pub fn env(mut self, key: &str, value: impl Into<String>) -> ServerBuilder {
        self.env.push((key.to_owned(), value.into()));
        self
    }

    /// The data directory, owned by the test (a fresh temporary one unless
    /// told). A data directory that holds a bootstrap token is not new: its
    /// server prints no token.
    pub fn data_dir(mut self, path: &Path) -> ServerBuilder {
        self.data_dir = Some(path.to_owned());
        self
    }

    /// The working directory and `XDG_CONFIG_HOME` of the commands run,
    /// owned by the test (a fresh temporary one unless told). Each server
    /// logs to a file of its own there.
    pub fn home(mut self, path: &Path) -> ServerBuilder {
        self.home = Some(path.to_owned());
        self
    }

    /// After it is ready, read what the server prints on stdout until it is
    /// silent for `quiet` (into [`Server::printed`]; 100 ms unless told).
    pub fn read_stdout_until_quiet(mut self, quiet: Duration) -> ServerBuilder {
        self.quiet = Some(quiet);
        self
    }

    /// Starts the server and waits until it is ready; on a new data
    /// directory, checks that it prints the bootstrap token.
    #[track_caller]
    pub fn start(self) -> Server {
        let data_dir = match self.data_dir {
            Some(path) => Dir::Given(path),
            None => Dir::Temp(tempfile::tempdir().unwrap()),
        };
        let home = match self.home {
            Some(path) => Dir::Given(path),
            None => Dir::Temp(tempfile::tempdir().unwrap()),
        };
        let log = (1..)
            .map(|n| match n {
                1 => home.path().join("server.log"),
                n => home.path().join(format!("server-{n}.log")),
            })
            .find(|path| !path.exists())
            .unwrap();
        let new = !data_dir.path().join("bootstrap-token").exists();
        let mut server = Server {
            child: None,
            url: String::new(),
            token: String::new(),
            listen: self.listen,
            database: self.database,
            job_lease: self.job_lease,
            args: self.args,
            env: self.env,
            quiet: self.quiet,
            data_dir,
            home,
            printed: Vec::new(),
            log,
            starts: 0,
        };
        server.spawn(new);
        assert!(
            !new || server
                .printed
                .iter()
                .any(|line| line.starts_with("bootstrap token: ferry_")),
            "a first start prints the bootstrap token: {:?}",
            server.printed
        );
        server.token = std::fs::read_to_string(server.data_dir.path().join("bootstrap-token"))
            .expect("the bootstrap token is written to the data dir")
            .trim()
            .to_owned();
        // Restarts listen where the first start did, so agents find it again.
        server.listen = server.url.trim_start_matches("http://").to_owned();
        server
    }
}

/// A running (or stopped) `ferry serve`: the same address, data directory and
/// database across restarts. Killed when dropped.
pub struct Server {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT`, the same after a restart.
    pub url: String,
    /// The bootstrap token of the first start.
    pub token: String,
    /// The address a restart listens on again.
    listen: String,
    database: Option<String>,
    job_lease: Option<u32>,
    args: Vec<String>,
    env: Vec<(String, String)>,
    quiet: Option<Duration>,
    pub data_dir: Dir,
    /// The working directory and `XDG_CONFIG_HOME` of the commands run.
    pub home: Dir,
    /// What the latest start printed on stdout: its `listening on` line, the
    /// bootstrap token on a first start, and what follows within a moment
    /// (longer with [`ServerBuilder::read_stdout_until_quiet`]).
    pub printed: Vec<String>,
    log: PathBuf,
    starts: u32,
}

impl Server {
    /// How to start a server on a free port with SQLite in a fresh data
    /// directory, with nothing more unless told.
    pub fn builder() -> ServerBuilder {
        ServerBuilder {
            listen: "127.0.0.1:0".to_owned(),
            database: None,
            job_lease: None,
            args: Vec::new(),
            env: Vec::new(),
            data_dir: None,
            home: None,
            quiet: None,
        }
    }

    /// A server on a free port with SQLite in a fresh data directory.
    pub fn start() -> Server {
        Server::start_with("127.0.0.1:0", None)
    }

    /// A server listening on `listen`, on `database` (SQLite in the data
    /// directory when `None`).
    pub fn start_with(listen: &str, database: Option<&str>) -> Server {
        Server::builder()
            .listen(listen)
            .database(database)
            // A lost agent's job ends in seconds, not the default minute;
            // still far longer than a restart of the server takes.
            .job_lease(15)
            .start()
    }

    /// `ferry serve` with this server's address, data, database and
    /// arguments, without the caller's `FERRY_*` variables.
    fn serve_command(&self) -> Command {
        let mut command = Command::new(FERRY);
        command
            .args(["serve", "--listen", &self.listen, "--data-dir"])
            .arg(self.data_dir.path());
        if let Some(seconds) = self.job_lease {
            command.args(["--job-lease", &seconds.to_string()]);
        }
        if let Some(database) = &self.database {
            command.args(["--database", database]);
        }
        command.args(&self.args);
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("FERRY_") {
                command.env_remove(key);
            }
        }
        command
            .env("RUST_LOG", "info")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null());
        command
    }

    /// Starts the process and waits until it listens and is ready; keeps
    /// what it printed in `printed`. The bootstrap token comes after the
    /// `listening on` line: with `bootstrap`, the start waits for it too;
    /// without, it checks that none is printed.
    fn spawn(&mut self, bootstrap: bool) {
        self.starts += 1;
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        writeln!(log, "--- ferry serve, start {} ---", self.starts).unwrap();
        let mut child = self
            .serve_command()
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
        let listening_at = printed.len();
        self.url = url.unwrap();
        self.child = Some(child);
        self.wait_ready(deadline);
        // Every line of the start is written before the server answers, so
        // a bootstrap token, if any, is on its way now.
        let bootstrap_line = |printed: &[String]| {
            printed[listening_at..]
                .iter()
                .any(|line| line.starts_with("bootstrap token"))
        };
        let quiet = self.quiet.unwrap_or(Duration::from_millis(100));
        while bootstrap && !bootstrap_line(&printed) {
            let left = deadline.saturating_duration_since(Instant::now());
            match received.recv_timeout(left) {
                Ok(line) => printed.push(line),
                Err(_) => panic!(
                    "no bootstrap token after `listening on`; stdout: {printed:?}\nlog:\n{}",
                    self.log()
                ),
            }
        }
        // The lines printed after it (the demo's) arrive soon after.
        while let Ok(line) = received.recv_timeout(quiet) {
            printed.push(line);
        }
        assert!(
            bootstrap
                || !printed
                    .iter()
                    .any(|line| line.starts_with("bootstrap token")),
            "a start on a used data directory prints no new bootstrap token: {printed:?}"
        );
        self.printed = printed;
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

    /// SIGTERM, as a service manager would; waits for a clean exit.
    #[track_caller]
    pub fn stop(&mut self) {
        let mut child = self.child.take().expect("the server runs");
        // The log is printed if this fails, as the server is dropped.
        terminate(&mut child, "ferry serve");
    }

    /// Starts the server again on the same address, data and database; a
    /// restart prints no new bootstrap token.
    #[track_caller]
    pub fn restart(&mut self) {
        assert!(
            self.child.is_none(),
            "kill or stop the server before restarting it"
        );
        self.spawn(false);
        assert_eq!(
            self.url,
            format!("http://{}", self.listen),
            "a restart listens where the first start did"
        );
    }

    /// `ferry serve` as a restart would run it, expected to refuse to start
    /// (the server must be stopped): its exit code and standard error.
    #[track_caller]
    pub fn refused_start(&self) -> (Option<i32>, String) {
        assert!(self.child.is_none(), "stop the server first");
        let stderr = self.home.path().join("refused.log");
        let mut child = self
            .serve_command()
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .expect("ferry serve starts");
        let deadline = Instant::now() + START_TIMEOUT;
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("ferry serve did not refuse to start");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        (
            status.code(),
            std::fs::read_to_string(&stderr).unwrap_or_default(),
        )
    }

    /// Everything the server logged, over all its starts.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `ferry ARGS` as the admin, in this server's home.
    pub fn ferry(&self, args: &[&str]) -> Run {
        self.ferry_as(Some(&self.token), args)
    }

    /// `ferry ARGS` with the given token (or none).
    pub fn ferry_as(&self, token: Option<&str>, args: &[&str]) -> Run {
        Run::of(self.command_as(token, args))
    }

    /// `ferry ARGS` as the admin, with `stdin` as its standard input.
    pub fn ferry_with_stdin(&self, args: &[&str], stdin: &str) -> Run {
        Run::with_stdin(self.command_as(Some(&self.token), args), stdin)
    }

    fn command_as(&self, token: Option<&str>, args: &[&str]) -> Command {
        let mut command = self.command(args);
        command.env("FERRY_SERVER", &self.url);
        if let Some(token) = token {
            command.env("FERRY_TOKEN", token);
        }
        command
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
    pub fn apply(&self, config: &str) -> Run {
        std::fs::write(self.home.path().join("ferry.toml"), config).unwrap();
        self.ferry(&["apply"]).success()
    }

    /// A user who is not an administrator: their token.
    #[track_caller]
    pub fn user(&self, name: &str) -> String {
        let created = self.json(&["user", "create", name]);
        created["token"]["secret"]
            .as_str()
            .unwrap_or_else(|| panic!("a new user has a token: {created:#}"))
            .to_owned()
    }

    /// A user who is not an administrator and holds `roles` everywhere
    /// (`ferry role grant`): their token.
    #[track_caller]
    pub fn user_with_roles(&self, name: &str, roles: &[&str]) -> String {
        let token = self.user(name);
        for role in roles {
            self.ferry(&["role", "grant", role, "--user", name])
                .success();
        }
        token
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

/// The services deployed under a data dir's `agent/` directory (by local
/// agents, as the demo's `hello`), stopped by their pid files
/// (`<env>/<service>.pid`) when dropped. Declared before the [`Server`], so
/// it is dropped after it: no step starts one any more.
pub struct Deployed {
    pub agent_dir: PathBuf,
}

impl Deployed {
    /// The pids of the services deployed now.
    pub fn pids(&self) -> Vec<u32> {
        let mut pids = Vec::new();
        let Ok(environments) = std::fs::read_dir(&self.agent_dir) else {
            return pids;
        };
        for environment in environments.flatten() {
            let Ok(files) = std::fs::read_dir(environment.path()) else {
                continue;
            };
            for file in files.flatten() {
                if file.path().extension().is_some_and(|e| e == "pid")
                    && let Ok(text) = std::fs::read_to_string(file.path())
                    && let Ok(pid) = text.trim().parse()
                {
                    pids.push(pid);
                }
            }
        }
        pids
    }
}

impl Drop for Deployed {
    fn drop(&mut self) {
        for pid in self.pids() {
            signal("TERM", pid, false);
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
        Run::from_output(description, &output)
    }

    /// Runs `command` with `stdin` as its standard input.
    pub fn with_stdin(mut command: Command, stdin: &str) -> Run {
        let description = format!("{:?}", command.get_args().collect::<Vec<_>>());
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("ferry runs");
        // Closed when written, so the command sees the end of its input.
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(stdin.as_bytes()).unwrap();
        drop(pipe);
        let output = child.wait_with_output().unwrap();
        Run::from_output(description, &output)
    }

    fn from_output(command: String, output: &Output) -> Run {
        Run {
            command,
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

/// Sends SIGTERM to `child` and waits for it to exit cleanly.
#[track_caller]
pub fn terminate(child: &mut Child, what: &str) {
    assert!(
        signal("TERM", child.id(), false),
        "SIGTERM could not be sent to {what}"
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{what} exited with {status}");
            return;
        }
        assert!(Instant::now() < deadline, "{what} did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `METHOD path` on `address` by hand with a bearer `token` and a `body`
/// (JSON unless it is empty): the status and the body, or `None` when
/// nothing answers.
pub fn http_request(
    address: &str,
    method: &str,
    path: &str,
    token: &str,
    body: &str,
) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(address).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .ok()?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).ok()?;
    let response = String::from_utf8_lossy(&response);
    let status = response.split_whitespace().nth(1)?.parse().ok()?;
    let body = response
        .split_once("\r\n\r\n")
        .map_or("", |(_, body)| body)
        .to_owned();
    Some((status, body))
}

/// Runs one statement on the database at `url`.
pub fn postgres_execute(url: &str, statement: &str) {
    use sqlx::Connection;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut connection = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(statement.to_owned()))
            .execute(&mut connection)
            .await
            .unwrap_or_else(|error| panic!("{statement}: {error}"));
        connection.close().await.unwrap();
    });
}

/// A fresh PostgreSQL schema for one run, dropped afterwards.
pub struct Schema {
    base: String,
    name: String,
    /// The URL of the database with the schema as its search path.
    pub url: String,
}

impl Schema {
    /// A new schema of the database at `base`.
    pub fn create(base: &str) -> Schema {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.subsec_nanos());
        let name = format!("ferry_fault_{}_{nanos}", std::process::id());
        postgres_execute(base, &format!("CREATE SCHEMA {name}"));
        let separator = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{separator}options[search_path]={name}");
        Schema {
            base: base.to_owned(),
            name,
            url,
        }
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            postgres_execute(&self.base, &format!("DROP SCHEMA {} CASCADE", self.name));
        } else {
            eprintln!("the schema {} is kept for a look", self.name);
        }
    }
}

/// The base URL of the PostgreSQL database tests may make schemas in
/// (`FERRY_TEST_POSTGRES_URL`); `None`, with a message, where it is not set
/// and `CI` is not (under CI a missing URL fails the test).
pub fn postgres_url(what: &str) -> Option<String> {
    match std::env::var("FERRY_TEST_POSTGRES_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "FERRY_TEST_POSTGRES_URL is not set: CI must run {what} on PostgreSQL"
            );
            eprintln!("FERRY_TEST_POSTGRES_URL is not set: skipping {what} on PostgreSQL");
            None
        }
    }
}

/// A git repository built commit by commit with the git CLI, with fixed
/// authors and dates so ids are the same on every run: the history a
/// release is made from (`ferry release create SERVICE --git DIR`).
pub struct Repo {
    pub dir: PathBuf,
    clock: std::cell::Cell<i64>,
}

impl Repo {
    /// A new repository at `dir`, on branch `main`.
    pub fn new(dir: PathBuf) -> Repo {
        std::fs::create_dir_all(&dir).unwrap();
        let repo = Repo {
            dir,
            clock: std::cell::Cell::new(1_700_000_000),
        };
        repo.git(&["init", "-q", "-b", "main"]);
        repo
    }

    /// `git ARGS` in the repository, as Ada Lovelace at the repository's
    /// clock; its standard output, trimmed.
    #[track_caller]
    pub fn git(&self, args: &[&str]) -> String {
        let time = format!("{} +0000", self.clock.get());
        let output = Command::new("git")
            .arg("-C")
            .arg(&self.dir)
            .args(["-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"])
            .args(args)
            .env("GIT_AUTHOR_NAME", "Ada Lovelace")
            .env("GIT_AUTHOR_EMAIL", "ada@example.com")
            .env("GIT_COMMITTER_NAME", "Ada Lovelace")
            .env("GIT_COMMITTER_EMAIL", "ada@example.com")
            .env("GIT_AUTHOR_DATE", &time)
            .env("GIT_COMMITTER_DATE", &time)
            .output()
            .expect("git runs");
        assert!(
            output.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap().trim().to_owned()
    }

    /// Writes `path` and commits it with `message`, an hour after the
    /// commit before; returns the commit id.
    #[track_caller]
    pub fn commit(&self, path: &str, message: &str) -> String {
        self.clock.set(self.clock.get() + 3600);
        let file = self.dir.join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, format!("{message}\n")).unwrap();
        self.git(&["add", path]);
        self.git(&["commit", "-q", "-m", message]);
        self.git(&["rev-parse", "HEAD"])
    }
}

/// An answer read whole, its body as bytes.
#[derive(Debug)]
pub struct RawAnswer {
    pub status: u16,
    /// The head's lines after the status line, as sent.
    pub headers: Vec<String>,
    pub body: Vec<u8>,
}

impl RawAnswer {
    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim().eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }

    /// The value of cookie `name` set by the answer.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.headers.iter().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            if !key.trim().eq_ignore_ascii_case("set-cookie") {
                return None;
            }
            let pair = value.trim().split(';').next()?;
            let (cookie, value) = pair.split_once('=')?;
            (cookie == name).then(|| value.to_owned())
        })
    }
}

/// `METHOD path` on `address` by hand, with `headers` (`Name: value`
/// lines) and `body`: the answer with its body as bytes (an archive, say),
/// or `None` when nothing answers.
pub fn http_raw(
    address: &str,
    method: &str,
    path: &str,
    headers: &[&str],
    body: &[u8],
) -> Option<RawAnswer> {
    let mut stream = TcpStream::connect(address).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .ok()?;
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n");
    for header in headers {
        head.push_str(header);
        head.push_str("\r\n");
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    stream.write_all(head.as_bytes()).ok()?;
    stream.write_all(body).ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).ok()?;
    let end = response.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&response[..end]).into_owned();
    let mut lines = head.lines();
    let status = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    Some(RawAnswer {
        status,
        headers: lines.map(str::to_owned).collect(),
        body: response[end + 4..].to_vec(),
    })
}

/// Signs `user` in to the web UI at `address` with `password`, as a
/// browser would (the sign-in form's CSRF cookie and field): the session
/// cookie's value.
#[track_caller]
pub fn web_session(address: &str, user: &str, password: &str) -> String {
    let form = http_raw(address, "GET", "/login", &[], b"").expect("the sign-in form");
    assert_eq!(form.status, 200, "{form:?}");
    let sign_in = form.cookie("ferry_sign_in").expect("the sign-in cookie");
    let page = String::from_utf8_lossy(&form.body);
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the form's CSRF field")
        .to_owned();
    let body = format!(
        "username={user}&password={}&csrf={csrf}&next=%2F",
        password.replace(' ', "+")
    );
    let cookie = format!("Cookie: ferry_sign_in={sign_in}");
    let answer = http_raw(
        address,
        "POST",
        "/login",
        &[&cookie, "Content-Type: application/x-www-form-urlencoded"],
        body.as_bytes(),
    )
    .expect("the sign-in answer");
    answer
        .cookie("ferry_session")
        .unwrap_or_else(|| panic!("no session after signing in: {answer:?}"))
}

/// Polls `done` every 20 ms until it holds; fails with `what` after `timeout`.
#[track_caller]
pub fn wait_until(timeout: Duration, what: &str, mut done: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < timeout,
            "{what}: not within {timeout:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    started.elapsed()
}
