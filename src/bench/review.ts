/**
 * The whole review (every metric family and every deep dive) over a demo company: the default
 * demo (target < 10 s) and, with `full`, 10M events (target < 60 s). The data (demo-data.ts) is
 * generated and imported once per size and reused; only `buildReview` is timed.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../config/load.js';
import { DEMO_DEFAULTS } from '../demo/generate.js';
import { benchDemo } from './demo-data.js';
import { importFeedback } from '../ingest/feedback/import.js';
import { importEvents } from '../ingest/posthog/import-events.js';
import { importStripe } from '../ingest/stripe/import.js';
import { monthsEndingAt } from '../domain/month.js';
import { usageFamily } from '../metrics/usage/index.js';
import { ALL_PRODUCTS } from '../metrics/types.js';
import { buildReview } from '../review/build.js';
import { DuckDbEngine } from '../store/duckdb/engine.js';
import { medianSeconds } from './timing.js';
import type { BenchOptions, BenchResult } from './types.js';

/** The demo company of `events` events, imported once into `<dir>/review-<events>.duckdb`. */
export async function preparedStore(dir: string, events: number, log: (s: string) => void) {
  const dbFile = join(dir, `review-${events}.duckdb`);
  const fresh = !existsSync(dbFile);
  const files = await benchDemo(dir, events, log);
  const engine = await DuckDbEngine.open(dbFile);
  await engine.migrate();
  if (fresh) {
    log('   importing…');
    await importEvents(engine, files.events);
    await importStripe(engine, files.stripe);
    for (const f of files.feedback) await importFeedback(engine, f);
  }
  return { engine, config: loadConfig(files.config), month: files.month };
}

export async function run(opts: BenchOptions): Promise<BenchResult[]> {
  const sizes: [number, number, number][] = [[DEMO_DEFAULTS.events, 10, 3]];
  if (opts.full) sizes.push([10_000_000, 60, 3]);
  const out: BenchResult[] = [];
  for (const [events, targetSeconds, runs] of sizes) {
    const { engine, config, month } = await preparedStore(opts.dir, events, opts.log);
    try {
      const { median, samples } = await medianSeconds(runs, () =>
        buildReview({ engine, config, product: 'all', month }),
      );
      out.push({
        name: `whole review (all), ${events.toLocaleString('en-US')} demo events`,
        medianSeconds: median,
        runs,
        figures: { fastestSeconds: Math.min(...samples), slowestSeconds: Math.max(...samples) },
        target: `< ${targetSeconds} s`,
        met: median < targetSeconds,
      });
      // Issue 5: every usage metric for 13 months (< 10 s at 10M events).
      const months = monthsEndingAt(month, 13);
      const usage = await medianSeconds(runs, () =>
        usageFamily.compute({ engine, config, product: ALL_PRODUCTS, months }),
      );
      out.push({
        name: `usage metrics, 13 months, ${events.toLocaleString('en-US')} demo events`,
        medianSeconds: usage.median,
        runs,
        figures: { fastestSeconds: Math.min(...usage.samples) },
        target: '< 10 s',
        met: usage.median < 10,
      });
    } finally {
      await engine.close();
    }
  }
  return out;
}
