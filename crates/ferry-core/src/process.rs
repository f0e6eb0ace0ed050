//! A service's deployment process: how its releases reach their targets.
//!
//! A service's `deploy` table in `ferry.toml` (kept as given in
//! [`ServiceSpec::deploy`](crate::service::ServiceSpec::deploy)) is read here
//! into a [`DeployProcess`]: the strategy, the steps an agent runs, the health
//! check, the rollback policy, the target selector and the failure tolerance.
//! The orchestrator's pure decisions are here too: which batches a deployment
//! runs in ([`plan_batches`]), which agents are targets ([`selects`]) and
//! whether a deployment halts ([`should_halt`]).
//!
//! The rules kept:
//!
//! - **Everything has a default but the steps' contents.** An absent (`null`)
//!   or empty table is the default process: strategy `all`, no steps, no
//!   health check, `rollback = "auto"`, every agent of the environment, no
//!   failure tolerated. A process without steps is deployed by another tool,
//!   which reports its outcome (`ferry deploy report`).
//! - **Reading checks everything and refuses what it does not know.** An
//!   unknown field, a wrong type or a value out of range is an error naming
//!   the field (`deploy.strategy.batch`, `deploy.steps[1].timeout`) and what
//!   is expected there. A typo never silently becomes a default.
//! - **Strategies**: `{ kind = "all" }` deploys every target at once;
//!   `{ kind = "rolling", batch = "25%" | 2, pause = "30s" }` deploys
//!   consecutive batches of the batch size, pausing between them;
//!   `{ kind = "canary", stages = [1, "25%", "100%"], verify = "5m" }` deploys
//!   stages that each cover up to their size of all targets (cumulative),
//!   waiting `verify` between stages. `strategy = "all"` is short for
//!   `{ kind = "all" }`.
//! - **A batch size** is a count of targets (a whole number, at least 1) or a
//!   percentage of all targets (`"1%"` to `"100%"`), rounded up, so it is
//!   never empty. Canary stages of the same form must grow (each covers the
//!   targets of those before it), and no stage follows `"100%"`.
//! - **Batches partition the targets in the order given**: no target twice,
//!   none left out, no empty batch. The last batch always completes the set,
//!   whatever the last stage says.
//! - **Durations** (`pause`, `verify`, `timeout`, `interval`) are written as
//!   [`parse_duration`] reads them (`30s`, `10m`, `1h30m`). Timeouts are
//!   longer than zero.
//! - **Steps** have a non-empty, unique `name` and a non-empty `run`
//!   command, an optional `timeout` and `idempotent` (default `false`): only
//!   an idempotent step is retried on another attempt after its agent is lost.
//! - **A health check** is exactly one of `http = URL` (a 2xx status) or
//!   `command = "..."` (exit status 0), with `timeout` (default 30s),
//!   `retries` (default 3) and `interval` between attempts (default 2s).
//! - **A deployment halts** once more targets have failed than
//!   `tolerate_failures` allows.
//!
//! Serialising a [`DeployProcess`] writes the table form, with every default
//! spelled out; deserialising reads it with [`DeployProcess::from_value`], so
//! the two round-trip and both keep the same rules.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::Duration;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value, json};

use crate::field_path::{FieldError, FieldPath};
use crate::windows::parse_duration;

mod batches;
mod pauses;

pub use batches::{pauses_after_batch, plan_batches, selects, should_halt};
pub use pauses::{Decision, ManualStep, OnFailure, Pause, PauseKind, is_approver};

/// How long a health check attempt may take unless the table says otherwise.
const DEFAULT_HEALTH_TIMEOUT_SECONDS: i64 = 30;
/// How many times a failed health check is retried unless the table says otherwise.
const DEFAULT_HEALTH_RETRIES: u32 = 3;
/// The wait between health check attempts unless the table says otherwise.
const DEFAULT_HEALTH_INTERVAL_SECONDS: i64 = 2;

/// The accepted forms of a batch size, for error messages.
const BATCH_FORM: &str = "expected a count of targets (a whole number, at least 1, such as 2) or a percentage of them from \"1%\" to \"100%\" (such as \"25%\")";

