-- When the agent holding a job said it starts running it. A claim whose
-- answer never reached its agent (the server died in between) leaves a job
-- running but never started: when its lease runs out it is put back to
-- pending instead of failed, since nothing of it ran.
ALTER TABLE jobs ADD COLUMN started_at TEXT;
