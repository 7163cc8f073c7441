/**
 * The chdb twin of crash-import-events.test.ts: an events import into a ClickHouse store
 * (`--db chdb:<dir>`) holding an earlier import, through the DuckDB stage (store/staging.ts),
 * killed with SIGKILL at each of its write-back steps (`SEXTANT_FAULT_AT`, counting only the
 * `stage:` fault points: before each table written back, before each Parquet batch of new events
 * appended, before the ledger). The new events are appended in batches of 300
 * (`SEXTANT_APPEND_ROWS`), so kills land between batches. After each kill the store opens, holds
 * every event of the earlier import and no uuid twice, and the ledger does not record the killed
 * import; a re-run of the same import then leaves exactly what a clean import leaves: the events
 * as readers see them (identity overrides applied), persons, ids, merges and groups. chdb binds one
 * data folder per process, so each store is read by a child process. Needs the built CLI.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSextant } from '../helpers/cli.js';
import { writeEventsFile } from '../helpers/crash-data.js';
import { readChdbStore } from '../helpers/store-snapshot.js';
import { eventsWithPersons } from '../../src/store/events.js';

const dir = mkdtempSync(join(tmpdir(), 'sextant-crash-import-chdb-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const ENV = { SEXTANT_APPEND_ROWS: '300', SEXTANT_FAULT_MATCH: 'stage:' };

interface State {
  events: number;
  uuids: number;
  /** Order-independent hashes of what readers see (import times left out). */
  hashes: Record<string, string>;
  /** Finished events imports in the ledger. */
  imports: number;
}

/** The columns of each table hashed, and where they are read from (events with their person). */
const HASHED: Record<string, [columns: string, from: string]> = {
  events: [
    'uuid, event, distinct_id, person_id, timestamp, properties, organization, groups, source, has_set',
    eventsWithPersons().toString(),
  ],
  persons: ['person_id, properties, is_identified, created_at', 'persons'],
  person_distinct_ids: ['distinct_id, person_id', 'person_distinct_ids'],
  identity_merges: ['event_uuid, kind, from_id, into_id, timestamp', 'identity_merges'],
  groups: ['group_type, group_key, properties, created_at', 'groups'],
};

/** The store's state, read by a child process (one chdb folder per process). */
async function state(store: string): Promise<State> {
  const queries: Record<string, string> = {
    counts: 'SELECT toInt64(count(*)) AS n, toInt64(uniqExact(uuid)) AS u FROM events',
    imports: "SELECT toInt64(count(*)) AS n FROM imports WHERE kind = 'events' AND finished_at IS NOT NULL",
  };
  for (const [t, [cols, from]] of Object.entries(HASHED))
    queries[`hash ${t}`] = `SELECT toString(sum(cityHash64(toString(tuple(${cols}))))) AS h FROM ${from}`;
  const r = await readChdbStore(store, queries);
  return {
    events: Number(r.counts!.n),
    uuids: Number(r.counts!.u),
    hashes: Object.fromEntries(Object.keys(HASHED).map((t) => [t, r[`hash ${t}`]!.h as string])),
    imports: Number(r.imports!.n),
  };
}

let fileB = '';
let base = '';
let baseState: State;
let reference: State;
let trace: string[] = [];

beforeAll(async () => {
  expect(existsSync(new URL('../../dist/cli/main.js', import.meta.url)), 'run `npm run build` first').toBe(
    true,
  );
  const fileA = join(dir, 'a.jsonl.gz');
  fileB = join(dir, 'b.jsonl.gz');
  // 1,000 events a file; B's people overlap A's (merges, person refreshes, overrides).
  writeEventsFile(fileA, { n: 1000, seed: 1, from: '2024-01-01T00:00:00Z' });
  writeEventsFile(fileB, { n: 1000, seed: 2, from: '2024-01-20T00:00:00Z' });
  base = join(dir, 'base');
  expect((await runSextant(['--db', `chdb:${base}`, 'import', 'events', fileA], ENV)).code).toBe(0);
  baseState = await state(base);
  const clean = join(dir, 'clean');
  cpSync(base, clean, { recursive: true });
  const run = await runSextant(['--db', `chdb:${clean}`, 'import', 'events', fileB], {
    ...ENV,
    SEXTANT_FAULT_TRACE: `${clean}.trace`,
  });
  expect(run.code).toBe(0);
  trace = readFileSync(`${clean}.trace`, 'utf8').trim().split('\n');
  reference = await state(clean);
}, 600_000);

describe('an events import into chdb killed at any write-back step', () => {
  it('opens, loses and doubles nothing, records the import only when done, and a re-run completes it exactly', async () => {
    expect(reference.imports).toBe(2);
    expect(reference.events).toBe(reference.uuids);
    expect(reference.events).toBeGreaterThan(baseState.events + 900);
    // The write-back's steps, in order: identity first, then the events in batches, the ledger last.
    expect(trace).toContain('stage: write back person_distinct_ids');
    expect(trace.filter((l) => l.startsWith('stage: append batch')).length).toBeGreaterThanOrEqual(3);
    expect(trace.at(-1)).toBe('stage: write back imports');
    const appended = new Set<number>();
    for (let n = 1; n <= trace.length; n++) {
      const what = `killed at ${n} (${trace[n - 1]})`;
      const store = join(dir, `kill-${n}`);
      cpSync(base, store, { recursive: true });
      const run = await runSextant(['--db', `chdb:${store}`, 'import', 'events', fileB], {
        ...ENV,
        SEXTANT_FAULT_AT: String(n),
      });
      expect(run.signal, what).toBe('SIGKILL');
      const s = await state(store);
      // Nothing lost, nothing twice, the killed import not in the ledger.
      expect(s.uuids, what).toBe(s.events);
      expect(s.events, what).toBeGreaterThanOrEqual(baseState.events);
      expect(s.events, what).toBeLessThanOrEqual(reference.events);
      expect(s.imports, what).toBe(1);
      appended.add(s.events);
      const again = await runSextant(['--db', `chdb:${store}`, 'import', 'events', fileB], ENV);
      expect(again.code, `${what}: ${again.stderr}`).toBe(0);
      expect(await state(store), `${what}, then imported again`).toEqual(reference);
      rmSync(store, { recursive: true, force: true });
    }
    // Kills landed before the events, and between their batches.
    expect(appended.size).toBeGreaterThanOrEqual(3);
  }, 1_200_000);
});