/// A service's deployment process, read from its `deploy` table.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeployProcess {
    /// How the targets are split into batches (default: all at once).
    pub strategy: Strategy,
    /// The steps an agent runs on each target, in order. Empty when the
    /// service is deployed by another tool, which reports its outcome.
    pub steps: Vec<Step>,
    /// How a target is verified after its steps; `None` to trust the steps.
    pub health: Option<HealthCheck>,
    /// What happens when the deployment halts (default: automatic rollback).
    pub rollback: RollbackPolicy,
    /// The target selector: agent tags that must all match (`key = value`).
    /// Empty selects every agent of the environment.
    pub targets: BTreeMap<String, String>,
    /// How many targets may fail before the deployment halts (default 0).
    pub tolerate_failures: u32,
    /// The steps people do, each after the command steps before it (see
    /// the `pauses` module).
    pub manual_steps: Vec<ManualStep>,
    /// What happens when more targets fail than tolerated.
    pub on_failure: OnFailure,
}

/// How a deployment's targets are split into batches. See [`plan_batches`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Strategy {
    /// Every target at once: `{ kind = "all" }`.
    #[default]
    All,
    /// Consecutive batches of one size:
    /// `{ kind = "rolling", batch = "25%", pause = "30s" }`.
    Rolling {
        /// The size of each batch (the last may be smaller).
        batch: BatchSize,
        /// The wait between batches; `None` for none.
        pause: Option<Duration>,
    },
    /// Growing stages: `{ kind = "canary", stages = [1, "25%", "100%"], verify = "5m" }`.
    Canary {
        /// How many targets each stage covers in all, counting the stages
        /// before it. Never empty once read.
        stages: Vec<BatchSize>,
        /// The wait between stages, to watch the new release; `None` for none.
        verify: Option<Duration>,
        /// The indexes of the stages after which a person must continue
        /// (`{ stage = "25%", pause = "manual" }`).
        manual: BTreeSet<usize>,
    },
}

/// A number of targets: a count or a percentage of all targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BatchSize {
    /// This many targets (`3`); at least 1 once read.
    Count(u32),
    /// This percentage of all targets, rounded up (`"25%"`); 1 to 100 once read.
    Percent(u8),
}

/// One command an agent runs on a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Its name, unique in the process, shown in logs and progress.
    pub name: String,
    /// The command, run with `sh -c`.
    pub run: String,
    /// How long it may run before it is killed and fails; `None` for no limit.
    pub timeout: Option<Duration>,
    /// Whether it may run again on a target whose agent was lost while
    /// running it (default `false`: the target is marked failed instead).
    pub idempotent: bool,
}

/// How a target is checked after its steps: retried until it passes or its
/// retries run out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthCheck {
    /// An HTTP GET that passes on a 2xx status: `{ http = "http://127.0.0.1:8080/healthz" }`.
    Http {
        /// The URL requested from the target.
        url: String,
        /// How long one attempt may take (default 30s).
        timeout: Duration,
        /// How many more attempts after a failed one (default 3).
        retries: u32,
        /// The wait between attempts (default 2s).
        interval: Duration,
    },
    /// A command (`sh -c`) that passes on exit status 0: `{ command = "curl -f ..." }`.
    Command {
        /// The command run on the target.
        run: String,
        /// How long one attempt may take (default 30s).
        timeout: Duration,
        /// How many more attempts after a failed one (default 3).
        retries: u32,
        /// The wait between attempts (default 2s).
        interval: Duration,
    },
}

/// What happens to the targets already changed when a deployment halts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RollbackPolicy {
    /// Redeploy the last release that succeeded in the environment onto
    /// them, as a rollback deployment linked to the failed one (`"auto"`).
    #[default]
    Auto,
    /// Leave them for an operator (`ferry rollback`) (`"manual"`).
    Manual,
}

