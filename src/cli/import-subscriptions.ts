import type { Command } from 'commander';
import { checkKind } from '../ingest/sniff.js';
import { importSubscriptions } from '../ingest/subscriptions/import.js';
import { parseDateFormat } from '../ingest/validate.js';
import { globalOptions, progress, withEngine } from './context.js';
import { importCommand } from './import-feedback.js';
import { finishImport, rejectsDirFor } from './import-report.js';

/** `sextant import subscriptions <file>…` (SPEC §2, §3.2): the generic subscription CSV. */
export function registerImportSubscriptions(program: Command): void {
  importCommand(program)
    .command('subscriptions')
    .description(
      'the generic subscription CSV: customer_id,organization,plan,product,currency,amount,interval,interval_count,quantity,start,end,status and an optional id',
    )
    .argument('<files...>', 'CSV files (.gz allowed)')
    .option(
      '--date-format <format>',
      'how start and end are written: ISO (default), DD/MM/YYYY, MM/DD/YYYY, YYYY/MM/DD (/, - or .)',
    )
    .action(async (files: string[], opts: { dateFormat?: string }, cmd: Command) => {
      const g = globalOptions(cmd);
      const dateFormat = parseDateFormat(opts.dateFormat);
      const say = progress(cmd);
      for (const f of files) await checkKind(f, 'subscriptions');
      const reports = await withEngine(cmd, async (engine) => {
        const out = [];
        for (const f of files) {
          say(`importing ${f}…`);
          out.push(await importSubscriptions(engine, f, { rejectsDir: rejectsDirFor(g), dateFormat }));
        }
        return out;
      });
      finishImport(g, reports);
    });
}
