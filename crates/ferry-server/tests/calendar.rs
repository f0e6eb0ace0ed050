//! The release calendar over HTTP: the period the API lists, and calendar
//! feeds made, used and revoked through the API. (A calendar program's view
//! of the feed, checked against the API, is the binary's
//! `tests/calendar_feed.rs`; who may call each route is `authorization`.)

#[macro_use]
mod common;

use axum::http::{Method, StatusCode};
use common::{ADMIN_TOKEN, Api, Backend, problem};
use serde_json::json;

stories!(
    the_calendar_lists_a_period_it_can_read,
    a_feed_reads_the_calendar_until_it_is_revoked,
);

const CONFIG: &str = r#"
[[environment]]
name = "dev"
tier = "development"
windows = [{ rrule = "FREQ=DAILY;BYHOUR=9", duration = "1h", timezone = "Europe/Berlin" }]

[[environment]]
name = "prod"
tier = "production"
windows = [{ rrule = "FREQ=DAILY;BYHOUR=6", duration = "1h" }]

[lifecycle.default]
phases = [["dev"], ["prod"]]

[lifecycle.dev-only]
phases = [["dev"]]

[[service]]
name = "api"

[[service]]
name = "web"
lifecycle = "dev-only"
"#;

async fn api_on(backend: &Backend) -> Api {
    let api = Api::on(backend).await;
    let config = ferry_core::config::parse(CONFIG).unwrap();
    api.store.apply("admin", &config, false).await.unwrap();
    api
}

async fn the_calendar_lists_a_period_it_can_read(backend: &Backend) {
    let api = api_on(backend).await;
    let from = "2030-01-07T00:00:00Z";
    let listed = api
        .get(&format!(
            "/api/v1/calendar?from={from}&to=2030-01-09T00:00:00Z"
        ))
        .await;
    assert_eq!(listed.status, StatusCode::OK, "{:?}", listed.body);
    let starts: Vec<(&str, &str)> = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["environments"][0].as_str().unwrap(),
                e["start"].as_str().unwrap(),
            )
        })
        .collect();
    // 09:00 in Berlin is 08:00 UTC in January; prod's windows are in UTC.
    assert_eq!(
        starts,
        [
            ("prod", "2030-01-07T06:00:00Z"),
            ("dev", "2030-01-07T08:00:00Z"),
            ("prod", "2030-01-08T06:00:00Z"),
            ("dev", "2030-01-08T08:00:00Z"),
        ]
    );
    // `days` counts from `from`.
    let days = api
        .get(&format!("/api/v1/calendar?from={from}&days=1"))
        .await;
    assert_eq!(days.body["items"].as_array().unwrap().len(), 2);
    // A service sees the windows of its lifecycle's environments.
    let web = api
        .get(&format!("/api/v1/calendar?from={from}&days=2&service=web"))
        .await;
    let environments: Vec<&str> = web.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["environments"][0].as_str().unwrap())
        .collect();
    assert_eq!(environments, ["dev", "dev"]);
    let nothing = api
        .get(&format!("/api/v1/calendar?from={from}&days=2&service=nope"))
        .await;
    assert_eq!(
        nothing.body["items"],
        json!([]),
        "a service there is not has nothing"
    );

    for (query, status, says) in [
        (
            "from=2030-01-07T00:00:00Z&to=2030-01-07T00:00:00Z",
            422,
            "must be after",
        ),
        (
            "from=2030-01-07T00:00:00Z&to=2031-01-09T00:00:00Z",
            422,
            "366 days",
        ),
        ("from=yesterday", 422, "RFC 3339"),
        ("from=9999-12-31T23:00:00Z", 422, "year 9999"),
        (
            "from=2030-01-07T00:00:00Z&to=2030-01-08T00:00:00Z&days=1",
            400,
            "not both",
        ),
        ("days=0", 400, "between 1 and 366"),
        ("environment=Prod!", 400, "environment"),
    ] {
        let reply = api.get(&format!("/api/v1/calendar?{query}")).await;
        let slug = if status == 400 {
            "bad-request"
        } else {
            "invalid"
        };
        let detail = problem(&reply, StatusCode::from_u16(status).unwrap(), slug);
        assert!(detail.contains(says), "{query}: {detail}");
    }
    api.close().await;
}

