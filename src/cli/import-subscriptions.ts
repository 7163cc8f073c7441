import type { Command } from 'commander';
import { importSubscriptions } from '../ingest/subscriptions/import.js';
import { globalOptions, progress, withEngine } from './context.js';
import { importCommand } from './import-feedback.js';
import { finishImport, rejectsDirFor } from './import-stripe.js';

/** `sextant import subscriptions <file>` (SPEC §2, §3.2): the generic subscription CSV. */
export function registerImportSubscriptions(program: Command): void {
  importCommand(program)
    .command('subscriptions')
    .description(
      'the generic subscription CSV: customer_id,organization,plan,product,currency,amount,interval,interval_count,quantity,start,end,status',
    )
    .argument('<file>', 'a CSV file (.gz allowed)')
    .action(async (file: string, _opts: unknown, cmd: Command) => {
      const g = globalOptions(cmd);
      progress(cmd)(`importing ${file}…`);
      const report = await withEngine(cmd, (engine) =>
        importSubscriptions(engine, file, { rejectsDir: rejectsDirFor(g) }),
      );
      finishImport(g, [report]);
    });
}
