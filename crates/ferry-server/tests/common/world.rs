//! The world the access-control tests (`authorization.rs`, `attacks.rs`)
//! act in: four environments (prod protected), three services (one that
//! ferry's agents deploy), people holding each role, an administrator's
//! expired, revoked and narrowed tokens, agents of two environments, a CI
//! workload's exchanged token, and something of everything for the
//! mutating routes to act on: releases, deployments, an agent's job, a
//! change request, a freeze, variables and a secret, and a victim user with
//! a token, a grant, a group and an agent of their own.
//!
//! Everything is made through the store (a few dozen short transactions)
//! except what only the server can make: stored artifact bytes, sealed
//! secrets and the CI workload's token.

use std::collections::BTreeMap;

use axum::http::{Method, StatusCode};
use base64::Engine as _;
use chrono::{Duration, Utc};
use ferry_core::Name;
use ferry_core::access::{Grant, Role};
use ferry_core::change::{ChangeAction, ChangeKind};
use ferry_store::access::Holder;
use ferry_store::auth::{NewToken, NewUser};
use ferry_store::changes::{ChangeUpdate, NewChange};
use ferry_store::deployments::NewDeployment;
use ferry_store::jobs::JobKind;
use ferry_store::releases::NewRelease;
use serde_json::{Value, json};
use sha2::Digest as _;

use super::{
    ADMIN_TOKEN, Api, Backend, Reply, Scratch, postgres_execute, random_name, schema_url,
    sqlite_store,
};

/// The configuration every world starts from (a trust policy for the CI
/// workload is added to it: its key set is JSON, not worth writing in TOML).
pub const CONFIG: &str = r#"
[[environment]]
name = "dev"
tier = "development"
variables = { GREETING = "hello" }

[[environment]]
name = "staging"
tier = "staging"

[[environment]]
name = "prod"
tier = "production"
protected = true
policy = { approvals = 1, separation_of_duties = true }

[[environment]]
name = "other"
tier = "development"

[lifecycle.default]
phases = [["dev", "other"], ["staging"], ["prod"]]

# Deployed by another tool, which reports its deployments.
[[service]]
name = "api"

[[service]]
name = "other"

# Deployed by ferry's agents.
[[service]]
name = "hello"
deploy.steps = [{ name = "run", run = "true" }]

[[freeze]]
name = "year-end"
reason = "the end of the year"
start = "2099-12-20T00:00:00Z"
end = "2100-01-04T00:00:00Z"
environments = ["dev"]
"#;

/// The issuer of the CI workload's ID tokens (its keys are written in the
/// trust policy: nothing is fetched).
pub const CI_ISSUER: &str = "https://ci.example.com";
/// The CI workload: acme/api's main branch.
pub const CI_SUBJECT: &str = "repo:acme/api:ref:refs/heads/main";
const CI_KEY: &str = include_str!("../fixtures/oidc/key-a.pem");
const CI_JWKS: &str = include_str!("../fixtures/oidc/jwks.json");

/// The bytes of the artifacts released, and their digest.
pub const ARTIFACT: &[u8] = b"hello";
/// The secret value set in dev, which nobody may ever read back.
pub const SECRET_VALUE: &str = "s3cr3t-never-shown-4242";

/// `sha256:<hex>` of `bytes`.
pub fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

pub fn name(text: &str) -> Name {
    Name::parse(text).unwrap()
}

pub fn version(text: &str) -> semver::Version {
    semver::Version::parse(text).unwrap()
}

/// A grant of `role`, optionally only for a service and/or an environment.
pub fn grant(role: Role, service: Option<&str>, environment: Option<&str>) -> Grant {
    Grant {
        role,
        service: service.map(name),
        environment: environment.map(name),
    }
}

/// A user of the world, with a working token.
#[derive(Debug, Clone)]
pub struct Person {
    pub name: String,
    /// The secret of their first token.
    pub token: String,
    /// The id of their first token.
    pub token_id: i64,
    /// Another token of theirs, which they may revoke.
    pub spare: i64,
}

