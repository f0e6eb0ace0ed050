//! The state machine of a deployment: a release going to an environment.
//!
//! ```text
//! queued ──► waiting ──► running ──► verifying ──► succeeded
//!    │          │           │            │
//!    └──────────┴───────────┴────────────┴──► failed ──► rolled_back
//!    └──────────┴───────────┴────────────┴──► cancelled
//! ```
//!
//! `failed` becomes `rolled_back` once the rollback deployment linked to it has
//! restored the previous release; `succeeded`, `rolled_back` and `cancelled`
//! are final.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Where a deployment stands.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeploymentStatus {
    /// Recorded, not yet picked up.
    Queued,
    /// Held until its time, its window or a freeze is over; or, once it
    /// ran, waiting for a person at a manual step, a canary stage or a
    /// failure (see `process::Pause`).
    Waiting,
    /// Its steps are running on targets.
    Running,
    /// Deployed; health checks and verification are running.
    Verifying,
    /// Deployed and verified.
    Succeeded,
    /// Halted by a failed step or check.
    Failed,
    /// Failed, and the previous release was restored.
    RolledBack,
    /// Stopped by a person before it finished.
    Cancelled,
}

/// A transition the state machine does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a deployment that is {from} cannot become {to}; from {from} it can become {allowed}")]
pub struct IllegalTransition {
    /// The current status.
    pub from: DeploymentStatus,
    /// The requested status.
    pub to: DeploymentStatus,
    /// The statuses allowed from `from`, for the message.
    pub allowed: String,
}

impl DeploymentStatus {
    /// Every status, in the order of the machine.
    pub const ALL: [DeploymentStatus; 8] = [
        DeploymentStatus::Queued,
        DeploymentStatus::Waiting,
        DeploymentStatus::Running,
        DeploymentStatus::Verifying,
        DeploymentStatus::Succeeded,
        DeploymentStatus::Failed,
        DeploymentStatus::RolledBack,
        DeploymentStatus::Cancelled,
    ];

    /// The status's name as stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            DeploymentStatus::Queued => "queued",
            DeploymentStatus::Waiting => "waiting",
            DeploymentStatus::Running => "running",
            DeploymentStatus::Verifying => "verifying",
            DeploymentStatus::Succeeded => "succeeded",
            DeploymentStatus::Failed => "failed",
            DeploymentStatus::RolledBack => "rolled_back",
            DeploymentStatus::Cancelled => "cancelled",
        }
    }

    /// Parses a status name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == s)
    }

    /// The statuses a deployment may move to from this one.
    pub fn next(self) -> &'static [DeploymentStatus] {
        use DeploymentStatus::*;
        match self {
            Queued => &[Waiting, Running, Failed, Cancelled],
            Waiting => &[Running, Failed, Cancelled],
            Running => &[Waiting, Verifying, Succeeded, Failed, Cancelled],
            Verifying => &[Succeeded, Failed, Cancelled],
            Failed => &[RolledBack],
            Succeeded | RolledBack | Cancelled => &[],
        }
    }

    /// Whether no further transition is possible, or only the bookkeeping
    /// one of a failure being rolled back.
    pub fn is_finished(self) -> bool {
        use DeploymentStatus::*;
        matches!(self, Succeeded | Failed | RolledBack | Cancelled)
    }

    /// Checks the move to `to`.
    pub fn transition(self, to: DeploymentStatus) -> Result<DeploymentStatus, IllegalTransition> {
        if self.next().contains(&to) {
            return Ok(to);
        }
        let allowed = match self.next() {
            [] => "nothing: it is final".to_owned(),
            next => next
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        };
        Err(IllegalTransition {
            from: self,
            to,
            allowed,
        })
    }
}

impl fmt::Display for DeploymentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::DeploymentStatus::{self, *};

    /// The full table of legal moves; every pair not listed is illegal.
    const LEGAL: &[(DeploymentStatus, DeploymentStatus)] = &[
        (Queued, Waiting),
        (Queued, Running),
        (Queued, Failed),
        (Queued, Cancelled),
        (Waiting, Running),
        (Waiting, Failed),
        (Waiting, Cancelled),
        (Running, Waiting),
        (Running, Verifying),
        (Running, Succeeded),
        (Running, Failed),
        (Running, Cancelled),
        (Verifying, Succeeded),
        (Verifying, Failed),
        (Verifying, Cancelled),
        (Failed, RolledBack),
    ];

    #[test]
    fn every_pair_is_legal_exactly_when_listed() {
        for from in DeploymentStatus::ALL {
            for to in DeploymentStatus::ALL {
                let expected = LEGAL.contains(&(from, to));
                assert_eq!(from.transition(to).is_ok(), expected, "{from} -> {to}");
            }
        }
    }

    #[test]
    fn an_illegal_move_names_the_allowed_ones() {
        let error = Queued.transition(Succeeded).unwrap_err();
        assert_eq!(
            error.to_string(),
            "a deployment that is queued cannot become succeeded; from queued it can become waiting, running, failed, cancelled"
        );
        let error = Succeeded.transition(Running).unwrap_err();
        assert!(
            error.to_string().ends_with("nothing: it is final"),
            "{error}"
        );
    }

    #[test]
    fn names_round_trip() {
        for status in DeploymentStatus::ALL {
            assert_eq!(DeploymentStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(DeploymentStatus::parse("done"), None);
    }

    #[test]
    fn finished_statuses() {
        let finished: Vec<_> = DeploymentStatus::ALL
            .into_iter()
            .filter(|s| s.is_finished())
            .collect();
        assert_eq!(finished, [Succeeded, Failed, RolledBack, Cancelled]);
    }
}
