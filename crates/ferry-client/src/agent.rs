//! Agent tokens, and the endpoints an agent calls with its own token.

use reqwest::Method;

use crate::*;

/// Agent tokens, and the endpoints an agent calls with its own token.
impl Client {
    /// Creates an agent and its token (administrators only); the secret is
    /// in this answer only.
    pub async fn create_agent_token(
        &self,
        request: &CreateAgentToken,
    ) -> Result<CreatedAgentToken, Error> {
        self.send_json(Method::POST, &["agent-tokens"], request)
            .await
    }

    /// Says the agent is there (with an agent token); answers its record.
    pub async fn agent_hello(&self, hello: &AgentHello) -> Result<Agent, Error> {
        self.send_json_once(Method::POST, &["agent", "hello"], hello)
            .await
    }

    /// Claims the agent's next job, waiting up to `wait_seconds` (the server
    /// caps it at 30) for one; `None` when none came.
    pub async fn agent_next_job(&self, wait_seconds: u64) -> Result<Option<AgentJob>, Error> {
        let request = self
            .request(Method::GET, &["agent", "jobs", "next"])
            .query(&[("wait", wait_seconds)])
            .timeout(Duration::from_secs(wait_seconds + 30));
        let response = self.send(request).await?;
        if response.status() == reqwest::StatusCode::NO_CONTENT {
            return Ok(None);
        }
        decode(response).await.map(Some)
    }

    /// Says the agent starts running a job it claimed; `false` when the
    /// attempt no longer holds it (it must not run).
    pub async fn agent_start(&self, job_id: i64, attempt: i64) -> Result<bool, Error> {
        let ack: HeartbeatAck = self
            .send_json_once(
                Method::POST,
                &["agent", "jobs", &job_id.to_string(), "start"],
                &AgentHeartbeat { attempt },
            )
            .await?;
        Ok(ack.ok)
    }

    /// Extends the lease of a running job; `false` when the lease is gone.
    pub async fn agent_heartbeat(&self, job_id: i64, attempt: i64) -> Result<bool, Error> {
        let ack: HeartbeatAck = self
            .send_json_once(
                Method::POST,
                &["agent", "jobs", &job_id.to_string(), "heartbeat"],
                &AgentHeartbeat { attempt },
            )
            .await?;
        Ok(ack.ok)
    }

    /// Sends lines a job's steps printed (a line sent twice is stored once).
    pub async fn agent_logs(&self, job_id: i64, logs: &ferry_api::AgentLogs) -> Result<(), Error> {
        let request = self.prepare(
            self.request(
                Method::POST,
                &["agent", "jobs", &job_id.to_string(), "logs"],
            )
            .json(logs),
        )?;
        self.attempt(request).await.map(drop)
    }

    /// Reports how a job ended (idempotent).
    pub async fn agent_finish(&self, job_id: i64, report: &FinishJob) -> Result<FinishAck, Error> {
        self.send_json_once(
            Method::POST,
            &["agent", "jobs", &job_id.to_string(), "finish"],
            report,
        )
        .await
    }

    /// An artifact of a job's release, to be read chunk by chunk; its digest
    /// is in the `ferry-digest` header.
    pub async fn agent_download_artifact(
        &self,
        job_id: i64,
        name: &str,
    ) -> Result<Download, Error> {
        let url = self.url(&["agent", "jobs", &job_id.to_string(), "artifacts", name]);
        let response = self.send(self.http.get(url.clone())).await?;
        Ok(Download {
            response,
            url: url.to_string(),
        })
    }
}