/// What the world holds; ids are those the store gave.
pub struct World {
    pub api: Api,
    /// Users by name: `nogrant`, `viewer`, `developer`, `deployer`,
    /// `approver`, `relman` (release-manager), `alice` (admin),
    /// `rm-svc-other` (release-manager of service `other`), `rm-env-other`
    /// (release-manager in environment `other`), `victim` (viewer).
    pub people: BTreeMap<String, Person>,
    /// Alice's token that expired an hour ago.
    pub expired: String,
    /// Alice's token that was revoked.
    pub revoked: String,
    /// Alice's token narrowed to developer of service `api`.
    pub narrowed: String,
    /// The agent `web-1` of dev: its secret and id.
    pub agent: (String, i64),
    /// The agent `stage-1` of staging: its secret and id.
    pub staging_agent: (String, i64),
    /// The agent `victim-1` of dev, for the routes that revoke and rotate.
    pub victim_agent: i64,
    /// The CI workload's exchanged token (developer of service `api`), when
    /// the server has the exchange route.
    pub ci: Option<String>,
    /// The victim's grant (viewer everywhere).
    pub victim_grant: i64,
    /// api@0.9.0 in dev, succeeded.
    pub old_deployment: i64,
    /// api@1.0.0 in dev, queued (api is deployed by another tool).
    pub deployment: i64,
    /// hello@1.0.0 in dev, queued, with a pending job for `web-1`.
    pub hello_deployment: i64,
    /// That job.
    pub job: i64,
    /// A normal change request raised by admin for api in dev, in draft.
    pub change: i64,
}

