//! Locks of environments, and the bad marks of releases rolled back.

use reqwest::Method;

use crate::{Client, Error, Page};

impl Client {
    /// The locks in force, of one environment or of all.
    pub async fn locks(&self, environment: Option<&str>) -> Result<Page<ferry_api::Lock>, Error> {
        match environment {
            Some(environment) => {
                self.get(&["locks"], Some(&[("environment", environment)]))
                    .await
            }
            None => self.get(&["locks"], None::<&()>).await,
        }
    }

    /// Locks an environment, or one service in it.
    pub async fn lock(&self, lock: &ferry_api::NewLock) -> Result<ferry_api::Lock, Error> {
        self.send_json(Method::POST, &["locks"], lock).await
    }

    /// Lifts a lock; the answer is the lock lifted.
    pub async fn unlock(&self, unlock: &ferry_api::Unlock) -> Result<ferry_api::Lock, Error> {
        self.send_json(Method::POST, &["locks", "unlock"], unlock)
            .await
    }

    /// A release's bad marks, in force and lifted.
    pub async fn marks(
        &self,
        service: &str,
        version: &str,
    ) -> Result<Page<ferry_api::Mark>, Error> {
        self.get(
            &["services", service, "releases", version, "marks"],
            None::<&()>,
        )
        .await
    }

    /// Lifts a release's bad mark in an environment.
    pub async fn unmark(
        &self,
        service: &str,
        version: &str,
        unmark: &ferry_api::Unmark,
    ) -> Result<ferry_api::Mark, Error> {
        self.send_json(
            Method::POST,
            &["services", service, "releases", version, "unmark"],
            unmark,
        )
        .await
    }
}