impl DeployProcess {
    /// Reads a service's `deploy` table (as JSON, the way
    /// [`ServiceSpec`](crate::service::ServiceSpec) keeps it). `null` or an
    /// empty table is the default process, without steps. The error names the
    /// field at fault (from the service's `deploy`) and what is expected there.
    pub fn from_value(deploy: &Value) -> Result<Self, FieldError> {
        let path = FieldPath::field("deploy");
        let table = match deploy {
            Value::Null => return Ok(Self::default()),
            Value::Object(map) => Table::new(&path, map),
            other => {
                return Err(FieldError::new(
                    path,
                    format!(
                        "expected a table (such as {{ steps = [...] }}), got {}",
                        describe(other)
                    ),
                ));
            }
        };
        table.only(&[
            "strategy",
            "steps",
            "health",
            "rollback",
            "targets",
            "tolerate_failures",
            "on_failure",
        ])?;
        let strategy = match table.get("strategy") {
            None => Strategy::All,
            Some(value) => Strategy::from_value(&table.field("strategy"), value)?,
        };
        let (steps, manual_steps) = match table.get("steps") {
            None => (Vec::new(), Vec::new()),
            Some(value) => read_steps(&table.field("steps"), value)?,
        };
        let on_failure = match table.get("on_failure") {
            None => OnFailure::Halt,
            Some(value) => match value.as_str() {
                Some("halt") => OnFailure::Halt,
                Some("ask") => OnFailure::Ask,
                _ => {
                    return Err(FieldError::new(
                        table.field("on_failure"),
                        format!("expected \"halt\" or \"ask\", got {}", describe(value)),
                    ));
                }
            },
        };
        let health = table
            .get("health")
            .map(|value| HealthCheck::from_value(&table.field("health"), value))
            .transpose()?;
        let rollback = match table.get("rollback") {
            None => RollbackPolicy::Auto,
            Some(value) => match value.as_str() {
                Some("auto") => RollbackPolicy::Auto,
                Some("manual") => RollbackPolicy::Manual,
                _ => {
                    return Err(FieldError::new(
                        table.field("rollback"),
                        format!("expected \"auto\" or \"manual\", got {}", describe(value)),
                    ));
                }
            },
        };
        let targets = match table.get("targets") {
            None => BTreeMap::new(),
            Some(value) => read_selector(&table.field("targets"), value)?,
        };
        let tolerate_failures = match table.get("tolerate_failures") {
            None => 0,
            Some(value) => value
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| {
                    FieldError::new(
                        table.field("tolerate_failures"),
                        format!(
                            "expected how many failed targets are tolerated (a whole number, 0 or more), got {}",
                            describe(value)
                        ),
                    )
                })?,
        };
        Ok(Self {
            strategy,
            steps,
            health,
            rollback,
            targets,
            tolerate_failures,
            manual_steps,
            on_failure,
        })
    }

    /// The table form of this process, which [`DeployProcess::from_value`]
    /// reads back to the same value. Every default is spelled out; absent
    /// options are left out.
    pub fn to_value(&self) -> Value {
        let mut map = Map::new();
        map.insert("strategy".into(), self.strategy.to_value());
        let mut steps: Vec<Value> = Vec::new();
        for (index, step) in self.steps.iter().enumerate() {
            steps.extend(
                self.manual_steps
                    .iter()
                    .filter(|manual| manual.after == index)
                    .map(ManualStep::to_value),
            );
            steps.push(step.to_value());
        }
        steps.extend(
            self.manual_steps
                .iter()
                .filter(|manual| manual.after >= self.steps.len())
                .map(ManualStep::to_value),
        );
        map.insert("steps".into(), Value::Array(steps));
        map.insert("on_failure".into(), json!(self.on_failure.as_str()));
        if let Some(health) = &self.health {
            map.insert("health".into(), health.to_value());
        }
        map.insert("rollback".into(), json!(self.rollback.as_str()));
        map.insert("targets".into(), json!(self.targets));
        map.insert("tolerate_failures".into(), json!(self.tolerate_failures));
        Value::Object(map)
    }

    /// Whether the service is deployed by another tool: it has no steps, so
    /// no agent runs anything and the tool reports the outcome.
    pub fn is_external(&self) -> bool {
        self.steps.is_empty() && self.manual_steps.is_empty()
    }

    /// How many segments the steps make: one more than the manual steps.
    pub fn segments(&self) -> usize {
        self.manual_steps.len() + 1
    }

    /// The command steps of segment `segment`: those after the manual step
    /// before it and before the manual step after it.
    pub fn segment_steps(&self, segment: usize) -> &[Step] {
        let start = match segment {
            0 => 0,
            n => self
                .manual_steps
                .get(n - 1)
                .map_or(self.steps.len(), |manual| manual.after),
        };
        let end = self
            .manual_steps
            .get(segment)
            .map_or(self.steps.len(), |manual| manual.after);
        &self.steps[start.min(end)..end]
    }

    /// The manual step that follows segment `segment`, if one does.
    pub fn manual_after(&self, segment: usize) -> Option<&ManualStep> {
        self.manual_steps.get(segment)
    }
}

