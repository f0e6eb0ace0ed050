//! The status matrix: which version of each service is in each environment.

use serde::{Deserialize, Serialize};

use crate::{DeploymentStatus, Name, Tier};

/// One deployment, as the matrix needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentFact {
    /// The deployment's id.
    pub id: i64,
    /// The service deployed.
    pub service: Name,
    /// The environment deployed to.
    pub environment: Name,
    /// The version deployed.
    pub version: String,
    /// Its status.
    pub status: DeploymentStatus,
    /// When it last changed, as [`crate::time::format_time`] writes it.
    pub updated_at: String,
}

/// A version in a cell, with the deployment that put it there.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CellDeployment {
    /// The version.
    pub version: String,
    /// The deployment's status.
    pub status: DeploymentStatus,
    /// The deployment's id.
    pub deployment_id: i64,
    /// When it last changed.
    pub at: String,
}

/// One service in one environment.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cell {
    /// The service.
    pub service: Name,
    /// The environment.
    pub environment: Name,
    /// The version running there: the last deployment that succeeded.
    pub current: Option<CellDeployment>,
    /// The newest deployment when it is not the current one (in progress,
    /// failed, cancelled…), so the matrix shows what is under way or went wrong.
    pub latest: Option<CellDeployment>,
}

/// Orders environments from the least to the most critical tier, then by name.
pub fn order_environments(environments: &mut [(Name, Tier)]) {
    environments.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
}

/// Builds one cell per service and environment from the deployments.
/// `deployments` may come in any order; the newest (highest id) wins, since
/// deployments to one place are recorded one after the other.
pub fn matrix(
    services: &[Name],
    environments: &[Name],
    deployments: &[DeploymentFact],
) -> Vec<Cell> {
    // Each place's deployments, found by one lookup per cell: a thousand
    // services in five environments make five thousand cells.
    let mut by_place: std::collections::HashMap<(&Name, &Name), Vec<&DeploymentFact>> =
        std::collections::HashMap::with_capacity(deployments.len());
    for deployment in deployments {
        by_place
            .entry((&deployment.service, &deployment.environment))
            .or_default()
            .push(deployment);
    }
    let mut cells = Vec::with_capacity(services.len() * environments.len());
    for service in services {
        for environment in environments {
            let here = by_place
                .get(&(service, environment))
                .map_or(&[][..], Vec::as_slice);
            let newest = |filter: &dyn Fn(&DeploymentFact) -> bool| {
                here.iter()
                    .filter(|d| filter(d))
                    .max_by_key(|d| d.id)
                    .map(|d| CellDeployment {
                        version: d.version.clone(),
                        status: d.status,
                        deployment_id: d.id,
                        at: d.updated_at.clone(),
                    })
            };
            let current = newest(&|d| d.status == DeploymentStatus::Succeeded);
            let latest = newest(&|_| true).filter(|latest| {
                current
                    .as_ref()
                    .is_none_or(|current| current.deployment_id != latest.deployment_id)
            });
            cells.push(Cell {
                service: service.clone(),
                environment: environment.clone(),
                current,
                latest,
            });
        }
    }
    cells
}

/// A version that is in one environment of its service's lifecycle and not
/// yet in the environment of the next phase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// The service.
    pub service: Name,
    /// The version waiting to move on.
    pub version: String,
    /// Where it is.
    pub from: Name,
    /// Where it would go next.
    pub to: Name,
}

