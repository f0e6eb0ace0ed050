//! A fact: one statement of what happened, with the audit events behind it.

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// What a fact is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FactKind {
    /// A release: its version, commit, notes and artifacts.
    Release,
    /// A commit a release brings.
    Commit,
    /// Something done to a release after it was made: abandoned, marked
    /// bad, unmarked, planned.
    ReleaseEvent,
    /// A change request linked to a release, as it stands.
    Change,
    /// One move of a change request: submitted, assessed, approved…
    ChangeStep,
    /// Evidence that a release was tested in an environment.
    Evidence,
    /// A person's approval or rejection of a release for an environment.
    Approval,
    /// A deployment as it stands, with its targets.
    Deployment,
    /// One step of a deployment's history: a change of status, a job
    /// created, claimed or reported.
    DeploymentStep,
    /// A deployment's log: the file that holds it, and its digest.
    Log,
}

impl FactKind {
    /// The kind as the files spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            FactKind::Release => "release",
            FactKind::Commit => "commit",
            FactKind::ReleaseEvent => "release-event",
            FactKind::Change => "change",
            FactKind::ChangeStep => "change-step",
            FactKind::Evidence => "evidence",
            FactKind::Approval => "approval",
            FactKind::Deployment => "deployment",
            FactKind::DeploymentStep => "deployment-step",
            FactKind::Log => "log",
        }
    }
}

/// One fact of a pack, as its line of `facts.jsonl` holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fact {
    /// What it is about.
    pub kind: FactKind,
    /// What identifies it within the pack, such as `approval:api@1.4.0:prod:alice:345`:
    /// unique, so that an edited fact is still recognised.
    pub key: String,
    /// How a person names it, such as `approval of api@1.4.0 for prod by alice`.
    pub about: String,
    /// The sequence numbers of the audit events behind it, ascending.
    pub audit: Vec<i64>,
    /// What it says: the record or the event, as JSON.
    pub data: serde_json::Value,
}

impl Fact {
    /// Its line of `facts.jsonl`, without the line feed: what its digest covers.
    pub fn line(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }
}

/// `sha256:` and the hexadecimal SHA-256 of `bytes`: how a pack writes
/// every digest.
pub fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fact_is_one_line_whose_digest_is_that_of_the_line() {
        let fact = Fact {
            kind: FactKind::Approval,
            key: "approval:api@1.4.0:prod:alice:3".into(),
            about: "approval of api@1.4.0 for prod by alice".into(),
            audit: vec![3],
            data: serde_json::json!({ "comment": "two\nlines" }),
        };
        let line = fact.line().unwrap();
        assert!(!line.contains('\n'), "{line}");
        assert!(line.starts_with(r#"{"kind":"approval","key":"#), "{line}");
        assert_eq!(serde_json::from_str::<Fact>(&line).unwrap(), fact);
        assert_eq!(
            sha256(b""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        for kind in [FactKind::ReleaseEvent, FactKind::DeploymentStep] {
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
    }
}
