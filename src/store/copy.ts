/**
 * Copies a store to another engine (`sextant migrate --to <target>`), table by table, set-based:
 * rows are read in batches (`Engine.scan`, lossless: microsecond timestamps, JSON as text) and
 * bulk-inserted (`Engine.insert`: DuckDB's appender, ClickHouse's JSONEachRow insert), then each
 * table's row count is checked on both sides.
 *
 * Re-running is safe: a table the target already holds with the same number of rows is skipped.
 * A table whose count differs (a copy that was interrupted, or other data) stops the copy with a
 * message naming it, unless `replace` is set: then the target's rows of that table are deleted
 * and copied again. Nothing is ever merged into existing rows.
 */
import { InputError } from '../errors.js';
import type { Engine } from './engine.js';
import { ident, sql } from './sql.js';

export interface TableCopy {
  table: string;
  rows: number;
  /** copied: into an empty table; replaced: after deleting what the target held; kept: already there. */
  status: 'copied' | 'replaced' | 'kept';
  seconds: number;
}

export interface CopyOptions {
  batchRows?: number;
  /** Tables not copied (left as the target holds them). */
  skip?: readonly string[];
  replace?: boolean;
  onProgress?: (line: string) => void;
}

async function count(engine: Engine, table: string): Promise<number> {
  const [row] = await engine.query<{ n: number }>(sql`SELECT count(*) AS n FROM ${ident(table)}`);
  return Number(row?.n ?? 0);
}

export async function copyStore(from: Engine, to: Engine, o: CopyOptions = {}): Promise<TableCopy[]> {
  const batchRows = o.batchRows ?? 50_000;
  const targetTables = new Map((await to.tables()).map((t) => [t.name, t]));
  const sources = (await from.tables()).filter((t) => !o.skip?.includes(t.name));
  // Check every table before copying any: a schema mismatch is found before anything is written.
  for (const t of sources) {
    const there = targetTables.get(t.name);
    const missing = there ? t.columns.filter((c) => !there.columns.includes(c)) : [];
    if (!there || missing.length > 0) {
      throw new Error(
        `${to.target} has ${there ? `no column ${missing.join(', ')} in table ${t.name}` : `no table ${t.name}`}: ` +
          `its schema is behind ${from.target}'s (a migration missing from store/${to.name}/)`,
      );
    }
  }
  const plan: { table: string; columns: readonly string[]; n: number; m: number }[] = [];
  for (const t of sources) {
    const n = await count(from, t.name);
    const m = await count(to, t.name);
    if (m !== 0 && m !== n && !o.replace) {
      throw new InputError(
        `table ${t.name} has ${m} rows on ${to.target} and ${n} here: an interrupted copy or other data. ` +
          `Run again with --replace to delete the target's rows of the tables that differ and copy them again`,
        { field: '--to' },
      );
    }
    plan.push({ table: t.name, columns: t.columns, n, m });
  }
  const out: TableCopy[] = [];
  for (const { table, columns, n, m } of plan) {
    const started = performance.now();
    if (m === n) {
      out.push({ table, rows: n, status: 'kept', seconds: 0 });
      continue;
    }
    if (m !== 0) await to.truncate(table);
    let done = 0;
    for await (const batch of from.scan(table, columns, batchRows)) {
      await to.insert(table, batch);
      done += batch.length;
      o.onProgress?.(`${table}: ${done}/${n} rows`);
    }
    const copied = await count(to, table);
    if (copied !== n) {
      throw new Error(
        `copying ${table}: ${n} rows read from ${from.target} but ${copied} stored on ${to.target}`,
      );
    }
    out.push({
      table,
      rows: n,
      status: m === 0 ? 'copied' : 'replaced',
      seconds: (performance.now() - started) / 1000,
    });
  }
  return out;
}