impl Serialize for DeployProcess {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for DeployProcess {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Self::from_value(&value).map_err(serde::de::Error::custom)
    }
}

impl Strategy {
    /// Reads a `strategy` value at `path`.
    fn from_value(path: &FieldPath, value: &Value) -> Result<Self, FieldError> {
        const KINDS: &str = "expected \"all\", \"rolling\" or \"canary\"";
        let empty = Map::new();
        let (kind, table) = match value {
            Value::String(kind) => (kind.as_str(), Table::new(path, &empty)),
            Value::Object(map) => {
                let table = Table::new(path, map);
                let kind = match table.get("kind") {
                    Some(Value::String(kind)) => kind.as_str(),
                    Some(other) => {
                        return Err(FieldError::new(
                            table.field("kind"),
                            format!("{KINDS}, got {}", describe(other)),
                        ));
                    }
                    None => {
                        return Err(FieldError::new(
                            table.field("kind"),
                            format!("missing; {KINDS}"),
                        ));
                    }
                };
                (kind, table)
            }
            other => {
                return Err(FieldError::new(
                    path.clone(),
                    format!(
                        "expected a table such as {{ kind = \"rolling\", batch = \"25%\" }}, got {}",
                        describe(other)
                    ),
                ));
            }
        };
        match kind {
            "all" => {
                table.only(&["kind"])?;
                Ok(Self::All)
            }
            "rolling" => {
                table.only(&["kind", "batch", "pause"])?;
                let batch = match table.get("batch") {
                    Some(value) => BatchSize::from_value(&table.field("batch"), value)?,
                    None => {
                        return Err(FieldError::new(
                            table.field("batch"),
                            format!("missing; {BATCH_FORM}"),
                        ));
                    }
                };
                let pause = table.duration("pause", false)?;
                Ok(Self::Rolling { batch, pause })
            }
            "canary" => {
                table.only(&["kind", "stages", "verify"])?;
                let (stages, manual) = read_stages(&table.field("stages"), table.get("stages"))?;
                let verify = table.duration("verify", false)?;
                Ok(Self::Canary {
                    stages,
                    verify,
                    manual,
                })
            }
            other => Err(FieldError::new(
                table.field("kind"),
                format!("unknown strategy {other:?}; {KINDS}"),
            )),
        }
    }

    /// The table form of this strategy.
    fn to_value(&self) -> Value {
        let mut map = Map::new();
        match self {
            Self::All => {
                map.insert("kind".into(), json!("all"));
            }
            Self::Rolling { batch, pause } => {
                map.insert("kind".into(), json!("rolling"));
                map.insert("batch".into(), batch.to_value());
                if let Some(pause) = pause {
                    map.insert("pause".into(), json!(format_duration(*pause)));
                }
            }
            Self::Canary {
                stages,
                verify,
                manual,
            } => {
                map.insert("kind".into(), json!("canary"));
                let stages = stages
                    .iter()
                    .enumerate()
                    .map(|(index, stage)| {
                        if manual.contains(&index) {
                            json!({ "stage": stage.to_value(), "pause": "manual" })
                        } else {
                            stage.to_value()
                        }
                    })
                    .collect();
                map.insert("stages".into(), Value::Array(stages));
                if let Some(verify) = verify {
                    map.insert("verify".into(), json!(format_duration(*verify)));
                }
            }
        }
        Value::Object(map)
    }
}