impl World {
    /// Builds the world on a new database of `backend`.
    pub async fn build(backend: &Backend) -> Self {
        let api = Api::on(backend).await;
        let store = api.store.clone();
        let mut config = ferry_core::config::parse(CONFIG).unwrap();
        config.trusts.push(
            serde_json::from_value(json!({
                "issuer": CI_ISSUER,
                "subject": CI_SUBJECT,
                "grants": [{ "role": "developer", "service": "api" }],
                "jwks": serde_json::from_str::<Value>(CI_JWKS).unwrap(),
            }))
            .unwrap(),
        );
        store.apply("admin", &config, false).await.unwrap();

        let mut people = BTreeMap::new();
        let global = |role| vec![grant(role, None, None)];
        let cast: [(&str, Vec<Grant>); 10] = [
            ("nogrant", vec![]),
            ("viewer", global(Role::Viewer)),
            ("developer", global(Role::Developer)),
            ("deployer", global(Role::Deployer)),
            ("approver", global(Role::Approver)),
            ("relman", global(Role::ReleaseManager)),
            ("alice", global(Role::Admin)),
            (
                "rm-svc-other",
                vec![grant(Role::ReleaseManager, Some("other"), None)],
            ),
            (
                "rm-env-other",
                vec![grant(Role::ReleaseManager, None, Some("other"))],
            ),
            ("victim", global(Role::Viewer)),
        ];
        for (user, grants) in cast {
            let person = create_person(&api, user, None, &grants).await;
            people.insert(user.to_owned(), person);
        }
        let alice = store.user_by_name("alice").await.unwrap();
        let (api_ref, alice_ref) = (&api, &alice);
        let token = |expires_at, grants| async move {
            let secret = ferry_server::Secret::generate().unwrap();
            let mut new = secret.new_token("extra");
            new.expires_at = expires_at;
            new.grants = grants;
            let record = store_token(api_ref, alice_ref, new).await;
            (secret.secret, record)
        };
        let (expired, _) = token(Some(Utc::now() - Duration::hours(1)), None).await;
        let (revoked, revoked_id) = token(None, None).await;
        store.revoke_token("alice", revoked_id).await.unwrap();
        let narrowed_to = Some(vec![grant(Role::Developer, Some("api"), None)]);
        let (narrowed, _) = token(None, narrowed_to).await;

        let agent = register_agent(&api, "dev", "web-1").await;
        let staging_agent = register_agent(&api, "staging", "stage-1").await;
        let (_, victim_agent) = register_agent(&api, "dev", "victim-1").await;

        let uploaded = api
            .send(
                Method::PUT,
                &format!("/api/v1/blobs/{}", digest(ARTIFACT)),
                Some(ADMIN_TOKEN),
                Some(std::str::from_utf8(ARTIFACT).unwrap()),
            )
            .await;
        assert_eq!(uploaded.status, StatusCode::CREATED, "{:?}", uploaded.body);
        for (service, v) in [("api", "0.9.0"), ("other", "1.0.0")] {
            store
                .create_release(
                    "admin",
                    &name(service),
                    &version(v),
                    NewRelease::with_notes(""),
                )
                .await
                .unwrap();
        }
        for service in ["api", "hello"] {
            let body = json!({
                "version": "1.0.0",
                "artifacts": [{ "name": "app.bin", "digest": digest(ARTIFACT) }],
            });
            let created = api
                .post(
                    &format!("/api/v1/services/{service}/releases"),
                    &body.to_string(),
                )
                .await;
            assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
        }

        let deploy = |service: &'static str, v: &'static str| {
            let store = store.clone();
            async move {
                store
                    .create_deployment(
                        "admin",
                        &name(service),
                        &version(v),
                        &name("dev"),
                        NewDeployment::default(),
                    )
                    .await
                    .unwrap()
                    .id
            }
        };
        let old_deployment = deploy("api", "0.9.0").await;
        for status in [
            ferry_core::DeploymentStatus::Running,
            ferry_core::DeploymentStatus::Succeeded,
        ] {
            store
                .set_deployment_status("admin", old_deployment, status)
                .await
                .unwrap();
        }
        let deployment = deploy("api", "1.0.0").await;
        let hello_deployment = deploy("hello", "1.0.0").await;
        let job = store
            .create_jobs(hello_deployment, 0, &[agent.1], JobKind::Deploy)
            .await
            .unwrap()[0]
            .id;

        let change = store
            .create_change(
                "admin",
                NewChange {
                    title: "rotate the signing keys",
                    description: "",
                    kind: ChangeKind::Normal,
                    service: &name("api"),
                    environment: &name("dev"),
                    release: None,
                    window: None,
                },
            )
            .await
            .unwrap()
            .id;

        for (variable, value, secret) in [
            ("VICTIM_VAR", "doomed", false),
            ("DB_PASSWORD", SECRET_VALUE, true),
        ] {
            let set = api
                .send(
                    Method::PUT,
                    &format!("/api/v1/environments/dev/variables/{variable}"),
                    Some(ADMIN_TOKEN),
                    Some(&json!({ "value": value, "secret": secret }).to_string()),
                )
                .await;
            assert_eq!(set.status, StatusCode::CREATED, "{:?}", set.body);
        }

        for group in ["crew", "team"] {
            store.create_group("admin", &name(group)).await.unwrap();
        }
        store
            .set_membership("admin", &name("team"), &name("victim"), true)
            .await
            .unwrap();
        let victim_grant = store
            .grants(Some(Holder::User(&name("victim"))))
            .await
            .unwrap()[0]
            .id;

        let ci = exchange(&api).await;
        Self {
            api,
            people,
            expired,
            revoked,
            narrowed,
            agent,
            staging_agent,
            victim_agent,
            ci,
            victim_grant,
            old_deployment,
            deployment,
            hello_deployment,
            job,
            change,
        }
    }

    /// The same world served by `api`, whose store holds a copy of this
    /// one's.
    fn with_api(&self, api: Api) -> Self {
        Self {
            api,
            people: self.people.clone(),
            expired: self.expired.clone(),
            revoked: self.revoked.clone(),
            narrowed: self.narrowed.clone(),
            agent: self.agent.clone(),
            staging_agent: self.staging_agent.clone(),
            victim_agent: self.victim_agent,
            ci: self.ci.clone(),
            victim_grant: self.victim_grant,
            old_deployment: self.old_deployment,
            deployment: self.deployment,
            hello_deployment: self.hello_deployment,
            job: self.job,
            change: self.change,
        }
    }

