import { ident, raw, sql, type Sql, type SqlValue } from '../sql.js';
import type { DuckDbEngine } from './engine.js';

/**
 * Set-based upsert through a staging table (DuckDB only): rows are appended with DuckDB's
 * appender into `stage_<table>` (same columns as `table`), then the stored rows they replace are
 * deleted and the stage inserted, in three statements however many rows there are.
 */
export interface UpsertSpec {
  table: string;
  /** Rows by column name; a missing column takes `defaultFor(column)` (else null). */
  rows: readonly Record<string, SqlValue>[];
  defaultFor?: (column: string) => SqlValue;
  /** Stored rows matching any staged row on these columns are replaced. */
  replaceOn: readonly string[];
  /** A condition on staged rows (stage aliased `s`) that are dropped before the merge. */
  dropFromStage?: Sql;
  /** Ids (column `id`) whose newness to count: how many of them were not stored before. */
  countNewIds?: readonly string[];
}

async function columnsOf(engine: DuckDbEngine, table: string): Promise<string[]> {
  const rows = await engine.query<{ column_name: string }>(
    sql`SELECT column_name FROM information_schema.columns WHERE table_name = ${table} AND table_schema = 'main' ORDER BY ordinal_position`,
  );
  return rows.map((r) => r.column_name);
}

/** Returns how many of `countNewIds` were new. */
export async function bulkUpsert(engine: DuckDbEngine, spec: UpsertSpec): Promise<number> {
  if (spec.rows.length === 0) return 0;
  const { table } = spec;
  const stage = `stage_${table}`;
  const columns = await columnsOf(engine, table);
  const keys = spec.replaceOn.map((k) => ident(k).toString()).join(', ');
  await engine.exec(sql`CREATE OR REPLACE TABLE ${ident(stage)} AS SELECT * FROM ${ident(table)} LIMIT 0`);
  try {
    await engine.append(
      stage,
      spec.rows.map((r) => columns.map((c) => r[c] ?? spec.defaultFor?.(c) ?? null)),
    );
    if (spec.dropFromStage) {
      await engine.exec(sql`DELETE FROM ${ident(stage)} s WHERE ${spec.dropFromStage}`);
    }
    let inserted = 0;
    if (spec.countNewIds?.length) {
      const [row] = await engine.query<{ n: number }>(
        sql`SELECT count(DISTINCT s.id) AS n FROM ${ident(stage)} s
          WHERE list_contains(${spec.countNewIds}, s.id) AND s.id NOT IN (SELECT id FROM ${ident(table)})`,
      );
      inserted = Number(row?.n ?? 0);
    }
    await engine.exec(
      sql`DELETE FROM ${ident(table)} WHERE (${raw(keys)}) IN (SELECT (${raw(keys)}) FROM ${ident(stage)})`,
    );
    await engine.exec(sql`INSERT INTO ${ident(table)} SELECT * FROM ${ident(stage)}`);
    return inserted;
  } finally {
    await engine.exec(sql`DROP TABLE IF EXISTS ${ident(stage)}`);
  }
}
