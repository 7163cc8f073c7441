/**
 * A Stripe re-import killed (SIGKILL) at many points of its work never loses or doubles billing
 * already stored (issue 15, item 4: the delete and the insert used to be separate autocommits, so
 * a kill between them deleted what was stored). A real `sextant import stripe` child process
 * re-imports a file whose invoices all changed amount; after each kill the store opens and holds
 * every invoice line exactly once, all with the old amounts or all with the new ones, with no
 * stage table left; a re-import then completes it. Needs the built CLI (`npm run build`).
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { currentLine, customer, invoice, price, writeJsonl } from '../helpers/stripe-fixtures.js';
import { DuckDbEngine } from '../../src/store/duckdb/engine.js';
import { raw } from '../../src/store/sql.js';

const BIN = new URL('../../bin/sextant.js', import.meta.url).pathname;
const INVOICES = 2000;
const KILLS = 10;

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

/** Runs the CLI; kills it with SIGKILL after `killAfterMs` (none: runs to the end). Returns ms taken. */
function importStripe(
  db: string,
  file: string,
  killAfterMs?: number,
): Promise<{ ms: number; code: number | null }> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, [BIN, '--db', db, 'import', 'stripe', file], { stdio: 'ignore' });
    const timer =
      killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ ms: Date.now() - t0, code });
    });
  });
}

async function state(
  db: string,
): Promise<{ lines: number; distinct: number; amounts: number[]; stages: number }> {
  const e = await DuckDbEngine.open(db);
  try {
    const [r] = await e.query<{ lines: number; distinct: number; amounts: number[] }>(
      raw(`SELECT count(*)::INTEGER AS lines, count(DISTINCT (invoice_id, id))::INTEGER AS distinct,
        list_sort(list(DISTINCT amount)) AS amounts FROM billing_invoice_lines`),
    );
    const [s] = await e.query<{ n: number }>(
      raw(`SELECT count(*)::INTEGER AS n FROM duckdb_tables() WHERE table_name LIKE '%stage%'`),
    );
    return { lines: r!.lines, distinct: r!.distinct, amounts: r!.amounts.map(Number), stages: s!.n };
  } finally {
    await e.close();
  }
}

let oldFile: string;
let newFile: string;
let base: string;
let fullMs: number;

beforeAll(async () => {
  expect(existsSync(new URL('../../dist/cli/main.js', import.meta.url)), 'run `npm run build` first').toBe(
    true,
  );
  oldFile = billing('old.jsonl', 1000);
  newFile = billing('new.jsonl', 2000);
  base = join(dir, 'base.duckdb');
  expect((await importStripe(base, oldFile)).code).toBe(0);
  // How long a whole re-import takes, to spread the kills over it.
  const probe = join(dir, 'probe.duckdb');
  copyFileSync(base, probe);
  const run = await importStripe(probe, newFile);
  expect(run.code).toBe(0);
  fullMs = run.ms;
}, 600_000);

describe('a Stripe re-import killed at any point', () => {
  it(`keeps every stored line exactly once, old or new, at ${KILLS} kill points`, async () => {
    expect(await state(base)).toEqual({
      lines: 2 * INVOICES,
      distinct: 2 * INVOICES,
      amounts: [1000],
      stages: 0,
    });
    const seen = new Set<string>();
    for (let k = 0; k < KILLS; k++) {
      const db = join(dir, `kill-${k}.duckdb`);
      copyFileSync(base, db);
      // From start-up to just past the end of a whole run.
      const at = Math.round(((k + 0.5) / KILLS) * fullMs * 1.05);
      const run = await importStripe(db, newFile, at);
      const s = await state(db);
      seen.add(`${run.code === 0 ? 'finished' : 'killed'}:${s.amounts.join('/')}`);
      expect(s, `killed after ${at} ms`).toMatchObject({
        lines: 2 * INVOICES,
        distinct: 2 * INVOICES,
        stages: 0,
      });
      expect([[1000], [2000]], `killed after ${at} ms`).toContainEqual(s.amounts);
      // The next import completes the data.
      expect((await importStripe(db, newFile)).code).toBe(0);
      expect(await state(db)).toEqual({
        lines: 2 * INVOICES,
        distinct: 2 * INVOICES,
        amounts: [2000],
        stages: 0,
      });
      rmSync(db, { force: true });
      rmSync(db + '.wal', { force: true });
    }
    // The kills fell both before and after the commit.
    expect([...seen].some((x) => x.endsWith(':1000'))).toBe(true);
  }, 1_200_000);
});
