//! Grants, what an action touches, and the one decision: [`authorize`].

use std::fmt;

use serde::{Deserialize, Serialize};

use super::role::{Action, Role};
use crate::Name;

/// A role, everywhere or only for one service and/or one environment.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    /// The role.
    pub role: Role,
    /// Only this service; every service when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<Name>,
    /// Only this environment; every environment when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<Name>,
}

/// Why a grant is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrantError {
    /// The administrator's rights cannot be scoped: configuration, people and
    /// secrets belong to no single service or environment.
    #[error(
        "the admin role cannot be scoped to a service or an environment; grant it everywhere, or grant release-manager for that scope"
    )]
    ScopedAdmin,
}

impl Grant {
    /// A grant of `role` everywhere.
    pub fn global(role: Role) -> Self {
        Self {
            role,
            service: None,
            environment: None,
        }
    }

    /// Checks the grant: `admin` is never scoped.
    pub fn validate(&self) -> Result<(), GrantError> {
        if self.role == Role::Admin && (self.service.is_some() || self.environment.is_some()) {
            return Err(GrantError::ScopedAdmin);
        }
        Ok(())
    }

    /// Whether this grant covers `target` for `action` (its role aside).
    fn covers(&self, action: Action, target: &Target<'_>) -> bool {
        if action == Action::Read {
            return true;
        }
        let service = match &self.service {
            None => true,
            Some(service) => target.service == Some(service),
        };
        let environment = match &self.environment {
            None => !(target.protected && action.is_guarded()),
            Some(environment) => target.environment == Some(environment),
        };
        service && environment
    }

    /// Whether everything this grant allows, `held` allows too: its role's
    /// actions are all `held`'s, over a scope `held` covers.
    pub fn is_within(&self, held: &Grant) -> bool {
        self.role
            .actions()
            .iter()
            .all(|action| held.role.allows(*action))
            && (held.service.is_none() || held.service == self.service)
            && (held.environment.is_none() || held.environment == self.environment)
    }

    /// Whether this grant allows `action` on `target`.
    pub fn allows(&self, action: Action, target: &Target<'_>) -> bool {
        self.role.allows(action) && self.covers(action, target)
    }
}

impl fmt::Display for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.role)?;
        match (&self.service, &self.environment) {
            (None, None) => f.write_str(" everywhere"),
            (Some(s), None) => write!(f, " for service {s}"),
            (None, Some(e)) => write!(f, " in environment {e}"),
            (Some(s), Some(e)) => write!(f, " for service {s} in environment {e}"),
        }
    }
}

/// What an action touches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Target<'a> {
    /// The service, when the action concerns one.
    pub service: Option<&'a Name>,
    /// The environment, when the action concerns one.
    pub environment: Option<&'a Name>,
    /// Whether that environment is protected.
    pub protected: bool,
}

impl<'a> Target<'a> {
    /// Nothing in particular: the server as a whole.
    pub const SERVER: Target<'static> = Target {
        service: None,
        environment: None,
        protected: false,
    };

    /// A service, in no environment in particular.
    pub fn service(service: &'a Name) -> Self {
        Self {
            service: Some(service),
            ..Target::default()
        }
    }

    /// An environment, for every service.
    pub fn environment(environment: &'a Name, protected: bool) -> Self {
        Self {
            environment: Some(environment),
            protected,
            ..Target::default()
        }
    }

    /// A service in an environment.
    pub fn deployment(service: &'a Name, environment: &'a Name, protected: bool) -> Self {
        Self {
            service: Some(service),
            environment: Some(environment),
            protected,
        }
    }
}

/// What a caller holds: the grants of its user (theirs and their groups'),
/// and, for a narrowed token, the token's own grants.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rights {
    /// The grants of the user (or, for a token of a CI workload, of its
    /// trust policy).
    pub grants: Vec<Grant>,
    /// A narrowed token's grants: the caller may do only what these allow
    /// as well.
    pub narrowed_to: Option<Vec<Grant>>,
}

