//! Promotions the gates refused: kept in the audit trail, so that who tried
//! what, and why it could not go, is on record and told to subscribers
//! (`promotion.blocked`, and `approval.requested` when approvals are what
//! it waits for).

use ferry_core::Name;
use ferry_core::gates::{Finding, code};
use serde_json::json;

use crate::audit::append;
use crate::{Result, Store};

impl Store {
    /// Records that `actor` asked to promote `service@version` to
    /// `environment` and the gates refused it for `blockers`; when one of
    /// them is missing approvals, records the request for approvals too.
    pub async fn record_refused_promotion(
        &self,
        actor: &str,
        service: &Name,
        version: &semver::Version,
        environment: &Name,
        blockers: &[Finding],
    ) -> Result<()> {
        let release = format!("{service}@{version}");
        let object = format!("release:{release}");
        let mut tx = self.write().await?;
        append(
            &mut tx,
            self.backend(),
            actor,
            "promotion.block",
            &object,
            json!({ "after": {
                "release": release, "service": service, "version": version.to_string(),
                "environment": environment, "blockers": blockers,
            } }),
        )
        .await?;
        if let Some(missing) = blockers.iter().find(|b| b.code == code::APPROVALS_MISSING) {
            append(
                &mut tx,
                self.backend(),
                actor,
                "approval.request",
                &object,
                json!({ "after": {
                    "release": release, "service": service, "version": version.to_string(),
                    "environment": environment, "needed": missing.message, "how": missing.clear,
                } }),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
