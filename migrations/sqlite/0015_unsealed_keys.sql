-- Every start looks for keys stored before sealing (none, once they are
-- sealed). Without an index that look reads every key, so start-up grew
-- with their number; this index holds only unsealed keys.
CREATE INDEX api_keys_unsealed ON api_keys (id) WHERE assertion_key IS NULL;
