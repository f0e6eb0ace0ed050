-- The current state of every service in every environment, kept by the
-- database itself in the transaction that records or changes a deployment:
-- its newest deployment and its newest successful one. The status matrix
-- reads these rows (one per service and environment) instead of the
-- deployment history, and every way of writing a deployment keeps them
-- right, since the trigger works them out again from the history's indexes.

CREATE TABLE deployment_heads (
    service_id BIGINT NOT NULL REFERENCES services(id),
    environment_id BIGINT NOT NULL REFERENCES environments(id),
    latest_id BIGINT NOT NULL,
    current_id BIGINT,
    PRIMARY KEY (service_id, environment_id)
);

INSERT INTO deployment_heads (service_id, environment_id, latest_id, current_id)
SELECT service_id, environment_id, MAX(id), MAX(CASE WHEN status = 'succeeded' THEN id END)
FROM deployments WHERE service_id IS NOT NULL GROUP BY service_id, environment_id;

-- Two transactions may write deployments of one service and environment at
-- once: each takes the row's lock first, and works the heads out in
-- statements that start after it has the lock, so they see what the other
-- committed (READ COMMITTED takes a snapshot per statement). The function
-- keeps the search path it was made with, so it finds its table whatever
-- the path of the session that writes.
CREATE FUNCTION deployment_heads_keep() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
    IF NEW.service_id IS NULL THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.status IS NOT DISTINCT FROM OLD.status THEN
        RETURN NULL;
    END IF;
    INSERT INTO deployment_heads (service_id, environment_id, latest_id, current_id)
    VALUES (NEW.service_id, NEW.environment_id, NEW.id, NULL)
    ON CONFLICT (service_id, environment_id) DO NOTHING;
    PERFORM 1 FROM deployment_heads
    WHERE service_id = NEW.service_id AND environment_id = NEW.environment_id
    FOR UPDATE;
    UPDATE deployment_heads SET
        latest_id = (SELECT MAX(id) FROM deployments
                     WHERE service_id = NEW.service_id AND environment_id = NEW.environment_id),
        current_id = (SELECT MAX(id) FROM deployments
                      WHERE service_id = NEW.service_id AND environment_id = NEW.environment_id
                      AND status = 'succeeded')
    WHERE service_id = NEW.service_id AND environment_id = NEW.environment_id;
    RETURN NULL;
END;
$$;

CREATE TRIGGER deployment_heads_keep AFTER INSERT OR UPDATE OF status ON deployments
FOR EACH ROW EXECUTE FUNCTION deployment_heads_keep();
