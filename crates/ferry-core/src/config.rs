//! Configuration as code: the `ferry.toml` file.
//!
//! [`parse`] reads the file into a [`Config`] and reports the first problem
//! with its place in the file (byte span, turned into line and column by
//! [`ConfigError::render`]). [`Config::validate`] checks the rules that span
//! several entries (unique names, references between them); the server runs it
//! again on configurations sent over the API. A rule broken by one value of an
//! entry names it ([`Invalid::field`], a [`FieldPath`]), and [`parse`] finds it
//! in the file again with the spans `toml` keeps ([`toml::de::DeTable`]), so
//! the place is the offending key (or list item), not the entry's name.
//!
//! References are resolved within one file: a lifecycle names environments of
//! the same file, a service names a lifecycle of the same file (`default` when
//! it names none).

use std::collections::{BTreeMap, HashSet};
use std::ops::Range;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::environment::{EnvironmentSpec, Policy, Window};
use crate::field_path::{FieldPath, Segment};
use crate::freeze::FreezeSpec;
use crate::lifecycle::{LifecycleSpec, Phase};
use crate::service::ServiceSpec;
use crate::{Name, Tier};

/// The lifecycle a service follows when it names none.
pub const DEFAULT_LIFECYCLE: &str = "default";

/// A whole configuration: what `ferry apply` makes true.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Environments.
    #[serde(default)]
    pub environments: Vec<EnvironmentSpec>,
    /// Lifecycles.
    #[serde(default)]
    pub lifecycles: Vec<LifecycleSpec>,
    /// Services.
    #[serde(default)]
    pub services: Vec<ServiceSpec>,
    /// Freeze periods.
    #[serde(default)]
    pub freezes: Vec<FreezeSpec>,
    /// Release plan templates (`[[plan_template]]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub plan_templates: Vec<crate::release_plan::PlanTemplateSpec>,
    /// Trust policies for CI workloads (`[[trust]]`): applied as a whole
    /// when the file has any, kept when it has none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trusts: Vec<crate::trust::TrustSpec>,
    /// Signing in to the web UI with the organisation's OpenID Connect
    /// provider (`[oidc]`): applied when the file has it, kept when not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oidc: Option<crate::sso::SsoSpec>,
    /// Webhook subscriptions (`[[webhook]]`), made and updated by name; one
    /// the file no longer names is kept (`ferry webhook delete` ends it).
    /// Subscriptions made with `ferry webhook create` are not the file's
    /// and are left alone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub webhooks: Vec<crate::subscription::WebhookSpec>,
}

/// Which entry of a [`Config`] a problem is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// The environment at this index.
    Environment(usize),
    /// The lifecycle at this index.
    Lifecycle(usize),
    /// The service at this index.
    Service(usize),
    /// The freeze at this index.
    Freeze(usize),
    /// The plan template at this index.
    PlanTemplate(usize),
    /// The trust policy at this index.
    Trust(usize),
    /// The webhook subscription at this index.
    Webhook(usize),
    /// The `[oidc]` table.
    Oidc,
}

/// A rule of the configuration that is broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Invalid {
    /// Which entry.
    pub place: Place,
    /// Which value of the entry ([`FieldPath::root`] for its name).
    pub field: FieldPath,
    /// What is wrong and what is expected.
    pub message: String,
}

impl Invalid {
    /// The entry at `place` breaks a rule; its name is at fault.
    fn entry(place: Place, message: String) -> Self {
        Self {
            place,
            field: FieldPath::root(),
            message,
        }
    }

    /// The value at `field` of the entry at `place` breaks a rule.
    fn at(place: Place, field: FieldPath, message: String) -> Self {
        Self {
            place,
            field,
            message,
        }
    }
}

