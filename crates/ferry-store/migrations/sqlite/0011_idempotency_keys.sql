-- Idempotency keys: the first answer to each POST sent with an
-- `Idempotency-Key` header, kept for a day so that a retry of the same
-- request by the same credential gets that answer again instead of doing
-- the work twice. `scope` names the credential (`token:7`, `ci-token:3`,
-- `agent:2`), so two callers never see each other's answers.
--
-- A row without a `status` is held by a request still being processed,
-- until `held_until` (a server that died meanwhile leaves it; past that
-- time the key may be taken again); `attempt` counts such takeovers, so a
-- late request cannot record its answer over a newer one. `body` is sealed
-- by the server: some answers carry a secret shown once (a new token's).
-- Rows past `expires_at` are taken again or swept as new keys arrive.

CREATE TABLE idempotency_keys (
    id           INTEGER PRIMARY KEY,
    scope        TEXT NOT NULL,
    client_key   TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    request      TEXT NOT NULL,
    attempt      INTEGER NOT NULL,
    held_until   TEXT NOT NULL,
    status       INTEGER,
    content_type TEXT,
    body         TEXT,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    UNIQUE (scope, client_key)
);

CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);
