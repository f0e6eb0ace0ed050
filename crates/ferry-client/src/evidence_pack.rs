//! Evidence packs: the archive for auditors, downloaded as it arrives.

use reqwest::Method;

use crate::{Client, Download, Error};

/// What a pack covers: the query of `GET /api/v1/evidence-pack`, each
/// value sent as given (the server reads and checks them).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct EvidencePackQuery {
    /// `SERVICE@VERSION`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    /// Only this environment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
    /// A period's start: a date or an RFC 3339 time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// A period's end: a date (included) or an RFC 3339 time (excluded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    /// Only this service's deployments (a period's pack).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
}

impl Client {
    /// The evidence pack `query` asks for, a `.tar.gz` to be read chunk by
    /// chunk; its name is in the `content-disposition` header.
    pub async fn evidence_pack(&self, query: &EvidencePackQuery) -> Result<Download, Error> {
        let request = self.request(Method::GET, &["evidence-pack"]).query(query);
        let response = self.send(request).await?;
        Ok(Download {
            url: response.url().to_string(),
            response,
        })
    }
}
