-- The current state of every service in every environment, kept by the
-- database itself in the transaction that records or changes a deployment:
-- its newest deployment and its newest successful one. The status matrix
-- reads these rows (one per service and environment) instead of the
-- deployment history, and every way of writing a deployment keeps them
-- right, since the triggers work them out again from the history's indexes.

CREATE TABLE deployment_heads (
    service_id INTEGER NOT NULL REFERENCES services(id),
    environment_id INTEGER NOT NULL REFERENCES environments(id),
    latest_id INTEGER NOT NULL,
    current_id INTEGER,
    PRIMARY KEY (service_id, environment_id)
);

INSERT INTO deployment_heads (service_id, environment_id, latest_id, current_id)
SELECT service_id, environment_id, MAX(id), MAX(CASE WHEN status = 'succeeded' THEN id END)
FROM deployments WHERE service_id IS NOT NULL GROUP BY service_id, environment_id;

CREATE TRIGGER deployment_heads_on_insert AFTER INSERT ON deployments
WHEN NEW.service_id IS NOT NULL
BEGIN
    INSERT OR REPLACE INTO deployment_heads (service_id, environment_id, latest_id, current_id)
    VALUES (
        NEW.service_id,
        NEW.environment_id,
        (SELECT MAX(id) FROM deployments
         WHERE service_id = NEW.service_id AND environment_id = NEW.environment_id),
        (SELECT MAX(id) FROM deployments
         WHERE service_id = NEW.service_id AND environment_id = NEW.environment_id
         AND status = 'succeeded')
    );
END;

CREATE TRIGGER deployment_heads_on_status AFTER UPDATE OF status ON deployments
WHEN NEW.service_id IS NOT NULL AND NEW.status IS NOT OLD.status
BEGIN
    UPDATE deployment_heads SET current_id = (
        SELECT MAX(id) FROM deployments
        WHERE service_id = NEW.service_id AND environment_id = NEW.environment_id
        AND status = 'succeeded')
    WHERE service_id = NEW.service_id AND environment_id = NEW.environment_id;
END;
