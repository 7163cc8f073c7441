-- The import ledger (docs/ingest.md): every import accounts for every record it read,
-- records = inserted + updated + duplicates + skipped + rejected. Columns are nullable without
-- defaults (an ALTER with a default is what DuckDB failed to replay from a WAL after a kill).
ALTER TABLE imports ADD COLUMN IF NOT EXISTS updated BIGINT;
ALTER TABLE imports ADD COLUMN IF NOT EXISTS duplicates BIGINT;
ALTER TABLE imports ADD COLUMN IF NOT EXISTS skipped BIGINT;
-- {"rule": count} for the duplicates, {"type": count} for skipped records.
ALTER TABLE imports ADD COLUMN IF NOT EXISTS duplicate_rules JSON;
ALTER TABLE imports ADD COLUMN IF NOT EXISTS skipped_types JSON;
-- Where the rejected records were written, verbatim.
ALTER TABLE imports ADD COLUMN IF NOT EXISTS rejects_file VARCHAR;
