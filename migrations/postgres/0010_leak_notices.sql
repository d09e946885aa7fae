-- The outbox takes leak notices: a key reported as leaked is told to its
-- account's confirmed address.
ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check
    CHECK (kind IN ('confirm-email', 'key-expiry', 'invitation', 'key-leaked'));
