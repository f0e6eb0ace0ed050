//! The store's contract: one set of stories, run against SQLite and against
//! PostgreSQL. The PostgreSQL run needs `FERRY_TEST_POSTGRES_URL` (a database
//! the tests may create schemas in); each test works in a schema of its own so
//! runs never collide. Under CI (`CI` set) a missing URL fails the run rather
//! than skipping it.

use std::collections::HashSet;

use ferry_core::config::{Config, parse};
use ferry_core::plan::Action;
use ferry_core::{DeploymentStatus, Name, ReleaseState};
use ferry_store::audit::Verification;
use ferry_store::auth::{NewToken, NewUser};
use ferry_store::deployments::{DeploymentFilter, NewDeployment};
use ferry_store::releases::{ArtifactRecord, NewRelease};
use ferry_store::{Store, StoreError};
use sqlx::Connection;

/// A store for one test, with what it takes to reach its database directly.
struct Fixture {
    store: Store,
    url: String,
    _dir: Option<tempfile::TempDir>,
}

async fn sqlite() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("ferry.db").display());
    let store = Store::connect(&url).await.unwrap();
    Fixture {
        store,
        url,
        _dir: Some(dir),
    }
}

async fn postgres() -> Option<Fixture> {
    let Ok(base) = std::env::var("FERRY_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "FERRY_TEST_POSTGRES_URL is not set: CI must run the PostgreSQL contract suite"
        );
        eprintln!("FERRY_TEST_POSTGRES_URL is not set: skipping the PostgreSQL run of this story");
        return None;
    };
    let mut random = [0u8; 6];
    getrandom::fill(&mut random).unwrap();
    let schema = format!("ferry_test_{}", hex::encode(random));
    let mut admin = sqlx::PgConnection::connect(&base).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&mut admin)
        .await
        .unwrap();
    admin.close().await.unwrap();
    let separator = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{separator}options[search_path]={schema}");
    let store = Store::connect(&url).await.unwrap();
    Some(Fixture {
        store,
        url,
        _dir: None,
    })
}