impl BatchSize {
    /// How many targets this size is out of `total`: a count (at most
    /// `total`) or the percentage of `total` rounded up. At least 1 when
    /// `total` is not 0 and the size is as read (count ≥ 1, percentage ≥ 1).
    pub fn of(self, total: usize) -> usize {
        match self {
            Self::Count(count) => usize::try_from(count).unwrap_or(usize::MAX).min(total),
            Self::Percent(percent) => total
                .saturating_mul(usize::from(percent.min(100)))
                .div_ceil(100),
        }
    }

    /// Reads a batch size at `path`: a whole number of at least 1, or a
    /// string of 1 to 100 followed by `%`.
    fn from_value(path: &FieldPath, value: &Value) -> Result<Self, FieldError> {
        let invalid = || {
            FieldError::new(
                path.clone(),
                format!("{BATCH_FORM}, got {}", describe(value)),
            )
        };
        match value {
            Value::Number(number) => match number.as_u64().map(u32::try_from) {
                Some(Ok(count)) if count >= 1 => Ok(Self::Count(count)),
                _ => Err(invalid()),
            },
            Value::String(text) => {
                let digits = text
                    .trim()
                    .strip_suffix('%')
                    .ok_or_else(invalid)?
                    .trim_end();
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(invalid());
                }
                match digits.parse::<u8>() {
                    Ok(percent) if (1..=100).contains(&percent) => Ok(Self::Percent(percent)),
                    _ => Err(invalid()),
                }
            }
            _ => Err(invalid()),
        }
    }

    /// The table form: a number or a `"N%"` string.
    fn to_value(self) -> Value {
        match self {
            Self::Count(count) => json!(count),
            Self::Percent(percent) => json!(format!("{percent}%")),
        }
    }
}

impl fmt::Display for BatchSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Count(count) => write!(f, "{count}"),
            Self::Percent(percent) => write!(f, "{percent}%"),
        }
    }
}

impl Step {
    /// Reads one step at `path`.
    fn from_value(path: &FieldPath, value: &Value) -> Result<Self, FieldError> {
        let Value::Object(map) = value else {
            return Err(FieldError::new(
                path.clone(),
                format!(
                    "expected a table such as {{ name = \"install\", run = \"./deploy.sh\" }}, got {}",
                    describe(value)
                ),
            ));
        };
        let table = Table::new(path, map);
        table.only(&["kind", "name", "run", "timeout", "idempotent"])?;
        let name = table.text("name", "the step's name")?;
        let run = table.text("run", "the command to run")?;
        let timeout = table.duration("timeout", true)?;
        let idempotent = match table.get("idempotent") {
            None => false,
            Some(Value::Bool(flag)) => *flag,
            Some(other) => {
                return Err(FieldError::new(
                    table.field("idempotent"),
                    format!("expected true or false, got {}", describe(other)),
                ));
            }
        };
        Ok(Self {
            name,
            run,
            timeout,
            idempotent,
        })
    }

    /// The table form of this step.
    fn to_value(&self) -> Value {
        let mut map = Map::new();
        map.insert("name".into(), json!(self.name));
        map.insert("run".into(), json!(self.run));
        if let Some(timeout) = self.timeout {
            map.insert("timeout".into(), json!(format_duration(timeout)));
        }
        map.insert("idempotent".into(), json!(self.idempotent));
        Value::Object(map)
    }
}

/// A health check's URL: `http://` or `https://` with a host, and nothing
/// that would make the agent read a file or talk another protocol.
fn check_health_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| {
            format!(
                "{url:?} is not an http:// or https:// URL; expected one such as \"http://127.0.0.1:8080/healthz\""
            )
        })?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(format!(
            "{url:?} names no host; expected one such as \"http://127.0.0.1:8080/healthz\""
        ));
    }
    if url.chars().any(char::is_control) {
        return Err(format!("{url:?} holds a control character"));
    }
    Ok(())
}

impl HealthCheck {
    /// How long one attempt may take.
    pub fn timeout(&self) -> Duration {
        match self {
            Self::Http { timeout, .. } | Self::Command { timeout, .. } => *timeout,
        }
    }

