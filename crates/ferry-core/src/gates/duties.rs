//! Who may decide on a release: the approvers a policy names (users and
//! `group:NAME`) and separation of duties (the release's creator and its
//! commits' authors and co-authors, matched by e-mail first). The approval
//! route refuses with it and the gates count with it.

use std::collections::HashSet;

use super::fold;
use crate::access::{Person, same_person};
use crate::environment::{EnvironmentSpec, Policy};

/// Who may decide on a release for an environment, under its policy: the
/// one rule that refuses an approval when it is given (`ferry approve`) and
/// discounts it when the gates count (`ferry check`, `ferry promote`).
///
/// A decision counts when its author may approve (the policy's `approvers`
/// is empty, or names them, or names `group:G` for one of their groups) and,
/// for an approval under separation of duties, they are neither the
/// release's creator nor an author or co-author of its commits (matched by
/// e-mail first, then by name, see [`same_person`]).
pub struct Duties<'a> {
    policy: &'a Policy,
    environment: &'a str,
    release: &'a str,
    creator: String,
    authors: Vec<Person>,
    users: HashSet<String>,
    groups: HashSet<String>,
}

/// The person deciding.
#[derive(Debug, Clone, Copy)]
pub struct Decider<'a> {
    /// Their user name.
    pub user: &'a str,
    /// Their e-mail, when known.
    pub email: Option<&'a str>,
    /// The groups they belong to.
    pub groups: &'a [String],
}

impl<'a> Duties<'a> {
    /// The rule for `release` (`service@version`) entering `environment`,
    /// created by `creator`, whose commits' authors are `authors` (`Name`
    /// or `Name <mail>`).
    pub fn new(
        environment: &'a EnvironmentSpec,
        release: &'a str,
        creator: &str,
        authors: &[String],
    ) -> Self {
        let policy = &environment.policy;
        let mut users = HashSet::new();
        let mut groups = HashSet::new();
        for approver in &policy.approvers {
            match approver.trim().strip_prefix("group:") {
                Some(group) => groups.insert(fold(group).into_owned()),
                None => users.insert(fold(approver).into_owned()),
            };
        }
        Self {
            policy,
            environment: environment.name.as_str(),
            release,
            creator: fold(creator).into_owned(),
            authors: if policy.separation_of_duties {
                authors.iter().map(|a| Person::parse(a)).collect()
            } else {
                Vec::new()
            },
            users,
            groups,
        }
    }

    /// Whether `decider` may approve or reject at all (the approvers list).
    pub fn may_decide(&self, decider: Decider<'_>) -> bool {
        (self.users.is_empty() && self.groups.is_empty())
            || self.users.contains(fold(decider.user).as_ref())
            || decider
                .groups
                .iter()
                .any(|group| self.groups.contains(fold(group).as_ref()))
    }

    /// Why `decider`'s decision does not count, or `None` when it counts.
    pub fn refusal(&self, decider: Decider<'_>, approve: bool) -> Option<String> {
        let user = decider.user;
        let env = self.environment;
        let release = self.release;
        if !self.may_decide(decider) {
            let what = if approve { "approval" } else { "rejection" };
            return Some(format!(
                "{user} is not among the approvers of {env} ({}); their {what} does not count",
                self.policy.approvers.join(", ")
            ));
        }
        if !approve || !self.policy.separation_of_duties {
            return None;
        }
        let created = !self.creator.is_empty()
            && (fold(user) == self.creator.as_str()
                || decider
                    .email
                    .is_some_and(|email| fold(email) == self.creator.as_str()));
        if created {
            return Some(format!(
                "{user} created the release {release}; separation of duties does not count their approval"
            ));
        }
        if self
            .authors
            .iter()
            .any(|author| same_person(author, user, decider.email))
        {
            return Some(format!(
                "{user} authored commits of {release}; separation of duties does not count their approval"
            ));
        }
        None
    }
}
