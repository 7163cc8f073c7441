import type { Command } from 'commander';
import { importStripeFile, stripeFiles } from '../ingest/stripe/import.js';
import type { ImportReport } from '../ingest/report.js';
import { checkKind } from '../ingest/sniff.js';
import { importCommand } from './import-feedback.js';
import { finishImport, rejectsDirFor } from './import-report.js';
import { globalOptions, progress, withEngine } from './context.js';

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
      const files = paths.flatMap((p) => stripeFiles(p));
      for (const f of files) await checkKind(f, 'stripe');
      const reports: ImportReport[] = [];
      await withEngine(cmd, async (engine) => {
        for (const f of files) {
          say(`importing ${f}…`);
          reports.push(await importStripeFile(engine, f, { rejectsDir: rejectsDirFor(g) }));
        }
      });
      finishImport(g, reports);
    });
}
