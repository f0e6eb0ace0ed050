//! Checking a pack offline: every file against the manifest's digest,
//! every fact against its digest and place, every audit event against its
//! hash, its link to the event before it and the manifest's link to it.
//! Each problem names what it is about, a fact by its number, what it is
//! and the audit events behind it.

use std::collections::{BTreeMap, HashMap};

use super::archive::Files;
use super::build::EventLine;
use super::fact::sha256;
use super::manifest::Manifest;
use super::order::{Line, align};
use super::{AUDIT_EVENTS, FACTS, FORMAT, MANIFEST};

/// Something wrong with a pack.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// There is no manifest.
    #[error("the pack has no {MANIFEST}: it is not an evidence pack, or its manifest was removed")]
    NoManifest,
    /// The manifest is not one.
    #[error("{MANIFEST} cannot be read: {0}")]
    BadManifest(String),
    /// The manifest is of a format this version does not know.
    #[error("{MANIFEST} is of format {0:?}; this ferry reads {FORMAT}")]
    UnknownFormat(String),
    /// The manifest numbers a fact other than by its place.
    #[error("the manifest lists fact {n} in place {place}: the manifest was edited")]
    Misnumbered {
        /// Its place in the manifest, from 1.
        place: usize,
        /// The number it gives.
        n: usize,
    },
    /// A file the manifest lists is not in the pack.
    #[error("file {path}{} is missing", about(.fact))]
    FileMissing {
        /// Its path.
        path: String,
        /// The fact that names it, if one does.
        fact: Option<String>,
    },
    /// A file's digest is not the manifest's.
    #[error("file {path}{} was edited: its digest does not match the manifest", about(.fact))]
    FileEdited {
        /// Its path.
        path: String,
        /// The fact that names it, if one does.
        fact: Option<String>,
    },
    /// A file the manifest does not list.
    #[error("file {0} is not in the manifest: it was added")]
    FileAdded(String),
    /// A fact's line is not as the manifest says.
    #[error("{fact} was edited: its digest does not match the manifest (line {line} of {FACTS})")]
    FactEdited {
        /// The fact, named.
        fact: String,
        /// Where it is now, from 1.
        line: usize,
    },
    /// No line holds a fact.
    #[error("{0} is missing")]
    FactMissing(String),
    /// Facts are each where another should be.
    #[error("facts {} are out of order", and(.0))]
    FactsOutOfOrder(Vec<String>),
    /// A line repeats a fact.
    #[error("line {line} of {FACTS} repeats {fact}")]
    FactRepeated {
        /// The fact, named.
        fact: String,
        /// The line, from 1.
        line: usize,
    },
    /// A line is no fact of the manifest.
    #[error("line {0} of {FACTS} is no fact of the manifest: it was added")]
    FactAdded(usize),
    /// A line of the audit events is not one.
    #[error("line {line} of {AUDIT_EVENTS} is not an audit event: {reason}")]
    EventUnreadable {
        /// The line, from 1.
        line: usize,
        /// Why.
        reason: String,
    },
    /// An audit event's fields do not give its hash.
    #[error("audit event {seq}'s hash does not match its fields: it was edited{}", behind(.facts))]
    EventEdited {
        /// Its sequence number.
        seq: i64,
        /// The facts behind which it is, named.
        facts: Vec<String>,
    },
    /// An audit event behind a fact is not in the pack.
    #[error("audit event {seq} is missing{}", behind(.facts))]
    EventMissing {
        /// Its sequence number.
        seq: i64,
        /// The facts behind which it is, named.
        facts: Vec<String>,
    },
    /// An audit event's hash is not the one the manifest links to.
    #[error("audit event {seq} is not the one the manifest names (its hash differs): it was replaced{}", behind(.facts))]
    EventReplaced {
        /// Its sequence number.
        seq: i64,
        /// The facts behind which it is, named.
        facts: Vec<String>,
    },
    /// An audit event does not link to the one before it.
    #[error(
        "audit event {seq} does not link to audit event {previous} before it: one of them was replaced"
    )]
    EventUnlinked {
        /// Its sequence number.
        seq: i64,
        /// The one before it.
        previous: i64,
    },
    /// Audit events are not by sequence number.
    #[error(
        "audit event {seq} comes after audit event {previous} in {AUDIT_EVENTS}: the events are out of order"
    )]
    EventsOutOfOrder {
        /// The event out of place.
        seq: i64,
        /// The event it follows.
        previous: i64,
    },
    /// An audit event is there twice.
    #[error("audit event {0} is in {AUDIT_EVENTS} twice")]
    EventRepeated(i64),
    /// An audit event lies after the head the pack was made at.
    #[error(
        "audit event {seq} lies beyond the head of the audit trail the manifest records ({head})"
    )]
    EventBeyondHead {
        /// Its sequence number.
        seq: i64,
        /// The head's.
        head: i64,
    },
    /// The head's event is in the pack with another hash.
    #[error("audit event {0} is the head the manifest records, but its hash is not the head's")]
    HeadMismatch(i64),
}

