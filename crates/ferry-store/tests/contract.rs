//! The store's contract: one set of stories, each run against SQLite and
//! against PostgreSQL (see `support`).

use std::collections::{BTreeMap, HashSet};

use ferry_core::access::{Grant, Role};
use ferry_core::config::{Config, parse};
use ferry_core::plan::Action;
use ferry_core::{DeploymentStatus, Name, ReleaseState};
use ferry_store::access::Holder;
use ferry_store::agents::AgentRecord;
use ferry_store::audit::Verification;
use ferry_store::auth::{NewToken, NewUser};
use ferry_store::deployments::{DeploymentFilter, NewDeployment};
use ferry_store::jobs::{FinishOutcome, JobKind, JobRecord, JobState, LEASE_EXPIRED};
use ferry_store::logs::{LogStream, NewLogLine};
use ferry_store::progress::CancelOutcome;
use ferry_store::releases::{ArtifactRecord, NewRelease};
use ferry_store::{Store, StoreError};
use sqlx::Connection;

#[macro_use]
mod support;

use support::{Fixture, postgres, sqlite};

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
    expired_tokens_and_disabled_users_do_not_authenticate,
    e_mails_are_unique_without_regard_to_case,
    grants_of_users_and_groups_make_their_rights,
    the_last_working_admin_credential_is_kept,
    a_revoked_agent_is_refused_and_loses_its_job,
    workload_tokens_carry_their_grants_until_they_expire,
    calendar_feeds_read_as_their_owner_until_revoked,
    bootstrap_happens_once,
    audit_chain_verifies_and_catches_an_edit,
    audit_chain_catches_a_truncation,
    audit_events_are_filtered_and_paged_both_ways,
    concurrent_writers_keep_one_chain,
    releases_keep_their_content_and_artifacts,
    concurrent_approvals_count_once_each,
    fifty_identical_promotions_make_one_deployment,
    versions_of_equal_precedence_are_one_release,
    a_new_decision_replaces_the_old,
    evidence_is_kept_per_environment,
    change_requests_follow_their_state_machine,
    freezes_are_created_and_deleted,
    variables_of_the_configuration_are_applied_once,
    variables_are_set_replaced_and_unset_with_their_audit,
    reports_are_idempotent,
    gate_facts_gather_everything,
    agents_register_idempotently_and_refuse_another_token,
    a_replaced_agent_token_stops_the_old_one,
    a_pending_job_is_claimed_once,
    agents_writing_at_once_each_get_their_own_answer,
    agents_never_get_each_others_jobs,
    heartbeats_extend_only_the_current_attempt,
    an_expired_lease_fails_the_job_and_refuses_the_stale_agent,
    a_repeated_finish_is_already_done,
    a_retried_job_is_claimed_again_as_attempt_two,
    starting_twice_starts_once,
    batches_advance_only_from_the_expected_one,
    a_rollback_is_linked_and_restores_the_failed_deployment,
    log_lines_are_stored_once_in_order,
    a_report_brings_the_last_lines_of_the_log,
    an_evidence_pack_reads_its_records_and_their_events_at_one_head,
    a_cancel_is_immediate_before_the_start_and_deferred_after,
    a_deployment_has_one_driver_at_a_time,
    a_deployment_is_rolled_back_by_hand_once,
    an_automatic_promotion_happens_once,
    a_job_never_started_goes_back_to_pending_when_its_lease_runs_out,
    an_idempotency_key_is_held_once_answered_and_expires,
    queued_deployments_and_agents_heard_from_are_counted,
    events_reach_each_webhook_once_and_are_retried_on_schedule,
    freezes_begin_and_end_in_the_trail_once,
    webhook_formats_are_kept_and_chat_addresses_stay_out_of_the_trail,
    a_person_is_found_by_e_mail_without_regard_to_case,
    reviews_open_when_deployments_end_and_complete_once,
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
    let facts = f.store.status_facts(None).await.unwrap();
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
        email: None,
        admin,
        token: token("first", hash),
    }
}

fn token<'a>(name: &'a str, hash: &'a str) -> NewToken<'a> {
    NewToken {
        name,
        secret_hash: hash,
        prefix: "ferry_abcdef",
        expires_at: None,
        grants: None,
    }
}

