-- Deployments that wait for a person: at a manual step (the steps are run
-- in segments between manual steps; `segment` is the one running on the
-- current batch, and each job's the one it runs), after a canary stage
-- with a manual pause, or after a failure under on_failure = "ask".
-- `pause` is what it waits for (JSON); `accepted_failures` counts the
-- failed targets people chose to go on without.

ALTER TABLE deployments ADD COLUMN pause TEXT;
ALTER TABLE deployments ADD COLUMN segment INTEGER NOT NULL DEFAULT 0;
ALTER TABLE deployments ADD COLUMN accepted_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN segment INTEGER NOT NULL DEFAULT 0;
