//! The embedded migrations, one list per backend (their SQL differs in types).

use std::borrow::Cow;

use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AssertSqlSafe, SqlSafeStr};

use crate::{Backend, Result, Store};

/// `(version, description, SQLite SQL, PostgreSQL SQL)`; append only.
const MIGRATIONS: &[(i64, &str, &str, &str)] = &[
    (
        1,
        "init",
        include_str!("../migrations/sqlite/0001_init.sql"),
        include_str!("../migrations/postgres/0001_init.sql"),
    ),
    (
        2,
        "release content",
        include_str!("../migrations/sqlite/0002_release_content.sql"),
        include_str!("../migrations/postgres/0002_release_content.sql"),
    ),
    (
        3,
        "control",
        include_str!("../migrations/sqlite/0003_control.sql"),
        include_str!("../migrations/postgres/0003_control.sql"),
    ),
    (
        4,
        "agents and jobs",
        include_str!("../migrations/sqlite/0004_agents_jobs.sql"),
        include_str!("../migrations/postgres/0004_agents_jobs.sql"),
    ),
    (
        5,
        "deployment progress",
        include_str!("../migrations/sqlite/0005_deployment_progress.sql"),
        include_str!("../migrations/postgres/0005_deployment_progress.sql"),
    ),
    (
        6,
        "cancel and logs",
        include_str!("../migrations/sqlite/0006_cancel_and_logs.sql"),
        include_str!("../migrations/postgres/0006_cancel_and_logs.sql"),
    ),
    (
        7,
        "variables",
        include_str!("../migrations/sqlite/0007_variables.sql"),
        include_str!("../migrations/postgres/0007_variables.sql"),
    ),
    (
        8,
        "job start",
        include_str!("../migrations/sqlite/0008_job_start.sql"),
        include_str!("../migrations/postgres/0008_job_start.sql"),
    ),
    (
        9,
        "access",
        include_str!("../migrations/sqlite/0009_access.sql"),
        include_str!("../migrations/postgres/0009_access.sql"),
    ),
    (
        10,
        "workload identity",
        include_str!("../migrations/sqlite/0010_workload_identity.sql"),
        include_str!("../migrations/postgres/0010_workload_identity.sql"),
    ),
    (
        11,
        "idempotency keys",
        include_str!("../migrations/sqlite/0011_idempotency_keys.sql"),
        include_str!("../migrations/postgres/0011_idempotency_keys.sql"),
    ),
    (
        12,
        "web sign-in",
        include_str!("../migrations/sqlite/0012_web_sign_in.sql"),
        include_str!("../migrations/postgres/0012_web_sign_in.sql"),
    ),
    (
        13,
        "oidc sign-in",
        include_str!("../migrations/sqlite/0013_oidc_sign_in.sql"),
        include_str!("../migrations/postgres/0013_oidc_sign_in.sql"),
    ),
    (
        14,
        "deployment heads",
        include_str!("../migrations/sqlite/0014_deployment_heads.sql"),
        include_str!("../migrations/postgres/0014_deployment_heads.sql"),
    ),
    (
        15,
        "locks and marks",
        include_str!("../migrations/sqlite/0015_locks_and_marks.sql"),
        include_str!("../migrations/postgres/0015_locks_and_marks.sql"),
    ),
    (
        16,
        "pauses",
        include_str!("../migrations/sqlite/0016_pauses.sql"),
        include_str!("../migrations/postgres/0016_pauses.sql"),
    ),
    (
        17,
        "plans and trains",
        include_str!("../migrations/sqlite/0017_plans_and_trains.sql"),
        include_str!("../migrations/postgres/0017_plans_and_trains.sql"),
    ),
    (
        18,
        "incidents",
        include_str!("../migrations/sqlite/0018_incidents.sql"),
        include_str!("../migrations/postgres/0018_incidents.sql"),
    ),
    (
        19,
        "rollback index",
        include_str!("../migrations/sqlite/0019_rollback_index.sql"),
        include_str!("../migrations/postgres/0019_rollback_index.sql"),
    ),
    (
        20,
        "webhooks",
        include_str!("../migrations/sqlite/0020_webhooks.sql"),
        include_str!("../migrations/postgres/0020_webhooks.sql"),
    ),
    (
        21,
        "calendar feeds",
        include_str!("../migrations/sqlite/0021_calendar_feeds.sql"),
        include_str!("../migrations/postgres/0021_calendar_feeds.sql"),
    ),
    (
        22,
        "reviews",
        include_str!("../migrations/sqlite/0022_reviews.sql"),
        include_str!("../migrations/postgres/0022_reviews.sql"),
    ),
    (
        23,
        "webhook formats",
        include_str!("../migrations/sqlite/0023_webhook_formats.sql"),
        include_str!("../migrations/postgres/0023_webhook_formats.sql"),
    ),
    (
        24,
        "freeze watch",
        include_str!("../migrations/sqlite/0024_freeze_watch.sql"),
        include_str!("../migrations/postgres/0024_freeze_watch.sql"),
    ),
    (
        25,
        "webhook names",
        include_str!("../migrations/sqlite/0025_webhook_names.sql"),
        include_str!("../migrations/postgres/0025_webhook_names.sql"),
    ),
    (
        26,
        "current state",
        include_str!("../migrations/sqlite/0026_current_state.sql"),
        include_str!("../migrations/postgres/0026_current_state.sql"),
    ),
    (
        27,
        "deployment drivers",
        include_str!("../migrations/sqlite/0027_deployment_drivers.sql"),
        include_str!("../migrations/postgres/0027_deployment_drivers.sql"),
    ),
];

pub(crate) async fn run(store: &Store) -> Result<()> {
    let migrations = MIGRATIONS
        .iter()
        .map(|&(version, description, sqlite, postgres)| {
            let sql = match store.backend() {
                Backend::Sqlite => sqlite,
                Backend::Postgres => postgres,
            };
            Migration::new(
                version,
                Cow::Borrowed(description),
                MigrationType::Simple,
                AssertSqlSafe(sql).into_sql_str(),
                false,
            )
        })
        .collect();
    Migrator::with_migrations(migrations)
        .run(store.pool())
        .await?;
    Ok(())
}