async fn a_feed_reads_the_calendar_until_it_is_revoked(backend: &Backend) {
    let api = api_on(backend).await;
    let made = api.post("/api/v1/calendar/feeds", "{}").await;
    assert_eq!(made.status, StatusCode::CREATED, "{:?}", made.body);
    assert_eq!(made.body["name"], "calendar");
    assert_eq!(made.body["user"], "admin");
    let secret = made.body["secret"].as_str().unwrap().to_owned();
    assert!(
        secret.starts_with("ferry_cal_") && secret.len() == 10 + 64,
        "{secret}"
    );
    assert_eq!(made.body["path"], format!("/calendar.ics?token={secret}"));
    assert!(secret.starts_with(made.body["prefix"].as_str().unwrap()));
    let id = made.body["id"].as_i64().unwrap();

    // Fetched without any Authorization, as calendar programs do.
    let feed = api
        .send(
            Method::GET,
            &format!("/calendar.ics?token={secret}&env=dev"),
            None,
            None,
        )
        .await;
    assert_eq!(feed.status, StatusCode::OK, "{:?}", feed.body);
    assert_eq!(feed.content_type, "text/calendar; charset=utf-8");
    let text = feed.body.as_str().unwrap();
    assert!(text.starts_with("BEGIN:VCALENDAR\r\n"), "{text}");
    assert!(text.contains("\r\nUID:window-dev-1@ferry\r\n"), "{text}");
    assert!(!text.contains("window-prod-"), "only dev: {text}");
    // With an API token instead, the same calendar.
    let with_token = api
        .send(
            Method::GET,
            "/calendar.ics?env=dev",
            Some(ADMIN_TOKEN),
            None,
        )
        .await;
    assert_eq!(with_token.status, StatusCode::OK);
    // Neither: a problem that says what to send.
    let neither = api.send(Method::GET, "/calendar.ics", None, None).await;
    let detail = problem(&neither, StatusCode::UNAUTHORIZED, "unauthorized");
    assert!(detail.contains("token"), "{detail}");

    // The feed's secret is no API token.
    for (method, path) in [
        (Method::GET, "/api/v1/whoami"),
        (Method::GET, "/api/v1/calendar/feeds"),
        (Method::DELETE, "/api/v1/calendar/feeds/1"),
    ] {
        let reply = api.send(method, path, Some(&secret), None).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{path}");
    }

    // Listed without its secret; its use recorded.
    let listed = api.get("/api/v1/calendar/feeds").await;
    assert_eq!(listed.body["items"][0]["id"], id);
    assert!(listed.body["items"][0]["last_used_at"].is_string());
    assert!(!listed.body.to_string().contains(&secret));

    // A name is one line, and not blank.
    let blank = api
        .post(
            "/api/v1/calendar/feeds",
            &json!({ "name": "  " }).to_string(),
        )
        .await;
    problem(&blank, StatusCode::UNPROCESSABLE_ENTITY, "invalid");
    let unknown_field = api
        .post(
            "/api/v1/calendar/feeds",
            &json!({ "env": "dev" }).to_string(),
        )
        .await;
    problem(&unknown_field, StatusCode::BAD_REQUEST, "invalid-json");

    // Revoked: refused as a token that never was, and revoking again is
    // harmless.
    let revoked = api
        .send(
            Method::DELETE,
            &format!("/api/v1/calendar/feeds/{id}"),
            Some(ADMIN_TOKEN),
            None,
        )
        .await;
    assert_eq!(revoked.status, StatusCode::OK, "{:?}", revoked.body);
    assert!(revoked.body["revoked_at"].is_string());
    let refused = api
        .send(
            Method::GET,
            &format!("/calendar.ics?token={secret}"),
            None,
            None,
        )
        .await;
    let never = api
        .send(
            Method::GET,
            "/calendar.ics?token=ferry_cal_never",
            None,
            None,
        )
        .await;
    assert_eq!(
        problem(&refused, StatusCode::UNAUTHORIZED, "unauthorized"),
        problem(&never, StatusCode::UNAUTHORIZED, "unauthorized")
    );
    let again = api
        .send(
            Method::DELETE,
            &format!("/api/v1/calendar/feeds/{id}"),
            Some(ADMIN_TOKEN),
            None,
        )
        .await;
    assert_eq!(again.body["revoked_at"], revoked.body["revoked_at"]);
    let missing = api
        .send(
            Method::DELETE,
            "/api/v1/calendar/feeds/999",
            Some(ADMIN_TOKEN),
            None,
        )
        .await;
    problem(&missing, StatusCode::NOT_FOUND, "not-found");

    let trail = api.get("/api/v1/audit?limit=1000").await;
    let actions: Vec<&str> = trail.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["action"].as_str().unwrap())
        .filter(|action| action.starts_with("calendar-feed."))
        .collect();
    assert_eq!(actions.len(), 2, "made once, revoked once: {actions:?}");
    api.close().await;
}
