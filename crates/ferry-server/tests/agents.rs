//! The agent endpoints in process: agent tokens, hello, the next job (long
//! poll), heartbeats and reports, each agent seeing only its own jobs.

use axum::http::{Method, StatusCode};
use ferry_core::Name;
use ferry_store::deployments::NewDeployment;
use ferry_store::jobs::JobKind;
use serde_json::{Value, json};

mod common;

use common::{ADMIN_TOKEN, Api, Reply, problem};

/// sha256 of "hello".
const HELLO: &str = "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

const CONFIG: &str = r#"
[[environment]]
name = "dev"
tier = "development"
[lifecycle.default]
phases = [["dev"]]
[[service]]
name = "api"
deploy.steps = [{ name = "install", run = "echo \"$FERRY_VERSION\"", timeout = "30s" }, { name = "migrate", run = "true", idempotent = true }]
deploy.health = { command = "true", retries = 1 }
"#;

impl Api {
    async fn configured() -> Self {
        let api = Self::new().await;
        let config = ferry_core::config::parse(CONFIG).unwrap();
        let body = serde_json::to_string(&json!({ "config": config })).unwrap();
        let applied = api.post("/api/v1/apply", &body).await;
        assert_eq!(applied.status, StatusCode::OK, "{:?}", applied.body);
        api
    }

