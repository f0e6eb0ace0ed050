//! The web UI: pages for people, rendered on the server from compiled
//! templates, styled by one stylesheet embedded in the binary, usable with
//! JavaScript off. A browser signs in with a password and holds a session
//! cookie; API tokens are for the API only.

mod admin;
mod assets;
mod audit;
mod calendar;
mod calendar_feeds;
mod changes;
mod chart;
mod comparison;
mod dashboard;
mod deployment;
mod dora;
mod evidence_pack;
mod incidents;
mod invitation;
mod locks;
mod page;
mod plan;
mod posted;
mod release;
mod reviews;
mod service;
mod session;
mod sign_in;
mod single_sign_on;
mod throttle;
mod train;
mod webhooks;

use axum::Router;
use axum::routing::{get, post};

use crate::state::AppState;

pub use audit::LastCheck;
pub use session::SessionLimits;
pub(crate) use session::percent_encode;
pub use throttle::Throttle;

/// The pages and what they need.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(dashboard::page))
        .route("/dashboard/stream", get(dashboard::stream))
        .route("/locks", post(locks::lock))
        .route("/locks/unlock", post(locks::unlock))
        .route("/login", get(sign_in::form).post(sign_in::submit))
        .route("/login/oidc", get(single_sign_on::start))
        .route("/login/oidc/callback", get(single_sign_on::callback))
        .route("/logout", post(sign_in::sign_out))
        .route(
            "/invitations/{secret}",
            get(invitation::form).post(invitation::submit),
        )
        .route("/services/{service}", get(service::page))
        .route("/services/{service}/diff", get(comparison::page))
        .route("/services/{service}/releases/{version}", get(release::page))
        .route(
            "/services/{service}/releases/{version}/artifacts/{name}",
            get(release::download),
        )
        .route(
            "/services/{service}/releases/{version}/evidence-pack",
            get(evidence_pack::download),
        )
        .route(
            "/services/{service}/releases/{version}/approve",
            post(release::approve),
        )
        .route(
            "/services/{service}/releases/{version}/reject",
            post(release::reject),
        )
        .route(
            "/services/{service}/releases/{version}/promote",
            post(release::promote),
        )
        .route(
            "/services/{service}/releases/{version}/unmark",
            post(release::unmark),
        )
        .route("/deployments/{id}", get(deployment::page))
        .route("/deployments/{id}/log", get(deployment::lines))
        .route("/deployments/{id}/log/stream", get(deployment::stream))
        .route("/deployments/{id}/cancel", post(deployment::cancel))
        .route("/deployments/{id}/rollback", post(deployment::roll_back))
        .route("/deployments/{id}/decide", post(deployment::decide))
        .route("/reviews", get(reviews::list))
        .route("/reviews/{deployment}", post(reviews::complete))
        .route("/admin", get(admin::page))
        .route("/admin/agents/{id}/revoke", post(admin::revoke_agent))
        .route("/admin/webhooks", get(webhooks::list))
        .route("/admin/webhooks/{id}", get(webhooks::page))
        .route(
            "/admin/webhooks/deliveries/{id}/redeliver",
            post(webhooks::redeliver),
        )
        .route("/changes", get(changes::list))
        .route("/changes/{id}", get(changes::page))
        .route("/changes/{id}/{action}", post(changes::act))
        .route("/calendar", get(calendar::page))
        .route(
            "/calendar/feeds",
            get(calendar_feeds::list).post(calendar_feeds::create),
        )
        .route("/calendar/feeds/{id}/revoke", post(calendar_feeds::revoke))
        .route("/dora", get(dora::page))
        .route("/incidents", get(incidents::list).post(incidents::open))
        .route("/incidents/{id}/resolve", post(incidents::resolve))
        .route(
            "/services/{service}/releases/{version}/plan",
            get(plan::release_page),
        )
        .route("/plans/{id}/go-live", post(plan::set_go_live))
        .route("/plans/{id}/tasks", post(plan::add_task))
        .route("/plans/{id}/milestones", post(plan::add_milestone))
        .route("/tasks/{id}/{action}", post(plan::move_task))
        .route("/milestones/{id}/done", post(plan::complete_milestone))
        .route("/trains", get(train::list))
        .route("/trains/{name}", get(train::page))
        .route("/trains/{name}/promote", post(train::promote))
        .route("/trains/{name}/plan", get(plan::train_page))
        .route("/audit", get(audit::page))
        .route("/audit/verify", post(audit::verify))
        .route("/assets/{file}", get(assets::serve))
}
