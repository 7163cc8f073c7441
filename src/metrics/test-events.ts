/**
 * For tests of metrics, insights and dives: inserts hand-written events straight into `events`
 * (person_id set by the test, as if identity were already resolved). One multi-row INSERT.
 */
import type { Engine } from '../store/engine.js';
import { join, sql } from '../store/sql.js';

export interface TestEvent {
  event: string;
  /** Defaults to `person`. */
  distinctId?: string;
  person: string;
  /** ISO 8601, UTC. */
  at: string;
  organization?: string | null;
  properties?: Record<string, unknown>;
}

export async function insertEvents(engine: Engine, events: readonly TestEvent[]): Promise<void> {
  if (events.length === 0) return;
  const rows = events.map((e, i) => {
    const props = {
      ...(e.properties ?? {}),
      ...(e.organization ? { $groups: { organization: e.organization } } : {}),
    };
    return sql`(${`test-${i}-${e.at}`}, ${e.event}, ${e.distinctId ?? e.person}, ${e.person}, CAST(${e.at} AS TIMESTAMPTZ),
                ${JSON.stringify(props)}, ${e.organization ?? null}, 'test')`;
  });
  await engine.exec(
    sql`INSERT INTO events (uuid, event, distinct_id, person_id, timestamp, properties, organization, source)
        VALUES ${join(rows)}`,
  );
}