/// Runs each story once per backend.
macro_rules! contract {
    ($($story:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $story() {
                    super::$story(super::sqlite().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $story() {
                    if let Some(fixture) = super::postgres().await {
                        super::$story(fixture).await;
                    }
                }
            )*
        }
    };
}

contract!(
    apply_creates_then_changes_nothing,
    apply_updates_with_before_and_after,
    dry_run_writes_nothing,
    invalid_config_is_refused_whole,
    releases_are_unique_and_listed_newest_first,
    abandoned_releases_cannot_be_deployed,
    deployments_follow_the_state_machine,
    status_shows_current_and_latest,
    tokens_authenticate_until_revoked,
    bootstrap_happens_once,
    audit_chain_verifies_and_catches_an_edit,
    audit_chain_catches_a_truncation,
    concurrent_writers_keep_one_chain,
    releases_keep_their_content_and_artifacts,
    concurrent_approvals_count_once_each,
    a_new_decision_replaces_the_old,
    evidence_is_kept_per_environment,
    change_requests_follow_their_state_machine,
    freezes_are_created_and_deleted,
    reports_are_idempotent,
    gate_facts_gather_everything,
);

const CONFIG: &str = r#"
[[environment]]
name = "dev"
tier = "development"
[[environment]]
name = "prod"
tier = "production"
policy = { approvals = 2 }
[lifecycle.default]
phases = [["dev"], ["prod"]]
[[service]]
name = "api"
repo = "."
deploy.strategy = { kind = "rolling", batch = "25%" }
[[service]]
name = "web"
[[freeze]]
name = "year-end"
start = "2026-12-20T00:00:00Z"
end = "2027-01-04T00:00:00Z"
environments = ["prod"]
"#;

fn config() -> Config {
    parse(CONFIG).unwrap()
}

fn name(s: &str) -> Name {
    Name::parse(s).unwrap()
}

fn version(s: &str) -> semver::Version {
    semver::Version::parse(s).unwrap()
}

async fn audit_count(store: &Store) -> usize {
    store.audit_events(0, 100_000).await.unwrap().len()
}

async fn apply_creates_then_changes_nothing(f: Fixture) {
    let changes = f.store.apply("alice", &config(), false).await.unwrap();
    assert_eq!(changes.len(), 6);
    assert!(changes.iter().all(|c| c.action == Action::Create));
    assert_eq!(
        f.store.config().await.unwrap(),
        config(),
        "what is read back is what was applied"
    );
    let events = audit_count(&f.store).await;
    assert_eq!(events, 6, "one audit event per created entry");

    let again = f.store.apply("alice", &config(), false).await.unwrap();
    assert!(again.iter().all(|c| c.action == Action::Unchanged));
    assert_eq!(
        audit_count(&f.store).await,
        events,
        "a second apply writes nothing"
    );
}

async fn apply_updates_with_before_and_after(f: Fixture) {
    f.store.apply("alice", &config(), false).await.unwrap();
    let changed =
        parse(&CONFIG.replace("policy = { approvals = 2 }", "policy = { approvals = 3 }")).unwrap();
    let changes = f.store.apply("bob", &changed, false).await.unwrap();
    let prod = changes.iter().find(|c| c.name.as_str() == "prod").unwrap();
    assert_eq!(
        (prod.action, prod.fields.clone()),
        (Action::Update, vec!["policy".to_owned()])
    );
    let environments = f.store.environments().await.unwrap();
    let stored = environments
        .iter()
        .find(|e| e.spec.name.as_str() == "prod")
        .unwrap();
    assert_eq!(stored.spec.policy.approvals, 3);
    let last = f.store.audit_events(0, 1000).await.unwrap().pop().unwrap();
    assert_eq!(
        (
            last.actor.as_str(),
            last.action.as_str(),
            last.object.as_str()
        ),
        ("bob", "environment.update", "environment:prod")
    );
    let details: serde_json::Value = serde_json::from_str(&last.details).unwrap();
    assert_eq!(details["before"]["policy"]["approvals"], 2);
    assert_eq!(details["after"]["policy"]["approvals"], 3);
}

async fn dry_run_writes_nothing(f: Fixture) {
    let changes = f.store.apply("alice", &config(), true).await.unwrap();
    assert!(changes.iter().all(|c| c.action == Action::Create));
    assert_eq!(f.store.config().await.unwrap(), Config::default());
    assert_eq!(audit_count(&f.store).await, 0);
}

async fn invalid_config_is_refused_whole(f: Fixture) {
    let mut broken = config();
    broken.lifecycles[0].phases[1].environments.push(name("qa"));
    let error = f.store.apply("alice", &broken, false).await.unwrap_err();
    assert!(
        matches!(&error, StoreError::Invalid(m) if m.contains("\"qa\"")),
        "{error}"
    );
    assert_eq!(
        f.store.config().await.unwrap(),
        Config::default(),
        "nothing was written"
    );
}

async fn releases_are_unique_and_listed_newest_first(f: Fixture) {
    f.store.apply("alice", &config(), false).await.unwrap();
    for v in ["1.0.0", "1.1.0", "2.0.0-rc.1"] {
        let release = f
            .store
            .create_release(
                "alice",
                &name("api"),
                &version(v),
                NewRelease::with_notes("notes"),
            )
            .await
            .unwrap();
        assert_eq!(
            (
                release.version.as_str(),
                release.state,
                release.created_by.as_str()
            ),
            (v, ReleaseState::Active, "alice")
        );
    }
    let duplicate = f
        .store
        .create_release(
            "bob",
            &name("api"),
            &version("1.1.0"),
            NewRelease::with_notes(""),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&duplicate, StoreError::Conflict(m) if m.contains("api@1.1.0 exists already")),
        "{duplicate}"
    );
    let unknown = f
        .store
        .create_release(
            "bob",
            &name("nope"),
            &version("1.0.0"),
            NewRelease::with_notes(""),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&unknown, StoreError::NotFound(m) if m.contains("no service \"nope\"")),
        "{unknown}"
    );

    let page = f.store.releases(Some(&name("api")), None, 2).await.unwrap();
    let versions: Vec<_> = page.iter().map(|r| r.version.as_str()).collect();
    assert_eq!(versions, ["2.0.0-rc.1", "1.1.0"]);
    let rest = f
        .store
        .releases(Some(&name("api")), Some(page[1].id), 2)
        .await
        .unwrap();
    assert_eq!(
        rest.iter().map(|r| r.version.as_str()).collect::<Vec<_>>(),
        ["1.0.0"]
    );
    assert!(
        f.store
            .releases(Some(&name("web")), None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        f.store
            .release(&name("api"), &version("1.0.0"))
            .await
            .unwrap()
            .notes,
        "notes"
    );
}

