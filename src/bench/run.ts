/**
 * `npm run bench`: every benchmark, with medians over repeated runs and ratios to a floor where one
 * exists. `--quick` skips the 10M-event sizes, `--30m` adds 30M-event ones where a module has them
 * (the review), `--runs N` sets the runs per figure; other words name the modules to run. Figures are printed as a table and written to
 * `bench-results.json`. These machines are shared and noisy: quote medians and ratios.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { BenchOptions, BenchResult } from './types.js';

type BenchModule = { run(opts: BenchOptions): Promise<BenchResult[]> };

const MODULES: Record<string, () => Promise<BenchModule>> = {
  import: () => import('./import.js'),
  revenue: () => import('./revenue.js'),
  insights: () => import('./insights.js'),
  review: () => import('./review.js'),
  capture: () => import('./capture.js'),
  engines: () => import('./engines.js'),
};

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const runsAt = args.indexOf('--runs');
  const runs = runsAt >= 0 ? Number(args[runsAt + 1]) : undefined;
  if (runs !== undefined && !(Number.isInteger(runs) && runs > 0))
    throw new Error('--runs takes a whole number');
  const only = args.filter((a, i) => !a.startsWith('--') && !(runsAt >= 0 && i === runsAt + 1));
  const opts: BenchOptions = {
    dir: resolve('.sextant/bench'),
    full: !args.includes('--quick'),
    huge: args.includes('--30m'),
    runs,
    log: (line) => process.stderr.write(line + '\n'),
  };
  mkdirSync(opts.dir, { recursive: true });
  const results: BenchResult[] = [];
  for (const [name, load] of Object.entries(MODULES)) {
    if (only.length && !only.includes(name)) continue;
    opts.log(`== ${name}`);
    let mod: BenchModule;
    try {
      mod = await load();
    } catch (e) {
      opts.log(`   (not available: ${(e as Error).message.split('\n')[0]})`);
      continue;
    }
    const rs = await mod.run(opts);
    for (const r of rs) {
      results.push(r);
      const figures = Object.entries(r.figures)
        .map(([k, v]) => `${k}=${Number.isInteger(v) ? v : v.toFixed(3)}`)
        .join(' ');
      const verdict = r.met === undefined ? '' : r.met ? '  [met]' : '  [NOT met]';
      process.stdout.write(
        `${r.name.padEnd(48)} median ${r.medianSeconds.toFixed(3)}s over ${r.runs} runs  ${figures}${r.target ? `  target: ${r.target}` : ''}${verdict}\n`,
      );
    }
  }
  writeFileSync('bench-results.json', JSON.stringify(results, null, 2) + '\n');
  process.stdout.write(`\n${results.length} figures written to bench-results.json\n`);
}

await main();
