-- Variables of environments, which deployment steps see in their process
-- environment.

-- The plain variables of ferry.toml, stored with the rest of the environment
-- by `ferry apply`: a JSON object of strings.
ALTER TABLE environments ADD COLUMN variables TEXT NOT NULL DEFAULT '{}';

-- The variables set with `ferry var set`; a name set here wins over the same
-- name in ferry.toml. A secret's `value` is sealed by the server
-- (XChaCha20-Poly1305 under the key file of its data directory) before it is
-- written: the database never holds a secret in clear.
CREATE TABLE variables (
    id              INTEGER PRIMARY KEY,
    environment_id  INTEGER NOT NULL REFERENCES environments (id),
    name            TEXT NOT NULL,
    value           TEXT NOT NULL,
    secret          INTEGER NOT NULL DEFAULT 0 CHECK (secret IN (0, 1)),
    updated_by      TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    UNIQUE (environment_id, name)
);
