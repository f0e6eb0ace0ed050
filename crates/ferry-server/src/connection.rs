//! The connections the server accepts, with the HTTP layer's own refusals
//! made problem documents.
//!
//! Before a request reaches the router, the HTTP/1 layer answers by itself
//! a request it cannot read: a malformed request line or header (`400`), a
//! request target over 64 KiB (`414`) and a head larger than its buffer
//! (`431`), each with an empty body, and then closes the connection. Every
//! other answer of the server is a problem document, so each connection
//! rewrites such an answer, as it is written, into the problem any other
//! refusal gets. The server's own answers always carry a body and a
//! content type, so none of them is mistaken for one of these.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use ferry_api::PROBLEM_JSON;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use crate::error::ApiError;

/// A TCP listener whose connections answer the HTTP layer's refusals with
/// problems.
pub struct Listener(pub TcpListener);

impl axum::serve::Listener for Listener {
    type Io = Connection;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Connection, SocketAddr) {
        let (stream, address) = axum::serve::Listener::accept(&mut self.0).await;
        (
            Connection {
                stream,
                replacing: None,
            },
            address,
        )
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}

/// One accepted connection.
pub struct Connection {
    stream: TcpStream,
    /// An answer of the HTTP layer being written in its place.
    replacing: Option<Replacement>,
}

struct Replacement {
    bytes: Vec<u8>,
    written: usize,
    /// How many bytes of the HTTP layer's answer it stands for.
    stands_for: usize,
}

impl Connection {
    /// Writes what is left of the replacement; done, it counts as the
    /// HTTP layer's answer written whole.
    fn write_replacement(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let Some(replacement) = &mut self.replacing else {
            return Poll::Ready(Ok(0));
        };
        while replacement.written < replacement.bytes.len() {
            let left = &replacement.bytes[replacement.written..];
            match ready!(Pin::new(&mut self.stream).poll_write(cx, left)) {
                Ok(0) => {
                    self.replacing = None;
                    return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
                }
                Ok(n) => replacement.written += n,
                Err(error) => {
                    self.replacing = None;
                    return Poll::Ready(Err(error));
                }
            }
        }
        let stands_for = replacement.stands_for;
        self.replacing = None;
        Poll::Ready(Ok(stands_for))
    }
}

impl AsyncRead for Connection {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.replacing.is_none() {
            match problem_for(buf) {
                Some(bytes) => {
                    self.replacing = Some(Replacement {
                        bytes,
                        written: 0,
                        stands_for: buf.len(),
                    });
                }
                None => return Pin::new(&mut self.stream).poll_write(cx, buf),
            }
        }
        self.write_replacement(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if self.replacing.is_none() {
            // An answer without a body is written as its head alone.
            let mut written = bufs.iter().filter(|buf| !buf.is_empty());
            let replacement = match (written.next(), written.next()) {
                (Some(head), None) => problem_for(head).map(|bytes| (bytes, head.len())),
                _ => None,
            };
            match replacement {
                Some((bytes, stands_for)) => {
                    self.replacing = Some(Replacement {
                        bytes,
                        written: 0,
                        stands_for,
                    });
                }
                None => return Pin::new(&mut self.stream).poll_write_vectored(cx, bufs),
            }
        }
        self.write_replacement(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.replacing.is_some() {
            ready!(self.write_replacement(cx))?;
        }
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.replacing.is_some() {
            ready!(self.write_replacement(cx))?;
        }
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// The problem that stands for `head` when it is an answer of the HTTP
/// layer itself: a head alone, of status 400, 414 or 431, with
/// `content-length: 0` and no content type.
fn problem_for(head: &[u8]) -> Option<Vec<u8>> {
    let head = std::str::from_utf8(head).ok()?;
    let headers = head.strip_suffix("\r\n\r\n")?;
    let mut lines = headers.split("\r\n");
    let status_line = lines.next()?;
    let mut parts = status_line.splitn(3, ' ');
    let (version, code) = (parts.next()?, parts.next()?);
    if !version.starts_with("HTTP/1.") {
        return None;
    }
    let error = match code {
        "400" => ApiError::BadRequest(
            "the request could not be read: its request line or a header is not valid HTTP/1.1"
                .to_owned(),
        ),
        "414" => ApiError::UriTooLong(format!(
            "the request's path and query are longer than 64 KiB, where at most {} bytes are \
             read; send long values in a JSON body",
            crate::routes::MAX_URI_BYTES
        )),
        "431" => ApiError::HeadersTooLarge(
            "the request's headers are larger than the server reads (about 400 KiB); \
             send fewer or smaller headers"
                .to_owned(),
        ),
        _ => return None,
    };
    let mut kept = Vec::new();
    let mut empty = false;
    for line in lines {
        let name = line.split_once(':')?.0.to_ascii_lowercase();
        match name.as_str() {
            "content-length" => empty = line.split_once(':')?.1.trim() == "0",
            "content-type" | "transfer-encoding" => return None,
            "connection" => {}
            _ => kept.push(line),
        }
    }
    if !empty {
        return None;
    }
    let (status, problem) = error.into_problem();
    debug_assert_eq!(status.as_str(), code);
    let body = serde_json::to_vec(&problem).ok()?;
    let mut answer = format!(
        "{status_line}\r\ncontent-type: {PROBLEM_JSON}\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    for line in kept {
        answer.push_str(line);
        answer.push_str("\r\n");
    }
    answer.push_str("\r\n");
    let mut bytes = answer.into_bytes();
    bytes.extend_from_slice(&body);
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(bytes: &[u8]) -> String {
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[test]
    fn the_http_layers_own_refusals_become_problems() {
        for (head, slug) in [
            (
                "HTTP/1.1 414 URI Too Long\r\ncontent-length: 0\r\ndate: Fri, 04 Dec 2026 09:00:00 GMT\r\n\r\n",
                "uri-too-long",
            ),
            (
                "HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n",
                "bad-request",
            ),
            (
                "HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n\r\n",
                "headers-too-large",
            ),
        ] {
            let rewritten = answer(&problem_for(head.as_bytes()).unwrap());
            let (head, body) = rewritten.split_once("\r\n\r\n").unwrap();
            assert!(
                head.contains("content-type: application/problem+json"),
                "{head}"
            );
            assert!(
                head.contains(&format!("content-length: {}", body.len())),
                "{head}"
            );
            let problem: serde_json::Value = serde_json::from_str(body).unwrap();
            assert_eq!(problem["type"], format!("urn:ferry:problem:{slug}"));
        }
    }

    #[test]
    fn the_servers_own_answers_are_written_as_they_are() {
        for head in [
            "HTTP/1.1 400 Bad Request\r\ncontent-type: application/problem+json\r\ncontent-length: 10\r\n\r\n",
            "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
            "HTTP/1.1 414 URI Too Long\r\ncontent-type: application/problem+json\r\ncontent-length: 99\r\n\r\n",
            "HTTP/1.1 400 Bad Request\r\ntransfer-encoding: chunked\r\n\r\n",
        ] {
            assert_eq!(problem_for(head.as_bytes()), None, "{head}");
        }
    }
}
