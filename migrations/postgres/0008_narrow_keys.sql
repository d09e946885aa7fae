-- Narrow and metered keys (SPEC §10). Kept in step with
-- sqlite/0008_narrow_keys.sql.
--
-- Every column is nullable and NULL narrows nothing, so keys made before
-- this migration keep acting exactly as their accounts. Values are checked
-- by keyward before they are written (the domain types' parse), not by
-- CHECK constraints: the rules (a scope's pattern, a CIDR's syntax) are not
-- SQL's to express on both engines alike.

-- The key's own role; it acts with the lesser of this and its account's.
ALTER TABLE api_keys ADD COLUMN role TEXT;
-- JSON arrays of strings, read once when a key's record is loaded.
ALTER TABLE api_keys ADD COLUMN scopes TEXT;
ALTER TABLE api_keys ADD COLUMN allowed_cidrs TEXT;
-- At most rate_limit successful uses in any rate_period seconds; both or neither.
ALTER TABLE api_keys ADD COLUMN rate_limit BIGINT;
ALTER TABLE api_keys ADD COLUMN rate_period BIGINT;
-- A JSON object of at most 4 KiB, returned as given.
ALTER TABLE api_keys ADD COLUMN meta TEXT;
ALTER TABLE service_accounts ADD COLUMN meta TEXT;
