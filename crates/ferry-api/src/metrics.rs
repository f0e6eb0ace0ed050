//! DORA metrics and incidents.

use chrono::{DateTime, Utc};
use ferry_core::Name;
use ferry_core::dora::Metrics;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The DORA metrics of every service in every environment over a period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MetricsReport {
    /// The period's start (included).
    pub since: DateTime<Utc>,
    /// The period's end (excluded).
    pub until: DateTime<Utc>,
    /// How each figure is computed.
    pub definitions: Vec<Definition>,
    /// One entry per service and environment of its lifecycle.
    pub items: Vec<ServiceMetrics>,
}

/// How a figure is computed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Definition {
    /// The figure.
    pub name: String,
    /// How it is computed.
    pub definition: String,
}

/// The metrics of one service in one environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ServiceMetrics {
    /// The service.
    pub service: Name,
    /// The environment.
    pub environment: Name,
    /// The figures.
    #[serde(flatten)]
    pub metrics: Metrics,
}

/// An incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Incident {
    /// Its id.
    pub id: i64,
    /// The service.
    pub service: Name,
    /// The environment.
    pub environment: Name,
    /// The deployment it counts against.
    #[serde(default)]
    pub deployment: Option<i64>,
    /// What happened.
    pub title: String,
    /// Who opened it.
    pub opened_by: String,
    /// When.
    pub opened_at: DateTime<Utc>,
    /// Who resolved it.
    #[serde(default)]
    pub resolved_by: Option<String>,
    /// When.
    #[serde(default)]
    pub resolved_at: Option<DateTime<Utc>>,
    /// How.
    #[serde(default)]
    pub resolution: Option<String>,
}

/// The body of `POST /api/v1/incidents`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenIncident {
    /// The service.
    pub service: Name,
    /// The environment.
    pub environment: Name,
    /// The deployment it counts against, if one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<i64>,
    /// What happened.
    pub title: String,
}

/// The body of `POST /api/v1/incidents/{id}/resolve`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveIncident {
    /// How it was resolved.
    #[serde(default)]
    pub resolution: String,
}
