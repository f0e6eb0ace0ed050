//! Webhook subscriptions and their deliveries.

use reqwest::Method;

use crate::{Client, Error, Page};

impl Client {
    /// Subscribes an address to events; the answer holds the signing
    /// secret, shown this once.
    pub async fn create_webhook(
        &self,
        webhook: &ferry_api::NewWebhook,
    ) -> Result<ferry_api::CreatedWebhook, Error> {
        self.send_json(Method::POST, &["webhooks"], webhook).await
    }

    /// The subscriptions in force.
    pub async fn webhooks(&self) -> Result<Page<ferry_api::Webhook>, Error> {
        self.get(&["webhooks"], None::<&()>).await
    }

    /// Deletes subscription `id`.
    pub async fn delete_webhook(&self, id: i64) -> Result<(), Error> {
        self.send(self.request(Method::DELETE, &["webhooks", &id.to_string()]))
            .await?;
        Ok(())
    }

    /// The deliveries of subscription `id`, newest first.
    pub async fn webhook_deliveries(
        &self,
        id: i64,
        limit: u32,
    ) -> Result<Page<ferry_api::WebhookDelivery>, Error> {
        self.get(
            &["webhooks", &id.to_string(), "deliveries"],
            Some(&[("limit", limit)]),
        )
        .await
    }

    /// Delivery `id`, with its attempts.
    pub async fn webhook_delivery(&self, id: i64) -> Result<ferry_api::WebhookDelivery, Error> {
        self.get(&["webhooks", "deliveries", &id.to_string()], None::<&()>)
            .await
    }

    /// Sends delivery `id` again now.
    pub async fn redeliver(&self, id: i64) -> Result<ferry_api::WebhookDelivery, Error> {
        self.send_json(
            Method::POST,
            &["webhooks", "deliveries", &id.to_string(), "redeliver"],
            &serde_json::json!({}),
        )
        .await
    }
}
