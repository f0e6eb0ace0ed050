//! Variables and secrets of environments.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Where a variable of an environment comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum VariableSource {
    /// The environment's `variables` in ferry.toml, applied with `ferry apply`.
    Config,
    /// `ferry var set` (`PUT .../variables/{name}`); wins over ferry.toml.
    Set,
}

/// A variable of an environment, as its deployment steps see it. A secret's
/// value is never sent: it leaves the server only in an agent's job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Variable {
    /// Its name.
    pub name: String,
    /// Its value; absent for a secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Whether it is secret: encrypted at rest, masked in deployment logs.
    pub secret: bool,
    /// Where it comes from.
    pub source: VariableSource,
    /// For a variable that is set: whether ferry.toml has one of the same
    /// name, which this one replaces.
    #[serde(default)]
    pub overrides_config: bool,
    /// Who set it (absent for ferry.toml's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_by: Option<String>,
    /// When it was last set or applied.
    pub updated_at: DateTime<Utc>,
}

/// The body of `PUT /api/v1/environments/{environment}/variables/{name}`.
#[derive(Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetVariable {
    /// The value.
    pub value: String,
    /// Keep it secret: encrypted at rest, never returned, masked in logs.
    #[serde(default)]
    pub secret: bool,
}

impl std::fmt::Debug for SetVariable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let value = if self.secret { "***" } else { &self.value };
        f.debug_struct("SetVariable")
            .field("value", &value)
            .field("secret", &self.secret)
            .finish()
    }
}
