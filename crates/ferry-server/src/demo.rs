//! `ferry serve --demo`: sample environments, services, releases and
//! deployments, loaded into an empty database so a newcomer sees real data.
//!
//! One service of the sample, `hello`, is deployed for real: its steps start
//! a small web server on this machine (`ferry sample-app`), and the server's
//! local agent runs them. At the demo's first start [`promote`] sends hello
//! 1.0.0 to dev, then 1.1.0, which the demo starts unhealthy on purpose, so
//! its health check fails and the orchestrator rolls dev back to 1.0.0.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ferry_core::access::{Grant, Role};
use ferry_core::{DeploymentStatus, Name};
use ferry_store::access::Holder;
use ferry_store::auth::{NewToken, NewUser, UserRecord};
use ferry_store::deployments::NewDeployment;
use ferry_store::releases::NewRelease;
use ferry_store::{Store, StoreError};

/// The port on 127.0.0.1 where hello is deployed unless told otherwise: next
/// to ferry's own 8740, and in no common service's way.
pub const DEFAULT_PORT: u16 = 8741;

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

[[plan_template]]
name = "standard"
milestones = [
  { name = "code freeze", at = "-7d" },
  { name = "QA sign-off", at = "-1d" },
  { name = "go-live", at = "0d" },
]
tasks = [
  { title = "QA sign-off", assignee = "group:release", due = "-1d", required_before = "prod" },
  { title = "Announce the release to support", assignee = "priya", due = "0d" },
]

[[service]]
name = "api"
description = "The public HTTP API"
repo = "https://git.example.com/shop/api.git"
plan_template = "standard"

[[service]]
name = "web"
description = "The storefront"
repo = "https://git.example.com/shop/web.git"

[[service]]
name = "worker"
description = "Background jobs"
repo = "https://git.example.com/shop/worker.git"
"#;

/// The service deployed for real, on `{port}`. Only agents tagged
/// `host=local` (the server's own) deploy it: the steps start a process on
/// the machine they run on.
const HELLO_SERVICE: &str = r#"
[[service]]
name = "hello"
description = "A small web server that the server's local agent deploys on this machine"

[service.deploy]
targets = { host = "local" }
health = { http = "http://127.0.0.1:{port}/healthz", timeout = "2s", retries = 4, interval = "1s" }

[[service.deploy.steps]]
name = "stop"
timeout = "30s"
run = '''
# Stop the instance that the previous deployment started, if it still runs.
pid_file="$FERRY_WORK_DIR/hello.pid"
if [ -f "$pid_file" ]; then
  kill "$(cat "$pid_file")" 2>/dev/null || true
  rm -f "$pid_file"
fi
'''

[[service.deploy.steps]]
name = "start"
timeout = "30s"
run = '''
# hello 1.1.0 is the demo's broken release: it is started with --unhealthy,
# so its /healthz answers 500, its health check fails and ferry rolls it back.
case "$FERRY_VERSION" in
  1.1.*) health=--unhealthy ;;
  *) health= ;;
esac
"$FERRY_EXE" sample-app --detach --port {port} --version "$FERRY_VERSION" $health \
  --pid-file "$FERRY_WORK_DIR/hello.pid" --log-file "$PWD/hello.log"
'''
"#;

/// The whole sample configuration, with hello on `port`.
pub fn config(port: u16) -> String {
    format!(
        "{DEMO_CONFIG}{}",
        HELLO_SERVICE.replace("{port}", &port.to_string())
    )
}

/// hello's releases, promoted by [`promote`] rather than given a history.
const HELLO_RELEASES: &[(&str, &str)] = &[
    (
        "1.0.0",
        "First release: a page that says hello, and /healthz.",
    ),
    (
        "1.1.0",
        "The demo's broken release: its deploy step starts it with --unhealthy, so \
         /healthz answers 500, the health check fails and ferry rolls dev back to 1.0.0.",
    ),
];

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
    load_with_port(store, DEFAULT_PORT).await.map(|_| ())
}

