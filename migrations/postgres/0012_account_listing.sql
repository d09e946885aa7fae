-- Listing an organization's accounts pages by id. Without an index that
-- gives that order, each page read every account of the organization,
-- soft-deleted ones included, and sorted them: a page cost grew with the
-- organization and with every deletion. One index for the live listing and
-- one for the deleted one, each holding only its own rows.
CREATE INDEX service_accounts_live_by_id ON service_accounts (org_id, id) WHERE deleted IS NULL;
CREATE INDEX service_accounts_deleted_by_id ON service_accounts (org_id, id) WHERE deleted IS NOT NULL;
