-- Incidents: something went wrong with a service in an environment, maybe
-- because of one deployment. They count in the DORA metrics: against their
-- deployment in the change failure rate, and from opening to resolution in
-- the time to restore.

CREATE TABLE incidents (
    id              INTEGER PRIMARY KEY,
    service_id      INTEGER NOT NULL REFERENCES services (id),
    environment_id  INTEGER NOT NULL REFERENCES environments (id),
    deployment_id   INTEGER REFERENCES deployments (id),
    title           TEXT NOT NULL,
    opened_by       TEXT NOT NULL,
    opened_at       TEXT NOT NULL,
    resolved_by     TEXT,
    resolved_at     TEXT,
    resolution      TEXT
);
CREATE INDEX incidents_by_scope ON incidents (service_id, environment_id, opened_at);
