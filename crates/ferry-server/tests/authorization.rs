//! The authorization matrix: every route of the server, sent by every kind
//! of caller, answered as the permission table of the access-control issue
//! says it must be.
//!
//! The expected answers are written here, from the issue's role table:
//!
//! - viewer: reads everything but secret values;
//! - developer: a viewer who also creates releases, uploads artifacts, adds
//!   evidence, raises and submits change requests;
//! - deployer: a developer who also promotes, rolls back, cancels, reports
//!   deployments of services without deployment steps, abandons releases and
//!   implements change requests;
//! - approver: a viewer who also approves and rejects releases, and
//!   assesses, approves, rejects and defers change requests (never their own);
//! - release-manager: all of these, plus freezes, change schedules, reviews
//!   and closes, and emergency promotions;
//! - admin: everything (apply, users, groups, grants, variables, agents);
//! - reads need a grant, any, of any scope; one's own tokens and `whoami`
//!   need only a valid token; agent endpoints only an agent's token, and
//!   only for its own jobs; a protected environment needs a grant naming it.
//!
//! They are never computed with ferry-core's permission functions: the test
//! would then pass by construction.
//!
//! Each row runs against a world of its own (`common::world`), the refused
//! callers first and the allowed ones after, so that no success changes what
//! a refused caller meets. A refusal must change nothing: a 403 of anything
//! but a read appends exactly one audit event, `access.denied` by the
//! caller; any other refusal appends none. The audit trail verifies at the
//! end of every row.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use axum::http::Method;
use common::Backend;
use common::world::{self, ARTIFACT, Template, World, digest};
use ferry_core::change::ChangeAction;
use serde_json::Value;

/// The callers, one column each, in the order of the expectation strings.
const COLUMNS: [&str; 16] = [
    "no token",
    "a user with no grant",
    "viewer",
    "developer",
    "deployer",
    "approver",
    "release-manager",
    "admin",
    "release-manager of service other",
    "release-manager in environment other",
    "an admin's expired token",
    "an admin's revoked token",
    "an admin's token narrowed to developer of api",
    "agent of dev",
    "agent of staging",
    "CI workload (developer of api)",
];

// The expectation strings: one code per column above. U = 401, F = 403,
// N = 404, A = allowed (the first allowed caller gets the row's success
// status exactly; later ones anything but 401, 403 or a server error, since
// the first changed the state), a number = exactly that status.
//
//                          no  nog view dev depl appr rm adm rmS rmE exp rev nar agt stg ci
const PUBLIC: &str = "200 200 200 200 200 200 200 200 200 200 200 200 200 200 200 200";
const READ: &str = "U F A A A A A A A A U U A U U A";
const ANY_TOKEN: &str = "U A A A A A A A A A U U A U U A";
const ADMIN: &str = "U F F F F F F A F F U U F U U F";
/// On service api in environment dev.
const DEVELOPER: &str = "U F F A A F A A F F U U A U U A";
const DEPLOYER: &str = "U F F F A F A A F F U U F U U F";
const APPROVER: &str = "U F F F F A A A F F U U F U U F";
const RELEASE_MANAGER: &str = "U F F F F F A A F F U U F U U F";
/// Moving or approving a release in prod: no grant names prod.
const PROTECTED: &str = "U F F F F F F F F F U U F U U F";
/// An agent's own job: the agent of staging is not shown it exists.
const AGENT_JOB: &str = "U U U U U U U U U U U U U A N U";
/// Whatever the Authorization header says: a calendar feed's token in the
/// URL decides.
const EVERYONE_401: &str = "U U U U U U U U U U U U U U U U";
const EVERYONE_403: &str = "F F F F F F F F F F F F F F F F";

/// What a route does, for what a refusal must leave behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Reads: a refusal is not audited.
    Read,
    /// Changes something: a 403 is audited as `access.denied`.
    Write,
}

/// What a row needs done to its world before its requests.
#[derive(Debug, Clone, Copy)]
enum Setup {
    None,
    /// The change request moved by these actions.
    Change(&'static [ChangeAction]),
    /// api@1.0.0's deployment into dev reported succeeded (so it can be
    /// rolled back to 0.9.0).
    DeploymentSucceeded,
    /// api@1.0.0's deployment into dev reported failed (so it has an open
    /// post-implementation review).
    DeploymentFailed,
    /// The job of `web-1` claimed by it (its attempt 1 exists).
    JobClaimed,
    /// api locked in dev.
    Locked,
    /// api@1.0.0 has a plan (id 1) with a milestone (id 1) and an
    /// unassigned task (id 1).
    Planned,
    /// Train `t` of api@1.0.0, with a plan.
    Train,
    /// Incident 1 of api in dev, open.
    Incident,
    /// api@1.0.0 succeeded in dev and was rolled back there (so it is
    /// marked bad there).
    RolledBack,
    /// A calendar feed (`phone`) for each person, whose secret is
    /// `ferry_cal_test_<name>`, and the viewer's revoked feed
    /// `ferry_cal_test_revoked`.
    CalendarFeeds,
    /// Webhook 1 (every event) with delivery 1 waiting (an incident's).
    Webhook,
}

#[derive(Debug, Clone)]
struct Row {
    method: &'static str,
    /// The path as the OpenAPI document names it.
    route: &'static str,
    /// Which of several rows of the route this is.
    label: &'static str,
    /// The request's path; `<name>` is filled from the world.
    uri: &'static str,
    body: Option<&'static str>,
    kind: Kind,
    setup: Setup,
    /// The status of the first allowed caller.
    success: u16,
    expect: &'static str,
    /// Whether the OpenAPI document lists the route.
    documented: bool,
}

fn row(
    method: &'static str,
    route: &'static str,
    uri: &'static str,
    body: Option<&'static str>,
    success: u16,
    expect: &'static str,
) -> Row {
    Row {
        method,
        route,
        label: "",
        uri,
        body,
        kind: if method == "GET" || method == "HEAD" {
            Kind::Read
        } else {
            Kind::Write
        },
        setup: Setup::None,
        success,
        expect,
        documented: true,
    }
}

fn get(route: &'static str, uri: &'static str) -> Row {
    row("GET", route, uri, None, 200, READ)
}

impl Row {
    fn label(mut self, label: &'static str) -> Self {
        self.label = label;
        self
    }

    fn setup(mut self, setup: Setup) -> Self {
        self.setup = setup;
        self
    }

