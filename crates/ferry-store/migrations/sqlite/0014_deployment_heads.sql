-- Fast answers at a thousand services: each deployment names its service
-- (the service of its release, set when it is made), so that the newest
-- deployment and the newest success of every service in every environment
-- are each one index lookup, and the newest change is one too; and indexes
-- for the lists of a service's or an environment's deployments, of a
-- service's releases, and for what the orchestrator looks at.

ALTER TABLE deployments ADD COLUMN service_id INTEGER REFERENCES services(id);
UPDATE deployments SET service_id = (SELECT r.service_id FROM releases r WHERE r.id = deployments.release_id);
CREATE INDEX deployments_heads ON deployments (service_id, environment_id, id);
CREATE INDEX deployments_successes ON deployments (service_id, environment_id, id) WHERE status = 'succeeded';
CREATE INDEX deployments_by_update ON deployments (updated_at);
CREATE INDEX deployments_by_service ON deployments (service_id, id);
CREATE INDEX deployments_by_environment_id ON deployments (environment_id, id);
CREATE INDEX deployments_by_status_update ON deployments (status, updated_at);
CREATE INDEX releases_by_service ON releases (service_id, id);
