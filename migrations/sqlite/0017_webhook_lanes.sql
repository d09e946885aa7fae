-- Fair webhook delivery and endpoints that fail for days (one tenant
-- cannot slow another). Kept in step with postgres/0017_webhook_lanes.sql.
--
-- The claim serves organizations in turn, then each organization's
-- endpoints in turn: whoever was served longest ago goes first, so an
-- organization with many slow or failing endpoints takes its turn like any
-- other instead of holding the queue by the age of its backlog.

-- An endpoint's place in its organization's turn: the organization's
-- counter when it was last served (0: never).
ALTER TABLE webhooks ADD COLUMN served BIGINT NOT NULL DEFAULT 0;
-- The failing streak: when the first of the endpoint's attempts that have
-- failed since its last success failed, and how many have. An endpoint
-- failing for days is disabled, with the reason kept for its admins.
ALTER TABLE webhooks ADD COLUMN failing_since BIGINT;
ALTER TABLE webhooks ADD COLUMN failures BIGINT NOT NULL DEFAULT 0;
-- Why keyward disabled the endpoint itself; NULL when enabled, or disabled
-- by an admin.
ALTER TABLE webhooks ADD COLUMN disabled_reason TEXT;

-- Each organization's turn: a counter that grows by one each time one of
-- its deliveries is claimed. The organization served longest ago (the
-- smallest counter; none yet counts as 0) is served next.
CREATE TABLE webhook_org_turns (
    org_id TEXT PRIMARY KEY REFERENCES orgs (id) ON DELETE CASCADE,
    served BIGINT NOT NULL
);

-- The claim's question, per endpoint: "which is its oldest pending
-- delivery?". Only pending rows: finished ones, kept 30 days, are never
-- read through it.
CREATE INDEX webhook_deliveries_head ON webhook_deliveries (endpoint_id, id) WHERE status = 'pending';
-- The claim no longer asks "which pending row is due first?" of the whole
-- queue: 0013's index for it would only slow every write down.
DROP INDEX webhook_deliveries_due;

-- The outbox takes the notice of an endpoint disabled. SQLite cannot change
-- a CHECK constraint in place: the table is rebuilt as 0010 left it, with
-- the one new kind, and its index made again. Nothing refers to it.
CREATE TABLE outbox_new (
    -- Also the local part of the Message-ID, the same on every attempt, so
    -- that a message resent after an uncertain failure is recognizable.
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('confirm-email', 'key-expiry', 'invitation', 'key-leaked', 'webhook-disabled')),
    recipient TEXT NOT NULL,
    -- JSON: what the message is rendered from (ids, names, times).
    payload TEXT NOT NULL,
    created BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    -- Not before this time; pushed back exponentially after each failure.
    next_attempt BIGINT NOT NULL,
    -- While in the future, one worker is sending the row; a worker that died
    -- mid-send leaves a lease that simply runs out.
    claimed_until BIGINT,
    sent BIGINT,
    -- Given up on (kept failing for too long, or no longer wanted).
    failed BIGINT,
    last_error TEXT
);
INSERT INTO outbox_new (id, org_id, kind, recipient, payload, created, attempts, next_attempt, claimed_until, sent,
                        failed, last_error)
SELECT id, org_id, kind, recipient, payload, created, attempts, next_attempt, claimed_until, sent, failed, last_error
FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
-- The worker's question: "which undelivered row is due first?".
CREATE INDEX outbox_due ON outbox (sent, failed, next_attempt);
