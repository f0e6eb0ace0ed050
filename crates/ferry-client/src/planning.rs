//! Release plans and release trains.

use reqwest::Method;

use crate::{Client, Error, Page};

impl Client {
    /// A release's plan.
    pub async fn release_plan(
        &self,
        service: &str,
        version: &str,
    ) -> Result<ferry_api::Plan, Error> {
        self.get(
            &["services", service, "releases", version, "plan"],
            None::<&()>,
        )
        .await
    }

    /// Makes a release's plan.
    pub async fn create_plan(
        &self,
        service: &str,
        version: &str,
        plan: &ferry_api::NewPlan,
    ) -> Result<ferry_api::Plan, Error> {
        self.send_json(
            Method::POST,
            &["services", service, "releases", version, "plan"],
            plan,
        )
        .await
    }

    /// Sets a plan's owner or go-live date.
    pub async fn update_plan(
        &self,
        id: i64,
        update: &ferry_api::PlanUpdate,
    ) -> Result<ferry_api::Plan, Error> {
        self.send_json(Method::PATCH, &["plans", &id.to_string()], update)
            .await
    }

    /// Adds a task to plan `id`.
    pub async fn add_task(
        &self,
        id: i64,
        task: &ferry_api::NewPlanTask,
    ) -> Result<ferry_api::Task, Error> {
        self.send_json(Method::POST, &["plans", &id.to_string(), "tasks"], task)
            .await
    }

    /// Moves task `id`: `start`, `done`, `skip` or `reopen`.
    pub async fn move_task(
        &self,
        id: i64,
        action: &str,
        body: &ferry_api::TaskMove,
    ) -> Result<ferry_api::Task, Error> {
        self.send_json(Method::POST, &["tasks", &id.to_string(), action], body)
            .await
    }

    /// Adds a milestone to plan `id`.
    pub async fn add_milestone(
        &self,
        id: i64,
        milestone: &ferry_api::NewPlanMilestone,
    ) -> Result<ferry_api::Milestone, Error> {
        self.send_json(
            Method::POST,
            &["plans", &id.to_string(), "milestones"],
            milestone,
        )
        .await
    }

    /// Records milestone `id` reached.
    pub async fn complete_milestone(&self, id: i64) -> Result<ferry_api::Milestone, Error> {
        self.send_json(
            Method::POST,
            &["milestones", &id.to_string(), "done"],
            &serde_json::json!({}),
        )
        .await
    }

    /// Every train.
    pub async fn trains(&self) -> Result<Page<ferry_api::Train>, Error> {
        self.get(&["trains"], None::<&()>).await
    }

    /// Makes a train.
    pub async fn create_train(
        &self,
        train: &ferry_api::NewTrain,
    ) -> Result<ferry_api::Train, Error> {
        self.send_json(Method::POST, &["trains"], train).await
    }

    /// One train, with its runs.
    pub async fn train(&self, name: &str) -> Result<ferry_api::Train, Error> {
        self.get(&["trains", name], None::<&()>).await
    }

    /// Every member's gates for promoting train `name` into `environment`.
    pub async fn check_train(
        &self,
        name: &str,
        environment: &str,
    ) -> Result<ferry_api::TrainCheck, Error> {
        self.get(
            &["trains", name, "check"],
            Some(&[("environment", environment)]),
        )
        .await
    }

    /// Promotes train `name` into `environment`.
    pub async fn promote_train(
        &self,
        name: &str,
        environment: &ferry_api::TrainPromotion,
    ) -> Result<ferry_api::TrainRun, Error> {
        self.send_json(Method::POST, &["trains", name, "promotions"], environment)
            .await
    }

    /// A train's plan.
    pub async fn train_plan(&self, name: &str) -> Result<ferry_api::Plan, Error> {
        self.get(&["trains", name, "plan"], None::<&()>).await
    }
}
