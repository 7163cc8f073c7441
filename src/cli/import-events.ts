import type { Command } from 'commander';
import { importEvents } from '../ingest/posthog/import-events.js';
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
    .action(async (files: string[], _opts: unknown, cmd: Command) => {
      const g = globalOptions(cmd);
      const rejectsDir = rejectsDirFor(g);
      const onProgress = progress(cmd);
      for (const f of files) await checkKind(f, 'events');
      const reports: ImportReport[] = [];
      await withEngine(cmd, async (engine) => {
        for (const f of files) reports.push(await importEvents(engine, f, { rejectsDir, onProgress }));
      });
      finishImport(g, reports);
    });
}
