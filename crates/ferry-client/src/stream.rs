//! Response bodies read as they arrive: downloads, exports and followed logs.

use crate::*;

/// A response body read as it arrives: the audit trail as JSON Lines
/// (`application/x-ndjson`, one [`AuditEvent`] per line), or an artifact.
#[derive(Debug)]
pub struct Download {
    pub(crate) response: Response,
    pub(crate) url: String,
}

impl Download {
    /// A header of the response, such as `ferry-digest`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
    }

    /// The next bytes of the export, or `None` at its end. Chunks do not
    /// follow line boundaries.
    pub async fn chunk(&mut self) -> Result<Option<impl AsRef<[u8]> + use<>>, Error> {
        self.response
            .chunk()
            .await
            .map_err(|source| Error::Transport {
                url: self.url.clone(),
                reason: root_cause(&source),
                source,
            })
    }
}

/// An event of a followed deployment log.
#[derive(Debug, Clone, PartialEq)]
pub enum LogEvent {
    /// A line.
    Line(ferry_api::LogLine),
    /// The deployment's status changed.
    Status(String),
    /// The deployment ended with this status; nothing follows.
    End(String),
}

/// A deployment's log as it is written: server-sent events, parsed.
pub struct LogFollow {
    pub(crate) download: Download,
    pub(crate) buffer: Vec<u8>,
}

impl LogFollow {
    /// The next event; `None` when the server closed the stream.
    pub async fn next(&mut self) -> Result<Option<LogEvent>, Error> {
        loop {
            // An event ends at a blank line.
            if let Some(end) = self.buffer.windows(2).position(|w| w == b"\n\n") {
                let block: Vec<u8> = self.buffer.drain(..end + 2).collect();
                let text = String::from_utf8_lossy(&block);
                let mut kind = "";
                let mut data = String::new();
                for line in text.lines() {
                    if let Some(value) = line.strip_prefix("event:") {
                        kind = value.trim();
                    } else if let Some(value) = line.strip_prefix("data:") {
                        if !data.is_empty() {
                            data.push('\n');
                        }
                        data.push_str(value.strip_prefix(' ').unwrap_or(value));
                    }
                }
                match kind {
                    "log" => {
                        let line = serde_json::from_str(&data).map_err(|source| Error::Decode {
                            url: self.download.url.clone(),
                            source,
                        })?;
                        return Ok(Some(LogEvent::Line(line)));
                    }
                    "status" => return Ok(Some(LogEvent::Status(data))),
                    "end" => return Ok(Some(LogEvent::End(data))),
                    // Keep-alive comments and unknown events.
                    _ => continue,
                }
            }
            match self.download.chunk().await? {
                Some(chunk) => {
                    let chunk = chunk.as_ref();
                    // Line ends may be CRLF; events are split on LF alone.
                    self.buffer
                        .extend(chunk.iter().copied().filter(|&byte| byte != b'\r'));
                }
                None => return Ok(None),
            }
        }
    }
}