    /// Creates agent `name` in dev: its secret and id.
    async fn agent(&self, name: &str) -> (String, i64) {
        let created = self
            .post(
                "/api/v1/agent-tokens",
                &json!({ "environment": "dev", "name": name, "tags": { "region": "eu" } })
                    .to_string(),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
        (
            created.body["secret"].as_str().unwrap().to_owned(),
            created.body["agent"]["id"].as_i64().unwrap(),
        )
    }

    async fn as_agent(
        &self,
        method: Method,
        path: &str,
        secret: &str,
        body: Option<&str>,
    ) -> Reply {
        self.send(method, path, Some(secret), body).await
    }

    /// Deploys `version` of api to dev and marks it succeeded.
    async fn deployment(&self, version: &str) -> i64 {
        let deployment = self
            .store
            .create_deployment(
                "admin",
                &Name::parse("api").unwrap(),
                &semver::Version::parse(version).unwrap(),
                &Name::parse("dev").unwrap(),
                NewDeployment::default(),
            )
            .await
            .unwrap();
        deployment.id
    }

    async fn release(&self, version: &str, artifact: bool) {
        let body = if artifact {
            json!({ "version": version, "artifacts": [{ "name": "app.bin", "digest": HELLO }] })
        } else {
            json!({ "version": version })
        };
        let created = self
            .post("/api/v1/services/api/releases", &body.to_string())
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    }
}

#[tokio::test]
async fn agent_tokens_work_only_on_agent_endpoints() {
    let api = Api::configured().await;
    let (secret, _) = api.agent("web-1").await;
    assert!(
        secret.starts_with("ferry_agent_") && secret.len() == 12 + 64,
        "{secret}"
    );

    let whoami = api
        .send(Method::GET, "/api/v1/whoami", Some(&secret), None)
        .await;
    problem(&whoami, StatusCode::UNAUTHORIZED, "unauthorized");
    let user_on_agent = api.post("/api/v1/agent/hello", "{}").await;
    problem(&user_on_agent, StatusCode::UNAUTHORIZED, "unauthorized");
    let nobody = api
        .send(Method::POST, "/api/v1/agent/hello", None, Some("{}"))
        .await;
    problem(&nobody, StatusCode::UNAUTHORIZED, "unauthorized");

    let hello = api
        .as_agent(
            Method::POST,
            "/api/v1/agent/hello",
            &secret,
            Some(r#"{"tags":{"region":"us"}}"#),
        )
        .await;
    assert_eq!(hello.status, StatusCode::OK, "{:?}", hello.body);
    assert_eq!(hello.body["name"], "web-1");
    assert_eq!(hello.body["environment"], "dev");
    assert_eq!(hello.body["tags"]["region"], "us");
    assert!(hello.body["last_seen_at"].is_string(), "{:?}", hello.body);

    let none = api
        .as_agent(Method::GET, "/api/v1/agent/jobs/next?wait=0", &secret, None)
        .await;
    assert_eq!(none.status, StatusCode::NO_CONTENT);
    let waited = std::time::Instant::now();
    let none = api
        .as_agent(Method::GET, "/api/v1/agent/jobs/next?wait=1", &secret, None)
        .await;
    assert_eq!(none.status, StatusCode::NO_CONTENT);
    assert!(waited.elapsed() >= std::time::Duration::from_millis(900));

    let unknown_env = api
        .post(
            "/api/v1/agent-tokens",
            r#"{"environment":"nowhere","name":"x"}"#,
        )
        .await;
    problem(&unknown_env, StatusCode::NOT_FOUND, "not-found");
    let taken = api
        .post(
            "/api/v1/agent-tokens",
            r#"{"environment":"dev","name":"web-1"}"#,
        )
        .await;
    problem(&taken, StatusCode::CONFLICT, "conflict");

    let user = api.post("/api/v1/users", r#"{"name":"bob"}"#).await;
    let bob = user.body["token"]["secret"].as_str().unwrap();
    let refused = api
        .send(
            Method::POST,
            "/api/v1/agent-tokens",
            Some(bob),
            Some(r#"{"environment":"dev","name":"web-2"}"#),
        )
        .await;
    problem(&refused, StatusCode::FORBIDDEN, "forbidden");

    let openapi = api.get("/api/v1/openapi.json").await;
    for path in [
        "/api/v1/agent-tokens",
        "/api/v1/agent/hello",
        "/api/v1/agent/jobs/next",
        "/api/v1/agent/jobs/{id}/heartbeat",
        "/api/v1/agent/jobs/{id}/finish",
        "/api/v1/agent/jobs/{id}/artifacts/{name}",
    ] {
        assert!(
            openapi.body["paths"][path].is_object(),
            "{path} is documented"
        );
    }
}

#[tokio::test]
async fn a_job_is_handed_to_its_agent_heartbeated_and_reported_once() {
    let api = Api::configured().await;
    let (secret, agent_id) = api.agent("web-1").await;
    let (other, _) = api.agent("web-2").await;
    let put = api
        .send(
            Method::PUT,
            &format!("/api/v1/blobs/{HELLO}"),
            Some(ADMIN_TOKEN),
            Some("hello"),
        )
        .await;
    assert_eq!(put.status, StatusCode::CREATED, "{:?}", put.body);
    api.release("1.0.0", false).await;
    api.release("1.1.0", true).await;
    let first = api.deployment("1.0.0").await;
    for status in [
        ferry_core::DeploymentStatus::Running,
        ferry_core::DeploymentStatus::Succeeded,
    ] {
        api.store
            .set_deployment_status("admin", first, status)
            .await
            .unwrap();
    }
    let deployment = api.deployment("1.1.0").await;
    let jobs = api
        .store
        .create_jobs(deployment, 0, &[agent_id], JobKind::Deploy)
        .await
        .unwrap();
    let id = jobs[0].id;

    let nothing = api
        .as_agent(Method::GET, "/api/v1/agent/jobs/next?wait=0", &other, None)
        .await;
    assert_eq!(
        nothing.status,
        StatusCode::NO_CONTENT,
        "another agent sees no job"
    );

    let next = api
        .as_agent(Method::GET, "/api/v1/agent/jobs/next?wait=2", &secret, None)
        .await;
    assert_eq!(next.status, StatusCode::OK, "{:?}", next.body);
    let job = &next.body;
    assert_eq!(job["job_id"], id);
    assert_eq!(job["attempt"], 1);
    assert_eq!(job["deployment_id"], deployment);
    assert_eq!(job["kind"], "deploy");
    assert_eq!(job["service"], "api");
    assert_eq!(job["version"], "1.1.0");
    assert_eq!(job["previous_version"], "1.0.0");
    assert_eq!(job["environment"], "dev");
    assert_eq!(job["steps"][0]["name"], "install");
    assert_eq!(job["steps"][0]["run"], "echo \"$FERRY_VERSION\"");
    assert_eq!(job["steps"][0]["timeout_seconds"], 30);
    assert_eq!(job["steps"][0]["idempotent"], false);
    assert_eq!(job["steps"][1]["idempotent"], true);
    assert_eq!(job["health"]["command"], "true");
    assert_eq!(job["variables"], json!({}));
    assert_eq!(job["artifacts"][0]["name"], "app.bin");
    assert_eq!(job["artifacts"][0]["digest"], HELLO);
    let url = job["artifacts"][0]["url"].as_str().unwrap().to_owned();
    assert_eq!(url, format!("/api/v1/agent/jobs/{id}/artifacts/app.bin"));

    let download = api.as_agent(Method::GET, &url, &secret, None).await;
    assert_eq!(download.status, StatusCode::OK);
    assert_eq!(download.body, Value::String("hello".into()));
    assert_eq!(download.headers["ferry-digest"], HELLO);
    let stolen = api.as_agent(Method::GET, &url, &other, None).await;
    problem(&stolen, StatusCode::NOT_FOUND, "not-found");

    let again = api
        .as_agent(Method::GET, "/api/v1/agent/jobs/next?wait=0", &secret, None)
        .await;
    assert_eq!(
        again.status,
        StatusCode::NO_CONTENT,
        "a claimed job is not handed out twice"
    );

    let beat = |token: String, attempt: i64| {
        let api = &api;
        async move {
            api.as_agent(
                Method::POST,
                &format!("/api/v1/agent/jobs/{id}/heartbeat"),
                &token,
                Some(&json!({ "attempt": attempt }).to_string()),
            )
            .await
        }
    };
    let ok = beat(secret.clone(), 1).await;
    assert_eq!(
        (ok.status, ok.body["ok"].as_bool()),
        (StatusCode::OK, Some(true))
    );
    let stale = beat(secret.clone(), 7).await;
    assert_eq!(stale.body["ok"], false);
    problem(
        &beat(other.clone(), 1).await,
        StatusCode::NOT_FOUND,
        "not-found",
    );
    let bad = api
        .as_agent(
            Method::POST,
            "/api/v1/agent/jobs/x/heartbeat",
            &secret,
            Some(r#"{"attempt":1}"#),
        )
        .await;
    problem(&bad, StatusCode::BAD_REQUEST, "bad-request");

    let report = json!({
        "attempt": 1,
        "succeeded": true,
        "steps": [
            { "name": "install", "exit_code": 0, "timed_out": false, "seconds": 0.1 },
            { "name": "migrate", "exit_code": 0, "timed_out": false, "seconds": 0.1 }
        ],
        "health": { "healthy": true, "attempts": 1, "last": "`true` passed" },
        "log_tail": ["1.1.0"]
    })
    .to_string();
    let finish = |token: String| {
        let api = &api;
        let report = report.clone();
        async move {
            api.as_agent(
                Method::POST,
                &format!("/api/v1/agent/jobs/{id}/finish"),
                &token,
                Some(&report),
            )
            .await
        }
    };
    problem(
        &finish(other.clone()).await,
        StatusCode::NOT_FOUND,
        "not-found",
    );
    let done = finish(secret.clone()).await;
    assert_eq!(
        (done.status, done.body["outcome"].as_str()),
        (StatusCode::OK, Some("finished"))
    );
    let repeated = finish(secret.clone()).await;
    assert_eq!(repeated.body["outcome"], "already_done");
    let after = beat(secret.clone(), 1).await;
    assert_eq!(after.body["ok"], false, "a finished job has no lease");

    let stored = api.store.jobs(deployment).await.unwrap();
    assert_eq!(stored[0].state, ferry_store::jobs::JobState::Succeeded);
    assert_eq!(stored[0].result.as_ref().unwrap()["log_tail"][0], "1.1.0");

    let invalid = api
        .as_agent(
            Method::POST,
            &format!("/api/v1/agent/jobs/{id}/finish"),
            &secret,
            Some(r#"{"attempt":1}"#),
        )
        .await;
    problem(&invalid, StatusCode::BAD_REQUEST, "invalid-json");
}

#[tokio::test]
async fn an_agent_waits_at_most_thirty_seconds_and_reports_at_most_a_thousand_lines() {
    let api = Api::configured().await;
    let (secret, _) = api.agent("web-1").await;
    let long_wait = api
        .as_agent(
            Method::GET,
            "/api/v1/agent/jobs/next?wait=31",
            &secret,
            None,
        )
        .await;
    let detail = problem(&long_wait, StatusCode::BAD_REQUEST, "bad-request");
    assert!(detail.contains("at most 30 seconds"), "{detail}");

    let lines: Vec<String> = (0..1001).map(|i| format!("line {i}")).collect();
    let finish = json!({ "attempt": 1, "succeeded": true, "log_tail": lines });
    let report = api
        .as_agent(
            Method::POST,
            "/api/v1/agent/jobs/1/finish",
            &secret,
            Some(&finish.to_string()),
        )
        .await;
    let detail = problem(&report, StatusCode::UNPROCESSABLE_ENTITY, "invalid");
    assert!(detail.contains("1000 log lines"), "{detail}");
}
