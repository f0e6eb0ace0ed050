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
    /// A release plan template.
    PlanTemplate,
    /// The trust policies for CI workloads, as one entry named `trust`.
    Trust,
    /// Signing in with OpenID Connect (`[oidc]`), as one entry named `oidc`.
    Oidc,
    /// A webhook subscription (`[[webhook]]`).
    Webhook,
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
    /// Each value that changes (for updates), from what to what, down to
    /// the innermost table that differs (`policy.approvals`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<ValueChange>,
}

/// One value of an entry that an update changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ValueChange {
    /// Its place in the entry: field names joined by dots, such as
    /// `policy.approvals` or `deploy.strategy.batch`.
    pub field: String,
    /// The value stored now; absent when the field is new.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<serde_json::Value>,
    /// The value the file gives it; absent when the file leaves it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<serde_json::Value>,
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
    diff(
        Kind::PlanTemplate,
        &current.plan_templates,
        &desired.plan_templates,
        |t| &t.name,
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
            values: Vec::new(),
        });
    }
    diff(
        Kind::Webhook,
        &current.webhooks,
        &desired.webhooks,
        |w| &w.name,
        &mut changes,
    );
    if let Some(oidc) = &desired.oidc {
        let action = match &current.oidc {
            None => Action::Create,
            Some(stored) if stored == oidc => Action::Unchanged,
            Some(_) => Action::Update,
        };
        changes.push(Change {
            kind: Kind::Oidc,
            name: Name::parse(OIDC).expect("\"oidc\" is a valid name"),
            action,
            fields: Vec::new(),
            values: Vec::new(),
        });
    }
    changes
}

/// The name of the one plan entry that stands for every trust policy.
pub const TRUST: &str = "trust";

