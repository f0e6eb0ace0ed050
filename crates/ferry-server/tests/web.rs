//! The web UI as a browser meets it, without the browser: signing in with a
//! password (and failing to), the session cookie and its CSRF token,
//! signing out, the dashboard's matrix and filters, and what API tokens
//! may not do there. Every story runs on SQLite and on PostgreSQL.

#[macro_use]
mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::browser::{Browser, Page};
use common::{ADMIN_TOKEN, Api, Backend, problem};
use http_body_util::BodyExt;
use serde_json::json;
use tower::ServiceExt;

stories!(
    a_browser_not_signed_in_is_sent_to_sign_in_and_back,
    a_wrong_password_is_refused_and_the_right_one_signs_in,
    signing_out_ends_the_session_and_a_forged_form_does_not,
    the_sign_in_form_only_counts_when_it_came_from_the_sign_in_page,
    guessing_a_password_is_slowed_down,
    the_dashboard_shows_where_each_version_is_and_filters_by_the_address,
    an_api_token_does_not_open_the_web_ui,
    a_user_sets_their_own_password_and_only_an_administrator_sets_others,
    an_approver_approves_a_deployer_promotes_and_a_viewer_only_looks,
    a_deployment_page_shows_its_state_and_cancels_and_rolls_back,
    the_audit_trail_is_searched_and_its_chain_verified_on_request,
    a_service_page_shows_its_lifecycle_releases_and_deployments,
    the_dashboard_lists_what_is_under_way_what_waits_and_what_needs_a_decision,
    an_invitation_sets_a_password_once,
    administrators_see_people_agents_and_tokens_and_revoke_an_agent,
    a_change_request_moves_through_its_states_from_its_page,
    the_calendar_shows_windows_in_the_zone_the_viewer_chose,
    an_open_dashboard_hears_of_a_new_deployment,
    a_session_ends_when_unused_too_long_and_when_too_old,
    a_release_page_offers_its_artifacts_and_compares_environments,
    the_audit_trail_pages_back_and_shows_where_its_chain_breaks,
    a_release_page_renders_its_notes_and_links_its_commits_to_the_repository,
    locks_and_bad_marks_are_shown_and_lifted_from_the_pages,
    a_decision_on_a_deployment_that_waits_for_none_is_refused,
    a_plan_page_shows_its_time_line_and_an_assignee_moves_their_task,
    a_service_page_pages_back_through_every_deployment,
    a_train_page_checks_each_member_and_promotes_the_train,
    a_failed_deployment_shows_its_review_and_a_release_manager_completes_it,
);

const PASSWORD: &str = "correct horse battery staple";

/// A server whose administrator `admin` has the web password [`PASSWORD`].
async fn server(backend: &Backend) -> Api {
    let api = Api::with_a_release_on(backend).await;
    with_password(api).await
}

/// `api` where the administrator has the password [`PASSWORD`].
async fn with_password(api: Api) -> Api {
    let set = api
        .send(
            Method::PUT,
            "/api/v1/users/admin/password",
            Some(ADMIN_TOKEN),
            Some(&json!({ "password": PASSWORD }).to_string()),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{:?}", set.body);
    api
}

async fn a_browser_not_signed_in_is_sent_to_sign_in_and_back(backend: &Backend) {
    let api = server(backend).await;
    let mut browser = Browser::default();
    let page = browser.get(&api, "/?service=api").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), "/login?next=%2F%3Fservice%3Dapi");

    let signed_in = browser
        .sign_in(&api, "admin", PASSWORD, "/?service=api")
        .await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.html
    );
    assert_eq!(
        signed_in.location(),
        "/?service=api",
        "back where they were"
    );

    // Never to another site.
    let mut other = Browser::default();
    let elsewhere = other
        .sign_in(&api, "admin", PASSWORD, "//evil.example/")
        .await;
    assert_eq!(elsewhere.location(), "/");
    api.close().await;
}

async fn a_wrong_password_is_refused_and_the_right_one_signs_in(backend: &Backend) {
    let api = server(backend).await;
    let mut browser = Browser::default();
    for (user, password) in [("admin", "not the password at all"), ("nobody", PASSWORD)] {
        let refused = browser.sign_in(&api, user, password, "/").await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{user}");
        assert!(
            refused.html.contains("role=\"alert\"")
                && refused.html.contains("Wrong user name or password."),
            "{}",
            refused.html
        );
        assert!(!browser.holds("ferry_session"), "no session for {user}");
    }

    let signed_in = browser.sign_in(&api, "admin", PASSWORD, "/").await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    let cookie = signed_in
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|value| value.to_str().unwrap().to_owned())
        .find(|value| value.starts_with("ferry_session="))
        .expect("a session cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Secure"),
        "{cookie}"
    );
    let dashboard = browser.get(&api, "/").await;
    assert_eq!(dashboard.status, StatusCode::OK);
    assert!(
        dashboard.html.contains("<h1>Dashboard</h1>"),
        "{}",
        dashboard.html
    );
    assert!(
        dashboard.html.contains("admin"),
        "who is signed in is shown"
    );
    let (_, action, _) = last_audit(&api).await;
    assert_eq!(action, "session.start");
    api.close().await;
}

