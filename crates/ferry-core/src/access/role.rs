//! The roles and the actions each allows: the permission table, written
//! once.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::change::ChangeAction;

/// A set of rights, given to users and groups by grants.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Reads everything but secret values.
    Viewer,
    /// A viewer who also creates releases, uploads artifacts, adds evidence,
    /// raises and submits change requests.
    Developer,
    /// A developer who also promotes, rolls back, cancels deployments and
    /// reports deployments run by other tools.
    Deployer,
    /// A viewer who also approves and rejects releases, and assesses,
    /// approves, rejects and defers change requests (never their own).
    Approver,
    /// Everything a deployer and an approver may do, plus freezes, change
    /// schedules and reviews, emergency promotions, and completing the
    /// post-implementation reviews of deployments.
    ReleaseManager,
    /// Everything: the configuration, users, groups, grants, variables and
    /// secrets, agents, every token.
    Admin,
}

impl Role {
    /// Every role, from the fewest rights to the most.
    pub const ALL: [Role; 6] = [
        Role::Viewer,
        Role::Developer,
        Role::Deployer,
        Role::Approver,
        Role::ReleaseManager,
        Role::Admin,
    ];

    /// The role's name, as written in commands and stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Developer => "developer",
            Role::Deployer => "deployer",
            Role::Approver => "approver",
            Role::ReleaseManager => "release-manager",
            Role::Admin => "admin",
        }
    }

    /// The role named `text`; the error names every role.
    pub fn parse(text: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|role| role.as_str() == text)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|r| r.as_str()).collect();
                format!(
                    "{text:?} is not a role; expected one of {}",
                    names.join(", ")
                )
            })
    }

    /// Whether this role allows `action`: the permission table.
    pub fn allows(self, action: Action) -> bool {
        use Action as A;
        let viewer = matches!(action, A::Read);
        let developer = viewer
            || matches!(
                action,
                A::CreateRelease | A::AddEvidence | A::CreateChange | A::SubmitChange
            );
        let deployer = developer
            || matches!(
                action,
                A::Promote
                    | A::Rollback
                    | A::CancelDeployment
                    | A::ContinueDeployment
                    | A::ManageIncidents
                    | A::ReportDeployment
                    | A::AbandonRelease
                    | A::ImplementChange
            );
        let approver = viewer
            || matches!(
                action,
                A::DecideRelease | A::AssessChange | A::ApproveChange | A::DeferChange
            );
        let release_manager = deployer
            || approver
            || matches!(
                action,
                A::ManageFreezes
                    | A::ManageLocks
                    | A::UnmarkRelease
                    | A::ManagePlans
                    | A::ManageTrains
                    | A::EmergencyPromote
                    | A::ScheduleChange
                    | A::ReviewChange
                    | A::CloseChange
                    | A::CompleteReview
            );
        match self {
            Role::Viewer => viewer,
            Role::Developer => developer,
            Role::Deployer => deployer,
            Role::Approver => approver,
            Role::ReleaseManager => release_manager,
            Role::Admin => true,
        }
    }

    /// The actions this role allows, in the table's order.
    pub fn actions(self) -> Vec<Action> {
        Action::ALL
            .into_iter()
            .filter(|action| self.allows(*action))
            .collect()
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Something a caller may be allowed to do. Each route and each act of the
/// orchestrator on someone's behalf names one.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Read anything but secret values.
    Read,
    /// Create a release of a service and upload its artifacts.
    CreateRelease,
    /// Record test evidence for a release in an environment.
    AddEvidence,
    /// Raise a change request.
    CreateChange,
    /// Submit a change request to the change board.
    SubmitChange,
    /// Promote a release into an environment.
    Promote,
    /// Put an earlier release back into an environment.
    Rollback,
    /// Cancel a deployment.
    CancelDeployment,
    /// Open and resolve incidents.
    ManageIncidents,
    /// Decide on a paused deployment: continue a manual step or a canary
    /// stage, retry or skip failed targets, roll back.
    ContinueDeployment,
    /// Report the outcome of a deployment run by another tool.
    ReportDeployment,
    /// Abandon a release.
    AbandonRelease,
    /// Record that a change request was carried out.
    ImplementChange,
    /// Approve or reject a release for an environment.
    DecideRelease,
    /// Assess a change request.
    AssessChange,
    /// Approve or reject a change request.
    ApproveChange,
    /// Defer a change request.
    DeferChange,
    /// Create and delete freezes.
    ManageFreezes,
    /// Lock and unlock environments, or one service in them.
    ManageLocks,
    /// Lift a release's bad mark, so it may be promoted there again.
    UnmarkRelease,
    /// Create and change release plans: milestones, tasks, owners.
    ManagePlans,
    /// Create release trains.
    ManageTrains,
    /// Promote on the emergency path (windows and freezes become warnings).
    EmergencyPromote,
    /// Schedule a change request's window.
    ScheduleChange,
    /// Record a change request's post-implementation review.
    ReviewChange,
    /// Close a change request.
    CloseChange,
    /// Complete a deployment's post-implementation review (outcome, notes,
    /// follow-up actions).
    CompleteReview,
    /// Apply a configuration: environments, policies, lifecycles, services,
    /// trust policies.
    ApplyConfig,
    /// Create, disable and enable users; list and revoke every token.
    ManageUsers,
    /// Create groups and change their members.
    ManageGroups,
    /// Grant and revoke roles.
    ManageGrants,
    /// Set and unset variables and secrets of an environment.
    ManageVariables,
    /// Create, revoke and rotate agent tokens of an environment.
    ManageAgents,
    /// Create and delete webhook subscriptions, see and resend their
    /// deliveries.
    ManageWebhooks,
}

