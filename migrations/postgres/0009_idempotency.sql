-- Idempotent retries of creating calls (`Idempotency-Key`). Kept in step
-- with sqlite/0009_idempotency.sql.
--
-- A row per (caller, key). `scope` is a digest of the credential that made
-- the first request, so a key means nothing to another caller. While the
-- first request runs, `status` is NULL; then the answer is kept, sealed
-- with a key derived from that same credential, which is never stored: the
-- secret a replayed key creation carries can be opened only by a caller
-- presenting the credential again, not by whoever copies the database.
CREATE TABLE idempotency_keys (
    scope TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    -- SHA-256 of the method, path, query and body of the first request.
    request_hash TEXT NOT NULL,
    status BIGINT,
    response TEXT,
    created BIGINT NOT NULL,
    expires BIGINT NOT NULL,
    PRIMARY KEY (scope, idem_key)
);
CREATE INDEX idempotency_keys_expires ON idempotency_keys (expires);
