-- Release plans and release trains.
--
-- A plan belongs to one release or to one train: an owner, a go-live date,
-- milestones and tasks. Dates made from a template keep their offset from
-- the go-live date (`due_offset`, such as "-7d"), so setting the go-live
-- date later dates them. A task `required_before` an environment is a gate
-- of it until it is done or skipped.
--
-- A train groups releases of several services that go together, in order
-- (`position`); each promotion of a train into an environment is a run,
-- whose member deployments point at it.

ALTER TABLE services ADD COLUMN plan_template TEXT;

CREATE TABLE plan_templates (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    spec        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE trains (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE TABLE train_members (
    id          INTEGER PRIMARY KEY,
    train_id    INTEGER NOT NULL REFERENCES trains (id),
    release_id  INTEGER NOT NULL REFERENCES releases (id),
    service_id  INTEGER NOT NULL REFERENCES services (id),
    position    INTEGER NOT NULL,
    UNIQUE (train_id, service_id)
);
CREATE INDEX train_members_by_release ON train_members (release_id);

CREATE TABLE train_runs (
    id              INTEGER PRIMARY KEY,
    train_id        INTEGER NOT NULL REFERENCES trains (id),
    environment_id  INTEGER NOT NULL REFERENCES environments (id),
    status          TEXT NOT NULL,
    reason          TEXT,
    created_by      TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX train_runs_by_train ON train_runs (train_id, id);
CREATE INDEX train_runs_by_status ON train_runs (status);
ALTER TABLE deployments ADD COLUMN train_run_id INTEGER REFERENCES train_runs (id);

CREATE TABLE release_plans (
    id          INTEGER PRIMARY KEY,
    release_id  INTEGER UNIQUE REFERENCES releases (id),
    train_id    INTEGER UNIQUE REFERENCES trains (id),
    owner       TEXT NOT NULL,
    go_live     TEXT,
    template    TEXT,
    created_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    CHECK ((release_id IS NULL) <> (train_id IS NULL))
);

CREATE TABLE plan_milestones (
    id          INTEGER PRIMARY KEY,
    plan_id     INTEGER NOT NULL REFERENCES release_plans (id),
    name        TEXT NOT NULL,
    due_at      TEXT,
    due_offset  TEXT,
    done_at     TEXT,
    done_by     TEXT,
    created_at  TEXT NOT NULL
);
CREATE INDEX plan_milestones_by_plan ON plan_milestones (plan_id, id);

CREATE TABLE plan_tasks (
    id               INTEGER PRIMARY KEY,
    plan_id          INTEGER NOT NULL REFERENCES release_plans (id),
    title            TEXT NOT NULL,
    description      TEXT NOT NULL DEFAULT '',
    assignee         TEXT,
    due_at           TEXT,
    due_offset       TEXT,
    required_before  TEXT,
    link             TEXT,
    state            TEXT NOT NULL,
    reason           TEXT,
    created_at       TEXT NOT NULL,
    updated_by       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX plan_tasks_by_plan ON plan_tasks (plan_id, id);
