-- Subscriptions declared in ferry.toml (`[[webhook]]`) have a name, the
-- file's handle on them; those made with `ferry webhook create` have none.
-- A declared subscription keeps where its signing secret is (`file:PATH` or
-- `env:NAME`) in secret_sealed instead of the sealed secret.

ALTER TABLE webhooks ADD COLUMN name TEXT;
CREATE UNIQUE INDEX webhooks_by_name ON webhooks (name) WHERE name IS NOT NULL AND deleted_at IS NULL;
