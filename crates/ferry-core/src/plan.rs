//! The plan of `ferry apply`: what applying a configuration would change.
//!
//! Apply creates what is missing and updates what differs; it never deletes
//! what the file does not mention (releases and deployments refer to it).

use serde::{Deserialize, Serialize};

use crate::Name;
use crate::config::Config;

/// The kind of entry a change is about, in the order changes are applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// An environment.
    Environment,
    /// A lifecycle.
    Lifecycle,
    /// A service.
    Service,
    /// A freeze period.
    Freeze,
    /// The trust policies for CI workloads, as one entry named `trust`.
    Trust,
}

/// What applying does to one entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// It does not exist yet.
    Create,
    /// It exists and some fields differ.
    Update,
    /// It exists as written.
    Unchanged,
}

/// One entry of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Change {
    /// What kind of entry.
    pub kind: Kind,
    /// Its name.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub name: Name,
    /// What happens to it.
    pub action: Action,
    /// The fields that change (for updates).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
}

/// Compares what is stored with what the file says, entry by entry.
pub fn plan(current: &Config, desired: &Config) -> Vec<Change> {
    let mut changes = Vec::new();
    diff(
        Kind::Environment,
        &current.environments,
        &desired.environments,
        |e| &e.name,
        &mut changes,
    );
    diff(
        Kind::Lifecycle,
        &current.lifecycles,
        &desired.lifecycles,
        |l| &l.name,
        &mut changes,
    );
    diff(
        Kind::Service,
        &current.services,
        &desired.services,
        |s| &s.name,
        &mut changes,
    );
    diff(
        Kind::Freeze,
        &current.freezes,
        &desired.freezes,
        |f| &f.name,
        &mut changes,
    );
    // Trust policies have no names: the file's list is one entry, applied
    // whole when the file has any.
    if !desired.trusts.is_empty() {
        let action = if current.trusts.is_empty() {
            Action::Create
        } else if current.trusts == desired.trusts {
            Action::Unchanged
        } else {
            Action::Update
        };
        changes.push(Change {
            kind: Kind::Trust,
            name: Name::parse(TRUST).expect("\"trust\" is a valid name"),
            action,
            fields: Vec::new(),
        });
    }
    changes
}

/// The name of the one plan entry that stands for every trust policy.
pub const TRUST: &str = "trust";

/// Whether applying the plan would write anything.
pub fn changes_anything(changes: &[Change]) -> bool {
    changes
        .iter()
        .any(|change| change.action != Action::Unchanged)
}

fn diff<T: Serialize>(
    kind: Kind,
    current: &[T],
    desired: &[T],
    name: impl Fn(&T) -> &Name,
    changes: &mut Vec<Change>,
) {
    for wanted in desired {
        let entry_name = name(wanted);
        let (action, fields) = match current.iter().find(|have| name(have) == entry_name) {
            None => (Action::Create, Vec::new()),
            Some(have) => {
                let fields = changed_fields(have, wanted);
                let action = if fields.is_empty() {
                    Action::Unchanged
                } else {
                    Action::Update
                };
                (action, fields)
            }
        };
        changes.push(Change {
            kind,
            name: entry_name.clone(),
            action,
            fields,
        });
    }
}

/// The top-level fields whose serialized values differ.
fn changed_fields<T: Serialize>(have: &T, wanted: &T) -> Vec<String> {
    let (Ok(serde_json::Value::Object(have)), Ok(serde_json::Value::Object(wanted))) =
        (serde_json::to_value(have), serde_json::to_value(wanted))
    else {
        return vec!["*".into()];
    };
    let mut fields: Vec<String> = wanted
        .iter()
        .filter(|(key, value)| have.get(*key) != Some(value))
        .map(|(key, _)| key.clone())
        .chain(
            have.keys()
                .filter(|key| !wanted.contains_key(*key))
                .cloned(),
        )
        .collect();
    fields.sort();
    fields.dedup();
    fields
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse;

    const BASE: &str = r#"
[[environment]]
name = "dev"
tier = "development"
[[environment]]
name = "prod"
tier = "production"
[lifecycle.default]
phases = [["dev"], ["prod"]]
[[service]]
name = "api"
"#;

    #[test]
    fn everything_is_created_on_an_empty_server() {
        let changes = plan(&Config::default(), &parse(BASE).unwrap());
        let summary: Vec<_> = changes
            .iter()
            .map(|c| (c.kind, c.name.as_str(), c.action))
            .collect();
        assert_eq!(
            summary,
            [
                (Kind::Environment, "dev", Action::Create),
                (Kind::Environment, "prod", Action::Create),
                (Kind::Lifecycle, "default", Action::Create),
                (Kind::Service, "api", Action::Create),
            ]
        );
        assert!(changes_anything(&changes));
    }

    #[test]
    fn the_same_config_changes_nothing() {
        let config = parse(BASE).unwrap();
        let changes = plan(&config, &config);
        assert!(changes.iter().all(|c| c.action == Action::Unchanged));
        assert!(!changes_anything(&changes));
    }

    #[test]
    fn an_update_names_the_fields() {
        let current = parse(BASE).unwrap();
        let desired = parse(&BASE.replace(
            "tier = \"production\"",
            "tier = \"production\"\ndescription = \"live\"\npolicy = { approvals = 1 }",
        ))
        .unwrap();
        let changes = plan(&current, &desired);
        let prod = changes.iter().find(|c| c.name.as_str() == "prod").unwrap();
        assert_eq!(prod.action, Action::Update);
        assert_eq!(prod.fields, ["description", "policy"]);
    }
}
