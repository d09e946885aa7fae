-- Webhooks (SPEC §11). Kept in step with sqlite/0013_webhooks.sql.
--
-- An organization's admins register endpoints; every audited change of the
-- organization that an endpoint subscribes to writes a delivery row in the
-- change's own transaction, so a delivery is never lost and never sent for a
-- change that rolled back. Workers on any node send them, one endpoint's in
-- order, under a lease like the mail outbox's.

CREATE TABLE webhooks (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    -- JSON array of event names (`key.created`) and wildcards (`key.*`).
    events TEXT NOT NULL,
    -- The signing secret, sealed with the server's secret key for this
    -- endpoint's id: a database copy does not let anyone forge deliveries.
    secret_sealed TEXT NOT NULL,
    disabled BIGINT NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created BIGINT NOT NULL,
    -- When the secret was last replaced (or first made).
    secret_created BIGINT NOT NULL
);
-- The enqueue's question: "which endpoints of this organization?", and the
-- listing's order.
CREATE INDEX webhooks_org ON webhooks (org_id, id);

CREATE TABLE webhook_deliveries (
    -- The `webhook-id` header: the same on every attempt, so that a receiver
    -- can drop a message it already has (delivery is at least once).
    id TEXT PRIMARY KEY,
    endpoint_id TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_type TEXT NOT NULL,
    -- The exact body sent (JSON); never a secret.
    payload TEXT NOT NULL,
    created BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    -- Not before this time; pushed back after each failed attempt.
    next_attempt_at BIGINT NOT NULL,
    -- While lease_until is in the future, the worker named lease_owner is
    -- sending the row; a worker that died mid-send leaves a lease that runs
    -- out. The owner lets a worker whose lease was taken over record nothing.
    lease_owner TEXT,
    lease_until BIGINT,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    last_status_code BIGINT,
    last_error TEXT,
    delivered_at BIGINT
);
-- The worker's question: "which pending row is due first?".
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
-- An endpoint's queue (its head is its oldest pending row) and its listing.
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id);

-- Keys already announced as `key.expiring` or `key.expired`: the primary key
-- makes it once per key, however many nodes scan and however often they
-- restart.
CREATE TABLE webhook_key_notices (
    key_id TEXT NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('expiring', 'expired')),
    created BIGINT NOT NULL,
    PRIMARY KEY (key_id, kind)
);