/// What is waiting to move on: for each service and each pair of
/// consecutive phases of its lifecycle, a version running in an
/// environment of the earlier phase that is newer than the one running in
/// an environment of the later one (or that environment has none). Versions
/// that are not semantic versions are compared as text.
pub fn pending_promotions(cells: &[Cell], lifecycles: &[(Name, Vec<Vec<Name>>)]) -> Vec<Pending> {
    let current: std::collections::HashMap<(&Name, &Name), &str> = cells
        .iter()
        .filter_map(|cell| {
            let version = cell.current.as_ref()?.version.as_str();
            Some(((&cell.service, &cell.environment), version))
        })
        .collect();
    let newer = |a: &str, b: &str| match (semver::Version::parse(a), semver::Version::parse(b)) {
        (Ok(a), Ok(b)) => a > b,
        _ => a > b,
    };
    let mut pending = Vec::new();
    for (service, phases) in lifecycles {
        for pair in phases.windows(2) {
            for from in &pair[0] {
                let Some(version) = current.get(&(service, from)) else {
                    continue;
                };
                for to in &pair[1] {
                    let behind = current
                        .get(&(service, to))
                        .is_none_or(|there| newer(version, there));
                    if behind {
                        pending.push(Pending {
                            service: service.clone(),
                            version: (*version).to_owned(),
                            from: from.clone(),
                            to: to.clone(),
                        });
                    }
                }
            }
        }
    }
    pending
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> Name {
        Name::parse(s).unwrap()
    }

    fn fact(
        id: i64,
        env: &str,
        version: &str,
        status: DeploymentStatus,
        at: &str,
    ) -> DeploymentFact {
        DeploymentFact {
            id,
            service: name("api"),
            environment: name(env),
            version: version.into(),
            status,
            updated_at: at.into(),
        }
    }

    #[test]
    fn current_is_the_last_success_and_latest_shows_what_followed() {
        use DeploymentStatus::*;
        let deployments = [
            fact(1, "dev", "1.0.0", Succeeded, "2026-01-01T00:00:00.000000Z"),
            fact(2, "dev", "1.1.0", Succeeded, "2026-01-02T00:00:00.000000Z"),
            fact(3, "dev", "1.2.0", Failed, "2026-01-03T00:00:00.000000Z"),
            fact(4, "prod", "1.0.0", Succeeded, "2026-01-02T00:00:00.000000Z"),
        ];
        let cells = matrix(
            &[name("api")],
            &[name("dev"), name("prod"), name("qa")],
            &deployments,
        );
        assert_eq!(cells.len(), 3);
        let dev = &cells[0];
        assert_eq!(dev.current.as_ref().unwrap().version, "1.1.0");
        assert_eq!(
            dev.latest.as_ref().map(|l| (l.version.as_str(), l.status)),
            Some(("1.2.0", Failed))
        );
        let prod = &cells[1];
        assert_eq!(prod.current.as_ref().unwrap().version, "1.0.0");
        assert_eq!(prod.latest, None);
        let qa = &cells[2];
        assert_eq!((qa.current.clone(), qa.latest.clone()), (None, None));
    }

    #[test]
    fn environments_order_by_tier_then_name() {
        let mut envs = vec![
            (name("prod"), Tier::Production),
            (name("dev"), Tier::Development),
            (name("staging"), Tier::Staging),
            (name("a-dev"), Tier::Development),
        ];
        order_environments(&mut envs);
        let names: Vec<_> = envs.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["a-dev", "dev", "staging", "prod"]);
    }

    #[test]
    fn a_version_ahead_of_the_next_phase_is_pending_there() {
        let cell = |service: &str, env: &str, version: Option<&str>| Cell {
            service: name(service),
            environment: name(env),
            current: version.map(|version| CellDeployment {
                version: version.to_owned(),
                status: DeploymentStatus::Succeeded,
                deployment_id: 1,
                at: String::new(),
            }),
            latest: None,
        };
        let cells = [
            cell("api", "dev", Some("1.10.0")),
            cell("api", "staging", Some("1.9.0")),
            cell("api", "prod", Some("1.9.0")),
            cell("web", "dev", Some("2.0.0")),
            cell("web", "staging", Some("2.0.0")),
            cell("web", "prod", None),
        ];
        let phases = vec![vec![name("dev")], vec![name("staging")], vec![name("prod")]];
        let lifecycles = [(name("api"), phases.clone()), (name("web"), phases)];
        let pending: Vec<String> = pending_promotions(&cells, &lifecycles)
            .iter()
            .map(|p| format!("{}@{} {}→{}", p.service, p.version, p.from, p.to))
            .collect();
        assert_eq!(
            pending,
            ["api@1.10.0 dev→staging", "web@2.0.0 staging→prod"],
            "1.10.0 is newer than 1.9.0 by precedence, not by text"
        );
    }
}