    /// How many more attempts are made after a failed one.
    pub fn retries(&self) -> u32 {
        match self {
            Self::Http { retries, .. } | Self::Command { retries, .. } => *retries,
        }
    }

    /// The wait between attempts.
    pub fn interval(&self) -> Duration {
        match self {
            Self::Http { interval, .. } | Self::Command { interval, .. } => *interval,
        }
    }

    /// Reads a health check at `path`.
    fn from_value(path: &FieldPath, value: &Value) -> Result<Self, FieldError> {
        let Value::Object(map) = value else {
            return Err(FieldError::new(
                path.clone(),
                format!(
                    "expected a table such as {{ http = \"http://127.0.0.1:8080/healthz\" }} or {{ command = \"...\" }}, got {}",
                    describe(value)
                ),
            ));
        };
        let table = Table::new(path, map);
        table.only(&["http", "command", "timeout", "retries", "interval"])?;
        let timeout = table
            .duration("timeout", true)?
            .unwrap_or_else(|| Duration::seconds(DEFAULT_HEALTH_TIMEOUT_SECONDS));
        let interval = table
            .duration("interval", false)?
            .unwrap_or_else(|| Duration::seconds(DEFAULT_HEALTH_INTERVAL_SECONDS));
        let retries = match table.get("retries") {
            None => DEFAULT_HEALTH_RETRIES,
            Some(value) => value
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| {
                    FieldError::new(
                        table.field("retries"),
                        format!(
                            "expected how many times a failed check is retried (a whole number, 0 or more), got {}",
                            describe(value)
                        ),
                    )
                })?,
        };
        match (table.get("http"), table.get("command")) {
            (Some(_), Some(_)) => Err(FieldError::new(
                path.clone(),
                "has both http and command; expected exactly one of them",
            )),
            (None, None) => Err(FieldError::new(
                path.clone(),
                "missing the check; expected exactly one of http (a URL) or command",
            )),
            (Some(_), None) => {
                let url = table.text("http", "the URL to request")?;
                check_health_url(&url).map_err(|why| FieldError::new(table.field("http"), why))?;
                Ok(Self::Http {
                    url,
                    timeout,
                    retries,
                    interval,
                })
            }
            (None, Some(_)) => Ok(Self::Command {
                run: table.text("command", "the command to run")?,
                timeout,
                retries,
                interval,
            }),
        }
    }

    /// The table form of this check.
    fn to_value(&self) -> Value {
        let (key, what) = match self {
            Self::Http { url, .. } => ("http", url),
            Self::Command { run, .. } => ("command", run),
        };
        let mut map = Map::new();
        map.insert(key.into(), json!(what));
        map.insert("timeout".into(), json!(format_duration(self.timeout())));
        map.insert("retries".into(), json!(self.retries()));
        map.insert("interval".into(), json!(format_duration(self.interval())));
        Value::Object(map)
    }
}

impl RollbackPolicy {
    /// Its name in the table: `auto` or `manual`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Manual => "manual",
        }
    }
}

/// Writes a duration the way [`parse_duration`] reads it: `1h30m`, `45s`,
/// `0s`. Fractions of a second are dropped (they cannot be read).
fn format_duration(duration: Duration) -> String {
    let mut seconds = duration.num_seconds().max(0);
    if seconds == 0 {
        return "0s".to_owned();
    }
    let mut text = String::new();
    for (unit, size) in [('d', 86_400), ('h', 3_600), ('m', 60), ('s', 1)] {
        if seconds >= size {
            text.push_str(&format!("{}{unit}", seconds / size));
            seconds %= size;
        }
    }
    text
}

/// A JSON table being read at a path, for errors that name the field.
struct Table<'a> {
    path: &'a FieldPath,
    map: &'a Map<String, Value>,
}

impl<'a> Table<'a> {
    /// A table at `path`.
    fn new(path: &'a FieldPath, map: &'a Map<String, Value>) -> Self {
        Self { path, map }
    }

