//! DORA metrics and incidents.

use reqwest::Method;

use crate::{Client, Error, Page};

impl Client {
    /// The DORA metrics; `query` holds `service`, `environment`, `since`
    /// and `until`, each optional.
    pub async fn metrics(
        &self,
        query: &[(&str, String)],
    ) -> Result<ferry_api::MetricsReport, Error> {
        self.get(&["metrics"], Some(query)).await
    }

    /// Incidents, newest first; only open ones when `open`.
    pub async fn incidents(&self, open: bool) -> Result<Page<ferry_api::Incident>, Error> {
        self.get(&["incidents"], Some(&[("open", open)])).await
    }

    /// Opens an incident.
    pub async fn open_incident(
        &self,
        incident: &ferry_api::OpenIncident,
    ) -> Result<ferry_api::Incident, Error> {
        self.send_json(Method::POST, &["incidents"], incident).await
    }

    /// Resolves incident `id`.
    pub async fn resolve_incident(
        &self,
        id: i64,
        body: &ferry_api::ResolveIncident,
    ) -> Result<ferry_api::Incident, Error> {
        self.send_json(
            Method::POST,
            &["incidents", &id.to_string(), "resolve"],
            body,
        )
        .await
    }
}