async fn signing_out_ends_the_session_and_a_forged_form_does_not(backend: &Backend) {
    let api = server(backend).await;
    let mut browser = Browser::default();
    browser.sign_in(&api, "admin", PASSWORD, "/").await;
    let dashboard = browser.get(&api, "/").await;
    let csrf = dashboard.hidden("csrf");

    let forged = browser.post(&api, "/logout", &[("csrf", "forged")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(forged.html.contains("nothing was done"), "{}", forged.html);
    assert_eq!(
        browser.get(&api, "/").await.status,
        StatusCode::OK,
        "still signed in"
    );

    let signed_out = browser.post(&api, "/logout", &[("csrf", &csrf)]).await;
    assert_eq!(signed_out.status, StatusCode::SEE_OTHER);
    assert_eq!(signed_out.location(), "/login");
    assert!(!browser.holds("ferry_session"), "the cookie is removed");
    let (_, action, _) = last_audit(&api).await;
    assert_eq!(action, "session.end");
    assert_eq!(api.store.live_sessions("admin").await.unwrap(), 0);
    api.close().await;
}

async fn the_sign_in_form_only_counts_when_it_came_from_the_sign_in_page(backend: &Backend) {
    let api = server(backend).await;
    // A page of another site posting the form: no sign-in cookie, or
    // another token than the cookie's.
    for cookie in [None, Some("ferry_sign_in=somethingelse")] {
        let mut browser = Browser::default();
        if let Some(cookie) = cookie {
            let (name, value) = cookie.split_once('=').unwrap();
            browser.cookies.push((name.to_owned(), value.to_owned()));
        }
        let page = browser
            .post(
                &api,
                "/login",
                &[
                    ("csrf", "forged"),
                    ("username", "admin"),
                    ("password", PASSWORD),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST);
        assert!(page.html.contains("had expired"), "{}", page.html);
        assert!(!browser.holds("ferry_session"));
    }
    assert_eq!(api.store.live_sessions("admin").await.unwrap(), 0);
    api.close().await;
}

async fn guessing_a_password_is_slowed_down(backend: &Backend) {
    let api = server(backend).await;
    let mut browser = Browser::default();
    for guess in 0..5 {
        let page = browser
            .sign_in(&api, "admin", &format!("guess number {guess}"), "/")
            .await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    }
    let page = browser.sign_in(&api, "admin", PASSWORD, "/").await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        page.html.contains("try again in 15 minutes"),
        "{}",
        page.html
    );
    assert!(
        !browser.holds("ferry_session"),
        "not even the right password"
    );
    api.close().await;
}

async fn the_dashboard_shows_where_each_version_is_and_filters_by_the_address(backend: &Backend) {
    let api = server(backend).await;
    succeed_in_dev(&api).await;

    let mut browser = Browser::default();
    browser.sign_in(&api, "admin", PASSWORD, "/").await;
    let dashboard = browser.get(&api, "/").await;
    let cell = "<td data-service=\"api\" data-environment=\"dev\">";
    let start = dashboard.html.find(cell).expect("a cell for api in dev");
    let end = dashboard.html[start..].find("</td>").unwrap() + start;
    let shown = &dashboard.html[start..end];
    assert!(
        shown.contains("1.0.0") && shown.contains("succeeded"),
        "{shown}"
    );

    let filtered = browser.get(&api, "/?service=web").await;
    assert!(!filtered.html.contains(cell), "api does not match `web`");
    assert!(filtered.html.contains("No service matches the filters."));
    let by_state = browser.get(&api, "/?state=failed").await;
    assert!(!by_state.html.contains(cell), "api has nothing failed");
    let kept = browser.get(&api, "/?service=AP&state=succeeded").await;
    assert!(kept.html.contains(cell), "{}", kept.html);
    api.close().await;
}

async fn an_api_token_does_not_open_the_web_ui(backend: &Backend) {
    let api = server(backend).await;
    let page = api.send(Method::GET, "/", Some(ADMIN_TOKEN), None).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    api.close().await;
}

async fn a_user_sets_their_own_password_and_only_an_administrator_sets_others(backend: &Backend) {
    let api = server(backend).await;
    let created = api
        .post("/api/v1/users", &json!({ "name": "rosa" }).to_string())
        .await;
    let rosa = created.body["token"]["secret"].as_str().unwrap().to_owned();
    let body = json!({ "password": "rosa's own long password" }).to_string();
    let own = api
        .send(
            Method::PUT,
            "/api/v1/users/rosa/password",
            Some(&rosa),
            Some(&body),
        )
        .await;
    assert_eq!(own.status, StatusCode::OK, "{:?}", own.body);
    let other = api
        .send(
            Method::PUT,
            "/api/v1/users/admin/password",
            Some(&rosa),
            Some(&body),
        )
        .await;
    problem(&other, StatusCode::FORBIDDEN, "forbidden");
    let short = api
        .send(
            Method::PUT,
            "/api/v1/users/rosa/password",
            Some(&rosa),
            Some(&json!({ "password": "short" }).to_string()),
        )
        .await;
    let detail = problem(&short, StatusCode::UNPROCESSABLE_ENTITY, "invalid");
    assert!(detail.contains("at least 12"), "{detail}");

    let mut browser = Browser::default();
    let signed_in = browser
        .sign_in(&api, "rosa", "rosa's own long password", "/")
        .await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    // The admin's password did not change.
    let mut admin = Browser::default();
    let page = admin.sign_in(&api, "admin", PASSWORD, "/").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    api.close().await;
}

/// The last event of the audit trail: (actor, action, object).
async fn last_audit(api: &Api) -> (String, String, String) {
    let audit = api.get("/api/v1/audit?order=newest&limit=1").await;
    let event = &audit.body["items"][0];
    (
        event["actor"].as_str().unwrap_or_default().to_owned(),
        event["action"].as_str().unwrap_or_default().to_owned(),
        event["object"].as_str().unwrap_or_default().to_owned(),
    )
}

/// A person with `role` everywhere and the web password [`PASSWORD`].
async fn person(api: &Api, name: &str, role: &str) {
    let created = api
        .post("/api/v1/users", &json!({ "name": name }).to_string())
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let granted = api
        .post(
            "/api/v1/grants",
            &json!({ "user": name, "role": role }).to_string(),
        )
        .await;
    assert_eq!(granted.status, StatusCode::CREATED, "{:?}", granted.body);
    let set = api
        .send(
            Method::PUT,
            &format!("/api/v1/users/{name}/password"),
            Some(ADMIN_TOKEN),
            Some(&json!({ "password": PASSWORD }).to_string()),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{:?}", set.body);
}

/// The part of a page about one environment.
fn stage<'p>(page: &'p Page, environment: &str) -> &'p str {
    let marker = format!("<h3 id=\"stage-{environment}\">");
    let start = page.html.find(&marker).expect("the environment is shown");
    let end = page.html[start..]
        .find("</article>")
        .map_or(page.html.len(), |end| start + end);
    &page.html[start..end]
}

async fn an_approver_approves_a_deployer_promotes_and_a_viewer_only_looks(backend: &Backend) {
    let api = server(backend).await;
    let config = ferry_core::config::parse(
        "[[environment]]\nname = \"dev\"\ntier = \"development\"\n\
         [[environment]]\nname = \"prod\"\ntier = \"production\"\npolicy = { approvals = 1 }\n\
         [lifecycle.default]\nphases = [[\"dev\"], [\"prod\"]]\n[[service]]\nname = \"api\"\n",
    )
    .unwrap();
    api.store.apply("admin", &config, false).await.unwrap();
    succeed_in_dev(&api).await;
    person(&api, "rosa", "approver").await;
    person(&api, "omar", "deployer").await;
    person(&api, "vic", "viewer").await;
    let release = "/services/api/releases/1.0.0";

    // The viewer sees where it stands, and no button.
    let mut vic = Browser::default();
    vic.sign_in(&api, "vic", PASSWORD, "/").await;
    let dashboard = vic.get(&api, "/").await;
    assert!(
        dashboard
            .html
            .contains("not yet in prod <span class=\"blocked\">— blocked: ")
            && dashboard.html.contains("approval"),
        "the dashboard names what holds it back: {}",
        dashboard.html
    );
    let page = vic.get(&api, release).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    let prod = stage(&page, "prod");
    assert!(
        prod.contains("Blocked:") && prod.contains("approval"),
        "{prod}"
    );
    assert!(
        !page.html.contains("<button type=\"submit\">Approve"),
        "no Approve for vic"
    );
    assert!(!page.html.contains("Promote to"), "no Promote for vic");
    // A form forged with vic's own session is refused by his role.
    let csrf = page.hidden("csrf");
    let forged = vic
        .post(
            &api,
            &format!("{release}/promote"),
            &[("csrf", &csrf), ("environment", "dev")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.html);
    assert!(forged.html.contains("vic"), "{}", forged.html);

    // The approver approves for prod.
    let mut rosa = Browser::default();
    rosa.sign_in(&api, "rosa", PASSWORD, "/").await;
    let page = rosa.get(&api, release).await;
    assert!(stage(&page, "prod").contains("Approve for prod"));
    assert!(!page.html.contains("Promote to"), "rosa may not promote");
    let csrf = page.hidden("csrf");
    let approved = rosa
        .post(
            &api,
            &format!("{release}/approve"),
            &[
                ("csrf", &csrf),
                ("environment", "prod"),
                ("comment", "looks good"),
            ],
        )
        .await;
    assert_eq!(approved.status, StatusCode::SEE_OTHER, "{}", approved.html);
    let page = rosa.get(&api, approved.location()).await;
    assert!(page.html.contains("Approved."), "{}", page.html);
    assert!(
        stage(&page, "prod").contains("rosa approved"),
        "{}",
        stage(&page, "prod")
    );

    // The deployer promotes to prod, now that it is approved.
    let mut omar = Browser::default();
    omar.sign_in(&api, "omar", PASSWORD, "/").await;
    let page = omar.get(&api, release).await;
    assert!(
        stage(&page, "prod").contains("May be promoted."),
        "{}",
        stage(&page, "prod")
    );
    let csrf = page.hidden("csrf");
    // Without the session's token, nothing happens.
    let forged = omar
        .post(
            &api,
            &format!("{release}/promote"),
            &[("csrf", "forged"), ("environment", "prod")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(forged.html.contains("nothing was done"), "{}", forged.html);
    let promoted = omar
        .post(
            &api,
            &format!("{release}/promote"),
            &[("csrf", &csrf), ("environment", "prod")],
        )
        .await;
    assert_eq!(promoted.status, StatusCode::SEE_OTHER, "{}", promoted.html);
    let deployments = api.get("/api/v1/deployments?environment=prod").await;
    let items = deployments.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "one deployment to prod: {items:?}");
    assert_eq!(items[0]["environment"], "prod");
    let (actor, action, _) = last_audit(&api).await;
    assert_eq!(
        (actor.as_str(), action.as_str()),
        ("omar", "deployment.create")
    );
    api.close().await;
}

/// api@1.0.0 deployed to dev by another tool, and reported a success.
async fn succeed_in_dev(api: &Api) {
    let promoted = api
        .post(
            "/api/v1/promotions",
            &json!({ "service": "api", "version": "1.0.0", "environment": "dev" }).to_string(),
        )
        .await;
    assert_eq!(promoted.status, StatusCode::CREATED, "{:?}", promoted.body);
    let id = promoted.body["id"].as_i64().unwrap();
    let reported = api
        .post(
            &format!("/api/v1/deployments/{id}/report"),
            &json!({ "status": "succeeded" }).to_string(),
        )
        .await;
    assert_eq!(reported.status, StatusCode::OK, "{:?}", reported.body);
}

async fn a_deployment_page_shows_its_state_and_cancels_and_rolls_back(backend: &Backend) {
    let api = server(backend).await;
    succeed_in_dev(&api).await;
    let mut browser = Browser::default();
    browser.sign_in(&api, "admin", PASSWORD, "/").await;

    // The dashboard's cell links to the deployment.
    let dashboard = browser.get(&api, "/").await;
    let link = dashboard
        .html
        .find("href=\"/deployments/")
        .map(|start| {
            let rest = &dashboard.html[start + 6..];
            rest[..rest.find('"').unwrap()].to_owned()
        })
        .expect("the cell links to its deployment");
    let page = browser.get(&api, &link).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(page.html.contains("api@1.0.0 to dev"), "{}", page.html);
    assert!(page.html.contains("succeeded"), "{}", page.html);
    assert!(page.html.contains("The deployment has ended."));
    assert!(
        !page.html.contains(">Cancel<"),
        "an ended deployment is not cancelled"
    );

    // A second release, queued: cancelled from its page.
    let created = api
        .post(
            "/api/v1/services/api/releases",
            &json!({ "version": "1.1.0" }).to_string(),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let promoted = api
        .post(
            "/api/v1/promotions",
            &json!({ "service": "api", "version": "1.1.0", "environment": "dev" }).to_string(),
        )
        .await;
    let id = promoted.body["id"].as_i64().unwrap();
    let page = browser.get(&api, &format!("/deployments/{id}")).await;
    assert!(
        page.html.contains("data-live=\"true\""),
        "a running deployment is followed"
    );
    let csrf = page.hidden("csrf");
    let cancelled = browser
        .post(
            &api,
            &format!("/deployments/{id}/cancel"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(
        cancelled.status,
        StatusCode::SEE_OTHER,
        "{}",
        cancelled.html
    );
    let page = browser.get(&api, cancelled.location()).await;
    assert!(page.html.contains("Cancelled."), "{}", page.html);
    let deployment = api.get(&format!("/api/v1/deployments/{id}")).await;
    assert_eq!(deployment.body["status"], "cancelled");

    // 1.1.0 succeeds in dev, then is rolled back from its page to 1.0.0.
    let promoted = api
        .post(
            "/api/v1/promotions",
            &json!({ "service": "api", "version": "1.1.0", "environment": "dev" }).to_string(),
        )
        .await;
    let id = promoted.body["id"].as_i64().unwrap();
    let reported = api
        .post(
            &format!("/api/v1/deployments/{id}/report"),
            &json!({ "status": "succeeded" }).to_string(),
        )
        .await;
    assert_eq!(reported.status, StatusCode::OK);
    let page = browser.get(&api, &format!("/deployments/{id}")).await;
    let csrf = page.hidden("csrf");
    let rolled_back = browser
        .post(
            &api,
            &format!("/deployments/{id}/rollback"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(
        rolled_back.status,
        StatusCode::SEE_OTHER,
        "{}",
        rolled_back.html
    );
    let page = browser.get(&api, rolled_back.location()).await;
    assert!(page.html.contains("api@1.0.0 to dev"), "{}", page.html);
    assert!(
        page.html
            .contains(&format!("Rolls back <a href=\"/deployments/{id}\">")),
        "{}",
        page.html
    );

    // The live log of a deployment answers with its events.
    let stream = browser
        .open(
            &api,
            Method::GET,
            &format!("/deployments/{id}/log/stream"),
            None,
        )
        .await;
    assert_eq!(stream.status, StatusCode::OK);
    assert!(stream.html.contains("event: end"), "{}", stream.html);
    let lines = browser
        .get(&api, &format!("/deployments/{id}/log?after=0"))
        .await;
    assert!(lines.html.contains("\"ended\":true"), "{}", lines.html);
    api.close().await;
}

async fn the_audit_trail_is_searched_and_its_chain_verified_on_request(backend: &Backend) {
    let api = server(backend).await;
    let mut browser = Browser::default();
    browser.sign_in(&api, "admin", PASSWORD, "/").await;

    let page = browser.get(&api, "/audit").await;
    assert_eq!(page.status, StatusCode::OK);
    let events = events_of(&page);
    let newest = events.find("session.start").expect("the sign-in is listed");
    let older = events
        .find("release.create")
        .expect("the release is listed");
    assert!(newest < older, "newest first: {events}");
    assert!(page.html.contains("Not verified since the server started."));

    let searched = browser
        .get(&api, "/audit?actor=admin&action=session.*")
        .await;
    assert!(events_of(&searched).contains("session.start"));
    assert!(
        !events_of(&searched).contains("release.create"),
        "only what matches"
    );
    let wrong = browser.get(&api, "/audit?since=yesterday").await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        wrong.html.contains("role=\"alert\"") && wrong.html.contains("`since`"),
        "{}",
        wrong.html
    );

    let csrf = page.hidden("csrf");
    let forged = browser
        .post(&api, "/audit/verify", &[("csrf", "forged")])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let verified = browser
        .post(&api, "/audit/verify", &[("csrf", &csrf)])
        .await;
    assert_eq!(verified.status, StatusCode::SEE_OTHER);
    let page = browser.get(&api, "/audit").await;
    assert!(page.html.contains("Intact: all "), "{}", page.html);
    api.close().await;
}

/// The table of events of an audit page.
fn events_of(page: &Page) -> &str {
    let start = page
        .html
        .find("<table id=\"events\"")
        .unwrap_or(page.html.len());
    &page.html[start..]
}

async fn a_service_page_shows_its_lifecycle_releases_and_deployments(backend: &Backend) {
    let api = server(backend).await;
    succeed_in_dev(&api).await;
    let created = api
        .post(
            "/api/v1/services/api/releases",
            &json!({ "version": "1.1.0" }).to_string(),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let mut browser = Browser::default();
    browser.sign_in(&api, "admin", PASSWORD, "/").await;
    let dashboard = browser.get(&api, "/").await;
    assert!(dashboard.html.contains("<a href=\"/services/api\">api</a>"));

    let page = browser.get(&api, "/services/api").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    let releases = &page.html[page.html.find("<table id=\"releases\"").unwrap()..];
    let newest = releases.find(">1.1.0</a>").expect("1.1.0 is listed");
    let older = releases.find(">1.0.0</a>").expect("1.0.0 is listed");
    assert!(newest < older, "newest first");
    assert!(page.html.contains("nowhere yet"), "1.1.0 went nowhere");
    assert!(
        page.html.contains("<strong>dev</strong>"),
        "the lifecycle's phase"
    );
    assert!(page.html.contains("succeeded"), "the deployment's outcome");

    let missing = browser.get(&api, "/services/nothing").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.html.contains("no service"), "{}", missing.html);
    api.close().await;
}

async fn the_dashboard_lists_what_is_under_way_what_waits_and_what_needs_a_decision(
    backend: &Backend,
) {
    let api = server(backend).await;
    let config = ferry_core::config::parse(
        "[[environment]]\nname = \"dev\"\ntier = \"development\"\n\
         [[environment]]\nname = \"prod\"\ntier = \"production\"\n\
         [lifecycle.default]\nphases = [[\"dev\"], [\"prod\"]]\n[[service]]\nname = \"api\"\n",
    )
    .unwrap();
    api.store.apply("admin", &config, false).await.unwrap();
    let mut browser = Browser::default();
    browser.sign_in(&api, "admin", PASSWORD, "/").await;
    let calm = browser.get(&api, "/").await;
    assert!(calm.html.contains("Nothing is being deployed."));

    succeed_in_dev(&api).await;
    let created = api
        .post(
            "/api/v1/services/api/releases",
            &json!({ "version": "1.1.0" }).to_string(),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let queued = api
        .post(
            "/api/v1/promotions",
            &json!({ "service": "api", "version": "1.1.0", "environment": "dev" }).to_string(),
        )
        .await;
    let queued = queued.body["id"].as_i64().unwrap();
    let change = api
        .post(
            "/api/v1/change-requests",
            &json!({ "title": "Resize the pool", "type": "normal", "service": "api", "environment": "prod" })
                .to_string(),
        )
        .await;
    let change = change.body["id"].as_i64().unwrap();
    let submitted = api
        .post(&format!("/api/v1/change-requests/{change}/submit"), "{}")
        .await;
    assert_eq!(submitted.status, StatusCode::OK, "{:?}", submitted.body);

    let page = browser.get(&api, "/").await;
    let section = |id: &str| {
        let start = page
            .html
            .find(&format!("<ul id=\"{id}\">"))
            .unwrap_or_else(|| panic!("the dashboard lists {id}: {}", page.html));
        let end = page.html[start..].find("</ul>").unwrap() + start;
        page.html[start..end].to_owned()
    };
    assert!(
        section("moving").contains(&format!("/deployments/{queued}\">api@1.1.0 to dev")),
        "{}",
        section("moving")
    );
    assert!(
        section("pending").contains("api@1.0.0</a>: in dev, not yet in prod")
            && section("pending").contains("may be promoted"),
        "{}",
        section("pending")
    );
    assert!(
        section("changes").contains(&format!("#{change} Resize the pool")),
        "{}",
        section("changes")
    );
    api.close().await;
}

async fn an_invitation_sets_a_password_once(backend: &Backend) {
    let api = server(backend).await;
    let created = api
        .post("/api/v1/users", &json!({ "name": "rosa" }).to_string())
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let refused = api
        .post(
            "/api/v1/users/rosa/invitations",
            &json!({ "valid_hours": 721 }).to_string(),
        )
        .await;
    let detail = problem(&refused, StatusCode::UNPROCESSABLE_ENTITY, "invalid");
    assert!(detail.contains("720"), "{detail}");
    let invited = api.post("/api/v1/users/rosa/invitations", "{}").await;
    assert_eq!(invited.status, StatusCode::CREATED, "{:?}", invited.body);
    let link = invited.body["path"].as_str().unwrap().to_owned();
    assert!(link.starts_with("/invitations/ferry_invite_"), "{link}");

    let mut rosa = Browser::default();
    let page = rosa.get(&api, &link).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(page.html.contains("Set your password, rosa"));
    let csrf = page.hidden("csrf");
    let forged = Browser::default()
        .post(
            &api,
            &link,
            &[
                ("csrf", "forged"),
                ("password", PASSWORD),
                ("again", PASSWORD),
            ],
        )
        .await;
    assert_eq!(forged.status, StatusCode::BAD_REQUEST, "{}", forged.html);
    let differ = rosa
        .post(
            &api,
            &link,
            &[
                ("csrf", &csrf),
                ("password", PASSWORD),
                ("again", "something else entirely"),
            ],
        )
        .await;
    assert_eq!(differ.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        differ.html.contains("The two passwords differ"),
        "{}",
        differ.html
    );
    let csrf = differ.hidden("csrf");
    let short = rosa
        .post(
            &api,
            &link,
            &[("csrf", &csrf), ("password", "short"), ("again", "short")],
        )
        .await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(short.html.contains("at least 12"), "{}", short.html);
    let csrf = short.hidden("csrf");
    let set = rosa
        .post(
            &api,
            &link,
            &[("csrf", &csrf), ("password", PASSWORD), ("again", PASSWORD)],
        )
        .await;
    assert_eq!(set.status, StatusCode::SEE_OTHER, "{}", set.html);
    let welcome = rosa.get(&api, set.location()).await;
    assert!(
        welcome.html.contains("Your password is set"),
        "{}",
        welcome.html
    );
    let signed_in = rosa.sign_in(&api, "rosa", PASSWORD, "/").await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);

    let used = Browser::default().get(&api, &link).await;
    assert_eq!(used.status, StatusCode::NOT_FOUND);
    assert!(
        used.html.contains("used already or expired"),
        "{}",
        used.html
    );
    let trail = api.get("/api/v1/audit?order=newest&limit=10").await;
    let actions: Vec<(String, String)> = trail.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["actor"].as_str().unwrap().to_owned(),
                e["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        actions.contains(&("admin".into(), "user.invite".into())),
        "{actions:?}"
    );
    assert!(
        actions.contains(&("rosa".into(), "user.password.set".into())),
        "{actions:?}"
    );
    api.close().await;
}

async fn administrators_see_people_agents_and_tokens_and_revoke_an_agent(backend: &Backend) {
    let api = server(backend).await;
    person(&api, "rosa", "approver").await;
    let agent = api
        .post(
            "/api/v1/agent-tokens",
            &json!({ "environment": "dev", "name": "web-1" }).to_string(),
        )
        .await;
    assert_eq!(agent.status, StatusCode::CREATED, "{:?}", agent.body);
    let agent_id = agent.body["agent"]["id"].as_i64().unwrap();

    let mut rosa = Browser::default();
    rosa.sign_in(&api, "rosa", PASSWORD, "/").await;
    let dashboard = rosa.get(&api, "/").await;
    assert!(
        !dashboard.html.contains("href=\"/admin\""),
        "no Administration for rosa"
    );
    let refused = rosa.get(&api, "/admin").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    let mut admin = Browser::default();
    admin.sign_in(&api, "admin", PASSWORD, "/").await;
    let page = admin.get(&api, "/admin").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(
        page.html.contains("href=\"/admin\""),
        "Administration is offered"
    );
    let users = &page.html[page.html.find("<table id=\"users\"").unwrap()..];
    assert!(
        users.contains("<th scope=\"row\">rosa</th>") && users.contains("approver"),
        "{users}"
    );
    // A grant of a group shows with each of its members, saying so.
    let made = api
        .post("/api/v1/groups", &json!({ "name": "ops" }).to_string())
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{:?}", made.body);
    let joined = api
        .send(
            Method::PUT,
            "/api/v1/groups/ops/members/rosa",
            Some(ADMIN_TOKEN),
            None,
        )
        .await;
    assert!(joined.status.is_success(), "{:?}", joined.body);
    let grant = json!({ "group": "ops", "role": "deployer", "environment": "dev" });
    let granted = api.post("/api/v1/grants", &grant.to_string()).await;
    assert_eq!(granted.status, StatusCode::CREATED, "{:?}", granted.body);
    let page = admin.get(&api, "/admin").await;
    let users = &page.html[page.html.find("<table id=\"users\"").unwrap()..];
    let rosa_row = &users[users.find("<th scope=\"row\">rosa</th>").unwrap()..];
    let rosa_row = &rosa_row[..rosa_row.find("</tr>").unwrap()];
    assert!(
        rosa_row.contains("deployer in dev (group ops)"),
        "{rosa_row}"
    );
    let agents = &page.html[page.html.find("<table id=\"agents\"").unwrap()..];
    assert!(
        agents.contains("web-1") && agents.contains("never"),
        "{agents}"
    );
    assert!(page.html.contains("<table id=\"tokens\""));

    let csrf = page.hidden("csrf");
    let revoked = admin
        .post(
            &api,
            &format!("/admin/agents/{agent_id}/revoke"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER, "{}", revoked.html);
    let listed = api.get("/api/v1/agents").await;
    let web = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == agent_id)
        .cloned()
        .unwrap();
    assert!(web["revoked_at"].is_string(), "{web}");
    api.close().await;
}

async fn a_change_request_moves_through_its_states_from_its_page(backend: &Backend) {
    let api = server(backend).await;
    person(&api, "rosa", "approver").await;
    let raised = api
        .post(
            "/api/v1/change-requests",
            &json!({ "title": "Resize the pool", "type": "normal", "service": "api", "environment": "dev" })
                .to_string(),
        )
        .await;
    let id = raised.body["id"].as_i64().unwrap();
    let page_of = format!("/changes/{id}");

    let mut admin = Browser::default();
    admin.sign_in(&api, "admin", PASSWORD, "/").await;
    let list = admin.get(&api, "/changes?state=draft").await;
    assert!(list.html.contains("Resize the pool"), "{}", list.html);
    let wrong = admin.get(&api, "/changes?state=maybe").await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    let page = admin.get(&api, &page_of).await;
    assert!(
        page.html
            .contains("<li class=\"current\" aria-current=\"step\">draft</li>"),
        "{}",
        page.html
    );
    let csrf = page.hidden("csrf");
    let submitted = admin
        .post(&api, &format!("{page_of}/submit"), &[("csrf", &csrf)])
        .await;
    assert_eq!(
        submitted.status,
        StatusCode::SEE_OTHER,
        "{}",
        submitted.html
    );
    let page = admin.get(&api, submitted.location()).await;
    assert!(page.html.contains("Done: submit."), "{}", page.html);
    assert!(page.html.contains("aria-current=\"step\">submitted</li>"));
    assert!(
        !page.html.contains(">Assess</button>"),
        "whoever raised it may not assess it"
    );

    let mut rosa = Browser::default();
    rosa.sign_in(&api, "rosa", PASSWORD, "/").await;
    let page = rosa.get(&api, &page_of).await;
    assert!(page.html.contains(">Assess</button>"), "{}", page.html);
    let csrf = page.hidden("csrf");
    let missing = rosa
        .post(&api, &format!("{page_of}/reject"), &[("csrf", &csrf)])
        .await;
    assert_eq!(
        missing.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        missing.html
    );
    assert!(missing.html.contains("needs a reason"), "{}", missing.html);
    let assessed = rosa
        .post(
            &api,
            &format!("{page_of}/assess"),
            &[("csrf", &csrf), ("risk", "low"), ("impact", "none")],
        )
        .await;
    assert_eq!(assessed.status, StatusCode::SEE_OTHER, "{}", assessed.html);
    let approved = rosa
        .post(&api, &format!("{page_of}/approve"), &[("csrf", &csrf)])
        .await;
    assert_eq!(approved.status, StatusCode::SEE_OTHER, "{}", approved.html);
    let shown = api.get(&format!("/api/v1/change-requests/{id}")).await;
    assert_eq!(shown.body["state"], "approved");
    assert_eq!(shown.body["risk"], "low");
    api.close().await;
}

async fn the_calendar_shows_windows_in_the_zone_the_viewer_chose(backend: &Backend) {
    use chrono::Datelike;
    let api = server(backend).await;
    let config = ferry_core::config::parse(
        "[[environment]]\nname = \"dev\"\ntier = \"development\"\n\
         [[environment]]\nname = \"prod\"\ntier = \"production\"\n\
         windows = [{ rrule = \"FREQ=WEEKLY;BYDAY=MO;BYHOUR=9\", duration = \"8h\", timezone = \"Europe/Berlin\" }]\n\
         [lifecycle.default]\nphases = [[\"dev\"], [\"prod\"]]\n[[service]]\nname = \"api\"\n",
    )
    .unwrap();
    api.store.apply("admin", &config, false).await.unwrap();
    let today = chrono::Utc::now().date_naive();
    let monday = today + chrono::Days::new(u64::from(7 - today.weekday().num_days_from_monday()));
    let mut browser = Browser::default();
    browser.sign_in(&api, "admin", PASSWORD, "/").await;

    let week = browser
        .get(
            &api,
            &format!("/calendar?view=week&day={monday}&tz=Europe%2FBerlin"),
        )
        .await;
    assert_eq!(week.status, StatusCode::OK, "{}", week.html);
    let cell = format!("<td data-day=\"{monday}\"");
    let start = week.html.find(&cell).expect("the Monday is shown");
    let end = week.html[start..].find("</td>").unwrap() + start;
    let monday_cell = &week.html[start..end];
    assert!(
        monday_cell.contains("09:00–17:00 deployment window of prod"),
        "in Berlin time: {monday_cell}"
    );

    // Remembered: the next visit shows Berlin time without asking.
    let again = browser
        .get(&api, &format!("/calendar?view=week&day={monday}"))
        .await;
    assert!(
        again.html.contains("times in Europe/Berlin"),
        "{}",
        again.html
    );
    let utc = browser
        .get(&api, &format!("/calendar?view=week&day={monday}&tz=UTC"))
        .await;
    assert!(
        utc.html.contains("deployment window of prod")
            && (utc.html.contains("08:00–16:00") || utc.html.contains("07:00–15:00")),
        "in UTC: {}",
        utc.html
    );
    let wrong = browser.get(&api, "/calendar?tz=Mars%2FOlympus").await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.html.contains("is not a time zone"), "{}", wrong.html);
    let month = browser.get(&api, "/calendar").await;
    assert_eq!(month.status, StatusCode::OK);
    assert!(
        month.html.contains("aria-current=\"date\""),
        "today is marked"
    );
    api.close().await;
}

async fn an_open_dashboard_hears_of_a_new_deployment(backend: &Backend) {
    let api = server(backend).await;
    let mut browser = Browser::default();
    browser.sign_in(&api, "admin", PASSWORD, "/").await;
    let dashboard = browser.get(&api, "/").await;
    assert!(dashboard.html.contains("data-live-dashboard=\"true\""));

    let cookies: Vec<String> = browser
        .cookies
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    let request = Request::builder()
        .uri("/dashboard/stream")
        .header(header::HOST, "127.0.0.1:8740")
        .header(header::COOKIE, cookies.join("; "))
        .body(Body::empty())
        .unwrap();
    let response = api.app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body();

    let promoted = api
        .post(
            "/api/v1/promotions",
            &json!({ "service": "api", "version": "1.0.0", "environment": "dev" }).to_string(),
        )
        .await;
    assert_eq!(promoted.status, StatusCode::CREATED);
    let mut heard = String::new();
    while !heard.contains("event: changed") {
        // Not a measure of speed (that is bench/ui's): only that it comes.
        let frame = tokio::time::timeout(std::time::Duration::from_secs(10), body.frame())
            .await
            .expect("the dashboard hears of the change")
            .expect("the stream goes on")
            .unwrap();
        if let Ok(data) = frame.into_data() {
            heard.push_str(&String::from_utf8_lossy(&data));
        }
    }
    api.close().await;
}

async fn a_session_ends_when_unused_too_long_and_when_too_old(backend: &Backend) {
    // Short limits, as `ferry serve --session-idle --session-lifetime` set
    // them (the command accepts a minute at least; a test has no minutes).
    let limits = |idle: i64, lifetime: i64| {
        move |state: &mut ferry_server::AppState| {
            state.sessions = ferry_server::SessionLimits {
                idle: chrono::Duration::seconds(idle),
                lifetime: chrono::Duration::seconds(lifetime),
            };
        }
    };
    let pause = |seconds| tokio::time::sleep(std::time::Duration::from_millis(seconds));

    // Unused for longer than its idle limit: ended.
    let api = with_password(Api::on_adjusted(backend, limits(1, 3600)).await).await;
    let mut browser = Browser::default();
    browser.sign_in(&api, "admin", PASSWORD, "/").await;
    assert_eq!(browser.get(&api, "/").await.status, StatusCode::OK);
    pause(1500).await;
    let idle = browser.get(&api, "/").await;
    assert_eq!(
        idle.status,
        StatusCode::SEE_OTHER,
        "an idle session has ended"
    );
    assert!(idle.location().starts_with("/login"), "{}", idle.location());
    api.close().await;

    // Used all the time, but older than its lifetime: ended too, and the
    // cookie said so from the start.
    let api = with_password(Api::on_adjusted(backend, limits(3600, 2)).await).await;
    let mut browser = Browser::default();
    let signed_in = browser.sign_in(&api, "admin", PASSWORD, "/").await;
    let cookie = signed_in
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|value| value.to_str().unwrap().to_owned())
        .find(|value| value.starts_with("ferry_session="))
        .expect("a session cookie");
    assert!(cookie.contains("Max-Age=2;"), "{cookie}");
    for _ in 0..2 {
        assert_eq!(browser.get(&api, "/").await.status, StatusCode::OK);
        pause(700).await;
    }
    pause(700).await;
    let old = browser.get(&api, "/").await;
    assert_eq!(
        old.status,
        StatusCode::SEE_OTHER,
        "an old session has ended"
    );
    api.close().await;
}

async fn a_release_page_offers_its_artifacts_and_compares_environments(backend: &Backend) {
    use sha2::Digest as _;
    let api = server(backend).await;
    let config = ferry_core::config::parse(
        "[[environment]]\nname = \"dev\"\ntier = \"development\"\n\
         [[environment]]\nname = \"prod\"\ntier = \"production\"\n\
         [lifecycle.default]\nphases = [[\"dev\"], [\"prod\"]]\n[[service]]\nname = \"api\"\n",
    )
    .unwrap();
    api.store.apply("admin", &config, false).await.unwrap();
    succeed_in_dev(&api).await;

    // api@1.1.0 with a stored artifact and one ferry only refers to.
    let bytes = "the binary of api 1.1.0";
    let digest = format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)));
    let uploaded = api
        .send(
            Method::PUT,
            &format!("/api/v1/blobs/{digest}"),
            Some(ADMIN_TOKEN),
            Some(bytes),
        )
        .await;
    assert_eq!(uploaded.status, StatusCode::CREATED, "{:?}", uploaded.body);
    let release = json!({
        "version": "1.1.0",
        "artifacts": [
            { "name": "bin", "digest": digest },
            { "name": "tarball", "digest": digest, "uri": "https://downloads.example.com/api-1.1.0.tar.gz" },
        ],
    });
    let created = api
        .post("/api/v1/services/api/releases", &release.to_string())
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);

    let mut browser = Browser::default();
    browser.sign_in(&api, "admin", PASSWORD, "/").await;
    let page = browser.get(&api, "/services/api/releases/1.1.0").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(
        page.html
            .contains("<a href=\"/services/api/releases/1.1.0/artifacts/bin\" download>bin</a>"),
        "a stored artifact is downloaded from ferry: {}",
        page.html
    );
    assert!(
        page.html.contains(
            "<a href=\"https://downloads.example.com/api-1.1.0.tar.gz\" download>tarball</a>"
        ),
        "a reference is downloaded from where it lives"
    );
    assert!(page.html.contains(&digest), "with its digest");
    let downloaded = browser
        .get(&api, "/services/api/releases/1.1.0/artifacts/bin")
        .await;
    assert_eq!(downloaded.status, StatusCode::OK);
    assert_eq!(downloaded.html, bytes);
    assert_eq!(downloaded.headers["ferry-digest"], digest.as_str());
    let missing = browser
        .get(&api, "/services/api/releases/1.1.0/artifacts/nothing")
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.html.contains("has no artifact"), "{}", missing.html);

    // The comparison: dev runs 1.0.0, prod nothing; promoting brings 1.0.0.
    assert!(
        page.html.contains("action=\"/services/api/diff\""),
        "the release page leads to the comparison"
    );
    let compared = browser
        .get(&api, "/services/api/diff?from=dev&to=prod")
        .await;
    assert_eq!(compared.status, StatusCode::OK, "{}", compared.html);
    let result = &compared.html[compared.html.find("From dev to prod").expect("the result")..];
    assert!(result.contains("prod runs nothing yet"), "{result}");
    assert!(
        result
            .contains("<a class=\"version\" href=\"/services/api/releases/1.0.0\">1.0.0</a></li>"),
        "1.0.0 is what promoting would bring: {result}"
    );
    let even = browser
        .get(&api, "/services/api/diff?from=dev&to=dev")
        .await;
    assert!(
        even.html.contains("Promoting would bring nothing new"),
        "{}",
        even.html
    );
    let unknown = browser
        .get(&api, "/services/api/diff?from=dev&to=moon")
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert!(unknown.html.contains("no environment"), "{}", unknown.html);
    api.close().await;
}

