-- Invitations (SPEC §9). Kept in step with sqlite/0005_invitations.sql.
--
-- An invitation's link to choose a password used to be handed to the admin
-- who invited. Now it is mailed to the invitee alone, and it belongs to one
-- membership: removing the membership voids it. What an organization sees of
-- a person is that membership (an id, the address as the organization typed
-- it, a role, whether the person has taken it up), never the person's account
-- or standing in another organization.

-- 1. Memberships get an id of their own, the address as their organization
--    typed it, and the time the person took them up.
--
--    id: the person's id as this organization sees it, in the API and in its
--    audit trail. Memberships from before this migration keep the user id
--    the API showed until now, so that clients holding it reach the same
--    member; each new membership gets a fresh id, which tells nothing about
--    when (or whether) its person had an account before.
--
--    email: as this organization typed it, which may differ in case from how
--    the account was first written; showing the account's own spelling would
--    tell the organization that somebody else had added the person.
--
--    accepted: when the person took the membership up: chose a password
--    through this membership's invitation, or logged in after being added.
--    NULL while pending. A member who could log in before counts as having
--    taken the membership up.
ALTER TABLE memberships ADD COLUMN id TEXT;
ALTER TABLE memberships ADD COLUMN email TEXT;
ALTER TABLE memberships ADD COLUMN accepted BIGINT;
UPDATE memberships m
SET id = m.user_id,
    email = u.email,
    accepted = CASE WHEN u.password_hash IS NULL THEN NULL ELSE m.created END
FROM users u WHERE u.id = m.user_id;
ALTER TABLE memberships ALTER COLUMN id SET NOT NULL, ALTER COLUMN email SET NOT NULL;
ALTER TABLE memberships ADD CONSTRAINT memberships_id_key UNIQUE (org_id, id);
-- No index on org_id alone any more: memberships_id_key starts with it.
DROP INDEX memberships_org;

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

-- 4. The outbox takes invitations. An invitation becomes a link to choose a
--    password or a notice that the person was added, decided when it is
--    sent; the row is the same either way.
ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check
    CHECK (kind IN ('confirm-email', 'key-expiry', 'invitation'));
