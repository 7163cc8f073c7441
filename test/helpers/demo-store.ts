/**
 * For tests on a generated demo company: writes a small demo (src/demo) into a temp folder and
 * imports the parts a test reads through the real importers into an in-memory DuckDB. Every
 * import must be clean: the generator writes only valid records.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { writeDemoFiles, type DemoFiles, type DemoOptions } from '../../src/demo/generate.js';
import type { DemoTruth } from '../../src/demo/truth.js';
import { importFeedback } from '../../src/ingest/feedback/import.js';
import { importEvents } from '../../src/ingest/posthog/import-events.js';
import type { ImportReport } from '../../src/ingest/report.js';
import { importStripe } from '../../src/ingest/stripe/import.js';
import type { DeepDiveContext } from '../../src/analyses/dives/types.js';
import { ALL_PRODUCTS } from '../../src/metrics/types.js';
import { DuckDbEngine } from '../../src/store/duckdb/engine.js';
import type { Engine } from '../../src/store/engine.js';

export type DemoPart = 'events' | 'stripe' | 'feedback';

export interface DemoStore {
  dir: string;
  files: DemoFiles;
  truth: DemoTruth;
  config: Config;
  engine: DuckDbEngine;
  reports: ImportReport[];
  close(): Promise<void>;
}

export async function demoStore(
  opts: Omit<DemoOptions, 'outDir'>,
  parts: readonly DemoPart[] = ['events', 'stripe', 'feedback'],
): Promise<DemoStore> {
  const dir = mkdtempSync(join(tmpdir(), 'sextant-demo-'));
  const files = await writeDemoFiles({ ...opts, outDir: dir });
  const engine = await DuckDbEngine.open(':memory:');
  await engine.migrate();
  const reports = await importDemo(engine, files, parts);
  return {
    dir,
    files,
    truth: JSON.parse(readFileSync(files.truth, 'utf8')) as DemoTruth,
    config: loadConfig(files.config),
    engine,
    reports,
    async close() {
      await engine.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Imports the demo's files (the parts named) into `engine` through the real importers; every import must be clean. */
export async function importDemo(
  engine: Engine,
  files: DemoFiles,
  parts: readonly DemoPart[] = ['events', 'stripe', 'feedback'],
): Promise<ImportReport[]> {
  const rejectsDir = join(files.dir, 'rejects');
  const reports: ImportReport[] = [];
  if (parts.includes('events')) reports.push(await importEvents(engine, files.events, { rejectsDir }));
  if (parts.includes('stripe')) reports.push(...(await importStripe(engine, files.stripe, { rejectsDir })));
  if (parts.includes('feedback')) {
    for (const f of files.feedback) reports.push(await importFeedback(engine, f, { rejectsDir }));
  }
  const bad = reports.find((r) => r.rejected.length > 0);
  if (bad)
    throw new Error(`demo import rejected ${bad.file}:${bad.rejected[0]!.line}: ${bad.rejected[0]!.reason}`);
  return reports;
}

/** A deep dive's context on the whole demo store for its review month (no metrics computed). */
export function diveContext(store: DemoStore): DeepDiveContext {
  return {
    engine: store.engine,
    config: store.config,
    product: ALL_PRODUCTS,
    month: store.files.month,
    metrics: [],
  };
}