impl Config {
    /// Refuses NUL anywhere in the configuration's text: no database column
    /// of PostgreSQL can hold it, and no terminal shows it. The error points
    /// at the value.
    fn check_no_nul(&self) -> Result<(), Invalid> {
        fn find(value: &serde_json::Value, path: FieldPath) -> Option<FieldPath> {
            match value {
                serde_json::Value::String(text) if text.contains('\0') => Some(path),
                serde_json::Value::Array(items) => items
                    .iter()
                    .enumerate()
                    .find_map(|(index, item)| find(item, path.index(index))),
                serde_json::Value::Object(map) => map.iter().find_map(|(key, item)| {
                    if key.contains('\0') {
                        return Some(path.clone());
                    }
                    find(item, path.key(key))
                }),
                _ => None,
            }
        }
        fn entries<T: Serialize>(items: &[T], place: fn(usize) -> Place) -> Result<(), Invalid> {
            for (index, item) in items.iter().enumerate() {
                let value = serde_json::to_value(item).unwrap_or_default();
                if let Some(field) = find(&value, FieldPath::root()) {
                    let message = format!(
                        "{field} holds a NUL character (U+0000); expected text without control characters"
                    );
                    return Err(Invalid::at(place(index), field, message));
                }
            }
            Ok(())
        }
        entries(&self.environments, Place::Environment)?;
        entries(&self.lifecycles, Place::Lifecycle)?;
        entries(&self.services, Place::Service)?;
        entries(&self.freezes, Place::Freeze)?;
        entries(&self.plan_templates, Place::PlanTemplate)?;
        entries(&self.trusts, Place::Trust)?;
        entries(&self.webhooks, Place::Webhook)?;
        entries(self.oidc.as_slice(), |_| Place::Oidc)
    }

