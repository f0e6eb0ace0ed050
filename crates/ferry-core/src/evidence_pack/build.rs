//! Making a pack: the facts, the audit events behind them and the logs,
//! written as files with a manifest that lists the digest of each file and
//! of each fact.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::fact::{Fact, sha256};
use super::manifest::{AuditHead, AuditLink, FactEntry, FileEntry, Manifest};
use super::scope::Scope;
use super::{AUDIT_EVENTS, FACTS, FORMAT, LOGS, MANIFEST, README, README_TEXT};
use crate::audit::{AuditRecord, EventFields, event_hash};
use crate::time::format_time;

/// An audit event as `audit-events.jsonl` holds it: every field its hash
/// covers, as stored (`details` is the very text that was hashed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventLine {
    /// Its position in the trail.
    pub seq: i64,
    /// When it happened.
    pub time: String,
    /// Who did it.
    pub actor: String,
    /// What was done.
    pub action: String,
    /// What it was done to.
    pub object: String,
    /// Before and after, as the JSON text that was hashed.
    pub details: String,
    /// The hash of the event before it in the trail.
    pub prev_hash: String,
    /// Its hash.
    pub hash: String,
}

impl EventLine {
    /// The hash its fields give: equal to [`EventLine::hash`] unless it
    /// was edited.
    pub fn computed_hash(&self) -> String {
        event_hash(
            &self.prev_hash,
            EventFields {
                seq: self.seq,
                time: &self.time,
                actor: &self.actor,
                action: &self.action,
                object: &self.object,
                details: &self.details,
            },
        )
    }
}

impl From<AuditRecord> for EventLine {
    fn from(record: AuditRecord) -> Self {
        Self {
            seq: record.seq,
            time: record.time,
            actor: record.actor,
            action: record.action,
            object: record.object,
            details: record.details,
            prev_hash: record.prev_hash,
            hash: record.hash,
        }
    }
}

/// What a pack is made of.
#[derive(Debug, Clone)]
pub struct PackInput {
    /// What it covers.
    pub scope: Scope,
    /// When it is made.
    pub created_at: DateTime<Utc>,
    /// The audit trail's head, read with the facts.
    pub head: AuditHead,
    /// The facts, in the order the pack tells them.
    pub facts: Vec<Fact>,
    /// The audit events behind them (others are left out).
    pub events: Vec<AuditRecord>,
    /// The deployments' logs: their paths under `logs/`, and their bytes.
    pub logs: Vec<(String, Vec<u8>)>,
}

/// Why a pack could not be made: each is a fault of the facts given, not
/// of the trail.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// Two facts have one key.
    #[error("two facts of the pack have the key {0:?}")]
    DuplicateKey(String),
    /// A fact names an audit event that was not given.
    #[error("fact {key:?} names audit event {seq}, which is not among the pack's events")]
    MissingEvent {
        /// The fact.
        key: String,
        /// The event.
        seq: i64,
    },
    /// A log's path is not a file name under `logs/`, or is given twice.
    #[error("{0:?} cannot be a log's path in a pack")]
    BadPath(String),
    /// A fact could not be written as JSON.
    #[error("a fact could not be written: {0}")]
    Json(#[from] serde_json::Error),
}

/// A pack made, before it is archived.
#[derive(Debug, Clone)]
pub struct Pack {
    /// Its manifest.
    pub manifest: Manifest,
    /// Every file, the manifest and the README included, by path.
    pub files: Vec<(String, Vec<u8>)>,
}

impl Pack {
    /// The archive's name: `evidence-pack-api-1.4.0-prod.tar.gz`.
    pub fn file_name(&self) -> String {
        format!("{}.tar.gz", self.manifest.scope.file_stem())
    }

    /// The pack as a `.tar.gz`, its files under a folder named after it.
    pub fn archive(&self) -> Result<Vec<u8>, super::ArchiveError> {
        let mtime = crate::time::parse_time(&self.manifest.created_at)
            .map(|at| at.timestamp())
            .unwrap_or_default();
        super::write_archive(&self.manifest.scope.file_stem(), &self.files, mtime)
    }
}