    /// The person named `user`.
    pub fn person(&self, user: &str) -> &Person {
        self.people
            .get(user)
            .unwrap_or_else(|| panic!("the world has no user {user}"))
    }

    /// Creates user `user` (with `email`) holding `grants`.
    pub async fn add_person(
        &mut self,
        user: &str,
        email: Option<&str>,
        grants: &[Grant],
    ) -> Person {
        let person = create_person(&self.api, user, email, grants).await;
        self.people.insert(user.to_owned(), person.clone());
        person
    }

    /// Requests sent with `token`.
    pub fn as_token<'a>(&'a self, token: &'a str) -> As<'a> {
        As {
            api: &self.api,
            token: Some(token),
        }
    }

    /// Requests sent by `person`.
    pub fn by<'a>(&'a self, person: &'a Person) -> As<'a> {
        self.as_token(&person.token)
    }

    /// Requests sent by the bootstrap administrator.
    pub fn admin(&self) -> As<'_> {
        self.as_token(ADMIN_TOKEN)
    }

    /// Moves the world's change request by `actions`, through the store.
    pub async fn advance_change(&self, actions: &[ChangeAction]) {
        for action in actions {
            let update = ChangeUpdate {
                risk: Some("low"),
                reason: Some("as the test needs"),
                outcome: Some("successful"),
                ..ChangeUpdate::default()
            };
            self.api
                .store
                .act_on_change("chair", self.change, *action, update)
                .await
                .unwrap();
        }
    }

    /// Whether the audit trail verifies, as the administrator sees it.
    pub async fn audit_intact(&self) -> Result<(), String> {
        let verify = self.admin().get("/api/v1/audit/verify").await;
        if verify.status == StatusCode::OK && verify.body["intact"] == true {
            Ok(())
        } else {
            Err(format!(
                "the audit trail does not verify: {:?}",
                verify.body
            ))
        }
    }

    /// The sequence number of the last audit event.
    pub async fn audit_head(&self) -> i64 {
        self.audit_head_from(0).await
    }

    /// The sequence number of the last audit event, known to be `seq` or
    /// later.
    pub async fn audit_head_from(&self, seq: i64) -> i64 {
        let mut head = seq;
        loop {
            let page = self.api.store.audit_events(head, 1000).await.unwrap();
            match page.last() {
                Some(last) => head = last.seq,
                None => return head,
            }
        }
    }

    /// The audit events after `seq`: their actor and action.
    pub async fn audit_after(&self, seq: i64) -> Vec<(String, String)> {
        self.api
            .store
            .audit_events(seq, 1000)
            .await
            .unwrap()
            .into_iter()
            .map(|event| (event.actor, event.action))
            .collect()
    }

    /// The last audit event: its actor, action and details.
    pub async fn last_audit(&self) -> (String, String, Value) {
        let head = self.audit_head().await;
        let events = self.api.store.audit_events(head - 1, 1).await.unwrap();
        let last = events.last().expect("the audit trail is empty");
        let details = serde_json::from_str(&last.details).unwrap_or(Value::Null);
        (last.actor.clone(), last.action.clone(), details)
    }

    /// What the refusals of a story must leave as it was: configuration,
    /// releases, deployments, freezes, change requests, people and grants,
    /// agents and variables, as the administrator reads them.
    pub async fn snapshot(&self) -> Snapshot {
        let mut parts = BTreeMap::new();
        for path in [
            "/api/v1/environments",
            "/api/v1/lifecycles",
            "/api/v1/services",
            "/api/v1/releases",
            "/api/v1/deployments",
            "/api/v1/freezes",
            "/api/v1/change-requests",
            "/api/v1/users",
            "/api/v1/groups",
            "/api/v1/grants",
            "/api/v1/agents",
            "/api/v1/environments/dev/variables",
            "/api/v1/environments/prod/variables",
        ] {
            let reply = self.admin().get(path).await;
            assert_eq!(reply.status, StatusCode::OK, "{path}: {:?}", reply.body);
            parts.insert(path, reply.body);
        }
        Snapshot(parts)
    }

    /// Closes the world (dropping its PostgreSQL schema).
    pub async fn close(self) {
        self.api.close().await;
    }
}