/// [`load`], with hello on `port`; answers whether the sample was loaded.
pub async fn load_with_port(store: &Store, port: u16) -> Result<bool, StoreError> {
    if !store.environments().await?.is_empty() {
        tracing::info!("demo: the database has data already; not loading the sample");
        return Ok(false);
    }
    let config =
        ferry_core::config::parse(&config(port)).map_err(|e| StoreError::Invalid(e.to_string()))?;
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
    let hello = name("hello")?;
    for &(version, notes) in HELLO_RELEASES {
        store
            .create_release(
                "demo",
                &hello,
                &semver(version)?,
                NewRelease::with_notes(notes),
            )
            .await?;
    }
    control(store).await?;
    planning(store).await?;
    tracing::info!(
        "demo: loaded 3 environments, 4 services, {} releases",
        HISTORY.len() + HELLO_RELEASES.len()
    );
    Ok(true)
}

fn name(text: &str) -> Result<Name, StoreError> {
    Name::parse(text).map_err(|e| StoreError::Invalid(e.to_string()))
}

fn semver(text: &str) -> Result<semver::Version, StoreError> {
    semver::Version::parse(text).map_err(|e| StoreError::Invalid(e.to_string()))
}

/// How often [`promote`] looks at the agents and deployments.
const POLL: Duration = Duration::from_millis(500);

/// The demo's live part, run after its first load until `stop` is set: once
/// a local agent of dev is there, promotes hello 1.0.0 to dev; once that
/// deployment succeeded, hello 1.1.0, which fails its health check, so the
/// orchestrator rolls it back. The second promotion waits for the first to
/// succeed: a rollback needs a release that succeeded before.
pub async fn promote(store: Store, stop: Arc<AtomicBool>) {
    if let Err(error) = promote_hello(&store, &stop).await {
        tracing::warn!(%error, "demo: promoting hello failed");
    }
}

async fn promote_hello(store: &Store, stop: &AtomicBool) -> Result<(), StoreError> {
    let (hello, dev) = (name("hello")?, name("dev")?);
    let mut waiting_said = false;
    loop {
        if stop.load(Ordering::Relaxed) {
            return Ok(());
        }
        let agents = store.agents(Some(&dev)).await?;
        let local = agents.iter().any(|agent| {
            agent.revoked_at.is_none()
                && agent.tags.get("host").map(String::as_str) == Some("local")
        });
        if local {
            break;
        }
        if !waiting_said {
            tracing::info!("demo: waiting for a local agent of dev to deploy hello");
            waiting_said = true;
        }
        tokio::time::sleep(POLL).await;
    }
    let (good, bad) = (semver(HELLO_RELEASES[0].0)?, semver(HELLO_RELEASES[1].0)?);
    let first = store
        .create_deployment("demo", &hello, &good, &dev, NewDeployment::default())
        .await?;
    tracing::info!(deployment = first.id, "demo: promoted hello {good} to dev");
    loop {
        if stop.load(Ordering::Relaxed) {
            return Ok(());
        }
        let status = store.deployment(first.id).await?.status;
        if status == DeploymentStatus::Succeeded {
            break;
        }
        if status.is_finished() {
            tracing::warn!(
                deployment = first.id,
                %status,
                "demo: hello {good} did not deploy (see `ferry deploy show {}`); not promoting {bad}",
                first.id
            );
            return Ok(());
        }
        tokio::time::sleep(POLL).await;
    }
    let second = store
        .create_deployment("demo", &hello, &bad, &dev, NewDeployment::default())
        .await?;
    tracing::info!(
        deployment = second.id,
        "demo: promoted hello {bad} to dev; it is unhealthy on purpose, so ferry will roll it back to {good}"
    );
    Ok(())
}

