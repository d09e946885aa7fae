-- Soft delete, the organization's key policy, and rotating the token
-- signing key. Kept in step with
-- postgres/0007_lifecycle.sql.

-- When the account was deleted; NULL while it lives. A deleted account keeps
-- its row (and so its keys and its name) until the purge, 30 days on, so that
-- an admin can undo a mistaken delete with every key as it was.
ALTER TABLE service_accounts ADD COLUMN deleted BIGINT;
-- The purge's scan: deleted accounts older than the cutoff.
CREATE INDEX service_accounts_deleted ON service_accounts (deleted);

-- The organization's own limits on key lifetimes, under the server-wide ones:
-- the longest lifetime a key may be given (seconds; NULL: only the server's
-- limit), and whether every key must expire.
ALTER TABLE orgs ADD COLUMN max_key_lifetime BIGINT;
ALTER TABLE orgs ADD COLUMN require_expiry BIGINT NOT NULL DEFAULT 0 CHECK (require_expiry IN (0, 1));

-- The signing key a rotation replaced (`keyward admin rotate-signing-key`):
-- still published in /.well-known/jwks.json, so that the tokens it signed
-- (an hour at most) keep verifying; sealed like the current one. A second
-- rotation drops it.
ALTER TABLE signing_key ADD COLUMN previous_kid TEXT;
ALTER TABLE signing_key ADD COLUMN previous_seed TEXT;