async fn the_audit_trail_pages_back_and_shows_where_its_chain_breaks(backend: &Backend) {
    let api = server(backend).await;
    // More events than a page holds (100).
    for n in 1..=60 {
        let created = api
            .post(
                "/api/v1/services/api/releases",
                &json!({ "version": format!("2.0.{n}") }).to_string(),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED);
        let recorded = api
            .post(
                &format!("/api/v1/services/api/releases/2.0.{n}/evidence"),
                &json!({ "name": "unit", "environment": "dev", "passed": true }).to_string(),
            )
            .await;
        assert_eq!(recorded.status, StatusCode::CREATED, "{:?}", recorded.body);
    }
    let mut browser = Browser::default();
    browser.sign_in(&api, "admin", PASSWORD, "/").await;
    let seqs = |page: &Page| -> Vec<i64> {
        events_of(page)
            .split("<th scope=\"row\">")
            .skip(1)
            .map(|cell| cell[..cell.find('<').unwrap()].parse().unwrap())
            .collect()
    };
    let first = browser.get(&api, "/audit").await;
    let newest = seqs(&first);
    assert_eq!(newest.len(), 100, "a page holds 100 events");
    assert!(newest.windows(2).all(|w| w[0] > w[1]), "newest first");
    let marker = "<a href=\"";
    let link = first.html[first
        .html
        .find("rel=\"next\"")
        .map(|end| first.html[..end].rfind(marker).unwrap() + marker.len())
        .expect("an Older events link")..]
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&");
    let second = browser.get(&api, &link).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.html);
    let older = seqs(&second);
    assert!(!older.is_empty());
    assert!(
        older.iter().all(|seq| seq < newest.last().unwrap()),
        "the next page goes on where the first stopped: {older:?}"
    );
    assert_eq!(older.last(), Some(&1), "down to the first event");
    assert!(!second.html.contains("rel=\"next\""), "and no further");

    // Someone rewrites history behind ferry's back; the check says where.
    api.tamper("UPDATE audit_events SET actor = 'mallory' WHERE seq = 3")
        .await;
    let csrf = first.hidden("csrf");
    let verified = browser
        .post(&api, "/audit/verify", &[("csrf", &csrf)])
        .await;
    assert_eq!(verified.status, StatusCode::SEE_OTHER);
    let page = browser.get(&api, "/audit").await;
    let chain = &page.html[page.html.find("id=\"chain\"").expect("the check's result")..];
    assert!(
        chain.starts_with("id=\"chain\" class=\"verdict-blocked\"")
            && chain.contains("Broken at event 3:"),
        "{chain}"
    );
    api.close().await;
}

