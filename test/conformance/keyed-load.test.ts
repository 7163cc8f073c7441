/**
 * The Stripe and feedback importers on both engines, each writing natively through
 * `Engine.loadKeyed` (DuckDB: one transaction; ClickHouse: ReplacingMergeTree versions, no DuckDB
 * stage): the same files give the same reports (ledger counts, warnings), the same ledger and the
 * same stored rows, through re-imports that update, leave unchanged, replace an invoice's lines,
 * and skip a state older than the stored one (an event never overwrites newer state).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importFeedback } from '../../src/ingest/feedback/import.js';
import { listImports } from '../../src/ingest/ledger.js';
import type { ImportReport } from '../../src/ingest/report.js';
import { importStripe, importStripeRecords } from '../../src/ingest/stripe/import.js';
import { KEYS } from '../../src/ingest/stripe/load.js';
import { openChdb } from '../../src/store/clickhouse/test-chdb.js';
import { DuckDbEngine } from '../../src/store/duckdb/engine.js';
import type { Engine } from '../../src/store/engine.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/real/stripe-fixtures/', import.meta.url));
const TABLES = [...Object.keys(KEYS), 'feedback'];

let dir = '';
let engines: Engine[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sextant-keyed-load-'));
  const duckdb = await DuckDbEngine.open(':memory:');
  await duckdb.migrate();
  engines = [duckdb, await openChdb()];
}, 120_000);

afterAll(async () => {
  for (const e of engines) await e.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Every row of the billing and feedback tables, each as JSON, sorted. */
async function rows(e: Engine): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  const info = new Map((await e.tables()).map((t) => [t.name, t.columns]));
  for (const t of TABLES) {
    const all: string[] = [];
    for await (const batch of e.scan(t, info.get(t) ?? [], 10_000))
      all.push(...batch.map((r) => JSON.stringify(r)));
    out[t] = all.sort();
  }
  return out;
}

/** The ledger without its times (each engine's clock). */
async function ledger(e: Engine): Promise<unknown[]> {
  return (await listImports(e)).map(({ importedAt: _i, finishedAt, ...r }) => ({
    ...r,
    finished: finishedAt !== null,
  }));
}

/** Runs `step` on both engines; their reports, ledgers and stored rows must be equal. */
async function onBoth(step: (e: Engine) => Promise<ImportReport[]>): Promise<ImportReport[]> {
  const [d, c] = [await step(engines[0]!), await step(engines[1]!)];
  expect(c).toEqual(d);
  expect(await ledger(engines[1]!)).toEqual(await ledger(engines[0]!));
  expect(await rows(engines[1]!)).toEqual(await rows(engines[0]!));
  return d;
}

function write(name: string, text: string): string {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}

const invoice = JSON.parse(readFileSync(join(FIXTURES, 'invoice.json'), 'utf8')) as {
  id: string;
  lines: { data: { id: string }[] };
};
const customer = JSON.parse(readFileSync(join(FIXTURES, 'customer.json'), 'utf8')) as { id: string };
const line = invoice.lines.data[0]!;
/** The fixture's invoice `in_keyed` with lines `ids`. */
const invoiceWith = (ids: string[]): object => ({
  ...invoice,
  id: 'in_keyed',
  lines: { ...invoice.lines, data: ids.map((id) => ({ ...line, id })) },
});
const event = (id: string, type: string, created: Date, object: object): object => ({
  object: 'event',
  id,
  type,
  created: Math.floor(created.getTime() / 1000),
  data: { object },
});

