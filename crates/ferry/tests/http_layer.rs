//! What a real `ferry serve` answers to requests its HTTP layer cannot read
//! (a request target over 64 KiB, a request line that is no HTTP, a head
//! larger than it reads): problem documents, as every other refusal, never
//! an empty body.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::Value;
use support::Server;

/// Sends `request` as it is and answers the status, the head and the body.
fn send_raw(server: &Server, request: &[u8]) -> (u16, String, String) {
    let address = server.url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    // The server may answer and close before it has read all of it.
    let _ = stream.write_all(request);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP answer: {answer:?}"));
    (status, head.to_owned(), body.to_owned())
}

/// Asserts a problem of type `slug` with `status`, and answers its detail.
#[track_caller]
fn problem(answer: &(u16, String, String), status: u16, slug: &str) -> String {
    let (got, head, body) = answer;
    assert_eq!(*got, status, "{head}\n{body}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/problem+json"),
        "{head}"
    );
    let problem: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"));
    assert_eq!(
        problem["type"],
        format!("urn:ferry:problem:{slug}"),
        "{body}"
    );
    assert_eq!(problem["status"], status);
    problem["detail"].as_str().unwrap_or_default().to_owned()
}

#[test]
fn requests_the_http_layer_cannot_read_are_answered_with_problems() {
    let server = Server::start();

    // A 100 KB request target: past what the HTTP layer reads at all.
    let long = format!(
        "GET /api/v1/services/{} HTTP/1.1\r\nHost: ferry\r\n\r\n",
        "a".repeat(100_000)
    );
    let detail = problem(&send_raw(&server, long.as_bytes()), 414, "uri-too-long");
    assert!(detail.contains("at most 8192 bytes"), "{detail}");

    // A 10 KB one: read, and refused by the server's own limit.
    let long = format!(
        "GET /api/v1/services/{} HTTP/1.1\r\nHost: ferry\r\nConnection: close\r\n\r\n",
        "a".repeat(10_000)
    );
    problem(&send_raw(&server, long.as_bytes()), 414, "uri-too-long");

    // Something that is no HTTP request.
    let detail = problem(
        &send_raw(&server, b"HELLO THERE\x01\r\n\r\n"),
        400,
        "bad-request",
    );
    assert!(detail.contains("not valid HTTP/1.1"), "{detail}");

    // A head larger than the server reads.
    let big = format!(
        "GET /healthz HTTP/1.1\r\nHost: ferry\r\nX-Big: {}\r\n\r\n",
        "b".repeat(600_000)
    );
    problem(&send_raw(&server, big.as_bytes()), 431, "headers-too-large");

    // The server still answers as before.
    let (status, _, body) = send_raw(
        &server,
        b"GET /healthz HTTP/1.1\r\nHost: ferry\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status, 200, "{body}");
}
