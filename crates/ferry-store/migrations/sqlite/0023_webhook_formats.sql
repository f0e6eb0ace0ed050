-- How each subscription's deliveries are written: `cloudevents` (the
-- signed CloudEvent, as before), `slack`, `teams`, or `email` (then the
-- subscription's url is `mailto:` and its recipients, comma-separated).
-- The delivery's payload stays the CloudEvent; the worker renders it for
-- the format when it sends it.

ALTER TABLE webhooks ADD COLUMN format TEXT NOT NULL DEFAULT 'cloudevents';
