//! The orchestrator, one pass at a time: agents and their jobs are simulated
//! through the store, claiming and finishing jobs as a real agent would.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use ferry_core::{DeploymentStatus, Name};
use ferry_server::{AppState, orchestrator_tick};
use ferry_store::Store;
use ferry_store::agents::AgentRecord;
use ferry_store::blobs::BlobStore;
use ferry_store::deployments::NewDeployment;
use ferry_store::jobs::{JobKind, JobRecord, JobState};
use ferry_store::progress::CancelOutcome;
use ferry_store::releases::NewRelease;
use serde_json::json;

const CONFIG: &str = r#"
[[environment]]
name = "dev"
tier = "development"
[lifecycle.default]
phases = [["dev"]]
[[service]]
name = "api"
repo = "."
deploy.strategy = { kind = "rolling", batch = 2 }
deploy.steps = [{ name = "install", run = "true" }]
deploy.targets = { role = "web" }
[[service]]
name = "web"
"#;

struct Fixture {
    state: AppState,
    agents: Vec<AgentRecord>,
    _dir: tempfile::TempDir,
}

fn name(s: &str) -> Name {
    Name::parse(s).unwrap()
}

fn version(s: &str) -> semver::Version {
    semver::Version::parse(s).unwrap()
}

/// A store with api and web, and three matching agents of dev (listed in an
/// order other than their names') plus one that the selector leaves out.
async fn fixture() -> Fixture {
    fixture_with(CONFIG).await
}

/// Like [`fixture`], with another configuration (which must have dev).
async fn fixture_with(config: &str) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("ferry.db").display());
    let store = Store::connect(&url).await.unwrap();
    let config = ferry_core::config::parse(config).unwrap();
    store.apply("alice", &config, false).await.unwrap();
    let mut agents = Vec::new();
    for (agent, role) in [("c", "web"), ("a", "web"), ("db", "db"), ("b", "web")] {
        let tags = BTreeMap::from([("role".to_owned(), role.to_owned())]);
        let record = store
            .register_agent(
                "alice",
                &name("dev"),
                &name(agent),
                &tags,
                &format!("hash-{agent}"),
            )
            .await
            .unwrap();
        // Agents that asked for work lately are the ones given work.
        store.touch_agent(record.id, Utc::now()).await.unwrap();
        if role == "web" {
            agents.push(record);
        }
    }
    agents.sort_by(|a, b| a.name.cmp(&b.name));
    let state = AppState::new(store, BlobStore::new(dir.path().join("artifacts")), 1 << 20);
    Fixture {
        state,
        agents,
        _dir: dir,
    }
}

impl Fixture {
    fn store(&self) -> &Store {
        &self.state.store
    }

    async fn deploy(&self, service: &str, v: &str) -> i64 {
        let _ = self
            .store()
            .create_release(
                "alice",
                &name(service),
                &version(v),
                NewRelease::with_notes(""),
            )
            .await;
        self.store()
            .create_deployment(
                "alice",
                &name(service),
                &version(v),
                &name("dev"),
                NewDeployment::default(),
            )
            .await
            .unwrap()
            .id
    }

    async fn tick(&self, now: DateTime<Utc>) -> ferry_server::TickReport {
        orchestrator_tick(&self.state, now).await.unwrap()
    }

    async fn status(&self, id: i64) -> DeploymentStatus {
        self.store().deployment(id).await.unwrap().status
    }