/// What [`World::snapshot`] read.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot(BTreeMap<&'static str, Value>);

impl Snapshot {
    /// Panics naming what differs from `before`.
    pub fn assert_unchanged_since(&self, before: &Snapshot, story: &str) {
        for (path, was) in &before.0 {
            assert_eq!(
                self.0.get(path),
                Some(was),
                "{story}: {path} changed although every attempt was refused"
            );
        }
    }
}

/// Requests sent with one token (or none).
#[derive(Clone, Copy)]
pub struct As<'a> {
    api: &'a Api,
    token: Option<&'a str>,
}

impl As<'_> {
    pub async fn send(&self, method: Method, path: &str, body: Option<&Value>) -> Reply {
        let body = body.map(Value::to_string);
        self.api
            .send(method, path, self.token, body.as_deref())
            .await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.send(Method::POST, path, Some(&body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Reply {
        self.send(Method::PUT, path, Some(&body)).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.send(Method::DELETE, path, None).await
    }
}

async fn store_token(api: &Api, owner: &ferry_store::auth::UserRecord, new: NewToken<'_>) -> i64 {
    api.store.create_token(owner, new).await.unwrap().id
}

/// Creates `user` with a first and a spare token, holding `grants`.
async fn create_person(api: &Api, user: &str, email: Option<&str>, grants: &[Grant]) -> Person {
    let first = ferry_server::Secret::generate().unwrap();
    let user_name = name(user);
    let (record, token) = api
        .store
        .create_user(
            "admin",
            NewUser {
                name: &user_name,
                email,
                admin: false,
                token: first.new_token("first"),
            },
        )
        .await
        .unwrap();
    for grant in grants {
        api.store
            .grant("admin", Holder::User(&user_name), grant)
            .await
            .unwrap();
    }
    let spare = ferry_server::Secret::generate().unwrap();
    let spare = store_token(api, &record, spare.new_token("spare")).await;
    Person {
        name: user.to_owned(),
        token: first.secret,
        token_id: token.id,
        spare,
    }
}

/// Registers agent `agent` of `environment`: its secret and id.
async fn register_agent(api: &Api, environment: &str, agent: &str) -> (String, i64) {
    let secret = ferry_server::generate_agent_secret().unwrap();
    let record = api
        .store
        .register_agent(
            "admin",
            &name(environment),
            &name(agent),
            &BTreeMap::new(),
            &secret.hash,
        )
        .await
        .unwrap();
    (secret.secret, record.id)
}

/// Whether the server has the OIDC exchange route.
pub fn has_exchange_route() -> bool {
    let document = serde_json::to_value(ferry_server::openapi_document()).unwrap();
    document["paths"]["/api/v1/oidc/exchange"]["post"].is_object()
}

/// An ID token of the CI workload, signed by the key its trust policy
/// holds, valid for ten minutes.
pub fn ci_id_token() -> String {
    // Signing with RSA takes tens of milliseconds in a debug build: once
    // per test process, and the token lasts longer than any run.
    static TOKEN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TOKEN.get_or_init(sign_ci_id_token).clone()
}

fn sign_ci_id_token() -> String {
    let now = Utc::now().timestamp();
    let claims = json!({
        "iss": CI_ISSUER, "aud": "ferry", "sub": CI_SUBJECT,
        "iat": now, "nbf": now - 5, "exp": now + 600,
    });
    let body: String = CI_KEY.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some("ferry-test-a".to_owned());
    jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_rsa_der(&der),
    )
    .unwrap()
}

/// The CI workload's token, exchanged for its ID token; `None` when the
/// server has no exchange route.
async fn exchange(api: &Api) -> Option<String> {
    if !has_exchange_route() {
        return None;
    }
    let body = json!({ "token": ci_id_token() }).to_string();
    let reply = api
        .send(Method::POST, "/api/v1/oidc/exchange", None, Some(&body))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    Some(reply.body["secret"].as_str().unwrap().to_owned())
}

/// A world built once and copied for each use, so that every row of a
/// matrix gets a fresh world for the price of a copy.
///
/// On SQLite the copy is the database file and the artifacts. On
/// PostgreSQL, building a world in a new schema (migrations, then some
/// sixty short transactions) takes over a second on two cores, and a
/// `CREATE DATABASE ... TEMPLATE` copy half a second of WAL and needs a role
/// that may create databases. Instead the world is built once in a schema
/// of its own, and each copy borrows a schema from a pool (made and
/// migrated by the store like any other, as many as copies are in use at
/// once) and is filled in one round trip: every table emptied, then copied
/// from the template's in the order of their foreign keys, and the id
/// sequences set as the template's are. A schema given back is filled anew
/// by its next borrower. Measured on two cores: a copy takes about 0.1 s on
/// either backend, where building a world takes 0.2 s on SQLite and 1.3 s
/// on PostgreSQL.
pub struct Template {
    world: World,
    postgres: Option<Pool>,
}

/// The schemas a PostgreSQL template's copies are made in.
struct Pool {
    base: String,
    template: Scratch,
    /// The statements that fill a schema (named `{schema}`) with a copy.
    fill: String,
    free: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    made: std::sync::Mutex<Vec<String>>,
}

impl Template {
    /// Builds the world to copy, on `backend`.
    pub async fn build(backend: &Backend) -> Self {
        let mut world = World::build(backend).await;
        // Copies are made of what is on disk, with nobody connected.
        world.api.store.close().await;
        let postgres = match backend {
            Backend::Sqlite => None,
            Backend::Postgres(base) => {
                let template = world.api.scratch.take().unwrap();
                let fill = fill_statements(base, template.name()).await;
                Some(Pool {
                    base: base.clone(),
                    template,
                    fill,
                    free: Default::default(),
                    made: Default::default(),
                })
            }
        };
        Self { world, postgres }
    }

    /// A fresh copy of the world.
    pub async fn instance(&self) -> World {
        let dir = tempfile::tempdir().unwrap();
        let from = self.world.api._dir.path();
        copy_tree(&from.join("artifacts"), &dir.path().join("artifacts"));
        let key = self.world.api.secret_key.clone();
        let api = match &self.postgres {
            None => {
                for entry in std::fs::read_dir(from).unwrap() {
                    let path = entry.unwrap().path();
                    if path.is_file() {
                        std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
                    }
                }
                let store = sqlite_store(dir.path()).await;
                Api::over(store, dir, None, key).await
            }
            Some(pool) => {
                let free = pool.free.lock().unwrap().pop();
                let schema = match free {
                    Some(schema) => schema,
                    None => {
                        let schema = random_name("ferry_test");
                        postgres_execute(&pool.base, format!("CREATE SCHEMA {schema}")).await;
                        pool.made.lock().unwrap().push(schema.clone());
                        schema
                    }
                };
                // Connecting migrates a new schema; then it is filled.
                let store = ferry_store::Store::connect(&schema_url(&pool.base, &schema))
                    .await
                    .unwrap();
                postgres_execute(&pool.base, pool.fill.replace("{schema}", &schema)).await;
                let leased = Scratch::Leased {
                    name: schema,
                    pool: pool.free.clone(),
                };
                Api::over(store, dir, Some(leased), key).await
            }
        };
        self.world.with_api(api)
    }

    /// Drops the PostgreSQL schemas made for the template and its copies.
    pub async fn close(self) {
        if let Some(pool) = self.postgres {
            for schema in pool.made.into_inner().unwrap() {
                postgres_execute(&pool.base, format!("DROP SCHEMA {schema} CASCADE")).await;
            }
            pool.template.drop_now().await;
        }
    }
}

/// The statements that make schema `{schema}` (migrated like `template`) a
/// copy of `template`: its tables emptied, filled from the template's,
/// parents before children, and its id sequences where the template's are.
async fn fill_statements(base: &str, template: &str) -> String {
    use sqlx::{Connection, Row};
    let mut connection = sqlx::PgConnection::connect(&super::without_tls(base))
        .await
        .unwrap();
    let tables: Vec<String> = sqlx::query(
        "SELECT c.relname::text AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = $1 AND c.relkind = 'r' AND c.relname <> '_sqlx_migrations' ORDER BY 1",
    )
    .bind(template)
    .fetch_all(&mut connection)
    .await
    .unwrap()
    .iter()
    .map(|row| row.get("name"))
    .collect();
    let edges: Vec<(String, String)> = sqlx::query(
        "SELECT c.relname::text AS child, p.relname::text AS parent FROM pg_constraint k \
         JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class p ON p.oid = k.confrelid \
         JOIN pg_namespace n ON n.oid = k.connamespace WHERE k.contype = 'f' AND n.nspname = $1",
    )
    .bind(template)
    .fetch_all(&mut connection)
    .await
    .unwrap()
    .iter()
    .map(|row| (row.get("child"), row.get("parent")))
    .collect();
    let identities: Vec<(String, String)> = sqlx::query(
        "SELECT table_name::text AS t, column_name::text AS c FROM information_schema.columns \
         WHERE table_schema = $1 AND is_identity = 'YES' ORDER BY 1",
    )
    .bind(template)
    .fetch_all(&mut connection)
    .await
    .unwrap()
    .iter()
    .map(|row| (row.get("t"), row.get("c")))
    .collect();
    // Parents first: a table is copied once every table it refers to is.
    let mut ordered: Vec<String> = Vec::new();
    while ordered.len() < tables.len() {
        let before = ordered.len();
        for table in &tables {
            let ready = !ordered.contains(table)
                && edges
                    .iter()
                    .filter(|(child, parent)| child == table && parent != table)
                    .all(|(_, parent)| ordered.contains(parent));
            if ready {
                ordered.push(table.clone());
            }
        }
        assert!(
            ordered.len() > before,
            "the foreign keys of {template} go round in a circle"
        );
    }
    let quoted = |schema: &str, table: &str| format!("\"{schema}\".\"{table}\"");
    // Triggers stay quiet: what they would keep (the current-state table)
    // is copied from the template too.
    let mut sql = String::from("BEGIN;\nSET LOCAL session_replication_role = replica;\n");
    // DELETE, children first: TRUNCATE makes new files for every table and
    // index, tens of times slower on tables this small.
    for table in ordered.iter().rev() {
        sql.push_str(&format!("DELETE FROM {};\n", quoted("{schema}", table)));
    }
    for table in &ordered {
        sql.push_str(&format!(
            "INSERT INTO {} SELECT * FROM {};\n",
            quoted("{schema}", table),
            quoted(template, table)
        ));
    }
    for (table, column) in identities {
        let sequence: String = sqlx::query("SELECT pg_get_serial_sequence($1, $2) AS s")
            .bind(quoted(template, &table))
            .bind(&column)
            .fetch_one(&mut connection)
            .await
            .unwrap()
            .get("s");
        let state = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT last_value, is_called FROM {sequence}"
        )))
        .fetch_one(&mut connection)
        .await
        .unwrap();
        let (last, called): (i64, bool) = (state.get("last_value"), state.get("is_called"));
        sql.push_str(&format!(
            "SELECT setval(pg_get_serial_sequence('{}', '{column}'), {last}, {called});\n",
            quoted("{schema}", &table)
        ));
    }
    sql.push_str("COMMIT;\n");
    connection.close().await.unwrap();
    sql
}

/// Copies directory `from` (if it exists) to `to`, recursively.
fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    if !from.exists() {
        return;
    }
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_tree(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}
