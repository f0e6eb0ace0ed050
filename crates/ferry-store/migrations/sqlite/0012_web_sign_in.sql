-- Signing in to the web UI: a user's password (an argon2id PHC string;
-- none until one is set), invitations to set one (a secret link, valid
-- once and for a limited time; only its SHA-256 is kept), and the
-- sessions of signed-in browsers (only the SHA-256 of the cookie's
-- secret is kept; each session has its own CSRF token, and ends when idle
-- past `idle_until`, at `expires_at` whatever its use, or at sign-out).

ALTER TABLE users ADD COLUMN password_hash TEXT;
ALTER TABLE users ADD COLUMN password_set_at TEXT;

CREATE TABLE invitations (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id),
    secret_hash TEXT NOT NULL UNIQUE,
    created_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT
);

CREATE TABLE web_sessions (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id),
    secret_hash  TEXT NOT NULL UNIQUE,
    csrf_token   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    idle_until   TEXT NOT NULL,
    expires_at   TEXT NOT NULL
);

CREATE INDEX web_sessions_expiry ON web_sessions (expires_at);
