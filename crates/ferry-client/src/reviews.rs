//! Post-implementation reviews of deployments.

use reqwest::Method;

use crate::{Client, Error, Page};

impl Client {
    /// The reviews, open ones first; only open ones when `open`, only of
    /// `service` and in `environment` when given.
    pub async fn reviews(
        &self,
        open: bool,
        service: Option<&str>,
        environment: Option<&str>,
    ) -> Result<Page<ferry_api::Review>, Error> {
        let mut query = vec![("open", open.to_string())];
        if let Some(service) = service {
            query.push(("service", service.to_owned()));
        }
        if let Some(environment) = environment {
            query.push(("environment", environment.to_owned()));
        }
        self.get(&["reviews"], Some(&query)).await
    }

    /// The review of deployment `deployment`.
    pub async fn review(&self, deployment: i64) -> Result<ferry_api::Review, Error> {
        self.get(&["reviews", &deployment.to_string()], None::<&()>)
            .await
    }

    /// Completes the review of deployment `deployment`.
    pub async fn complete_review(
        &self,
        deployment: i64,
        body: &ferry_api::CompleteReview,
    ) -> Result<ferry_api::Review, Error> {
        self.send_json(Method::POST, &["reviews", &deployment.to_string()], body)
            .await
    }
}
