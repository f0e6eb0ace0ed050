-- Cancelling a running deployment, and the live log of every job.

-- Who asked to cancel a running deployment: the orchestrator stops it once
-- its current batch has finished (a batch is never cut in half).
ALTER TABLE deployments ADD COLUMN cancel_requested_by TEXT;

-- The lines that deployment steps printed, as the agents sent them. An agent
-- numbers the lines of each attempt (`seq`), so a batch sent again after a
-- lost response is stored once. `stream` is `out`, `err` or `ferry` (the
-- agent's own lines: a step starting, ending, the health check).
CREATE TABLE deployment_logs (
    id             INTEGER PRIMARY KEY,
    deployment_id  INTEGER NOT NULL REFERENCES deployments (id),
    job_id         INTEGER NOT NULL REFERENCES jobs (id),
    attempt        INTEGER NOT NULL,
    seq            INTEGER NOT NULL,
    at             TEXT NOT NULL,
    stream         TEXT NOT NULL CHECK (stream IN ('out', 'err', 'ferry')),
    step           TEXT,
    line           TEXT NOT NULL,
    UNIQUE (job_id, attempt, seq)
);
CREATE INDEX deployment_logs_by_deployment ON deployment_logs (deployment_id, id);