async fn abandoned_releases_cannot_be_deployed(f: Fixture) {
    f.store.apply("alice", &config(), false).await.unwrap();
    f.store
        .create_release(
            "alice",
            &name("api"),
            &version("1.0.0"),
            NewRelease::with_notes(""),
        )
        .await
        .unwrap();
    let abandoned = f
        .store
        .abandon_release("bob", &name("api"), &version("1.0.0"))
        .await
        .unwrap();
    assert_eq!(abandoned.state, ReleaseState::Abandoned);
    let again = f
        .store
        .abandon_release("bob", &name("api"), &version("1.0.0"))
        .await
        .unwrap_err();
    assert!(matches!(again, StoreError::Invalid(_)));
    let deploy = f
        .store
        .create_deployment(
            "bob",
            &name("api"),
            &version("1.0.0"),
            &name("dev"),
            NewDeployment::default(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&deploy, StoreError::Invalid(m) if m.contains("abandoned")),
        "{deploy}"
    );
}

async fn deployments_follow_the_state_machine(f: Fixture) {
    f.store.apply("alice", &config(), false).await.unwrap();
    f.store
        .create_release(
            "alice",
            &name("api"),
            &version("1.0.0"),
            NewRelease::with_notes(""),
        )
        .await
        .unwrap();
    let deployment = f
        .store
        .create_deployment(
            "alice",
            &name("api"),
            &version("1.0.0"),
            &name("dev"),
            NewDeployment::default(),
        )
        .await
        .unwrap();
    assert_eq!(deployment.status, DeploymentStatus::Queued);
    let illegal = f
        .store
        .set_deployment_status("alice", deployment.id, DeploymentStatus::Succeeded)
        .await
        .unwrap_err();
    assert!(
        matches!(&illegal, StoreError::Invalid(m) if m.contains("can become waiting, running")),
        "{illegal}"
    );
    for status in [
        DeploymentStatus::Running,
        DeploymentStatus::Verifying,
        DeploymentStatus::Succeeded,
    ] {
        assert_eq!(
            f.store
                .set_deployment_status("alice", deployment.id, status)
                .await
                .unwrap()
                .status,
            status
        );
    }
    assert_eq!(
        f.store.deployment(deployment.id).await.unwrap().status,
        DeploymentStatus::Succeeded
    );
    let unknown_env = f
        .store
        .create_deployment(
            "alice",
            &name("api"),
            &version("1.0.0"),
            &name("qa"),
            NewDeployment::default(),
        )
        .await
        .unwrap_err();
    assert!(matches!(unknown_env, StoreError::NotFound(_)));
    let filter = DeploymentFilter {
        service: Some(&name("api")),
        environment: Some(&name("prod")),
    };
    assert!(
        f.store
            .deployments(filter, None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let filter = DeploymentFilter {
        service: Some(&name("api")),
        environment: Some(&name("dev")),
    };
    assert_eq!(
        f.store.deployments(filter, None, 10).await.unwrap().len(),
        1
    );
}

async fn status_shows_current_and_latest(f: Fixture) {
    f.store.apply("alice", &config(), false).await.unwrap();
    for (v, outcome) in [
        ("1.0.0", DeploymentStatus::Succeeded),
        ("1.1.0", DeploymentStatus::Succeeded),
        ("1.2.0", DeploymentStatus::Failed),
    ] {
        f.store
            .create_release(
                "alice",
                &name("api"),
                &version(v),
                NewRelease::with_notes(""),
            )
            .await
            .unwrap();
        let d = f
            .store
            .create_deployment(
                "alice",
                &name("api"),
                &version(v),
                &name("dev"),
                NewDeployment::default(),
            )
            .await
            .unwrap();
        f.store
            .set_deployment_status("alice", d.id, DeploymentStatus::Running)
            .await
            .unwrap();
        f.store
            .set_deployment_status("alice", d.id, outcome)
            .await
            .unwrap();
    }
    let facts = f.store.status_facts().await.unwrap();
    let environments: Vec<_> = facts.environments.iter().map(|(n, _)| n.clone()).collect();
    let cells = ferry_core::status::matrix(&facts.services, &environments, &facts.deployments);
    let dev = cells
        .iter()
        .find(|c| c.service.as_str() == "api" && c.environment.as_str() == "dev")
        .unwrap();
    assert_eq!(dev.current.as_ref().unwrap().version, "1.1.0");
    assert_eq!(
        dev.latest.as_ref().map(|l| (l.version.as_str(), l.status)),
        Some(("1.2.0", DeploymentStatus::Failed))
    );
    assert_eq!(
        facts.deployments.len(),
        2,
        "only the newest and the newest success are read"
    );
    let web_prod = cells
        .iter()
        .find(|c| c.service.as_str() == "web" && c.environment.as_str() == "prod")
        .unwrap();
    assert!(web_prod.current.is_none() && web_prod.latest.is_none());
}

fn new_user<'a>(name: &'a Name, hash: &'a str, admin: bool) -> NewUser<'a> {
    NewUser {
        name,
        email: Some("x@example.com"),
        admin,
        token: NewToken {
            name: "first",
            secret_hash: hash,
            prefix: "ferry_abcdef",
        },
    }
}

async fn tokens_authenticate_until_revoked(f: Fixture) {
    let (alice, _) = f
        .store
        .create_user("system", new_user(&name("alice"), "hash-a", true))
        .await
        .unwrap();
    let (bob, _) = f
        .store
        .create_user("alice", new_user(&name("bob"), "hash-b", false))
        .await
        .unwrap();
    let duplicate = f
        .store
        .create_user("alice", new_user(&name("bob"), "hash-c", false))
        .await
        .unwrap_err();
    assert!(matches!(duplicate, StoreError::Conflict(_)));
    assert_eq!(
        f.store
            .authenticate("hash-b")
            .await
            .unwrap()
            .map(|u| u.name),
        Some("bob".into())
    );
    assert_eq!(f.store.authenticate("unknown").await.unwrap(), None);

    let second = f
        .store
        .create_token(
            &bob,
            NewToken {
                name: "ci",
                secret_hash: "hash-b2",
                prefix: "ferry_123456",
            },
        )
        .await
        .unwrap();
    assert_eq!(f.store.tokens(Some("bob")).await.unwrap().len(), 2);
    assert_eq!(f.store.tokens(None).await.unwrap().len(), 3);
    let first_of_alice = f.store.tokens(Some("alice")).await.unwrap()[0].id;
    let refused = f
        .store
        .revoke_token(&bob, first_of_alice)
        .await
        .unwrap_err();
    assert!(
        matches!(refused, StoreError::NotFound(_)),
        "bob cannot revoke alice's token"
    );
    let revoked = f.store.revoke_token(&bob, second.id).await.unwrap();
    assert!(revoked.revoked_at.is_some());
    assert_eq!(f.store.authenticate("hash-b2").await.unwrap(), None);
    assert!(f.store.authenticate("hash-b").await.unwrap().is_some());
    f.store
        .revoke_token(&alice, f.store.tokens(Some("bob")).await.unwrap()[0].id)
        .await
        .unwrap();
    assert_eq!(
        f.store.authenticate("hash-b").await.unwrap(),
        None,
        "an admin may revoke anyone's token"
    );
}

async fn bootstrap_happens_once(f: Fixture) {
    let admin = name("admin");
    let first = f
        .store
        .bootstrap_admin(new_user(&admin, "boot-1", true))
        .await
        .unwrap();
    assert!(first.is_some_and(|(user, _)| user.admin));
    let second = f
        .store
        .bootstrap_admin(new_user(&admin, "boot-2", true))
        .await
        .unwrap();
    assert!(second.is_none());
    assert!(f.store.authenticate("boot-2").await.unwrap().is_none());
}

async fn audit_chain_verifies_and_catches_an_edit(f: Fixture) {
    assert_eq!(
        f.store.verify_audit().await.unwrap(),
        Verification::Intact {
            events: 0,
            head_hash: ferry_core::audit::GENESIS_HASH.into()
        }
    );
    f.store.apply("alice", &config(), false).await.unwrap();
    let Verification::Intact { events, .. } = f.store.verify_audit().await.unwrap() else {
        panic!("intact expected")
    };
    assert_eq!(events, 6);
    tamper(
        &f.url,
        "UPDATE audit_events SET actor = 'mallory' WHERE seq = 2",
    )
    .await;
    match f.store.verify_audit().await.unwrap() {
        Verification::Broken { events, break_at } => {
            assert_eq!((events, break_at.seq), (1, 2));
            assert!(break_at.reason.contains("edited"), "{}", break_at.reason);
        }
        intact => panic!("the edit went unnoticed: {intact:?}"),
    }
}

async fn audit_chain_catches_a_truncation(f: Fixture) {
    f.store.apply("alice", &config(), false).await.unwrap();
    tamper(&f.url, "DELETE FROM audit_events WHERE seq = 6").await;
    match f.store.verify_audit().await.unwrap() {
        Verification::Broken { break_at, .. } => assert_eq!(break_at.seq, 6),
        intact => panic!("the truncation went unnoticed: {intact:?}"),
    }
}

async fn concurrent_writers_keep_one_chain(f: Fixture) {
    f.store.apply("alice", &config(), false).await.unwrap();
    let writers: Vec<_> = (0..20)
        .map(|i| {
            let store = f.store.clone();
            tokio::spawn(async move {
                store
                    .create_release(
                        &format!("user{i}"),
                        &name("api"),
                        &version(&format!("1.0.{i}")),
                        NewRelease::with_notes(""),
                    )
                    .await
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap().unwrap();
    }
    let events = f.store.audit_events(0, 1000).await.unwrap();
    let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=26).collect::<Vec<_>>(), "no gap, no duplicate");
    let actors: HashSet<_> = events
        .iter()
        .filter(|e| e.action == "release.create")
        .map(|e| e.actor.clone())
        .collect();
    assert_eq!(actors.len(), 20);
    assert!(matches!(
        f.store.verify_audit().await.unwrap(),
        Verification::Intact { events: 26, .. }
    ));
}

/// Changes the database behind the store's back, as an intruder would.
async fn tamper(url: &str, sql: &'static str) {
    sqlx::any::install_default_drivers();
    let mut connection = sqlx::AnyConnection::connect(url).await.unwrap();
    sqlx::query(sql).execute(&mut connection).await.unwrap();
    connection.close().await.unwrap();
}

#[tokio::test]
async fn an_unknown_database_scheme_is_refused() {
    let error = Store::connect("mysql://root@localhost/ferry")
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("expected sqlite://PATH or postgres://"),
        "{error}"
    );
}

async fn releases_keep_their_content_and_artifacts(f: Fixture) {
    f.store.apply("alice", &config(), false).await.unwrap();
    let digest = |c: char| format!("sha256:{}", c.to_string().repeat(64));
    let artifacts = [
        ArtifactRecord {
            name: "image".into(),
            digest: digest('b'),
            size: None,
            uri: Some(format!("oci://ghcr.io/acme/api@{}", digest('b'))),
        },
        ArtifactRecord {
            name: "binary".into(),
            digest: digest('a'),
            size: Some(42),
            uri: None,
        },
    ];
    let commits = r#"[{"id":"abc","type":"feat"}]"#;
    let new = NewRelease {
        notes: "n",
        commit: Some("abc"),
        previous_version: Some("0.9.0"),
        commits_json: commits,
        artifacts: &artifacts,
    };
    let created = f
        .store
        .create_release("alice", &name("api"), &version("1.0.0"), new)
        .await
        .unwrap();
    let shown = f
        .store
        .release(&name("api"), &version("1.0.0"))
        .await
        .unwrap();
    assert_eq!(shown, created);
    assert_eq!(
        (shown.commit.as_deref(), shown.previous_version.as_deref()),
        (Some("abc"), Some("0.9.0"))
    );
    let names: Vec<_> = shown.artifacts.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["binary", "image"]);
    assert_eq!(shown.artifacts[0].size, Some(42));
    assert_eq!(f.store.release_commits(shown.id).await.unwrap(), commits);
    assert!(f.store.artifact_digest_known(&digest('a')).await.unwrap());
    assert!(!f.store.artifact_digest_known(&digest('c')).await.unwrap());
    let listed = f
        .store
        .releases(Some(&name("api")), None, 10)
        .await
        .unwrap();
    assert_eq!(listed[0].artifacts.len(), 2);

    let twice = [artifacts[1].clone(), artifacts[1].clone()];
    let new = NewRelease {
        artifacts: &twice,
        ..NewRelease::with_notes("")
    };
    let error = f
        .store
        .create_release("alice", &name("api"), &version("1.0.1"), new)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, StoreError::Invalid(m) if m.contains("named twice")),
        "{error}"
    );
    let missing = f
        .store
        .release(&name("api"), &version("1.0.1"))
        .await
        .unwrap_err();
    assert!(
        matches!(missing, StoreError::NotFound(_)),
        "nothing of the refused release was kept"
    );
}