/// api 1.5.0's plan (made from the `standard` template when it was
/// released) dated for a go-live next week, and the `spring` train of api,
/// web and worker with a plan of its own.
async fn planning(store: &Store) -> Result<(), StoreError> {
    let go_live = (chrono::Utc::now() + chrono::Duration::days(7))
        .date_naive()
        .and_hms_opt(9, 0, 0)
        .map(|t| t.and_utc());
    let api = name("api")?;
    if let Some(plan) = store.release_plan(&api, &semver("1.5.0")?).await? {
        store
            .update_plan("demo", plan.id, Some("priya"), go_live)
            .await?;
    }
    let template = store.plan_template(&name("standard")?).await?;
    store
        .create_train(
            "demo",
            &name("spring")?,
            &[
                (api, semver("1.5.1")?),
                (name("worker")?, semver("0.9.0")?),
                (name("web")?, semver("2.4.0")?),
            ],
            template.as_ref(),
            go_live,
        )
        .await?;
    Ok(())
}

/// Control data for api 1.5.0 on its way to prod: evidence, an approval by
/// a second user, and an approved change request for next week.
async fn control(store: &Store) -> Result<(), StoreError> {
    use ferry_core::change::{ChangeAction, ChangeKind, ChangeWindow};
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
    let rosa = people(store).await?;
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

/// The demo's people, each with a role, so that `ferry role list` shows who
/// may do what: rosa approves for production, dana develops the api, omar
/// deploys to dev and staging, priya manages releases, and the `release`
/// group (priya's) may approve anywhere. Their tokens are shown to nobody;
/// an administrator creates real users with `ferry user create`. Returns
/// rosa, who approves the demo's api release.
async fn people(store: &Store) -> Result<UserRecord, StoreError> {
    let (dev, staging, prod, api) = (name("dev")?, name("staging")?, name("prod")?, name("api")?);
    let people: [(&str, &str, Vec<Grant>); 4] = [
        (
            "rosa",
            "rosa@example.com",
            vec![scoped(Role::Approver, None, Some(&prod))],
        ),
        (
            "dana",
            "dana@example.com",
            vec![scoped(Role::Developer, Some(&api), None)],
        ),
        (
            "omar",
            "omar@example.com",
            vec![
                scoped(Role::Deployer, None, Some(&dev)),
                scoped(Role::Deployer, None, Some(&staging)),
            ],
        ),
        (
            "priya",
            "priya@example.com",
            vec![Grant::global(Role::ReleaseManager)],
        ),
    ];
    let mut rosa = None;
    for (person, email, grants) in people {
        let person_name = name(person)?;
        let unusable = format!("demo-{person}-has-no-usable-token");
        let token = NewToken {
            name: "demo",
            secret_hash: &unusable,
            prefix: "ferry_demo__",
            expires_at: None,
            grants: None,
        };
        let new = NewUser {
            name: &person_name,
            email: Some(email),
            admin: false,
            token,
        };
        let (user, _) = store.create_user("demo", new).await?;
        for grant in &grants {
            store
                .grant("demo", Holder::User(&person_name), grant)
                .await?;
        }
        if person == "rosa" {
            rosa = Some(user);
        }
    }
    let release = name("release")?;
    store.create_group("demo", &release).await?;
    store
        .set_membership("demo", &release, &name("priya")?, true)
        .await?;
    store
        .grant(
            "demo",
            Holder::Group(&release),
            &Grant::global(Role::Approver),
        )
        .await?;
    rosa.ok_or_else(|| StoreError::Corrupt("the demo lost rosa".into()))
}

fn scoped(role: Role, service: Option<&Name>, environment: Option<&Name>) -> Grant {
    Grant {
        role,
        service: service.cloned(),
        environment: environment.cloned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_demo_configuration_is_valid() {
        let config = ferry_core::config::parse(&super::config(9999)).unwrap();
        assert_eq!(config.environments.len(), 3);
        assert_eq!(config.services.len(), 4);
        let hello = config.services.iter().find(|s| s.name.as_str() == "hello");
        let process =
            ferry_core::process::DeployProcess::from_value(&hello.unwrap().deploy).unwrap();
        assert_eq!(process.steps.len(), 2);
        assert!(process.steps[1].run.contains("--port 9999"));
        assert_eq!(
            process.targets.get("host").map(String::as_str),
            Some("local")
        );
    }
}
