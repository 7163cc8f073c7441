/**
 * A Stripe re-import killed (SIGKILL) at many points of its work never loses or doubles billing
 * already stored (issue 15, item 4: the delete and the insert used to be separate autocommits, so
 * a kill between them deleted what was stored, and `stage_*` tables were left behind). A real
 * `sextant import stripe` child process re-imports a file whose invoices all changed amount and
 * kills itself at its n-th fault point (`SEXTANT_FAULT_AT`, src/store/fault.ts: before every store
 * statement and commit), n spread over a clean run's trace and always including the statements
 * between the DELETE of the stored invoice lines and the COMMIT. After each kill the store opens
 * and holds every invoice line exactly once, all with the old amounts or all with the new ones,
 * the ledger says so, no stage table is left; a re-import then completes it. Needs the built CLI.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbEngine } from '../../src/store/duckdb/engine.js';
import { raw } from '../../src/store/sql.js';
import { runSextant } from '../helpers/cli.js';
import { choosePoints, killsPerCase } from '../helpers/crash.js';
import { currentLine, customer, invoice, price, writeJsonl } from '../helpers/stripe-fixtures.js';

const INVOICES = 300;
const KILLS = killsPerCase(6);

const dir = mkdtempSync(join(tmpdir(), 'sextant-stripe-kill-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function billing(name: string, amount: number): string {
  const p = price('p1', 'prod_1', amount, 'month');
  const objects: unknown[] = [p, customer('cus_1')];
  for (let i = 0; i < INVOICES; i++) {
    objects.push(
      invoice(`in_${i}`, 'cus_1', '2024-01-01', [
        currentLine({
          id: `il_${i}_a`,
          amount,
          price: p,
          start: '2024-01-01',
          end: '2024-02-01',
          subscription: 's',
        }),
        currentLine({
          id: `il_${i}_b`,
          amount,
          price: p,
          start: '2024-01-01',
          end: '2024-02-01',
          subscription: 's',
        }),
      ]),
    );
  }
  return writeJsonl(name, objects);
}

interface State {
  lines: number;
  distinct: number;
  amounts: number[];
  stages: number;
  /** The ledger: how many Stripe imports finished. */
  imports: number;
}

async function state(db: string): Promise<State> {
  const e = await DuckDbEngine.open(db);
  try {
    await e.migrate();
    const [r] = await e.query<{ lines: number; distinct: number; amounts: number[]; imports: number }>(
      raw(`SELECT count(*)::INTEGER AS lines, count(DISTINCT (invoice_id, id))::INTEGER AS distinct,
        list_sort(list(DISTINCT amount)) AS amounts,
        (SELECT count(*)::INTEGER FROM imports WHERE kind = 'stripe' AND finished_at IS NOT NULL) AS imports
        FROM billing_invoice_lines`),
    );
    const [s] = await e.query<{ n: number }>(
      raw(`SELECT count(*)::INTEGER AS n FROM duckdb_tables() WHERE table_name LIKE '%stage%'`),
    );
    return { ...r!, amounts: r!.amounts.map(Number), stages: s!.n };
  } finally {
    await e.close();
  }
}

let newFile = '';
let base = '';
let trace: string[] = [];

beforeAll(async () => {
  expect(existsSync(new URL('../../dist/cli/main.js', import.meta.url)), 'run `npm run build` first').toBe(
    true,
  );
  const oldFile = billing('old.jsonl', 1000);
  newFile = billing('new.jsonl', 2000);
  base = join(dir, 'base.duckdb');
  expect((await runSextant(['--db', base, 'import', 'stripe', oldFile])).code).toBe(0);
  const probe = join(dir, 'probe.duckdb');
  copyFileSync(base, probe);
  const run = await runSextant(['--db', probe, 'import', 'stripe', newFile], {
    SEXTANT_FAULT_TRACE: `${probe}.trace`,
  });
  expect(run.code).toBe(0);
  trace = readFileSync(`${probe}.trace`, 'utf8').trim().split('\n');
}, 600_000);

describe('a Stripe re-import killed at any point', () => {
  it(`keeps every stored line exactly once, old or new, at ${KILLS} fault points`, async () => {
    expect(await state(base)).toEqual({
      lines: 2 * INVOICES,
      distinct: 2 * INVOICES,
      amounts: [1000],
      stages: 0,
      imports: 1,
    });
    // Every statement from the DELETE of the stored lines to the COMMIT, then points spread over
    // the rest of the run.
    const del = trace.findIndex((l) => /^DELETE FROM "billing_invoice_lines"/.test(l)) + 1;
    const commit = trace.findIndex((l, i) => i >= del && /^COMMIT/.test(l)) + 1;
    expect(del).toBeGreaterThan(0);
    expect(commit).toBeGreaterThan(del);
    const window = Array.from({ length: commit - del + 1 }, (_, i) => del + i);
    const points = [...new Set([...window, ...choosePoints(trace, KILLS)])].sort((a, b) => a - b);
    const outcomes: string[] = [];
    for (const n of points) {
      const db = join(dir, `kill-${n}.duckdb`);
      copyFileSync(base, db);
      const run = await runSextant(['--db', db, 'import', 'stripe', newFile], {
        SEXTANT_FAULT_AT: String(n),
      });
      expect(run.signal, `fault point ${n} (${trace[n - 1]})`).toBe('SIGKILL');
      const s = await state(db);
      const what = `killed at ${n} (${trace[n - 1]})`;
      expect(s, what).toMatchObject({ lines: 2 * INVOICES, distinct: 2 * INVOICES, stages: 0 });
      // All old and the ledger without the killed import, or (killed after its COMMIT) all new.
      expect([JSON.stringify([[1000], 1]), JSON.stringify([[2000], 2])], what).toContain(
        JSON.stringify([s.amounts, s.imports]),
      );
      outcomes.push(s.amounts.join());
      // The next import completes the data.
      expect((await runSextant(['--db', db, 'import', 'stripe', newFile])).code).toBe(0);
      expect(await state(db), what).toEqual({
        lines: 2 * INVOICES,
        distinct: 2 * INVOICES,
        amounts: [2000],
        stages: 0,
        imports: s.imports + 1,
      });
      rmSync(db, { force: true });
      rmSync(`${db}.wal`, { force: true });
    }
    expect(points.length).toBeGreaterThanOrEqual(KILLS);
    expect(outcomes).toContain('1000');
  }, 1_800_000);
});
