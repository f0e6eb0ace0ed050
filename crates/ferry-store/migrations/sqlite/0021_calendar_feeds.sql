-- Calendar feed tokens: the secret in a subscription URL
-- (/calendar.ics?token=...), made by a user for a calendar program, which
-- cannot send an Authorization header. Like API tokens, only the SHA-256 of
-- the secret is kept; a feed reads the calendar with its owner's rights and
-- does nothing else. Revoked, it is refused; it is never deleted, so the
-- audit trail's `calendar-feed:<id>` keeps naming it.

CREATE TABLE calendar_feeds (
    id            INTEGER PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users (id),
    name          TEXT NOT NULL,
    prefix        TEXT NOT NULL,
    secret_hash   TEXT NOT NULL UNIQUE,
    created_at    TEXT NOT NULL,
    last_used_at  TEXT,
    revoked_at    TEXT
);
CREATE INDEX calendar_feeds_by_user ON calendar_feeds (user_id);
