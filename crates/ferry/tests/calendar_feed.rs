//! The release calendar as an iCalendar feed, read the way calendar
//! programs read it: a real `ferry serve` with deployment windows in
//! Europe/Berlin and America/New_York (and one in UTC), a recurring and a
//! one-off freeze, an approved and a scheduled change window and a
//! deployment scheduled for later; a feed made with `ferry calendar feed
//! create`; its URL fetched like a calendar program does (no Authorization
//! header); and the feed parsed and expanded by Python's `icalendar` and
//! `recurring-ical-events` (`calendar_feed.py`, which also checks each
//! VTIMEZONE against the time-zone database). What they expand must be, to
//! the second, what ferry's own calendar API lists for the same period, and
//! for the same service and environment filters. The UIDs stay the same
//! from one fetch to the next, a revoked feed is refused, and the feed's
//! secret reads the calendar and does nothing else.
//!
//! Needs `python3` with `pip install icalendar recurring-ical-events`:
//! without them the test fails and says so (CI installs them in .ci/run).

mod support;

use std::collections::BTreeSet;
use std::process::Command;

use chrono::{DateTime, Duration, DurationRound, SecondsFormat, Utc};
use serde_json::Value;
use support::{Server, http_get, http_request};

/// dev (Berlin, Monday to Thursday) and qa (no windows) come first, then
/// prod (New York on Tuesdays and Thursdays, and every day at 06:00 UTC);
/// web only ever goes to dev.
const CONFIG: &str = r#"
[[environment]]
name = "dev"
tier = "development"
windows = [{ rrule = "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH;BYHOUR=9", duration = "8h", timezone = "Europe/Berlin" }]

[[environment]]
name = "qa"
tier = "staging"

[[environment]]
name = "prod"
tier = "production"
windows = [
  { rrule = "FREQ=WEEKLY;BYDAY=TU,TH;BYHOUR=14;BYMINUTE=30", duration = "2h", timezone = "America/New_York" },
  { rrule = "FREQ=DAILY;BYHOUR=6", duration = "1h" },
]

[lifecycle.default]
phases = [["dev", "qa"], ["prod"]]

[lifecycle.dev-only]
phases = [["dev"]]

[[service]]
name = "api"

[[service]]
name = "web"
lifecycle = "dev-only"
"#;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/calendar_feed.py");

/// Fails, saying what to install, unless python3 and the packages are there.
fn require_python() {
    let probe = Command::new("python3")
        .args(["-c", "import icalendar, recurring_ical_events"])
        .output();
    match probe {
        Ok(output) if output.status.success() => {}
        Ok(output) => panic!(
            "this test needs the Python packages icalendar and recurring-ical-events: \
             run `pip install icalendar recurring-ical-events` (CI does, in .ci/run); python3 said: {}",
            String::from_utf8_lossy(&output.stderr)
        ),
        Err(error) => panic!(
            "this test needs python3 with the packages icalendar and recurring-ical-events \
             (`pip install icalendar recurring-ical-events`); python3 could not be run: {error}"
        ),
    }
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn instant(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|error| panic!("{text:?}: {error}"))
        .with_timezone(&Utc)
}

/// What a calendar shows: (kind, title, start, end).
type Shown = BTreeSet<(String, String, DateTime<Utc>, DateTime<Utc>)>;

/// The feed at `path`, as a calendar program fetches it: no Authorization.
fn fetch(server: &Server, path: &str) -> (u16, String) {
    let address = server.url.trim_start_matches("http://");
    http_get(address, path).unwrap_or_else(|| panic!("the server answers {path}"))
}

/// `calendar_feed.py` over `feed` from `from` to `to`: its JSON.
fn expand(server: &Server, feed: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Value {
    let file = server.home.path().join("feed.ics");
    std::fs::write(&file, feed).unwrap();
    let output = Command::new("python3")
        .arg(SCRIPT)
        .arg(&file)
        .arg(rfc3339(from))
        .arg(rfc3339(to))
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "calendar_feed.py failed ({}): {}\nthe feed:\n{feed}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn shown_by_python(expanded: &Value) -> Shown {
    expanded["occurrences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["kind"].as_str().unwrap().to_owned(),
                o["summary"].as_str().unwrap().to_owned(),
                instant(o["start"].as_str().unwrap()),
                instant(o["end"].as_str().unwrap()),
            )
        })
        .collect()
}

