-- Short-lived access tokens (RFC 7523). Kept in step across engines.

-- keyward's one signing key, shared by every node so that any node can issue
-- and any service can verify with the public key from /.well-known/jwks.json.
-- The row is a singleton: nodes racing to create it converge on one key.
CREATE TABLE signing_key (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    kid TEXT NOT NULL,
    -- The Ed25519 private seed, base64. The server's own key, not a client's
    -- secret: whoever can read this table could mint access tokens, so the
    -- database must stay as private as any secret store.
    seed TEXT NOT NULL,
    created BIGINT NOT NULL
);

-- Assertions already exchanged, so that a replayed one (same jti for the
-- same key) is refused. Rows past their expiry are of no use and are pruned.
CREATE TABLE used_assertions (
    key_id TEXT NOT NULL,
    jti TEXT NOT NULL,
    expires BIGINT NOT NULL,
    PRIMARY KEY (key_id, jti)
);
CREATE INDEX used_assertions_expires ON used_assertions (expires);
