//! `ferry sample-app` (hidden from `--help`): the small web server that
//! `ferry serve --demo` deploys, so that a newcomer sees a real deployment, a
//! health check and a rollback without installing anything else.
//!
//! `GET /` answers a page naming the version; `GET /healthz` answers 200, or
//! 500 when started with `--unhealthy` (the demo's broken release). With
//! `--detach` it starts itself in the background and exits once the server
//! listens, so that a deployment step can start it and fail when it cannot.

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Html;
use axum::routing::get;
use clap::Args;

/// `ferry sample-app`: the small web server the demo deploys.
#[derive(Debug, Args)]
pub struct SampleAppArgs {
    /// The port to listen on, on 127.0.0.1.
    #[arg(long, value_name = "PORT")]
    pub port: u16,
    /// The version the page names.
    #[arg(long, value_name = "VERSION")]
    pub version: String,
    /// Answer /healthz with 500, as a broken release would.
    #[arg(long)]
    pub unhealthy: bool,
    /// Write the process id here once listening.
    #[arg(long, value_name = "FILE")]
    pub pid_file: Option<PathBuf>,
    /// Run in the background: start the server as a process of its own,
    /// wait until it listens (its pid file is written) and exit; exit 1
    /// with its log when it cannot start.
    #[arg(long, requires = "pid_file")]
    pub detach: bool,
    /// Where the detached server writes its output [default: sample-app.log]
    #[arg(long, value_name = "FILE", requires = "detach")]
    pub log_file: Option<PathBuf>,
}

/// How long a port that is in use is tried again: the instance a deployment
/// step has just stopped may take a moment to let it go.
const BIND_PATIENCE: Duration = Duration::from_secs(5);
/// How long `--detach` waits for the server to listen.
const START_PATIENCE: Duration = Duration::from_secs(15);

/// Runs `ferry sample-app`.
pub fn run(args: SampleAppArgs) -> Result<ExitCode> {
    if args.detach {
        return detach(&args);
    }
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(serve(args))
}

/// What the pages say.
struct Page {
    service: String,
    version: String,
    environment: Option<String>,
    unhealthy: bool,
}

async fn serve(args: SampleAppArgs) -> Result<ExitCode> {
    let listener = bind(args.port).await?;
    if let Some(pid_file) = &args.pid_file {
        write_pid(pid_file)?;
    }
    // A deployment step gives the service's name and environment.
    let page = Page {
        service: std::env::var("FERRY_SERVICE").unwrap_or_else(|_| "sample-app".to_owned()),
        version: args.version,
        environment: std::env::var("FERRY_ENVIRONMENT").ok(),
        unhealthy: args.unhealthy,
    };
    println!(
        "{} {} listening on http://127.0.0.1:{}/ (pid {}){}",
        page.service,
        page.version,
        args.port,
        std::process::id(),
        if page.unhealthy {
            "; unhealthy on purpose: /healthz answers 500"
        } else {
            ""
        }
    );
    let app = Router::new()
        .route("/", get(front))
        .route("/healthz", get(health))
        .with_state(Arc::new(page));
    axum::serve(listener, app)
        .await
        .context("the sample app stopped serving")?;
    Ok(ExitCode::SUCCESS)
}

async fn front(State(page): State<Arc<Page>>) -> Html<String> {
    let title = escape(&format!("{} {}", page.service, page.version));
    let place = page
        .environment
        .as_deref()
        .map(|env| format!(" to {}", escape(env)))
        .unwrap_or_default();
    Html(format!(
        "<!doctype html>\n<title>{title}</title>\n<h1>Hello from {title}</h1>\n\
         <p>Deployed{place} by ferry. Its health check is <a href=\"/healthz\">/healthz</a>.</p>\n"
    ))
}

async fn health(State(page): State<Arc<Page>>) -> (StatusCode, &'static str) {
    if page.unhealthy {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            "unhealthy: started with --unhealthy\n",
        )
    } else {
        (StatusCode::OK, "ok\n")
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

async fn bind(port: u16) -> Result<tokio::net::TcpListener> {
    let address = format!("127.0.0.1:{port}");
    let deadline = Instant::now() + BIND_PATIENCE;
    loop {
        match tokio::net::TcpListener::bind(&address).await {
            Ok(listener) => return Ok(listener),
            Err(error)
                if error.kind() == std::io::ErrorKind::AddrInUse && Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(error) if error.kind() == std::io::ErrorKind::AddrInUse => bail!(
                "cannot listen on {address}: another program holds the port (an earlier \
                 `ferry serve --demo`, perhaps: stop it, or pick another port with --demo-port)"
            ),
            Err(error) => return Err(error).context(format!("cannot listen on {address}")),
        }
    }
}

/// Writes this process's id to `path`, whole or not at all (the detaching
/// parent reads it while it is written).
fn write_pid(path: &Path) -> Result<()> {
    let partial = PathBuf::from(format!("{}.partial", path.display()));
    std::fs::write(&partial, format!("{}\n", std::process::id()))
        .and_then(|()| std::fs::rename(&partial, path))
        .with_context(|| format!("cannot write the pid file {}", path.display()))
}

/// Starts the server as a process of its own and waits until it listens.
fn detach(args: &SampleAppArgs) -> Result<ExitCode> {
    let Some(pid_file) = &args.pid_file else {
        bail!("--detach needs --pid-file FILE: it says when the server listens");
    };
    let log = args
        .log_file
        .clone()
        .unwrap_or_else(|| PathBuf::from("sample-app.log"));
    let output = File::options()
        .create(true)
        .append(true)
        .open(&log)
        .with_context(|| format!("cannot open the log {}", log.display()))?;
    let exe = std::env::current_exe().context("cannot find the ferry binary to start")?;
    let mut command = Command::new(exe);
    command
        .arg("sample-app")
        .arg("--port")
        .arg(args.port.to_string())
        .arg("--version")
        .arg(&args.version)
        .arg("--pid-file")
        .arg(pid_file);
    if args.unhealthy {
        command.arg("--unhealthy");
    }
    let start = std::fs::metadata(&log).map_or(0, |m| m.len());
    // Its own output and process group: it holds none of the deployment
    // step's pipes (the agent waits for them to close) and outlives the step,
    // whose group is killed when it times out.
    let mut child = command
        .stdin(Stdio::null())
        .stdout(output.try_clone()?)
        .stderr(output)
        .process_group(0)
        .spawn()
        .context("cannot start the sample app")?;
    let pid = child.id().to_string();
    let deadline = Instant::now() + START_PATIENCE;
    loop {
        if let Some(status) = child.try_wait()? {
            eprint!("{}", log_since(&log, start));
            bail!(
                "the sample app stopped ({status}) before it listened; its log, {}, says why (above)",
                log.display()
            );
        }
        if std::fs::read_to_string(pid_file).is_ok_and(|text| text.trim() == pid) {
            println!(
                "started in the background: http://127.0.0.1:{}/ (pid {pid}, log {})",
                args.port,
                log.display()
            );
            return Ok(ExitCode::SUCCESS);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            eprint!("{}", log_since(&log, start));
            bail!(
                "the sample app did not listen within {} seconds; stopped it",
                START_PATIENCE.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// What the log got after its first `start` bytes.
fn log_since(log: &Path, start: u64) -> String {
    let text = std::fs::read(log).unwrap_or_default();
    let from = usize::try_from(start).unwrap_or(0).min(text.len());
    String::from_utf8_lossy(&text[from..]).into_owned()
}
