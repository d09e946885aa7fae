-- The outbox takes leak notices: a key reported as leaked is told to its
-- account's confirmed address. SQLite cannot change a CHECK constraint in
-- place: the table is rebuilt as 0005 left it, with the one new kind, and its
-- index made again. Nothing refers to it.
CREATE TABLE outbox_new (
    -- Also the local part of the Message-ID, the same on every attempt, so
    -- that a message resent after an uncertain failure is recognizable.
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('confirm-email', 'key-expiry', 'invitation', 'key-leaked')),
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
