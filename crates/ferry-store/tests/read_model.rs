//! The status matrix read from the current-state table and the in-memory
//! read model is the matrix the whole deployment history gives, after every
//! step of random sequences of deployments, outcomes, cancellations and
//! rollbacks, on both backends.

use ferry_core::config::parse;
use ferry_core::status::{Cell, matrix};
use ferry_core::{DeploymentStatus, Name};
use ferry_store::Store;
use ferry_store::deployments::NewDeployment;
use ferry_store::releases::NewRelease;
use ferry_store::status::StatusFacts;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

#[macro_use]
mod support;

use support::{Fixture, postgres, sqlite};

contract!(the_read_model_agrees_with_the_history);

const SERVICES: [&str; 2] = ["api", "web"];
const ENVIRONMENTS: [&str; 2] = ["dev", "prod"];
const VERSIONS: [&str; 3] = ["1.0.0", "1.1.0", "2.0.0"];

const CONFIG: &str = r#"
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
[[service]]
name = "web"
"#;

/// One thing that happens to deployments. Deployments are picked by their
/// place in the list of those made so far (modulo its length).
#[derive(Debug, Clone)]
enum Step {
    /// A version of a service is deployed to an environment (queued).
    Deploy {
        service: usize,
        environment: usize,
        version: usize,
    },
    /// A deployment starts and ends: succeeded, failed or cancelled.
    End { pick: usize, outcome: usize },
    /// A person cancels a deployment.
    Cancel { pick: usize },
    /// A person rolls a finished deployment back to a version.
    RollBack { pick: usize, version: usize },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0..SERVICES.len(), 0..ENVIRONMENTS.len(), 0..VERSIONS.len()).prop_map(
            |(service, environment, version)| Step::Deploy { service, environment, version }
        ),
        4 => (any::<usize>(), 0..3usize).prop_map(|(pick, outcome)| Step::End { pick, outcome }),
        1 => any::<usize>().prop_map(|pick| Step::Cancel { pick }),
        2 => (any::<usize>(), 0..VERSIONS.len())
            .prop_map(|(pick, version)| Step::RollBack { pick, version }),
    ]
}

fn name(text: &str) -> Name {
    Name::parse(text).unwrap()
}

fn version(index: usize) -> semver::Version {
    semver::Version::parse(VERSIONS[index]).unwrap()
}

fn cells(facts: &StatusFacts) -> Vec<Cell> {
    let environments: Vec<_> = facts.environments.iter().map(|(n, _)| n.clone()).collect();
    matrix(&facts.services, &environments, &facts.deployments)
}

/// Does `step`; what the store refuses (an illegal transition, a second
/// rollback) is part of the story too, and changes nothing.
async fn take(store: &Store, made: &mut Vec<i64>, step: &Step) {
    let pick = |index: usize| (!made.is_empty()).then(|| made[index % made.len()]);
    match *step {
        Step::Deploy {
            service,
            environment,
            version: v,
        } => {
            let deployed = store
                .create_deployment(
                    "alice",
                    &name(SERVICES[service]),
                    &version(v),
                    &name(ENVIRONMENTS[environment]),
                    NewDeployment::default(),
                )
                .await
                .unwrap();
            made.push(deployed.id);
        }
        Step::End { pick: p, outcome } => {
            let Some(id) = pick(p) else { return };
            let _ = store
                .set_deployment_status("alice", id, DeploymentStatus::Running)
                .await;
            let to = [
                DeploymentStatus::Succeeded,
                DeploymentStatus::Failed,
                DeploymentStatus::Cancelled,
            ][outcome];
            let _ = store.finish_deployment(id, to, None).await;
        }
        Step::Cancel { pick: p } => {
            let Some(id) = pick(p) else { return };
            let _ = store.cancel_deployment("alice", id).await;
        }
        Step::RollBack {
            pick: p,
            version: v,
        } => {
            let Some(id) = pick(p) else { return };
            if let Ok(rollback) = store.request_rollback("alice", id, &version(v), None).await {
                made.push(rollback.id);
            }
        }
    }
}

async fn story(fixture: Fixture, steps: Vec<Step>) -> Result<(), TestCaseError> {
    let store = fixture.store;
    store
        .apply("alice", &parse(CONFIG).unwrap(), false)
        .await
        .unwrap();
    for service in SERVICES {
        for v in 0..VERSIONS.len() {
            store
                .create_release(
                    "alice",
                    &name(service),
                    &version(v),
                    NewRelease::with_notes(""),
                )
                .await
                .unwrap();
        }
    }
    let mut made = Vec::new();
    for (n, step) in steps.iter().enumerate() {
        take(&store, &mut made, step).await;
        let from_model = store.status_facts(None).await.unwrap();
        let from_table = store.status_facts_from_heads().await.unwrap();
        let from_history = store.status_facts_from_history().await.unwrap();
        prop_assert_eq!(
            cells(&from_table),
            cells(&from_history),
            "the current-state table after step {} ({:?})",
            n,
            step
        );
        prop_assert_eq!(
            cells(&from_model),
            cells(&from_history),
            "the read model after step {} ({:?})",
            n,
            step
        );
    }
    Ok(())
}

async fn the_read_model_agrees_with_the_history(first: Fixture) {
    // Each case gets a store of its own on the backend `first` is on.
    let on_postgres = first.url.starts_with("postgres");
    drop(first);
    let mut runner = TestRunner::new(Config {
        cases: 24,
        failure_persistence: None,
        ..Config::default()
    });
    let handle = tokio::runtime::Handle::current();
    let result = tokio::task::block_in_place(|| {
        runner.run(&proptest::collection::vec(step(), 1..40), |steps| {
            handle.block_on(async {
                let fixture = if on_postgres {
                    postgres().await.unwrap()
                } else {
                    sqlite().await
                };
                story(fixture, steps).await
            })
        })
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
}
