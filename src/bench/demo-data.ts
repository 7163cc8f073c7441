/**
 * The demo company every benchmark reads: one data set per size, generated once under
 * `<dir>/demo-<events>` and reused, whichever benchmark runs first. Fixed seed and end date, so
 * the files (and every figure measured on them) do not depend on the day the bench runs. Larger
 * companies have more organizations (one per 2,500 events), as real ones would.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DEMO_DEFAULTS, demoFilePaths, writeDemoFiles, type DemoFiles } from '../demo/generate.js';

/** The data ends here; the review month is the month before. */
export const BENCH_UNTIL = '2026-11-01';

export async function benchDemo(
  dir: string,
  events: number,
  log: (line: string) => void,
  /** Organizations (default one per 2,500 events, at least the demo's default): small checks pass fewer. */
  orgs?: number,
): Promise<DemoFiles> {
  const outDir = join(dir, orgs === undefined ? `demo-${events}` : `demo-${events}-orgs-${orgs}`);
  const files = demoFilePaths(outDir, BENCH_UNTIL);
  if (existsSync(files.truth)) return files;
  log(`   generating a ${events.toLocaleString('en-US')}-event demo company…`);
  return writeDemoFiles({
    outDir,
    events,
    until: BENCH_UNTIL,
    orgs: orgs ?? Math.max(DEMO_DEFAULTS.orgs, Math.round(events / 2500)),
  });
}
