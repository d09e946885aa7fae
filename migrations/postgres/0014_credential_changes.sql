-- What each credential change touched, numbered by the revision it bumped,
-- so that nodes forget the changed key or account rather than every key
-- they had checked. Old rows are pruned by the retention task.
CREATE TABLE credential_changes (
    n BIGINT PRIMARY KEY,
    kind TEXT NOT NULL,
    subject TEXT,
    at BIGINT NOT NULL
);
CREATE INDEX credential_changes_at ON credential_changes (at);
