//! A secret never leaks: a random value is set as a secret variable, a
//! deployment step of a real agent prints it alone and inside a longer line,
//! and then every place ferry keeps or shows anything is searched for the
//! plain value — the API's answers, the deployment's logs, the server's and
//! the agent's own log output, the audit trail, and the database (the SQLite
//! file with its WAL, or every table of the PostgreSQL schema). It must be
//! nowhere, while the step itself did see it.
//!
//! The PostgreSQL run needs `FERRY_TEST_POSTGRES_URL`; under CI it must be
//! set.

mod support;

use std::io::Read;
use std::time::Duration;

use support::{Agent, Server};

const CONFIG: &str = r#"
[[environment]]
name = "dev"
tier = "development"

[lifecycle.default]
phases = [["dev"]]

[[service]]
name = "shop"
deploy.steps = [
  { name = "alone", run = 'echo "$DB_PASSWORD"' },
  { name = "inside", run = 'echo "connecting to db://shop:$DB_PASSWORD@db.internal/shop now" && echo "err:$DB_PASSWORD." >&2' },
  { name = "keep", run = 'printf %s "$DB_PASSWORD" > seen.txt' },
]
"#;

/// A random secret of this run, so no fixture can hold it by chance.
fn random_secret() -> String {
    let mut bytes = [0u8; 12];
    getrandom::fill(&mut bytes).unwrap();
    format!("s3cr3t-{}", hex::encode(bytes))
}

fn hits(haystack: &[u8], needle: &str) -> usize {
    haystack
        .windows(needle.len())
        .filter(|window| *window == needle.as_bytes())
        .count()
}

/// Deploys a release whose steps print the secret, then returns, by place,
/// everything ferry shows or keeps outside the database.
fn deploy_printing_a_secret(server: &Server, secret: &str) -> Vec<(String, Vec<u8>)> {
    server.apply(CONFIG);
    server
        .ferry_with_stdin(
            &[
                "var",
                "set",
                "dev",
                "DB_PASSWORD",
                "--secret",
                "--from-stdin",
            ],
            secret,
        )
        .success();
    let agent = Agent::start(server, "dev", "web-1", &[("RUST_LOG", "debug")]);
    server
        .ferry(&["release", "create", "shop", "--version", "1.0.0"])
        .success();
    let id = server.promote("shop@1.0.0", "dev");
    let deployment = server.wait_until_ended(id, Duration::from_secs(120));
    assert_eq!(
        deployment["status"],
        "succeeded",
        "{deployment:#}\nagent log:\n{}",
        agent.log()
    );
    let seen = std::fs::read_to_string(agent.work_dir.join("shop/1.0.0/seen.txt")).unwrap();
    assert_eq!(seen, secret, "the step saw the secret in clear");

    let id = id.to_string();
    let logs = server.ferry(&["deploy", "logs", &id]).success();
    assert!(
        logs.stdout.contains("db://shop:***@db.internal") && logs.stdout.contains("err:***."),
        "the lines arrived, masked:\n{}",
        logs.stdout
    );
    let mut places: Vec<(String, Vec<u8>)> = vec![("ferry deploy logs".into(), logs.stdout.into())];
    let reads: &[&[&str]] = &[
        &["deploy", "show", &id],
        &["deploy", "logs", &id],
        &["deploy", "list"],
        &["var", "list", "dev"],
        &["audit", "export"],
        &["audit", "list", "--limit", "1000"],
        &["release", "show", "shop@1.0.0"],
        &["status"],
        &["agent", "list"],
        &["whoami"],
    ];
    for args in reads {
        let mut args = args.to_vec();
        args.extend(["--output", "json"]);
        let run = server.ferry(&args).success();
        places.push((format!("ferry {}", args.join(" ")), run.stdout.into()));
    }
    // The API's raw answers too, stream of the logs included.
    for path in [
        format!("/api/v1/deployments/{id}"),
        format!("/api/v1/deployments/{id}/logs"),
        format!("/api/v1/deployments/{id}/logs/stream"),
        "/api/v1/environments/dev/variables".to_owned(),
        "/api/v1/audit/export".to_owned(),
    ] {
        places.push((format!("GET {path}"), get(server, &path)));
    }
    places.push(("the server's log".into(), server.log().into()));
    places.push(("the agent's log".into(), agent.log().into()));
    places
}

