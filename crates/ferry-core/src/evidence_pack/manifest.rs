//! The manifest: what a pack covers, the audit trail's head when it was
//! made, and the digest of every file and of every fact, in order.

use serde::{Deserialize, Serialize};

use super::fact::FactKind;
use super::scope::Scope;

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// [`super::FORMAT`].
    pub format: String,
    /// When the pack was made, RFC 3339.
    pub created_at: String,
    /// What it covers.
    pub scope: Scope,
    /// The audit trail's last event when the pack was made.
    pub audit_head: AuditHead,
    /// Every file of the pack but the manifest, the README first.
    pub files: Vec<FileEntry>,
    /// Every fact, in the order of `facts.jsonl`.
    pub facts: Vec<FactEntry>,
}

/// The head of the audit trail: its last event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditHead {
    /// The last event's sequence number (0 for an empty trail).
    pub seq: i64,
    /// Its hash.
    pub hash: String,
}

/// A file of the pack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// Its path within the pack's folder, with `/`.
    pub path: String,
    /// Its size.
    pub bytes: u64,
    /// The SHA-256 of its bytes.
    pub sha256: String,
}

/// A fact as the manifest lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FactEntry {
    /// Its number, from 1: its line in `facts.jsonl`.
    pub n: usize,
    /// What it is about.
    pub kind: FactKind,
    /// What identifies it.
    pub key: String,
    /// How a person names it.
    pub about: String,
    /// The audit events behind it: their sequence numbers and hashes.
    pub audit: Vec<AuditLink>,
    /// The SHA-256 of its line, without the line feed.
    pub sha256: String,
}

/// An audit event behind a fact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditLink {
    /// Its sequence number.
    pub seq: i64,
    /// Its hash.
    pub hash: String,
}

impl FactEntry {
    /// The fact as a problem names it: `fact 12 (approval of api@1.4.0 for
    /// prod by alice, audit seq 345)`.
    pub fn name(&self) -> String {
        format!("fact {}", self.label())
    }

    /// [`FactEntry::name`] without the word `fact`: `12 (approval of …)`,
    /// for sentences that name several facts.
    pub fn label(&self) -> String {
        let seqs: Vec<i64> = self.audit.iter().map(|link| link.seq).collect();
        let audit = match seqs.as_slice() {
            [] => String::new(),
            [one] => format!(", audit seq {one}"),
            [first, second] => format!(", audit seqs {first} and {second}"),
            [first, .., last] if seqs.len() > 4 => {
                format!(", audit seqs {first} to {last} ({} events)", seqs.len())
            }
            [rest @ .., last] => {
                let rest: Vec<String> = rest.iter().map(i64::to_string).collect();
                format!(", audit seqs {} and {last}", rest.join(", "))
            }
        };
        format!("{} ({}{audit})", self.n, self.about)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seqs: &[i64]) -> FactEntry {
        FactEntry {
            n: 12,
            kind: FactKind::Approval,
            key: "approval:api@1.4.0:prod:alice:345".into(),
            about: "approval of api@1.4.0 for prod by alice".into(),
            audit: seqs
                .iter()
                .map(|&seq| AuditLink {
                    seq,
                    hash: String::new(),
                })
                .collect(),
            sha256: String::new(),
        }
    }

    #[test]
    fn a_fact_is_named_with_its_audit_events() {
        assert_eq!(
            entry(&[345]).name(),
            "fact 12 (approval of api@1.4.0 for prod by alice, audit seq 345)"
        );
        assert_eq!(
            entry(&[]).name(),
            "fact 12 (approval of api@1.4.0 for prod by alice)"
        );
        assert!(entry(&[3, 5]).name().ends_with(", audit seqs 3 and 5)"));
        assert!(
            entry(&[3, 5, 9])
                .name()
                .ends_with(", audit seqs 3, 5 and 9)")
        );
        assert!(
            entry(&[3, 5, 9, 11, 40])
                .name()
                .ends_with(", audit seqs 3 to 40 (5 events))")
        );
    }
}
