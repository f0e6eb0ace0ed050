//! The JSON wire types of ferry's HTTP API (`/api/v1`), shared by the server,
//! the typed client and the CLI, so the three cannot disagree.
//!
//! Rules kept here: times are RFC 3339 UTC strings; lists come as
//! [`Page`]s with an opaque `next_cursor`; errors are [`Problem`]s
//! (RFC 9457) whose `type` is stable; request bodies refuse unknown fields.
//! These shapes are also what `--output json` prints, so they only grow.

mod access;
mod agent;
mod apply;
mod audit;
mod catalog;
mod change;
mod deployment;
mod gates;
mod lock;
mod logs;
mod metrics;
mod page;
mod plan;
mod problem;
mod release;
mod review;
mod schedule;
mod status;
mod train;
mod variables;
mod webhook;

pub use agent::*;
pub use apply::*;
pub use audit::*;
pub use catalog::*;
pub use change::*;
pub use deployment::*;
pub use gates::*;
pub use lock::*;
pub use logs::*;
pub use metrics::*;
pub use page::*;
pub use plan::*;
pub use problem::*;
pub use release::*;
pub use review::*;
pub use schedule::*;
pub use status::*;
pub use train::*;
pub use variables::*;
pub use webhook::*;

pub use access::{
    CreateGrant, CreateGroup, CreateInvitation, CreateToken, CreateUser, CreatedToken, CreatedUser,
    ExchangeToken, ExchangedToken, Grant, GrantEntry, Group, Invitation, Permission, Role,
    SetPassword, Token, User, Whoami,
};

pub use ferry_core::change::{ChangeKind, ChangeState};
pub use ferry_core::config::Config;
pub use ferry_core::environment::EnvironmentSpec;
pub use ferry_core::freeze::FreezeSpec;
pub use ferry_core::gates::{Finding, Verdict};
pub use ferry_core::junit::TestReport;
pub use ferry_core::lifecycle::LifecycleSpec;
pub use ferry_core::notes::{NotesCommit, ReleaseNotes};
pub use ferry_core::plan::{Action, Change, Kind, ValueChange};
pub use ferry_core::risk::{RiskAssessment, RiskFactor, RiskLevel};
pub use ferry_core::service::ServiceSpec;
pub use ferry_core::status::Cell;
pub use ferry_core::{DeploymentStatus, ReleaseState, Tier};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_use_the_rfc_9457_member_names() {
        let problem = Problem {
            kind: format!("{PROBLEM_TYPE_PREFIX}not-found"),
            title: "Not found".into(),
            status: 404,
            detail: "no service \"web\"".into(),
            request_id: None,
            blockers: Vec::new(),
        };
        let json = serde_json::to_value(&problem).unwrap();
        assert_eq!(json["type"], "urn:ferry:problem:not-found");
        assert_eq!(problem.slug(), "not-found");
        assert!(json.get("request_id").is_none());
    }

    #[test]
    fn request_bodies_refuse_unknown_fields() {
        let error = serde_json::from_str::<CreateRelease>(r#"{"version":"1.0.0","verison":"x"}"#)
            .unwrap_err();
        assert!(error.to_string().contains("verison"), "{error}");
    }

    #[test]
    fn a_job_printed_for_debugging_shows_no_variable_value() {
        let job: AgentJob = serde_json::from_value(serde_json::json!({
            "job_id": 1, "attempt": 1, "deployment_id": 1, "kind": "deploy",
            "service": "api", "version": "1.0.0", "previous_version": null,
            "environment": "prod", "steps": [], "health": null, "artifacts": [],
            "variables": { "DB_PASSWORD": "hunter2-secret", "LOG_LEVEL": "debug" },
            "secrets": ["DB_PASSWORD"]
        }))
        .unwrap();
        let printed = format!("{job:?}");
        assert!(printed.contains("DB_PASSWORD") && printed.contains("LOG_LEVEL"));
        assert!(!printed.contains("hunter2-secret") && !printed.contains("debug\""));
        assert_eq!(job.lease_seconds, 60);
    }
}
