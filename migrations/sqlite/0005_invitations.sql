-- Invitations (SPEC §9). Kept in step with postgres/0005_invitations.sql.
--
-- An invitation's link to choose a password used to be handed to the admin
-- who invited. Now it is mailed to the invitee alone, and it belongs to one
-- membership: removing the membership voids it. What an organization sees of
-- a person is that membership (an id, the address as the organization typed
-- it, a role, whether the person has taken it up), never the person's account
-- or standing in another organization.

-- 1. Memberships get an id of their own, the address as their organization
--    typed it, and the time the person took them up. SQLite adds no NOT NULL
--    column without a default, so the table is rebuilt; nothing refers to it
--    yet.
CREATE TABLE memberships_new (
    -- The person's id as this organization sees it, in the API and in its
    -- audit trail. Memberships from before this migration keep the user id
    -- the API showed until now, so that clients holding it reach the same
    -- member; each new membership gets a fresh id, which tells nothing about
    -- when (or whether) its person had an account before.
    id TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    org_id TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('viewer', 'editor', 'admin')),
    created BIGINT NOT NULL,
    -- As this organization typed it, which may differ in case from how the
    -- account was first written; showing the account's own spelling would
    -- tell the organization that somebody else had added the person.
    email TEXT NOT NULL,
    -- When the person took the membership up: chose a password through this
    -- membership's invitation, or logged in after being added. NULL while
    -- pending.
    accepted BIGINT,
    PRIMARY KEY (user_id, org_id),
    CONSTRAINT memberships_id_key UNIQUE (org_id, id)
);
-- A member who could log in before counts as having taken the membership up.
INSERT INTO memberships_new (id, user_id, org_id, role, created, email, accepted)
SELECT m.user_id, m.user_id, m.org_id, m.role, m.created, u.email,
       CASE WHEN u.password_hash IS NULL THEN NULL ELSE m.created END
FROM memberships m JOIN users u ON u.id = m.user_id;
DROP TABLE memberships;
ALTER TABLE memberships_new RENAME TO memberships;
-- No index on org_id alone any more: memberships_id_key starts with it.

-- 2. Invitation links, each bound to the membership whose invitation carried
--    it: deleting the membership (removal, or its person or organization
--    going) deletes its links with it. Only the SHA-256 of a token is kept;
--    the mail worker mints the token when it sends the message.
CREATE TABLE invitations (
    token_hash TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    member_id TEXT NOT NULL,
    created BIGINT NOT NULL,
    expires BIGINT NOT NULL,
    used BIGINT,
    CONSTRAINT invitations_member_fkey FOREIGN KEY (org_id, member_id)
        REFERENCES memberships (org_id, id) ON DELETE CASCADE
);
CREATE INDEX invitations_member ON invitations (org_id, member_id);

-- 3. Password links issued before this migration were shown to the admin who
--    invited, and are bound to no membership: none of them may keep working.
--    A person who had not used theirs yet is invited again (remove, then
--    invite), and this time the link goes to them.
DELETE FROM one_time_tokens WHERE purpose = 'password';

-- 4. The outbox takes invitations. SQLite cannot change a CHECK constraint in
--    place: the table is rebuilt as 0002 made it, with the one new kind, and
--    its index made again. Nothing refers to it.
CREATE TABLE outbox_new (
    -- Also the local part of the Message-ID, the same on every attempt, so
    -- that a message resent after an uncertain failure is recognizable.
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    -- An invitation becomes a link to choose a password or a notice that
    -- the person was added, decided when it is sent; the row is the same
    -- either way.
    kind TEXT NOT NULL CHECK (kind IN ('confirm-email', 'key-expiry', 'invitation')),
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
