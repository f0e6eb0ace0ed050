-- CI workload identity: the trust policies of ferry.toml (`[[trust]]`),
-- kept whole as one JSON list, and the short-lived tokens handed out in
-- exchange for an OIDC ID token that a policy accepts. A workload token
-- belongs to no user: it carries its policy's grants, and its `subject` and
-- `issuer` name the workload in the audit trail.

CREATE TABLE trust_policies (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    policies    TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE workload_tokens (
    id           INTEGER PRIMARY KEY,
    issuer       TEXT NOT NULL,
    subject      TEXT NOT NULL,
    grants       TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    secret_hash  TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    last_used_at TEXT
);
