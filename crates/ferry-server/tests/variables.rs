//! Variables and secrets of environments in process: set, listed and unset by
//! administrators, secrets sealed at rest and never answered, and every
//! variable handed to the agents' jobs with the names of the secret ones.

use axum::http::{Method, StatusCode};
use ferry_core::Name;
use ferry_server::secrets::{SecretError, SecretKey};
use ferry_store::deployments::NewDeployment;
use ferry_store::jobs::JobKind;
use ferry_store::variables::NewValue;
use serde_json::{Value, json};

mod common;

use common::{ADMIN_TOKEN, Api, Reply, problem};

const PASSWORD: &str = "s3cr3t-hunter22";

const CONFIG: &str = r#"
[[environment]]
name = "dev"
tier = "development"
variables = { LOG_LEVEL = "info", REGION = "eu-west-1" }
[[environment]]
name = "prod"
tier = "production"
[lifecycle.default]
phases = [["dev"], ["prod"]]
[[service]]
name = "api"
deploy.steps = [{ name = "install", run = "echo \"$LOG_LEVEL\"" }]
"#;

impl Api {
    async fn with_variables() -> Self {
        let api = Self::new().await;
        let config = ferry_core::config::parse(CONFIG).unwrap();
        let body = serde_json::to_string(&json!({ "config": config })).unwrap();
        let applied = api.post("/api/v1/apply", &body).await;
        assert_eq!(applied.status, StatusCode::OK, "{:?}", applied.body);
        api
    }

    async fn put_variable(&self, token: &str, path: &str, body: Value) -> Reply {
        self.send(Method::PUT, path, Some(token), Some(&body.to_string()))
            .await
    }

    async fn delete(&self, token: &str, path: &str) -> Reply {
        self.send(Method::DELETE, path, Some(token), None).await
    }

    /// A user who is not an administrator: their token.
    async fn user(&self, name: &str) -> String {
        let created = self
            .post("/api/v1/users", &json!({ "name": name }).to_string())
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
        created.body["token"]["secret"].as_str().unwrap().to_owned()
    }
}

fn by_name<'a>(list: &'a Value, name: &str) -> &'a Value {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == name)
        .unwrap_or_else(|| panic!("{name} is not listed: {list}"))
}

