-- Consent: nobody joins an organization without consenting. Kept in
-- step with sqlite/0018_invitation_consent.sql.
--
-- A person who already has an account and is added to another organization
-- is no longer let in by logging in: the membership stays pending until they
-- accept it, in the app or through the link their invitation carries. That
-- link is one more kind of invitation link, bound to its membership like the
-- links that choose a first password, so removing the membership voids it.
--
-- purpose: what the link does. 'password' chooses the first password of a
-- person who has none (and so takes the membership up); 'accept' opens the
-- page where a person who has an account, logged in as that account, accepts
-- the membership. Every link issued before this migration chose a password.
ALTER TABLE invitations ADD COLUMN purpose TEXT NOT NULL DEFAULT 'password'
    CHECK (purpose IN ('password', 'accept'));
