-- Control: approvals, evidence, change requests; deployments that wait for
-- a time, carry an emergency justification or are reported by another tool.

-- One decision per user, release and environment: a new decision replaces
-- the old one (that is how a rejection is withdrawn). The unique key makes
-- concurrent approvals count once each without a read-then-write.
CREATE TABLE approvals (
    id              INTEGER PRIMARY KEY,
    release_id      INTEGER NOT NULL REFERENCES releases (id),
    environment_id  INTEGER NOT NULL REFERENCES environments (id),
    user_id         INTEGER NOT NULL REFERENCES users (id),
    approve         INTEGER NOT NULL,
    comment         TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    UNIQUE (release_id, environment_id, user_id)
);

CREATE TABLE evidence (
    id              INTEGER PRIMARY KEY,
    release_id      INTEGER NOT NULL REFERENCES releases (id),
    environment_id  INTEGER NOT NULL REFERENCES environments (id),
    name            TEXT NOT NULL,
    passed          INTEGER NOT NULL,
    summary         TEXT NOT NULL,
    report          TEXT,
    url             TEXT,
    created_by      TEXT NOT NULL,
    created_at      TEXT NOT NULL
);
CREATE INDEX evidence_by_release ON evidence (release_id, environment_id, name);

CREATE TABLE change_requests (
    id              INTEGER PRIMARY KEY,
    title           TEXT NOT NULL,
    description     TEXT NOT NULL,
    kind            TEXT NOT NULL,
    state           TEXT NOT NULL,
    service_id      INTEGER NOT NULL REFERENCES services (id),
    environment_id  INTEGER NOT NULL REFERENCES environments (id),
    release_id      INTEGER REFERENCES releases (id),
    window_start    TEXT,
    window_end      TEXT,
    risk            TEXT,
    impact          TEXT,
    reason          TEXT,
    review_outcome  TEXT,
    review_notes    TEXT,
    created_by      TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX change_requests_by_target ON change_requests (service_id, environment_id);

ALTER TABLE deployments ADD COLUMN scheduled_at TEXT;
ALTER TABLE deployments ADD COLUMN emergency_reason TEXT;
ALTER TABLE deployments ADD COLUMN url TEXT;
