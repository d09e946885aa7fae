-- A leak report already acted on is not acted on again: the digest of each
-- signed report received, so that a replay of the same signed body (after
-- an admin re-enabled the key, say) changes nothing. Pruned after a year.
CREATE TABLE leak_reports (
    digest TEXT PRIMARY KEY,
    received BIGINT NOT NULL
);
CREATE INDEX leak_reports_received ON leak_reports (received);