async fn a_release_page_renders_its_notes_and_links_its_commits_to_the_repository(
    backend: &Backend,
) {
    let api = server(backend).await;
    let config = ferry_core::config::parse(
        "[[environment]]\nname = \"dev\"\ntier = \"development\"\n\
         [lifecycle.default]\nphases = [[\"dev\"]]\n\
         [[service]]\nname = \"api\"\nrepo = \"https://git.example.com/acme/api.git\"\n\
         issue_url = \"https://issues.example.com/\"\n",
    )
    .unwrap();
    api.store.apply("admin", &config, false).await.unwrap();
    let commit = |id: &str, kind: &str, subject: &str| {
        json!({ "id": id, "type": kind, "scope": null, "breaking": false, "subject": subject,
            "body": null, "footers": [], "authors": ["Ada"], "time": "2026-11-01T00:00:00Z" })
    };
    let release = json!({
        "version": "1.1.0",
        "notes": "Read this <first>.",
        "commits": [
            commit("0a1b2c3d4e5f", "feat", "search by tag (#42)"),
            commit("f5e4d3c2b1a0", "fix", "the <script> in a title is text"),
        ],
    });
    let created = api
        .post("/api/v1/services/api/releases", &release.to_string())
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let mut browser = Browser::default();
    browser.sign_in(&api, "admin", PASSWORD, "/").await;
    let page = browser.get(&api, "/services/api/releases/1.1.0").await;
    assert_eq!(page.status, StatusCode::OK);
    let notes = &page.html[page.html.find("id=\"notes-heading\"").unwrap()..];
    assert!(notes.contains("Read this &#60;first&#62;."), "{notes}");
    assert!(
        notes.contains("<h3>Features</h3>") && notes.contains("<h3>Bug fixes</h3>"),
        "the commits grouped as the notes group them: {notes}"
    );
    assert!(
        notes.contains("the &lt;script&gt; in a title is text") && !notes.contains("<script>"),
        "a commit's words are text, never markup"
    );
    assert!(
        notes.contains("<a href=\"https://issues.example.com/42\">#42</a>"),
        "issues link to the tracker"
    );
    assert!(
        page.html.contains(
            "<a href=\"https://git.example.com/acme/api/commit/0a1b2c3d4e5f\"><code>0a1b2c3d</code></a>"
        ),
        "a commit links to its page at the repository: {}",
        page.html
    );
    api.close().await;
}

