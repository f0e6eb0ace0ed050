//! The audit trail's hash chain.
//!
//! Every audit event carries the hash of the event before it, and its own hash
//! covers that and every field of the event. Editing an event changes its hash;
//! deleting or reordering events breaks the link of the next one; truncating
//! the tail is caught by the head (the last sequence number and hash, kept
//! apart from the events and updated in the same transaction).
//!
//! The hash is SHA-256 over the fields, each prefixed by its length, so no two
//! different events can be written as the same bytes.

use sha2::{Digest, Sha256};

/// The `prev_hash` of the first event.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// An audit event as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// Position in the chain, from 1, without gaps.
    pub seq: i64,
    /// When it happened, RFC 3339 UTC as written by [`crate::time::format_time`].
    pub time: String,
    /// Who did it (a user name, or `system`).
    pub actor: String,
    /// What was done, such as `release.create`.
    pub action: String,
    /// What it was done to, such as `release:api@1.2.0`.
    pub object: String,
    /// Details (before/after), as JSON text.
    pub details: String,
    /// The hash of the previous event.
    pub prev_hash: String,
    /// This event's hash.
    pub hash: String,
}

/// The fields an event is hashed over, before it has a hash.
#[derive(Debug, Clone, Copy)]
pub struct EventFields<'a> {
    /// See [`AuditRecord::seq`].
    pub seq: i64,
    /// See [`AuditRecord::time`].
    pub time: &'a str,
    /// See [`AuditRecord::actor`].
    pub actor: &'a str,
    /// See [`AuditRecord::action`].
    pub action: &'a str,
    /// See [`AuditRecord::object`].
    pub object: &'a str,
    /// See [`AuditRecord::details`].
    pub details: &'a str,
}

