//! The rule of a train's run, checked against a simulated environment:
//! whatever member fails, after however many of its targets, and whatever
//! the members held before, once the run has ended the environment holds
//! either every new member or what it held before, never a mix.

use ferry_core::DeploymentStatus as D;
use ferry_core::train::{MemberFacts, TrainStep, next_step};
use proptest::prelude::*;

/// One service of the environment: the version each target runs.
#[derive(Debug, Clone)]
struct Service {
    /// The version that succeeded there before the run (`None`: never).
    old: Option<u32>,
    /// The train's version.
    new: u32,
    /// What each target runs (`None`: nothing yet).
    targets: Vec<Option<u32>>,
    /// The run's deployment of it, and the rollback of that deployment.
    deployment: Option<D>,
    rollback: Option<D>,
    /// The targets the deployment changed.
    changed: usize,
}

impl Service {
    fn facts(&self) -> MemberFacts {
        MemberFacts {
            deployment: self.deployment,
            rollback: self.rollback,
            restorable: self.old.is_some()
                && (self.deployment == Some(D::Succeeded) || self.changed > 0),
        }
    }
}

/// How one run goes: which member fails, after how many targets, and
/// whether its own rollback policy rolls it back by itself.
#[derive(Debug, Clone)]
struct Scenario {
    services: Vec<Service>,
    fails: Option<(usize, usize)>,
    auto_rollback: bool,
}

fn scenario() -> impl Strategy<Value = Scenario> {
    let service = (prop::option::of(1u32..5), 1usize..4).prop_map(|(old, targets)| Service {
        old,
        new: 9,
        targets: vec![old; targets],
        deployment: None,
        rollback: None,
        changed: 0,
    });
    (
        prop::collection::vec(service, 1..5),
        any::<bool>(),
        any::<(usize, usize)>(),
        any::<bool>(),
    )
        .prop_map(|(services, fail, (member, after), auto_rollback)| {
            let fails = fail.then(|| {
                let member = member % services.len();
                (member, after % (services[member].targets.len() + 1))
            });
            Scenario {
                services,
                fails,
                auto_rollback,
            }
        })
}

/// Runs the scenario with `next_step` deciding, as the orchestrator does.
fn run(mut scenario: Scenario) -> (TrainStep, Vec<Service>) {
    for _ in 0..100 {
        let facts: Vec<MemberFacts> = scenario.services.iter().map(Service::facts).collect();
        match next_step(&facts) {
            TrainStep::Start(index) => {
                let service = &mut scenario.services[index];
                let fails_after = scenario.fails.filter(|(m, _)| *m == index).map(|(_, n)| n);
                let changed = fails_after.unwrap_or(service.targets.len());
                for target in service.targets.iter_mut().take(changed) {
                    *target = Some(service.new);
                }
                service.changed = changed;
                if fails_after.is_some() {
                    service.deployment = Some(D::Failed);
                    // Its own policy may roll it back first.
                    if scenario.auto_rollback && service.old.is_some() && changed > 0 {
                        for target in service.targets.iter_mut().take(changed) {
                            *target = service.old;
                        }
                        service.rollback = Some(D::Succeeded);
                        service.deployment = Some(D::RolledBack);
                    }
                } else {
                    service.deployment = Some(D::Succeeded);
                }
            }
            TrainStep::RollBack(index) => {
                let service = &mut scenario.services[index];
                assert!(service.rollback.is_none(), "rolled back twice: {service:?}");
                let old = service.old.expect("only what can go back is rolled back");
                for target in service.targets.iter_mut() {
                    if *target == Some(service.new) {
                        *target = Some(old);
                    }
                }
                service.rollback = Some(D::Succeeded);
                if service.deployment == Some(D::Failed) {
                    service.deployment = Some(D::RolledBack);
                }
            }
            TrainStep::Wait => panic!("nothing runs in the simulation, yet the run waits"),
            end => return (end, scenario.services),
        }
    }
    panic!("the run never ended: {scenario:?}");
}

proptest! {
    #[test]
    fn an_ended_run_leaves_all_new_or_all_as_before(scenario in scenario()) {
        let fails = scenario.fails;
        let (end, services) = run(scenario);
        match fails {
            None => {
                prop_assert_eq!(end, TrainStep::Succeeded);
                for service in &services {
                    prop_assert!(service.targets.iter().all(|t| *t == Some(service.new)), "{:?}", service);
                }
            }
            Some((member, _)) => {
                prop_assert_eq!(end, TrainStep::Failed { failed: member });
                for (index, service) in services.iter().enumerate() {
                    if service.old.is_some() {
                        prop_assert!(
                            service.targets.iter().all(|t| *t == service.old),
                            "member {} holds a mix after the run: {:?}", index, service
                        );
                    }
                    if index > member {
                        prop_assert!(service.deployment.is_none(), "a member after the failed one was deployed");
                    }
                }
            }
        }
    }
}