/// `GET /api/v1/calendar?from=&to=` and `extra`, as the admin.
fn shown_by_api(server: &Server, from: DateTime<Utc>, to: DateTime<Utc>, extra: &str) -> Shown {
    let address = server.url.trim_start_matches("http://");
    let path = format!(
        "/api/v1/calendar?from={}&to={}{extra}",
        rfc3339(from),
        rfc3339(to)
    );
    let (status, body) = http_request(address, "GET", &path, &server.token, "").unwrap();
    assert_eq!(status, 200, "{path}: {body}");
    let page: Value = serde_json::from_str(&body).unwrap();
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_owned(),
                e["title"].as_str().unwrap().to_owned(),
                instant(e["start"].as_str().unwrap()),
                instant(e["end"].as_str().unwrap()),
            )
        })
        .collect()
}

/// The feed's text without its DTSTAMP lines, which say when it was made.
fn without_stamps(feed: &str) -> String {
    feed.split("\r\n")
        .filter(|line| !line.starts_with("DTSTAMP:"))
        .collect::<Vec<_>>()
        .join("\r\n")
}

fn kinds(shown: &Shown) -> BTreeSet<&str> {
    shown.iter().map(|(kind, ..)| kind.as_str()).collect()
}

#[test]
fn a_calendar_program_sees_what_the_calendar_api_lists() {
    require_python();
    let server = Server::builder().env("RUST_LOG", "debug").start();
    server.apply(CONFIG);
    let now = Utc::now().duration_trunc(Duration::minutes(1)).unwrap();
    let at = |days: i64, hours: i64| rfc3339(now + Duration::days(days) + Duration::hours(hours));

    // A recurring freeze (Friday afternoons in Berlin) whose reason needs
    // escaping, and a one-off one.
    server
        .ferry(&[
            "freeze",
            "create",
            "fridays",
            "--env",
            "prod",
            "--rrule",
            "FREQ=WEEKLY;BYDAY=FR;BYHOUR=15",
            "--duration",
            "6h",
            "--timezone",
            "Europe/Berlin",
            "--reason",
            "weekend, quiet; no \\ exceptions\nreally",
        ])
        .success();
    server
        .ferry(&[
            "freeze",
            "create",
            "launch",
            "--env",
            "dev",
            "--env",
            "prod",
            "--start",
            &at(3, 0),
            "--end",
            &at(5, 0),
            "--reason",
            "launch week",
        ])
        .success();
    // A deployment scheduled for later, into qa (no windows).
    for service in ["api", "web"] {
        server
            .ferry(&["release", "create", service, "--version", "1.0.0"])
            .success();
    }
    let scheduled = server.json(&["promote", "api@1.0.0", "--to", "qa", "--at", &at(6, 0)]);
    let deployment = scheduled["id"].as_i64().unwrap();
    // A standard change is approved when submitted; another is scheduled.
    let change = |service: &str, environment: &str, title: &str, window: String| -> i64 {
        let created = server.json(&[
            "change",
            "create",
            "--title",
            title,
            "--type",
            "standard",
            "--service",
            service,
            "--env",
            environment,
            "--window",
            &window,
        ]);
        let id = created["id"].as_i64().unwrap();
        server
            .ferry(&["change", "submit", &id.to_string()])
            .success();
        id
    };
    let approved = change(
        "api",
        "prod",
        "Ship refunds, v2; safely",
        format!("{}..{}", at(7, 0), at(7, 2)),
    );
    let moved = change(
        "web",
        "dev",
        "Move the web cache",
        format!("{}..{}", at(8, 0), at(8, 1)),
    );
    server
        .ferry(&[
            "change",
            "schedule",
            &moved.to_string(),
            "--window",
            &format!("{}..{}", at(9, 0), at(9, 3)),
        ])
        .success();
    let states: Vec<String> = [approved, moved]
        .iter()
        .map(|id| server.json(&["change", "show", &id.to_string()])["state"].to_string())
        .collect();
    assert_eq!(states, ["\"approved\"", "\"scheduled\""]);

    // The feed, made as a user does, fetched as a calendar program does.
    let made = server
        .ferry(&["calendar", "feed", "create", "--name", "phone"])
        .success();
    let url = made.stdout.lines().last().unwrap().trim().to_owned();
    assert!(
        made.stdout.contains("ferry calendar feed revoke"),
        "{}",
        made.stdout
    );
    let path = url
        .strip_prefix(&server.url)
        .unwrap_or_else(|| panic!("{url} is on {}", server.url))
        .to_owned();
    let secret = path
        .strip_prefix("/calendar.ics?token=")
        .unwrap_or_else(|| panic!("{path} has the feed's token"))
        .to_owned();
    assert!(secret.starts_with("ferry_cal_"), "{secret}");
    let (status, feed) = fetch(&server, &path);
    assert_eq!(status, 200, "{feed}");

    // RFC 5545's form, as the programs that read it need it.
    assert!(feed.starts_with("BEGIN:VCALENDAR\r\n") && feed.ends_with("END:VCALENDAR\r\n"));
    for line in feed[..feed.len() - 2].split("\r\n") {
        assert!(!line.contains('\n'), "a bare line feed in {line:?}");
        assert!(line.len() <= 75, "{} octets: {line:?}", line.len());
    }
    let unfolded = feed.replace("\r\n ", "");
    for wanted in [
        "\r\nUID:window-dev-1@ferry\r\n",
        "\r\nUID:window-prod-1@ferry\r\n",
        "\r\nUID:window-prod-2@ferry\r\n",
        "\r\nUID:freeze-fridays@ferry\r\n",
        "\r\nUID:freeze-launch@ferry\r\n",
        &format!("\r\nUID:change-{approved}@ferry\r\n"),
        &format!("\r\nUID:change-{moved}@ferry\r\n"),
        &format!("\r\nUID:deployment-{deployment}@ferry\r\n"),
        "\r\nTZID:Europe/Berlin\r\n",
        "\r\nTZID:America/New_York\r\n",
        "\r\nDTSTART;TZID=Europe/Berlin:20240101T090000\r\n",
        "\r\nRRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH;BYHOUR=9\r\n",
        "\r\nRRULE:FREQ=WEEKLY;BYDAY=FR;BYHOUR=15\r\n",
        "\r\nSUMMARY:freeze fridays: weekend\\, quiet\\; no \\\\ exceptions\\nreally\r\n",
    ] {
        assert!(unfolded.contains(wanted), "{wanted:?} is not in:\n{feed}");
    }
    // Each recurring window and freeze is one event with its rule.
    assert_eq!(
        unfolded.matches("\r\nBEGIN:VEVENT\r\n").count(),
        8,
        "{feed}"
    );
    let events_part = &unfolded[unfolded.find("\r\nBEGIN:VEVENT\r\n").unwrap()..];
    assert_eq!(events_part.matches("\r\nRRULE:").count(), 4, "{feed}");

    // What the programs expand is what the API lists, to the second.
    let from = now + Duration::seconds(17);
    let to = from + Duration::days(21);
    let expanded = expand(&server, &feed, from, to);
    let zones: Vec<&str> = expanded["zones"]
        .as_array()
        .unwrap()
        .iter()
        .map(|zone| zone.as_str().unwrap())
        .collect();
    assert_eq!(zones, ["Europe/Berlin", "America/New_York"]);
    let python = shown_by_python(&expanded);
    let api = shown_by_api(&server, from, to, "");
    assert_eq!(
        kinds(&api),
        BTreeSet::from(["change", "deployment", "freeze", "window"])
    );
    assert!(api.len() > 30, "three weeks of windows: {api:#?}");
    assert_eq!(python, api, "the feed, expanded, is not what the API lists");

    // The same fetched again: the same events under the same UIDs.
    let (_, again) = fetch(&server, &path);
    let events = |feed: &str| expand(&server, feed, from, to)["events"].clone();
    assert_eq!(events(&again), events(&feed));
    assert_eq!(without_stamps(&again), without_stamps(&feed));
    // `ferry calendar --ics` prints the same calendar.
    let printed = server.ferry(&["calendar", "--ics"]).success();
    assert_eq!(without_stamps(&printed.stdout), without_stamps(&feed));
    // The calendar command shows what it showed before.
    let listed = server.json(&["calendar", "--days", "21"]);
    assert!(
        !listed["items"].as_array().unwrap().is_empty(),
        "{listed:#}"
    );

    // Filters: one environment, one service, each as the API filters.
    for (feed_query, api_query) in [
        ("&env=prod", "&environment=prod"),
        ("&env=dev", "&environment=dev"),
        ("&service=web", "&service=web"),
        ("&service=api&env=qa", "&service=api&environment=qa"),
    ] {
        let (status, narrowed) = fetch(&server, &format!("{path}{feed_query}"));
        assert_eq!(status, 200, "{feed_query}: {narrowed}");
        let python = shown_by_python(&expand(&server, &narrowed, from, to));
        let api = shown_by_api(&server, from, to, api_query);
        assert!(!api.is_empty(), "{feed_query}");
        assert_eq!(python, api, "{feed_query}");
    }
    let (_, web) = fetch(&server, &format!("{path}&service=web"));
    let web = web.replace("\r\n ", "");
    assert!(
        web.contains("UID:window-dev-1@ferry") && !web.contains("UID:window-prod-"),
        "web goes to dev only: {web}"
    );
    assert!(
        web.contains(&format!("UID:change-{moved}@ferry"))
            && !web.contains(&format!("UID:change-{approved}@ferry"))
            && !web.contains("UID:deployment-"),
        "{web}"
    );
    let printed = server
        .ferry(&["calendar", "--ics", "--service", "web"])
        .success();
    assert_eq!(
        without_stamps(&printed.stdout.replace("\r\n ", "")),
        without_stamps(&web)
    );
    // A name that is no name is refused, as a problem.
    let (status, refused) = fetch(&server, &format!("{path}&env=No_Such!"));
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused.contains("urn:ferry:problem:bad-request"),
        "{refused}"
    );

    // The feed's secret reads the calendar and nothing else.
    let address = server.url.trim_start_matches("http://");
    for (method, route, body) in [
        ("GET", "/api/v1/whoami", ""),
        ("GET", "/api/v1/calendar", ""),
        ("GET", "/calendar.ics", ""),
        ("POST", "/api/v1/calendar/feeds", "{}"),
        ("DELETE", "/api/v1/freezes/launch", ""),
    ] {
        let (status, answer) = http_request(address, method, route, &secret, body).unwrap();
        assert_eq!(
            status, 401,
            "{method} {route} with the feed's secret: {answer}"
        );
    }

    // Only what its owner may read: a viewer's feed works until the viewer
    // loses their grant; someone with no grant gets none.
    let vera = server.user_with_roles("vera", &["viewer"]);
    let made = server
        .ferry_as(Some(&vera), &["calendar", "feed", "create"])
        .success();
    let vera_url = made.stdout.lines().last().unwrap().trim().to_owned();
    let vera_path = vera_url.strip_prefix(&server.url).unwrap().to_owned();
    assert_eq!(fetch(&server, &vera_path).0, 200);
    server
        .ferry(&["role", "revoke", "viewer", "--user", "vera"])
        .success();
    let (status, refused) = fetch(&server, &vera_path);
    assert_eq!(status, 403, "{refused}");
    let nora = server.user("nora");
    let refused = server
        .ferry_as(Some(&nora), &["calendar", "feed", "create"])
        .code(1);
    assert!(refused.stderr.contains("may not"), "{}", refused.stderr);

    // Revoked, the feed is refused, exactly as a token that never was.
    let feeds = server.json(&["calendar", "feed", "list"]);
    let mine: Vec<&Value> = feeds["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|feed| feed["user"] == "admin")
        .collect();
    assert_eq!(mine.len(), 1, "{feeds:#}");
    assert!(mine[0]["last_used_at"].is_string(), "its use is recorded");
    assert!(
        !feeds.to_string().contains(&secret),
        "the list never holds a secret"
    );
    let id = mine[0]["id"].as_i64().unwrap().to_string();
    server.ferry(&["calendar", "feed", "revoke", &id]).success();
    let (status, revoked) = fetch(&server, &path);
    assert_eq!(status, 401, "{revoked}");
    let (status, unknown) = fetch(&server, "/calendar.ics?token=ferry_cal_0123456789");
    assert_eq!(status, 401, "{unknown}");
    let detail = |body: &str| serde_json::from_str::<Value>(body).unwrap()["detail"].clone();
    assert_eq!(
        detail(&revoked),
        detail(&unknown),
        "refusals say nothing of which"
    );
    let trail = server.json(&["audit", "list", "--limit", "1000"]);
    let actions: Vec<&str> = trail["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions
            .iter()
            .filter(|action| action.starts_with("calendar-feed."))
            .count(),
        3,
        "two made, one revoked: {actions:?}"
    );

    // The secret is nowhere in the server's log, debug lines included.
    let log = server.log();
    assert!(log.contains("calendar.ics"), "the log shows the fetches");
    assert!(!log.contains(&secret), "the feed's secret is in the log");
}
