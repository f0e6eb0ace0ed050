//! Retries against a real TCP server on loopback that loses answers on
//! purpose: a POST whose connection broke is sent again with the same
//! `Idempotency-Key` and gets its answer; each call has a key of its own; a
//! request is sent at most three times and the error then says so; a POST
//! without a key (the agent's reports) is never sent twice.

use std::sync::{Arc, Mutex};

use ferry_client::{Client, Error};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

/// A request the server read: its method, path and `Idempotency-Key`.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    method: String,
    path: String,
    key: Option<String>,
}

/// What the server does with each connection, in turn: drop it without an
/// answer (`None`) or send this answer. Connections past the plan are
/// dropped unanswered.
struct Fake {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Fake {
    async fn start(plan: Vec<Option<String>>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        tokio::spawn(async move {
            let mut plan = plan.into_iter();
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                let Some(request) = read_request(&mut stream).await else {
                    continue;
                };
                log.lock().unwrap().push(request);
                if let Some(Some(answer)) = plan.next() {
                    stream.write_all(answer.as_bytes()).await.unwrap();
                    stream.shutdown().await.ok();
                }
                // Otherwise the connection is dropped here, unanswered.
            }
        });
        Self { url, seen }
    }

    fn client(&self) -> Client {
        let _ = rustls::crypto::ring::default_provider().install_default();
        Client::new(&self.url, Some("ferry_test".into())).unwrap()
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// Reads one request (head and `Content-Length` bytes of body).
async fn read_request(stream: &mut TcpStream) -> Option<Seen> {
    let mut bytes = Vec::new();
    let mut buffer = [0u8; 4096];
    let head_end = loop {
        if let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        let read = stream.read(&mut buffer).await.ok()?;
        if read == 0 {
            return None;
        }
        bytes.extend_from_slice(&buffer[..read]);
    };
    let head = String::from_utf8_lossy(&bytes[..head_end]).into_owned();
    let mut lines = head.lines();
    let mut start = lines.next()?.split(' ');
    let (method, path) = (start.next()?.to_owned(), start.next()?.to_owned());
    let header = |name: &str| {
        head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name)
                .then(|| value.trim().to_owned())
        })
    };
    let length: usize = header("content-length").map_or(0, |n| n.parse().unwrap());
    while bytes.len() < head_end + 4 + length {
        let read = stream.read(&mut buffer).await.ok()?;
        if read == 0 {
            return None;
        }
        bytes.extend_from_slice(&buffer[..read]);
    }
    Some(Seen {
        method,
        path,
        key: header("idempotency-key"),
    })
}

/// An HTTP answer with a JSON body.
fn answer(status: &str, body: &str) -> Option<String> {
    let content_type = if status.starts_with('2') {
        "application/json"
    } else {
        "application/problem+json"
    };
    Some(format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ))
}

const GROUP: &str = r#"{"name":"release","members":[],"created_at":"2030-01-01T00:00:00Z"}"#;

fn new_group() -> ferry_api::CreateGroup {
    serde_json::from_value(serde_json::json!({ "name": "release" })).unwrap()
}

#[tokio::test]
async fn a_post_whose_answer_was_lost_is_sent_again_with_the_same_key() {
    let server = Fake::start(vec![
        None,
        answer("201 Created", GROUP),
        answer("201 Created", GROUP),
    ])
    .await;
    let client = server.client();

    let group = client.create_group(&new_group()).await.unwrap();
    assert_eq!(group.name, "release");
    let seen = server.seen();
    assert_eq!(seen.len(), 2, "sent again once: {seen:?}");
    assert!(
        seen.iter()
            .all(|s| s.method == "POST" && s.path == "/api/v1/groups")
    );
    let key = seen[0]
        .key
        .clone()
        .expect("a POST carries an Idempotency-Key");
    assert_eq!(seen[1].key.as_ref(), Some(&key), "the retry keeps its key");
    assert!(
        key.starts_with('"') && key.ends_with('"'),
        "a Structured Field string: {key}"
    );

    // Another call is another request: another key.
    client.create_group(&new_group()).await.unwrap();
    let seen = server.seen();
    assert_eq!(seen.len(), 3);
    assert_ne!(seen[2].key.as_ref(), Some(&key));
}

#[tokio::test]
async fn a_request_is_sent_three_times_at_most_and_the_error_says_so() {
    let server = Fake::start(Vec::new()).await;
    let started = std::time::Instant::now();
    let error = server
        .client()
        .create_group(&new_group())
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Transport { .. }), "{error:?}");
    assert!(error.to_string().contains("tried 3 times"), "{error}");
    let seen = server.seen();
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert!(seen.iter().all(|s| s.key == seen[0].key));
    // 200 ms, then 1 s, between the attempts.
    assert!(started.elapsed() >= std::time::Duration::from_millis(1200));
}

#[tokio::test]
async fn a_server_that_is_away_for_now_is_asked_again() {
    let unavailable = r#"{"type":"urn:ferry:problem:unavailable","title":"Service unavailable","status":503,"detail":"the database does not answer"}"#;
    let server = Fake::start(vec![
        answer("503 Service Unavailable", unavailable),
        answer("502 Bad Gateway", "<html>bad gateway</html>"),
        answer("201 Created", GROUP),
    ])
    .await;
    server.client().create_group(&new_group()).await.unwrap();
    assert_eq!(server.seen().len(), 3);
}

#[tokio::test]
async fn a_refusal_is_not_asked_again() {
    let reused = r#"{"type":"urn:ferry:problem:idempotency-key-reused","title":"t","status":422,"detail":"the key was used for another request"}"#;
    let server = Fake::start(vec![answer("422 Unprocessable Entity", reused)]).await;
    let error = server
        .client()
        .create_group(&new_group())
        .await
        .unwrap_err();
    assert_eq!(error.problem().unwrap().status, 422);
    assert_eq!(server.seen().len(), 1);
}

#[tokio::test]
async fn a_post_without_a_key_is_never_sent_twice() {
    let server = Fake::start(Vec::new()).await;
    let error = server.client().agent_heartbeat(7, 1).await.unwrap_err();
    assert!(matches!(error, Error::Transport { .. }), "{error:?}");
    let seen = server.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].key, None, "the agent's reports carry no key");
}

#[tokio::test]
async fn a_read_is_sent_again_too() {
    let server = Fake::start(vec![None, answer("200 OK", r#"{"items":[]}"#)]).await;
    let freezes = server.client().freezes().await.unwrap();
    assert!(freezes.items.is_empty());
    let seen = server.seen();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(seen.iter().all(|s| s.method == "GET" && s.key.is_none()));
}