async fn release_with_users(f: &Fixture, users: usize) -> Vec<ferry_store::auth::UserRecord> {
    f.store.apply("alice", &config(), false).await.unwrap();
    f.store
        .create_release(
            "alice",
            &name("api"),
            &version("1.0.0"),
            NewRelease::with_notes(""),
        )
        .await
        .unwrap();
    let mut created = Vec::new();
    for i in 0..users {
        let user = name(&format!("user{i}"));
        let hash = format!("hash-{i}");
        let (record, _) = f
            .store
            .create_user("alice", new_user(&user, &hash, false))
            .await
            .unwrap();
        created.push(record);
    }
    created
}

async fn concurrent_approvals_count_once_each(f: Fixture) {
    let users = release_with_users(&f, 50).await;
    let tasks: Vec<_> = users
        .into_iter()
        .map(|user| {
            let store = f.store.clone();
            tokio::spawn(async move {
                // Each approves twice at once: still one decision each.
                let (service, release, environment) = (name("api"), version("1.0.0"), name("prod"));
                let a = store.decide(&user, &service, &release, &environment, true, "ok");
                let b = store.decide(&user, &service, &release, &environment, true, "ok");
                let (a, b) = tokio::join!(a, b);
                a.unwrap();
                b.unwrap();
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let (release, environment) = f
        .store
        .release_environment_ids(&name("api"), &version("1.0.0"), &name("prod"))
        .await
        .unwrap();
    let decisions = f.store.decisions(release, environment).await.unwrap();
    assert_eq!(decisions.len(), 50);
    assert!(matches!(
        f.store.verify_audit().await.unwrap(),
        Verification::Intact { .. }
    ));
}

async fn a_new_decision_replaces_the_old(f: Fixture) {
    let users = release_with_users(&f, 1).await;
    f.store
        .decide(
            &users[0],
            &name("api"),
            &version("1.0.0"),
            &name("prod"),
            false,
            "broken",
        )
        .await
        .unwrap();
    f.store
        .decide(
            &users[0],
            &name("api"),
            &version("1.0.0"),
            &name("prod"),
            true,
            "fixed",
        )
        .await
        .unwrap();
    let (release, environment) = f
        .store
        .release_environment_ids(&name("api"), &version("1.0.0"), &name("prod"))
        .await
        .unwrap();
    let decisions = f.store.decisions(release, environment).await.unwrap();
    assert_eq!(decisions.len(), 1);
    assert!(decisions[0].approve && decisions[0].comment == "fixed");
    let unknown = f
        .store
        .decide(
            &users[0],
            &name("api"),
            &version("9.9.9"),
            &name("prod"),
            true,
            "",
        )
        .await
        .unwrap_err();
    assert!(matches!(unknown, StoreError::NotFound(_)));
}

async fn evidence_is_kept_per_environment(f: Fixture) {
    release_with_users(&f, 0).await;
    let new = ferry_store::evidence::NewEvidence {
        name: "unit",
        passed: false,
        summary: "3 tests, 1 failed",
        report: Some("{}"),
        url: Some("https://ci/1"),
    };
    f.store
        .add_evidence("ci", &name("api"), &version("1.0.0"), &name("dev"), new)
        .await
        .unwrap();
    let (release, dev) = f
        .store
        .release_environment_ids(&name("api"), &version("1.0.0"), &name("dev"))
        .await
        .unwrap();
    let (_, prod) = f
        .store
        .release_environment_ids(&name("api"), &version("1.0.0"), &name("prod"))
        .await
        .unwrap();
    let kept = f.store.evidence(release, dev).await.unwrap();
    assert_eq!(
        (kept.len(), kept[0].passed, kept[0].url.as_deref()),
        (1, false, Some("https://ci/1"))
    );
    assert!(f.store.evidence(release, prod).await.unwrap().is_empty());
}

async fn change_requests_follow_their_state_machine(f: Fixture) {
    use ferry_core::change::{ChangeAction, ChangeKind, ChangeState, ChangeWindow};
    use ferry_store::changes::{ChangeFilter, ChangeUpdate, NewChange};
    release_with_users(&f, 0).await;
    let window = ChangeWindow::parse("2026-12-01T09:00:00Z..2026-12-01T11:00:00Z").unwrap();
    let new = NewChange {
        title: "ship 1.0",
        description: "",
        kind: ChangeKind::Normal,
        service: &name("api"),
        environment: &name("prod"),
        release: Some(&version("1.0.0")),
        window: Some(window),
    };
    let change = f.store.create_change("alice", new).await.unwrap();
    assert_eq!(
        (change.state, change.release.as_deref()),
        (ChangeState::Draft, Some("1.0.0"))
    );
    let submitted = f
        .store
        .act_on_change(
            "alice",
            change.id,
            ChangeAction::Submit,
            ChangeUpdate::default(),
        )
        .await
        .unwrap();
    assert_eq!(submitted.state, ChangeState::Submitted);
    let illegal = f
        .store
        .act_on_change(
            "alice",
            change.id,
            ChangeAction::Implement,
            ChangeUpdate::default(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&illegal, StoreError::Invalid(m) if m.contains("assess")),
        "{illegal}"
    );
    let update = ChangeUpdate {
        risk: Some("medium"),
        impact: Some("checkout"),
        ..ChangeUpdate::default()
    };
    let assessed = f
        .store
        .act_on_change("bob", change.id, ChangeAction::Assess, update)
        .await
        .unwrap();
    assert_eq!(
        (assessed.state, assessed.risk.as_deref()),
        (ChangeState::Assessed, Some("medium"))
    );
    f.store
        .act_on_change(
            "carol",
            change.id,
            ChangeAction::Approve,
            ChangeUpdate::default(),
        )
        .await
        .unwrap();
    let listed = f
        .store
        .changes(ChangeFilter {
            state: Some(ChangeState::Approved),
            ..ChangeFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(listed.iter().map(|c| c.id).collect::<Vec<_>>(), [change.id]);
    let last = f.store.audit_events(0, 1000).await.unwrap().pop().unwrap();
    assert_eq!(
        (last.actor.as_str(), last.action.as_str()),
        ("carol", "change.approve")
    );
}

async fn freezes_are_created_and_deleted(f: Fixture) {
    f.store.apply("alice", &config(), false).await.unwrap();
    let mut spec = config().freezes[0].clone();
    spec.name = name("hotfix-only");
    f.store.create_freeze("alice", &spec).await.unwrap();
    let again = f.store.create_freeze("alice", &spec).await.unwrap_err();
    assert!(matches!(again, StoreError::Conflict(_)));
    assert_eq!(f.store.freezes().await.unwrap().len(), 2);
    f.store
        .delete_freeze("alice", &name("hotfix-only"))
        .await
        .unwrap();
    assert_eq!(f.store.freezes().await.unwrap().len(), 1);
    assert!(matches!(
        f.store
            .delete_freeze("alice", &name("hotfix-only"))
            .await
            .unwrap_err(),
        StoreError::NotFound(_)
    ));
}

async fn reports_are_idempotent(f: Fixture) {
    release_with_users(&f, 0).await;
    let deployment = f
        .store
        .create_deployment(
            "alice",
            &name("api"),
            &version("1.0.0"),
            &name("dev"),
            NewDeployment::default(),
        )
        .await
        .unwrap();
    let done = f
        .store
        .report_deployment(
            "ci",
            deployment.id,
            DeploymentStatus::Succeeded,
            Some("https://ci/9"),
        )
        .await
        .unwrap();
    assert_eq!(
        (done.status, done.url.as_deref()),
        (DeploymentStatus::Succeeded, Some("https://ci/9"))
    );
    let events = audit_count(&f.store).await;
    let again = f
        .store
        .report_deployment("ci", deployment.id, DeploymentStatus::Succeeded, None)
        .await
        .unwrap();
    assert_eq!(again.status, DeploymentStatus::Succeeded);
    assert_eq!(
        audit_count(&f.store).await,
        events,
        "a repeated report changes nothing"
    );
    let late = f
        .store
        .report_deployment("ci", deployment.id, DeploymentStatus::Failed, None)
        .await
        .unwrap_err();
    assert!(matches!(late, StoreError::Invalid(_)));
}

async fn gate_facts_gather_everything(f: Fixture) {
    let users = release_with_users(&f, 1).await;
    let deployment = f
        .store
        .create_deployment(
            "alice",
            &name("api"),
            &version("1.0.0"),
            &name("dev"),
            NewDeployment::default(),
        )
        .await
        .unwrap();
    f.store
        .report_deployment("ci", deployment.id, DeploymentStatus::Succeeded, None)
        .await
        .unwrap();
    f.store
        .decide(
            &users[0],
            &name("api"),
            &version("1.0.0"),
            &name("prod"),
            true,
            "",
        )
        .await
        .unwrap();
    let facts = f
        .store
        .gate_facts(&name("api"), &version("1.0.0"), &name("prod"))
        .await
        .unwrap();
    assert_eq!(facts.environment.name.as_str(), "prod");
    assert_eq!(facts.lifecycle.phases.len(), 2);
    assert_eq!(
        facts
            .succeeded_in
            .iter()
            .map(|(e, _)| e.as_str())
            .collect::<Vec<_>>(),
        ["dev"]
    );
    assert_eq!(facts.decisions.len(), 1);
    assert_eq!(facts.recent_outcomes, [true]);
    assert_eq!(facts.freezes.len(), 1);
}
