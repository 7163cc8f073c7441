/**
 * The chdb twin of stripe-reimport-kill.test.ts: a Stripe re-import into a ClickHouse store
 * (`--db chdb:<dir>`), written natively (store/clickhouse/load-keyed.ts: newer versions of each
 * key, no transaction, the ledger last), killed with SIGKILL at each of its write steps
 * (`SEXTANT_FAULT_AT`, counting only the `loadKeyed` fault points). After each kill the store
 * opens and holds every invoice line exactly once, each table all old or all new, and the ledger
 * records the import only when its rows are all in; a re-import then completes it. chdb binds
 * one data folder per process, so each store is read by a child process. Needs the built CLI.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSextant } from '../helpers/cli.js';
import { readChdbStore } from '../helpers/store-snapshot.js';
import { currentLine, customer, invoice, price, writeJsonl } from '../helpers/stripe-fixtures.js';

const INVOICES = 100;
const dir = mkdtempSync(join(tmpdir(), 'sextant-stripe-kill-chdb-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function billing(name: string, amount: number): string {
  const p = price('p1', 'prod_1', amount, 'month');
  const objects: unknown[] = [p, customer('cus_1')];
  for (let i = 0; i < INVOICES; i++) {
    const line = (id: string) =>
      currentLine({ id, amount, price: p, start: '2024-01-01', end: '2024-02-01', subscription: 's' });
    objects.push(invoice(`in_${i}`, 'cus_1', '2024-01-01', [line(`il_${i}_a`), line(`il_${i}_b`)]));
  }
  return writeJsonl(name, objects);
}

interface State {
  lines: number;
  distinct: number;
  amounts: number[];
  invoiceTotals: number[];
  prices: number[];
  /** How many Stripe imports the ledger holds as finished. */
  imports: number;
  /** Scratch tables of a load (a killed one leaves its own until the next load sweeps them). */
  scratch: number;
}

/** The store's state, read by a child process (one chdb folder per process). */
async function state(store: string): Promise<State> {
  const r = await readChdbStore(store, {
    lines:
      'SELECT toInt64(count(*)) AS lines, toInt64(uniqExact(invoice_id, id)) AS distinct, arraySort(groupUniqArray(amount)) AS amounts FROM billing_invoice_lines',
    invoices: 'SELECT arraySort(groupUniqArray(total)) AS t FROM billing_invoices',
    prices: 'SELECT arraySort(groupUniqArray(unit_amount)) AS p FROM billing_prices',
    imports: "SELECT toInt64(count(*)) AS n FROM imports WHERE kind = 'stripe' AND finished_at IS NOT NULL",
    scratch:
      "SELECT toInt64(count(*)) AS n FROM system.tables WHERE database = currentDatabase() AND startsWith(name, '_sextant_')",
  });
  const numbers = (a: unknown) => (a as unknown[]).map(Number);
  return {
    lines: Number(r.lines.lines),
    distinct: Number(r.lines.distinct),
    amounts: numbers(r.lines.amounts),
    invoiceTotals: numbers(r.invoices.t),
    prices: numbers(r.prices.p),
    imports: Number(r.imports.n),
    scratch: Number(r.scratch.n),
  };
}

const OLD: State = {
  lines: 2 * INVOICES,
  distinct: 2 * INVOICES,
  amounts: [1000],
  invoiceTotals: [2000],
  prices: [1000],
  imports: 1,
  scratch: 0,
};
const NEW: State = { ...OLD, amounts: [2000], invoiceTotals: [4000], prices: [2000], imports: 2 };

let newFile = '';
let base = '';
let trace: string[] = [];

beforeAll(async () => {
  expect(existsSync(new URL('../../dist/cli/main.js', import.meta.url)), 'run `npm run build` first').toBe(
    true,
  );
  const oldFile = billing('old.jsonl', 1000);
  newFile = billing('new.jsonl', 2000);
  base = join(dir, 'base');
  expect((await runSextant(['--db', `chdb:${base}`, 'import', 'stripe', oldFile])).code).toBe(0);
  const probe = join(dir, 'probe');
  cpSync(base, probe, { recursive: true });
  const run = await runSextant(['--db', `chdb:${probe}`, 'import', 'stripe', newFile], {
    SEXTANT_FAULT_TRACE: `${probe}.trace`,
    SEXTANT_FAULT_MATCH: 'loadKeyed',
  });
  expect(run.code).toBe(0);
  trace = readFileSync(`${probe}.trace`, 'utf8').trim().split('\n');
  expect(await state(probe)).toEqual(NEW);
}, 600_000);

describe('a Stripe re-import into chdb killed at any write step', () => {
  it('keeps every stored line exactly once, each table old or new, the ledger last', async () => {
    expect(await state(base)).toEqual(OLD);
    expect(trace).toContain('loadKeyed billing_invoice_lines: insert');
    expect(trace).toContain('loadKeyed: ledger');
    const seen = new Set<string>();
    let killedScratch = 0;
    for (let n = 1; n <= trace.length; n++) {
      const what = `killed at ${n} (${trace[n - 1]})`;
      const store = join(dir, `kill-${n}`);
      cpSync(base, store, { recursive: true });
      const run = await runSextant(['--db', `chdb:${store}`, 'import', 'stripe', newFile], {
        SEXTANT_FAULT_AT: String(n),
        SEXTANT_FAULT_MATCH: 'loadKeyed',
      });
      expect(run.signal, what).toBe('SIGKILL');
      const s = await state(store);
      expect(s, what).toMatchObject({ lines: 2 * INVOICES, distinct: 2 * INVOICES });
      killedScratch = Math.max(killedScratch, s.scratch);
      for (const k of ['amounts', 'invoiceTotals', 'prices'] as const) {
        expect([JSON.stringify(OLD[k]), JSON.stringify(NEW[k])], `${what}: ${k}`).toContain(
          JSON.stringify(s[k]),
        );
      }
      // The ledger records the import only once all of its rows are in.
      if (s.imports === 2) expect({ ...s, scratch: 0 }, what).toEqual(NEW);
      else expect(s.imports, what).toBe(1);
      seen.add(JSON.stringify([s.amounts, s.imports]));
      expect((await runSextant(['--db', `chdb:${store}`, 'import', 'stripe', newFile])).code).toBe(0);
      const after = await state(store);
      expect({ ...after, imports: 0 }, `${what}, then imported again`).toEqual({ ...NEW, imports: 0 });
      rmSync(store, { recursive: true, force: true });
    }
    // The kills landed before, inside and after the write of the lines.
    expect(seen.size).toBeGreaterThanOrEqual(2);
    // Some kills left scratch tables; the re-import after each swept them (checked above: 0).
    expect(killedScratch).toBeGreaterThan(0);
  }, 1_200_000);
});
