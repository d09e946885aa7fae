-- Email (SPEC §5, §9). Kept in step with sqlite/0002_mail.sql.
--
-- Nothing here holds a secret. A confirmation token is minted by the mail
-- worker at the moment it sends the message, and only its SHA-256 is kept;
-- the outbox row says what to send, never the link itself.

-- Messages waiting for, or done with, delivery. A row is written in the same
-- transaction as the change that asks for it, so an email is never lost and
-- never sent for a change that rolled back. Workers on any node claim one due
-- row at a time with a lease (claimed_until), send it, and mark it sent.
CREATE TABLE outbox (
    -- Also the local part of the Message-ID, the same on every attempt, so
    -- that a message resent after an uncertain failure is recognizable.
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('confirm-email', 'key-expiry')),
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
-- The worker's question: "which undelivered row is due first?".
CREATE INDEX outbox_due ON outbox (sent, failed, next_attempt);

-- Confirmation links of service accounts' email addresses: single use, 48 h.
-- Bound to the address they were sent to, so that a link for an address the
-- account no longer has confirms nothing.
CREATE TABLE email_confirmations (
    token_hash TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES service_accounts (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    created BIGINT NOT NULL,
    expires BIGINT NOT NULL,
    used BIGINT
);
CREATE INDEX email_confirmations_account ON email_confirmations (account_id);

-- Expiry warnings already queued: the primary key makes it one per key per
-- threshold, however many nodes scan and however often they restart.
CREATE TABLE expiry_warnings (
    key_id TEXT NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    threshold_days BIGINT NOT NULL,
    created BIGINT NOT NULL,
    PRIMARY KEY (key_id, threshold_days)
);