/// A GET of the API as the admin, the body as it came.
fn get(server: &Server, path: &str) -> Vec<u8> {
    use std::io::Write;
    let address = server.url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
        server.token
    )
    .unwrap();
    let mut body = Vec::new();
    let _ = stream.read_to_end(&mut body);
    assert!(
        body.starts_with(b"HTTP/1.1 200"),
        "{path}: {}",
        String::from_utf8_lossy(&body)
    );
    body
}

fn assert_nowhere(secret: &str, places: &[(String, Vec<u8>)]) {
    let found: Vec<String> = places
        .iter()
        .filter(|(_, bytes)| hits(bytes, secret) > 0)
        .map(|(place, bytes)| format!("{place}: {} hit(s)", hits(bytes, secret)))
        .collect();
    assert!(
        found.is_empty(),
        "the secret leaked into:\n{}",
        found.join("\n")
    );
}

#[test]
fn a_secret_is_nowhere_in_clear_on_sqlite() {
    let server = Server::builder()
        .job_lease(15)
        .env("RUST_LOG", "debug")
        .start();
    let secret = random_secret();
    let mut places = deploy_printing_a_secret(&server, &secret);
    for name in ["ferry.db", "ferry.db-wal", "ferry.db-shm"] {
        let mut bytes = Vec::new();
        if let Ok(mut file) = std::fs::File::open(server.data_dir.path().join(name)) {
            file.read_to_end(&mut bytes).unwrap();
        }
        places.push((name.to_owned(), bytes));
    }
    // The search finds what is there: the service's name is in the files.
    let database: Vec<u8> = places
        .iter()
        .filter(|(place, _)| place.starts_with("ferry.db"))
        .flat_map(|(_, bytes)| bytes.clone())
        .collect();
    assert!(hits(&database, "shop") > 0, "the database files were read");
    assert_nowhere(&secret, &places);
}

#[test]
fn a_secret_is_nowhere_in_clear_on_postgres() {
    let Ok(base) = std::env::var("FERRY_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "FERRY_TEST_POSTGRES_URL is not set: CI must run the PostgreSQL leak test"
        );
        eprintln!("FERRY_TEST_POSTGRES_URL is not set: skipping the PostgreSQL leak test");
        return;
    };
    let schema = format!("ferry_leak_{}", std::process::id());
    let url = format!(
        "{base}{}options[search_path]={schema}",
        if base.contains('?') { '&' } else { '?' }
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(execute(
        &base,
        &format!("DROP SCHEMA IF EXISTS {schema} CASCADE"),
    ));
    runtime.block_on(execute(&base, &format!("CREATE SCHEMA {schema}")));
    let server = Server::builder()
        .database(Some(&url))
        .job_lease(15)
        .env("RUST_LOG", "debug")
        .start();
    let secret = random_secret();
    let mut places = deploy_printing_a_secret(&server, &secret);
    let tables = runtime.block_on(every_row(&base, &schema));
    assert!(hits(&tables, "shop") > 0, "the dump holds the data");
    places.push((format!("the tables of schema {schema}"), tables));
    drop(server);
    runtime.block_on(execute(&base, &format!("DROP SCHEMA {schema} CASCADE")));
    assert_nowhere(&secret, &places);
}

async fn execute(url: &str, statement: &str) {
    use sqlx::Connection;
    let mut connection = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(statement.to_owned()))
        .execute(&mut connection)
        .await
        .unwrap();
    connection.close().await.unwrap();
}

/// Every row of every table of `schema`, as PostgreSQL writes a row as text.
async fn every_row(url: &str, schema: &str) -> Vec<u8> {
    use sqlx::{Connection, Row};
    let mut connection = sqlx::PgConnection::connect(url).await.unwrap();
    let tables: Vec<String> = sqlx::query(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = $1",
    )
    .bind(schema)
    .fetch_all(&mut connection)
    .await
    .unwrap()
    .iter()
    .map(|row| row.get::<String, _>(0))
    .collect();
    assert!(tables.len() > 10, "{tables:?}");
    let mut dump = Vec::new();
    for table in tables {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT t::text FROM {schema}.\"{table}\" t"
        )))
        .fetch_all(&mut connection)
        .await
        .unwrap();
        for row in rows {
            dump.extend_from_slice(row.get::<String, _>(0).as_bytes());
            dump.push(b'\n');
        }
    }
    connection.close().await.unwrap();
    dump
}