/// `, behind fact 12 (…)` for the facts an event is behind.
fn behind(facts: &[String]) -> String {
    if facts.is_empty() {
        String::new()
    } else {
        format!("; it is behind {}", facts.join(" and "))
    }
}

/// ` (fact 12 (…))` for the fact that names a file.
fn about(fact: &Option<String>) -> String {
    fact.as_ref()
        .map(|fact| format!(" ({fact})"))
        .unwrap_or_default()
}

/// `3 (…) and 5 (…)`, `1 (…), 2 (…) and 3 (…)`.
fn and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The manifest, when it could be read.
    pub manifest: Option<Manifest>,
    /// The manifest's own digest: kept apart from the pack (or compared
    /// with the one printed when it was made), it proves the manifest too.
    pub manifest_sha256: Option<String>,
    /// How many facts the manifest lists.
    pub facts: usize,
    /// How many audit events the pack holds.
    pub events: usize,
    /// How many files the manifest lists.
    pub files: usize,
    /// Everything wrong, by file: the files, the facts, the audit events.
    pub problems: Vec<Problem>,
}

impl Report {
    /// Whether nothing is wrong.
    pub fn intact(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Checks a pack's files (as [`super::read_archive`] gives them).
pub fn verify(files: &Files) -> Report {
    let mut report = Report {
        manifest: None,
        manifest_sha256: None,
        facts: 0,
        events: 0,
        files: 0,
        problems: Vec::new(),
    };
    let Some(bytes) = files.get(MANIFEST) else {
        report.problems.push(Problem::NoManifest);
        return report;
    };
    report.manifest_sha256 = Some(sha256(bytes));
    let manifest: Manifest = match serde_json::from_slice(bytes) {
        Ok(manifest) => manifest,
        Err(error) => {
            report
                .problems
                .push(Problem::BadManifest(error.to_string()));
            return report;
        }
    };
    if manifest.format != FORMAT {
        report
            .problems
            .push(Problem::UnknownFormat(manifest.format.clone()));
        report.manifest = Some(manifest);
        return report;
    }
    report.facts = manifest.facts.len();
    report.files = manifest.files.len();
    for (place, entry) in manifest.facts.iter().enumerate() {
        if entry.n != place + 1 {
            report.problems.push(Problem::Misnumbered {
                place: place + 1,
                n: entry.n,
            });
        }
    }
    let facts = check_facts(&manifest, files.get(FACTS));
    let (events, event_problems) = check_events(&manifest, files.get(AUDIT_EVENTS));
    report.events = events;
    // A file whose lines were checked one by one is named only when no
    // line told what changed (a blank line added, say).
    let mut detailed: HashMap<&str, bool> = HashMap::new();
    detailed.insert(FACTS, !facts.problems.is_empty());
    detailed.insert(AUDIT_EVENTS, !event_problems.is_empty());
    for entry in &manifest.files {
        let fact = facts.naming.get(entry.path.as_str()).cloned();
        match files.get(&entry.path) {
            None => report.problems.push(Problem::FileMissing {
                path: entry.path.clone(),
                fact,
            }),
            Some(bytes) if sha256(bytes) != entry.sha256 => {
                if !detailed.get(entry.path.as_str()).copied().unwrap_or(false) {
                    report.problems.push(Problem::FileEdited {
                        path: entry.path.clone(),
                        fact,
                    });
                }
            }
            Some(_) => {}
        }
    }
    for path in files.keys() {
        if path != MANIFEST && !manifest.files.iter().any(|entry| &entry.path == path) {
            report.problems.push(Problem::FileAdded(path.clone()));
        }
    }
    report.problems.extend(facts.problems);
    report.problems.extend(event_problems);
    report.manifest = Some(manifest);
    report
}

/// The facts' problems, and which fact names which file (a log's).
struct FactCheck {
    problems: Vec<Problem>,
    naming: HashMap<String, String>,
}

fn check_facts(manifest: &Manifest, bytes: Option<&Vec<u8>>) -> FactCheck {
    let mut check = FactCheck {
        problems: Vec::new(),
        naming: HashMap::new(),
    };
    let Some(bytes) = bytes else {
        // The file is missing: the file check says so.
        return check;
    };
    let mut lines = Vec::new();
    for line in bytes.split(|byte| *byte == b'\n') {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let json: Option<serde_json::Value> = serde_json::from_slice(line).ok();
        let field = |name: &str| {
            json.as_ref()
                .and_then(|json| json.get(name))
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
        };
        lines.push(Line {
            digest: sha256(line),
            key: field("key"),
        });
    }
    let expected: Vec<(&str, &str)> = manifest
        .facts
        .iter()
        .map(|entry| (entry.sha256.as_str(), entry.key.as_str()))
        .collect();
    let alignment = align(&expected, &lines);
    let name = |fact: usize| manifest.facts[fact].name();
    let label = |fact: usize| manifest.facts[fact].label();
    let mut by_fact: BTreeMap<usize, Vec<Problem>> = BTreeMap::new();
    for (line, fact) in &alignment.edited {
        by_fact.entry(*fact).or_default().push(Problem::FactEdited {
            fact: name(*fact),
            line: line + 1,
        });
    }
    for fact in &alignment.missing {
        by_fact
            .entry(*fact)
            .or_default()
            .push(Problem::FactMissing(name(*fact)));
    }
    for group in &alignment.out_of_order {
        let first = group.first().copied().unwrap_or_default();
        by_fact
            .entry(first)
            .or_default()
            .push(Problem::FactsOutOfOrder(
                group.iter().map(|fact| label(*fact)).collect(),
            ));
    }
    for (line, fact) in &alignment.repeated {
        by_fact
            .entry(*fact)
            .or_default()
            .push(Problem::FactRepeated {
                fact: name(*fact),
                line: line + 1,
            });
    }
    check.problems = by_fact.into_values().flatten().collect();
    check.problems.extend(
        alignment
            .unknown
            .iter()
            .map(|line| Problem::FactAdded(line + 1)),
    );
    // The file each log fact names, as the manifest's key says it
    // (`log:deployment:42` names `logs/deployment-42.log`).
    for entry in &manifest.facts {
        if let Some(id) = entry.key.strip_prefix("log:deployment:") {
            check
                .naming
                .insert(format!("{}/deployment-{id}.log", super::LOGS), entry.name());
        }
    }
    check
}

/// How many audit events the pack holds, and their problems.
fn check_events(manifest: &Manifest, bytes: Option<&Vec<u8>>) -> (usize, Vec<Problem>) {
    let mut problems = Vec::new();
    let Some(bytes) = bytes else {
        return (0, problems);
    };
    let mut behind: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for entry in &manifest.facts {
        for link in &entry.audit {
            behind.entry(link.seq).or_default().push(entry.name());
        }
    }
    let facts_of = |seq: i64| behind.get(&seq).cloned().unwrap_or_default();
    let mut events: BTreeMap<i64, EventLine> = BTreeMap::new();
    let mut count = 0;
    let mut previous: Option<i64> = None;
    for (index, line) in bytes.split(|byte| *byte == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let event: EventLine = match serde_json::from_slice(line) {
            Ok(event) => event,
            Err(error) => {
                problems.push(Problem::EventUnreadable {
                    line: index + 1,
                    reason: error.to_string(),
                });
                continue;
            }
        };
        count += 1;
        match previous {
            Some(before) if event.seq == before => {
                problems.push(Problem::EventRepeated(event.seq));
                continue;
            }
            Some(before) if event.seq < before => problems.push(Problem::EventsOutOfOrder {
                seq: event.seq,
                previous: before,
            }),
            _ => {}
        }
        previous = Some(previous.map_or(event.seq, |before| before.max(event.seq)));
        if events.contains_key(&event.seq) {
            problems.push(Problem::EventRepeated(event.seq));
            continue;
        }
        events.insert(event.seq, event);
    }
    let head = &manifest.audit_head;
    let mut edited = Vec::new();
    for event in events.values() {
        if event.computed_hash() != event.hash {
            edited.push(event.seq);
            problems.push(Problem::EventEdited {
                seq: event.seq,
                facts: facts_of(event.seq),
            });
        }
        if let Some(before) = events.get(&(event.seq - 1))
            && before.hash != event.prev_hash
        {
            problems.push(Problem::EventUnlinked {
                seq: event.seq,
                previous: before.seq,
            });
        }
        if event.seq > head.seq {
            problems.push(Problem::EventBeyondHead {
                seq: event.seq,
                head: head.seq,
            });
        } else if event.seq == head.seq && event.hash != head.hash {
            problems.push(Problem::HeadMismatch(event.seq));
        }
    }
    let mut named = Vec::new();
    for entry in &manifest.facts {
        for link in &entry.audit {
            if named.contains(&link.seq) || edited.contains(&link.seq) {
                continue;
            }
            match events.get(&link.seq) {
                None => {
                    named.push(link.seq);
                    problems.push(Problem::EventMissing {
                        seq: link.seq,
                        facts: facts_of(link.seq),
                    });
                }
                Some(event) if event.hash != link.hash => {
                    named.push(link.seq);
                    problems.push(Problem::EventReplaced {
                        seq: link.seq,
                        facts: facts_of(link.seq),
                    });
                }
                Some(_) => {}
            }
        }
    }
    (count, problems)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence_pack::build::tests::sample;

    fn files(pack: &crate::evidence_pack::Pack) -> Files {
        pack.files.iter().cloned().collect()
    }

    /// The lines of a text file of the pack.
    fn lines(files: &Files, path: &str) -> Vec<String> {
        String::from_utf8(files[path].clone())
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn set_lines(files: &mut Files, path: &str, lines: &[String]) {
        files.insert(path.to_owned(), (lines.join("\n") + "\n").into_bytes());
    }

    fn messages(files: &Files) -> Vec<String> {
        verify(files)
            .problems
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn an_intact_pack_verifies() {
        let pack = sample(5);
        let report = verify(&files(&pack));
        assert!(report.intact(), "{:?}", report.problems);
        assert_eq!((report.facts, report.events, report.files), (5, 5, 4));
        assert_eq!(report.manifest.unwrap(), pack.manifest);
    }

    #[test]
    fn an_edited_fact_is_named() {
        let mut files = files(&sample(5));
        let mut facts = lines(&files, FACTS);
        facts[2] = facts[2].replace(r#""i":3"#, r#""i":33"#);
        set_lines(&mut files, FACTS, &facts);
        assert_eq!(
            messages(&files),
            [
                "fact 3 (approval number 3, audit seq 3) was edited: its digest does not match the manifest (line 3 of facts.jsonl)"
            ]
        );
    }

    #[test]
    fn a_deleted_fact_is_missing() {
        let mut files = files(&sample(5));
        let mut facts = lines(&files, FACTS);
        facts.remove(3);
        set_lines(&mut files, FACTS, &facts);
        assert_eq!(
            messages(&files),
            ["fact 4 (approval number 4, audit seq 4) is missing"]
        );
    }

    #[test]
    fn swapped_facts_are_out_of_order() {
        let mut files = files(&sample(5));
        let mut facts = lines(&files, FACTS);
        facts.swap(1, 3);
        set_lines(&mut files, FACTS, &facts);
        assert_eq!(
            messages(&files),
            [
                "facts 2 (approval number 2, audit seq 2) and 4 (approval number 4, audit seq 4) are out of order"
            ]
        );
    }

    #[test]
    fn an_added_line_and_a_repeated_fact_are_named() {
        let mut files = files(&sample(3));
        let mut facts = lines(&files, FACTS);
        facts.push(facts[0].clone());
        facts.push("not a fact".into());
        set_lines(&mut files, FACTS, &facts);
        assert_eq!(
            messages(&files),
            [
                "line 4 of facts.jsonl repeats fact 1 (approval number 1, audit seq 1)",
                "line 5 of facts.jsonl is no fact of the manifest: it was added"
            ]
        );
        // A blank line changes nothing a fact says, but the file is not as made.
        let mut files = files_of(3);
        let mut facts = lines(&files, FACTS);
        facts.insert(1, String::new());
        set_lines(&mut files, FACTS, &facts);
        assert_eq!(
            messages(&files),
            ["file facts.jsonl was edited: its digest does not match the manifest"]
        );
    }

    fn files_of(n: i64) -> Files {
        files(&sample(n))
    }

    #[test]
    fn an_edited_audit_event_names_the_fact_behind_it() {
        let mut files = files_of(3);
        let mut events = lines(&files, AUDIT_EVENTS);
        events[1] = events[1].replace(r#""actor":"alice""#, r#""actor":"mallory""#);
        set_lines(&mut files, AUDIT_EVENTS, &events);
        assert_eq!(
            messages(&files),
            [
                "audit event 2's hash does not match its fields: it was edited; it is behind fact 2 (approval number 2, audit seq 2)"
            ]
        );
    }

    #[test]
    fn a_rehashed_audit_event_breaks_its_links() {
        let mut files = files_of(3);
        let mut events = lines(&files, AUDIT_EVENTS);
        let mut event: EventLine = serde_json::from_str(&events[1]).unwrap();
        event.actor = "mallory".into();
        event.hash = event.computed_hash();
        events[1] = serde_json::to_string(&event).unwrap();
        set_lines(&mut files, AUDIT_EVENTS, &events);
        assert_eq!(
            messages(&files),
            [
                "audit event 3 does not link to audit event 2 before it: one of them was replaced",
                "audit event 2 is not the one the manifest names (its hash differs): it was replaced; it is behind fact 2 (approval number 2, audit seq 2)"
            ]
        );
    }

    #[test]
    fn removed_and_reordered_audit_events_are_named() {
        let mut files = files_of(3);
        let mut events = lines(&files, AUDIT_EVENTS);
        events.swap(0, 1);
        set_lines(&mut files, AUDIT_EVENTS, &events);
        assert_eq!(
            messages(&files),
            [
                "audit event 1 comes after audit event 2 in audit-events.jsonl: the events are out of order"
            ]
        );
        let mut files = files_of(3);
        let mut events = lines(&files, AUDIT_EVENTS);
        events.remove(2);
        set_lines(&mut files, AUDIT_EVENTS, &events);
        assert_eq!(
            messages(&files),
            ["audit event 3 is missing; it is behind fact 3 (approval number 3, audit seq 3)"]
        );
    }

    #[test]
    fn files_edited_missing_or_added_are_named() {
        let mut files = files_of(2);
        files.insert("logs/deployment-1.log".into(), b"another line\n".to_vec());
        files.insert("notes.txt".into(), Vec::new());
        files.remove(crate::evidence_pack::README);
        assert_eq!(
            messages(&files),
            [
                "file README.txt is missing",
                "file logs/deployment-1.log was edited: its digest does not match the manifest",
                "file notes.txt is not in the manifest: it was added"
            ]
        );
        let mut files = files_of(2);
        files.remove(MANIFEST);
        assert_eq!(verify(&files).problems, [Problem::NoManifest]);
        files.insert(MANIFEST.into(), b"{}".to_vec());
        assert!(matches!(
            verify(&files).problems[..],
            [Problem::BadManifest(_)]
        ));
    }

    #[test]
    fn an_edited_manifest_is_caught_by_the_events_or_its_own_digest() {
        let pack = sample(2);
        let mut manifest = pack.manifest.clone();
        manifest.audit_head.seq = 1;
        let mut files = files(&pack);
        files.insert(
            MANIFEST.into(),
            serde_json::to_vec_pretty(&manifest).unwrap(),
        );
        let report = verify(&files);
        assert_eq!(
            report.problems,
            [
                Problem::HeadMismatch(1),
                Problem::EventBeyondHead { seq: 2, head: 1 }
            ]
        );
        assert_ne!(
            report.manifest_sha256,
            Some(sha256(&files_of(2)[MANIFEST])),
            "the manifest's own digest changed"
        );
    }
}
