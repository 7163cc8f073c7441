import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finishInterruptedImports, importEvents } from '../../src/ingest/posthog/import-events.js';
import { DuckDbEngine } from '../../src/store/duckdb/engine.js';
import { raw } from '../../src/store/sql.js';
import { runSextant, spawnSextant, waitFor } from '../helpers/cli.js';
import { choosePoints, killAtEachPoint, killsPerCase, referenceRuns } from '../helpers/crash.js';
import { writeEventsFile } from '../helpers/crash-data.js';
import { snapshot, snapshotDiff, tableNames, type Snapshot } from '../helpers/store-snapshot.js';

/*
 * The fault-injection test of issue 15 (docs/ingest.md, "Crash safety"). A real `sextant import`
 * (the built CLI) is killed with SIGKILL at many points of its work — `SEXTANT_FAULT_AT=n` makes
 * it kill itself at its n-th fault point (src/store/fault.ts: before every store statement and
 * commit, between a migration's commit and the checkpoint, before every chunk file) — on a new
 * database and on one holding an earlier import. The points are spread over a clean run's trace
 * (`SEXTANT_FAULT_TRACE`), and always include the commits of the migrations (the WAL DuckDB could
 * not replay) and of the import's chunks. After each kill:
 * - the database opens (the next `sextant` command's open and migrations);
 * - nothing committed is lost: the earlier import's rows are all there, unchanged;
 * - nothing is doubled: once what the killed import stored is finished (as the next import or
 *   review does), no uuid is stored twice, and every row is one the complete import stores;
 * - a re-import completes the data exactly: every table the same as a clean import's;
 * - the killed run's leftovers (chunk files, migration marker, tables) are gone.
 */

const CHUNK_BYTES = '70000';
const KILLS_PER_STORE = killsPerCase(10);

let dir = '';
let fileA = '';
let fileB = '';
let baseDb = '';
const reference: Record<'new' | 'existing', { snapshot: Snapshot; tables: string[]; trace: string[] }> = {
  new: { snapshot: {}, tables: [], trace: [] },
  existing: { snapshot: {}, tables: [], trace: [] },
};
let baseSnapshot: Snapshot = {};

async function readStore(db: string): Promise<{ snapshot: Snapshot; tables: string[] }> {
  const engine = await DuckDbEngine.open(db);
  try {
    await engine.migrate();
    return { snapshot: await snapshot(engine), tables: await tableNames(engine) };
  } finally {
    await engine.close();
  }
}

/** A clean run of `import events B` on `db`, its fault points traced. */
async function tracedImport(db: string): Promise<string[]> {
  const traceFile = `${db}.trace`;
  const run = await runSextant(['--db', db, 'import', 'events', fileB], {
    SEXTANT_CHUNK_BYTES: CHUNK_BYTES,
    SEXTANT_FAULT_TRACE: traceFile,
  });
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  return readFileSync(traceFile, 'utf8').trim().split('\n');
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sextant-crash-import-'));
  fileA = join(dir, 'a.jsonl.gz');
  fileB = join(dir, 'b.jsonl.gz');
  // 1,000 events a file (~210 kB of JSON Lines): 3 chunks of 70 kB. B's people overlap A's.
  writeEventsFile(fileA, { n: 1000, seed: 1, from: '2024-01-01T00:00:00Z' });
  writeEventsFile(fileB, { n: 1000, seed: 2, from: '2024-01-20T00:00:00Z' });
  baseDb = join(dir, 'base.duckdb');
  const base = await DuckDbEngine.open(baseDb);
  await base.migrate();
  await importEvents(base, fileA, { chunkBytes: Number(CHUNK_BYTES) });
  baseSnapshot = await snapshot(base, ['events', 'identity_merges']);
  await base.close();

  Object.assign(reference, await referenceRuns(dir, baseDb, tracedImport, readStore));
}, 300_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('sextant import events killed with SIGKILL', () => {
  for (const store of ['new', 'existing'] as const) {
    it(`on ${store === 'new' ? 'a new' : 'an existing'} database: opens, loses and doubles nothing, and a re-import completes it exactly`, async () => {
      const ref = reference[store];
      expect(ref.trace.length).toBeGreaterThan(50);
      const points = choosePoints(ref.trace, KILLS_PER_STORE);
      expect(points.length).toBeGreaterThanOrEqual(KILLS_PER_STORE);
      const failures = await killAtEachPoint({
        trace: ref.trace,
        points,
        db: (n) => join(dir, `${store}-${n}.duckdb`),
        prepare: (db) => (store === 'existing' ? copyFileSync(baseDb, db) : undefined),
        args: (db) => ['--db', db, 'import', 'events', fileB],
        env: { SEXTANT_CHUNK_BYTES: CHUNK_BYTES },
        check: (db) => checkAfterKill(db, store),
      });
      expect(failures).toEqual([]);
    }, 600_000);
  }

  it('on a new database killed at moments in time, uninstrumented: the same holds', async () => {
    // What a user's kill -9 does: no fault point, just a moment after the first commit (the
    // migrations') — where DuckDB used to be left with a WAL it could not replay.
    for (const afterMs of [0, 250]) {
      const db = join(dir, `timed-${afterMs}.duckdb`);
      const child = spawnSextant(['--db', db, 'import', 'events', fileB], {
        SEXTANT_CHUNK_BYTES: CHUNK_BYTES,
      });
      const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
      await waitFor(() => existsSync(`${db}.wal`), 'the first commit', 60_000, 2);
      await new Promise((r) => setTimeout(r, afterMs));
      child.kill('SIGKILL');
      await exited;
      expect(await checkAfterKill(db, 'new')).toEqual([]);
    }
  }, 300_000);
});

