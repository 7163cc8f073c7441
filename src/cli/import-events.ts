import type { Command } from 'commander';
import { InputError } from '../errors.js';
import { importEvents } from '../ingest/posthog/import-events.js';
import { clockSkewSchema } from '../ingest/posthog/rules.js';
import type { ImportReport } from '../ingest/report.js';
import { checkKind } from '../ingest/sniff.js';
import { globalOptions, progress, withEngine } from './context.js';
import { importCommand } from './import-feedback.js';
import { finishImport, rejectsDirFor } from './import-report.js';

/**
 * `sextant import events <file>…` (SPEC §2, §3.1): JSON Lines, JSON array, CSV or Parquet,
 * optionally gzip. Every good record is stored; a file of another kind (a Stripe export, a
 * subscription or feedback CSV) is one error naming the right command. When records were
 * rejected it prints a summary on stderr (counts per reason, the first bad records, the rejects
 * file; every bad record with --verbose) and exits 2.
 */
export function registerImportEvents(program: Command): void {
  importCommand(program)
    .command('events')
    .description('PostHog-format events: JSON Lines, JSON array, CSV or Parquet, optionally gzip')
    .argument(
      '<files...>',
      'event files (.jsonl/.ndjson, .json, .csv, .parquet; .gz or gzip content allowed)',
    )
    .option(
      '--clock-skew <duration>',
      'how far after the import an event may be dated before it is rejected as in the future (e.g. 30m, 1h, 2d)',
      '1h',
    )
    .action(async (files: string[], opts: { clockSkew: string }, cmd: Command) => {
      const g = globalOptions(cmd);
      const skew = clockSkewSchema.safeParse(opts.clockSkew);
      if (!skew.success) {
        throw new InputError(skew.error.issues[0]?.message ?? 'not a duration', { field: '--clock-skew' });
      }
      const clockSkewMs = skew.data;
      const rejectsDir = rejectsDirFor(g);
      const onProgress = progress(cmd);
      for (const f of files) await checkKind(f, 'events');
      // Tests make small files take several chunks (test/e2e/crash-import-events.test.ts).
      const chunkBytes = Number(process.env.SEXTANT_CHUNK_BYTES) || undefined;
      const reports: ImportReport[] = [];
      await withEngine(cmd, async (engine) => {
        for (const f of files) {
          reports.push(await importEvents(engine, f, { rejectsDir, onProgress, chunkBytes, clockSkewMs }));
        }
      });
      finishImport(g, reports);
    });
}