    /// The path of one of its fields.
    fn field(&self, key: &str) -> FieldPath {
        self.path.key(key)
    }

    /// A field's value; `null` counts as absent.
    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|value| !value.is_null())
    }

    /// Refuses any field not in `known`, naming the ones accepted.
    /// The error points at the unknown key.
    fn only(&self, known: &[&str]) -> Result<(), FieldError> {
        match self.map.keys().find(|key| !known.contains(&key.as_str())) {
            None => Ok(()),
            Some(unknown) => Err(FieldError::unknown_key(
                self.path.clone(),
                unknown,
                format!("unknown field {unknown:?}; expected {}", one_of(known)),
            )),
        }
    }

    /// A required, non-empty string field.
    fn text(&self, key: &str, what: &str) -> Result<String, FieldError> {
        match self.get(key) {
            Some(Value::String(text)) if !text.trim().is_empty() => Ok(text.clone()),
            Some(other) => Err(FieldError::new(
                self.field(key),
                format!(
                    "expected {what} (a non-empty string), got {}",
                    describe(other)
                ),
            )),
            None => Err(FieldError::new(
                self.field(key),
                format!("missing; expected {what} (a non-empty string)"),
            )),
        }
    }

    /// An optional duration field; `positive` refuses zero.
    fn duration(&self, key: &str, positive: bool) -> Result<Option<Duration>, FieldError> {
        let Some(value) = self.get(key) else {
            return Ok(None);
        };
        let Value::String(text) = value else {
            return Err(FieldError::new(
                self.field(key),
                format!(
                    "expected a duration such as \"30s\", \"10m\" or \"1h30m\", got {}",
                    describe(value)
                ),
            ));
        };
        let duration = parse_duration(text).map_err(|e| FieldError::new(self.field(key), e))?;
        if positive && duration <= Duration::zero() {
            return Err(FieldError::new(
                self.field(key),
                format!("expected a duration longer than zero, got {text:?}"),
            ));
        }
        Ok(Some(duration))
    }
}

/// Reads the `steps` list at `path`: tables with unique names.
fn read_steps(path: &FieldPath, value: &Value) -> Result<(Vec<Step>, Vec<ManualStep>), FieldError> {
    let Value::Array(items) = value else {
        return Err(FieldError::new(
            path.clone(),
            format!(
                "expected a list of steps such as [{{ name = \"install\", run = \"./deploy.sh\" }}], got {}",
                describe(value)
            ),
        ));
    };
    let mut names = BTreeSet::new();
    let mut steps = Vec::with_capacity(items.len());
    let mut manual_steps = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let manual = match item.get("kind") {
            None => false,
            Some(Value::String(kind)) if kind == "command" => false,
            Some(Value::String(kind)) if kind == "manual" => true,
            Some(other) => {
                return Err(FieldError::new(
                    path.index(index).key("kind"),
                    format!(
                        "expected \"command\" (the default) or \"manual\", got {}",
                        describe(other)
                    ),
                ));
            }
        };
        let name = if manual {
            let step = ManualStep::from_value(&path.index(index), item, steps.len(), index)?;
            let name = step.name.clone();
            manual_steps.push(step);
            name
        } else {
            let step = Step::from_value(&path.index(index), item)?;
            let name = step.name.clone();
            steps.push(step);
            name
        };
        if !names.insert(name.clone()) {
            return Err(FieldError::new(
                path.index(index).key("name"),
                format!(
                    "{name:?} is the name of an earlier step; expected names unique in the process"
                ),
            ));
        }
    }
    Ok((steps, manual_steps))
}

