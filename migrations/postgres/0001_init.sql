-- The core schema. Kept in step with sqlite/0001_init.sql: same tables,
-- columns and constraint names, so that one set of queries serves both.
-- Times are Unix seconds (BIGINT); ids are opaque TEXT; flags are BIGINT 0/1,
-- the one representation both engines hand back alike through sqlx's Any driver.

CREATE TABLE orgs (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created BIGINT NOT NULL
);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    -- Uniqueness ignores case; the address is shown as it was typed.
    email_folded TEXT NOT NULL,
    -- argon2id PHC string; NULL until the user sets a password.
    password_hash TEXT,
    created BIGINT NOT NULL,
    CONSTRAINT users_email_key UNIQUE (email_folded)
);

CREATE TABLE memberships (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    org_id TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('viewer', 'editor', 'admin')),
    created BIGINT NOT NULL,
    PRIMARY KEY (user_id, org_id)
);
CREATE INDEX memberships_org ON memberships (org_id);

CREATE TABLE service_accounts (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    name_folded TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('viewer', 'editor', 'admin')),
    enable_basic_auth BIGINT NOT NULL CHECK (enable_basic_auth IN (0, 1)),
    email TEXT,
    email_confirmed BIGINT NOT NULL DEFAULT 0 CHECK (email_confirmed IN (0, 1)),
    disabled BIGINT NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created BIGINT NOT NULL,
    last_used BIGINT,
    CONSTRAINT service_accounts_name_key UNIQUE (org_id, name_folded)
);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES service_accounts (id) ON DELETE CASCADE,
    name TEXT,
    -- SHA-256 of the secret, hex. The secret itself is never stored; this
    -- unique index is how a request's key is found without a scan.
    secret_hash TEXT NOT NULL,
    created BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    expires BIGINT,
    last_used BIGINT,
    disabled BIGINT NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    CONSTRAINT api_keys_secret_hash_key UNIQUE (secret_hash)
);
CREATE INDEX api_keys_account ON api_keys (account_id);

-- The audit trail has no foreign keys on purpose: it outlives what it speaks of.
CREATE TABLE audit_events (
    id TEXT PRIMARY KEY,
    org_id TEXT,
    at BIGINT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id TEXT,
    key_id TEXT,
    action TEXT NOT NULL,
    target_kind TEXT,
    target_id TEXT,
    client_ip TEXT,
    outcome TEXT NOT NULL,
    detail TEXT
);
CREATE INDEX audit_events_org ON audit_events (org_id, id);

-- One row counting changes that can revoke a credential. Every node polls it
-- to drop its cache of authenticated keys, so that a revocation made on any
-- node is honoured everywhere within a second.
CREATE TABLE credential_revision (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n BIGINT NOT NULL
);
INSERT INTO credential_revision (id, n) VALUES (1, 0);

-- Web app sessions. Only the SHA-256 of the cookie's token is kept.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created BIGINT NOT NULL,
    expires BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

-- One-time links (first-run setup, password setup). Only the hash is kept;
-- a link works once and until it expires.
CREATE TABLE one_time_tokens (
    token_hash TEXT PRIMARY KEY,
    purpose TEXT NOT NULL,
    user_id TEXT REFERENCES users (id) ON DELETE CASCADE,
    created BIGINT NOT NULL,
    expires BIGINT NOT NULL,
    used BIGINT
);

-- PostgreSQL only: tell listening nodes at once when the credential revision
-- moves, so revocations reach them in milliseconds rather than at their next
-- poll. (SQLite has no such channel; its nodes rely on the poll.)
CREATE FUNCTION notify_credential_revision() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('keyward_credentials', NEW.n::text);
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER credential_revision_notify AFTER UPDATE ON credential_revision
    FOR EACH ROW EXECUTE FUNCTION notify_credential_revision();
