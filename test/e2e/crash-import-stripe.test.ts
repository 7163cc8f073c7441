import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importStripe } from '../../src/ingest/stripe/import.js';
import { KEYS } from '../../src/ingest/stripe/load.js';
import { DuckDbEngine } from '../../src/store/duckdb/engine.js';
import type { Engine } from '../../src/store/engine.js';
import { ident, raw } from '../../src/store/sql.js';
import { runSextant } from '../helpers/cli.js';
import { choosePoints, killAtEachPoint, killsPerCase, referenceRuns } from '../helpers/crash.js';
import { snapshot, snapshotDiff, tableNames, type Snapshot } from '../helpers/store-snapshot.js';

/*
 * The fault-injection test of issue 15 for Stripe (docs/ingest.md, "Crash safety"): a real
 * `sextant import stripe <dir>` (the built CLI; Stripe's own API fixtures and dj-stripe's, 11
 * files, each imported in one transaction with its ledger row) killed with SIGKILL at 10 points
 * of an import into a new store and 10 of a re-import into a store that holds the same objects —
 * the case where a kill between the delete and the insert of the old importer lost billing
 * already stored. After each kill: the store opens; no object stored before is gone; no key is
 * stored twice; every ledger row is complete; a re-import leaves every table equal to a clean import's; nothing is
 * left behind (no staging table, chunk folder or marker).
 */

const FIXTURES = fileURLToPath(new URL('../fixtures/real/stripe-fixtures/', import.meta.url));
const KILLS_PER_STORE = killsPerCase(10);
const BILLING = Object.keys(KEYS).filter((t) => t !== 'billing_subscription_rows');

let dir = '';
let baseDb = '';
let baseKeys: Record<string, string[]> = {};
const reference: Record<'new' | 'existing', { snapshot: Snapshot; tables: string[]; trace: string[] }> = {
  new: { snapshot: {}, tables: [], trace: [] },
  existing: { snapshot: {}, tables: [], trace: [] },
};

/** Each billing table's primary keys, sorted. */
async function billingKeys(engine: Engine): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const t of BILLING) {
    const cols = KEYS[t as keyof typeof KEYS].map((c) => ident(c).toString()).join(', ');
    const rows = await engine.query(raw(`SELECT ${cols} FROM ${ident(t).toString()}`));
    out[t] = rows.map((r) => JSON.stringify(Object.values(r))).sort();
  }
  return out;
}

async function tracedImport(db: string): Promise<string[]> {
  const traceFile = `${db}.trace`;
  const run = await runSextant(['--db', db, 'import', 'stripe', FIXTURES], {
    SEXTANT_FAULT_TRACE: traceFile,
  });
  expect(run.code).toBe(0);
  return readFileSync(traceFile, 'utf8').trim().split('\n');
}

async function readStore(db: string): Promise<{ snapshot: Snapshot; tables: string[] }> {
  const engine = await DuckDbEngine.open(db);
  try {
    return { snapshot: await snapshot(engine), tables: await tableNames(engine) };
  } finally {
    await engine.close();
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sextant-crash-stripe-'));
  baseDb = join(dir, 'base.duckdb');
  const base = await DuckDbEngine.open(baseDb);
  await base.migrate();
  await importStripe(base, FIXTURES);
  baseKeys = await billingKeys(base);
  await base.close();
  expect(baseKeys.billing_invoices!.length).toBeGreaterThan(0);

  Object.assign(reference, await referenceRuns(dir, baseDb, tracedImport, readStore));
}, 300_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('sextant import stripe killed with SIGKILL', () => {
  for (const store of ['new', 'existing'] as const) {
    it(`into ${store === 'new' ? 'a new' : 'an existing'} store: opens, loses nothing, and a re-import completes it exactly`, async () => {
      const ref = reference[store];
      // One transaction per file: the kills land in and between them.
      expect(ref.trace.filter((l) => l === 'COMMIT').length).toBeGreaterThanOrEqual(10);
      const points = choosePoints(ref.trace, KILLS_PER_STORE);
      expect(points.length).toBeGreaterThanOrEqual(KILLS_PER_STORE);
      const failures = await killAtEachPoint({
        trace: ref.trace,
        points,
        db: (n) => join(dir, `${store}-${n}.duckdb`),
        prepare: (db) => (store === 'existing' ? copyFileSync(baseDb, db) : undefined),
        args: (db) => ['--db', db, 'import', 'stripe', FIXTURES],
        check: (db) => checkAfterKill(db, store),
      });
      expect(failures).toEqual([]);
    }, 600_000);
  }
});

async function checkAfterKill(db: string, store: 'new' | 'existing'): Promise<string[]> {
  const problems: string[] = [];
  const ref = reference[store];
  const engine = await DuckDbEngine.open(db);
  try {
    await engine.migrate();
    if (store === 'existing') {
      const keys = await billingKeys(engine);
      for (const t of BILLING) {
        const gone = snapshotDiff({ k: keys[t]! }, { k: baseKeys[t]! }).k?.missing;
        if (gone?.length) problems.push(`${t}: stored objects gone: ${gone.join(' ')}`);
      }
    }
    // Nothing doubled: every billing table holds each key once.
    for (const t of BILLING) {
      const cols = KEYS[t as keyof typeof KEYS].map((c) => ident(c).toString()).join(', ');
      const [d] = await engine.query<{ n: number }>(
        raw(`SELECT (count(*) - count(DISTINCT (${cols})))::INTEGER AS n FROM ${ident(t).toString()}`),
      );
      if (d?.n) problems.push(`${t}: ${d.n} objects stored twice`);
    }
    const [open] = await engine.query<{ n: number }>(
      raw(`SELECT count(*)::INTEGER AS n FROM imports WHERE kind = 'stripe' AND finished_at IS NULL`),
    );
    if (open?.n) problems.push(`${open.n} stripe ledger rows without finished_at`);
    await importStripe(engine, FIXTURES);
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