/// Reads a canary's `stages` at `path`: a non-empty list of batch sizes, each
/// larger than the last one of its form.
fn read_stages(
    path: &FieldPath,
    value: Option<&Value>,
) -> Result<(Vec<BatchSize>, BTreeSet<usize>), FieldError> {
    const FORM: &str = "expected a non-empty list of stage sizes, each a count of targets or a percentage of them, such as [1, \"25%\", \"100%\"] (a stage may be a table { stage = \"25%\", pause = \"manual\" })";
    let items = match value {
        Some(Value::Array(items)) if !items.is_empty() => items,
        Some(other) => {
            return Err(FieldError::new(
                path.clone(),
                format!("{FORM}, got {}", describe(other)),
            ));
        }
        None => return Err(FieldError::new(path.clone(), format!("missing; {FORM}"))),
    };
    let mut stages: Vec<BatchSize> = Vec::with_capacity(items.len());
    let mut manual = BTreeSet::new();
    for (index, item) in items.iter().enumerate() {
        let stage = match item {
            Value::Object(map) => {
                let here = path.index(index);
                let table = Table::new(&here, map);
                table.only(&["stage", "pause"])?;
                match table.get("pause") {
                    None => {}
                    Some(Value::String(pause)) if pause == "manual" => {
                        manual.insert(index);
                    }
                    Some(other) => {
                        return Err(FieldError::new(
                            table.field("pause"),
                            format!(
                                "expected \"manual\" (a person continues the deployment), got {}",
                                describe(other)
                            ),
                        ));
                    }
                }
                match table.get("stage") {
                    Some(size) => BatchSize::from_value(&table.field("stage"), size)?,
                    None => {
                        return Err(FieldError::new(
                            table.field("stage"),
                            format!("missing; {BATCH_FORM}"),
                        ));
                    }
                }
            }
            other => BatchSize::from_value(&path.index(index), other)?,
        };
        if stages.contains(&BatchSize::Percent(100)) {
            return Err(FieldError::new(
                path.index(index),
                format!(
                    "{stage} comes after \"100%\", which covers every target already; expected \"100%\" to be the last stage"
                ),
            ));
        }
        let earlier = stages.iter().rev().find(|earlier| {
            matches!(
                (earlier, stage),
                (BatchSize::Count(_), BatchSize::Count(_))
                    | (BatchSize::Percent(_), BatchSize::Percent(_))
            )
        });
        let grows = match (earlier, stage) {
            (Some(BatchSize::Count(before)), BatchSize::Count(now)) => now > *before,
            (Some(BatchSize::Percent(before)), BatchSize::Percent(now)) => now > *before,
            _ => true,
        };
        if !grows {
            return Err(FieldError::new(
                path.index(index),
                format!(
                    "{stage} does not grow past the earlier stage {}; stages are cumulative (each covers the targets of those before it), so expected each larger than the last of its form",
                    earlier.map(ToString::to_string).unwrap_or_default()
                ),
            ));
        }
        stages.push(stage);
    }
    Ok((stages, manual))
}

/// Reads the `targets` selector at `path`: a table of strings.
fn read_selector(path: &FieldPath, value: &Value) -> Result<BTreeMap<String, String>, FieldError> {
    let Value::Object(map) = value else {
        return Err(FieldError::new(
            path.clone(),
            format!(
                "expected a table of agent tags such as {{ role = \"web\" }}, got {}",
                describe(value)
            ),
        ));
    };
    map.iter()
        .map(|(key, value)| match value {
            Value::String(text) => Ok((key.clone(), text.clone())),
            other => Err(FieldError::new(
                path.key(key),
                format!(
                    "expected the tag's value (a string), got {}",
                    describe(other)
                ),
            )),
        })
        .collect()
}

/// Lists accepted names for an error: `a, b or c`.
fn one_of(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [only] => (*only).to_owned(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

/// A short description of a value for an error message.
fn describe(value: &Value) -> String {
    match value {
        Value::Null => "nothing".to_owned(),
        Value::Bool(flag) => flag.to_string(),
        Value::Number(number) => number.to_string(),
        Value::String(text) => format!("{text:?}"),
        Value::Array(_) => "a list".to_owned(),
        Value::Object(_) => "a table".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_written_as_they_are_read() {
        for text in ["0s", "45s", "10m", "1h30m", "2d", "1d12h", "1h1m1s"] {
            let duration = parse_duration(text).expect(text);
            assert_eq!(format_duration(duration), text);
        }
    }

    #[test]
    fn one_of_lists_names() {
        assert_eq!(one_of(&["a"]), "a");
        assert_eq!(one_of(&["a", "b", "c"]), "a, b or c");
    }
}
