/**
 * For tests of metrics, insights and dives: inserts hand-written events straight into `events`
 * (person_id set by the test, as if identity were already resolved), uuids `<prefix>0001…` in
 * list order. One multi-row INSERT. A timestamp without a zone is UTC.
 */
import type { Engine } from '../../src/store/engine.js';
import { join, sql } from '../../src/store/sql.js';

export interface TestEvent {
  event: string;
  /** Defaults to `person`. */
  distinctId?: string;
  person: string;
  /** ISO 8601; UTC when it names no zone. */
  at: string;
  organization?: string | null;
  properties?: Record<string, unknown>;
}

export async function insertEvents(
  engine: Engine,
  events: readonly TestEvent[],
  uuidPrefix = 'e',
): Promise<void> {
  if (events.length === 0) return;
  const rows = events.map((e, i) => {
    const props = {
      ...(e.properties ?? {}),
      ...(e.organization ? { $groups: { organization: e.organization } } : {}),
    };
    const at = /Z$|[+-]\d\d:?\d\d$/.test(e.at) ? e.at : e.at + 'Z';
    return sql`(${uuidPrefix + String(i + 1).padStart(4, '0')}, ${e.event}, ${e.distinctId ?? e.person}, ${e.person},
                CAST(${at} AS TIMESTAMPTZ), ${JSON.stringify(props)}, ${e.organization ?? null}, 'test')`;
  });
  await engine.exec(
    sql`INSERT INTO events (uuid, event, distinct_id, person_id, timestamp, properties, organization, source)
        VALUES ${join(rows)}`,
  );
}
