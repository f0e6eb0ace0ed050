-- Release content from git (the commit released, the previous version, the
-- commits as release-notes JSON), artifacts, and the services' notes settings.

ALTER TABLE releases ADD COLUMN commit_id TEXT;
ALTER TABLE releases ADD COLUMN previous_version TEXT;
ALTER TABLE releases ADD COLUMN commits TEXT NOT NULL DEFAULT '[]';

ALTER TABLE services ADD COLUMN issue_url TEXT;
ALTER TABLE services ADD COLUMN notes_template TEXT;

-- A stored artifact has a size and no uri (its bytes are in the artifact
-- store under its digest); a reference has a uri and may have no size.
CREATE TABLE artifacts (
    id          INTEGER PRIMARY KEY,
    release_id  INTEGER NOT NULL REFERENCES releases (id),
    name        TEXT NOT NULL,
    digest      TEXT NOT NULL,
    size        INTEGER,
    uri         TEXT,
    UNIQUE (release_id, name)
);
CREATE INDEX artifacts_by_digest ON artifacts (digest);
