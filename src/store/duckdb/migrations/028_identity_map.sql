-- The distinct_id -> person map recomputed in full, once (store/duckdb/engine.ts runs
-- `repairIdentityMap` in this migration's transaction; nothing to do on an empty store). Imports
-- now recompute the map only where their new merges reach, which is right while
-- person_distinct_ids is the map of identity_merges. Every import before recomputed it in full,
-- so a store from before is, except where migration 008 rewrote merge uuids (the tie-break of two
-- merges at one time) after its last import.
SELECT 1;