describe('Stripe and feedback imports, natively on DuckDB and on ClickHouse', () => {
  it('store the same rows, count the same, and keep newer state over older', async () => {
    const t1 = new Date('2025-03-01T00:00:00Z');
    const day = 86_400_000;
    // Stripe's own API fixtures: new, then again (unchanged), then a day later (every object updated to the same content).
    const first = await onBoth((e) => importStripe(e, FIXTURES, { now: t1 }));
    expect(first.reduce((n, r) => n + r.inserted, 0)).toBeGreaterThan(5);
    const again = await onBoth((e) => importStripe(e, FIXTURES, { now: t1 }));
    // Nothing new; ids in two files (fixtures3.json holds other states of some) are updated back.
    expect(again.reduce((n, r) => n + r.inserted, 0)).toBe(0);
    await onBoth((e) => importStripe(e, FIXTURES, { now: new Date(t1.getTime() + day) }));

    // An invoice's lines are those of its latest import: two, then one (the other removed).
    const two = write('two-lines.json', JSON.stringify(invoiceWith(['il_a', 'il_b'])));
    const one = write('one-line.json', JSON.stringify(invoiceWith(['il_b'])));
    const lines = async (e: Engine): Promise<number> =>
      (await rows(e)).billing_invoice_lines!.filter((r) => r.includes('"in_keyed"')).length;
    await onBoth((e) => importStripe(e, two, { now: new Date(t1.getTime() + 2 * day) }));
    for (const e of engines) expect(await lines(e)).toBe(2);
    await onBoth((e) => importStripe(e, one, { now: new Date(t1.getTime() + 3 * day) }));
    for (const e of engines) expect(await lines(e)).toBe(1);

    // An invoice carried by an event never replaces one imported directly.
    const invoiceEvent = write(
      'events.jsonl',
      JSON.stringify(
        event(
          'evt_inv',
          'invoice.updated',
          new Date(t1.getTime() + 4 * day),
          invoiceWith(['il_a', 'il_b', 'il_c']),
        ),
      ),
    );
    const [fromFile] = await onBoth((e) =>
      importStripe(e, invoiceEvent, { now: new Date(t1.getTime() + 5 * day) }),
    );
    expect(fromFile?.inserted).toBe(1);
    for (const e of engines) expect(await lines(e)).toBe(1);

    // Webhook events (each event's object is its state as of the event): a newer one updates
    // the customer, an older one, delivered after it, does not.
    const webhook = (id: string, at: Date, name: string) => async (e: Engine) => {
      const value = event(id, 'customer.updated', at, { ...customer, name });
      return [
        await importStripeRecords(e, [{ line: 1, value, text: JSON.stringify(value) }], [], {
          file: `webhook:${id}`,
          now: new Date(t1.getTime() + 7 * day),
          eventObjects: true,
        }),
      ];
    };
    const [newer] = await onBoth(webhook('evt_new', new Date(t1.getTime() + 6 * day), 'Newer'));
    const [older] = await onBoth(webhook('evt_old', new Date(t1.getTime() - day), 'Older'));
    expect(newer?.inserted).toBe(1);
    expect(older?.inserted).toBe(1);
    for (const e of engines) {
      const c = (await rows(e)).billing_customers!.find((r) => r.includes(`"${customer.id}"`));
      expect(c).toContain('"name":"Newer"');
    }
  }, 300_000);

  it('feedback: the last record of an id wins; a re-import updates or leaves unchanged', async () => {
    const header = 'id,kind,created_at,distinct_id,score,body';
    const a = write(
      'feedback-a.csv',
      [
        header,
        'f1,nps,2025-02-01T10:00:00Z,u1,9,great',
        'f2,ticket,2025-02-02T10:00:00Z,u2,,slow',
        'f1,nps,2025-02-01T10:00:00Z,u1,10,"great, really"',
      ].join('\n'),
    );
    const b = write(
      'feedback-b.csv',
      [
        header,
        'f1,nps,2025-02-01T10:00:00Z,u1,10,"great, really"',
        'f2,ticket,2025-02-02T10:00:00Z,u2,,fast now',
        'f3,request,2025-02-03T10:00:00Z,,,dark mode',
      ].join('\n'),
    );
    const [first] = await onBoth(async (e) => [await importFeedback(e, a)]);
    expect(first).toMatchObject({ inserted: 2, duplicates: 1 });
    const [second] = await onBoth(async (e) => [await importFeedback(e, b)]);
    expect(second).toMatchObject({ inserted: 1, updated: 1, duplicates: 1 });
  }, 300_000);
});
