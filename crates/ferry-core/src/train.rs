//! Release trains: releases of several services that go together.
//!
//! A train lists one release per service, in the order they deploy (their
//! dependency order: `--order api,worker,web`, else the order given). A
//! promotion of a train into an environment is a **run**:
//!
//! 1. every member's gates are judged first, all or nothing: one blocked
//!    member blocks the train;
//! 2. the members deploy one after the other, each once the one before it
//!    succeeded;
//! 3. when one fails (or is cancelled), it is rolled back on the targets it
//!    changed, then the members already changed in that environment are
//!    rolled back in reverse order, each once the one after it is back, and
//!    the run fails. So when a run has ended, the environment holds either
//!    every new member or the versions it held before (a member that had no
//!    version there before has nothing to go back to and stays).
//!
//! [`next_step`] is that rule as a pure function of what the members'
//! deployments are doing; the orchestrator asks it on every pass.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::DeploymentStatus;
use crate::Name;

/// Where a member of a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberFacts {
    /// The status of the member's deployment in this run; `None` before it
    /// was made.
    pub deployment: Option<DeploymentStatus>,
    /// The status of the rollback of that deployment, if one was made.
    pub rollback: Option<DeploymentStatus>,
    /// Whether there is anything to go back to: a release of the service
    /// that succeeded in the environment before this run's deployment, and
    /// (for a failed deployment) a target it changed.
    pub restorable: bool,
}

/// What a run does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrainStep {
    /// Deploy member `0`.
    Start(usize),
    /// Something is under way: wait.
    Wait,
    /// Roll back member `0` in this environment.
    RollBack(usize),
    /// Every member succeeded.
    Succeeded,
    /// Member `failed` failed and what it and the members before it changed
    /// is rolled back.
    Failed {
        /// The member that failed.
        failed: usize,
    },
}

/// How a run stands as a whole.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Its members deploy, or roll back.
    Running,
    /// Every member succeeded.
    Succeeded,
    /// A member failed; the members changed were rolled back.
    Failed,
}

impl RunStatus {
    /// The status's name, as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
        }
    }

    /// The status named `text`.
    pub fn parse(text: &str) -> Option<Self> {
        [RunStatus::Running, RunStatus::Succeeded, RunStatus::Failed]
            .into_iter()
            .find(|status| status.as_str() == text)
    }
}

fn failed(status: DeploymentStatus) -> bool {
    matches!(
        status,
        DeploymentStatus::Failed | DeploymentStatus::RolledBack | DeploymentStatus::Cancelled
    )
}

/// What the run of `members` (in their order) does next; see the module's
/// documentation.
pub fn next_step(members: &[MemberFacts]) -> TrainStep {
    let first_failed = members
        .iter()
        .position(|m| m.deployment.is_some_and(failed));
    let Some(failed_index) = first_failed else {
        for (index, member) in members.iter().enumerate() {
            match member.deployment {
                None => return TrainStep::Start(index),
                Some(DeploymentStatus::Succeeded) => {}
                Some(_) => return TrainStep::Wait,
            }
        }
        return TrainStep::Succeeded;
    };
    // A member after the failed one that is still deploying (it cannot
    // be, as members go one at a time, but a crash between two writes
    // could leave one): wait for it, then roll it back with the rest.
    if members[failed_index + 1..]
        .iter()
        .any(|m| m.deployment.is_some_and(|s| !s.is_finished()))
    {
        return TrainStep::Wait;
    }
    // Back to front: the members after the failed one, then it, then the
    // ones before it, each once the one after it is back.
    for index in (0..members.len()).rev() {
        let member = &members[index];
        let Some(status) = member.deployment else {
            continue;
        };
        let changed = status == DeploymentStatus::Succeeded || failed(status);
        if !changed || !member.restorable {
            continue;
        }
        match member.rollback {
            None if status == DeploymentStatus::RolledBack => {}
            None => return TrainStep::RollBack(index),
            Some(rollback) if !rollback.is_finished() => return TrainStep::Wait,
            Some(_) => {}
        }
    }
    TrainStep::Failed {
        failed: failed_index,
    }
}

