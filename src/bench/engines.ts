/**
 * DuckDB against ClickHouse (issue 16): the same demo company imported and reviewed on each engine,
 * side by side. Per run and engine, into a fresh store, each step through the built CLI in a child
 * process so its peak resident set (`VmHWM`, via /usr/bin/time, import.ts `measure`) is the step's
 * own: `import events` (events/s), `import stripe` + `import feedback`, then an uncached
 * `review --product all --format json`. The two engines alternate within a run so both see the
 * same (noisy) machine. Then, per step, where each is faster: ClickHouse seconds ÷ DuckDB seconds
 * (above 1: DuckDB is faster). Last, the two review.json files are compared apart from
 * `generatedAt`: the figures are only worth comparing if both engines wrote the same review.
 *
 * ClickHouse is `chdb:<dir>` (in-process ClickHouse 26.x through the npm package `chdb`, the same
 * `@clickhouse/client` code a server gets); an import into it goes through a DuckDB stage
 * (docs/clickhouse.md), so its cost is the store's. Sizes: 1M events; `--quick`: about 10,000 events and
 * one run (about a minute on an idle machine, for checks). `--runs N` sets the runs (default 3 at 1M).
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { fileURLToPath } from 'node:url';
import { benchDemo } from './demo-data.js';
import { measure, type Measured } from './import.js';
import { median } from './timing.js';
import type { BenchOptions, BenchResult } from './types.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'cli', 'main.js');

/** `--quick`: a small company (the demo's events follow its organizations: 12 make about 10,000). */
export const QUICK_EVENTS = 10_000;
export const QUICK_ORGS = 12;
export const EVENTS = 1_000_000;

type EngineName = 'duckdb' | 'clickhouse';
const ENGINES: EngineName[] = ['duckdb', 'clickhouse'];
const STEPS = ['import events', 'import stripe + feedback', 'review (uncached, all)'] as const;
type Step = (typeof STEPS)[number];

/** A fresh store of the engine under `dir`: the `--db` target. */
function freshTarget(dir: string, engine: EngineName, label: string): string {
  const path = join(dir, `engines-${label}-${engine}${engine === 'duckdb' ? '.duckdb' : ''}`);
  for (const suffix of ['', '.wal', '.tmp']) rmSync(path + suffix, { recursive: true, force: true });
  return engine === 'duckdb' ? path : `chdb:${path}`;
}

function removeTarget(target: string): void {
  const path = target.replace(/^chdb:/, '');
  for (const suffix of ['', '.wal', '.tmp']) rmSync(path + suffix, { recursive: true, force: true });
}

/** review.json without what may differ between two builds of the same data: the build's clock. */
function comparable(file: string): unknown {
  const review = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  delete review.generatedAt;
  return review;
}

interface EngineRun {
  steps: Record<Step, Measured>;
  events: number;
  review: unknown;
}

async function runEngine(
  opts: BenchOptions,
  engine: EngineName,
  label: string,
  files: Awaited<ReturnType<typeof benchDemo>>,
): Promise<EngineRun> {
  const target = freshTarget(opts.dir, engine, label);
  const out = join(opts.dir, `engines-${label}-${engine}-review`);
  rmSync(out, { recursive: true, force: true });
  const cli = (...args: string[]): Promise<Measured> =>
    measure(process.execPath, [CLI, '--db', target, '--config', files.config, ...args], process.cwd());
  try {
    const events = await cli('--json', 'import', 'events', files.events);
    const stripe = await cli('--json', 'import', 'stripe', files.stripe);
    const feedback = await cli('--json', 'import', 'feedback', ...files.feedback);
    const review = await cli(
      'review',
      '--month',
      files.month,
      '--product',
      'all',
      '--format',
      'json',
      '--no-cache',
      '--out',
      out,
    );
    const reports = JSON.parse(events.stdout) as { inserted: number }[];
    const inserted = reports.reduce((s, r) => s + r.inserted, 0);
    return {
      steps: {
        'import events': events,
        'import stripe + feedback': {
          seconds: stripe.seconds + feedback.seconds,
          peakRssMb: Math.max(stripe.peakRssMb, feedback.peakRssMb),
          stdout: '',
        },
        'review (uncached, all)': review,
      },
      events: inserted,
      review: comparable(join(out, 'review.json')),
    };
  } finally {
    removeTarget(target);
    rmSync(out, { recursive: true, force: true });
  }
}

export async function run(opts: BenchOptions): Promise<BenchResult[]> {
  if (!existsSync(CLI))
    throw new Error(`the engines bench runs the built CLI; run \`npm run build\` first (${CLI})`);
  const size = opts.full ? EVENTS : QUICK_EVENTS;
  const runs = opts.runs ?? (opts.full ? 3 : 1);
  const label = size >= 1_000_000 ? `${size / 1_000_000}M` : `${size / 1000}k`;
  const files = await benchDemo(opts.dir, size, opts.log, opts.full ? undefined : QUICK_ORGS);
  const got: Record<EngineName, EngineRun[]> = { duckdb: [], clickhouse: [] };
  for (let i = 0; i < runs; i++) {
    // Alternate which engine goes first, so neither always follows the other's cache warm-up.
    const order = i % 2 === 0 ? ENGINES : [...ENGINES].reverse();
    for (const engine of order) {
      const r = await runEngine(opts, engine, label, files);
      got[engine].push(r);
      opts.log(
        `   ${label} run ${i + 1} ${engine}: ` +
          STEPS.map(
            (s) => `${s} ${r.steps[s].seconds.toFixed(1)}s (${r.steps[s].peakRssMb.toFixed(0)} MB)`,
          ).join(', '),
      );
    }
  }
  const out: BenchResult[] = [];
  const medians: Record<EngineName, Record<Step, number>> = { duckdb: {}, clickhouse: {} } as never;
  for (const engine of ENGINES) {
    const rs = got[engine];
    const events = rs[0]!.events;
    for (const step of STEPS) {
      const seconds = median(rs.map((r) => r.steps[step].seconds));
      medians[engine][step] = seconds;
      out.push({
        name: `${engine === 'duckdb' ? 'DuckDB' : 'ClickHouse (chdb)'}: ${step}, ${label} demo events`,
        medianSeconds: seconds,
        runs: rs.length,
        figures: {
          ...(step === 'import events' ? { events, eventsPerSecond: Math.round(events / seconds) } : {}),
          peakRssMb: Math.round(median(rs.map((r) => r.steps[step].peakRssMb))),
          maxPeakRssMb: Math.round(Math.max(...rs.map((r) => r.steps[step].peakRssMb))),
        },
      });
    }
  }
  for (const step of STEPS) {
    const ratio = medians.clickhouse[step] / medians.duckdb[step];
    out.push({
      name: `ClickHouse ÷ DuckDB: ${step} (above 1: DuckDB faster)`,
      medianSeconds: medians.clickhouse[step],
      runs,
      figures: {
        secondsRatio: Number(ratio.toFixed(2)),
        peakRssRatio: Number(
          (
            median(got.clickhouse.map((r) => r.steps[step].peakRssMb)) /
            median(got.duckdb.map((r) => r.steps[step].peakRssMb))
          ).toFixed(2),
        ),
      },
    });
  }
  const same = got.duckdb.every((d, i) => isDeepStrictEqual(d.review, got.clickhouse[i]!.review));
  out.push({
    name: `review.json identical on both engines (apart from generatedAt), ${label}`,
    medianSeconds: 0,
    runs,
    figures: { identical: same ? 1 : 0 },
    target: 'identical',
    met: same,
  });
  return out;
}
