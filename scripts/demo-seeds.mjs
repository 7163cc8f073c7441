#!/usr/bin/env node
/**
 * Sweeps the demo over many seeds: generates each, imports it through the real importers into an
 * in-memory DuckDB, builds the review and checks it against truth.json (src/demo/truth-check.ts).
 * Prints, per seed, every planted effect missed or control tripped and the numbers why. Not part
 * of `npm test` (a minute or more a seed); run after `npm run build`:
 *
 *   node scripts/demo-seeds.mjs [--seeds 1-12] [--orgs 250] [--events 300000] [--until 2026-11-01] [--json out.json]
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const dist = new URL('../dist/', import.meta.url);
const load = (p) => import(new URL(p, dist).href);
const { writeDemoFiles } = await load('demo/generate.js');
const { checkDemoTruth } = await load('demo/truth-check.js');
const { importEvents } = await load('ingest/posthog/import-events.js');
const { importStripe } = await load('ingest/stripe/import.js');
const { importFeedback } = await load('ingest/feedback/import.js');
const { loadConfig } = await load('config/load.js');
const { DuckDbEngine } = await load('store/duckdb/engine.js');
const { buildReview } = await load('review/build.js');

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '1-12' },
    orgs: { type: 'string', default: '250' },
    events: { type: 'string', default: '300000' },
    until: { type: 'string', default: '2026-11-01' },
    json: { type: 'string' },
  },
});
const seeds = values.seeds.split(',').flatMap((part) => {
  const [a, b] = part.split('-').map(Number);
  return b === undefined ? [a] : Array.from({ length: b - a + 1 }, (_, i) => a + i);
});

const results = [];
for (const seed of seeds) {
  const t0 = Date.now();
  const cpu0 = process.cpuUsage();
  const dir = mkdtempSync(join(tmpdir(), 'sextant-seed-'));
  const engine = await DuckDbEngine.open(':memory:');
  try {
    await engine.migrate();
    const files = await writeDemoFiles({
      outDir: dir,
      seed,
      orgs: Number(values.orgs),
      events: Number(values.events),
      until: values.until,
    });
    const t1 = Date.now();
    const rejectsDir = join(dir, 'rejects');
    await importEvents(engine, files.events, { rejectsDir });
    await importStripe(engine, files.stripe, { rejectsDir });
    for (const f of files.feedback) await importFeedback(engine, f, { rejectsDir });
    const t2 = Date.now();
    const truth = JSON.parse(readFileSync(files.truth, 'utf8'));
    const review = await buildReview({
      engine,
      config: loadConfig(files.config),
      product: 'all',
      month: files.month,
    });
    const t3 = Date.now();
    const cpu = process.cpuUsage(cpu0);
    const checks = checkDemoTruth(review, truth);
    const missed = checks.filter((c) => !c.found);
    results.push({ seed, seconds: (Date.now() - t0) / 1000, checks });
    console.log(
      `seed ${seed}: ${checks.length - missed.length}/${checks.length} ok (${((t3 - t0) / 1000).toFixed(0)} s: generate ${((t1 - t0) / 1000).toFixed(0)}, import ${((t2 - t1) / 1000).toFixed(0)}, review ${((t3 - t2) / 1000).toFixed(0)}; cpu ${((cpu.user + cpu.system) / 1e6).toFixed(0)} s)`,
    );
    for (const c of missed) console.log(`  MISS ${c.id}: ${c.why}`);
  } finally {
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const ids = [...new Set(results.flatMap((r) => r.checks.map((c) => c.id)))];
console.log('\nper check, seeds missed:');
for (const id of ids) {
  const missed = results.filter((r) => r.checks.some((c) => c.id === id && !c.found)).map((r) => r.seed);
  console.log(`  ${id.padEnd(44)} ${missed.length ? missed.join(',') : '-'}`);
}
if (values.json) writeFileSync(values.json, JSON.stringify(results, null, 2));
