import type { Engine } from '../../store/engine.js';

/**
 * Re-derives identity after events were stored by any path (the capture API, a bulk load):
 * records new `$identify`/`$create_alias`/`$merge_dangerously` merges, recomputes the
 * distinct_id → person map, records the new person of ids whose events were written with another
 * (`person_overrides`; events are never rewritten), and refreshes the
 * persons and groups those events touch. Idempotent. `since` limits the work to events imported
 * at or after that instant (`events.imported_at`); without it every event is considered.
 */
export async function applyIdentity(engine: Engine, opts: { since?: Date } = {}): Promise<void> {
  if (engine.name !== 'duckdb') {
    throw new Error(`identity resolution needs the DuckDB store; ${engine.target} is ${engine.name}`);
  }
  const { applyIdentityDuckDb } = await import('../../store/duckdb/ingest-identity.js');
  await applyIdentityDuckDb(engine, opts.since);
}