impl Rights {
    /// Rights of a user with these grants, through an unnarrowed token.
    pub fn of(grants: Vec<Grant>) -> Self {
        Self {
            grants,
            narrowed_to: None,
        }
    }

    /// Whether the caller may `action` on `target`.
    pub fn allows(&self, action: Action, target: &Target<'_>) -> bool {
        let any = |grants: &[Grant]| grants.iter().any(|g| g.allows(action, target));
        any(&self.grants) && self.narrowed_to.as_deref().is_none_or(any)
    }

    /// Whether some grant allows `action` somewhere, whatever it touches
    /// (through this token too): for what belongs to no service until it is
    /// named, such as artifact bytes uploaded before their release.
    pub fn allows_somewhere(&self, action: Action) -> bool {
        let any = |grants: &[Grant]| grants.iter().any(|g| g.role.allows(action));
        any(&self.grants) && self.narrowed_to.as_deref().is_none_or(any)
    }

    /// Whether the caller holds the admin role everywhere (through this
    /// token).
    pub fn is_admin(&self) -> bool {
        self.allows(Action::ManageGrants, &Target::SERVER)
    }
}

/// A refusal, saying what would have allowed the action.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Denied(pub String);

/// Decides whether `who`, holding `rights`, may `action` on `target`; a
/// refusal names the roles that would allow it and where.
pub fn authorize(
    who: &str,
    rights: &Rights,
    action: Action,
    target: &Target<'_>,
) -> Result<(), Denied> {
    if rights.allows(action, target) {
        return Ok(());
    }
    if action == Action::Read {
        return Err(Denied(format!(
            "{who} may not read: reading needs a grant of any role, in any scope, and {who} holds none{}",
            if rights.grants.is_empty() {
                " (an administrator grants one with `ferry role grant`)"
            } else {
                " through this token"
            }
        )));
    }
    let roles: Vec<&str> = Role::ALL
        .into_iter()
        .filter(|role| role.allows(action))
        .map(Role::as_str)
        .collect();
    let roles = match roles.as_slice() {
        [one] => format!("the {one} role"),
        many => format!("one of the roles {}", many.join(", ")),
    };
    let scope = match (target.service, target.environment) {
        (None, None) => " everywhere".to_owned(),
        (Some(s), None) => format!(" for service {s}"),
        (None, Some(e)) => format!(" in environment {e}"),
        (Some(s), Some(e)) => format!(" for service {s} in environment {e}"),
    };
    let protected = match target.environment {
        Some(environment) if target.protected && action.is_guarded() => {
            format!(" ({environment} is protected: the grant must name it, `--env {environment}`)")
        }
        _ => String::new(),
    };
    let narrowed = if rights.grants.iter().any(|g| g.allows(action, target)) {
        "; the token used is narrowed to fewer rights than its owner's"
    } else {
        ""
    };
    Err(Denied(format!(
        "{who} may not {what}: it needs {roles}{scope}{protected}{narrowed}",
        what = action.describe(),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> Name {
        Name::parse(s).unwrap()
    }

    fn grant(role: Role, service: Option<&str>, environment: Option<&str>) -> Grant {
        Grant {
            role,
            service: service.map(name),
            environment: environment.map(name),
        }
    }

    #[test]
    fn a_scoped_grant_covers_only_its_scope() {
        let (api, web, prod, dev) = (name("api"), name("web"), name("prod"), name("dev"));
        let rights = Rights::of(vec![grant(Role::Deployer, Some("api"), Some("dev"))]);
        assert!(rights.allows(Action::Promote, &Target::deployment(&api, &dev, false)));
        assert!(!rights.allows(Action::Promote, &Target::deployment(&api, &prod, false)));
        assert!(!rights.allows(Action::Promote, &Target::deployment(&web, &dev, false)));
        // Nothing without a service is covered by a service's grant.
        assert!(!rights.allows(Action::ManageFreezes, &Target::environment(&dev, false)));
        // Reading is not scoped.
        assert!(rights.allows(Action::Read, &Target::SERVER));
        assert!(!Rights::default().allows(Action::Read, &Target::SERVER));
        let error =
            authorize("bob", &Rights::default(), Action::Read, &Target::SERVER).unwrap_err();
        assert!(error.0.contains("ferry role grant"), "{}", error.0);
    }

    #[test]
    fn a_protected_environment_needs_a_grant_that_names_it() {
        let (api, prod) = (name("api"), name("prod"));
        let target = Target::deployment(&api, &prod, true);
        let global = Rights::of(vec![Grant::global(Role::Admin)]);
        assert!(!global.allows(Action::Promote, &target));
        assert!(!global.allows(Action::DecideRelease, &target));
        // Not guarded: evidence, change requests.
        assert!(global.allows(Action::AddEvidence, &target));
        let named = Rights::of(vec![grant(Role::Deployer, None, Some("prod"))]);
        assert!(named.allows(Action::Promote, &target));
        let error = authorize("bob", &global, Action::Promote, &target).unwrap_err();
        assert!(error.0.contains("prod is protected"), "{}", error.0);
    }

    #[test]
    fn a_narrowed_token_allows_only_what_both_allow() {
        let (api, web) = (name("api"), name("web"));
        let rights = Rights {
            grants: vec![Grant::global(Role::Deployer)],
            narrowed_to: Some(vec![grant(Role::Developer, Some("api"), None)]),
        };
        assert!(rights.allows(Action::CreateRelease, &Target::service(&api)));
        assert!(!rights.allows(Action::CreateRelease, &Target::service(&web)));
        assert!(!rights.allows(Action::AbandonRelease, &Target::service(&api)));
        let error = authorize(
            "ci",
            &rights,
            Action::AbandonRelease,
            &Target::service(&api),
        )
        .unwrap_err();
        assert!(error.0.contains("narrowed"), "{}", error.0);
        // A token never gets more than its owner.
        let wider = Rights {
            grants: vec![grant(Role::Viewer, None, None)],
            narrowed_to: Some(vec![Grant::global(Role::Admin)]),
        };
        assert!(!wider.is_admin());
    }

    #[test]
    fn refusals_name_the_roles_and_scope_that_would_allow() {
        let (api, prod) = (name("api"), name("prod"));
        let viewer = Rights::of(vec![Grant::global(Role::Viewer)]);
        let error = authorize(
            "bob",
            &viewer,
            Action::Promote,
            &Target::deployment(&api, &prod, false),
        )
        .unwrap_err();
        assert_eq!(
            error.0,
            "bob may not promote releases: it needs one of the roles deployer, release-manager, admin for service api in environment prod"
        );
        let error = authorize("bob", &viewer, Action::ApplyConfig, &Target::SERVER).unwrap_err();
        assert!(error.0.contains("the admin role everywhere"), "{}", error.0);
    }

    #[test]
    fn a_grant_is_within_a_wider_one_only() {
        let wide = grant(Role::Deployer, None, Some("dev"));
        assert!(grant(Role::Developer, Some("api"), Some("dev")).is_within(&wide));
        assert!(!grant(Role::Developer, Some("api"), None).is_within(&wide));
        assert!(!grant(Role::Approver, None, Some("dev")).is_within(&wide));
    }

    #[test]
    fn admin_is_never_scoped() {
        assert_eq!(
            grant(Role::Admin, Some("api"), None).validate(),
            Err(GrantError::ScopedAdmin)
        );
        assert!(
            grant(Role::ReleaseManager, Some("api"), Some("prod"))
                .validate()
                .is_ok()
        );
        assert_eq!(
            grant(Role::Deployer, Some("api"), Some("prod")).to_string(),
            "deployer for service api in environment prod"
        );
    }
}
