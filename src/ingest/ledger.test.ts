import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DuckDbEngine } from '../store/duckdb/engine.js';
import { raw } from '../store/sql.js';
import { inTransaction } from '../store/transaction.js';
import { importFeedback } from './feedback/import.js';
import { listImports, recordImport } from './ledger.js';
import type { ImportReport } from './report.js';
import { importStripeFile } from './stripe/import.js';

async function store(): Promise<DuckDbEngine> {
  const e = await DuckDbEngine.open(':memory:');
  await e.migrate();
  return e;
}

const report = (over: Partial<ImportReport> = {}): ImportReport => ({
  file: 'x.csv',
  kind: 'subscriptions',
  records: 10,
  inserted: 4,
  updated: 1,
  duplicates: 2,
  duplicateRules: { 'id, unchanged': 2 },
  skipped: { charge: 1 },
  rejected: [
    { line: 3, reason: 'bad', field: 'amount' },
    { line: 9, reason: 'bad' },
  ],
  rejectsFile: '/tmp/x.csv.rejects',
  ...over,
});

describe('the import ledger', () => {
  it('keeps every count of a report, and reads them back in import order', async () => {
    const e = await store();
    await recordImport(e, report());
    await recordImport(
      e,
      report({
        file: 'y.jsonl',
        kind: 'stripe',
        records: 1,
        inserted: 1,
        updated: 0,
        duplicates: 0,
        duplicateRules: {},
        skipped: {},
        rejected: [],
        rejectsFile: undefined,
      }),
    );
    const rows = await listImports(e);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({
      source: 'x.csv',
      kind: 'subscriptions',
      records: 10,
      inserted: 4,
      updated: 1,
      duplicates: 2,
      duplicateRules: { 'id, unchanged': 2 },
      skipped: 1,
      skippedTypes: { charge: 1 },
      rejected: 2,
      rejectsFile: '/tmp/x.csv.rejects',
    });
    expect(rows[0]?.finishedAt).not.toBeNull();
    expect(rows[1]).toMatchObject({ source: 'y.jsonl', kind: 'stripe', rejectsFile: null, skipped: 0 });
    // Two imports in one instant are still ordered: each is later than every earlier one.
    expect(rows[1]!.importedAt > rows[0]!.importedAt).toBe(true);
    expect(await listImports(e, { kind: 'stripe' })).toHaveLength(1);
    await e.close();
  });

  it('refuses a report whose counts do not add up', async () => {
    const e = await store();
    await expect(recordImport(e, report({ inserted: 5 }))).rejects.toThrow(/does not add up/);
    await expect(recordImport(e, report({ duplicates: 3 }))).rejects.toThrow(/does not add up/);
    expect(await listImports(e)).toEqual([]);
    await e.close();
  });

  it("commits or rolls back with the caller's transaction", async () => {
    const e = await store();
    await expect(
      inTransaction(e, async () => {
        await recordImport(e, report());
        throw new Error('the import failed after logging');
      }),
    ).rejects.toThrow(/failed after logging/);
    expect(await listImports(e)).toEqual([]);
    await inTransaction(e, () => recordImport(e, report()));
    expect(await listImports(e)).toHaveLength(1);
    await e.close();
  });

  it('completes the row of an import that logged its start (same kind and timestamp)', async () => {
    const e = await store();
    const at = new Date('2026-01-02T03:04:05.678Z');
    const started = report({
      kind: 'events',
      records: 0,
      inserted: 0,
      updated: 0,
      duplicates: 0,
      duplicateRules: {},
      skipped: {},
      rejected: [],
      rejectsFile: undefined,
    });
    await recordImport(e, started, { importedAt: at, finished: false });
    expect((await listImports(e))[0]).toMatchObject({ finishedAt: null, records: 0 });
    await recordImport(e, report({ kind: 'events' }), { importedAt: at });
    const rows = await listImports(e);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ importedAt: '2026-01-02T03:04:05.678Z', records: 10, rejected: 2 });
    expect(rows[0]?.finishedAt).not.toBeNull();
    // The events importer passes its timestamp as a SQL literal.
    await recordImport(e, report({ kind: 'events', records: 11, inserted: 5 }), {
      importedAt: raw(`TIMESTAMPTZ '2026-01-02 03:04:05.678+00'`),
    });
    expect(await listImports(e)).toMatchObject([{ records: 11, inserted: 5 }]);
    await e.close();
  });

  it('is written by the Stripe and feedback importers with their counts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sextant-ledger-'));
    const stripe = join(dir, 'billing.jsonl');
    writeFileSync(
      stripe,
      [
        JSON.stringify({ object: 'customer', id: 'cus_1', created: 1700000000 }),
        JSON.stringify({ object: 'customer', id: 'cus_1', created: 1700000000 }),
        JSON.stringify({ object: 'charge', id: 'ch_1' }),
        '{"object": "customer"',
      ].join('\n') + '\n',
    );
    const feedback = join(dir, 'fb.csv');
    writeFileSync(feedback, 'id,kind,created_at,score\nf1,nps,2024-01-01,9\nf2,nps,2024-01-01,11\n');
    const e = await store();
    const s = await importStripeFile(e, stripe, { rejectsDir: join(dir, 'rejects') });
    const f = await importFeedback(e, feedback, { rejectsDir: join(dir, 'rejects') });
    const rows = await listImports(e);
    expect(rows).toMatchObject([
      {
        kind: 'stripe',
        source: stripe,
        records: 4,
        inserted: 1,
        duplicates: 1,
        skipped: 1,
        skippedTypes: { charge: 1 },
        rejected: 1,
        rejectsFile: s.rejectsFile,
      },
      {
        kind: 'feedback',
        source: feedback,
        records: 2,
        inserted: 1,
        rejected: 1,
        rejectsFile: f.rejectsFile,
      },
    ]);
    expect(s.rejectsFile).toBeTruthy();
    await e.close();
  });
});
