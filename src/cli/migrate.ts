import type { Command } from 'commander';
import { InputError } from '../errors.js';
import { copyStore, type TableCopy } from '../store/copy.js';
import { repairIdentityMap } from '../store/duckdb/ingest-identity.js';
import { inTransaction } from '../store/transaction.js';
import { openEngine } from '../store/registry.js';
import { globalOptions, progress } from './context.js';

/**
 * `sextant migrate --to <target>`: copies the store named by `--db` to another store, any engine to
 * any engine (a DuckDB file to ClickHouse, ClickHouse back to a file). Table by table, set-based,
 * row counts checked; re-running skips what is already there (store/copy.ts).
 */
export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description('copy this store (--db) to another: a DuckDB file, clickhouse://… or chdb:<dir>')
    .requiredOption('--to <target>', 'the store to copy into (created and migrated if new)')
    .option('--replace', 'delete and copy again a table whose row count differs on the target')
    .option('--batch-rows <n>', 'rows per insert', '50000')
    .action(async (o: { to: string; replace?: boolean; batchRows: string }, cmd: Command) => {
      const g = globalOptions(cmd);
      if (o.to === g.db) throw new InputError('the target is the store itself', { field: '--to' });
      const batchRows = Number(o.batchRows);
      if (!Number.isSafeInteger(batchRows) || batchRows < 1) {
        throw new InputError(`'${o.batchRows}' is not a positive whole number`, { field: '--batch-rows' });
      }
      const log = progress(cmd);
      const from = await openEngine(g.db);
      try {
        const to = await openEngine(o.to);
        try {
          const copied = await copyStore(from, to, {
            batchRows,
            replace: o.replace ?? false,
            onProgress: log,
          });
          // The copied map may lag its merges (a ClickHouse import killed during its write-back):
          // DuckDB's imports recompute it only where new merges reach, so it is made whole here.
          if (to.name === 'duckdb') await inTransaction(to, () => repairIdentityMap(to));
          process.stdout.write(
            g.json
              ? JSON.stringify({ from: from.target, to: to.target, tables: copied }, null, 2) + '\n'
              : summary(copied, to.target),
          );
        } finally {
          await to.close();
        }
      } finally {
        await from.close();
      }
    });
}

function summary(tables: TableCopy[], target: string): string {
  const rows = tables.reduce((n, t) => n + t.rows, 0);
  const lines = tables
    .filter((t) => t.rows > 0 || t.status !== 'kept')
    .map((t) => `  ${t.table}: ${t.rows} rows ${t.status === 'kept' ? 'already there' : t.status}`);
  return `${target}: ${rows} rows in ${tables.length} tables\n${lines.join('\n')}\n`;
}