/// The name of the plan entry of the OpenID Connect sign-in.
pub const OIDC: &str = "oidc";

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
        let (action, fields, values) = match current.iter().find(|have| name(have) == entry_name) {
            None => (Action::Create, Vec::new(), Vec::new()),
            Some(have) => {
                let fields = changed_fields(have, wanted);
                let action = if fields.is_empty() {
                    Action::Unchanged
                } else {
                    Action::Update
                };
                (action, fields, changed_values(have, wanted))
            }
        };
        changes.push(Change {
            kind,
            name: entry_name.clone(),
            action,
            fields,
            values,
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

/// The values that differ between two serialized entries, in field order:
/// tables on both sides are compared key by key, lists of the same length
/// item by item (`deploy.steps[0].run`), anything else as a whole.
fn changed_values<T: Serialize>(have: &T, wanted: &T) -> Vec<ValueChange> {
    let (Ok(have), Ok(wanted)) = (serde_json::to_value(have), serde_json::to_value(wanted)) else {
        return Vec::new();
    };
    let mut values = Vec::new();
    compare("", Some(&have), Some(&wanted), &mut values);
    values
}

fn compare(
    field: &str,
    have: Option<&serde_json::Value>,
    wanted: Option<&serde_json::Value>,
    values: &mut Vec<ValueChange>,
) {
    use serde_json::Value;
    if have == wanted {
        return;
    }
    // An entry leaves out a field that is false or empty (`protected`,
    // `variables`): compared with a value, it is that false or empty value.
    let empty_like = |other: Option<&Value>| match other {
        Some(Value::Bool(_)) => Some(Value::Bool(false)),
        Some(Value::Object(_)) => Some(Value::Object(serde_json::Map::new())),
        Some(Value::Array(_)) => Some(Value::Array(Vec::new())),
        _ => None,
    };
    let filled_have = have.is_none().then(|| empty_like(wanted)).flatten();
    let filled_wanted = wanted.is_none().then(|| empty_like(have)).flatten();
    let have = have.or(filled_have.as_ref());
    let wanted = wanted.or(filled_wanted.as_ref());
    if have == wanted {
        return;
    }
    match (have, wanted) {
        (Some(Value::Object(have)), Some(Value::Object(wanted))) => {
            let mut keys: Vec<&String> = have.keys().chain(wanted.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                let inner = if field.is_empty() {
                    key.clone()
                } else {
                    format!("{field}.{key}")
                };
                compare(&inner, have.get(key), wanted.get(key), values);
            }
            return;
        }
        (Some(Value::Array(have)), Some(Value::Array(wanted))) if have.len() == wanted.len() => {
            for (index, (have, wanted)) in have.iter().zip(wanted).enumerate() {
                compare(
                    &format!("{field}[{index}]"),
                    Some(have),
                    Some(wanted),
                    values,
                );
            }
            return;
        }
        _ => {}
    }
    values.push(ValueChange {
        field: field.to_owned(),
        from: have.cloned(),
        to: wanted.cloned(),
    });
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

    #[test]
    fn an_update_says_from_what_to_what() {
        let current = parse(&BASE.replace(
            "tier = \"production\"",
            "tier = \"production\"\npolicy = { approvals = 1, evidence = [\"unit\"] }",
        ))
        .unwrap();
        let desired = parse(&BASE.replace(
            "tier = \"production\"",
            "tier = \"production\"\nprotected = true\npolicy = { approvals = 2, evidence = [\"unit\", \"e2e\"] }",
        ))
        .unwrap();
        let changes = plan(&current, &desired);
        let prod = changes.iter().find(|c| c.name.as_str() == "prod").unwrap();
        let values: Vec<_> = prod
            .values
            .iter()
            .map(|v| (v.field.as_str(), v.from.clone(), v.to.clone()))
            .collect();
        use serde_json::json;
        assert_eq!(
            values,
            [
                ("policy.approvals", Some(json!(1)), Some(json!(2))),
                (
                    "policy.evidence",
                    Some(json!(["unit"])),
                    Some(json!(["unit", "e2e"]))
                ),
                ("protected", Some(json!(false)), Some(json!(true))),
            ]
        );
        // Unchanged and new entries carry no values.
        let dev = changes.iter().find(|c| c.name.as_str() == "dev").unwrap();
        assert!(dev.values.is_empty());
        assert!(
            plan(&Config::default(), &desired)
                .iter()
                .all(|c| c.values.is_empty())
        );
    }

    #[test]
    fn a_value_added_or_left_out_has_one_side() {
        let current = parse(BASE).unwrap();
        let mut desired = current.clone();
        desired.services[0].deploy = serde_json::json!({ "strategy": { "kind": "all" } });
        let changes = plan(&current, &desired);
        let api = changes.iter().find(|c| c.name.as_str() == "api").unwrap();
        assert_eq!(api.values.len(), 1, "{:?}", api.values);
        assert_eq!(api.values[0].field, "deploy");
        assert_eq!(api.values[0].from, Some(serde_json::Value::Null));
        let back = plan(&desired, &current);
        let api = back.iter().find(|c| c.name.as_str() == "api").unwrap();
        assert_eq!(api.values[0].to, Some(serde_json::Value::Null));
        let mut steps = desired.clone();
        steps.services[0].deploy["steps"] =
            serde_json::json!([{ "name": "a", "run": "true" }, { "name": "b", "run": "true" }]);
        let mut renamed = steps.clone();
        renamed.services[0].deploy["steps"][1]["run"] = serde_json::json!("./b.sh");
        let changes = plan(&steps, &renamed);
        let api = changes.iter().find(|c| c.name.as_str() == "api").unwrap();
        assert_eq!(api.values.len(), 1, "{:?}", api.values);
        assert_eq!(api.values[0].field, "deploy.steps[1].run");
        let mut more = desired.clone();
        more.services[0].deploy["strategy"]["batch"] = serde_json::json!("25%");
        let changes = plan(&desired, &more);
        let api = changes.iter().find(|c| c.name.as_str() == "api").unwrap();
        assert_eq!(api.values[0].field, "deploy.strategy.batch");
        assert_eq!(api.values[0].from, None);
        assert_eq!(api.values[0].to, Some(serde_json::json!("25%")));
    }
}