    /// Agent `agent` claims its next job and reports `succeeded`.
    async fn run_job(&self, agent: &AgentRecord, succeeded: bool, now: DateTime<Utc>) -> JobRecord {
        let job = self
            .store()
            .claim_job(agent.id, Duration::seconds(30), now)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("agent {} has no job", agent.name));
        self.store()
            .finish_job(
                job.id,
                job.attempt,
                succeeded,
                &json!({ "exit": i32::from(!succeeded) }),
                now,
            )
            .await
            .unwrap();
        job
    }

    async fn has_no_job(&self, agent: &AgentRecord, now: DateTime<Utc>) {
        assert_eq!(
            self.store()
                .claim_job(agent.id, Duration::seconds(30), now)
                .await
                .unwrap(),
            None,
            "agent {} should have no job",
            agent.name
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_deployment_succeeds_batch_by_batch() {
    let f = fixture().await;
    let [a, b, c] = [&f.agents[0], &f.agents[1], &f.agents[2]];
    let id = f.deploy("api", "1.0.0").await;
    let now = Utc::now();

    let report = f.tick(now).await;
    assert_eq!(report.started, [id]);
    assert_eq!(f.status(id).await, DeploymentStatus::Running);
    let progress = f.store().progress(id).await.unwrap();
    assert_eq!(progress.plan, Some(vec![vec![a.id, b.id], vec![c.id]]));
    assert_eq!(progress.batch, Some(0));
    // A second pass (another replica) changes nothing.
    assert_eq!(f.tick(now).await, Default::default());

    f.has_no_job(c, now).await;
    let job = f.run_job(a, true, now).await;
    assert_eq!((job.batch, job.kind), (0, JobKind::Deploy));
    assert_eq!(
        f.tick(now).await.advanced,
        Vec::<i64>::new(),
        "b is not done"
    );
    f.run_job(b, true, now).await;

    let report = f.tick(now).await;
    assert_eq!(report.advanced, [id]);
    assert_eq!(f.store().progress(id).await.unwrap().batch, Some(1));
    let job = f.run_job(c, true, now).await;
    assert_eq!(job.batch, 1);

    let report = f.tick(now).await;
    assert_eq!(report.succeeded, [id]);
    assert_eq!(f.status(id).await, DeploymentStatus::Succeeded);
    assert_eq!(f.tick(now).await, Default::default());
    let jobs = f.store().jobs(id).await.unwrap();
    assert_eq!(jobs.len(), 3);
    assert!(jobs.iter().all(|job| job.state == JobState::Succeeded));
    let actions: Vec<String> = f
        .store()
        .audit_events(0, 10_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|event| event.object == format!("deployment:{id}"))
        .map(|event| event.action)
        .collect();
    assert_eq!(
        actions,
        [
            "deployment.create",
            "deployment.start",
            "deployment.batch",
            "deployment.status",
            "deployment.status"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_job_halts_and_rolls_back_the_changed_targets() {
    let f = fixture().await;
    let [a, b, c] = [&f.agents[0], &f.agents[1], &f.agents[2]];
    let now = Utc::now();
    // 1.0.0 deploys everywhere.
    let good = f.deploy("api", "1.0.0").await;
    f.tick(now).await;
    f.run_job(a, true, now).await;
    f.run_job(b, true, now).await;
    f.tick(now).await;
    f.run_job(c, true, now).await;
    f.tick(now).await;
    assert_eq!(f.status(good).await, DeploymentStatus::Succeeded);

    // 1.1.0 fails on b in the first batch.
    let bad = f.deploy("api", "1.1.0").await;
    assert_eq!(f.tick(now).await.started, [bad]);
    f.run_job(a, true, now).await;
    f.run_job(b, false, now).await;
    let report = f.tick(now).await;
    assert_eq!(report.failed, [bad]);
    assert_eq!(report.rollbacks.len(), 1);
    let rollback = report.rollbacks[0];
    let failed = f.store().progress(bad).await.unwrap();
    assert_eq!(failed.deployment.status, DeploymentStatus::Failed);
    let reason = failed.reason.unwrap();
    assert!(reason.contains("failed on b"), "{reason}");
    f.has_no_job(c, now).await;

    let progress = f.store().progress(rollback).await.unwrap();
    assert_eq!(progress.rollback_of, Some(bad));
    assert_eq!(progress.deployment.version, "1.0.0");
    assert_eq!(progress.deployment.status, DeploymentStatus::Running);
    assert_eq!(progress.plan, Some(vec![vec![a.id, b.id]]));
    // Another pass neither halts again nor makes a second rollback.
    assert_eq!(f.tick(now).await, Default::default());

    let job = f.run_job(a, true, now).await;
    assert_eq!((job.deployment_id, job.kind), (rollback, JobKind::Rollback));
    f.run_job(b, true, now).await;
    f.has_no_job(c, now).await;
    let report = f.tick(now).await;
    assert_eq!(report.succeeded, [rollback]);
    assert_eq!(f.status(rollback).await, DeploymentStatus::Succeeded);
    assert_eq!(f.status(bad).await, DeploymentStatus::RolledBack);
    assert_eq!(f.tick(now).await, Default::default());
    assert!(matches!(
        f.store().verify_audit().await.unwrap(),
        ferry_store::audit::Verification::Intact { .. }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_external_deployment_is_left_queued() {
    let f = fixture().await;
    let id = f.deploy("web", "1.0.0").await;
    let report = f.tick(Utc::now()).await;
    assert_eq!(report, Default::default());
    assert_eq!(f.status(id).await, DeploymentStatus::Queued);
    assert!(f.store().jobs(id).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_matching_agent_it_waits_with_the_reason() {
    let f = fixture().await;
    let store = f.store();
    let mut config = ferry_core::config::parse(CONFIG).unwrap();
    for service in &mut config.services {
        if service.name.as_str() == "api" {
            service.deploy["targets"] = json!({ "role": "cache" });
        }
    }
    store.apply("alice", &config, false).await.unwrap();
    let id = f.deploy("api", "1.0.0").await;
    let report = f.tick(Utc::now()).await;
    assert_eq!(report.waiting, [id]);
    let progress = store.progress(id).await.unwrap();
    assert_eq!(progress.deployment.status, DeploymentStatus::Waiting);
    assert_eq!(
        progress.reason.as_deref(),
        Some(
            "no agent of dev that the service's targets select has asked for work in the last 3 minutes"
        )
    );
    assert_eq!(f.tick(Utc::now()).await, Default::default(), "said once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_idempotent_job_is_retried() {
    let f = fixture().await;
    let store = f.store();
    let mut config = ferry_core::config::parse(CONFIG).unwrap();
    for service in &mut config.services {
        if service.name.as_str() == "api" {
            service.deploy["steps"][0]["idempotent"] = json!(true);
        }
    }
    store.apply("alice", &config, false).await.unwrap();
    let id = f.deploy("api", "1.0.0").await;
    let now = Utc::now();
    f.tick(now).await;
    let job = store
        .claim_job(f.agents[0].id, Duration::seconds(30), now)
        .await
        .unwrap()
        .unwrap();
    assert!(store.start_job(job.id, job.attempt, now).await.unwrap());
    let later = now + Duration::seconds(60);
    let report = f.tick(later).await;
    assert_eq!(report.retried_jobs, [job.id]);
    assert_eq!(f.status(id).await, DeploymentStatus::Running);
    let again = f.run_job(&f.agents[0], true, later).await;
    assert_eq!((again.id, again.attempt), (job.id, 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_stops_a_rolling_deployment_between_batches() {
    let f = fixture().await;
    let [a, b, c] = [&f.agents[0], &f.agents[1], &f.agents[2]];
    let id = f.deploy("api", "1.0.0").await;
    let now = Utc::now();
    f.tick(now).await;
    let outcome = f.store().cancel_deployment("bob", id).await.unwrap();
    assert_eq!(outcome, CancelOutcome::Requested);
    assert_eq!(
        f.store().cancel_deployment("carol", id).await.unwrap(),
        CancelOutcome::AlreadyRequested { by: "bob".into() }
    );
    // The batch under way is finished, not cut in half.
    let report = f.tick(now).await;
    assert!(report.cancelled.is_empty(), "{report:?}");
    f.run_job(a, true, now).await;
    f.run_job(b, true, now).await;
    let report = f.tick(now).await;
    assert_eq!(report.cancelled, [id]);
    assert_eq!(f.status(id).await, DeploymentStatus::Cancelled);
    let reason = f.store().progress(id).await.unwrap().reason.unwrap();
    assert_eq!(reason, "cancelled by bob after 1 of 2 batch(es)");
    f.has_no_job(c, now).await;
    let error = f.store().cancel_deployment("bob", id).await.unwrap_err();
    assert!(error.to_string().contains("is cancelled"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_deployment_is_cancelled_at_once() {
    let f = fixture().await;
    let id = f.deploy("api", "1.0.0").await;
    assert_eq!(
        f.store().cancel_deployment("bob", id).await.unwrap(),
        CancelOutcome::Cancelled
    );
    assert_eq!(f.status(id).await, DeploymentStatus::Cancelled);
    assert_eq!(f.tick(Utc::now()).await, Default::default());
    f.has_no_job(&f.agents[0], Utc::now()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gates_are_judged_again_when_a_deployment_starts() {
    let f = fixture().await;
    let id = f.deploy("api", "1.0.0").await;
    let now = Utc::now();
    let freeze = ferry_core::freeze::FreezeSpec {
        name: name("incident"),
        reason: "incident 42".into(),
        start: Some(ferry_core::time::format_time(now - Duration::hours(1))),
        end: Some(ferry_core::time::format_time(now + Duration::hours(1))),
        rrule: None,
        duration: None,
        timezone: None,
        environments: vec![name("dev")],
    };
    f.store().create_freeze("alice", &freeze).await.unwrap();
    let report = f.tick(now).await;
    assert_eq!(report.waiting, [id]);
    let progress = f.store().progress(id).await.unwrap();
    assert_eq!(progress.deployment.status, DeploymentStatus::Waiting);
    let reason = progress.reason.unwrap();
    assert!(
        reason.contains("frozen by incident") && reason.contains("(frozen)"),
        "{reason}"
    );
    f.has_no_job(&f.agents[0], now).await;
    // Once the freeze is over, it starts.
    let later = now + Duration::hours(2);
    for agent in &f.agents {
        f.store().touch_agent(agent.id, later).await.unwrap();
    }
    let report = f.tick(later).await;
    assert_eq!(report.started, [id]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn success_promotes_into_an_auto_phase_once() {
    let config = r#"
[[environment]]
name = "dev"
tier = "development"
[[environment]]
name = "qa"
tier = "testing"
[lifecycle.default]
phases = [["dev"], { environments = ["qa"], auto = true }]
[[service]]
name = "api"
repo = "."
deploy.strategy = { kind = "all" }
deploy.steps = [{ name = "install", run = "true" }]
deploy.targets = { role = "web" }
"#;
    let f = fixture_with(config).await;
    let id = f.deploy("api", "1.0.0").await;
    let now = Utc::now();
    f.tick(now).await;
    for agent in &f.agents {
        f.run_job(agent, true, now).await;
    }
    let report = f.tick(now).await;
    assert_eq!(report.succeeded, [id]);
    let promoted = if report.promoted.is_empty() {
        f.tick(now).await.promoted
    } else {
        report.promoted
    };
    assert_eq!(promoted.len(), 1, "one deployment into qa");
    let qa = f.store().deployment(promoted[0]).await.unwrap();
    assert_eq!(
        (
            qa.environment.as_str(),
            qa.version.as_str(),
            qa.created_by.as_str()
        ),
        ("qa", "1.0.0", "system")
    );
    // Another pass (or replica) promotes nothing more.
    assert!(f.tick(now).await.promoted.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auto_phase_never_enters_a_protected_environment() {
    let config = r#"
[[environment]]
name = "dev"
tier = "development"
[[environment]]
name = "prod"
tier = "production"
protected = true
[lifecycle.default]
phases = [["dev"], { environments = ["prod"], auto = true }]
[[service]]
name = "api"
repo = "."
deploy.strategy = { kind = "all" }
deploy.steps = [{ name = "install", run = "true" }]
deploy.targets = { role = "web" }
"#;
    let f = fixture_with(config).await;
    let id = f.deploy("api", "1.0.0").await;
    let now = Utc::now();
    f.tick(now).await;
    for agent in &f.agents {
        f.run_job(agent, true, now).await;
    }
    let report = f.tick(now).await;
    assert_eq!(report.succeeded, [id]);
    assert!(report.promoted.is_empty() && f.tick(now).await.promoted.is_empty());
    let deployments = f
        .store()
        .deployments(
            ferry_store::deployments::DeploymentFilter::default(),
            None,
            10,
        )
        .await
        .unwrap();
    assert!(
        deployments.iter().all(|d| d.environment != "prod"),
        "only a person whose grant names prod promotes there"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollback_by_hand_restores_the_previous_release_on_every_target() {
    let f = fixture().await;
    let now = Utc::now();
    for v in ["1.0.0", "1.1.0"] {
        let id = f.deploy("api", v).await;
        f.tick(now).await;
        f.run_job(&f.agents[0], true, now).await;
        f.run_job(&f.agents[1], true, now).await;
        f.tick(now).await;
        f.run_job(&f.agents[2], true, now).await;
        f.tick(now).await;
        assert_eq!(f.status(id).await, DeploymentStatus::Succeeded);
    }
    let latest = f
        .store()
        .deployments(Default::default(), None, 1)
        .await
        .unwrap()[0]
        .id;
    let previous = f
        .store()
        .last_success_before(latest)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(previous, version("1.0.0"));
    let rollback = f
        .store()
        .request_rollback("bob", latest, &previous, None)
        .await
        .unwrap();
    assert_eq!(rollback.rollback_of, Some(latest));
    let again = f
        .store()
        .request_rollback("bob", latest, &previous, None)
        .await;
    assert!(
        again
            .unwrap_err()
            .to_string()
            .contains("rolled back already"),
        "one rollback per deployment"
    );
    f.tick(now).await;
    let job = f.run_job(&f.agents[0], true, now).await;
    assert_eq!(job.kind, JobKind::Rollback);
    f.run_job(&f.agents[1], true, now).await;
    f.tick(now).await;
    f.run_job(&f.agents[2], true, now).await;
    f.tick(now).await;
    assert_eq!(f.status(rollback.id).await, DeploymentStatus::Succeeded);
    assert_eq!(f.status(latest).await, DeploymentStatus::Succeeded);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_later_deployment_waits_for_the_one_under_way() {
    let f = fixture().await;
    let now = Utc::now();
    let first = f.deploy("api", "1.0.0").await;
    let second = f.deploy("api", "1.1.0").await;
    let report = f.tick(now).await;
    assert_eq!(report.started, [first]);
    assert_eq!(report.waiting, [second]);
    let reason = f.store().progress(second).await.unwrap().reason.unwrap();
    assert_eq!(
        reason,
        format!("waits for deployment {first} of api to dev to end")
    );
    for agent in &f.agents[..2] {
        f.run_job(agent, true, now).await;
    }
    f.tick(now).await;
    f.run_job(&f.agents[2], true, now).await;
    let report = f.tick(now).await;
    assert_eq!(report.succeeded, [first]);
    let report = f.tick(now).await;
    assert_eq!(report.started, [second]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_that_went_away_fails_its_untaken_job() {
    let f = fixture().await;
    let now = Utc::now();
    let id = f.deploy("api", "1.0.0").await;
    f.tick(now).await;
    f.run_job(&f.agents[0], true, now).await;
    // b never takes its job; later, it has not been seen for too long.
    let later = now + Duration::minutes(10);
    let report = f.tick(later).await;
    assert_eq!(report.failed, [id], "{report:?}");
    let target = f
        .store()
        .jobs(id)
        .await
        .unwrap()
        .into_iter()
        .find(|job| job.agent_id == f.agents[1].id)
        .unwrap();
    assert_eq!(target.state, JobState::Failed);
    assert_eq!(
        target.result.unwrap()["reason"],
        ferry_store::jobs::NOT_CLAIMED
    );
}