#[tokio::test]
async fn administrators_set_list_and_unset_variables() {
    let api = Api::with_variables().await;
    let path = "/api/v1/environments/dev/variables";

    let created = api
        .put_variable(
            ADMIN_TOKEN,
            &format!("{path}/LOG_LEVEL"),
            json!({ "value": "debug" }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    assert_eq!(created.body["value"], "debug");
    assert_eq!(created.body["source"], "set");
    assert_eq!(created.body["overrides_config"], true);
    assert_eq!(created.body["updated_by"], "admin");
    let replaced = api
        .put_variable(
            ADMIN_TOKEN,
            &format!("{path}/LOG_LEVEL"),
            json!({ "value": "trace" }),
        )
        .await;
    assert_eq!(replaced.status, StatusCode::OK, "{:?}", replaced.body);
    let secret = api
        .put_variable(
            ADMIN_TOKEN,
            &format!("{path}/DB_PASSWORD"),
            json!({ "value": PASSWORD, "secret": true }),
        )
        .await;
    assert_eq!(secret.status, StatusCode::CREATED, "{:?}", secret.body);
    assert_eq!(secret.body["secret"], true);
    assert!(secret.body.get("value").is_none(), "{:?}", secret.body);

    let listed = api.get(path).await;
    assert_eq!(listed.status, StatusCode::OK, "{:?}", listed.body);
    let names: Vec<_> = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["DB_PASSWORD", "LOG_LEVEL", "REGION"]);
    let level = by_name(&listed.body, "LOG_LEVEL");
    assert_eq!(
        (&level["value"], &level["source"]),
        (&json!("trace"), &json!("set"))
    );
    let region = by_name(&listed.body, "REGION");
    assert_eq!(
        (&region["value"], &region["source"], &region["secret"]),
        (&json!("eu-west-1"), &json!("config"), &json!(false))
    );
    let password = by_name(&listed.body, "DB_PASSWORD");
    assert_eq!(password["secret"], true);
    assert!(password.get("value").is_none(), "{password}");
    assert!(!listed.body.to_string().contains(PASSWORD));

    let removed = api
        .delete(ADMIN_TOKEN, &format!("{path}/DB_PASSWORD"))
        .await;
    assert_eq!(removed.status, StatusCode::OK, "{:?}", removed.body);
    assert!(!removed.body.to_string().contains(PASSWORD));
    let again = api
        .delete(ADMIN_TOKEN, &format!("{path}/DB_PASSWORD"))
        .await;
    problem(&again, StatusCode::NOT_FOUND, "not-found");
    let from_file = api.delete(ADMIN_TOKEN, &format!("{path}/REGION")).await;
    let detail = problem(&from_file, StatusCode::CONFLICT, "conflict");
    assert!(detail.contains("ferry.toml"), "{detail}");
    api.delete(ADMIN_TOKEN, &format!("{path}/LOG_LEVEL")).await;
    let listed = api.get(path).await;
    assert_eq!(
        by_name(&listed.body, "LOG_LEVEL")["value"],
        "info",
        "ferry.toml's value applies again"
    );
}

#[tokio::test]
async fn others_may_not_read_or_change_variables() {
    let api = Api::with_variables().await;
    let bob = api.user("bob").await;
    let path = "/api/v1/environments/dev/variables";
    let listed = api.send(Method::GET, path, Some(&bob), None).await;
    problem(&listed, StatusCode::FORBIDDEN, "forbidden");
    let set = api
        .put_variable(&bob, &format!("{path}/A"), json!({ "value": "x" }))
        .await;
    problem(&set, StatusCode::FORBIDDEN, "forbidden");
    let unset = api.delete(&bob, &format!("{path}/LOG_LEVEL")).await;
    problem(&unset, StatusCode::FORBIDDEN, "forbidden");
    let nobody = api.send(Method::GET, path, None, None).await;
    problem(&nobody, StatusCode::UNAUTHORIZED, "unauthorized");
}

#[tokio::test]
async fn bad_names_and_values_are_problems_that_say_why() {
    let api = Api::with_variables().await;
    let put = |path: &'static str, body: Value| {
        let api = &api;
        async move { api.put_variable(ADMIN_TOKEN, path, body).await }
    };
    let reserved = put(
        "/api/v1/environments/dev/variables/FERRY_VERSION",
        json!({ "value": "1" }),
    )
    .await;
    assert!(problem(&reserved, StatusCode::UNPROCESSABLE_ENTITY, "invalid").contains("FERRY_"));
    let dash = put(
        "/api/v1/environments/dev/variables/LOG-LEVEL",
        json!({ "value": "1" }),
    )
    .await;
    assert!(problem(&dash, StatusCode::UNPROCESSABLE_ENTITY, "invalid").contains("underscores"));
    let nowhere = put(
        "/api/v1/environments/qa/variables/A",
        json!({ "value": "1" }),
    )
    .await;
    problem(&nowhere, StatusCode::NOT_FOUND, "not-found");
    let short = put(
        "/api/v1/environments/dev/variables/PIN",
        json!({ "value": "123", "secret": true }),
    )
    .await;
    assert!(problem(&short, StatusCode::UNPROCESSABLE_ENTITY, "invalid").contains("mask"));
    let nul = put(
        "/api/v1/environments/dev/variables/A",
        json!({ "value": "a\u{0}b" }),
    )
    .await;
    assert!(problem(&nul, StatusCode::UNPROCESSABLE_ENTITY, "invalid").contains("NUL"));
    let unknown = put(
        "/api/v1/environments/dev/variables/A",
        json!({ "value": "1", "secert": true }),
    )
    .await;
    assert!(problem(&unknown, StatusCode::BAD_REQUEST, "invalid-json").contains("secert"));
    let missing = api.get("/api/v1/environments/qa/variables").await;
    problem(&missing, StatusCode::NOT_FOUND, "not-found");
}

#[tokio::test]
async fn a_secret_is_stored_encrypted_and_audited_without_its_value() {
    let api = Api::with_variables().await;
    let set = api
        .put_variable(
            ADMIN_TOKEN,
            "/api/v1/environments/prod/variables/DB_PASSWORD",
            json!({ "value": PASSWORD, "secret": true }),
        )
        .await;
    assert_eq!(set.status, StatusCode::CREATED, "{:?}", set.body);
    let stored = api
        .store
        .variables(Some(&Name::parse("prod").unwrap()))
        .await
        .unwrap();
    assert!(stored[0].secret);
    assert!(
        stored[0].value.starts_with("v1:") && !stored[0].value.contains(PASSWORD),
        "{}",
        stored[0].value
    );
    let audit = api.get("/api/v1/audit").await;
    let text = audit.body.to_string();
    assert!(text.contains("variable.set"), "{text}");
    assert!(!text.contains(PASSWORD), "{text}");
    assert!(!text.contains(&stored[0].value), "{text}");
}