    fn kind(mut self, kind: Kind) -> Self {
        self.kind = kind;
        self
    }

    fn undocumented(mut self) -> Self {
        self.documented = false;
        self
    }

    fn name(&self) -> String {
        if self.label.is_empty() {
            format!("{} {}", self.method, self.route)
        } else {
            format!("{} {} [{}]", self.method, self.route, self.label)
        }
    }
}

const CHANGE_ACT: &str = "/api/v1/change-requests/{id}/{action}";
const SUBMITTED: &[ChangeAction] = &[ChangeAction::Submit];
const ASSESSED: &[ChangeAction] = &[ChangeAction::Submit, ChangeAction::Assess];
const APPROVED: &[ChangeAction] = &[
    ChangeAction::Submit,
    ChangeAction::Assess,
    ChangeAction::Approve,
];
const IMPLEMENTED: &[ChangeAction] = &[
    ChangeAction::Submit,
    ChangeAction::Assess,
    ChangeAction::Approve,
    ChangeAction::Implement,
];

/// The table: every route, with how to call it and who may.
fn rows() -> Vec<Row> {
    use Setup::{
        CalendarFeeds, Change, DeploymentFailed, DeploymentSucceeded, Incident, JobClaimed, Locked,
        Planned, RolledBack, Train, Webhook,
    };
    vec![
        // Health: open to everyone, on purpose.
        row("GET", "/healthz", "/healthz", None, 200, PUBLIC).kind(Kind::Read),
        row("GET", "/readyz", "/readyz", None, 200, PUBLIC).kind(Kind::Read),
        // Who one is, and one's own tokens: any valid token. A CI
        // workload has no user to hold tokens.
        row("GET", "/api/v1/whoami", "/api/v1/whoami", None, 200, ANY_TOKEN),
        row("GET", "/api/v1/tokens", "/api/v1/tokens", None, 200, ANY_TOKEN),
        row(
            "POST",
            "/api/v1/tokens",
            "/api/v1/tokens",
            Some(r#"{"name":"mine"}"#),
            201,
            "U A A A A A A A A A U U A U U F",
        ),
        row(
            "DELETE",
            "/api/v1/tokens/{id}",
            "/api/v1/tokens/<spare>",
            None,
            200,
            "U A A A A A A A A A U U A U U N",
        )
        .label("one's own"),
        row(
            "DELETE",
            "/api/v1/tokens/{id}",
            "/api/v1/tokens/<victim_token>",
            None,
            200,
            "U N N N N N N A N N U U N U U N",
        )
        .label("someone else's"),
        // People, groups and grants.
        get("/api/v1/users", "/api/v1/users"),
        row(
            "POST",
            "/api/v1/users",
            "/api/v1/users",
            Some(r#"{"name":"newcomer","email":"newcomer@example.com"}"#),
            201,
            ADMIN,
        ),
        row(
            "POST",
            "/api/v1/users/{name}/disable",
            "/api/v1/users/victim/disable",
            None,
            200,
            ADMIN,
        ),
        row(
            "POST",
            "/api/v1/users/{name}/enable",
            "/api/v1/users/victim/enable",
            None,
            200,
            ADMIN,
        ),
        // One's own password is anyone's to set (see `web`); others' are
        // the administrators'.
        row(
            "PUT",
            "/api/v1/users/{name}/password",
            "/api/v1/users/victim/password",
            Some(r#"{"password":"a long new password"}"#),
            200,
            ADMIN,
        )
        .label("someone else's"),
        row(
            "POST",
            "/api/v1/users/{name}/invitations",
            "/api/v1/users/victim/invitations",
            Some("{}"),
            201,
            ADMIN,
        ),
        get("/api/v1/groups", "/api/v1/groups"),
        row(
            "POST",
            "/api/v1/groups",
            "/api/v1/groups",
            Some(r#"{"name":"newcrew"}"#),
            201,
            ADMIN,
        ),
        row(
            "PUT",
            "/api/v1/groups/{group}/members/{user}",
            "/api/v1/groups/crew/members/victim",
            None,
            200,
            ADMIN,
        ),
        row(
            "DELETE",
            "/api/v1/groups/{group}/members/{user}",
            "/api/v1/groups/team/members/victim",
            None,
            200,
            ADMIN,
        ),
        get("/api/v1/grants", "/api/v1/grants"),
        row(
            "POST",
            "/api/v1/grants",
            "/api/v1/grants",
            Some(r#"{"user":"victim","role":"developer","service":"api"}"#),
            201,
            ADMIN,
        ),
        row(
            "DELETE",
            "/api/v1/grants/{id}",
            "/api/v1/grants/<victim_grant>",
            None,
            200,
            ADMIN,
        ),
        get("/api/v1/permissions", "/api/v1/permissions"),
        // The exchange needs no Authorization: the ID token is the proof,
        // whatever else is sent.
        row(
            "POST",
            "/api/v1/oidc/exchange",
            "/api/v1/oidc/exchange",
            Some(r#"{"token":"<jwt>"}"#),
            201,
            "201 201 201 201 201 201 201 201 201 201 201 201 201 201 201 201",
        ),
        // Configuration.
        row(
            "POST",
            "/api/v1/apply",
            "/api/v1/apply",
            Some(r#"{"config":<config>,"dry_run":false}"#),
            200,
            ADMIN,
        ),
        row(
            "POST",
            "/api/v1/apply",
            "/api/v1/apply",
            Some(r#"{"config":<config>,"dry_run":true}"#),
            200,
            READ,
        )
        .label("dry run: a read")
        .kind(Kind::Read),
        get("/api/v1/environments", "/api/v1/environments"),
        get("/api/v1/environments/{name}", "/api/v1/environments/prod"),
        get(
            "/api/v1/environments/{environment}/variables",
            "/api/v1/environments/dev/variables",
        ),
        row(
            "PUT",
            "/api/v1/environments/{environment}/variables/{name}",
            "/api/v1/environments/dev/variables/NEW_VAR",
            Some(r#"{"value":"new"}"#),
            201,
            ADMIN,
        ),
        row(
            "DELETE",
            "/api/v1/environments/{environment}/variables/{name}",
            "/api/v1/environments/dev/variables/VICTIM_VAR",
            None,
            200,
            ADMIN,
        ),
        get("/api/v1/lifecycles", "/api/v1/lifecycles"),
        get("/api/v1/lifecycles/{name}", "/api/v1/lifecycles/default"),
        get("/api/v1/services", "/api/v1/services"),
        get("/api/v1/services/{name}", "/api/v1/services/api"),
        // Releases and artifacts.
        get(
            "/api/v1/services/{service}/releases",
            "/api/v1/services/api/releases",
        ),
        row(
            "POST",
            "/api/v1/services/{service}/releases",
            "/api/v1/services/api/releases",
            Some(r#"{"version":"2.0.0"}"#),
            201,
            DEVELOPER,
        ),
        row(
            "POST",
            "/api/v1/services/{service}/releases",
            "/api/v1/services/other/releases",
            Some(r#"{"version":"2.0.0"}"#),
            201,
            "U F F A A F A A A F U U F U U F",
        )
        .label("of service other"),
        get("/api/v1/releases", "/api/v1/releases"),
        get(
            "/api/v1/services/{service}/releases/{version}",
            "/api/v1/services/api/releases/1.0.0",
        ),
        row(
            "POST",
            "/api/v1/services/{service}/releases/{version}/abandon",
            "/api/v1/services/api/releases/1.0.0/abandon",
            None,
            200,
            DEPLOYER,
        ),
        get(
            "/api/v1/services/{service}/releases/{version}/notes",
            "/api/v1/services/api/releases/1.0.0/notes",
        ),
        get(
            "/api/v1/services/{service}/diff",
            "/api/v1/services/api/diff?from=dev&to=staging",
        ),
        row(
            "PUT",
            "/api/v1/blobs/{digest}",
            "/api/v1/blobs/<new_digest>",
            Some("world"),
            201,
            "U F F A A F A A A A U U A U U A",
        ),
        row(
            "HEAD",
            "/api/v1/blobs/{digest}",
            "/api/v1/blobs/<digest>",
            None,
            200,
            READ,
        ),
        get(
            "/api/v1/services/{service}/releases/{version}/artifacts/{name}",
            "/api/v1/services/api/releases/1.0.0/artifacts/app.bin",
        ),
        // Approvals, evidence, gates, promotion.
        row(
            "POST",
            "/api/v1/services/{service}/releases/{version}/decisions",
            "/api/v1/services/api/releases/1.0.0/decisions",
            Some(r#"{"environment":"dev","approve":true}"#),
            201,
            APPROVER,
        ),
        row(
            "POST",
            "/api/v1/services/{service}/releases/{version}/decisions",
            "/api/v1/services/api/releases/1.0.0/decisions",
            Some(r#"{"environment":"prod","approve":true}"#),
            201,
            PROTECTED,
        )
        .label("for protected prod"),
        row(
            "POST",
            "/api/v1/services/{service}/releases/{version}/decisions",
            "/api/v1/services/other/releases/1.0.0/decisions",
            Some(r#"{"environment":"other","approve":true}"#),
            201,
            "U F F F F A A A A A U U F U U F",
        )
        .label("other@1.0.0 for environment other"),
        get(
            "/api/v1/services/{service}/releases/{version}/decisions",
            "/api/v1/services/api/releases/1.0.0/decisions?environment=dev",
        ),
        row(
            "POST",
            "/api/v1/services/{service}/releases/{version}/evidence",
            "/api/v1/services/api/releases/1.0.0/evidence",
            Some(r#"{"environment":"dev","name":"unit","passed":true}"#),
            201,
            DEVELOPER,
        ),
        get(
            "/api/v1/services/{service}/releases/{version}/evidence",
            "/api/v1/services/api/releases/1.0.0/evidence?environment=dev",
        ),
        get(
            "/api/v1/services/{service}/releases/{version}/check",
            "/api/v1/services/api/releases/1.0.0/check?environment=dev",
        ),
        row(
            "POST",
            "/api/v1/promotions",
            "/api/v1/promotions",
            Some(r#"{"service":"api","version":"1.0.0","environment":"dev"}"#),
            // api@1.0.0 is queued in dev already: the promotion answers
            // that deployment rather than making another.
            200,
            DEPLOYER,
        ),
        row(
            "POST",
            "/api/v1/promotions",
            "/api/v1/promotions",
            Some(
                r#"{"service":"api","version":"1.0.0","environment":"dev","emergency_reason":"the site is down"}"#,
            ),
            200,
            RELEASE_MANAGER,
        )
        .label("emergency"),
        row(
            "POST",
            "/api/v1/promotions",
            "/api/v1/promotions",
            Some(r#"{"service":"api","version":"1.0.0","environment":"prod"}"#),
            201,
            PROTECTED,
        )
        .label("into protected prod"),
        row(
            "POST",
            "/api/v1/promotions",
            "/api/v1/promotions",
            Some(r#"{"service":"other","version":"1.0.0","environment":"other"}"#),
            201,
            "U F F F A F A A A A U U F U U F",
        )
        .label("other@1.0.0 into environment other"),
        row(
            "POST",
            "/api/v1/deployments/{id}/report",
            "/api/v1/deployments/<deployment>/report",
            Some(r#"{"status":"running"}"#),
            200,
            DEPLOYER,
        ),
        // Change requests: each verb from the state it moves.
        row(
            "POST",
            "/api/v1/change-requests",
            "/api/v1/change-requests",
            Some(r#"{"title":"upgrade","type":"normal","service":"api","environment":"dev"}"#),
            201,
            DEVELOPER,
        ),
        get("/api/v1/change-requests", "/api/v1/change-requests"),
        get(
            "/api/v1/change-requests/{id}",
            "/api/v1/change-requests/<change>",
        ),
        row(
            "POST",
            CHANGE_ACT,
            "/api/v1/change-requests/<change>/submit",
            Some("{}"),
            200,
            DEVELOPER,
        )
        .label("submit"),
        row(
            "POST",
            CHANGE_ACT,
            "/api/v1/change-requests/<change>/assess",
            Some(r#"{"risk":"low"}"#),
            200,
            APPROVER,
        )
        .label("assess")
        .setup(Change(SUBMITTED)),
        row(
            "POST",
            CHANGE_ACT,
            "/api/v1/change-requests/<change>/approve",
            Some("{}"),
            200,
            APPROVER,
        )
        .label("approve")
        .setup(Change(ASSESSED)),
        row(
            "POST",
            CHANGE_ACT,
            "/api/v1/change-requests/<change>/reject",
            Some(r#"{"reason":"not now"}"#),
            200,
            APPROVER,
        )
        .label("reject")
        .setup(Change(SUBMITTED)),
        row(
            "POST",
            CHANGE_ACT,
            "/api/v1/change-requests/<change>/defer",
            Some(r#"{"reason":"after the launch"}"#),
            200,
            APPROVER,
        )
        .label("defer")
        .setup(Change(SUBMITTED)),
        row(
            "POST",
            CHANGE_ACT,
            "/api/v1/change-requests/<change>/schedule",
            Some(r#"{"window":"2099-01-01T00:00:00Z..2099-01-01T01:00:00Z"}"#),
            200,
            RELEASE_MANAGER,
        )
        .label("schedule")
        .setup(Change(APPROVED)),
        row(
            "POST",
            CHANGE_ACT,
            "/api/v1/change-requests/<change>/implement",
            Some("{}"),
            200,
            DEPLOYER,
        )
        .label("implement")
        .setup(Change(APPROVED)),
        row(
            "POST",
            CHANGE_ACT,
            "/api/v1/change-requests/<change>/review",
            Some(r#"{"outcome":"successful"}"#),
            200,
            RELEASE_MANAGER,
        )
        .label("review")
        .setup(Change(IMPLEMENTED)),
        row(
            "POST",
            CHANGE_ACT,
            "/api/v1/change-requests/<change>/close",
            Some("{}"),
            200,
            RELEASE_MANAGER,
        )
        .label("close")
        .setup(Change(IMPLEMENTED)),
        // Freezes and the calendar.
        get("/api/v1/freezes", "/api/v1/freezes"),
        row(
            "POST",
            "/api/v1/freezes",
            "/api/v1/freezes",
            Some(
                r#"{"name":"quiet","start":"2099-06-01T00:00:00Z","end":"2099-06-02T00:00:00Z","environments":["dev"]}"#,
            ),
            201,
            RELEASE_MANAGER,
        ),
        row(
            "POST",
            "/api/v1/freezes",
            "/api/v1/freezes",
            Some(
                r#"{"name":"quiet","start":"2099-06-01T00:00:00Z","end":"2099-06-02T00:00:00Z","environments":["other"]}"#,
            ),
            201,
            "U F F F F F A A F A U U F U U F",
        )
        .label("of environment other"),
        row(
            "DELETE",
            "/api/v1/freezes/{name}",
            "/api/v1/freezes/year-end",
            None,
            200,
            RELEASE_MANAGER,
        ),
        get("/api/v1/calendar", "/api/v1/calendar"),
        // The calendar as iCalendar: with an API token, a read; with a
        // calendar feed's token in the URL, its owner's rights count and the
        // Authorization header does not.
        get("/calendar.ics", "/calendar.ics").label("with an API token"),
        row(
            "GET",
            "/calendar.ics",
            "/calendar.ics?token=ferry_cal_test_viewer&env=dev",
            None,
            200,
            PUBLIC,
        )
        .label("a viewer's feed")
        .setup(CalendarFeeds),
        row(
            "GET",
            "/calendar.ics",
            "/calendar.ics?token=ferry_cal_test_nogrant",
            None,
            403,
            EVERYONE_403,
        )
        .label("the feed of a user with no grant")
        .setup(CalendarFeeds),
        row(
            "GET",
            "/calendar.ics",
            "/calendar.ics?token=ferry_cal_test_revoked",
            None,
            401,
            EVERYONE_401,
        )
        .label("a revoked feed")
        .setup(CalendarFeeds),
        row(
            "GET",
            "/calendar.ics",
            "/calendar.ics?token=ferry_cal_unknown",
            None,
            401,
            EVERYONE_401,
        )
        .label("an unknown feed"),
        row(
            "GET",
            "/api/v1/calendar/feeds",
            "/api/v1/calendar/feeds",
            None,
            200,
            ANY_TOKEN,
        ),
        // A feed reads: only a person who may read makes one.
        row(
            "POST",
            "/api/v1/calendar/feeds",
            "/api/v1/calendar/feeds",
            Some(r#"{"name":"phone"}"#),
            201,
            "U F A A A A A A A A U U A U U F",
        ),
        row(
            "DELETE",
            "/api/v1/calendar/feeds/{id}",
            "/api/v1/calendar/feeds/<own_feed>",
            None,
            200,
            "U A A A A A A A A A U U A U U N",
        )
        .label("one's own")
        .setup(CalendarFeeds),
        row(
            "DELETE",
            "/api/v1/calendar/feeds/{id}",
            "/api/v1/calendar/feeds/<victim_feed>",
            None,
            200,
            "U N N N N N N A N N U U N U U N",
        )
        .label("someone else's")
        .setup(CalendarFeeds),
        // Release plans.
        get(
            "/api/v1/services/{service}/releases/{version}/plan",
            "/api/v1/services/api/releases/1.0.0/plan",
        )
        .setup(Planned),
        row(
            "POST",
            "/api/v1/services/{service}/releases/{version}/plan",
            "/api/v1/services/api/releases/1.0.0/plan",
            Some("{}"),
            201,
            RELEASE_MANAGER,
        ),
        get("/api/v1/plans/{id}", "/api/v1/plans/1").setup(Planned),
        row(
            "PATCH",
            "/api/v1/plans/{id}",
            "/api/v1/plans/1",
            Some(r#"{"go_live":"2030-01-01T00:00:00Z"}"#),
            200,
            RELEASE_MANAGER,
        )
        .setup(Planned),
        row(
            "POST",
            "/api/v1/plans/{id}/tasks",
            "/api/v1/plans/1/tasks",
            Some(r#"{"title":"check the dashboards"}"#),
            201,
            RELEASE_MANAGER,
        )
        .setup(Planned),
        row(
            "POST",
            "/api/v1/tasks/{id}/{action}",
            "/api/v1/tasks/1/start",
            Some("{}"),
            200,
            RELEASE_MANAGER,
        )
        .setup(Planned),
        row(
            "POST",
            "/api/v1/plans/{id}/milestones",
            "/api/v1/plans/1/milestones",
            Some(r#"{"name":"code freeze"}"#),
            201,
            RELEASE_MANAGER,
        )
        .setup(Planned),
        row(
            "POST",
            "/api/v1/milestones/{id}/done",
            "/api/v1/milestones/1/done",
            None,
            200,
            RELEASE_MANAGER,
        )
        .setup(Planned),
        // DORA metrics and incidents.
        get("/api/v1/metrics", "/api/v1/metrics"),
        get("/api/v1/incidents", "/api/v1/incidents"),
        row(
            "POST",
            "/api/v1/incidents",
            "/api/v1/incidents",
            Some(r#"{"service":"api","environment":"dev","title":"checkout errors"}"#),
            201,
            DEPLOYER,
        ),
        row(
            "POST",
            "/api/v1/incidents/{id}/resolve",
            "/api/v1/incidents/1/resolve",
            Some(r#"{"resolution":"restarted"}"#),
            200,
            DEPLOYER,
        )
        .setup(Incident),
        // Webhooks: administrators only, reads too (the addresses and
        // deliveries are theirs to see), so a refused read is audited.
        row("GET", "/api/v1/webhooks", "/api/v1/webhooks", None, 200, ADMIN).kind(Kind::Write),
        row(
            "POST",
            "/api/v1/webhooks",
            "/api/v1/webhooks",
            Some(r#"{"url":"http://127.0.0.1:9/hook","events":["*"]}"#),
            201,
            ADMIN,
        ),
        row(
            "DELETE",
            "/api/v1/webhooks/{id}",
            "/api/v1/webhooks/1",
            None,
            204,
            ADMIN,
        )
        .setup(Webhook),
        row(
            "GET",
            "/api/v1/webhooks/{id}/deliveries",
            "/api/v1/webhooks/1/deliveries",
            None,
            200,
            ADMIN,
        )
        .kind(Kind::Write)
        .setup(Webhook),
        row(
            "GET",
            "/api/v1/webhooks/deliveries/{id}",
            "/api/v1/webhooks/deliveries/1",
            None,
            200,
            ADMIN,
        )
        .kind(Kind::Write)
        .setup(Webhook),
        row(
            "POST",
            "/api/v1/webhooks/deliveries/{id}/redeliver",
            "/api/v1/webhooks/deliveries/1/redeliver",
            None,
            200,
            ADMIN,
        )
        .setup(Webhook),
        // Slack's callback takes no token: Slack's signature is its
        // credential, whatever Authorization says. The matrix's server has
        // no Slack app set up, so it is not there for anyone (a signed
        // click is tested in crates/ferry/tests/chat_and_mail.rs).
        row(
            "POST",
            "/api/v1/integrations/slack/interactions",
            "/api/v1/integrations/slack/interactions",
            None,
            401,
            "401 401 401 401 401 401 401 401 401 401 401 401 401 401 401 401",
        ),
        // Release trains.
        get("/api/v1/trains", "/api/v1/trains"),
        row(
            "POST",
            "/api/v1/trains",
            "/api/v1/trains",
            Some(r#"{"name":"t","releases":["api@1.0.0"]}"#),
            201,
            RELEASE_MANAGER,
        ),
        get("/api/v1/trains/{name}", "/api/v1/trains/t").setup(Train),
        get(
            "/api/v1/trains/{name}/check",
            "/api/v1/trains/t/check?environment=dev",
        )
        .setup(Train),
        get("/api/v1/trains/{name}/plan", "/api/v1/trains/t/plan").setup(Train),
        row(
            "POST",
            "/api/v1/trains/{name}/promotions",
            "/api/v1/trains/t/promotions",
            Some(r#"{"environment":"dev"}"#),
            201,
            DEPLOYER,
        )
        .setup(Train),
        // Locks and bad marks.
        get("/api/v1/locks", "/api/v1/locks"),
        row(
            "POST",
            "/api/v1/locks",
            "/api/v1/locks",
            Some(r#"{"environment":"dev","service":"api","reason":"incident"}"#),
            201,
            RELEASE_MANAGER,
        ),
        row(
            "POST",
            "/api/v1/locks/unlock",
            "/api/v1/locks/unlock",
            Some(r#"{"environment":"dev","service":"api","reason":"over"}"#),
            200,
            RELEASE_MANAGER,
        )
        .setup(Locked),
        row(
            "POST",
            "/api/v1/locks",
            "/api/v1/locks",
            Some(r#"{"environment":"prod","reason":"incident"}"#),
            201,
            PROTECTED,
        )
        .label("of protected prod"),
        get(
            "/api/v1/services/{service}/releases/{version}/marks",
            "/api/v1/services/api/releases/1.0.0/marks",
        ),
        row(
            "POST",
            "/api/v1/services/{service}/releases/{version}/unmark",
            "/api/v1/services/api/releases/1.0.0/unmark",
            Some(r#"{"environment":"dev","reason":"fixed"}"#),
            200,
            RELEASE_MANAGER,
        )
        .setup(RolledBack),
        // Deployments.
        get("/api/v1/deployments", "/api/v1/deployments"),
        get("/api/v1/deployments/{id}", "/api/v1/deployments/<deployment>"),
        row(
            "POST",
            "/api/v1/deployments/{id}/cancel",
            "/api/v1/deployments/<deployment>/cancel",
            Some("{}"),
            200,
            DEPLOYER,
        ),
        row(
            "POST",
            "/api/v1/deployments/{id}/decisions",
            "/api/v1/deployments/<deployment>/decisions",
            Some(r#"{"decision":"continue"}"#),
            // Allowed, and then refused: it waits for no decision.
            409,
            DEPLOYER,
        ),
        row(
            "POST",
            "/api/v1/rollbacks",
            "/api/v1/rollbacks",
            Some(r#"{"service":"api","environment":"dev"}"#),
            201,
            DEPLOYER,
        )
        .setup(DeploymentSucceeded),
        // Post-implementation reviews: reads, and completing one is a
        // release manager's, scoped to the deployment's service and
        // environment.
        get("/api/v1/reviews", "/api/v1/reviews"),
        get("/api/v1/reviews/{deployment}", "/api/v1/reviews/<deployment>")
            .setup(DeploymentFailed),
        row(
            "POST",
            "/api/v1/reviews/{deployment}",
            "/api/v1/reviews/<deployment>",
            Some(r#"{"outcome":"resolved","notes":"the health check was too strict"}"#),
            200,
            RELEASE_MANAGER,
        )
        .setup(DeploymentFailed),
        get(
            "/api/v1/deployments/{id}/logs",
            "/api/v1/deployments/<hello_deployment>/logs",
        ),
        get(
            "/api/v1/deployments/{id}/logs/stream",
            "/api/v1/deployments/<hello_deployment>/logs/stream",
        ),
        get("/api/v1/status", "/api/v1/status"),
        // The audit trail.
        get("/api/v1/audit", "/api/v1/audit"),
        get("/api/v1/audit/verify", "/api/v1/audit/verify"),
        get("/api/v1/audit/export", "/api/v1/audit/export"),
        // Evidence packs: a read, as the audit trail is.
        get(
            "/api/v1/evidence-pack",
            "/api/v1/evidence-pack?release=api@1.0.0&env=dev",
        ),
        // Agents: their tokens, for administrators; listing them is a read.
        row(
            "POST",
            "/api/v1/agent-tokens",
            "/api/v1/agent-tokens",
            Some(r#"{"environment":"dev","name":"web-9"}"#),
            201,
            ADMIN,
        ),
        get("/api/v1/agents", "/api/v1/agents"),
        row(
            "DELETE",
            "/api/v1/agents/{id}",
            "/api/v1/agents/<victim_agent>",
            None,
            200,
            ADMIN,
        ),
        row(
            "POST",
            "/api/v1/agents/{id}/token",
            "/api/v1/agents/<victim_agent>/token",
            None,
            201,
            ADMIN,
        ),
        // What agents call: agent tokens only, their own jobs only.
        row(
            "POST",
            "/api/v1/agent/hello",
            "/api/v1/agent/hello",
            Some("{}"),
            200,
            "U U U U U U U U U U U U U A 200 U",
        ),
        row(
            "GET",
            "/api/v1/agent/jobs/next",
            "/api/v1/agent/jobs/next",
            None,
            200,
            "U U U U U U U U U U U U U A 204 U",
        )
        .kind(Kind::Write),
        row(
            "POST",
            "/api/v1/agent/jobs/{id}/start",
            "/api/v1/agent/jobs/<job>/start",
            Some(r#"{"attempt":1}"#),
            200,
            AGENT_JOB,
        )
        .setup(JobClaimed),
        row(
            "POST",
            "/api/v1/agent/jobs/{id}/heartbeat",
            "/api/v1/agent/jobs/<job>/heartbeat",
            Some(r#"{"attempt":1}"#),
            200,
            AGENT_JOB,
        )
        .setup(JobClaimed),
        row(
            "POST",
            "/api/v1/agent/jobs/{id}/finish",
            "/api/v1/agent/jobs/<job>/finish",
            Some(r#"{"attempt":1,"succeeded":true}"#),
            200,
            AGENT_JOB,
        )
        .setup(JobClaimed),
        row(
            "POST",
            "/api/v1/agent/jobs/{id}/logs",
            "/api/v1/agent/jobs/<job>/logs",
            Some(r#"{"attempt":1,"lines":[]}"#),
            204,
            AGENT_JOB,
        )
        .setup(JobClaimed),
        row(
            "GET",
            "/api/v1/agent/jobs/{id}/artifacts/{name}",
            "/api/v1/agent/jobs/<job>/artifacts/app.bin",
            None,
            200,
            AGENT_JOB,
        ),
        // Served beside the document, not in it.
        row(
            "GET",
            "/api/v1/openapi.json",
            "/api/v1/openapi.json",
            None,
            200,
            ANY_TOKEN,
        )
        .undocumented(),
        // Prometheus metrics: any reader, as the labels name services.
        row("GET", "/metrics", "/metrics", None, 200, READ).undocumented(),
    ]
}

/// An expected answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Code {
    /// Refused with this status (401, 403 or 404).
    Refused(u16),
    /// Passes authorization.
    Allowed,
    /// Exactly this status.
    Exact(u16),
}

fn codes(expect: &str) -> Vec<Code> {
    expect
        .split_whitespace()
        .map(|code| match code {
            "U" => Code::Refused(401),
            "F" => Code::Refused(403),
            "N" => Code::Refused(404),
            "A" => Code::Allowed,
            number => Code::Exact(
                number
                    .parse()
                    .unwrap_or_else(|_| panic!("{number:?} is not a code")),
            ),
        })
        .collect()
}

/// Every (method, path) of the OpenAPI document.
fn documented_routes() -> BTreeSet<(String, String)> {
    let document = serde_json::to_value(ferry_server::openapi_document()).unwrap();
    let mut routes = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in ["get", "put", "post", "delete", "head", "patch", "options"] {
            if item.get(method).is_some_and(Value::is_object) {
                routes.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    routes
}

#[test]
fn every_route_has_a_row_and_every_row_a_route() {
    let documented = documented_routes();
    let table = rows();
    let mut problems = Vec::new();
    let covered: BTreeSet<(String, String)> = table
        .iter()
        .filter(|r| r.documented)
        .map(|r| (r.method.to_owned(), r.route.to_owned()))
        .collect();
    for (method, path) in documented.difference(&covered) {
        problems.push(format!(
            "the router has {method} {path}, which the matrix has no row for"
        ));
    }
    for (method, path) in covered.difference(&documented) {
        problems.push(format!(
            "the matrix has a row for {method} {path}, which the router does not have"
        ));
    }
    for r in &table {
        let n = codes(r.expect).len();
        if n != COLUMNS.len() {
            problems.push(format!(
                "row {} has {n} codes for {} columns",
                r.name(),
                COLUMNS.len()
            ));
        }
        if !r.documented && documented.contains(&(r.method.to_owned(), r.route.to_owned())) {
            problems.push(format!("row {} is documented after all", r.name()));
        }
    }
    assert!(
        world::has_exchange_route(),
        "the matrix has a column for CI workloads' exchanged tokens, and the server has no POST /api/v1/oidc/exchange"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A column's caller in one world.
struct Caller {
    column: &'static str,
    token: Option<String>,
    /// Whom the audit trail names for what they do.
    actor: Option<String>,
    /// A token of theirs they may revoke.
    spare: Option<i64>,
}

async fn callers(world: &World) -> Vec<Caller> {
    let person = |column, user: &str| {
        let p = world.person(user);
        Caller {
            column,
            token: Some(p.token.clone()),
            actor: Some(p.name.clone()),
            spare: Some(p.spare),
        }
    };
    let alice = |column, token: &String| Caller {
        column,
        token: Some(token.clone()),
        actor: Some("alice".to_owned()),
        spare: Some(world.person("alice").spare),
    };
    let agent = |column, token: &String| Caller {
        column,
        token: Some(token.clone()),
        actor: None,
        spare: None,
    };
    let ci = world
        .ci
        .clone()
        .expect("the server has no OIDC exchange route");
    let whoami = world.as_token(&ci).get("/api/v1/whoami").await;
    let ci_actor = whoami.body["user"]["name"].as_str().map(str::to_owned);
    let callers = vec![
        Caller {
            column: COLUMNS[0],
            token: None,
            actor: None,
            spare: None,
        },
        person(COLUMNS[1], "nogrant"),
        person(COLUMNS[2], "viewer"),
        person(COLUMNS[3], "developer"),
        person(COLUMNS[4], "deployer"),
        person(COLUMNS[5], "approver"),
        person(COLUMNS[6], "relman"),
        person(COLUMNS[7], "alice"),
        person(COLUMNS[8], "rm-svc-other"),
        person(COLUMNS[9], "rm-env-other"),
        alice(COLUMNS[10], &world.expired),
        alice(COLUMNS[11], &world.revoked),
        alice(COLUMNS[12], &world.narrowed),
        agent(COLUMNS[13], &world.agent.0),
        agent(COLUMNS[14], &world.staging_agent.0),
        Caller {
            column: COLUMNS[15],
            token: Some(ci),
            actor: ci_actor,
            spare: None,
        },
    ];
    assert_eq!(callers.len(), COLUMNS.len());
    callers
}

/// `text` with every `<name>` filled in for `caller` in `world`.
async fn fill(text: &str, world: &World, caller: &Caller) -> String {
    let victim_token = world.person("victim").token_id;
    let mut filled = text
        .replace("<spare>", &caller.spare.unwrap_or(victim_token).to_string())
        .replace("<victim_token>", &victim_token.to_string())
        .replace("<victim_grant>", &world.victim_grant.to_string())
        .replace("<victim_agent>", &world.victim_agent.to_string())
        .replace("<deployment>", &world.deployment.to_string())
        .replace("<hello_deployment>", &world.hello_deployment.to_string())
        .replace("<job>", &world.job.to_string())
        .replace("<change>", &world.change.to_string())
        .replace("<new_digest>", &digest(b"world"))
        .replace("<digest>", &digest(ARTIFACT));
    if filled.contains("<own_feed>") || filled.contains("<victim_feed>") {
        let store = &world.api.store;
        let first_feed = |feeds: Vec<ferry_store::calendar_feeds::CalendarFeedRecord>| {
            feeds.first().map(|feed| feed.id.to_string())
        };
        let victim = first_feed(store.calendar_feeds(Some("victim")).await.unwrap())
            .expect("the victim has a calendar feed");
        let own = match &caller.actor {
            Some(actor) => first_feed(store.calendar_feeds(Some(actor)).await.unwrap()),
            None => None,
        };
        filled = filled
            .replace("<own_feed>", own.as_deref().unwrap_or(&victim))
            .replace("<victim_feed>", &victim);
    }
    if filled.contains("<jwt>") {
        filled = filled.replace("<jwt>", &world::ci_id_token());
    }
    if filled.contains("<config>") {
        let config = world.api.store.config().await.unwrap();
        filled = filled.replace("<config>", &serde_json::to_string(&config).unwrap());
    }
    assert!(!filled.contains('<'), "a placeholder is left in {filled:?}");
    filled
}

fn slug(status: u16) -> &'static str {
    match status {
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not-found",
        _ => unreachable!("{status} is not a refusal"),
    }
}

/// Runs one row in a world of its own; answers what went wrong.
async fn run_row(template: Arc<Template>, row: Row) -> Vec<String> {
    let world = template.instance().await;
    match row.setup {
        Setup::None => {}
        Setup::Change(actions) => world.advance_change(actions).await,
        Setup::JobClaimed => {
            let claimed = world
                .api
                .store
                .claim_job(
                    world.agent.1,
                    chrono::Duration::seconds(60),
                    chrono::Utc::now(),
                )
                .await
                .unwrap();
            assert_eq!(claimed.map(|job| job.id), Some(world.job));
        }
        Setup::Webhook => {
            let store = &world.api.store;
            let events = ferry_core::event::EventSelection::All;
            store
                .create_webhook(
                    "admin",
                    ferry_store::webhooks::NewWebhook {
                        url: "http://127.0.0.1:9/hook",
                        format: ferry_core::chat::Format::CloudEvents,
                        events: &events,
                        service: None,
                        environment: None,
                        secret_sealed: "sealed",
                    },
                )
                .await
                .unwrap();
            store
                .open_incident(
                    "admin",
                    &ferry_core::Name::parse("api").unwrap(),
                    &ferry_core::Name::parse("dev").unwrap(),
                    None,
                    "checkout errors",
                )
                .await
                .unwrap();
            let (queued, _) = store.fan_out_events("/ferry").await.unwrap();
            assert_eq!(queued, 1, "the incident is delivery 1");
        }
        Setup::Incident => {
            world
                .api
                .store
                .open_incident(
                    "admin",
                    &ferry_core::Name::parse("api").unwrap(),
                    &ferry_core::Name::parse("dev").unwrap(),
                    None,
                    "checkout errors",
                )
                .await
                .unwrap();
        }
        Setup::Train => {
            let template: ferry_core::release_plan::PlanTemplateSpec =
                serde_json::from_value(serde_json::json!({ "name": "t",
                    "milestones": [{ "name": "go-live", "at": "0d" }] }))
                .unwrap();
            world
                .api
                .store
                .create_train(
                    "admin",
                    &ferry_core::Name::parse("t").unwrap(),
                    &[(
                        ferry_core::Name::parse("api").unwrap(),
                        semver::Version::new(1, 0, 0),
                    )],
                    Some(&template),
                    None,
                )
                .await
                .unwrap();
        }
        Setup::Planned => {
            let template: ferry_core::release_plan::PlanTemplateSpec =
                serde_json::from_value(serde_json::json!({ "name": "t",
                    "milestones": [{ "name": "go-live", "at": "0d" }],
                    "tasks": [{ "title": "sign off" }] }))
                .unwrap();
            world
                .api
                .store
                .create_release_plan(
                    "admin",
                    &ferry_core::Name::parse("api").unwrap(),
                    &semver::Version::new(1, 0, 0),
                    "admin",
                    None,
                    Some(&template),
                )
                .await
                .unwrap();
        }
        Setup::Locked => {
            let (api, dev) = (
                ferry_core::Name::parse("api").unwrap(),
                ferry_core::Name::parse("dev").unwrap(),
            );
            world
                .api
                .store
                .lock("admin", &dev, Some(&api), "incident")
                .await
                .unwrap();
        }
        Setup::RolledBack => {
            for status in [
                ferry_core::DeploymentStatus::Running,
                ferry_core::DeploymentStatus::Succeeded,
            ] {
                world
                    .api
                    .store
                    .set_deployment_status("admin", world.deployment, status)
                    .await
                    .unwrap();
            }
            world
                .api
                .store
                .request_rollback(
                    "admin",
                    world.deployment,
                    &semver::Version::new(0, 9, 0),
                    None,
                )
                .await
                .unwrap();
        }
        Setup::CalendarFeeds => {
            let store = &world.api.store;
            let feed = |secret: &str| -> (String, String) {
                (ferry_server::hash_secret(secret), secret[..16].to_owned())
            };
            for name in world.people.keys() {
                let owner = store.user_by_name(name).await.unwrap();
                let (hash, prefix) = feed(&format!("ferry_cal_test_{name}"));
                let new = ferry_store::calendar_feeds::NewCalendarFeed {
                    name: "phone",
                    secret_hash: &hash,
                    prefix: &prefix,
                };
                store.create_calendar_feed(name, &owner, new).await.unwrap();
            }
            let viewer = store.user_by_name("viewer").await.unwrap();
            let (hash, prefix) = feed("ferry_cal_test_revoked");
            let new = ferry_store::calendar_feeds::NewCalendarFeed {
                name: "old",
                secret_hash: &hash,
                prefix: &prefix,
            };
            let old = store
                .create_calendar_feed("viewer", &viewer, new)
                .await
                .unwrap();
            store.revoke_calendar_feed("viewer", old.id).await.unwrap();
        }
        Setup::DeploymentFailed => {
            for status in [
                ferry_core::DeploymentStatus::Running,
                ferry_core::DeploymentStatus::Failed,
            ] {
                world
                    .api
                    .store
                    .set_deployment_status("admin", world.deployment, status)
                    .await
                    .unwrap();
            }
        }
        Setup::DeploymentSucceeded => {
            for status in [
                ferry_core::DeploymentStatus::Running,
                ferry_core::DeploymentStatus::Succeeded,
            ] {
                world
                    .api
                    .store
                    .set_deployment_status("admin", world.deployment, status)
                    .await
                    .unwrap();
            }
        }
    }
    let callers = callers(&world).await;
    let codes = codes(row.expect);
    let mut failures = Vec::new();
    let method = Method::from_bytes(row.method.as_bytes()).unwrap();
    // Refused callers first, then the allowed, each group in column order.
    let mut order: Vec<usize> = (0..codes.len())
        .filter(|&i| codes[i] != Code::Allowed)
        .collect();
    order.extend((0..codes.len()).filter(|&i| codes[i] == Code::Allowed));
    let mut first_allowed = true;
    let mut head = world.audit_head().await;
    for i in order {
        let caller = &callers[i];
        let uri = fill(row.uri, &world, caller).await;
        let body = match row.body {
            Some(body) => Some(fill(body, &world, caller).await),
            None => None,
        };
        let reply = world
            .api
            .call(
                method.clone(),
                &uri,
                caller.token.as_deref(),
                body.as_deref(),
            )
            .await;
        let got = reply.status.as_u16();
        let mut fail = |what: String| {
            failures.push(format!(
                "{} — {}: {what}; got {got} {}",
                row.name(),
                caller.column,
                reply.body
            ));
        };
        match codes[i] {
            Code::Exact(status) => {
                if got != status {
                    fail(format!("expected {status}"));
                }
            }
            Code::Allowed => {
                if first_allowed {
                    first_allowed = false;
                    if got != row.success {
                        fail(format!("expected {} (first allowed caller)", row.success));
                    }
                } else if got == 401 || got == 403 || got >= 500 {
                    fail("expected to pass authorization".to_owned());
                }
            }
            Code::Refused(status) if got != status => fail(format!("expected {status}")),
            Code::Refused(status) => {
                // A HEAD answer has no body to say it in.
                if method != Method::HEAD
                    && (reply.body["type"] != format!("urn:ferry:problem:{}", slug(status))
                        || reply.body["detail"].as_str().is_none_or(str::is_empty))
                {
                    fail("expected a problem detail that says why".to_owned());
                }
                let events = world.audit_after(head).await;
                let audited = status == 403 && row.kind == Kind::Write;
                let expected = caller.actor.as_deref().unwrap_or("?");
                let access_denied = [(expected.to_owned(), "access.denied".to_owned())];
                if !audited && !events.is_empty() {
                    fail(format!("a refusal changed the audit trail: {events:?}"));
                } else if audited && events != access_denied {
                    fail(format!(
                        "expected one audit event, `access.denied` by {expected}; found {events:?}"
                    ));
                }
            }
        }
        head = world.audit_head_from(head).await;
    }
    if let Err(broken) = world.audit_intact().await {
        failures.push(format!("{}: {broken}", row.name()));
    }
    world.close().await;
    failures
}

/// Runs every row on `backend`, `parallel` rows at a time, and fails with
/// every cell that is not as expected.
async fn matrix(backend: Backend, parallel: usize) {
    let started = Instant::now();
    let template = Arc::new(Template::build(&backend).await);
    let gate = Arc::new(tokio::sync::Semaphore::new(parallel));
    let mut runs = tokio::task::JoinSet::new();
    let table = rows();
    let count = table.len();
    for row in table {
        let template = template.clone();
        let gate = gate.clone();
        runs.spawn(async move {
            let _permit = gate.acquire().await.unwrap();
            let name = row.name();
            let failures = run_row(template, row).await;
            (name, failures)
        });
    }
    let mut failures = Vec::new();
    while let Some(done) = runs.join_next().await {
        match done {
            Ok((_, found)) => failures.extend(found),
            Err(panicked) => failures.push(format!("a row panicked: {panicked}")),
        }
    }
    failures.sort();
    if let Ok(template) = Arc::try_unwrap(template) {
        template.close().await;
    }
    eprintln!(
        "{count} rows × {} callers on {backend:?} in {:.1}s",
        COLUMNS.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "{} cells are not as the permission table says:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_route_answers_every_caller_as_the_table_says_on_sqlite() {
    matrix(Backend::Sqlite, 8).await;
}

/// One schema per row, as the store's contract tests make them; rows run a
/// few at a time so that building their worlds overlaps (measured: see the
/// timing this prints).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_route_answers_every_caller_as_the_table_says_on_postgres() {
    if let Some(backend) = Backend::postgres() {
        matrix(backend, 6).await;
    }
}
