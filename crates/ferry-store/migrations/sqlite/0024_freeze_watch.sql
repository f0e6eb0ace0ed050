-- How far the freeze watch has looked: the freezes that began or ended up to
-- this instant are in the audit trail (`freeze.start`, `freeze.end`). One row;
-- moved forward in the same transaction as the events it writes, and only by
-- the replica that read it as it is, so a period is told once.

CREATE TABLE freeze_watch (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    watched_until  TEXT NOT NULL
);
