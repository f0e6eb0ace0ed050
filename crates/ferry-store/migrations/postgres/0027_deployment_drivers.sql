-- Replicas: each deployment under way is driven by one server process at a
-- time, the one holding its lease; a lease not renewed in time (its replica
-- died) is taken over by another.
ALTER TABLE deployments ADD COLUMN driver TEXT;
ALTER TABLE deployments ADD COLUMN driver_until TEXT;
