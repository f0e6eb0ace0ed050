-- Deployment progress, kept by the orchestrator. `plan` is JSON: the batches,
-- each a list of agent ids, fixed when the deployment starts; `batch` is the
-- index of the current one; `next_batch_at` holds the current batch back
-- until a pause (rolling) or a verification wait (canary) is over;
-- `rollback_of` links a rollback deployment to the failed one it undoes (at
-- most one each); `reason` says why it waits, halted or failed.
ALTER TABLE deployments ADD COLUMN plan TEXT;
ALTER TABLE deployments ADD COLUMN batch INTEGER;
ALTER TABLE deployments ADD COLUMN next_batch_at TEXT;
ALTER TABLE deployments ADD COLUMN rollback_of INTEGER REFERENCES deployments (id);
ALTER TABLE deployments ADD COLUMN reason TEXT;
CREATE UNIQUE INDEX deployments_rollback_of ON deployments (rollback_of);
CREATE INDEX deployments_by_status ON deployments (status);
