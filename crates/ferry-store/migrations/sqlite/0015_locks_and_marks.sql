-- Locks and bad marks. A lock closes an environment (service_id NULL) or one
-- service in it to promotions; a bad mark says a release was rolled back
-- from an environment. Lifting either ends the row (who, when, why) instead
-- of deleting it, so the history stays; one of each is in force at a time.

ALTER TABLE environments ADD COLUMN lock_after_rollback INTEGER NOT NULL DEFAULT 0;

CREATE TABLE locks (
    id              INTEGER PRIMARY KEY,
    environment_id  INTEGER NOT NULL REFERENCES environments (id),
    service_id      INTEGER REFERENCES services (id),
    reason          TEXT NOT NULL,
    locked_by       TEXT NOT NULL,
    locked_at       TEXT NOT NULL,
    unlocked_by     TEXT,
    unlocked_at     TEXT,
    unlock_reason   TEXT
);
CREATE UNIQUE INDEX locks_in_force ON locks (environment_id, COALESCE(service_id, 0)) WHERE unlocked_at IS NULL;

CREATE TABLE release_marks (
    id              INTEGER PRIMARY KEY,
    release_id      INTEGER NOT NULL REFERENCES releases (id),
    environment_id  INTEGER NOT NULL REFERENCES environments (id),
    deployment_id   INTEGER REFERENCES deployments (id),
    reason          TEXT NOT NULL,
    marked_by       TEXT NOT NULL,
    marked_at       TEXT NOT NULL,
    unmarked_by     TEXT,
    unmarked_at     TEXT,
    unmark_reason   TEXT
);
CREATE UNIQUE INDEX release_marks_in_force ON release_marks (release_id, environment_id) WHERE unmarked_at IS NULL;
CREATE INDEX release_marks_by_release ON release_marks (release_id, id);
