/**
 * Imports into a store whose engine has no importers of its own yet (ClickHouse): the importers
 * run unchanged on a DuckDB copy of the store (a scratch file), then every table the import
 * changed is written back, each one atomically (`Engine.replace`), the import ledger last.
 *
 * Why it is right: the import runs the very code a DuckDB store runs (dedupe, identity, ledger)
 * on the very rows the target holds, so the target ends with the rows DuckDB would hold. A kill
 * before the write-back leaves the target as it was; a kill during it leaves some tables new and
 * the ledger old, and running the import again stores nothing twice (it dedupes against the
 * rows already written back) and records it.
 *
 * What it costs: the whole store is copied out and the changed tables copied back on every
 * import, so an import takes time in proportion to the store, not to the file. Right for a small
 * team's store and for the tests; a store of billions of events needs the importers to write to
 * ClickHouse directly (docs/clickhouse.md, "What is not done yet"). One import at a time: two
 * concurrent staged imports would each write back their own copy.
 */
import { join } from 'node:path';
import { copyStore } from './copy.js';
import type { Engine } from './engine.js';
import { removeScratch, scratchDir } from './scratch.js';
import { ident, sql } from './sql.js';

/** Engines whose stores the importers write directly. */
const NATIVE_IMPORT = new Set<string>(['duckdb']);

/** The import ledger: written back after every other table (see the file comment). */
const LEDGER = 'imports';

export interface StagedOptions {
  onProgress?: (line: string) => void;
}

/** Runs `fn` (an import) on `target`, or on a DuckDB stage of it written back after (see above). */
export async function withImportStore<T>(
  target: Engine,
  fn: (e: Engine) => Promise<T>,
  o: StagedOptions = {},
): Promise<T> {
  if (NATIVE_IMPORT.has(target.name)) return fn(target);
  const dir = scratchDir(target.target);
  try {
    // The registry opens DuckDB lazily; a static import would load it for every ClickHouse user.
    const { openEngine } = await import('./registry.js');
    const stage = await openEngine(join(dir, 'stage.duckdb'));
    try {
      o.onProgress?.(`staging ${target.target} in DuckDB for the import`);
      await copyStore(target, stage);
      const before = await fingerprints(stage);
      const result = await fn(stage);
      const after = await fingerprints(stage);
      const tables = (await stage.tables())
        .filter((t) => before.get(t.name) !== after.get(t.name))
        .sort((a, b) => Number(a.name === LEDGER) - Number(b.name === LEDGER));
      for (const t of tables) {
        o.onProgress?.(`writing back ${t.name}`);
        await target.replace(t.name, stage.scan(t.name, t.columns, 50_000));
      }
      return result;
    } finally {
      await stage.close();
    }
  } finally {
    removeScratch(dir);
  }
}

/** Each table's row count and an order-independent hash of its rows (the stage is DuckDB). */
async function fingerprints(stage: Engine): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const t of await stage.tables()) {
    const [row] = await stage.query<{ n: number; h: string | null }>(
      sql`SELECT count(*) AS n, CAST(sum(hash(t)) AS VARCHAR) AS h FROM ${ident(t.name)} AS t`,
    );
    out.set(t.name, `${row?.n}:${row?.h}`);
  }
  return out;
}
