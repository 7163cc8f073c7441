import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { InputError } from '../errors.js';
import { importEvents } from '../ingest/posthog/import-events.js';
import { clockSkewSchema } from '../ingest/posthog/rules.js';
import type { ImportReport } from '../ingest/report.js';
import { globalOptions, progress, withEngine } from './context.js';
import { importCommand } from './import-feedback.js';

/**
 * `sextant import events <file>…` (SPEC §2, §3.1): JSON Lines, JSON array, CSV or Parquet,
 * optionally gzip. Every good record is stored; when any were rejected it prints one summary line
 * on stderr (file, first bad line and reason, count, rejects file; every bad record with
 * --verbose) and exits 2.
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
      const rejectsDir = join(/^[a-z]+:\/\//.test(g.db) ? '.sextant' : dirname(g.db), 'rejects');
      const onProgress = progress(cmd);
      const reports: ImportReport[] = [];
      await withEngine(cmd, async (engine) => {
        for (const f of files) {
          reports.push(await importEvents(engine, f, { rejectsDir, onProgress, clockSkewMs }));
        }
      });
      if (g.json) process.stdout.write(JSON.stringify(reports, null, 2) + '\n');
      else {
        for (const r of reports) {
          process.stdout.write(
            `${r.file}: ${r.records} records, ${r.inserted} new, ${r.duplicates} duplicates, ${r.rejected.length} rejected\n`,
          );
        }
      }
      const bad = reports.filter((r) => r.rejected.length > 0);
      if (bad.length === 0) return;
      if (g.verbose) {
        for (const r of bad) {
          for (const x of r.rejected) {
            process.stderr.write(
              `sextant: ${r.file}:${x.line}${x.field ? `, field '${x.field}'` : ''}: ${x.reason}\n`,
            );
          }
        }
      }
      const worst = bad[0]!;
      const first = worst.rejected[0]!;
      const total = bad.reduce((n, r) => n + r.rejected.length, 0);
      const where = bad.map((r) => r.rejectsFile).join(', ');
      throw new InputError(
        `${first.reason} (${total} bad record${total === 1 ? '' : 's'}; written to ${where})`,
        {
          file: worst.file,
          line: first.line,
          field: first.field,
        },
      );
    });
}
