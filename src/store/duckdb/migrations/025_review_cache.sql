-- The review cache (src/review/cache.ts, docs/performance.md): per product and month, the part of
-- the last review built that only the data, the config and the code decide, under the hash of
-- those (the import ledger's rows, the config, the code). A build whose key differs rebuilds.
-- Losing it loses nothing: it is only ever rebuilt.
CREATE TABLE IF NOT EXISTS review_cache (
  product VARCHAR NOT NULL,
  month VARCHAR NOT NULL,
  cache_key VARCHAR NOT NULL,
  built_at TIMESTAMPTZ NOT NULL,
  payload JSON NOT NULL,
  PRIMARY KEY (product, month)
);