    /// Checks that every approver an environment's policy names is someone:
    /// a user of `users`, or `group:NAME` of a group of `groups`. A name
    /// that matches nobody would let nobody approve there, silently.
    pub fn check_approvers(
        &self,
        users: &HashSet<&str>,
        groups: &HashSet<&str>,
    ) -> Result<(), Invalid> {
        for (index, environment) in self.environments.iter().enumerate() {
            for (number, approver) in environment.policy.approvers.iter().enumerate() {
                let missing = match approver.strip_prefix("group:") {
                    Some(group) if !groups.contains(group) => Some(format!(
                        "names the group {group:?}, which does not exist; create it first \
                         (ferry group create {group}) or correct the name"
                    )),
                    None if !users.contains(approver.as_str()) => Some(format!(
                        "names the user {approver:?}, who does not exist; create them first \
                         (ferry user create {approver}) or correct the name, or write \
                         \"group:NAME\" for a group"
                    )),
                    _ => None,
                };
                if let Some(reason) = missing {
                    return Err(Invalid::at(
                        Place::Environment(index),
                        FieldPath::field("policy").key("approvers").index(number),
                        format!(
                            "environment {:?}, policy approvers: {approver:?} {reason}",
                            environment.name.as_str()
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Checks that every ferry group `[oidc.groups]` maps to is one of
    /// `groups`: a sign-in could not put anyone in a group that is not.
    pub fn check_sign_in_groups(&self, groups: &HashSet<&str>) -> Result<(), Invalid> {
        let Some(oidc) = &self.oidc else {
            return Ok(());
        };
        for (provider, group) in &oidc.groups {
            if !groups.contains(group.as_str()) {
                return Err(Invalid::at(
                    Place::Oidc,
                    FieldPath::field("groups").key(provider),
                    format!(
                        "oidc groups: {provider:?} maps to the group {:?}, which does not exist; \
                         create it first (ferry group create {group}) or correct the name",
                        group.as_str()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Checks unique names and references between entries.
    pub fn validate(&self) -> Result<(), Invalid> {
        self.check_no_nul()?;
        let mut environments = HashSet::new();
        for (index, environment) in self.environments.iter().enumerate() {
            let place = Place::Environment(index);
            let environment_name = environment.name.as_str();
            if !environments.insert(&environment.name) {
                let message = format!("environment {environment_name:?} is defined twice");
                return Err(Invalid::entry(place, message));
            }
            crate::limits::CONFIG_DESCRIPTION
                .check("description", &environment.description)
                .map_err(|error| {
                    Invalid::at(
                        place,
                        FieldPath::field("description"),
                        format!("environment {environment_name:?}: {error}"),
                    )
                })?;
            let now = chrono::Utc::now();
            for (number, window) in environment.windows.iter().enumerate() {
                let field = FieldPath::field("windows").index(number);
                let window_error = |reason: String| {
                    Invalid::at(
                        place,
                        field.clone(),
                        format!(
                            "environment {environment_name:?}, window {}: {reason}",
                            number + 1
                        ),
                    )
                };
                let recurrence =
                    crate::windows::Recurrence::from_window(window).map_err(window_error)?;
                if recurrence.current_or_next(now).is_none() {
                    return Err(window_error(format!(
                        "{:?} never opens from now on, so no release could ever deploy here; \
                         expected a rule with occurrences to come, such as \
                         \"FREQ=WEEKLY;BYDAY=TU,TH;BYHOUR=10\"",
                        window.rrule
                    )));
                }
            }
            for (variable, value) in &environment.variables {
                crate::variables::check_name(variable)
                    .and_then(|()| crate::variables::check_value(variable, value))
                    .map_err(|reason| {
                        Invalid::at(
                            place,
                            FieldPath::field("variables").key(variable),
                            format!("environment {environment_name:?}: {reason}"),
                        )
                    })?;
            }
            if let Some(level) = &environment.policy.max_risk {
                crate::risk::RiskLevel::parse(level).map_err(|reason| {
                    Invalid::at(
                        place,
                        FieldPath::field("policy").key("max_risk"),
                        format!("environment {environment_name:?}, policy max_risk: {reason}"),
                    )
                })?;
            }
            if let Some(due) = &environment.policy.review_due {
                crate::review::due_after(Some(due)).map_err(|reason| {
                    Invalid::at(
                        place,
                        FieldPath::field("policy").key("review_due"),
                        format!("environment {environment_name:?}, policy review_due: {reason}"),
                    )
                })?;
            }
        }
        let mut lifecycles = HashSet::new();
        for (index, lifecycle) in self.lifecycles.iter().enumerate() {
            let place = Place::Lifecycle(index);
            let lifecycle_name = lifecycle.name.as_str();
            if !lifecycles.insert(&lifecycle.name) {
                let message = format!("lifecycle {lifecycle_name:?} is defined twice");
                return Err(Invalid::entry(place, message));
            }
            let phases = FieldPath::field("phases");
            if lifecycle.phases.is_empty() {
                let message = format!(
                    "lifecycle {lifecycle_name:?} has no phases; expected phases = [[\"dev\"], [\"prod\"]]"
                );
                return Err(Invalid::at(place, phases, message));
            }
            let mut seen = HashSet::new();
            for (phase_index, phase) in lifecycle.phases.iter().enumerate() {
                let phase_number = phase_index + 1;
                if phase.environments.is_empty() {
                    let message = format!(
                        "phase {phase_number} of lifecycle {lifecycle_name:?} has no environments"
                    );
                    return Err(Invalid::at(place, phases.index(phase_index), message));
                }
                for environment in &phase.environments {
                    if !environments.contains(environment) {
                        let message = format!(
                            "phase {phase_number} of lifecycle {lifecycle_name:?} names environment {:?}, which this file does not define",
                            environment.as_str()
                        );
                        return Err(Invalid::at(place, phases.index(phase_index), message));
                    }
                    if !seen.insert(environment) {
                        let message = format!(
                            "lifecycle {lifecycle_name:?} names environment {:?} in more than one place",
                            environment.as_str()
                        );
                        return Err(Invalid::at(place, phases.index(phase_index), message));
                    }
                }
            }
        }
        let mut services = HashSet::new();
        for (index, service) in self.services.iter().enumerate() {
            let place = Place::Service(index);
            if !services.insert(&service.name) {
                let message = format!("service {:?} is defined twice", service.name.as_str());
                return Err(Invalid::entry(place, message));
            }
            if !lifecycles.contains(&service.lifecycle) {
                let message = format!(
                    "service {:?} follows lifecycle {:?}, which this file does not define",
                    service.name.as_str(),
                    service.lifecycle.as_str()
                );
                return Err(Invalid::at(place, FieldPath::field("lifecycle"), message));
            }
            crate::limits::CONFIG_DESCRIPTION
                .check("description", &service.description)
                .map_err(|error| {
                    let message = format!("service {:?}: {error}", service.name.as_str());
                    Invalid::at(place, FieldPath::field("description"), message)
                })?;
            for (number, glob) in service.paths.iter().enumerate() {
                crate::service::check_path_glob(glob).map_err(|reason| {
                    let message = format!(
                        "service {:?}: path glob {glob:?} is not valid: {reason}",
                        service.name.as_str()
                    );
                    Invalid::at(place, FieldPath::field("paths").index(number), message)
                })?;
            }
            crate::process::DeployProcess::from_value(&service.deploy).map_err(|error| {
                let message = format!("service {:?}: {error}", service.name.as_str());
                Invalid::at(place, error.place, message)
            })?;
        }
        let mut freezes = HashSet::new();
        for (index, freeze) in self.freezes.iter().enumerate() {
            let place = Place::Freeze(index);
            if !freezes.insert(&freeze.name) {
                let message = format!("freeze {:?} is defined twice", freeze.name.as_str());
                return Err(Invalid::entry(place, message));
            }
            freeze
                .validate()
                .map_err(|message| Invalid::entry(place, message))?;
            crate::windows::Freeze::from_spec(freeze).map_err(|reason| {
                Invalid::entry(
                    place,
                    format!("freeze {:?}: {reason}", freeze.name.as_str()),
                )
            })?;
            if let Some((position, unknown)) = freeze
                .environments
                .iter()
                .enumerate()
                .find(|(_, e)| !environments.contains(e))
            {
                let message = format!(
                    "freeze {:?} names environment {:?}, which this file does not define",
                    freeze.name.as_str(),
                    unknown.as_str()
                );
                let field = FieldPath::field("environments").index(position);
                return Err(Invalid::at(place, field, message));
            }
        }
        let mut templates = HashSet::new();
        for (index, template) in self.plan_templates.iter().enumerate() {
            let place = Place::PlanTemplate(index);
            if !templates.insert(&template.name) {
                let message = format!(
                    "plan template {:?} is defined twice",
                    template.name.as_str()
                );
                return Err(Invalid::entry(place, message));
            }
            template
                .validate()
                .map_err(|message| Invalid::entry(place, message))?;
            for (number, task) in template.tasks.iter().enumerate() {
                if let Some(environment) = &task.required_before
                    && !environments.contains(environment)
                {
                    let message = format!(
                        "plan template {:?}, task {}: required_before names environment {:?}, which this file does not define",
                        template.name.as_str(),
                        number + 1,
                        environment.as_str()
                    );
                    let field = FieldPath::field("tasks")
                        .index(number)
                        .key("required_before");
                    return Err(Invalid::at(place, field, message));
                }
            }
        }
        for (index, service) in self.services.iter().enumerate() {
            if let Some(template) = &service.plan_template
                && !templates.contains(template)
            {
                let message = format!(
                    "service {:?} names plan template {:?}, which this file does not define",
                    service.name.as_str(),
                    template.as_str()
                );
                return Err(Invalid::at(
                    Place::Service(index),
                    FieldPath::field("plan_template"),
                    message,
                ));
            }
        }
        for (index, trust) in self.trusts.iter().enumerate() {
            trust.validate().map_err(|reason| {
                Invalid::entry(
                    Place::Trust(index),
                    format!("trust {}: {reason}", index + 1),
                )
            })?;
        }
        if let Some(oidc) = &self.oidc {
            oidc.validate()
                .map_err(|reason| Invalid::entry(Place::Oidc, format!("oidc: {reason}")))?;
        }
        self.validate_webhooks()
    }

    /// Each `[[webhook]]` on its own, its name once, and the service and
    /// environment it names defined in this file.
    fn validate_webhooks(&self) -> Result<(), Invalid> {
        let mut names = HashSet::new();
        for (index, webhook) in self.webhooks.iter().enumerate() {
            let place = Place::Webhook(index);
            let name = webhook.name.as_str();
            if !names.insert(&webhook.name) {
                return Err(Invalid::entry(
                    place,
                    format!("webhook {name:?} is defined twice"),
                ));
            }
            webhook
                .validate()
                .map_err(|reason| Invalid::entry(place, format!("webhook {name:?}: {reason}")))?;
            if let Some(service) = &webhook.service
                && !self.services.iter().any(|s| &s.name == service)
            {
                return Err(Invalid::at(
                    place,
                    FieldPath::field("service"),
                    format!(
                        "webhook {name:?} names service {:?}, which this file does not define",
                        service.as_str()
                    ),
                ));
            }
            if let Some(environment) = &webhook.environment
                && !self.environments.iter().any(|e| &e.name == environment)
            {
                return Err(Invalid::at(
                    place,
                    FieldPath::field("environment"),
                    format!(
                        "webhook {name:?} names environment {:?}, which this file does not define",
                        environment.as_str()
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// A problem in a configuration file, with where it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ConfigError {
    /// What is wrong and what is expected.
    pub message: String,
    /// The bytes of the file it is about, when known.
    pub span: Option<Range<usize>>,
}

impl ConfigError {
    /// The 1-based line and column where the problem starts.
    pub fn line_column(&self, source: &str) -> Option<(usize, usize)> {
        let start = self.span.as_ref()?.start.min(source.len());
        let before = &source[..start];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = source[line_start..start].chars().count() + 1;
        Some((line, column))
    }

    /// `FILE:LINE:COLUMN: message`, followed by the line and a caret.
    pub fn render(&self, file: &str, source: &str) -> String {
        let Some((line, column)) = self.line_column(source) else {
            return format!("{file}: {}", self.message);
        };
        let text = source.lines().nth(line - 1).unwrap_or("");
        let caret = format!("{}^", " ".repeat(column - 1));
        format!(
            "{file}:{line}:{column}: {}\n  {line:>4} | {text}\n       | {caret}",
            self.message
        )
    }
}

/// Reads a `ferry.toml` file.
pub fn parse(source: &str) -> Result<Config, ConfigError> {
    let raw: RawConfig = toml::from_str(source).map_err(|error| ConfigError {
        message: error.message().trim_end().to_owned(),
        span: error.span(),
    })?;
    let mut spans = Spans::default();
    let config = raw.into_config(&mut spans)?;
    config.validate().map_err(|invalid| ConfigError {
        span: value_span(source, &config, &invalid).or_else(|| spans.of(invalid.place)),
        message: invalid.message,
    })?;
    Ok(config)
}

/// Where in `source` the value an [`Invalid`] names is written: the key for
/// a field of a table, the item for a place in a list; or, when the file
/// does not write that value (a default), the nearest table around it that
/// it does write. `None` for the entry's name (see [`Spans`]) or when the
/// entry cannot be found.
fn value_span(source: &str, config: &Config, invalid: &Invalid) -> Option<Range<usize>> {
    use toml::de::{DeTable, DeValue};
    if invalid.field.is_root() {
        return None;
    }
    // The file parsed once already; this second reading keeps every span.
    let document = DeTable::parse(source).ok()?;
    let document = document.get_ref();
    let entry = match invalid.place {
        Place::Environment(index) => document.get("environment")?.get_ref().get(index),
        Place::Lifecycle(index) => {
            let name = config.lifecycles.get(index)?.name.as_str();
            document.get("lifecycle")?.get_ref().get(name)
        }
        Place::Service(index) => document.get("service")?.get_ref().get(index),
        Place::Freeze(index) => document.get("freeze")?.get_ref().get(index),
        Place::PlanTemplate(index) => document.get("plan_template")?.get_ref().get(index),
        Place::Trust(index) => document.get("trust")?.get_ref().get(index),
        Place::Webhook(index) => document.get("webhook")?.get_ref().get(index),
        Place::Oidc => document.get("oidc"),
    }?;
    let mut value: &toml::Spanned<DeValue<'_>> = entry;
    let mut found = None;
    for segment in invalid.field.segments() {
        let (span, inner) = match (segment, value.get_ref()) {
            (Segment::Key(key), DeValue::Table(table)) => {
                let Some((name, inner)) = table.get_key_value(key.as_str()) else {
                    break;
                };
                (name.span(), inner)
            }
            (Segment::Index(index), DeValue::Array(items)) => {
                let Some(inner) = items.get(*index) else {
                    break;
                };
                (inner.span(), inner)
            }
            _ => break,
        };
        found = Some(span);
        value = inner;
    }
    found
}

/// Where each entry's name stands in the file.
#[derive(Default)]
struct Spans {
    environments: Vec<Range<usize>>,
    lifecycles: Vec<Range<usize>>,
    services: Vec<Range<usize>>,
    freezes: Vec<Range<usize>>,
    plan_templates: Vec<Range<usize>>,
    trusts: Vec<Range<usize>>,
    webhooks: Vec<Range<usize>>,
    oidc: Option<Range<usize>>,
}

impl Spans {
    fn of(&self, place: Place) -> Option<Range<usize>> {
        match place {
            Place::Environment(i) => self.environments.get(i),
            Place::Lifecycle(i) => self.lifecycles.get(i),
            Place::Service(i) => self.services.get(i),
            Place::Freeze(i) => self.freezes.get(i),
            Place::PlanTemplate(i) => self.plan_templates.get(i),
            Place::Trust(i) => self.trusts.get(i),
            Place::Webhook(i) => self.webhooks.get(i),
            Place::Oidc => self.oidc.as_ref(),
        }
        .cloned()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    environment: Vec<RawEnvironment>,
    #[serde(default)]
    lifecycle: BTreeMap<String, Spanned<RawLifecycle>>,
    #[serde(default)]
    service: Vec<RawService>,
    #[serde(default)]
    freeze: Vec<Spanned<FreezeSpec>>,
    #[serde(default)]
    plan_template: Vec<Spanned<crate::release_plan::PlanTemplateSpec>>,
    #[serde(default)]
    trust: Vec<Spanned<crate::trust::TrustSpec>>,
    #[serde(default)]
    oidc: Option<Spanned<crate::sso::SsoSpec>>,
    #[serde(default)]
    webhook: Vec<Spanned<crate::subscription::WebhookSpec>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEnvironment {
    name: Spanned<Name>,
    tier: Tier,
    #[serde(default)]
    description: String,
    #[serde(default)]
    policy: Policy,
    #[serde(default)]
    windows: Vec<Window>,
    #[serde(default)]
    variables: BTreeMap<Spanned<String>, Spanned<RawValue>>,
    #[serde(default)]
    protected: bool,
    #[serde(default)]
    lock_after_rollback: bool,
}

/// A variable's value: text, or a number or boolean written as TOML allows
/// (`PORT = 8080`), which steps see as its text.
#[derive(Deserialize)]
#[serde(untagged, expecting = "a string, an integer or a boolean")]
enum RawValue {
    Text(String),
    Integer(i64),
    Boolean(bool),
}

impl RawValue {
    fn into_text(self) -> String {
        match self {
            RawValue::Text(text) => text,
            RawValue::Integer(number) => number.to_string(),
            RawValue::Boolean(flag) => flag.to_string(),
        }
    }
}

/// An environment's variables, each checked where it is written.
fn variables(
    environment: &str,
    raw: BTreeMap<Spanned<String>, Spanned<RawValue>>,
) -> Result<BTreeMap<String, String>, ConfigError> {
    let mut variables = BTreeMap::new();
    for (key, value) in raw {
        let key_span = key.span();
        let variable = key.into_inner();
        crate::variables::check_name(&variable).map_err(|reason| ConfigError {
            message: format!("environment {environment:?}: {reason}"),
            span: Some(key_span),
        })?;
        let value_span = value.span();
        let text = value.into_inner().into_text();
        crate::variables::check_value(&variable, &text).map_err(|reason| ConfigError {
            message: format!("environment {environment:?}: {reason}"),
            span: Some(value_span),
        })?;
        variables.insert(variable, text);
    }
    Ok(variables)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLifecycle {
    phases: Vec<RawPhase>,
}

/// A phase is written either as a list of environments or as a table.
#[derive(Deserialize)]
#[serde(
    untagged,
    expecting = "a list of environment names, or a table { environments = [...], auto = true }"
)]
enum RawPhase {
    Environments(Vec<Name>),
    Table {
        environments: Vec<Name>,
        #[serde(default)]
        auto: bool,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawService {
    name: Spanned<Name>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    lifecycle: Option<Name>,
    #[serde(default)]
    repo: String,
    #[serde(default)]
    paths: Vec<String>,
    #[serde(default)]
    issue_url: Option<String>,
    #[serde(default)]
    notes_template: Option<String>,
    #[serde(default)]
    plan_template: Option<Name>,
    #[serde(default)]
    deploy: Option<toml::Table>,
}

impl RawConfig {
    fn into_config(self, spans: &mut Spans) -> Result<Config, ConfigError> {
        let mut environments = Vec::new();
        for raw in self.environment {
            spans.environments.push(raw.name.span());
            let variables = variables(raw.name.get_ref().as_str(), raw.variables)?;
            environments.push(EnvironmentSpec {
                name: raw.name.into_inner(),
                tier: raw.tier,
                description: raw.description,
                policy: raw.policy,
                windows: raw.windows,
                variables,
                protected: raw.protected,
                lock_after_rollback: raw.lock_after_rollback,
            });
        }
        let mut lifecycles = Vec::new();
        for (key, raw) in self.lifecycle {
            let span = raw.span();
            let name = Name::parse(&key).map_err(|error| ConfigError {
                message: format!("lifecycle [lifecycle.{key}]: {error}"),
                span: Some(span.clone()),
            })?;
            spans.lifecycles.push(span);
            let phases = raw
                .into_inner()
                .phases
                .into_iter()
                .map(|phase| match phase {
                    RawPhase::Environments(environments) => Phase {
                        environments,
                        auto: false,
                    },
                    RawPhase::Table { environments, auto } => Phase { environments, auto },
                })
                .collect();
            lifecycles.push(LifecycleSpec { name, phases });
        }
        let services = self
            .service
            .into_iter()
            .map(|raw| {
                spans.services.push(raw.name.span());
                ServiceSpec {
                    name: raw.name.into_inner(),
                    description: raw.description,
                    lifecycle: raw.lifecycle.unwrap_or_else(default_lifecycle),
                    repo: raw.repo,
                    paths: raw.paths,
                    issue_url: raw.issue_url,
                    notes_template: raw.notes_template,
                    plan_template: raw.plan_template,
                    deploy: raw
                        .deploy
                        .map(|table| serde_json::to_value(table).unwrap_or_default())
                        .unwrap_or_default(),
                }
            })
            .collect();
        let freezes = self
            .freeze
            .into_iter()
            .map(|raw| {
                spans.freezes.push(raw.span());
                raw.into_inner()
            })
            .collect();
        let plan_templates = self
            .plan_template
            .into_iter()
            .map(|raw| {
                spans.plan_templates.push(raw.span());
                raw.into_inner()
            })
            .collect();
        let trusts = self
            .trust
            .into_iter()
            .map(|raw| {
                spans.trusts.push(raw.span());
                raw.into_inner()
            })
            .collect();
        let oidc = self.oidc.map(|raw| {
            spans.oidc = Some(raw.span());
            raw.into_inner()
        });
        let webhooks = self
            .webhook
            .into_iter()
            .map(|raw| {
                spans.webhooks.push(raw.span());
                raw.into_inner()
            })
            .collect();
        Ok(Config {
            environments,
            lifecycles,
            services,
            freezes,
            plan_templates,
            trusts,
            oidc,
            webhooks,
        })
    }
}

fn default_lifecycle() -> Name {
    Name::parse(DEFAULT_LIFECYCLE).expect("the default lifecycle's name is valid")
}

#[cfg(test)]
mod tests;