impl Action {
    /// Every action, in the permission table's order.
    pub const ALL: [Action; 34] = [
        Action::Read,
        Action::CreateRelease,
        Action::AddEvidence,
        Action::CreateChange,
        Action::SubmitChange,
        Action::Promote,
        Action::Rollback,
        Action::CancelDeployment,
        Action::ContinueDeployment,
        Action::ManageIncidents,
        Action::ReportDeployment,
        Action::AbandonRelease,
        Action::ImplementChange,
        Action::DecideRelease,
        Action::AssessChange,
        Action::ApproveChange,
        Action::DeferChange,
        Action::ManageFreezes,
        Action::ManageLocks,
        Action::UnmarkRelease,
        Action::ManagePlans,
        Action::ManageTrains,
        Action::EmergencyPromote,
        Action::ScheduleChange,
        Action::ReviewChange,
        Action::CloseChange,
        Action::CompleteReview,
        Action::ApplyConfig,
        Action::ManageUsers,
        Action::ManageGroups,
        Action::ManageGrants,
        Action::ManageVariables,
        Action::ManageAgents,
        Action::ManageWebhooks,
    ];

    /// The action's name, as printed and audited.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Read => "read",
            Action::CreateRelease => "create-release",
            Action::AddEvidence => "add-evidence",
            Action::CreateChange => "create-change",
            Action::SubmitChange => "submit-change",
            Action::Promote => "promote",
            Action::Rollback => "rollback",
            Action::CancelDeployment => "cancel-deployment",
            Action::ContinueDeployment => "continue-deployment",
            Action::ManageIncidents => "manage-incidents",
            Action::ReportDeployment => "report-deployment",
            Action::AbandonRelease => "abandon-release",
            Action::ImplementChange => "implement-change",
            Action::DecideRelease => "decide-release",
            Action::AssessChange => "assess-change",
            Action::ApproveChange => "approve-change",
            Action::DeferChange => "defer-change",
            Action::ManageFreezes => "manage-freezes",
            Action::ManageLocks => "manage-locks",
            Action::UnmarkRelease => "unmark-release",
            Action::ManagePlans => "manage-plans",
            Action::ManageTrains => "manage-trains",
            Action::EmergencyPromote => "emergency-promote",
            Action::ScheduleChange => "schedule-change",
            Action::ReviewChange => "review-change",
            Action::CloseChange => "close-change",
            Action::CompleteReview => "complete-review",
            Action::ApplyConfig => "apply-config",
            Action::ManageUsers => "manage-users",
            Action::ManageGroups => "manage-groups",
            Action::ManageGrants => "manage-grants",
            Action::ManageVariables => "manage-variables",
            Action::ManageAgents => "manage-agents",
            Action::ManageWebhooks => "manage-webhooks",
        }
    }

    /// What the action is, for people (the permission table's second column).
    pub fn describe(self) -> &'static str {
        match self {
            Action::Read => "read everything but secret values",
            Action::CreateRelease => "create releases, upload artifacts",
            Action::AddEvidence => "add test evidence",
            Action::CreateChange => "raise change requests",
            Action::SubmitChange => "submit change requests",
            Action::Promote => "promote releases",
            Action::Rollback => "roll back",
            Action::CancelDeployment => "cancel deployments",
            Action::ContinueDeployment => "decide on paused deployments (continue, retry, skip)",
            Action::ManageIncidents => "open and resolve incidents",
            Action::ReportDeployment => "report deployments run by other tools",
            Action::AbandonRelease => "abandon releases",
            Action::ImplementChange => "mark change requests implemented",
            Action::DecideRelease => "approve and reject releases (never their own)",
            Action::AssessChange => "assess change requests (never their own)",
            Action::ApproveChange => "approve and reject change requests (never their own)",
            Action::DeferChange => "defer change requests (never their own)",
            Action::ManageFreezes => "create and delete freezes",
            Action::ManageLocks => "lock and unlock environments and services",
            Action::UnmarkRelease => "unmark releases marked bad by a rollback",
            Action::ManagePlans => "create and change release plans",
            Action::ManageTrains => "create release trains",
            Action::EmergencyPromote => "emergency promotions, with a reason",
            Action::ScheduleChange => "schedule change requests",
            Action::ReviewChange => "review implemented change requests",
            Action::CloseChange => "close change requests",
            Action::CompleteReview => "complete post-implementation reviews of deployments",
            Action::ApplyConfig => "apply ferry.toml (environments, policies, services, trust)",
            Action::ManageUsers => "create, disable and enable users; every token",
            Action::ManageGroups => "create groups, change their members",
            Action::ManageGrants => "grant and revoke roles",
            Action::ManageVariables => "set and unset variables and secrets",
            Action::ManageAgents => "create, revoke and rotate agent tokens",
            Action::ManageWebhooks => "create and delete webhooks, resend deliveries",
        }
    }

    /// Whether a protected environment asks, for this action, a grant that
    /// names it: the actions that move a release into or out of the
    /// environment, stop it there, or approve it.
    pub fn is_guarded(self) -> bool {
        matches!(
            self,
            Action::Promote
                | Action::EmergencyPromote
                | Action::Rollback
                | Action::CancelDeployment
                | Action::ContinueDeployment
                | Action::ReportDeployment
                | Action::DecideRelease
                | Action::ManageLocks
                | Action::UnmarkRelease
        )
    }
}

