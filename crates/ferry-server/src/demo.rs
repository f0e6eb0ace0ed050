//! `ferry serve --demo`: sample environments, services, releases and
//! deployments, loaded into an empty database so a newcomer sees real data.

use ferry_core::{DeploymentStatus, Name};
use ferry_store::releases::NewRelease;
use ferry_store::{Store, StoreError};

/// The sample configuration, as a user would write it.
pub const DEMO_CONFIG: &str = r#"
[[environment]]
name = "dev"
tier = "development"
description = "Integration, deployed on every merge"

[[environment]]
name = "staging"
tier = "staging"
description = "Production-like, for release candidates"
policy = { approvals = 1, evidence = ["e2e"] }

[[environment]]
name = "prod"
tier = "production"
description = "Serves the users"
policy = { approvals = 2, evidence = ["unit", "e2e"], change_request = true, max_risk = "high" }
windows = [{ rrule = "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH;BYHOUR=9", duration = "8h", timezone = "Europe/Berlin" }]

[[freeze]]
name = "year-end"
reason = "Year-end change freeze"
start = "2026-12-20T00:00:00Z"
end = "2027-01-04T00:00:00Z"
environments = ["prod"]

[lifecycle.default]
phases = [["dev"], ["staging"], ["prod"]]

[[service]]
name = "api"
description = "The public HTTP API"
repo = "https://git.example.com/shop/api.git"

[[service]]
name = "web"
description = "The storefront"
repo = "https://git.example.com/shop/web.git"

[[service]]
name = "worker"
description = "Background jobs"
repo = "https://git.example.com/shop/worker.git"
"#;

/// A sample release: `(service, version, notes, [(environment, final status)])`.
type SampleRelease = (
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, DeploymentStatus)],
);

/// The sample history, oldest first.
const HISTORY: &[SampleRelease] = &[
    (
        "api",
        "1.4.0",
        "Features: order search.",
        &[
            ("dev", DeploymentStatus::Succeeded),
            ("staging", DeploymentStatus::Succeeded),
            ("prod", DeploymentStatus::Succeeded),
        ],
    ),
    (
        "api",
        "1.5.0",
        "Features: refunds. Bug fixes: rounding of totals.",
        &[
            ("dev", DeploymentStatus::Succeeded),
            ("staging", DeploymentStatus::Succeeded),
        ],
    ),
    (
        "api",
        "1.5.1",
        "Bug fixes: refund e-mails.",
        &[("dev", DeploymentStatus::Running)],
    ),
    (
        "web",
        "2.3.0",
        "Features: new checkout.",
        &[
            ("dev", DeploymentStatus::Succeeded),
            ("staging", DeploymentStatus::Succeeded),
            ("prod", DeploymentStatus::Succeeded),
        ],
    ),
    (
        "web",
        "2.4.0",
        "Features: dark mode.",
        &[
            ("dev", DeploymentStatus::Succeeded),
            ("staging", DeploymentStatus::Failed),
        ],
    ),
    (
        "worker",
        "0.9.0",
        "First release.",
        &[("dev", DeploymentStatus::Succeeded)],
    ),
];

/// Loads the sample into a database that has no environments yet; leaves any
/// other database as it is.
pub async fn load(store: &Store) -> Result<(), StoreError> {
    if !store.environments().await?.is_empty() {
        tracing::info!("demo: the database has data already; not loading the sample");
        return Ok(());
    }
    let config =
        ferry_core::config::parse(DEMO_CONFIG).map_err(|e| StoreError::Invalid(e.to_string()))?;
    store.apply("demo", &config, false).await?;
    for &(service, version, notes, deployments) in HISTORY {
        let service = Name::parse(service).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let version =
            semver::Version::parse(version).map_err(|e| StoreError::Invalid(e.to_string()))?;
        store
            .create_release("demo", &service, &version, NewRelease::with_notes(notes))
            .await?;
        for &(environment, outcome) in deployments {
            let environment =
                Name::parse(environment).map_err(|e| StoreError::Invalid(e.to_string()))?;
            let deployment = store
                .create_deployment("demo", &service, &version, &environment)
                .await?;
            store
                .set_deployment_status("demo", deployment.id, DeploymentStatus::Running)
                .await?;
            if outcome != DeploymentStatus::Running {
                store
                    .set_deployment_status("demo", deployment.id, outcome)
                    .await?;
            }
        }
    }
    tracing::info!(
        "demo: loaded 3 environments, 3 services, {} releases",
        HISTORY.len()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_demo_configuration_is_valid() {
        let config = ferry_core::config::parse(super::DEMO_CONFIG).unwrap();
        assert_eq!(config.environments.len(), 3);
        assert_eq!(config.services.len(), 3);
    }
}