fn grant(role: Role, service: Option<&str>, environment: Option<&str>) -> Grant {
    Grant {
        role,
        service: service.map(name),
        environment: environment.map(name),
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
    let found = f.store.authenticate("hash-b").await.unwrap().unwrap();
    assert_eq!(found.actor, "bob");
    assert!(alice.admin && !bob.admin);
    assert_eq!(f.store.authenticate("unknown").await.unwrap(), None);

    let second = f
        .store
        .create_token(&bob, token("ci", "hash-b2"))
        .await
        .unwrap();
    assert_eq!(f.store.tokens(Some("bob")).await.unwrap().len(), 2);
    assert_eq!(f.store.tokens(None).await.unwrap().len(), 3);
    let revoked = f.store.revoke_token("bob", second.id).await.unwrap();
    assert!(revoked.revoked_at.is_some());
    assert_eq!(f.store.authenticate("hash-b2").await.unwrap(), None);
    assert!(f.store.authenticate("hash-b").await.unwrap().is_some());
    let missing = f.store.revoke_token("alice", 999).await.unwrap_err();
    assert!(matches!(missing, StoreError::NotFound(_)));
}

async fn expired_tokens_and_disabled_users_do_not_authenticate(f: Fixture) {
    f.store
        .create_user("system", new_user(&name("alice"), "hash-a", true))
        .await
        .unwrap();
    let (bob, _) = f
        .store
        .create_user("alice", new_user(&name("bob"), "hash-b", false))
        .await
        .unwrap();
    let mut expired = token("old", "hash-old");
    expired.expires_at = Some(chrono::Utc::now() - chrono::Duration::seconds(1));
    f.store.create_token(&bob, expired).await.unwrap();
    assert_eq!(f.store.authenticate("hash-old").await.unwrap(), None);
    let mut later = token("later", "hash-later");
    later.expires_at = Some(chrono::Utc::now() + chrono::Duration::days(1));
    f.store.create_token(&bob, later).await.unwrap();
    assert!(f.store.authenticate("hash-later").await.unwrap().is_some());

    let disabled = f
        .store
        .set_user_enabled("alice", "bob", false)
        .await
        .unwrap();
    assert!(disabled.disabled_at.is_some());
    assert_eq!(f.store.authenticate("hash-b").await.unwrap(), None);
    assert_eq!(f.store.authenticate("hash-later").await.unwrap(), None);
    f.store
        .set_user_enabled("alice", "bob", true)
        .await
        .unwrap();
    assert!(f.store.authenticate("hash-b").await.unwrap().is_some());
    let actions: Vec<String> = f
        .store
        .audit_events(0, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert!(
        actions.contains(&"user.disable".to_owned()) && actions.contains(&"user.enable".to_owned())
    );
}

async fn e_mails_are_unique_without_regard_to_case(f: Fixture) {
    let (alice_name, alicia) = (name("alice"), name("alicia"));
    let mut alice = new_user(&alice_name, "hash-a", true);
    alice.email = Some("Alice@Example.com");
    f.store.create_user("system", alice).await.unwrap();
    let mut copy = new_user(&alicia, "hash-b", false);
    copy.email = Some("alice@example.COM");
    let refused = f.store.create_user("alice", copy).await.unwrap_err();
    assert!(
        matches!(&refused, StoreError::Conflict(m) if m.contains("alice")),
        "{refused}"
    );
    assert_eq!(f.store.users().await.unwrap().len(), 1);
}

async fn grants_of_users_and_groups_make_their_rights(f: Fixture) {
    f.store
        .create_user("system", new_user(&name("alice"), "hash-a", true))
        .await
        .unwrap();
    f.store
        .create_user("alice", new_user(&name("bob"), "hash-b", false))
        .await
        .unwrap();
    let bob = name("bob");
    let deployer = grant(Role::Deployer, Some("api"), Some("dev"));
    f.store
        .grant("alice", Holder::User(&bob), &deployer)
        .await
        .unwrap();
    // Granting again changes nothing.
    let events = f.store.audit_events(0, 1000).await.unwrap().len();
    f.store
        .grant("alice", Holder::User(&bob), &deployer)
        .await
        .unwrap();
    assert_eq!(f.store.audit_events(0, 1000).await.unwrap().len(), events);

    let ops = name("ops");
    f.store.create_group("alice", &ops).await.unwrap();
    f.store
        .set_membership("alice", &ops, &bob, true)
        .await
        .unwrap();
    f.store
        .grant("alice", Holder::Group(&ops), &Grant::global(Role::Approver))
        .await
        .unwrap();
    let found = f.store.authenticate("hash-b").await.unwrap().unwrap();
    assert_eq!(found.groups, ["ops"]);
    let mut grants = found.rights.grants.clone();
    grants.sort();
    assert_eq!(grants, [deployer.clone(), Grant::global(Role::Approver)]);

    let scoped_admin = grant(Role::Admin, Some("api"), None);
    let refused = f
        .store
        .grant("alice", Holder::User(&bob), &scoped_admin)
        .await
        .unwrap_err();
    assert!(matches!(refused, StoreError::Invalid(_)));

    f.store
        .set_membership("alice", &ops, &bob, false)
        .await
        .unwrap();
    let found = f.store.authenticate("hash-b").await.unwrap().unwrap();
    assert_eq!(found.rights.grants, std::slice::from_ref(&deployer));
    f.store
        .revoke_grant("alice", Holder::User(&bob), &deployer)
        .await
        .unwrap();
    let found = f.store.authenticate("hash-b").await.unwrap().unwrap();
    assert!(found.rights.grants.is_empty());
    assert_eq!(
        f.store
            .grants(Some(Holder::Group(&ops)))
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(matches!(
        f.store.verify_audit().await.unwrap(),
        Verification::Intact { .. }
    ));
}

async fn the_last_working_admin_credential_is_kept(f: Fixture) {
    let (alice, _) = f
        .store
        .create_user("system", new_user(&name("alice"), "hash-a", true))
        .await
        .unwrap();
    let only = f.store.tokens(Some("alice")).await.unwrap()[0].id;
    let refused = f.store.revoke_token("alice", only).await.unwrap_err();
    assert!(
        matches!(&refused, StoreError::Conflict(m) if m.contains("no working administrator")),
        "{refused}"
    );
    let refused = f
        .store
        .set_user_enabled("alice", "alice", false)
        .await
        .unwrap_err();
    assert!(matches!(refused, StoreError::Conflict(_)));
    let admin = Grant::global(Role::Admin);
    let refused = f
        .store
        .revoke_grant("alice", Holder::User(&name("alice")), &admin)
        .await
        .unwrap_err();
    assert!(matches!(refused, StoreError::Conflict(_)));
    // A narrowed token is no administrator's credential.
    let mut narrowed = token("ci", "hash-ci");
    narrowed.grants = Some(vec![Grant::global(Role::Viewer)]);
    f.store.create_token(&alice, narrowed).await.unwrap();
    assert!(f.store.revoke_token("alice", only).await.is_err());
    // With a second working credential, the first may go.
    f.store
        .create_token(&alice, token("laptop", "hash-l"))
        .await
        .unwrap();
    f.store.revoke_token("alice", only).await.unwrap();
    assert!(f.store.authenticate("hash-l").await.unwrap().is_some());
    assert!(matches!(
        f.store.verify_audit().await.unwrap(),
        Verification::Intact { .. }
    ));

    // Recovery from the server's machine: an enabled admin with a new token.
    let (user, recovered) = f
        .store
        .recover_admin(&name("alice"), token("recovery", "hash-r"))
        .await
        .unwrap();
    assert!(user.admin && user.disabled_at.is_none());
    assert_eq!(recovered.user, "alice");
    let found = f.store.authenticate("hash-r").await.unwrap().unwrap();
    assert!(found.rights.is_admin());
    let last = f.store.audit_events(0, 1000).await.unwrap();
    assert!(
        last.iter()
            .any(|e| e.action == "admin.recover" && e.actor == "recovery")
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

async fn audit_events_are_filtered_and_paged_both_ways(f: Fixture) {
    use ferry_core::audit_filter::{ActionMatch, Actor, AuditFilter, AuditOrder, ObjectMatch};
    f.store.apply("alice", &config(), false).await.unwrap();
    for (actor, action, object) in [
        ("bob", "release.create", "release:api@1.0.0"),
        ("carol", "release.create", "release:api@1.0.0-rc.1"),
        ("bob", "release.abandon", "release:api@1.0.0"),
        ("dana", "token.create", "ci-token:5"),
        ("dana", "token.revoke", "token:5"),
        ("bob", "access.denied", "variable:prod/LOG_LEVEL"),
    ] {
        f.store
            .audit_event(actor, action, object, serde_json::json!({}))
            .await
            .unwrap();
    }
    let all = f.store.audit_events(0, 1000).await.unwrap();
    assert_eq!(all.len(), 12);
    let since = ferry_core::time::parse_time(&all[7].time).unwrap();
    let actor = |text| Some(Actor::parse(text).unwrap());
    let action = |text| Some(ActionMatch::parse(text).unwrap());
    let object = |text| Some(ObjectMatch::parse(text).unwrap());
    let filters = [
        (AuditFilter::default(), 12),
        (
            AuditFilter {
                actor: actor("bob"),
                ..Default::default()
            },
            3,
        ),
        (
            AuditFilter {
                action: action("release.create"),
                ..Default::default()
            },
            2,
        ),
        (
            AuditFilter {
                action: action("release.*"),
                ..Default::default()
            },
            3,
        ),
        (
            AuditFilter {
                action: action("environment.*"),
                ..Default::default()
            },
            2,
        ),
        // `_` and `%` are plain characters, not patterns.
        (
            AuditFilter {
                action: action("acc_ss.*"),
                ..Default::default()
            },
            0,
        ),
        (
            AuditFilter {
                object: object("api@1.0.0"),
                ..Default::default()
            },
            2,
        ),
        (
            AuditFilter {
                object: object("release:api@1.0.0"),
                ..Default::default()
            },
            2,
        ),
        (
            AuditFilter {
                object: object("prod"),
                ..Default::default()
            },
            1,
        ),
        (
            AuditFilter {
                object: object("5"),
                ..Default::default()
            },
            2,
        ),
        (
            AuditFilter {
                object: object("%"),
                ..Default::default()
            },
            0,
        ),
        (
            AuditFilter {
                since: Some(since),
                ..Default::default()
            },
            5,
        ),
        (
            AuditFilter {
                actor: actor("bob"),
                action: action("release.*"),
                object: object("api@1.0.0"),
                since: None,
            },
            2,
        ),
    ];
    for (filter, count) in filters {
        let expected: Vec<i64> = all
            .iter()
            .filter(|event| filter.matches(event))
            .map(|event| event.seq)
            .collect();
        assert_eq!(expected.len(), count, "{filter:?}");
        for order in [AuditOrder::OldestFirst, AuditOrder::NewestFirst] {
            // Pages of two, each continuing after the last event seen.
            let mut seen = Vec::new();
            let mut cursor = None;
            loop {
                let page = f.store.audit_page(&filter, order, cursor, 2).await.unwrap();
                seen.extend(page.iter().map(|event| event.seq));
                match page.last() {
                    Some(last) if page.len() == 2 => cursor = Some(last.seq),
                    _ => break,
                }
            }
            let mut wanted = expected.clone();
            if order == AuditOrder::NewestFirst {
                wanted.reverse();
            }
            assert_eq!(seen, wanted, "{filter:?} {order:?}");
        }
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
    let people = ["Bob Reviewer <bob@example.com>".to_owned()];
    let new = NewRelease {
        notes: "n",
        commit: Some("abc"),
        previous_version: Some("0.9.0"),
        commits_json: commits,
        artifacts: &artifacts,
        people: &people,
        go_live: None,
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
    assert_eq!(f.store.release_people(shown.id).await.unwrap(), people);
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

async fn variables_of_the_configuration_are_applied_once(f: Fixture) {
    let with_variables = CONFIG.replace(
        "name = \"prod\"\ntier = \"production\"\n",
        "name = \"prod\"\ntier = \"production\"\nvariables = { LOG_LEVEL = \"warn\", REPLICAS = 3 }\n",
    );
    let desired = parse(&with_variables).unwrap();
    f.store.apply("alice", &desired, false).await.unwrap();
    let stored = f.store.config().await.unwrap();
    assert_eq!(stored, desired, "the variables are read back as applied");
    let prod = stored
        .environments
        .iter()
        .find(|e| e.name.as_str() == "prod");
    assert_eq!(prod.unwrap().variables["REPLICAS"], "3");

    let events = audit_count(&f.store).await;
    let again = f.store.apply("alice", &desired, false).await.unwrap();
    assert!(again.iter().all(|c| c.action == Action::Unchanged));
    assert_eq!(audit_count(&f.store).await, events);

    let changed = parse(&with_variables.replace("\"warn\"", "\"debug\"")).unwrap();
    let planned = f.store.apply("alice", &changed, true).await.unwrap();
    let prod = planned.iter().find(|c| c.name.as_str() == "prod").unwrap();
    assert_eq!(
        (prod.action, prod.fields.clone()),
        (Action::Update, vec!["variables".to_owned()])
    );
    assert_eq!(f.store.config().await.unwrap(), desired, "a dry run");
    f.store.apply("alice", &changed, false).await.unwrap();
    assert_eq!(f.store.config().await.unwrap(), changed);

    let removed = parse(CONFIG).unwrap();
    f.store.apply("alice", &removed, false).await.unwrap();
    let environments = f.store.environments().await.unwrap();
    assert!(environments.iter().all(|e| e.spec.variables.is_empty()));
}

async fn variables_are_set_replaced_and_unset_with_their_audit(f: Fixture) {
    use ferry_store::variables::NewValue;
    f.store.apply("alice", &config(), false).await.unwrap();
    let (dev, prod) = (name("dev"), name("prod"));
    assert!(f.store.variables(Some(&prod)).await.unwrap().is_empty());

    let (plain, created) = f
        .store
        .set_variable("alice", &prod, "LOG_LEVEL", NewValue::Plain("info"))
        .await
        .unwrap();
    assert!(created);
    assert_eq!(
        (plain.environment.as_str(), plain.name.as_str()),
        ("prod", "LOG_LEVEL")
    );
    assert_eq!((plain.value.as_str(), plain.secret), ("info", false));
    let sealed = "v1:0123456789abcdef:c2VhbGVkIGJ5IHRoZSBzZXJ2ZXI=";
    let (secret, _) = f
        .store
        .set_variable("bob", &prod, "DB_PASSWORD", NewValue::Sealed(sealed))
        .await
        .unwrap();
    assert_eq!((secret.value.as_str(), secret.secret), (sealed, true));
    assert!(
        !format!("{secret:?}").contains(sealed),
        "a secret is not in debug output"
    );
    f.store
        .set_variable("bob", &dev, "LOG_LEVEL", NewValue::Plain("debug"))
        .await
        .unwrap();

    let (replaced, created) = f
        .store
        .set_variable("carol", &prod, "LOG_LEVEL", NewValue::Plain("warn"))
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(replaced.value, "warn");
    assert_eq!(replaced.updated_by, "carol");
    assert_eq!(replaced.created_at, plain.created_at);
    let listed = f.store.variables(Some(&prod)).await.unwrap();
    let names: Vec<_> = listed.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["DB_PASSWORD", "LOG_LEVEL"]);
    let everywhere = f.store.variables(None).await.unwrap();
    let pairs: Vec<_> = everywhere
        .iter()
        .map(|v| (v.environment.as_str(), v.name.as_str()))
        .collect();
    assert_eq!(
        pairs,
        [
            ("dev", "LOG_LEVEL"),
            ("prod", "DB_PASSWORD"),
            ("prod", "LOG_LEVEL")
        ]
    );

    let removed = f
        .store
        .unset_variable("alice", &prod, "DB_PASSWORD")
        .await
        .unwrap();
    assert!(removed.secret);
    assert!(matches!(
        f.store
            .unset_variable("alice", &prod, "DB_PASSWORD")
            .await
            .unwrap_err(),
        StoreError::NotFound(_)
    ));
    assert!(matches!(
        f.store
            .set_variable("alice", &name("qa"), "A", NewValue::Plain("1"))
            .await
            .unwrap_err(),
        StoreError::NotFound(_)
    ));
    assert!(matches!(
        f.store.variables(Some(&name("qa"))).await.unwrap_err(),
        StoreError::NotFound(_)
    ));
    for bad in ["FERRY_TARGET", "9LIVES", "A-B"] {
        let error = f
            .store
            .set_variable("alice", &prod, bad, NewValue::Plain("1"))
            .await
            .unwrap_err();
        assert!(matches!(error, StoreError::Invalid(_)), "{bad}: {error}");
    }

    let events = f.store.audit_events(0, 1000).await.unwrap();
    let variable_events: Vec<_> = events
        .iter()
        .filter(|e| e.action.starts_with("variable."))
        .map(|e| (e.actor.as_str(), e.action.as_str(), e.object.as_str()))
        .collect();
    assert_eq!(
        variable_events,
        [
            ("alice", "variable.set", "variable:prod/LOG_LEVEL"),
            ("bob", "variable.set", "variable:prod/DB_PASSWORD"),
            ("bob", "variable.set", "variable:dev/LOG_LEVEL"),
            ("carol", "variable.set", "variable:prod/LOG_LEVEL"),
            ("alice", "variable.unset", "variable:prod/DB_PASSWORD"),
        ]
    );
    let replace = events
        .iter()
        .rfind(|e| e.object == "variable:prod/LOG_LEVEL")
        .unwrap();
    let details: serde_json::Value = serde_json::from_str(&replace.details).unwrap();
    assert_eq!(details["before"]["value"], "info");
    assert_eq!(details["value"], "warn");
    for event in events.iter().filter(|e| e.object.ends_with("DB_PASSWORD")) {
        assert!(
            !event.details.contains("c2VhbGVk"),
            "no secret, sealed or not, in the audit trail: {}",
            event.details
        );
        let details: serde_json::Value = serde_json::from_str(&event.details).unwrap();
        assert!(details.get("value").is_none(), "{details}");
    }
    assert!(matches!(
        f.store.verify_audit().await.unwrap(),
        Verification::Intact { .. }
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

/// The facts of `api@1.0.0` for `prod` as `store` reads them.
async fn prod_facts(store: &Store) -> ferry_store::gate_facts::GateFacts {
    store
        .gate_facts(&name("api"), &version("1.0.0"), &name("prod"))
        .await
        .unwrap()
}

async fn gate_facts_gather_everything(f: Fixture) {
    let users = release_with_users(&f, 1).await;
    // Another server on the same database, which has read the facts before
    // the changes: what it kept must not hide them.
    let replica = Store::connect(&f.url).await.unwrap();
    for store in [&f.store, &replica] {
        let before = prod_facts(store).await;
        assert!(before.succeeded_in.is_empty() && before.decisions.is_empty());
    }
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
    for store in [&f.store, &replica] {
        let facts = prod_facts(store).await;
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
}

fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

async fn agents_register_idempotently_and_refuse_another_token(f: Fixture) {
    f.store.apply("alice", &config(), false).await.unwrap();
    let (dev, prod, web1) = (name("dev"), name("prod"), name("web1"));
    let before = audit_count(&f.store).await;
    let first = f
        .store
        .register_agent("alice", &dev, &web1, &tags(&[("role", "web")]), "hash-1")
        .await
        .unwrap();
    assert_eq!(
        (first.name.as_str(), first.environment.as_str()),
        ("web1", "dev")
    );
    assert_eq!(first.tags, tags(&[("role", "web")]));
    assert_eq!(audit_count(&f.store).await, before + 1);

    // A restarted agent registers again: same agent, nothing written.
    let again = f
        .store
        .register_agent("alice", &dev, &web1, &tags(&[("role", "web")]), "hash-1")
        .await
        .unwrap();
    assert_eq!(again, first);
    assert_eq!(audit_count(&f.store).await, before + 1);

    // With new tags: the same agent, tags updated, one event.
    let retagged = f
        .store
        .register_agent(
            "alice",
            &dev,
            &web1,
            &tags(&[("role", "web"), ("zone", "a")]),
            "hash-1",
        )
        .await
        .unwrap();
    assert_eq!(retagged.id, first.id);
    assert_eq!(retagged.tags, tags(&[("role", "web"), ("zone", "a")]));
    let events = f.store.audit_events(0, 1000).await.unwrap();
    assert_eq!(events.len(), before + 2);
    assert_eq!(events.last().unwrap().action, "agent.register");

    // Another secret cannot take the name; a secret cannot serve two agents.
    let taken = f
        .store
        .register_agent("alice", &dev, &web1, &tags(&[]), "hash-2")
        .await
        .unwrap_err();
    assert!(matches!(taken, StoreError::Conflict(_)), "{taken:?}");
    let shared = f
        .store
        .register_agent("alice", &dev, &name("web2"), &tags(&[]), "hash-1")
        .await
        .unwrap_err();
    assert!(matches!(shared, StoreError::Conflict(_)), "{shared:?}");
    let nowhere = f
        .store
        .register_agent("alice", &name("qa"), &web1, &tags(&[]), "hash-3")
        .await
        .unwrap_err();
    assert!(matches!(nowhere, StoreError::NotFound(_)), "{nowhere:?}");
    assert_eq!(
        audit_count(&f.store).await,
        before + 2,
        "refusals write nothing"
    );

    // The same name in another environment is another agent.
    let in_prod = f
        .store
        .register_agent("alice", &prod, &web1, &tags(&[]), "hash-2")
        .await
        .unwrap();
    assert_ne!(in_prod.id, first.id);
    assert_eq!(
        f.store
            .agent_by_token("hash-1")
            .await
            .unwrap()
            .map(|a| a.id),
        Some(first.id)
    );
    assert_eq!(f.store.agent_by_token("hash-9").await.unwrap(), None);
    let listed: Vec<(String, String)> = f
        .store
        .agents(None)
        .await
        .unwrap()
        .into_iter()
        .map(|a| (a.environment, a.name))
        .collect();
    assert_eq!(
        listed,
        [
            ("dev".into(), "web1".into()),
            ("prod".into(), "web1".into())
        ]
    );
    assert_eq!(f.store.agents(Some(&prod)).await.unwrap(), [in_prod]);

    // Seen: recorded, then at most once a minute.
    let t0 = chrono::Utc::now();
    f.store.touch_agent(first.id, t0).await.unwrap();
    let seen = |store: Store| async move {
        store
            .agent_by_token("hash-1")
            .await
            .unwrap()
            .unwrap()
            .last_seen_at
    };
    let first_seen = seen(f.store.clone()).await.unwrap();
    assert!((first_seen - t0).num_milliseconds().abs() < 1);
    f.store
        .touch_agent(first.id, t0 + chrono::Duration::seconds(30))
        .await
        .unwrap();
    assert_eq!(seen(f.store.clone()).await, Some(first_seen));
    f.store
        .touch_agent(first.id, t0 + chrono::Duration::seconds(90))
        .await
        .unwrap();
    assert!(seen(f.store.clone()).await > Some(first_seen));
}

async fn a_replaced_agent_token_stops_the_old_one(f: Fixture) {
    f.store.apply("alice", &config(), false).await.unwrap();
    let (dev, local) = (name("dev"), name("local"));
    let host = tags(&[("host", "local")]);
    let first = f
        .store
        .register_agent("server", &dev, &local, &host, "old-hash")
        .await
        .unwrap();
    let other = f
        .store
        .register_agent("server", &dev, &name("web1"), &tags(&[]), "other-hash")
        .await
        .unwrap();
    let before = audit_count(&f.store).await;

    let replaced = f
        .store
        .replace_agent_token("server", first.id, "new-hash")
        .await
        .unwrap();
    assert_eq!(replaced, first, "the agent keeps its row and tags");
    assert_eq!(f.store.agent_by_token("old-hash").await.unwrap(), None);
    assert_eq!(
        f.store
            .agent_by_token("new-hash")
            .await
            .unwrap()
            .map(|a| a.id),
        Some(first.id)
    );
    // Registering again with the new secret is the same agent.
    let again = f
        .store
        .register_agent("server", &dev, &local, &host, "new-hash")
        .await
        .unwrap();
    assert_eq!(again.id, first.id);
    let events = f.store.audit_events(0, 100_000).await.unwrap();
    assert_eq!(events.len(), before + 1);
    let event = events.last().unwrap();
    assert_eq!(
        (event.action.as_str(), event.object.as_str()),
        ("agent.rotate", format!("agent:{}", first.id).as_str())
    );
    assert!(
        !event.details.contains("new-hash"),
        "the audit trail never holds a token: {}",
        event.details
    );

    // Another agent's token cannot be taken; an unknown agent is not found.
    let shared = f
        .store
        .replace_agent_token("server", first.id, "other-hash")
        .await
        .unwrap_err();
    assert!(matches!(shared, StoreError::Conflict(_)), "{shared:?}");
    assert_eq!(
        f.store
            .agent_by_token("other-hash")
            .await
            .unwrap()
            .map(|a| a.id),
        Some(other.id)
    );
    let missing = f
        .store
        .replace_agent_token("server", other.id + 100, "any-hash")
        .await
        .unwrap_err();
    assert!(matches!(missing, StoreError::NotFound(_)), "{missing:?}");
    assert_eq!(
        audit_count(&f.store).await,
        before + 1,
        "refusals write nothing"
    );
}

/// A deployment of api@1.0.0 to dev and `agents` agents of dev.
async fn deployment_with_agents(f: &Fixture, agents: usize) -> (i64, Vec<AgentRecord>) {
    release_with_users(f, 0).await;
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
    let mut created = Vec::new();
    for i in 0..agents {
        let agent = f
            .store
            .register_agent(
                "alice",
                &name("dev"),
                &name(&format!("target{i}")),
                &tags(&[]),
                &format!("agent-hash-{i}"),
            )
            .await
            .unwrap();
        created.push(agent);
    }
    (deployment.id, created)
}

fn lease() -> chrono::Duration {
    chrono::Duration::seconds(30)
}

async fn a_pending_job_is_claimed_once(f: Fixture) {
    let (deployment, agents) = deployment_with_agents(&f, 1).await;
    let agent = agents[0].id;
    let created = f
        .store
        .create_jobs(deployment, 0, &[agent], JobKind::Deploy)
        .await
        .unwrap();
    assert_eq!(created.len(), 1);
    assert_eq!(
        (created[0].state, created[0].attempt),
        (JobState::Pending, 0)
    );
    let events = audit_count(&f.store).await;
    let twice = f
        .store
        .create_jobs(deployment, 0, &[agent], JobKind::Deploy)
        .await
        .unwrap();
    assert_eq!(twice, created, "creating again creates nothing");
    assert_eq!(audit_count(&f.store).await, events);

    // The same agent polls from ten connections at once.
    let now = chrono::Utc::now();
    let claims: Vec<_> = (0..10)
        .map(|_| {
            let store = f.store.clone();
            tokio::spawn(async move { store.claim_job(agent, lease(), now).await })
        })
        .collect();
    let mut won = Vec::new();
    for claim in claims {
        if let Some(job) = claim.await.unwrap().unwrap() {
            won.push(job);
        }
    }
    assert_eq!(won.len(), 1, "exactly one claim gets the job");
    let job = &won[0];
    assert_eq!(job.id, created[0].id);
    assert_eq!((job.state, job.attempt), (JobState::Running, 1));
    assert_eq!(job.lease_owner, Some(format!("agent:{agent}:1")));
    let expires = job.lease_expires_at.unwrap();
    assert!(((expires - now) - lease()).num_milliseconds().abs() < 1);
    assert_eq!(f.store.jobs(deployment).await.unwrap(), won);
    assert_eq!(f.store.claim_job(agent, lease(), now).await.unwrap(), None);
    let claims_audited = f
        .store
        .audit_events(0, 1000)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.action == "job.claim")
        .count();
    assert_eq!(claims_audited, 1);
    assert!(matches!(
        f.store.verify_audit().await.unwrap(),
        Verification::Intact { .. }
    ));
}

/// The answers of calls made at once, in the order they were made.
async fn at_once<T>(calls: Vec<tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut answers = Vec::with_capacity(calls.len());
    for call in calls {
        answers.push(call.await.unwrap());
    }
    answers
}

/// Many agents claim, start, log and report at the same moment, as in a
/// wide deployment: their writes share transactions, yet each gets the
/// answer it would have got alone, a bad write fails only itself, and the
/// audit trail has each change once, chained.
async fn agents_writing_at_once_each_get_their_own_answer(f: Fixture) {
    let (deployment, agents) = deployment_with_agents(&f, 24).await;
    let ids: Vec<i64> = agents.iter().map(|a| a.id).collect();
    let created = f
        .store
        .create_jobs(deployment, 0, &ids, JobKind::Deploy)
        .await
        .unwrap();
    let now = chrono::Utc::now();

    // Every agent claims twice at once: one claim each gets the job.
    let claims = at_once(
        ids.iter()
            .chain(ids.iter())
            .map(|&agent| {
                let store = f.store.clone();
                tokio::spawn(async move { (agent, store.claim_job(agent, lease(), now).await) })
            })
            .collect(),
    )
    .await;
    let mut claimed: BTreeMap<i64, JobRecord> = BTreeMap::new();
    for (agent, claim) in claims {
        if let Some(job) = claim.unwrap() {
            assert_eq!(job.agent_id, agent, "an agent gets its own job");
            assert!(
                claimed.insert(agent, job).is_none(),
                "one claim each gets it"
            );
        }
    }
    assert_eq!(claimed.len(), ids.len());

    // Starts of the attempt held, beside starts of an attempt that is not.
    let starts = at_once(
        claimed
            .values()
            .flat_map(|job| [(job.id, job.attempt), (job.id, job.attempt + 1)])
            .map(|(id, attempt)| {
                let store = f.store.clone();
                tokio::spawn(async move { (attempt, store.start_job(id, attempt, now).await) })
            })
            .collect(),
    )
    .await;
    for (attempt, started) in starts {
        assert_eq!(started.unwrap(), attempt == 1, "attempt {attempt}");
    }

    // Logs and reports at once, with a report of a job that does not exist
    // in their midst: it alone is refused.
    let reports = at_once(
        claimed
            .values()
            .map(|job| (job.id, job.attempt))
            .chain([(i64::MAX, 1)])
            .map(|(id, attempt)| {
                let store = f.store.clone();
                tokio::spawn(async move {
                    let logged = store.append_logs(id, attempt, &[log_line(1, "done")]).await;
                    let finished = store
                        .finish_job(id, attempt, true, &serde_json::json!({}), now)
                        .await;
                    (id, logged, finished)
                })
            })
            .collect(),
    )
    .await;
    let mut batch_over = 0;
    for (id, logged, finished) in reports {
        if id == i64::MAX {
            assert!(matches!(logged, Err(StoreError::NotFound(_))), "{logged:?}");
            assert!(
                matches!(finished, Err(StoreError::NotFound(_))),
                "{finished:?}"
            );
        } else {
            assert_eq!(logged.unwrap(), 1);
            let FinishOutcome::Finished {
                batch_over: last, ..
            } = finished.unwrap()
            else {
                panic!("job {id} was not finished");
            };
            batch_over += usize::from(last);
        }
    }
    assert_eq!(batch_over, 1, "the last report alone ends the batch");
    let jobs = f.store.jobs(deployment).await.unwrap();
    assert_eq!(jobs.len(), created.len());
    assert!(jobs.iter().all(|j| j.state == JobState::Succeeded));
    let lines = f.store.deployment_logs(deployment, 0, 1000).await.unwrap();
    assert_eq!(lines.len(), ids.len(), "one line per job, stored once");

    let events = f.store.audit_events(0, 10_000).await.unwrap();
    for action in ["job.create", "job.claim", "job.start", "job.succeeded"] {
        let objects: HashSet<&str> = events
            .iter()
            .filter(|e| e.action == action)
            .map(|e| e.object.as_str())
            .collect();
        let count = events.iter().filter(|e| e.action == action).count();
        assert_eq!((count, objects.len()), (ids.len(), ids.len()), "{action}");
    }
    assert!(matches!(
        f.store.verify_audit().await.unwrap(),
        Verification::Intact { .. }
    ));
}

async fn agents_never_get_each_others_jobs(f: Fixture) {
    let (deployment, agents) = deployment_with_agents(&f, 2).await;
    let ids: Vec<i64> = agents.iter().map(|a| a.id).collect();
    let deploys = f
        .store
        .create_jobs(deployment, 0, &ids, JobKind::Deploy)
        .await
        .unwrap();
    let rollbacks = f
        .store
        .create_jobs(deployment, 1, &ids, JobKind::Rollback)
        .await
        .unwrap();
    assert_eq!(
        deploys.iter().map(|j| j.agent_id).collect::<Vec<_>>(),
        ids,
        "returned in the order asked"
    );

    // Both agents poll hard at once; each gets its own two jobs, oldest first.
    let now = chrono::Utc::now();
    let pollers: Vec<_> = ids
        .iter()
        .flat_map(|&agent| std::iter::repeat_n(agent, 5))
        .map(|agent| {
            let store = f.store.clone();
            tokio::spawn(async move {
                let mut got = Vec::new();
                while let Some(job) = store.claim_job(agent, lease(), now).await.unwrap() {
                    got.push(job);
                }
                (agent, got)
            })
        })
        .collect();
    let mut claimed: BTreeMap<i64, Vec<JobRecord>> = BTreeMap::new();
    for poller in pollers {
        let (agent, got) = poller.await.unwrap();
        for job in got {
            assert_eq!(job.agent_id, agent, "an agent only gets its own jobs");
            claimed.entry(agent).or_default().push(job);
        }
    }
    for (i, &agent) in ids.iter().enumerate() {
        let mut got: Vec<i64> = claimed[&agent].iter().map(|j| j.id).collect();
        got.sort_unstable();
        assert_eq!(got, [deploys[i].id, rollbacks[i].id], "each job once");
    }

    // Nor can a job be made for an agent of another environment.
    let stranger = f
        .store
        .register_agent("alice", &name("prod"), &name("p1"), &tags(&[]), "p-hash")
        .await
        .unwrap();
    let refused = f
        .store
        .create_jobs(deployment, 0, &[stranger.id], JobKind::Deploy)
        .await
        .unwrap_err();
    assert!(matches!(refused, StoreError::Invalid(_)), "{refused:?}");
    assert_eq!(
        f.store.claim_job(stranger.id, lease(), now).await.unwrap(),
        None
    );
}

/// A deployment with one job, claimed at `now` by its agent.
async fn claimed_job(f: &Fixture, now: chrono::DateTime<chrono::Utc>) -> JobRecord {
    let (deployment, agents) = deployment_with_agents(f, 1).await;
    f.store
        .create_jobs(deployment, 0, &[agents[0].id], JobKind::Deploy)
        .await
        .unwrap();
    let job = f
        .store
        .claim_job(agents[0].id, lease(), now)
        .await
        .unwrap()
        .unwrap();
    assert!(f.store.start_job(job.id, job.attempt, now).await.unwrap());
    job
}

async fn job(store: &Store, job: &JobRecord) -> JobRecord {
    store
        .jobs(job.deployment_id)
        .await
        .unwrap()
        .into_iter()
        .find(|j| j.id == job.id)
        .unwrap()
}

async fn heartbeats_extend_only_the_current_attempt(f: Fixture) {
    let t0 = chrono::Utc::now();
    let claimed = claimed_job(&f, t0).await;
    let t1 = t0 + chrono::Duration::seconds(20);
    assert!(
        f.store
            .heartbeat_job(claimed.id, 1, lease(), t1)
            .await
            .unwrap()
    );
    let extended = job(&f.store, &claimed).await;
    assert!(extended.lease_expires_at > claimed.lease_expires_at);
    assert!(
        ((extended.lease_expires_at.unwrap() - t1) - lease())
            .num_milliseconds()
            .abs()
            < 1,
        "the lease runs from the heartbeat (stored to the microsecond)"
    );
    // Still running at t0 + 40 s, which the first lease would not have covered.
    let t2 = t0 + chrono::Duration::seconds(40);
    assert!(f.store.expire_jobs(t2).await.unwrap().is_empty());

    for wrong in [0, 2] {
        assert!(
            !f.store
                .heartbeat_job(claimed.id, wrong, lease(), t2)
                .await
                .unwrap(),
            "attempt {wrong} holds no lease"
        );
    }
    assert_eq!(job(&f.store, &claimed).await, extended, "nothing moved");

    let done = f
        .store
        .finish_job(claimed.id, 1, true, &serde_json::json!({ "exit": 0 }), t2)
        .await
        .unwrap();
    assert!(matches!(done, FinishOutcome::Finished { .. }));
    assert!(
        !f.store
            .heartbeat_job(claimed.id, 1, lease(), t2)
            .await
            .unwrap(),
        "a finished job has no lease to extend"
    );
}

async fn an_expired_lease_fails_the_job_and_refuses_the_stale_agent(f: Fixture) {
    let t0 = chrono::Utc::now();
    let claimed = claimed_job(&f, t0).await;
    assert!(
        f.store
            .expire_jobs(t0 + chrono::Duration::seconds(29))
            .await
            .unwrap()
            .is_empty(),
        "the lease still holds"
    );
    let events = audit_count(&f.store).await;
    let expired = f
        .store
        .expire_jobs(t0 + chrono::Duration::seconds(31))
        .await
        .unwrap();
    assert_eq!(expired.len(), 1);
    let failed = &expired[0];
    assert_eq!((failed.id, failed.state), (claimed.id, JobState::Failed));
    assert_eq!(
        failed.result,
        Some(serde_json::json!({ "reason": LEASE_EXPIRED }))
    );
    assert_eq!(failed.lease_owner, None);
    let trail = f.store.audit_events(0, 1000).await.unwrap();
    assert_eq!(trail.len(), events + 1);
    assert_eq!(trail.last().unwrap().action, "job.failed");
    assert!(
        f.store
            .expire_jobs(t0 + chrono::Duration::seconds(60))
            .await
            .unwrap()
            .is_empty(),
        "expired once"
    );

    // The agent comes back and reports success for the attempt it had.
    let late = f
        .store
        .finish_job(
            claimed.id,
            1,
            true,
            &serde_json::json!({ "exit": 0 }),
            t0 + chrono::Duration::seconds(45),
        )
        .await
        .unwrap();
    assert!(
        matches!(&late, FinishOutcome::Stale(current) if current == failed),
        "{late:?}"
    );
    assert!(
        !f.store
            .heartbeat_job(claimed.id, 1, lease(), t0 + chrono::Duration::seconds(45))
            .await
            .unwrap()
    );
    assert_eq!(
        &job(&f.store, &claimed).await,
        failed,
        "the job stays failed"
    );
    assert_eq!(audit_count(&f.store).await, events + 1);
    assert!(matches!(
        f.store.verify_audit().await.unwrap(),
        Verification::Intact { .. }
    ));
}

async fn a_repeated_finish_is_already_done(f: Fixture) {
    let t0 = chrono::Utc::now();
    let claimed = claimed_job(&f, t0).await;
    let result = serde_json::json!({ "exit": 3, "step": "install" });
    let first = f
        .store
        .finish_job(claimed.id, 1, false, &result, t0)
        .await
        .unwrap();
    let FinishOutcome::Finished {
        job: finished,
        batch_over: true,
    } = first
    else {
        panic!("{first:?}")
    };
    assert_eq!(finished.state, JobState::Failed);
    assert_eq!(finished.result, Some(result.clone()));
    let trail = f.store.audit_events(0, 1000).await.unwrap();
    assert_eq!(trail.last().unwrap().action, "job.failed");
    let events = trail.len();

    // The response was lost; the agent reports again.
    let again = f
        .store
        .finish_job(
            claimed.id,
            1,
            false,
            &result,
            t0 + chrono::Duration::seconds(1),
        )
        .await
        .unwrap();
    assert_eq!(again, FinishOutcome::AlreadyDone(finished.clone()));
    assert_eq!(audit_count(&f.store).await, events, "no second event");
    let contradiction = f
        .store
        .finish_job(claimed.id, 1, true, &result, t0)
        .await
        .unwrap_err();
    assert!(
        matches!(contradiction, StoreError::Conflict(_)),
        "{contradiction:?}"
    );
    assert_eq!(job(&f.store, &claimed).await, finished);
    assert_eq!(audit_count(&f.store).await, events);
    let missing = f
        .store
        .finish_job(claimed.id + 1000, 1, true, &result, t0)
        .await
        .unwrap_err();
    assert!(matches!(missing, StoreError::NotFound(_)));
}

async fn a_retried_job_is_claimed_again_as_attempt_two(f: Fixture) {
    let t0 = chrono::Utc::now();
    let claimed = claimed_job(&f, t0).await;
    let running = f.store.retry_job(claimed.id).await.unwrap_err();
    assert!(
        matches!(running, StoreError::Invalid(_)),
        "a running job is not retried"
    );
    f.store
        .expire_jobs(t0 + chrono::Duration::seconds(31))
        .await
        .unwrap();
    let retried = f.store.retry_job(claimed.id).await.unwrap();
    assert_eq!((retried.state, retried.attempt), (JobState::Pending, 1));
    assert_eq!(
        (retried.lease_owner.as_deref(), retried.result.as_ref()),
        (None, None)
    );
    let events = audit_count(&f.store).await;
    assert_eq!(
        f.store.retry_job(claimed.id).await.unwrap(),
        retried,
        "retried once"
    );
    assert_eq!(audit_count(&f.store).await, events);

    let t1 = t0 + chrono::Duration::seconds(40);
    let second = f
        .store
        .claim_job(claimed.agent_id, lease(), t1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((second.id, second.attempt), (claimed.id, 2));
    assert_eq!(
        second.lease_owner,
        Some(format!("agent:{}:2", claimed.agent_id))
    );
    // The first attempt's agent cannot touch the second attempt.
    assert!(
        !f.store
            .heartbeat_job(claimed.id, 1, lease(), t1)
            .await
            .unwrap()
    );
    let stale = f
        .store
        .finish_job(claimed.id, 1, false, &serde_json::json!({}), t1)
        .await
        .unwrap();
    assert_eq!(stale, FinishOutcome::Stale(second.clone()));
    let done = f
        .store
        .finish_job(claimed.id, 2, true, &serde_json::json!({ "exit": 0 }), t1)
        .await
        .unwrap();
    let FinishOutcome::Finished { job: done, .. } = done else {
        panic!("{done:?}")
    };
    assert_eq!((done.state, done.attempt), (JobState::Succeeded, 2));
    let succeeded = f.store.retry_job(claimed.id).await.unwrap_err();
    assert!(matches!(succeeded, StoreError::Invalid(_)));
    let actions: Vec<String> = f
        .store
        .audit_events(0, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.object == format!("job:{}", claimed.id))
        .map(|e| e.action)
        .collect();
    assert_eq!(
        actions,
        [
            "job.create",
            "job.claim",
            "job.start",
            "job.failed",
            "job.retry",
            "job.claim",
            "job.succeeded"
        ]
    );
    assert!(matches!(
        f.store.verify_audit().await.unwrap(),
        Verification::Intact { .. }
    ));
}

async fn starting_twice_starts_once(f: Fixture) {
    let (deployment, agents) = deployment_with_agents(&f, 3).await;
    let ids: Vec<i64> = agents.iter().map(|a| a.id).collect();
    let plan = vec![vec![ids[0], ids[1]], vec![ids[2]]];
    let now = chrono::Utc::now();
    let due = f.store.deployments_to_drive(now).await.unwrap();
    assert_eq!(
        due.iter().map(|p| p.deployment.id).collect::<Vec<_>>(),
        [deployment]
    );
    assert_eq!(due[0].plan, None);

    // Two replicas start it at once: one wins.
    let starts: Vec<_> = (0..2)
        .map(|_| {
            let store = f.store.clone();
            let plan = plan.clone();
            tokio::spawn(async move { store.start_deployment(deployment, &plan, now).await })
        })
        .collect();
    let mut won = 0;
    for start in starts {
        if start.await.unwrap().unwrap() {
            won += 1;
        }
    }
    assert_eq!(won, 1);
    let events = audit_count(&f.store).await;
    assert!(
        !f.store
            .start_deployment(deployment, &plan, now)
            .await
            .unwrap()
    );
    assert_eq!(
        audit_count(&f.store).await,
        events,
        "a repeat writes nothing"
    );

    let progress = f.store.progress(deployment).await.unwrap();
    assert_eq!(progress.deployment.status, DeploymentStatus::Running);
    assert_eq!(progress.plan, Some(plan));
    assert_eq!(progress.batch, Some(0));
    let jobs = f.store.jobs(deployment).await.unwrap();
    assert_eq!(
        jobs.iter()
            .map(|j| (j.agent_id, j.batch, j.kind))
            .collect::<Vec<_>>(),
        [(ids[0], 0, JobKind::Deploy), (ids[1], 0, JobKind::Deploy)]
    );
    assert!(matches!(
        f.store.start_deployment(deployment, &[vec![]], now).await,
        Err(StoreError::Invalid(_))
    ));
    // Scheduled later: not due until its time.
    let later = f
        .store
        .create_deployment(
            "alice",
            &name("api"),
            &version("1.0.0"),
            &name("dev"),
            NewDeployment {
                scheduled_at: Some(now + chrono::Duration::hours(1)),
                ..NewDeployment::default()
            },
        )
        .await
        .unwrap();
    let due: Vec<i64> = f
        .store
        .deployments_to_drive(now)
        .await
        .unwrap()
        .iter()
        .map(|p| p.deployment.id)
        .collect();
    assert_eq!(due, [deployment]);
    let due: Vec<i64> = f
        .store
        .deployments_to_drive(now + chrono::Duration::hours(2))
        .await
        .unwrap()
        .iter()
        .map(|p| p.deployment.id)
        .collect();
    assert_eq!(due, [deployment, later.id]);
    assert!(
        f.store
            .hold_deployment(later.id, "no agent of dev matches")
            .await
            .unwrap()
    );
    assert!(
        !f.store
            .hold_deployment(later.id, "no agent of dev matches")
            .await
            .unwrap()
    );
    assert_eq!(
        f.store.progress(later.id).await.unwrap().reason.as_deref(),
        Some("no agent of dev matches")
    );
    assert!(matches!(
        f.store.verify_audit().await.unwrap(),
        Verification::Intact { .. }
    ));
}

async fn batches_advance_only_from_the_expected_one(f: Fixture) {
    let (deployment, agents) = deployment_with_agents(&f, 3).await;
    let ids: Vec<i64> = agents.iter().map(|a| a.id).collect();
    let plan = vec![vec![ids[0]], vec![ids[1]], vec![ids[2]]];
    let now = chrono::Utc::now();
    assert!(
        !f.store.advance_batch(deployment, 0, None).await.unwrap(),
        "not running yet"
    );
    assert!(
        f.store
            .start_deployment(deployment, &plan, now)
            .await
            .unwrap()
    );

    // Two replicas advance from batch 0 at once: one wins, once.
    let advances: Vec<_> = (0..2)
        .map(|_| {
            let store = f.store.clone();
            tokio::spawn(async move { store.advance_batch(deployment, 0, None).await })
        })
        .collect();
    let mut won = 0;
    for advance in advances {
        if advance.await.unwrap().unwrap() {
            won += 1;
        }
    }
    assert_eq!(won, 1);
    assert!(!f.store.advance_batch(deployment, 0, None).await.unwrap());
    let progress = f.store.progress(deployment).await.unwrap();
    assert_eq!(progress.batch, Some(1));
    assert_eq!(progress.current_batch(), [ids[1]]);
    assert_eq!(f.store.jobs(deployment).await.unwrap().len(), 2);

    // A pause: the batch moves, its jobs wait for the orchestrator.
    let at = now + chrono::Duration::minutes(5);
    assert!(
        f.store
            .advance_batch(deployment, 1, Some(at))
            .await
            .unwrap()
    );
    let progress = f.store.progress(deployment).await.unwrap();
    assert_eq!(progress.batch, Some(2));
    assert_eq!(
        progress.next_batch_at.map(ferry_core::time::format_time),
        Some(ferry_core::time::format_time(at))
    );
    assert_eq!(f.store.jobs(deployment).await.unwrap().len(), 2);
    assert!(matches!(
        f.store.advance_batch(deployment, 2, None).await,
        Err(StoreError::Invalid(_))
    ));

    assert!(
        f.store
            .finish_deployment(deployment, DeploymentStatus::Succeeded, None)
            .await
            .unwrap()
    );
    assert!(
        !f.store
            .finish_deployment(deployment, DeploymentStatus::Succeeded, None)
            .await
            .unwrap()
    );
    let statuses: Vec<String> = f
        .store
        .audit_events(0, 10_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| {
            e.object == format!("deployment:{deployment}") && e.action == "deployment.status"
        })
        .map(|e| e.details)
        .collect();
    assert_eq!(
        statuses.len(),
        2,
        "running → verifying → succeeded: {statuses:?}"
    );
    assert!(matches!(
        f.store
            .finish_deployment(deployment, DeploymentStatus::Failed, None)
            .await,
        Err(StoreError::Invalid(_))
    ));
    assert!(!f.store.advance_batch(deployment, 2, None).await.unwrap());
    assert!(f.store.deployments_to_drive(now).await.unwrap().is_empty());
}

async fn a_rollback_is_linked_and_restores_the_failed_deployment(f: Fixture) {
    let (good, agents) = deployment_with_agents(&f, 2).await;
    let ids: Vec<i64> = agents.iter().map(|a| a.id).collect();
    let now = chrono::Utc::now();
    f.store
        .start_deployment(good, std::slice::from_ref(&ids), now)
        .await
        .unwrap();
    f.store
        .finish_deployment(good, DeploymentStatus::Succeeded, None)
        .await
        .unwrap();
    f.store
        .create_release(
            "alice",
            &name("api"),
            &version("1.1.0"),
            NewRelease::with_notes(""),
        )
        .await
        .unwrap();
    let bad = f
        .store
        .create_deployment(
            "alice",
            &name("api"),
            &version("1.1.0"),
            &name("dev"),
            NewDeployment::default(),
        )
        .await
        .unwrap()
        .id;
    assert_eq!(f.store.last_success_before(good).await.unwrap(), None);
    assert_eq!(
        f.store.last_success_before(bad).await.unwrap(),
        Some(version("1.0.0"))
    );
    f.store
        .start_deployment(bad, &[vec![ids[0]], vec![ids[1]]], now)
        .await
        .unwrap();
    assert!(
        matches!(
            f.store
                .create_rollback(bad, &version("1.0.0"), &[ids[0]])
                .await,
            Err(StoreError::Invalid(_))
        ),
        "only a failed deployment is rolled back"
    );
    assert!(
        f.store
            .finish_deployment(
                bad,
                DeploymentStatus::Failed,
                Some("halted: failed on target0")
            )
            .await
            .unwrap()
    );
    let failed = f.store.progress(bad).await.unwrap();
    assert_eq!(failed.reason.as_deref(), Some("halted: failed on target0"));
    let due: Vec<i64> = f
        .store
        .deployments_to_drive(now)
        .await
        .unwrap()
        .iter()
        .map(|p| p.deployment.id)
        .collect();
    assert_eq!(due, [bad], "a failed deployment waits for its rollback");

    // Two replicas roll back at once: one rollback.
    let rollbacks: Vec<_> = (0..2)
        .map(|_| {
            let store = f.store.clone();
            let target = ids[0];
            tokio::spawn(async move {
                store
                    .create_rollback(bad, &version("1.0.0"), &[target])
                    .await
            })
        })
        .collect();
    let mut seen = HashSet::new();
    for rollback in rollbacks {
        seen.insert(rollback.await.unwrap().unwrap().deployment.id);
    }
    assert_eq!(seen.len(), 1);
    let rollback = *seen.iter().next().unwrap();
    let progress = f.store.progress(rollback).await.unwrap();
    assert_eq!(progress.rollback_of, Some(bad));
    assert_eq!(progress.deployment.version, "1.0.0");
    assert_eq!(progress.deployment.status, DeploymentStatus::Running);
    assert_eq!(progress.plan, Some(vec![vec![ids[0]]]));
    let jobs = f.store.jobs(rollback).await.unwrap();
    assert_eq!(
        jobs.iter()
            .map(|j| (j.agent_id, j.kind))
            .collect::<Vec<_>>(),
        [(ids[0], JobKind::Rollback)]
    );
    let due: Vec<i64> = f
        .store
        .deployments_to_drive(now)
        .await
        .unwrap()
        .iter()
        .map(|p| p.deployment.id)
        .collect();
    assert_eq!(due, [rollback]);

    assert!(
        f.store
            .finish_deployment(rollback, DeploymentStatus::Succeeded, None)
            .await
            .unwrap()
    );
    assert_eq!(
        f.store.deployment(bad).await.unwrap().status,
        DeploymentStatus::RolledBack
    );
    assert!(f.store.deployments_to_drive(now).await.unwrap().is_empty());
    assert!(matches!(
        f.store.verify_audit().await.unwrap(),
        Verification::Intact { .. }
    ));
}

fn log_line(seq: i64, text: &str) -> NewLogLine {
    NewLogLine {
        seq,
        at: chrono::Utc::now(),
        stream: if seq % 2 == 0 {
            LogStream::Out
        } else {
            LogStream::Err
        },
        step: Some("install".into()),
        line: text.into(),
    }
}

async fn log_lines_are_stored_once_in_order(f: Fixture) {
    let job = claimed_job(&f, chrono::Utc::now()).await;
    let first: Vec<NewLogLine> = (0..150)
        .map(|i| log_line(i, &format!("line {i}")))
        .collect();
    assert_eq!(f.store.append_logs(job.id, 1, &first).await.unwrap(), 150);
    // A batch sent again after a lost answer, overlapping the next one.
    let again: Vec<NewLogLine> = (100..200)
        .map(|i| log_line(i, &format!("line {i}")))
        .collect();
    assert_eq!(f.store.append_logs(job.id, 1, &again).await.unwrap(), 50);
    let all = f
        .store
        .deployment_logs(job.deployment_id, 0, 1000)
        .await
        .unwrap();
    let texts: Vec<String> = all.iter().map(|l| l.line.clone()).collect();
    let expected: Vec<String> = (0..200).map(|i| format!("line {i}")).collect();
    assert_eq!(texts, expected);
    assert!(all.windows(2).all(|w| w[0].id < w[1].id));
    assert_eq!(all[0].target, "target0");
    assert_eq!(all[1].stream, LogStream::Err);
    // Following: only the lines after the last id seen.
    let after = f
        .store
        .deployment_logs(job.deployment_id, all[189].id, 1000)
        .await
        .unwrap();
    assert_eq!(after.len(), 10);
    let error = f
        .store
        .append_logs(job.id, 2, &first[..1])
        .await
        .unwrap_err();
    assert!(error.to_string().contains("no attempt 2"), "{error}");
}

/// A short job's log comes with its report: the lines are there when the
/// job is seen finished, a line sent before too is stored once, and a
/// report that cannot be taken stores none of its lines.
async fn a_report_brings_the_last_lines_of_the_log(f: Fixture) {
    let job = claimed_job(&f, chrono::Utc::now()).await;
    f.store
        .append_logs(job.id, 1, &[log_line(0, "step started")])
        .await
        .unwrap();
    let rest = [log_line(0, "step started"), log_line(1, "step succeeded")];
    let finished = f
        .store
        .finish_job_logged(
            job.id,
            1,
            true,
            &serde_json::json!({}),
            &rest,
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    assert!(matches!(
        finished,
        FinishOutcome::Finished {
            batch_over: true,
            ..
        }
    ));
    let texts = |lines: Vec<ferry_store::logs::LogRecord>| -> Vec<String> {
        lines.into_iter().map(|line| line.line).collect()
    };
    let log = f
        .store
        .deployment_logs(job.deployment_id, 0, 1000)
        .await
        .unwrap();
    assert_eq!(texts(log), ["step started", "step succeeded"]);

    // The other outcome from the same attempt is refused, lines and all.
    let refused = f
        .store
        .finish_job_logged(
            job.id,
            1,
            false,
            &serde_json::json!({}),
            &[log_line(2, "late line")],
            chrono::Utc::now(),
        )
        .await
        .unwrap_err();
    assert!(matches!(refused, StoreError::Conflict(_)), "{refused}");
    let log = f
        .store
        .deployment_logs(job.deployment_id, 0, 1000)
        .await
        .unwrap();
    assert_eq!(texts(log), ["step started", "step succeeded"]);
}

async fn an_evidence_pack_reads_its_records_and_their_events_at_one_head(f: Fixture) {
    use ferry_store::evidence_pack::PackScope;
    let job = claimed_job(&f, chrono::Utc::now()).await;
    // More lines than one page of the log holds.
    for start in [0, 600] {
        let lines: Vec<NewLogLine> = (start..start + 600)
            .map(|i| log_line(i, &format!("line {i}")))
            .collect();
        f.store.append_logs(job.id, 1, &lines).await.unwrap();
    }
    let evidence = ferry_store::evidence::NewEvidence {
        name: "unit",
        passed: true,
        summary: "2 tests",
        report: None,
        url: None,
    };
    let (api, one, dev) = (name("api"), version("1.0.0"), name("dev"));
    f.store
        .add_evidence("alice", &api, &one, &dev, evidence)
        .await
        .unwrap();
    let pack = f
        .store
        .evidence_pack(PackScope::Release {
            service: &api,
            version: &one,
            environment: Some(&dev),
        })
        .await
        .unwrap();
    let trail = f.store.audit_events(0, 100_000).await.unwrap();
    let last = trail.last().unwrap();
    assert_eq!((pack.head_seq, &pack.head_hash), (last.seq, &last.hash));
    let [release] = &pack.releases[..] else {
        panic!("one release: {pack:?}");
    };
    assert_eq!(release.release.version, "1.0.0");
    assert_eq!(release.evidence.len(), 1);
    assert_eq!(release.evidence[0].environment, "dev");
    let [deployment] = &release.deployments[..] else {
        panic!("one deployment: {release:?}");
    };
    assert_eq!(deployment.jobs.len(), 1);
    assert_eq!(deployment.jobs[0].agent, "target0");
    let lines: Vec<&str> = deployment.logs.iter().map(|l| l.line.as_str()).collect();
    assert_eq!(lines.len(), 1200);
    assert_eq!((lines[0], lines[1199]), ("line 0", "line 1199"));
    // The events about the release, its deployment and its job, in order.
    let objects: HashSet<&str> = pack.events.iter().map(|e| e.object.as_str()).collect();
    let expected = [
        "release:api@1.0.0".to_owned(),
        format!("deployment:{}", deployment.deployment.id),
        format!("job:{}", job.id),
    ];
    assert_eq!(
        objects,
        expected.iter().map(String::as_str).collect::<HashSet<_>>()
    );
    assert!(pack.events.windows(2).all(|w| w[0].seq < w[1].seq));
    let actions: Vec<&str> = pack.events.iter().map(|e| e.action.as_str()).collect();
    for action in [
        "release.create",
        "deployment.create",
        "job.claim",
        "evidence.add",
    ] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }

    // A period: the deployments made in it, with their releases.
    let now = chrono::Utc::now();
    let period = |environment| PackScope::Period {
        since: now - chrono::Duration::hours(1),
        until: now + chrono::Duration::hours(1),
        service: Some(&api),
        environment,
    };
    let prod = name("prod");
    let found = f.store.evidence_pack(period(Some(&dev))).await.unwrap();
    assert_eq!(found.releases.len(), 1);
    assert_eq!(found.releases[0].deployments.len(), 1);
    let none = f.store.evidence_pack(period(Some(&prod))).await.unwrap();
    assert!(none.releases.is_empty() && none.events.is_empty());

    // What does not exist is named.
    let (nowhere, nine, nothing) = (name("nowhere"), version("9.9.9"), name("nothing"));
    let missing = [
        PackScope::Release {
            service: &api,
            version: &nine,
            environment: None,
        },
        PackScope::Release {
            service: &api,
            version: &one,
            environment: Some(&nowhere),
        },
        PackScope::Period {
            since: now,
            until: now,
            service: Some(&nothing),
            environment: None,
        },
    ];
    for scope in missing {
        let error = f.store.evidence_pack(scope).await.unwrap_err();
        assert!(matches!(error, StoreError::NotFound(_)), "{error}");
    }
}

async fn a_deployment_has_one_driver_at_a_time(f: Fixture) {
    let (queued, _agents) = deployment_with_agents(&f, 1).await;
    let lease = chrono::Duration::seconds(10);
    let now = chrono::Utc::now();
    // Two replicas look at once: one of them drives it.
    let (one, two) = tokio::join!(
        f.store.claim_deployments("replica-a", now, lease),
        f.store.claim_deployments("replica-b", now, lease)
    );
    let (one, two) = (one.unwrap(), two.unwrap());
    assert_eq!(
        usize::from(one.contains(&queued)) + usize::from(two.contains(&queued)),
        1,
        "exactly one replica holds the lease: {one:?} {two:?}"
    );
    let (holder, other) = if one.contains(&queued) {
        ("replica-a", "replica-b")
    } else {
        ("replica-b", "replica-a")
    };
    // The holder renews it; the other gets it only once it has run out.
    let later = now + chrono::Duration::seconds(5);
    assert!(
        f.store
            .claim_deployments(holder, later, lease)
            .await
            .unwrap()
            .contains(&queued)
    );
    assert!(
        !f.store
            .claim_deployments(other, later, lease)
            .await
            .unwrap()
            .contains(&queued)
    );
    let after_death = later + lease + chrono::Duration::seconds(1);
    assert!(
        f.store
            .claim_deployments(other, after_death, lease)
            .await
            .unwrap()
            .contains(&queued)
    );
    assert_eq!(
        f.store
            .deployment_driver(queued)
            .await
            .unwrap()
            .map(|(who, _)| who),
        Some(other.to_owned())
    );
    // A replica that stops gives its leases up at once.
    assert_eq!(f.store.release_deployments(other).await.unwrap(), 1);
    assert!(
        f.store
            .claim_deployments(holder, after_death, lease)
            .await
            .unwrap()
            .contains(&queued)
    );
    // A deployment that ended is no one's work.
    f.store.cancel_deployment("bob", queued).await.unwrap();
    assert!(
        f.store
            .claim_deployments(holder, after_death, lease)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn a_cancel_is_immediate_before_the_start_and_deferred_after(f: Fixture) {
    let (queued, agents) = deployment_with_agents(&f, 2).await;
    assert_eq!(
        f.store.cancel_deployment("bob", queued).await.unwrap(),
        CancelOutcome::Cancelled
    );
    assert_eq!(
        f.store.deployment(queued).await.unwrap().status,
        DeploymentStatus::Cancelled
    );
    let running = f
        .store
        .create_deployment(
            "alice",
            &name("api"),
            &version("1.0.0"),
            &name("dev"),
            NewDeployment::default(),
        )
        .await
        .unwrap()
        .id;
    let plan = vec![vec![agents[0].id], vec![agents[1].id]];
    assert!(
        f.store
            .start_deployment(running, &plan, chrono::Utc::now())
            .await
            .unwrap()
    );
    // Two people at once: one asks, the other learns who did.
    let (one, two) = tokio::join!(
        f.store.cancel_deployment("bob", running),
        f.store.cancel_deployment("carol", running)
    );
    let mut outcomes = [one.unwrap(), two.unwrap()];
    outcomes.sort_by_key(|o| matches!(o, CancelOutcome::AlreadyRequested { .. }));
    assert_eq!(outcomes[0], CancelOutcome::Requested);
    assert!(matches!(
        outcomes[1],
        CancelOutcome::AlreadyRequested { .. }
    ));
    let progress = f.store.progress(running).await.unwrap();
    assert_eq!(progress.deployment.status, DeploymentStatus::Running);
    assert!(progress.cancel_requested_by.is_some());
    assert!(
        f.store
            .finish_deployment(running, DeploymentStatus::Cancelled, Some("after batch 1"))
            .await
            .unwrap()
    );
    let ended = f.store.cancel_deployment("bob", running).await.unwrap_err();
    assert!(ended.to_string().contains("is cancelled"), "{ended}");
}

async fn a_deployment_is_rolled_back_by_hand_once(f: Fixture) {
    let (first, _) = deployment_with_agents(&f, 1).await;
    f.store
        .set_deployment_status("alice", first, DeploymentStatus::Running)
        .await
        .unwrap();
    f.store
        .set_deployment_status("alice", first, DeploymentStatus::Succeeded)
        .await
        .unwrap();
    f.store
        .create_release(
            "alice",
            &name("api"),
            &version("1.1.0"),
            NewRelease::with_notes(""),
        )
        .await
        .unwrap();
    let second = f
        .store
        .create_deployment(
            "alice",
            &name("api"),
            &version("1.1.0"),
            &name("dev"),
            NewDeployment::default(),
        )
        .await
        .unwrap()
        .id;
    let running = f
        .store
        .request_rollback("bob", second, &version("1.0.0"), None)
        .await
        .unwrap_err();
    assert!(running.to_string().contains("is queued"), "{running}");
    f.store
        .set_deployment_status("alice", second, DeploymentStatus::Running)
        .await
        .unwrap();
    f.store
        .set_deployment_status("alice", second, DeploymentStatus::Succeeded)
        .await
        .unwrap();
    assert_eq!(
        f.store.last_success_before(second).await.unwrap(),
        Some(version("1.0.0"))
    );
    let v1 = version("1.0.0");
    let (one, two) = tokio::join!(
        f.store.request_rollback("bob", second, &v1, None),
        f.store.request_rollback("carol", second, &v1, None)
    );
    let created: Vec<_> = [one, two].into_iter().filter_map(Result::ok).collect();
    assert_eq!(created.len(), 1, "one rollback per deployment");
    let rollback = &created[0];
    assert_eq!(
        (
            rollback.version.as_str(),
            rollback.status,
            rollback.rollback_of
        ),
        ("1.0.0", DeploymentStatus::Queued, Some(second))
    );
}

async fn an_automatic_promotion_happens_once(f: Fixture) {
    let (source, _) = deployment_with_agents(&f, 1).await;
    assert_eq!(
        f.store
            .promote_automatically(source, &name("prod"))
            .await
            .unwrap(),
        None,
        "only a success promotes"
    );
    f.store
        .set_deployment_status("alice", source, DeploymentStatus::Running)
        .await
        .unwrap();
    f.store
        .set_deployment_status("alice", source, DeploymentStatus::Succeeded)
        .await
        .unwrap();
    let since = chrono::Utc::now() - chrono::Duration::minutes(1);
    let recent: Vec<i64> = f
        .store
        .recent_successes(since)
        .await
        .unwrap()
        .iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(recent, [source]);
    let prod = name("prod");
    let (one, two) = tokio::join!(
        f.store.promote_automatically(source, &prod),
        f.store.promote_automatically(source, &prod)
    );
    let created: Vec<_> = [one.unwrap(), two.unwrap()].into_iter().flatten().collect();
    assert_eq!(created.len(), 1, "promoted once");
    assert_eq!(
        (
            created[0].environment.as_str(),
            created[0].created_by.as_str()
        ),
        ("prod", "system")
    );
}

async fn a_job_never_started_goes_back_to_pending_when_its_lease_runs_out(f: Fixture) {
    let t0 = chrono::Utc::now();
    let (deployment, agents) = deployment_with_agents(&f, 1).await;
    f.store
        .create_jobs(deployment, 0, &[agents[0].id], JobKind::Deploy)
        .await
        .unwrap();
    // The answer to this claim is lost: the agent never starts the job.
    let lost = f
        .store
        .claim_job(agents[0].id, lease(), t0)
        .await
        .unwrap()
        .unwrap();
    let failed = f
        .store
        .expire_jobs(t0 + chrono::Duration::seconds(31))
        .await
        .unwrap();
    assert!(failed.is_empty(), "nothing ran, nothing failed");
    let requeued = job(&f.store, &lost).await;
    assert_eq!((requeued.state, requeued.attempt), (JobState::Pending, 1));
    let again = f
        .store
        .claim_job(agents[0].id, lease(), t0 + chrono::Duration::seconds(32))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.attempt, 2);
    assert!(
        !f.store.start_job(lost.id, 1, t0).await.unwrap(),
        "the lost attempt may not start"
    );
    let now = t0 + chrono::Duration::seconds(33);
    assert!(f.store.start_job(again.id, 2, now).await.unwrap());
    assert!(
        f.store.start_job(again.id, 2, now).await.unwrap(),
        "said twice"
    );
    // Started, its lease running out fails it.
    let failed = f
        .store
        .expire_jobs(t0 + chrono::Duration::seconds(70))
        .await
        .unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].state, JobState::Failed);
}

async fn a_revoked_agent_is_refused_and_loses_its_job(f: Fixture) {
    let t0 = chrono::Utc::now();
    let claimed = claimed_job(&f, t0).await;
    let agent = f
        .store
        .agents(None)
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.id == claimed.agent_id)
        .unwrap();
    let named = f
        .store
        .agent_named(Some(&name(&agent.environment)), &name(&agent.name))
        .await
        .unwrap();
    assert_eq!(named.id, agent.id);
    let revoked = f.store.revoke_agent("alice", agent.id).await.unwrap();
    assert!(revoked.revoked_at.is_some());
    assert!(
        f.store
            .agents(None)
            .await
            .unwrap()
            .iter()
            .all(|a| a.id != agent.id || a.revoked_at.is_some())
    );
    // Its job's lease ends now: the next expiry pass fails it.
    let expired = f
        .store
        .expire_jobs(chrono::Utc::now() + chrono::Duration::seconds(1))
        .await
        .unwrap();
    assert_eq!(
        expired.iter().map(|j| j.id).collect::<Vec<_>>(),
        [claimed.id]
    );
    // A stale heartbeat of the revoked agent changes nothing.
    assert!(
        !f.store
            .heartbeat_job(claimed.id, claimed.attempt, lease(), chrono::Utc::now())
            .await
            .unwrap()
    );
    let trail = f.store.audit_events(0, 1000).await.unwrap();
    assert!(trail.iter().any(|e| e.action == "agent.revoke"));
}

async fn workload_tokens_carry_their_grants_until_they_expire(f: Fixture) {
    let grants = [grant(Role::Developer, Some("api"), None)];
    let subject = "repo:acme/api:ref:refs/heads/main";
    let new = |hash: &'static str, expires_at| ferry_store::auth::NewWorkloadToken {
        issuer: "https://token.actions.githubusercontent.com",
        subject,
        grants: &grants,
        prefix: "ferry_ci_abcdef",
        secret_hash: hash,
        expires_at,
    };
    let soon = chrono::Utc::now() + chrono::Duration::minutes(15);
    let created = f
        .store
        .create_workload_token(&new("ci-live", soon))
        .await
        .unwrap();
    assert_eq!(created.grants, grants);
    let found = f
        .store
        .authenticate_workload("ci-live")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.actor, format!("ci:{subject}"));
    assert_eq!(found.user, None);
    assert_eq!(found.rights.grants, grants);
    let past = chrono::Utc::now() - chrono::Duration::seconds(1);
    f.store
        .create_workload_token(&new("ci-old", past))
        .await
        .unwrap();
    assert_eq!(f.store.authenticate_workload("ci-old").await.unwrap(), None);
    // A workload's secret is no user's token, and the other way round.
    assert_eq!(f.store.authenticate("ci-live").await.unwrap(), None);
    let trail = f.store.audit_events(0, 100).await.unwrap();
    let exchange = trail.iter().find(|e| e.action == "token.exchange").unwrap();
    assert_eq!(exchange.actor, format!("ci:{subject}"));
    assert!(
        !exchange.details.contains("ci-live"),
        "no hash in the trail"
    );
}

async fn calendar_feeds_read_as_their_owner_until_revoked(f: Fixture) {
    use ferry_store::calendar_feeds::NewCalendarFeed;
    f.store
        .create_user("system", new_user(&name("alice"), "hash-a", true))
        .await
        .unwrap();
    let (bob, _) = f
        .store
        .create_user("alice", new_user(&name("bob"), "hash-b", false))
        .await
        .unwrap();
    let viewer = grant(Role::Viewer, None, None);
    f.store
        .grant("alice", Holder::User(&name("bob")), &viewer)
        .await
        .unwrap();
    let feed = |name: &'static str, hash: &'static str| NewCalendarFeed {
        name,
        secret_hash: hash,
        prefix: "ferry_cal_abcd",
    };
    let phone = f
        .store
        .create_calendar_feed("bob", &bob, feed("phone", "feed-1"))
        .await
        .unwrap();
    assert_eq!((phone.name.as_str(), phone.user.as_str()), ("phone", "bob"));
    assert_eq!(phone.revoked_at, None);
    let laptop = f
        .store
        .create_calendar_feed("bob", &bob, feed("laptop", "feed-2"))
        .await
        .unwrap();

    // A feed reads with its owner's rights of the moment.
    let found = f
        .store
        .authenticate_calendar_feed("feed-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((found.feed_id, found.user.name.as_str()), (phone.id, "bob"));
    assert_eq!(found.rights.grants, std::slice::from_ref(&viewer));
    assert_eq!(found.rights.narrowed_to, None);
    assert_eq!(
        f.store.authenticate_calendar_feed("unknown").await.unwrap(),
        None
    );
    // A feed's secret is no API token, and an API token no feed.
    assert_eq!(f.store.authenticate("feed-1").await.unwrap(), None);
    assert_eq!(
        f.store.authenticate_calendar_feed("hash-b").await.unwrap(),
        None
    );
    let used = f.store.calendar_feed(phone.id).await.unwrap().unwrap();
    assert!(used.last_used_at.is_some());

    assert_eq!(f.store.calendar_feeds(Some("bob")).await.unwrap(), {
        let mut listed = f.store.calendar_feeds(None).await.unwrap();
        listed.retain(|feed| feed.user == "bob");
        listed
    });
    assert_eq!(f.store.calendar_feeds(Some("bob")).await.unwrap().len(), 2);
    assert!(
        f.store
            .calendar_feeds(Some("alice"))
            .await
            .unwrap()
            .is_empty()
    );

    // A disabled owner's feeds are refused, and work again when enabled.
    f.store
        .set_user_enabled("alice", "bob", false)
        .await
        .unwrap();
    assert_eq!(
        f.store.authenticate_calendar_feed("feed-1").await.unwrap(),
        None
    );
    f.store
        .set_user_enabled("alice", "bob", true)
        .await
        .unwrap();
    assert!(
        f.store
            .authenticate_calendar_feed("feed-1")
            .await
            .unwrap()
            .is_some()
    );

    // Revoked, a feed is refused; revoking again changes nothing.
    let revoked = f.store.revoke_calendar_feed("bob", phone.id).await.unwrap();
    assert!(revoked.revoked_at.is_some());
    assert_eq!(
        f.store.authenticate_calendar_feed("feed-1").await.unwrap(),
        None
    );
    assert!(
        f.store
            .authenticate_calendar_feed("feed-2")
            .await
            .unwrap()
            .is_some()
    );
    let seq = f.store.audit_events(0, 1000).await.unwrap().len();
    let again = f
        .store
        .revoke_calendar_feed("alice", phone.id)
        .await
        .unwrap();
    assert_eq!(again.revoked_at, revoked.revoked_at);
    assert_eq!(f.store.audit_events(0, 1000).await.unwrap().len(), seq);
    let missing = f
        .store
        .revoke_calendar_feed("alice", 999)
        .await
        .unwrap_err();
    assert!(matches!(missing, StoreError::NotFound(_)));

    // Making and revoking are in the trail, by whom, without the hash.
    let trail = f.store.audit_events(0, 1000).await.unwrap();
    let events: Vec<(&str, &str, &str)> = trail
        .iter()
        .filter(|e| e.action.starts_with("calendar-feed."))
        .map(|e| (e.actor.as_str(), e.action.as_str(), e.object.as_str()))
        .collect();
    let (first, second) = (
        format!("calendar-feed:{}", phone.id),
        format!("calendar-feed:{}", laptop.id),
    );
    assert_eq!(
        events,
        [
            ("bob", "calendar-feed.create", first.as_str()),
            ("bob", "calendar-feed.create", second.as_str()),
            ("bob", "calendar-feed.revoke", first.as_str()),
        ]
    );
    assert!(
        trail.iter().all(|e| !e.details.contains("feed-1")),
        "no hash in the trail"
    );
    assert!(matches!(
        f.store.verify_audit().await.unwrap(),
        Verification::Intact { .. }
    ));
}

async fn fifty_identical_promotions_make_one_deployment(f: Fixture) {
    release_with_users(&f, 0).await;
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let store = f.store.clone();
            tokio::spawn(async move {
                store
                    .promote_release(
                        "alice",
                        &name("api"),
                        &version("1.0.0"),
                        &name("prod"),
                        NewDeployment::default(),
                    )
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut ids = HashSet::new();
    let mut created = 0;
    for task in tasks {
        let (deployment, new) = task.await.unwrap();
        ids.insert(deployment.id);
        created += usize::from(new);
    }
    assert_eq!((ids.len(), created), (1, 1), "one deployment, made once");
    // Once it has ended, the release may go there again.
    let id = *ids.iter().next().unwrap();
    f.store
        .set_deployment_status("alice", id, DeploymentStatus::Running)
        .await
        .unwrap();
    f.store
        .set_deployment_status("alice", id, DeploymentStatus::Failed)
        .await
        .unwrap();
    let (again, new) = f
        .store
        .promote_release(
            "alice",
            &name("api"),
            &version("1.0.0"),
            &name("prod"),
            NewDeployment::default(),
        )
        .await
        .unwrap();
    assert!(new && again.id != id);
}

async fn versions_of_equal_precedence_are_one_release(f: Fixture) {
    release_with_users(&f, 0).await;
    for (text, taken) in [("1.0.0+build.1", true), ("1.0.1+build.1", false)] {
        let result = f
            .store
            .create_release(
                "alice",
                &name("api"),
                &version(text),
                NewRelease::with_notes(""),
            )
            .await;
        if taken {
            let error = result.unwrap_err();
            assert!(
                matches!(&error, StoreError::Conflict(m) if m.contains("api@1.0.0 exists") && m.contains("build metadata")),
                "{error}"
            );
        } else {
            result.unwrap();
        }
    }
    let refused = f
        .store
        .create_release(
            "alice",
            &name("api"),
            &version("1.0.1+build.2"),
            NewRelease::with_notes(""),
        )
        .await
        .unwrap_err();
    assert!(matches!(refused, StoreError::Conflict(_)), "{refused}");
    let refused = f
        .store
        .create_release(
            "alice",
            &name("api"),
            &version("1.0.1"),
            NewRelease::with_notes(""),
        )
        .await
        .unwrap_err();
    assert!(matches!(refused, StoreError::Conflict(_)), "{refused}");
}

async fn an_idempotency_key_is_held_once_answered_and_expires(f: Fixture) {
    use ferry_store::idempotency::{Claim, KeptAnswer, KeyedRequest};
    let (hold_for, keep_for) = (chrono::Duration::minutes(2), chrono::Duration::hours(24));
    let t0 = chrono::Utc::now();
    let request = KeyedRequest {
        scope: "token:1",
        key: "k",
        fingerprint: "f",
        request: "POST /api/v1/freezes",
    };
    // Twenty requests race for a new key: one holds it.
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let store = f.store.clone();
            tokio::spawn(async move {
                store
                    .claim_idempotency_key(&request, t0, hold_for, keep_for)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut holds = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            Claim::Held(hold) => holds.push(hold),
            Claim::Taken(record) => {
                assert_eq!(record.answer, None, "held, not answered yet");
                assert_eq!(record.request, "POST /api/v1/freezes");
            }
        }
    }
    assert_eq!(holds.len(), 1, "{holds:?}");
    let hold = holds.remove(0);
    assert_eq!(hold.attempt, 1);

    // Its answer is kept once, and found by the next claim.
    let answer = KeptAnswer {
        status: 201,
        content_type: "application/json".into(),
        body: "sealed".into(),
    };
    assert!(f.store.keep_answer(&hold, &answer).await.unwrap());
    assert!(
        !f.store.keep_answer(&hold, &answer).await.unwrap(),
        "kept once"
    );
    assert!(
        !f.store.release_idempotency_key(&hold).await.unwrap(),
        "an answered key stays"
    );
    let Claim::Taken(record) = f
        .store
        .claim_idempotency_key(&request, t0, hold_for, keep_for)
        .await
        .unwrap()
    else {
        panic!("the key is answered");
    };
    assert_eq!(record.answer, Some(answer.clone()));
    assert_eq!(record.fingerprint, "f");

    // The same key of another scope is another key.
    let theirs = KeyedRequest {
        scope: "agent:1",
        ..request
    };
    let claimed = f
        .store
        .claim_idempotency_key(&theirs, t0, hold_for, keep_for)
        .await
        .unwrap();
    assert!(matches!(claimed, Claim::Held(_)), "{claimed:?}");

    // A key whose hold ran out (its server died) is taken again; the old
    // hold can then neither answer nor free it.
    let other = KeyedRequest {
        key: "abandoned",
        ..request
    };
    let Claim::Held(old) = f
        .store
        .claim_idempotency_key(&other, t0, hold_for, keep_for)
        .await
        .unwrap()
    else {
        panic!("a new key is held");
    };
    let later = t0 + hold_for + chrono::Duration::seconds(1);
    let Claim::Held(new) = f
        .store
        .claim_idempotency_key(&other, later, hold_for, keep_for)
        .await
        .unwrap()
    else {
        panic!("a hold that ran out is taken again");
    };
    assert_eq!(new.attempt, old.attempt + 1);
    assert!(!f.store.keep_answer(&old, &answer).await.unwrap());
    assert!(!f.store.release_idempotency_key(&old).await.unwrap());
    assert!(f.store.release_idempotency_key(&new).await.unwrap());

    // Expired keys are swept a few at a time, the oldest first.
    let long_ago = t0 - chrono::Duration::days(3);
    for n in 0..20 {
        let key = format!("old-{n}");
        let old = KeyedRequest {
            key: &key,
            ..request
        };
        f.store
            .claim_idempotency_key(&old, long_ago, hold_for, keep_for)
            .await
            .unwrap();
    }
    let mut swept = 0;
    loop {
        let now = f.store.sweep_idempotency_keys(t0).await.unwrap();
        if now == 0 {
            break;
        }
        assert!(now <= 16, "a few at a time: {now}");
        swept += now;
    }
    assert_eq!(swept, 20);
    let live = f
        .store
        .claim_idempotency_key(&theirs, t0, hold_for, keep_for)
        .await
        .unwrap();
    assert!(
        matches!(live, Claim::Taken(_)),
        "the live keys are kept: {live:?}"
    );

    // An answered key is free again once expired.
    let tomorrow = t0 + keep_for + chrono::Duration::seconds(1);
    let claimed = f
        .store
        .claim_idempotency_key(&request, tomorrow, hold_for, keep_for)
        .await
        .unwrap();
    assert!(matches!(claimed, Claim::Held(_)), "{claimed:?}");
}

/// What the metrics' gauges read: deployments queued or waiting, and agents
/// (not revoked) heard from since a time.
async fn queued_deployments_and_agents_heard_from_are_counted(f: Fixture) {
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
    assert_eq!(f.store.deployments_queued().await.unwrap(), 0);
    let mut ids = Vec::new();
    for environment in ["dev", "prod"] {
        let created = f
            .store
            .create_deployment(
                "alice",
                &name("api"),
                &version("1.0.0"),
                &name(environment),
                NewDeployment::default(),
            )
            .await
            .unwrap();
        ids.push(created.id);
    }
    assert_eq!(f.store.deployments_queued().await.unwrap(), 2);
    // Waiting counts too; running does not.
    assert!(f.store.hold_deployment(ids[1], "a freeze").await.unwrap());
    assert_eq!(f.store.deployments_queued().await.unwrap(), 2);
    f.store
        .set_deployment_status("alice", ids[0], DeploymentStatus::Running)
        .await
        .unwrap();
    assert_eq!(f.store.deployments_queued().await.unwrap(), 1);
    f.store.cancel_deployment("alice", ids[1]).await.unwrap();
    assert_eq!(f.store.deployments_queued().await.unwrap(), 0);

    let now = chrono::Utc::now();
    let since = now - chrono::Duration::minutes(3);
    let mut agents = Vec::new();
    for (agent, hash) in [("web1", "hash-1"), ("web2", "hash-2"), ("web3", "hash-3")] {
        let registered = f
            .store
            .register_agent("alice", &name("dev"), &name(agent), &tags(&[]), hash)
            .await
            .unwrap();
        agents.push(registered.id);
    }
    assert_eq!(f.store.agents_seen_since(since).await.unwrap(), 0);
    f.store.touch_agent(agents[0], now).await.unwrap();
    f.store.touch_agent(agents[1], now).await.unwrap();
    f.store
        .touch_agent(agents[2], now - chrono::Duration::minutes(10))
        .await
        .unwrap();
    assert_eq!(f.store.agents_seen_since(since).await.unwrap(), 2);
    f.store.revoke_agent("alice", agents[1]).await.unwrap();
    assert_eq!(f.store.agents_seen_since(since).await.unwrap(), 1);
}

/// The audit trail is the webhooks' outbox: what happens after a
/// subscription is made becomes one delivery each, once however often the
/// outbox is read; a claimed delivery is in no other pass's hands until its
/// lease runs out; an attempt that fails waits for its retry, the last
/// fails it, a resend makes it due again.
async fn events_reach_each_webhook_once_and_are_retried_on_schedule(f: Fixture) {
    use ferry_core::event::EventSelection;
    use ferry_store::webhooks::{AttemptOutcome, DeliveryState, NewWebhook};
    f.store.apply("alice", &config(), false).await.unwrap();
    // Before any subscription: told to nobody.
    f.store
        .create_release(
            "alice",
            &name("api"),
            &version("0.9.0"),
            NewRelease::with_notes(""),
        )
        .await
        .unwrap();
    let every = EventSelection::All;
    let only_failures = EventSelection::parse(&["deployment.failed"]).unwrap();
    let hook = |events| NewWebhook {
        url: "https://hooks.example.com/ferry",
        format: ferry_core::chat::Format::CloudEvents,
        events,
        service: None,
        environment: None,
        secret_sealed: "sealed",
    };
    let all = f.store.create_webhook("alice", hook(&every)).await.unwrap();
    let failures = f
        .store
        .create_webhook("alice", hook(&only_failures))
        .await
        .unwrap();
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
        .unwrap()
        .id;
    for status in [DeploymentStatus::Running, DeploymentStatus::Succeeded] {
        f.store
            .set_deployment_status("alice", deployment, status)
            .await
            .unwrap();
    }
    let (queued, more) = f.store.fan_out_events("/ferry").await.unwrap();
    assert_eq!(
        (queued, more),
        (4, false),
        "created, queued, started, succeeded"
    );
    assert_eq!(f.store.fan_out_events("/ferry").await.unwrap(), (0, false));
    let deliveries = f.store.webhook_deliveries(all.id, None, 10).await.unwrap();
    let kinds: Vec<&str> = deliveries
        .iter()
        .rev()
        .map(|d| d.event_type.as_str())
        .collect();
    assert_eq!(
        kinds,
        [
            "dev.ferry.release.created.v1",
            "dev.ferry.deployment.queued.v1",
            "dev.ferry.deployment.started.v1",
            "dev.cdevents.service.deployed.0.2.0",
        ]
    );
    assert!(
        f.store
            .webhook_deliveries(failures.id, None, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // Claimed once: a second pass meanwhile gets none of them.
    let now = chrono::Utc::now();
    let lease = std::time::Duration::from_secs(60);
    let claimed = f.store.claim_deliveries(now, lease, 10).await.unwrap();
    assert_eq!(claimed.len(), 4);
    assert!(claimed.iter().all(|c| c.delivery.attempts == 1));
    assert!(
        f.store
            .claim_deliveries(now, lease, 10)
            .await
            .unwrap()
            .is_empty()
    );

    let first = claimed[0].delivery.id;
    let retry_at = now + chrono::Duration::minutes(5);
    let failed = |retry_at| AttemptOutcome {
        status: Some(503),
        error: Some("the receiver answered 503".into()),
        duration_ms: 12,
        delivered: false,
        retry_at,
    };
    f.store
        .record_attempt(first, &failed(Some(retry_at)))
        .await
        .unwrap();
    for other in &claimed[1..] {
        let delivered = AttemptOutcome {
            status: Some(204),
            error: None,
            duration_ms: 3,
            delivered: true,
            retry_at: None,
        };
        f.store
            .record_attempt(other.delivery.id, &delivered)
            .await
            .unwrap();
    }
    // Not due before its retry; due after.
    assert!(
        f.store
            .claim_deliveries(now, lease, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        f.store
            .next_delivery_due()
            .await
            .unwrap()
            .map(|t| t.timestamp()),
        Some(retry_at.timestamp())
    );
    let later = retry_at + chrono::Duration::seconds(1);
    let again = f.store.claim_deliveries(later, lease, 10).await.unwrap();
    assert_eq!(
        again
            .iter()
            .map(|c| (c.delivery.id, c.delivery.attempts))
            .collect::<Vec<_>>(),
        [(first, 2)]
    );
    f.store.record_attempt(first, &failed(None)).await.unwrap();
    let given_up = f.store.webhook_delivery(first).await.unwrap();
    assert_eq!(given_up.state, DeliveryState::Failed);
    assert_eq!(given_up.last_status, Some(503));
    let history = f.store.delivery_attempts(first).await.unwrap();
    assert_eq!(
        history.iter().map(|a| a.status).collect::<Vec<_>>(),
        [Some(503), Some(503)]
    );

    // Sent again by hand: due now, audited.
    let resent = f.store.redeliver("bob", first).await.unwrap();
    assert_eq!(resent.state, DeliveryState::Pending);
    let due = f
        .store
        .claim_deliveries(chrono::Utc::now() + chrono::Duration::seconds(1), lease, 10)
        .await
        .unwrap();
    assert_eq!(due.len(), 1);

    // A deleted subscription gets nothing more, and its waiting delivery fails.
    f.store.delete_webhook("alice", all.id).await.unwrap();
    assert!(f.store.webhook(all.id).await.is_err());
    assert_eq!(
        f.store.webhook_delivery(first).await.unwrap().state,
        DeliveryState::Failed
    );
    f.store
        .create_release(
            "alice",
            &name("api"),
            &version("1.1.0"),
            NewRelease::with_notes(""),
        )
        .await
        .unwrap();
    assert_eq!(f.store.fan_out_events("/ferry").await.unwrap().0, 0);
}

/// A subscription keeps its format and its claims carry it; the address of
/// a chat service's incoming webhook (whose last segment is its credential)
/// is kept out of the audit trail.
async fn webhook_formats_are_kept_and_chat_addresses_stay_out_of_the_trail(f: Fixture) {
    use ferry_core::chat::Format;
    use ferry_core::event::EventSelection;
    use ferry_store::webhooks::NewWebhook;

    f.store.apply("alice", &config(), false).await.unwrap();
    let every = EventSelection::All;
    let slack = f
        .store
        .create_webhook(
            "alice",
            NewWebhook {
                url: "https://hooks.slack.com/services/T0/B0/SeCrEtPaRt",
                format: Format::Slack,
                events: &every,
                service: None,
                environment: None,
                secret_sealed: "sealed",
            },
        )
        .await
        .unwrap();
    let mail = f
        .store
        .create_webhook(
            "alice",
            NewWebhook {
                url: "mailto:ops@example.com",
                format: Format::Email,
                events: &every,
                service: None,
                environment: None,
                secret_sealed: "sealed",
            },
        )
        .await
        .unwrap();
    assert_eq!(
        f.store.webhook(slack.id).await.unwrap().format,
        Format::Slack
    );
    let listed: Vec<Format> = f
        .store
        .webhooks()
        .await
        .unwrap()
        .iter()
        .map(|w| w.format)
        .collect();
    assert_eq!(listed, [Format::Slack, Format::Email]);
    let trail = f.store.audit_events(0, 1000).await.unwrap();
    let created: Vec<&str> = trail
        .iter()
        .filter(|e| e.action == "webhook.create")
        .map(|e| e.details.as_str())
        .collect();
    assert!(
        created.iter().all(|d| !d.contains("SeCrEtPaRt")),
        "{created:?}"
    );
    assert!(
        created[0].contains("https://hooks.slack.com/services/T0/B0/…"),
        "{created:?}"
    );
    assert!(created[1].contains("mailto:ops@example.com"), "{created:?}");

    f.store
        .create_release(
            "alice",
            &name("api"),
            &version("1.0.0"),
            NewRelease::with_notes(""),
        )
        .await
        .unwrap();
    f.store.fan_out_events("/ferry").await.unwrap();
    let claimed = f
        .store
        .claim_deliveries(
            chrono::Utc::now() + chrono::Duration::seconds(1),
            std::time::Duration::from_secs(60),
            10,
        )
        .await
        .unwrap();
    let mut formats: Vec<(i64, Format)> = claimed
        .iter()
        .map(|c| (c.delivery.webhook_id, c.format))
        .collect();
    formats.sort_by_key(|(id, _)| *id);
    assert_eq!(
        formats,
        [(slack.id, Format::Slack), (mail.id, Format::Email)]
    );
    // The payload stays the CloudEvent; the format is applied when sent.
    assert!(
        claimed
            .iter()
            .all(|c| c.delivery.payload.contains("\"specversion\""))
    );
}

/// The user a Slack click is made by is found by e-mail, without regard to
/// case, and only while enabled.
async fn a_person_is_found_by_e_mail_without_regard_to_case(f: Fixture) {
    let (alice_name, bob_name) = (name("alice"), name("bob"));
    f.store
        .create_user("system", new_user(&alice_name, "hash-a", true))
        .await
        .unwrap();
    let mut bob = new_user(&bob_name, "hash-b", false);
    bob.email = Some("Bob@Example.com");
    f.store.create_user("alice", bob).await.unwrap();
    let (found, _, _) = f
        .store
        .enabled_user_by_email(" bob@EXAMPLE.com ")
        .await
        .unwrap()
        .expect("bob");
    assert_eq!(found.name, "bob");
    assert!(
        f.store
            .enabled_user_by_email("nobody@example.com")
            .await
            .unwrap()
            .is_none()
    );
    f.store
        .set_user_enabled("alice", "bob", false)
        .await
        .unwrap();
    assert!(
        f.store
            .enabled_user_by_email("bob@example.com")
            .await
            .unwrap()
            .is_none(),
        "a disabled user is nobody"
    );
}

/// The audit events of `action`, with their details.
async fn events_of(store: &Store, action: &str) -> Vec<(String, serde_json::Value)> {
    store
        .audit_events(0, 100_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|event| event.action == action)
        .map(|event| (event.object, serde_json::from_str(&event.details).unwrap()))
        .collect()
}

async fn reviews_open_when_deployments_end_and_complete_once(f: Fixture) {
    use ferry_core::review::{ReviewOutcome, ReviewReason};
    use ferry_store::reviews::{ReviewFilter, WHO_IS_REVIEWED};

    let (good, agents) = deployment_with_agents(&f, 2).await;
    let ids: Vec<i64> = agents.iter().map(|a| a.id).collect();
    let now = chrono::Utc::now();
    f.store
        .start_deployment(good, std::slice::from_ref(&ids), now)
        .await
        .unwrap();
    f.store
        .finish_deployment(good, DeploymentStatus::Succeeded, None)
        .await
        .unwrap();
    // A success in an environment that reviews on failure: no review.
    let none = f.store.review_of(good).await.unwrap_err();
    assert!(
        matches!(&none, StoreError::NotFound(message) if message.contains(WHO_IS_REVIEWED)),
        "{none:?}"
    );
    assert!(matches!(
        f.store.review_of(999).await,
        Err(StoreError::NotFound(message)) if message == "there is no deployment 999"
    ));

    // 1.1.0, approved by carol, fails on target0 with its log.
    f.store
        .create_release(
            "alice",
            &name("api"),
            &version("1.1.0"),
            NewRelease::with_notes(""),
        )
        .await
        .unwrap();
    let (carol, _) = f
        .store
        .create_user("alice", new_user(&name("carol"), "hash-carol", false))
        .await
        .unwrap();
    f.store
        .decide(
            &carol,
            &name("api"),
            &version("1.1.0"),
            &name("dev"),
            true,
            "ship it",
        )
        .await
        .unwrap();
    let bad = f
        .store
        .create_deployment(
            "alice",
            &name("api"),
            &version("1.1.0"),
            &name("dev"),
            NewDeployment::default(),
        )
        .await
        .unwrap()
        .id;
    f.store
        .start_deployment(bad, &[vec![ids[0]], vec![ids[1]]], now)
        .await
        .unwrap();
    // target0 takes its job of 1.0.0 first, then that of 1.1.0.
    let mut job = f
        .store
        .claim_job(ids[0], lease(), now)
        .await
        .unwrap()
        .unwrap();
    if job.deployment_id == good {
        job = f
            .store
            .claim_job(ids[0], lease(), now)
            .await
            .unwrap()
            .unwrap();
    }
    assert_eq!(job.deployment_id, bad);
    let lines: Vec<NewLogLine> = (0..30)
        .map(|i| log_line(i, &format!("migrating {i}")))
        .chain([log_line(30, "error: migration 42 failed")])
        .collect();
    f.store
        .append_logs(job.id, job.attempt, &lines)
        .await
        .unwrap();
    let result = serde_json::json!({ "steps": [{ "name": "install", "exit_code": 3,
        "timed_out": false, "seconds": 0.5 }], "health": null, "log_tail": [] });
    f.store
        .finish_job(job.id, job.attempt, false, &result, now)
        .await
        .unwrap();
    assert!(
        f.store
            .finish_deployment(
                bad,
                DeploymentStatus::Failed,
                Some("halted: failed on target0")
            )
            .await
            .unwrap()
    );
    // Ended twice (a retried pass): still one review.
    assert!(
        !f.store
            .finish_deployment(bad, DeploymentStatus::Failed, None)
            .await
            .unwrap()
    );
    let review = f.store.review_of(bad).await.unwrap();
    assert_eq!(review.reason, ReviewReason::Failed);
    assert_eq!(
        (review.service.as_str(), review.version.as_str()),
        ("api", "1.1.0")
    );
    assert!(review.completion.is_none());
    let days = (review.due_at - review.opened_at).num_days();
    assert_eq!(days, 7, "due a week after it opened by default");
    let draft = &review.draft;
    assert_eq!(draft.previous_version.as_deref(), Some("1.0.0"));
    assert_eq!(draft.decisions.len(), 1);
    assert_eq!(draft.decisions[0].user, "carol");
    let failing = draft
        .targets
        .iter()
        .find(|t| t.target == "target0")
        .unwrap();
    assert_eq!(
        failing.error.as_deref(),
        Some("step \"install\" exited with 3")
    );
    assert_eq!(failing.log.len(), ferry_core::review::LOG_LINES);
    assert_eq!(
        failing.log.last().map(String::as_str),
        Some("error: migration 42 failed")
    );
    assert!(draft.restored.is_none() && draft.rollback.is_none());
    let opened = events_of(&f.store, "review.open").await;
    assert_eq!(opened.len(), 1);
    assert_eq!(opened[0].0, format!("review:{}", review.id));
    let after = &opened[0].1["after"];
    assert_eq!(after["deployment"], bad);
    assert_eq!(
        (
            after["service"].as_str(),
            after["environment"].as_str(),
            after["reason"].as_str()
        ),
        (Some("api"), Some("dev"), Some("failed"))
    );
    assert_eq!(
        after["due"].as_str(),
        Some(ferry_core::time::format_time(review.due_at).as_str())
    );

    // The rollback restores it: the draft tells of it, and of the time to
    // restore; the rollback has no review of its own, and none opens again.
    let rollback = f
        .store
        .create_rollback(bad, &version("1.0.0"), &[ids[0]])
        .await
        .unwrap()
        .deployment
        .id;
    f.store
        .finish_deployment(rollback, DeploymentStatus::Succeeded, None)
        .await
        .unwrap();
    let review = f.store.review_of(bad).await.unwrap();
    assert_eq!(review.draft.status, DeploymentStatus::RolledBack);
    assert_eq!(
        review.draft.rollback.as_ref().map(|r| r.deployment),
        Some(rollback)
    );
    let restored = review.draft.restored.as_ref().expect("restored");
    assert_eq!(restored.deployment, rollback);
    assert!(restored.seconds >= 0);
    assert!(
        review.draft.markdown.contains("Time to restore"),
        "{}",
        review.draft.markdown
    );
    assert!(f.store.review_of(rollback).await.is_err());
    assert_eq!(events_of(&f.store, "review.open").await.len(), 1);

    // Completed once; again is a conflict naming who and when.
    let actions = vec!["make the migration idempotent".to_owned()];
    let completed = f
        .store
        .complete_review(
            "alice",
            bad,
            ReviewOutcome::FollowUp,
            "the migration ran twice",
            &actions,
        )
        .await
        .unwrap();
    let completion = completed.completion.unwrap();
    assert_eq!(
        (completion.by.as_str(), completion.outcome),
        ("alice", ReviewOutcome::FollowUp)
    );
    assert_eq!(completion.actions, actions);
    let again = f
        .store
        .complete_review("bob", bad, ReviewOutcome::Resolved, "again", &[])
        .await
        .unwrap_err();
    assert!(
        matches!(&again, StoreError::Conflict(message) if message.contains("completed already, by alice")),
        "{again:?}"
    );
    assert!(matches!(
        f.store
            .complete_review("bob", good, ReviewOutcome::Resolved, "x", &[])
            .await,
        Err(StoreError::NotFound(_))
    ));
    let completes = events_of(&f.store, "review.complete").await;
    assert_eq!(completes.len(), 1);
    assert_eq!(completes[0].1["after"]["outcome"], "follow-up");

    // Where every deployment is reviewed: a success gets one too, due as
    // the policy says; a deployment cancelled before it started does not.
    let always = CONFIG.replace(
        "name = \"dev\"\ntier = \"development\"\n",
        "name = \"dev\"\ntier = \"development\"\npolicy = { review = \"always\", review_due = \"2h\" }\n",
    );
    f.store
        .apply("alice", &parse(&always).unwrap(), false)
        .await
        .unwrap();
    let fine = f
        .store
        .create_deployment(
            "alice",
            &name("api"),
            &version("1.0.0"),
            &name("dev"),
            NewDeployment::default(),
        )
        .await
        .unwrap()
        .id;
    f.store
        .report_deployment("ci", fine, DeploymentStatus::Succeeded, None)
        .await
        .unwrap();
    let policy = f.store.review_of(fine).await.unwrap();
    assert_eq!(policy.reason, ReviewReason::Policy);
    assert_eq!((policy.due_at - policy.opened_at).num_hours(), 2);
    let skipped = f
        .store
        .create_deployment(
            "alice",
            &name("api"),
            &version("1.0.0"),
            &name("dev"),
            NewDeployment::default(),
        )
        .await
        .unwrap()
        .id;
    f.store.cancel_deployment("alice", skipped).await.unwrap();
    assert!(f.store.review_of(skipped).await.is_err());

    // Listed: the open one first; filtered.
    let listed: Vec<i64> = f
        .store
        .reviews(ReviewFilter::default())
        .await
        .unwrap()
        .iter()
        .map(|r| r.deployment)
        .collect();
    assert_eq!(listed, [fine, bad]);
    let open: Vec<i64> = f
        .store
        .reviews(ReviewFilter {
            open: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .iter()
        .map(|r| r.deployment)
        .collect();
    assert_eq!(open, [fine]);
    let (web, prod) = (name("web"), name("prod"));
    for filter in [
        ReviewFilter {
            service: Some(&web),
            ..Default::default()
        },
        ReviewFilter {
            environment: Some(&prod),
            ..Default::default()
        },
    ] {
        assert!(f.store.reviews(filter).await.unwrap().is_empty());
    }

    // Past its due time, the open review is reminded of once, however many
    // passes ask at once; not before.
    assert!(
        f.store
            .remind_overdue_reviews(chrono::Utc::now())
            .await
            .unwrap()
            .is_empty()
    );
    let later = chrono::Utc::now() + chrono::Duration::hours(3);
    let passes: Vec<_> = (0..3)
        .map(|_| {
            let store = f.store.clone();
            tokio::spawn(async move { store.remind_overdue_reviews(later).await.unwrap() })
        })
        .collect();
    let mut reminded = Vec::new();
    for pass in passes {
        reminded.extend(pass.await.unwrap());
    }
    assert_eq!(reminded, [policy.id]);
    assert!(
        f.store
            .remind_overdue_reviews(later)
            .await
            .unwrap()
            .is_empty()
    );
    let reminders = events_of(&f.store, "review.remind").await;
    assert_eq!(reminders.len(), 1);
    assert_eq!(reminders[0].0, format!("review:{}", policy.id));
    assert_eq!(reminders[0].1["after"]["overdue"], true);
    assert_eq!(reminders[0].1["after"]["reason"], "policy");
    assert!(f.store.review_of(fine).await.unwrap().reminded_at.is_some());
    assert!(matches!(
        f.store.verify_audit().await.unwrap(),
        Verification::Intact { .. }
    ));
}

/// Freezes begin and end with time: the watch writes each beginning and end
/// once per environment, from its first look on, however many replicas
/// look at once.
async fn freezes_begin_and_end_in_the_trail_once(f: Fixture) {
    use chrono::{TimeZone, Utc};
    use ferry_core::freeze::FreezeSpec;
    use ferry_core::windows::Freeze;
    let at = |hour: u32| Utc.with_ymd_and_hms(2027, 3, 1, hour, 0, 0).unwrap();
    let spec = FreezeSpec {
        name: name("drill"),
        reason: "a drill".into(),
        start: Some("2027-03-01T10:00:00Z".into()),
        end: Some("2027-03-01T12:00:00Z".into()),
        rrule: None,
        duration: None,
        timezone: None,
        environments: vec![name("dev"), name("prod")],
    };
    let freezes = vec![Freeze::from_spec(&spec).unwrap()];
    let told = |store: &Store| {
        let store = store.clone();
        async move {
            store
                .audit_events(0, 1000)
                .await
                .unwrap()
                .into_iter()
                .filter(|e| e.action.starts_with("freeze."))
                .map(|e| (e.action, e.details))
                .collect::<Vec<_>>()
        }
    };
    // The first look sets the mark: nothing before it is told.
    assert!(
        f.store
            .watch_freezes(&freezes, at(11))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(told(&f.store).await.is_empty());
    // Looks from two replicas at once: the end is told once in each
    // environment.
    let other = Store::connect(&f.url).await.unwrap();
    let (a, b) = tokio::join!(
        f.store.watch_freezes(&freezes, at(13)),
        other.watch_freezes(&freezes, at(13))
    );
    let found = a.unwrap().len() + b.unwrap().len();
    assert_eq!(found, 2, "one replica told the end in dev and prod");
    let events = told(&f.store).await;
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(events.iter().all(|(action, details)| action == "freeze.end"
        && details.contains("\"start\":\"2027-03-01T10:00:00.000000Z\"")));
    // Looked at again: nothing new.
    assert!(
        f.store
            .watch_freezes(&freezes, at(14))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(told(&f.store).await.len(), 2);
}
