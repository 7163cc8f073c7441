/**
 * The CLI end to end on ClickHouse in-process (`--db chdb:<dir>`) beside DuckDB (`--db <file>`):
 * the same files imported with `sextant import …`, then `sextant review`; the two review.json
 * files must be identical apart from `generatedAt`. On a small generated demo and on real data
 * (IBM's Telco churn sample as a subscription CSV, posthog-js payloads as events, where
 * `sextant migrate --to chdb:…` of the DuckDB store must give the same review again; the CDNOW
 * purchase log as events without uuid, repeated lines included; NHS FFT comments as feedback).
 * The built CLI is spawned (`npm run build` first; `npm test` does).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeDemoFiles } from '../../src/demo/generate.js';
import { runSextant } from '../helpers/cli.js';
import { cdnowEvents, convertFft } from '../helpers/real-sets.js';
import { telcoSubscriptions } from '../helpers/telco.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'sextant-conformance-cli-'));
  dirs.push(d);
  return d;
}

/** Runs the CLI; an import of a real file with bad records exits 2 (its good rows stored). */
async function sextant(args: string[]): Promise<void> {
  const r = await runSextant(args);
  const ok = r.code === 0 || (r.code === 2 && args.includes('import') && /rejected/.test(r.stdout));
  if (!ok) throw new Error(`sextant ${args.join(' ')} exited ${r.code}:\n${r.stderr}`);
}

/** Imports (`[command, ...files]` each) and writes the month's company review; returns its JSON. */
async function importAndReview(
  db: string,
  out: string,
  imports: string[][],
  month: string,
  config?: string,
): Promise<Record<string, unknown>> {
  const global = ['--db', db, ...(config ? ['--config', config] : [])];
  for (const [kind, ...files] of imports) await sextant([...global, 'import', kind!, ...files]);
  await sextant([
    ...global,
    'review',
    '--month',
    month,
    '--product',
    'all',
    '--format',
    'json',
    '--out',
    out,
  ]);
  return JSON.parse(readFileSync(join(out, 'review.json'), 'utf8')) as Record<string, unknown>;
}

async function onBothEngines(
  imports: string[][],
  month: string,
  config?: string,
): Promise<{ duckdb: Record<string, unknown>; clickhouse: Record<string, unknown>; dir: string }> {
  const dir = tempDir();
  const [duckdb, clickhouse] = await Promise.all([
    importAndReview(join(dir, 'store.duckdb'), join(dir, 'out-duckdb'), imports, month, config),
    importAndReview(`chdb:${join(dir, 'ch')}`, join(dir, 'out-chdb'), imports, month, config),
  ]);
  return { duckdb, clickhouse, dir };
}

/** A metric's value in the review month (undefined when the review has no such metric). */
function current(review: Record<string, unknown>, id: string): unknown {
  return (review.metrics as { id: string; current: unknown }[]).find((m) => m.id === id)?.current;
}

function withoutGeneratedAt(review: Record<string, unknown>): Record<string, unknown> {
  const { generatedAt, ...rest } = review;
  expect(typeof generatedAt).toBe('string');
  return rest;
}

describe('sextant import … then review on chdb: gives DuckDB’s review.json', () => {
  it('on a small generated demo (events, Stripe, feedback)', async () => {
    const files = await writeDemoFiles({
      outDir: join(tempDir(), 'demo'),
      seed: 5,
      orgs: 30,
      events: 3000,
      until: '2025-03-20',
    });
    const { duckdb, clickhouse } = await onBothEngines(
      [
        ['events', files.events],
        ['stripe', files.stripe],
        ['feedback', ...files.feedback],
      ],
      files.month,
      files.config,
    );
    // Not a review of nothing: the demo's numbers are there.
    expect(JSON.stringify(duckdb)).toMatch(/"mrr"/);
    expect(withoutGeneratedAt(clickhouse)).toEqual(withoutGeneratedAt(duckdb));
  }, 900_000);

  it('on real data: IBM Telco subscriptions and posthog-js events', async () => {
    const dir = tempDir();
    const subs = join(dir, 'telco-subscriptions.csv');
    writeFileSync(subs, telcoSubscriptions().csv);
    const events = 'test/fixtures/real/posthog-payloads/decoded_events.jsonl';
    const {
      duckdb,
      clickhouse,
      dir: stores,
    } = await onBothEngines(
      [
        ['subscriptions', subs],
        ['events', events],
      ],
      '2023-09',
    );
    expect(JSON.stringify(duckdb)).toMatch(/"mrr"/);
    expect(withoutGeneratedAt(clickhouse)).toEqual(withoutGeneratedAt(duckdb));

    // `sextant migrate --to chdb:…` of the DuckDB store: the review read there is the same too,
    // and migrating again copies nothing twice.
    const migrated = `chdb:${join(stores, 'migrated')}`;
    const from = ['--db', join(stores, 'store.duckdb'), 'migrate', '--to', migrated];
    await sextant(from);
    const again = await runSextant(['--json', ...from]);
    const tables = (JSON.parse(again.stdout) as { tables: { status: string }[] }).tables;
    expect(tables.length).toBeGreaterThan(10);
    expect(tables.every((t) => t.status === 'kept')).toBe(true);
    const read = await importAndReview(migrated, join(stores, 'out-migrated'), [], '2023-09');
    expect(withoutGeneratedAt(read)).toEqual(withoutGeneratedAt(duckdb));
  }, 900_000);

  it('on real data: the CDNOW purchase log (events without uuid) and NHS FFT feedback', async () => {
    const dir = tempDir();
    const events = join(dir, 'cdnow.jsonl');
    writeFileSync(events, cdnowEvents().join('\n') + '\n');
    const feedback = join(dir, 'fft.csv');
    writeFileSync(
      feedback,
      convertFft(readFileSync('test/fixtures/real/nhs-fft-feedback/fft-subset.csv', 'utf8')),
    );
    const purchases = await onBothEngines([['events', events]], '1997-06');
    // 69,659 purchases, 255 of them repeated lines: all stored on both engines.
    expect(current(purchases.duckdb, 'active_users')).toBeGreaterThan(100);
    expect(withoutGeneratedAt(purchases.clickhouse)).toEqual(withoutGeneratedAt(purchases.duckdb));
    const comments = await onBothEngines([['feedback', feedback]], '2021-10');
    // Two comments answer "what could we improve" with an unambiguous October 2021 date.
    expect(current(comments.duckdb, 'feature_requests')).toBe(2);
    expect(withoutGeneratedAt(comments.clickhouse)).toEqual(withoutGeneratedAt(comments.duckdb));
  }, 900_000);
});
