-- Agents and the jobs they run. A job is leased, not locked: the agent that
-- claims it holds it until `lease_expires_at`, and every report names the
-- attempt it belongs to, so a stale agent cannot overwrite a newer attempt.
-- Times are fixed-width RFC 3339 UTC text and compare correctly as text.

-- An agent is known by the SHA-256 (hex) of the secret the server gave it.
-- `tags` is a JSON object of strings.
CREATE TABLE agents (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL,
    environment_id  INTEGER NOT NULL REFERENCES environments (id),
    tags            TEXT NOT NULL,
    token_hash      TEXT NOT NULL UNIQUE,
    created_at      TEXT NOT NULL,
    last_seen_at    TEXT,
    revoked_at      TEXT,
    UNIQUE (environment_id, name)
);

-- One job per deployment, agent and kind: creating jobs twice creates them
-- once. `lease_owner` is `agent:<agent id>:<attempt>` while an attempt holds
-- the lease (kept by the attempt that finished the job, cleared when a lease
-- expires or the job is retried); `result` is JSON.
CREATE TABLE jobs (
    id                INTEGER PRIMARY KEY,
    deployment_id     INTEGER NOT NULL REFERENCES deployments (id),
    agent_id          INTEGER NOT NULL REFERENCES agents (id),
    batch             INTEGER NOT NULL,
    kind              TEXT NOT NULL CHECK (kind IN ('deploy', 'rollback')),
    state             TEXT NOT NULL CHECK (state IN ('pending', 'running', 'succeeded', 'failed')),
    attempt           INTEGER NOT NULL DEFAULT 0,
    lease_owner       TEXT,
    lease_expires_at  TEXT,
    result            TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    UNIQUE (deployment_id, agent_id, kind)
);
-- An agent's next job; the running jobs whose lease has run out.
CREATE INDEX jobs_by_agent ON jobs (agent_id, state, id);
CREATE INDEX jobs_by_lease ON jobs (state, lease_expires_at);
