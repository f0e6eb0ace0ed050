-- Webhook subscriptions and their deliveries. The audit trail is the
-- outbox: every change writes its audit event in its own transaction, and
-- the webhook worker reads the trail after `webhook_outbox.seq`, turns the
-- events worth telling into one delivery per subscription that wants them
-- (unique by subscription and event, so an event is never queued twice),
-- and moves the mark on, all in one transaction.

CREATE TABLE webhooks (
    id              INTEGER PRIMARY KEY,
    url             TEXT NOT NULL,
    events          TEXT NOT NULL,
    service_id      INTEGER REFERENCES services (id),
    environment_id  INTEGER REFERENCES environments (id),
    secret_sealed   TEXT NOT NULL,
    created_by      TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    after_seq       INTEGER NOT NULL,
    deleted_by      TEXT,
    deleted_at      TEXT
);

CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY,
    webhook_id      INTEGER NOT NULL REFERENCES webhooks (id),
    event_id        TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    event_seq       INTEGER NOT NULL,
    payload         TEXT NOT NULL,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    lease_until     TEXT,
    last_status     INTEGER,
    last_error      TEXT,
    created_at      TEXT NOT NULL,
    delivered_at    TEXT,
    UNIQUE (webhook_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, id);

CREATE TABLE webhook_attempts (
    id              INTEGER PRIMARY KEY,
    delivery_id     INTEGER NOT NULL REFERENCES webhook_deliveries (id),
    at              TEXT NOT NULL,
    status          INTEGER,
    error           TEXT,
    duration_ms     INTEGER NOT NULL
);
CREATE INDEX webhook_attempts_by_delivery ON webhook_attempts (delivery_id, id);

CREATE TABLE webhook_outbox (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    seq             INTEGER NOT NULL
);
INSERT INTO webhook_outbox (id, seq) SELECT 1, COALESCE(MAX(seq), 0) FROM audit_events;