/// Writes the files of a pack and its manifest.
pub fn build(input: PackInput) -> Result<Pack, BuildError> {
    let events: BTreeMap<i64, EventLine> = input
        .events
        .into_iter()
        .map(|record| (record.seq, EventLine::from(record)))
        .collect();
    let mut keys = HashSet::new();
    let mut used = BTreeSet::new();
    let mut facts_text = String::new();
    let mut entries = Vec::with_capacity(input.facts.len());
    for (index, fact) in input.facts.iter().enumerate() {
        if !keys.insert(fact.key.as_str()) {
            return Err(BuildError::DuplicateKey(fact.key.clone()));
        }
        let mut audit = Vec::with_capacity(fact.audit.len());
        for seq in &fact.audit {
            let event = events.get(seq).ok_or_else(|| BuildError::MissingEvent {
                key: fact.key.clone(),
                seq: *seq,
            })?;
            used.insert(*seq);
            audit.push(AuditLink {
                seq: *seq,
                hash: event.hash.clone(),
            });
        }
        let line = fact.line()?;
        entries.push(FactEntry {
            n: index + 1,
            kind: fact.kind,
            key: fact.key.clone(),
            about: fact.about.clone(),
            audit,
            sha256: sha256(line.as_bytes()),
        });
        facts_text.push_str(&line);
        facts_text.push('\n');
    }
    let mut events_text = String::new();
    for event in events.values().filter(|event| used.contains(&event.seq)) {
        events_text.push_str(&serde_json::to_string(event)?);
        events_text.push('\n');
    }
    let mut files: Vec<(String, Vec<u8>)> = vec![
        (README.to_owned(), README_TEXT.as_bytes().to_vec()),
        (FACTS.to_owned(), facts_text.into_bytes()),
        (AUDIT_EVENTS.to_owned(), events_text.into_bytes()),
    ];
    let mut paths: HashSet<String> = files.iter().map(|(path, _)| path.clone()).collect();
    for (path, bytes) in input.logs {
        let name = path.strip_prefix(&format!("{LOGS}/")).unwrap_or_default();
        let plain = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
            && !name.starts_with('.');
        if !plain || !paths.insert(path.clone()) {
            return Err(BuildError::BadPath(path));
        }
        files.push((path, bytes));
    }
    let manifest = Manifest {
        format: FORMAT.to_owned(),
        created_at: format_time(input.created_at),
        scope: input.scope,
        audit_head: input.head,
        files: files
            .iter()
            .map(|(path, bytes)| FileEntry {
                path: path.clone(),
                bytes: bytes.len() as u64,
                sha256: sha256(bytes),
            })
            .collect(),
        facts: entries,
    };
    let mut manifest_text = serde_json::to_string_pretty(&manifest)?;
    manifest_text.push('\n');
    // The README first, then the manifest, then what it lists.
    files.insert(1, (MANIFEST.to_owned(), manifest_text.into_bytes()));
    Ok(Pack { manifest, files })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::audit::GENESIS_HASH;
    use crate::evidence_pack::FactKind;

    /// A chain of `n` events about `release:api@1.4.0`, by alice.
    pub(crate) fn chain(n: i64) -> Vec<AuditRecord> {
        let mut prev = GENESIS_HASH.to_owned();
        (1..=n)
            .map(|seq| {
                let time = format!("2026-07-01T00:00:{seq:02}.000000Z");
                let details = format!(r#"{{"after":{{"n":{seq}}}}}"#);
                let hash = event_hash(
                    &prev,
                    EventFields {
                        seq,
                        time: &time,
                        actor: "alice",
                        action: "approval.approve",
                        object: "release:api@1.4.0",
                        details: &details,
                    },
                );
                AuditRecord {
                    seq,
                    time,
                    actor: "alice".into(),
                    action: "approval.approve".into(),
                    object: "release:api@1.4.0".into(),
                    details,
                    prev_hash: std::mem::replace(&mut prev, hash.clone()),
                    hash,
                }
            })
            .collect()
    }

    /// A pack of `n` facts, fact `i` behind event `i`, with one log.
    pub(crate) fn sample(n: i64) -> Pack {
        let events = chain(n + 2);
        let head = AuditHead {
            seq: n + 2,
            hash: events[(n + 1) as usize].hash.clone(),
        };
        let facts = (1..=n)
            .map(|i| Fact {
                kind: FactKind::Approval,
                key: format!("approval:{i}"),
                about: format!("approval number {i}"),
                audit: vec![i],
                data: serde_json::json!({ "i": i }),
            })
            .collect();
        build(PackInput {
            scope: Scope::Release {
                release: "api@1.4.0".into(),
                environment: Some("prod".into()),
            },
            created_at: crate::time::parse_time("2026-07-02T00:00:00Z").unwrap(),
            head,
            facts,
            events,
            logs: vec![("logs/deployment-1.log".into(), b"a line\n".to_vec())],
        })
        .unwrap()
    }

    #[test]
    fn the_manifest_lists_every_file_and_fact_with_its_digest() {
        let pack = sample(3);
        let paths: Vec<&str> = pack.files.iter().map(|(path, _)| path.as_str()).collect();
        assert_eq!(
            paths,
            [
                README,
                MANIFEST,
                FACTS,
                AUDIT_EVENTS,
                "logs/deployment-1.log"
            ]
        );
        let listed: Vec<&str> = pack
            .manifest
            .files
            .iter()
            .map(|f| f.path.as_str())
            .collect();
        assert_eq!(
            listed,
            [README, FACTS, AUDIT_EVENTS, "logs/deployment-1.log"]
        );
        let facts = &pack.files[2].1;
        let lines: Vec<&[u8]> = facts
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .collect();
        assert_eq!(lines.len(), 3);
        for (line, entry) in lines.iter().zip(&pack.manifest.facts) {
            assert_eq!(sha256(line), entry.sha256);
        }
        assert_eq!(pack.manifest.facts[1].n, 2);
        assert_eq!(pack.manifest.facts[1].audit[0].seq, 2);
        // Only the events behind facts are kept: 3 of 5.
        let events = String::from_utf8(pack.files[3].1.clone()).unwrap();
        assert_eq!(events.lines().count(), 3);
        let first: EventLine = serde_json::from_str(events.lines().next().unwrap()).unwrap();
        assert_eq!(first.computed_hash(), first.hash);
        assert_eq!(pack.file_name(), "evidence-pack-api-1.4.0-prod.tar.gz");
    }

    #[test]
    fn inconsistent_input_is_refused() {
        let fact = |key: &str, seq: i64| Fact {
            kind: FactKind::Release,
            key: key.into(),
            about: "a".into(),
            audit: vec![seq],
            data: serde_json::Value::Null,
        };
        let input = |facts: Vec<Fact>, logs: Vec<(String, Vec<u8>)>| PackInput {
            scope: Scope::Release {
                release: "api@1.4.0".into(),
                environment: None,
            },
            created_at: Utc::now(),
            head: AuditHead {
                seq: 2,
                hash: String::new(),
            },
            facts,
            events: chain(2),
            logs,
        };
        let error = build(input(vec![fact("a", 1), fact("a", 2)], vec![])).unwrap_err();
        assert!(matches!(error, BuildError::DuplicateKey(_)), "{error}");
        let error = build(input(vec![fact("a", 7)], vec![])).unwrap_err();
        assert!(
            matches!(error, BuildError::MissingEvent { seq: 7, .. }),
            "{error}"
        );
        for path in ["logs/../x", "manifest.json", "logs/", "facts.jsonl"] {
            let error = build(input(vec![], vec![(path.into(), vec![])])).unwrap_err();
            assert!(matches!(error, BuildError::BadPath(_)), "{path}: {error}");
        }
    }
}
