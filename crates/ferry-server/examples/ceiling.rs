//! The ceiling of the load benchmark (`bench/load/run.py`): a bare axum
//! server on the same runtime and HTTP stack as `ferry serve`, with one
//! route, `GET /`, that answers the static text `hello`. What it serves per
//! second on a machine is as fast as any ferry endpoint can get there.
//!
//! Usage: `ceiling [ADDRESS]` (default `127.0.0.1:0`, any free port); it
//! prints `listening on http://ADDRESS` once bound, as `ferry serve` does.

use std::io::Write;

use axum::Router;
use axum::routing::get;

/// The one answer.
async fn hello() -> &'static str {
    "hello"
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".to_owned());
    let listener = tokio::net::TcpListener::bind(&address).await?;
    let bound = listener.local_addr()?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "listening on http://{bound}")?;
    stdout.flush()?;
    let app = Router::new().route("/", get(hello));
    axum::serve(listener, app).await
}
