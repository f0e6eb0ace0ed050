//! What the store's tests share: a store on each backend, and the macro that
//! runs one story against both. The PostgreSQL run needs
//! `FERRY_TEST_POSTGRES_URL` (a database the tests may create schemas in);
//! each store works in a schema of its own so runs never collide. Under CI
//! (`CI` set) a missing URL fails the run rather than skipping it.

use ferry_store::Store;
use sqlx::Connection;

/// A store for one test, with what it takes to reach its database directly.
pub struct Fixture {
    pub store: Store,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

pub async fn sqlite() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("ferry.db").display());
    let store = Store::connect(&url).await.unwrap();
    Fixture {
        store,
        url,
        _dir: Some(dir),
    }
}

pub async fn postgres() -> Option<Fixture> {
    let Ok(base) = std::env::var("FERRY_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "FERRY_TEST_POSTGRES_URL is not set: CI must run the PostgreSQL contract suite"
        );
        eprintln!("FERRY_TEST_POSTGRES_URL is not set: skipping the PostgreSQL run of this story");
        return None;
    };
    let mut random = [0u8; 6];
    getrandom::fill(&mut random).unwrap();
    let schema = format!("ferry_test_{}", hex::encode(random));
    let mut admin = sqlx::PgConnection::connect(&base).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&mut admin)
        .await
        .unwrap();
    admin.close().await.unwrap();
    let separator = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{separator}options[search_path]={schema}");
    let store = Store::connect(&url).await.unwrap();
    Some(Fixture {
        store,
        url,
        _dir: None,
    })
}

/// Runs each story once per backend.
macro_rules! contract {
    ($($story:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $story() {
                    super::$story(super::sqlite().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $story() {
                    if let Some(fixture) = super::postgres().await {
                        super::$story(fixture).await;
                    }
                }
            )*
        }
    };
}
