/**
 * Test helper (used only by the insights tests): a fresh in-memory store with the given events
 * inserted straight into `events`, person ids already resolved, uuids `e0001…` in list order.
 */
import { DuckDbEngine } from '../store/duckdb/engine.js';
import { join, sql } from '../store/sql.js';

export interface TestEvent {
  event: string;
  person: string;
  /** ISO timestamp, UTC when it names no zone. */
  at: string;
  distinctId?: string;
  props?: Record<string, unknown>;
  org?: string;
}

export async function engineWith(events: readonly TestEvent[]): Promise<DuckDbEngine> {
  const e = await DuckDbEngine.open(':memory:');
  await e.migrate();
  await insertEvents(e, events);
  return e;
}

export async function insertEvents(
  e: DuckDbEngine,
  events: readonly TestEvent[],
  uuidPrefix = 'e',
): Promise<void> {
  if (events.length === 0) return;
  const rows = events.map((ev, i) => {
    const props = { ...(ev.props ?? {}), ...(ev.org ? { $groups: { organization: ev.org } } : {}) };
    const at = /Z$|[+-]\d\d:?\d\d$/.test(ev.at) ? ev.at : ev.at + 'Z';
    return sql`(${uuidPrefix + String(i + 1).padStart(4, '0')}, ${ev.event}, ${ev.distinctId ?? ev.person}, ${ev.person},
      CAST(${at} AS TIMESTAMPTZ), CAST(${JSON.stringify(props)} AS JSON), ${ev.org ?? null})`;
  });
  await e.exec(
    sql`INSERT INTO events (uuid, event, distinct_id, person_id, timestamp, properties, organization) VALUES ${join(rows)}`,
  );
}