/// Checks a train's members and order: one release per service, and an
/// order (when given) that names each member's service once. Answers the
/// indexes of `services` in deployment order.
pub fn order(services: &[Name], order: &[Name]) -> Result<Vec<usize>, String> {
    if services.is_empty() {
        return Err("a train needs at least one release: --release SERVICE@VERSION".into());
    }
    let mut seen = HashSet::new();
    for service in services {
        if !seen.insert(service) {
            return Err(format!(
                "{service} is in the train twice; a train holds one release of each service"
            ));
        }
    }
    if order.is_empty() {
        return Ok((0..services.len()).collect());
    }
    let mut named = HashSet::new();
    let mut indexes = Vec::with_capacity(order.len());
    for service in order {
        if !named.insert(service) {
            return Err(format!("--order names {service} twice"));
        }
        let index = services
            .iter()
            .position(|s| s == service)
            .ok_or_else(|| format!("--order names {service}, which has no release in the train"))?;
        indexes.push(index);
    }
    if let Some(missing) = services.iter().find(|s| !named.contains(s)) {
        return Err(format!(
            "--order leaves out {missing}; name every service of the train, in the order they deploy"
        ));
    }
    Ok(indexes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use DeploymentStatus as D;

    fn member(deployment: Option<D>, rollback: Option<D>) -> MemberFacts {
        MemberFacts {
            deployment,
            rollback,
            restorable: true,
        }
    }

    #[test]
    fn members_go_one_after_the_other() {
        let none = member(None, None);
        let ok = member(Some(D::Succeeded), None);
        let running = member(Some(D::Running), None);
        assert_eq!(next_step(&[none, none, none]), TrainStep::Start(0));
        assert_eq!(next_step(&[running, none, none]), TrainStep::Wait);
        assert_eq!(next_step(&[ok, none, none]), TrainStep::Start(1));
        assert_eq!(next_step(&[ok, ok, ok]), TrainStep::Succeeded);
    }

    #[test]
    fn a_failure_rolls_back_from_the_failed_member_to_the_first() {
        let ok = member(Some(D::Succeeded), None);
        let none = member(None, None);
        let failed = member(Some(D::Failed), None);
        assert_eq!(next_step(&[ok, failed, none]), TrainStep::RollBack(1));
        let failed_rolling = member(Some(D::Failed), Some(D::Running));
        assert_eq!(next_step(&[ok, failed_rolling, none]), TrainStep::Wait);
        let failed_back = member(Some(D::RolledBack), Some(D::Succeeded));
        assert_eq!(next_step(&[ok, failed_back, none]), TrainStep::RollBack(0));
        let first_back = member(Some(D::Succeeded), Some(D::Succeeded));
        assert_eq!(
            next_step(&[first_back, failed_back, none]),
            TrainStep::Failed { failed: 1 }
        );
        // Nothing to go back to: nothing to roll back.
        let fresh = MemberFacts {
            restorable: false,
            ..ok
        };
        assert_eq!(
            next_step(&[fresh, failed_back, none]),
            TrainStep::Failed { failed: 1 }
        );
    }

    #[test]
    fn the_order_names_every_member_once() {
        let name = |s: &str| Name::parse(s).unwrap();
        let services = [name("api"), name("web"), name("worker")];
        assert_eq!(order(&services, &[]), Ok(vec![0, 1, 2]));
        assert_eq!(
            order(&services, &[name("api"), name("worker"), name("web")]),
            Ok(vec![0, 2, 1])
        );
        assert!(
            order(&services, &[name("api"), name("web")])
                .unwrap_err()
                .contains("leaves out worker")
        );
        assert!(
            order(
                &services,
                &[name("api"), name("db"), name("web"), name("worker")]
            )
            .unwrap_err()
            .contains("db, which has no release")
        );
        assert!(
            order(&[name("api"), name("api")], &[])
                .unwrap_err()
                .contains("twice")
        );
    }
}
