/**
 * Test helper (used only by the deep-dive tests): a fresh in-memory store and set-based inserts of
 * events (person ids already resolved) and organizations, fast enough for thousands of rows.
 */
import { DuckDbEngine } from '../../src/store/duckdb/engine.js';
import { sql } from '../../src/store/sql.js';
import { maybeTwin } from './twin.js';

export interface DiveEvent {
  event: string;
  person: string;
  /** ISO timestamp in UTC, with its `Z`. */
  at: string;
  org?: string;
  props?: Record<string, unknown>;
}

export async function freshEngine(): Promise<DuckDbEngine> {
  const e = await DuckDbEngine.open(':memory:');
  await e.migrate();
  return maybeTwin(e);
}

export async function insertDiveEvents(e: DuckDbEngine, events: readonly DiveEvent[]): Promise<void> {
  if (events.length === 0) return;
  const props = events.map((ev) =>
    JSON.stringify({ ...(ev.props ?? {}), ...(ev.org ? { $groups: { organization: ev.org } } : {}) }),
  );
  await e.exec(sql`
    INSERT INTO events (uuid, event, distinct_id, person_id, timestamp, properties, organization)
    SELECT 'u' || CAST(i AS VARCHAR), event, person, person, CAST(ts AS TIMESTAMPTZ), CAST(props AS JSON), nullif(org, '')
    FROM (SELECT unnest(${events.map((ev) => ev.event)}) AS event, unnest(${events.map((ev) => ev.person)}) AS person,
            unnest(${events.map((ev) => ev.at)}) AS ts, unnest(${props}) AS props,
            unnest(${events.map((ev) => ev.org ?? '')}) AS org, unnest(${events.map((_, i) => i)}) AS i)`);
}

export async function insertOrganizations(
  e: DuckDbEngine,
  orgs: readonly { key: string; properties: Record<string, unknown> }[],
): Promise<void> {
  if (orgs.length === 0) return;
  await e.exec(sql`
    INSERT INTO groups (group_type, group_key, properties)
    SELECT 'organization', k, CAST(p AS JSON)
    FROM (SELECT unnest(${orgs.map((o) => o.key)}) AS k, unnest(${orgs.map((o) => JSON.stringify(o.properties))}) AS p)`);
}

/** A seeded uniform [0, 1) stream (the stats library's PRNG), so "random" test data is the same on every run. */
export { prng as seeded } from '../../src/analyses/stats/random.js';
