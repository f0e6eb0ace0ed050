//! `ferry serve --demo`: sample environments, services, releases and
//! deployments, loaded into an empty database so a newcomer sees real data.

use ferry_core::{DeploymentStatus, Name};
use ferry_store::deployments::NewDeployment;
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
                .create_deployment(
                    "demo",
                    &service,
                    &version,
                    &environment,
                    NewDeployment::default(),
                )
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
    control(store).await?;
    tracing::info!(
        "demo: loaded 3 environments, 3 services, {} releases",
        HISTORY.len()
    );
    Ok(())
}

/// Control data for api 1.5.0 on its way to prod: evidence, an approval by
/// a second user, and an approved change request for next week.
async fn control(store: &Store) -> Result<(), StoreError> {
    use ferry_core::change::{ChangeAction, ChangeKind, ChangeWindow};
    use ferry_store::auth::{NewToken, NewUser};
    use ferry_store::changes::{ChangeUpdate, NewChange};
    use ferry_store::evidence::NewEvidence;

    let name = |text: &str| Name::parse(text).map_err(|e| StoreError::Invalid(e.to_string()));
    let (api, version) = (name("api")?, semver::Version::new(1, 5, 0));
    let (staging, prod) = (name("staging")?, name("prod")?);
    for (environment, suite) in [(&staging, "e2e"), (&prod, "unit"), (&prod, "e2e")] {
        let new = NewEvidence {
            name: suite,
            passed: true,
            summary: "48 tests, 0 failed, 0 errors, 2 skipped",
            report: None,
            url: None,
        };
        store
            .add_evidence("demo", &api, &version, environment, new)
            .await?;
    }
    // Demo users get tokens nobody is shown; an admin can create real ones.
    let reviewer = name("rosa")?;
    let token = NewToken {
        name: "demo",
        secret_hash: "demo-rosa-has-no-usable-token",
        prefix: "ferry_demo__",
    };
    let (rosa, _) = store
        .create_user(
            "demo",
            NewUser {
                name: &reviewer,
                email: Some("rosa@example.com"),
                admin: false,
                token,
            },
        )
        .await?;
    store
        .decide(
            &rosa,
            &api,
            &version,
            &prod,
            true,
            "Checked the refund flow on staging",
        )
        .await?;
    let start = (chrono::Utc::now() + chrono::Duration::days(7))
        .format("%Y-%m-%dT09:00:00Z")
        .to_string();
    let end = (chrono::Utc::now() + chrono::Duration::days(7))
        .format("%Y-%m-%dT11:00:00Z")
        .to_string();
    let window = ChangeWindow::parse(&format!("{start}..{end}")).map_err(StoreError::Invalid)?;
    let new = NewChange {
        title: "Ship refunds (api 1.5.0) to production",
        description: "Refunds for card payments; rollback is redeploying 1.4.0.",
        kind: ChangeKind::Normal,
        service: &api,
        environment: &prod,
        release: Some(&version),
        window: Some(window),
    };
    let change = store.create_change("demo", new).await?;
    store
        .act_on_change(
            "demo",
            change.id,
            ChangeAction::Submit,
            ChangeUpdate::default(),
        )
        .await?;
    let assessment = ChangeUpdate {
        risk: Some("medium"),
        impact: Some("checkout and refunds"),
        ..ChangeUpdate::default()
    };
    store
        .act_on_change("rosa", change.id, ChangeAction::Assess, assessment)
        .await?;
    store
        .act_on_change(
            "rosa",
            change.id,
            ChangeAction::Approve,
            ChangeUpdate::default(),
        )
        .await?;
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