/// A deployment of api@1.0.0 to dev with a job for a new agent: the agent's secret.
async fn job_for_an_agent(api: &Api) -> String {
    let created = api
        .post(
            "/api/v1/agent-tokens",
            &json!({ "environment": "dev", "name": "web-1" }).to_string(),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let secret = created.body["secret"].as_str().unwrap().to_owned();
    let agent = created.body["agent"]["id"].as_i64().unwrap();
    let release = api
        .post("/api/v1/services/api/releases", r#"{"version":"1.0.0"}"#)
        .await;
    assert_eq!(release.status, StatusCode::CREATED, "{:?}", release.body);
    let deployment = api
        .store
        .create_deployment(
            "admin",
            &Name::parse("api").unwrap(),
            &semver::Version::parse("1.0.0").unwrap(),
            &Name::parse("dev").unwrap(),
            NewDeployment::default(),
        )
        .await
        .unwrap();
    api.store
        .create_jobs(deployment.id, 0, &[agent], JobKind::Deploy)
        .await
        .unwrap();
    secret
}

#[tokio::test]
async fn an_agents_job_carries_the_variables_and_names_the_secrets() {
    let api = Api::with_variables().await;
    for (name, body) in [
        ("LOG_LEVEL", json!({ "value": "debug" })),
        ("DB_PASSWORD", json!({ "value": PASSWORD, "secret": true })),
    ] {
        let set = api
            .put_variable(
                ADMIN_TOKEN,
                &format!("/api/v1/environments/dev/variables/{name}"),
                body,
            )
            .await;
        assert_eq!(set.status, StatusCode::CREATED, "{:?}", set.body);
    }
    api.put_variable(
        ADMIN_TOKEN,
        "/api/v1/environments/prod/variables/ONLY_PROD",
        json!({ "value": "x" }),
    )
    .await;
    let agent = job_for_an_agent(&api).await;
    let next = api
        .send(
            Method::GET,
            "/api/v1/agent/jobs/next?wait=0",
            Some(&agent),
            None,
        )
        .await;
    assert_eq!(next.status, StatusCode::OK, "{:?}", next.body);
    assert_eq!(
        next.body["variables"],
        json!({ "DB_PASSWORD": PASSWORD, "LOG_LEVEL": "debug", "REGION": "eu-west-1" }),
        "ferry.toml's, replaced by those set, of this environment only"
    );
    assert_eq!(next.body["secrets"], json!(["DB_PASSWORD"]));
}

#[tokio::test]
async fn a_secret_sealed_under_another_key_is_a_clear_error() {
    let api = Api::with_variables().await;
    let other = SecretKey::generate().unwrap();
    let sealed = other.seal("dev", "DB_PASSWORD", PASSWORD).unwrap();
    api.store
        .set_variable(
            "admin",
            &Name::parse("dev").unwrap(),
            "DB_PASSWORD",
            NewValue::Sealed(&sealed),
        )
        .await
        .unwrap();
    let agent = job_for_an_agent(&api).await;
    let next = api
        .send(
            Method::GET,
            "/api/v1/agent/jobs/next?wait=0",
            Some(&agent),
            None,
        )
        .await;
    let detail = problem(&next, StatusCode::INTERNAL_SERVER_ERROR, "internal");
    assert!(detail.contains("error id"), "{detail}");
    assert!(!next.body.to_string().contains(PASSWORD));
    // The job fails with the reason instead of being claimed again and again.
    let deployment = api
        .store
        .deployments(Default::default(), None, 1)
        .await
        .unwrap()[0]
        .id;
    let job = &api.store.jobs(deployment).await.unwrap()[0];
    assert_eq!(job.state, ferry_store::jobs::JobState::Failed);
    let reason = job.result.as_ref().unwrap()["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("the job could not be prepared"),
        "{reason}"
    );
    assert!(!reason.contains(PASSWORD));

    // A server whose key file is not the one the database's secrets were
    // sealed with refuses to start, naming both keys.
    let data_dir = tempfile::tempdir().unwrap();
    let error = SecretKey::load(data_dir.path(), &api.store)
        .await
        .unwrap_err();
    assert!(matches!(error, SecretError::ForeignKey { .. }), "{error}");
    let message = error.to_string();
    assert!(
        message.contains(other.id()) && message.contains("secret.key"),
        "{message}"
    );
}

#[tokio::test]
async fn the_variable_routes_are_documented() {
    let api = Api::new().await;
    let openapi = api.get("/api/v1/openapi.json").await;
    let paths = &openapi.body["paths"];
    let list = &paths["/api/v1/environments/{environment}/variables"];
    assert!(list["get"].is_object(), "{list}");
    let one = &paths["/api/v1/environments/{environment}/variables/{name}"];
    assert!(one["put"].is_object() && one["delete"].is_object(), "{one}");
    let schemas = &openapi.body["components"]["schemas"];
    assert!(schemas["Variable"].is_object() && schemas["SetVariable"].is_object());
}
