/**
 * The full `sextant demo` path: a fresh store, the generated files imported through the same
 * importers a user runs, and the review of the demo's last complete month for every product.
 * The demo owns its store: it recreates a store it made before (a `.demo` marker beside it) and
 * refuses to touch one holding other data.
 */
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { directContext } from '../app/context.js';
import { allProducts } from '../app/products.js';
import { buildReviews, type BuiltReview } from '../app/reviews.js';
import { loadConfig } from '../config/load.js';
import { InputError } from '../errors.js';
import { importEvents } from '../ingest/posthog/import-events.js';
import { importFeedback } from '../ingest/feedback/import.js';
import type { ImportReport } from '../ingest/report.js';
import { importStripe } from '../ingest/stripe/import.js';
import { openEngine } from '../store/registry.js';
import type { DemoFiles } from './generate.js';

export interface DemoRun {
  /** Every product's review, the company's (`all`) last. */
  written: BuiltReview[];
}

export async function runDemoPipeline(
  files: DemoFiles,
  o: { db: string; log: (line: string) => void },
): Promise<DemoRun> {
  const { db, log: say } = o;
  if (/^[a-z][a-z0-9+.-]+:/i.test(db))
    throw new InputError('the demo runs on the embedded store; give --db a file path', { field: '--db' });
  const marker = `${db}.demo`;
  if (existsSync(db)) {
    if (!existsSync(marker)) {
      throw new InputError(`${db} holds data the demo did not write; give the demo another --db`, {
        field: '--db',
      });
    }
    rmSync(db, { force: true });
    rmSync(`${db}.wal`, { force: true });
  }
  const config = loadConfig(files.config);
  const engine = await openEngine(db);
  writeFileSync(marker, `written by sextant demo from ${files.dir}\n`);
  try {
    const rejectsDir = dirname(db);
    const t0 = performance.now();
    const reports: ImportReport[] = [];
    say(`importing ${files.events}…`);
    reports.push(await importEvents(engine, files.events, { rejectsDir, onProgress: say }));
    say(`importing ${files.stripe}…`);
    reports.push(...(await importStripe(engine, files.stripe, { rejectsDir })));
    for (const f of files.feedback) {
      say(`importing ${f}…`);
      reports.push(await importFeedback(engine, f, { rejectsDir }));
    }
    const bad = reports.filter((r) => r.rejected.length > 0);
    if (bad.length > 0) {
      // The generator writes only valid records; a rejection here is a bug, not bad input.
      const r = bad[0]!;
      throw new Error(`demo import rejected ${r.file}:${r.rejected[0]!.line}: ${r.rejected[0]!.reason}`);
    }
    const events = reports.find((r) => r.kind === 'events');
    say(`imported ${events?.inserted ?? 0} events in ${((performance.now() - t0) / 1000).toFixed(1)}s`);
    const written = await buildReviews(directContext(engine, config, { log: say }), {
      month: files.month,
      products: allProducts(config),
      write: { formats: ['html', 'md', 'json'] },
    });
    return { written };
  } finally {
    await engine.close();
  }
}