/** An events row without its person_id, which moves when a later import merges people. */
function strip(row: string): string {
  return JSON.stringify((JSON.parse(row) as unknown[]).filter((_, i) => i !== 3));
}

/** Everything a kill must leave true (see the top of this file); returns what is not. */
async function checkAfterKill(db: string, store: 'new' | 'existing'): Promise<string[]> {
  const problems: string[] = [];
  const ref = reference[store];
  // The next command's open: must not fail (DuckDB replays the WAL, or the interrupted
  // migrations are set aside and run again).
  const engine = await DuckDbEngine.open(db);
  try {
    await engine.migrate();
    if (store === 'existing') {
      const now = await snapshot(engine, ['events', 'identity_merges']);
      const sourceA = JSON.stringify(fileA);
      const kept = now.events!.filter((r) => r.endsWith(`,${sourceA}]`));
      const before = baseSnapshot.events!.filter((r) => r.endsWith(`,${sourceA}]`));
      const lost = snapshotDiff({ e: kept.map(strip) }, { e: before.map(strip) }).e;
      if (lost) problems.push(`the earlier import's events changed: ${JSON.stringify(lost)}`);
    }
    await finishInterruptedImports(engine);
    const [dups] = await engine.query<{ n: number }>(
      raw('SELECT count(*)::INTEGER - count(DISTINCT uuid)::INTEGER AS n FROM events'),
    );
    if (dups?.n) problems.push(`${dups.n} events stored twice`);
    const partial = (await snapshot(engine, ['events'])).events!.map(strip);
    const unknown = snapshotDiff({ events: partial }, { events: ref.snapshot.events!.map(strip) }).events
      ?.extra;
    if (unknown?.length) problems.push(`events a complete import does not store: ${JSON.stringify(unknown)}`);

    await importEvents(engine, fileB, { chunkBytes: Number(CHUNK_BYTES) });
    const diff = snapshotDiff(await snapshot(engine), ref.snapshot);
    if (Object.keys(diff).length) problems.push(`after a re-import: ${JSON.stringify(diff)}`);
    const tables = await tableNames(engine);
    if (JSON.stringify(tables) !== JSON.stringify(ref.tables)) {
      problems.push(`tables ${tables.join(',')} instead of ${ref.tables.join(',')}`);
    }
  } finally {
    await engine.close();
  }
  for (const leftover of [`${db}.sextant-tmp`, `${db}.migrating`, `${db}.wal`]) {
    if (existsSync(leftover)) problems.push(`${leftover} left behind`);
  }
  return problems;
}
