-- Post-implementation reviews: one per deployment at most (failed, rolled
-- back, emergency, or of an environment that reviews every deployment),
-- opened in the transaction that ends the deployment, with a draft written
-- from its timeline (JSON of ferry_core::review::Draft), due at a time, and
-- reminded of once when that time passes without its being completed.

CREATE TABLE reviews (
    id              INTEGER PRIMARY KEY,
    deployment_id   INTEGER NOT NULL UNIQUE REFERENCES deployments (id),
    service_id      INTEGER NOT NULL REFERENCES services (id),
    environment_id  INTEGER NOT NULL REFERENCES environments (id),
    reason          TEXT NOT NULL,
    -- When the deployment failed or was judged bad (its rollback created):
    -- where the time to restore starts; NULL when it did neither.
    failed_at       TEXT,
    -- When the draft first saw the environment restored (NULL: not yet, or
    -- nothing to restore).
    restored_at     TEXT,
    draft           TEXT NOT NULL,
    opened_at       TEXT NOT NULL,
    due_at          TEXT NOT NULL,
    reminded_at     TEXT,
    completed_by    TEXT,
    completed_at    TEXT,
    outcome         TEXT,
    notes           TEXT,
    actions         TEXT
);
CREATE INDEX reviews_by_scope ON reviews (service_id, environment_id, completed_at);
CREATE INDEX reviews_to_remind ON reviews (due_at) WHERE completed_at IS NULL AND reminded_at IS NULL;
