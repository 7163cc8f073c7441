-- An events import commits chunk by chunk (see docs/ingest.md); its `imports` row is written when
-- it starts and `finished_at` when persons and groups have been refreshed. A row without
-- `finished_at` is an import that was interrupted: the next events import refreshes the persons
-- and groups of the events it stored.
ALTER TABLE imports ADD COLUMN IF NOT EXISTS finished_at TIMESTAMPTZ;
UPDATE imports SET finished_at = imported_at WHERE finished_at IS NULL;
