import type { Engine } from '../../store/engine.js';
import { importSteps } from './load-events.js';

/**
 * Re-derives identity after events were stored by any path (the capture API, a bulk load):
 * records new `$identify`/`$create_alias`/`$merge_dangerously` merges, recomputes the
 * distinct_id → person map, records the new person of ids whose events were written with another
 * (`person_overrides`; events are never rewritten), and refreshes the
 * persons and groups those events touch. Idempotent. `since` limits the work to events imported
 * at or after that instant (`events.imported_at`); without it every event is considered.
 */
export async function applyIdentity(engine: Engine, opts: { since?: Date } = {}): Promise<void> {
  const steps = await importSteps(engine, 'identity resolution');
  await steps.applyIdentity(opts.since);
}
