import type { Command } from 'commander';
import { importFeedback } from '../ingest/feedback/import.js';
import type { FeedbackFormat } from '../ingest/feedback/parse.js';
import type { ImportReport } from '../ingest/report.js';
import { checkKind } from '../ingest/sniff.js';
import { parseDateFormat } from '../ingest/validate.js';
import { globalOptions, progress, withEngine } from './context.js';
import { finishImport, rejectsDirFor } from './import-report.js';

/**
 * The `import` parent command, shared by every importer: found if another importer already made
 * it, created otherwise, so registration order does not matter.
 */
export function importCommand(program: Command): Command {
  return (
    program.commands.find((c) => c.name() === 'import') ??
    program.command('import').description('import events, billing or feedback into the store')
  );
}

/** `sextant import feedback <file>…` (SPEC §2, §3.3). Exit 2 when any record was rejected. */
export function registerImportFeedback(program: Command): void {
  importCommand(program)
    .command('feedback')
    .description(
      'feedback CSV or JSON Lines (id, kind, created_at, distinct_id, email, organization, score, title, body, tags, status, closed_at)',
    )
    .argument('<files...>', 'feedback files (CSV or JSON Lines, by content; .gz allowed)')
    .option(
      '--date-format <format>',
      'how created_at and closed_at are written: ISO (default), DD/MM/YYYY, MM/DD/YYYY, YYYY/MM/DD (/, - or .)',
    )
    .action(async (files: string[], opts: { dateFormat?: string }, cmd: Command) => {
      const g = globalOptions(cmd);
      const dateFormat = parseDateFormat(opts.dateFormat);
      const say = progress(cmd);
      const formats: (FeedbackFormat | undefined)[] = [];
      for (const f of files) {
        const s = await checkKind(f, 'feedback');
        // A CSV is read as CSV whatever its name.
        formats.push(s.columns ? 'csv' : undefined);
      }
      const reports: ImportReport[] = [];
      await withEngine(cmd, async (engine) => {
        for (const [i, f] of files.entries()) {
          say(`importing ${f}…`);
          reports.push(
            await importFeedback(engine, f, { rejectsDir: rejectsDirFor(g), dateFormat, format: formats[i] }),
          );
        }
      });
      finishImport(g, reports);
    });
}
