-- A database copy is not a skeleton key (SPEC §9). Kept in step with
-- postgres/0006_sealing.sql.
--
-- From here on api_keys.secret_hash holds the *lookup hash*,
-- SHA-256(SHA-256(secret)), which finds a key but signs nothing; rows from
-- before this migration held SHA-256(secret), which verifies (and so forges)
-- the key's HS256 assertions. Those rows have assertion_key NULL until the
-- first start with a secret key rewrites them: lookup hash recomputed,
-- SHA-256(secret) sealed into assertion_key. That rewrite needs the secret
-- key, which SQL never sees, so it runs in keyward, not here.
ALTER TABLE api_keys ADD COLUMN assertion_key TEXT;

-- The successor of a rotated key, while the old one lives out its grace
-- period: at most one key of an account may be in its grace period.
ALTER TABLE api_keys ADD COLUMN replaced_by TEXT;

-- A known value sealed with the secret key the database was first opened
-- with, so that a node given another key refuses to start instead of
-- failing every assertion. signing_key.seed is sealed from here on too.
CREATE TABLE secret_key_check (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    sealed TEXT NOT NULL,
    created BIGINT NOT NULL
);