/// The hash of an event whose predecessor's hash is `prev_hash`.
pub fn event_hash(prev_hash: &str, event: EventFields<'_>) -> String {
    let mut hasher = Sha256::new();
    let seq = event.seq.to_string();
    for field in [
        prev_hash,
        &seq,
        event.time,
        event.actor,
        event.action,
        event.object,
        event.details,
    ] {
        hasher.update((field.len() as u64).to_le_bytes());
        hasher.update(field.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// Where and how the chain is broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("audit event {seq}: {reason}")]
pub struct ChainBreak {
    /// The first event that does not verify (or, for a truncated tail, the
    /// first one missing).
    pub seq: i64,
    /// What is wrong with it.
    pub reason: String,
}

/// Checks a chain event by event, in sequence order, in constant memory.
#[derive(Debug)]
pub struct ChainVerifier {
    expected_seq: i64,
    prev_hash: String,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        Self {
            expected_seq: 1,
            prev_hash: GENESIS_HASH.to_owned(),
        }
    }
}

impl ChainVerifier {
    /// Checks the next event.
    pub fn push(&mut self, record: &AuditRecord) -> Result<(), ChainBreak> {
        let seq = self.expected_seq;
        if record.seq != seq {
            let reason = if record.seq > seq {
                format!(
                    "expected event {seq} next, found {}: events were removed",
                    record.seq
                )
            } else {
                format!(
                    "expected event {seq} next, found {}: events were reordered",
                    record.seq
                )
            };
            return Err(ChainBreak { seq, reason });
        }
        if record.prev_hash != self.prev_hash {
            return Err(ChainBreak {
                seq,
                reason: "its link to the previous event does not match: an event before it was removed, replaced or reordered".into(),
            });
        }
        let computed = event_hash(
            &self.prev_hash,
            EventFields {
                seq: record.seq,
                time: &record.time,
                actor: &record.actor,
                action: &record.action,
                object: &record.object,
                details: &record.details,
            },
        );
        if computed != record.hash {
            return Err(ChainBreak {
                seq,
                reason: "its content does not match its hash: the event was edited".into(),
            });
        }
        self.expected_seq += 1;
        self.prev_hash = computed;
        Ok(())
    }

    /// Ends the check against the recorded head (`seq`, `hash` of the last
    /// event), returning the number of events verified.
    pub fn finish(self, head_seq: i64, head_hash: &str) -> Result<i64, ChainBreak> {
        let count = self.expected_seq - 1;
        if head_seq > count {
            return Err(ChainBreak {
                seq: count + 1,
                reason: format!(
                    "the trail should end at event {head_seq} but ends at {count}: events were removed from the end"
                ),
            });
        }
        if head_seq < count || head_hash != self.prev_hash {
            return Err(ChainBreak {
                seq: count,
                reason: "the recorded head of the trail does not match its last event".into(),
            });
        }
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<AuditRecord> {
        let mut prev = GENESIS_HASH.to_owned();
        (1..=n)
            .map(|seq| {
                let time = format!("2026-01-01T00:00:{seq:02}.000000Z");
                let object = format!("release:api@1.0.{seq}");
                let fields = EventFields {
                    seq,
                    time: &time,
                    actor: "alice",
                    action: "release.create",
                    object: &object,
                    details: "{}",
                };
                let hash = event_hash(&prev, fields);
                let record = AuditRecord {
                    seq,
                    time: time.clone(),
                    actor: "alice".into(),
                    action: "release.create".into(),
                    object: object.clone(),
                    details: "{}".into(),
                    prev_hash: prev.clone(),
                    hash: hash.clone(),
                };
                prev = hash;
                record
            })
            .collect()
    }

    fn verify(records: &[AuditRecord], head: &AuditRecord) -> Result<i64, ChainBreak> {
        let mut verifier = ChainVerifier::default();
        for record in records {
            verifier.push(record)?;
        }
        verifier.finish(head.seq, &head.hash)
    }

    #[test]
    fn an_intact_chain_verifies() {
        let records = chain(5);
        assert_eq!(verify(&records, &records[4]), Ok(5));
        assert_eq!(ChainVerifier::default().finish(0, GENESIS_HASH), Ok(0));
    }

    #[test]
    fn an_edit_is_found_at_the_edited_event() {
        let mut records = chain(5);
        let head = records[4].clone();
        records[2].actor = "mallory".into();
        let error = verify(&records, &head).unwrap_err();
        assert_eq!(error.seq, 3);
        assert!(error.reason.contains("edited"), "{error}");
    }

    #[test]
    fn a_deletion_is_found() {
        let mut records = chain(5);
        let head = records[4].clone();
        records.remove(1);
        assert_eq!(verify(&records, &head).unwrap_err().seq, 2);
    }

    #[test]
    fn a_renumbered_deletion_is_found_by_the_link() {
        let mut records = chain(5);
        let head = records[4].clone();
        records.remove(1);
        for (index, record) in records.iter_mut().enumerate() {
            record.seq = index as i64 + 1;
        }
        let error = verify(&records, &head).unwrap_err();
        assert_eq!(error.seq, 2);
        assert!(error.reason.contains("link"), "{error}");
    }

    #[test]
    fn a_reordering_is_found() {
        let mut records = chain(5);
        let head = records[4].clone();
        records.swap(1, 2);
        assert_eq!(verify(&records, &head).unwrap_err().seq, 2);
    }

    #[test]
    fn a_truncated_tail_is_found_by_the_head() {
        let records = chain(5);
        let error = verify(&records[..3], &records[4]).unwrap_err();
        assert_eq!(error.seq, 4);
        assert!(error.reason.contains("removed from the end"), "{error}");
    }

    #[test]
    fn fields_cannot_be_shifted_into_each_other() {
        let a = event_hash(
            GENESIS_HASH,
            EventFields {
                seq: 1,
                time: "t",
                actor: "ab",
                action: "c",
                object: "",
                details: "",
            },
        );
        let b = event_hash(
            GENESIS_HASH,
            EventFields {
                seq: 1,
                time: "t",
                actor: "a",
                action: "bc",
                object: "",
                details: "",
            },
        );
        assert_ne!(a, b);
    }
}
