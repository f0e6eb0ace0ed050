//! Problem details (RFC 9457): how every error is told.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::Finding;

/// The media type of problem details.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// The prefix of every problem `type`.
pub const PROBLEM_TYPE_PREFIX: &str = "urn:ferry:problem:";

/// An error, as RFC 9457 problem details.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// A stable identifier of the kind of problem, such as
    /// `urn:ferry:problem:not-found`.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong this time, and what is expected.
    pub detail: String,
    /// The request's id, to find it in the server's log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// For `gate-blocked`: every blocker, with how to clear it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blockers: Vec<Finding>,
}

impl Problem {
    /// The short name of the problem's type (`not-found` for
    /// `urn:ferry:problem:not-found`).
    pub fn slug(&self) -> &str {
        self.kind
            .strip_prefix(PROBLEM_TYPE_PREFIX)
            .unwrap_or(&self.kind)
    }
}