async fn locks_and_bad_marks_are_shown_and_lifted_from_the_pages(backend: &Backend) {
    let api = server(backend).await;
    person(&api, "vic", "viewer").await;
    let mut browser = Browser::default();
    browser.sign_in(&api, "admin", PASSWORD, "/").await;
    let mut viewer = Browser::default();
    viewer.sign_in(&api, "vic", PASSWORD, "/").await;

    // Nothing locked; the Lock form only for those who may lock.
    let page = browser.get(&api, "/").await;
    assert!(page.html.contains("Nothing is locked."), "{}", page.html);
    assert!(page.html.contains("id=\"lock-form\""), "{}", page.html);
    let seen = viewer.get(&api, "/").await;
    assert!(!seen.html.contains("id=\"lock-form\""), "{}", seen.html);

    // A form from another session locks nothing.
    let forged = browser
        .post(
            &api,
            "/locks",
            &[
                ("csrf", "not-the-session-s"),
                ("environment", "dev"),
                ("reason", "x"),
            ],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.html);
    let csrf = page.hidden("csrf");
    let empty = browser
        .post(
            &api,
            "/locks",
            &[("csrf", &csrf), ("environment", "dev"), ("reason", " ")],
        )
        .await;
    assert_eq!(
        empty.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        empty.html
    );
    assert!(
        empty.html.contains("reason: must not be empty"),
        "{}",
        empty.html
    );
    assert!(
        api.get("/api/v1/locks").await.body["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // Locked from the dashboard, listed with who, since when and why, and
    // said in the column's header.
    let locked = browser
        .post(
            &api,
            "/locks",
            &[
                ("csrf", &csrf),
                ("environment", "dev"),
                ("service", ""),
                ("reason", "incident 42"),
            ],
        )
        .await;
    assert_eq!(locked.status, StatusCode::SEE_OTHER, "{}", locked.html);
    assert_eq!(locked.location(), "/?done=locked");
    let page = browser.get(&api, locked.location()).await;
    assert!(
        page.html.contains("Locked: the promotions it holds wait"),
        "{}",
        page.html
    );
    assert!(
        page.html
            .contains("<strong>dev</strong>, all services: locked by admin since"),
        "{}",
        page.html
    );
    assert!(page.html.contains("— incident 42</p>"), "{}", page.html);
    assert!(
        page.html
            .contains("<th scope=\"col\">dev <span class=\"flag\">locked</span></th>"),
        "{}",
        page.html
    );
    let (actor, action, _) = last_audit(&api).await;
    assert_eq!((actor.as_str(), action.as_str()), ("admin", "lock.create"));

    // A viewer sees it but may not lift it: refused as the API refuses.
    let seen = viewer.get(&api, "/").await;
    assert!(
        seen.html.contains("all services: locked by admin"),
        "{}",
        seen.html
    );
    assert!(
        !seen.html.contains("action=\"/locks/unlock\""),
        "{}",
        seen.html
    );
    let refused = viewer
        .post(
            &api,
            "/locks/unlock",
            &[
                ("csrf", &seen.hidden("csrf")),
                ("environment", "dev"),
                ("reason", "mine"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.html);
    assert!(refused.html.contains("vic may not"), "{}", refused.html);

    let unlocked = browser
        .post(
            &api,
            "/locks/unlock",
            &[
                ("csrf", &csrf),
                ("environment", "dev"),
                ("service", ""),
                ("reason", "it is over"),
            ],
        )
        .await;
    assert_eq!(unlocked.status, StatusCode::SEE_OTHER, "{}", unlocked.html);
    assert_eq!(unlocked.location(), "/?done=unlocked");
    let page = browser.get(&api, unlocked.location()).await;
    assert!(page.html.contains("Nothing is locked."), "{}", page.html);
    assert!(
        page.html.contains("<th scope=\"col\">dev</th>"),
        "{}",
        page.html
    );

    // 1.1.0 rolled back from dev: marked bad on the dashboard (its cell
    // says so while the rollback is on its way) and on its page.
    succeed_in_dev(&api).await;
    let created = api
        .post(
            "/api/v1/services/api/releases",
            &json!({ "version": "1.1.0" }).to_string(),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let promoted = api
        .post(
            "/api/v1/promotions",
            &json!({ "service": "api", "version": "1.1.0", "environment": "dev" }).to_string(),
        )
        .await;
    let bad = promoted.body["id"].as_i64().unwrap();
    let reported = api
        .post(
            &format!("/api/v1/deployments/{bad}/report"),
            &json!({ "status": "succeeded" }).to_string(),
        )
        .await;
    assert_eq!(reported.status, StatusCode::OK, "{:?}", reported.body);
    let rollback = api
        .post(
            "/api/v1/rollbacks",
            &json!({ "service": "api", "environment": "dev", "reason": "it leaks" }).to_string(),
        )
        .await;
    assert_eq!(rollback.status, StatusCode::CREATED, "{:?}", rollback.body);
    let page = browser.get(&api, "/").await;
    let marked_start = page
        .html
        .find("<ul id=\"marked\">")
        .expect("a Marked bad list");
    let marked = &page.html[marked_start..];
    let marked = &marked[..marked.find("</ul>").unwrap()];
    assert!(
        marked.contains("api@1.1.0</a> in dev: it leaks <span class=\"who\">(by admin,"),
        "{marked}"
    );
    let cell_start = page
        .html
        .find("data-service=\"api\" data-environment=\"dev\"")
        .unwrap();
    let cell = &page.html[cell_start..];
    let cell = &cell[..cell.find("</td>").unwrap()];
    assert!(
        cell.contains(">1.1.0</a> <a class=\"state state-succeeded\"")
            && cell.contains("<span class=\"flag\">marked bad</span>"),
        "{cell}"
    );

    let release = "/services/api/releases/1.1.0";
    let page = browser.get(&api, release).await;
    assert!(
        page.html
            .contains("<h2 id=\"marks-heading\">Marked bad</h2>"),
        "{}",
        page.html
    );
    assert!(
        page.html.contains(&format!(
            "when <a href=\"/deployments/{bad}\">deployment {bad}</a> was rolled back — it leaks"
        )),
        "{}",
        page.html
    );
    assert!(
        page.html.contains(">Unmark in dev</button>"),
        "{}",
        page.html
    );
    let seen = viewer.get(&api, release).await;
    assert!(!seen.html.contains("Unmark in dev"), "{}", seen.html);
    let refused = viewer
        .post(
            &api,
            &format!("{release}/unmark"),
            &[
                ("csrf", &seen.hidden("csrf")),
                ("environment", "dev"),
                ("reason", "mine"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.html);

    let unmarked = browser
        .post(
            &api,
            &format!("{release}/unmark"),
            &[
                ("csrf", &csrf),
                ("environment", "dev"),
                ("reason", "fixed by a setting"),
            ],
        )
        .await;
    assert_eq!(unmarked.status, StatusCode::SEE_OTHER, "{}", unmarked.html);
    assert_eq!(unmarked.location(), format!("{release}?done=unmarked"));
    let page = browser.get(&api, unmarked.location()).await;
    assert!(
        page.html
            .contains("Unmarked: it may be promoted there again."),
        "{}",
        page.html
    );
    assert!(page.html.contains("Unmarked by admin at"), "{}", page.html);
    assert!(
        page.html.contains("— fixed by a setting</p>"),
        "{}",
        page.html
    );
    assert!(
        !page.html.contains(">Unmark in dev</button>"),
        "{}",
        page.html
    );
    let (actor, action, object) = last_audit(&api).await;
    assert_eq!(
        (actor.as_str(), action.as_str(), object.as_str()),
        ("admin", "release.unmark", "release:api@1.1.0")
    );
    let again = browser
        .post(
            &api,
            &format!("{release}/unmark"),
            &[("csrf", &csrf), ("environment", "dev"), ("reason", "twice")],
        )
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND, "{}", again.html);
    assert!(
        again.html.contains("is not marked bad in dev"),
        "{}",
        again.html
    );
    let page = browser.get(&api, "/").await;
    assert!(
        page.html.contains("No release is marked bad."),
        "{}",
        page.html
    );
    api.close().await;
}

async fn a_decision_on_a_deployment_that_waits_for_none_is_refused(backend: &Backend) {
    let api = server(backend).await;
    succeed_in_dev(&api).await;
    let mut browser = Browser::default();
    browser.sign_in(&api, "admin", PASSWORD, "/").await;
    let id = api.get("/api/v1/deployments").await.body["items"][0]["id"]
        .as_i64()
        .unwrap();
    let page = browser.get(&api, &format!("/deployments/{id}")).await;
    assert!(!page.html.contains("id=\"pause\""), "{}", page.html);
    assert!(!page.html.contains("id=\"decide-form\""), "{}", page.html);
    let csrf = page.hidden("csrf");
    let path = format!("/deployments/{id}/decide");
    let unknown = browser
        .post(&api, &path, &[("csrf", &csrf), ("decision", "hurry")])
        .await;
    assert_eq!(
        unknown.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        unknown.html
    );
    assert!(
        unknown
            .html
            .contains("expected one of continue, abort, retry, skip, rollback")
    );
    let refused = browser
        .post(&api, &path, &[("csrf", &csrf), ("decision", "continue")])
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.html);
    assert!(
        refused.html.contains(&format!(
            "deployment {id} is succeeded and waits for no decision"
        )),
        "{}",
        refused.html
    );
    let forged = browser
        .post(
            &api,
            &path,
            &[("csrf", "another"), ("decision", "continue")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.html);
    api.close().await;
}

/// dev then staging; `api` gets its plans from the `standard` template,
/// whose QA sign-off (for the group qa) must be done before dev; `web` has
/// no template.
const PLANNED: &str = r#"
[[environment]]
name = "dev"
tier = "development"

[[environment]]
name = "staging"
tier = "staging"

[lifecycle.default]
phases = [["dev"], ["staging"]]

[[plan_template]]
name = "standard"
milestones = [
  { name = "code freeze", at = "-7d" },
  { name = "go-live", at = "0d" },
]
tasks = [
  { title = "QA sign-off", assignee = "group:qa", due = "-1d", required_before = "dev" },
  { title = "Announce the release", assignee = "rosa", due = "0d", link = "https://wiki.example.com/announce" },
]

[[service]]
name = "api"
plan_template = "standard"

[[service]]
name = "web"
"#;

/// The `<li>` of task `id` on a plan page.
fn task_of(page: &Page, id: i64) -> &str {
    let start = page
        .html
        .find(&format!("<li id=\"task-{id}\""))
        .expect("the task is listed");
    let end = page.html[start..].find("</li>").unwrap() + start;
    &page.html[start..end]
}

async fn a_plan_page_shows_its_time_line_and_an_assignee_moves_their_task(backend: &Backend) {
    let api = Api::on(backend).await;
    let config = ferry_core::config::parse(PLANNED).unwrap();
    api.store.apply("admin", &config, false).await.unwrap();
    let api = with_password(api).await;
    // Go-live in three days: the code freeze is past and not reached.
    let go_live = (chrono::Utc::now() + chrono::Duration::days(3)).date_naive();
    let created = api
        .post(
            "/api/v1/services/api/releases",
            &json!({ "version": "1.0.0", "go_live": format!("{go_live}T00:00:00Z") }).to_string(),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let created = api
        .post(
            "/api/v1/services/web/releases",
            &json!({ "version": "1.0.0" }).to_string(),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let plan = api.get("/api/v1/services/api/releases/1.0.0/plan").await;
    assert_eq!(plan.status, StatusCode::OK, "{:?}", plan.body);
    let plan_id = plan.body["id"].as_i64().unwrap();
    let qa = plan.body["tasks"][0]["id"].as_i64().unwrap();
    let announce = plan.body["tasks"][1]["id"].as_i64().unwrap();
    person(&api, "vic", "viewer").await;
    let group = api
        .post("/api/v1/groups", &json!({ "name": "qa" }).to_string())
        .await;
    assert_eq!(group.status, StatusCode::CREATED, "{:?}", group.body);
    let joined = api
        .send(
            Method::PUT,
            "/api/v1/groups/qa/members/vic",
            Some(ADMIN_TOKEN),
            None,
        )
        .await;
    assert!(joined.status.is_success(), "{:?}", joined.body);

    let mut admin = Browser::default();
    admin.sign_in(&api, "admin", PASSWORD, "/").await;
    let release = admin.get(&api, "/services/api/releases/1.0.0").await;
    assert!(
        release
            .html
            .contains("<a href=\"/services/api/releases/1.0.0/plan\">Release plan</a>"),
        "{}",
        release.html
    );
    assert!(
        stage(&release, "dev").contains("QA sign-off&#34; of the plan must be done before dev"),
        "the task holds dev: {}",
        stage(&release, "dev")
    );
    let page = admin.get(&api, "/services/api/releases/1.0.0/plan").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(page.html.contains("<h1>Plan of api@1.0.0</h1>"));
    assert!(
        page.html.contains(&format!(">{go_live}</time>")),
        "the go-live date"
    );

    // The time line: the code freeze (overdue), today, the go-live.
    let timeline = &page.html[page.html.find("id=\"timeline\"").unwrap()..];
    let timeline = &timeline[..timeline.find("</ol>").unwrap()];
    let freeze = timeline.find("code freeze").expect("the code freeze");
    let today = timeline.find(">Today<").expect("today");
    let live = timeline.find(">go-live<").expect("the go-live");
    assert!(freeze < today && today < live, "{timeline}");
    let frozen = &timeline[..today];
    assert!(
        frozen.contains("not reached <span class=\"flag-overdue\">overdue</span>"),
        "{frozen}"
    );
    assert!(timeline.contains("aria-current=\"date\""), "{timeline}");

    // The tasks, and the forms of a plan manager.
    let qa_task = task_of(&page, qa);
    assert!(
        qa_task.contains("group:qa") && qa_task.contains("Required before"),
        "{qa_task}"
    );
    assert!(qa_task.contains(">Start</button>"), "{qa_task}");
    let announce_task = task_of(&page, announce);
    assert!(
        announce_task.contains("href=\"https://wiki.example.com/announce\""),
        "{announce_task}"
    );
    for form in [
        "id=\"go-live-form\"",
        "id=\"add-task\"",
        "id=\"add-milestone\"",
        ">Mark reached</button>",
    ] {
        assert!(page.html.contains(form), "{form}: {}", page.html);
    }

    // vic, of the group qa, may move the QA sign-off, and nothing else.
    let mut vic = Browser::default();
    vic.sign_in(&api, "vic", PASSWORD, "/").await;
    let seen = vic.get(&api, "/services/api/releases/1.0.0/plan").await;
    assert!(task_of(&seen, qa).contains(">Start</button>"));
    assert!(
        !task_of(&seen, announce).contains("<button"),
        "{}",
        task_of(&seen, announce)
    );
    for form in [
        "id=\"go-live-form\"",
        "id=\"add-task\"",
        "id=\"add-milestone\"",
        ">Mark reached</button>",
    ] {
        assert!(!seen.html.contains(form), "{form}");
    }
    let csrf = seen.hidden("csrf");
    let refused = vic
        .post(
            &api,
            &format!("/tasks/{announce}/start"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.html);
    assert!(
        refused.html.contains("it is not assigned to them"),
        "{}",
        refused.html
    );
    let started = vic
        .post(&api, &format!("/tasks/{qa}/start"), &[("csrf", &csrf)])
        .await;
    assert_eq!(started.status, StatusCode::SEE_OTHER, "{}", started.html);
    assert_eq!(
        started.location(),
        "/services/api/releases/1.0.0/plan?done=started"
    );
    let moved = vic.get(&api, started.location()).await;
    assert!(moved.html.contains("Task started."));
    assert!(task_of(&moved, qa).contains("data-state=\"in_progress\""));
    assert!(task_of(&moved, qa).contains(">in progress</span>"));
    let finished = vic
        .post(&api, &format!("/tasks/{qa}/done"), &[("csrf", &csrf)])
        .await;
    assert_eq!(finished.status, StatusCode::SEE_OTHER, "{}", finished.html);
    let moved = vic.get(&api, finished.location()).await;
    assert!(task_of(&moved, qa).contains("data-state=\"done\""));
    assert!(
        task_of(&moved, qa).contains(">Reopen</button>"),
        "a done task may be reopened"
    );
    let release = admin.get(&api, "/services/api/releases/1.0.0").await;
    assert!(
        !stage(&release, "dev").contains("of the plan must be done before dev"),
        "the task holds dev no more: {}",
        stage(&release, "dev")
    );

    // Skipping and reopening need a reason.
    let unsaid = admin
        .post(
            &api,
            &format!("/tasks/{announce}/skip"),
            &[("csrf", &page.hidden("csrf")), ("reason", " ")],
        )
        .await;
    assert_eq!(
        unsaid.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        unsaid.html
    );
    assert!(
        unsaid.html.contains("reason: required to skip a task"),
        "{}",
        unsaid.html
    );
    let csrf = page.hidden("csrf");
    let skipped = admin
        .post(
            &api,
            &format!("/tasks/{announce}/skip"),
            &[("csrf", &csrf), ("reason", "announced with 1.1")],
        )
        .await;
    assert_eq!(skipped.status, StatusCode::SEE_OTHER, "{}", skipped.html);

    // A plan manager adds a task and a milestone, marks a milestone
    // reached and moves the go-live date; the template's dates follow.
    let added = admin
        .post(
            &api,
            &format!("/plans/{plan_id}/tasks"),
            &[
                ("csrf", &csrf),
                ("title", "Rotate the keys"),
                ("assignee", "group:ops"),
                ("due", "2099-03-09"),
                ("required_before", "staging"),
                ("link", ""),
                ("description", ""),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.html);
    assert_eq!(
        added.location(),
        "/services/api/releases/1.0.0/plan?done=task"
    );
    let milestone = admin
        .post(
            &api,
            &format!("/plans/{plan_id}/milestones"),
            &[
                ("csrf", &csrf),
                ("name", "load test"),
                ("due", "2099-03-05"),
            ],
        )
        .await;
    assert_eq!(
        milestone.status,
        StatusCode::SEE_OTHER,
        "{}",
        milestone.html
    );
    let bad_date = admin
        .post(
            &api,
            &format!("/plans/{plan_id}/go-live"),
            &[("csrf", &csrf), ("go_live", "next tuesday")],
        )
        .await;
    assert_eq!(
        bad_date.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        bad_date.html
    );
    let moved = admin
        .post(
            &api,
            &format!("/plans/{plan_id}/go-live"),
            &[("csrf", &csrf), ("go_live", "2099-04-10")],
        )
        .await;
    assert_eq!(moved.status, StatusCode::SEE_OTHER, "{}", moved.html);
    let plan = api.get("/api/v1/services/api/releases/1.0.0/plan").await;
    let freeze = plan.body["milestones"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "code freeze")
        .unwrap();
    assert_eq!(
        freeze["due"], "2099-04-03T00:00:00Z",
        "the template's dates follow"
    );
    let freeze_id = freeze["id"].as_i64().unwrap();
    let reached = admin
        .post(
            &api,
            &format!("/milestones/{freeze_id}/done"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(reached.status, StatusCode::SEE_OTHER, "{}", reached.html);
    let page = admin.get(&api, reached.location()).await;
    assert!(page.html.contains("Milestone reached."));
    assert!(page.html.contains(">Rotate the keys</h3>"), "{}", page.html);
    assert!(page.html.contains(">load test</strong>"), "{}", page.html);
    assert!(page.html.contains("reached <time"), "{}", page.html);
    assert!(page.html.contains(">2099-04-10</time>"), "{}", page.html);
    let timeline = &page.html[page.html.find("id=\"timeline\"").unwrap()..];
    assert!(
        timeline.find(">Today<").unwrap() < timeline.find(">load test<").unwrap(),
        "today is before every milestone now"
    );

    // A release without a plan says so, and its plan page is a 404.
    let web = admin.get(&api, "/services/web/releases/1.0.0").await;
    assert!(web.html.contains("It has no release plan"), "{}", web.html);
    let missing = admin.get(&api, "/services/web/releases/1.0.0/plan").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(
        missing.html.contains("web@1.0.0 has no plan"),
        "{}",
        missing.html
    );
    let missing = admin.get(&api, "/trains/nosuch/plan").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(
        missing.html.contains("there is no train nosuch"),
        "{}",
        missing.html
    );
    api.close().await;
}

async fn a_service_page_pages_back_through_every_deployment(backend: &Backend) {
    let api = server(backend).await;
    // More deployments than a page holds (50).
    let mut ids = Vec::new();
    for _ in 0..55 {
        let promoted = api
            .post(
                "/api/v1/promotions",
                &json!({ "service": "api", "version": "1.0.0", "environment": "dev" }).to_string(),
            )
            .await;
        assert!(promoted.status.is_success(), "{:?}", promoted.body);
        let id = promoted.body["id"].as_i64().unwrap();
        let reported = api
            .post(
                &format!("/api/v1/deployments/{id}/report"),
                &json!({ "status": "failed" }).to_string(),
            )
            .await;
        assert_eq!(reported.status, StatusCode::OK, "{:?}", reported.body);
        ids.push(id);
    }
    ids.reverse();
    let mut browser = Browser::default();
    browser.sign_in(&api, "admin", PASSWORD, "/").await;
    let listed = |page: &Page| -> Vec<i64> {
        let table = &page.html[page.html.find("<table id=\"deployments\"").unwrap()..];
        table
            .split("<th scope=\"row\"><a href=\"/deployments/")
            .skip(1)
            .map(|cell| cell[..cell.find('"').unwrap()].parse().unwrap())
            .collect()
    };
    let first = browser.get(&api, "/services/api").await;
    assert_eq!(listed(&first), ids[..50], "the newest 50, newest first");
    let next = format!("/services/api?before={}#deployments-heading", ids[49]);
    assert!(
        first.html.contains(&format!(
            "<a href=\"{next}\" rel=\"next\">Older deployments</a>"
        )),
        "{}",
        first.html
    );
    assert!(!first.html.contains("Newest deployments"));
    let second = browser
        .get(&api, &format!("/services/api?before={}", ids[49]))
        .await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.html);
    assert_eq!(listed(&second), ids[50..], "the rest, down to the first");
    assert!(!second.html.contains("rel=\"next\""), "and no further");
    assert!(second.html.contains("Newest deployments"));
    let none = browser.get(&api, "/services/api?before=1").await;
    assert!(none.html.contains("No older deployments."), "{}", none.html);
    let bad = browser.get(&api, "/services/api?before=soon").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.html);
    api.close().await;
}

/// dev then prod; `api` and `web` deployed by another tool.
const TRAINED: &str = r#"
[[environment]]
name = "dev"
tier = "development"

[[environment]]
name = "prod"
tier = "production"

[lifecycle.default]
phases = [["dev"], ["prod"]]

[[service]]
name = "api"

[[service]]
name = "web"
"#;

async fn a_train_page_checks_each_member_and_promotes_the_train(backend: &Backend) {
    let mut kept = None;
    let api = Api::on_adjusted(backend, |state| kept = Some(state.clone())).await;
    let state = kept.unwrap();
    let config = ferry_core::config::parse(TRAINED).unwrap();
    api.store.apply("admin", &config, false).await.unwrap();
    let api = with_password(api).await;
    for service in ["api", "web"] {
        let created = api
            .post(
                &format!("/api/v1/services/{service}/releases"),
                &json!({ "version": "1.0.0" }).to_string(),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    }
    let made = api
        .post(
            "/api/v1/trains",
            &json!({ "name": "spring", "releases": ["web@1.0.0", "api@1.0.0"], "order": ["api", "web"] })
                .to_string(),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{:?}", made.body);
    person(&api, "vic", "viewer").await;
    let mut admin = Browser::default();
    admin.sign_in(&api, "admin", PASSWORD, "/").await;

    let list = admin.get(&api, "/trains").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.html);
    assert!(
        list.html.contains("<a href=\"/trains\">Trains</a>"),
        "in the navigation"
    );
    let row = &list.html[list
        .html
        .find("<a href=\"/trains/spring\">spring</a>")
        .expect("spring is listed")..];
    assert!(
        row.find(">api@1.0.0<").unwrap() < row.find(">web@1.0.0<").unwrap(),
        "in order"
    );
    assert!(row.contains("never promoted"));

    // Into dev, every member may go; into prod, neither has been in dev.
    let page = admin.get(&api, "/trains/spring").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(
        page.html.contains("<option selected>dev</option>"),
        "dev is chosen first"
    );
    assert!(page.html.contains("Every member may be promoted into dev."));
    assert!(page.html.contains(">Promote the train to dev</button>"));
    assert!(page.html.contains("it has no plan"));
    let seen = {
        let mut vic = Browser::default();
        vic.sign_in(&api, "vic", PASSWORD, "/").await;
        vic.get(&api, "/trains/spring").await
    };
    assert!(!seen.html.contains("Promote the train"), "a viewer may not");
    let prod = admin.get(&api, "/trains/spring?environment=prod").await;
    assert!(prod.html.contains("<option selected>prod</option>"));
    assert!(
        prod.html
            .contains("Blocked: one blocked member holds the whole train.")
    );
    let unknown = admin.get(&api, "/trains/spring?environment=moon").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{}", unknown.html);
    let csrf = page.hidden("csrf");
    let refused = admin
        .post(
            &api,
            "/trains/spring/promote",
            &[("csrf", &csrf), ("environment", "prod")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.html);
    let alert = &refused.html[refused.html.find("id=\"refused\"").expect("the refusal")..];
    let alert = &alert[..alert.find("</div>").unwrap()];
    assert!(alert.contains("train spring may not enter prod"), "{alert}");
    assert!(
        alert.contains("<li>api@1.0.0: ") && alert.contains("<li>web@1.0.0: "),
        "every blocker named with its member: {alert}"
    );

    // Promoted into dev: the run goes member by member.
    let promoted = admin
        .post(
            &api,
            "/trains/spring/promote",
            &[("csrf", &csrf), ("environment", "dev")],
        )
        .await;
    assert_eq!(promoted.status, StatusCode::SEE_OTHER, "{}", promoted.html);
    assert_eq!(
        promoted.location(),
        "/trains/spring?environment=dev&done=promoted"
    );
    let page = admin.get(&api, promoted.location()).await;
    assert!(
        page.html
            .contains("Promoted: the train is on its way into dev")
    );
    assert!(
        page.html
            .contains("into dev: <span class=\"state state-running\">running</span>"),
        "{}",
        page.html
    );
    assert!(
        !page.html.contains(">Promote the train to dev</button>"),
        "one run at a time"
    );
    for member in ["api", "web"] {
        ferry_server::orchestrator_tick(&state, chrono::Utc::now())
            .await
            .unwrap();
        let run = api.get("/api/v1/trains/spring").await;
        let deployment = run.body["runs"][0]["members"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["release"] == format!("{member}@1.0.0"))
            .and_then(|m| m["deployment"].as_i64())
            .unwrap_or_else(|| panic!("{member} is deployed: {:?}", run.body));
        let reported = api
            .post(
                &format!("/api/v1/deployments/{deployment}/report"),
                &json!({ "status": "succeeded" }).to_string(),
            )
            .await;
        assert_eq!(reported.status, StatusCode::OK, "{:?}", reported.body);
        let page = admin.get(&api, "/trains/spring").await;
        assert!(page.html.contains(&format!("<a href=\"/deployments/{deployment}\">{deployment}</a> <span class=\"state state-succeeded\">succeeded</span>")), "{}", page.html);
    }
    ferry_server::orchestrator_tick(&state, chrono::Utc::now())
        .await
        .unwrap();
    let page = admin.get(&api, "/trains/spring").await;
    assert!(
        page.html
            .contains("into dev: <span class=\"state state-succeeded\">succeeded</span>"),
        "{}",
        page.html
    );
    let list = admin.get(&api, "/trains").await;
    assert!(
        list.html
            .contains("into dev: <span class=\"state state-succeeded\">succeeded</span>"),
        "{}",
        list.html
    );
    api.close().await;
}

async fn a_failed_deployment_shows_its_review_and_a_release_manager_completes_it(
    backend: &Backend,
) {
    let api = server(backend).await;
    person(&api, "dana", "deployer").await;
    let promoted = api
        .post(
            "/api/v1/promotions",
            &json!({ "service": "api", "version": "1.0.0", "environment": "dev" }).to_string(),
        )
        .await;
    let id = promoted.body["id"].as_i64().unwrap();
    let reported = api
        .post(
            &format!("/api/v1/deployments/{id}/report"),
            &json!({ "status": "failed" }).to_string(),
        )
        .await;
    assert_eq!(reported.status, StatusCode::OK, "{:?}", reported.body);

    // The list shows it open, linked to its deployment's page.
    let mut browser = Browser::default();
    browser.sign_in(&api, "admin", PASSWORD, "/").await;
    let list = browser.get(&api, "/reviews").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.html);
    assert!(
        list.html.contains("href=\"/reviews\""),
        "the navigation links it"
    );
    let open = &list.html[list
        .html
        .find("id=\"open-reviews\"")
        .expect("an open review")..];
    assert!(
        open.contains(&format!("href=\"/deployments/{id}#review\"")) && open.contains("api@1.0.0"),
        "{}",
        list.html
    );
    assert!(list.html.contains("None completed yet."), "{}", list.html);

    // The deployment's page shows the draft, and the form to the admin.
    let page = browser.get(&api, &format!("/deployments/{id}")).await;
    assert!(
        page.html
            .contains("<h2 id=\"review-heading\">Post-implementation review</h2>")
    );
    assert!(
        page.html.contains("api@1.0.0 failed in dev"),
        "the draft's summary: {}",
        page.html
    );
    assert!(page.html.contains("id=\"review-form\""), "{}", page.html);
    assert!(page.html.contains("<label for=\"review-notes\">"));

    // A deployer reads it, without the form.
    let mut deployer = Browser::default();
    deployer.sign_in(&api, "dana", PASSWORD, "/").await;
    let theirs = deployer.get(&api, &format!("/deployments/{id}")).await;
    assert!(theirs.html.contains("Post-implementation review"));
    assert!(
        !theirs.html.contains("id=\"review-form\""),
        "{}",
        theirs.html
    );

    // Completed from the form; the page says so.
    let csrf = page.hidden("csrf");
    let posted = browser
        .post(
            &api,
            &format!("/reviews/{id}"),
            &[
                ("csrf", &csrf),
                ("outcome", "follow-up"),
                ("notes", "the health check was too strict"),
                ("actions", "loosen the check\n\nadd a canary stage\n"),
            ],
        )
        .await;
    assert_eq!(posted.status, StatusCode::SEE_OTHER, "{}", posted.html);
    let back = posted.location().split('#').next().unwrap().to_owned();
    let page = browser.get(&api, &back).await;
    assert!(page.html.contains("Review completed."), "{}", page.html);
    assert!(page.html.contains("by admin"), "{}", page.html);
    assert!(
        page.html.contains("<li>add a canary stage</li>"),
        "{}",
        page.html
    );
    assert!(
        !page.html.contains("id=\"review-form\""),
        "completed: no form"
    );
    let review = api.get(&format!("/api/v1/reviews/{id}")).await;
    assert_eq!(review.body["completion"]["outcome"], "follow-up");
    assert_eq!(
        review.body["completion"]["actions"],
        json!(["loosen the check", "add a canary stage"])
    );

    // Again: refused, saying why; and the list moves it to the completed.
    let again = browser
        .post(
            &api,
            &format!("/reviews/{id}"),
            &[("csrf", &csrf), ("outcome", "resolved"), ("notes", "again")],
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.html);
    assert!(again.html.contains("completed already"), "{}", again.html);
    let list = browser.get(&api, "/reviews").await;
    assert!(list.html.contains("No review is open."), "{}", list.html);
    assert!(
        list.html.contains("id=\"completed-reviews\""),
        "{}",
        list.html
    );
    api.close().await;
}