impl Action {
    /// The right a move of a change request needs.
    pub fn for_change(action: ChangeAction) -> Action {
        match action {
            ChangeAction::Submit => Action::SubmitChange,
            ChangeAction::Assess => Action::AssessChange,
            ChangeAction::Approve | ChangeAction::Reject => Action::ApproveChange,
            ChangeAction::Defer => Action::DeferChange,
            ChangeAction::Schedule => Action::ScheduleChange,
            ChangeAction::Implement => Action::ImplementChange,
            ChangeAction::Review => Action::ReviewChange,
            ChangeAction::Close => Action::CloseChange,
        }
    }

    /// Whether whoever raised a change request is refused this move of it:
    /// nobody assesses, approves, rejects or defers their own change (the
    /// change board's decisions are someone else's).
    pub fn refuses_raiser(action: ChangeAction) -> bool {
        matches!(
            action,
            ChangeAction::Assess
                | ChangeAction::Approve
                | ChangeAction::Reject
                | ChangeAction::Defer
        )
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The permission table: for each action, the roles that allow it.
pub fn permission_table() -> Vec<(Action, Vec<Role>)> {
    Action::ALL
        .into_iter()
        .map(|action| {
            let roles = Role::ALL
                .into_iter()
                .filter(|role| role.allows(action))
                .collect();
            (action, roles)
        })
        .collect()
}

/// The permission table as the Markdown of `docs/security.md`: one row per
/// action, a column per role (✓ where the role allows it), and whether a
/// protected environment asks a grant that names it.
pub fn permission_table_markdown() -> String {
    let mut out = String::from("| action | what it allows |");
    for role in Role::ALL {
        out.push_str(&format!(" {role} |"));
    }
    out.push_str(" protected env needs a named grant |\n|---|---|");
    for _ in Role::ALL {
        out.push_str(":-:|");
    }
    out.push_str(":-:|\n");
    for (action, roles) in permission_table() {
        out.push_str(&format!("| `{action}` | {} |", action.describe()));
        for role in Role::ALL {
            out.push_str(if roles.contains(&role) {
                " ✓ |"
            } else {
                "   |"
            });
        }
        out.push_str(if action.is_guarded() {
            " yes |\n"
        } else {
            " |\n"
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_and_unknown_ones_are_named() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Ok(role));
            let json = serde_json::to_string(&role).unwrap();
            assert_eq!(json, format!("\"{role}\""));
        }
        let error = Role::parse("owner").unwrap_err();
        assert!(error.contains("release-manager"), "{error}");
    }

    #[test]
    fn the_roles_nest_as_documented() {
        let has = |role: Role| role.actions();
        let viewer = has(Role::Viewer);
        assert_eq!(viewer, [Action::Read]);
        for lower in [Role::Viewer, Role::Developer] {
            assert!(has(lower).iter().all(|a| Role::Deployer.allows(*a)));
        }
        for lower in [Role::Deployer, Role::Approver] {
            assert!(has(lower).iter().all(|a| Role::ReleaseManager.allows(*a)));
        }
        assert_eq!(has(Role::Admin), Action::ALL);
        // An approver cannot deploy, a deployer cannot approve.
        assert!(!Role::Approver.allows(Action::Promote));
        assert!(!Role::Deployer.allows(Action::DecideRelease));
        // Only administrators touch the configuration, people and secrets.
        for action in [
            Action::ApplyConfig,
            Action::ManageUsers,
            Action::ManageGroups,
            Action::ManageGrants,
            Action::ManageVariables,
            Action::ManageAgents,
            Action::ManageWebhooks,
        ] {
            let roles: Vec<Role> = Role::ALL.into_iter().filter(|r| r.allows(action)).collect();
            assert_eq!(roles, [Role::Admin], "{action}");
        }
    }

    #[test]
    fn the_table_lists_every_action_once() {
        let table = permission_table();
        assert_eq!(table.len(), Action::ALL.len());
        let mut names: Vec<&str> = Action::ALL.iter().map(|a| a.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Action::ALL.len());
        assert!(table.iter().all(|(_, roles)| roles.contains(&Role::Admin)));
    }
}
