//! Webhook subscriptions declared in `ferry.toml` (`[[webhook]]`), as
//! `ferry apply` reads and writes them: by name, in the apply's
//! transaction, each change in the audit trail.

use ferry_core::subscription::{SecretSource, WebhookSpec};
use serde_json::json;
use sqlx::AnyConnection;

use crate::audit::append;
use crate::rows::{int, now, opt_text, text};
use crate::{Result, Store, StoreError, Tx};

/// The declared subscriptions in force, by name, written as the file would
/// write them ([`WebhookSpec::normalized`]).
pub(crate) async fn load_webhook_specs(connection: &mut AnyConnection) -> Result<Vec<WebhookSpec>> {
    let rows = sqlx::query(
        "SELECT w.name, w.url, w.format, w.events, s.name AS service, e.name AS environment, \
         w.secret_sealed FROM webhooks w LEFT JOIN services s ON s.id = w.service_id \
         LEFT JOIN environments e ON e.id = w.environment_id \
         WHERE w.name IS NOT NULL AND w.deleted_at IS NULL ORDER BY w.name",
    )
    .fetch_all(connection)
    .await?;
    rows.iter()
        .map(|row| {
            let parse_name = |column: &str| -> Result<Option<ferry_core::Name>> {
                opt_text(row, column)?
                    .map(|text| {
                        ferry_core::Name::parse(&text)
                            .map_err(|error| StoreError::Corrupt(format!("{column}: {error}")))
                    })
                    .transpose()
            };
            let (secret_file, secret_env) =
                match SecretSource::from_stored(&text(row, "secret_sealed")?) {
                    SecretSource::File(path) => (Some(path), None),
                    SecretSource::Env(name) => (None, Some(name)),
                    SecretSource::Sealed(_) => (None, None),
                };
            let spec = WebhookSpec {
                name: parse_name("name")?.ok_or_else(|| StoreError::Corrupt("name".into()))?,
                url: text(row, "url")?,
                format: Some(text(row, "format")?),
                events: serde_json::from_str(&text(row, "events")?)?,
                service: parse_name("service")?,
                environment: parse_name("environment")?,
                secret_file,
                secret_env,
            };
            Ok(spec.normalized())
        })
        .collect()
}

impl Store {
    /// Makes the declared subscription `spec`, or brings the one of its
    /// name (`before`) to it. Deliveries waiting keep their place and go
    /// where it now says.
    pub(crate) async fn write_webhook(
        &self,
        tx: &mut Tx,
        actor: &str,
        spec: &WebhookSpec,
        before: Option<&WebhookSpec>,
    ) -> Result<()> {
        let format = spec.format().map_err(StoreError::Invalid)?;
        let events =
            serde_json::to_string(&spec.selection().map_err(StoreError::Invalid)?.names())?;
        let ids = crate::webhooks::scope_ids(tx, spec.service.as_ref(), spec.environment.as_ref())
            .await?;
        // Nothing checks a chat or e-mail delivery's signature: without a
        // place named, there is no secret.
        let secret = spec
            .secret_source()
            .map(|source| source.stored())
            .unwrap_or_default();
        let id = if before.is_some() {
            let row = sqlx::query(
                "UPDATE webhooks SET url = $1, format = $2, events = $3, service_id = $4, \
                 environment_id = $5, secret_sealed = $6 WHERE name = $7 AND deleted_at IS NULL RETURNING id",
            )
            .bind(&spec.url)
            .bind(format.as_str())
            .bind(&events)
            .bind(ids[0])
            .bind(ids[1])
            .bind(&secret)
            .bind(spec.name.as_str())
            .fetch_one(&mut **tx)
            .await?;
            int(&row, "id")?
        } else {
            let row = sqlx::query(
                "INSERT INTO webhooks (name, url, format, events, service_id, environment_id, secret_sealed, \
                 created_by, created_at, after_seq) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0) RETURNING id",
            )
            .bind(spec.name.as_str())
            .bind(&spec.url)
            .bind(format.as_str())
            .bind(&events)
            .bind(ids[0])
            .bind(ids[1])
            .bind(&secret)
            .bind(actor)
            .bind(now())
            .fetch_one(&mut **tx)
            .await?;
            int(&row, "id")?
        };
        // A chat service's incoming-webhook address holds its credential:
        // the trail keeps it without.
        let shown = |spec: &WebhookSpec| {
            let format = spec.format().unwrap_or_default();
            let mut shown = spec.clone();
            shown.url = format.shown_url(&spec.url);
            shown
        };
        let verb = if before.is_some() { "update" } else { "create" };
        let seq = append(
            tx,
            self.backend(),
            actor,
            &format!("webhook.{verb}"),
            &format!("webhook:{id}"),
            json!({ "before": before.map(shown), "after": shown(spec) }),
        )
        .await?;
        if before.is_none() {
            // Told of what happens after it was made.
            sqlx::query("UPDATE webhooks SET after_seq = $1 WHERE id = $2")
                .bind(seq)
                .bind(id)
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }
}
