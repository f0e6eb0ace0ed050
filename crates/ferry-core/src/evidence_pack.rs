//! Evidence packs: one archive that tells an auditor what changed, how it
//! was tested, who approved it, where and when it was deployed, and proves
//! each of those facts by the audit events behind it.
//!
//! A pack is a `.tar.gz` of a few files under one folder:
//!
//! - `manifest.json` ([`Manifest`]): what the pack covers ([`Scope`]), the
//!   audit trail's head when it was made, every other file with its SHA-256,
//!   and every fact, in order, with its SHA-256 and the audit events
//!   (sequence number and hash) behind it;
//! - `facts.jsonl`: the facts ([`Fact`]), one JSON object a line, in the
//!   manifest's order; a fact's digest is the SHA-256 of its line without
//!   the line feed;
//! - `audit-events.jsonl`: the audit events behind the facts, by sequence
//!   number, with every field their hash covers, so that each hash can be
//!   recomputed ([`crate::audit::event_hash`]) and each link to the event
//!   before it checked where both are in the pack;
//! - `logs/deployment-N.log`: each deployment's log, as text;
//! - `README.txt`: how to verify it, with ferry or by hand.
//!
//! [`verify`] checks a pack offline and names every problem: a fact edited,
//! missing or out of order, a file edited or missing, an audit event whose
//! hash does not match its fields or whose link is broken. Everything here
//! works on bytes in memory: the server writes the archive, the CLI reads
//! it, neither through this module's I/O.

mod archive;
mod build;
mod fact;
mod manifest;
mod order;
mod scope;
mod verify;

pub use archive::{ArchiveError, Files, MAX_UNPACKED_BYTES, read_archive, write_archive};
pub use build::{BuildError, EventLine, Pack, PackInput, build};
pub use fact::{Fact, FactKind, sha256};
pub use manifest::{AuditHead, AuditLink, FactEntry, FileEntry, Manifest};
pub use scope::{Period, Scope, ScopeError};
pub use verify::{Problem, Report, verify};

/// The format a manifest names, so a reader knows what it holds.
pub const FORMAT: &str = "ferry-evidence-pack/1";

/// The manifest's file.
pub const MANIFEST: &str = "manifest.json";

/// The facts' file: one JSON object a line.
pub const FACTS: &str = "facts.jsonl";

/// The audit events' file: one JSON object a line, by sequence number.
pub const AUDIT_EVENTS: &str = "audit-events.jsonl";

/// The file that says how to verify the pack.
pub const README: &str = "README.txt";

/// The folder of the deployments' logs.
pub const LOGS: &str = "logs";

/// The README written into every pack.
pub const README_TEXT: &str = include_str!("evidence_pack/README.txt");
