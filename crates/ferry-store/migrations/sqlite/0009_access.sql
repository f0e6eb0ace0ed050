-- Access control: groups, grants of roles scoped to a service and an
-- environment, disabled users, unique e-mails, tokens that expire or are
-- narrowed to fewer rights, protected environments, and the people of a
-- release (its commits' authors with their e-mails).

ALTER TABLE users ADD COLUMN disabled_at TEXT;
CREATE UNIQUE INDEX users_by_email ON users (lower(email));

-- `expires_at`: after it the token is refused. `grants`: a JSON list of
-- grants the token is narrowed to (NULL: its owner's rights).
ALTER TABLE api_tokens ADD COLUMN expires_at TEXT;
ALTER TABLE api_tokens ADD COLUMN grants TEXT;

ALTER TABLE environments ADD COLUMN protected INTEGER NOT NULL DEFAULT 0;

-- "Name <mail>" of every author and co-author of the release's commits.
ALTER TABLE releases ADD COLUMN people TEXT NOT NULL DEFAULT '[]';

CREATE TABLE groups (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL
);

CREATE TABLE group_members (
    group_id  INTEGER NOT NULL REFERENCES groups (id),
    user_id   INTEGER NOT NULL REFERENCES users (id),
    PRIMARY KEY (group_id, user_id)
);

-- A role given to a user or a group; '' for "every service" or "every
-- environment", so that the unique index sees a grant once.
CREATE TABLE grants (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER REFERENCES users (id),
    group_id     INTEGER REFERENCES groups (id),
    role         TEXT NOT NULL,
    service      TEXT NOT NULL DEFAULT '',
    environment  TEXT NOT NULL DEFAULT '',
    created_by   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    CHECK ((user_id IS NULL) <> (group_id IS NULL))
);
CREATE UNIQUE INDEX grants_once ON grants (COALESCE(user_id, 0), COALESCE(group_id, 0), role, service, environment);
CREATE INDEX grants_by_user ON grants (user_id);
CREATE INDEX grants_by_group ON grants (group_id);

-- Existing users keep working: administrators get the admin role; everyone
-- else the rights they had, less what the roles now reserve for release
-- managers (freezes, emergency promotions) and administrators (apply).
INSERT INTO grants (user_id, role, created_by, created_at)
SELECT id, 'admin', 'system', strftime('%Y-%m-%dT%H:%M:%f000Z', 'now') FROM users WHERE admin = 1;
INSERT INTO grants (user_id, role, created_by, created_at)
SELECT id, 'deployer', 'system', strftime('%Y-%m-%dT%H:%M:%f000Z', 'now') FROM users WHERE admin = 0;
INSERT INTO grants (user_id, role, created_by, created_at)
SELECT id, 'approver', 'system', strftime('%Y-%m-%dT%H:%M:%f000Z', 'now') FROM users WHERE admin = 0;
