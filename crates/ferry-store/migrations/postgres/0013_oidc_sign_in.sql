-- Signing in to the web UI with an OpenID Connect provider: the `[oidc]`
-- settings of ferry.toml, kept whole as one JSON document (the client
-- secret itself is not here: the settings name a file or an environment
-- variable of the server that holds it).

CREATE TABLE oidc_sign_in (
    id          BIGINT PRIMARY KEY CHECK (id = 1),
    spec        TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
