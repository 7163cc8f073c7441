import { dirname } from 'node:path';
import type { Command } from 'commander';
import { InputError } from '../errors.js';
import { importFeedback } from '../ingest/feedback/import.js';
import type { ImportReport } from '../ingest/report.js';
import { globalOptions, progress, withEngine } from './context.js';

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
      'feedback CSV or JSON Lines (id, kind, created_at, distinct_id, email, organization, score, title, body, tags, status)',
    )
    .argument('<files...>', 'feedback files (.csv, else JSON Lines; .gz allowed)')
    .action(async (files: string[], _opts: unknown, cmd: Command) => {
      const g = globalOptions(cmd);
      const rejectsDir = /^[a-z]+:\/\//.test(g.db) ? '.sextant' : dirname(g.db);
      const say = progress(cmd);
      const reports: ImportReport[] = [];
      await withEngine(cmd, async (engine) => {
        for (const f of files) {
          say(`importing ${f}…`);
          reports.push(await importFeedback(engine, f, { rejectsDir }));
        }
      });
      if (g.json) process.stdout.write(JSON.stringify(reports, null, 2) + '\n');
      else {
        for (const r of reports) {
          process.stdout.write(
            `${r.file}: ${r.records} records, ${r.inserted} new, ${r.duplicates} already stored, ${r.rejected.length} rejected\n`,
          );
        }
      }
      const bad = reports.filter((r) => r.rejected.length > 0);
      const first = bad[0]?.rejected[0];
      if (bad[0] && first) {
        for (const r of bad) {
          for (const x of r.rejected.slice(1)) {
            process.stderr.write(
              `sextant: ${r.file}:${x.line}${x.field ? `, field '${x.field}'` : ''}: ${x.reason}\n`,
            );
          }
        }
        const total = bad.reduce((n, r) => n + r.rejected.length, 0);
        throw new InputError(
          `${first.reason} (${total} rejected in all; bad lines written to ${bad.map((r) => r.rejectsFile).join(', ')})`,
          {
            file: bad[0].file,
            line: first.line,
            field: first.field,
          },
        );
      }
    });
}
