import { dirname } from 'node:path';
import type { Command } from 'commander';
import { InputError } from '../errors.js';
import { importStripe } from '../ingest/stripe/import.js';
import type { ImportReport } from '../ingest/report.js';
import { importCommand } from './import-feedback.js';
import { globalOptions, progress, withEngine, type GlobalOptions } from './context.js';

/** Where rejects files go: beside a DuckDB file, else under `.sextant/`. */
export function rejectsDirFor(g: GlobalOptions): string {
  return /^[a-z]+:\/\//.test(g.db) ? '.sextant' : dirname(g.db);
}

/** Prints import reports; throws InputError (exit 2) naming the first bad record when any were rejected. */
export function finishImport(g: GlobalOptions, reports: ImportReport[]): void {
  if (g.json) process.stdout.write(JSON.stringify(reports, null, 2) + '\n');
  else {
    for (const r of reports) {
      const skipped = r.skipped
        ? `, skipped ${Object.entries(r.skipped)
            .map(([t, n]) => `${n} ${t}`)
            .join(', ')}`
        : '';
      process.stdout.write(
        `${r.file}: ${r.records} records, ${r.inserted} new, ${r.duplicates} already stored, ${r.rejected.length} rejected${skipped}\n`,
      );
    }
  }
  const bad = reports.filter((r) => r.rejected.length > 0);
  const first = bad[0]?.rejected[0];
  if (!bad[0] || !first) return;
  for (const r of bad) {
    for (const x of r.rejected.slice(r === bad[0] ? 1 : 0)) {
      process.stderr.write(
        `sextant: ${r.file}:${x.line}${x.field ? `, field '${x.field}'` : ''}: ${x.reason}\n`,
      );
    }
  }
  const total = bad.reduce((n, r) => n + r.rejected.length, 0);
  throw new InputError(
    `${first.reason} (${total} rejected in all; bad records written to ${bad.map((r) => r.rejectsFile).join(', ')})`,
    { file: bad[0].file, line: first.line, field: first.field },
  );
}

/** `sextant import stripe <file-or-dir>…` (SPEC §2, §3.2). Exit 2 when any record was rejected. */
export function registerImportStripe(program: Command): void {
  importCommand(program)
    .command('stripe')
    .description(
      'Stripe API objects (customers, subscriptions, invoices, events, products, prices, coupons, credit notes): a list object, JSON array, JSON Lines or single object per file',
    )
    .argument('<paths...>', 'files, or directories whose .json/.jsonl files are imported')
    .action(async (paths: string[], _opts: unknown, cmd: Command) => {
      const g = globalOptions(cmd);
      const say = progress(cmd);
      const reports: ImportReport[] = [];
      await withEngine(cmd, async (engine) => {
        for (const p of paths) {
          say(`importing ${p}…`);
          reports.push(...(await importStripe(engine, p, { rejectsDir: rejectsDirFor(g) })));
        }
      });
      finishImport(g, reports);
    });
}
