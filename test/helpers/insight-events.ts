/**
 * Test helper for the insights tests: a fresh in-memory store with the given events inserted
 * through the shared test inserter (test-events.ts), in the insights tests' spelling.
 */
import { insertEvents as insertTestEvents } from './test-events.js';
import { DuckDbEngine } from '../../src/store/duckdb/engine.js';
import { maybeTwin } from './twin.js';

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
  return maybeTwin(e);
}

export function insertEvents(e: DuckDbEngine, events: readonly TestEvent[], uuidPrefix = 'e'): Promise<void> {
  return insertTestEvents(
    e,
    events.map(({ props, org, ...rest }) => ({ ...rest, properties: props, organization: org ?? null })),
    uuidPrefix,
  );
}
